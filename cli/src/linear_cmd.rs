//! `cvxcnn train --arch linear --head pool|fc`: linear CNNs (no ReLU), exact.

use crate::cli::{parse_beta, patch_spec, Head, Pool, TrainArgs};
use cvxcnn::arch::linear::{
    solve_linear_fc, solve_linear_pool, LinearCnn, LinearFcSettings, LinearHead, LinearOperator,
};
use cvxcnn::data::{Dataset, Targets};
use cvxcnn::export::write_dir_atomically;
use cvxcnn::patches::Patches;
use cvxcnn::{Error, Result};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

fn bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Trains the linear CNN and writes report.json and model.safetensors (`conv.weight` as
/// PyTorch's Conv weight without bias, `fc.weight` `(1, m)` for the pooling head or `(1, m·K)`
/// for the fully connected head, flattened filter-major like `torch.flatten(conv(x), 1)`).
pub(crate) fn train_linear_cmd(a: &TrainArgs, ds: &Dataset) -> Result<()> {
    let head = match a.head.unwrap_or(Head::Pool) {
        Head::Pool => LinearHead::Pool,
        Head::Fc => LinearHead::Fc,
        Head::L1 | Head::Shared => {
            return Err(Error::param(
                "--head",
                "linear CNNs take --head pool or --head fc",
            ))
        }
    };
    let spec = patch_spec(&a.patch, ds, false)?;
    if spec.bias {
        return Err(Error::param(
            "--bias",
            "linear CNNs have no bias (a bias would pass through the pooling as a constant)",
        ));
    }
    let (oh, ow) = spec.output_dims(&ds.shape)?;
    let scale = match a.pool {
        Pool::Sum => 1.0,
        Pool::Avg => 1.0 / (oh * ow) as f64,
        Pool::Max => {
            return Err(Error::param(
                "--pool",
                "linear CNNs take --pool sum or avg (max pooling is not linear)",
            ))
        }
    };
    let beta = parse_beta(a.beta.as_deref().unwrap_or("0.1"))?;
    let y = ds.scalar_targets()?;
    let t = Instant::now();
    let patches = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec)?;
    let op = LinearOperator::new(&patches, head, scale);
    let sol = match head {
        LinearHead::Pool => solve_linear_pool(&op, &y, beta)?,
        LinearHead::Fc => solve_linear_fc(
            &op,
            &y,
            beta,
            &LinearFcSettings {
                tol: a.tol,
                ..LinearFcSettings::default()
            },
        )?,
    };
    let net = LinearCnn::from_z(&sol.z, op.h, op.k, head, scale)?;
    let network_objective = net.objective(&patches, &y, beta)?;
    let f = net.predict(&patches)?;
    let classes = matches!(ds.targets, Targets::Classes(_)) || a.data.classes.is_some();
    let acc = classes.then(|| cvxcnn::loss::sign_accuracy(&f, &y));
    let m = net.width();
    let c = ds.shape.channels;
    let wshape = if ds.shape.one_d {
        vec![m, c, spec.kernel_w]
    } else {
        vec![m, c, spec.kernel_h, spec.kernel_w]
    };
    let (wb, fb) = (bytes(&net.filters), bytes(&net.weights));
    let err = |e: safetensors::SafeTensorError| Error::Solver(format!("safetensors: {e}"));
    let tensors = vec![
        (
            "conv.weight".to_string(),
            TensorView::new(Dtype::F64, wshape, &wb).map_err(err)?,
        ),
        (
            "fc.weight".to_string(),
            TensorView::new(Dtype::F64, vec![1, net.weights.len()], &fb).map_err(err)?,
        ),
    ];
    let head_name = match head {
        LinearHead::Pool => "pool",
        LinearHead::Fc => "fc",
    };
    let pool_name = if scale == 1.0 { "sum" } else { "avg" };
    let meta: HashMap<String, String> = [
        ("format", "cvxcnn".to_string()),
        ("arch", "linear".to_string()),
        ("head", head_name.to_string()),
        ("pool", pool_name.to_string()),
        ("kernel", format!("[{}, {}]", spec.kernel_h, spec.kernel_w)),
        ("stride", format!("[{}, {}]", spec.stride_h, spec.stride_w)),
        ("padding", format!("[{}, {}]", spec.pad_h, spec.pad_w)),
        (
            "network",
            match head {
                LinearHead::Pool => "f(x) = fc(pool(conv(x))), no activation",
                LinearHead::Fc => "f(x) = fc(flatten(conv(x))), no activation",
            }
            .to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let model = safetensors::tensor::serialize(tensors, Some(meta)).map_err(err)?;
    let report = serde_json::json!({
        "arch": "linear", "head": head_name, "pool": pool_name, "data": a.data.data,
        "n": y.len(), "positions": patches.k, "filter_size": patches.h, "beta": beta,
        "objective": sol.objective, "network_objective": network_objective,
        "lower_bound": sol.lower_bound, "duality_gap": sol.objective - sol.lower_bound,
        "relative_gap": (sol.objective - sol.lower_bound) / sol.objective.max(1e-300),
        "certificate": "global", "filters": m, "iterations": sol.iterations,
        "train_accuracy": acc, "seconds": t.elapsed().as_secs_f64(),
        "notes": [match head {
            LinearHead::Pool => "objective: ½Σ(f−y)² + β‖z‖₂ with z = Σ_j w_j u_j (group ℓ2; one filter suffices), the global optimum of weight decay",
            LinearHead::Fc => "objective: ½Σ(f−y)² + β‖Z‖_* with Z = Σ_j u_j w_jᵀ (nuclear norm), the global optimum of weight decay; filters from the SVD of Z",
        }],
    });
    let json =
        serde_json::to_vec_pretty(&report).map_err(|e| Error::Solver(format!("report: {e}")))?;
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("cvxcnn-out"));
    write_dir_atomically(&out, &[("report.json", json), ("model.safetensors", model)])?;
    if !a.quiet {
        println!(
            "linear CNN, {head_name} head ({pool_name}), n = {}, K = {}, h = {}",
            y.len(),
            patches.k,
            patches.h
        );
        println!("objective       {:.10}  (global optimum)", sol.objective);
        println!("network         {network_objective:.10}  (recovered, {m} filters)");
        println!(
            "duality gap     {:.3e}  (lower bound {:.10})",
            sol.objective - sol.lower_bound,
            sol.lower_bound
        );
        if let Some(acc) = acc {
            println!("train accuracy  {:.2}%", 100.0 * acc);
        }
        println!("time            {:.3} s", t.elapsed().as_secs_f64());
        println!("written         {}/", out.display());
    }
    Ok(())
}
