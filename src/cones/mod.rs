//! Euclidean projection onto the cone of one sign pattern, `C_i = {u : s_{g,i} n_gᵀu ≥ 0 ∀g}`.
//!
//! Used to make first-order iterates exactly feasible before recovery (so the recovered filters
//! reproduce their patterns), and for `γ_i(v) = max_{u ∈ C_i, ‖u‖ ≤ 1} aᵀu = ‖Π_{C_i}(a)‖`
//! (Moreau decomposition) in certificates. The cone has up to `G` (thousands to millions of)
//! facets in a small dimension `h`, of which few are active at the projection: a cutting-plane
//! loop keeps a working set of facets, solves the small quadratic program
//! `min ½‖u − a‖² s.t. facets in the working set` exactly by the active-set method of
//! [`crate::cones::nnls`] (warm-started between rounds; Clarabel when that stops short on a
//! numerically degenerate set), and adds the most violated facets until none is violated.

pub mod nnls;

use crate::cones::nnls::{project_rows, NnlsWork};
use crate::error::{Error, Result};
use crate::program::operator::Sides;
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus, SupportedConeT,
};
use faer::MatRef;

/// Facets added per round.
const ADD_PER_ROUND: usize = 128;
/// Most cutting-plane rounds.
const MAX_ROUNDS: usize = 200;

/// Result of a projection.
#[derive(Debug, Clone)]
pub struct Projection {
    /// `Π_C(a)`.
    pub point: Vec<f64>,
    /// Largest remaining violation `max_g (−s_g n_gᵀu)_+`, absolute.
    pub violation: f64,
    /// Facets in the final working set.
    pub working_set: usize,
}

fn facet_values(normals: MatRef<'_, f64>, signs: Sides<'_>, u: &[f64], out: &mut [f64]) {
    out.iter_mut().for_each(|v| *v = 0.0);
    for (j, &uj) in u.iter().enumerate() {
        let col = normals.col(j);
        if uj == 0.0 {
            continue;
        }
        for (o, nv) in out.iter_mut().zip(col.iter()) {
            *o += nv * uj;
        }
    }
    for (g, o) in out.iter_mut().enumerate() {
        *o *= signs.get(g);
    }
}

fn solve_qp(
    normals: MatRef<'_, f64>,
    signs: Sides<'_>,
    work: &[usize],
    a: &[f64],
) -> Result<Vec<f64>> {
    let h = a.len();
    let m = work.len();
    let p = CscMatrix::new(h, h, (0..=h).collect(), (0..h).collect(), vec![1.0; h]);
    let q: Vec<f64> = a.iter().map(|v| -v).collect();
    let mut colptr = Vec::with_capacity(h + 1);
    let mut rowval = Vec::with_capacity(h * m);
    let mut nzval = Vec::with_capacity(h * m);
    colptr.push(0);
    for j in 0..h {
        for (r, &g) in work.iter().enumerate() {
            let v = -signs.get(g) * normals[(g, j)];
            if v != 0.0 {
                rowval.push(r);
                nzval.push(v);
            }
        }
        colptr.push(rowval.len());
    }
    let amat = CscMatrix::new(m, h, colptr, rowval, nzval);
    let b = vec![0.0; m];
    let cones: Vec<SupportedConeT<f64>> = vec![NonnegativeConeT(m)];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .tol_gap_abs(1e-12)
        .tol_gap_rel(1e-12)
        .tol_feas(1e-12)
        .max_threads(1)
        .build()
        .map_err(|e| Error::Solver(format!("invalid Clarabel settings: {e:?}")))?;
    let mut solver = DefaultSolver::new(&p, &q, &amat, &b, &cones, settings)
        .map_err(|e| Error::Solver(format!("cone projection rejected: {e:?}")))?;
    solver.solve();
    // A point short of full accuracy is still usable: the cutting-plane loop checks every
    // facet of the returned point, and callers check the final violation.
    let usable = matches!(
        solver.solution.status,
        SolverStatus::Solved | SolverStatus::AlmostSolved | SolverStatus::InsufficientProgress
    ) && solver.solution.x.iter().all(|v| v.is_finite());
    if usable {
        Ok(solver.solution.x.clone())
    } else {
        Err(Error::Solver(format!(
            "cone projection sub-problem ended with status {:?}",
            solver.solution.status
        )))
    }
}

