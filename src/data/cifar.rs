//! CIFAR-10 binary batches (`data_batch_1.bin` … `test_batch.bin`): records of one label byte
//! (0–9) and 3,072 pixel bytes (red, green, blue planes of 32×32, row-major), as published at
//! <https://www.cs.toronto.edu/~kriz/cifar.html>. Pixels are scaled to `[0, 1]`.

use super::dataset::{Dataset, SampleShape, Targets};
use crate::error::{Error, Result};
use std::path::Path;

/// Bytes per record.
pub const CIFAR_RECORD: usize = 1 + 3 * 32 * 32;

/// Parses CIFAR-10 binary records; `name` is used in error messages.
pub fn read_cifar_bytes(bytes: &[u8], name: &Path) -> Result<Dataset> {
    if bytes.is_empty() || bytes.len() % CIFAR_RECORD != 0 {
        return Err(Error::format(
            name,
            format!(
                "{} bytes is not a whole number of CIFAR-10 records of {CIFAR_RECORD} bytes",
                bytes.len()
            ),
        ));
    }
    let n = bytes.len() / CIFAR_RECORD;
    let mut x = Vec::with_capacity(n * (CIFAR_RECORD - 1));
    let mut y = Vec::with_capacity(n);
    for (t, rec) in bytes.chunks_exact(CIFAR_RECORD).enumerate() {
        if rec[0] > 9 {
            return Err(Error::format(
                name,
                format!("record {t}: label {} is not a CIFAR-10 class 0–9", rec[0]),
            ));
        }
        y.push(i64::from(rec[0]));
        x.extend(rec[1..].iter().map(|&p| f64::from(p) / 255.0));
    }
    let shape = SampleShape {
        channels: 3,
        height: 32,
        width: 32,
        one_d: false,
    };
    Dataset::new(x, shape, Targets::Classes(y), &name.display().to_string())
}

/// Reads one or more CIFAR-10 binary batch files and concatenates them.
pub fn read_cifar(paths: &[&Path]) -> Result<Dataset> {
    let mut bytes = Vec::new();
    for p in paths {
        let b = std::fs::read(p).map_err(|e| Error::io(*p, e))?;
        if b.len() % CIFAR_RECORD != 0 {
            return Err(Error::format(
                *p,
                format!(
                    "{} bytes is not a whole number of CIFAR-10 records of {CIFAR_RECORD} bytes",
                    b.len()
                ),
            ));
        }
        bytes.extend_from_slice(&b);
    }
    let name = paths.first().copied().unwrap_or(Path::new("cifar"));
    read_cifar_bytes(&bytes, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_errors() {
        let mut b = vec![0u8; 2 * CIFAR_RECORD];
        b[0] = 3;
        b[1] = 255; // red (0, 0) of sample 0
        b[CIFAR_RECORD] = 9;
        b[CIFAR_RECORD + 1 + 1024 + 33] = 51; // green (1, 1) of sample 1
        let ds = read_cifar_bytes(&b, Path::new("t.bin")).unwrap();
        assert_eq!(ds.n(), 2);
        assert_eq!(ds.targets, Targets::Classes(vec![3, 9]));
        assert_eq!(ds.sample(0)[0], 1.0);
        assert!((ds.sample(1)[1024 + 33] - 0.2).abs() < 1e-15);
        let err = read_cifar_bytes(&b[..100], Path::new("t.bin")).unwrap_err();
        assert!(err.to_string().contains("t.bin") && err.to_string().contains("100 bytes"));
        b[0] = 10;
        let err = read_cifar_bytes(&b, Path::new("t.bin")).unwrap_err();
        assert!(err.to_string().contains("label 10"));
    }
}
