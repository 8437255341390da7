//! The weight-decay SDP (h = 2) against MATH-DEEP.md references C1, C2 (local pooling) and D1
//! (shared-filter vector outputs): the reference lies in the certified bracket
//! [lower bound, recovered network], and the bracket is tight.

#![cfg(feature = "sdp")]

mod common;

use common::*;
use cvxcnn::arch::shared::sdp::{solve_shared_sdp, SharedHead};
use cvxcnn::data::{Dataset, SampleShape, Targets};
use cvxcnn::patches::{PatchSpec, Patches};
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

/// Objectives of full-batch Adam runs (3,000 steps, lr 0.01) on the shared-filter network, for
/// every width in `widths` and seeds `0..seeds`.
fn adam_objectives(
    p: &Patches,
    y: &[f64],
    head: &SharedHead,
    beta: f64,
    widths: &[usize],
    seeds: u64,
) -> Vec<f64> {
    use cvxcnn::arch::shared::sdp::{predict, train_shared_adam};
    use cvxcnn::nonconvex::FullBatchSettings;
    let (lw, _) = head.sizes();
    let mut out = Vec::new();
    for &width in widths {
        for seed in 0..seeds {
            let s = FullBatchSettings {
                width,
                iters: 3000,
                lr: 0.01,
                seed,
            };
            let (u, w) = train_shared_adam(p, y, head, beta, &s).unwrap();
            let f = predict(p, head, &u, &w, lw);
            let loss: f64 = f.iter().zip(y).map(|(a, b)| 0.5 * (a - b) * (a - b)).sum();
            let sq: f64 = u.iter().chain(&w).map(|v| v * v).sum();
            out.push(loss + 0.5 * beta * sq);
        }
    }
    out
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
        let mut best = f64::INFINITY;
        for v in adam_objectives(&p, &y, &head, beta, &[2, 5, 10], 8) {
            assert!(
                v >= o.lower_bound * (1.0 - 1e-7),
                "{name}: {v} < {}",
                o.lower_bound
            );
            best = best.min(v);
        }
        eprintln!("{name}: best Adam / SDP = {}", best / o.sdp_objective);
        assert!(best < 1.05 * o.sdp_objective, "{name}: best {best}");
    }
}

fn signal_patches(n: usize, len: usize, h: usize, seed: u64) -> Patches {
    let ds = gaussian_1d(n, len, seed);
    Patches::extract(&ds.x, n, &ds.shape, &PatchSpec::one_d(h, 1, 0, false)).unwrap()
}

/// The two-layer weight-decay optimum (sum or average pooling) of `p`, `y` from the existing
/// exact group-lasso solver: an independent computation of the single-output SDP.
fn two_layer_optimum(p: &Patches, y: &[f64], beta: f64, pooling: cvxcnn::program::Pooling) -> f64 {
    use cvxcnn::patterns::{enumerate_exact, Hyperplanes};
    use cvxcnn::program::TwoLayerProgram;
    let hp = Hyperplanes::from_patches(p);
    let set = enumerate_exact(p, &hp, 1 << 40, &mut |_, _| {}).unwrap();
    let prog = TwoLayerProgram::new(p, hp, &set, y, beta, pooling).unwrap();
    let (sol, _) = cvxcnn::solver::solve_ipm(&prog, &IpmSettings::default()).unwrap();
    prog.objective(&sol)
}

/// With one output (or one window over every position) a filter feeds one weight, and the SDP
/// must equal the two-layer group lasso: checked for filter sizes 3 and 4, where the regions
/// are triangulated (fan and pulling) rather than single arcs.
#[test]
fn single_output_sdp_equals_the_two_layer_program_for_h3_and_h4() {
    use cvxcnn::program::Pooling;
    for (h, n, len, seed) in [(3, 5, 5, 11), (3, 4, 6, 12), (4, 3, 6, 13)] {
        let p = signal_patches(n, len, h, seed);
        let y = gaussian(n, seed + 7);
        let beta = 0.1;
        let o = solve_shared_sdp(
            &p,
            &y,
            &SharedHead::Vector { outputs: 1 },
            beta,
            &IpmSettings::default(),
        )
        .unwrap();
        let two = two_layer_optimum(&p, &y, beta, Pooling::Sum);
        eprintln!(
            "h={h} sum: SDP {} bracket [{}, {}] two-layer {two} ({} regions, {} cones, cp residual {:.1e})",
            o.sdp_objective, o.lower_bound, o.network_objective, o.regions, o.cones, o.cp_residual
        );
        assert!(o.cones > o.regions, "h={h}: expected a real triangulation");
        assert!(
            rel(o.sdp_objective, two) < 1e-6,
            "h={h}: {} vs {two}",
            o.sdp_objective
        );
        assert!(o.lower_bound <= two * (1.0 + 1e-7) && rel(o.network_objective, two) < 1e-5);
        assert!(!o.relaxation);
        assert!(
            o.cp_residual < 1e-6,
            "h={h}: factorization residual {}",
            o.cp_residual
        );
        // One average window over all positions: average pooling.
        let k = p.k;
        let o = solve_shared_sdp(
            &p,
            &y,
            &SharedHead::Local {
                windows: vec![(0..k).collect()],
                max: false,
            },
            beta,
            &IpmSettings::default(),
        )
        .unwrap();
        let two = two_layer_optimum(&p, &y, beta, Pooling::Avg);
        assert!(
            rel(o.sdp_objective, two) < 1e-6,
            "h={h} avg: {} vs {two}",
            o.sdp_objective
        );
        assert!(o.lower_bound <= two * (1.0 + 1e-7) && rel(o.network_objective, two) < 1e-5);
    }
}

