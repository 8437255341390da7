//! Linear CNNs: the closed form, the proximal solver and an independent SOCP agree; recovered
//! networks reach the optimum; non-convex Adam never goes below it.

mod common;

use common::*;
use cvxcnn::arch::linear::{
    solve_linear_fc, solve_linear_pool, train_linear_adam, LinearCnn, LinearFcSettings, LinearHead,
    LinearOperator,
};
use cvxcnn::data::Dataset;
use cvxcnn::nonconvex::FullBatchSettings;
use cvxcnn::patches::{PatchSpec, Patches};

fn patches(ds: &Dataset, spec: PatchSpec) -> Patches {
    Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap()
}

/// Reference: the group lasso with one unconstrained block `A` (an SOCP in Clarabel).
fn socp_reference(a_rows: Vec<Vec<f64>>, y: &[f64], beta: f64) -> f64 {
    reference_group_lasso(
        &[RefBlock {
            a: a_rows,
            cons: Vec::new(),
        }],
        y,
        beta,
    )
}

#[test]
fn pooling_head_closed_form_matches_fista_and_socp() {
    for (seed, spec, beta, avg) in [
        (71, PatchSpec::one_d(3, 1, 0, false), 0.3, false),
        (72, PatchSpec::one_d(2, 2, 1, true), 0.05, true),
        (73, PatchSpec::one_d(3, 1, 0, false), 50.0, false),
    ] {
        let ds = gaussian_1d(6, 8, seed);
        let y = ds.scalar_targets().unwrap();
        let p = patches(&ds, spec);
        let scale = if avg { 1.0 / p.k as f64 } else { 1.0 };
        let op = LinearOperator::new(&p, LinearHead::Pool, scale);
        let closed = solve_linear_pool(&op, &y, beta).unwrap();
        let fista = solve_linear_fc(&op, &y, beta, &LinearFcSettings::default()).unwrap();
        // A = s Σ_k X_k, written from the patches independently of the operator.
        let a_rows: Vec<Vec<f64>> = (0..p.n)
            .map(|t| {
                (0..p.h)
                    .map(|e| scale * (0..p.k).map(|k| p.row(k * p.n + t)[e]).sum::<f64>())
                    .collect()
            })
            .collect();
        let reference = socp_reference(a_rows, &y, beta);
        eprintln!(
            "pool β={beta}: closed {} fista {} socp {reference}",
            closed.objective, fista.objective
        );
        assert!(rel(closed.objective, reference) < 1e-7);
        assert!(rel(fista.objective, reference) < 1e-7);
        assert!(closed.lower_bound <= reference * (1.0 + 1e-9));
        assert!(rel(closed.lower_bound, closed.objective) < 1e-9);
        let net = LinearCnn::from_z(&closed.z, p.h, 1, LinearHead::Pool, scale).unwrap();
        assert!(net.width() <= 1);
        let obj = net.objective(&p, &y, beta).unwrap();
        assert!(rel(obj, closed.objective) < 1e-9, "{obj}");
    }
}

#[test]
fn fc_head_nuclear_norm_program() {
    // h = 1 (kernel 1): Z is 1 × K, its nuclear norm is the ℓ2 norm, so the program is the
    // group lasso with A = [X_1 … X_K]: an independent SOCP reference.
    let ds = gaussian_1d(5, 6, 81);
    let y = ds.scalar_targets().unwrap();
    let p = patches(&ds, PatchSpec::one_d(1, 1, 0, false));
    let op = LinearOperator::new(&p, LinearHead::Fc, 1.0);
    let sol = solve_linear_fc(&op, &y, 0.2, &LinearFcSettings::default()).unwrap();
    let a_rows: Vec<Vec<f64>> = (0..p.n)
        .map(|t| (0..p.k).map(|k| p.row(k * p.n + t)[0]).collect())
        .collect();
    let reference = socp_reference(a_rows, &y, 0.2);
    assert!(
        rel(sol.objective, reference) < 1e-7,
        "{} vs {reference}",
        sol.objective
    );
    // K = 1 (kernel = length): the fc head is the pooling head.
    let p1 = patches(&ds, PatchSpec::one_d(6, 1, 0, false));
    let fc = solve_linear_fc(
        &LinearOperator::new(&p1, LinearHead::Fc, 1.0),
        &y,
        0.2,
        &LinearFcSettings::default(),
    )
    .unwrap();
    let pool =
        solve_linear_pool(&LinearOperator::new(&p1, LinearHead::Pool, 1.0), &y, 0.2).unwrap();
    assert!(rel(fc.objective, pool.objective) < 1e-7);
    // A genuine matrix case: certified, recovered, several filters, never beaten by Adam.
    let ds = gaussian_1d(8, 7, 82);
    let y = ds.scalar_targets().unwrap();
    let spec = PatchSpec::one_d(3, 1, 0, false);
    let p = patches(&ds, spec);
    let beta = 0.5;
    let op = LinearOperator::new(&p, LinearHead::Fc, 1.0);
    let sol = solve_linear_fc(&op, &y, beta, &LinearFcSettings::default()).unwrap();
    let gap = (sol.objective - sol.lower_bound) / sol.objective;
    assert!((0.0..1e-9).contains(&gap), "gap {gap}");
    let net = LinearCnn::from_z(&sol.z, p.h, p.k, LinearHead::Fc, 1.0).unwrap();
    let obj = net.objective(&p, &y, beta).unwrap();
    eprintln!(
        "fc: objective {} ({} iterations), {} filters, network {obj}",
        sol.objective,
        sol.iterations,
        net.width()
    );
    assert!(net.width() >= 2, "rank {}", net.width());
    assert!(rel(obj, sol.objective) < 1e-8);
    // Not the pooling program: the fc head fits better.
    let pool =
        solve_linear_pool(&LinearOperator::new(&p, LinearHead::Pool, 1.0), &y, beta).unwrap();
    assert!(sol.objective < pool.objective * (1.0 - 1e-3));
    let mut best = f64::INFINITY;
    for width in [1, 2, 4] {
        for seed in 0..10 {
            let s = FullBatchSettings {
                width,
                iters: 4000,
                lr: 0.01,
                seed,
            };
            let net = train_linear_adam(&p, &y, LinearHead::Fc, 1.0, beta, &s).unwrap();
            let v = net.objective(&p, &y, beta).unwrap();
            assert!(
                v >= sol.objective * (1.0 - 1e-7),
                "width {width} seed {seed}: {v}"
            );
            best = best.min(v);
        }
    }
    eprintln!("fc: best Adam / convex = {}", best / sol.objective);
    assert!(best < 1.01 * sol.objective);
}
