//! The convex program of a two-layer CNN with `C` outputs and per-output filters (MATH.md
//! section 4), for first-order solvers on real data:
//!
//! ```text
//! min  ℓ( Σ_i A_i (C_i − C'_i), Y ) + β Σ_{i,c} (‖c_{ic}‖ + ‖c'_{ic}‖)
//! s.t. (2D_i^k − I) X_k c_{ic} ≥ 0,  (2D_i^k − I) X_k c'_{ic} ≥ 0
//! ```
//!
//! with `C_i = [c_{i1} … c_{iC}] ∈ R^{h×C}`. A point of the exact program is a vector of
//! `2PC` blocks of length `h`: block `b = s·PC + c·P + i` is `c_{ic}` (`s = 0`) or `c'_{ic}`
//! (`s = 1`). The first `PC` blocks, read column-major, are the `Ph × C` matrix `C⁺` of the
//! product `A C⁺`, and the same memory read as `h × PC` holds one block per column for the
//! constraint products. The gated relaxation (MATH.md 3.3) has one block `z_{ic}` per pattern
//! and output (`PC` blocks, the same layout as `C⁺`).

use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::program::operator::PatternOperator;
use rayon::prelude::*;

/// A multi-output two-layer program over a fixed set of patterns.
#[derive(Debug, Clone)]
pub struct MultiProgram {
    /// The operators `A` and the cone constraints.
    pub op: PatternOperator,
    /// The loss.
    pub loss: Loss,
    /// Targets `n × C`, column-major.
    pub y: Vec<f64>,
    /// Outputs `C`.
    pub outputs: usize,
    /// Weight decay `β`.
    pub beta: f64,
}

impl MultiProgram {
    /// Checks shapes and `β`.
    pub fn new(
        op: PatternOperator,
        loss: Loss,
        y: Vec<f64>,
        outputs: usize,
        beta: f64,
    ) -> Result<Self> {
        if !(beta > 0.0 && beta.is_finite()) {
            return Err(Error::param(
                "beta",
                format!("β must be positive and finite, got {beta}"),
            ));
        }
        if outputs == 0 || y.len() != op.n * outputs {
            return Err(Error::Data(format!(
                "{} target values for {} samples and {outputs} outputs",
                y.len(),
                op.n
            )));
        }
        Ok(MultiProgram {
            op,
            loss,
            y,
            outputs,
            beta,
        })
    }

    /// Samples `n`.
    pub fn n(&self) -> usize {
        self.op.n
    }

    /// Filter size `h`.
    pub fn h(&self) -> usize {
        self.op.h
    }

    /// Patterns `P`.
    pub fn patterns(&self) -> usize {
        self.op.patterns()
    }

    /// `P·C`: blocks of one sign (gated blocks).
    pub fn half(&self) -> usize {
        self.patterns() * self.outputs
    }

    /// Length of a point of the exact program, `2PCh`.
    pub fn exact_len(&self) -> usize {
        2 * self.half() * self.h()
    }

    /// Pattern, output and sign (`+1` for `c`, `−1` for `c'`) of exact block `b`.
    pub fn block_info(&self, b: usize) -> (usize, usize, f64) {
        let half = self.half();
        let p = self.patterns();
        let r = b % half;
        (r % p, r / p, if b < half { 1.0 } else { -1.0 })
    }

    /// Exact block of pattern `i`, output `c` and sign `s` (the inverse of [`Self::block_info`]).
    pub fn block_index(&self, i: usize, c: usize, s: f64) -> usize {
        let sign = if s > 0.0 { 0 } else { self.half() };
        sign + c * self.patterns() + i
    }

    /// Where each exact block of `old` (a program over some of the same patterns, same outputs)
    /// is in this program: patterns are matched by their bits; `None` for a pattern this
    /// program does not hold.
    pub fn block_map(&self, old: &MultiProgram) -> Vec<Option<usize>> {
        let index: std::collections::HashMap<&[u64], usize> =
            (0..self.patterns()).map(|i| (self.op.bits(i), i)).collect();
        (0..2 * old.half())
            .map(|b| {
                let (i, c, s) = old.block_info(b);
                (c < self.outputs)
                    .then(|| index.get(old.op.bits(i)))
                    .flatten()
                    .map(|&j| self.block_index(j, c, s))
            })
            .collect()
    }

