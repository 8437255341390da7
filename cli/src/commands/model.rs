//! `cvxcnn eval` and `cvxcnn predict`: a saved model of any architecture (read by the library's
//! [`SavedModel`]) on labelled or unlabelled data, or on the part of its training data it held
//! out.

use crate::args::SplitArg;
use cvxcnn::arch::two_layer::DataPart;
use cvxcnn::data::{Dataset, Targets};
use cvxcnn::export::SavedModel;
use cvxcnn::loss::{accuracy, one_hot, Loss};
use cvxcnn::{Error, Result};

/// `--split`: the part of the data to use (the model's own train/test split).
pub fn select(model: &SavedModel, ds: Dataset, split: SplitArg) -> Result<Dataset> {
    let part = match split {
        SplitArg::All => return Ok(ds),
        SplitArg::Train => DataPart::Train,
        SplitArg::Test => DataPart::Test,
    };
    match &model.info {
        Some(info) => info.part(&ds, part),
        None => Err(Error::param(
            "--split",
            "the model records no train/test split (only classifiers split their data)",
        )),
    }
}

/// The class index of every sample of `ds` among `classes`, or an error naming the first
/// sample whose label is not one of them.
fn class_indices(ds: &Dataset, classes: &[i64]) -> Result<Vec<usize>> {
    let Targets::Classes(y) = &ds.targets else {
        return Err(Error::Data(
            "the data have real-valued targets, not class labels".into(),
        ));
    };
    y.iter()
        .enumerate()
        .map(|(t, l)| {
            classes.iter().position(|c| c == l).ok_or_else(|| {
                let hint = if classes.len() == 2 {
                    format!(
                        " (keep only those with --classes {},{})",
                        classes[0], classes[1]
                    )
                } else {
                    String::new()
                };
                Error::Data(format!(
                    "sample {t} has label {l}, which is not one of the model's classes {classes:?}{hint}"
                ))
            })
        })
        .collect()
}

/// `eval`: accuracy (class labels, or the signs of ±1 targets) and loss of a saved model.
pub fn eval(model: &SavedModel, ds: Dataset, json: bool) -> Result<()> {
    let f = model.predict(&ds)?;
    let n = ds.n();
    let c = model.outputs();
    let info = model.info.as_ref();
    let loss_kind = info.map_or(Loss::Squared, |i| i.loss);
    let (acc, loss) = match &ds.targets {
        Targets::Real(y) => {
            if c != 1 {
                return Err(Error::Data(format!(
                    "the model has {c} outputs, one per class: evaluate it on class labels, not real-valued targets"
                )));
            }
            // ±1 targets (as `--classes A,B` gives): the sign separates the classes.
            let signs = y.iter().all(|v| *v == 1.0 || *v == -1.0);
            let acc = signs.then(|| cvxcnn::loss::sign_accuracy(&f, y));
            (acc, cvxcnn::loss::half_squared(&f, y))
        }
        Targets::Classes(_) => {
            let Some(info) = info else {
                return Err(Error::Data(
                    "the model has real-valued outputs (no model.json with class labels): evaluate it on real-valued targets".into(),
                ));
            };
            let idx = class_indices(&ds, &info.classes)?;
            if c == 1 {
                let y: Vec<f64> = idx
                    .iter()
                    .map(|&i| if i == 1 { 1.0 } else { -1.0 })
                    .collect();
                (
                    Some(cvxcnn::loss::sign_accuracy(&f, &y)),
                    cvxcnn::loss::half_squared(&f, &y),
                )
            } else {
                let y = one_hot(&idx, c);
                (
                    Some(accuracy(&f, &idx)),
                    info.loss.value_grad(&f, &y, n, None),
                )
            }
        }
    };
    if json {
        println!(
            "{}",
            serde_json::json!({
                "samples": n,
                "arch": model.loaded.arch,
                "accuracy": acc,
                "loss": loss,
                "loss_kind": loss_kind.name(),
                "mean_loss": loss / n.max(1) as f64,
            })
        );
    } else {
        println!("samples   {n}");
        if let Some(a) = acc {
            println!("accuracy  {:.2}%", 100.0 * a);
        }
        println!(
            "loss      {loss:.6e} ({}, summed; {:.6e} per sample)",
            loss_kind.name(),
            loss / n.max(1) as f64
        );
    }
    Ok(())
}

/// `predict`: a header, then one line per sample (the predicted label when the model has class
/// labels, and the outputs), or with `json` one object with the labels and the full-precision
/// outputs (`n × C`).
pub fn predict(model: &SavedModel, ds: Dataset, json: bool) -> Result<()> {
    let f = model.predict(&ds)?;
    let n = ds.n();
    let c = model.outputs();
    let labels = model.labels(&f, n);
    let outputs: Vec<Vec<f64>> = (0..n)
        .map(|t| (0..c).map(|k| f[k * n + t]).collect())
        .collect();
    if json {
        let mut o = serde_json::json!({"outputs": outputs});
        if let Some(l) = &labels {
            o["labels"] = serde_json::json!(l);
        }
        if let (Some(info), true) = (&model.info, c > 1) {
            o["classes"] = serde_json::json!(info.classes);
        }
        return emit(&format!("{o}\n"));
    }
    let mut head = vec!["sample".to_string()];
    if labels.is_some() {
        head.push("label".into());
    }
    match (&model.info, c) {
        (Some(info), c) if c > 1 => {
            head.extend(info.classes.iter().map(|l| format!("output[{l}]")))
        }
        (_, 1) => head.push("output".into()),
        _ => head.extend((0..c).map(|k| format!("output[{k}]"))),
    }
    let mut text = head.join("\t") + "\n";
    for (t, row) in outputs.iter().enumerate() {
        let mut cols = vec![t.to_string()];
        if let Some(l) = &labels {
            cols.push(l[t].to_string());
        }
        cols.extend(row.iter().map(|v| format!("{v:.6}")));
        text += &cols.join("\t");
        text.push('\n');
    }
    emit(&text)
}

/// Writes `text` to standard output; a reader that stopped early (`| head`) is not an error.
fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::io("stdout", e)),
        _ => Ok(()),
    }
}
