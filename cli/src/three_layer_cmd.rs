//! `cvxcnn train --arch three-layer [--also two-layer]`: the three-layer CNN with two ReLU
//! layers, exact (all patterns; small instances).

use crate::cli::{parse_beta, patch_spec, SolverArg, TrainArgs};
use cvxcnn::arch::three_layer::first_order::FirstOrderSettings;
use cvxcnn::arch::three_layer::{train_three_layer_with, ThreeLayerPatterns, ThreeLayerSolver};
use cvxcnn::arch::two_layer::train::{train, PatternChoice, Silent, TrainConfig};
use cvxcnn::data::Dataset;
use cvxcnn::export::write_dir_atomically;
use cvxcnn::patches::Patches;
use cvxcnn::program::Pooling;
use cvxcnn::solver::IpmSettings;
use cvxcnn::{Error, Result};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

fn bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Trains the three-layer CNN and writes report.json and model.safetensors (`conv.weight`
/// `(2m, c, k…)`: channels `2j, 2j+1` are sub-network `j`'s filters; `mix.weight` `(m, 2)`;
/// `fc.weight` `(1, m)`).
pub(crate) fn train_three_layer_cmd(a: &TrainArgs, ds: &Dataset, also_two: bool) -> Result<()> {
    let spec = patch_spec(&a.patch, ds, false)?;
    spec.output_dims(&ds.shape)?;
    let pattern_text = a.patterns.clone().unwrap_or_else(|| "exact".into());
    let patterns = three_layer_patterns(a)?;
    let beta = parse_beta(a.beta.as_deref().unwrap_or("0.1"))?;
    let y = ds.scalar_targets()?;
    let ipm = IpmSettings {
        tol: a.tol,
        ..IpmSettings::default()
    };
    let solver = three_layer_solver(a)?;
    let solver_name = match solver {
        ThreeLayerSolver::Ipm(_) => "ipm",
        ThreeLayerSolver::Al(_) => "al",
        ThreeLayerSolver::Cg(_) => "cg",
    };
    let t = Instant::now();
    let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec)?;
    let max_blocks = usize::try_from(a.max_exact).unwrap_or(usize::MAX);
    let o = train_three_layer_with(&p, &y, beta, patterns, &solver, max_blocks)?;
    let seconds = t.elapsed().as_secs_f64();
    let two = if also_two {
        let cfg = TrainConfig {
            spec,
            pool: Pooling::Sum,
            beta,
            patterns: match patterns {
                ThreeLayerPatterns::Exact => PatternChoice::Exact,
                ThreeLayerPatterns::Sample { draws, seed, .. } => {
                    PatternChoice::Sample { draws, seed }
                }
            },
            ipm,
            max_exact_patterns: a.max_exact,
            prune: true,
        };
        Some(train(ds, &y, &cfg, &mut Silent)?.objective)
    } else {
        None
    };
    let net = &o.network;
    let m = net.width();
    let c = ds.shape.channels;
    let wshape = if ds.shape.one_d {
        vec![2 * m, c, spec.kernel_w]
    } else {
        vec![2 * m, c, spec.kernel_h, spec.kernel_w]
    };
    let (ub, mb, fb) = (bytes(&net.u), bytes(&net.w2), bytes(&net.w3));
    let err = |e: safetensors::SafeTensorError| Error::Solver(format!("safetensors: {e}"));
    let tensors = vec![
        (
            "conv.weight".to_string(),
            TensorView::new(Dtype::F64, wshape, &ub).map_err(err)?,
        ),
        (
            "mix.weight".to_string(),
            TensorView::new(Dtype::F64, vec![m, 2], &mb).map_err(err)?,
        ),
        (
            "fc.weight".to_string(),
            TensorView::new(Dtype::F64, vec![1, m], &fb).map_err(err)?,
        ),
    ];
    let meta: HashMap<String, String> = [
        ("format", "cvxcnn".to_string()),
        ("arch", "three-layer".to_string()),
        ("kernel", format!("[{}, {}]", spec.kernel_h, spec.kernel_w)),
        ("stride", format!("[{}, {}]", spec.stride_h, spec.stride_w)),
        ("padding", format!("[{}, {}]", spec.pad_h, spec.pad_w)),
        (
            "network",
            "f(x) = sum_j fc[j] sum_k relu(mix[j,0] relu(conv_2j(x))_k + mix[j,1] relu(conv_2j+1(x))_k)"
                .to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let model = safetensors::tensor::serialize(tensors, Some(meta)).map_err(err)?;
    let report = serde_json::json!({
        "arch": "three-layer", "data": a.data.data, "n": y.len(), "positions": p.k,
        "filter_size": p.h, "beta": beta, "pattern_mode": pattern_text,
        "objective": o.objective, "network_objective": o.network_objective,
        "lower_bound": o.dual_objective,
        "relative_gap": (o.network_objective - o.dual_objective) / o.network_objective.abs().max(1e-300),
        "s_blocks": o.s_blocks, "p_blocks": o.p_blocks,
        "sub_networks": m, "status": o.status,
        "solver": solver_name, "first_order": o.first_order,
        "certificate": if patterns == ThreeLayerPatterns::Exact { "global" } else { "restricted" },
        "two_layer_objective": two, "seconds": seconds,
        "notes": ["objective: ½Σ(f−y)² + β Σ‖z‖ over S- and P-blocks (MATH-DEEP.md section 1), the global optimum of ½Σ(f−y)² + (β/2)Σ_j(‖w2_j‖² + w3_j²) with ‖U_j‖_F ≤ 1 and two channels per sub-network; lower_bound: a certified lower bound on the program's optimum (ipm: the interior-point dual objective; cg, al: the dual value of the residual scaled into the dual feasible set); relative_gap: (network_objective − lower_bound)/network_objective; first_order (cg, al): rounds, master active-set changes (cg) or multiplier updates (al), FISTA steps (al), atoms (cg) or working-set blocks (al), cone violation (al), dual excess max_b γ_b/β − 1; two_layer_objective (with --also two-layer): the two-layer optimum on the same data, β and first layer"],
    });
    let json =
        serde_json::to_vec_pretty(&report).map_err(|e| Error::Solver(format!("report: {e}")))?;
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("cvxcnn-out"));
    write_dir_atomically(&out, &[("report.json", json), ("model.safetensors", model)])?;
    if !a.quiet {
        println!(
            "three-layer CNN (two ReLU layers), n = {}, K = {}, h = {}, β = {beta}",
            y.len(),
            p.k,
            p.h
        );
        println!(
            "blocks          {} S-blocks, {} P-blocks",
            o.s_blocks, o.p_blocks
        );
        println!(
            "objective       {:.10}  ({})",
            o.objective,
            if patterns == ThreeLayerPatterns::Exact {
                "global optimum"
            } else {
                "optimum of the sampled program"
            }
        );
        println!(
            "network         {:.10}  (recovered, {m} sub-networks)",
            o.network_objective
        );
        println!(
            "lower bound     {:.10}  (certified; relative gap {:.1e})",
            o.dual_objective,
            (o.network_objective - o.dual_objective) / o.network_objective.abs().max(1e-300)
        );
        if let Some(al) = &o.first_order {
            println!(
                "first-order     {solver_name}: {:?} after {} rounds ({} of {} blocks or atoms in the last restricted program), dual excess {:.1e}",
                al.status,
                al.rounds,
                al.working_blocks,
                o.s_blocks + o.p_blocks,
                al.dual_excess
            );
        }
        if let Some(two) = two {
            println!(
                "two-layer       {two:.10}  (the second ReLU layer buys {:.2}%)",
                100.0 * (two - o.objective) / two
            );
        }
        println!("time            {seconds:.3} s");
        println!("written         {}/", out.display());
    }
    Ok(())
}

/// `--patterns exact` or `sample:N`: `N` Gaussian first-layer filters and `3N` Gaussian
/// sub-networks (seeded by `--seed`).
pub(crate) fn three_layer_patterns(a: &TrainArgs) -> Result<ThreeLayerPatterns> {
    let text = a.patterns.clone().unwrap_or_else(|| "exact".into());
    Ok(match crate::cli::parse_patterns(&text, a.seed)? {
        PatternChoice::Exact => ThreeLayerPatterns::Exact,
        PatternChoice::Sample { draws, seed } => ThreeLayerPatterns::Sample {
            draws,
            pairs: 3 * draws,
            seed,
        },
    })
}

/// `--solver ipm` (default: the interior point, tolerance `--tol`), `cg` (conditional gradient
/// over atoms, tolerance 1e-6) or `al` (working-set augmented Lagrangian, tolerance 1e-4); the
/// first-order solvers run `--max-iter` rounds and `--time-limit` seconds at most.
pub(crate) fn three_layer_solver(a: &TrainArgs) -> Result<ThreeLayerSolver> {
    match a.solver {
        None | Some(SolverArg::Ipm) => Ok(ThreeLayerSolver::Ipm(IpmSettings {
            tol: a.tol,
            ..IpmSettings::default()
        })),
        Some(kind @ (SolverArg::Al | SolverArg::Cg)) => {
            if a.time_limit.is_nan() || a.time_limit <= 0.0 {
                return Err(Error::param(
                    "--time-limit",
                    format!("must be positive, got {}", a.time_limit),
                ));
            }
            if a.max_iter == 0 {
                return Err(Error::param("--max-iter", "must be positive, got 0"));
            }
            let s = FirstOrderSettings {
                rounds: a.max_iter,
                time_limit: Some(a.time_limit),
                // The conditional gradient reaches 1e-6 in a few rounds on exact programs.
                tol: if kind == SolverArg::Cg { 1e-6 } else { 1e-4 },
                ..FirstOrderSettings::default()
            };
            Ok(if kind == SolverArg::Al {
                ThreeLayerSolver::Al(s)
            } else {
                ThreeLayerSolver::Cg(s)
            })
        }
        Some(other) => Err(Error::param(
            "--solver",
            format!(
                "the three-layer program takes ipm (interior point), cg or al (first-order), not {}",
                match other {
                    SolverArg::Gated => "gated",
                    _ => "proj",
                }
            ),
        )),
    }
}
