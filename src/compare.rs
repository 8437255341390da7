//! `compare`: the convex fit beside non-convex restarts (SGD/Adam) of the same network on the
//! same objective, measured in one run. The two-layer CNN with global pooling uses the minibatch
//! trainer (train/test split, accuracies, the race to the best restart's objective); every
//! other architecture its own full-batch Adam baseline through the [`Architecture`] interface.
//! The command line renders the result (table, plots, `compare.json`); the Python package
//! returns it as records.

use crate::arch::traits::{Architecture, CertificateScope, Model};
use crate::arch::two_layer::classifier::FirstOrder;
use crate::arch::two_layer::classify::labels_of;
use crate::arch::{BetaChoice, Classifier};
use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::loss::{accuracy, one_hot, Loss};
use crate::nonconvex::{
    accuracy_against, to_network, train_nonconvex, EpochObserver, EpochRecord, FullBatchSettings,
    NonconvexData, NonconvexRun, NonconvexSettings, OptimizerKind, RunStatus, Schedule,
};
use crate::observe::Observer;
use crate::patches::{PatchSpec, Patches};
use crate::program::Pooling;
use crate::settings::{self, Arch, Head, Settings};
use serde::Serialize;

/// The non-convex side of a comparison: which runs, and how each trains (read from JSON by the
/// Python package; absent fields take the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompareSettings {
    /// Restarts (seeds `first_seed`, `first_seed + 1`, ...) per optimizer and width.
    pub restarts: usize,
    /// Optimizers (each gets every width and restart).
    pub optimizers: Vec<OptimizerKind>,
    /// Filters per output of the runs; empty: the convex network's (the most filters feeding
    /// one output, at least 2) for the global two-layer CNN, 1 and 4 for the others.
    pub widths: Vec<usize>,
    /// Epochs (full-batch iterations for architectures other than the global two-layer CNN).
    pub epochs: usize,
    /// Learning rate; `None`: 1e-2 for Adam, 1e-3 for SGD.
    pub lr: Option<f64>,
    /// Minibatch size.
    pub batch_size: usize,
    /// SGD momentum.
    pub momentum: f64,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Scale of the random initialization.
    pub init_scale: f64,
    /// Seed of the first restart.
    pub first_seed: u64,
}

impl Default for CompareSettings {
    fn default() -> Self {
        CompareSettings {
            restarts: 5,
            optimizers: vec![OptimizerKind::Adam],
            widths: Vec::new(),
            epochs: 50,
            lr: None,
            batch_size: 64,
            momentum: 0.9,
            schedule: Schedule::Constant,
            init_scale: 1.0,
            first_seed: 0,
        }
    }
}

/// Progress of the non-convex runs.
pub trait RunsObserver {
    /// Called once before the runs: how many, and the epochs of each.
    fn start(&mut self, _runs: usize, _epochs: usize) {}
    /// After epoch `r.epoch` of run `run` (of `total` epochs); `false` stops that run.
    fn epoch(&mut self, _run: usize, _r: &EpochRecord, _total: usize) -> bool {
        true
    }
    /// Called once after the runs.
    fn finish(&mut self) {}
}

/// A [`RunsObserver`] that shows nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRunProgress;

impl RunsObserver for NoRunProgress {}

struct OneRun<'a> {
    inner: &'a mut dyn RunsObserver,
    run: usize,
}

impl EpochObserver for OneRun<'_> {
    fn epoch(&mut self, r: &EpochRecord, total: usize) -> bool {
        self.inner.epoch(self.run, r, total)
    }
}

/// What [`compare`] found.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Comparison {
    /// The global two-layer CNN (scalar output or classifier): minibatch runs, accuracies and
    /// the race.
    TwoLayer(CompareReport),
    /// Any other architecture: full-batch Adam runs through the [`Architecture`] interface.
    Other(OtherComparison),
}

impl Comparison {
    /// `compare.json`.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self).map_err(|e| Error::Solver(format!("compare.json: {e}")))
    }
}

