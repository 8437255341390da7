//! FISTA on the gated-ReLU relaxation (MATH.md 3.3): the unconstrained group lasso
//! `min ℓ(Σ_i A_i Z_i) + β Σ_{i,c} ‖z_{ic}‖`, whose optimum is a lower bound on the exact
//! program over the same patterns. Its duality gap is exact and cheap: `V = ∇ℓ(f)` is dual
//! feasible after scaling so that `max_{i,c} ‖A_iᵀ v_c‖ ≤ β`.

use super::driver::{Driver, IterLimits, IterObserver, IterRecord};
use super::fista::{Fista, FistaSettings, SmoothPart};
use super::SolveStatus;
use crate::program::multi::{relative_gap, MultiProgram};

/// Iterations between two gap evaluations.
const GAP_EVERY: usize = 10;

/// The gated solution and its certificate.
#[derive(Debug, Clone)]
pub struct GatedSolution {
    /// `Z`, `Ph × C` column-major (`PC` blocks of length `h`).
    pub z: Vec<f64>,
    /// Objective of the relaxation.
    pub objective: f64,
    /// Dual bound (lower bound on the relaxation's optimum).
    pub dual: f64,
    /// Relative duality gap.
    pub gap: f64,
    /// Status.
    pub status: SolveStatus,
    /// FISTA iterations.
    pub iterations: usize,
    /// Momentum restarts.
    pub restarts: usize,
}

struct GatedSmooth<'a> {
    prog: &'a MultiProgram,
    f: Vec<f64>,
    v: Vec<f64>,
}

impl SmoothPart for GatedSmooth<'_> {
    fn eval(&mut self, z: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let p = self.prog;
        p.op.forward(z, &mut self.f);
        match grad {
            Some(g) => {
                let val = p.loss.value_grad(&self.f, &p.y, p.n(), Some(&mut self.v));
                p.op.adjoint(&self.v, g);
                val
            }
            None => p.loss.value_grad(&self.f, &p.y, p.n(), None),
        }
    }
}

/// `(objective, dual bound)` of a gated point.
pub fn gated_gap(prog: &MultiProgram, z: &[f64]) -> (f64, f64) {
    let f = prog.predict_z(z);
    let v = prog.loss_gradient(&f);
    let g = prog.adjoint(&v);
    // Gated block `r = c·P + i` belongs to output `c`.
    let p = prog.patterns().max(1);
    let mut gammas = vec![0.0f64; prog.outputs];
    for (r, b) in g.chunks(prog.h().max(1)).enumerate() {
        let c = (r / p).min(prog.outputs - 1);
        gammas[c] = gammas[c].max(b.iter().map(|x| x * x).sum::<f64>().sqrt());
    }
    let primal = prog.loss.value_grad(&f, &prog.y, prog.n(), None)
        + prog.beta * crate::algebra::group_norm_sum(z, prog.h());
    (primal, prog.dual_value_per_output(&v, &gammas))
}

/// Solves the gated relaxation from `warm` (or zero) to relative gap `limits.tol`.
pub fn solve_gated(
    prog: &MultiProgram,
    limits: &IterLimits,
    warm: Option<&[f64]>,
    obs: &mut dyn IterObserver,
) -> GatedSolution {
    let len = prog.half() * prog.h();
    let mut z = match warm {
        Some(w) if w.len() == len => w.to_vec(),
        _ => vec![0.0; len],
    };
    let driver = Driver::new(*limits);
    let mut smooth = GatedSmooth {
        prog,
        f: vec![0.0; prog.n() * prog.outputs],
        v: vec![0.0; prog.n() * prog.outputs],
    };
    let mut fista = Fista::new(len, 1.0);
    let mut status = SolveStatus::MaxIterations;
    let mut last = (f64::INFINITY, f64::NEG_INFINITY);
    let settings = FistaSettings {
        max_iter: limits.max_iter,
        tol: 0.0,
    };
    let mut each = |it: usize, obj: f64, x: &[f64]| {
        let gap = if it % GAP_EVERY == GAP_EVERY - 1 {
            last = gated_gap(prog, x);
            Some(relative_gap(last.0, last.1))
        } else {
            None
        };
        let rec = IterRecord {
            iter: it,
            inner: it + 1,
            objective: obj,
            violation: 0.0,
            gap,
            elapsed: driver.elapsed(),
            penalty: 0.0,
        };
        let converged = gap.is_some_and(|g| g <= limits.tol);
        match driver.step(&rec, converged, obs) {
            Some(s) => {
                status = s;
                false
            }
            None => true,
        }
    };
    let info = fista.run(
        &mut smooth,
        prog.h(),
        prog.beta,
        &mut z,
        &settings,
        &mut each,
    );
    if info.converged && status == SolveStatus::MaxIterations {
        // Stalled at rounding level: judge by the gap.
        status = SolveStatus::AlmostSolved;
    }
    let (primal, dual) = gated_gap(prog, &z);
    GatedSolution {
        z,
        objective: primal,
        dual,
        gap: relative_gap(primal, dual),
        status,
        iterations: info.iterations,
        restarts: info.restarts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::multi::tests::hand_multi;
    use crate::program::tests::{one_sample_optimum, ON_OFF};
    use crate::solver::NoObserver;

    /// At `z = 0` with `y = (3, −3)` (two outputs, one sample) and `β = ½`: primal `9`,
    /// `V = −y`, `‖A_iᵀv_c‖ = 3√2`, so `s = β/(3√2)` and the dual is `−9s² + 18s`.
    #[test]
    fn gated_gap_at_zero_by_hand() {
        let prog = hand_multi(&[ON_OFF], &[3.0, -3.0], 0.5);
        let (p, d) = gated_gap(&prog, &[0.0; 4]);
        let s = 0.5 / (3.0 * 2f64.sqrt());
        assert!((p - 9.0).abs() < 1e-15);
        assert!((d - (-9.0 * s * s + 18.0 * s)).abs() < 1e-13, "{d}");
    }

    /// Without the cone the on/off block reaches `‖A‖ = √2` per unit norm: the gated optimum is
    /// `2(4.5 − (3√2 − ½)²/4)` at `z_c = ±((3√2 − ½)/2)(1, 1)/√2`, and the certified gap closes.
    #[test]
    fn gated_optimum_by_hand() {
        let prog = hand_multi(&[ON_OFF], &[3.0, -3.0], 0.5);
        let limits = IterLimits {
            max_iter: 20_000,
            time_limit: None,
            tol: 1e-10,
        };
        let sol = solve_gated(&prog, &limits, None, &mut NoObserver);
        let r2 = 2f64.sqrt();
        let want = 2.0 * one_sample_optimum(r2, 3.0, 0.5);
        assert!(sol.status.converged(), "{sol:?}");
        assert!(
            (sol.objective - want).abs() < 1e-8,
            "{} vs {want}",
            sol.objective
        );
        assert!(sol.dual <= want + 1e-12 && sol.gap >= -1e-12);
        let t = (3.0 * r2 - 0.5) / 2.0 / r2;
        let z_want = [t, t, -t, -t];
        for (a, b) in sol.z.iter().zip(z_want) {
            assert!((a - b).abs() < 1e-6, "{:?}", sol.z);
        }
    }
}
