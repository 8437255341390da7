//! Measures classifier settings on the embedded MNIST subset (used to choose the defaults).
//! `cargo run --release --example explore -- KERNEL STRIDE DRAWS BETA LOSS SOLVER [N]`
use cvxcnn::classifier::{train_classifier, ClassifierConfig, FirstOrder};
use cvxcnn::data::builtin_mnist;
use cvxcnn::loss::{accuracy, Loss};
use cvxcnn::patches::PatchSpec;
use cvxcnn::program::Pooling;
use cvxcnn::solver::{AlSettings, IterLimits, IterObserver, IterRecord};

struct Print;
impl IterObserver for Print {
    fn record(&mut self, r: &IterRecord) -> bool {
        if r.gap.is_some() {
            eprintln!(
                "it {:4} inner {:6} obj {:.6e} viol {:.2e} gap {:.2e} t {:.1}",
                r.iter,
                r.inner,
                r.objective,
                r.violation,
                r.gap.unwrap_or(f64::NAN),
                r.elapsed
            );
        }
        true
    }
}

fn main() -> cvxcnn::Result<()> {
    let a: Vec<String> = std::env::args().collect();
    let k: usize = a[1].parse().unwrap();
    let s: usize = a[2].parse().unwrap();
    let draws: usize = a[3].parse().unwrap();
    let beta: f64 = a[4].parse().unwrap();
    let loss = if a[5] == "ce" {
        Loss::CrossEntropy
    } else {
        Loss::Squared
    };
    let solver = if a[6] == "gated" {
        FirstOrder::Gated
    } else {
        FirstOrder::AugmentedLagrangian
    };
    let n: usize = a.get(7).map(|v| v.parse().unwrap()).unwrap_or(3000);
    let ds = builtin_mnist()?;
    let (train, test) = ds.split(0.2, 0)?;
    let train = train.head(n);
    let ci = train.class_index()?;
    let cfg = ClassifierConfig {
        spec: PatchSpec::two_d(k, k, s, 0, true),
        pool: Pooling::Sum,
        loss,
        beta,
        draws,
        from_data: std::env::var("DATA").is_ok(),
        seed: 0,
        solver,
        al: AlSettings {
            limits: IterLimits {
                max_iter: 40,
                time_limit: Some(
                    std::env::var("TL")
                        .map(|v| v.parse().unwrap())
                        .unwrap_or(60.0),
                ),
                tol: 1e-3,
            },
            violation_tol: 1e-4,
            inner_iter: std::env::var("INNER")
                .map(|v| v.parse().unwrap())
                .unwrap_or(100),
            delta: std::env::var("DELTA")
                .map(|v| v.parse().unwrap())
                .unwrap_or(1.0),
            delta_growth: std::env::var("GROW")
                .map(|v| v.parse().unwrap())
                .unwrap_or(10.0),
            delta_max: std::env::var("DMAX")
                .map(|v| v.parse().unwrap())
                .unwrap_or(1e4),
        },
        fresh_draws: 0,
        certificate_budget: 30.0,
    };
    let o = train_classifier(&train, &ci.index, ci.labels.len(), &cfg, &mut Print)?;
    let test_labels: Vec<usize> = test
        .class_index_with(&ci.labels)?
        .into_iter()
        .map(|v| v.unwrap_or(usize::MAX))
        .collect();
    let test_acc = match &o.network {
        Some(net) => accuracy(&net.predict(&test.x)?, &test_labels),
        None => f64::NAN,
    };
    println!(
        "k{k} s{s} P{} h{} K{} G{} beta {beta} {:?}: obj {:.6e} net {:?} gap {:.2e} viol {:.2e} filters {} train {:.3} test {:.3} time {:.1}s {:?}",
        o.patterns, o.h, o.k, o.hyperplanes, solver, o.objective, o.network_objective, o.certificate.relative_gap, o.violation,
        o.filters, o.train_accuracy, test_acc, o.seconds, o.timings
    );
    Ok(())
}
