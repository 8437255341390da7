//! Certificates for first-order solutions of the multi-output program (MATH.md 3.2 at scale).
//!
//! * **Restricted gap.** For a feasible point with loss gradient `V`, every block's dual
//!   constraint value `γ_b(V) = ‖Π_{C_i}(∓A_iᵀ v_c)‖` is bounded above by the multiplier bound
//!   `‖a_b − G_bᵀλ_b‖` of the augmented Lagrangian. Blocks whose bound exceeds `β` get their
//!   exact `γ_b` by cone projection, in decreasing order of the bound, until no remaining bound can
//!   exceed the largest value found (or a time budget ends; the bounds then stand in, which keeps
//!   the certificate valid but looser). Scaling `V` gives a dual bound: the gap certifies the
//!   point for the program over the **sampled** patterns.
//! * **Fresh-batch estimate.** The same `γ` over a new batch of sampled patterns, not in the
//!   program: a value above `β` shows that the global optimum (over all patterns) lies below the
//!   restricted one, and the dual bound with that batch included bounds how far, for the program
//!   with both sets.

use crate::cones::cone_gamma;
use crate::error::Result;
use crate::program::multi::{relative_gap, MultiProgram};
use crate::program::operator::PatternOperator;
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// The restricted certificate.
#[derive(Debug, Clone, Serialize)]
pub struct RestrictedCertificate {
    /// Objective of the (feasible) point.
    pub primal: f64,
    /// Dual lower bound on the restricted program.
    pub dual: f64,
    /// `(primal − dual)/primal`.
    pub relative_gap: f64,
    /// Largest dual constraint value `max_b γ_b` used (exact or bound) relative to `β`.
    pub gamma_over_beta: f64,
    /// Blocks whose exact `γ_b` was computed.
    pub exact_blocks: usize,
    /// Whether every needed block was resolved exactly (otherwise bounds stood in).
    pub complete: bool,
}

/// The fresh-batch estimate.
#[derive(Debug, Clone, Serialize)]
pub struct FreshEstimate {
    /// New patterns checked (not in the program).
    pub patterns: usize,
    /// `max γ/β` over the new patterns' blocks (above 1: the restricted optimum is not global).
    pub gamma_over_beta: f64,
    /// Dual bound with the new patterns included: a lower bound on the program over both sets.
    pub dual: f64,
    /// `(primal − dual)/primal` against that bound.
    pub relative_gap: f64,
}

/// `γ` of a block with gradient part `g = A_iᵀv_c` and sign `s` (`+1` for `c`, `−1` for `c'`):
/// `‖Π_{C_i}(−s·g)‖`.
///
/// If the projection fails numerically, the upper bound `‖g‖` stands in (the certificate stays
/// valid, only looser).
fn block_gamma(op: &PatternOperator, pattern: usize, g: &[f64], s: f64) -> Result<f64> {
    let a: Vec<f64> = g.iter().map(|z| -s * z).collect();
    Ok(cone_gamma(op.normals(), op.signs(pattern), &a)
        .unwrap_or_else(|_| a.iter().map(|v| v * v).sum::<f64>().sqrt()))
}

/// `‖A_iᵀv_c‖` for both signs of every block (`2·blocks` values, `+` blocks first): upper bounds
/// on `γ` without the cone constraints.
fn unconstrained_bounds(ag: &[f64], h: usize) -> Vec<f64> {
    let norms: Vec<f64> = ag
        .chunks(h.max(1))
        .map(|g| g.iter().map(|z| z * z).sum::<f64>().sqrt())
        .collect();
    norms.iter().chain(norms.iter()).copied().collect()
}

