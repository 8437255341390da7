//! Data sets and their readers: NumPy `.npz`, MNIST IDX (raw or gzip) and the embedded MNIST subset.

mod builtin;
mod dataset;
mod idx;
mod npz;
mod prep;

pub use builtin::{builtin_mnist, BUILTIN_MNIST};
pub use dataset::{Dataset, SampleShape, Targets};
pub use idx::{read_idx, read_idx_bytes};
pub use npz::read_npz;
pub use prep::{ClassIndex, Normalization};
