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
use crate::program::TwoLayerProgram;
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
}

fn facet_values(normals: MatRef<'_, f64>, signs: Sides<'_>, u: &[f64], out: &mut [f64]) {
    let g = out.len();
    faer::linalg::matmul::matmul(
        faer::MatMut::from_column_major_slice_mut(out, g, 1),
        faer::Accum::Replace,
        normals,
        MatRef::from_column_major_slice(u, u.len(), 1),
        1.0,
        faer::Par::Seq,
    );
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
    project_from(normals, signs, a, tol, &mut Vec::new())
}

/// [`project`] with a starting working set of facets (`facets`: hyperplane indices, say the
/// facets active at a nearby point's projection), replaced on return by the facets whose
/// multiplier is positive at this projection. A good start makes the cutting-plane loop end
/// after one check of all facets; the result is the same exact projection either way.
pub fn project_from(
    normals: MatRef<'_, f64>,
    signs: Sides<'_>,
    a: &[f64],
    tol: f64,
    facets: &mut Vec<usize>,
) -> Result<Projection> {
    match project_or_bound(normals, signs, a, tol, facets, -1.0)? {
        Priced::Exact(p) => Ok(p),
        // A floor below zero is never reached.
        Priced::AtMost(_) => Err(Error::Solver("cone projection stopped at a bound".into())),
    }
}

/// What [`project_or_bound`] found.
#[derive(Debug, Clone)]
pub enum Priced {
    /// The projection `Π_C(a)`.
    Exact(Projection),
    /// An upper bound on `‖Π_C(a)‖`, at most the floor asked for.
    AtMost(f64),
}

