//! NumPy `.npz` archives with arrays `x` and `y`, and pairs of `.npy` files (samples, labels).

use super::dataset::{Dataset, SampleShape, Targets};
use crate::error::{Error, Result};
use npyz::{npz::NpzArchive, NpyFile, Order, TypeChar};
use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;

enum Values {
    Float(Vec<f64>),
    Int(Vec<i64>),
}

fn read_array(
    archive: &mut NpzArchive<BufReader<File>>,
    path: &Path,
    name: &str,
) -> Result<(Vec<usize>, Values)> {
    let member = match archive
        .zip_archive()
        .by_name(&npyz::npz::file_name_from_array_name(name))
    {
        Ok(member) => member,
        Err(npyz::zip::result::ZipError::FileNotFound) => {
            return Err(Error::format(
                path,
                format!("no array named '{name}' in the archive"),
            ))
        }
        Err(e) => return Err(Error::format(path, format!("array '{name}': {e}"))),
    };
    let file =
        checked_npy(member).map_err(|e| Error::format(path, format!("array '{name}': {e}")))?;
    decode(file, path, name, None)
}

/// Opening brackets a `.npy` header may hold (see [`checked_npy`]).
const MAX_HEADER_BRACKETS: usize = 6;

/// A `.npy` stream (`r`, from its first byte) whose header is checked before `npyz` parses it:
/// `npyz` allocates the header's declared length (up to 4 GiB) before reading it, multiplies
/// the shape's sizes unchecked (a panic in builds with overflow checks) and parses nested
/// brackets in exponential time. So the header is read here first, as far as its bytes are
/// there, and must be there in full; the integers it holds (the shape's sizes, `8` of `<f8`, …)
/// must have a product, zeros left out, that fits in 64 bits; and it may hold at most
/// [`MAX_HEADER_BRACKETS`] opening brackets. Other malformed headers are left to `npyz`'s
/// errors.
fn checked_npy<R: Read>(mut r: R) -> std::io::Result<NpyFile<std::io::Chain<Cursor<Vec<u8>>, R>>> {
    let invalid = |msg: String| std::io::Error::new(std::io::ErrorKind::InvalidData, msg);
    let mut head = Vec::new();
    // Magic (6 bytes), version (2), header length (2 bytes in version 1, else 4).
    (&mut r).take(8).read_to_end(&mut head)?;
    let len_bytes = match head.get(6) {
        Some(1) => 2,
        Some(2 | 3) => 4,
        _ => 0,
    };
    if head.starts_with(b"\x93NUMPY") && len_bytes > 0 {
        (&mut r).take(len_bytes as u64).read_to_end(&mut head)?;
        if head.len() == 8 + len_bytes {
            let mut len = [0u8; 4];
            len[..len_bytes].copy_from_slice(&head[8..]);
            let declared = u64::from(u32::from_le_bytes(len));
            let start = head.len();
            (&mut r).take(declared).read_to_end(&mut head)?;
            let got = head.len() - start;
            if (got as u64) < declared {
                return Err(invalid(format!(
                    "the header declares {declared} bytes but the file ends after {got}"
                )));
            }
            if !integers_fit(&head[start..]) {
                return Err(invalid(
                    "the header's sizes are too large (their product overflows)".into(),
                ));
            }
            // `npyz`'s parser of the header backtracks exponentially in its nesting depth (a
            // 200-byte header of `[[[[…` takes minutes). The header of an array of a plain
            // numeric dtype, the only one read here, holds 2 brackets: `{` and the shape's.
            let brackets = head[start..].iter().filter(|b| b"([{".contains(b)).count();
            if brackets > MAX_HEADER_BRACKETS {
                return Err(invalid(format!(
                    "the header holds {brackets} brackets; more than {MAX_HEADER_BRACKETS} is not the header of an array of numbers"
                )));
            }
        }
    }
    NpyFile::new(Cursor::new(head).chain(r))
}

/// Whether the integer literals of a `.npy` header (hexadecimal, octal, binary or decimal, with
/// `_` separators, as Python writes them) have a product, zeros left out, below 2^64. Every
/// literal starts a run of letters, digits and `_` that starts with a digit; such a run is read
/// as far as it is an integer. Each of the shape's partial products is at most this product.
fn integers_fit(header: &[u8]) -> bool {
    let mut product: u64 = 1;
    for run in header.split(|b| !(b.is_ascii_alphanumeric() || *b == b'_')) {
        if !run.first().is_some_and(u8::is_ascii_digit) {
            continue;
        }
        let (radix, digits) = match run.get(..2) {
            Some(b"0x" | b"0X") => (16, &run[2..]),
            Some(b"0o" | b"0O") => (8, &run[2..]),
            Some(b"0b" | b"0B") => (2, &run[2..]),
            _ => (10, run),
        };
        let mut value: u64 = 0;
        for &b in digits {
            if b == b'_' {
                continue;
            }
            let Some(d) = char::from(b).to_digit(radix) else {
                break;
            };
            let Some(v) = value
                .checked_mul(u64::from(radix))
                .and_then(|v| v.checked_add(u64::from(d)))
            else {
                return false;
            };
            value = v;
        }
        if value != 0 {
            let Some(p) = product.checked_mul(value) else {
                return false;
            };
            product = p;
        }
    }
    true
}

