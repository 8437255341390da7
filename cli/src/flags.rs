//! Flag text → library values: the flags of `train` and `compare` become a
//! [`cvxcnn::settings::Settings`], which the library turns into the one validated
//! [`Architecture`] a run fits (the Python bindings fill the same struct); data selection
//! (`--classes`, `--limit`), worker threads and error display stay here.

use crate::args::{
    Also, Arch, Cli, DataArgs, Head, Loss, Normalize, PatchArgs, Pool, SolverArg, TrainArgs,
};
use cvxcnn::data::{read_any, Dataset};
use cvxcnn::patches::PatchSpec;
use cvxcnn::settings::{self, PatchSettings, Settings};
use cvxcnn::{Error, Result};

pub(crate) use cvxcnn::settings::parse_patterns;
/// An error as the command line shows it: the library names values (`kernel`, `test_fraction`);
/// where such a name is one of the command's flags, it is shown as the flag (`--kernel`).
pub fn describe(e: &Error) -> String {
    match e {
        Error::Parameter { name, msg } if !name.starts_with('-') => {
            let long = name.replace('_', "-");
            if is_flag(&long) {
                format!("--{long}: {msg}")
            } else {
                e.to_string()
            }
        }
        _ => e.to_string(),
    }
}

/// Whether `long` is the long name of a flag of some subcommand.
fn is_flag(long: &str) -> bool {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let found = cmd
        .get_subcommands()
        .flat_map(|s| s.get_arguments())
        .any(|a| a.get_long() == Some(long));
    found
}

/// `--classes A,B`: the two labels.
pub(crate) fn two_classes(d: &DataArgs) -> Result<Option<(i64, i64)>> {
    d.classes
        .as_deref()
        .map(settings::parse_classes)
        .transpose()
}

pub(crate) fn load(d: &DataArgs) -> Result<Dataset> {
    let pair = two_classes(d)?;
    let ds = read_any(&d.data, d.labels.as_deref())?;
    let ds = match pair {
        Some((a, b)) => ds.binary(a, b)?,
        None => ds,
    };
    let ds = match d.limit {
        Some(0) => return Err(Error::param("--limit", "must be at least 1")),
        Some(l) => ds.head(l),
        None => ds,
    };
    Ok(ds)
}

/// Applies `--threads` to the global rayon pool.
pub(crate) fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(t) = threads {
        // More threads than this only costs memory and start-up time (and 100,000 of them
        // exhaust the process's limits).
        const MOST: usize = 1024;
        if t == 0 || t > MOST {
            return Err(Error::param(
                "--threads",
                format!("must be between 1 and {MOST}, got {t}"),
            ));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| Error::param("--threads", format!("{t} worker threads: {e}")))?;
    }
    Ok(())
}

/// The library's geometry settings for the patch flags.
fn patch_settings(p: &PatchArgs) -> PatchSettings {
    PatchSettings {
        kernel: p.kernel.clone(),
        stride: p.stride.clone(),
        padding: p.padding.clone(),
        bias: p.bias,
        no_bias: p.no_bias,
    }
}

/// Every choice of `train` (and the convex side of `compare`) as the library's settings.
pub(crate) fn settings(a: &TrainArgs) -> Settings {
    Settings {
        arch: match a.arch {
            Arch::TwoLayer => settings::Arch::TwoLayer,
            Arch::Circular => settings::Arch::Circular,
            Arch::Linear => settings::Arch::Linear,
            Arch::ThreeLayer => settings::Arch::ThreeLayer,
        },
        pool: match a.pool {
            Pool::Sum => settings::Pool::Sum,
            Pool::Avg => settings::Pool::Avg,
            Pool::Max => settings::Pool::Max,
        },
        layers: a.layers,
        also: a.also.map(|Also::TwoLayer| settings::Also::TwoLayer),
        path_norm: a.path_norm,
        head: a.head.map(|h| match h {
            Head::Pool => settings::Head::Pool,
            Head::L1 => settings::Head::L1,
            Head::Fc => settings::Head::Fc,
            Head::Shared => settings::Head::Shared,
        }),
        windows: a.windows,
        patch: patch_settings(&a.patch),
        beta: a.beta.clone(),
        patterns: a.patterns.clone(),
        seed: a.seed,
        solver: a.solver.map(|s| match s {
            SolverArg::Ipm => settings::Solver::Ipm,
            SolverArg::Al => settings::Solver::Al,
            SolverArg::Gated => settings::Solver::Gated,
            SolverArg::Proj => settings::Solver::Proj,
            SolverArg::Admm => settings::Solver::Admm,
            SolverArg::Cg => settings::Solver::Cg,
        }),
        loss: match a.loss {
            Loss::Squared => settings::LossChoice::Squared,
            Loss::Ce => settings::LossChoice::Ce,
        },
        test_fraction: a.test_fraction,
        normalize: match a.normalize {
            Normalize::None => settings::Normalize::None,
            Normalize::Standardize => settings::Normalize::Standardize,
        },
        max_iter: a.max_iter,
        inner_iter: a.inner_iter,
        time_limit: a.time_limit,
        fresh: a.fresh,
        certificate_budget: a.certificate_budget,
        polish_rounds: a.polish_rounds,
        pattern_rounds: a.pattern_rounds,
        no_prune: a.no_prune,
        max_exact: a.max_exact,
        max_memory: a.max_memory.clone(),
        tol: a.tol,
        two_classes: a.data.classes.is_some(),
        checkpoint: None,
    }
}

/// The first layer's geometry of the patch flags on `ds`.
pub(crate) fn patch_spec(p: &PatchArgs, ds: &Dataset, classifier: bool) -> Result<PatchSpec> {
    settings::patch_spec(&patch_settings(p), ds, classifier)
}
