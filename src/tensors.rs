//! A model's weights as named float64 tensors in PyTorch layout, with string metadata: what
//! every architecture hands to [`crate::export`] to be written as `model.safetensors`.

use std::collections::BTreeMap;

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
