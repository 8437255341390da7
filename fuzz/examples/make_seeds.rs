//! Writes the seed corpus of the fuzz targets, `fuzz/corpus/<target>/`: a few small valid
//! inputs per target and slightly broken ones (truncated, a wrong magic, a mismatched shape),
//! in the input layout each target documents (a mode byte, files cut as `cvxcnn_fuzz::split`
//! cuts them). The models are fitted here by the library itself, on tiny data sets.
//!
//! Run it from `fuzz/` (`cargo run --example make_seeds`): it replaces the seeds (`seed-*`) and
//! leaves the regression inputs of past findings (`regression-*`) alone. The output is
//! deterministic.

use cvxcnn::observe::Silent;
use cvxcnn::settings::{self, Settings};
use cvxcnn::{Dataset, SampleShape, Targets};
use cvxcnn_fuzz::join;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A `.npy` file (format 1.0): `descr` such as `<f8`, the shape, and the raw values.
fn npy(descr: &str, fortran: bool, shape: &[usize], values: &[u8]) -> Vec<u8> {
    let dims = match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {dims}, }}",
        if fortran { "True" } else { "False" }
    );
    // Magic (6) + version (2) + length (2) + header, a multiple of 64, ending in a newline.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(values);
    out
}

fn f64s(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i64s(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// `n` values that look like signals.
fn wave(n: usize) -> Vec<f64> {
    (0..n).map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0).collect()
}

/// A `.npz` archive of `x.npy` and `y.npy` (stored, or deflated).
fn npz(x: &[u8], y: &[u8], deflate: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let o = zip::write::FileOptions::default()
        .compression_method(method)
        .last_modified_time(zip::DateTime::default());
    for (name, bytes) in [("x.npy", x), ("y.npy", y)] {
        w.start_file(name, o).expect("zip in memory");
        w.write_all(bytes).expect("zip in memory");
    }
    w.finish().expect("zip in memory").into_inner()
}

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(b).expect("gzip in memory");
    e.finish().expect("gzip in memory")
}

/// An IDX image file of `n` images `rows × cols` and its label file.
fn idx(n: usize, rows: usize, cols: usize) -> (Vec<u8>, Vec<u8>) {
    let mut img = vec![0, 0, 8, 3];
    for d in [n, rows, cols] {
        img.extend((d as u32).to_be_bytes());
    }
    img.extend((0..n * rows * cols).map(|i| (i * 37 % 256) as u8));
    let mut lab = vec![0, 0, 8, 1];
    lab.extend((n as u32).to_be_bytes());
    lab.extend((0..n).map(|i| (i % 10) as u8));
    (img, lab)
}

/// `n` CIFAR-10 records with labels `first`, `first + 1`, ….
fn cifar(n: usize, first: u8) -> Vec<u8> {
    let mut b = Vec::new();
    for t in 0..n {
        b.push((first + t as u8) % 10);
        b.extend((0..3072).map(|i| ((i + t) * 13 % 256) as u8));
    }
    b
}

struct Corpus {
    root: PathBuf,
    total: usize,
}

impl Corpus {
    /// Writes the seed `seed-NAME` of `target` (`fuzz/.gitignore` keeps only `seed-*` and
    /// `regression-*` files of the corpus: what libFuzzer adds is not committed).
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).expect("a writable corpus directory");
        std::fs::write(dir.join(format!("seed-{name}")), bytes)
            .expect("a writable corpus directory");
        self.total += bytes.len();
    }

    /// Removes the seeds written before (`seed-*`), so that renamed ones do not linger.
    fn clear(&self) {
        let Ok(targets) = std::fs::read_dir(&self.root) else {
            return;
        };
        for t in targets.flatten() {
            for f in std::fs::read_dir(t.path()).into_iter().flatten().flatten() {
                if f.file_name().to_string_lossy().starts_with("seed-") {
                    std::fs::remove_file(f.path()).expect("a writable corpus directory");
                }
            }
        }
    }
}

