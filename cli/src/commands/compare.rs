//! `cvxcnn compare`: flags → the library's [`compare`] → a table, compare.json and plots. The
//! comparison itself (the convex fit, the non-convex runs, the race) lives in the library.

use crate::args::{CompareArgs, OptimizerArg, ScheduleArg};
use crate::compare::{accuracy_plot, objective_plot};
use crate::flags::{load, set_threads, settings};
use crate::plot::{render_png, render_svg};
use crate::progress::{Progress, RunBar};
use cvxcnn::compare::{compare, CompareReport, CompareSettings, Comparison, OtherComparison};
use cvxcnn::export::{check_output_dir, recover_interrupted, write_dir_atomically, OutputLock};
use cvxcnn::nonconvex::{OptimizerKind, RunStatus, Schedule};
use cvxcnn::Result;
use std::path::PathBuf;

/// The non-convex side of the flags.
fn compare_settings(c: &CompareArgs) -> CompareSettings {
    CompareSettings {
        restarts: c.restarts,
        optimizers: c
            .optimizer
            .iter()
            .map(|o| match o {
                OptimizerArg::Adam => OptimizerKind::Adam,
                OptimizerArg::Sgd => OptimizerKind::Sgd,
            })
            .collect(),
        widths: c.width.clone(),
        epochs: c.epochs,
        lr: c.lr,
        batch_size: c.batch_size,
        momentum: c.momentum,
        schedule: match c.schedule {
            ScheduleArg::Constant => Schedule::Constant,
            ScheduleArg::Cosine => Schedule::Cosine,
        },
        init_scale: c.init_scale,
        first_seed: c.first_seed,
    }
}

/// Runs `cvxcnn compare`.
pub(crate) fn cmd_compare(c: CompareArgs) -> Result<()> {
    let a = &c.train;
    set_threads(a.threads)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("cvxcnn-compare"));
    for done in recover_interrupted(&out)? {
        eprintln!("note: {done}");
    }
    check_output_dir(&out)?;
    // One run at a time on this directory (released when the command ends).
    let _claim = OutputLock::acquire(&out)?;
    let ds = load(&a.data)?;
    let mut progress = Progress::new(a.quiet);
    let mut bar = RunBar::new(a.quiet);
    let result = compare(
        &settings(a),
        &compare_settings(&c),
        &ds,
        &a.data.data,
        &mut progress,
        &mut bar,
    );
    progress.finish();
    bar.finish_now();
    match result? {
        Comparison::TwoLayer(report) => write_two_layer(report, &out, a.quiet),
        Comparison::Other(report) => write_other(&report, &out, a.quiet),
    }
}

/// compare.json and the plots of the global two-layer CNN, then its table.
fn write_two_layer(mut report: CompareReport, out: &std::path::Path, quiet: bool) -> Result<()> {
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut plot_error = None;
    let size = (900, 560);
    let accuracy = accuracy_plot(&report);
    let has_accuracy = accuracy.is_some();
    let plots = [
        (
            "objective.png",
            "objective.svg",
            Some(objective_plot(&report)),
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
    let report = Comparison::TwoLayer(report);
    files.push(("compare.json", report.to_json()?));
    write_dir_atomically(out, &files)?;
    if let Some(e) = &plot_error {
        eprintln!("warning: plots not written: {e}");
    }
    if let (false, Comparison::TwoLayer(r)) = (quiet, &report) {
        print_table(r);
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

/// compare.json of another architecture, then its table.
fn write_other(r: &OtherComparison, out: &std::path::Path, quiet: bool) -> Result<()> {
    let json = Comparison::Other(r.clone()).to_json()?;
    write_dir_atomically(out, &[("compare.json", json)])?;
    if quiet {
        return Ok(());
    }
    let fit = &r.convex;
    println!("{} (regularizer: {}), n = {}", r.arch, r.regularizer, r.n);
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
    for run in &r.runs {
        println!(
            "| {} | {} | {:.10} | {:.6} |",
            run.width,
            run.seed,
            run.objective,
            run.objective / reference
        );
    }
    println!(
        "best non-convex {:.10}; runs below the lower bound: {}",
        r.best_nonconvex, r.runs_below_lower_bound
    );
    println!("written         {}/compare.json", out.display());
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
                RunStatus::Completed => "",
                RunStatus::Diverged => "  diverged (lower --lr)",
                RunStatus::Stopped => "  stopped",
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

fn pct(a: Option<f64>) -> String {
    a.map_or("-".into(), |v| format!("{:.2}%", 100.0 * v))
}
