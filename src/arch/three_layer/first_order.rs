//! First-order solvers of the three-layer program (MATH-DEEP.md section 1):
//!
//! ```text
//! min ½‖Σ_b σ_b A_b θ_b − y‖² + β Σ_b Σ_c ‖z_{b,c}‖   s.t.  C_b θ_b ≥ 0
//! ```
//!
//! over S-blocks (`θ = z₁`) and P-blocks (`θ = [z₁, z₂]`). Both grow a restricted program by
//! **pricing** every block at the residual `r = y − f`: block `b`'s dual constraint is
//! `γ_b(r) = max {g_bᵀθ : C_b θ ≥ 0, Σ_c ‖θ_c‖ ≤ 1} ≤ β` with `g_b = σ_b A_bᵀ r`.
//! - Any `μ ≥ 0` bounds it from above: `γ_b ≤ max_c ‖(g_b + C_bᵀμ)_c‖`. The solvers try the
//!   working set's own multipliers, then the exact projection of `g_b` onto the cone
//!   (non-negative least squares; the exact `γ_b` for S-blocks), then for P-blocks a golden
//!   search over the weighting of the two channels, `γ² = max_α min_μ α‖a₁‖² + (1 − α)‖a₂‖²`.
//! - Each weighted projection `Π(D g)` also gives a feasible direction `θ = D Π(D g)` in the
//!   cone, with `g_bᵀθ = ‖Π(D g)‖²`: a lower bound on `γ_b` and an atom.
//!
//! [`solve_three_layer_cg`] (fully corrective conditional gradient, column generation over
//! atoms): add the best directions of the violating blocks as atoms and re-solve the
//! non-negative lasso over all atoms exactly ([`crate::solver::nonneg_qp`]). Fast when the directions
//! are low-dimensional (exact programs, small filters: hundreds of thousands of blocks).
//!
//! [`solve_three_layer_al`] (working-set augmented Lagrangian): solve the program restricted to
//! a working set of blocks, inner FISTA on `½‖f − y‖² + (1/2δ) Σ ‖(λ − δ C θ)_+‖²` plus the
//! group norms, multipliers `λ ← (λ − δ C θ)_+`, `δ` adapted to the violation; add the
//! violating blocks; repeat. The directions inside each block are optimized continuously, which
//! the conditional gradient cannot do cheaply for large filters (sampled programs on images).
//! All products with the patches are two GEMMs per FISTA step (`Q = M Z`, `∇ = Mᵀ G` over the
//! working set's channel columns); patterns stay as row weights, never dense block matrices.
//!
//! The certificate of both is the dual value of the scaled residual
//! `v = r·min(1, β / max_b γ̄_b)`: `yᵀv − ½‖v‖²` is a lower bound on the optimum for any
//! residual, so the bracket `[lower bound, recovered network]` holds however early a solver
//! stops.

use super::program::ThreeLayerProgram;
use crate::cones::nnls::{project_rows, NnlsWork};
use crate::error::{Error, Result};
use crate::patches::Patches;
use crate::program::{dot, norm};
use crate::solver::{momentum_step, shrink, SolveStatus};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// Blocks priced per GEMM (bounds the pricing buffers).
const PRICE_CHUNK: usize = 512;
/// Passive-set changes of one projection at most (each costs a partial refactorization in
/// dimension `2h`; a stopped projection still gives a valid upper bound).
const NNLS_CHANGES: usize = 200;
/// Golden-section evaluations of the P-block channel weighting.
const ALPHA_EVALS: usize = 40;
/// Evaluations after which a clearly violated P-block stops refining.
const ALPHA_ROUGH: usize = 8;
/// Largest penalty `δ`, relative to its starting value.
const DELTA_GROWTH_MAX: f64 = 1e2;

/// Settings of [`solve_three_layer_al`].
#[derive(Debug, Clone, Copy)]
pub struct FirstOrderSettings {
    /// Working-set rounds at most (each: a restricted solve, then pricing of every block).
    pub rounds: usize,
    /// Multiplier updates per round at most.
    pub outer: usize,
    /// FISTA steps per multiplier update at most.
    pub inner: usize,
    /// Blocks added to the working set per round at most.
    pub add: usize,
    /// Tolerance: relative cone violation and objective change of the restricted solve, and
    /// the relative excess `γ_b/β − 1` below which a block counts as satisfied.
    pub tol: f64,
    /// Starting penalty `δ`, relative to `λ_max(JᵀJ)/λ_max(CᵀC)` of the working set.
    pub delta: f64,
    /// Time limit in seconds (`None`: no limit); the bracket stays valid when it stops.
    pub time_limit: Option<f64>,
}

