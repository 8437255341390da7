//! Training a multi-output two-layer CNN classifier (MATH.md section 4) at scale: sampled
//! patterns, a first-order solver, projection onto the pattern cones, recovery of a standard
//! CNN, and the restricted certificate with a fresh-batch estimate.

pub use crate::certify::scale::beta_max;
use crate::certify::scale::{
    certify_restricted, fresh_estimate, FreshEstimate, RestrictedCertificate,
};
use crate::cones::project;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::loss::{accuracy, one_hot, Loss};
use crate::network::TwoLayerCnn;
use crate::patches::{PatchSpec, Patches};
use crate::patterns::{
    ascend, patterns_of_filters, sample_from_patches, sample_gaussian, AscentSettings, Hyperplanes,
    PatternSet,
};
use crate::program::multi::MultiProgram;
use crate::program::operator::PatternOperator;
use crate::program::Pooling;
use crate::solver::checkpoint::{Checkpoint, FileCheckpoint};
use crate::solver::{
    polish, polish_from, solve_admm, solve_admm_resumable, solve_auglag, solve_gated,
    solve_projected, AdmmSettings, AlSettings, IterLimits, IterObserver, PolishInfo,
    PolishSettings, ProjectedSettings, SolveStatus,
};
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// Which first-order program is solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirstOrder {
    /// The exact cone-constrained program by ADMM (squared loss): one factored linear system
    /// for the loss, cone projections in the prox. A ReLU CNN.
    Admm,
    /// The exact cone-constrained program by the augmented Lagrangian: a ReLU CNN.
    AugmentedLagrangian,
    /// The gated relaxation by FISTA: a lower bound, not a ReLU network.
    Gated,
    /// The exact cone-constrained program by projected FISTA (cone projections in the
    /// proximal map): a ReLU CNN.
    Projected,
}

/// Settings of a classifier run.
#[derive(Debug, Clone, Copy)]
pub struct ClassifierConfig {
    /// First-layer geometry.
    pub spec: PatchSpec,
    /// Pooling.
    pub pool: Pooling,
    /// Loss.
    pub loss: Loss,
    /// Weight decay.
    pub beta: f64,
    /// Pattern draws.
    pub draws: usize,
    /// Draw filters from data patches ([`sample_from_patches`]) instead of `N(0, I)`.
    pub from_data: bool,
    /// Seed of the pattern sampler.
    pub seed: u64,
    /// Solver.
    pub solver: FirstOrder,
    /// Augmented-Lagrangian settings (its `limits` also serve the gated solver).
    pub al: AlSettings,
    /// Fresh patterns drawn for the estimate (0 for none).
    pub fresh_draws: usize,
    /// Seconds allowed for exact `γ`s in each certificate.
    pub certificate_budget: f64,
    /// Most rounds of the column-generation polish after a first-order solve
    /// ([`crate::solver::polish`]; squared loss, 0: none).
    pub polish_rounds: usize,
    /// Most rounds of pattern pricing after the polish: new patterns found by ascent on the
    /// dual constraint ([`crate::patterns::ascend`]) join the program, which is polished again
    /// (0: none; needs the polish).
    pub pattern_rounds: usize,
    /// When the whole run must end (set by [`super::Classifier`] from the time limit): the
    /// certificates then take at most part of the time left after the solve each (their
    /// bounds stay valid, only looser, when the time runs out).
    pub deadline: Option<Instant>,
}

impl ClassifierConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if !(self.beta > 0.0 && self.beta.is_finite()) {
            return Err(Error::param(
                "beta",
                format!("β must be positive and finite, got {}", self.beta),
            ));
        }
        if self.draws == 0 {
            return Err(Error::param("patterns", "sample:N needs N ≥ 1"));
        }
        if self.al.limits.tol.is_nan()
            || self.al.limits.tol <= 0.0
            || self.al.violation_tol.is_nan()
            || self.al.violation_tol <= 0.0
        {
            return Err(Error::param("tol", "tolerances must be positive"));
        }
        Ok(())
    }
}

/// Projected-FISTA settings from the shared settings: the same limits, violation target and
/// working sets, with `inner_iter` steps between scans.
pub fn projected_settings(al: &AlSettings) -> ProjectedSettings {
    ProjectedSettings {
        limits: al.limits,
        violation_tol: al.violation_tol,
        steps_per_scan: al.inner_iter.max(1),
        ..ProjectedSettings::default()
    }
}

/// ADMM settings from the shared settings: the same limits and violation target, with
/// `inner_iter` ADMM iterations between checks.
pub fn admm_settings(al: &AlSettings) -> AdmmSettings {
    AdmmSettings {
        limits: al.limits,
        violation_tol: al.violation_tol,
        steps_per_check: al.inner_iter.max(1),
        ..AdmmSettings::default()
    }
}

/// Stage times in seconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ClassifierTimings {
    /// Patches, hyperplanes and pattern sampling.
    pub patterns: f64,
    /// Building `A` and the constraint data.
    pub operator: f64,
    /// The first-order solve.
    pub solve: f64,
    /// Column-generation polish with its certificate ([`crate::solver::polish`]).
    pub polish: f64,
    /// Projection onto the cones and recovery.
    pub recovery: f64,
    /// Certificates.
    pub certificate: f64,
}

/// What a classifier run produces.
#[derive(Debug, Clone, Serialize)]
pub struct ClassifierOutcome {
    /// The recovered network (`None` for the gated relaxation, which is not a ReLU network).
    #[serde(skip)]
    pub network: Option<TwoLayerCnn>,
    /// Convex objective of the solver's point (infeasible by `violation` for the AL).
    pub solver_objective: f64,
    /// Relative cone violation of the solver's point.
    pub violation: f64,
    /// Convex objective after projection onto the cones (a feasible point).
    pub objective: f64,
    /// Objective of the recovered network from its own forward pass.
    pub network_objective: Option<f64>,
    /// Restricted certificate (or the gated relaxation's own gap).
    pub certificate: RestrictedCertificate,
    /// Fresh-batch estimate.
    pub fresh: Option<FreshEstimate>,
    /// Blocks set to zero because their projection onto the cone failed numerically.
    pub dropped_blocks: usize,
    /// Training accuracy of the recovered network (or the gated model).
    pub train_accuracy: f64,
    /// Solver status.
    pub status: SolveStatus,
    /// Outer iterations.
    pub iterations: usize,
    /// Inner (proximal-gradient) iterations.
    pub inner_iterations: usize,
    /// Distinct patterns in the program.
    pub patterns: usize,
    /// Distinct hyperplanes.
    pub hyperplanes: usize,
    /// Filters of the recovered network.
    pub filters: usize,
    /// Samples, positions, filter size, outputs.
    pub n: usize,
    /// Positions.
    pub k: usize,
    /// Filter size.
    pub h: usize,
    /// Outputs (classes).
    pub outputs: usize,
    /// Which solver.
    pub solver: FirstOrder,
    /// Stage times.
    pub timings: ClassifierTimings,
    /// Seconds of this solve plus the preparation (which a β path shares).
    pub seconds: f64,
    /// The solver's final point (exact layout, or gated `Z`), for warm starts.
    #[serde(skip)]
    pub point: Vec<f64>,
    /// Patterns priced in after the polish (none when no round added any).
    pub added_patterns: usize,
    /// The program grown by pattern pricing, with its pattern set (`point` is in its layout):
    /// later solves of a path continue from it.
    #[serde(skip)]
    pub grown: Option<Box<(PatternSet, MultiProgram)>>,
}

