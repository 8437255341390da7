//! Local pooling with the ℓ1-squared output penalty against the MATH-DEEP reference values (C1,
//! C2), brute-force references and non-convex restarts.

mod common;

use common::*;
use cvxcnn::arch::local_pool::{train_local, LocalConfig, LocalOutcome, WindowPool};
use cvxcnn::arch::two_layer::train::PatternChoice;
use cvxcnn::data::{Dataset, SampleShape, Targets};
use cvxcnn::patches::PatchSpec;
use cvxcnn::solver::IpmSettings;

const C1_X: [f64; 28] = [
    -0.8, -1.3, -0.2, 0.4, 1.1, 0.1, -0.6, -0.8, 0.7, 1.6, 0.3, -1.2, -1.0, 1.6, 0.2, -1.7, -0.1,
    -1.2, -0.6, -0.5, -0.7, 0.6, -0.1, -0.6, 0.4, 0.8, -1.6, -0.3,
];
const C1_Y: [f64; 4] = [-1.0, -0.2, -1.3, 0.0];
const C2_X: [f64; 28] = [
    1.1, 1.8, -2.6, -0.1, 1.0, 1.4, 0.7, 1.5, 0.3, 0.6, 0.2, -1.1, -0.8, 0.4, -0.6, 1.3, 1.3, 1.8,
    0.0, 1.4, -0.9, -0.8, 0.1, 0.3, -1.6, -1.7, 0.4, -0.9,
];
const C2_Y: [f64; 4] = [1.2, 0.4, 0.3, 0.2];

fn dataset(x: &[f64], y: &[f64], len: usize) -> Dataset {
    let shape = SampleShape {
        channels: 1,
        height: 1,
        width: len,
        one_d: true,
    };
    Dataset::new(x.to_vec(), shape, Targets::Real(y.to_vec()), "ref").unwrap()
}

fn cfg(pool: WindowPool, beta: f64, window: usize, spec: PatchSpec) -> LocalConfig {
    LocalConfig {
        spec,
        window,
        pool,
        beta,
        patterns: PatternChoice::Exact,
        ipm: IpmSettings::default(),
        max_exact_patterns: 1 << 30,
        max_memory: cvxcnn::resources::default_limit(),
    }
}

fn run(ds: &Dataset, c: &LocalConfig) -> LocalOutcome {
    let y = ds.scalar_targets().unwrap();
    let o = train_local(ds, &y, c).unwrap();
    assert!(
        rel(o.network_objective, o.objective) < 1e-6,
        "network {} vs convex {}",
        o.network_objective,
        o.objective
    );
    assert!(o.certificate.relative_gap < 1e-6, "{:?}", o.certificate);
    o
}

#[test]
fn reference_values_c1_c2() {
    let spec = PatchSpec::one_d(2, 1, 0, false);
    for (x, y, pool, reference) in [
        (&C1_X, &C1_Y, WindowPool::Avg, 0.066010467),
        (&C2_X, &C2_Y, WindowPool::Max, 0.022415136),
    ] {
        let ds = dataset(x, y, 7);
        let o = run(&ds, &cfg(pool, 0.05, 2, spec));
        eprintln!(
            "{pool:?}: {} ({} blocks, {} neurons), reference {reference}",
            o.objective,
            o.blocks,
            o.network.width()
        );
        assert!(
            rel(o.objective, reference) < 1e-6,
            "{pool:?}: {} vs {reference}",
            o.objective
        );
    }
}

/// Blocks of the local-pooling program by brute force over evenly spaced directions (`h = 2`),
/// written from the definitions: per window, the sign pattern of its rows (average) or its
/// argmax (max), `A` and the cone.
fn brute_force_blocks(
    rows: &[Vec<f64>],
    n: usize,
    windows: &[Vec<usize>],
    pool: WindowPool,
) -> Vec<RefBlock> {
    let mut seen = std::collections::HashSet::new();
    let mut blocks = Vec::new();
    let draws = 200_000;
    for j in 0..draws {
        let th = 2.0 * std::f64::consts::PI * (j as f64 + 0.377) / draws as f64;
        let u = [th.cos(), th.sin()];
        let z = |r: usize| rows[r][0] * u[0] + rows[r][1] * u[1];
        for (l, win) in windows.iter().enumerate() {
            let mut a = vec![vec![0.0; 2]; n];
            let mut cons: Vec<Vec<f64>> = Vec::new();
            let key: Vec<i64> = match pool {
                WindowPool::Avg => {
                    let mut key = Vec::new();
                    for &k in win {
                        for (t, at) in a.iter_mut().enumerate() {
                            let r = k * n + t;
                            let on = z(r) > 0.0;
                            key.push(on as i64);
                            let s = if on { 1.0 } else { -1.0 };
                            cons.push(rows[r].iter().map(|v| s * v).collect());
                            if on {
                                for e in 0..2 {
                                    at[e] += rows[r][e] / win.len() as f64;
                                }
                            }
                        }
                    }
                    key
                }
                WindowPool::Max => {
                    let mut key = Vec::new();
                    for (t, at) in a.iter_mut().enumerate() {
                        let s = win.iter().copied().fold(win[0], |b, k| {
                            if z(k * n + t) > z(b * n + t) {
                                k
                            } else {
                                b
                            }
                        });
                        if z(s * n + t) > 0.0 {
                            key.push(s as i64);
                            let xs = &rows[s * n + t];
                            *at = xs.clone();
                            cons.push(xs.clone());
                            for &k in win.iter().filter(|&&k| k != s) {
                                let xk = &rows[k * n + t];
                                cons.push(vec![xs[0] - xk[0], xs[1] - xk[1]]);
                            }
                        } else {
                            key.push(-1);
                            for &k in win {
                                cons.push(rows[k * n + t].iter().map(|v| -v).collect());
                            }
                        }
                    }
                    key
                }
            };
            if a.iter().all(|r| r.iter().all(|v| *v == 0.0)) || !seen.insert((l, key)) {
                continue;
            }
            blocks.push(RefBlock { a, cons });
        }
    }
    blocks
}

