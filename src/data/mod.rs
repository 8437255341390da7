//! Data sets and their readers: NumPy `.npz` and `.npy` pairs, MNIST IDX (raw or gzip), CIFAR-10
//! binary batches, and the embedded MNIST subset.

mod any;
mod builtin;
mod cifar;
mod dataset;
mod idx;
mod npz;
mod prep;

pub use any::{read_any, sniff_format, SourceFormat};
pub use builtin::{builtin_mnist, BUILTIN_MNIST};
pub use cifar::{read_cifar, read_cifar_bytes, CIFAR_RECORD};
pub use dataset::{Dataset, SampleShape, Targets};
pub use idx::{read_idx, read_idx_bytes};
pub use npz::{read_npy_matrix, read_npy_pair, read_npz};
pub use prep::{ClassIndex, Normalization};

/// Checks that there is one target per sample.
pub fn check_targets(y: &[f64], n: usize) -> crate::error::Result<()> {
    if y.len() != n {
        return Err(crate::error::Error::Data(format!(
            "{} targets for {n} samples",
            y.len()
        )));
    }
    Ok(())
}
