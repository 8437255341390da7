//! MNIST IDX files (images `0x00000803`, labels `0x00000801`), raw or gzip-compressed.

use super::dataset::{Dataset, SampleShape, Targets};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// The bytes of an IDX file (gunzipped when it is gzip), read only as far as its header
/// declares: the `header_len` header bytes, then the product of its `dims` sizes. A longer file
/// (or an endless one such as `/dev/zero`) is not read past that; a file whose magic number is
/// not `magic` is read no further than its header (the caller reports it).
fn read_declared(path: &Path, magic: u32, header_len: usize, dims: usize) -> Result<Vec<u8>> {
    use std::io::BufRead;
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = std::io::BufReader::new(f);
    let gz = buf
        .fill_buf()
        .map_err(|e| Error::io(path, e))?
        .starts_with(&[0x1f, 0x8b]);
    let mut r: Box<dyn Read> = if gz {
        Box::new(flate2::read::GzDecoder::new(buf))
    } else {
        Box::new(buf)
    };
    let bad = |e: std::io::Error| {
        if gz {
            Error::format(path, format!("corrupt gzip stream: {e}"))
        } else {
            Error::io(path, e)
        }
    };
    let mut head = Vec::with_capacity(header_len);
    (&mut r)
        .take(header_len as u64)
        .read_to_end(&mut head)
        .map_err(bad)?;
    let field = |i: usize| {
        head.get(i..i + 4)
            .map(|s| u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])))
    };
    if head.len() < header_len || field(0) != Some(u64::from(magic)) {
        return Ok(head);
    }
    let Some(need) = (0..dims).try_fold(1u64, |acc, d| acc.checked_mul(field(4 + 4 * d)?)) else {
        return Ok(head);
    };
    (&mut r).take(need).read_to_end(&mut head).map_err(bad)?;
    Ok(head)
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
    read_idx_bytes(
        read_declared(images, IMAGES_MAGIC, 16, 3)?,
        images,
        read_declared(labels, LABELS_MAGIC, 8, 1)?,
        labels,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only what the header declares is read: an IDX file followed by a megabyte of anything
    /// (gzip or raw) gives its one image, and reading `/dev/zero` (magic 0) stops at its header.
    #[test]
    fn reads_only_what_the_header_declares() {
        use std::io::Write;
        let d = tempfile::tempdir().unwrap();
        let mut img = vec![
            0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 10, 20, 30, 40,
        ];
        img.extend(std::iter::repeat_n(7u8, 1 << 20));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&img).unwrap();
        let (ip, lp) = (d.path().join("i.gz"), d.path().join("l"));
        std::fs::write(&ip, gz.finish().unwrap()).unwrap();
        std::fs::write(&lp, [0, 0, 8, 1, 0, 0, 0, 1, 3, 9, 9, 9]).unwrap();
        assert_eq!(read_declared(&ip, IMAGES_MAGIC, 16, 3).unwrap().len(), 20);
        assert_eq!(read_declared(&lp, LABELS_MAGIC, 8, 1).unwrap().len(), 9);
        let ds = read_idx(&ip, &lp).unwrap();
        assert_eq!((ds.n(), ds.x.len()), (1, 4));
        if Path::new("/dev/zero").exists() {
            let z = read_declared(Path::new("/dev/zero"), IMAGES_MAGIC, 16, 3).unwrap();
            assert_eq!(z.len(), 16);
        }
    }
}