/// Values of one array, in row-major order, with its shape.
/// `available`: the bytes the file holds (a `.npy` file), checked against the shape before any
/// allocation.
fn decode<R: Read>(
    file: NpyFile<R>,
    path: &Path,
    name: &str,
    available: Option<u64>,
) -> Result<(Vec<usize>, Values)> {
    let declared = file
        .shape()
        .iter()
        .try_fold(1u64, |acc, &s| acc.checked_mul(s))
        .and_then(|c| c.checked_mul(8));
    match (declared, available) {
        (None, _) => {
            return Err(Error::format(
                path,
                format!(
                    "array '{name}': shape {:?} is too large (its size overflows)",
                    file.shape()
                ),
            ))
        }
        (Some(b), Some(av)) if b / 8 > av => {
            return Err(Error::format(
                path,
                format!(
                    "array '{name}': shape {:?} declares {} values but the file holds {av} bytes",
                    file.shape(),
                    b / 8
                ),
            ))
        }
        _ => {}
    }
    let shape: Vec<usize> = file.shape().iter().map(|&s| s as usize).collect();
    let order = file.order();
    let npyz::DType::Plain(ts) = file.dtype() else {
        return Err(Error::format(
            path,
            format!(
                "array '{name}': unsupported dtype {:?} (need a plain numeric dtype)",
                file.dtype()
            ),
        ));
    };
    let bad = |e: std::io::Error| Error::format(path, format!("array '{name}': {e}"));
    let values = match (ts.type_char(), ts.size_field()) {
        (TypeChar::Float, 4) => Values::Float(
            file.into_vec::<f32>()
                .map_err(bad)?
                .into_iter()
                .map(f64::from)
                .collect(),
        ),
        (TypeChar::Float, 8) => Values::Float(file.into_vec::<f64>().map_err(bad)?),
        (TypeChar::Int, 1) => Values::Int(conv(file.into_vec::<i8>().map_err(bad)?)),
        (TypeChar::Int, 2) => Values::Int(conv(file.into_vec::<i16>().map_err(bad)?)),
        (TypeChar::Int, 4) => Values::Int(conv(file.into_vec::<i32>().map_err(bad)?)),
        (TypeChar::Int, 8) => Values::Int(file.into_vec::<i64>().map_err(bad)?),
        (TypeChar::Uint, 1) => Values::Int(conv(file.into_vec::<u8>().map_err(bad)?)),
        (TypeChar::Uint, 2) => Values::Int(conv(file.into_vec::<u16>().map_err(bad)?)),
        (TypeChar::Uint, 4) => Values::Int(conv(file.into_vec::<u32>().map_err(bad)?)),
        _ => {
            return Err(Error::format(
                path,
                format!(
                    "array '{name}': unsupported dtype '{ts}' (use float32, float64 or an integer type)"
                ),
            ))
        }
    };
    let count: usize = shape.iter().product();
    let len = match &values {
        Values::Float(v) => v.len(),
        Values::Int(v) => v.len(),
    };
    if len != count {
        return Err(Error::format(
            path,
            format!("array '{name}': shape {shape:?} needs {count} values but {len} were read"),
        ));
    }
    let values = if order == Order::Fortran && shape.len() > 1 {
        match values {
            Values::Float(v) => Values::Float(fortran_to_c(&v, &shape)),
            Values::Int(v) => Values::Int(fortran_to_c(&v, &shape)),
        }
    } else {
        values
    };
    Ok((shape, values))
}

fn conv<T: Into<i64>>(v: Vec<T>) -> Vec<i64> {
    v.into_iter().map(Into::into).collect()
}

/// Reorders column-major data of `shape` into row-major order.
fn fortran_to_c<T: Copy>(v: &[T], shape: &[usize]) -> Vec<T> {
    let nd = shape.len();
    let mut out = Vec::with_capacity(v.len());
    let mut idx = vec![0usize; nd];
    for _ in 0..v.len() {
        // Column-major offset of the row-major multi-index `idx`.
        let mut off = 0;
        let mut stride = 1;
        for d in 0..nd {
            off += idx[d] * stride;
            stride *= shape[d];
        }
        out.push(v[off]);
        for d in (0..nd).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// Reads a `.npz` archive holding `x` of shape `(n, L)`, `(n, c, L)` or `(n, c, H, W)`
/// (float32 or float64; integer pixels are accepted too) and `y` of shape `(n,)`: floating
/// `y` gives real targets (regression), integer `y` class labels.
pub fn read_npz(path: &Path) -> Result<Dataset> {
    let mut archive = NpzArchive::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => Error::io(path, e),
        _ => Error::format(path, format!("not a readable .npz (zip) archive: {e}")),
    })?;
    let (xs, xv) = read_array(&mut archive, path, "x")?;
    let (ys, yv) = read_array(&mut archive, path, "y")?;
    assemble(path, xs, xv, ys, yv)
}

