//! The implicit regularizers of the architectures side by side on the embedded MNIST subset,
//! through the one architecture interface (`cvxcnn::arch`): digits 3 vs 8, the same β, the same
//! pattern budget (Gaussian draws, one seed), the same first layer (7×7 kernel, stride 7: 16
//! positions). Trains on the first N_TRAIN images of the two classes, tests on the next N_TEST,
//! and prints a Markdown table (accuracy, filters, objective, time) for BENCHMARKS.md.
//!
//! Run: `cargo run --release --example architectures [N_TRAIN N_TEST DRAWS]`

use cvxcnn::arch::linear::LinearHead;
use cvxcnn::arch::local_pool::{LocalConfig, WindowPool};
use cvxcnn::arch::two_layer::train::{PatternChoice, TrainConfig};
use cvxcnn::arch::{Architecture, Linear, LocalPool, TwoLayer};
use cvxcnn::data::builtin_mnist;
use cvxcnn::patches::PatchSpec;
use cvxcnn::program::Pooling;
use cvxcnn::solver::IpmSettings;

fn accuracy(f: &[f64], y: &[f64]) -> f64 {
    100.0 * cvxcnn::loss::sign_accuracy(f, y)
}

fn main() -> cvxcnn::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse().map_err(|_| {
                cvxcnn::Error::param(
                    "N_TRAIN N_TEST DRAWS",
                    format!("'{a}' is not a whole number"),
                )
            })
        })
        .collect::<cvxcnn::Result<_>>()?;
    let (n_train, n_test, draws) = (
        *args.first().unwrap_or(&200),
        *args.get(1).unwrap_or(&400),
        *args.get(2).unwrap_or(&40),
    );
    let all = builtin_mnist()?.binary(3, 8)?;
    let train_ds = all.head(n_train);
    let idx: Vec<usize> = (n_train..(n_train + n_test).min(all.n())).collect();
    let test_ds = all.select(&idx);
    let (ytr, yte) = (train_ds.scalar_targets()?, test_ds.scalar_targets()?);
    let spec = PatchSpec::two_d(7, 7, 7, 0, false);
    let beta = 1.0;
    let patterns = PatternChoice::Sample { draws, seed: 0 };
    let ipm = IpmSettings::default();
    let two = |pool| -> Box<dyn Architecture> {
        Box::new(TwoLayer {
            cfg: TrainConfig {
                spec,
                pool,
                beta,
                patterns,
                ipm,
                max_exact_patterns: 0,
                prune: true,
                max_memory: cvxcnn::resources::default_limit(),
            },
        })
    };
    let local = |pool| -> Box<dyn Architecture> {
        Box::new(LocalPool {
            cfg: LocalConfig {
                spec,
                window: 2,
                pool,
                beta,
                patterns,
                ipm,
                max_exact_patterns: 0,
                max_memory: cvxcnn::resources::default_limit(),
            },
        })
    };
    let linear = |head| -> Box<dyn Architecture> {
        Box::new(Linear {
            spec,
            head,
            average: false,
            beta,
            tol: 1e-9,
        })
    };
    let archs = vec![
        two(Pooling::Sum),
        two(Pooling::Avg),
        two(Pooling::Max),
        local(WindowPool::Avg),
        local(WindowPool::Max),
        linear(LinearHead::Pool),
        linear(LinearHead::Fc),
    ];
    println!(
        "MNIST 3 vs 8: {} train / {} test images, kernel 7x7 stride 7 (K = 16), β = {beta}, \
         {draws} Gaussian pattern draws (seed 0)\n",
        train_ds.n(),
        test_ds.n(),
    );
    println!("| architecture | implicit regularizer | train acc. | test acc. | filters | objective | time (s) |");
    println!("|---|---|---|---|---|---|---|");
    for arch in archs {
        let fitted = arch.fit(&train_ds, &mut cvxcnn::observe::Silent)?;
        let (fit, model) = (fitted.report.convex(), fitted.model);
        println!(
            "| {} | {} | {:.1}% | {:.1}% | {} | {:.4} | {:.2} |",
            arch.name(),
            arch.regularizer(),
            accuracy(&model.predict(&train_ds)?, &ytr),
            accuracy(&model.predict(&test_ds)?, &yte),
            model.width(),
            fit.objective,
            fit.seconds
        );
    }
    Ok(())
}