/// `bytes` with the byte at `at` replaced by `with`.
fn patch(bytes: &[u8], at: usize, with: u8) -> Vec<u8> {
    let mut b = bytes.to_vec();
    if let Some(x) = b.get_mut(at) {
        *x = with;
    }
    b
}

fn dataset(c: usize, h: usize, w: usize, one_d: bool, targets: Targets) -> Dataset {
    let shape = SampleShape {
        channels: c,
        height: h,
        width: w,
        one_d,
    };
    Dataset::new(wave(targets.len() * c * h * w), shape, targets, "seeds").expect("a data set")
}

/// Sets every `seconds` field of a report, and everything under `timings`, to 0.
fn zero_times(v: &mut serde_json::Value, timing: bool) {
    match v {
        serde_json::Value::Number(_) if timing => *v = 0.0.into(),
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                zero_times(x, timing || k == "seconds" || k == "timings");
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| zero_times(x, timing)),
        _ => {}
    }
}

/// The files `cvxcnn train --out` writes for the settings `json` on `ds`, when it fits.
fn fit(json: &str, ds: &Dataset) -> Option<Vec<(String, Vec<u8>)>> {
    let s: Settings = serde_json::from_str(json).expect("valid settings");
    let result = settings::architecture(&s, ds)
        .and_then(|a| a.fit(ds, &mut Silent))
        .and_then(|f| cvxcnn::export::fit_files(&f));
    match result {
        Ok(mut files) => {
            // The report's wall-clock times, zeroed: the same seeds on every run.
            for (name, bytes) in &mut files {
                if name == "report.json" {
                    let mut v: serde_json::Value = serde_json::from_slice(bytes).expect("JSON");
                    zero_times(&mut v, false);
                    *bytes = serde_json::to_vec_pretty(&v).expect("JSON");
                }
            }
            Some(files)
        }
        Err(e) => {
            eprintln!("make_seeds: no model for {json}: {e}");
            None
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut c = Corpus { root, total: 0 };
    c.clear();

    // --- .npy pairs and matrices -------------------------------------------------------------
    let x = npy("<f8", false, &[4, 5], &f64s(&wave(20)));
    let y = npy("<f8", false, &[4], &f64s(&[1.0, -1.0, 0.5, 0.0]));
    let yi = npy("<i8", false, &[4], &i64s(&[0, 1, 2, 1]));
    let x3 = npy("<f4", false, &[2, 1, 6], &f32s(&[0.5; 12]));
    let x4 = npy("<f8", true, &[2, 1, 2, 3], &f64s(&wave(12)));
    let xu8 = npy("|u1", false, &[2, 2, 2, 2], &[7u8; 16]);
    let y2 = npy("<i4", false, &[2], &[3, 0, 0, 0, 8, 0, 0, 0]);
    c.put("npy", "valid-f64-real", &join(&[&x, &y]));
    c.put("npy", "valid-f64-classes", &join(&[&x, &yi]));
    c.put("npy", "valid-f32-3d", &join(&[&x3, &y2]));
    c.put("npy", "valid-fortran-4d", &join(&[&x4, &y2]));
    c.put("npy", "valid-u8-4d", &join(&[&xu8, &y2]));
    c.put("npy", "broken-truncated", &join(&[&x[..x.len() - 9], &y]));
    c.put("npy", "broken-shape-mismatch", &join(&[&x, &y2]));
    let huge = npy("<f8", false, &[1 << 40, 1 << 30], &f64s(&[1.0; 2]));
    c.put("npy", "broken-huge-shape", &join(&[&huge, &y]));
    let nan = npy("<f8", false, &[1, 2], &f64s(&[f64::NAN, 1.0]));
    c.put(
        "npy",
        "broken-nan",
        &join(&[&nan, &npy("<f8", false, &[1], &f64s(&[1.0]))]),
    );
    c.put("npy", "broken-magic", &join(&[&patch(&x, 1, b'X'), &y]));
    // Version 2 declares a 4 GiB header.
    let long = b"\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr': '<f8'";
    c.put("npy", "broken-header-length", &join(&[long, &y]));

    // --- .npz archives -----------------------------------------------------------------------
    let a = npz(&x, &y, false);
    c.put("npz", "valid-archive-stored", &[&[0u8][..], &a].concat());
    c.put(
        "npz",
        "valid-archive-deflated",
        &[&[0u8][..], &npz(&x4, &y2, true)].concat(),
    );
    c.put(
        "npz",
        "valid-members-classes",
        &[&[1u8][..], &join(&[&x, &yi])].concat(),
    );
    c.put(
        "npz",
        "valid-members-u8",
        &[&[1u8][..], &join(&[&xu8, &y2])].concat(),
    );
    c.put(
        "npz",
        "broken-archive-truncated",
        &[&[0u8][..], &a[..a.len() - 30]].concat(),
    );
    c.put(
        "npz",
        "broken-archive-crc",
        &[&[0u8][..], &patch(&a, 200, 0xff)].concat(),
    );
    c.put(
        "npz",
        "broken-members-mismatch",
        &[&[1u8][..], &join(&[&x, &y2])].concat(),
    );
    c.put(
        "npz",
        "broken-members-one",
        &[&[1u8][..], &join(&[&x, b""])].concat(),
    );

    c.put(
        "npz",
        "broken-members-huge",
        &[&[1u8][..], &join(&[&huge, long])].concat(),
    );

    // --- IDX, raw and gzip -------------------------------------------------------------------
    let (img, lab) = idx(3, 4, 4);
    c.put(
        "idx",
        "valid-raw",
        &[&[0u8][..], &join(&[&img, &lab])].concat(),
    );
    c.put(
        "idx",
        "valid-gzip-here",
        &[&[3u8][..], &join(&[&img, &lab])].concat(),
    );
    let (gi, gl) = (gz(&img), gz(&lab));
    c.put(
        "idx",
        "valid-gzip-files",
        &[&[0u8][..], &join(&[&gi, &gl])].concat(),
    );
    c.put(
        "idx",
        "broken-truncated",
        &[&[0u8][..], &join(&[&img[..30], &lab])].concat(),
    );
    c.put(
        "idx",
        "broken-count-mismatch",
        &[&[0u8][..], &join(&[&img, &lab[..10]])].concat(),
    );
    c.put(
        "idx",
        "broken-magic",
        &[&[0u8][..], &join(&[&patch(&img, 3, 1), &lab])].concat(),
    );
    let big = patch(&patch(&img, 4, 0x7f), 8, 0x7f);
    c.put(
        "idx",
        "broken-huge-header",
        &[&[1u8][..], &join(&[&big, &lab])].concat(),
    );
    c.put(
        "idx",
        "broken-gzip",
        &[&[0u8][..], &join(&[&gi[..gi.len() - 6], &gl])].concat(),
    );

    // --- CIFAR-10 batches --------------------------------------------------------------------
    c.put("cifar", "valid-one-batch", &cifar(1, 3));
    c.put(
        "cifar",
        "valid-two-batches",
        &join(&[&cifar(1, 0), &cifar(1, 9)]),
    );
    c.put("cifar", "broken-label", &patch(&cifar(1, 0), 0, 10));
    c.put(
        "cifar",
        "broken-partial-record",
        &join(&[&cifar(1, 0), &cifar(1, 0)[..100]]),
    );

    // --- any format (mode byte: name, CIFAR pair, labels file, source text) ------------------
    let pre = |mode: u8, rest: &[u8]| [&[mode][..], rest].concat();
    c.put("any", "npz", &pre(0, &join(&[&a, b"", b""])));
    c.put(
        "any",
        "npy-with-labels",
        &pre(1 | 16, &join(&[&x, b"", &y])),
    );
    c.put(
        "any",
        "cifar-bin",
        &pre(2, &join(&[&cifar(1, 4), b"", b""])),
    );
    c.put(
        "any",
        "cifar-pair",
        &pre(8, &join(&[&cifar(1, 1), &cifar(1, 2), b""])),
    );
    c.put(
        "any",
        "idx-with-labels",
        &pre(3 | 16, &join(&[&img, b"", &lab])),
    );
    c.put(
        "any",
        "idx-gz-with-labels",
        &pre(4 | 16, &join(&[&gi, b"", &gl])),
    );
    c.put("any", "sniffed-npz", &pre(5, &join(&[&a, b"", b""])));
    c.put(
        "any",
        "broken-npz-with-labels",
        &pre(16, &join(&[&a, b"", &y])),
    );
    c.put(
        "any",
        "broken-npy-no-labels",
        &pre(7, &join(&[&x, b"", b""])),
    );
    c.put("any", "text-builtin", &pre(32, b"builtin:mnist"));
    c.put("any", "text-unknown-builtin", &pre(32, b"builtin:cifar"));
    c.put("any", "text-cifar-list", &pre(32, b"a.bin,b.bin"));

    // --- models: safetensors alone, and the saved files --------------------------------------
    let signals = dataset(
        1,
        1,
        5,
        true,
        Targets::Real(vec![1.0, -1.0, 0.5, 0.0, -0.5, 1.0]),
    );
    let images = dataset(1, 3, 3, false, Targets::Real(vec![1.0, -0.5, 0.25, 2.0]));
    let classes = dataset(
        1,
        4,
        4,
        false,
        Targets::Classes(vec![0, 1, 2, 0, 1, 2, 0, 1, 2]),
    );
    let models: [(&str, &str, &Dataset); 8] = [
        ("two-layer", r#"{}"#, &signals),
        (
            "two-layer-bias-avg",
            r#"{"bias": true, "pool": "avg"}"#,
            &images,
        ),
        (
            "two-layer-max",
            r#"{"pool": "max", "kernel": "2"}"#,
            &signals,
        ),
        (
            "local",
            r#"{"head": "l1", "windows": 2, "pool": "avg"}"#,
            &signals,
        ),
        ("linear-fc", r#"{"arch": "linear", "head": "fc"}"#, &signals),
        ("circular", r#"{"arch": "circular"}"#, &signals),
        (
            "three-layer",
            r#"{"arch": "three-layer", "kernel": "2", "patterns": "sample:2"}"#,
            &signals,
        ),
        (
            "classifier",
            r#"{"patterns": "data:4", "max_iter": 2, "fresh": 0, "normalize": "standardize"}"#,
            &classes,
        ),
    ];
    for (name, json, ds) in models {
        let Some(files) = fit(json, ds) else {
            continue;
        };
        let get = |n: &str| {
            files
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, b)| b.clone())
                .unwrap_or_default()
        };
        let (report, st, info) = (
            get("report.json"),
            get("model.safetensors"),
            get("model.json"),
        );
        if st.is_empty() || st.len() > usize::from(u16::MAX) {
            eprintln!("make_seeds: {name}: no model.safetensors of at most 65,535 bytes");
            continue;
        }
        // The valid seeds must load (else the targets would only ever see errors).
        let loaded = cvxcnn::export::SavedModel::from_files(&files, Path::new(name));
        if let Err(e) = loaded {
            panic!("make_seeds: the {name} model does not load back: {e}");
        }
        c.put("safetensors", &format!("valid-{name}"), &st);
        let mode = if info.is_empty() { 3u8 } else { 7 };
        c.put(
            "saved_model",
            &format!("valid-{name}"),
            &pre(mode, &join(&[&report, &st, &info])),
        );
        if name == "two-layer" || name == "classifier" {
            // From a directory; without the report (β unknown); broken files.
            c.put(
                "saved_model",
                &format!("valid-{name}-dir"),
                &pre(mode | 8, &join(&[&report, &st, &info])),
            );
            c.put(
                "saved_model",
                &format!("valid-{name}-no-report"),
                &pre(mode & !1, &join(&[b"", &st, &info])),
            );
            c.put(
                "saved_model",
                &format!("broken-{name}-report"),
                &pre(mode, &join(&[&report[..report.len() / 2], &st, &info])),
            );
            c.put(
                "safetensors",
                &format!("broken-{name}-truncated"),
                &st[..st.len() - 8],
            );
            c.put(
                "safetensors",
                &format!("broken-{name}-header"),
                &patch(&st, 8, b'['),
            );
            let hlen = u64::from_le_bytes(st[..8].try_into().expect("8 bytes")) as usize;
            // A digit of the header (a shape or an offset) changed.
            if let Some(at) = st[8..8 + hlen].iter().position(|b| b.is_ascii_digit()) {
                c.put(
                    "safetensors",
                    &format!("broken-{name}-digit"),
                    &patch(&st, 8 + at, b'9'),
                );
            }
            if !info.is_empty() {
                c.put(
                    "saved_model",
                    "broken-classifier-info",
                    &pre(mode, &join(&[&report, &st, b"{\"classes\": [1]}"])),
                );
            }
        }
    }

    // --- settings: flag values and JSON settings ---------------------------------------------
    let gates = npy("<f8", false, &[2, 4], &f64s(&wave(8)));
    let flags: [&[u8]; 22] = [
        b"exact",
        b"sample:3",
        b"sample:0",
        b"data:4",
        b"adam:2",
        b"adam:0",
        b"0.5",
        b"1e-3,0.1,2",
        b"path:4",
        b"-1",
        b"nan",
        b"3",
        b"2x3",
        b"3\xc3\x972",
        b"1x",
        b"8G",
        b"512M",
        b"1.5k",
        b"18446744073709551615G",
        b"",
        b"gates:g.npy",
        b"inf",
    ];
    for (i, f) in flags.iter().enumerate() {
        c.put("settings", &format!("flag-{i:02}"), f);
    }
    c.put(
        "settings",
        "flag-gates-file",
        &[&b"gates:g.npy\0"[..], &gates].concat(),
    );
    let jsons: [&str; 14] = [
        r#"{}"#,
        r#"{"arch": "circular", "layers": 2, "beta": "0.3"}"#,
        r#"{"arch": "three-layer", "solver": "cg", "max_iter": 5, "patterns": "sample:2"}"#,
        r#"{"arch": "linear", "head": "fc", "kernel": "2x2", "stride": "1", "padding": "1"}"#,
        r#"{"head": "l1", "windows": 2, "pool": "avg"}"#,
        r#"{"patterns": "data:8", "beta": "path:3", "loss": "ce", "solver": "al"}"#,
        r#"{"patterns": "adam:4", "max_memory": "1G", "fresh": 10}"#,
        r#"{"patterns": "sample:5", "beta": "0.1,1,10", "test_fraction": 0.5}"#,
        r#"{"time_limit": -1}"#,
        r#"{"max_iter": 0, "solver": "admm"}"#,
        r#"{"two_classes": true, "pool": "max", "bias": true}"#,
        r#"{"checkpoint": {"path": "ck", "every": 5.0, "resume": false, "context": "x"}}"#,
        r#"{"checkpoint": {"path": "ck", "every": 1e300, "resume": true, "context": ""}}"#,
        r#"{"head": "shared", "windows": 2}"#,
    ];
    for (i, j) in jsons.iter().enumerate() {
        c.put("settings", &format!("json-{i:02}"), j.as_bytes());
    }
    c.put(
        "settings",
        "json-gates-file",
        &[
            &br#"{"patterns": "gates:g.npy", "kernel": "2"}"#[..],
            b"\0",
            &gates,
        ]
        .concat(),
    );
    println!(
        "make_seeds: wrote {} bytes of seeds under {}",
        c.total,
        c.root.display()
    );
}
