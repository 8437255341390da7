//! `cvxcnn compare`: the convex solve beside non-convex restarts (SGD/Adam) of the same network
//! on the same data and objective; a table, compare.json and plots.

use crate::classify_cmd::SolveBar;
use crate::cli::{
    classifier_setup, load, scalar_config, set_threads, wants_classifier, Progress, TrainArgs,
};
use crate::compare::{CompareReport, ConvexSummary, RunSummary};
use crate::plot::{render_png, render_svg};
use clap::{Args, ValueEnum};
use cvxcnn::arch::two_layer::classifier::{prepare_with, solve_prepared, FirstOrder};
use cvxcnn::arch::two_layer::train::train;
use cvxcnn::data::{Dataset, Targets};
use cvxcnn::export::write_dir_atomically;
use cvxcnn::loss::{accuracy, one_hot, Loss};
use cvxcnn::network::TwoLayerCnn;
use cvxcnn::nonconvex::{
    accuracy_against, to_network, train_nonconvex, EpochObserver, EpochRecord, NonconvexData,
    NonconvexSettings, OptimizerKind, Schedule,
};
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::program::Pooling;
use cvxcnn::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum OptimizerArg {
    /// SGD with heavy-ball momentum (--momentum).
    Sgd,
    /// Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8).
    Adam,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScheduleArg {
    /// The same learning rate in every epoch.
    Constant,
    /// Cosine annealing to zero over the epochs.
    Cosine,
}

#[derive(Args, Debug)]
pub(crate) struct CompareArgs {
    #[command(flatten)]
    pub(crate) train: TrainArgs,
    /// Non-convex restarts per optimizer and width (seeds --first-seed, --first-seed + 1, …).
    #[arg(long, default_value_t = 5)]
    pub(crate) restarts: usize,
    /// Optimizers: sgd, adam, or both (sgd,adam).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "adam")]
    pub(crate) optimizer: Vec<OptimizerArg>,
    /// Filters per output of the non-convex networks, one or several (4,16,64) [default: the
    /// convex network's largest number of filters on one output, at least 2].
    #[arg(long, value_delimiter = ',')]
    pub(crate) width: Vec<usize>,
    /// Passes over the training data per run.
    #[arg(long, default_value_t = 50)]
    pub(crate) epochs: usize,
    /// Learning rate on the mean objective (loss/n + (β/2n)‖θ‖², PyTorch's convention)
    /// [default: adam 1e-2, sgd 1e-3].
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) lr: Option<f64>,
    /// Minibatch size (0: the whole training set).
    #[arg(long, default_value_t = 64)]
    pub(crate) batch_size: usize,
    /// Momentum of SGD.
    #[arg(long, default_value_t = 0.9, allow_hyphen_values = true)]
    pub(crate) momentum: f64,
    /// Learning-rate schedule.
    #[arg(long, value_enum, default_value = "constant")]
    pub(crate) schedule: ScheduleArg,
    /// Scale of the random initialisation (filters N(0, s²/h), output weights N(0, s²/m)).
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    pub(crate) init_scale: f64,
    /// Seed of the first restart.
    #[arg(long, default_value_t = 0)]
    pub(crate) first_seed: u64,
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
    convex_net: TwoLayerCnn,
}