impl Default for FirstOrderSettings {
    fn default() -> Self {
        FirstOrderSettings {
            rounds: 100,
            outer: 40,
            inner: 400,
            add: 32,
            tol: 1e-4,
            delta: 1.0,
            time_limit: None,
        }
    }
}

/// What the first-order solver reports.
#[derive(Debug, Clone, Serialize)]
pub struct FirstOrderReport {
    /// `Solved` when no block violates its dual constraint and the working-set solve met the
    /// tolerance; `MaxIterations` on the round or time limit.
    pub status: SolveStatus,
    /// Working-set rounds.
    pub rounds: usize,
    /// Augmented Lagrangian: multiplier updates; conditional gradient: active-set changes of
    /// the master problems.
    pub multiplier_updates: usize,
    /// Augmented Lagrangian: FISTA steps (0 for the conditional gradient).
    pub fista_steps: usize,
    /// Blocks in the final working set (augmented Lagrangian) or atoms in the final master
    /// (conditional gradient).
    pub working_blocks: usize,
    /// Largest relative cone violation at the returned point.
    pub violation: f64,
    /// `max_b γ̄_b / β − 1` at the returned point's residual (≤ 0: the residual itself is dual
    /// feasible).
    pub dual_excess: f64,
    /// Convex objective at the returned point.
    pub objective: f64,
    /// Certified lower bound on the program's optimum (dual value of the scaled residual).
    pub lower_bound: f64,
    /// Seconds.
    pub seconds: f64,
}

/// One working-set block: its row weights (with `σ`), its constraints and multipliers.
struct Member {
    b: usize,
    w1: Vec<f64>,
    w2: Vec<f64>,
    /// Constraints `(r, a₁, a₂)` scaled to unit rows `[a₁ x_r, a₂ x_r]`.
    cons: Vec<(usize, f64, f64)>,
    lam: Vec<f64>,
}

/// What the smooth-part gradient computes.
#[derive(Clone, Copy)]
enum Mode {
    /// The augmented-Lagrangian smooth part with penalty `δ`.
    Al(f64),
    /// `JᵀJ z` (the loss's Hessian; power iteration).
    Loss,
    /// `CᵀC z` (the constraints' Gram; power iteration).
    Cons,
}

/// The working set and its buffers (channel columns `2j, 2j + 1` belong to member `j`).
struct Working<'a> {
    p: &'a Patches,
    m: MatRef<'a, f64>,
    members: Vec<Member>,
    q: Vec<f64>,
    g: Vec<f64>,
    outs: Vec<f64>,
}

/// Each constraint `(r, a₁, a₂)` scaled so that its row `[a₁ x_r, a₂ x_r]` has unit norm.
fn unit_constraints(p: &Patches, cons: Vec<(usize, f64, f64)>) -> Vec<(usize, f64, f64)> {
    cons.into_iter()
        .map(|(r, a1, a2)| {
            let s = norm(p.row(r)) * (a1 * a1 + a2 * a2).sqrt();
            (r, a1 / s, a2 / s)
        })
        .collect()
}

impl<'a> Working<'a> {
    fn new(p: &'a Patches) -> Self {
        Working {
            p,
            m: MatRef::from_row_major_slice(&p.data, p.rows(), p.h),
            members: Vec::new(),
            q: Vec::new(),
            g: Vec::new(),
            outs: Vec::new(),
        }
    }

    fn cols(&self) -> usize {
        2 * self.members.len()
    }

    fn add(&mut self, prog: &ThreeLayerProgram, b: usize) {
        let (w1, w2) = prog.row_weights(b);
        let s = prog.blocks[b].sigma;
        let cons = unit_constraints(self.p, prog.constraints(b));
        self.members.push(Member {
            b,
            w1: w1.iter().map(|v| s * v).collect(),
            w2: w2.iter().map(|v| s * v).collect(),
            lam: vec![0.0; cons.len()],
            cons,
        });
        let rows = self.p.rows();
        self.q.resize(rows * self.cols(), 0.0);
        self.g.resize(rows * self.cols(), 0.0);
        self.outs.resize(self.p.n * self.members.len(), 0.0);
    }

