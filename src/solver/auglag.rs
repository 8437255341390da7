//! Augmented Lagrangian method for the exact (cone-constrained) multi-output program
//! (MATH.md section 7):
//!
//! ```text
//! inner:  min_x  F(x) + (1/2δ) Σ_b ‖(λ_b − δ G_b x_b)_+‖² + β Σ_b ‖x_b‖     (FISTA)
//! outer:  λ_b ← (λ_b − δ G_b x_b)_+ ,  δ ← 10δ when the violation does not shrink 4×
//! ```
//!
//! with `G_b = diag(s_{·,i}) N` the cone constraints of block `b`. The constraint products are
//! the cost: they are done in row chunks of `N` (bounded memory, one chunk per task, run in
//! parallel), as GEMMs over the *active* blocks only (non-zero, or with a non-zero multiplier) —
//! a zero block with a zero multiplier has a zero penalty and gradient. Multipliers are stored
//! per chunk and allocated on first use.
//!
//! The multipliers also give a cheap dual bound: for any `λ ≥ 0`,
//! `γ_b(V) ≤ ‖a_b − G_bᵀλ_b‖` with `a_b = ±A_iᵀ v_c`, so scaling `V` by
//! `β / max_b ‖a_b − G_bᵀλ_b‖` gives a dual-feasible point (MATH.md 3.2).

use super::driver::{Driver, IterLimits, IterObserver, IterRecord};
use super::fista::{Fista, FistaSettings, SmoothPart};
use super::loss_part::LossPart;
use super::SolveStatus;
use crate::algebra::relative_violation;
use crate::program::multi::{relative_gap, MultiProgram};
use crate::program::operator::{normals_adjoint_add, normals_times, row_chunks};
use faer::{MatMut, MatRef};
use rayon::prelude::*;

/// Rows of `N` per GEMM inside a chunk.
const ROW_BLOCK: usize = 512;

/// Settings of the augmented-Lagrangian solve.
#[derive(Debug, Clone, Copy)]
pub struct AlSettings {
    /// Outer iterations, time limit and the target relative gap (the violation target is
    /// `violation_tol`).
    pub limits: IterLimits,
    /// Target relative cone violation `max_b max_g (−s n_gᵀx_b)_+ / max_b ‖x_b‖` (relative to
    /// the largest block, so that tiny blocks entering the support do not dominate).
    pub violation_tol: f64,
    /// Most FISTA iterations per outer iteration.
    pub inner_iter: usize,
    /// Initial penalty `δ` (relative to `β`).
    pub delta: f64,
    /// Factor on `δ` when the violation does not shrink 4× in an outer iteration.
    pub delta_growth: f64,
    /// Largest `δ` (relative to `β`). A larger penalty enforces the cones sooner but makes the
    /// inner problems stiff, so that they need more FISTA steps; with a cap of `100β` the
    /// multipliers alone must close the violation, which was too slow on the Gaussian
    /// agreement test (a small infeasible remainder cost 4e-4 in objective once projected).
    pub delta_max: f64,
}

impl Default for AlSettings {
    fn default() -> Self {
        AlSettings {
            limits: IterLimits {
                max_iter: 100,
                time_limit: None,
                tol: 1e-4,
            },
            violation_tol: 1e-6,
            inner_iter: 200,
            delta: 1.0,
            delta_growth: 10.0,
            delta_max: 1e4,
        }
    }
}

/// The augmented-Lagrangian result.
#[derive(Debug, Clone)]
pub struct AlSolution {
    /// The point (exact layout of [`MultiProgram`]), not yet projected onto the cones.
    pub x: Vec<f64>,
    /// Objective at `x`.
    pub objective: f64,
    /// Relative cone violation at `x`.
    pub violation: f64,
    /// Relative gap from the multiplier bound (an estimate while `x` is infeasible).
    pub gap: f64,
    /// Status.
    pub status: SolveStatus,
    /// Outer iterations.
    pub outer: usize,
    /// Total FISTA iterations.
    pub inner: usize,
    /// Final penalty parameter.
    pub delta: f64,
    /// `G_bᵀλ_b` for every block (zero where `λ_b = 0`), `2PCh` values: upper bounds
    /// `γ_b ≤ ‖a_b − G_bᵀλ_b‖` for certificates.
    pub multiplier_term: Vec<f64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Penalty value and gradient at `x`.
    Eval,
    /// Penalty value only.
    Value,
    /// `λ ← (λ − δ G x)_+`, and the violation.
    Update,
    /// `G_bᵀ λ_b`.
    Multipliers,
}

