//! The exact two-layer program as an SOCP for the interior-point solver Clarabel.
//!
//! Variables `x = [c_0, …, c_{V−1} | t_0, …, t_{V−1} | ρ]` (`V = 2·blocks` variables of size
//! `h`, their norm bounds `t_j`, and the residual `ρ ∈ R^n`):
//!
//! ```text
//! min ½‖ρ‖² + β Σ_j t_j
//! s.t. ρ − Σ_j s_j A_{b(j)} c_j = −y          (zero cone, n rows)
//!      (t_j, c_j) ∈ SOC(h+1)                   (one cone per variable)
//!      s_g n_gᵀ c_j ≥ 0  for every hyperplane g (non-negative cone)
//! ```
//!
//! The constraint matrix is assembled column by column in compressed sparse column form: each
//! `c_j` column holds `n` loss entries, one cone entry and `G` constraint entries.

use super::status::SolveStatus;
use crate::error::{Error, Result};
use crate::program::{ConvexSolution, TwoLayerProgram};
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettings, DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT,
    SecondOrderConeT, SolverStatus, SupportedConeT, ZeroConeT,
};

/// Settings of the interior-point solve.
#[derive(Debug, Clone, Copy)]
pub struct IpmSettings {
    /// Absolute and relative duality-gap and feasibility tolerance (Clarabel's `tol_gap_abs`,
    /// `tol_gap_rel`, `tol_feas`).
    pub tol: f64,
    /// Iteration limit.
    pub max_iter: u32,
    /// Time limit in seconds (`f64::INFINITY` for none).
    pub time_limit: f64,
}

impl Default for IpmSettings {
    fn default() -> Self {
        IpmSettings {
            tol: 1e-9,
            max_iter: 200,
            time_limit: f64::INFINITY,
        }
    }
}

/// What the interior-point solve reports beside the solution.
#[derive(Debug, Clone)]
pub struct IpmInfo {
    /// Final status.
    pub status: SolveStatus,
    /// Iterations taken.
    pub iterations: u32,
    /// Clarabel's primal objective (on the program's scale).
    pub solver_objective: f64,
    /// Clarabel's dual objective.
    pub solver_dual_objective: f64,
    /// Solve time in seconds (Clarabel's own count, setup included).
    pub seconds: f64,
    /// The solver's dual variables of the loss rows, `z_eq`: at the optimum `z_eq = y − f*`, the
    /// dual point `v` of MATH.md 3.2, a candidate for the certificate.
    pub dual_point: Vec<f64>,
}

/// Clarabel's status as ours; failures are errors.
pub(crate) fn map_status(s: SolverStatus) -> Result<SolveStatus> {
    match s {
        SolverStatus::Solved => Ok(SolveStatus::Solved),
        SolverStatus::AlmostSolved => Ok(SolveStatus::AlmostSolved),
        SolverStatus::MaxIterations => Ok(SolveStatus::MaxIterations),
        SolverStatus::MaxTime => Ok(SolveStatus::MaxTime),
        SolverStatus::CallbackTerminated => Err(Error::Interrupted),
        other => Err(Error::Solver(format!(
            "interior-point solver (Clarabel) ended with status {other:?}"
        ))),
    }
}

/// The norm that penalizes each block variable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BlockNorm<'a> {
    /// `‖c‖₂` (the two-layer CNN, MATH.md section 3).
    Euclidean,
    /// `‖F c‖₁ / h` with `F` the unnormalized DFT of length `h` (the three-layer circular CNN,
    /// MATH.md section 6): one 3-dimensional second-order cone `(t_k, Re F_k c, Im F_k c)` per
    /// frequency `k`.
    SpectralL1,
    /// `Σ_k ω_k |F_k c| / β`: the spectral moduli with weights `ω` (length `h`, the cost of each
    /// frequency's cone variable, `β` included). [`BlockNorm::SpectralL1`] is `ω_k = β/h`.
    WeightedSpectral(&'a [f64]),
}

/// Clarabel's settings from ours (quiet; one tolerance for gaps and feasibility).
pub(crate) fn clarabel_settings(s: &IpmSettings) -> Result<DefaultSettings<f64>> {
    DefaultSettingsBuilder::default()
        .verbose(false)
        .tol_gap_abs(s.tol)
        .tol_gap_rel(s.tol)
        .tol_feas(s.tol)
        .max_iter(s.max_iter)
        .time_limit(s.time_limit)
        .build()
        .map_err(|e| Error::Solver(format!("invalid Clarabel settings: {e:?}")))
}

