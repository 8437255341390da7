//! The implicit regularizers of the architectures side by side on the embedded MNIST subset:
//! digits 3 vs 8, the same β, the same pattern budget (Gaussian draws, one seed), the same first
//! layer (7×7 kernel, stride 7: 16 positions). Trains on the first N_TRAIN images of the two
//! classes, tests on the next N_TEST, and prints a Markdown table (accuracy, filters, objective,
//! time) for BENCHMARKS.md.
//!
//! Run: `cargo run --release --example architectures [N_TRAIN N_TEST DRAWS]`

use cvxcnn::data::builtin_mnist;
use cvxcnn::linear::{
    solve_linear_fc, solve_linear_pool, LinearCnn, LinearFcSettings, LinearHead, LinearOperator,
};
use cvxcnn::local_pool::{train_local, LocalConfig, WindowPool};
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::program::Pooling;
use cvxcnn::solver::IpmSettings;
use cvxcnn::train::{train, PatternChoice, Silent, TrainConfig};
use std::time::Instant;

fn accuracy(f: &[f64], y: &[f64]) -> f64 {
    let right = f
        .iter()
        .zip(y)
        .filter(|(f, y)| (**f >= 0.0) == (**y > 0.0))
        .count();
    100.0 * right as f64 / y.len() as f64
}

fn main() -> cvxcnn::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments: N_TRAIN N_TEST DRAWS"))
        .collect();
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
    let ptr = Patches::extract(&train_ds.x, train_ds.n(), &train_ds.shape, &spec)?;
    let pte = Patches::extract(&test_ds.x, test_ds.n(), &test_ds.shape, &spec)?;
    println!(
        "MNIST 3 vs 8: {} train / {} test images, kernel 7x7 stride 7 (K = {}), β = {beta}, \
         {draws} Gaussian pattern draws (seed 0)\n",
        train_ds.n(),
        test_ds.n(),
        ptr.k
    );
    println!("| architecture | implicit regularizer | train acc. | test acc. | filters | objective | time (s) |");
    println!("|---|---|---|---|---|---|---|");
    let row = |name: &str, reg: &str, ftr: &[f64], fte: &[f64], m: usize, obj: f64, s: f64| {
        println!(
            "| {name} | {reg} | {:.1}% | {:.1}% | {m} | {obj:.4} | {s:.2} |",
            accuracy(ftr, &ytr),
            accuracy(fte, &yte)
        );
    };
    for (pool, reg) in [
        (Pooling::Sum, "group ℓ2 over sign patterns"),
        (Pooling::Avg, "group ℓ2 over sign patterns (features /K)"),
        (Pooling::Max, "group ℓ2 over argmax patterns"),
    ] {
        let cfg = TrainConfig {
            spec,
            pool,
            beta,
            patterns,
            ipm,
            max_exact_patterns: 0,
            prune: true,
        };
        let t = Instant::now();
        let o = train(&train_ds, &ytr, &cfg, &mut Silent)?;
        let s = t.elapsed().as_secs_f64();
        row(
            &format!("two-layer, global {} pooling", pool.name()),
            reg,
            &o.network.predict(&train_ds.x)?,
            &o.network.predict(&test_ds.x)?,
            o.network.width(),
            o.objective,
            s,
        );
    }
    for (pool, name) in [(WindowPool::Avg, "avg"), (WindowPool::Max, "max")] {
        let cfg = LocalConfig {
            spec,
            window: 2,
            pool,
            beta,
            patterns,
            ipm,
            max_exact_patterns: 0,
        };
        let t = Instant::now();
        let o = train_local(&train_ds, &ytr, &cfg)?;
        let s = t.elapsed().as_secs_f64();
        row(
            &format!("two-layer, local {name} pooling 2×2 windows, ℓ1² head"),
            "group ℓ2 over (pattern, window) blocks",
            &o.network.predict(&ptr)?,
            &o.network.predict(&pte)?,
            o.network.width(),
            o.objective,
            s,
        );
    }
    for head in [LinearHead::Pool, LinearHead::Fc] {
        let t = Instant::now();
        let op = LinearOperator::new(&ptr, head, 1.0);
        let sol = match head {
            LinearHead::Pool => solve_linear_pool(&op, &ytr, beta)?,
            LinearHead::Fc => solve_linear_fc(&op, &ytr, beta, &LinearFcSettings::default())?,
        };
        let net = LinearCnn::from_z(&sol.z, op.h, op.k, head, 1.0)?;
        let s = t.elapsed().as_secs_f64();
        let (name, reg) = match head {
            LinearHead::Pool => ("linear, sum pooling", "ℓ2 (one filter)"),
            LinearHead::Fc => ("linear, fully connected head", "nuclear norm"),
        };
        row(
            name,
            reg,
            &net.predict(&ptr)?,
            &net.predict(&pte)?,
            net.width(),
            sol.objective,
            s,
        );
    }
    Ok(())
}