/// One row chunk of `N`: its GEMM buffers and its slice of every block's multipliers.
struct Chunk {
    g0: usize,
    g1: usize,
    q: Vec<f64>,
    /// Sides of the current block on the current rows.
    sides: Vec<f64>,
    acc: Vec<f64>,
    lam: Vec<Vec<f64>>,
    value: f64,
    violation: f64,
}

/// The constraint part: multipliers and buffers.
struct Constraints {
    chunks: Vec<Chunk>,
    has_lam: Vec<bool>,
    delta: f64,
    /// Active blocks and their gathered values `h × na`.
    active: Vec<usize>,
    xa: Vec<f64>,
}

impl Constraints {
    fn new(prog: &MultiProgram, delta: f64) -> Self {
        let g = prog.op.hyperplanes();
        let parts = (4 * rayon::current_num_threads()).max(1);
        let blocks = 2 * prog.half();
        let chunks = row_chunks(g, parts)
            .into_iter()
            .map(|(g0, g1)| Chunk {
                g0,
                g1,
                q: Vec::new(),
                sides: vec![0.0; ROW_BLOCK.min(g1 - g0)],
                acc: Vec::new(),
                lam: vec![Vec::new(); blocks],
                value: 0.0,
                violation: 0.0,
            })
            .collect();
        Constraints {
            chunks,
            has_lam: vec![false; blocks],
            delta,
            active: Vec::new(),
            xa: Vec::new(),
        }
    }

    /// Gathers the active blocks of `x` (non-zero or with multipliers; all with multipliers in
    /// [`Mode::Multipliers`]).
    fn gather(&mut self, h: usize, x: &[f64], mode: Mode) {
        self.active.clear();
        self.xa.clear();
        for (b, xb) in x.chunks(h).enumerate() {
            let nz = xb.iter().any(|v| *v != 0.0);
            let take = match mode {
                Mode::Multipliers => self.has_lam[b],
                _ => nz || self.has_lam[b],
            };
            if take {
                self.active.push(b);
                self.xa.extend_from_slice(xb);
            }
        }
    }