/// Lets Clarabel stop at its next iteration when an interrupt is requested
/// ([`crate::observe::request_interrupt`]); [`map_status`] then returns
/// [`Error::Interrupted`].
pub(crate) fn interruptible(solver: &mut DefaultSolver<f64>) {
    solver.set_termination_callback(|_| crate::observe::interrupt_requested());
}

/// Solves the two-layer program exactly with Clarabel.
pub fn solve_ipm(
    prog: &TwoLayerProgram,
    settings: &IpmSettings,
) -> Result<(ConvexSolution, IpmInfo)> {
    solve_ipm_with(prog, BlockNorm::Euclidean, settings)
}

/// Solves the program with the block penalty `β Σ_j norm(c_j)` exactly with Clarabel. With
/// [`BlockNorm::SpectralL1`] the cone variables are `t_{j,k}` (`h` per variable, cost `β/h`
/// each) instead of `t_j`.
pub fn solve_ipm_with(
    prog: &TwoLayerProgram,
    norm: BlockNorm<'_>,
    settings: &IpmSettings,
) -> Result<(ConvexSolution, IpmInfo)> {
    let (n, h) = (prog.n, prog.h);
    if let BlockNorm::WeightedSpectral(w) = norm {
        if w.len() != h || w.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(Error::param(
                "weights",
                format!(
                    "{} spectral weights for filter size {h}, or one negative",
                    w.len()
                ),
            ));
        }
    }
    let nvars = 2 * prog.blocks.len();
    // First non-negative row of each variable's cone constraints.
    let g_start: Vec<usize> = std::iter::once(0)
        .chain((0..nvars).scan(0, |acc, j| {
            *acc += prog.constraint_count(j / 2);
            Some(*acc)
        }))
        .collect();
    let g_total = g_start[nvars];
    // Cone variables per block variable, and rows of its cones.
    let (tper, cone_rows) = match norm {
        BlockNorm::Euclidean => (1, h + 1),
        BlockNorm::SpectralL1 | BlockNorm::WeightedSpectral(_) => (h, 3 * h),
    };
    let nx = nvars * h + nvars * tper + n;
    let soc_base = n;
    let nn_base = n + nvars * cone_rows;
    let m = nn_base + g_total;
    let two_pi = 2.0 * std::f64::consts::PI;

    // Constraint matrix, column by column.
    let nnz_est = nvars * h * (n + 1) + h * g_total + nvars + n;
    let mut colptr = Vec::with_capacity(nx + 1);
    let mut rowval = Vec::with_capacity(nnz_est);
    let mut nzval = Vec::with_capacity(nnz_est);
    colptr.push(0);
    for (j, &first_row) in g_start[..nvars].iter().enumerate() {
        let b = j / 2;
        let sj = if j % 2 == 0 { 1.0 } else { -1.0 };
        let a = &prog.blocks[b].a;
        for e in 0..h {
            for t in 0..n {
                let v = a[t * h + e];
                if v != 0.0 {
                    rowval.push(t);
                    nzval.push(-sj * v);
                }
            }
            match norm {
                BlockNorm::Euclidean => {
                    rowval.push(soc_base + j * (h + 1) + 1 + e);
                    nzval.push(-1.0);
                }
                BlockNorm::SpectralL1 | BlockNorm::WeightedSpectral(_) => {
                    // F_k c = Σ_e c_e (cos θ − i sin θ), θ = 2π k e / h.
                    for k in 0..h {
                        let th = two_pi * ((k * e) % h) as f64 / h as f64;
                        let base = soc_base + j * cone_rows + 3 * k;
                        let (re, im) = (th.cos(), -th.sin());
                        if re.abs() > 1e-15 {
                            rowval.push(base + 1);
                            nzval.push(-re);
                        }
                        if im.abs() > 1e-15 {
                            rowval.push(base + 2);
                            nzval.push(-im);
                        }
                    }
                }
            }
            for (row, g) in prog.constraints(b).enumerate() {
                let v = prog.side(b, g) * prog.hyperplanes.normal(g)[e];
                if v != 0.0 {
                    rowval.push(nn_base + first_row + row);
                    nzval.push(-v);
                }
            }
            colptr.push(rowval.len());
        }
    }
    for j in 0..nvars {
        for k in 0..tper {
            rowval.push(soc_base + j * cone_rows + 3 * k);
            nzval.push(-1.0);
            colptr.push(rowval.len());
        }
    }
    for t in 0..n {
        rowval.push(t);
        nzval.push(1.0);
        colptr.push(rowval.len());
    }
    let a_mat = CscMatrix::new(m, nx, colptr, rowval, nzval);

    // Quadratic term: identity on ρ (upper triangle).
    let mut pcol = vec![0usize; nx + 1];
    let mut prow = Vec::with_capacity(n);
    let rho0 = nvars * h + nvars * tper;
    for i in 0..nx {
        if i >= rho0 {
            prow.push(i);
        }
        pcol[i + 1] = prow.len();
    }
    let p_mat = CscMatrix::new(nx, nx, pcol, prow, vec![1.0; n]);

    let mut q = vec![0.0; nx];
    for (i, v) in q[nvars * h..nvars * h + nvars * tper]
        .iter_mut()
        .enumerate()
    {
        *v = match norm {
            BlockNorm::Euclidean => prog.beta,
            BlockNorm::SpectralL1 => prog.beta / h as f64,
            BlockNorm::WeightedSpectral(w) => w[i % h],
        };
    }
    let mut bvec = vec![0.0; m];
    for (b, y) in bvec.iter_mut().zip(&prog.y) {
        *b = -y;
    }
    let mut cones: Vec<SupportedConeT<f64>> = Vec::with_capacity(nvars + 2);
    cones.push(ZeroConeT(n));
    for _ in 0..nvars {
        match norm {
            BlockNorm::Euclidean => cones.push(SecondOrderConeT(h + 1)),
            BlockNorm::SpectralL1 | BlockNorm::WeightedSpectral(_) => {
                for _ in 0..h {
                    cones.push(SecondOrderConeT(3));
                }
            }
        }
    }
    if g_total > 0 {
        cones.push(NonnegativeConeT(g_total));
    }

    let settings = clarabel_settings(settings)?;
    let mut solver = DefaultSolver::new(&p_mat, &q, &a_mat, &bvec, &cones, settings)
        .map_err(|e| Error::Solver(format!("Clarabel rejected the problem: {e:?}")))?;
    interruptible(&mut solver);
    solver.solve();
    let s = &solver.solution;
    let status = map_status(s.status)?;
    let sol = ConvexSolution {
        h,
        c: s.x[..nvars * h].to_vec(),
    };
    Ok((
        sol,
        IpmInfo {
            status,
            iterations: s.iterations,
            solver_objective: s.obj_val,
            solver_dual_objective: s.obj_val_dual,
            seconds: s.solve_time,
            dual_point: s.z[..n].to_vec(),
        },
    ))
}