/// The convex side.
#[derive(Debug, Clone, Serialize)]
pub struct ConvexSummary {
    /// Objective of the convex solution (equal to its recovered network's).
    pub objective: f64,
    /// Seconds of the whole convex pipeline (patterns, solve, recovery, certificate).
    pub seconds: f64,
    /// Training accuracy of the recovered network (`None` for real-valued targets).
    pub train_accuracy: Option<f64>,
    /// Test accuracy (`None` without a test set or for real-valued targets).
    pub test_accuracy: Option<f64>,
    /// Filters of the recovered network.
    pub filters: usize,
    /// Whether the patterns were enumerated exactly: then `objective` is the global optimum of
    /// the non-convex problem (to the gap), and no run can end below it.
    pub exact: bool,
    /// Relative duality gap (of the restricted program when the patterns are sampled).
    pub relative_gap: f64,
    /// Solver used.
    pub solver: String,
    /// The solver's checks as `(seconds since the fit began, objective, relative violation)`
    /// (first-order classifier solvers; empty otherwise). The iterates are feasible for the
    /// working-set cones only: `violation` is measured over all rows.
    pub trajectory: Vec<(f64, f64, f64)>,
    /// Seconds from the start of the fit to the end of recovery (the certificates follow).
    pub seconds_to_network: f64,
}

/// Who reached the best non-convex objective first.
#[derive(Debug, Clone, Serialize)]
pub struct Race {
    /// Seed of the restart with the lowest final objective.
    pub best_run_seed: u64,
    /// Its final objective: the target.
    pub target_objective: f64,
    /// Training seconds that restart took to first record an objective at or below the target
    /// (its history's resolution).
    pub nonconvex_seconds: f64,
    /// Seconds from the start of the convex fit to its first solver check at or below the
    /// target with a relative violation ≤ 1e-3, or else to its recovered network when that is
    /// at or below the target; `None` when the convex run never got there.
    pub convex_seconds: Option<f64>,
}

impl Race {
    /// The race of `runs` against the convex fit.
    pub fn of(convex: &ConvexSummary, runs: &[RunSummary]) -> Option<Race> {
        let best = runs
            .iter()
            .filter(|r| r.objective.is_finite())
            .min_by(|a, b| a.objective.total_cmp(&b.objective))?;
        let target = best.objective;
        let slack = 1e-9 * target.abs();
        let nonconvex_seconds = best
            .history
            .iter()
            .find(|h| h.objective <= target + slack)
            .map_or(best.seconds, |h| h.seconds);
        let convex_seconds = convex
            .trajectory
            .iter()
            .find(|(_, o, v)| *o <= target + slack && *v <= 1e-3)
            .map(|(t, _, _)| *t)
            .or((convex.objective <= target + slack).then_some(convex.seconds_to_network));
        Some(Race {
            best_run_seed: best.seed,
            target_objective: target,
            nonconvex_seconds,
            convex_seconds,
        })
    }
}

/// One non-convex restart.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Seed of the initialisation and the minibatch order.
    pub seed: u64,
    /// `sgd` or `adam`.
    pub optimizer: &'static str,
    /// Filters per output.
    pub width: usize,
    /// Final training objective, from the network's own forward pass (same scale as `train`).
    pub objective: f64,
    /// `(objective − convex) / |convex|`.
    pub excess: f64,
    /// Training accuracy.
    pub train_accuracy: Option<f64>,
    /// Test accuracy.
    pub test_accuracy: Option<f64>,
    /// Training seconds (evaluations for the history not counted).
    pub seconds: f64,
    /// Epochs run.
    pub epochs: usize,
    /// How the run ended.
    pub status: RunStatus,
    /// The settings.
    pub settings: NonconvexSettings,
    /// Objective and accuracies along the run.
    pub history: Vec<EpochRecord>,
}

impl RunSummary {
    /// Summary of a run whose final objective (from the standard network's forward pass) is
    /// `objective`; accuracies are dropped when `classes` is false.
    pub fn new(
        run: &NonconvexRun,
        s: &NonconvexSettings,
        objective: f64,
        convex: f64,
        classes: bool,
    ) -> Self {
        let keep = |a: Option<f64>| if classes { a } else { None };
        let mut history = run.history.clone();
        if !classes {
            for r in &mut history {
                r.train_accuracy = f64::NAN;
                r.test_accuracy = None;
            }
        }
        RunSummary {
            seed: s.seed,
            optimizer: s.optimizer.name(),
            width: s.width,
            objective,
            excess: (objective - convex) / convex.abs().max(f64::MIN_POSITIVE),
            train_accuracy: keep(Some(run.train_accuracy)),
            test_accuracy: keep(run.test_accuracy),
            seconds: run.seconds,
            epochs: run.history.last().map_or(0, |r| r.epoch),
            status: run.status,
            settings: *s,
            history,
        }
    }
}

