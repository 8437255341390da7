//! The weight-decay SDP (h = 2) against MATH-DEEP.md references C1, C2 (local pooling) and D1
//! (shared-filter vector outputs): the reference lies in the certified bracket
//! [lower bound, recovered network], and the bracket is tight.

#![cfg(feature = "sdp")]

mod common;

use common::*;
use cvxcnn::data::{Dataset, SampleShape, Targets};
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::shared_sdp::{solve_shared_sdp, SharedHead};
use cvxcnn::solver::IpmSettings;

fn patches(x: &[f64], n: usize, len: usize) -> Patches {
    let shape = SampleShape {
        channels: 1,
        height: 1,
        width: len,
        one_d: true,
    };
    let ds = Dataset::new(x.to_vec(), shape, Targets::Real(vec![0.0; n]), "ref").unwrap();
    Patches::extract(&ds.x, n, &ds.shape, &PatchSpec::one_d(2, 1, 0, false)).unwrap()
}

fn check(name: &str, p: &Patches, y: &[f64], head: SharedHead, beta: f64, reference: f64) {
    let o = solve_shared_sdp(p, y, &head, beta, &IpmSettings::default()).unwrap();
    eprintln!(
        "{name}: SDP {} bracket [{}, {}] ({} cones, {} neurons), reference {reference}",
        o.sdp_objective,
        o.lower_bound,
        o.network_objective,
        o.cones,
        o.filters.len() / 2
    );
    assert!(
        rel(o.sdp_objective, reference) < 1e-6,
        "{name}: SDP {}",
        o.sdp_objective
    );
    assert!(
        o.lower_bound <= reference * (1.0 + 1e-7)
            && reference <= o.network_objective * (1.0 + 1e-7),
        "{name}: {reference} outside [{}, {}]",
        o.lower_bound,
        o.network_objective
    );
    assert!(
        rel(o.network_objective, reference) < 1e-5,
        "{name}: network {}",
        o.network_objective
    );
}

#[test]
fn references_c1_c2_d1() {
    let c1x = [
        -0.8, -1.3, -0.2, 0.4, 1.1, 0.1, -0.6, -0.8, 0.7, 1.6, 0.3, -1.2, -1.0, 1.6, 0.2, -1.7,
        -0.1, -1.2, -0.6, -0.5, -0.7, 0.6, -0.1, -0.6, 0.4, 0.8, -1.6, -0.3,
    ];
    let c2x = [
        1.1, 1.8, -2.6, -0.1, 1.0, 1.4, 0.7, 1.5, 0.3, 0.6, 0.2, -1.1, -0.8, 0.4, -0.6, 1.3, 1.3,
        1.8, 0.0, 1.4, -0.9, -0.8, 0.1, 0.3, -1.6, -1.7, 0.4, -0.9,
    ];
    let windows = vec![vec![0, 1], vec![2, 3], vec![4, 5]];
    check(
        "C1",
        &patches(&c1x, 4, 7),
        &[-1.0, -0.2, -1.3, 0.0],
        SharedHead::Local {
            windows: windows.clone(),
            max: false,
        },
        0.05,
        0.052037259,
    );
    check(
        "C2",
        &patches(&c2x, 4, 7),
        &[1.2, 0.4, 0.3, 0.2],
        SharedHead::Local { windows, max: true },
        0.05,
        0.019508455,
    );
    let d1x = [
        0.3, 0.8, 0.3, -1.3, 0.9, 0.4, -0.5, 0.6, 0.4, 0.3, 0.0, 0.5, -0.7, -0.2, -0.5, 0.6, 0.0,
        -0.3, -0.8, -0.3, 0.0, -0.3, 1.3, 1.0,
    ];
    // Y (4 × 3) stored column-major.
    let yrows = [
        [-2.7, -1.9, -0.2],
        [-0.4, 0.2, 0.2],
        [2.1, -1.1, -0.4],
        [2.0, 0.6, 0.7],
    ];
    let y: Vec<f64> = (0..3)
        .flat_map(|c| yrows.iter().map(move |r| r[c]))
        .collect();
    check(
        "D1",
        &patches(&d1x, 4, 6),
        &y,
        SharedHead::Vector { outputs: 3 },
        0.1,
        0.76442363,
    );
}

/// Non-convex Adam on the same shared-filter networks never goes below the certified lower
/// bound, and gets close to it.
#[test]
fn adam_never_below_the_sdp_bracket() {
    use cvxcnn::nonconvex::FullBatchSettings;
    use cvxcnn::shared_sdp::{predict, train_shared_adam};
    let c1x = [
        -0.8, -1.3, -0.2, 0.4, 1.1, 0.1, -0.6, -0.8, 0.7, 1.6, 0.3, -1.2, -1.0, 1.6, 0.2, -1.7,
        -0.1, -1.2, -0.6, -0.5, -0.7, 0.6, -0.1, -0.6, 0.4, 0.8, -1.6, -0.3,
    ];
    let d1x = [
        0.3, 0.8, 0.3, -1.3, 0.9, 0.4, -0.5, 0.6, 0.4, 0.3, 0.0, 0.5, -0.7, -0.2, -0.5, 0.6, 0.0,
        -0.3, -0.8, -0.3, 0.0, -0.3, 1.3, 1.0,
    ];
    let yrows = [
        [-2.7, -1.9, -0.2],
        [-0.4, 0.2, 0.2],
        [2.1, -1.1, -0.4],
        [2.0, 0.6, 0.7],
    ];
    let d1y: Vec<f64> = (0..3)
        .flat_map(|c| yrows.iter().map(move |r| r[c]))
        .collect();
    let windows = vec![vec![0, 1], vec![2, 3], vec![4, 5]];
    for (name, p, y, head, beta) in [
        (
            "C1",
            patches(&c1x, 4, 7),
            vec![-1.0, -0.2, -1.3, 0.0],
            SharedHead::Local {
                windows: windows.clone(),
                max: false,
            },
            0.05,
        ),
        (
            "D1",
            patches(&d1x, 4, 6),
            d1y,
            SharedHead::Vector { outputs: 3 },
            0.1,
        ),
    ] {
        let o = solve_shared_sdp(&p, &y, &head, beta, &IpmSettings::default()).unwrap();
        let lw = match &head {
            SharedHead::Vector { outputs } => *outputs,
            SharedHead::Local { windows, .. } => windows.len(),
        };
        let mut best = f64::INFINITY;
        for width in [2, 5, 10] {
            for seed in 0..8 {
                let s = FullBatchSettings {
                    width,
                    iters: 3000,
                    lr: 0.01,
                    seed,
                };
                let (u, w) = train_shared_adam(&p, &y, &head, beta, &s).unwrap();
                let f = predict(&p, &head, &u, &w, lw);
                let loss: f64 = f.iter().zip(&y).map(|(a, b)| 0.5 * (a - b) * (a - b)).sum();
                let sq: f64 = u.iter().chain(&w).map(|v| v * v).sum();
                let v = loss + 0.5 * beta * sq;
                assert!(
                    v >= o.lower_bound * (1.0 - 1e-7),
                    "{name} width {width} seed {seed}: {v} < {}",
                    o.lower_bound
                );
                best = best.min(v);
            }
        }
        eprintln!("{name}: best Adam / SDP = {}", best / o.sdp_objective);
        assert!(best < 1.05 * o.sdp_objective, "{name}: best {best}");
    }
}
