//! Completely-positive factorization of random 3×3 doubly non-negative matrices (MATH-DEEP.md
//! section 3): `E ≥ 0` and `E Eᵀ = T`, including singular and boundary cases; and 4×4 ones
//! (every 4×4 doubly non-negative matrix is completely positive) by alternating projections.

mod common;

use common::*;
use cvxcnn::arch::shared::cp_factor::{cp_factor, cp_factorize};
use rand_distr::{Distribution, StandardNormal};

fn gram(g: &[f64], h: usize, k: usize) -> Vec<f64> {
    let mut t = vec![0.0; h * h];
    for i in 0..h {
        for j in 0..h {
            t[i * h + j] = (0..k).map(|c| g[i * k + c] * g[j * k + c]).sum();
        }
    }
    t
}

fn check(t: &[f64], h: usize) {
    let e = cp_factor(t, h).unwrap_or_else(|err| panic!("{t:?}: {err}"));
    assert!(
        e.iter().all(|v| *v >= 0.0),
        "negative factor {e:?} of {t:?}"
    );
    let back = gram(&e, h, h);
    let scale = t.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (a, b) in back.iter().zip(t) {
        assert!((a - b).abs() <= 1e-10 * scale, "{back:?} vs {t:?}");
    }
}

#[test]
fn random_doubly_nonnegative_3x3() {
    let mut r = rng(7);
    let (mut accepted, mut tried, mut needs_pivot) = (0, 0, 0);
    while accepted < 2000 {
        tried += 1;
        // Gaussian Gram matrices of rank 1, 2 or 3, kept when entrywise non-negative: most are
        // not Gram matrices of non-negative vectors as drawn.
        let k = 1 + tried % 3;
        let g: Vec<f64> = (0..3 * k).map(|_| StandardNormal.sample(&mut r)).collect();
        let t = gram(&g, 3, k);
        if t.iter().any(|v| *v < 0.0) {
            continue;
        }
        accepted += 1;
        // The first pivot fails for some: the pivot search is exercised.
        if t[4] - t[3] * t[1] / t[0] < 0.0 || t[5] - t[3] * t[2] / t[0] < 0.0 {
            needs_pivot += 1;
        }
        check(&t, 3);
    }
    eprintln!(
        "{accepted} of {tried} Gaussian Gram matrices were DNN; {needs_pivot} needed another pivot"
    );
    assert!(needs_pivot > 0);
    // Boundary cases: zero rows, a zero off-diagonal (a path graph), rank one.
    check(&[0.0, 0.0, 0.0, 0.0, 2.0, 1.0, 0.0, 1.0, 3.0], 3);
    check(&[2.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0], 3);
    check(&[1.0, 2.0, 3.0, 2.0, 4.0, 6.0, 3.0, 6.0, 9.0], 3);
    // Not DNN: a negative entry, or not positive semidefinite.
    assert!(cp_factor(&[1.0, -0.5, 0.0, -0.5, 1.0, 0.0, 0.0, 0.0, 1.0], 3).is_err());
    assert!(cp_factor(&[1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0], 3).is_err());
    assert!(cp_factor(&[1.0; 16], 4).is_err());
}

/// 4×4: Gaussian Gram matrices of rank 1–4 kept when entrywise non-negative (boundary cases
/// with zero entries included), and products `G Gᵀ` of non-negative `G` with up to 8 columns.
#[test]
fn random_doubly_nonnegative_4x4() {
    let mut r = rng(8);
    let (mut accepted, mut tried, mut worst, mut zeros) = (0, 0, 0.0f64, 0);
    while accepted < 2000 {
        tried += 1;
        let k = 1 + tried % 8;
        let mut g: Vec<f64> = (0..4 * k).map(|_| StandardNormal.sample(&mut r)).collect();
        if tried % 2 == 0 {
            g.iter_mut().for_each(|v| *v = v.abs());
            // Zero entries in G give zero or boundary entries in T.
            if tried % 4 == 0 {
                g[0] = 0.0;
                g[k] = 0.0;
            }
        }
        let t = gram(&g, 4, k);
        if t.iter().any(|v| *v < 0.0) {
            continue;
        }
        accepted += 1;
        zeros += usize::from(t.contains(&0.0));
        let f = cp_factorize(&t, 4, accepted as u64).unwrap();
        assert!(f.e.iter().all(|v| *v >= 0.0));
        let back = gram(&f.e, 4, f.cols);
        let norm = t.iter().map(|v| v * v).sum::<f64>().sqrt();
        let err = back
            .iter()
            .zip(&t)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt()
            / norm;
        assert!((err - f.residual).abs() <= 1e-12, "reported residual");
        worst = worst.max(err);
        assert!(err <= 1e-9, "{t:?}: residual {err}");
    }
    eprintln!(
        "4×4: {accepted} of {tried} DNN ({zeros} with zero entries); worst residual {worst:.1e}"
    );
}

/// Interior-point output is only nearly doubly non-negative: the factorization of a slightly
/// perturbed matrix is as close as the perturbation.
#[test]
fn nearly_doubly_nonnegative_inputs_factor_to_their_noise_level() {
    let mut r = rng(9);
    for h in [2, 3, 4] {
        for trial in 0..200 {
            let g: Vec<f64> = (0..h * h)
                .map(|_| {
                    let v: f64 = StandardNormal.sample(&mut r);
                    v.abs()
                })
                .collect();
            let mut t = gram(&g, h, h);
            for i in 0..h {
                for j in 0..=i {
                    let e: f64 = StandardNormal.sample(&mut r);
                    let e = 1e-9 * e;
                    t[i * h + j] += e;
                    t[j * h + i] = t[i * h + j];
                }
            }
            let f = cp_factorize(&t, h, trial).unwrap();
            assert!(f.e.iter().all(|v| *v >= 0.0));
            assert!(f.residual < 1e-7, "h={h}: residual {}", f.residual);
        }
    }
}
