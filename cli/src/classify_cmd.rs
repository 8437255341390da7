//! The classifier commands of the binary: multi-output training with a first-order solver,
//! `eval` and `predict` with a saved model.

use cvxcnn::arch::two_layer::classifier::{
    prepare_with, solve_prepared, ClassifierConfig, ClassifierOutcome, FirstOrder,
};
use cvxcnn::data::{Dataset, Normalization};
use cvxcnn::export::{from_safetensors, to_safetensors, write_dir_atomically};
use cvxcnn::loss::{accuracy, argmax_rows, one_hot, Loss};
use cvxcnn::solver::{IterObserver, IterRecord};
use cvxcnn::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Progress bar over the solver's outer iterations: objective, violation, gap, elapsed.
pub struct SolveBar {
    bar: Option<ProgressBar>,
    /// Every record the solver sent.
    pub history: Vec<IterRecord>,
}

impl SolveBar {
    /// A bar of `total` iterations (hidden when `quiet`).
    pub fn new(total: usize, quiet: bool, what: &str) -> Self {
        if quiet {
            return SolveBar {
                bar: None,
                history: Vec::new(),
            };
        }
        let b = ProgressBar::new(total as u64);
        b.set_style(
            ProgressStyle::with_template("{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b.set_prefix(what.to_string());
        SolveBar {
            bar: Some(b),
            history: Vec::new(),
        }
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl IterObserver for SolveBar {
    fn record(&mut self, r: &IterRecord) -> bool {
        self.history.push(*r);
        if let Some(b) = &self.bar {
            b.set_position(r.iter as u64 + 1);
            if let Some(g) = r.gap {
                b.set_message(format!(
                    "objective {:.6e}  violation {:.1e}  gap {:.1e}  ({} inner, {:.0}s)",
                    r.objective, r.violation, g, r.inner, r.elapsed
                ));
            }
        }
        true
    }
}

/// What is saved beside the weights so that `eval` and `predict` can use a model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Original class label of every output.
    pub classes: Vec<i64>,
    /// Input normalization applied before the network.
    pub normalization: Normalization,
    /// Loss the model was trained with.
    pub loss: Loss,
}

/// The JSON report of a classifier run.
#[derive(Debug, Clone, Serialize)]
pub struct ClassifierReport<'a> {
    /// Data source.
    pub data: &'a str,
    /// Train and test sizes.
    pub n_train: usize,
    /// Test samples.
    pub n_test: usize,
    /// Class labels.
    pub classes: &'a [i64],
    /// β.
    pub beta: f64,
    /// Loss.
    pub loss: Loss,
    /// Kernel, stride, padding, bias.
    pub spec: cvxcnn::patches::PatchSpec,
    /// Pooling.
    pub pool: &'a str,
    /// Pattern draws and seed.
    pub draws: usize,
    /// Seed.
    pub seed: u64,
    /// Test accuracy.
    pub test_accuracy: Option<f64>,
    /// Everything the run measured.
    pub outcome: &'a ClassifierOutcome,
    /// Which number is which.
    pub notes: Vec<String>,
}

/// Inputs of a classifier training run.
pub struct ClassifierRun<'a> {
    /// Data source name.
    pub source: &'a str,
    /// Training set (normalized).
    pub train: Dataset,
    /// Test set (normalized).
    pub test: Dataset,
    /// Class labels.
    pub classes: Vec<i64>,
    /// Normalization.
    pub normalization: Normalization,
    /// Settings.
    pub cfg: ClassifierConfig,
    /// Values of β (a path when several, solved in order with warm starts).
    pub betas: Vec<f64>,
    /// Filters whose patterns replace sampled ones.
    pub gates: Option<Vec<f64>>,
    /// Output directory.
    pub out: &'a Path,
    /// Quiet.
    pub quiet: bool,
}

fn labels_of(ds: &Dataset, classes: &[i64], what: &str) -> Result<Vec<usize>> {
    ds.class_index_with(classes)?
        .into_iter()
        .enumerate()
        .map(|(t, c)| {
            c.ok_or_else(|| {
                Error::Data(format!(
                    "{what} sample {t} has a label the model does not know"
                ))
            })
        })
        .collect()
}

/// Trains, reports, and saves a classifier (the last β of a path is saved).
pub fn run_classifier(r: ClassifierRun<'_>) -> Result<()> {
    let train_labels = labels_of(&r.train, &r.classes, "training")?;
    let test_labels = labels_of(&r.test, &r.classes, "test")?;
    let mut cfg = r.cfg;
    cfg.beta = r.betas[0];
    let mut prep = prepare_with(
        &r.train,
        &train_labels,
        r.classes.len(),
        &cfg,
        r.gates.as_deref(),
    )?;
    let mut warm: Option<Vec<f64>> = None;
    let mut last: Option<(ClassifierOutcome, Option<f64>, f64)> = None;
    let mut path_rows = Vec::new();
    let mut solver_history: Vec<serde_json::Value> = Vec::new();
    for (step, &beta) in r.betas.iter().enumerate() {
        cfg.beta = beta;
        prep.prog.beta = beta;
        let what = if r.betas.len() > 1 {
            format!("β = {beta:.4e} ({}/{})", step + 1, r.betas.len())
        } else {
            match cfg.solver {
                FirstOrder::AugmentedLagrangian => "augmented Lagrangian".to_string(),
                FirstOrder::Gated => "gated FISTA".to_string(),
                FirstOrder::Projected => "projected FISTA".to_string(),
            }
        };
        let total = match cfg.solver {
            FirstOrder::AugmentedLagrangian | FirstOrder::Projected => cfg.al.limits.max_iter,
            FirstOrder::Gated => {
                cvxcnn::arch::two_layer::classifier::gated_limits(&cfg.al).max_iter
            }
        };
        let mut bar = SolveBar::new(total, r.quiet, &what);
        let o = solve_prepared(
            &prep,
            &r.train,
            &train_labels,
            &cfg,
            warm.as_deref(),
            &mut bar,
        );
        bar.finish();
        let o = o?;
        let test_acc = match &o.network {
            Some(net) if r.test.n() > 0 => Some(accuracy(&net.predict(&r.test.x)?, &test_labels)),
            _ => None,
        };
        if r.betas.len() > 1 && !r.quiet {
            println!(
                "β {:.4e}: objective {:.6e}  gap {:.2e}  filters {}  train {:.2}%  test {}",
                beta,
                o.objective,
                o.certificate.relative_gap,
                o.filters,
                100.0 * o.train_accuracy,
                test_acc.map_or("-".into(), |a| format!("{:.2}%", 100.0 * a))
            );
        }
        path_rows.push(serde_json::json!({
            "beta": beta, "objective": o.objective, "relative_gap": o.certificate.relative_gap,
            "filters": o.filters, "train_accuracy": o.train_accuracy, "test_accuracy": test_acc,
            "status": o.status, "seconds": o.seconds,
        }));
        warm = Some(o.point.clone());
        solver_history = bar
            .history
            .iter()
            .map(|h| serde_json::json!({"seconds": h.elapsed, "objective": h.objective, "violation": h.violation}))
            .collect();
        last = Some((o, test_acc, beta));
    }
    let Some((o, test_acc, beta)) = last else {
        return Err(Error::param("--beta", "no value of β given"));
    };
    let notes = vec![
        "objective: convex objective of the solver's point after projection onto the pattern cones (a feasible point); network_objective: the recovered CNN's own objective (equal up to rounding)".to_string(),
        "certificate.relative_gap: duality gap of the RESTRICTED program (sampled patterns only); it certifies optimality among networks whose filters use those patterns".to_string(),
        "fresh: dual constraints checked on a fresh batch of sampled patterns; gamma_over_beta > 1 means the global optimum is lower, and fresh.dual bounds the program over both pattern sets".to_string(),
        "losses are summed over samples (not averaged)".to_string(),
        "solver_history: the first-order solver's iterates of the last β (seconds since the solve began, after outcome.timings.patterns + operator; objective of the iterate; its relative cone violation)".to_string(),
    ];
    let report = ClassifierReport {
        data: r.source,
        n_train: r.train.n(),
        n_test: r.test.n(),
        classes: &r.classes,
        beta,
        loss: cfg.loss,
        spec: cfg.spec,
        pool: cfg.pool.name(),
        draws: cfg.draws,
        seed: cfg.seed,
        test_accuracy: test_acc,
        outcome: &o,
        notes,
    };
    let mut json =
        serde_json::to_value(&report).map_err(|e| Error::Solver(format!("report: {e}")))?;
    if path_rows.len() > 1 {
        json["path"] = serde_json::Value::Array(path_rows);
    }
    json["solver_history"] = serde_json::Value::Array(solver_history);
    let info = ModelInfo {
        classes: r.classes.clone(),
        normalization: r.normalization.clone(),
        loss: cfg.loss,
    };
    let mut files = vec![
        (
            "report.json",
            serde_json::to_vec_pretty(&json).map_err(|e| Error::Solver(format!("report: {e}")))?,
        ),
        (
            "model.json",
            serde_json::to_vec_pretty(&info).map_err(|e| Error::Solver(format!("model: {e}")))?,
        ),
    ];
    if let Some(net) = &o.network {
        files.push(("model.safetensors", to_safetensors(net)?));
    }
    write_dir_atomically(r.out, &files)?;
    if !r.quiet {
        println!(
            "two-layer CNN classifier: {} classes, {} pooling, kernel {}x{} stride {}, n = {} train / {} test",
            r.classes.len(),
            cfg.pool.name(),
            cfg.spec.kernel_h,
            cfg.spec.kernel_w,
            cfg.spec.stride_h,
            r.train.n(),
            r.test.n()
        );
        println!(
            "patterns         {} sampled ({} draws, seed {}), K = {}, h = {}, {} hyperplanes",
            o.patterns, cfg.draws, cfg.seed, o.k, o.h, o.hyperplanes
        );
        println!(
            "solver           {:?}: {} after {} iterations ({} inner), violation {:.1e}",
            o.solver,
            o.status.name(),
            o.iterations,
            o.inner_iterations,
            o.violation
        );
        if o.dropped_blocks > 0 {
            println!(
                "note             {} filters dropped: their projection onto the pattern cone failed numerically",
                o.dropped_blocks
            );
        }
        match o.network_objective {
            Some(no) => {
                println!(
                    "objective        {:.8e}  (convex, after projection onto the cones)",
                    o.objective
                );
                println!(
                    "network          {:.8e}  (recovered CNN, {} filters)",
                    no, o.filters
                );
            }
            None => println!(
                "objective        {:.8e}  (gated relaxation: a lower bound, not a ReLU network)",
                o.objective
            ),
        }
        println!(
            "restricted gap   {:.3e}  (duality gap over the sampled patterns only)",
            o.certificate.relative_gap
        );
        if let Some(f) = &o.fresh {
            println!(
                "fresh patterns   {}: max γ/β = {:.4} ({}); global optimum ≥ {:.6e} over both sets",
                f.patterns,
                f.gamma_over_beta,
                if f.gamma_over_beta > 1.0 {
                    "some would improve the objective: the global optimum is lower"
                } else {
                    "none would improve the objective"
                },
                f.dual
            );
        }
        println!(
            "accuracy         train {:.2}%{}",
            100.0 * o.train_accuracy,
            test_acc.map_or(String::new(), |a| format!(", test {:.2}%", 100.0 * a))
        );
        println!("time             {:.1} s", o.seconds);
        println!(
            "written          {}/ (report.json, model.json{})",
            r.out.display(),
            if o.network.is_some() {
                ", model.safetensors"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// Loads a model directory: the network and its info.
pub fn load_model(dir: &Path) -> Result<(cvxcnn::network::TwoLayerCnn, ModelInfo)> {
    let wpath = dir.join("model.safetensors");
    let ipath = dir.join("model.json");
    let bytes = std::fs::read(&wpath).map_err(|e| Error::io(&wpath, e))?;
    let net = from_safetensors(&bytes, &wpath)?;
    let info: ModelInfo = match std::fs::read(&ipath) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| Error::format(&ipath, format!("not a model description: {e}")))?,
        Err(_) => ModelInfo {
            classes: (0..net.outputs as i64).collect(),
            normalization: Normalization::None,
            loss: Loss::Squared,
        },
    };
    if info.classes.len() != net.outputs && net.outputs > 1 {
        return Err(Error::format(
            &ipath,
            format!(
                "field 'classes' has {} labels, the network has {} outputs",
                info.classes.len(),
                net.outputs
            ),
        ));
    }
    Ok((net, info))
}

/// Predictions of a loaded model on `ds` (normalized as at training): `n × C`.
pub fn model_outputs(
    net: &cvxcnn::network::TwoLayerCnn,
    info: &ModelInfo,
    ds: &mut Dataset,
) -> Result<Vec<f64>> {
    if ds.shape != net.shape {
        return Err(Error::Data(format!(
            "samples of shape {}x{}x{}, the model expects {}x{}x{}",
            ds.shape.channels,
            ds.shape.height,
            ds.shape.width,
            net.shape.channels,
            net.shape.height,
            net.shape.width
        )));
    }
    info.normalization.apply(ds)?;
    net.predict(&ds.x)
}

/// `eval`: accuracy and loss of a saved classifier on labelled data.
pub fn eval(
    net: &cvxcnn::network::TwoLayerCnn,
    info: &ModelInfo,
    mut ds: Dataset,
    json: bool,
) -> Result<()> {
    let f = model_outputs(net, info, &mut ds)?;
    let labels = labels_of(&ds, &info.classes, "evaluation")?;
    let n = ds.n();
    let acc = if net.outputs > 1 {
        accuracy(&f, &labels)
    } else {
        // Scalar output: the sign separates the two classes.
        let right = f
            .iter()
            .zip(&labels)
            .filter(|(v, l)| (**v >= 0.0) == (**l == 1))
            .count();
        right as f64 / n.max(1) as f64
    };
    let loss = if net.outputs > 1 {
        let y = one_hot(&labels, net.outputs);
        Some(info.loss.value_grad(&f, &y, n, None))
    } else {
        None
    };
    if json {
        println!(
            "{}",
            serde_json::json!({"samples": n, "accuracy": acc, "loss": loss, "loss_kind": info.loss.name()})
        );
    } else {
        println!("samples   {n}");
        println!("accuracy  {:.2}%", 100.0 * acc);
        if let Some(l) = loss {
            println!("loss      {l:.6e} ({}, summed)", info.loss.name());
        }
    }
    Ok(())
}

/// `predict`: one line per sample (the predicted label and the outputs), or with `json` one
/// object with the labels and the full-precision outputs (`n × C`).
pub fn predict(
    net: &cvxcnn::network::TwoLayerCnn,
    info: &ModelInfo,
    mut ds: Dataset,
    json: bool,
) -> Result<()> {
    let f = model_outputs(net, info, &mut ds)?;
    let n = ds.n();
    let pred = argmax_rows(&f, n);
    let label = |t: usize| -> String {
        if net.outputs > 1 {
            info.classes
                .get(pred[t])
                .copied()
                .unwrap_or(pred[t] as i64)
                .to_string()
        } else {
            (if f[t] >= 0.0 { "+" } else { "-" }).to_string()
        }
    };
    if json {
        let outputs: Vec<Vec<f64>> = (0..n)
            .map(|t| (0..net.outputs).map(|c| f[c * n + t]).collect())
            .collect();
        let labels: Vec<String> = (0..n).map(label).collect();
        println!(
            "{}",
            serde_json::json!({"labels": labels, "outputs": outputs})
        );
        return Ok(());
    }
    for t in 0..n {
        let outs: Vec<String> = (0..net.outputs)
            .map(|c| format!("{:.6}", f[c * n + t]))
            .collect();
        println!("{t}\t{}\t{}", label(t), outs.join("\t"));
    }
    Ok(())
}