    /// `Q = M Z`.
    fn forward(&mut self, z: &[f64]) {
        let (rows, h, nc) = (self.p.rows(), self.p.h, self.cols());
        let zr = MatRef::from_column_major_slice(z, h, nc);
        let qm = MatMut::from_column_major_slice_mut(&mut self.q, rows, nc);
        matmul(qm, Accum::Replace, self.m, zr, 1.0, Par::rayon(0));
    }

    /// The prediction `f` from `Q` (after [`Working::forward`]).
    fn predict(&mut self) -> Vec<f64> {
        let (rows, n) = (self.p.rows(), self.p.n);
        let q = &self.q;
        self.outs
            .par_chunks_mut(n)
            .zip(self.members.par_iter())
            .enumerate()
            .for_each(|(j, (o, mb))| {
                o.iter_mut().for_each(|v| *v = 0.0);
                let (q1, q2) = (
                    &q[2 * j * rows..(2 * j + 1) * rows],
                    &q[(2 * j + 1) * rows..(2 * j + 2) * rows],
                );
                for r in 0..rows {
                    o[r % n] += mb.w1[r] * q1[r] + mb.w2[r] * q2[r];
                }
            });
        let mut f = vec![0.0; n];
        for o in self.outs.chunks(n) {
            f.iter_mut().zip(o).for_each(|(a, b)| *a += b);
        }
        f
    }

    /// The smooth part's gradient at `z` into `grad` (`h × cols`); returns the prediction.
    fn gradient(&mut self, z: &[f64], y: &[f64], mode: Mode, grad: &mut [f64]) -> Vec<f64> {
        let (rows, n, h, nc) = (self.p.rows(), self.p.n, self.p.h, self.cols());
        self.forward(z);
        let f = self.predict();
        let e: Vec<f64> = match mode {
            Mode::Al(_) => f.iter().zip(y).map(|(a, b)| a - b).collect(),
            Mode::Loss => f.clone(),
            Mode::Cons => vec![0.0; n],
        };
        let q = &self.q;
        self.g
            .par_chunks_mut(2 * rows)
            .zip(self.members.par_iter())
            .enumerate()
            .for_each(|(j, (gj, mb))| {
                let (g1, g2) = gj.split_at_mut(rows);
                for r in 0..rows {
                    g1[r] = mb.w1[r] * e[r % n];
                    g2[r] = mb.w2[r] * e[r % n];
                }
                if matches!(mode, Mode::Loss) {
                    return;
                }
                let (q1, q2) = (
                    &q[2 * j * rows..(2 * j + 1) * rows],
                    &q[(2 * j + 1) * rows..(2 * j + 2) * rows],
                );
                for (&(r, a1, a2), l) in mb.cons.iter().zip(&mb.lam) {
                    let v = a1 * q1[r] + a2 * q2[r];
                    let m = match mode {
                        Mode::Al(delta) => (l - delta * v).max(0.0),
                        _ => -v,
                    };
                    if m != 0.0 {
                        g1[r] -= m * a1;
                        g2[r] -= m * a2;
                    }
                }
            });
        let gm = MatRef::from_column_major_slice(&self.g, rows, nc);
        let out = MatMut::from_column_major_slice_mut(grad, h, nc);
        matmul(
            out,
            Accum::Replace,
            self.m.transpose(),
            gm,
            1.0,
            Par::rayon(0),
        );
        f
    }

    /// Largest eigenvalue of the mode's operator by power iteration.
    fn lambda_max(&mut self, mode: Mode) -> f64 {
        let len = self.p.h * self.cols();
        let mut x: Vec<f64> = (0..len).map(|i| 1.0 + (i as f64 * 0.37).sin()).collect();
        let mut out = vec![0.0; len];
        let zero = vec![0.0; self.p.n];
        let mut lam = 0.0;
        for _ in 0..40 {
            let nx = norm(&x);
            if nx == 0.0 {
                return 0.0;
            }
            x.iter_mut().for_each(|v| *v /= nx);
            self.gradient(&x, &zero, mode, &mut out);
            lam = dot(&x, &out);
            std::mem::swap(&mut x, &mut out);
        }
        lam.max(0.0)
    }