/// The convex solve of the scalar-output program (interior point) on the training part.
fn convex_scalar(a: &TrainArgs, ds: Dataset) -> Result<Side> {
    let classes = matches!(ds.targets, Targets::Classes(_)) || a.data.classes.is_some();
    let (cfg, beta, pattern_text) = scalar_config(a, &ds)?;
    // Targets before the split, so that a test part with one class keeps its ±1 coding.
    let mut ds = ds;
    ds.targets = Targets::Real(ds.scalar_targets()?);
    let (train_ds, test_ds) = ds.split(a.test_fraction, a.seed)?;
    let y = train_ds.scalar_targets()?;
    let y_test = test_ds.scalar_targets()?;
    let mut progress = Progress::new(a.quiet);
    let o = train(&train_ds, &y, &cfg, &mut progress);
    progress.finish();
    let o = o?;
    let acc = |net: &TwoLayerCnn, d: &Dataset, y: &[f64]| -> Result<Option<f64>> {
        if !classes || d.n() == 0 {
            return Ok(None);
        }
        Ok(Some(accuracy_against(&net.predict(&d.x)?, y, d.n(), 1)))
    };
    let convex = ConvexSummary {
        objective: o.objective,
        seconds: o.seconds,
        train_accuracy: acc(&o.network, &train_ds, &y)?,
        test_accuracy: acc(&o.network, &test_ds, &y_test)?,
        filters: o.network.width(),
        exact: pattern_text == "exact",
        relative_gap: o.certificate.relative_gap,
        solver: "ipm".into(),
    };
    Ok(Side {
        train: train_ds,
        test: test_ds,
        y,
        y_test,
        outputs: 1,
        loss: Loss::Squared,
        beta,
        spec: cfg.spec,
        pool: cfg.pool,
        classes,
        convex,
        convex_net: o.network,
    })
}

/// The convex solve of the classifier program (first-order) on the training part.
fn convex_classifier(a: &TrainArgs, ds: Dataset) -> Result<Side> {
    let s = classifier_setup(a, ds)?;
    if s.betas.len() != 1 {
        return Err(Error::param(
            "--beta",
            "compare takes one value of β (the non-convex runs need one objective)",
        ));
    }
    let mut cfg = s.cfg;
    cfg.beta = s.betas[0];
    let index = |d: &Dataset| -> Result<Vec<usize>> {
        d.class_index_with(&s.classes)?
            .into_iter()
            .enumerate()
            .map(|(t, c)| c.ok_or_else(|| Error::Data(format!("sample {t}: unknown label"))))
            .collect()
    };
    let labels = index(&s.train)?;
    let test_labels = index(&s.test)?;
    let c = s.classes.len();
    let prep = prepare_with(&s.train, &labels, c, &cfg, s.gates.as_deref())?;
    let total = match cfg.solver {
        FirstOrder::Gated => cvxcnn::arch::two_layer::classifier::gated_limits(&cfg.al).max_iter,
        _ => cfg.al.limits.max_iter,
    };
    let mut bar = SolveBar::new(total, a.quiet, "convex");
    let o = solve_prepared(&prep, &s.train, &labels, &cfg, None, &mut bar);
    bar.finish();
    let o = o?;
    let net = o.network.clone().ok_or_else(|| {
        Error::param(
            "--solver",
            "the gated relaxation is not a ReLU network; compare needs proj or al",
        )
    })?;
    let test_accuracy = if s.test.n() > 0 {
        Some(accuracy(&net.predict(&s.test.x)?, &test_labels))
    } else {
        None
    };
    let convex = ConvexSummary {
        objective: o.objective,
        seconds: o.seconds,
        train_accuracy: Some(o.train_accuracy),
        test_accuracy,
        filters: o.filters,
        exact: false,
        relative_gap: o.certificate.relative_gap,
        solver: match cfg.solver {
            FirstOrder::Projected => "proj".into(),
            FirstOrder::AugmentedLagrangian => "al".into(),
            FirstOrder::Gated => "gated".into(),
        },
    };
    Ok(Side {
        y: one_hot(&labels, c),
        y_test: one_hot(&test_labels, c),
        train: s.train,
        test: s.test,
        outputs: c,
        loss: cfg.loss,
        beta: cfg.beta,
        spec: cfg.spec,
        pool: cfg.pool,
        classes: true,
        convex,
        convex_net: net,
    })
}

/// One bar over all epochs of all runs.
struct RunBar {
    bar: Option<ProgressBar>,
    base: u64,
}

impl EpochObserver for RunBar {
    fn epoch(&mut self, r: &EpochRecord, _total: usize) -> bool {
        if let Some(b) = &self.bar {
            b.set_position(self.base + r.epoch as u64);
            b.set_message(format!("objective {:.6e}", r.objective));
        }
        true
    }
}

fn widest_output(net: &TwoLayerCnn) -> usize {
    let m = net.width();
    let c = net.outputs.max(1);
    (0..c)
        .map(|o| (0..m).filter(|&j| net.weights[o * m + j] != 0.0).count())
        .max()
        .unwrap_or(0)
}

