//! `cvxcnn train`: flags → a validated architecture → fit (convex program, recovery,
//! certificate) → report and model files → summary. The same road for every architecture.

use crate::args::TrainArgs;
use crate::flags::{architecture, load, set_threads, two_classes};
use crate::output::print_summary;
use crate::progress::Progress;
use cvxcnn::arch::ModelInfo;
use cvxcnn::export::{
    check_output_dir, fit_files, model_json, recover_interrupted, write_dir_atomically, OutputLock,
};
use cvxcnn::Result;
use std::path::PathBuf;

/// Runs `cvxcnn train`; returns the exit code: 0, or 3 when the solver claimed success but
/// the recovered network and the certificate disagree (status `inaccurate`; the result is
/// written) and `--allow-inaccurate` was not given.
pub(crate) fn cmd_train(a: TrainArgs) -> Result<i32> {
    set_threads(a.threads)?;
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("cvxcnn-out"));
    // Before any data is read or solved: where the result goes must be able to take it.
    for done in recover_interrupted(&out)? {
        eprintln!("note: {done}");
    }
    check_output_dir(&out)?;
    // One run at a time on this directory (released when the command ends).
    let _claim = OutputLock::acquire(&out)?;
    let ds = load(&a.data)?;
    let arch = architecture(&a, &ds)?;
    let mut progress = Progress::new(a.quiet);
    let fit = arch.fit(&ds, &mut progress);
    progress.finish();
    let mut fit = fit?;
    fit.report.data = a.data.data.clone();
    let mut files = fit_files(&fit)?;
    // A scalar output trained on two chosen classes: model.json names them, so that `predict`
    // prints the labels and `eval` reads labelled data.
    if let Some((neg, pos)) = two_classes(&a.data)? {
        if fit.model.outputs() == 1 && files.iter().any(|(k, _)| k == "model.safetensors") {
            files.retain(|(k, _)| k != "model.json");
            files.push(model_json(&ModelInfo::two_classes(neg, pos))?);
        }
    }
    write_dir_atomically(&out, &files)?;
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
    Ok(
        if fit.report.status == "inaccurate" && !a.allow_inaccurate {
            3
        } else {
            0
        },
    )
}