    /// The exact point `x` of `old` written in this program's layout ([`Self::block_map`]);
    /// blocks of patterns this program lacks are left out (so keep every pattern of `old`).
    pub fn point_from(&self, old: &MultiProgram, x: &[f64]) -> Vec<f64> {
        let h = self.h();
        let mut out = vec![0.0; self.exact_len()];
        for (b, nb) in self.block_map(old).into_iter().enumerate() {
            if let Some(nb) = nb {
                out[nb * h..(nb + 1) * h].copy_from_slice(&x[b * h..(b + 1) * h]);
            }
        }
        out
    }

    /// `z = C⁺ − C'` (`Ph × C`) of an exact point.
    pub fn difference(&self, x: &[f64], z: &mut [f64]) {
        let m = self.half() * self.h();
        for ((zi, a), b) in z.iter_mut().zip(&x[..m]).zip(&x[m..]) {
            *zi = a - b;
        }
    }

    /// Prediction `A z` (`n × C`) of a gated point or of a difference `z`.
    pub fn predict_z(&self, z: &[f64]) -> Vec<f64> {
        let mut f = vec![0.0; self.n() * self.outputs];
        self.op.forward(z, &mut f);
        f
    }

    /// Prediction of an exact point.
    pub fn predict_exact(&self, x: &[f64]) -> Vec<f64> {
        let mut z = vec![0.0; self.half() * self.h()];
        self.difference(x, &mut z);
        self.predict_z(&z)
    }

    /// `ℓ(A z) + β Σ‖blocks‖` for a gated point, or for an exact point (`exact = true`).
    pub fn objective(&self, x: &[f64], exact: bool) -> f64 {
        let f = if exact {
            self.predict_exact(x)
        } else {
            self.predict_z(x)
        };
        self.loss.value_grad(&f, &self.y, self.n(), None)
            + self.beta * crate::algebra::group_norm_sum(x, self.h())
    }

    /// Largest cone violation `max_b max_g (−s n_gᵀx_b)_+` over the blocks of an exact point,
    /// relative to the largest block norm (the measure the augmented Lagrangian reports).
    pub fn max_violation(&self, x: &[f64]) -> f64 {
        let h = self.h();
        let abs = x
            .par_chunks(h)
            .enumerate()
            .filter(|(_, c)| c.iter().any(|v| *v != 0.0))
            .map(|(b, c)| {
                let nc = c.iter().map(|v| v * v).sum::<f64>().sqrt();
                self.op.cone_violation(self.block_info(b).0, c) * nc
            })
            .reduce(|| 0.0, f64::max);
        crate::algebra::relative_violation(abs, x, h)
    }

    /// Number of non-zero blocks (filters of the recovered network).
    pub fn nonzero_blocks(&self, x: &[f64]) -> usize {
        x.chunks(self.h().max(1))
            .filter(|c| c.iter().any(|v| *v != 0.0))
            .count()
    }

    /// The dual value `−ℓ*(s·V)` with `V = ∇ℓ(f)` and the largest `s ≤ 1` for which
    /// `s·γ_max ≤ β` — a lower bound on the optimum whenever `γ_max` bounds every block's dual
    /// constraint value from above (MATH.md 3.2).
    pub fn dual_value(&self, v: &[f64], gamma_max: f64) -> f64 {
        let s = if gamma_max > self.beta {
            self.beta / gamma_max
        } else {
            1.0
        };
        let sv: Vec<f64> = v.iter().map(|a| a * s).collect();
        self.loss.dual_value(&sv, &self.y, self.n())
    }

    /// Whether the dual separates over outputs (squared loss): each output's part of `V` may
    /// then be scaled by its own factor, since output `c`'s dual constraints involve `v_c` only.
    pub fn separable(&self) -> bool {
        self.loss == Loss::Squared
    }

    /// Output of each exact block (`2PC` values), the grouping of the dual constraints for
    /// [`MultiProgram::dual_value_per_output`].
    pub fn block_outputs(&self) -> Vec<usize> {
        (0..2 * self.half()).map(|b| self.block_info(b).1).collect()
    }