    /// Constraint values at `z` (after [`Working::forward`]): the largest relative violation,
    /// and the multiplier update `λ ← (λ − δ v)_+` when `delta` is given.
    fn constraints(&mut self, z: &[f64], delta: Option<f64>) -> f64 {
        let (rows, h) = (self.p.rows(), self.p.h);
        self.forward(z);
        let largest = z.chunks(h).map(norm).fold(0.0, f64::max);
        let q = &self.q;
        let worst = self
            .members
            .par_iter_mut()
            .enumerate()
            .map(|(j, mb)| {
                let (q1, q2) = (
                    &q[2 * j * rows..(2 * j + 1) * rows],
                    &q[(2 * j + 1) * rows..(2 * j + 2) * rows],
                );
                let mut worst: f64 = 0.0;
                for (&(r, a1, a2), l) in mb.cons.iter().zip(mb.lam.iter_mut()) {
                    let v = a1 * q1[r] + a2 * q2[r];
                    worst = worst.max(-v);
                    if let Some(d) = delta {
                        *l = (*l - d * v).max(0.0);
                    }
                }
                worst
            })
            .reduce(|| 0.0, f64::max);
        if largest > 0.0 {
            worst / largest
        } else {
            0.0
        }
    }
}

/// `½‖f − y‖² + β Σ ‖z_c‖`.
fn objective(f: &[f64], y: &[f64], beta: f64, z: &[f64], h: usize) -> f64 {
    let loss: f64 = crate::loss::half_squared(f, y);
    loss + beta * z.chunks(h).map(norm).sum::<f64>()
}