/// Exact `γ` values for blocks in decreasing order of their upper bounds, in parallel batches,
/// until no remaining bound can beat `max(floor, best)`. Returns `(max, exact count, complete)`.
fn resolve_max(
    bounds: &[f64],
    floor: f64,
    budget: f64,
    exact: &(dyn Fn(usize) -> Result<f64> + Sync),
) -> Result<(f64, usize, bool)> {
    let t0 = Instant::now();
    let mut order: Vec<usize> = (0..bounds.len()).collect();
    order.sort_by(|a, b| bounds[*b].total_cmp(&bounds[*a]));
    let mut best: f64 = 0.0;
    let mut count = 0;
    let batch = (4 * rayon::current_num_threads()).max(4);
    let mut start = 0;
    while start < order.len() {
        let thr = best.max(floor);
        if bounds[order[start]] <= thr {
            return Ok((best.max(bounds[order[start]].min(thr)), count, true));
        }
        if t0.elapsed().as_secs_f64() > budget {
            // Bounds stand in for the rest.
            return Ok((best.max(bounds[order[start]]), count, false));
        }
        let end = (start + batch).min(order.len());
        let vals: Vec<Result<f64>> = order[start..end]
            .par_iter()
            .filter(|&&b| bounds[b] > thr)
            .map(|&b| exact(b))
            .collect();
        for v in vals {
            best = best.max(v?);
            count += 1;
        }
        start = end;
    }
    Ok((best, count, true))
}

/// Certifies a feasible point `x` of `prog`; `mult` holds `G_bᵀλ_b` (zeros allowed);
/// `budget` limits the seconds spent on exact `γ`s.
pub fn certify_restricted(
    prog: &MultiProgram,
    x: &[f64],
    mult: &[f64],
    budget: f64,
) -> Result<(RestrictedCertificate, Vec<f64>)> {
    let h = prog.h();
    let f = prog.predict_exact(x);
    let v = prog.loss_gradient(&f);
    let bounds = crate::solver::multiplier_bounds(prog, &v, mult);
    let ag = prog.adjoint(&v);
    let half = prog.half();
    let exact = |b: usize| -> Result<f64> {
        let (i, _, s) = prog.block_info(b);
        let r = b % half;
        block_gamma(&prog.op, i, &ag[r * h..(r + 1) * h], s)
    };
    let (gmax, count, complete) = resolve_max(&bounds, prog.beta, budget, &exact)?;
    let primal = prog.loss.value_grad(&f, &prog.y, prog.n(), None)
        + prog.beta * crate::algebra::group_norm_sum(x, h);
    let dual = prog.dual_value(&v, gmax);
    Ok((
        RestrictedCertificate {
            primal,
            dual,
            relative_gap: relative_gap(primal, dual),
            gamma_over_beta: gmax / prog.beta,
            exact_blocks: count,
            complete,
        },
        v,
    ))
}

/// Checks the dual constraints of a fresh batch of patterns (`fresh`, built on the same data) at
/// the loss gradient `v` of the certified point; `restricted` is its certificate.
pub fn fresh_estimate(
    prog: &MultiProgram,
    fresh: &PatternOperator,
    v: &[f64],
    restricted: &RestrictedCertificate,
    budget: f64,
) -> Result<FreshEstimate> {
    let h = prog.h();
    let p = fresh.patterns();
    let c = prog.outputs;
    let mut ag = vec![0.0; p * h * c];
    fresh.adjoint(v, &mut ag);
    let bounds = unconstrained_bounds(&ag, h);
    let exact = |b: usize| -> Result<f64> {
        let r = b % (p * c);
        let s = if b < p * c { 1.0 } else { -1.0 };
        block_gamma(fresh, r % p, &ag[r * h..(r + 1) * h], s)
    };
    let (gmax, _, _) = resolve_max(&bounds, 0.0, budget, &exact)?;
    let both = gmax.max(restricted.gamma_over_beta * prog.beta);
    let dual = prog.dual_value(v, both);
    Ok(FreshEstimate {
        patterns: p,
        gamma_over_beta: gmax / prog.beta,
        dual,
        relative_gap: relative_gap(restricted.primal, dual),
    })
}

/// `β_max`: the largest exact dual-constraint value `max_b γ_b(V)` at the zero network
/// (`V = ∇ℓ(0)`); for `β ≥ β_max` the zero network is optimal for the restricted program.
pub fn beta_max(prog: &MultiProgram, budget: f64) -> Result<f64> {
    let h = prog.h();
    let x = vec![0.0; prog.exact_len()];
    let f = prog.predict_exact(&x);
    let v = prog.loss_gradient(&f);
    let ag = prog.adjoint(&v);
    let half = prog.half();
    let bounds = unconstrained_bounds(&ag, h);
    let exact = |b: usize| -> Result<f64> {
        let (i, _, s) = prog.block_info(b);
        let r = b % half;
        block_gamma(&prog.op, i, &ag[r * h..(r + 1) * h], s)
    };
    Ok(resolve_max(&bounds, 0.0, budget, &exact)?.0)
}
