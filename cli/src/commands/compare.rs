//! `cvxcnn compare`: the convex fit beside non-convex restarts (SGD/Adam) of the same network on
//! the same objective, as a table, compare.json and plots. The two-layer CNN with global pooling
//! uses the minibatch trainer (train/test split, accuracies); every other architecture its own
//! full-batch Adam baseline through the [`Architecture`] interface.

use crate::args::{Arch, CompareArgs, Head, OptimizerArg, ScheduleArg, TrainArgs};
use crate::compare::{CompareReport, ConvexSummary, Race, RunSummary};
use crate::flags::{architecture, classifier, load, set_threads, two_layer, wants_classifier};
use crate::plot::{render_png, render_svg};
use crate::progress::{Progress, RunBar};
use cvxcnn::arch::traits::{CertificateScope, Model};
use cvxcnn::arch::two_layer::classifier::FirstOrder;
use cvxcnn::arch::two_layer::classify::labels_of;
use cvxcnn::arch::{Architecture, BetaChoice, Classifier};
use cvxcnn::data::{Dataset, Targets};
use cvxcnn::export::{check_output_dir, recover_interrupted, write_dir_atomically, OutputLock};
use cvxcnn::loss::{accuracy, one_hot, Loss};
use cvxcnn::nonconvex::{
    accuracy_against, to_network, train_nonconvex, FullBatchSettings, NonconvexData,
    NonconvexSettings, OptimizerKind, Schedule,
};
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::program::Pooling;
use cvxcnn::{Error, Result};
use std::path::PathBuf;

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
fn convex_scalar(a: &TrainArgs, ds: Dataset) -> Result<Side> {
    let classes = matches!(ds.targets, Targets::Classes(_)) || a.data.classes.is_some();
    let arch = two_layer(a, &ds)?;
    // Targets before the split, so that a test part with one class keeps its ±1 coding.
    let mut ds = ds;
    ds.targets = Targets::Real(ds.scalar_targets()?);
    let (train_ds, test_ds) = ds.split(a.test_fraction, a.seed)?;
    let y = train_ds.scalar_targets()?;
    let y_test = test_ds.scalar_targets()?;
    let mut progress = Progress::new(a.quiet);
    let fit = arch.fit(&train_ds, &mut progress);
    progress.finish();
    let fit = fit?;
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
fn convex_classifier(a: &TrainArgs, ds: Dataset) -> Result<Side> {
    let arch = classifier(a, &ds)?;
    let beta = match &arch.betas {
        BetaChoice::List(b) if b.len() == 1 => b[0],
        _ => {
            return Err(Error::param(
                "--beta",
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
    let mut progress = Progress::new(a.quiet);
    let fit = inner.fit(&data.train, &mut progress);
    progress.finish();
    let fit = fit?;
    let model = fit.model.as_ref();
    if model.tensors()?.is_none() {
        return Err(Error::param(
            "--solver",
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
fn timing(r: &cvxcnn::Report, key: &str) -> f64 {
    r.details
        .get("timings")
        .and_then(|t| t.get(key))
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

/// The classifier solver's checks, in seconds since the fit began: the report's
/// `solver_history` counts from the start of the solve, which began after everything but the
/// solve, recovery and certificates.
fn trajectory(r: &cvxcnn::Report) -> Vec<(f64, f64, f64)> {
    let offset = r.seconds - timing(r, "solve") - timing(r, "recovery") - timing(r, "certificate");
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
    if a.head == Some(Head::Shared) && a.windows.is_none() {
        return Err(Error::param(
            "--head",
            "compare trains shared-filter networks with --windows W in builds with --features sdp only (cvxcnn train --head shared)",
        ));
    }
    if matches!(a.head, Some(Head::L1)) && a.windows.is_none() {
        return Err(Error::param(
            "--head",
            "--head l1 needs --windows W (the local pooling window)",
        ));
    }
    let out_dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("cvxcnn-compare"));
    for done in recover_interrupted(&out_dir)? {
        eprintln!("note: {done}");
    }
    check_output_dir(&out_dir)?;
    // One run at a time on this directory (released when the command ends).
    let _claim = OutputLock::acquire(&out_dir)?;
    let ds = load(&a.data)?;
    let global_two_layer =
        a.arch == Arch::TwoLayer && a.windows.is_none() && a.head != Some(Head::Shared);
    if !global_two_layer {
        let arch = architecture(a, &ds)?;
        return compare_generic(&c, arch.as_ref(), &ds);
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
        vec![side.widest.max(2)]
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
    let bar = RunBar::shared(plan.len() * c.epochs, a.quiet);
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
        race: None,
        notes,
    };
    report.race = Race::of(&report.convex, &report.runs);
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
    if let Some(race) = &r.race {
        println!(
            "time to the best non-convex objective {:.6e}: seed {} {:.2} s; convex {}",
            race.target_objective,
            race.best_run_seed,
            race.nonconvex_seconds,
            match race.convex_seconds {
                Some(t) => format!("{t:.2} s (from the start of its fit)"),
                None => "not reached".to_string(),
            }
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

/// `compare` through the architecture interface: the convex fit, then full-batch Adam from
/// `--restarts` seeds at each `--width` for `--epochs` steps at `--lr`; writes compare.json.
pub(crate) fn compare_generic(
    c: &CompareArgs,
    arch: &dyn Architecture,
    ds: &Dataset,
) -> Result<()> {
    let a = &c.train;
    let y = ds.scalar_targets()?;
    let widths = if c.width.is_empty() {
        vec![1, 4]
    } else {
        c.width.clone()
    };
    if widths.contains(&0) || c.epochs == 0 {
        return Err(Error::param(
            "--width",
            "widths and --epochs must be at least 1",
        ));
    }
    let lr = c.lr.unwrap_or(1e-2);
    if !(lr > 0.0 && lr.is_finite()) {
        return Err(Error::param("--lr", format!("must be positive, got {lr}")));
    }
    let mut progress = Progress::new(a.quiet);
    let fitted = arch.fit(ds, &mut progress);
    progress.finish();
    let fitted = fitted?;
    let fit = fitted.report.convex();
    let model = fitted.model;
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
            let secs = t.elapsed().as_secs_f64();
            // Only an exact optimum (or the certified lower bound) bounds every network.
            if objective < fit.lower_bound * (1.0 - 1e-6) {
                below += 1;
            }
            runs.push(serde_json::json!({
                "seed": seed, "width": width, "optimizer": "adam (full batch)",
                "iterations": c.epochs, "lr": lr, "objective": objective,
                "filters": net.width(), "seconds": secs,
            }));
        }
    }
    let best = runs
        .iter()
        .filter_map(|r| r["objective"].as_f64())
        .fold(f64::INFINITY, f64::min);
    let report = serde_json::json!({
        "arch": arch.name(), "regularizer": arch.regularizer(), "data": a.data.data,
        "n": y.len(),
        "convex": {
            "objective": fit.objective, "network_objective": fit.network_objective,
            "lower_bound": fit.lower_bound, "exact": fit.exact, "filters": model.width(),
            "seconds": fit.seconds,
        },
        "runs": runs,
        "best_nonconvex": best,
        "runs_below_lower_bound": below,
        "notes": ["objectives: loss summed over the samples + the architecture's penalty, the scale of `cvxcnn train`'s report; no run can go below lower_bound (a certified bound), and runs_below_lower_bound counts any that did"],
    });
    let json =
        serde_json::to_vec_pretty(&report).map_err(|e| Error::Solver(format!("report: {e}")))?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("cvxcnn-compare"));
    write_dir_atomically(&out, &[("compare.json", json)])?;
    if !a.quiet {
        println!(
            "{} (regularizer: {}), n = {}",
            arch.name(),
            arch.regularizer(),
            y.len()
        );
        println!(
            "convex          {:.10}  ({}; network {:.10}, lower bound {:.10}, {:.2} s)",
            fit.objective,
            if fit.exact {
                "global optimum"
            } else {
                "not certified global"
            },
            fit.network_objective,
            fit.lower_bound,
            fit.seconds
        );
        // For bracketed fits the refined network, not the upper bound, is the convex side's best.
        let reference = fit.objective.min(fit.network_objective);
        println!("| width | seed | objective | / convex side |");
        println!("|---|---|---|---|");
        for r in report["runs"].as_array().into_iter().flatten() {
            let v = r["objective"].as_f64().unwrap_or(f64::NAN);
            println!(
                "| {} | {} | {v:.10} | {:.6} |",
                r["width"],
                r["seed"],
                v / reference
            );
        }
        println!("best non-convex {best:.10}; runs below the lower bound: {below}");
        println!("written         {}/compare.json", out.display());
    }
    Ok(())
}
