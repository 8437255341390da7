//! Duality-gap certificates (MATH.md 3.2).
//!
//! For `v ∈ R^n`, `γ(v) = max_i max{|vᵀA_i u| : (2D_i^k − I)X_k u ≥ 0 ∀k, ‖u‖ ≤ 1}`. Whenever
//! `γ(v) ≤ β`, `½‖y‖² − ½‖v − y‖²` is a lower bound on the training objective of every network
//! whose patterns are among the program's. Over all patterns this is a global certificate; over
//! sampled patterns it certifies the restricted model only.

pub mod scale;

use crate::error::{Error, Result};
use crate::program::{dot, norm, TwoLayerProgram};
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SecondOrderConeT,
    SolverStatus, SupportedConeT,
};
use rayon::prelude::*;
use serde::Serialize;

/// Which model a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// All patterns were enumerated: the bound holds for every network of the architecture.
    Global,
    /// Sampled patterns: the bound holds for networks whose filters have those patterns only.
    Restricted,
}

impl Scope {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Restricted => "restricted",
        }
    }
}

/// `γ(v)` and where it is attained.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Gamma {
    /// The value `γ(v)`.
    pub value: f64,
    /// The block attaining it (if any block exists).
    pub block: Option<usize>,
    /// Conic sub-problems solved (the rest were settled by bounds).
    pub socp_solves: usize,
}

/// A duality-gap certificate for a candidate network.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Certificate {
    /// Candidate objective that is certified.
    pub objective: f64,
    /// Lower bound `½‖y‖² − ½‖v − y‖²` on the optimum.
    pub lower_bound: f64,
    /// `objective − lower_bound` (≥ 0 up to rounding).
    pub duality_gap: f64,
    /// `duality_gap / max(objective, 1e-300)`.
    pub relative_gap: f64,
    /// `γ` of the candidate's residual `y − f`; equals `β` at an optimum with a non-zero network.
    pub gamma_residual: f64,
    /// Global or restricted.
    pub scope: Scope,
}

/// `max σ gᵀu` over `u` in the cone of block `b` and the unit ball: `‖Π_C(σg)‖` by the exact
/// active-set projection ([`crate::cones::BlockCone`]), or when that fails, by a small conic
/// program.
fn cone_max(prog: &TwoLayerProgram, b: usize, g: &[f64], sigma: f64) -> Result<f64> {
    let gn = norm(g);
    if gn == 0.0 {
        return Ok(0.0);
    }
    // The unconstrained maximiser, when feasible, settles it.
    let feasible = prog
        .constraints(b)
        .all(|k| prog.side(b, k) * sigma * dot(prog.hyperplanes.normal(k), g) >= -1e-12 * gn);
    if feasible {
        return Ok(gn);
    }
    let a: Vec<f64> = g.iter().map(|v| sigma * v).collect();
    if let Ok(p) = crate::cones::BlockCone::new(prog, b).project(&a) {
        return Ok(norm(&p));
    }
    cone_max_socp(prog, b, g, sigma)
}

/// [`cone_max`] by Clarabel: `max σ gᵀu` s.t. `(1, u) ∈ SOC`, the block's cone constraints.
fn cone_max_socp(prog: &TwoLayerProgram, b: usize, g: &[f64], sigma: f64) -> Result<f64> {
    let h = prog.h;
    let groups: Vec<usize> = prog.constraints(b).collect();
    let gcount = groups.len();
    let m = 1 + h + gcount;
    let mut colptr = vec![0usize];
    let mut rowval = Vec::new();
    let mut nzval = Vec::new();
    for e in 0..h {
        rowval.push(1 + e);
        nzval.push(-1.0);
        for (row, &k) in groups.iter().enumerate() {
            let v = prog.side(b, k) * prog.hyperplanes.normal(k)[e];
            if v != 0.0 {
                rowval.push(1 + h + row);
                nzval.push(-v);
            }
        }
        colptr.push(rowval.len());
    }
    let a = CscMatrix::new(m, h, colptr, rowval, nzval);
    let p = CscMatrix::new(h, h, vec![0; h + 1], vec![], vec![]);
    let q: Vec<f64> = g.iter().map(|x| -sigma * x).collect();
    let mut bvec = vec![0.0; m];
    bvec[0] = 1.0;
    let cones: Vec<SupportedConeT<f64>> = vec![SecondOrderConeT(h + 1), NonnegativeConeT(gcount)];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .tol_gap_abs(1e-11)
        .tol_gap_rel(1e-11)
        .tol_feas(1e-11)
        .max_threads(1)
        .build()
        .map_err(|e| Error::Solver(format!("invalid Clarabel settings: {e:?}")))?;
    let mut solver = DefaultSolver::new(&p, &q, &a, &bvec, &cones, settings)
        .map_err(|e| Error::Solver(format!("γ sub-problem rejected: {e:?}")))?;
    solver.solve();
    match solver.solution.status {
        SolverStatus::Solved | SolverStatus::AlmostSolved => {
            Ok((-solver.solution.obj_val).max(0.0))
        }
        s => Err(Error::Solver(format!(
            "γ sub-problem of block {b} ended with status {s:?}"
        ))),
    }
}

