//! The three-layer CNN with two ReLU layers beside the two-layer CNN on the embedded MNIST
//! subset, with the same first layer, β and pattern budget: digits 3 vs 8, 14×14 kernel,
//! stride 14 (4 positions, h = 196), sampled patterns (the two-layer program gets the same
//! `DRAWS` first-layer draws; the three-layer program adds `3·DRAWS` sampled sub-networks).
//!
//! The three-layer program is solved three ways: the interior point, the working-set augmented
//! Lagrangian and the conditional gradient (stopped after `CG_SECONDS`; its bracket stays
//! certified).
//!
//! Run: `cargo run --release --example three_layer_mnist [N_TRAIN N_TEST DRAWS]`

use cvxcnn::arch::three_layer::first_order::FirstOrderSettings;
use cvxcnn::arch::three_layer::{ThreeLayerPatterns, ThreeLayerSolver};
use cvxcnn::arch::two_layer::train::{PatternChoice, TrainConfig};
use cvxcnn::arch::{Architecture, ThreeLayer, TwoLayer};
use cvxcnn::data::builtin_mnist;
use cvxcnn::patches::PatchSpec;
use cvxcnn::program::Pooling;
use cvxcnn::solver::IpmSettings;

/// Time limit of the conditional gradient (its pricing is slow for 392-dimensional P-blocks).
const CG_SECONDS: f64 = 200.0;

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
        *args.first().unwrap_or(&100),
        *args.get(1).unwrap_or(&400),
        *args.get(2).unwrap_or(&10),
    );
    let all = builtin_mnist()?.binary(3, 8)?;
    let train_ds = all.head(n_train);
    let idx: Vec<usize> = (n_train..(n_train + n_test).min(all.n())).collect();
    let test_ds = all.select(&idx);
    let (ytr, yte) = (train_ds.scalar_targets()?, test_ds.scalar_targets()?);
    let spec = PatchSpec::two_d(14, 14, 14, 0, false);
    let (beta, seed) = (1.0, 0);
    let ipm = IpmSettings::default();
    let patterns = ThreeLayerPatterns::Sample {
        draws,
        pairs: 3 * draws,
        seed,
    };
    let archs: Vec<Box<dyn Architecture>> = vec![
        Box::new(TwoLayer {
            cfg: TrainConfig {
                spec,
                pool: Pooling::Sum,
                beta,
                patterns: PatternChoice::Sample { draws, seed },
                ipm,
                max_exact_patterns: 0,
                prune: true,
                max_memory: cvxcnn::resources::default_limit(),
            },
        }),
        Box::new(ThreeLayer {
            spec,
            beta,
            solver: ThreeLayerSolver::Ipm(ipm),
            max_blocks: 1 << 20,
            patterns,
            also_two_layer: false,
            max_memory: cvxcnn::resources::default_limit(),
        }),
        Box::new(ThreeLayer {
            spec,
            beta,
            solver: ThreeLayerSolver::Al(FirstOrderSettings::default()),
            max_blocks: 1 << 20,
            patterns,
            also_two_layer: false,
            max_memory: cvxcnn::resources::default_limit(),
        }),
        Box::new(ThreeLayer {
            spec,
            beta,
            solver: ThreeLayerSolver::Cg(FirstOrderSettings {
                time_limit: Some(CG_SECONDS),
                ..FirstOrderSettings::default()
            }),
            max_blocks: 1 << 20,
            patterns,
            also_two_layer: false,
            max_memory: cvxcnn::resources::default_limit(),
        }),
    ];
    println!(
        "MNIST 3 vs 8: {} train / {} test images, kernel 14x14 stride 14 (K = 4, h = 196), \
         β = {beta}, {draws} first-layer draws (seed {seed})\n",
        train_ds.n(),
        test_ds.n()
    );
    println!(
        "| architecture | solver | train acc. | test acc. | units | network objective | restricted gap | time (s) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (arch, solver) in archs.into_iter().zip(["ipm", "ipm", "al", "cg"]) {
        let fitted = arch.fit(&train_ds, &mut cvxcnn::observe::Silent)?;
        let (fit, model) = (fitted.report.convex(), fitted.model);
        println!(
            "| {} | {solver} | {:.1}% | {:.1}% | {} | {:.6} | {:.1e} | {:.2} |",
            arch.name(),
            accuracy(&model.predict(&train_ds)?, &ytr),
            accuracy(&model.predict(&test_ds)?, &yte),
            model.width(),
            fit.network_objective,
            (fit.network_objective - fit.lower_bound) / fit.network_objective,
            fit.seconds
        );
    }
    Ok(())
}