fn pct(a: Option<f64>) -> String {
    a.map_or("-".into(), |v| format!("{:.2}%", 100.0 * v))
}

/// The settings of every run: optimizers × widths × restarts, each validated.
fn plan_runs(c: &CompareArgs, widths: &[usize]) -> Result<Vec<NonconvexSettings>> {
    let mut plan = Vec::new();
    for opt in &c.optimizer {
        let (kind, lr) = match opt {
            OptimizerArg::Adam => (OptimizerKind::Adam, c.lr.unwrap_or(1e-2)),
            OptimizerArg::Sgd => (OptimizerKind::Sgd, c.lr.unwrap_or(1e-3)),
        };
        for &width in widths {
            for r in 0..c.restarts {
                let s = NonconvexSettings {
                    optimizer: kind,
                    width,
                    epochs: c.epochs,
                    lr,
                    schedule: match c.schedule {
                        ScheduleArg::Constant => Schedule::Constant,
                        ScheduleArg::Cosine => Schedule::Cosine,
                    },
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

/// Runs `cvxcnn compare`.
pub(crate) fn cmd_compare(c: CompareArgs) -> Result<()> {
    let a = &c.train;
    set_threads(a.threads)?;
    if c.restarts == 0 {
        return Err(Error::param("--restarts", "must be at least 1"));
    }
    if a.head == Some(crate::cli::Head::Shared) && (a.windows.is_none() || !cfg!(feature = "sdp")) {
        return Err(Error::param(
            "--head",
            "compare trains shared-filter networks with --windows W in builds with --features sdp only (cvxcnn train --head shared)",
        ));
    }
    if matches!(a.head, Some(crate::cli::Head::L1)) && a.windows.is_none() {
        return Err(Error::param(
            "--head",
            "--head l1 needs --windows W (the local pooling window)",
        ));
    }
    let ds = load(&a.data)?;
    if let Some(arch) = crate::arch_cmd::architecture(a, &ds)? {
        return crate::arch_cmd::compare_generic(&c, arch.as_ref(), &ds);
    }
    // Bad non-convex settings fail before the convex solve, not after it.
    let given: Vec<usize> = if c.width.is_empty() {
        vec![1]
    } else {
        c.width.clone()
    };
    plan_runs(&c, &given)?;
    let source = a.data.data.clone();
    let side = if wants_classifier(a, &ds) {
        convex_classifier(a, ds)?
    } else {
        convex_scalar(a, ds)?
    };
    let widths = if c.width.is_empty() {
        vec![widest_output(&side.convex_net).max(2)]
    } else {
        c.width.clone()
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
        pool: cvxcnn::nonconvex::PoolOp::of(side.pool, patches.k),
        test: test_patches.as_ref().map(|p| (p, side.y_test.as_slice())),
    };
    let plan = plan_runs(&c, &widths)?;
    let bar = (!a.quiet).then(|| {
        let b = ProgressBar::new((plan.len() * c.epochs) as u64);
        b.set_style(
            ProgressStyle::with_template(
                "non-convex [{elapsed_precise}] {bar:30} {pos}/{len} epochs {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    });
    let convex_obj = side.convex.objective;
    let mut runs = Vec::with_capacity(plan.len());
    for (i, s) in plan.iter().enumerate() {
        let mut obs = RunBar {
            bar: bar.clone(),
            base: (i * c.epochs) as u64,
        };
        let r = train_nonconvex(&data, s, &mut obs)?;
        let net = to_network(&r.params, side.train.shape, side.spec, side.pool);
        // The final objective from the standard network's own forward pass.
        let objective = net.objective_with(side.loss, &side.train.x, &side.y, side.beta)?;
        runs.push(RunSummary::new(&r, s, objective, convex_obj, side.classes));
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let below = CompareReport::below(&runs, convex_obj, 1e-6);
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
        data: source,
        n_train: side.train.n(),
        n_test: side.test.n(),
        outputs: side.outputs,
        loss: side.loss.name(),
        pool: side.pool.name(),
        beta: side.beta,
        spec: side.spec,
        convex: side.convex,
        runs,
        runs_below_convex: below,
        notes,
    };
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("cvxcnn-compare"));
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut plot_error = None;
    let size = (900, 560);
    let accuracy = report.accuracy_plot();
    let has_accuracy = accuracy.is_some();
    let plots = [
        (
            "objective.png",
            "objective.svg",
            Some(report.objective_plot()),
        ),
        ("accuracy.png", "accuracy.svg", accuracy),
    ];
    for (png_name, svg_name, spec) in plots {
        let Some(spec) = spec else { continue };
        match (render_png(&spec, size), render_svg(&spec, size)) {
            (Ok(png), Ok(svg)) => {
                files.push((png_name, png));
                files.push((svg_name, svg.into_bytes()));
            }
            (Err(e), _) | (_, Err(e)) => plot_error = Some(e.to_string()),
        }
    }
    if let Some(e) = &plot_error {
        report.notes.push(format!(
            "plots not written: {e} (is a sans-serif font installed?)"
        ));
    }
    let json =
        serde_json::to_vec_pretty(&report).map_err(|e| Error::Solver(format!("report: {e}")))?;
    files.push(("compare.json", json));
    write_dir_atomically(&out, &files)?;
    if let Some(e) = &plot_error {
        eprintln!("warning: plots not written: {e}");
    }
    if !a.quiet {
        print_table(&report);
        println!(
            "written  {}/ (compare.json{})",
            out.display(),
            if plot_error.is_none() {
                if has_accuracy {
                    ", objective.png/.svg, accuracy.png/.svg"
                } else {
                    ", objective.png/.svg"
                }
            } else {
                ""
            }
        );
    }
    Ok(())
}

fn print_table(r: &CompareReport) {
    println!(
        "two-layer CNN, {} outputs, {} pooling, β = {}, {} loss; n = {} train / {} test",
        r.outputs, r.pool, r.beta, r.loss, r.n_train, r.n_test
    );
    println!(
        "{:<18} {:>6} {:>16} {:>10} {:>8} {:>8} {:>9}",
        "run", "width", "objective", "vs convex", "train", "test", "seconds"
    );
    let c = &r.convex;
    println!(
        "{:<18} {:>6} {:>16.10e} {:>10} {:>8} {:>8} {:>9.2}",
        format!("convex ({})", c.solver),
        c.filters,
        c.objective,
        if c.exact { "optimum" } else { "sampled" },
        pct(c.train_accuracy),
        pct(c.test_accuracy),
        c.seconds
    );
    for run in &r.runs {
        let excess = if (100.0 * run.excess).abs() < 1e5 {
            format!("{:+.3}%", 100.0 * run.excess)
        } else {
            format!("{:+.1e}", run.excess)
        };
        println!(
            "{:<18} {:>6} {:>16.10e} {:>10} {:>8} {:>8} {:>9.2}{}",
            format!("{} seed {}", run.optimizer, run.seed),
            run.width,
            run.objective,
            excess,
            pct(run.train_accuracy),
            pct(run.test_accuracy),
            run.seconds,
            match run.status {
                cvxcnn::nonconvex::RunStatus::Completed => "",
                cvxcnn::nonconvex::RunStatus::Diverged => "  diverged (lower --lr)",
                cvxcnn::nonconvex::RunStatus::Stopped => "  stopped",
            }
        );
    }
    if !r.runs.is_empty() {
        let best = r
            .runs
            .iter()
            .map(|x| x.objective)
            .fold(f64::INFINITY, f64::min);
        println!(
            "best non-convex objective {:.10e} ({:+.3}% vs convex); width column: filters per output (convex: filters in all)",
            best,
            100.0 * (best - c.objective) / c.objective.abs()
        );
    }
    if !r.runs_below_convex.is_empty() {
        println!(
            "runs below the convex objective (seeds {:?}): {}",
            r.runs_below_convex,
            if c.exact {
                "this should not happen with exact patterns; please report it"
            } else {
                "possible: the convex program used sampled patterns only"
            }
        );
    }
}