/// Computes `γ(v)` over the program's patterns. Blocks are visited in decreasing order of the
/// bound `‖A_iᵀv‖ ≥` their value, and the search stops once no remaining bound can beat the best
/// value found; the conic sub-problems run in parallel.
pub fn gamma(prog: &TwoLayerProgram, v: &[f64]) -> Result<Gamma> {
    let mut cand: Vec<(usize, Vec<f64>, f64)> = (0..prog.blocks.len())
        .into_par_iter()
        .map(|b| {
            let g = prog.adjoint_block(b, v);
            let gn = norm(&g);
            (b, g, gn)
        })
        .collect();
    cand.sort_by(|x, y| y.2.total_cmp(&x.2));
    let mut best = Gamma {
        value: 0.0,
        block: None,
        socp_solves: 0,
    };
    let batch = (2 * rayon::current_num_threads()).max(2);
    let mut start = 0;
    while start < cand.len() {
        if cand[start].2 <= best.value {
            break;
        }
        let end = (start + batch).min(cand.len());
        let vals: Vec<Result<(usize, f64, usize)>> = cand[start..end]
            .par_iter()
            .filter(|c| c.2 > best.value)
            .map(|(b, g, _)| {
                let plus = cone_max(prog, *b, g, 1.0)?;
                let minus = cone_max(prog, *b, g, -1.0)?;
                Ok((*b, plus.max(minus), 2))
            })
            .collect();
        for r in vals {
            let (b, val, solves) = r?;
            best.socp_solves += solves;
            if val > best.value || best.block.is_none() {
                best.value = best.value.max(val);
                best.block = Some(b);
            }
        }
        start = end;
    }
    Ok(best)
}

/// `β_max = γ(y)`: the smallest `β` for which the zero network is optimal.
pub fn beta_max(prog: &TwoLayerProgram) -> Result<f64> {
    Ok(gamma(prog, &prog.y)?.value)
}

/// The dual bound of `v` scaled into the dual feasible set: `v ← v·min(1, β/γ(v))`, then
/// `½‖y‖² − ½‖v − y‖²`. Returns the bound and `γ(v)` before scaling.
pub fn dual_bound(prog: &TwoLayerProgram, v: &[f64]) -> Result<(f64, f64)> {
    let gam = gamma(prog, v)?.value;
    let scale = if gam > prog.beta {
        prog.beta / gam
    } else {
        1.0
    };
    let bound: f64 = prog
        .y
        .iter()
        .zip(v)
        .map(|(y, r)| 0.5 * y * y - 0.5 * (scale * r - y) * (scale * r - y))
        .sum();
    Ok((bound, gam))
}

