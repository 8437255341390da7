//! Seeded mutation fuzzing of every reader and parser a user's input reaches: NPZ and NPY,
//! IDX (raw and gzip), CIFAR, saved models (`model.safetensors`, `model.json`, `report.json`),
//! and the flag parsers. Valid seed inputs (the corpus, built here from fixed values) are mutated
//! by a seeded generator (bit flips, boundary bytes, truncation, extension, spliced header
//! fields) a fixed number of times per target, and each mutant is read in-process: a reader may
//! accept it or refuse it with an error value, but never panic, abort or take long. Identical
//! runs try identical inputs.

mod common;

use common::*;
use cvxcnn::export::SavedModel;
use rand::{RngExt, SeedableRng};
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

/// Mutants per target.
const MUTANTS: usize = 400;

/// Boundary bytes that tend to break length and count fields.
const SPECIAL: [u8; 8] = [0x00, 0x01, 0x7f, 0x80, 0xff, b'9', b'[', b'"'];

/// One to four random edits of `seed`.
fn mutate(rng: &mut rand::rngs::ChaCha8Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..rng.random_range(1..5) {
        let len = b.len().max(1);
        match rng.random_range(0..7) {
            0 if !b.is_empty() => {
                let i = rng.random_range(0..b.len());
                b[i] ^= 1 << rng.random_range(0..8);
            }
            1 if !b.is_empty() => {
                let i = rng.random_range(0..b.len());
                b[i] = SPECIAL[rng.random_range(0..SPECIAL.len())];
            }
            2 => b.truncate(rng.random_range(0..len)),
            3 => {
                let extra: Vec<u8> = (0..rng.random_range(1..64)).map(|_| rng.random()).collect();
                let i = rng.random_range(0..=b.len());
                b.splice(i..i, extra);
            }
            4 if b.len() >= 8 => {
                // A 4- or 8-byte field near the start set to a huge or zero count.
                let i = rng.random_range(0..b.len().min(96) - 4);
                let v: u32 = [0, 1, u32::MAX, 0x7fff_ffff, 1 << 20][rng.random_range(0..5)];
                b[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            5 if b.len() >= 8 => {
                let i = rng.random_range(0..b.len().min(96) - 4);
                let v: u32 = [0, 1, u32::MAX, 0x7fff_ffff, 1 << 20][rng.random_range(0..5)];
                b[i..i + 4].copy_from_slice(&v.to_be_bytes());
            }
            _ => {
                // Copy a run of the input over another place (splices header fields).
                if b.len() > 16 {
                    let n = rng.random_range(1..16);
                    let from = rng.random_range(0..b.len() - n);
                    let to = rng.random_range(0..b.len() - n);
                    let run = b[from..from + n].to_vec();
                    b[to..to + n].copy_from_slice(&run);
                }
            }
        }
    }
    b
}

/// Runs `read` on every mutant of `seed`; collects panics and slow reads.
fn fuzz(
    target: &str,
    seed: &[u8],
    rng_seed: u64,
    faults: &mut Vec<String>,
    mut read: impl FnMut(&[u8]) -> Result<(), String>,
) {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(rng_seed);
    // The seed itself must be accepted: the corpus is valid.
    if let Err(e) = read(seed) {
        faults.push(format!("{target}: the valid seed is refused: {e}"));
    }
    let (mut refused, mut accepted) = (0, 0);
    for k in 0..MUTANTS {
        let m = mutate(&mut rng, seed);
        let t = Instant::now();
        match catch_unwind(AssertUnwindSafe(|| read(&m))) {
            Ok(Ok(())) => accepted += 1,
            Ok(Err(e)) => {
                refused += 1;
                if e.trim().is_empty() {
                    faults.push(format!("{target} mutant {k}: an empty error message"));
                }
            }
            Err(_) => faults.push(format!("{target} mutant {k}: panicked")),
        }
        if t.elapsed() > Duration::from_secs(5) {
            faults.push(format!("{target} mutant {k}: took {:?}", t.elapsed()));
        }
    }
    eprintln!("{target}: {accepted} accepted, {refused} refused");
}

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn idx_images(n: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3];
    for v in [n, rows, cols] {
        b.extend(v.to_be_bytes());
    }
    b.extend((0..n * rows * cols).map(|i| (i * 37 % 256) as u8));
    b
}

fn idx_labels(n: u32) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 1];
    b.extend(n.to_be_bytes());
    b.extend((0..n).map(|i| (i % 3) as u8));
    b
}