/// Targets `n × C` for the loss, from class indices.
pub fn targets(labels: &[usize], classes: usize) -> Vec<f64> {
    one_hot(labels, classes)
}

/// The prepared program of a data set (reused along a regularization path).
pub struct Prepared {
    /// The program (its `β` is changed along a path).
    pub prog: MultiProgram,
    /// Patches of the training data.
    pub patches: Patches,
    /// Hyperplanes.
    pub hyperplanes: Hyperplanes,
    /// The sampled patterns.
    pub set: PatternSet,
    /// Seconds for patterns and operator.
    pub timings: ClassifierTimings,
    /// Gaussian patterns added because the gates collapsed (see [`prepare_with`]).
    pub filled: usize,
}

/// Builds the program: patches, hyperplanes, sampled patterns, operator.
pub fn prepare(
    ds: &Dataset,
    labels: &[usize],
    classes: usize,
    cfg: &ClassifierConfig,
) -> Result<Prepared> {
    prepare_with(ds, labels, classes, cfg, None, 0)
}

/// [`prepare`], with the patterns of given filters (`gates`, rows of `h` values: the gate
/// vectors of another tool, say) instead of sampled ones when `gates` is given.
///
/// `fill` guards against collapsed gates: when they give fewer than `fill / 2` distinct patterns
/// with `A_i ≠ 0` (a short Adam run on dense, positive inputs can switch every unit fully on
/// or off in its first steps), Gaussian draws seeded by `cfg.seed` join them up to `fill`
/// patterns in all ([`Prepared::filled`] counts them). `0`: no guard.
pub fn prepare_with(
    ds: &Dataset,
    labels: &[usize],
    classes: usize,
    cfg: &ClassifierConfig,
    gates: Option<&[f64]>,
    fill: usize,
) -> Result<Prepared> {
    cfg.validate()?;
    let mut tm = ClassifierTimings::default();
    let t = Instant::now();
    let patches = Patches::extract(&ds.x, ds.n(), &ds.shape, &cfg.spec)?;
    let hyperplanes = Hyperplanes::from_patches(&patches);
    let set = if let Some(g) = gates {
        if g.is_empty() || g.len() % patches.h != 0 {
            return Err(Error::param(
                "patterns",
                format!(
                    "gates: {} values are not rows of the filter size h = {}",
                    g.len(),
                    patches.h
                ),
            ));
        }
        patterns_of_filters(&hyperplanes, g).0
    } else if cfg.from_data {
        sample_from_patches(&patches, &hyperplanes, cfg.spec.bias, cfg.draws, cfg.seed)
    } else {
        sample_gaussian(&hyperplanes, cfg.draws, cfg.seed)
    };
    let mut set = set;
    let mut filled = 0;
    let usable = match gates {
        Some(_) if fill > 0 => (0..set.len())
            .filter(|&i| set.pattern(i).iter().any(|w| *w != 0))
            .count(),
        _ => fill,
    };
    if 2 * usable < fill {
        let extra = sample_gaussian(&hyperplanes, fill - usable, cfg.seed ^ FILL_SEED);
        for i in 0..extra.len() {
            if usable + filled >= fill {
                break;
            }
            let bits = extra.pattern(i);
            if bits.iter().any(|w| *w != 0) && set.insert(bits) {
                filled += 1;
            }
        }
    }
    tm.patterns = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let op = PatternOperator::new(&patches, &hyperplanes, &set, cfg.pool.scale(patches.k))?;
    if op.patterns() == 0 {
        return Err(Error::Data(
            "every sampled pattern has A_i = 0 (all patches zero?)".into(),
        ));
    }
    let prog = MultiProgram::new(op, cfg.loss, targets(labels, classes), classes, cfg.beta)?;
    tm.operator = t.elapsed().as_secs_f64();
    Ok(Prepared {
        prog,
        patches,
        hyperplanes,
        set,
        timings: tm,
        filled,
    })
}

/// Polishes between pattern-pricing rounds stop at this multiple of the gap tolerance, or after
/// [`PATTERN_ROUND_POLISH_ROUNDS`] rounds: the next patterns change the program anyway (on the
/// default data, 30 and 15 reached a lower objective at 240 s than 10 and 40, BENCHMARKS.md).
const PATTERN_ROUND_GAP_FACTOR: f64 = 30.0;
/// Share of the polish's time left in which pattern-pricing rounds may start.
const PATTERN_ROUND_TIME_SHARE: f64 = 0.5;
/// Most polish rounds between two pattern-pricing rounds.
const PATTERN_ROUND_POLISH_ROUNDS: usize = 15;

/// Seed offset of the Gaussian patterns that fill in for collapsed gates (see [`prepare_with`]).
const FILL_SEED: u64 = 0xf111_0000;

/// Bytes of `A` per chunk of fresh patterns.
const FRESH_CHUNK_BYTES: usize = 256 << 20;

/// The fresh-batch estimate over `set`, built and checked in chunks of patterns so that the
/// fresh operator's `A` stays within `chunk_bytes`. The estimate of the whole batch takes the
/// largest `γ` per output over the chunks ([`FreshEstimate::merge`]);
/// `None` when no fresh pattern has a non-zero `A_i`.
#[allow(clippy::too_many_arguments)]
fn fresh_in_chunks(
    prep: &Prepared,
    prog: &MultiProgram,
    cfg: &ClassifierConfig,
    set: &PatternSet,
    v: &[f64],
    cert: &RestrictedCertificate,
    budget: f64,
    chunk_bytes: usize,
) -> Result<Option<FreshEstimate>> {
    let per_pattern = (prog.n() * prog.h() * 8).max(1);
    let chunk = (chunk_bytes / per_pattern).max(1);
    let chunks = set.len().div_ceil(chunk).max(1);
    let mut merged: Option<FreshEstimate> = None;
    for c0 in (0..set.len()).step_by(chunk) {
        // Past the deadline, the chunks checked so far are the batch (its count says so).
        if merged.is_some() && cfg.deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let mut part = PatternSet::new(prep.hyperplanes.len());
        for i in c0..(c0 + chunk).min(set.len()) {
            part.insert(set.pattern(i));
        }
        let op = PatternOperator::new(
            &prep.patches,
            &prep.hyperplanes,
            &part,
            cfg.pool.scale(prep.patches.k),
        )?;
        if op.patterns() == 0 {
            continue;
        }
        let est = fresh_estimate(prog, &op, v, cert, budget / chunks as f64)?;
        merged = Some(match merged {
            None => est,
            Some(m) => m.merge(&est, prog, v, cert.primal),
        });
    }
    Ok(merged)
}

