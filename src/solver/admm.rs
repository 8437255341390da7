//! ADMM for the exact multi-output program with the squared loss (SCALE.md section 2): the
//! loss is handled by one factored linear system, the penalty and the cone constraints by their
//! exact proximal map.
//!
//! Splitting `min F(u) + g(w)` s.t. `u = w`, with `F(u) = ½‖A(u⁺ − u⁻) − Y‖²` and
//! `g = β Σ_b ‖w_b‖ + ι_{K_b}(w_b)`, the iteration (scaled form, penalty `ρ`) is
//!
//! ```text
//! u ← argmin F(u) + (ρ/2)‖u − (w − λ)‖²     (one linear solve, below)
//! w ← prox_{g/ρ}(u + λ)                      (cone projection, then block shrinkage)
//! λ ← λ + u − w
//! ```
//!
//! **The linear solve.** With `t = u⁺ − u⁻` and `s = u⁺ + u⁻` the quadratic separates:
//! `s = s_w` and `(AᵀA + σI) t = AᵀY + σ a` with `σ = ρ/2`, `a = w⁺ − w⁻` (after subtracting `λ`).
//! The factor is shared by every output (`C` right-hand sides) and taken on the smaller side:
//! for `n ≤ Ph` by Woodbury, `t = a + σ⁻¹ Aᵀ(Y − q)`, `q = (AAᵀ + σI)⁻¹(AAᵀY + σ A a)`, an
//! `n × n` Cholesky factor; otherwise the `Ph × Ph` factor of `AᵀA + σI`. Either way one
//! iteration costs one product with `A`, one with `Aᵀ` and two triangular solves, and the
//! conditioning of `A` (raw pixels, sum pooling) no longer sets the step as it does for FISTA.
//!
//! **The prox** is that of projected FISTA ([`super::working_set`]): each block is projected
//! onto the cone of its working set of rows (outer approximation), full scans bring in the rows
//! that the iterate violates or nearly reaches, and the projection multipliers, scaled by `ρ`,
//! are KKT multipliers of the full program at a fixed point, which give a dual bound
//! (`γ_b ≤ ‖a_b − G_bᵀμ_b‖`, MATH.md 3.2). The solver stops when that certified gap and the
//! violation over all rows are below their targets, or on its iteration and time limits.
//! `ρ` is balanced between the primal and dual residuals at each check (refactoring).

use super::auglag::AlSolution;
use super::checkpoint::{AdmmState, CheckpointSink};
use super::driver::{Driver, IterLimits, IterObserver, IterRecord};
use super::working_set::WorkingSets;
use super::SolveStatus;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::program::multi::MultiProgram;
use faer::linalg::matmul::matmul;
use faer::linalg::solvers::{Llt, Solve};
use faer::{Accum, Mat, MatMut, MatRef, Side};
use rayon::prelude::*;

/// Most cutting-plane rounds of the final projection.
const POLISH_ROUNDS: usize = 30;

/// Settings of the ADMM solve.
#[derive(Debug, Clone, Copy)]
pub struct AdmmSettings {
    /// Checks (outer iterations: a full scan, the certified gap, a `ρ` update), time limit and
    /// the target relative gap.
    pub limits: IterLimits,
    /// Target relative cone violation over all rows.
    pub violation_tol: f64,
    /// ADMM iterations between checks.
    pub steps_per_check: usize,
    /// Initial penalty `ρ` (`None`: from the data, `ρ = tr(AᵀA)/(Ph)`).
    pub rho: Option<f64>,
    /// Angular margin for rows joining a working set.
    pub margin: f64,
    /// Most working rows per block.
    pub rows_per_block: usize,
    /// Most active-set changes per projection.
    pub sweeps: usize,
}

impl Default for AdmmSettings {
    fn default() -> Self {
        AdmmSettings {
            limits: IterLimits {
                max_iter: 200,
                time_limit: None,
                tol: 1e-3,
            },
            violation_tol: 1e-6,
            steps_per_check: 10,
            rho: None,
            margin: 0.02,
            rows_per_block: 256,
            sweeps: 100,
        }
    }
}

/// The factored loss system `(AᵀA + σI) t = AᵀY + σ a`.
struct LossSystem<'a> {
    a: MatRef<'a, f64>,
    n: usize,
    m: usize,
    c: usize,
    /// `AAᵀ` (`n ≤ Ph`) or `AᵀA`, without the shift.
    gram: Mat<f64>,
    /// `AAᵀY` (`n ≤ Ph`) or `AᵀY`.
    rhs0: Mat<f64>,
    /// Targets `Y`, `n × C`.
    y: MatRef<'a, f64>,
    sigma: f64,
    llt: Llt<f64>,
    /// Work: `n × C`.
    q: Mat<f64>,
}