/// Upper (and, when exact, lower) bounds on one block's `γ_b` from `g_b` and its unit
/// constraint rows; `mult` are known multipliers (the working set's), tried first.
fn gamma_bounds(
    p: &Patches,
    pair: bool,
    g: &[f64],
    cons: &[(usize, f64, f64)],
    mult: Option<&[f64]>,
    target: f64,
) -> Priced {
    let h = p.h;
    let group_max = |a: &[f64]| -> f64 {
        if pair {
            norm(&a[..h]).max(norm(&a[h..]))
        } else {
            norm(a)
        }
    };
    // a = g + Σ_i μ_i c_i with c_i = [a₁ x_r, a₂ x_r].
    let combine = |mu: &[f64], weight: &dyn Fn(usize) -> f64| -> Vec<f64> {
        let mut a = g.to_vec();
        for (i, (&(r, a1, a2), m)) in cons.iter().zip(mu).enumerate() {
            if *m > 0.0 {
                let s = m * weight(i);
                let x = p.row(r);
                a[..h].iter_mut().zip(x).for_each(|(o, v)| *o += s * a1 * v);
                if pair {
                    a[h..].iter_mut().zip(x).for_each(|(o, v)| *o += s * a2 * v);
                }
            }
        }
        a
    };
    let mut ub = group_max(g);
    let none = |ub: f64| Priced {
        lower: 0.0,
        upper: ub,
        atom: None,
    };
    if ub <= target {
        return none(ub);
    }
    if let Some(mu) = mult {
        ub = ub.min(group_max(&combine(mu, &|_| 1.0)));
        if ub <= target {
            return none(ub);
        }
    }
    let mut atom: Option<(Vec<f64>, f64)> = None;
    // Weighted projection: min_{μ≥0} ‖D(g + Cᵀμ)‖ with D = diag(√α I, √(1−α) I).
    let dim = g.len();
    let mut work = NnlsWork::default();
    let mut lam = vec![0.0; cons.len()];
    let mut rows = vec![0.0; cons.len() * dim];
    let mut eval =
        |alpha: f64, lam: &mut Vec<f64>, atom: &mut Option<(Vec<f64>, f64)>| -> (f64, f64) {
            let (d1, d2) = if pair {
                (alpha.sqrt(), (1.0 - alpha).sqrt())
            } else {
                (1.0, 1.0)
            };
            let mut scale = vec![0.0; cons.len()];
            for (i, &(r, a1, a2)) in cons.iter().enumerate() {
                let row = &mut rows[i * dim..(i + 1) * dim];
                let x = p.row(r);
                row[..h]
                    .iter_mut()
                    .zip(x)
                    .for_each(|(o, v)| *o = d1 * a1 * v);
                if pair {
                    row[h..]
                        .iter_mut()
                        .zip(x)
                        .for_each(|(o, v)| *o = d2 * a2 * v);
                }
                let nr = norm(row);
                scale[i] = if nr > 0.0 { 1.0 / nr } else { 0.0 };
                row.iter_mut().for_each(|v| *v *= scale[i]);
            }
            let mut v: Vec<f64> = g.to_vec();
            if pair {
                v[..h].iter_mut().for_each(|x| *x *= d1);
                v[h..].iter_mut().for_each(|x| *x *= d2);
            }
            work.reset();
            let exact = project_rows(
                &rows,
                dim,
                lam,
                &mut work,
                &mut v,
                NNLS_CHANGES.min(3 * dim + 30),
            );
            let a = combine(lam, &|i| scale[i]);
            let lower = if exact { norm(&v) } else { 0.0 };
            if exact && lower > 0.0 {
                // θ = D Π(D g) lies in the cone, with gᵀθ = ‖Π(D g)‖².
                let mut theta = v.clone();
                if pair {
                    theta[..h].iter_mut().for_each(|x| *x *= d1);
                    theta[h..].iter_mut().for_each(|x| *x *= d2);
                }
                let size = if pair {
                    norm(&theta[..h]) + norm(&theta[h..])
                } else {
                    norm(&theta)
                };
                let value = lower * lower / size;
                if atom.as_ref().is_none_or(|(_, best)| value > *best) {
                    theta.iter_mut().for_each(|x| *x /= size);
                    *atom = Some((theta, value));
                }
            }
            (lower, group_max(&a))
        };
    let (mut lb, u) = eval(0.5, &mut lam, &mut atom);
    ub = ub.min(u);
    if !pair {
        return Priced {
            lower: lb,
            upper: ub,
            atom,
        };
    }
    // √φ(½) can be loose for P-blocks: maximize the concave φ(α) by golden section.
    if ub <= target {
        return Priced {
            lower: lb,
            upper: ub,
            atom,
        };
    }
    let ratio = 0.5 * (5f64.sqrt() - 1.0);
    let (mut lo, mut hi) = (1e-3, 1.0 - 1e-3);
    let mut phi = |alpha: f64, lam: &mut Vec<f64>, lb: &mut f64, ub: &mut f64| -> f64 {
        let (l, u) = eval(alpha, lam, &mut atom);
        *lb = lb.max(l);
        *ub = ub.min(u);
        l
    };
    let mut x1 = hi - ratio * (hi - lo);
    let mut x2 = lo + ratio * (hi - lo);
    let mut f1 = phi(x1, &mut lam, &mut lb, &mut ub);
    let mut f2 = phi(x2, &mut lam, &mut lb, &mut ub);
    for k in 2..ALPHA_EVALS {
        // Refine only near the threshold: far above it the block is violated anyway and a
        // rough best direction will do.
        if ub <= target || (k >= ALPHA_ROUGH && lb > 1.01 * target) {
            break;
        }
        if f1 < f2 {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + ratio * (hi - lo);
            f2 = phi(x2, &mut lam, &mut lb, &mut ub);
        } else {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - ratio * (hi - lo);
            f1 = phi(x1, &mut lam, &mut lb, &mut ub);
        }
    }
    let best = atom.as_ref().map_or(0.0, |(_, v)| *v);
    Priced {
        lower: lb.max(best),
        upper: ub,
        atom,
    }
}

/// One block's pricing: bounds on `γ_b` and the best feasible direction found.
struct Priced {
    /// Lower bound on `γ_b`.
    lower: f64,
    /// Upper bound on `γ_b`.
    upper: f64,
    /// A direction `θ̂ ∈ K_b` with `Σ_c ‖θ̂_c‖ = 1`, and `g_bᵀθ̂`.
    atom: Option<(Vec<f64>, f64)>,
}