    /// [`MultiProgram::dual_value`] with one bound `γ_c` per output (`gammas.len() == C`): for a
    /// separable loss, column `c` of `V` is scaled by `min(1, β/γ_c)` (a larger dual value
    /// than one common factor); otherwise the common factor of `max_c γ_c` is used.
    pub fn dual_value_per_output(&self, v: &[f64], gammas: &[f64]) -> f64 {
        let gmax = gammas.iter().copied().fold(0.0, f64::max);
        if !self.separable() || gammas.len() != self.outputs {
            return self.dual_value(v, gmax);
        }
        let n = self.n();
        let mut sv = v.to_vec();
        for (c, &g) in gammas.iter().enumerate() {
            let s = if g > self.beta { self.beta / g } else { 1.0 };
            sv[c * n..(c + 1) * n].iter_mut().for_each(|a| *a *= s);
        }
        self.loss.dual_value(&sv, &self.y, n)
    }

    /// Largest value per output of per-block values (`2PC` values, e.g. dual-constraint
    /// bounds).
    pub fn max_per_output(&self, block_values: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0f64; self.outputs];
        for (b, &g) in block_values.iter().enumerate() {
            let c = self.block_info(b).1;
            out[c] = out[c].max(g);
        }
        out
    }

    /// Loss gradient `V = ∇ℓ(f)` at a prediction.
    pub fn loss_gradient(&self, f: &[f64]) -> Vec<f64> {
        let mut v = vec![0.0; f.len()];
        self.loss.value_grad(f, &self.y, self.n(), Some(&mut v));
        v
    }

    /// `Aᵀ V`, `Ph × C`: block `(i, c)` is the gated dual constraint vector `A_iᵀ v_c`.
    pub fn adjoint(&self, v: &[f64]) -> Vec<f64> {
        let mut g = vec![0.0; self.half() * self.h()];
        self.op.adjoint(v, &mut g);
        g
    }
}