impl<'a> LossSystem<'a> {
    fn new(prog: &'a MultiProgram, sigma: f64) -> Result<Self> {
        let a = prog.op.a();
        let (n, m, c) = (prog.n(), a.ncols(), prog.outputs);
        let y = MatRef::from_column_major_slice(&prog.y, n, c);
        let par = prog.op.par;
        let (gram, rhs0) = if n <= m {
            let mut k = Mat::<f64>::zeros(n, n);
            matmul(k.as_mut(), Accum::Replace, a, a.transpose(), 1.0, par);
            let mut ky = Mat::<f64>::zeros(n, c);
            matmul(ky.as_mut(), Accum::Replace, k.as_ref(), y, 1.0, par);
            (k, ky)
        } else {
            let mut g = Mat::<f64>::zeros(m, m);
            matmul(g.as_mut(), Accum::Replace, a.transpose(), a, 1.0, par);
            let mut aty = Mat::<f64>::zeros(m, c);
            matmul(aty.as_mut(), Accum::Replace, a.transpose(), y, 1.0, par);
            (g, aty)
        };
        let llt = factor(&gram, sigma)?;
        Ok(LossSystem {
            a,
            n,
            m,
            c,
            gram,
            rhs0,
            y,
            sigma,
            llt,
            q: Mat::zeros(n, c),
        })
    }

    /// Mean eigenvalue of `AᵀA`, `tr(AᵀA)/(Ph)`: the default `ρ`.
    fn mean_eigenvalue(&self) -> f64 {
        let tr: f64 = (0..self.gram.nrows()).map(|i| self.gram[(i, i)]).sum();
        tr / self.m.max(1) as f64
    }

    fn refactor(&mut self, sigma: f64) -> Result<()> {
        self.llt = factor(&self.gram, sigma)?;
        self.sigma = sigma;
        Ok(())
    }

    /// `t = (AᵀA + σI)⁻¹(AᵀY + σ a)` for `a` (`Ph × C`, column-major), written over `a`.
    fn solve(&mut self, a_t: &mut [f64], par: faer::Par) {
        let sigma = self.sigma;
        let mut at = MatMut::from_column_major_slice_mut(a_t, self.m, self.c);
        if self.n <= self.m {
            // q = (AAᵀ + σI)⁻¹ (AAᵀY + σ A a);  t = a + σ⁻¹ Aᵀ(Y − q).
            self.q.copy_from(&self.rhs0);
            matmul(self.q.as_mut(), Accum::Add, self.a, at.as_ref(), sigma, par);
            self.llt.solve_in_place(self.q.as_mut());
            let (q, y) = (&mut self.q, self.y);
            for j in 0..self.c {
                for i in 0..self.n {
                    q[(i, j)] = y[(i, j)] - q[(i, j)];
                }
            }
            matmul(
                at.as_mut(),
                Accum::Add,
                self.a.transpose(),
                self.q.as_ref(),
                1.0 / sigma,
                par,
            );
        } else {
            // t = (AᵀA + σI)⁻¹ (AᵀY + σ a).
            for j in 0..self.c {
                for i in 0..self.m {
                    at[(i, j)] = self.rhs0[(i, j)] + sigma * at[(i, j)];
                }
            }
            self.llt.solve_in_place(at.as_mut());
        }
    }
}

/// Cholesky factor of `gram + σI`.
fn factor(gram: &Mat<f64>, sigma: f64) -> Result<Llt<f64>> {
    let k = gram.nrows();
    let shifted = Mat::<f64>::from_fn(k, k, |i, j| gram[(i, j)] + if i == j { sigma } else { 0.0 });
    shifted.llt(Side::Lower).map_err(|_| {
        Error::Solver(format!(
            "ADMM: the loss system with σ = {sigma:e} is not positive definite"
        ))
    })
}

/// Solves the exact program (squared loss) by ADMM from `warm` (or zero). The returned point is
/// the last `w` iterate projected onto the full cones by cutting planes over the working sets;
/// `objective` is at that point, `gap` the last certified estimate, `delta` the final `ρ` and
/// `multiplier_term` holds `G_bᵀμ_b` with `μ = ρλ` of the last projection.
pub fn solve_admm(
    prog: &MultiProgram,
    settings: &AdmmSettings,
    warm: Option<&[f64]>,
    obs: &mut dyn IterObserver,
) -> Result<AlSolution> {
    solve_admm_resumable(prog, settings, warm, None, obs, None)
}