/// The whole report (`compare.json`).
#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    /// Data source.
    pub data: String,
    /// Training samples.
    pub n_train: usize,
    /// Test samples.
    pub n_test: usize,
    /// Outputs `C` (1: scalar output).
    pub outputs: usize,
    /// Loss name.
    pub loss: &'static str,
    /// Pooling name.
    pub pool: &'static str,
    /// Weight decay `β`.
    pub beta: f64,
    /// Kernel, stride, padding, bias.
    pub spec: crate::patches::PatchSpec,
    /// The convex solve.
    pub convex: ConvexSummary,
    /// The non-convex restarts.
    pub runs: Vec<RunSummary>,
    /// Runs that ended below the convex objective by more than `1e-6` relative (possible only
    /// with sampled patterns; with exact patterns it would be a bug).
    pub runs_below_convex: Vec<u64>,
    /// Time each side took to reach the best restart's final objective.
    pub race: Option<Race>,
    /// Which number is which.
    pub notes: Vec<String>,
}

impl CompareReport {
    /// Seeds of the runs whose final objective is below the convex one by more than `rel`.
    pub fn below(runs: &[RunSummary], convex: f64, rel: f64) -> Vec<u64> {
        runs.iter()
            .filter(|r| r.objective < convex - rel * convex.abs())
            .map(|r| r.seed)
            .collect()
    }
}

/// Everything the non-convex runs need, from either kind of convex run.
struct Side {
    train: Dataset,
    test: Dataset,
    y: Vec<f64>,
    y_test: Vec<f64>,
    outputs: usize,
    loss: Loss,
    beta: f64,
    spec: PatchSpec,
    pool: Pooling,
    classes: bool,
    convex: ConvexSummary,
    widest: usize,
}

/// The convex solve of the scalar-output program (interior point) on the training part.
fn convex_scalar(a: &Settings, ds: Dataset, obs: &mut dyn Observer) -> Result<Side> {
    let classes = matches!(ds.targets, Targets::Classes(_)) || a.two_classes;
    let arch = settings::two_layer(a, &ds)?;
    // Targets before the split, so that a test part with one class keeps its ±1 coding.
    let mut ds = ds;
    ds.targets = Targets::Real(ds.scalar_targets()?);
    let (train_ds, test_ds) = ds.split(a.test_fraction, a.seed)?;
    let y = train_ds.scalar_targets()?;
    let y_test = test_ds.scalar_targets()?;
    let fit = arch.fit(&train_ds, obs)?;
    let model = fit.model.as_ref();
    let acc = |d: &Dataset, y: &[f64]| -> Result<Option<f64>> {
        if !classes || d.n() == 0 {
            return Ok(None);
        }
        Ok(Some(accuracy_against(&model.predict(d)?, y, d.n(), 1)))
    };
    let r = &fit.report;
    let convex = ConvexSummary {
        objective: r.objective,
        seconds: r.seconds,
        train_accuracy: acc(&train_ds, &y)?,
        test_accuracy: acc(&test_ds, &y_test)?,
        filters: r.filters,
        exact: r.certificate == CertificateScope::Global,
        relative_gap: r.relative_gap,
        solver: "ipm".into(),
        trajectory: Vec::new(),
        seconds_to_network: r.seconds,
    };
    Ok(Side {
        widest: widest_output(model)?,
        train: train_ds,
        test: test_ds,
        y,
        y_test,
        outputs: 1,
        loss: Loss::Squared,
        beta: arch.cfg.beta,
        spec: arch.cfg.spec,
        pool: arch.cfg.pool,
        classes,
        convex,
    })
}