/// The exact point of a trained network with per-output filters (`params`: filter `u_j` feeding
/// output `owner(j)` with weight `w_j`), over the patterns of `prog` (built from those filters,
/// e.g. by [`prepare_with`]): filter `j` adds `|w_j| u_j` to block `(i(u_j), owner(j), sign w_j)`,
/// which lies in pattern `i`'s cone by construction. The point predicts what the network predicts,
/// and its penalty `Σ_b ‖c_b‖ ≤ Σ_j |w_j|‖u_j‖ ≤ ½Σ_j (‖u_j‖² + w_j²)`, so its convex objective is
/// at most the network's weight-decay objective. Filters whose pattern is not in `prog` (every
/// patch off: no effect on the predictions) or that lie on a hyperplane are left out; returns the
/// point and the number left out.
pub fn point_of_network(
    prog: &MultiProgram,
    hyperplanes: &Hyperplanes,
    params: &crate::nonconvex::Params,
) -> (Vec<f64>, usize) {
    let h = prog.h();
    let p = prog.patterns();
    let half = prog.half();
    let index: std::collections::HashMap<&[u64], usize> =
        (0..p).map(|i| (prog.op.bits(i), i)).collect();
    let mut x = vec![0.0; prog.exact_len()];
    let mut bits = vec![0u64; prog.op.bits(0).len()];
    let mut skipped = 0;
    for (j, u) in params.u.chunks_exact(h).enumerate() {
        let w = params.w[j];
        let un = u.iter().map(|v| v * v).sum::<f64>().sqrt();
        if w == 0.0 || un == 0.0 {
            continue;
        }
        if hyperplanes.signs_of(u, &mut bits) <= 1e-12 * un {
            skipped += 1;
            continue;
        }
        let Some(&i) = index.get(bits.as_slice()) else {
            skipped += 1;
            continue;
        };
        let c = params.owner(j);
        let b = if w > 0.0 { 0 } else { half } + c * p + i;
        x[b * h..(b + 1) * h]
            .iter_mut()
            .zip(u)
            .for_each(|(xi, ui)| *xi += w.abs() * ui);
    }
    (x, skipped)
}

