//! Three-layer CNNs with two ReLU layers against the MATH-DEEP.md references A1–A3.

mod common;

use common::*;
use cvxcnn::arch::three_layer::{train_three_layer, ThreeLayerPatterns};
use cvxcnn::arch::two_layer::train::{train, PatternChoice, Silent, TrainConfig};
use cvxcnn::data::{Dataset, SampleShape, Targets};
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::program::Pooling;
use cvxcnn::solver::IpmSettings;

fn dataset(x: &[f64], y: &[f64]) -> Dataset {
    let shape = SampleShape {
        channels: 1,
        height: 1,
        width: 4,
        one_d: true,
    };
    Dataset::new(x.to_vec(), shape, Targets::Real(y.to_vec()), "ref").unwrap()
}

#[test]
fn references_a1_a2_a3() {
    let a1x = [
        0.1, -0.1, 0.6, 0.1, -0.5, 0.4, 1.3, 0.9, -0.7, -1.3, -0.6, 0.0, -2.3, -0.2, -1.2, -0.7,
    ];
    let a1y = [-0.5, -0.3, 0.4, 1.0];
    let a3x = [
        0.2, -0.5, -0.4, -2.4, 1.8, 1.1, -0.3, 0.8, 0.3, -0.6, 1.0, -0.3, -0.3, -0.8, 0.5, -0.1,
        0.5, -0.6, 0.1, -0.9,
    ];
    let a3y = [0.8, 0.2, 0.3, 0.4, -1.0];
    let spec = PatchSpec::one_d(2, 1, 0, false);
    for (name, x, y, beta, reference, two_layer) in [
        ("A1", &a1x[..], &a1y[..], 0.1, 0.12203594, 0.12521169),
        ("A2", &a1x[..], &a1y[..], 0.02, 0.032849529, 0.035602759),
        ("A3", &a3x[..], &a3y[..], 0.1, 0.42473356, 0.46373031),
    ] {
        let ds = dataset(x, y);
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
        let o = train_three_layer(
            &p,
            y,
            beta,
            ThreeLayerPatterns::Exact,
            &IpmSettings::default(),
            1 << 20,
        )
        .unwrap();
        eprintln!(
            "{name}: {} ({} S-blocks, {} P-blocks, {} sub-networks), network {}, reference {reference}",
            o.objective,
            o.s_blocks,
            o.p_blocks,
            o.network.width(),
            o.network_objective
        );
        assert!(
            rel(o.objective, reference) < 1e-6,
            "{name}: {}",
            o.objective
        );
        assert!(
            rel(o.network_objective, o.objective) < 1e-6,
            "{name}: network"
        );
        assert!(o.network.max_u_norm() <= 1.0 + 1e-9);
        // Carathéodory pruning: at most n + 1 sub-networks.
        assert!(
            o.network.width() <= ds.n() + 1,
            "{name}: {}",
            o.network.width()
        );
        // Strictly below the two-layer optimum on the same data.
        let cfg = TrainConfig {
            spec,
            pool: Pooling::Sum,
            beta,
            patterns: PatternChoice::Exact,
            ipm: IpmSettings::default(),
            max_exact_patterns: 1 << 30,
            prune: true,
            max_memory: cvxcnn::resources::default_limit(),
        };
        let two = train(&ds, &ds.scalar_targets().unwrap(), &cfg, &mut Silent).unwrap();
        assert!(
            rel(two.objective, two_layer) < 1e-6,
            "{name}: two-layer {}",
            two.objective
        );
        assert!(o.objective < two.objective * (1.0 - 1e-3));
    }
}

#[test]
fn adam_never_below_the_three_layer_optimum() {
    use cvxcnn::arch::three_layer::train_three_layer_adam;
    use cvxcnn::nonconvex::FullBatchSettings;
    let x = [
        0.1, -0.1, 0.6, 0.1, -0.5, 0.4, 1.3, 0.9, -0.7, -1.3, -0.6, 0.0, -2.3, -0.2, -1.2, -0.7,
    ];
    let y = [-0.5, -0.3, 0.4, 1.0];
    let ds = dataset(&x, &y);
    let spec = PatchSpec::one_d(2, 1, 0, false);
    let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
    let opt = 0.12203594;
    let mut best = f64::INFINITY;
    for width in [2, 8, 20] {
        for seed in 0..10 {
            let s = FullBatchSettings {
                width,
                iters: 3000,
                lr: 0.01,
                seed,
            };
            let net = train_three_layer_adam(&p, &y, 0.1, &s).unwrap();
            assert!(net.max_u_norm() <= 1.0 + 1e-12);
            let v = net.objective(&p, &y, 0.1).unwrap();
            assert!(
                v >= opt * (1.0 - 1e-6),
                "width {width} seed {seed}: {v} < {opt}"
            );
            best = best.min(v);
        }
    }
    eprintln!("A1: best Adam / optimum = {}", best / opt);
    assert!(best < 1.05 * opt, "best {best}");
}

const A1X: [f64; 16] = [
    0.1, -0.1, 0.6, 0.1, -0.5, 0.4, 1.3, 0.9, -0.7, -1.3, -0.6, 0.0, -2.3, -0.2, -1.2, -0.7,
];
const A1Y: [f64; 4] = [-0.5, -0.3, 0.4, 1.0];
const A3X: [f64; 20] = [
    0.2, -0.5, -0.4, -2.4, 1.8, 1.1, -0.3, 0.8, 0.3, -0.6, 1.0, -0.3, -0.3, -0.8, 0.5, -0.1, 0.5,
    -0.6, 0.1, -0.9,
];
const A3Y: [f64; 5] = [0.8, 0.2, 0.3, 0.4, -1.0];