/// [`solve_admm`] that can continue from a checkpoint and write checkpoints.
///
/// * `resume`: the state saved by an earlier solve of the same program with the same settings
///   (`warm` is then ignored). Its records are replayed to `obs`, and the solve goes on with the
///   next check: it takes the same steps, bit for bit, as a solve that never stopped, and ends
///   on the same iteration count (`settings.limits.max_iter` counts the checks of both parts).
/// * `sink`: receives the state after a check whenever [`CheckpointSink::due`] says so, and
///   after the check at which an interrupt stopped the solve.
///
/// To make the state small and exact, every block's cached factor of its projection is
/// dropped at each check (whether or not a checkpoint is written), so the next projections
/// start from the multipliers alone.
pub fn solve_admm_resumable(
    prog: &MultiProgram,
    settings: &AdmmSettings,
    warm: Option<&[f64]>,
    resume: Option<&AdmmState>,
    obs: &mut dyn IterObserver,
    mut sink: Option<&mut dyn CheckpointSink>,
) -> Result<AlSolution> {
    if prog.loss != Loss::Squared {
        return Err(Error::param(
            "solver",
            "ADMM solves the squared loss; use the projected or augmented-Lagrangian solver for cross-entropy",
        ));
    }
    let len = prog.exact_len();
    let h = prog.h();
    let half_len = len / 2;
    let par = prog.op.par;
    let driver = Driver::new(settings.limits);
    let mut sys = LossSystem::new(prog, 1.0)?;
    let mut rho = settings
        .rho
        .unwrap_or_else(|| sys.mean_eigenvalue())
        .max(1e-12);
    let mut ws = WorkingSets::new(prog, settings.margin, settings.rows_per_block);
    let (mut w, mut lam, first, mut total, mut last_gap, before) = match resume {
        Some(st) => {
            if st.w.len() != len || st.lam.len() != len || !ws.import(prog, st) {
                return Err(Error::param(
                    "resume",
                    format!(
                        "the checkpoint holds {} values and {} blocks; this program has {len} and {}",
                        st.w.len(),
                        st.rows.len(),
                        2 * prog.half()
                    ),
                ));
            }
            rho = st.rho;
            for rec in &st.history {
                obs.record(rec);
            }
            (
                st.w.clone(),
                st.lam.clone(),
                st.checks,
                st.steps,
                st.last_gap,
                st.elapsed,
            )
        }
        None => {
            let w = match warm {
                Some(x) if x.len() == len => x.to_vec(),
                _ => vec![0.0; len],
            };
            if w.iter().any(|v| *v != 0.0) {
                ws.scan(prog, &w);
                ws.reset_factors();
            }
            (w, vec![0.0; len], 0, 0, f64::INFINITY, 0.0)
        }
    };
    sys.refactor(rho / 2.0)?;
    let mut history = resume.map(|st| st.history.clone()).unwrap_or_default();
    let mut u = w.clone();
    let mut t = vec![0.0; half_len];
    let mut w_old = w.clone();
    let mut status = SolveStatus::MaxIterations;
    let mut outer = first;
    let mut mult = vec![0.0; len];
    for it in first..settings.limits.max_iter {
        outer = it + 1;
        let round_start = driver.elapsed();
        let (mut r_prim, mut r_dual) = (0.0, 0.0);
        for _ in 0..settings.steps_per_check.max(1) {
            // u-update: a = (w − λ)⁺ − (w − λ)⁻, s = (w − λ)⁺ + (w − λ)⁻.
            let (wp, wm) = w.split_at(half_len);
            let (lp, lm) = lam.split_at(half_len);
            t.par_iter_mut()
                .zip(wp.par_iter().zip(wm))
                .zip(lp.par_iter().zip(lm))
                .for_each(|((ti, (a, b)), (la, lb))| *ti = (a - la) - (b - lb));
            sys.solve(&mut t, par);
            {
                let (up, um) = u.split_at_mut(half_len);
                up.par_iter_mut()
                    .zip(um.par_iter_mut())
                    .zip(t.par_iter())
                    .zip(wp.par_iter().zip(wm).zip(lp.par_iter().zip(lm)))
                    .for_each(|(((x, y), ti), ((a, b), (la, lb)))| {
                        let s = (a - la) + (b - lb);
                        *x = 0.5 * (s + ti);
                        *y = 0.5 * (s - ti);
                    });
            }
            // w-update: prox of g/ρ at u + λ.
            w_old.copy_from_slice(&w);
            w.par_iter_mut()
                .zip(u.par_iter().zip(lam.par_iter()))
                .for_each(|(wi, (ui, li))| *wi = ui + li);
            ws.prox(h, &mut w, prog.beta / rho, settings.sweeps);
            // λ-update and residuals.
            let (p2, d2) = lam
                .par_iter_mut()
                .zip(u.par_iter())
                .zip(w.par_iter().zip(w_old.par_iter()))
                .map(|((l, ui), (wi, wo))| {
                    let r = ui - wi;
                    *l += r;
                    (r * r, (wi - wo) * (wi - wo))
                })
                .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
            r_prim = p2.sqrt();
            r_dual = rho * d2.sqrt();
            total += 1;
            if driver.out_of_time() {
                break;
            }
        }
        // Check: full scan, certified gap at w (feasible for the working-set cones).
        let (viol, m, primal, gap) = ws.check(prog, &w, rho);
        ws.reset_factors();
        mult = m;
        last_gap = gap;
        let rec = IterRecord {
            iter: it,
            inner: total,
            objective: primal,
            violation: viol,
            gap: Some(gap),
            elapsed: before + driver.elapsed(),
            penalty: rho,
        };
        history.push(rec);
        let converged = viol <= settings.violation_tol && gap <= settings.limits.tol;
        let stop = driver.step(&rec, converged, obs);
        // A round (steps and check) that would end past the time limit is not started: on
        // large cones one check takes seconds, and the limit bounds the whole run.
        let stop = stop.or_else(|| {
            let round = driver.elapsed() - round_start;
            (it + 1 < settings.limits.max_iter
                && settings
                    .limits
                    .time_limit
                    .is_some_and(|t| driver.elapsed() + round > t))
            .then_some(SolveStatus::MaxTime)
        });
        // Residual balancing (relative to the sizes of the iterates).
        let scale_p = norm(&w).max(norm(&u)).max(1e-300);
        let scale_d = (rho * norm(&lam)).max(1e-300);
        let (rp, rd) = (r_prim / scale_p, r_dual / scale_d);
        let factor = if rp > 10.0 * rd {
            2.0
        } else if rd > 10.0 * rp {
            0.5
        } else {
            1.0
        };
        if let Some(s) = stop {
            status = s;
            if s != SolveStatus::Interrupted {
                break;
            }
        }
        if factor != 1.0 {
            rho *= factor;
            lam.par_iter_mut().for_each(|l| *l /= factor);
            if stop.is_none() {
                sys.refactor(rho / 2.0)?;
            }
        }
        // The state for the next check: saved when due, and when an interrupt stops the solve
        // (a continued solve then takes the step this one would have taken).
        if let Some(sk) = sink.as_deref_mut() {
            if stop == Some(SolveStatus::Interrupted) || (stop.is_none() && sk.due()) {
                sk.save(&AdmmState {
                    w: w.clone(),
                    lam: lam.clone(),
                    rho,
                    checks: it + 1,
                    steps: total,
                    elapsed: before + driver.elapsed(),
                    last_gap,
                    rows: ws.rows(),
                    row_multipliers: ws.multipliers(),
                    history: history.clone(),
                })?;
            }
        }
        if stop.is_some() {
            break;
        }
    }
    // Polish: the exact projection of the last w onto the full cones (cutting planes over the
    // working sets).
    let mut x = w;
    let last_viol = ws.polish(prog, &mut x, settings.sweeps, POLISH_ROUNDS, &|| {
        driver.out_of_time()
    });
    let objective = prog.objective(&x, true);
    Ok(AlSolution {
        x,
        objective,
        violation: last_viol,
        gap: last_gap,
        status,
        outer,
        inner: total,
        delta: rho,
        multiplier_term: mult,
    })
}

