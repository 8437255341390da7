//! `cvxcnn train --arch circular`: the circular CNN with one ReLU on 1-D signals.

use crate::cli::SolverArg;
use crate::cli::{parse_beta, TrainArgs};
use cvxcnn::arch::circular::{
    lower_bound_with_cone_test, path_norm_network, refine, single_frequency_network,
    DeepCircularCnn, RefineSettings,
};
use cvxcnn::arch::circular::{train_circular_exact, train_circular_first_order};
use cvxcnn::data::Dataset;
use cvxcnn::export::write_dir_atomically;
use cvxcnn::solver::IpmSettings;
use cvxcnn::solver::ProxAlSettings;
use cvxcnn::{Error, Result};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

fn bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The network's tensors: `a` (m, L − 2, d), `b` (m, d), `w` (m,), with the formula in the
/// metadata.
fn deep_safetensors(net: &DeepCircularCnn, regularizer: &str) -> Result<Vec<u8>> {
    let (m, d, l) = (net.width(), net.d, net.layers);
    let (ab, bb, wb) = (bytes(&net.a), bytes(&net.b), bytes(&net.w));
    let err = |e: safetensors::SafeTensorError| Error::Solver(format!("safetensors: {e}"));
    let tensors = vec![
        (
            "a".to_string(),
            TensorView::new(Dtype::F64, vec![m, l - 2, d], &ab).map_err(err)?,
        ),
        (
            "b".to_string(),
            TensorView::new(Dtype::F64, vec![m, d], &bb).map_err(err)?,
        ),
        (
            "w".to_string(),
            TensorView::new(Dtype::F64, vec![m], &wb).map_err(err)?,
        ),
    ];
    let meta: HashMap<String, String> = [
        ("format", "cvxcnn".to_string()),
        ("arch", "circular".to_string()),
        ("layers", l.to_string()),
        ("regularizer", regularizer.to_string()),
        (
            "network",
            "f(x) = sum_j w_j relu(x . (a_j1 (*) ... (*) a_j(L-2) (*) b_j)), (a (*) b)_t = sum_s a_s b_{(t-s) mod d}".to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    safetensors::tensor::serialize(tensors, Some(meta)).map_err(err)
}

/// Trains (L = 3, or the path norm for any L) or bounds (L ≥ 4) the circular CNN and writes
/// report.json and model.safetensors (see [`deep_safetensors`]).
pub(crate) fn train_circular_cmd(a: &TrainArgs, ds: &Dataset) -> Result<()> {
    if !ds.shape.one_d || ds.shape.channels != 1 {
        return Err(Error::param(
            "--arch",
            format!(
                "circular CNNs take single-channel 1-D signals; the data are {}x{}x{}",
                ds.shape.channels, ds.shape.height, ds.shape.width
            ),
        ));
    }
    let beta = parse_beta(a.beta.as_deref().unwrap_or("0.1"))?;
    let y = ds.scalar_targets()?;
    let d = ds.shape.width;
    let ipm = IpmSettings {
        tol: a.tol,
        ..IpmSettings::default()
    };
    let t = Instant::now();
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("cvxcnn-out"));
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    let report = if a.path_norm {
        let (opt, net) = path_norm_network(&ds.x, d, &y, beta, a.layers, &ipm)?;
        let own = net.path_norm_objective(&ds.x, &y, beta)?;
        files.push(("model.safetensors", deep_safetensors(&net, "path-norm")?));
        serde_json::json!({
            "arch": "circular", "layers": a.layers, "regularizer": "path-norm", "exact": true,
            "n": y.len(), "d": d, "beta": beta, "objective": opt, "network_objective": own,
            "filters": net.width(), "seconds": t.elapsed().as_secs_f64(),
            "notes": ["objective: ½Σ(f−y)² + β Σ_j ‖F(w_j q_j)‖₁ (spectral path norm, unnormalized DFT), exact for every L (MATH-DEEP.md section 2); the network's extra layers are identity filters"],
        })
    } else if a.layers == 3 {
        let first_order = match a.solver {
            None | Some(SolverArg::Ipm) => false,
            Some(SolverArg::Al) => true,
            Some(s) => {
                return Err(Error::param(
                    "--solver",
                    format!("circular CNNs take --solver ipm or al, not {s:?}"),
                ))
            }
        };
        let o = if first_order {
            train_circular_first_order(
                &ds.x,
                d,
                &y,
                beta,
                &ProxAlSettings {
                    tol: a.tol,
                    ..ProxAlSettings::default()
                },
            )?
        } else {
            train_circular_exact(&ds.x, d, &y, beta, &ipm)?
        };
        let net = &o.network;
        let m = net.width();
        let deep = DeepCircularCnn {
            d,
            layers: 3,
            a: net.a.clone(),
            b: net.b.clone(),
            w: net.w.clone(),
        };
        files.push((
            "model.safetensors",
            deep_safetensors(&deep, "weight-decay")?,
        ));
        serde_json::json!({
            "arch": "circular", "layers": 3, "regularizer": "weight-decay", "exact": true,
            "n": y.len(), "d": d, "beta": beta,
            "objective": o.objective, "network_objective": o.network_objective,
            "lower_bound": o.dual_objective.is_finite().then_some(o.dual_objective),
            "filters": m, "patterns": o.patterns, "status": o.status,
            "solver": if first_order { "al (FISTA, spectral prox)" } else { "ipm" },
            "seconds": t.elapsed().as_secs_f64(),
            "notes": ["objective: ½Σ(f−y)² + (β/d)Σ‖F z‖₁ (unnormalized DFT), the global optimum of ½Σ(f−y)² + (β/2)Σ(‖b‖² + w²) with ‖a‖ ≤ 1; lower_bound: the interior-point dual objective"],
        })
    } else {
        let lb = lower_bound_with_cone_test(&ds.x, d, &y, beta, a.layers, &ipm)?;
        let (ub, ub_net) = single_frequency_network(&ds.x, d, &y, beta, a.layers, &ipm)?;
        // Local refinement from the upper-bound network: a few seeded perturbed restarts.
        let mut best = (ub_net.clone(), ub_net.objective(&ds.x, &y, beta)?);
        for seed in 0..4 {
            let s = RefineSettings {
                iters: 5000,
                lr: 0.01,
                noise: 0.2,
                seed: a.seed.wrapping_add(seed),
            };
            let (net, v) = refine(&ds.x, &y, beta, &ub_net, &s)?;
            if v < best.1 {
                best = (net, v);
            }
        }
        let (net, v) = best;
        files.push(("model.safetensors", deep_safetensors(&net, "weight-decay")?));
        let exact = lb.cone_test;
        serde_json::json!({
            "arch": "circular", "layers": a.layers, "regularizer": "weight-decay",
            "exact": exact, "cone_test": lb.cone_test, "n": y.len(), "d": d,
            "beta": beta, "lower_bound": lb.value, "upper_bound": ub,
            "network_objective": v, "filters": net.width(),
            "relative_gap": (ub - lb.value) / ub,
            "network_gap": (v - lb.value) / v,
            "seconds": t.elapsed().as_secs_f64(),
            "notes": ["L ≥ 4: lower_bound from the weighted spectral group-ℓ1 relaxation (exact only when cone_test passes), upper_bound from single-frequency units (attained by a network), network_objective: the best network after local refinement from the upper-bound network (MATH-DEEP.md section 2); the optimum lies in [lower_bound, network_objective]"],
        })
    };
    let json =
        serde_json::to_vec_pretty(&report).map_err(|e| Error::Solver(format!("report: {e}")))?;
    files.push(("report.json", json));
    write_dir_atomically(&out, &files)?;
    if !a.quiet {
        if a.path_norm {
            let num = |k: &str| report[k].as_f64().unwrap_or(f64::NAN);
            println!(
                "circular CNN, L = {}, spectral path norm (exact), n = {}, d = {d}, β = {beta}",
                a.layers,
                y.len()
            );
            println!("objective       {:.10}  (convex optimum)", num("objective"));
            println!(
                "network         {:.10}  (recovered network, {} units)",
                num("network_objective"),
                report["filters"]
            );
        } else if a.layers == 3 {
            println!(
                "circular CNN, L = 3 (exact), n = {}, d = {d}, β = {beta}",
                y.len()
            );
            let num = |k: &str| report[k].as_f64().unwrap_or(f64::NAN);
            println!("objective       {:.10}  (convex optimum)", num("objective"));
            println!(
                "network         {:.10}  (recovered network, {} units)",
                num("network_objective"),
                report["filters"]
            );
        } else {
            println!(
                "circular CNN, L = {} (bounds), n = {}, d = {d}, β = {beta}",
                a.layers,
                y.len()
            );
            let num = |k: &str| report[k].as_f64().unwrap_or(f64::NAN);
            println!("lower bound     {:.10}", num("lower_bound"));
            println!(
                "upper bound     {:.10}  (single-frequency network)",
                num("upper_bound")
            );
            println!(
                "refined network {:.10}  ({} units; local refinement from the upper-bound network)",
                num("network_objective"),
                report["filters"]
            );
            println!(
                "relative gap    {:.4}  (upper bound vs lower bound)",
                num("relative_gap")
            );
            println!(
                "cone test       {}",
                if report["cone_test"] == true {
                    "passed: the lower bound is the optimum"
                } else {
                    "failed: the optimum lies in [lower bound, refined network]"
                }
            );
        }
        println!("written         {}/", out.display());
    }
    Ok(())
}
