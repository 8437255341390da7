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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::tests::{hand_program, one_sample_optimum, ALL_ON, ON_OFF};

    /// Hand example with two patterns: the optimum uses the all-on block only, so the refit
    /// drops the on/off block (exactly zero) and keeps the optimum `4.5 − (3√5 − ½)²/10`.
    #[test]
    fn refit_drops_the_unused_pattern() {
        let prog = hand_program(&[ON_OFF, ALL_ON], 3.0, 0.5);
        let s = IpmSettings::default();
        let (sol, _) = solve_ipm(&prog, &s).unwrap();
        assert!(
            sol.var(0).iter().any(|v| *v != 0.0),
            "the IPM point is not expected sparse"
        );
        let (full, info) = refit_support(&prog, &sol, &s, 1e-6).unwrap().unwrap();
        assert!(info.status.converged());
        assert!(full.var(0).iter().chain(full.var(1)).all(|v| *v == 0.0));
        let want = one_sample_optimum(5f64.sqrt(), 3.0, 0.5);
        assert!((prog.objective(&full) - want).abs() < 1e-7);
    }

    /// Nothing to refit: the zero point, or a support that already is every block.
    #[test]
    fn nothing_to_refit() {
        let prog = hand_program(&[ON_OFF, ALL_ON], 3.0, 0.5);
        let s = IpmSettings::default();
        let zero = ConvexSolution::zeros(2, 2);
        assert!(refit_support(&prog, &zero, &s, 1e-6).unwrap().is_none());
        let one = hand_program(&[ALL_ON], 3.0, 0.5);
        let (sol, _) = solve_ipm(&one, &s).unwrap();
        assert!(refit_support(&one, &sol, &s, 1e-6).unwrap().is_none());
    }
}
