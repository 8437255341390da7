//! Refitting on the support: a second, small and tight interior-point solve over the blocks that
//! carry the solution.
//!
//! An interior-point point is never sparse: besides the real atoms it holds many blocks of norm
//! `~tol`, each a little outside its cone in relative terms. Re-solving the program restricted to
//! the blocks of the significant atoms, at a tight tolerance, gives a point that is exactly sparse
//! and feasible to ~1e-12 relative, whose objective is the restricted optimum `p_S ≥ p*`. It is
//! kept only when `p_S` does not exceed the full solve's objective by more than `accept` (relative);
//! the certificate then checks it against all patterns.

use super::ipm::{solve_ipm, IpmInfo, IpmSettings};
use crate::error::Result;
use crate::program::{norm, ConvexSolution, TwoLayerProgram};

/// Atoms below this fraction of the largest norm are left out of the support.
const SUPPORT_TOL: f64 = 1e-4;

/// Re-solves on the support of `sol`. Returns the refitted full-size solution and the small
/// solve's info, or `None` when the support is empty or the refit is not as good as `sol`.
pub fn refit_support(
    prog: &TwoLayerProgram,
    sol: &ConvexSolution,
    settings: &IpmSettings,
    accept: f64,
) -> Result<Option<(ConvexSolution, IpmInfo)>> {
    let norms: Vec<f64> = (0..sol.vars()).map(|j| norm(sol.var(j))).collect();
    let max = norms.iter().cloned().fold(0.0, f64::max);
    if max == 0.0 {
        return Ok(None);
    }
    let mut blocks: Vec<usize> = (0..sol.vars())
        .filter(|&j| norms[j] > SUPPORT_TOL * max)
        .map(|j| j / 2)
        .collect();
    blocks.dedup();
    if blocks.is_empty() || blocks.len() == prog.blocks.len() {
        return Ok(None);
    }
    let sub = prog.subset(&blocks);
    let (sub_sol, info) = solve_ipm(&sub, settings)?;
    if !info.status.converged() {
        return Ok(None);
    }
    let mut full = ConvexSolution::zeros(prog.blocks.len(), prog.h);
    for (i, &b) in blocks.iter().enumerate() {
        full.var_mut(2 * b).copy_from_slice(sub_sol.var(2 * i));
        full.var_mut(2 * b + 1)
            .copy_from_slice(sub_sol.var(2 * i + 1));
    }
    let before = prog.objective(sol);
    let after = prog.objective(&full);
    if after > before + accept * before.abs() {
        return Ok(None);
    }
    Ok(Some((full, info)))
}
