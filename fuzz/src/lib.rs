//! Helpers shared by the fuzz targets (`fuzz_targets/*.rs`) and the seed generator
//! (`examples/make_seeds.rs`): how one fuzz input is cut into several files, a per-process
//! scratch directory for the readers that take paths, and an allocation cap that turns a huge
//! allocation into a crash even without a sanitizer.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The largest single allocation a reader may ask for, as libFuzzer's `-malloc_limit_mb=2048`
/// would catch it (that flag needs a sanitizer's allocator; the targets are built with
/// `--sanitizer none` so that they build on the stable toolchain).
pub const MALLOC_LIMIT: usize = 2048 << 20;

/// The system allocator, aborting (a crash libFuzzer reports, with the input saved) on any
/// single allocation above [`MALLOC_LIMIT`].
pub struct CappedAlloc;

fn too_large(size: usize) -> ! {
    // No allocation here: the message is written with a stack buffer.
    let mut buf = [0u8; 96];
    let msg = b"cvxcnn-fuzz: allocation of ";
    let mut n = msg.len();
    buf[..n].copy_from_slice(msg);
    let mut digits = [0u8; 20];
    let mut k = 0;
    let mut v = size;
    loop {
        digits[k] = b'0' + (v % 10) as u8;
        k += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for d in digits[..k].iter().rev() {
        buf[n] = *d;
        n += 1;
    }
    let tail = b" bytes > -malloc_limit_mb=2048\n";
    buf[n..n + tail.len()].copy_from_slice(tail);
    n += tail.len();
    use std::io::Write;
    let _ = std::io::stderr().write_all(&buf[..n]);
    std::process::abort()
}

// SAFETY: every call is forwarded to `System` unchanged; only the size is checked first.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MALLOC_LIMIT {
            too_large(layout.size())
        }
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MALLOC_LIMIT {
            too_large(layout.size())
        }
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MALLOC_LIMIT {
            too_large(new_size)
        }
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

/// Cuts `data` into `n` parts: every part but the last is preceded by its length as a
/// little-endian `u16` (cut to what is left), the last part is the rest. Any byte string is a
/// valid input; [`join`] writes one.
pub fn split(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut parts = Vec::with_capacity(n);
    let mut rest = data;
    for _ in 1..n {
        let (len, tail) = match rest {
            [a, b, tail @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), tail),
            _ => (0, &[][..]),
        };
        let len = len.min(tail.len());
        parts.push(&tail[..len]);
        rest = &tail[len..];
    }
    parts.push(rest);
    parts
}

/// The input that [`split`] cuts into `parts` (each part but the last at most 65,535 bytes).
pub fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i + 1 < parts.len() {
            let len = u16::try_from(p.len()).expect("a part of at most 65,535 bytes");
            out.extend(len.to_le_bytes());
        }
        out.extend_from_slice(p);
    }
    out
}

/// This process's scratch directory (`$TMPDIR/cvxcnn-fuzz-PID`), for readers that take paths.
/// `scripts/fuzz.sh` points `TMPDIR` at a directory it removes afterwards.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("cvxcnn-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("a writable temporary directory");
        d
    })
}

/// Writes `bytes` to the scratch file `name` and returns its path.
pub fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch().join(name);
    std::fs::write(&p, bytes).expect("a writable temporary directory");
    p
}

/// Runs a model read from fuzz input on two samples of the shape it reads (when that shape has
/// at most 4,096 values): its predictions and its objective. Errors are ignored.
pub fn exercise(model: &dyn cvxcnn::Model, shape: cvxcnn::SampleShape) {
    if let Some(ds) = samples(shape) {
        let _ = model.predict(&ds);
        let _ = model.objective(&ds, &[1.0, -1.0]);
    }
}

/// Two samples of `shape` with fixed values, when it has 1 to 4,096 values.
pub fn samples(shape: cvxcnn::SampleShape) -> Option<cvxcnn::Dataset> {
    let len = shape
        .channels
        .checked_mul(shape.height)?
        .checked_mul(shape.width)?;
    if len == 0 || len > 4096 {
        return None;
    }
    let x = (0..2 * len)
        .map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0)
        .collect();
    cvxcnn::Dataset::new(x, shape, cvxcnn::Targets::Real(vec![1.0, -1.0]), "fuzz").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_inverts_join() {
        let parts: [&[u8]; 3] = [b"abc", b"", b"rest"];
        assert_eq!(split(&join(&parts), 3), parts);
        assert_eq!(split(&[5, 0, 1], 2), [&[1u8][..], &[][..]]);
        assert_eq!(split(&[], 3).len(), 3);
    }
}