/// Bounds `(lower, upper)` on `γ_b(r)` for every block (the working set's multipliers help its
/// members), computed in chunks of blocks: one GEMM `Mᵀ [w∘r]` per chunk, then per block.
fn price(
    p: &Patches,
    prog: &ThreeLayerProgram,
    r: &[f64],
    member_of: &[Option<usize>],
    ws: &Working<'_>,
    target: f64,
) -> Vec<Priced> {
    let (rows, n, h) = (p.rows(), p.n, p.h);
    let m = MatRef::from_row_major_slice(&p.data, rows, h);
    let nb = prog.blocks.len();
    let mut bounds = Vec::with_capacity(nb);
    for b0 in (0..nb).step_by(PRICE_CHUNK) {
        let b1 = (b0 + PRICE_CHUNK).min(nb);
        let cols = 2 * (b1 - b0);
        let mut wr = vec![0.0; rows * cols];
        wr.par_chunks_mut(2 * rows)
            .enumerate()
            .for_each(|(j, col)| {
                let b = b0 + j;
                let (w1, w2) = prog.row_weights(b);
                let s = prog.blocks[b].sigma;
                for rr in 0..rows {
                    col[rr] = s * w1[rr] * r[rr % n];
                    col[rows + rr] = s * w2[rr] * r[rr % n];
                }
            });
        let mut gb = vec![0.0; h * cols];
        matmul(
            MatMut::from_column_major_slice_mut(&mut gb, h, cols),
            Accum::Replace,
            m.transpose(),
            MatRef::from_column_major_slice(&wr, rows, cols),
            1.0,
            Par::rayon(0),
        );
        let chunk: Vec<Priced> = (b0..b1)
            .into_par_iter()
            .map(|b| {
                let pair = prog.is_pair(b);
                let j = b - b0;
                let g = &gb[2 * j * h..(2 * j + if pair { 2 } else { 1 }) * h];
                match member_of[b] {
                    Some(i) => {
                        let mb = &ws.members[i];
                        gamma_bounds(p, pair, g, &mb.cons, Some(&mb.lam), target)
                    }
                    None => {
                        let cons = unit_constraints(p, prog.constraints(b));
                        gamma_bounds(p, pair, g, &cons, None, target)
                    }
                }
            })
            .collect();
        bounds.extend(chunk);
    }
    bounds
}

/// The certificate: with `γ̄` the largest upper bound over all blocks, `v = r·min(1, β/γ̄)` is
/// dual feasible and `yᵀv − ½‖v‖²` a lower bound on the optimum. Returns it and `γ̄`.
fn certificate(y: &[f64], r: &[f64], beta: f64, bounds: &[Priced]) -> (f64, f64) {
    let worst = bounds.iter().map(|b| b.upper).fold(0.0, f64::max);
    let t = if worst > beta { beta / worst } else { 1.0 };
    let lower = r
        .iter()
        .zip(y)
        .map(|(ri, yi)| t * ri * yi - 0.5 * t * t * ri * ri)
        .sum();
    (lower, worst)
}

/// Validates the settings and the targets.
fn check(p: &Patches, y: &[f64], s: &FirstOrderSettings) -> Result<()> {
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if s.rounds == 0
        || s.outer == 0
        || s.inner == 0
        || s.add == 0
        || !positive(s.tol)
        || !positive(s.delta)
        || s.time_limit.is_some_and(|t| !positive(t))
    {
        return Err(Error::param(
            "settings",
            "rounds, outer, inner, add, tol, δ and the time limit must be positive",
        ));
    }
    crate::data::check_targets(y, p.n)?;
    Ok(())
}