/// Relative gap `(primal − dual)/max(|primal|, tiny)`.
pub fn relative_gap(primal: f64, dual: f64) -> f64 {
    (primal - dual) / primal.abs().max(1e-300)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::patterns::Hyperplanes;
    use crate::program::tests::{
        gaussian, hand_patches, patterns_of, random_patches, ALL_ON, ON_OFF,
    };

    /// The hand example (see [`crate::program::tests::hand_patches`]) as a multi-output program
    /// with squared loss, one target per output.
    pub(crate) fn hand_multi(filters: &[[f64; 2]], y: &[f64], beta: f64) -> MultiProgram {
        let p = hand_patches();
        let hp = Hyperplanes::from_patches(&p);
        let f: Vec<Vec<f64>> = filters.iter().map(|u| u.to_vec()).collect();
        let (set, _) = patterns_of(&hp, &f);
        let op = PatternOperator::new(&p, &hp, &set, 1.0).unwrap();
        MultiProgram::new(op, Loss::Squared, y.to_vec(), y.len(), beta).unwrap()
    }

    /// Block `b = s·PC + c·P + i` is pattern `i`, output `c`, sign `+` for `s = 0`.
    #[test]
    fn block_layout_by_hand() {
        let prog = hand_multi(&[ON_OFF, ALL_ON], &[1.0, 2.0], 0.5);
        assert_eq!((prog.patterns(), prog.half(), prog.exact_len()), (2, 4, 16));
        let want = [
            (0, 0, 1.0),
            (1, 0, 1.0),
            (0, 1, 1.0),
            (1, 1, 1.0),
            (0, 0, -1.0),
            (1, 0, -1.0),
            (0, 1, -1.0),
            (1, 1, -1.0),
        ];
        for (b, w) in want.iter().enumerate() {
            assert_eq!(prog.block_info(b), *w, "block {b}");
        }
    }

    /// Prediction and objective of an exact point against loops over the stored `A`.
    #[test]
    fn objective_matches_an_explicit_computation() {
        let (n, c) = (5, 2);
        let (p, _) = random_patches(n, 8, 3, 21);
        let hp = Hyperplanes::from_patches(&p);
        let filters: Vec<Vec<f64>> = (0..6).map(|s| gaussian(3, 2100 + s)).collect();
        let (set, _) = patterns_of(&hp, &filters);
        let op = PatternOperator::new(&p, &hp, &set, 1.0).unwrap();
        let y = gaussian(n * c, 22);
        let prog = MultiProgram::new(op, Loss::Squared, y.clone(), c, 0.7).unwrap();
        let (h, pp) = (prog.h(), prog.patterns());
        let x = gaussian(prog.exact_len(), 23);
        let a = prog.op.a();
        let mut f = vec![0.0; n * c];
        for out in 0..c {
            for i in 0..pp {
                let plus = &x[(out * pp + i) * h..(out * pp + i + 1) * h];
                let minus = &x[((c + out) * pp + i) * h..((c + out) * pp + i + 1) * h];
                for t in 0..n {
                    for e in 0..h {
                        f[out * n + t] += a[(t, i * h + e)] * (plus[e] - minus[e]);
                    }
                }
            }
        }
        let got = prog.predict_exact(&x);
        for (g, w) in got.iter().zip(&f) {
            assert!((g - w).abs() < 1e-12);
        }
        let loss: f64 = f.iter().zip(&y).map(|(a, b)| 0.5 * (a - b) * (a - b)).sum();
        let pen: f64 = x
            .chunks(h)
            .map(|b| b.iter().map(|v| v * v).sum::<f64>().sqrt())
            .sum();
        let want = loss + 0.7 * pen;
        assert!((prog.objective(&x, true) - want).abs() < 1e-11 * want);
        let grad = prog.loss_gradient(&f);
        for ((g, fi), yi) in grad.iter().zip(&f).zip(&y) {
            assert!((g - (fi - yi)).abs() < 1e-15);
        }
        assert_eq!(prog.nonzero_blocks(&x), 2 * pp * c);
    }

    /// `−ℓ*(s v)` for the squared loss with `s = min(1, β/γ)`, by hand:
    /// `v = (1, −2)`, `y = (3, 1)`, `β = 1`: `γ = 4` gives `s = ¼` and `−0.40625`; `γ = ½` gives
    /// `s = 1` and `−½·5 − (3 − 2) = −3.5`.
    #[test]
    fn dual_value_by_hand() {
        let prog = hand_multi(&[ON_OFF], &[3.0, 1.0], 1.0);
        assert!((prog.dual_value(&[1.0, -2.0], 4.0) + 0.40625).abs() < 1e-15);
        assert!((prog.dual_value(&[1.0, -2.0], 0.5) + 3.5).abs() < 1e-15);
    }

    /// The violation is the worst absolute row violation over the largest block norm: `(1, 1)`
    /// in the on/off block violates `u₁ ≤ 0` by 1, and the largest block is `(3, 4)`: 1/5.
    #[test]
    fn max_violation_is_relative_to_the_largest_block() {
        let prog = hand_multi(&[ON_OFF, ALL_ON], &[1.0], 0.5);
        let mut x = vec![0.0; prog.exact_len()];
        x[0..2].copy_from_slice(&[1.0, 1.0]); // c of the on/off pattern
        x[2..4].copy_from_slice(&[3.0, 4.0]); // c of the all-on pattern (feasible)
        assert!((prog.max_violation(&x) - 0.2).abs() < 1e-15);
        assert_eq!(prog.max_violation(&vec![0.0; prog.exact_len()]), 0.0);
        assert_eq!(prog.nonzero_blocks(&x), 2);
    }

    /// Shapes and `β` are checked; the relative gap is `(p − d)/|p|`.
    #[test]
    fn new_checks_and_relative_gap() {
        let p = hand_patches();
        let hp = Hyperplanes::from_patches(&p);
        let (set, _) = patterns_of(&hp, &[ON_OFF.to_vec()]);
        let op = PatternOperator::new(&p, &hp, &set, 1.0).unwrap();
        assert!(MultiProgram::new(op.clone(), Loss::Squared, vec![1.0], 1, 0.0).is_err());
        assert!(MultiProgram::new(op.clone(), Loss::Squared, vec![1.0], 1, f64::NAN).is_err());
        assert!(MultiProgram::new(op.clone(), Loss::Squared, vec![1.0; 3], 2, 1.0).is_err());
        assert!(MultiProgram::new(op, Loss::Squared, vec![], 0, 1.0).is_err());
        assert!((relative_gap(4.0, 3.0) - 0.25).abs() < 1e-15);
        assert!((relative_gap(-2.0, -3.0) - 0.5).abs() < 1e-15);
    }
}