/// The convex solve of the classifier program (first-order) on the training part.
fn convex_classifier(a: &Settings, ds: Dataset, obs: &mut dyn Observer) -> Result<Side> {
    let arch = settings::classifier(a, &ds)?;
    let beta = match &arch.betas {
        BetaChoice::List(b) if b.len() == 1 => b[0],
        _ => {
            return Err(Error::param(
                "beta",
                "compare takes one value of β (the non-convex runs need one objective)",
            ))
        }
    };
    let data = arch.split(&ds)?;
    // The split is done: the fit trains on the training part as it is.
    let inner = Classifier {
        test_fraction: 0.0,
        standardize: false,
        ..arch.clone()
    };
    let fit = inner.fit(&data.train, obs)?;
    let model = fit.model.as_ref();
    if model.tensors()?.is_none() {
        return Err(Error::param(
            "solver",
            "the gated relaxation is not a ReLU network; compare needs proj or al",
        ));
    }
    let labels = labels_of(&data.train, &data.classes, "training")?;
    let test_labels = labels_of(&data.test, &data.classes, "test")?;
    let test_accuracy = if data.test.n() > 0 {
        Some(accuracy(&model.predict(&data.test)?, &test_labels))
    } else {
        None
    };
    let r = &fit.report;
    let c = data.classes.len();
    let convex = ConvexSummary {
        objective: r.objective,
        seconds: r.seconds,
        train_accuracy: r.train_accuracy,
        test_accuracy,
        filters: r.filters,
        exact: false,
        relative_gap: r.relative_gap,
        solver: match arch.cfg.solver {
            FirstOrder::Projected => "proj".into(),
            FirstOrder::AugmentedLagrangian => "al".into(),
            FirstOrder::Gated => "gated".into(),
            FirstOrder::Admm => "admm".into(),
        },
        trajectory: trajectory(r),
        seconds_to_network: r.seconds - timing(r, "certificate"),
    };
    Ok(Side {
        widest: widest_output(model)?,
        y: one_hot(&labels, c),
        y_test: one_hot(&test_labels, c),
        train: data.train,
        test: data.test,
        outputs: c,
        loss: arch.cfg.loss,
        beta,
        spec: arch.cfg.spec,
        pool: arch.cfg.pool,
        classes: true,
        convex,
    })
}