/// The first-order solvers on the exact A1–A3 programs: the certified bracket
/// `[lower bound, recovered network]` contains the MATH-DEEP reference and is narrower than
/// 2e-6 (conditional gradient, tolerance 1e-6) or 2e-4 (augmented Lagrangian, 1e-4), relative.
#[test]
fn first_order_solvers_bracket_the_references() {
    use cvxcnn::arch::three_layer::first_order::FirstOrderSettings;
    use cvxcnn::arch::three_layer::{train_three_layer_with, ThreeLayerSolver};
    let spec = PatchSpec::one_d(2, 1, 0, false);
    for (name, x, y, beta, reference) in [
        ("A1", &A1X[..], &A1Y[..], 0.1, 0.12203594),
        ("A2", &A1X[..], &A1Y[..], 0.02, 0.032849529),
        ("A3", &A3X[..], &A3Y[..], 0.1, 0.42473356),
    ] {
        let ds = dataset(x, y);
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
        // The conditional gradient reaches a tighter tolerance quickly.
        let tight = FirstOrderSettings {
            tol: 1e-6,
            ..FirstOrderSettings::default()
        };
        for (solver, width) in [
            (ThreeLayerSolver::Cg(tight), 2e-6),
            (ThreeLayerSolver::Al(FirstOrderSettings::default()), 2e-4),
        ] {
            let o =
                train_three_layer_with(&p, y, beta, ThreeLayerPatterns::Exact, &solver, 1 << 20)
                    .unwrap();
            let rep = o.first_order.clone().unwrap();
            eprintln!(
                "{name} {solver:?}: objective {} network {} lower {} reference {reference}, {} rounds, {:.2} s",
                o.objective, o.network_objective, o.dual_objective, rep.rounds, rep.seconds
            );
            assert_eq!(rep.status, cvxcnn::solver::SolveStatus::Solved, "{name}");
            // The references are rounded to at most 5e-9.
            let slack = 5e-9;
            assert!(o.dual_objective <= reference + slack, "{name}: lower bound");
            assert!(o.network_objective >= reference - slack, "{name}: network");
            assert!(
                rel(o.network_objective, o.dual_objective) < width,
                "{name}: bracket {} {}",
                o.dual_objective,
                o.network_objective
            );
            assert!(o.network.max_u_norm() <= 1.0 + 1e-9);
            assert!(o.network.width() <= ds.n() + 1, "{name}: pruning");
        }
    }
}

/// Stopped after two rounds, far from the optimum, the bracket still holds.
#[test]
fn first_order_bracket_holds_when_stopped_early() {
    use cvxcnn::arch::three_layer::first_order::FirstOrderSettings;
    use cvxcnn::arch::three_layer::{train_three_layer_with, ThreeLayerSolver};
    let spec = PatchSpec::one_d(2, 1, 0, false);
    let ds = dataset(&A3X, &A3Y);
    let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
    let reference = 0.42473356;
    let s = FirstOrderSettings {
        rounds: 2,
        ..FirstOrderSettings::default()
    };
    for solver in [ThreeLayerSolver::Cg(s), ThreeLayerSolver::Al(s)] {
        let o = train_three_layer_with(&p, &A3Y, 0.1, ThreeLayerPatterns::Exact, &solver, 1 << 20)
            .unwrap();
        let rep = o.first_order.clone().unwrap();
        eprintln!(
            "{solver:?}: lower {} network {} after {} rounds",
            o.dual_objective, o.network_objective, rep.rounds
        );
        assert_eq!(rep.status, cvxcnn::solver::SolveStatus::MaxIterations);
        assert!(o.dual_objective < reference && reference < o.network_objective);
        assert!(
            rel(o.network_objective, reference) > 1e-3,
            "not yet optimal"
        );
    }
}

#[test]
fn first_order_settings_and_targets_are_checked() {
    use cvxcnn::arch::three_layer::first_order::{
        solve_three_layer_al, solve_three_layer_cg, FirstOrderSettings,
    };
    use cvxcnn::arch::three_layer::{ThreeLayerPatterns, ThreeLayerProgram};
    let spec = PatchSpec::one_d(2, 1, 0, false);
    let ds = dataset(&A1X, &A1Y);
    let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
    let prog = ThreeLayerProgram::build(&p, ThreeLayerPatterns::Exact, 1 << 20).unwrap();
    let bad = FirstOrderSettings {
        rounds: 0,
        ..FirstOrderSettings::default()
    };
    let nan = FirstOrderSettings {
        tol: f64::NAN,
        ..FirstOrderSettings::default()
    };
    let ok = FirstOrderSettings::default();
    for s in [bad, nan] {
        assert!(solve_three_layer_cg(&p, &A1Y, 0.1, &prog, &s).is_err());
        assert!(solve_three_layer_al(&p, &A1Y, 0.1, &prog, &s).is_err());
    }
    assert!(solve_three_layer_cg(&p, &A1Y[..3], 0.1, &prog, &ok).is_err());
    assert!(solve_three_layer_al(&p, &A1Y[..3], 0.1, &prog, &ok).is_err());
}
