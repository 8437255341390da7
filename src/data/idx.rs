//! MNIST IDX files (images `0x00000803`, labels `0x00000801`), raw or gzip-compressed.

use super::dataset::{Dataset, SampleShape, Targets};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

fn read_all(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Gunzips `bytes` when they start with the gzip magic, else returns them unchanged.
fn maybe_gunzip(bytes: Vec<u8>, name: &Path) -> Result<Vec<u8>> {
    if bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::format(name, format!("corrupt gzip stream: {e}")))?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

fn be_u32(b: &[u8], at: usize, name: &Path, field: &str) -> Result<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| {
            Error::format(
                name,
                format!("truncated header: no {field} (file has {} bytes)", b.len()),
            )
        })
}

/// Parses an IDX image file and an IDX label file given as bytes (raw or gzip). Pixels are
/// scaled to `[0, 1]` by dividing by 255; the result has one channel and labels as classes.
pub fn read_idx_bytes(
    images: Vec<u8>,
    images_name: &Path,
    labels: Vec<u8>,
    labels_name: &Path,
) -> Result<Dataset> {
    let img = maybe_gunzip(images, images_name)?;
    let lab = maybe_gunzip(labels, labels_name)?;
    let magic = be_u32(&img, 0, images_name, "magic number")?;
    if magic != IMAGES_MAGIC {
        return Err(Error::format(
            images_name,
            format!("magic number 0x{magic:08x} is not an IDX image file (0x00000803)"),
        ));
    }
    let n = be_u32(&img, 4, images_name, "image count")? as usize;
    let rows = be_u32(&img, 8, images_name, "row count")? as usize;
    let cols = be_u32(&img, 12, images_name, "column count")? as usize;
    let need = n
        .checked_mul(rows)
        .and_then(|v| v.checked_mul(cols))
        .and_then(|v| v.checked_add(16))
        .ok_or_else(|| Error::format(images_name, "header sizes overflow"))?;
    if img.len() < need {
        return Err(Error::format(
            images_name,
            format!(
                "truncated: header says {n} images of {rows}×{cols} ({need} bytes) but the file has {} bytes",
                img.len()
            ),
        ));
    }
    let lmagic = be_u32(&lab, 0, labels_name, "magic number")?;
    if lmagic != LABELS_MAGIC {
        return Err(Error::format(
            labels_name,
            format!("magic number 0x{lmagic:08x} is not an IDX label file (0x00000801)"),
        ));
    }
    let nl = be_u32(&lab, 4, labels_name, "label count")? as usize;
    if lab.len() < 8 + nl {
        return Err(Error::format(
            labels_name,
            format!(
                "truncated: header says {nl} labels but the file has {} bytes",
                lab.len()
            ),
        ));
    }
    if nl != n {
        return Err(Error::format(
            labels_name,
            format!("{nl} labels for {n} images in {}", images_name.display()),
        ));
    }
    let x: Vec<f64> = img[16..need]
        .iter()
        .map(|&p| f64::from(p) / 255.0)
        .collect();
    let y: Vec<i64> = lab[8..8 + n].iter().map(|&c| i64::from(c)).collect();
    let shape = SampleShape {
        channels: 1,
        height: rows,
        width: cols,
        one_d: false,
    };
    Dataset::new(
        x,
        shape,
        Targets::Classes(y),
        &images_name.display().to_string(),
    )
}

/// Reads an IDX image file and its IDX label file (raw or gzip).
pub fn read_idx(images: &Path, labels: &Path) -> Result<Dataset> {
    read_idx_bytes(read_all(images)?, images, read_all(labels)?, labels)
}