/// [`project_from`] that stops early when the projection onto the cone of the given `facets`
/// alone is no longer than `floor`: that cone contains `C`, so its projection's length bounds
/// `‖Π_C(a)‖ = max_{u ∈ C, ‖u‖ ≤ 1} aᵀu` from above, without checking the other facets. `facets`
/// is then left as given. Pricing uses it to dismiss blocks whose `γ` cannot exceed `β`.
pub fn project_or_bound(
    normals: MatRef<'_, f64>,
    signs: Sides<'_>,
    a: &[f64],
    tol: f64,
    facets: &mut Vec<usize>,
    floor: f64,
) -> Result<Priced> {
    let g = normals.nrows();
    let na = a.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mut u = a.to_vec();
    if na == 0.0 {
        return Ok(Priced::Exact(Projection {
            point: u,
            violation: 0.0,
        }));
    }
    let thr = tol * na;
    let mut vals = vec![0.0; g];
    let mut in_work = vec![false; g];
    let mut work: Vec<usize> = Vec::new();
    let h = a.len();
    let mut rows: Vec<f64> = Vec::new();
    let mut lam: Vec<f64> = Vec::new();
    let mut nnls = NnlsWork::default();
    for &gg in facets.iter().filter(|&&gg| gg < g) {
        if !in_work[gg] {
            in_work[gg] = true;
            work.push(gg);
            let sg = signs.get(gg);
            rows.extend((0..h).map(|j| sg * normals[(gg, j)]));
            // Positive: the given facets are the first passive set of the active-set method.
            lam.push(1.0);
        }
    }
    if !work.is_empty() && !project_rows(&rows, h, &mut lam, &mut nnls, &mut u, 8 * h + 64) {
        u = solve_qp(normals, signs, &work, a)?;
        lam.iter_mut().for_each(|l| *l = 0.0);
    }
    if !work.is_empty() {
        let nu = u.iter().map(|v| v * v).sum::<f64>().sqrt();
        if nu <= floor {
            return Ok(Priced::AtMost(nu));
        }
    }
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
            facets.clear();
            facets.extend(
                work.iter()
                    .zip(&lam)
                    .filter(|(_, l)| **l > 0.0)
                    .map(|(gg, _)| *gg),
            );
            return Ok(Priced::Exact(Projection {
                point: u,
                violation: worst,
            }));
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

/// The cone of block `b` of a two-layer program as signed rows `s_g n_g`, one per constraint
/// `g` of the block (in [`TwoLayerProgram::constraints`] order): for `γ_b` and the facets
/// active at its maximiser.
pub struct BlockCone {
    h: usize,
    ids: Vec<u32>,
    rows: Vec<f64>,
    ones: Vec<u64>,
}

impl BlockCone {
    /// The cone of block `b` of `prog`.
    pub fn new(prog: &TwoLayerProgram, b: usize) -> Self {
        let h = prog.h;
        let ids: Vec<u32> = prog.constraints(b).map(|g| g as u32).collect();
        let mut rows = Vec::with_capacity(ids.len() * h);
        for &g in &ids {
            let s = prog.side(b, g as usize);
            rows.extend(prog.hyperplanes.normal(g as usize).iter().map(|v| s * v));
        }
        let ones = vec![u64::MAX; ids.len().div_ceil(64).max(1)];
        BlockCone { h, ids, rows, ones }
    }

    /// The hyperplanes of the cone's facets.
    pub fn facets(&self) -> &[u32] {
        &self.ids
    }

    /// The signed row `s_g n_g` of the `r`-th facet.
    pub fn row(&self, r: usize) -> &[f64] {
        &self.rows[r * self.h..(r + 1) * self.h]
    }

    /// `Π_C(a)` (exact, by [`project`]).
    pub fn project(&self, a: &[f64]) -> Result<Vec<f64>> {
        if self.ids.is_empty() {
            return Ok(a.to_vec());
        }
        let normals = MatRef::from_row_major_slice(&self.rows, self.ids.len(), self.h);
        Ok(project(normals, Sides(&self.ones), a, 1e-12)?.point)
    }

    /// `γ = ‖Π_C(a)‖` and the facets active at `Π_C(a)` (none when the projection is zero).
    pub fn gamma_active(&self, a: &[f64]) -> Result<(f64, Vec<u32>)> {
        let p = self.project(a)?;
        let pn = norm2(&p);
        let active = if pn > 1e-9 * norm2(a) {
            (0..self.ids.len())
                .filter(|&r| {
                    self.row(r).iter().zip(&p).map(|(x, y)| x * y).sum::<f64>() <= 1e-9 * pn
                })
                .map(|r| self.ids[r])
                .collect()
        } else {
            Vec::new()
        };
        Ok((pn, active))
    }
}

fn norm2(a: &[f64]) -> f64 {
    a.iter().map(|v| v * v).sum::<f64>().sqrt()
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

    use crate::program::tests::gaussian;

    /// Unit rows `n_g` (`G × h`) from seeded Gaussians.
    fn unit_rows(g: usize, h: usize, seed: u64) -> Mat<f64> {
        let v = gaussian(g * h, seed);
        Mat::<f64>::from_fn(g, h, |r, c| {
            let row = &v[r * h..(r + 1) * h];
            row[c] / row.iter().map(|x| x * x).sum::<f64>().sqrt()
        })
    }

    /// The sides of the region of `u0` (bit `g` set iff `n_gᵀu0 > 0`).
    fn sides_of(n: &Mat<f64>, u0: &[f64]) -> u64 {
        (0..n.nrows()).fold(0u64, |w, g| {
            let d: f64 = (0..n.ncols()).map(|c| n[(g, c)] * u0[c]).sum();
            if d > 0.0 {
                w | (1 << g)
            } else {
                w
            }
        })
    }

    /// Projection onto a cone in the plane by brute force: the nearest feasible point among
    /// `a`, `0` and the projections of `a` onto the rays along `±n_g^⊥`, clamped at 0.
    fn brute_force_2d(n: &Mat<f64>, bits: u64, a: [f64; 2]) -> [f64; 2] {
        let rows: Vec<[f64; 2]> = (0..n.nrows())
            .map(|g| {
                let s = if bits >> g & 1 == 1 { 1.0 } else { -1.0 };
                [s * n[(g, 0)], s * n[(g, 1)]]
            })
            .collect();
        let feasible = |u: [f64; 2]| rows.iter().all(|r| r[0] * u[0] + r[1] * u[1] >= -1e-12);
        let mut cands = vec![a, [0.0, 0.0]];
        for r in &rows {
            for d in [[-r[1], r[0]], [r[1], -r[0]]] {
                let t = (a[0] * d[0] + a[1] * d[1]).max(0.0);
                cands.push([t * d[0], t * d[1]]);
            }
        }
        let dist = |u: &[f64; 2]| (u[0] - a[0]).powi(2) + (u[1] - a[1]).powi(2);
        cands
            .into_iter()
            .filter(|u| feasible(*u))
            .min_by(|x, y| dist(x).total_cmp(&dist(y)))
            .unwrap()
    }

    /// Against brute force in the plane, on random cones of 1 to 5 facets with random sides
    /// (some of them just `{0}` or a ray), and `γ = ‖Π(a)‖`.
    #[test]
    fn matches_brute_force_in_the_plane() {
        for case in 0..300u64 {
            let g = 1 + (case % 5) as usize;
            let n = unit_rows(g, 2, 1000 + case);
            let bits = (gaussian(1, 2000 + case)[0].abs() * 1e6) as u64 & ((1 << g) - 1);
            let av = gaussian(2, 3000 + case);
            let a = [av[0], av[1]];
            let p = project(n.as_ref(), Sides(&[bits]), &a, 1e-12).unwrap();
            let want = brute_force_2d(&n, bits, a);
            for (x, w) in p.point.iter().zip(want) {
                assert!(
                    (x - w).abs() < 1e-9,
                    "case {case}: {:?} vs {want:?}",
                    p.point
                );
            }
            let gamma = cone_gamma(n.as_ref(), Sides(&[bits]), &a).unwrap();
            assert!((gamma - (want[0].hypot(want[1]))).abs() < 1e-9);
        }
    }

    /// Moreau/KKT conditions on random cones in `R^4` with 40 facets: `p` is feasible,
    /// `pᵀ(a − p) = 0`, `(a − p)ᵀc ≤ 0` for feasible `c`, `aᵀc/‖c‖ ≤ γ = ‖p‖`, and projecting
    /// `p` again returns `p`.
    #[test]
    fn projection_meets_the_moreau_conditions() {
        let h = 4;
        for case in 0..20u64 {
            let n = unit_rows(40, h, 4000 + case);
            let u0 = gaussian(h, 5000 + case);
            let bits = sides_of(&n, &u0);
            let s = Sides(std::slice::from_ref(&bits));
            let a = gaussian(h, 6000 + case);
            let p = project(n.as_ref(), s, &a, 1e-12).unwrap();
            let na = a.iter().map(|v| v * v).sum::<f64>().sqrt();
            let r: Vec<f64> = a.iter().zip(&p.point).map(|(x, y)| x - y).collect();
            let feasible = |c: &[f64]| {
                (0..40).all(|g| s.get(g) * (0..h).map(|j| n[(g, j)] * c[j]).sum::<f64>() >= 0.0)
            };
            let worst = (0..40)
                .map(|g| -s.get(g) * (0..h).map(|j| n[(g, j)] * p.point[j]).sum::<f64>())
                .fold(0.0f64, f64::max);
            assert!(worst <= 1e-10 * na, "case {case}: violation {worst}");
            let pr: f64 = p.point.iter().zip(&r).map(|(x, y)| x * y).sum();
            assert!(pr.abs() <= 1e-10 * na * na, "case {case}: pᵀ(a − p) = {pr}");
            let gamma = cone_gamma(n.as_ref(), s, &a).unwrap();
            let np = p.point.iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!((gamma - np).abs() <= 1e-10 * na);
            let mut tested = 0;
            let nu = u0.iter().map(|v| v * v).sum::<f64>().sqrt();
            for k in 0..400u64 {
                let noise = gaussian(h, 7000 + 1000 * case + k);
                // Noise from 1.5‖u0‖ down to 0.015‖u0‖, so that narrow cones are sampled too.
                let scale = 1.5 * nu * 0.1f64.powi((k % 3) as i32);
                let c: Vec<f64> = u0.iter().zip(&noise).map(|(x, e)| x + scale * e).collect();
                if !feasible(&c) {
                    continue;
                }
                tested += 1;
                let rc: f64 = r.iter().zip(&c).map(|(x, y)| x * y).sum();
                let nc = c.iter().map(|v| v * v).sum::<f64>().sqrt();
                assert!(rc <= 1e-10 * na * nc, "case {case}: (a − p)ᵀc = {rc}");
                let ac: f64 = a.iter().zip(&c).map(|(x, y)| x * y).sum();
                assert!(ac / nc <= gamma + 1e-10 * na);
            }
            assert!(tested >= 20, "case {case}: {tested} feasible samples");
            let again = project(n.as_ref(), s, &p.point, 1e-12).unwrap();
            for (x, y) in again.point.iter().zip(&p.point) {
                assert!((x - y).abs() <= 1e-10 * na);
            }
        }
    }

    /// A warm start from the facets of another point's projection (a nearby point, a far one,
    /// or facets that are not active at all) ends at the same exact projection as a cold start,
    /// and hands back the facets active there.
    #[test]
    fn warm_started_projection_equals_the_cold_one() {
        let h = 6;
        for case in 0..20u64 {
            let n = unit_rows(60, h, 9000 + case);
            let u0 = gaussian(h, 9100 + case);
            let bits = sides_of(&n, &u0);
            let s = Sides(std::slice::from_ref(&bits));
            let a = gaussian(h, 9200 + case);
            let cold = project(n.as_ref(), s, &a, 1e-12).unwrap();
            let na = a.iter().map(|v| v * v).sum::<f64>().sqrt();
            let near: Vec<f64> = a
                .iter()
                .zip(gaussian(h, 9300 + case))
                .map(|(x, e)| x + 0.05 * e)
                .collect();
            let mut from_near = Vec::new();
            project_from(n.as_ref(), s, &near, 1e-12, &mut from_near).unwrap();
            let far = gaussian(h, 9400 + case);
            let mut from_far = Vec::new();
            project_from(n.as_ref(), s, &far, 1e-12, &mut from_far).unwrap();
            for mut start in [from_near, from_far, (0..60).step_by(7).collect::<Vec<_>>()] {
                let warm = project_from(n.as_ref(), s, &a, 1e-12, &mut start).unwrap();
                for (x, y) in warm.point.iter().zip(&cold.point) {
                    assert!((x - y).abs() <= 1e-9 * na, "case {case}: {x} vs {y}");
                }
                // The facets handed back are active: zero value at the projection.
                for &g in &start {
                    let v = s.get(g) * (0..h).map(|j| n[(g, j)] * warm.point[j]).sum::<f64>();
                    assert!(v.abs() <= 1e-9 * na, "case {case}: facet {g} at {v}");
                }
            }
        }
    }

    /// The bound from the known facets alone is an upper bound on the exact `‖Π_C(a)‖`; it is
    /// returned only at or below the floor, and above the floor the exact projection comes back
    /// (equal to the cold one). Facets from a far point make the bound loose, a floor above
    /// `‖a‖` always stops at the bound.
    #[test]
    fn bound_from_known_facets_is_above_the_exact_length() {
        let h = 6;
        let mut bounded = 0;
        for case in 0..20u64 {
            let n = unit_rows(60, h, 9500 + case);
            let bits = sides_of(&n, &gaussian(h, 9600 + case));
            let s = Sides(std::slice::from_ref(&bits));
            let a = gaussian(h, 9700 + case);
            let exact = project(n.as_ref(), s, &a, 1e-12).unwrap();
            let g = exact.point.iter().map(|v| v * v).sum::<f64>().sqrt();
            let na = a.iter().map(|v| v * v).sum::<f64>().sqrt();
            let mut from_far = Vec::new();
            project_from(
                n.as_ref(),
                s,
                &gaussian(h, 9800 + case),
                1e-12,
                &mut from_far,
            )
            .unwrap();
            for floor in [0.5 * g, g, 1.5 * g + 1e-9, 2.0 * na] {
                let mut f = from_far.clone();
                match project_or_bound(n.as_ref(), s, &a, 1e-12, &mut f, floor).unwrap() {
                    Priced::AtMost(b) => {
                        bounded += 1;
                        assert!(b <= floor, "case {case}: bound {b} above the floor {floor}");
                        assert!(b >= g * (1.0 - 1e-9), "case {case}: bound {b} below γ {g}");
                        assert_eq!(f, from_far);
                    }
                    Priced::Exact(p) => {
                        for (x, y) in p.point.iter().zip(&exact.point) {
                            assert!((x - y).abs() <= 1e-9 * na, "case {case}: {x} vs {y}");
                        }
                    }
                }
            }
            if !from_far.is_empty() {
                let mut f = from_far.clone();
                let far_floor = 2.0 * na;
                assert!(matches!(
                    project_or_bound(n.as_ref(), s, &a, 1e-12, &mut f, far_floor).unwrap(),
                    Priced::AtMost(_)
                ));
            }
        }
        assert!(bounded > 0);
    }

    /// Zero and points inside the cone are returned unchanged, with no facet in the working
    /// set.
    #[test]
    fn zero_and_interior_points_are_fixed() {
        let n = unit_rows(10, 3, 8000);
        let u0 = gaussian(3, 8001);
        let bits = sides_of(&n, &u0);
        let s = Sides(std::slice::from_ref(&bits));
        let p = project(n.as_ref(), s, &u0, 1e-12).unwrap();
        assert_eq!(p.point, u0);
        assert_eq!(p.violation, 0.0);
        let z = project(n.as_ref(), s, &[0.0; 3], 1e-12).unwrap();
        assert_eq!(z.point, vec![0.0; 3]);
    }
}