#[test]
fn optimum_matches_a_brute_force_reference() {
    let spec = PatchSpec::one_d(2, 1, 0, false);
    for (seed, len, window, pool, beta) in [
        (61, 7, 3, WindowPool::Avg, 0.05),
        (62, 6, 2, WindowPool::Max, 0.05),
        (63, 8, 3, WindowPool::Max, 0.02),
        (64, 6, 4, WindowPool::Avg, 0.1),
    ] {
        let ds = gaussian_1d(4, len, seed);
        let y = ds.scalar_targets().unwrap();
        let (rows, k) = ref_patches(&ds, 1, 2, 1, 0, false);
        let windows: Vec<Vec<usize>> = (0..k)
            .collect::<Vec<_>>()
            .chunks(window)
            .map(|c| c.to_vec())
            .collect();
        let blocks = brute_force_blocks(&rows, ds.n(), &windows, pool);
        let reference = reference_group_lasso(&blocks, &y, beta);
        let o = run(&ds, &cfg(pool, beta, window, spec));
        assert_eq!(o.blocks, blocks.len(), "{pool:?} window {window}: blocks");
        assert!(
            rel(o.objective, reference) < 1e-6,
            "{pool:?} window {window}: {} vs {reference}",
            o.objective
        );
    }
}

/// The ℓ1-squared value bounds the weight-decay optimum from above (MATH-DEEP C1/C2 weight-decay
/// values), and a window covering all positions is the global pooling program.
#[test]
fn bounds_and_global_window() {
    let spec = PatchSpec::one_d(2, 1, 0, false);
    for (x, y, pool, wd) in [
        (&C1_X, &C1_Y, WindowPool::Avg, 0.052037259),
        (&C2_X, &C2_Y, WindowPool::Max, 0.019508455),
    ] {
        let ds = dataset(x, y, 7);
        let o = run(&ds, &cfg(pool, 0.05, 2, spec));
        assert!(o.objective > wd);
        let global = run(&ds, &cfg(pool, 0.05, 6, spec));
        let pooling = match pool {
            WindowPool::Avg => cvxcnn::program::Pooling::Avg,
            WindowPool::Max => cvxcnn::program::Pooling::Max,
        };
        let yv = ds.scalar_targets().unwrap();
        let two = cvxcnn::arch::two_layer::train::train(
            &ds,
            &yv,
            &cvxcnn::arch::two_layer::train::TrainConfig {
                spec,
                pool: pooling,
                beta: 0.05,
                patterns: PatternChoice::Exact,
                ipm: IpmSettings::default(),
                max_exact_patterns: 1 << 30,
                prune: true,
                max_memory: cvxcnn::resources::default_limit(),
            },
            &mut cvxcnn::arch::two_layer::train::Silent,
        )
        .unwrap();
        assert!(
            rel(global.objective, two.objective) < 1e-6,
            "{pool:?}: one window {} vs global pooling {}",
            global.objective,
            two.objective
        );
        // Finer windows give the output layer more freedom: never worse.
        assert!(o.objective <= global.objective * (1.0 + 1e-7));
    }
}

#[test]
fn nonconvex_adam_never_below_the_optimum() {
    use cvxcnn::arch::local_pool::{tile_windows, train_local_adam};
    use cvxcnn::nonconvex::FullBatchSettings;
    let spec = PatchSpec::one_d(2, 1, 0, false);
    for (x, y, pool) in [
        (&C1_X, &C1_Y, WindowPool::Avg),
        (&C2_X, &C2_Y, WindowPool::Max),
    ] {
        let ds = dataset(x, y, 7);
        let o = run(&ds, &cfg(pool, 0.05, 2, spec));
        let p = cvxcnn::patches::Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
        let windows = tile_windows(p.out_dims, 2).unwrap();
        let mut best = f64::INFINITY;
        for width in [2, 4, 8] {
            for seed in 0..15 {
                let s = FullBatchSettings {
                    width,
                    iters: 3000,
                    lr: 0.01,
                    seed,
                };
                let net = train_local_adam(&p, y, &windows, pool, spec, 0.05, &s).unwrap();
                let v = net.objective_l1(&p, y, 0.05).unwrap();
                assert!(
                    v >= o.objective * (1.0 - 1e-6),
                    "{pool:?} width {width} seed {seed}: {v} < {}",
                    o.objective
                );
                best = best.min(v);
            }
        }
        eprintln!("{pool:?}: best Adam / convex = {}", best / o.objective);
        assert!(best < 1.05 * o.objective, "{pool:?}: best {best}");
    }
}