/// Vector outputs and local windows with `h = 3`: the recovered network closes the certified
/// bracket, and non-convex Adam never goes below its lower bound.
#[test]
fn h3_vector_outputs_and_windows_are_certified_and_never_beaten() {
    let beta = 0.1;
    let cases = [
        (
            "vector C=3",
            signal_patches(5, 5, 3, 21),
            gaussian(15, 22),
            SharedHead::Vector { outputs: 3 },
        ),
        (
            "avg windows",
            signal_patches(5, 6, 3, 23),
            gaussian(5, 24),
            SharedHead::Local {
                windows: vec![vec![0, 1], vec![2, 3]],
                max: false,
            },
        ),
        (
            "max windows",
            signal_patches(4, 6, 3, 25),
            gaussian(4, 26),
            SharedHead::Local {
                windows: vec![vec![0, 1], vec![2, 3]],
                max: true,
            },
        ),
    ];
    for (name, p, y, head) in cases {
        let o = solve_shared_sdp(&p, &y, &head, beta, &IpmSettings::default()).unwrap();
        let gap = (o.network_objective - o.lower_bound) / o.network_objective;
        eprintln!(
            "{name}: SDP {} bracket [{}, {}] gap {gap:.1e} ({} cones, {} neurons)",
            o.sdp_objective,
            o.lower_bound,
            o.network_objective,
            o.cones,
            o.filters.len() / 3
        );
        assert!(gap < 1e-5, "{name}: bracket gap {gap}");
        assert!(o.lower_bound <= o.sdp_objective * (1.0 + 1e-6));
        let mut best = f64::INFINITY;
        for v in adam_objectives(&p, &y, &head, beta, &[3, 8], 6) {
            assert!(v >= o.lower_bound * (1.0 - 1e-7), "{name}: Adam {v} below");
            best = best.min(v);
        }
        eprintln!(
            "{name}: best Adam / certified optimum = {}",
            best / o.network_objective
        );
    }
}

/// Patches of rank 2 in `R^3` (a rotated copy of `h = 2` patches) give the `h = 2` optimum:
/// the projection onto the row space loses nothing, and the filters come back rotated.
#[test]
fn rank_deficient_patches_equal_the_lower_dimensional_problem() {
    let p2 = signal_patches(4, 6, 2, 31);
    let y = gaussian(4, 32);
    // A fixed orthogonal Q (3 × 3) from a Gram–Schmidt of Gaussian columns.
    let g = gaussian(9, 33);
    let mut q: Vec<Vec<f64>> = Vec::new();
    for c in 0..3 {
        let mut v: Vec<f64> = (0..3).map(|i| g[i * 3 + c]).collect();
        for b in &q {
            let d: f64 = b.iter().zip(&v).map(|(a, x)| a * x).sum();
            v.iter_mut().zip(b).for_each(|(x, a)| *x -= d * a);
        }
        let nv = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        q.push(v.iter().map(|x| x / nv).collect());
    }
    let mut p3 = p2.clone();
    p3.h = 3;
    p3.data = (0..p2.rows())
        .flat_map(|r| {
            let x = [p2.row(r)[0], p2.row(r)[1], 0.0];
            let q = &q;
            (0..3).map(move |i| (0..3).map(|c| q[c][i] * x[c]).sum::<f64>())
        })
        .collect();
    let head = SharedHead::Vector { outputs: 1 };
    let a = solve_shared_sdp(&p2, &y, &head, 0.1, &IpmSettings::default()).unwrap();
    let b = solve_shared_sdp(&p3, &y, &head, 0.1, &IpmSettings::default()).unwrap();
    eprintln!("rank 2: {} vs {}", a.sdp_objective, b.sdp_objective);
    assert_eq!(b.rank, 2);
    assert!(rel(a.sdp_objective, b.sdp_objective) < 1e-7);
    assert!(rel(a.network_objective, b.network_objective) < 1e-6);
    assert!(b.filters.len() % 3 == 0 && !b.filters.is_empty());
}

/// `h = 5`: the SDP is flagged as a relaxation, and still brackets: its value and the dual lower
/// bound are below the recovered network, which no Adam run beats by more than the bracket.
#[test]
fn h5_is_reported_as_a_relaxation_with_a_valid_bracket() {
    let p = signal_patches(3, 7, 5, 41);
    let y = gaussian(6, 42);
    let head = SharedHead::Vector { outputs: 2 };
    let o = solve_shared_sdp(&p, &y, &head, 0.1, &IpmSettings::default()).unwrap();
    eprintln!(
        "h=5: SDP {} bracket [{}, {}] cp residual {:.1e} ({} cones)",
        o.sdp_objective, o.lower_bound, o.network_objective, o.cp_residual, o.cones
    );
    assert!(o.relaxation && o.rank == 5);
    assert!(o.lower_bound <= o.sdp_objective * (1.0 + 1e-6));
    assert!(o.sdp_objective <= o.network_objective * (1.0 + 1e-6));
}
