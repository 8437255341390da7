//! Exact three-layer programs (all first- and second-layer patterns, h = 2, stride 1) on
//! seeded Gaussian 1-D signals of growing size: the interior point against the first-order
//! solvers (conditional gradient over atoms, tolerance 1e-6; the working-set augmented
//! Lagrangian, tolerance 1e-4), each with its certified bracket.
//!
//! Run: `cargo run --release --example three_layer_scale [MAX_IPM_BLOCKS]` (the interior point
//! is skipped above `MAX_IPM_BLOCKS` blocks, default 40,000; the augmented Lagrangian above
//! 20,000).

use cvxcnn::arch::three_layer::first_order::FirstOrderSettings;
use cvxcnn::arch::three_layer::{
    train_three_layer_with, ThreeLayerPatterns, ThreeLayerProgram, ThreeLayerSolver,
};
use cvxcnn::data::SampleShape;
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::solver::IpmSettings;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use std::time::Instant;

fn main() -> cvxcnn::Result<()> {
    let max_ipm: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().map_err(|_| {
            cvxcnn::Error::param("MAX_IPM_BLOCKS", format!("'{a}' is not a whole number"))
        })?,
        None => 40_000,
    };
    let beta = 0.1;
    println!("| n | length | blocks | solver | objective (network) | lower bound | relative gap | time (s) |");
    println!("|---|---|---|---|---|---|---|---|");
    for (n, length) in [(4, 4), (6, 5), (8, 5), (10, 5), (12, 6)] {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(n as u64);
        let x: Vec<f64> = (0..n * length)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let y: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
        let shape = SampleShape {
            channels: 1,
            height: 1,
            width: length,
            one_d: true,
        };
        let p = Patches::extract(&x, n, &shape, &PatchSpec::one_d(2, 1, 0, false))?;
        let blocks = ThreeLayerProgram::build(&p, ThreeLayerPatterns::Exact, usize::MAX)?
            .blocks
            .len();
        let tight = FirstOrderSettings {
            tol: 1e-6,
            rounds: 1000,
            ..FirstOrderSettings::default()
        };
        let mut solvers = vec![("cg", ThreeLayerSolver::Cg(tight))];
        if blocks <= 20_000 {
            solvers.push(("al", ThreeLayerSolver::Al(FirstOrderSettings::default())));
        }
        if blocks <= max_ipm {
            solvers.push(("ipm", ThreeLayerSolver::Ipm(IpmSettings::default())));
        }
        for (name, solver) in solvers {
            let t = Instant::now();
            let o = train_three_layer_with(
                &p,
                &y,
                beta,
                ThreeLayerPatterns::Exact,
                &solver,
                usize::MAX,
            )?;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "| {n} | {length} | {blocks} | {name} | {:.9} | {:.9} | {:.1e} | {secs:.2} |",
                o.network_objective,
                o.dual_objective,
                (o.network_objective - o.dual_objective) / o.network_objective
            );
        }
    }
    Ok(())
}
