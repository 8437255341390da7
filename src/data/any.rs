//! One entry for every supported source: the format is recognised from the name and the first
//! bytes of the file.

use super::{builtin_mnist, read_cifar, read_idx, read_npy_pair, read_npz, Dataset, BUILTIN_MNIST};
use crate::error::{Error, Result};
use std::path::Path;

/// The formats [`read_any`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// The embedded MNIST subset ([`BUILTIN_MNIST`]).
    Builtin,
    /// CIFAR-10 binary batches (`.bin`, or several comma-separated).
    Cifar,
    /// A NumPy `.npz` archive with arrays `x` and `y`.
    Npz,
    /// A `.npy` array of samples (its targets in a second `.npy` file).
    Npy,
    /// An MNIST IDX image file (its labels in an IDX label file).
    Idx,
}

/// The format of `source`: the embedded set by name, CIFAR-10 batches by their `.bin` names
/// (several separated by commas), otherwise by the file's first bytes (`PK`: `.npz`,
/// `\x93NUMPY`: `.npy`, anything else: IDX).
pub fn sniff_format(source: &str) -> Result<SourceFormat> {
    if source == BUILTIN_MNIST {
        return Ok(SourceFormat::Builtin);
    }
    if source.starts_with("builtin:") && !Path::new(source).exists() {
        return Err(Error::param(
            "data",
            format!("'{source}' is not a built-in data set; built in: {BUILTIN_MNIST}"),
        ));
    }
    if source.ends_with(".bin") || (source.contains(',') && !Path::new(source).exists()) {
        return Ok(SourceFormat::Cifar);
    }
    let path = Path::new(source);
    if !path.exists() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    let mut head = Vec::with_capacity(8);
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(path).map_err(|e| Error::io(path, e))?,
            8,
        ),
        &mut head,
    )
    .map_err(|e| Error::io(path, e))?;
    Ok(
        if head.starts_with(b"PK") || path.extension().is_some_and(|e| e == "npz") {
            SourceFormat::Npz
        } else if head.starts_with(b"\x93NUMPY") {
            SourceFormat::Npy
        } else {
            SourceFormat::Idx
        },
    )
}

/// Reads a data set from `source` (see [`sniff_format`]), with the targets file `labels` that
/// `.npy` sample arrays and IDX image files need (and the other formats refuse).
pub fn read_any(source: &str, labels: Option<&Path>) -> Result<Dataset> {
    let format = sniff_format(source)?;
    let needs_labels = matches!(format, SourceFormat::Npy | SourceFormat::Idx);
    if labels.is_some() && !needs_labels {
        let why = match format {
            SourceFormat::Cifar => "CIFAR-10 batches hold their own labels",
            SourceFormat::Npz => "only for IDX or .npy sample files; a .npz holds its own y",
            _ => "the embedded data set holds its own labels",
        };
        return Err(Error::param("labels", why));
    }
    match format {
        SourceFormat::Builtin => builtin_mnist(),
        SourceFormat::Cifar => {
            let paths: Vec<&Path> = source.split(',').map(|p| Path::new(p.trim())).collect();
            read_cifar(&paths)
        }
        SourceFormat::Npz => read_npz(Path::new(source)),
        SourceFormat::Npy | SourceFormat::Idx => {
            let path = Path::new(source);
            let labels = labels.ok_or_else(|| {
                let what = if format == SourceFormat::Npy {
                    "is a .npy array of samples; its targets come in a second .npy file (labels)"
                } else {
                    "is not a .npz archive; an IDX image file needs its IDX label file (labels)"
                };
                Error::param("labels", format!("{} {what}", path.display()))
            })?;
            if format == SourceFormat::Npy {
                read_npy_pair(path, labels)
            } else {
                read_idx(path, labels)
            }
        }
    }
}
