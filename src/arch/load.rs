//! Saved models back in memory: the tensors of `model.safetensors` (any family, as
//! [`Model::tensors`] wrote them) → a [`Model`] that predicts, dispatched on the `arch`
//! metadata to the family that wrote it.

use crate::arch::traits::Model;
use crate::data::{Dataset, SampleShape};
use crate::error::{Error, Result};
use crate::tensors::ModelTensors;
use std::path::Path;

/// A model read back from its tensors.
pub struct LoadedModel {
    /// Family, as the `arch` metadata names it (`two-layer`, `two-layer-local`, `linear`,
    /// `three-layer`, `circular`).
    pub arch: String,
    /// The network.
    pub model: Box<dyn Model>,
    /// The shape of one sample it reads.
    pub shape: SampleShape,
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModel")
            .field("arch", &self.arch)
            .field("outputs", &self.model.outputs())
            .field("width", &self.model.width())
            .field("shape", &self.shape)
            .finish()
    }
}

/// A model whose `β` is unknown (read without its `report.json`): it predicts, and its
/// objective is an error.
struct WithoutBeta(Box<dyn Model>);

impl Model for WithoutBeta {
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>> {
        self.0.predict(ds)
    }
    fn outputs(&self) -> usize {
        self.0.outputs()
    }
    fn objective(&self, _ds: &Dataset, _y: &[f64]) -> Result<f64> {
        Err(Error::param(
            "beta",
            "the model was read without its report.json, so its weight decay β is unknown",
        ))
    }
    fn width(&self) -> usize {
        self.0.width()
    }
    fn tensors(&self) -> Result<Option<ModelTensors>> {
        self.0.tensors()
    }
}

/// The model of saved tensors `t` (read from `file`, named in errors), with weight decay `beta`
/// for its objective when known.
pub fn model_from_tensors(t: &ModelTensors, beta: Option<f64>, file: &Path) -> Result<LoadedModel> {
    if t.metadata.get("format").map(String::as_str) != Some("cvxcnn") {
        return Err(Error::format(
            file,
            format!(
                "metadata field 'format': {:?}, expected \"cvxcnn\" (not a model cvxcnn wrote)",
                t.metadata.get("format")
            ),
        ));
    }
    let arch = t.field("arch", file)?.to_string();
    let b = beta.unwrap_or(0.0);
    let (model, shape) = match arch.as_str() {
        "two-layer" => crate::arch::two_layer::read(t, b, file)?,
        "two-layer-local" => crate::arch::local_pool::read(t, b, file)?,
        "linear" => crate::arch::linear::read(t, b, file)?,
        "three-layer" => crate::arch::three_layer::read(t, b, file)?,
        "circular" => crate::arch::circular::read(t, b, file)?,
        other => {
            return Err(Error::format(
                file,
                format!("metadata field 'arch': unknown family '{other}'"),
            ))
        }
    };
    let model = if beta.is_some() {
        model
    } else {
        Box::new(WithoutBeta(model))
    };
    Ok(LoadedModel { arch, model, shape })
}