/// A stage time of a classifier report's `timings` (0 when absent).
fn timing(r: &crate::arch::traits::Report, key: &str) -> f64 {
    r.details
        .get("timings")
        .and_then(|t| t.get(key))
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

/// The classifier solver's checks, in seconds since the fit began: the report's
/// `solver_history` counts from the start of the solve, which began after everything but the
/// solve, its polish, recovery and certificates (the polish's rounds are in the history too,
/// on the same clock).
fn trajectory(r: &crate::arch::traits::Report) -> Vec<(f64, f64, f64)> {
    let offset = r.seconds
        - timing(r, "solve")
        - timing(r, "polish")
        - timing(r, "recovery")
        - timing(r, "certificate");
    let Some(h) = r.details.get("solver_history").and_then(|h| h.as_array()) else {
        return Vec::new();
    };
    h.iter()
        .filter_map(|p| {
            Some((
                offset + p.get("seconds")?.as_f64()?,
                p.get("objective")?.as_f64()?,
                p.get("violation")?.as_f64()?,
            ))
        })
        .collect()
}

/// The most filters feeding one output (`fc.weight` is `(C, m)`).
fn widest_output(model: &dyn Model) -> Result<usize> {
    let Some(t) = model.tensors()? else {
        return Ok(0);
    };
    Ok(match t.get("fc.weight") {
        Some(fc) if fc.shape.len() == 2 && fc.shape[1] > 0 => fc
            .data
            .chunks(fc.shape[1])
            .map(|row| row.iter().filter(|v| **v != 0.0).count())
            .max()
            .unwrap_or(0),
        _ => model.width(),
    })
}

/// The settings of every run: optimizers × widths × restarts, each validated.
fn plan_runs(c: &CompareSettings, widths: &[usize]) -> Result<Vec<NonconvexSettings>> {
    let mut plan = Vec::new();
    for &kind in &c.optimizers {
        let lr = c.lr.unwrap_or(match kind {
            OptimizerKind::Adam => 1e-2,
            OptimizerKind::Sgd => 1e-3,
        });
        for &width in widths {
            for r in 0..c.restarts {
                let s = NonconvexSettings {
                    optimizer: kind,
                    width,
                    epochs: c.epochs,
                    lr,
                    schedule: c.schedule,
                    batch_size: c.batch_size,
                    momentum: c.momentum,
                    seed: c.first_seed.wrapping_add(r as u64),
                    init_scale: c.init_scale,
                    records: 200,
                };
                s.validate()?;
                plan.push(s);
            }
        }
    }
    Ok(plan)
}

/// Compares the convex fit that `s` selects on `ds` (named `source` in the report) with the
/// non-convex runs of `c`: progress of the convex fit goes to `convex`, of the runs to `runs`.
/// Bad run settings fail before the convex solve.
pub fn compare(
    s: &Settings,
    c: &CompareSettings,
    ds: &Dataset,
    source: &str,
    convex: &mut dyn Observer,
    runs: &mut dyn RunsObserver,
) -> Result<Comparison> {
    if c.restarts == 0 {
        return Err(Error::param("restarts", "must be at least 1"));
    }
    if c.optimizers.is_empty() {
        return Err(Error::param("optimizer", "name at least one optimizer"));
    }
    if s.head == Some(Head::Shared) && s.windows.is_none() {
        return Err(Error::param(
            "head",
            "compare trains shared-filter networks with --windows W in builds with --features sdp only (cvxcnn train --head shared)",
        ));
    }
    if s.head == Some(Head::L1) && s.windows.is_none() {
        return Err(Error::param(
            "head",
            "--head l1 needs --windows W (the local pooling window)",
        ));
    }
    let global_two_layer =
        s.arch == Arch::TwoLayer && s.windows.is_none() && s.head != Some(Head::Shared);
    if !global_two_layer {
        let arch = settings::architecture(s, ds)?;
        return compare_other(c, arch.as_ref(), ds, source, convex, runs).map(Comparison::Other);
    }
    // Bad non-convex settings fail before the convex solve, not after it.
    let given: Vec<usize> = if c.widths.is_empty() {
        vec![1]
    } else {
        c.widths.clone()
    };
    plan_runs(c, &given)?;
    let side = if settings::wants_classifier(s, ds) {
        convex_classifier(s, ds.clone(), convex)?
    } else {
        convex_scalar(s, ds.clone(), convex)?
    };
    let widths = if c.widths.is_empty() {
        vec![side.widest.max(2)]
    } else {
        c.widths.clone()
    };
    let patches = Patches::extract(&side.train.x, side.train.n(), &side.train.shape, &side.spec)?;
    let test_patches = if side.test.n() > 0 {
        Some(Patches::extract(
            &side.test.x,
            side.test.n(),
            &side.test.shape,
            &side.spec,
        )?)
    } else {
        None
    };
    let data = NonconvexData {
        patches: &patches,
        y: &side.y,
        outputs: side.outputs,
        loss: side.loss,
        beta: side.beta,
        pool: crate::nonconvex::PoolOp::of(side.pool, patches.k),
        test: test_patches.as_ref().map(|p| (p, side.y_test.as_slice())),
    };
    let plan = plan_runs(c, &widths)?;
    runs.start(plan.len(), c.epochs);
    let convex_obj = side.convex.objective;
    let mut done = Vec::with_capacity(plan.len());
    for (i, st) in plan.iter().enumerate() {
        let mut obs = OneRun {
            inner: &mut *runs,
            run: i,
        };
        let r = train_nonconvex(&data, st, &mut obs)?;
        let net = to_network(&r.params, side.train.shape, side.spec, side.pool);
        // The final objective from the standard network's own forward pass.
        let objective = net.objective_with(side.loss, &side.train.x, &side.y, side.beta)?;
        done.push(RunSummary::new(&r, st, objective, convex_obj, side.classes));
    }
    runs.finish();
    let below = CompareReport::below(&done, convex_obj, 1e-6);
    let mut notes = vec![
        "objectives: loss summed over the training samples + (β/2) Σ (‖u‖² + w²), the scale of `cvxcnn train`'s report".to_string(),
        "runs[].seconds and history[].seconds: training time only (the history's full-objective evaluations are not counted); convex.seconds: the whole convex pipeline (patterns, solve, recovery, certificate)".to_string(),
        "non-convex steps descend the mean objective (loss/n + (β/2n)‖θ‖²; PyTorch's mean loss with weight_decay = β/n); reports give the summed objective".to_string(),
    ];
    notes.push(if side.convex.exact {
        "convex.exact: the patterns are enumerated, so convex.objective is the global optimum; a run below it would be a bug".to_string()
    } else {
        "convex.exact = false: the convex program uses sampled patterns, so its objective is an upper bound on the global optimum; runs may end below it".to_string()
    });
    let mut report = CompareReport {
        data: source.to_string(),
        n_train: side.train.n(),
        n_test: side.test.n(),
        outputs: side.outputs,
        loss: side.loss.name(),
        pool: side.pool.name(),
        beta: side.beta,
        spec: side.spec,
        convex: side.convex,
        runs: done,
        runs_below_convex: below,
        race: None,
        notes,
    };
    report.race = Race::of(&report.convex, &report.runs);
    Ok(Comparison::TwoLayer(report))
}

/// The convex side of [`OtherComparison`].
#[derive(Debug, Clone, Serialize)]
pub struct OtherConvex {
    /// Convex optimum (or the upper bound a network attains).
    pub objective: f64,
    /// The recovered network's own objective.
    pub network_objective: f64,
    /// Certified lower bound.
    pub lower_bound: f64,
    /// Whether `objective` is the global optimum.
    pub exact: bool,
    /// Units of the recovered network.
    pub filters: usize,
    /// Seconds of the fit.
    pub seconds: f64,
}

/// One full-batch Adam run of [`OtherComparison`].
#[derive(Debug, Clone, Serialize)]
pub struct OtherRun {
    /// Seed of the initialization.
    pub seed: u64,
    /// Units.
    pub width: usize,
    /// `adam (full batch)`.
    pub optimizer: &'static str,
    /// Iterations.
    pub iterations: usize,
    /// Learning rate.
    pub lr: f64,
    /// Final objective (the network's own).
    pub objective: f64,
    /// Units with non-zero weight at the end.
    pub filters: usize,
    /// Training seconds.
    pub seconds: f64,
}

/// A comparison through the [`Architecture`] interface (architectures other than the global
/// two-layer CNN).
#[derive(Debug, Clone, Serialize)]
pub struct OtherComparison {
    /// The architecture in words.
    pub arch: String,
    /// Its implicit convex regularizer.
    pub regularizer: String,
    /// Data source.
    pub data: String,
    /// Samples.
    pub n: usize,
    /// The convex fit.
    pub convex: OtherConvex,
    /// The non-convex runs.
    pub runs: Vec<OtherRun>,
    /// The lowest objective of the runs.
    pub best_nonconvex: f64,
    /// Runs below the certified lower bound (0 unless something is wrong).
    pub runs_below_lower_bound: usize,
    /// Which number is which.
    pub notes: Vec<String>,
}

/// `compare` through the architecture interface: the convex fit, then full-batch Adam from
/// `restarts` seeds at each width for `epochs` steps at `lr`.
fn compare_other(
    c: &CompareSettings,
    arch: &dyn Architecture,
    ds: &Dataset,
    source: &str,
    convex: &mut dyn Observer,
    progress: &mut dyn RunsObserver,
) -> Result<OtherComparison> {
    let y = ds.scalar_targets()?;
    let widths = if c.widths.is_empty() {
        vec![1, 4]
    } else {
        c.widths.clone()
    };
    if widths.contains(&0) || c.epochs == 0 {
        return Err(Error::param(
            "width",
            "widths and --epochs must be at least 1",
        ));
    }
    let lr = c.lr.unwrap_or(1e-2);
    if !(lr > 0.0 && lr.is_finite()) {
        return Err(Error::param("lr", format!("must be positive, got {lr}")));
    }
    let fitted = arch.fit(ds, convex)?;
    let fit = fitted.report.convex();
    let model = fitted.model;
    progress.start(widths.len() * c.restarts, c.epochs);
    let mut runs = Vec::new();
    let mut below = 0;
    for &width in &widths {
        for k in 0..c.restarts {
            let seed = c.first_seed + k as u64;
            let s = FullBatchSettings {
                width,
                iters: c.epochs,
                lr,
                seed,
            };
            let t = std::time::Instant::now();
            let net = arch.nonconvex(ds, &y, &s)?;
            let objective = net.objective(ds, &y)?;
            let seconds = t.elapsed().as_secs_f64();
            let last = EpochRecord {
                epoch: c.epochs,
                seconds,
                objective,
                train_accuracy: f64::NAN,
                test_accuracy: None,
            };
            progress.epoch(runs.len(), &last, c.epochs);
            // Only an exact optimum (or the certified lower bound) bounds every network.
            if objective < fit.lower_bound * (1.0 - 1e-6) {
                below += 1;
            }
            runs.push(OtherRun {
                seed,
                width,
                optimizer: "adam (full batch)",
                iterations: c.epochs,
                lr,
                objective,
                filters: net.width(),
                seconds,
            });
        }
    }
    progress.finish();
    let best = runs
        .iter()
        .map(|r| r.objective)
        .fold(f64::INFINITY, f64::min);
    Ok(OtherComparison {
        arch: arch.name(),
        regularizer: arch.regularizer().to_string(),
        data: source.to_string(),
        n: y.len(),
        convex: OtherConvex {
            objective: fit.objective,
            network_objective: fit.network_objective,
            lower_bound: fit.lower_bound,
            exact: fit.exact,
            filters: model.width(),
            seconds: fit.seconds,
        },
        runs,
        best_nonconvex: best,
        runs_below_lower_bound: below,
        notes: vec!["objectives: loss summed over the samples + the architecture's penalty, the scale of `cvxcnn train`'s report; no run can go below lower_bound (a certified bound), and runs_below_lower_bound counts any that did".into()],
    })
}