/// Projects `a` onto `{u : s_g n_gᵀu ≥ 0}` (`normals` is `G × h`, `signs` one side per row).
/// Facets count as violated above `tol·‖a‖`.
pub fn project(
    normals: MatRef<'_, f64>,
    signs: Sides<'_>,
    a: &[f64],
    tol: f64,
) -> Result<Projection> {
    let g = normals.nrows();
    let na = a.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mut u = a.to_vec();
    if na == 0.0 {
        return Ok(Projection {
            point: u,
            violation: 0.0,
            working_set: 0,
        });
    }
    let thr = tol * na;
    let mut vals = vec![0.0; g];
    let mut in_work = vec![false; g];
    let mut work: Vec<usize> = Vec::new();
    let h = a.len();
    let mut rows: Vec<f64> = Vec::new();
    let mut lam: Vec<f64> = Vec::new();
    let mut nnls = NnlsWork::default();
    for _ in 0..MAX_ROUNDS {
        facet_values(normals, signs, &u, &mut vals);
        let mut viol: Vec<(usize, f64)> = vals
            .iter()
            .enumerate()
            .filter(|(gg, v)| **v < -thr && !in_work[*gg])
            .map(|(gg, v)| (gg, *v))
            .collect();
        if viol.is_empty() {
            let worst = vals.iter().fold(0.0f64, |m, v| m.max(-v));
            return Ok(Projection {
                point: u,
                violation: worst,
                working_set: work.len(),
            });
        }
        viol.sort_by(|x, y| x.1.total_cmp(&y.1));
        for (gg, _) in viol.into_iter().take(ADD_PER_ROUND) {
            in_work[gg] = true;
            work.push(gg);
            let sg = signs.get(gg);
            rows.extend((0..h).map(|j| sg * normals[(gg, j)]));
            lam.push(0.0);
        }
        // Rows are only appended, so the multipliers and the cached factor stay valid.
        u.copy_from_slice(a);
        if !project_rows(&rows, h, &mut lam, &mut nnls, &mut u, 8 * h + 64) {
            u = solve_qp(normals, signs, &work, a)?;
        }
    }
    Err(Error::Solver(format!(
        "cone projection did not settle after {MAX_ROUNDS} rounds ({} facets)",
        work.len()
    )))
}

/// `γ = max_{u ∈ C, ‖u‖ ≤ 1} aᵀu = ‖Π_C(a)‖`.
pub fn cone_gamma(normals: MatRef<'_, f64>, signs: Sides<'_>, a: &[f64]) -> Result<f64> {
    let p = project(normals, signs, a, 1e-12)?;
    Ok(p.point.iter().map(|v| v * v).sum::<f64>().sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    #[test]
    fn projection_onto_orthant_and_halfspace() {
        // The non-negative orthant in R^3 (normals e_1, e_2, e_3, all signs +).
        let n = Mat::<f64>::from_fn(3, 3, |i, j| if i == j { 1.0 } else { 0.0 });
        let p = project(n.as_ref(), Sides(&[0b111]), &[1.0, -2.0, 3.0], 1e-12).unwrap();
        for (a, b) in p.point.iter().zip([1.0, 0.0, 3.0]) {
            assert!((a - b).abs() < 1e-8, "{:?}", p.point);
        }
        // Half-space −x₁ + x₂ ≥ 0 written with a flipped sign on the normal (1,−1)/√2.
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let n = Mat::<f64>::from_fn(1, 2, |_, j| if j == 0 { s } else { -s });
        let p = project(n.as_ref(), Sides(&[0]), &[2.0, 0.0], 1e-12).unwrap();
        assert!((p.point[0] - 1.0).abs() < 1e-8 && (p.point[1] - 1.0).abs() < 1e-8);
        let gamma = cone_gamma(n.as_ref(), Sides(&[0]), &[2.0, 0.0]).unwrap();
        assert!((gamma - 2f64.sqrt()).abs() < 1e-8);
    }
}