#[test]
fn readers_survive_mutated_inputs() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name);
    let mut faults = Vec::new();
    let err = |e: cvxcnn::Error| e.to_string();

    // NPZ: the archive's bytes, and (re-zipped) the bytes of its x.npy member.
    write_xy(&p("seed.npz"), &gaussian(24, 1), &gaussian(4, 2));
    let npz = std::fs::read(p("seed.npz")).unwrap();
    let file = p("m.npz");
    fuzz("npz archive", &npz, 1, &mut faults, |b| {
        std::fs::write(&file, b).unwrap();
        cvxcnn::data::read_npz(&file).map(|_| ()).map_err(err)
    });
    write_npy(&p("x.npy"), &gaussian(24, 1), &[4, 6]);
    write_npy(&p("y.npy"), &gaussian(4, 2), &[4]);
    let xnpy = std::fs::read(p("x.npy")).unwrap();
    let ynpy = std::fs::read(p("y.npy")).unwrap();
    let rezip = |x: &[u8]| -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let o = zip::write::FileOptions::default();
        w.start_file("x.npy", o).unwrap();
        w.write_all(x).unwrap();
        w.start_file("y.npy", o).unwrap();
        w.write_all(&ynpy).unwrap();
        w.finish().unwrap().into_inner()
    };
    fuzz("npz member x.npy", &xnpy, 2, &mut faults, |b| {
        std::fs::write(&file, rezip(b)).unwrap();
        cvxcnn::data::read_npz(&file).map(|_| ()).map_err(err)
    });
    // NPY pair.
    let (xf, yf) = (p("mx.npy"), p("y.npy"));
    fuzz("npy", &xnpy, 3, &mut faults, |b| {
        std::fs::write(&xf, b).unwrap();
        cvxcnn::data::read_npy_pair(&xf, &yf)
            .map(|_| ())
            .map_err(err)
    });
    // IDX, raw and gzip: images, labels, and the gzip stream itself.
    let (img, lab) = (idx_images(6, 4, 5), idx_labels(6));
    let (iname, lname) = (Path::new("img.idx"), Path::new("lab.idx"));
    fuzz("idx images", &img, 4, &mut faults, |b| {
        cvxcnn::data::read_idx_bytes(b.to_vec(), iname, lab.clone(), lname)
            .map(|_| ())
            .map_err(err)
    });
    fuzz("idx labels", &lab, 5, &mut faults, |b| {
        cvxcnn::data::read_idx_bytes(img.clone(), iname, b.to_vec(), lname)
            .map(|_| ())
            .map_err(err)
    });
    fuzz("idx gzip contents", &img, 6, &mut faults, |b| {
        cvxcnn::data::read_idx_bytes(gz(b), iname, gz(&lab), lname)
            .map(|_| ())
            .map_err(err)
    });
    fuzz("idx gzip stream", &gz(&img), 7, &mut faults, |b| {
        cvxcnn::data::read_idx_bytes(b.to_vec(), iname, lab.clone(), lname)
            .map(|_| ())
            .map_err(err)
    });
    // CIFAR.
    let cifar = cifar_batch(0, 3);
    fuzz("cifar", &cifar, 8, &mut faults, |b| {
        cvxcnn::data::read_cifar_bytes(b, Path::new("c.bin"))
            .map(|_| ())
            .map_err(err)
    });
    // Saved models: the files of a small fit, one mutated at a time.
    let out = p("model");
    let o = run(&[
        "train",
        "--data",
        "builtin:mnist",
        "--classes",
        "3,8",
        "--limit",
        "30",
        "--kernel",
        "7",
        "--stride",
        "7",
        "--beta",
        "1",
        "--patterns",
        "sample:5",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let files: Vec<(String, Vec<u8>)> = ["report.json", "model.safetensors", "model.json"]
        .iter()
        .map(|k| (k.to_string(), std::fs::read(out.join(k)).unwrap()))
        .collect();
    for (i, (name, bytes)) in files.iter().enumerate() {
        fuzz(
            &format!("saved {name}"),
            bytes,
            10 + i as u64,
            &mut faults,
            |b| {
                let mut f = files.clone();
                f[i].1 = b.to_vec();
                let m = SavedModel::from_files(&f, Path::new("model")).map_err(err)?;
                let x = cvxcnn::data::builtin_mnist().unwrap().head(3);
                m.predict(&x).map(|_| ()).map_err(err)
            },
        );
    }
    // Flag parsers: mutated valid values.
    for (k, value) in [
        "sample:40",
        "exact",
        "3x4",
        "0.1",
        "path:10",
        "4G",
        "adam:8",
    ]
    .iter()
    .enumerate()
    {
        fuzz(
            &format!("flag value {value}"),
            value.as_bytes(),
            20 + k as u64,
            &mut faults,
            |b| {
                let s = String::from_utf8_lossy(b).into_owned();
                let _ = cvxcnn::settings::parse_patterns(&s, 0);
                let _ = cvxcnn::settings::parse_beta(&s);
                let _ = cvxcnn::resources::parse_size(&s);
                let ds = cvxcnn::data::builtin_mnist().unwrap().head(2);
                let patch = cvxcnn::settings::PatchSettings {
                    kernel: Some(s.clone()),
                    stride: Some(s.clone()),
                    padding: s.clone(),
                    ..Default::default()
                };
                let _ = cvxcnn::settings::patch_spec(&patch, &ds, false);
                let settings = cvxcnn::settings::Settings {
                    patterns: Some(s.clone()),
                    beta: Some(s.clone()),
                    max_memory: Some(s.clone()),
                    ..Default::default()
                };
                let _ = cvxcnn::settings::architecture(&settings, &ds);
                Ok(())
            },
        );
    }
    assert!(
        faults.is_empty(),
        "{} faults:\n{}",
        faults.len(),
        faults.join("\n")
    );
}
