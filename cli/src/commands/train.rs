//! `cvxcnn train`: flags → a validated architecture → fit (convex program, recovery,
//! certificate) → report and model files → summary. The same road for every architecture.
//! A long solve writes checkpoints beside `--out`; `--resume OUT` continues it.

use crate::args::{Cli, Command, TrainArgs, TrainCmd};
use crate::flags::{load, set_threads, settings, two_classes};
use crate::interrupts;
use crate::output::print_summary;
use crate::progress::Progress;
use clap::Parser;
use cvxcnn::export::{
    check_output_dir, checkpoint_path, fit_files_with_classes, recover_interrupted,
    write_dir_atomically, OutputLock,
};
use cvxcnn::settings::CheckpointSettings;
use cvxcnn::solver::checkpoint::Checkpoint;
use cvxcnn::{Error, Result};
use std::path::{Path, PathBuf};

/// What a checkpoint stores of the command that wrote it: its arguments and working directory.
#[derive(serde::Serialize, serde::Deserialize)]
struct Invocation {
    argv: Vec<String>,
    cwd: PathBuf,
}

/// Runs `cvxcnn train`; returns the exit code: 0; 3 when the solver claimed success but the
/// recovered network and the certificate disagree (status `inaccurate`; the result is written)
/// and `--allow-inaccurate` was not given; 4 when it ended before its certificate closed (not
/// converged; the result is written) and `--allow-unconverged` was not given; 130 when a
/// signal stopped it (nothing written).
pub(crate) fn cmd_train(cmd: TrainCmd) -> Result<i32> {
    let every = cmd.checkpoint.checkpoint_every;
    let (a, context, resume) = match &cmd.checkpoint.resume {
        Some(dir) => {
            let (a, context) = resumed(dir, cmd.args.quiet)?;
            (a, context, true)
        }
        None => (cmd.args, invocation()?, false),
    };
    set_threads(a.threads)?;
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("cvxcnn-out"));
    // Before any data is read or solved: where the result goes must be able to take it.
    for done in recover_interrupted(&out)? {
        eprintln!("note: {done}");
    }
    check_output_dir(&out)?;
    // One run at a time on this directory (released when the command ends).
    let _claim = OutputLock::acquire(&out)?;
    let ck = checkpoint_path(&out);
    if !resume && ck.exists() {
        return Err(Error::param(
            "out",
            format!(
                "{} holds the checkpoint of an interrupted run writing {}: continue it with `cvxcnn train --resume {}`, or delete the checkpoint to start afresh",
                ck.display(),
                out.display(),
                out.display()
            ),
        ));
    }
    let ds = load(&a.data)?;
    let mut s = settings(&a);
    s.checkpoint = Some(CheckpointSettings {
        path: ck.clone(),
        every,
        resume,
        context,
    });
    let arch = cvxcnn::settings::architecture(&s, &ds)?;
    let mut progress = Progress::new(a.quiet);
    let fit = arch.fit(&ds, &mut progress);
    progress.finish();
    if interrupts::requested() || matches!(fit, Err(Error::Interrupted)) {
        eprintln!(
            "interrupted: nothing written{}",
            if ck.exists() {
                format!(
                    "; the solve's state is saved in {}: `cvxcnn train --resume {}` continues it",
                    ck.display(),
                    out.display()
                )
            } else {
                String::new()
            }
        );
        return Ok(interrupts::EXIT_INTERRUPTED);
    }
    let mut fit = match fit {
        Ok(f) => f,
        Err(e) => {
            // (A resumed run that fails leaves the checkpoint it was given as it was.)
            if !resume && ck.exists() {
                eprintln!(
                    "note: the solve's last checkpoint stays in {} (`--resume {}` continues from it; delete it to start afresh)",
                    ck.display(),
                    out.display()
                );
            }
            return Err(e);
        }
    };
    fit.report.data = a.data.data.clone();
    // A scalar output trained on two chosen classes: model.json names them, so that `predict`
    // prints the labels and `eval` reads labelled data.
    let files = fit_files_with_classes(&fit, two_classes(&a.data)?)?;
    write_dir_atomically(&out, &files)?;
    // The result holds everything the checkpoint could still give.
    if ck.exists() {
        std::fs::remove_file(&ck).map_err(|e| Error::io(&ck, e))?;
    }
    if fit.report.status == "inaccurate" {
        eprintln!(
            "warning: the solver reported success, but the recovered network is {:.1e} (relative) above the certified bound: the result is not the optimum (is β = {} too small against beta_max?); exit code 3 unless --allow-inaccurate",
            fit.report.relative_gap, fit.report.beta
        );
    }
    if !a.quiet {
        let names: Vec<String> = files.into_iter().map(|(k, _)| k).collect();
        print_summary(&fit.report, &out, &names);
    }
    let r = &fit.report;
    // Bounds-only fits (a circular CNN with L ≥ 4) bracket the optimum by design.
    let unconverged = !r.converged
        && r.status != "inaccurate"
        && r.certificate != cvxcnn::arch::traits::CertificateScope::Bounds;
    if unconverged {
        eprintln!(
            "warning: not converged (status {}): the {}gap {:.2e} is above the tolerance; the result is written, but it is not the optimum it would certify{}; exit code 4 unless --allow-unconverged",
            r.status,
            if r.certificate == cvxcnn::arch::traits::CertificateScope::Restricted {
                "restricted "
            } else {
                ""
            },
            r.relative_gap,
            if r.status == "max_time" {
                " (the time limit ran out: raise --time-limit)"
            } else {
                ""
            }
        );
    }
    Ok(if r.status == "inaccurate" && !a.allow_inaccurate {
        3
    } else if unconverged && !a.allow_unconverged {
        4
    } else {
        0
    })
}

