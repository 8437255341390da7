//! `cvxcnn eval` and `cvxcnn predict`: a saved model (`model.safetensors`, with `model.json`
//! for classifiers) on labelled or unlabelled data.

use cvxcnn::arch::two_layer::classify::labels_of;
use cvxcnn::arch::ModelInfo;
use cvxcnn::data::{Dataset, Normalization, Targets};
use cvxcnn::export::from_safetensors;
use cvxcnn::loss::{accuracy, argmax_rows, one_hot, Loss};
use cvxcnn::network::TwoLayerCnn;
use cvxcnn::{Error, Result};
use std::path::Path;

/// Loads a model directory: the network and its info.
pub fn load_model(dir: &Path) -> Result<(TwoLayerCnn, ModelInfo)> {
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
pub fn model_outputs(net: &TwoLayerCnn, info: &ModelInfo, ds: &mut Dataset) -> Result<Vec<f64>> {
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
pub fn eval(net: &TwoLayerCnn, info: &ModelInfo, mut ds: Dataset, json: bool) -> Result<()> {
    let f = model_outputs(net, info, &mut ds)?;
    let n = ds.n();
    let (acc, loss) = match (&ds.targets, net.outputs > 1) {
        // A scalar output against real targets (±1 for two classes, as `--classes A,B` gives):
        // the sign separates the classes, and the loss is the squared loss it was trained on.
        (Targets::Real(y), false) => {
            let right = f
                .iter()
                .zip(y)
                .filter(|(v, t)| (**v >= 0.0) == (**t >= 0.0))
                .count();
            (
                right as f64 / n.max(1) as f64,
                Some(cvxcnn::loss::half_squared(&f, y)),
            )
        }
        _ => {
            let labels = labels_of(&ds, &info.classes, "evaluation")?;
            if net.outputs > 1 {
                let y = one_hot(&labels, net.outputs);
                (
                    accuracy(&f, &labels),
                    Some(info.loss.value_grad(&f, &y, n, None)),
                )
            } else {
                // Scalar output: the sign separates the two classes.
                let right = f
                    .iter()
                    .zip(&labels)
                    .filter(|(v, l)| (**v >= 0.0) == (**l == 1))
                    .count();
                (right as f64 / n.max(1) as f64, None)
            }
        }
    };
    let loss_kind = if net.outputs > 1 {
        info.loss.name()
    } else {
        "squared"
    };
    if json {
        println!(
            "{}",
            serde_json::json!({"samples": n, "accuracy": acc, "loss": loss, "loss_kind": loss_kind})
        );
    } else {
        println!("samples   {n}");
        println!("accuracy  {:.2}%", 100.0 * acc);
        if let Some(l) = loss {
            println!("loss      {l:.6e} ({loss_kind}, summed)");
        }
    }
    Ok(())
}

/// `predict`: one line per sample (the predicted label and the outputs), or with `json` one
/// object with the labels and the full-precision outputs (`n × C`).
pub fn predict(net: &TwoLayerCnn, info: &ModelInfo, mut ds: Dataset, json: bool) -> Result<()> {
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