fn norm(x: &[f64]) -> f64 {
    x.par_iter().map(|v| v * v).sum::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::multi::tests::hand_multi;
    use crate::program::tests::ON_OFF;
    use crate::solver::NoObserver;

    /// The exact optimum of the hand example (see the projected-FISTA test): 2.75 at
    /// `c_{0,0} = c'_{0,1} = (2.5, 0)`, feasible after the final projection.
    #[test]
    fn exact_optimum_by_hand() {
        let prog = hand_multi(&[ON_OFF], &[3.0, -3.0], 0.5);
        let mut s = AdmmSettings::default();
        s.limits.tol = 1e-10;
        s.limits.max_iter = 2000;
        s.violation_tol = 1e-12;
        let sol = solve_admm(&prog, &s, None, &mut NoObserver).unwrap();
        assert!(sol.status.converged(), "{sol:?}");
        assert!((sol.objective - 2.75).abs() < 1e-8, "{sol:?}");
        assert!(prog.max_violation(&sol.x) <= 1e-12);
        let want = [2.5, 0.0, 0.0, 0.0, 0.0, 0.0, 2.5, 0.0];
        for (a, b) in sol.x.iter().zip(want) {
            assert!((a - b).abs() < 2.5e-5, "{:?}", sol.x);
        }
    }
}