/// Certifies a candidate with predictions `f` and objective `objective` (on the program's scale).
/// The dual candidates are the candidate's residual `ρ = y − f` and any `extra` points (such as
/// a solver's dual variables), each scaled to `γ(v) ≤ β`; the best bound is kept.
pub fn certify(
    prog: &TwoLayerProgram,
    f: &[f64],
    objective: f64,
    scope: Scope,
    extra: &[Vec<f64>],
) -> Result<Certificate> {
    let rho: Vec<f64> = prog.y.iter().zip(f).map(|(y, f)| y - f).collect();
    let (mut lower_bound, gam) = dual_bound(prog, &rho)?;
    for v in extra {
        if v.len() == prog.n && v.iter().all(|x| x.is_finite()) {
            lower_bound = lower_bound.max(dual_bound(prog, v)?.0);
        }
    }
    let duality_gap = objective - lower_bound;
    Ok(Certificate {
        objective,
        lower_bound,
        duality_gap,
        relative_gap: duality_gap / objective.abs().max(1e-300),
        gamma_residual: gam,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cones::cone_gamma;
    use crate::patterns::Hyperplanes;
    use crate::program::operator::Sides;
    use crate::program::tests::{
        gaussian, hand_program, patterns_of, random_patches, ALL_ON, ON_OFF,
    };
    use crate::program::Pooling;
    use faer::Mat;

    /// On the on/off block (`A = (1, 1)`, cone `{u₀ + u₁ ≥ 0, u₁ ≤ 0}`) `γ(v) = |v|`:
    /// `max{u₀ + u₁ : u in the cone, ‖u‖ ≤ 1} = 1` at `(1, 0)` and `min = 0`, so one side gives
    /// `|v|` and the other 0. With the all-on block (`A = (1, 2)` inside its cone) `γ(1) = √5`.
    #[test]
    fn gamma_by_hand() {
        let prog = hand_program(&[ON_OFF], 3.0, 0.5);
        for (v, want) in [(1.0, 1.0), (-1.0, 1.0), (2.0, 2.0), (0.0, 0.0)] {
            let g = gamma(&prog, &[v]).unwrap();
            assert!((g.value - want).abs() < 1e-8, "γ({v}) = {}", g.value);
        }
        let prog = hand_program(&[ON_OFF, ALL_ON], 3.0, 0.5);
        let g = gamma(&prog, &[1.0]).unwrap();
        assert!((g.value - 5f64.sqrt()).abs() < 1e-12);
        assert_eq!(g.block, Some(1));
    }

    /// `β_max = γ(y) = 3`. Above it the zero network is certified optimal (bound `½y² = 4.5`,
    /// gap 0); below it (β = ½) the zero network's gap is `4.5 − (4.5 − ½(½ − 3)²) = 3.125`.
    #[test]
    fn zero_network_above_and_below_beta_max() {
        let prog = hand_program(&[ON_OFF], 3.0, 3.5);
        assert!((beta_max(&prog).unwrap() - 3.0).abs() < 1e-8);
        let c = certify(&prog, &[0.0], 4.5, Scope::Global, &[]).unwrap();
        assert!(
            c.duality_gap.abs() < 1e-8 && c.lower_bound <= 4.5 + 1e-12,
            "{c:?}"
        );
        assert!((c.gamma_residual - 3.0).abs() < 1e-8);
        let prog = hand_program(&[ON_OFF], 3.0, 0.5);
        let c = certify(&prog, &[0.0], 4.5, Scope::Restricted, &[]).unwrap();
        assert!((c.duality_gap - 3.125).abs() < 1e-8, "{c:?}");
        assert_eq!(c.scope.name(), "restricted");
    }

    /// `β = ½`: at the optimum `c = (2.5, 0)` (objective 1.375) the residual ½ has `γ = β` and
    /// the gap is 0; at `c = (1, 0)` (objective `½·2² + ½ = 2.5`) the residual 2 is scaled to ½,
    /// the bound is 1.375 and the gap `1.125` (relative 0.45). Malformed extra dual points are
    /// ignored.
    #[test]
    fn certificates_by_hand() {
        let prog = hand_program(&[ON_OFF], 3.0, 0.5);
        let c = certify(&prog, &[2.5], 1.375, Scope::Global, &[]).unwrap();
        assert!(c.duality_gap.abs() < 1e-8, "{c:?}");
        assert!((c.gamma_residual - 0.5).abs() < 1e-8);
        let extra = vec![vec![f64::NAN], vec![1.0, 2.0]];
        let c = certify(&prog, &[1.0], 2.5, Scope::Global, &extra).unwrap();
        assert!((c.lower_bound - 1.375).abs() < 1e-8, "{c:?}");
        assert!((c.duality_gap - 1.125).abs() < 1e-8);
        assert!((c.relative_gap - 0.45).abs() < 1e-8);
        assert!((c.gamma_residual - 2.0).abs() < 1e-8);
    }

    /// `γ` from the conic sub-problems (Clarabel) equals `max_b max_± ‖Π_{C_b}(±A_bᵀv)‖` from
    /// the active-set cone projection, on random data.
    #[test]
    fn gamma_agrees_with_the_cone_projection() {
        let (n, f) = (4, 3);
        let (p, _) = random_patches(n, 7, f, 51);
        let hp = Hyperplanes::from_patches(&p);
        let filters: Vec<Vec<f64>> = (0..15).map(|s| gaussian(f, 5100 + s)).collect();
        let (set, _) = patterns_of(&hp, &filters);
        let prog = TwoLayerProgram::new(&p, hp, &set, &vec![0.0; n], 1.0, Pooling::Sum).unwrap();
        let normals = Mat::<f64>::from_fn(prog.hyperplanes.len(), f, |g, j| {
            prog.hyperplanes.normal(g)[j]
        });
        for case in 0..5u64 {
            let v = gaussian(n, 5200 + case);
            let mut want: f64 = 0.0;
            for b in 0..prog.blocks.len() {
                let g = prog.adjoint_block(b, &v);
                let s = Sides(&prog.blocks[b].bits);
                for sign in [1.0, -1.0] {
                    let a: Vec<f64> = g.iter().map(|x| sign * x).collect();
                    want = want.max(cone_gamma(normals.as_ref(), s, &a).unwrap());
                }
            }
            let got = gamma(&prog, &v).unwrap().value;
            assert!(
                (got - want).abs() < 1e-7 * want.max(1.0),
                "case {case}: {got} vs {want}"
            );
            // Every block and side: the active-set projection against Clarabel's SOCP.
            for b in 0..prog.blocks.len() {
                let g = prog.adjoint_block(b, &v);
                for sign in [1.0, -1.0] {
                    let fast = cone_max(&prog, b, &g, sign).unwrap();
                    let socp = cone_max_socp(&prog, b, &g, sign).unwrap();
                    assert!(
                        (fast - socp).abs() < 1e-7 * socp.max(1.0),
                        "block {b}: projection {fast} vs SOCP {socp}"
                    );
                }
            }
        }
    }
}
