//! `cvxcnn train --head shared [--windows W --pool avg|max]`: weight decay on a filter feeding a
//! vector of output weights, by the SDP over simplicial cones (MATH-DEEP.md section 3): exact
//! when the patches have rank ≤ 4, a certified relaxation (lower bound) beyond.

use crate::cli::{parse_beta, patch_spec, Pool, TrainArgs};
use cvxcnn::arch::local_pool::tile_windows;
use cvxcnn::arch::shared::sdp::{solve_shared_sdp, SharedHead};
use cvxcnn::data::Dataset;
use cvxcnn::export::{to_safetensors_with, write_dir_atomically};
use cvxcnn::network::TwoLayerCnn;
use cvxcnn::patches::Patches;
use cvxcnn::program::Pooling;
use cvxcnn::solver::IpmSettings;
use cvxcnn::{Error, Result};
use std::path::PathBuf;

/// Solves the SDP, recovers and certifies the network, writes report.json and
/// model.safetensors (`fc.weight` `(L, m)`: per output, or per window with `windows` in the
/// metadata).
pub(crate) fn train_shared_cmd(a: &TrainArgs, ds: &Dataset) -> Result<()> {
    let spec = patch_spec(&a.patch, ds, false)?;
    spec.output_dims(&ds.shape)?;
    let beta = parse_beta(a.beta.as_deref().unwrap_or("0.1"))?;
    let t = std::time::Instant::now();
    let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec)?;
    let n = p.n;
    let (head, y, labels) = match a.windows {
        Some(w) => {
            let max = match a.pool {
                Pool::Avg => false,
                Pool::Max => true,
                Pool::Sum => {
                    return Err(Error::param(
                        "--pool",
                        "local pooling windows take --pool avg or --pool max",
                    ))
                }
            };
            let windows = tile_windows(p.out_dims, w)?;
            (
                SharedHead::Local { windows, max },
                ds.scalar_targets()?,
                None,
            )
        }
        None => {
            let ci = ds.class_index().map_err(|_| {
                Error::param(
                    "--head",
                    "--head shared without --windows trains one output per class: the data need class labels",
                )
            })?;
            let c = ci.labels.len();
            let y = cvxcnn::loss::one_hot(&ci.index, c);
            (SharedHead::Vector { outputs: c }, y, Some(ci))
        }
    };
    let ipm = IpmSettings {
        tol: a.tol,
        ..IpmSettings::default()
    };
    let o = solve_shared_sdp(&p, &y, &head, beta, &ipm)?;
    let seconds = t.elapsed().as_secs_f64();
    let h = p.h;
    let m = o.filters.len() / h;
    let lw = match &head {
        SharedHead::Vector { outputs } => *outputs,
        SharedHead::Local { windows, .. } => windows.len(),
    };
    let mut weights = vec![0.0; lw * m];
    for j in 0..m {
        for l in 0..lw {
            weights[l * m + j] = o.weights[j * lw + l];
        }
    }
    let net = TwoLayerCnn {
        shape: ds.shape,
        spec,
        pool: match &head {
            SharedHead::Local { max: true, .. } => Pooling::Max,
            SharedHead::Local { .. } => Pooling::Avg,
            SharedHead::Vector { .. } => Pooling::Sum,
        },
        filters: o.filters.clone(),
        outputs: lw.max(1),
        weights,
    };
    let f = cvxcnn::arch::shared::sdp::predict(&p, &head, &o.filters, &o.weights, lw.max(1));
    let accuracy = match (&head, &labels) {
        (SharedHead::Vector { outputs }, Some(ci)) => {
            let right = (0..n)
                .filter(|&t| {
                    let best = (0..*outputs)
                        .max_by(|&a, &b| f[a * n + t].total_cmp(&f[b * n + t]))
                        .unwrap_or(0);
                    best == ci.index[t]
                })
                .count();
            Some(right as f64 / n as f64)
        }
        _ => None,
    };
    let model = match &head {
        SharedHead::Vector { .. } => to_safetensors_with(&net, &[])?,
        SharedHead::Local { windows, .. } => {
            let wj = serde_json::to_string(windows)
                .map_err(|e| Error::Solver(format!("windows: {e}")))?;
            to_safetensors_with(
                &net,
                &[
                    ("arch", "two-layer-local".to_string()),
                    ("head", "shared".to_string()),
                    ("windows", wj),
                ],
            )?
        }
    };
    let gap = (o.network_objective - o.lower_bound) / o.network_objective.max(1e-300);
    let report = serde_json::json!({
        "arch": "two-layer", "head": "shared",
        "outputs": match &head { SharedHead::Vector { outputs } => serde_json::json!(outputs), _ => serde_json::json!(1) },
        "windows": match &head { SharedHead::Local { windows, .. } => serde_json::json!(windows), _ => serde_json::Value::Null },
        "pool": net.pool.name(), "data": a.data.data, "n": n, "positions": p.k, "filter_size": h,
        "beta": beta, "sdp_objective": o.sdp_objective, "network_objective": o.network_objective,
        "lower_bound": o.lower_bound, "relative_gap": gap, "regions": o.regions, "cones": o.cones,
        "active_cones": o.active_cones, "patch_rank": o.rank, "sdp_is_relaxation": o.relaxation,
        "cp_residual": o.cp_residual, "recovered_objective": o.recovered_objective, "filters": m,
        "status": o.status, "train_accuracy": accuracy, "seconds": seconds,
        "classes": labels.as_ref().map(|c| c.labels.clone()),
        "notes": [
            "weight decay ½Σ‖f−Y‖² + (β/2)Σ(‖u‖² + ‖w‖²) with a vector w per filter; SDP over simplicial cones (MATH-DEEP.md section 3), solved over an active set of cones that the dual certificate verifies on all of them",
            "the optimum lies in [lower_bound, network_objective] (dual certificate, recovered network)",
            if o.relaxation { "patch rank ≥ 5: doubly non-negative need not be completely positive, so the SDP value is only a lower bound; the bracket is what is certified" } else { "patch rank ≤ 4: the SDP is exact (doubly non-negative = completely positive)" },
        ],
    });
    let json =
        serde_json::to_vec_pretty(&report).map_err(|e| Error::Solver(format!("report: {e}")))?;
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("cvxcnn-out"));
    write_dir_atomically(&out, &[("report.json", json), ("model.safetensors", model)])?;
    if !a.quiet {
        println!(
            "two-layer CNN, shared filters ({}), weight decay by SDP, n = {n}, K = {}, h = {h}",
            match &head {
                SharedHead::Vector { outputs } => format!("{outputs} outputs"),
                SharedHead::Local { windows, .. } =>
                    format!("{} {} windows", windows.len(), net.pool.name()),
            },
            p.k
        );
        println!(
            "SDP             {:.10}  ({} regions, {} simplicial cones, {} active){}",
            o.sdp_objective,
            o.regions,
            o.cones,
            o.active_cones,
            if o.relaxation {
                "  — a relaxation (patch rank ≥ 5): a lower bound only"
            } else {
                ""
            }
        );
        println!(
            "bracket         [{:.10}, {:.10}]  (certified lower bound, recovered network with {m} filters)",
            o.lower_bound, o.network_objective
        );
        println!("relative gap    {gap:.3e}");
        if let Some(acc) = accuracy {
            println!("train accuracy  {:.2}%", 100.0 * acc);
        }
        println!("time            {seconds:.3} s");
        println!("written         {}/", out.display());
    }
    Ok(())
}