    /// Runs one pass over the row chunks; returns `(Σ w², max relative violation)` and leaves
    /// `Σ_chunks acc` in the first chunk's `acc` (`h × na`) when the mode needs a gradient.
    fn pass(&mut self, prog: &MultiProgram, mode: Mode) -> (f64, f64) {
        let na = self.active.len();
        let h = prog.h();
        if na == 0 {
            return (0.0, 0.0);
        }
        let normals = prog.op.normals();
        let delta = self.delta;
        let xa = MatRef::from_column_major_slice(&self.xa, h, na);
        let active = &self.active;
        let want_acc = matches!(mode, Mode::Eval | Mode::Multipliers);
        self.chunks.par_iter_mut().for_each(|ch| {
            let rows_max = ROW_BLOCK.min(ch.g1 - ch.g0);
            if ch.q.len() < rows_max * na {
                ch.q.resize(rows_max * na, 0.0);
            }
            if want_acc {
                if ch.acc.len() < h * na {
                    ch.acc.resize(h * na, 0.0);
                }
                ch.acc[..h * na].iter_mut().for_each(|v| *v = 0.0);
            }
            let mut value = 0.0;
            let mut viol: f64 = 0.0;
            let mut sub = ch.g0;
            while sub < ch.g1 {
                let rows = ROW_BLOCK.min(ch.g1 - sub);
                let off = sub - ch.g0;
                let chunk_rows = ch.g1 - ch.g0;
                {
                    let q = &mut ch.q[..rows * na];
                    if mode != Mode::Multipliers {
                        normals_times(
                            normals,
                            sub,
                            xa,
                            MatMut::from_column_major_slice_mut(q, rows, na),
                        );
                    }
                    for (j, &b) in active.iter().enumerate() {
                        let (i, _, _) = prog.block_info(b);
                        let s = &mut ch.sides[..rows];
                        prog.op.signs(i).fill(sub, s);
                        let s = &*s;
                        let col = &mut q[j * rows..(j + 1) * rows];
                        let lam = &mut ch.lam[b];
                        match mode {
                            Mode::Multipliers => {
                                if lam.is_empty() {
                                    col.iter_mut().for_each(|v| *v = 0.0);
                                } else {
                                    for ((c, sg), l) in col.iter_mut().zip(s).zip(&lam[off..]) {
                                        *c = sg * l;
                                    }
                                }
                            }
                            Mode::Eval | Mode::Value | Mode::Update => {
                                let update = mode == Mode::Update;
                                // A multiplier slice is needed once some row is violated.
                                if update
                                    && lam.is_empty()
                                    && col.iter().zip(s).any(|(c, sg)| sg * c < 0.0)
                                {
                                    lam.resize(chunk_rows, 0.0);
                                }
                                let mut lam_blk = if lam.is_empty() {
                                    None
                                } else {
                                    Some(&mut lam[off..off + rows])
                                };
                                for (r, (c, sg)) in col.iter_mut().zip(s).enumerate() {
                                    let v = sg * *c;
                                    viol = viol.max(-v);
                                    let l = lam_blk.as_ref().map_or(0.0, |lb| lb[r]);
                                    let w = (l - delta * v).max(0.0);
                                    value += w * w;
                                    if !update {
                                        *c = -sg * w;
                                    } else if let Some(lb) = lam_blk.as_deref_mut() {
                                        lb[r] = w;
                                    }
                                }
                            }
                        }
                    }
                }
                if want_acc {
                    let q = &ch.q[..rows * na];
                    normals_adjoint_add(
                        normals,
                        sub,
                        MatRef::from_column_major_slice(q, rows, na),
                        MatMut::from_column_major_slice_mut(&mut ch.acc[..h * na], h, na),
                    );
                }
                sub += rows;
            }
            ch.value = value;
            ch.violation = viol;
        });
        let value: f64 = self.chunks.iter().map(|c| c.value).sum();
        let viol = self.chunks.iter().map(|c| c.violation).fold(0.0, f64::max);
        if want_acc && self.chunks.len() > 1 {
            let (first, rest) = self.chunks.split_at_mut(1);
            let acc0 = &mut first[0].acc[..h * na];
            for ch in rest.iter() {
                if ch.acc.len() >= h * na {
                    for (a, b) in acc0.iter_mut().zip(&ch.acc[..h * na]) {
                        *a += b;
                    }
                }
            }
        }
        if mode == Mode::Update {
            for &b in &self.active {
                self.has_lam[b] = self.chunks.iter().any(|c| !c.lam[b].is_empty());
            }
        }
        (value, viol)
    }

    /// The summed `acc` after a pass (`h × na`).
    fn acc(&self, h: usize) -> &[f64] {
        &self.chunks[0].acc[..h * self.active.len()]
    }
}

struct AlSmooth<'a> {
    loss: LossPart<'a>,
    cons: &'a mut Constraints,
}

impl SmoothPart for AlSmooth<'_> {
    fn eval(&mut self, x: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let p = self.loss.prog;
        let h = p.h();
        let mode = if grad.is_some() {
            Mode::Eval
        } else {
            Mode::Value
        };
        self.cons.gather(h, x, mode);
        let (pen, _) = self.cons.pass(p, mode);
        let pen = pen / (2.0 * self.cons.delta);
        match grad {
            Some(g) => {
                let val = self.loss.eval(x, Some(&mut *g));
                let acc = self.cons.acc(h);
                for (j, &b) in self.cons.active.iter().enumerate() {
                    for (gi, a) in g[b * h..(b + 1) * h]
                        .iter_mut()
                        .zip(&acc[j * h..(j + 1) * h])
                    {
                        *gi += a;
                    }
                }
                val + pen
            }
            None => self.loss.eval(x, None) + pen,
        }
    }
}