/// This command's arguments and working directory, as JSON (the checkpoint's context).
fn invocation() -> Result<String> {
    let inv = Invocation {
        argv: std::env::args_os()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        cwd: std::env::current_dir().map_err(|e| Error::io(Path::new("."), e))?,
    };
    serde_json::to_string(&inv).map_err(|e| Error::Solver(format!("checkpoint context: {e}")))
}

/// The flags of the run whose checkpoint lies beside `dir`, writing `dir` (made absolute and
/// run from the original working directory, so that relative data paths still resolve), and
/// the checkpoint's context (kept for the checkpoints of the continued run).
fn resumed(dir: &Path, quiet: bool) -> Result<(TrainArgs, String)> {
    // Only --resume, --quiet and --checkpoint-every go with --resume: every other choice is the
    // original run's.
    let mut rest = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .skip_while(|a| a != "train")
        .skip(1);
    while let Some(arg) = rest.next() {
        let name = arg.split('=').next().unwrap_or("");
        match name {
            "--quiet" => {}
            "--resume" | "--checkpoint-every" => {
                if !arg.contains('=') {
                    rest.next();
                }
            }
            _ => {
                return Err(Error::param(
                    "resume",
                    format!(
                        "continues a run with the flags it was started with; {arg} cannot be given with it (start a new run to change it)"
                    ),
                ))
            }
        }
    }
    let ck = checkpoint_path(dir);
    if !ck.is_file() {
        return Err(Error::param(
            "resume",
            format!(
                "no checkpoint {} of a run writing {}: nothing to continue (a run's checkpoint is removed once its result is written)",
                ck.display(),
                dir.display()
            ),
        ));
    }
    let context = Checkpoint::read(&ck)?.context;
    let inv: Invocation = serde_json::from_str(&context).map_err(|e| {
        Error::format(
            &ck,
            format!("the checkpoint does not say which command wrote it ({e})"),
        )
    })?;
    let out = std::path::absolute(dir).map_err(|e| Error::io(dir, e))?;
    if inv.cwd.is_dir() {
        std::env::set_current_dir(&inv.cwd).map_err(|e| Error::io(&inv.cwd, e))?;
    }
    let argv = std::iter::once("cvxcnn".to_string()).chain(inv.argv);
    let cli = Cli::try_parse_from(argv).map_err(|e| {
        Error::format(
            &ck,
            format!(
                "the command that wrote it does not parse: {}",
                e.to_string().lines().next().unwrap_or("")
            ),
        )
    })?;
    let Command::Train(t) = cli.command else {
        return Err(Error::format(&ck, "it was not written by `cvxcnn train`"));
    };
    if t.checkpoint.resume.is_some() {
        return Err(Error::format(
            &ck,
            "it names a resumed run, not the original",
        ));
    }
    let mut a = t.args;
    a.out = Some(out);
    a.quiet = a.quiet || quiet;
    Ok((a, context))
}
