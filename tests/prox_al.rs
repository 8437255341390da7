//! The first-order solver with block proxes agrees with the interior-point reference on every
//! block norm and program family: spectral ℓ1 (circular L = 3, reference B1), weighted spectral
//! (the L = 4 lower bound), Euclidean on sum and max pooling.

mod common;

use common::*;
use cvxcnn::arch::circular::{circular_program, spectral_weights};
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::patterns::{enumerate_exact, Hyperplanes};
use cvxcnn::program::maxpool::{max_program, MaxArrangement};
use cvxcnn::program::{Pooling, TwoLayerProgram};
use cvxcnn::solver::{
    block_penalty, solve_ipm_with, solve_prox_al, BlockNorm, IpmSettings, ProxAlSettings,
    SolveStatus,
};

fn b1() -> (Vec<f64>, Vec<f64>) {
    let x = vec![
        0.4, 1.5, -1.8, 1.7, 0.0, -0.8, -0.8, -1.1, -0.2, 0.8, 0.6, 0.6, -1.7, -1.6, 1.6, 1.0, 2.2,
        1.2, -1.0, 1.3, 0.6, 0.2, -0.8, 0.0,
    ];
    (x, vec![-0.1, 0.9, 0.1, 1.6, -0.8, 0.5])
}

fn agree(prog: &TwoLayerProgram, norm: BlockNorm<'_>, what: &str) -> f64 {
    let (ipm_sol, _) = solve_ipm_with(prog, norm, &IpmSettings::default()).unwrap();
    let f = prog.predict(&ipm_sol);
    let loss: f64 = f
        .iter()
        .zip(&prog.y)
        .map(|(a, b)| 0.5 * (a - b) * (a - b))
        .sum();
    let reference = loss + block_penalty(prog, norm, &ipm_sol.c);
    let (_, info) = solve_prox_al(prog, norm, &ProxAlSettings::default()).unwrap();
    eprintln!(
        "{what}: first-order {} ({} outer, {} inner, violation {:.1e}) vs interior point {reference}",
        info.objective, info.outer, info.inner, info.violation
    );
    assert_eq!(info.status, SolveStatus::Solved, "{what}");
    assert!(
        info.violation < 1e-8,
        "{what}: violation {}",
        info.violation
    );
    assert!(
        rel(info.objective, reference) < 1e-6,
        "{what}: {} vs {reference}",
        info.objective
    );
    info.objective
}

#[test]
fn spectral_proxes_match_the_interior_point() {
    let (x, y) = b1();
    let prog = circular_program(&x, 4, &y, 0.1).unwrap();
    let v = agree(&prog, BlockNorm::SpectralL1, "circular L=3");
    assert!(rel(v, 0.12946906) < 1e-6);
    let w = spectral_weights(4, 0.1, 4);
    let v4 = agree(
        &prog,
        BlockNorm::WeightedSpectral(&w),
        "circular L=4 lower bound",
    );
    assert!(rel(v4, 0.082461619) < 1e-6);
}

#[test]
fn euclidean_prox_on_sum_and_max_pooling() {
    let ds = gaussian_1d(5, 6, 101);
    let y = ds.scalar_targets().unwrap();
    let spec = PatchSpec::one_d(2, 1, 0, false);
    let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
    let hp = Hyperplanes::from_patches(&p);
    let set = enumerate_exact(&p, &hp, 1 << 30, &mut |_, _| {}).unwrap();
    let prog = TwoLayerProgram::new(&p, hp, &set, &y, 0.05, Pooling::Sum).unwrap();
    agree(&prog, BlockNorm::Euclidean, "sum pooling");
    let arr = MaxArrangement::new(&p);
    let hp = Hyperplanes::from_patches(&arr.rows);
    let set = enumerate_exact(&arr.rows, &hp, 1 << 30, &mut |_, _| {}).unwrap();
    let prog = max_program(&p, &arr, hp, &set, &y, 0.05).unwrap();
    agree(&prog, BlockNorm::Euclidean, "max pooling");
}
