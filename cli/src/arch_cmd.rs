//! The command-line side of [`cvxcnn::arch`]: building an architecture from `train`'s flags, and
//! `compare` for the architectures without a minibatch trainer (local pooling, linear and
//! circular CNNs).

use crate::cli::{parse_beta, parse_patterns, patch_spec, Arch, Head, Pool, TrainArgs};
use crate::compare_cmd::CompareArgs;
use cvxcnn::arch::linear::LinearHead;
use cvxcnn::arch::local_pool::{LocalConfig, WindowPool};
use cvxcnn::arch::{Architecture, Circular, Linear, LocalPool};
use cvxcnn::data::Dataset;
use cvxcnn::export::write_dir_atomically;
use cvxcnn::nonconvex::FullBatchSettings;
use cvxcnn::solver::IpmSettings;
use cvxcnn::{Error, Result};
use std::path::PathBuf;

/// The architecture selected by `--arch`, `--head`, `--windows`, `--pool` and `--layers`, for
/// all but the global-pooling two-layer CNN (which `compare` trains with its minibatch trainer);
/// `None` for that one.
pub(crate) fn architecture(a: &TrainArgs, ds: &Dataset) -> Result<Option<Box<dyn Architecture>>> {
    let beta = parse_beta(a.beta.as_deref().unwrap_or("0.1"))?;
    let ipm = IpmSettings {
        tol: a.tol,
        ..IpmSettings::default()
    };
    Ok(match a.arch {
        Arch::Circular => Some(Box::new(Circular {
            layers: {
                if !ds.shape.one_d || ds.shape.channels != 1 {
                    return Err(Error::param(
                        "--arch",
                        format!(
                            "circular CNNs take single-channel 1-D signals; the data are {}x{}x{}",
                            ds.shape.channels, ds.shape.height, ds.shape.width
                        ),
                    ));
                }
                a.layers
            },
            path_norm: a.path_norm,
            beta,
            ipm,
            seed: a.seed,
        })),
        Arch::Linear => {
            let spec = patch_spec(&a.patch, ds, false)?;
            let head = match a.head.unwrap_or(Head::Pool) {
                Head::Fc => LinearHead::Fc,
                _ => LinearHead::Pool,
            };
            if a.pool == Pool::Max {
                return Err(Error::param("--pool", "linear CNNs take --pool sum or avg"));
            }
            Some(Box::new(Linear {
                spec,
                head,
                average: a.pool == Pool::Avg,
                beta,
            }))
        }
        Arch::ThreeLayer => Some(Box::new(cvxcnn::arch::ThreeLayer {
            spec: patch_spec(&a.patch, ds, false)?,
            beta,
            solver: crate::three_layer_cmd::three_layer_solver(a)?,
            max_blocks: usize::try_from(a.max_exact).unwrap_or(usize::MAX),
            patterns: crate::three_layer_cmd::three_layer_patterns(a)?,
        })),
        Arch::TwoLayer => match a.windows {
            #[cfg(feature = "sdp")]
            Some(window) if a.head == Some(Head::Shared) => {
                Some(Box::new(cvxcnn::arch::SharedLocal {
                    spec: patch_spec(&a.patch, ds, false)?,
                    window,
                    max: match a.pool {
                        Pool::Max => true,
                        Pool::Avg => false,
                        Pool::Sum => {
                            return Err(Error::param(
                                "--pool",
                                "local pooling windows take --pool avg or --pool max",
                            ))
                        }
                    },
                    beta,
                    ipm,
                }))
            }
            Some(window) => {
                let pool = match a.pool {
                    Pool::Avg => WindowPool::Avg,
                    Pool::Max => WindowPool::Max,
                    Pool::Sum => {
                        return Err(Error::param(
                            "--pool",
                            "local pooling windows take --pool avg or --pool max",
                        ))
                    }
                };
                let pattern_text = a.patterns.clone().unwrap_or_else(|| "exact".into());
                Some(Box::new(LocalPool {
                    cfg: LocalConfig {
                        spec: patch_spec(&a.patch, ds, false)?,
                        window,
                        pool,
                        beta,
                        patterns: parse_patterns(&pattern_text, a.seed)?,
                        ipm,
                        max_exact_patterns: a.max_exact,
                    },
                }))
            }
            None => None,
        },
    })
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
    let (fit, model) = arch.fit(ds, &y)?;
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
