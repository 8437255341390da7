//! Helpers shared by the integration tests of the `cvxcnn` command: running it, writing data
//! files (.npz, .npy, CIFAR batches), the reference instances, and the clean-failure check.
//! Each test file includes this module with `mod common;` and uses a part of it.
#![allow(dead_code)]

use npyz::WriterBuilder;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cvxcnn"))
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

pub enum Arr<'a> {
    F64(&'a [f64], Vec<u64>),
    I64(&'a [i64], Vec<u64>),
    U64(&'a [u64], Vec<u64>),
}

pub fn put<T: npyz::AutoSerialize + Copy>(
    npz: &mut npyz::npz::NpzWriter<std::io::BufWriter<std::fs::File>>,
    name: &str,
    v: &[T],
    s: &[u64],
) {
    let opts = zip::write::FileOptions::default();
    let mut w = npz
        .array::<T>(name, opts)
        .unwrap()
        .default_dtype()
        .shape(s)
        .begin_nd()
        .unwrap();
    w.extend(v.iter().copied()).unwrap();
    w.finish().unwrap();
}

pub fn write_npz(path: &Path, arrays: &[(&str, Arr)]) {
    let mut npz = npyz::npz::NpzWriter::create(path).unwrap();
    for (name, a) in arrays {
        match a {
            Arr::F64(v, s) => put(&mut npz, name, v, s),
            Arr::I64(v, s) => put(&mut npz, name, v, s),
            Arr::U64(v, s) => put(&mut npz, name, v, s),
        }
    }
}

pub fn write_npy<T: npyz::AutoSerialize + Copy>(path: &Path, v: &[T], s: &[u64]) {
    let f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(s)
        .writer(f)
        .begin_nd()
        .unwrap();
    w.extend(v.iter().copied()).unwrap();
    w.finish().unwrap();
}

pub fn gaussian(n: usize, seed: u64) -> Vec<f64> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut r = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| StandardNormal.sample(&mut r)).collect()
}

/// Bytes of one CIFAR-10 record: a label byte and 3×32×32 pixels.
pub const CIFAR_RECORD: usize = 1 + 3 * 32 * 32;

/// `count` CIFAR-10 records numbered from `first`: record `t` has label `t % 10` and pixels
/// `(7t + 13j) mod 256`.
pub fn cifar_batch(first: usize, count: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; count * CIFAR_RECORD];
    for (i, chunk) in bytes.chunks_mut(CIFAR_RECORD).enumerate() {
        let t = first + i;
        chunk[0] = (t % 10) as u8;
        for (j, p) in chunk[1..].iter_mut().enumerate() {
            *p = ((t * 7 + j * 13) % 256) as u8;
        }
    }
    bytes
}

/// MATH-DEEP's B1 instance (6 signals of length 4), used by the circular architecture.
pub const B1_X: [f64; 24] = [
    0.4, 1.5, -1.8, 1.7, 0.0, -0.8, -0.8, -1.1, -0.2, 0.8, 0.6, 0.6, -1.7, -1.6, 1.6, 1.0, 2.2,
    1.2, -1.0, 1.3, 0.6, 0.2, -0.8, 0.0,
];
pub const B1_Y: [f64; 6] = [-0.1, 0.9, 0.1, 1.6, -0.8, 0.5];

/// MATH-DEEP's C2 instance (4 signals of length 7), used by local pooling and the shared head.
pub const C2_X: [f64; 28] = [
    1.1, 1.8, -2.6, -0.1, 1.0, 1.4, 0.7, 1.5, 0.3, 0.6, 0.2, -1.1, -0.8, 0.4, -0.6, 1.3, 1.3, 1.8,
    0.0, 1.4, -0.9, -0.8, 0.1, 0.3, -1.6, -1.7, 0.4, -0.9,
];
pub const C2_Y: [f64; 4] = [1.2, 0.4, 0.3, 0.2];

/// MATH-DEEP's A1 instance (4 signals of length 4), used by the three-layer architecture.
pub const A1_X: [f64; 16] = [
    0.1, -0.1, 0.6, 0.1, -0.5, 0.4, 1.3, 0.9, -0.7, -1.3, -0.6, 0.0, -2.3, -0.2, -1.2, -0.7,
];
pub const A1_Y: [f64; 4] = [-0.5, -0.3, 0.4, 1.0];

/// Writes a regression data set: `x` of shape `n × (x.len() / n)` and `y` of length `n`.
pub fn write_xy(path: &Path, x: &[f64], y: &[f64]) {
    let (n, len) = (y.len() as u64, (x.len() / y.len()) as u64);
    write_npz(
        path,
        &[
            ("x", Arr::F64(x, vec![n, len])),
            ("y", Arr::F64(y, vec![n])),
        ],
    );
}

/// Writes a labelled data set: `x` of shape `n × (x.len() / n)` and integer labels `y`.
pub fn write_labelled(path: &Path, x: &[f64], y: &[i64]) {
    let (n, len) = (y.len() as u64, (x.len() / y.len()) as u64);
    write_npz(
        path,
        &[
            ("x", Arr::F64(x, vec![n, len])),
            ("y", Arr::I64(y, vec![n])),
        ],
    );
}

/// `train` of a two-layer sum-pooling network, kernel 3, β = 0.1, exact patterns, IPM.
pub fn train_args<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        data,
        "--arch",
        "two-layer",
        "--pool",
        "sum",
        "--kernel",
        "3",
        "--stride",
        "1",
        "--beta",
        "0.1",
        "--patterns",
        "exact",
        "--solver",
        "ipm",
        "--loss",
        "squared",
        "--out",
        out,
        "--quiet",
    ]
}

/// What is wrong with a run that should have failed cleanly: exit code `code`, one line on
/// stderr naming `needle`, no panic, no output directory `out` and no temporary directory
/// beside it. Empty when nothing is.
pub fn bad_failure(o: &Output, code: i32, needle: &str, out: &Path) -> Vec<String> {
    let err = String::from_utf8_lossy(&o.stderr);
    let mut wrong = Vec::new();
    if o.status.code() != Some(code) {
        wrong.push(format!("exit code {:?}, expected {code}", o.status.code()));
    }
    if !err.contains(needle) {
        wrong.push(format!("error should name '{needle}'"));
    }
    if err.contains("panicked") {
        wrong.push("panicked".into());
    }
    if err.trim().lines().count() != 1 {
        wrong.push("one line expected".into());
    }
    if out.exists() {
        wrong.push(format!("partial output left at {}", out.display()));
    }
    let leftovers = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .count();
    if leftovers > 0 {
        wrong.push("temporary directory left behind".into());
    }
    if !wrong.is_empty() {
        wrong.push(format!("stderr: {err}"));
    }
    wrong
}

/// Asserts a clean failure: code 2, one line naming `needle`, no panic, no output directory.
pub fn assert_bad(o: &Output, needle: &str, out: &Path) {
    let wrong = bad_failure(o, 2, needle, out);
    assert!(wrong.is_empty(), "{}", wrong.join("; "));
}

pub struct Dir(pub tempfile::TempDir);
impl Dir {
    pub fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }
    pub fn p(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `patterns --patterns sample:5 --json` with `args`: its JSON answer.
pub fn patterns_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["patterns", "--patterns", "sample:5", "--json"];
    all.extend_from_slice(args);
    let o = run(&all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}