/// Upper bounds `‖a_b − G_bᵀλ_b‖ ≥ γ_b(V)` for every exact block, with `a_b = ±A_iᵀ v_c`;
/// `mult` is `G_bᵀλ_b` for all blocks (zeros allowed).
pub fn multiplier_bounds(prog: &MultiProgram, v: &[f64], mult: &[f64]) -> Vec<f64> {
    let h = prog.h();
    let ag = prog.adjoint(v);
    let half = prog.half();
    (0..2 * half)
        .into_par_iter()
        .map(|b| {
            let r = b % half;
            let s = if b < half { 1.0 } else { -1.0 };
            let a = &ag[r * h..(r + 1) * h];
            let m = &mult[b * h..(b + 1) * h];
            a.iter()
                .zip(m)
                .map(|(ai, mi)| {
                    let d = s * ai - mi;
                    d * d
                })
                .sum::<f64>()
                .sqrt()
        })
        .collect()
}

fn multiplier_term(prog: &MultiProgram, cons: &mut Constraints, x: &[f64]) -> Vec<f64> {
    let h = prog.h();
    let mut out = vec![0.0; x.len()];
    cons.gather(h, x, Mode::Multipliers);
    cons.pass(prog, Mode::Multipliers);
    let acc = cons.acc(h).to_vec();
    for (j, &b) in cons.active.iter().enumerate() {
        out[b * h..(b + 1) * h].copy_from_slice(&acc[j * h..(j + 1) * h]);
    }
    out
}

/// `(objective, dual bound)` at `x` from the multipliers' bounds.
pub(crate) fn al_gap(prog: &MultiProgram, x: &[f64], mult: &[f64]) -> (f64, f64) {
    let f = prog.predict_exact(x);
    let v = prog.loss_gradient(&f);
    let bounds = multiplier_bounds(prog, &v, mult);
    let primal = prog.loss.value_grad(&f, &prog.y, prog.n(), None)
        + prog.beta * crate::algebra::group_norm_sum(x, prog.h());
    (
        primal,
        prog.dual_value_per_output(&v, &prog.max_per_output(&bounds)),
    )
}