/// Reads a pair of `.npy` files: samples (as `x` of [`read_npz`]) and targets (as `y`).
pub fn read_npy_pair(x_path: &Path, y_path: &Path) -> Result<Dataset> {
    let open = |p: &Path, name: &str| -> Result<(Vec<usize>, Values)> {
        let f = File::open(p).map_err(|e| Error::io(p, e))?;
        let size = f.metadata().map_err(|e| Error::io(p, e))?.len();
        let npy = checked_npy(BufReader::new(f))
            .map_err(|e| Error::format(p, format!("not a readable .npy file: {e}")))?;
        decode(npy, p, name, Some(size))
    };
    let (xs, xv) = open(x_path, "x")?;
    let (ys, yv) = open(y_path, "y")?;
    assemble(x_path, xs, xv, ys, yv)
}

/// Reads a 2-D floating (or integer) `.npy` array: `(rows, cols)` and its values, row-major.
pub fn read_npy_matrix(path: &Path) -> Result<(usize, usize, Vec<f64>)> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let size = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let npy = checked_npy(BufReader::new(f))
        .map_err(|e| Error::format(path, format!("not a readable .npy file: {e}")))?;
    let (shape, values) = decode(npy, path, "array", Some(size))?;
    let [r, c] = shape.as_slice() else {
        return Err(Error::format(
            path,
            format!("array has shape {shape:?}; expected a 2-D (rows, columns) array"),
        ));
    };
    let v: Vec<f64> = match values {
        Values::Float(v) => v,
        Values::Int(v) => v.into_iter().map(|a| a as f64).collect(),
    };
    if let Some(bad) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::format(
            path,
            format!("entry {bad} is {}, not a finite number", v[bad]),
        ));
    }
    Ok((*r, *c, v))
}

fn assemble(
    path: &Path,
    xs: Vec<usize>,
    xv: Values,
    ys: Vec<usize>,
    yv: Values,
) -> Result<Dataset> {
    let x: Vec<f64> = match xv {
        Values::Float(v) => v,
        Values::Int(v) => v.into_iter().map(|a| a as f64).collect(),
    };
    let Some(shape) = SampleShape::from_dims(&xs) else {
        return Err(Error::format(
            path,
            format!("array 'x' has shape {xs:?}; expected (n, L), (n, c, L) or (n, c, H, W)"),
        ));
    };
    if ys.len() != 1 {
        return Err(Error::format(
            path,
            format!("array 'y' has shape {ys:?}; expected (n,)"),
        ));
    }
    if ys[0] != xs[0] {
        return Err(Error::format(
            path,
            format!(
                "shape mismatch: x has {} samples (shape {xs:?}) but y has {} (shape {ys:?})",
                xs[0], ys[0]
            ),
        ));
    }
    let targets = match yv {
        Values::Float(v) => Targets::Real(v),
        Values::Int(v) => Targets::Classes(v),
    };
    Dataset::new(x, shape, targets, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::{checked_npy, fortran_to_c, integers_fit};

    /// Headers that `npyz` would turn into a 4 GiB allocation or an overflowing product of the
    /// shape (found by `fuzz/`, target `npy`) are errors.
    #[test]
    fn hostile_headers_are_errors() {
        assert!(integers_fit(
            b"{'descr': '<f8', 'shape': (0x10, 3_000, 0), }"
        ));
        assert!(!integers_fit(
            b"{'descr': '<f8', 'shape': (4294967296, 0, 4294967296), }"
        ));
        assert!(!integers_fit(b"{'shape': [0xffffffffffffffff, 2]}"));
        let v2 = b"\x93NUMPY\x02\x00\xff\xff\xff\xff{".to_vec();
        let err = checked_npy(&v2[..]).err().expect("an error");
        assert!(err.to_string().contains("4294967295 bytes"), "{err}");
        let header =
            b"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }";
        let mut v1 = b"\x93NUMPY\x01\x00".to_vec();
        v1.extend((header.len() as u16).to_le_bytes());
        v1.extend(header);
        let err = checked_npy(&v1[..]).err().expect("an error");
        assert!(err.to_string().contains("too large"), "{err}");
        let header =
            b"{'descr': '<f8',[[[[[[[[[[[[[[[[[[[[[[[[ 'fortran_order': False, 'shape': (1,), }";
        let mut nested = b"\x93NUMPY\x01\x00".to_vec();
        nested.extend((header.len() as u16).to_le_bytes());
        nested.extend(header);
        let err = checked_npy(&nested[..]).err().expect("an error");
        assert!(err.to_string().contains("26 brackets"), "{err}");
    }

    #[test]
    fn fortran_order_is_transposed() {
        // 2×3 matrix [[1,2,3],[4,5,6]] stored column-major.
        let f = [1, 4, 2, 5, 3, 6];
        assert_eq!(fortran_to_c(&f, &[2, 3]), vec![1, 2, 3, 4, 5, 6]);
    }
}