/// Projects every non-zero block of an exact point onto its pattern cone (in parallel), so that
/// the point is feasible and its recovered filters reproduce their patterns. A block whose
/// projection fails numerically, or stays violated above `1e-9‖c‖`, is set to zero (always
/// feasible); so is one whose projection is violated above `1e-9‖Π(c)‖` (a projection that is
/// zero to rounding, from a block far outside its cone: its direction, which the polish and
/// the recovered filter use, is rounding noise).
///
/// Blocks are taken largest first; once `deadline` has passed, the blocks not yet started are
/// set to zero as well (on wide filters one projection can take a second: the time limit
/// bounds the run, and zero keeps the point feasible). Returns `(dropped, cut)`: the blocks
/// dropped because their projection failed, and those cut by the deadline.
pub fn project_onto_cones(
    prog: &MultiProgram,
    x: &mut [f64],
    deadline: Option<Instant>,
) -> (usize, usize) {
    let h = prog.h();
    let mut blocks: Vec<(usize, f64, &mut [f64])> = x
        .chunks_mut(h)
        .enumerate()
        .filter(|(_, c)| c.iter().any(|v| *v != 0.0))
        .map(|(b, c)| (b, crate::algebra::norm(c), c))
        .collect();
    blocks.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    blocks
        .into_par_iter()
        .with_max_len(1)
        .map(|(b, nc, c)| {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                c.iter_mut().for_each(|v| *v = 0.0);
                return (0, 1);
            }
            let (i, _, _) = prog.block_info(b);
            match project(prog.op.normals(), prog.op.signs(i), c, 1e-12) {
                Ok(p) if p.violation <= 1e-9 * crate::algebra::norm(&p.point) => {
                    c.copy_from_slice(&p.point);
                    (0, 0)
                }
                Ok(p) if p.violation <= 1e-9 * nc => {
                    c.iter_mut().for_each(|v| *v = 0.0);
                    (0, 0)
                }
                _ => {
                    c.iter_mut().for_each(|v| *v = 0.0);
                    (1, 0)
                }
            }
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// The network of an exact point: one filter per non-zero block `c_{ic}` (weight `+√‖c‖` to
/// output `c`) or `c'_{ic}` (weight `−√‖c'‖`), MATH.md 3.1.
pub fn recover_network(
    prog: &MultiProgram,
    x: &[f64],
    ds: &Dataset,
    spec: PatchSpec,
    pool: Pooling,
) -> TwoLayerCnn {
    let h = prog.h();
    let mut filters = Vec::new();
    let mut owners = Vec::new();
    for (b, c) in x.chunks(h).enumerate() {
        let nc = c.iter().map(|v| v * v).sum::<f64>().sqrt();
        if nc == 0.0 {
            continue;
        }
        let root = nc.sqrt();
        let (_, out, s) = prog.block_info(b);
        filters.extend(c.iter().map(|v| v / root));
        owners.push((out, s * root));
    }
    let m = owners.len();
    let mut weights = vec![0.0; prog.outputs * m];
    for (j, (out, w)) in owners.into_iter().enumerate() {
        weights[out * m + j] = w;
    }
    TwoLayerCnn {
        shape: ds.shape,
        spec,
        pool,
        filters,
        outputs: prog.outputs,
        weights,
    }
}

/// Checkpoints of a classifier's ADMM solve (the default solver): where they go, how often,
/// and whether the solve continues from the one already there.
#[derive(Debug, Clone)]
pub struct CheckpointPlan {
    /// The checkpoint file.
    pub path: std::path::PathBuf,
    /// Least time between two checkpoints (zero: at every check).
    pub every: std::time::Duration,
    /// Stored in the checkpoint as is (the command line of the run, say).
    pub context: String,
    /// Continue from the checkpoint at `path` instead of starting afresh.
    pub resume: bool,
}

/// The fingerprint of an ADMM solve of `prog` from `warm` with `settings`: what its steps
/// depend on (data, patterns, targets, β, start, step settings, thread count), not the
/// iteration and time limits, which a continued run may change.
pub fn admm_fingerprint(
    prog: &MultiProgram,
    settings: &AdmmSettings,
    warm: Option<&[f64]>,
) -> String {
    let mut f = crate::solver::checkpoint::Fingerprint::default();
    let a = prog.op.a();
    f.count(a.nrows()).count(a.ncols());
    for j in 0..a.ncols() {
        f.floats(
            a.col(j)
                .try_as_col_major()
                .map_or(&[][..], |c| c.as_slice()),
        );
    }
    f.count(prog.op.hyperplanes()).count(prog.patterns());
    for i in 0..prog.patterns() {
        f.count(prog.op.bits(i).len());
        for &b in prog.op.bits(i) {
            f.count(b as usize);
        }
    }
    let nm = prog.op.normals();
    for j in 0..nm.ncols() {
        for i in 0..nm.nrows() {
            f.floats(&[nm[(i, j)]]);
        }
    }
    f.floats(&prog.y)
        .floats(&[
            prog.beta,
            settings.violation_tol,
            settings.limits.tol,
            settings.margin,
        ])
        .floats(&[settings.rho.unwrap_or(-1.0)])
        .count(settings.steps_per_check)
        .count(settings.rows_per_block)
        .count(settings.sweeps)
        .count(rayon::current_num_threads())
        .text(&format!("{:?}", prog.loss))
        .floats(warm.unwrap_or(&[]));
    f.finish()
}

/// Solves a prepared program (warm-started from `warm`), recovers and certifies.
pub fn solve_prepared(
    prep: &Prepared,
    ds: &Dataset,
    labels: &[usize],
    cfg: &ClassifierConfig,
    warm: Option<&[f64]>,
    obs: &mut dyn IterObserver,
) -> Result<ClassifierOutcome> {
    solve_prepared_with(prep, ds, labels, cfg, warm, None, obs)
}

/// [`solve_prepared`] with checkpoints of the ADMM solve (other solvers refuse a plan). An
/// interrupt ([`crate::observe::request_interrupt`]) then saves the solve's state and returns
/// [`Error::Interrupted`]; a plan with `resume` continues from the saved state, which must
/// belong to the same program, start and settings (checked by fingerprint).
pub fn solve_prepared_with(
    prep: &Prepared,
    ds: &Dataset,
    labels: &[usize],
    cfg: &ClassifierConfig,
    warm: Option<&[f64]>,
    plan: Option<&CheckpointPlan>,
    obs: &mut dyn IterObserver,
) -> Result<ClassifierOutcome> {
    if plan.is_some() && cfg.solver != FirstOrder::Admm {
        return Err(Error::param(
            "resume",
            format!(
                "checkpoints are written by the ADMM solver only, not by {:?}",
                cfg.solver
            ),
        ));
    }
    let t0 = Instant::now();
    let prog = &prep.prog;
    let mut tm = prep.timings;
    let t = Instant::now();
    let fresh_set = |seed_shift: u64, known: &PatternSet| -> Option<PatternSet> {
        if cfg.fresh_draws == 0 {
            return None;
        }
        let seed = cfg.seed ^ (0x5eed_0000 + seed_shift);
        // Drawing stops at the deadline: a batch cut short is smaller, and says so in its count.
        let cand = if cfg.from_data {
            crate::patterns::sample_from_patches_until(
                &prep.patches,
                &prep.hyperplanes,
                cfg.spec.bias,
                cfg.fresh_draws,
                seed,
                cfg.deadline,
            )
        } else {
            crate::patterns::sample_gaussian_until(
                &prep.hyperplanes,
                cfg.fresh_draws,
                seed,
                cfg.deadline,
            )
        };
        let mut fresh = PatternSet::new(prep.hyperplanes.len());
        for i in 0..cand.len() {
            if !known.contains(cand.pattern(i)) {
                fresh.insert(cand.pattern(i));
            }
        }
        (!fresh.is_empty()).then_some(fresh)
    };
    // Exact γs get the configured budget, or what the deadline leaves after the solve (the
    // restricted certificate and the fresh batch take at most half each).
    let budget_left = || match cfg.deadline {
        Some(d) => cfg
            .certificate_budget
            .min(0.5 * d.saturating_duration_since(Instant::now()).as_secs_f64()),
        None => cfg.certificate_budget,
    };
    // Fields shared by both solvers; the arms fill in the rest.
    let base = ClassifierOutcome {
        network: None,
        solver_objective: f64::NAN,
        violation: 0.0,
        objective: f64::NAN,
        network_objective: None,
        certificate: RestrictedCertificate {
            primal: f64::NAN,
            dual: f64::NAN,
            relative_gap: f64::NAN,
            gamma_over_beta: f64::NAN,
            exact_blocks: 0,
            complete: false,
            output_gammas: Vec::new(),
        },
        fresh: None,
        train_accuracy: f64::NAN,
        dropped_blocks: 0,
        status: SolveStatus::MaxIterations,
        iterations: 0,
        inner_iterations: 0,
        patterns: prog.patterns(),
        hyperplanes: prog.op.hyperplanes(),
        filters: 0,
        n: prog.n(),
        k: prep.patches.k,
        h: prog.h(),
        outputs: prog.outputs,
        solver: cfg.solver,
        timings: tm,
        seconds: 0.0,
        point: Vec::new(),
        added_patterns: 0,
        grown: None,
    };
    let mut out = match cfg.solver {
        FirstOrder::AugmentedLagrangian | FirstOrder::Projected | FirstOrder::Admm => {
            let sol = match cfg.solver {
                FirstOrder::Projected => {
                    solve_projected(prog, &projected_settings(&cfg.al), warm, obs)
                }
                FirstOrder::Admm => {
                    let settings = admm_settings(&cfg.al);
                    match plan {
                        None => solve_admm(prog, &settings, warm, obs)?,
                        Some(plan) => {
                            let fp = admm_fingerprint(prog, &settings, warm);
                            let resume = if plan.resume {
                                let ck = Checkpoint::read(&plan.path)?;
                                ck.check_fingerprint(&fp, &plan.path)?;
                                Some(ck.state)
                            } else {
                                None
                            };
                            let mut sink = FileCheckpoint::new(
                                plan.path.clone(),
                                fp,
                                plan.context.clone(),
                                plan.every,
                            );
                            let sol = solve_admm_resumable(
                                prog,
                                &settings,
                                warm,
                                resume.as_ref(),
                                obs,
                                Some(&mut sink),
                            )?;
                            if sol.status == SolveStatus::Interrupted {
                                // The state is saved: a continued run picks it up.
                                return Err(Error::Interrupted);
                            }
                            sol
                        }
                    }
                }
                _ => solve_auglag(prog, &cfg.al, warm, obs),
            };
            tm.solve = t.elapsed().as_secs_f64();
            let solve_started = t;
            let t = Instant::now();
            let mut x = sol.x.clone();
            // Past the fit's deadline, blocks not yet projected are set to zero (feasible).
            let (mut dropped, cut) = project_onto_cones(prog, &mut x, cfg.deadline);
            let mut objective = prog.objective(&x, true);
            // The solvers do not descend monotonically: never return worse than a feasible
            // warm start (a trained network, or the previous β's point).
            if let Some(w) = warm.filter(|w| w.len() == x.len()) {
                let start = prog.objective(w, true);
                if start < objective && prog.max_violation(w) <= 1e-12 {
                    x = w.to_vec();
                    objective = start;
                    dropped = 0;
                }
            }
            // Column generation over the solver's directions: a lower objective and a dual
            // point that is nearly feasible (the certificate of its last round).
            let mut polished: Option<PolishInfo> = None;
            let mut grown: Option<Box<(PatternSet, MultiProgram)>> = None;
            let mut added = 0;
            let mut status = if cut > 0 {
                SolveStatus::MaxTime
            } else {
                sol.status
            };
            // Past the deadline (wide filters: projections of seconds each) no polish starts;
            // the certificate below is that of the solver's point.
            let late = cfg.deadline.is_some_and(|d| Instant::now() >= d);
            if cfg.polish_rounds > 0 && prog.separable() && !late {
                let ps = PolishSettings {
                    max_rounds: cfg.polish_rounds,
                    gap_tol: cfg.al.limits.tol,
                    // Recovery and the fresh batch get a fifth of what is left.
                    deadline: cfg.deadline.map(|d| {
                        let now = Instant::now();
                        now + d.saturating_duration_since(now).mul_f64(0.8)
                    }),
                    // Records carry seconds since the solve began, like the solver's.
                    started: Some(solve_started),
                    ..PolishSettings::default()
                };
                let tp = Instant::now();
                // A numerical failure of the polish (a singular Gram matrix of the atoms, say)
                // leaves the solver's point, certified below as without a polish.
                let first = if cfg.pattern_rounds > 0 {
                    PolishSettings {
                        gap_tol: (PATTERN_ROUND_GAP_FACTOR * ps.gap_tol).max(ps.gap_tol),
                        ..ps
                    }
                } else {
                    ps
                };
                if let Ok(p) = polish(prog, &x, &first, obs) {
                    if p.objective <= objective {
                        x.clone_from(&p.x);
                        objective = p.objective;
                        dropped = 0;
                        polished = Some(p);
                    }
                }
                // Pattern pricing: patterns the restricted program lacks, found by ascent on
                // the dual constraint at the polished residual, join the program; the polish
                // continues over the grown program from what it knew of the old blocks.
                if let Some(p) = polished.as_mut() {
                    let scale = cfg.pool.scale(prep.patches.k);
                    let mut set = prep.set.clone();
                    // Rounds before the last stop at a looser gap: new patterns change the
                    // program anyway; the last one, and the final polish, at the tolerance.
                    let loose = PolishSettings {
                        gap_tol: (PATTERN_ROUND_GAP_FACTOR * ps.gap_tol).max(ps.gap_tol),
                        max_rounds: ps.max_rounds.min(PATTERN_ROUND_POLISH_ROUNDS),
                        ..ps
                    };
                    // New patterns only in the first half of the time left: the second is
                    // for the final polish to the tolerance.
                    let grow_until = ps.deadline.map(|d| {
                        let now = Instant::now();
                        now + d
                            .saturating_duration_since(now)
                            .mul_f64(PATTERN_ROUND_TIME_SHARE)
                    });
                    for round in 0..cfg.pattern_rounds {
                        if grow_until.is_some_and(|d| Instant::now() >= d) {
                            break;
                        }
                        let cur = grown.as_ref().map_or(prog, |g| &g.1);
                        let r: Vec<f64> = p.v.iter().map(|v| -v).collect();
                        let found = ascend(
                            &prep.patches,
                            &prep.hyperplanes,
                            scale,
                            &r,
                            prog.outputs,
                            prog.beta * (1.0 + ps.gamma_tol),
                            &set,
                            &AscentSettings {
                                seed: cfg.seed ^ (0xa5ce_0000 + round as u64),
                                ..AscentSettings::default()
                            },
                        );
                        if found.is_empty() {
                            break;
                        }
                        let mut next_set = set.clone();
                        for f in &found {
                            next_set.insert(&f.bits);
                        }
                        let op = PatternOperator::new(
                            &prep.patches,
                            &prep.hyperplanes,
                            &next_set,
                            scale,
                        )?;
                        let next = MultiProgram::new(
                            op,
                            cfg.loss,
                            prog.y.clone(),
                            prog.outputs,
                            prog.beta,
                        )?;
                        let xn = next.point_from(cur, &x);
                        let warm_state = p.warm.remap(cur, &next);
                        let settings = if round + 1 == cfg.pattern_rounds {
                            &ps
                        } else {
                            &loose
                        };
                        match polish_from(&next, &xn, Some(warm_state), settings, obs) {
                            Ok(q) if q.objective <= objective => {
                                added += next.patterns() - cur.patterns();
                                x.clone_from(&q.x);
                                objective = q.objective;
                                *p = q;
                                set = next_set;
                                grown = Some(Box::new((set.clone(), next)));
                            }
                            _ => break,
                        }
                    }
                    // With pattern rounds, the last polish may have stopped at the looser gap
                    // (or pricing found nothing after a loose one): finish at the tolerance.
                    // Without them the single polish above already had `--polish-rounds`.
                    let tight = p.relative_gap <= ps.gap_tol;
                    if cfg.pattern_rounds > 0
                        && !tight
                        && ps.deadline.is_none_or(|d| Instant::now() < d)
                    {
                        let cur = grown.as_ref().map_or(prog, |g| &g.1);
                        if let Ok(q) = polish_from(cur, &x, Some(p.warm.clone()), &ps, obs) {
                            if q.objective <= objective {
                                x.clone_from(&q.x);
                                objective = q.objective;
                                *p = q;
                            }
                        }
                    }
                    p.converged = p.relative_gap <= ps.gap_tol;
                    status = if p.converged {
                        SolveStatus::Solved
                    } else if cfg.deadline.is_some_and(|d| Instant::now() >= d)
                        || ps.deadline.is_some_and(|d| Instant::now() >= d)
                    {
                        SolveStatus::MaxTime
                    } else {
                        status
                    };
                }
                tm.polish = tp.elapsed().as_secs_f64();
            }
            let prog = grown.as_ref().map_or(prog, |g| &g.1);
            let net = recover_network(prog, &x, ds, cfg.spec, cfg.pool);
            let f = net.predict(&ds.x)?;
            let network_objective = net.objective_with(cfg.loss, &ds.x, &prog.y, cfg.beta)?;
            let train_accuracy = accuracy(&f, labels);
            tm.recovery = t.elapsed().as_secs_f64() - tm.polish;
            let t = Instant::now();
            let (cert, v) = match polished {
                // The polish's last round priced every block that could exceed β at this very
                // point (`x` is its point).
                Some(p) => (
                    RestrictedCertificate {
                        primal: p.objective,
                        dual: p.dual,
                        relative_gap: p.relative_gap,
                        gamma_over_beta: p.output_gammas.iter().copied().fold(0.0, f64::max)
                            / prog.beta,
                        exact_blocks: p.exact_blocks,
                        complete: true,
                        output_gammas: p.output_gammas,
                    },
                    p.v,
                ),
                None => certify_restricted(prog, &x, &sol.multiplier_term, budget_left())?,
            };
            let known = grown.as_ref().map_or(&prep.set, |g| &g.0);
            let fresh = match fresh_set(1, known) {
                Some(set) => fresh_in_chunks(
                    prep,
                    prog,
                    cfg,
                    &set,
                    &v,
                    &cert,
                    budget_left(),
                    FRESH_CHUNK_BYTES,
                )?,
                None => None,
            };
            tm.certificate = t.elapsed().as_secs_f64();
            ClassifierOutcome {
                filters: net.width(),
                network: Some(net),
                solver_objective: sol.objective,
                violation: sol.violation,
                objective,
                network_objective: Some(network_objective),
                certificate: cert,
                fresh,
                train_accuracy,
                status,
                iterations: sol.outer,
                inner_iterations: sol.inner,
                dropped_blocks: dropped,
                point: x,
                patterns: prog.patterns(),
                added_patterns: added,
                grown,
                ..base
            }
        }
        FirstOrder::Gated => {
            let sol = solve_gated(prog, &gated_limits(&cfg.al), warm, obs);
            tm.solve = t.elapsed().as_secs_f64();
            let f = prog.predict_z(&sol.z);
            ClassifierOutcome {
                solver_objective: sol.objective,
                objective: sol.objective,
                certificate: RestrictedCertificate {
                    primal: sol.objective,
                    dual: sol.dual,
                    relative_gap: sol.gap,
                    gamma_over_beta: f64::NAN,
                    exact_blocks: 0,
                    complete: true,
                    output_gammas: Vec::new(),
                },
                train_accuracy: accuracy(&f, labels),
                status: sol.status,
                iterations: sol.iterations,
                inner_iterations: sol.iterations,
                filters: prog.nonzero_blocks(&sol.z),
                point: sol.z,
                ..base
            }
        }
    };
    out.timings = tm;
    // Preparation is counted in every solve (it is shared along a β path).
    out.seconds = t0.elapsed().as_secs_f64() + prep.timings.patterns + prep.timings.operator;
    Ok(out)
}

/// Prepares and solves in one call.
pub fn train_classifier(
    ds: &Dataset,
    labels: &[usize],
    classes: usize,
    cfg: &ClassifierConfig,
    obs: &mut dyn IterObserver,
) -> Result<ClassifierOutcome> {
    let prep = prepare(ds, labels, classes, cfg)?;
    solve_prepared(&prep, ds, labels, cfg, None, obs)
}

/// Limits for the gated solver taken from the AL settings: as many FISTA iterations as the AL
/// may take in total.
pub fn gated_limits(al: &AlSettings) -> IterLimits {
    IterLimits {
        max_iter: al.limits.max_iter.saturating_mul(al.inner_iter),
        ..al.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::builtin_mnist;

    /// A random network written as a convex point over its own patterns: the point is feasible,
    /// predicts what the network predicts (its own batched forward pass), and its convex
    /// objective is at most the network's weight-decay objective (`|w|‖u‖ ≤ ½(‖u‖² + w²)`).
    #[test]
    fn point_of_network_predicts_like_the_network() {
        use crate::nonconvex::{initial_params, predict_all, NonconvexSettings, PoolOp, Workspace};
        let ds = builtin_mnist().unwrap();
        let ci = ds.class_index().unwrap();
        let idx: Vec<usize> = (0..ds.n()).filter(|&t| ci.index[t] < 3).take(60).collect();
        let sub = ds.select(&idx);
        let labels: Vec<usize> = idx.iter().map(|&t| ci.index[t]).collect();
        let spec = PatchSpec::two_d(14, 14, 14, 0, true);
        let cfg = ClassifierConfig {
            spec,
            pool: Pooling::Sum,
            loss: Loss::Squared,
            beta: 0.5,
            draws: 1,
            from_data: false,
            seed: 3,
            solver: FirstOrder::Admm,
            al: AlSettings::default(),
            fresh_draws: 0,
            certificate_budget: 60.0,
            polish_rounds: 0,
            pattern_rounds: 0,
            deadline: None,
        };
        let patches = Patches::extract(&sub.x, sub.n(), &sub.shape, &spec).unwrap();
        let s = NonconvexSettings {
            width: 4,
            seed: 5,
            ..NonconvexSettings::default()
        };
        let params = initial_params(patches.h, 3, &s);
        let prep = prepare_with(&sub, &labels, 3, &cfg, Some(&params.u), 0).unwrap();
        let (x, skipped) = point_of_network(&prep.prog, &prep.hyperplanes, &params);
        assert!(prep.prog.max_violation(&x) == 0.0);
        let pool = PoolOp::of(Pooling::Sum, patches.k);
        let mut ws = Workspace::new(16, &patches, params.filters(), 3);
        let mut f = vec![0.0; sub.n() * 3];
        predict_all(&mut ws, &patches, &params, pool, &mut Vec::new(), &mut f);
        let g = prep.prog.predict_exact(&x);
        let scale = f.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (a, b) in f.iter().zip(&g) {
            assert!(
                (a - b).abs() <= 1e-10 * scale,
                "{a} vs {b} ({skipped} skipped)"
            );
        }
        let net = prep.prog.loss.value_grad(&f, &prep.prog.y, sub.n(), None)
            + cfg.beta * params.half_sq_norm();
        let convex = prep.prog.objective(&x, true);
        assert!(convex <= net * (1.0 + 1e-12), "{convex} > {net}");
        // Balanced filters (‖u_j‖ = |w_j|) make the bound an equality up to merged blocks.
        assert!(convex > 0.0 && x.iter().any(|v| *v != 0.0));
    }

    /// The first `take` embedded digits of classes 0, 1 and 2, with their labels.
    fn first_three_digits(take: usize) -> (Dataset, Vec<usize>) {
        let ds = builtin_mnist().unwrap();
        let ci = ds.class_index().unwrap();
        let idx: Vec<usize> = (0..ds.n())
            .filter(|&t| ci.index[t] < 3)
            .take(take)
            .collect();
        let labels = idx.iter().map(|&t| ci.index[t]).collect();
        (ds.select(&idx), labels)
    }

    /// Three classes, 14×14 patches with stride 14 and a bias, sum pooling, squared loss.
    fn three_class_config(
        beta: f64,
        draws: usize,
        seed: u64,
        solver: FirstOrder,
        fresh_draws: usize,
    ) -> ClassifierConfig {
        ClassifierConfig {
            spec: PatchSpec::two_d(14, 14, 14, 0, true),
            pool: Pooling::Sum,
            loss: Loss::Squared,
            beta,
            draws,
            from_data: false,
            seed,
            solver,
            al: AlSettings::default(),
            fresh_draws,
            certificate_budget: 60.0,
            polish_rounds: 0,
            pattern_rounds: 0,
            deadline: None,
        }
    }

    /// The 90-digit, three-class program (β = 0.5) over `draws` sampled patterns, and the
    /// point of `checks` ADMM checks on it, projected onto the cones.
    fn short_admm_point(draws: usize, checks: usize) -> (ClassifierConfig, Prepared, Vec<f64>) {
        let (sub, labels) = first_three_digits(90);
        let cfg = three_class_config(0.5, draws, 2, FirstOrder::Admm, 0);
        let prep = prepare(&sub, &labels, 3, &cfg).unwrap();
        let mut s = admm_settings(&cfg.al);
        s.limits.max_iter = checks;
        let short = solve_admm(&prep.prog, &s, None, &mut crate::solver::NoObserver).unwrap();
        let mut x = short.x;
        project_onto_cones(&prep.prog, &mut x, None);
        (cfg, prep, x)
    }

    /// The column-generation polish closes the restricted gap from a short ADMM solve, and its
    /// certificate is real: the independent certificate code (`certify_restricted`, exact cone
    /// projections for every block) finds the same small gap at the polished point, and a long
    /// ADMM solve (another solver) never ends below the certified lower bound and agrees with
    /// the polished objective.
    #[test]
    fn polish_closes_the_gap_and_its_certificate_holds() {
        let (cfg, prep, x) = short_admm_point(6, 3);
        let prog = &prep.prog;
        let mut s = admm_settings(&cfg.al);
        let start = prog.objective(&x, true);
        let ps = PolishSettings {
            max_rounds: 300,
            gap_tol: 1e-7,
            gamma_tol: 1e-9,
            ..PolishSettings::default()
        };
        let p = polish(prog, &x, &ps, &mut crate::solver::NoObserver).unwrap();
        assert!(
            p.converged && p.relative_gap <= 1e-7,
            "{} rounds, gap {}",
            p.rounds,
            p.relative_gap
        );
        assert!(p.objective <= start, "{} > {start}", p.objective);
        assert!(prog.max_violation(&p.x) <= 1e-12);
        assert!((prog.objective(&p.x, true) - p.objective).abs() <= 1e-12 * p.objective);
        let (cert, _) =
            certify_restricted(prog, &p.x, &vec![0.0; p.x.len()], f64::INFINITY).unwrap();
        assert!(cert.complete && cert.relative_gap <= 1e-6, "{cert:?}");
        s.limits.max_iter = 400;
        s.limits.tol = 1e-9;
        let long = solve_admm(prog, &s, None, &mut crate::solver::NoObserver).unwrap();
        let mut y = long.x.clone();
        project_onto_cones(prog, &mut y, None);
        let admm = prog.objective(&y, true);
        assert!(
            admm >= p.dual * (1.0 - 1e-12),
            "ADMM {admm} below the bound {}",
            p.dual
        );
        assert!(
            (admm - p.objective).abs() <= 1e-3 * p.objective,
            "ADMM {admm} vs polish {}",
            p.objective
        );
    }

    /// A tiny block in the polar cone of its pattern (as ADMM leaves them: `‖c‖` near 1e-20)
    /// projects to zero up to rounding; that rounding noise is not kept as a block, since the
    /// polish would make a unit atom of its direction and the recovered filter would not
    /// reproduce its pattern (on 10,000 digits such blocks made the network's objective 1.7%
    /// higher than the convex one). Every block left is in its cone to `1e-9` of its length.
    #[test]
    fn projection_drops_blocks_whose_projection_is_rounding_noise() {
        let (sub, labels) = first_three_digits(90);
        let cfg = three_class_config(0.5, 6, 2, FirstOrder::Admm, 0);
        let prep = prepare(&sub, &labels, 3, &cfg).unwrap();
        let prog = &prep.prog;
        let (h, normals) = (prog.h(), prog.op.normals());
        let g = normals.nrows();
        let mut x = vec![0.0; prog.exact_len()];
        for (b, c) in x.chunks_mut(h).enumerate() {
            let sides = prog.op.signs(prog.block_info(b).0);
            // −Σ λ_r s_r n_r over a few facets lies in the polar cone: Π(c) = 0.
            for (k, r) in (b % 7..g).step_by(g / 5 + 1).enumerate() {
                let lam = 1e-20 * (1.0 + k as f64);
                for (j, cj) in c.iter_mut().enumerate() {
                    *cj -= lam * sides.get(r) * normals[(r, j)];
                }
            }
        }
        project_onto_cones(prog, &mut x, None);
        for (b, c) in x.chunks(h).enumerate() {
            let v = prog.op.cone_violation(prog.block_info(b).0, c);
            assert!(v <= 1e-9, "block {b}: relative violation {v:e}");
        }
        // The projections are zero: at most rounding is left.
        assert!(
            x.iter().all(|v| v.abs() <= 1e-30),
            "{:e}",
            crate::algebra::norm(&x)
        );
    }

    /// The final projection stops at the fit's deadline: blocks not projected by then are set
    /// to zero and counted as cut, so the point stays feasible; without a deadline every block
    /// is projected and none is cut.
    #[test]
    fn projection_past_its_deadline_zeroes_the_blocks_left_and_stays_feasible() {
        let (_, prep, _) = short_admm_point(6, 1);
        let prog = &prep.prog;
        // A point outside the cones: the ADMM point before its final projection.
        let mut s = admm_settings(&AlSettings::default());
        s.limits.max_iter = 1;
        s.limits.time_limit = Some(0.0);
        let raw = solve_admm(prog, &s, None, &mut crate::solver::NoObserver)
            .unwrap()
            .x;
        let nonzero = raw
            .chunks(prog.h())
            .filter(|c| c.iter().any(|v| *v != 0.0))
            .count();
        assert!(nonzero > 0);
        let mut all = raw.clone();
        let (dropped, cut) = project_onto_cones(prog, &mut all, None);
        assert_eq!((dropped, cut), (0, 0));
        assert!(prog.max_violation(&all) <= 1e-9 * crate::algebra::norm(&all));
        assert!(all.iter().any(|v| *v != 0.0));
        let mut late = raw.clone();
        let (dropped, cut) = project_onto_cones(prog, &mut late, Some(Instant::now()));
        assert_eq!((dropped, cut), (0, nonzero));
        assert!(late.iter().all(|v| *v == 0.0));
    }

    /// Gates that give no usable pattern (every filter switches every patch off: Adam's units
    /// after a collapse) are an error without the guard; with it, Gaussian patterns fill in up
    /// to the count asked for, and the program solves.
    #[test]
    fn collapsed_gates_are_filled_with_sampled_patterns() {
        use rand::SeedableRng;
        use rand_distr::Distribution;
        let (sub, labels) = first_three_digits(90);
        let cfg = three_class_config(0.5, 1, 2, FirstOrder::Admm, 0);
        let h = 14 * 14 + 1;
        // Zero weights and a negative bias: every patch is off.
        let mut dead = vec![0.0; 4 * h];
        for u in dead.chunks_mut(h) {
            u[h - 1] = -1.0;
        }
        assert!(prepare_with(&sub, &labels, 3, &cfg, Some(&dead), 0).is_err());
        let prep = prepare_with(&sub, &labels, 3, &cfg, Some(&dead), 12).unwrap();
        assert_eq!(prep.filled, 12);
        assert_eq!(prep.prog.patterns(), 12);
        // Gates that give enough patterns are left alone.
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(1);
        let live: Vec<f64> = (0..12 * h)
            .map(|_| rand_distr::StandardNormal.sample(&mut rng))
            .collect();
        let own = prepare_with(&sub, &labels, 3, &cfg, Some(&live), 12).unwrap();
        assert_eq!(own.filled, 0);
        assert_eq!(
            own.prog.patterns(),
            prepare_with(&sub, &labels, 3, &cfg, Some(&live), 0)
                .unwrap()
                .prog
                .patterns()
        );
    }

    /// A deadline ends a polish round's pricing, between batches and inside one, once a block is
    /// priced (the round no longer prices until 256 violated blocks are found, which took
    /// minutes on large cones), and the
    /// cut round's certificate stays valid: unpriced blocks keep upper bounds, so its dual is
    /// below the converged polish's objective.
    #[test]
    fn polish_past_its_deadline_prices_a_few_blocks_and_its_bound_holds() {
        // Two threads: batches of 64 blocks, fewer than the first round prices on any machine.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(polish_past_its_deadline_on_this_pool);
    }

    fn polish_past_its_deadline_on_this_pool() {
        let (_, prep, x) = short_admm_point(40, 1);
        let prog = &prep.prog;
        let obs = &mut crate::solver::NoObserver;
        let batch = (rayon::current_num_threads() * 32).max(64);
        assert_eq!(batch, 64);
        let once = PolishSettings {
            max_rounds: 0,
            ..PolishSettings::default()
        };
        let first = polish(prog, &x, &once, obs).unwrap();
        assert!(first.exact_blocks > batch, "{} priced", first.exact_blocks);
        let late = PolishSettings {
            deadline: Some(Instant::now()),
            ..PolishSettings::default()
        };
        let cut = polish(prog, &x, &late, obs).unwrap();
        assert_eq!(cut.rounds, 0);
        // Past the deadline, a block per thread at most (the first ones under way) is priced
        // exactly; the rest of the batch keeps its bounds.
        assert!(cut.exact_blocks <= 4, "{} priced", cut.exact_blocks);
        let full = PolishSettings {
            max_rounds: 300,
            gap_tol: 1e-6,
            gamma_tol: 1e-9,
            ..PolishSettings::default()
        };
        let done = polish(prog, &x, &full, obs).unwrap();
        assert!(done.converged, "gap {}", done.relative_gap);
        assert!(
            cut.dual <= done.objective * (1.0 + 1e-12),
            "bound {} above the optimum {}",
            cut.dual,
            done.objective
        );
    }

    /// Pattern pricing adds patterns the sampled program lacks and lowers the objective, and
    /// the result is certified over the grown program: the independent certificate code finds
    /// the same small gap at the returned point, the recovered network has the same objective,
    /// a long ADMM solve of the grown program from scratch (another solver) never ends below
    /// the certified bound and agrees with the objective, and the fresh-batch estimate is
    /// lower than without the new patterns.
    #[test]
    fn pattern_pricing_lowers_the_objective_and_its_certificate_holds() {
        let (sub, labels) = first_three_digits(90);
        let mut cfg = three_class_config(0.5, 6, 2, FirstOrder::Admm, 40);
        cfg.al.limits.max_iter = 3;
        cfg.al.limits.tol = 1e-4;
        cfg.polish_rounds = 300;
        let prep = prepare(&sub, &labels, 3, &cfg).unwrap();
        let obs = &mut crate::solver::NoObserver;
        let plain = solve_prepared(&prep, &sub, &labels, &cfg, None, obs).unwrap();
        assert!(
            plain.certificate.relative_gap <= 1e-4 && plain.added_patterns == 0,
            "{:?}",
            plain.certificate
        );
        cfg.pattern_rounds = 3;
        let grown = solve_prepared(&prep, &sub, &labels, &cfg, None, obs).unwrap();
        assert!(grown.added_patterns > 0);
        assert_eq!(grown.patterns, plain.patterns + grown.added_patterns);
        assert!(
            grown.objective < plain.objective * (1.0 - 1e-3),
            "{} vs {}",
            grown.objective,
            plain.objective
        );
        assert_eq!(grown.status, SolveStatus::Solved);
        let (set, prog) = &**grown.grown.as_ref().unwrap();
        assert_eq!(prog.patterns(), grown.patterns);
        assert!(prep.set.len() < set.len());
        (0..prep.set.len()).for_each(|i| assert!(set.contains(prep.set.pattern(i))));
        let x = &grown.point;
        assert!(prog.max_violation(x) <= 1e-12);
        let (cert, _) = certify_restricted(prog, x, &vec![0.0; x.len()], f64::INFINITY).unwrap();
        assert!(cert.complete && cert.relative_gap <= 1e-4, "{cert:?}");
        assert!((cert.primal - grown.objective).abs() <= 1e-9 * grown.objective);
        let net = grown.network_objective.unwrap();
        assert!((net - grown.objective).abs() <= 1e-9 * grown.objective);
        let mut s = admm_settings(&cfg.al);
        s.limits.max_iter = 20;
        s.limits.tol = 1e-9;
        let long = solve_admm(prog, &s, None, obs).unwrap();
        let mut y = long.x.clone();
        project_onto_cones(prog, &mut y, None);
        let admm = prog.objective(&y, true);
        assert!(admm >= grown.certificate.dual * (1.0 - 1e-12));
        assert!((admm - grown.objective).abs() <= 1e-3 * grown.objective);
        let (f0, f1) = (plain.fresh.unwrap(), grown.fresh.unwrap());
        assert!(
            f1.gamma_over_beta < f0.gamma_over_beta,
            "{} vs {}",
            f1.gamma_over_beta,
            f0.gamma_over_beta
        );
    }

    /// Checking fresh patterns one per chunk gives the same estimate as all at once.
    #[test]
    fn fresh_estimate_in_chunks_equals_one_pass() {
        let (sub, labels) = first_three_digits(90);
        let cfg = three_class_config(1.0, 5, 3, FirstOrder::Projected, 12);
        let prep = prepare(&sub, &labels, 3, &cfg).unwrap();
        // The zero network is feasible; certify it, then check fresh patterns against it.
        let zeros = vec![0.0; prep.prog.exact_len()];
        let (cert, v) = certify_restricted(&prep.prog, &zeros, &zeros, 60.0).unwrap();
        let set = sample_gaussian(&prep.hyperplanes, 12, 99);
        let one = fresh_in_chunks(&prep, &prep.prog, &cfg, &set, &v, &cert, 60.0, usize::MAX)
            .unwrap()
            .unwrap();
        let many = fresh_in_chunks(&prep, &prep.prog, &cfg, &set, &v, &cert, 60.0, 1)
            .unwrap()
            .unwrap();
        assert!(one.patterns >= 2);
        assert_eq!(one.patterns, many.patterns);
        assert!((one.gamma_over_beta - many.gamma_over_beta).abs() <= 1e-9 * one.gamma_over_beta);
        assert!((one.dual - many.dual).abs() <= 1e-9 * one.dual.abs().max(1.0));
    }
}

#[cfg(test)]
mod resume_tests {
    use super::*;
    use crate::data::builtin_mnist;
    use crate::solver::checkpoint::{decode, encode, AdmmState, CheckpointSink};
    use crate::solver::History;

    /// Keeps every state it is given (a checkpoint at every check), through the file format.
    struct Every(Vec<AdmmState>);
    impl CheckpointSink for Every {
        fn due(&mut self) -> bool {
            true
        }
        fn save(&mut self, state: &AdmmState) -> Result<()> {
            let bytes = encode(state, "fp", "ctx")?;
            self.0
                .push(decode(&bytes, std::path::Path::new("mem"))?.state);
            Ok(())
        }
    }

    /// An ADMM solve continued from the state saved at any of its checks ends where the
    /// uninterrupted solve ends, bit for bit: point, objective, status, counts and history.
    #[test]
    fn admm_resumed_from_any_check_ends_bit_for_bit_where_it_would_have() {
        let ds = builtin_mnist().unwrap();
        let ci = ds.class_index().unwrap();
        let idx: Vec<usize> = (0..ds.n()).filter(|&t| ci.index[t] < 3).take(90).collect();
        let sub = ds.select(&idx);
        let labels: Vec<usize> = idx.iter().map(|&t| ci.index[t]).collect();
        let mut al = AlSettings::default();
        al.limits.max_iter = 7;
        al.limits.tol = 1e-12;
        al.inner_iter = 5;
        let cfg = ClassifierConfig {
            spec: PatchSpec::two_d(14, 14, 14, 0, true),
            pool: Pooling::Sum,
            loss: Loss::Squared,
            beta: 1.0,
            draws: 8,
            from_data: false,
            seed: 3,
            solver: FirstOrder::Admm,
            al,
            fresh_draws: 0,
            certificate_budget: 0.0,
            polish_rounds: 0,
            pattern_rounds: 0,
            deadline: None,
        };
        let prep = prepare(&sub, &labels, 3, &cfg).unwrap();
        let settings = admm_settings(&cfg.al);
        let mut every = Every(Vec::new());
        let mut seen = History::default();
        let whole = solve_admm_resumable(
            &prep.prog,
            &settings,
            None,
            None,
            &mut seen,
            Some(&mut every),
        )
        .unwrap();
        // The records without their clock readings.
        let steps = |h: &History| {
            h.records
                .iter()
                .map(|r| {
                    let g = r.gap.map(f64::to_bits);
                    (
                        r.iter,
                        r.inner,
                        r.objective.to_bits(),
                        r.violation.to_bits(),
                        g,
                    )
                })
                .collect::<Vec<_>>()
        };
        assert!(every.0.len() >= 3, "{} checkpoints", every.0.len());
        assert!(every.0.iter().any(|s| s.rows.iter().any(|r| !r.is_empty())));
        for state in &every.0[..every.0.len() - 1] {
            let mut replayed = History::default();
            let again = solve_admm_resumable(
                &prep.prog,
                &settings,
                None,
                Some(state),
                &mut replayed,
                None,
            )
            .unwrap();
            let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&again.x),
                bits(&whole.x),
                "from check {}",
                state.checks
            );
            assert_eq!(again.objective.to_bits(), whole.objective.to_bits());
            assert_eq!(
                (again.status, again.outer, again.inner),
                (whole.status, whole.outer, whole.inner)
            );
            assert_eq!(steps(&replayed), steps(&seen));
        }
    }
}
