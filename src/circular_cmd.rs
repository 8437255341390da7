//! `cvxcnn train --arch circular`: the circular CNN with one ReLU on 1-D signals.

use crate::cli::{parse_beta, TrainArgs};
use cvxcnn::circular::{
    circular_lower_bound, circular_single_frequency_bound, train_circular_exact,
};
use cvxcnn::data::Dataset;
use cvxcnn::export::write_dir_atomically;
use cvxcnn::solver::IpmSettings;
use cvxcnn::{Error, Result};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

fn bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Trains (L = 3) or bounds (L ≥ 4) the circular CNN and writes report.json (and, for L = 3,
/// model.safetensors with tensors `a` (m, d), `b` (m, d) and `w` (m,)).
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
    let report = if a.layers == 3 {
        let o = train_circular_exact(&ds.x, d, &y, beta, &ipm)?;
        let net = &o.network;
        let m = net.width();
        let (ab, bb, wb) = (bytes(&net.a), bytes(&net.b), bytes(&net.w));
        let err = |e: safetensors::SafeTensorError| Error::Solver(format!("safetensors: {e}"));
        let tensors = vec![
            (
                "a".to_string(),
                TensorView::new(Dtype::F64, vec![m, d], &ab).map_err(err)?,
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
            ("format", "cvxcnn"),
            ("arch", "circular"),
            ("layers", "3"),
            (
                "network",
                "f(x) = sum_j w_j relu(x . (a_j (*) b_j)), (a (*) b)_t = sum_s a_s b_{(t-s) mod d}",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        files.push((
            "model.safetensors",
            safetensors::tensor::serialize(tensors, Some(meta)).map_err(err)?,
        ));
        serde_json::json!({
            "arch": "circular", "layers": 3, "exact": true, "n": y.len(), "d": d, "beta": beta,
            "objective": o.objective, "network_objective": o.network_objective,
            "lower_bound": o.dual_objective, "filters": m, "patterns": o.patterns,
            "status": o.status, "seconds": t.elapsed().as_secs_f64(),
            "notes": ["objective: ½Σ(f−y)² + (β/d)Σ‖F z‖₁ (unnormalized DFT), the global optimum of ½Σ(f−y)² + (β/2)Σ(‖b‖² + w²) with ‖a‖ ≤ 1; lower_bound: the interior-point dual objective"],
        })
    } else {
        let lb = circular_lower_bound(&ds.x, d, &y, beta, a.layers, &ipm)?;
        let ub = circular_single_frequency_bound(&ds.x, d, &y, beta, a.layers, &ipm)?;
        serde_json::json!({
            "arch": "circular", "layers": a.layers, "exact": false, "n": y.len(), "d": d,
            "beta": beta, "lower_bound": lb, "upper_bound": ub,
            "relative_gap": (ub - lb) / ub, "seconds": t.elapsed().as_secs_f64(),
            "notes": ["L ≥ 4: no exact convex program; lower_bound from the weighted spectral group-ℓ1 relaxation, upper_bound from single-frequency units (attained by a network), both MATH-DEEP.md section 2; the optimum lies between them"],
        })
    };
    let json =
        serde_json::to_vec_pretty(&report).map_err(|e| Error::Solver(format!("report: {e}")))?;
    files.push(("report.json", json));
    write_dir_atomically(&out, &files)?;
    if !a.quiet {
        if a.layers == 3 {
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
            println!("relative gap    {:.4}", num("relative_gap"));
        }
        println!("written         {}/", out.display());
    }
    Ok(())
}
