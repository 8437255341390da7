//! `cvxcnn train --pool avg|max --windows W --head l1`: local pooling followed by a linear
//! layer, with the ℓ1-squared output penalty (exact program).

use crate::cli::{parse_beta, patch_spec, Pool, TrainArgs};
use cvxcnn::arch::local_pool::{train_local, LocalConfig, WindowPool};
use cvxcnn::data::{Dataset, Targets};
use cvxcnn::export::{to_safetensors_with, write_dir_atomically};
use cvxcnn::network::TwoLayerCnn;
use cvxcnn::patches::Patches;
use cvxcnn::program::Pooling;
use cvxcnn::solver::IpmSettings;
use cvxcnn::{Error, Result};
use std::path::PathBuf;

/// Trains the local-pooling network and writes report.json and model.safetensors
/// (`conv.weight`, `fc.weight` of shape `(L, m)`: the weights of window `l` in row `l`; the
/// metadata lists the windows as position lists).
pub(crate) fn train_local_cmd(a: &TrainArgs, ds: &Dataset, window: usize) -> Result<()> {
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
    let beta = parse_beta(a.beta.as_deref().unwrap_or("0.1"))?;
    let pattern_text = a.patterns.clone().unwrap_or_else(|| "exact".into());
    let patterns = crate::cli::parse_patterns(&pattern_text, a.seed)?;
    let spec = patch_spec(&a.patch, ds, false)?;
    spec.output_dims(&ds.shape)?;
    let y = ds.scalar_targets()?;
    let cfg = LocalConfig {
        spec,
        window,
        pool,
        beta,
        patterns,
        ipm: IpmSettings {
            tol: a.tol,
            ..IpmSettings::default()
        },
        max_exact_patterns: a.max_exact,
    };
    let o = train_local(ds, &y, &cfg)?;
    let net = &o.network;
    let (m, l) = (net.width(), net.windows.len());
    let classes = matches!(ds.targets, Targets::Classes(_)) || a.data.classes.is_some();
    let patches = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec)?;
    let f = net.predict(&patches)?;
    let acc = classes.then(|| cvxcnn::loss::sign_accuracy(&f, &y));
    // The same tensors as a two-layer model, with L outputs (one per window).
    let mut weights = vec![0.0; l * m];
    for j in 0..m {
        for w in 0..l {
            weights[w * m + j] = net.weights[j * l + w];
        }
    }
    let as_cnn = TwoLayerCnn {
        shape: ds.shape,
        spec,
        pool: match pool {
            WindowPool::Avg => Pooling::Avg,
            WindowPool::Max => Pooling::Max,
        },
        filters: net.filters.clone(),
        outputs: l,
        weights,
    };
    let windows_json =
        serde_json::to_string(&net.windows).map_err(|e| Error::Solver(format!("windows: {e}")))?;
    let model = to_safetensors_with(
        &as_cnn,
        &[
            ("arch", "two-layer-local".to_string()),
            ("head", "l1".to_string()),
            ("windows", windows_json),
            (
                "network",
                "f(x) = sum_l fc.weight[l] . pool_{k in windows[l]} relu(conv(x))_k".to_string(),
            ),
        ],
    )?;
    let report = serde_json::json!({
        "arch": "two-layer", "head": "l1", "pool": match pool { WindowPool::Avg => "avg", WindowPool::Max => "max" },
        "window": window, "windows": net.windows, "data": a.data.data, "n": y.len(),
        "positions": patches.k, "filter_size": patches.h, "beta": beta,
        "pattern_mode": pattern_text, "patterns": o.patterns, "blocks": o.blocks,
        "objective": o.objective, "network_objective": o.network_objective,
        "duality_gap": o.certificate.duality_gap, "relative_gap": o.certificate.relative_gap,
        "lower_bound": o.certificate.lower_bound, "certificate": o.certificate.scope.name(),
        "filters": m, "status": o.status, "train_accuracy": acc, "seconds": o.seconds,
        "notes": ["objective: ½Σ(f−y)² + (β/2)Σ_j(‖u_j‖² + ‖w_j‖₁²) (ℓ1-squared output penalty; exact group lasso over (pattern, window) blocks, MATH-DEEP.md section 3); with weight decay on w instead, this network is an upper bound"],
    });
    let json =
        serde_json::to_vec_pretty(&report).map_err(|e| Error::Solver(format!("report: {e}")))?;
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("cvxcnn-out"));
    write_dir_atomically(&out, &[("report.json", json), ("model.safetensors", model)])?;
    if !a.quiet {
        println!(
            "two-layer CNN, local {} pooling over {l} windows, ℓ1-squared head, n = {}, K = {}, h = {}",
            report["pool"].as_str().unwrap_or(""),
            y.len(),
            patches.k,
            patches.h
        );
        println!(
            "patterns        {} ({pattern_text}), {} blocks",
            o.patterns, o.blocks
        );
        println!("objective       {:.10}  (convex optimum)", o.objective);
        println!(
            "network         {:.10}  (recovered, {m} filters)",
            o.network_objective
        );
        println!(
            "duality gap     {:.3e}  (relative {:.3e}, certificate: {})",
            o.certificate.duality_gap,
            o.certificate.relative_gap,
            o.certificate.scope.name()
        );
        if let Some(acc) = acc {
            println!("train accuracy  {:.2}%", 100.0 * acc);
        }
        println!("time            {:.3} s", o.seconds);
        println!("written         {}/", out.display());
    }
    Ok(())
}