/// Solves the exact program by the augmented Lagrangian from `warm` (or zero).
pub fn solve_auglag(
    prog: &MultiProgram,
    settings: &AlSettings,
    warm: Option<&[f64]>,
    obs: &mut dyn IterObserver,
) -> AlSolution {
    let len = prog.exact_len();
    let h = prog.h();
    let mut x = match warm {
        Some(w) if w.len() == len => w.to_vec(),
        _ => vec![0.0; len],
    };
    let driver = Driver::new(settings.limits);
    let mut cons = Constraints::new(prog, settings.delta * prog.beta);
    let mut fista = Fista::new(len, 1.0);
    let mut inner_tol = 1e-3;
    let mut total_inner = 0;
    let mut prev_viol = f64::INFINITY;
    let mut status = SolveStatus::MaxIterations;
    let mut outer = 0;
    let mut last_gap = f64::INFINITY;
    let mut last_viol = f64::INFINITY;
    let mut mult = vec![0.0; len];
    for it in 0..settings.limits.max_iter {
        outer = it + 1;
        {
            let mut smooth = AlSmooth {
                loss: LossPart::new(prog),
                cons: &mut cons,
            };
            let fs = FistaSettings {
                max_iter: settings.inner_iter,
                tol: inner_tol,
            };
            let mut each = |_: usize, _: f64, _: &[f64]| !driver.out_of_time();
            let info = fista.run(&mut smooth, h, prog.beta, &mut x, &fs, &mut each);
            total_inner += info.iterations;
        }
        cons.gather(h, &x, Mode::Update);
        let (_, abs_viol) = cons.pass(prog, Mode::Update);
        let viol = relative_violation(abs_viol, &x, h);
        mult = multiplier_term(prog, &mut cons, &x);
        let (primal, dual) = al_gap(prog, &x, &mult);
        let gap = relative_gap(primal, dual);
        last_gap = gap;
        last_viol = viol;
        let rec = IterRecord {
            iter: it,
            inner: total_inner,
            objective: primal,
            violation: viol,
            gap: Some(gap),
            elapsed: driver.elapsed(),
            penalty: cons.delta,
        };
        let converged = viol <= settings.violation_tol && gap <= settings.limits.tol;
        if let Some(s) = driver.step(&rec, converged, obs) {
            status = s;
            break;
        }
        if viol > 0.25 * prev_viol && viol > settings.violation_tol {
            cons.delta = (cons.delta * settings.delta_growth).min(settings.delta_max * prog.beta);
        }
        prev_viol = viol;
        inner_tol = (inner_tol * 0.3).max(1e-9);
    }
    let objective = prog.objective(&x, true);
    AlSolution {
        x,
        objective,
        violation: last_viol,
        gap: last_gap,
        status,
        outer,
        inner: total_inner,
        delta: cons.delta,
        multiplier_term: mult,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::multi::tests::hand_multi;
    use crate::program::tests::{ALL_ON, ON_OFF};
    use crate::solver::NoObserver;

    /// `‖s·A_iᵀv_c − m_b‖` by hand: with `v = (1, −2)` (two outputs) the on/off block has
    /// `A_iᵀv = (1, 1)` and `(−2, −2)`; with `m = 0` the bounds are `√2, 2√2, √2, 2√2`, and a
    /// multiplier term `(1, 0)` on block 0 lowers its bound to `‖(0, 1)‖ = 1`.
    #[test]
    fn multiplier_bounds_by_hand() {
        let prog = hand_multi(&[ON_OFF], &[0.0, 0.0], 0.5);
        let v = [1.0, -2.0];
        let r2 = 2f64.sqrt();
        let b = multiplier_bounds(&prog, &v, &[0.0; 8]);
        for (x, w) in b.iter().zip([r2, 2.0 * r2, r2, 2.0 * r2]) {
            assert!((x - w).abs() < 1e-15, "{b:?}");
        }
        let mut m = [0.0; 8];
        m[0] = 1.0;
        m[4] = -1.0; // block 2 (c' of output 0): s = −1, −(1, 1) − (−1, 0) = (0, −1)
        let b = multiplier_bounds(&prog, &v, &m);
        assert!(
            (b[0] - 1.0).abs() < 1e-15 && (b[2] - 1.0).abs() < 1e-15,
            "{b:?}"
        );
    }

    /// The exact optimum of the hand example with two outputs `y = (3, −3)` and `β = ½`: each
    /// output uses the on/off pattern along `(1, 0)` (the cone binds), `2 × 1.375 = 2.75`, at
    /// `c_{0,0} = c'_{0,1} = (2.5, 0)`. The certified relative gap `1e-7` bounds the objective
    /// error by `2.75e-7` and the distance along the unit-curvature direction by `√(5.5e-7)`.
    #[test]
    fn exact_optimum_by_hand() {
        let prog = hand_multi(&[ON_OFF], &[3.0, -3.0], 0.5);
        let mut s = AlSettings::default();
        s.limits.tol = 1e-7;
        s.limits.max_iter = 300;
        s.violation_tol = 1e-9;
        let sol = solve_auglag(&prog, &s, None, &mut NoObserver);
        assert!(sol.status.converged(), "{sol:?}");
        assert!(sol.gap <= 1e-7 && sol.violation <= 1e-9);
        assert!((sol.objective - 2.75).abs() < 2.75e-7, "{sol:?}");
        let want = [2.5, 0.0, 0.0, 0.0, 0.0, 0.0, 2.5, 0.0];
        for (a, b) in sol.x.iter().zip(want) {
            assert!((a - b).abs() < 7.5e-4, "{:?}", sol.x);
        }
    }

    /// With two patterns the all-on block (`γ = √5`) is the better one for both outputs.
    #[test]
    fn best_pattern_wins() {
        let prog = hand_multi(&[ON_OFF, ALL_ON], &[3.0, -3.0], 0.5);
        let mut s = AlSettings::default();
        s.limits.tol = 1e-7;
        s.limits.max_iter = 300;
        let sol = solve_auglag(&prog, &s, None, &mut NoObserver);
        assert!(sol.status.converged(), "{sol:?}");
        let g = 5f64.sqrt();
        let want = 2.0 * crate::program::tests::one_sample_optimum(g, 3.0, 0.5);
        assert!((sol.objective - want).abs() < 1e-6, "{sol:?} vs {want}");
    }
}
