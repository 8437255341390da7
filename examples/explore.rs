//! Measures classifier settings on the embedded MNIST subset (used to choose the defaults).
//! `cargo run --release --example explore -- KERNEL STRIDE DRAWS BETA sq|ce al|gated|proj [N]`
//! (environment: `TL` time limit in s, `INNER` FISTA steps per outer iteration, `DELTA`,
//! `GROW`, `DMAX` penalty settings relative to β, `DATA` set to draw filters from patches, `NORM` set to standardize, `IDX` a folder with MNIST IDX files instead of the embedded set).
use cvxcnn::arch::two_layer::classifier::{train_classifier, ClassifierConfig, FirstOrder};
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
                "it {:4} inner {:6} obj {:.6e} viol {:.2e} gap {:.2e} delta {:.1e} t {:.1}",
                r.iter,
                r.inner,
                r.objective,
                r.violation,
                r.gap.unwrap_or(f64::NAN),
                r.penalty,
                r.elapsed
            );
        }
        true
    }
}

fn arg<T: std::str::FromStr>(a: &[String], i: usize, name: &str) -> cvxcnn::Result<T> {
    a.get(i).and_then(|v| v.parse().ok()).ok_or_else(|| {
        cvxcnn::Error::param(
            name,
            "usage: explore KERNEL STRIDE DRAWS BETA sq|ce al|gated|proj [N]",
        )
    })
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> cvxcnn::Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| cvxcnn::Error::param(name, format!("cannot parse '{v}'"))),
        Err(_) => Ok(default),
    }
}

fn main() -> cvxcnn::Result<()> {
    let a: Vec<String> = std::env::args().collect();
    let k: usize = arg(&a, 1, "KERNEL")?;
    let s: usize = arg(&a, 2, "STRIDE")?;
    let draws: usize = arg(&a, 3, "DRAWS")?;
    let beta: f64 = arg(&a, 4, "BETA")?;
    let loss_name: String = arg(&a, 5, "LOSS")?;
    let solver_name: String = arg(&a, 6, "SOLVER")?;
    let loss = if loss_name == "ce" {
        Loss::CrossEntropy
    } else {
        Loss::Squared
    };
    let solver = match solver_name.as_str() {
        "gated" => FirstOrder::Gated,
        "proj" => FirstOrder::Projected,
        _ => FirstOrder::AugmentedLagrangian,
    };
    let n: usize = if a.len() > 7 {
        arg(&a, 7, "N")?
    } else {
        usize::MAX
    };
    let ds = match std::env::var("IDX") {
        Ok(dir) => cvxcnn::data::read_idx(
            &std::path::Path::new(&dir).join("mnist-subset-images-idx3-ubyte.gz"),
            &std::path::Path::new(&dir).join("mnist-subset-labels-idx1-ubyte.gz"),
        )?,
        Err(_) => builtin_mnist()?,
    };
    let (train, mut test) = ds.split(0.2, 0)?;
    let mut train = train.head(n);
    if std::env::var("NORM").is_ok() {
        let norm = cvxcnn::data::Normalization::standardize_from(&train);
        norm.apply(&mut train)?;
        norm.apply(&mut test)?;
    }
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
                max_iter: env_or("MAXIT", 40)?,
                time_limit: Some(env_or("TL", 60.0)?),
                tol: 1e-3,
            },
            violation_tol: 1e-4,
            inner_iter: env_or("INNER", 100)?,
            delta: env_or("DELTA", 1.0)?,
            delta_growth: env_or("GROW", 10.0)?,
            delta_max: env_or("DMAX", 1e4)?,
        },
        fresh_draws: 0,
        certificate_budget: 30.0,
        polish_rounds: 0,
        pattern_rounds: 0,
        deadline: None,
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
