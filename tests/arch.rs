//! The architecture interface: every architecture's convex fit reproduces its own network's
//! objective, and non-convex runs through the same interface never go below the certified lower
//! bound.

mod common;

use common::*;
use cvxcnn::arch::linear::LinearHead;
use cvxcnn::arch::local_pool::{LocalConfig, WindowPool};
use cvxcnn::arch::two_layer::train::{PatternChoice, TrainConfig};
use cvxcnn::arch::{Architecture, Circular, Linear, LocalPool, TwoLayer};
use cvxcnn::data::{Dataset, SampleShape, Targets};
use cvxcnn::nonconvex::FullBatchSettings;
use cvxcnn::observe::Silent;
use cvxcnn::patches::PatchSpec;
use cvxcnn::program::Pooling;
use cvxcnn::solver::IpmSettings;

fn b1() -> Dataset {
    let x = vec![
        0.4, 1.5, -1.8, 1.7, 0.0, -0.8, -0.8, -1.1, -0.2, 0.8, 0.6, 0.6, -1.7, -1.6, 1.6, 1.0, 2.2,
        1.2, -1.0, 1.3, 0.6, 0.2, -0.8, 0.0,
    ];
    let y = vec![-0.1, 0.9, 0.1, 1.6, -0.8, 0.5];
    let shape = SampleShape {
        channels: 1,
        height: 1,
        width: 4,
        one_d: true,
    };
    Dataset::new(x, shape, Targets::Real(y), "B1").unwrap()
}

fn a1() -> Dataset {
    let x = vec![
        0.1, -0.1, 0.6, 0.1, -0.5, 0.4, 1.3, 0.9, -0.7, -1.3, -0.6, 0.0, -2.3, -0.2, -1.2, -0.7,
    ];
    let shape = SampleShape {
        channels: 1,
        height: 1,
        width: 4,
        one_d: true,
    };
    Dataset::new(x, shape, Targets::Real(vec![-0.5, -0.3, 0.4, 1.0]), "A1").unwrap()
}

#[test]
fn every_architecture_through_one_interface() {
    let spec = PatchSpec::one_d(2, 1, 0, false);
    let ipm = IpmSettings::default();
    let g = gaussian_1d(5, 6, 91);
    let two = |pool| -> Box<dyn Architecture> {
        Box::new(TwoLayer {
            cfg: TrainConfig {
                spec,
                pool,
                beta: 0.05,
                patterns: PatternChoice::Exact,
                ipm,
                max_exact_patterns: 1 << 30,
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
                beta: 0.05,
                patterns: PatternChoice::Exact,
                ipm,
                max_exact_patterns: 1 << 30,
                max_memory: cvxcnn::resources::default_limit(),
            },
        })
    };
    let cases: Vec<(Box<dyn Architecture>, Dataset, f64)> = vec![
        (two(Pooling::Sum), g.clone(), 0.01),
        (two(Pooling::Max), g.clone(), 0.01),
        (local(WindowPool::Avg), g.clone(), 0.01),
        (local(WindowPool::Max), g.clone(), 0.01),
        (
            Box::new(Linear {
                spec,
                head: LinearHead::Fc,
                average: false,
                beta: 0.05,
                tol: 1e-9,
            }),
            g.clone(),
            0.01,
        ),
        (
            Box::new(Circular {
                layers: 3,
                path_norm: false,
                beta: 0.1,
                ipm,
                first_order: None,
                seed: 0,
                max_memory: cvxcnn::resources::default_limit(),
            }),
            b1(),
            0.01,
        ),
        (
            Box::new(cvxcnn::arch::ThreeLayer {
                spec,
                beta: 0.1,
                solver: cvxcnn::arch::three_layer::ThreeLayerSolver::Ipm(ipm),
                max_blocks: 1 << 20,
                patterns: cvxcnn::arch::three_layer::ThreeLayerPatterns::Exact,
                also_two_layer: false,
                max_memory: cvxcnn::resources::default_limit(),
            }),
            a1(),
            0.01,
        ),
        (
            Box::new(Circular {
                layers: 4,
                path_norm: false,
                beta: 0.1,
                ipm,
                first_order: None,
                seed: 0,
                max_memory: cvxcnn::resources::default_limit(),
            }),
            b1(),
            0.01,
        ),
    ];
    for (arch, ds, lr) in cases {
        let y = ds.scalar_targets().unwrap();
        let fitted = arch.fit(&ds, &mut Silent).unwrap();
        let (fit, model) = (fitted.report.convex(), fitted.model);
        let own = model.objective(&ds, &y).unwrap();
        assert!(
            rel(own, fit.network_objective) < 1e-9,
            "{}: model {own} vs fit {}",
            arch.name(),
            fit.network_objective
        );
        if fit.exact {
            assert!(
                rel(fit.network_objective, fit.objective) < 1e-6,
                "{}: network {} vs optimum {}",
                arch.name(),
                fit.network_objective,
                fit.objective
            );
        } else {
            assert!(
                fit.lower_bound <= fit.network_objective
                    && fit.network_objective <= fit.objective * (1.0 + 1e-8)
            );
        }
        let mut best = f64::INFINITY;
        for width in [2, 6] {
            for seed in 0..4 {
                let s = FullBatchSettings {
                    width,
                    iters: 1500,
                    lr,
                    seed,
                };
                let v = arch
                    .nonconvex(&ds, &y, &s)
                    .unwrap()
                    .objective(&ds, &y)
                    .unwrap();
                assert!(
                    v >= fit.lower_bound * (1.0 - 1e-6),
                    "{} width {width} seed {seed}: {v} below {}",
                    arch.name(),
                    fit.lower_bound
                );
                best = best.min(v);
            }
        }
        eprintln!(
            "{}: convex {} (exact {}), best non-convex {best}",
            arch.name(),
            fit.network_objective,
            fit.exact
        );
        assert!(
            best < 1.2 * fit.network_objective,
            "{}: best {best}",
            arch.name()
        );
    }
}
