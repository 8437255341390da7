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
    /// The largest dual-constraint value (exact or bound) of each output's blocks.
    #[serde(skip)]
    pub output_gammas: Vec<f64>,
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
    /// Per output, the largest dual-constraint value over the fresh and the restricted
    /// blocks (what `dual` was scaled with).
    #[serde(skip)]
    pub output_gammas: Vec<f64>,
}

impl FreshEstimate {
    /// The estimate of two batches checked at the same `v` (chunks of one batch): the larger
    /// `γ` per output, the dual bound recomputed from them.
    pub fn merge(
        &self,
        other: &FreshEstimate,
        prog: &MultiProgram,
        v: &[f64],
        primal: f64,
    ) -> FreshEstimate {
        let gammas: Vec<f64> = self
            .output_gammas
            .iter()
            .zip(&other.output_gammas)
            .map(|(a, b)| a.max(*b))
            .collect();
        let dual = prog.dual_value_per_output(v, &gammas);
        FreshEstimate {
            patterns: self.patterns + other.patterns,
            gamma_over_beta: self.gamma_over_beta.max(other.gamma_over_beta),
            dual,
            relative_gap: relative_gap(primal, dual),
            output_gammas: gammas,
        }
    }
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
    // One exact value per thread per round, so that the budget is checked often: a round is
    // started only when the slowest round so far still fits in what is left.
    let batch = rayon::current_num_threads().max(1);
    let mut slowest = 0.0f64;
    let mut start = 0;
    while start < order.len() {
        let thr = best.max(floor);
        if bounds[order[start]] <= thr {
            return Ok((best.max(bounds[order[start]].min(thr)), count, true));
        }
        let round = Instant::now();
        if t0.elapsed().as_secs_f64() + slowest > budget {
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
        slowest = slowest.max(round.elapsed().as_secs_f64());
        start = end;
    }
    Ok((best, count, true))
}

/// [`resolve_max`] per output when the dual separates over outputs (the largest `γ` of each
/// output's blocks, `2PC` blocks in exact order), else once over all blocks (every entry of
/// the result is then the overall maximum). Returns `(γ per output, exact count, complete)`.
fn resolve_per_output(
    prog: &MultiProgram,
    bounds: &[f64],
    floor: f64,
    budget: f64,
    exact: &(dyn Fn(usize) -> Result<f64> + Sync),
) -> Result<(Vec<f64>, usize, bool)> {
    resolve_grouped(prog, &prog.block_outputs(), bounds, floor, budget, exact)
}

/// [`resolve_per_output`] with the output of each block given (`outputs[b]`).
fn resolve_grouped(
    prog: &MultiProgram,
    outputs: &[usize],
    bounds: &[f64],
    floor: f64,
    budget: f64,
    exact: &(dyn Fn(usize) -> Result<f64> + Sync),
) -> Result<(Vec<f64>, usize, bool)> {
    let c = prog.outputs;
    if !prog.separable() || c == 1 {
        let (g, count, complete) = resolve_max(bounds, floor, budget, exact)?;
        return Ok((vec![g; c], count, complete));
    }
    let t0 = Instant::now();
    let (mut gammas, mut count, mut complete) = (vec![0.0; c], 0, true);
    for (out, gamma) in gammas.iter_mut().enumerate() {
        let idx: Vec<usize> = (0..bounds.len()).filter(|&b| outputs[b] == out).collect();
        let sub: Vec<f64> = idx.iter().map(|&b| bounds[b]).collect();
        let left = (budget - t0.elapsed().as_secs_f64()).max(0.0);
        let (g, k, done) = resolve_max(&sub, floor, left, &|j| exact(idx[j]))?;
        *gamma = g;
        count += k;
        complete &= done;
    }
    Ok((gammas, count, complete))
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
    let (gammas, count, complete) = resolve_per_output(prog, &bounds, prog.beta, budget, &exact)?;
    let gmax = gammas.iter().copied().fold(0.0, f64::max);
    let primal = prog.loss.value_grad(&f, &prog.y, prog.n(), None)
        + prog.beta * crate::algebra::group_norm_sum(x, h);
    let dual = prog.dual_value_per_output(&v, &gammas);
    Ok((
        RestrictedCertificate {
            primal,
            dual,
            relative_gap: relative_gap(primal, dual),
            gamma_over_beta: gmax / prog.beta,
            exact_blocks: count,
            complete,
            output_gammas: gammas,
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
    // Fresh block `b`: output `(b mod pC) / p`.
    let outputs: Vec<usize> = (0..bounds.len()).map(|b| (b % (p * c)) / p).collect();
    let (gammas, _, _) = resolve_grouped(prog, &outputs, &bounds, 0.0, budget, &exact)?;
    let gmax = gammas.iter().copied().fold(0.0, f64::max);
    let both: Vec<f64> = if restricted.output_gammas.len() == c {
        gammas
            .iter()
            .zip(&restricted.output_gammas)
            .map(|(a, b)| a.max(*b))
            .collect()
    } else {
        vec![gmax.max(restricted.gamma_over_beta * prog.beta); c]
    };
    let dual = prog.dual_value_per_output(v, &both);
    Ok(FreshEstimate {
        patterns: p,
        gamma_over_beta: gmax / prog.beta,
        dual,
        relative_gap: relative_gap(restricted.primal, dual),
        output_gammas: both,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::Hyperplanes;
    use crate::program::multi::tests::hand_multi;
    use crate::program::tests::{hand_patches, one_sample_optimum, patterns_of, ALL_ON, ON_OFF};

    /// At zero with `y = (3, −3)`: `V = −y`; the on/off block reaches `γ = 3` (one side per
    /// output), the all-on block `3√5`.
    #[test]
    fn beta_max_by_hand() {
        let prog = hand_multi(&[ON_OFF], &[3.0, -3.0], 0.5);
        assert!((beta_max(&prog, f64::INFINITY).unwrap() - 3.0).abs() < 1e-10);
        let prog = hand_multi(&[ON_OFF, ALL_ON], &[3.0, -3.0], 0.5);
        let want = 3.0 * 5f64.sqrt();
        assert!((beta_max(&prog, f64::INFINITY).unwrap() - want).abs() < 1e-10);
    }

    /// At the optimum `c_{0,0} = c'_{0,1} = (2.5, 0)` (objective 2.75) the gap is 0 and
    /// `γ/β = 1`; at zero (objective 9) `γ = 3`, `V` is scaled by `1/6` and the bound is
    /// `−½‖V/6‖² − ⟨V/6, y⟩ = −0.25 + 3 = 2.75`.
    #[test]
    fn restricted_certificates_by_hand() {
        let prog = hand_multi(&[ON_OFF], &[3.0, -3.0], 0.5);
        let x = [2.5, 0.0, 0.0, 0.0, 0.0, 0.0, 2.5, 0.0];
        let (c, v) = certify_restricted(&prog, &x, &[0.0; 8], f64::INFINITY).unwrap();
        assert!(
            (c.primal - 2.75).abs() < 1e-14 && (c.dual - 2.75).abs() < 1e-9,
            "{c:?}"
        );
        assert!((c.gamma_over_beta - 1.0).abs() < 1e-9 && c.complete);
        assert!((v[0] + 0.5).abs() < 1e-15 && (v[1] - 0.5).abs() < 1e-15);
        let (c, _) = certify_restricted(&prog, &[0.0; 8], &[0.0; 8], f64::INFINITY).unwrap();
        assert!(
            (c.primal - 9.0).abs() < 1e-14 && (c.dual - 2.75).abs() < 1e-9,
            "{c:?}"
        );
        assert!((c.gamma_over_beta - 6.0).abs() < 1e-9);
        assert!((c.relative_gap - 6.25 / 9.0).abs() < 1e-9);
    }

    /// Per-output scaling of the dual point (squared loss): with `y = (3, −1)` at zero, `V = −y`
    /// reaches `γ = 3` on output 0 and `γ = 1` on output 1; scaling each output by its own
    /// `β/γ_c` gives `(−½·9/36 + 9/6) + (−½·1/4 + 1/2) = 1.375 + 0.375 = 1.75`, the optimum (each
    /// output alone: `min_a ½(a − 3)² + a/2 = 1.375`, `min_a ½(a − 1)² + a/2 = 0.375`), where one
    /// common factor `1/6` gives only `1.375 + 0.1528`. ADMM confirms the optimum.
    #[test]
    fn per_output_dual_by_hand() {
        let prog = hand_multi(&[ON_OFF], &[3.0, -1.0], 0.5);
        let (c, _) = certify_restricted(&prog, &[0.0; 8], &[0.0; 8], f64::INFINITY).unwrap();
        assert!((c.dual - 1.75).abs() < 1e-9, "{c:?}");
        assert!((c.output_gammas[0] - 3.0).abs() < 1e-9 && (c.output_gammas[1] - 1.0).abs() < 1e-9);
        let common = prog.dual_value(&[-3.0, 1.0], 3.0);
        assert!(
            (common - (1.375 + 1.0 / 6.0 - 1.0 / 72.0)).abs() < 1e-12,
            "{common}"
        );
        let mut s = crate::solver::AdmmSettings::default();
        s.limits.tol = 1e-10;
        s.limits.max_iter = 2000;
        s.violation_tol = 1e-12;
        let sol =
            crate::solver::solve_admm(&prog, &s, None, &mut crate::solver::NoObserver).unwrap();
        assert!((sol.objective - 1.75).abs() < 1e-8, "{sol:?}");
        let (c, _) =
            certify_restricted(&prog, &sol.x, &sol.multiplier_term, f64::INFINITY).unwrap();
        assert!(c.relative_gap < 1e-8, "{c:?}");
    }

    /// A fresh batch with the all-on pattern at the on/off optimum (`V = (−½, ½)`): each output
    /// reaches `‖(½, 1)‖ = √5/2`, i.e. `γ/β = √5`, and the bound with `V` scaled by
    /// `β/γ = 1/√5` is `−½‖sV‖² − ⟨sV, y⟩`. With one sample, `sV = (−β/√5, β/√5)` is the dual
    /// optimum of the program over both patterns, so the bound equals that optimum.
    #[test]
    fn fresh_batch_by_hand() {
        let prog = hand_multi(&[ON_OFF], &[3.0, -3.0], 0.5);
        let x = [2.5, 0.0, 0.0, 0.0, 0.0, 0.0, 2.5, 0.0];
        let (c, v) = certify_restricted(&prog, &x, &[0.0; 8], f64::INFINITY).unwrap();
        let p = hand_patches();
        let hp = Hyperplanes::from_patches(&p);
        let (set, _) = patterns_of(&hp, &[ALL_ON.to_vec()]);
        let fresh = PatternOperator::new(&p, &hp, &set, 1.0).unwrap();
        let e = fresh_estimate(&prog, &fresh, &v, &c, f64::INFINITY).unwrap();
        let r5 = 5f64.sqrt();
        assert_eq!(e.patterns, 1);
        assert!((e.gamma_over_beta - r5).abs() < 1e-9, "{e:?}");
        let s = 1.0 / r5;
        let want = -(0.25 * s * s) + 3.0 * s;
        assert!((e.dual - want).abs() < 1e-9, "{} vs {want}", e.dual);
        assert!((e.dual - 2.0 * one_sample_optimum(r5, 3.0, 0.5)).abs() < 1e-9);
    }

    /// The search returns the largest exact value once no remaining bound can beat it; bounds
    /// at or below the floor are returned as they are (clipped at the floor); past the time
    /// budget the largest remaining bound stands in.
    #[test]
    fn resolve_max_semantics() {
        let bounds = [5.0, 1.0, 3.0];
        let exact = |b: usize| -> Result<f64> { Ok(bounds[b] / 2.0) };
        assert_eq!(
            resolve_max(&bounds, 0.0, f64::INFINITY, &exact).unwrap().0,
            2.5
        );
        assert_eq!(
            resolve_max(&bounds, 10.0, f64::INFINITY, &exact).unwrap(),
            (5.0, 0, true)
        );
        assert_eq!(
            resolve_max(&bounds, 0.0, -1.0, &exact).unwrap(),
            (5.0, 0, false)
        );
        let r = resolve_max(&bounds, 0.0, f64::INFINITY, &exact).unwrap();
        assert!(r.2 && r.1 >= 2);
        assert_eq!(
            unconstrained_bounds(&[3.0, 4.0, 0.0, 1.0], 2),
            vec![5.0, 1.0, 5.0, 1.0]
        );
    }
}