/// Solves the three-layer program by the working-set augmented Lagrangian. Returns `θ_b` per
/// block (empty for blocks outside the working set) and the report with its certified lower
/// bound.
pub fn solve_three_layer_al(
    p: &Patches,
    y: &[f64],
    beta: f64,
    prog: &ThreeLayerProgram,
    s: &FirstOrderSettings,
) -> Result<(Vec<Vec<f64>>, FirstOrderReport)> {
    check(p, y, s)?;
    let start = Instant::now();
    let out_of_time = || {
        s.time_limit
            .is_some_and(|t| start.elapsed().as_secs_f64() > t)
    };
    let (n, h) = (p.n, p.h);
    let nb = prog.blocks.len();
    let target = beta * (1.0 + s.tol);
    let mut ws = Working::new(p);
    let mut member_of: Vec<Option<usize>> = vec![None; nb];
    let mut z: Vec<f64> = Vec::new();
    let mut f = vec![0.0; n];
    let (mut rounds, mut updates, mut steps) = (0, 0, 0);
    let mut violation = 0.0;
    let mut status = SolveStatus::MaxIterations;
    let mut delta_scale = s.delta;
    let mut bounds: Vec<Priced>;
    loop {
        let r: Vec<f64> = y.iter().zip(&f).map(|(a, b)| a - b).collect();
        bounds = price(p, prog, &r, &member_of, &ws, target);
        let mut violators: Vec<usize> = (0..nb)
            .filter(|&b| member_of[b].is_none() && bounds[b].upper > target)
            .collect();
        let members_ok = ws.members.iter().all(|mb| bounds[mb.b].upper <= target);
        if violators.is_empty() && members_ok && violation <= s.tol {
            status = SolveStatus::Solved;
            break;
        }
        if rounds == s.rounds || out_of_time() {
            break;
        }
        rounds += 1;
        violators.sort_by(|a, b| bounds[*b].upper.total_cmp(&bounds[*a].upper));
        for &b in violators.iter().take(s.add) {
            member_of[b] = Some(ws.members.len());
            ws.add(prog, b);
        }
        z.resize(h * ws.cols(), 0.0);
        // Step size 1/(λ_max(JᵀJ) + δ λ_max(CᵀC)).
        let lj = ws.lambda_max(Mode::Loss);
        let lc = ws.lambda_max(Mode::Cons).max(1e-300);
        let delta0 = lj.max(1e-300) / lc;
        let mut delta = delta_scale * delta0;
        let mut grad = vec![0.0; z.len()];
        let mut prev_viol = f64::INFINITY;
        for _ in 0..s.outer {
            updates += 1;
            let step = 1.0 / (lj + delta * lc).max(1e-300);
            let mut w = z.clone();
            let mut tk = 1.0;
            let mut inner_steps = 0;
            for _ in 0..s.inner {
                steps += 1;
                inner_steps += 1;
                ws.gradient(&w, y, Mode::Al(delta), &mut grad);
                let mut znew: Vec<f64> = w.iter().zip(&grad).map(|(a, g)| a - step * g).collect();
                for col in znew.chunks_mut(h) {
                    shrink(col, step * beta);
                }
                // Gradient mapping ‖znew − w‖/step: the stationarity error of the subproblem.
                let mapping = znew
                    .iter()
                    .zip(&w)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt()
                    / step;
                momentum_step(&mut w, &z, &znew, &mut tk);
                z = znew;
                if mapping <= s.tol * beta {
                    break;
                }
            }
            violation = ws.constraints(&z, Some(delta));
            if violation <= s.tol && inner_steps <= 2 {
                break;
            }
            if violation > s.tol
                && violation > 0.25 * prev_viol
                && delta_scale < s.delta * DELTA_GROWTH_MAX
            {
                delta_scale *= 10.0;
                delta *= 10.0;
            }
            if violation < 1e-3 * s.tol && delta_scale > s.delta {
                // Feasible far beyond the tolerance: a smaller penalty gives longer steps.
                delta_scale /= 10.0;
                delta /= 10.0;
            }
            prev_viol = violation;
            if out_of_time() {
                break;
            }
        }
        ws.forward(&z);
        f = ws.predict();
    }
    // Certificate: the residual scaled into the dual feasible set.
    let r: Vec<f64> = y.iter().zip(&f).map(|(a, b)| a - b).collect();
    let (lower_bound, worst) = certificate(y, &r, beta, &bounds);
    let mut theta = vec![Vec::new(); nb];
    for (j, mb) in ws.members.iter().enumerate() {
        let dim = if prog.is_pair(mb.b) { 2 * h } else { h };
        theta[mb.b] = z[2 * j * h..2 * j * h + dim].to_vec();
    }
    let report = FirstOrderReport {
        status,
        rounds,
        multiplier_updates: updates,
        fista_steps: steps,
        working_blocks: ws.members.len(),
        violation,
        dual_excess: worst / beta - 1.0,
        objective: objective(&f, y, beta, &z, h),
        lower_bound,
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok((theta, report))
}

/// Solves the three-layer program by fully corrective conditional gradient (column generation
/// over atoms): price every block at the residual, add the best feasible directions
/// `θ̂ ∈ K_b`, `Σ_c ‖θ̂_c‖ = 1` of the violating blocks as atoms, and re-solve the
/// non-negative lasso over all atoms exactly ([`crate::solver::nonneg_qp`]). Returns `θ_b` per block
/// (the weighted sum of its atoms; empty for blocks without one) and the report.
pub fn solve_three_layer_cg(
    p: &Patches,
    y: &[f64],
    beta: f64,
    prog: &ThreeLayerProgram,
    s: &FirstOrderSettings,
) -> Result<(Vec<Vec<f64>>, FirstOrderReport)> {
    check(p, y, s)?;
    let start = Instant::now();
    let out_of_time = || {
        s.time_limit
            .is_some_and(|t| start.elapsed().as_secs_f64() > t)
    };
    let (n, h) = (p.n, p.h);
    let nb = prog.blocks.len();
    let target = beta * (1.0 + s.tol);
    let ws = Working::new(p);
    let member_of: Vec<Option<usize>> = vec![None; nb];
    let mut atoms: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut phi: Vec<Vec<f64>> = Vec::new();
    let mut weights: Vec<f64> = Vec::new();
    let mut f = vec![0.0; n];
    let (mut rounds, mut changes) = (0, 0);
    let mut status = SolveStatus::MaxIterations;
    let mut bounds: Vec<Priced>;
    loop {
        let r: Vec<f64> = y.iter().zip(&f).map(|(a, b)| a - b).collect();
        bounds = price(p, prog, &r, &member_of, &ws, target);
        if bounds.iter().all(|b| b.upper <= target) {
            status = SolveStatus::Solved;
            break;
        }
        if rounds == s.rounds || out_of_time() {
            break;
        }
        let mut cand: Vec<usize> = (0..nb)
            .filter(|&b| bounds[b].atom.as_ref().is_some_and(|(_, v)| *v > beta))
            .collect();
        if cand.is_empty() {
            break;
        }
        rounds += 1;
        cand.sort_by(|a, b| bounds[*b].lower.total_cmp(&bounds[*a].lower));
        // Drop the atoms the last master left at zero.
        {
            let keep: Vec<bool> = weights.iter().map(|w| *w > 0.0).collect();
            let mut it = keep.iter();
            atoms.retain(|_| *it.next().unwrap_or(&true));
            let mut it = keep.iter();
            phi.retain(|_| *it.next().unwrap_or(&true));
            weights.retain(|w| *w > 0.0);
        }
        for &b in cand.iter().take(s.add) {
            if let Some((theta, _)) = bounds[b].atom.take() {
                phi.push(prog.output(p, b, &theta));
                atoms.push((b, theta));
                weights.push(0.0);
            }
        }
        let na = atoms.len();
        let gram = faer::Mat::<f64>::from_fn(na, na, |i, j| dot(&phi[i], &phi[j]));
        let rhs: Vec<f64> = phi.iter().map(|ph| dot(ph, y) - beta).collect();
        let scale = rhs.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        changes +=
            crate::solver::nonneg_qp::nonneg_qp(gram.as_ref(), &rhs, &mut weights, 1e-12 * scale)?;
        f = vec![0.0; n];
        for (ph, w) in phi.iter().zip(&weights) {
            if *w > 0.0 {
                f.iter_mut().zip(ph).for_each(|(a, b)| *a += w * b);
            }
        }
    }
    let r: Vec<f64> = y.iter().zip(&f).map(|(a, b)| a - b).collect();
    let (lower_bound, worst) = certificate(y, &r, beta, &bounds);
    let mut theta = vec![Vec::new(); nb];
    for ((b, th), w) in atoms.iter().zip(&weights) {
        if *w > 0.0 {
            let tb = &mut theta[*b];
            if tb.is_empty() {
                tb.resize(th.len(), 0.0);
            }
            tb.iter_mut().zip(th).for_each(|(a, v)| *a += w * v);
        }
    }
    let loss: f64 = r.iter().map(|v| 0.5 * v * v).sum();
    let pen: f64 = theta
        .iter()
        .map(|t| t.chunks(h).map(norm).sum::<f64>())
        .sum();
    let report = FirstOrderReport {
        status,
        rounds,
        multiplier_updates: changes,
        fista_steps: 0,
        working_blocks: atoms.len(),
        violation: 0.0,
        dual_excess: worst / beta - 1.0,
        objective: loss + beta * pen,
        lower_bound,
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok((theta, report))
}