/// An upper bound (to the solver's tolerance, from its dual objective) on
/// `max gᵀz  s.t.  C z ≥ 0, ‖F z‖₁ ≤ 1` (`F` the unnormalized DFT of `R^d`, `d = g.len()`;
/// `c` holds the rows of `C`, row-major): the dual norm of the spectral ℓ1 norm on a polyhedral
/// cone, by a small second-order cone program.
pub fn spectral_cone_dual_norm(g: &[f64], c: &[f64], settings: &IpmSettings) -> Result<f64> {
    let d = g.len();
    if d == 0 || c.len() % d != 0 {
        return Err(Error::param(
            "rows",
            format!("{} constraint values for vectors of size {d}", c.len()),
        ));
    }
    let rows = c.len() / d;
    // x = [z (d) | t (d)]; s = b − A x in: nonneg (1 − Σt, C z), then SOC(3) per frequency.
    let m = 1 + rows + 3 * d;
    let mut dense = vec![0.0; m * 2 * d];
    let mut set = |r: usize, col: usize, v: f64| dense[r * 2 * d + col] = v;
    for k in 0..d {
        set(0, d + k, 1.0);
    }
    for r in 0..rows {
        for e in 0..d {
            set(1 + r, e, -c[r * d + e]);
        }
    }
    let two_pi = 2.0 * std::f64::consts::PI;
    for k in 0..d {
        let base = 1 + rows + 3 * k;
        set(base, d + k, -1.0);
        for t in 0..d {
            let th = two_pi * ((k * t) % d) as f64 / d as f64;
            set(base + 1, t, -th.cos());
            set(base + 2, t, th.sin());
        }
    }
    let (mut colptr, mut rowval, mut nzval) = (vec![0], Vec::new(), Vec::new());
    for col in 0..2 * d {
        for r in 0..m {
            let v = dense[r * 2 * d + col];
            if v.abs() > 1e-15 {
                rowval.push(r);
                nzval.push(v);
            }
        }
        colptr.push(rowval.len());
    }
    let a = CscMatrix::new(m, 2 * d, colptr, rowval, nzval);
    let p = CscMatrix::zeros((2 * d, 2 * d));
    let mut q = vec![0.0; 2 * d];
    for (qi, gi) in q.iter_mut().zip(g) {
        *qi = -gi;
    }
    let mut b = vec![0.0; m];
    b[0] = 1.0;
    let mut cones: Vec<SupportedConeT<f64>> = vec![NonnegativeConeT(1 + rows)];
    cones.extend((0..d).map(|_| SecondOrderConeT(3)));
    let mut solver = DefaultSolver::new(&p, &q, &a, &b, &cones, clarabel_settings(settings)?)
        .map_err(|e| Error::Solver(format!("spectral dual norm: {e:?}")))?;
    solver.solve();
    map_status(solver.solution.status)?;
    let s = &solver.solution;
    // min −gᵀz ≥ its dual objective, so max gᵀz ≤ −dual; never below the attained −primal.
    Ok((-s.obj_val_dual).max(-s.obj_val).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::tests::{hand_program, one_sample_optimum, ALL_ON, ON_OFF};

    fn tight() -> IpmSettings {
        IpmSettings {
            tol: 1e-10,
            ..IpmSettings::default()
        }
    }

    /// The on/off pattern of the hand example: `A = (1, 1)` on the cone `{u₀ + u₁ ≥ 0, u₁ ≤ 0}`
    /// reaches `γ = ‖Π(A)‖ = 1` along `(1, 0)`. With `y = 3`, `β = ½`: optimum
    /// `4.5 − 2.5²/2 = 1.375` at `c = (2.5, 0)`, `c' = 0`, and the dual point `y − f* = β/γ = ½`.
    /// With `y = −3` the same value is reached by `c'`.
    #[test]
    fn one_pattern_program_by_hand() {
        for y in [3.0, -3.0] {
            let prog = hand_program(&[ON_OFF], y, 0.5);
            let (sol, info) = solve_ipm(&prog, &tight()).unwrap();
            assert_eq!(info.status, SolveStatus::Solved);
            let want = one_sample_optimum(1.0, y, 0.5);
            assert!((want - 1.375).abs() < 1e-15);
            assert!((prog.objective(&sol) - want).abs() < 1e-7, "{sol:?}");
            assert!((info.solver_objective - want).abs() < 1e-7);
            assert!((info.solver_dual_objective - want).abs() < 1e-7);
            let (used, unused) = if y > 0.0 { (0, 1) } else { (1, 0) };
            assert!((sol.var(used)[0] - 2.5).abs() < 1e-6 && sol.var(used)[1].abs() < 1e-6);
            assert!(sol.var(unused).iter().all(|v| v.abs() < 1e-6), "{sol:?}");
            assert!(
                (info.dual_point[0] - 0.5 * y.signum()).abs() < 1e-6,
                "{info:?}"
            );
        }
    }

    /// Two patterns: the all-on block (`γ = √5`, inside its cone) beats the on/off block
    /// (`γ = 1`), so the optimum is `y²/2 − (3√5 − β)²/10`.
    #[test]
    fn best_pattern_wins() {
        let prog = hand_program(&[ON_OFF, ALL_ON], 3.0, 0.5);
        let (sol, _) = solve_ipm(&prog, &tight()).unwrap();
        let want = one_sample_optimum(5f64.sqrt(), 3.0, 0.5);
        assert!((prog.objective(&sol) - want).abs() < 1e-7);
        assert!(sol.var(0).iter().chain(sol.var(1)).all(|v| v.abs() < 1e-6));
    }

    /// With `h = 2`, `‖Fc‖₁/2 = (|c₀ + c₁| + |c₀ − c₁|)/2 = ‖c‖∞`. On the all-on block
    /// `max{(1, 2)ᵀu : ‖u‖∞ ≤ 1, u in the cone} = 3` at `(1, 1)`: optimum
    /// `4.5 − (9 − ½)²/18`, at `c = (8.5/9)(1, 1)`. Equal spectral weights `β/h` give the same.
    #[test]
    fn spectral_norm_with_two_taps_is_the_max_norm() {
        let prog = hand_program(&[ALL_ON], 3.0, 0.5);
        let want = one_sample_optimum(3.0, 3.0, 0.5);
        let w = [0.25, 0.25];
        for norm in [BlockNorm::SpectralL1, BlockNorm::WeightedSpectral(&w)] {
            let (sol, info) = solve_ipm_with(&prog, norm, &tight()).unwrap();
            assert!((info.solver_objective - want).abs() < 1e-7, "{norm:?}");
            let t = 8.5 / 9.0;
            assert!(sol.var(0).iter().all(|v| (v - t).abs() < 1e-6), "{sol:?}");
        }
        assert!(solve_ipm_with(&prog, BlockNorm::WeightedSpectral(&[1.0]), &tight()).is_err());
        assert!(
            solve_ipm_with(&prog, BlockNorm::WeightedSpectral(&[1.0, -1.0]), &tight()).is_err()
        );
    }
}
