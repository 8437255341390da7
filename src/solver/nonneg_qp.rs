//! The non-negative quadratic program `min_{s ≥ 0} ½ sᵀG s − bᵀs` with `G` positive
//! semidefinite (a Gram matrix), solved exactly by the Lawson–Hanson active-set method: least
//! squares on a passive set (Cholesky of `G_PP` from faer), stepping back to keep `s ≥ 0`, and
//! adding the coordinate with the largest `(b − G s)_a` until none is positive. Warm starts
//! from a previous `s` keep repeated solves after a few added columns cheap.
//!
//! With `G = ΦᵀΦ` and `b = Φᵀy − β1` this is the non-negative lasso
//! `min_{s≥0} ½‖Φ s − y‖² + β Σ s_a`, the master problem of column generation over atoms.

use crate::error::{Error, Result};
use faer::linalg::solvers::Solve;
use faer::{Mat, MatRef, Side};

/// Solves `min_{s ≥ 0} ½ sᵀG s − bᵀs` in place (`s` is the warm start; negative entries are
/// set to zero). `tol` is the stationarity tolerance on `(b − G s)_a` for `s_a = 0`. Returns
/// the number of passive-set changes.
pub fn nonneg_qp(g: MatRef<'_, f64>, b: &[f64], s: &mut [f64], tol: f64) -> Result<usize> {
    let m = b.len();
    if g.nrows() != m || g.ncols() != m || s.len() != m {
        return Err(Error::Solver(format!(
            "non-negative QP: Gram {}×{}, {} right-hand sides, {} unknowns",
            g.nrows(),
            g.ncols(),
            m,
            s.len()
        )));
    }
    s.iter_mut().for_each(|v| *v = v.max(0.0));
    let mut passive: Vec<usize> = (0..m).filter(|&a| s[a] > 0.0).collect();
    let diag = (0..m).map(|a| g[(a, a)]).fold(0.0, f64::max).max(1e-300);
    let jitter = 1e-13 * diag;
    let mut changes = 0;
    let max_changes = 20 * m + 100;
    loop {
        // Least squares on the passive set, stepping back to keep s ≥ 0.
        loop {
            if passive.is_empty() {
                break;
            }
            let k = passive.len();
            let gp = Mat::<f64>::from_fn(k, k, |i, j| {
                g[(passive[i], passive[j])] + if i == j { jitter } else { 0.0 }
            });
            let rhs = Mat::<f64>::from_fn(k, 1, |i, _| b[passive[i]]);
            let z = gp
                .llt(Side::Lower)
                .map_err(|_| Error::Solver("non-negative QP: singular passive set".into()))?
                .solve(&rhs);
            if (0..k).all(|i| z[(i, 0)] > 0.0) {
                for (i, &a) in passive.iter().enumerate() {
                    s[a] = z[(i, 0)];
                }
                break;
            }
            // Step from s toward z until the first coordinate reaches zero.
            let mut t = 1.0f64;
            for (i, &a) in passive.iter().enumerate() {
                let zi = z[(i, 0)];
                if zi <= 0.0 {
                    t = t.min(s[a] / (s[a] - zi));
                }
            }
            for (i, &a) in passive.iter().enumerate() {
                s[a] += t * (z[(i, 0)] - s[a]);
            }
            passive.retain(|&a| s[a] > 1e-15 * (1.0 + s[a].abs()));
            for (a, sa) in s.iter_mut().enumerate() {
                if !passive.contains(&a) {
                    *sa = 0.0;
                }
            }
            changes += 1;
            if changes > max_changes {
                return Ok(changes);
            }
        }
        // The most positive dual residual among the zero coordinates.
        let mut best = (tol, usize::MAX);
        for a in 0..m {
            if passive.contains(&a) {
                continue;
            }
            let w = b[a] - (0..m).map(|c| g[(a, c)] * s[c]).sum::<f64>();
            if w > best.0 {
                best = (w, a);
            }
        }
        if best.1 == usize::MAX {
            return Ok(changes);
        }
        passive.push(best.1);
        changes += 1;
        if changes > max_changes {
            return Ok(changes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    fn objective(g: &Mat<f64>, b: &[f64], s: &[f64]) -> f64 {
        let m = b.len();
        let mut v = 0.0;
        for i in 0..m {
            for j in 0..m {
                v += 0.5 * s[i] * g[(i, j)] * s[j];
            }
            v -= b[i] * s[i];
        }
        v
    }

    /// Against brute force over all supports (least squares on each, feasible ones kept), on
    /// random non-negative lassos with more atoms than samples (singular Gram matrices).
    #[test]
    fn matches_brute_force_over_supports() {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(7);
        for case in 0..40 {
            let (n, m) = (5, 9);
            let phi: Vec<f64> = (0..n * m)
                .map(|_| StandardNormal.sample(&mut rng))
                .collect();
            let y: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
            let beta = 0.05 * (case % 5) as f64;
            let col = |a: usize| &phi[a * n..(a + 1) * n];
            let dotv = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(a, b)| a * b).sum::<f64>();
            let g = Mat::<f64>::from_fn(m, m, |i, j| dotv(col(i), col(j)));
            let b: Vec<f64> = (0..m).map(|a| dotv(col(a), &y) - beta).collect();
            let mut s = vec![0.0; m];
            nonneg_qp(g.as_ref(), &b, &mut s, 1e-12).unwrap();
            assert!(s.iter().all(|v| *v >= 0.0));
            let got = objective(&g, &b, &s);
            let mut best = 0.0f64; // s = 0
            for mask in 1u32..(1 << m) {
                let sup: Vec<usize> = (0..m).filter(|a| mask >> a & 1 == 1).collect();
                if sup.len() > n {
                    continue;
                }
                let k = sup.len();
                let gp = Mat::<f64>::from_fn(k, k, |i, j| g[(sup[i], sup[j])]);
                let rhs = Mat::<f64>::from_fn(k, 1, |i, _| b[sup[i]]);
                let Ok(llt) = gp.llt(Side::Lower) else {
                    continue;
                };
                let z = llt.solve(&rhs);
                if (0..k).all(|i| z[(i, 0)] >= 0.0) {
                    let mut t = vec![0.0; m];
                    for (i, &a) in sup.iter().enumerate() {
                        t[a] = z[(i, 0)];
                    }
                    best = best.min(objective(&g, &b, &t));
                }
            }
            assert!(
                (got - best).abs() <= 1e-9 * (1.0 + best.abs()),
                "case {case}: {got} vs brute force {best}"
            );
        }
    }

    #[test]
    fn refuses_mismatched_sizes() {
        let g = Mat::<f64>::identity(3, 3);
        let mut s = vec![0.0; 2];
        assert!(nonneg_qp(g.as_ref(), &[1.0, 1.0, 1.0], &mut s, 1e-12).is_err());
    }

    /// Hand-solved cases: `G = diag(2, 1)`, `b = (2, −1)` gives `s = (1, 0)`;
    /// `G = [[2, 1], [1, 2]]`, `b = (3, −3)` gives `s = (3/2, 0)` (with `b₂ − G₂₁s₁ = −4.5 < 0`);
    /// `b = (3, 3)` gives the interior solution `G⁻¹b = (1, 1)`. Negative warm starts are clipped.
    #[test]
    fn hand_solved_small_problems() {
        let cases: [([f64; 4], [f64; 2], [f64; 2]); 3] = [
            ([2.0, 0.0, 0.0, 1.0], [2.0, -1.0], [1.0, 0.0]),
            ([2.0, 1.0, 1.0, 2.0], [3.0, -3.0], [1.5, 0.0]),
            ([2.0, 1.0, 1.0, 2.0], [3.0, 3.0], [1.0, 1.0]),
        ];
        for (gv, b, want) in cases {
            let g = Mat::<f64>::from_fn(2, 2, |i, j| gv[2 * i + j]);
            for warm in [[0.0, 0.0], [-1.0, 5.0], [2.0, 2.0]] {
                let mut s = warm;
                nonneg_qp(g.as_ref(), &b, &mut s, 1e-12).unwrap();
                for (x, w) in s.iter().zip(want) {
                    assert!((x - w).abs() < 1e-10, "{gv:?} {b:?} from {warm:?}: {s:?}");
                }
            }
        }
    }
}
