//! A model's weights as named float64 tensors in PyTorch layout, with string metadata: what
//! every architecture hands to [`crate::export`] to be written as `model.safetensors`.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// One named tensor, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Name (`conv.weight`, `fc.weight`, ...).
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Values, row-major; `data.len()` is the product of `shape`.
    pub data: Vec<f64>,
}

/// The tensors of a model and the metadata of its safetensors header (sorted by key, so that
/// the same model gives the same bytes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelTensors {
    /// Tensors in the order they are listed.
    pub tensors: Vec<Tensor>,
    /// `__metadata__` entries.
    pub metadata: BTreeMap<String, String>,
}

impl ModelTensors {
    /// An empty set with `format = cvxcnn` and the given `arch`.
    pub fn new(arch: &str) -> Self {
        let mut t = ModelTensors::default();
        t.meta("format", "cvxcnn").meta("arch", arch);
        t
    }

    /// Adds a tensor.
    pub fn push(&mut self, name: &str, shape: Vec<usize>, data: Vec<f64>) -> &mut Self {
        self.tensors.push(Tensor {
            name: name.to_string(),
            shape,
            data,
        });
        self
    }

    /// Sets a metadata entry.
    pub fn meta(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.metadata.insert(key.to_string(), value.into());
        self
    }

    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|t| t.name == name)
    }
}

/// Reading saved tensors back: every miss is an [`Error::Format`] naming `file`, the field and
/// the value found.
impl ModelTensors {
    /// The metadata entry `key`.
    pub fn field(&self, key: &str, file: &Path) -> Result<&str> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| Error::format(file, format!("metadata field '{key}' is missing")))
    }

    /// The metadata entry `key` read as a list of sizes: `[a, b]` or a single `a`.
    pub fn sizes(&self, key: &str, file: &Path) -> Result<Vec<usize>> {
        let v = self.field(key, file)?;
        let t = v.trim().trim_start_matches('[').trim_end_matches(']');
        t.split(',')
            .map(|p| p.trim().parse().ok())
            .collect::<Option<Vec<usize>>>()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| {
                Error::format(
                    file,
                    format!("metadata field '{key}': cannot read '{v}' as sizes"),
                )
            })
    }

    /// The tensor `name`, checked to have `len` values when given.
    pub fn require(&self, name: &str, file: &Path) -> Result<&Tensor> {
        let t = self
            .get(name)
            .ok_or_else(|| Error::format(file, format!("tensor '{name}' is missing")))?;
        let len = t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if len != Some(t.data.len()) {
            return Err(Error::format(
                file,
                format!(
                    "tensor '{name}': shape {:?} does not hold its {} values",
                    t.shape,
                    t.data.len()
                ),
            ));
        }
        Ok(t)
    }
}
