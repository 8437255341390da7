//! The command-line contract: outputs of `train`, and every bad-input case exits with code 2,
//! a one-line error naming the file or flag and the value, and no output directory.

use npyz::WriterBuilder;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cvxcnn"))
}

enum Arr<'a> {
    F64(&'a [f64], Vec<u64>),
    I64(&'a [i64], Vec<u64>),
    U64(&'a [u64], Vec<u64>),
}

fn put<T: npyz::AutoSerialize + Copy>(
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

fn write_npz(path: &Path, arrays: &[(&str, Arr)]) {
    let mut npz = npyz::npz::NpzWriter::create(path).unwrap();
    for (name, a) in arrays {
        match a {
            Arr::F64(v, s) => put(&mut npz, name, v, s),
            Arr::I64(v, s) => put(&mut npz, name, v, s),
            Arr::U64(v, s) => put(&mut npz, name, v, s),
        }
    }
}

fn gaussian(n: usize, seed: u64) -> Vec<f64> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut r = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| StandardNormal.sample(&mut r)).collect()
}

fn train_args<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
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

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

/// Asserts a clean failure: code 2, one line naming `needle`, no panic, no output directory.
fn assert_bad(o: &Output, needle: &str, out: &Path) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains(needle), "error should name '{needle}': {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line expected: {err}");
    assert!(!out.exists(), "partial output left at {}", out.display());
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary directory left behind");
}

struct Dir(tempfile::TempDir);
impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }
    fn p(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

#[test]
fn train_writes_report_and_weights() {
    let d = Dir::new();
    let data = d.p("g.npz");
    write_npz(
        &data,
        &[
            ("x", Arr::F64(&gaussian(35, 1), vec![5, 7])),
            ("y", Arr::F64(&gaussian(5, 2), vec![5])),
        ],
    );
    let out = d.p("out");
    let o = run(&train_args(data.to_str().unwrap(), out.to_str().unwrap()));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    for key in [
        "objective",
        "network_objective",
        "duality_gap",
        "certificate",
        "patterns",
        "filters",
        "status",
        "seconds",
    ] {
        assert!(r.get(key).is_some(), "report lacks {key}");
    }
    assert_eq!(r["patterns"], 602);
    assert_eq!(r["certificate"], "global");
    let (a, b) = (
        r["objective"].as_f64().unwrap(),
        r["network_objective"].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 1e-6 * a);
    let st = std::fs::read(out.join("model.safetensors")).unwrap();
    let t = safetensors::SafeTensors::deserialize(&st).unwrap();
    let w = t.tensor("conv.weight").unwrap();
    assert_eq!(w.shape()[1..], [1, 3]);
    assert_eq!(t.tensor("fc.weight").unwrap().shape(), &[1, w.shape()[0]]);
    // Same seed, same result; a re-run replaces the directory atomically.
    let o2 = run(&train_args(data.to_str().unwrap(), out.to_str().unwrap()));
    assert!(o2.status.success());
    let r2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["objective"], r2["objective"]);
}

#[test]
fn patterns_command_prints_count_and_bound() {
    let d = Dir::new();
    let data = d.p("g.npz");
    write_npz(
        &data,
        &[
            ("x", Arr::F64(&gaussian(35, 1), vec![5, 7])),
            ("y", Arr::F64(&gaussian(5, 2), vec![5])),
        ],
    );
    let o = run(&[
        "patterns",
        "--data",
        data.to_str().unwrap(),
        "--kernel",
        "3",
        "--json",
    ]);
    assert!(o.status.success());
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["patterns"], 602);
    assert_eq!(r["bound"], "602");
}

#[test]
fn builtin_mnist_sampled_run() {
    let d = Dir::new();
    let out = d.p("m");
    let o = run(&[
        "train",
        "--data",
        "builtin:mnist",
        "--classes",
        "0,1",
        "--limit",
        "40",
        "--kernel",
        "7",
        "--stride",
        "7",
        "--beta",
        "1",
        "--patterns",
        "sample:20",
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["certificate"], "restricted");
    assert!(r["train_accuracy"].as_f64().unwrap() > 0.9);
}

#[test]
fn bad_inputs_fail_cleanly() {
    let d = Dir::new();
    let out = d.p("out");
    let o_s = out.to_str().unwrap();
    let good_x = gaussian(35, 1);
    let good_y = gaussian(5, 2);

    // Missing file.
    let missing = d.p("nope.npz");
    assert_bad(
        &run(&train_args(missing.to_str().unwrap(), o_s)),
        "nope.npz",
        &out,
    );

    // Wrong magic: an IDX image file whose magic is wrong.
    let img = d.p("img.idx");
    let lab = d.p("lab.idx");
    let mut bytes = vec![0, 0, 8, 4, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3];
    bytes.extend([0u8; 18]);
    std::fs::write(&img, &bytes).unwrap();
    std::fs::write(&lab, [0, 0, 8, 1, 0, 0, 0, 2, 0, 1]).unwrap();
    let o = bin()
        .args([
            "train",
            "--data",
            img.to_str().unwrap(),
            "--labels",
            lab.to_str().unwrap(),
            "--kernel",
            "2",
            "--out",
            o_s,
            "--quiet",
        ])
        .output()
        .unwrap();
    assert_bad(&o, "magic number 0x00000804", &out);

    // Truncated IDX: the header promises more images than the file holds.
    bytes[3] = 3;
    bytes.truncate(16 + 10);
    std::fs::write(&img, &bytes).unwrap();
    let o = bin()
        .args([
            "train",
            "--data",
            img.to_str().unwrap(),
            "--labels",
            lab.to_str().unwrap(),
            "--kernel",
            "2",
            "--out",
            o_s,
            "--quiet",
        ])
        .output()
        .unwrap();
    assert_bad(&o, "truncated", &out);

    // Truncated .npz archive.
    let t = d.p("trunc.npz");
    write_npz(
        &t,
        &[
            ("x", Arr::F64(&good_x, vec![5, 7])),
            ("y", Arr::F64(&good_y, vec![5])),
        ],
    );
    let full = std::fs::read(&t).unwrap();
    std::fs::write(&t, &full[..full.len() / 2]).unwrap();
    assert_bad(
        &run(&train_args(t.to_str().unwrap(), o_s)),
        "trunc.npz",
        &out,
    );

    // Shape mismatch between x and y.
    let sm = d.p("mismatch.npz");
    write_npz(
        &sm,
        &[
            ("x", Arr::F64(&good_x, vec![5, 7])),
            ("y", Arr::F64(&good_y[..4], vec![4])),
        ],
    );
    assert_bad(
        &run(&train_args(sm.to_str().unwrap(), o_s)),
        "shape mismatch",
        &out,
    );

    // NaN and Inf.
    let mut nan_x = good_x.clone();
    nan_x[9] = f64::NAN;
    let nan = d.p("nan.npz");
    write_npz(
        &nan,
        &[
            ("x", Arr::F64(&nan_x, vec![5, 7])),
            ("y", Arr::F64(&good_y, vec![5])),
        ],
    );
    assert_bad(
        &run(&train_args(nan.to_str().unwrap(), o_s)),
        "non-finite value NaN",
        &out,
    );
    let mut inf_y = good_y.clone();
    inf_y[2] = f64::INFINITY;
    let inf = d.p("inf.npz");
    write_npz(
        &inf,
        &[
            ("x", Arr::F64(&good_x, vec![5, 7])),
            ("y", Arr::F64(&inf_y, vec![5])),
        ],
    );
    assert_bad(
        &run(&train_args(inf.to_str().unwrap(), o_s)),
        "non-finite value inf",
        &out,
    );

    // Unknown dtype.
    let ud = d.p("dtype.npz");
    let ux: Vec<u64> = (0..35).collect();
    write_npz(
        &ud,
        &[
            ("x", Arr::U64(&ux, vec![5, 7])),
            ("y", Arr::I64(&[0, 1, 0, 1, 1], vec![5])),
        ],
    );
    assert_bad(
        &run(&train_args(ud.to_str().unwrap(), o_s)),
        "unsupported dtype '<u8'",
        &out,
    );

    // Kernel larger than the signal.
    let good = d.p("good.npz");
    write_npz(
        &good,
        &[
            ("x", Arr::F64(&good_x, vec![5, 7])),
            ("y", Arr::F64(&good_y, vec![5])),
        ],
    );
    let mut a = train_args(good.to_str().unwrap(), o_s);
    a[8] = "9";
    assert_bad(
        &run(&a),
        "--kernel: kernel 9 is larger than the signal length 7",
        &out,
    );

    // β ≤ 0.
    for beta in ["0", "-1", "nan"] {
        let mut a = train_args(good.to_str().unwrap(), o_s);
        a[12] = beta;
        assert_bad(&run(&a), "--beta", &out);
    }

    // Empty data.
    let empty = d.p("empty.npz");
    write_npz(
        &empty,
        &[
            ("x", Arr::F64(&[], vec![0, 7])),
            ("y", Arr::F64(&[], vec![0])),
        ],
    );
    assert_bad(
        &run(&train_args(empty.to_str().unwrap(), o_s)),
        "empty",
        &out,
    );

    // A missing array, bad pattern spec, more than two classes.
    let noy = d.p("noy.npz");
    write_npz(&noy, &[("x", Arr::F64(&good_x, vec![5, 7]))]);
    assert_bad(
        &run(&train_args(noy.to_str().unwrap(), o_s)),
        "no array named 'y'",
        &out,
    );
    let mut a = train_args(good.to_str().unwrap(), o_s);
    a[14] = "sample:x";
    assert_bad(&run(&a), "--patterns", &out);
    let cls = d.p("cls.npz");
    write_npz(
        &cls,
        &[
            ("x", Arr::F64(&good_x, vec![5, 7])),
            ("y", Arr::I64(&[0, 1, 2, 1, 0], vec![5])),
        ],
    );
    assert_bad(
        &run(&train_args(cls.to_str().unwrap(), o_s)),
        "--classes",
        &out,
    );

    // Exact enumeration on real-size data is refused quickly with advice.
    let o = run(&[
        "train",
        "--data",
        "builtin:mnist",
        "--classes",
        "0,1",
        "--limit",
        "200",
        "--kernel",
        "3",
        "--patterns",
        "exact",
        "--out",
        o_s,
        "--quiet",
    ]);
    assert_bad(&o, "(sample:N)", &out);
}

#[test]
fn classifier_train_eval_predict() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clf");
    let out_s = out.to_str().unwrap();
    let o = run(&[
        "train",
        "--limit",
        "300",
        "--kernel",
        "14",
        "--stride",
        "14",
        "--patterns",
        "sample:4",
        "--max-iter",
        "3",
        "--inner-iter",
        "20",
        "--fresh",
        "10",
        "--certificate-budget",
        "2",
        "--beta",
        "0.5,0.2",
        "--threads",
        "1",
        "--out",
        out_s,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("restricted gap"), "{text}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["path"].as_array().unwrap().len(), 2);
    let net = report["network_objective"].as_f64().unwrap();
    let obj = report["objective"].as_f64().unwrap();
    assert!((net - obj).abs() <= 1e-8 * obj.abs(), "{net} vs {obj}");
    // `eval` on the same 300 digits: its accuracy is the train/test accuracies of the report,
    // weighted by the sizes of the two parts.
    let e = run(&["eval", "--model", out_s, "--limit", "300", "--json"]);
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    let ev: serde_json::Value = serde_json::from_slice(&e.stdout).unwrap();
    let acc = ev["accuracy"].as_f64().unwrap();
    let (ntr, nte) = (
        report["n_train"].as_f64().unwrap(),
        report["n_test"].as_f64().unwrap(),
    );
    let expect = (report["train_accuracy"].as_f64().unwrap() * ntr
        + report["test_accuracy"].as_f64().unwrap() * nte)
        / (ntr + nte);
    assert!((acc - expect).abs() < 1e-9, "eval {acc} vs report {expect}");
    assert_eq!(ev["samples"].as_u64(), Some(300));
    let p = run(&["predict", "--model", out_s, "--limit", "5"]);
    assert!(p.status.success());
    assert_eq!(String::from_utf8_lossy(&p.stdout).lines().count(), 5);
    // A missing model is a clear error, not a panic.
    let bad = run(&["eval", "--model", dir.path().join("none").to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("model.safetensors"));
    // Classifier settings that cannot work fail up front, naming the flag, with no output.
    let bad_out = dir.path().join("bad");
    let b = bad_out.to_str().unwrap();
    for (args, needle) in [
        (vec!["--solver", "ipm"], "--solver"),
        (vec!["--patterns", "exact"], "--patterns"),
        (vec!["--test-fraction", "1.5"], "--test-fraction"),
        (vec!["--beta", "path:0"], "--beta"),
        (vec!["--beta", "0.5,-1"], "--beta"),
        (vec!["--time-limit", "0"], "--time-limit"),
    ] {
        let mut all = vec!["train", "--limit", "50", "--out", b];
        all.extend(args);
        assert_bad(&run(&all), needle, &bad_out);
    }
}

fn write_npy<T: npyz::AutoSerialize + Copy>(path: &Path, v: &[T], s: &[u64]) {
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

fn patterns_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["patterns", "--patterns", "sample:5", "--json"];
    all.extend_from_slice(args);
    let o = run(&all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn npy_pairs_and_cifar_batches() {
    let d = Dir::new();
    // .npy pair: 6 images 1×5×5, integer labels.
    let x = gaussian(150, 3);
    let xp = d.p("x.npy");
    let yp = d.p("y.npy");
    write_npy(&xp, &x, &[6, 1, 5, 5]);
    write_npy(&yp, &[0i64, 1, 2, 0, 1, 2], &[6]);
    let r = patterns_json(&[
        "--data",
        xp.to_str().unwrap(),
        "--labels",
        yp.to_str().unwrap(),
        "--kernel",
        "3",
    ]);
    assert_eq!(r["n"], 6);
    assert_eq!(r["positions"], 9);
    // CIFAR-10: two batch files of 3 and 2 records.
    let rec = 1 + 3 * 32 * 32;
    let mut a = vec![0u8; 3 * rec];
    let mut b = vec![0u8; 2 * rec];
    for (t, chunk) in a.chunks_mut(rec).chain(b.chunks_mut(rec)).enumerate() {
        chunk[0] = (t % 10) as u8;
        for (j, p) in chunk[1..].iter_mut().enumerate() {
            *p = ((t * 7 + j * 13) % 256) as u8;
        }
    }
    let (ap, bp) = (d.p("a.bin"), d.p("b.bin"));
    std::fs::write(&ap, &a).unwrap();
    std::fs::write(&bp, &b).unwrap();
    let list = format!("{},{}", ap.display(), bp.display());
    let r = patterns_json(&["--data", &list, "--kernel", "8", "--stride", "8"]);
    assert_eq!(r["n"], 5);
    assert_eq!(r["filter_size"], 3 * 64);
    // Bad inputs: a truncated batch, a .npy without labels, labels of the wrong length.
    let out = d.p("out");
    let o_s = out.to_str().unwrap();
    std::fs::write(d.p("short.bin"), &a[..rec + 10]).unwrap();
    let short = d.p("short.bin");
    assert_bad(
        &run(&["train", "--data", short.to_str().unwrap(), "--out", o_s]),
        "short.bin",
        &out,
    );
    assert_bad(
        &run(&["train", "--data", xp.to_str().unwrap(), "--out", o_s]),
        "--labels",
        &out,
    );
    let y5 = d.p("y5.npy");
    write_npy(&y5, &[0i64, 1, 2, 0, 1], &[5]);
    assert_bad(
        &run(&[
            "train",
            "--data",
            xp.to_str().unwrap(),
            "--labels",
            y5.to_str().unwrap(),
            "--out",
            o_s,
        ]),
        "shape mismatch",
        &out,
    );
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `compare` on an exact instance: the convex optimum is global, so no run may end (or pass)
/// below it; the report has the promised fields; its objective is `train`'s on the same data.
#[test]
fn compare_exact_instance_runs_stay_above_the_optimum() {
    let d = Dir::new();
    let data = d.p("b.npz");
    let labels: Vec<i64> = (0..12).map(|t| (t % 2) as i64).collect();
    write_npz(
        &data,
        &[
            ("x", Arr::F64(&gaussian(84, 7), vec![12, 7])),
            ("y", Arr::I64(&labels, vec![12])),
        ],
    );
    let out = d.p("cmp");
    let (ds, os) = (data.to_str().unwrap(), out.to_str().unwrap());
    let common = [
        "--data",
        ds,
        "--classes",
        "0,1",
        "--kernel",
        "2",
        "--beta",
        "0.2",
        "--test-fraction",
        "0",
        "--quiet",
    ];
    let mut args = vec!["compare", "--out", os];
    args.extend(common);
    args.extend([
        "--restarts",
        "4",
        "--optimizer",
        "sgd,adam",
        "--width",
        "2,6",
        "--epochs",
        "300",
        "--batch-size",
        "4",
        "--lr",
        "0.01",
        "--schedule",
        "cosine",
    ]);
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out.join("compare.json"));
    let convex = r["convex"]["objective"].as_f64().unwrap();
    assert!(r["convex"]["seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(r["convex"]["exact"], true);
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2 * 2 * 4);
    let mut best = f64::INFINITY;
    for run in runs {
        for key in [
            "seed",
            "optimizer",
            "width",
            "objective",
            "train_accuracy",
            "test_accuracy",
            "seconds",
        ] {
            assert!(run.get(key).is_some(), "run lacks {key}");
        }
        let obj = run["objective"].as_f64().unwrap();
        assert!(obj >= convex * (1.0 - 1e-6), "{obj} < convex {convex}");
        for h in run["history"].as_array().unwrap() {
            let v = h["objective"].as_f64().unwrap();
            assert!(v >= convex * (1.0 - 1e-6), "history {v} < convex {convex}");
        }
        best = best.min(obj);
    }
    assert!(r["runs_below_convex"].as_array().unwrap().is_empty());
    assert!(best < 1.1 * convex, "best run {best} vs convex {convex}");
    for f in ["objective.png", "accuracy.png"] {
        assert_eq!(&std::fs::read(out.join(f)).unwrap()[..4], b"\x89PNG");
    }
    for f in ["objective.svg", "accuracy.svg"] {
        let s = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(s.starts_with("<svg"));
    }
    // The same objective as `train` on the same data (the same scale).
    let tout = d.p("train");
    let mut targs = vec!["train", "--out", tout.to_str().unwrap()];
    targs.extend(common);
    let t = run(&targs);
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let tr = read_json(&tout.join("report.json"));
    let tobj = tr["objective"].as_f64().unwrap();
    assert!((tobj - convex).abs() <= 1e-9 * tobj, "{tobj} vs {convex}");
    // Same seeds, same runs.
    let again = d.p("cmp2");
    args[2] = again.to_str().unwrap();
    assert!(run(&args).status.success());
    let r2 = read_json(&again.join("compare.json"));
    for (a, b) in runs.iter().zip(r2["runs"].as_array().unwrap()) {
        assert_eq!(a["objective"], b["objective"]);
    }
}

/// `compare` on the classifier path (sampled patterns, several outputs), and its bad inputs.
#[test]
fn compare_classifier_and_bad_inputs() {
    let d = Dir::new();
    let out = d.p("cmp");
    let os = out.to_str().unwrap();
    let o = run(&[
        "compare",
        "--limit",
        "200",
        "--kernel",
        "14",
        "--stride",
        "14",
        "--patterns",
        "sample:4",
        "--max-iter",
        "3",
        "--fresh",
        "0",
        "--certificate-budget",
        "1",
        "--restarts",
        "2",
        "--epochs",
        "3",
        "--threads",
        "1",
        "--out",
        os,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("convex (proj)") && text.contains("adam seed 1"),
        "{text}"
    );
    let r = read_json(&out.join("compare.json"));
    assert_eq!(r["outputs"], 10);
    assert_eq!(r["convex"]["exact"], false);
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for run in runs {
        let a = run["test_accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&a));
        assert_eq!(run["history"].as_array().unwrap().len(), 4);
    }
    let bad_out = d.p("bad");
    let b = bad_out.to_str().unwrap();
    for (args, needle) in [
        (vec!["--restarts", "0"], "--restarts"),
        (vec!["--width", "0"], "--width"),
        (vec!["--epochs", "0"], "--epochs"),
        (vec!["--lr", "-1"], "--lr"),
        (vec!["--momentum", "1.5"], "--momentum"),
        (vec!["--beta", "0.5,0.2"], "--beta"),
        (vec!["--solver", "gated"], "--solver"),
        (vec!["--arch", "circular"], "--arch"),
    ] {
        let mut all = vec![
            "compare",
            "--limit",
            "60",
            "--patterns",
            "sample:2",
            "--max-iter",
            "1",
            "--fresh",
            "0",
            "--quiet",
            "--out",
            b,
        ];
        all.extend(args);
        assert_bad(&run(&all), needle, &bad_out);
    }
}

/// `train --arch circular` on MATH-DEEP's B1: the exact L = 3 optimum, the L = 4 bounds, and
/// clean errors for data or settings it cannot take.
#[test]
fn circular_arch_reference_and_errors() {
    let d = Dir::new();
    let data = d.p("b1.npz");
    let x = [
        0.4, 1.5, -1.8, 1.7, 0.0, -0.8, -0.8, -1.1, -0.2, 0.8, 0.6, 0.6, -1.7, -1.6, 1.6, 1.0, 2.2,
        1.2, -1.0, 1.3, 0.6, 0.2, -0.8, 0.0,
    ];
    let y = [-0.1, 0.9, 0.1, 1.6, -0.8, 0.5];
    write_npz(
        &data,
        &[
            ("x", Arr::F64(&x, vec![6, 4])),
            ("y", Arr::F64(&y, vec![6])),
        ],
    );
    let ds = data.to_str().unwrap();
    let out = d.p("c3");
    let o = run(&[
        "train",
        "--arch",
        "circular",
        "--data",
        ds,
        "--beta",
        "0.1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out.join("report.json"));
    let obj = r["objective"].as_f64().unwrap();
    assert!((obj - 0.12946906).abs() < 1e-6 * 0.12946906, "{obj}");
    let net = r["network_objective"].as_f64().unwrap();
    assert!((net - obj).abs() < 1e-6 * obj);
    let st = std::fs::read(out.join("model.safetensors")).unwrap();
    let t = safetensors::SafeTensors::deserialize(&st).unwrap();
    assert_eq!(t.tensor("a").unwrap().shape()[1..], [1, 4]);
    let out4 = d.p("c4");
    let o4 = run(&[
        "train",
        "--arch",
        "circular",
        "--layers",
        "4",
        "--data",
        ds,
        "--beta",
        "0.1",
        "--quiet",
        "--out",
        out4.to_str().unwrap(),
    ]);
    assert!(
        o4.status.success(),
        "{}",
        String::from_utf8_lossy(&o4.stderr)
    );
    let r4 = read_json(&out4.join("report.json"));
    let (lb, ub) = (
        r4["lower_bound"].as_f64().unwrap(),
        r4["upper_bound"].as_f64().unwrap(),
    );
    assert!((lb - 0.082461619).abs() < 1e-6 * lb && (ub - 0.13048635).abs() < 1e-6 * ub);
    assert_eq!(r4["certificate"], "bounds");
    assert_eq!(r4["converged"], false);
    assert_eq!(r4["cone_test"], false);
    // The refined network: above the true optimum 0.098313829 (MATH-DEEP B1), below the UB.
    let net4 = r4["network_objective"].as_f64().unwrap();
    assert!(net4 >= 0.098313829 * (1.0 - 1e-6) && net4 <= ub, "{net4}");
    let st = std::fs::read(out4.join("model.safetensors")).unwrap();
    let t = safetensors::SafeTensors::deserialize(&st).unwrap();
    assert_eq!(t.tensor("a").unwrap().shape()[1..], [2, 4]);
    let outp = d.p("cp");
    let op = run(&[
        "train",
        "--arch",
        "circular",
        "--layers",
        "5",
        "--path-norm",
        "--data",
        ds,
        "--beta",
        "0.05",
        "--quiet",
        "--out",
        outp.to_str().unwrap(),
    ]);
    assert!(
        op.status.success(),
        "{}",
        String::from_utf8_lossy(&op.stderr)
    );
    let rp = read_json(&outp.join("report.json"));
    let (po, pn) = (
        rp["objective"].as_f64().unwrap(),
        rp["network_objective"].as_f64().unwrap(),
    );
    assert!((po - pn).abs() <= 1e-6 * po && rp["certificate"] == "global");
    // The first-order solver with the spectral prox reaches the same optimum.
    let outa = d.p("cal");
    let oa = run(&[
        "train",
        "--arch",
        "circular",
        "--solver",
        "al",
        "--data",
        ds,
        "--beta",
        "0.1",
        "--quiet",
        "--out",
        outa.to_str().unwrap(),
    ]);
    assert!(
        oa.status.success(),
        "{}",
        String::from_utf8_lossy(&oa.stderr)
    );
    let ra = read_json(&outa.join("report.json"));
    let oa_obj = ra["objective"].as_f64().unwrap();
    assert!((oa_obj - 0.12946906).abs() < 1e-6 * 0.12946906, "{oa_obj}");
    let oa_net = ra["network_objective"].as_f64().unwrap();
    assert!((oa_net - oa_obj).abs() < 1e-6 * oa_obj);
    let bad = d.p("bad");
    let b = bad.to_str().unwrap();
    assert_bad(
        &run(&[
            "train", "--arch", "circular", "--data", ds, "--layers", "2", "--out", b,
        ]),
        "--layers",
        &bad,
    );
    assert_bad(
        &run(&["train", "--arch", "circular", "--limit", "5", "--out", b]),
        "--arch",
        &bad,
    );
}

#[test]
fn max_pooling_train_predict_and_errors() {
    let d = Dir::new();
    let data = d.p("g.npz");
    write_npz(
        &data,
        &[
            ("x", Arr::F64(&gaussian(30, 3), vec![5, 6])),
            ("y", Arr::F64(&gaussian(5, 4), vec![5])),
        ],
    );
    let ds = data.to_str().unwrap();
    let out = d.p("max");
    let mut args = train_args(ds, out.to_str().unwrap());
    let i = args.iter().position(|a| *a == "sum").unwrap();
    args[i] = "max";
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out.join("report.json"));
    assert_eq!(r["pool"], "max");
    assert_eq!(r["certificate"], "global");
    let (a, b) = (
        r["objective"].as_f64().unwrap(),
        r["network_objective"].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 1e-6 * a, "{a} vs {b}");
    // The saved model predicts with max pooling: its squared loss plus penalty is the objective.
    let p = run(&[
        "predict",
        "--model",
        out.to_str().unwrap(),
        "--data",
        ds,
        "--json",
    ]);
    assert!(p.status.success(), "{}", String::from_utf8_lossy(&p.stderr));
    let pj: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    let f: Vec<f64> = pj["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[0].as_f64().unwrap())
        .collect();
    let y = gaussian(5, 4);
    let loss: f64 = f.iter().zip(&y).map(|(p, q)| 0.5 * (p - q) * (p - q)).sum();
    let st = std::fs::read(out.join("model.safetensors")).unwrap();
    let t = safetensors::SafeTensors::deserialize(&st).unwrap();
    let sq: f64 = ["conv.weight", "fc.weight"]
        .iter()
        .flat_map(|k| {
            t.tensor(k)
                .unwrap()
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect::<Vec<_>>()
        })
        .map(|v| v * v)
        .sum();
    let total = loss + 0.05 * sq;
    assert!(
        (total - a).abs() <= 1e-6 * a,
        "predictions give {total}, report {a}"
    );
    // A classifier cannot use max pooling yet: a clear error.
    let lab = d.p("lab.npz");
    write_npz(
        &lab,
        &[
            ("x", Arr::F64(&gaussian(60, 5), vec![10, 6])),
            ("y", Arr::I64(&[0, 1, 2, 0, 1, 2, 0, 1, 2, 0], vec![10])),
        ],
    );
    let bad = d.p("bad");
    assert_bad(
        &run(&[
            "train",
            "--data",
            lab.to_str().unwrap(),
            "--pool",
            "max",
            "--kernel",
            "3",
            "--out",
            bad.to_str().unwrap(),
        ]),
        "--pool",
        &bad,
    );
}

#[test]
fn local_pooling_l1_head_reference_and_errors() {
    let d = Dir::new();
    let data = d.p("c2.npz");
    let x = [
        1.1, 1.8, -2.6, -0.1, 1.0, 1.4, 0.7, 1.5, 0.3, 0.6, 0.2, -1.1, -0.8, 0.4, -0.6, 1.3, 1.3,
        1.8, 0.0, 1.4, -0.9, -0.8, 0.1, 0.3, -1.6, -1.7, 0.4, -0.9,
    ];
    let y = [1.2, 0.4, 0.3, 0.2];
    write_npz(
        &data,
        &[
            ("x", Arr::F64(&x, vec![4, 7])),
            ("y", Arr::F64(&y, vec![4])),
        ],
    );
    let ds = data.to_str().unwrap();
    let out = d.p("c2");
    let base = |pool: &'static str, out: &str| -> Vec<String> {
        [
            "train",
            "--data",
            ds,
            "--kernel",
            "2",
            "--beta",
            "0.05",
            "--pool",
            pool,
            "--windows",
            "2",
            "--head",
            "l1",
            "--quiet",
            "--out",
            out,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let args = base("max", out.to_str().unwrap());
    let o = bin().args(&args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out.join("report.json"));
    let obj = r["objective"].as_f64().unwrap();
    assert!((obj - 0.022415136).abs() < 1e-6 * obj, "{obj}");
    let net = r["network_objective"].as_f64().unwrap();
    assert!((net - obj).abs() < 1e-6 * obj);
    assert_eq!(r["windows"].as_array().unwrap().len(), 3);
    let st = std::fs::read(out.join("model.safetensors")).unwrap();
    let t = safetensors::SafeTensors::deserialize(&st).unwrap();
    assert_eq!(t.tensor("fc.weight").unwrap().shape()[0], 3);
    let bad = d.p("bad");
    let b = bad.to_str().unwrap();
    // --windows without --head l1, --head l1 without --windows, sum pooling in windows.
    let mut no_head = base("max", b);
    no_head.truncate(no_head.len() - 5);
    no_head.extend(["--quiet", "--out", b].map(String::from));
    assert_bad(&bin().args(&no_head).output().unwrap(), "--windows", &bad);
    assert_bad(
        &run(&["train", "--data", ds, "--head", "l1", "--out", b]),
        "--head",
        &bad,
    );
    assert_bad(
        &bin().args(base("sum", b)).output().unwrap(),
        "--pool",
        &bad,
    );
    assert_bad(
        &run(&[
            "compare",
            "--data",
            ds,
            "--windows",
            "2",
            "--head",
            "l1",
            "--out",
            b,
        ]),
        "--pool",
        &bad,
    );
}

#[test]
fn linear_arch_pool_and_fc_heads() {
    let d = Dir::new();
    let data = d.p("g.npz");
    write_npz(
        &data,
        &[
            ("x", Arr::F64(&gaussian(48, 7), vec![6, 8])),
            ("y", Arr::F64(&gaussian(6, 8), vec![6])),
        ],
    );
    let ds = data.to_str().unwrap();
    let mut objs = Vec::new();
    for head in ["pool", "fc"] {
        let out = d.p(head);
        let o = run(&[
            "train",
            "--arch",
            "linear",
            "--head",
            head,
            "--data",
            ds,
            "--kernel",
            "3",
            "--beta",
            "0.2",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r = read_json(&out.join("report.json"));
        let (a, b, lb) = (
            r["objective"].as_f64().unwrap(),
            r["network_objective"].as_f64().unwrap(),
            r["lower_bound"].as_f64().unwrap(),
        );
        assert!((a - b).abs() <= 1e-8 * a, "{head}: {a} vs {b}");
        assert!(lb <= a && a - lb <= 1e-8 * a, "{head}: gap {}", a - lb);
        objs.push(a);
    }
    // The fully connected head contains the pooling head (equal weights over positions).
    assert!(objs[1] < objs[0]);
    let bad = d.p("bad");
    let b = bad.to_str().unwrap();
    for (args, needle) in [
        (vec!["--pool", "max"], "--pool"),
        (vec!["--bias"], "--bias"),
        (vec!["--head", "l1"], "--head"),
        (vec!["--windows", "2"], "--windows"),
    ] {
        let mut all = vec![
            "train", "--arch", "linear", "--data", ds, "--kernel", "3", "--out", b,
        ];
        all.extend(args);
        assert_bad(&run(&all), needle, &bad);
    }
}

#[test]
fn compare_through_the_architecture_interface() {
    let d = Dir::new();
    let data = d.p("g.npz");
    write_npz(
        &data,
        &[
            ("x", Arr::F64(&gaussian(30, 11), vec![5, 6])),
            ("y", Arr::F64(&gaussian(5, 12), vec![5])),
        ],
    );
    let ds = data.to_str().unwrap();
    for extra in [
        vec!["--arch", "linear", "--head", "fc"],
        vec!["--pool", "max", "--windows", "2", "--head", "l1"],
    ] {
        let out = d.p("cmp");
        let mut args = vec![
            "compare",
            "--data",
            ds,
            "--kernel",
            "2",
            "--beta",
            "0.05",
            "--restarts",
            "3",
            "--width",
            "2,5",
            "--epochs",
            "800",
            "--quiet",
            "--out",
        ];
        args.push(out.to_str().unwrap());
        args.extend(extra.iter());
        let o = run(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r = read_json(&out.join("compare.json"));
        assert_eq!(r["convex"]["exact"], true, "{extra:?}");
        let lb = r["convex"]["lower_bound"].as_f64().unwrap();
        let runs = r["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 6);
        for run in runs {
            assert!(run["objective"].as_f64().unwrap() >= lb * (1.0 - 1e-6));
        }
        assert_eq!(r["runs_below_lower_bound"], 0);
        std::fs::remove_dir_all(&out).unwrap();
    }
    let bad = d.p("bad");
    assert_bad(
        &run(&[
            "compare",
            "--data",
            ds,
            "--arch",
            "linear",
            "--width",
            "0",
            "--out",
            bad.to_str().unwrap(),
        ]),
        "--width",
        &bad,
    );
}

#[test]
fn three_layer_reference_a1_with_two_layer_comparison() {
    let d = Dir::new();
    let data = d.p("a1.npz");
    let x = [
        0.1, -0.1, 0.6, 0.1, -0.5, 0.4, 1.3, 0.9, -0.7, -1.3, -0.6, 0.0, -2.3, -0.2, -1.2, -0.7,
    ];
    let y = [-0.5, -0.3, 0.4, 1.0];
    write_npz(
        &data,
        &[
            ("x", Arr::F64(&x, vec![4, 4])),
            ("y", Arr::F64(&y, vec![4])),
        ],
    );
    let ds = data.to_str().unwrap();
    let out = d.p("a1");
    let o = run(&[
        "train",
        "--arch",
        "three-layer",
        "--also",
        "two-layer",
        "--data",
        ds,
        "--kernel",
        "2",
        "--beta",
        "0.1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out.join("report.json"));
    let obj = r["objective"].as_f64().unwrap();
    assert!((obj - 0.12203594).abs() < 1e-6 * obj, "{obj}");
    let net = r["network_objective"].as_f64().unwrap();
    assert!((net - obj).abs() < 1e-6 * obj);
    let two = r["two_layer_objective"].as_f64().unwrap();
    assert!((two - 0.12521169).abs() < 1e-6 * two, "{two}");
    let bad = d.p("bad");
    assert_bad(
        &run(&[
            "train",
            "--data",
            ds,
            "--kernel",
            "2",
            "--also",
            "two-layer",
            "--out",
            bad.to_str().unwrap(),
        ]),
        "--also",
        &bad,
    );
    assert_bad(
        &run(&[
            "train",
            "--arch",
            "three-layer",
            "--data",
            ds,
            "--kernel",
            "2",
            "--patterns",
            "sample:0",
            "--out",
            bad.to_str().unwrap(),
        ]),
        "--patterns",
        &bad,
    );
    // The first-order solver: the certified bracket holds the reference.
    let cg = d.p("a1-cg");
    let o = run(&[
        "train",
        "--arch",
        "three-layer",
        "--solver",
        "cg",
        "--data",
        ds,
        "--kernel",
        "2",
        "--beta",
        "0.1",
        "--quiet",
        "--out",
        cg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&cg.join("report.json"));
    assert_eq!(r["solver"], "cg");
    assert_eq!(r["status"], "solved");
    let lower = r["lower_bound"].as_f64().unwrap();
    let net = r["network_objective"].as_f64().unwrap();
    assert!(
        lower <= 0.12203594 + 5e-9 && 0.12203594 - 5e-9 <= net,
        "{lower} {net}"
    );
    assert!(r["relative_gap"].as_f64().unwrap() < 2e-4);
    assert!(r["first_order"]["rounds"].as_u64().unwrap() > 0);
    for (solver, flag) in [("gated", "--solver"), ("proj", "--solver")] {
        assert_bad(
            &run(&[
                "train",
                "--arch",
                "three-layer",
                "--solver",
                solver,
                "--data",
                ds,
                "--kernel",
                "2",
                "--out",
                bad.to_str().unwrap(),
            ]),
            flag,
            &bad,
        );
    }
    assert_bad(
        &run(&[
            "train",
            "--arch",
            "three-layer",
            "--solver",
            "al",
            "--time-limit",
            "0",
            "--data",
            ds,
            "--kernel",
            "2",
            "--out",
            bad.to_str().unwrap(),
        ]),
        "--time-limit",
        &bad,
    );
    // cg is not a two-layer solver.
    assert_bad(
        &run(&[
            "train",
            "--solver",
            "cg",
            "--data",
            ds,
            "--kernel",
            "2",
            "--out",
            bad.to_str().unwrap(),
        ]),
        "--solver",
        &bad,
    );
}

#[cfg(not(feature = "sdp"))]
#[test]
fn shared_head_without_the_sdp_feature_says_how_to_get_it() {
    let d = Dir::new();
    let lab = d.p("lab.npz");
    write_npz(
        &lab,
        &[
            ("x", Arr::F64(&gaussian(60, 21), vec![10, 6])),
            ("y", Arr::I64(&[0, 1, 2, 0, 1, 2, 0, 1, 2, 1], vec![10])),
        ],
    );
    let bad = d.p("bad");
    assert_bad(
        &run(&[
            "train",
            "--data",
            lab.to_str().unwrap(),
            "--kernel",
            "2",
            "--head",
            "shared",
            "--out",
            bad.to_str().unwrap(),
        ]),
        "--features sdp",
        &bad,
    );
}

#[cfg(feature = "sdp")]
#[test]
fn shared_head_sdp_reference_and_classes() {
    let d = Dir::new();
    let data = d.p("c2.npz");
    let x = [
        1.1, 1.8, -2.6, -0.1, 1.0, 1.4, 0.7, 1.5, 0.3, 0.6, 0.2, -1.1, -0.8, 0.4, -0.6, 1.3, 1.3,
        1.8, 0.0, 1.4, -0.9, -0.8, 0.1, 0.3, -1.6, -1.7, 0.4, -0.9,
    ];
    write_npz(
        &data,
        &[
            ("x", Arr::F64(&x, vec![4, 7])),
            ("y", Arr::F64(&[1.2, 0.4, 0.3, 0.2], vec![4])),
        ],
    );
    let out = d.p("c2");
    let o = run(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--kernel",
        "2",
        "--beta",
        "0.05",
        "--pool",
        "max",
        "--windows",
        "2",
        "--head",
        "shared",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out.join("report.json"));
    let (lb, net) = (
        r["lower_bound"].as_f64().unwrap(),
        r["network_objective"].as_f64().unwrap(),
    );
    // MATH-DEEP C2 (weight decay): 0.019508455, inside the certified bracket.
    assert!(lb <= 0.019508455 * (1.0 + 1e-7) && 0.019508455 <= net * (1.0 + 1e-7));
    assert!(net - lb <= 1e-6 * net);
    // compare through the architecture interface: Adam never below the certified bound.
    let outc = d.p("cmp");
    let oc = run(&[
        "compare",
        "--data",
        data.to_str().unwrap(),
        "--kernel",
        "2",
        "--beta",
        "0.05",
        "--pool",
        "max",
        "--windows",
        "2",
        "--head",
        "shared",
        "--restarts",
        "2",
        "--width",
        "4",
        "--epochs",
        "1500",
        "--quiet",
        "--out",
        outc.to_str().unwrap(),
    ]);
    assert!(
        oc.status.success(),
        "{}",
        String::from_utf8_lossy(&oc.stderr)
    );
    assert_eq!(
        read_json(&outc.join("compare.json"))["runs_below_lower_bound"],
        0
    );
    // One output per class: a standard two-layer model with C outputs (predict reads it).
    let lab = d.p("lab.npz");
    write_npz(
        &lab,
        &[
            ("x", Arr::F64(&gaussian(60, 21), vec![10, 6])),
            ("y", Arr::I64(&[0, 1, 2, 0, 1, 2, 0, 1, 2, 1], vec![10])),
        ],
    );
    let out2 = d.p("cls");
    let o2 = run(&[
        "train",
        "--data",
        lab.to_str().unwrap(),
        "--kernel",
        "2",
        "--beta",
        "0.1",
        "--head",
        "shared",
        "--quiet",
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert!(
        o2.status.success(),
        "{}",
        String::from_utf8_lossy(&o2.stderr)
    );
    let r2 = read_json(&out2.join("report.json"));
    assert_eq!(r2["outputs"], 3);
    assert!(
        r2["relative_gap"].as_f64().unwrap() < 1e-5,
        "{}",
        r2["relative_gap"]
    );
    let p = run(&[
        "predict",
        "--model",
        out2.to_str().unwrap(),
        "--data",
        lab.to_str().unwrap(),
        "--json",
    ]);
    assert!(p.status.success(), "{}", String::from_utf8_lossy(&p.stderr));
    // Filter size 3: the regions are fan-triangulated, and the bracket closes.
    let out3 = d.p("cls3");
    let o3 = run(&[
        "train",
        "--data",
        lab.to_str().unwrap(),
        "--kernel",
        "3",
        "--beta",
        "0.1",
        "--head",
        "shared",
        "--quiet",
        "--out",
        out3.to_str().unwrap(),
    ]);
    assert!(
        o3.status.success(),
        "{}",
        String::from_utf8_lossy(&o3.stderr)
    );
    let r3 = read_json(&out3.join("report.json"));
    assert_eq!(r3["filter_size"], 3);
    assert_eq!(r3["sdp_is_relaxation"], false);
    assert!(r3["cones"].as_u64().unwrap() > r3["regions"].as_u64().unwrap());
    assert!(
        r3["relative_gap"].as_f64().unwrap() < 1e-6,
        "{}",
        r3["relative_gap"]
    );
    // Too many regions to enumerate: refused up front, naming the option.
    let big = d.p("big.npz");
    let labels: Vec<i64> = (0..40).map(|i| i % 2).collect();
    write_npz(
        &big,
        &[
            ("x", Arr::F64(&gaussian(40 * 30, 22), vec![40, 30])),
            ("y", Arr::I64(&labels, vec![40])),
        ],
    );
    let bad = d.p("bad");
    assert_bad(
        &run(&[
            "train",
            "--data",
            big.to_str().unwrap(),
            "--kernel",
            "4",
            "--head",
            "shared",
            "--out",
            bad.to_str().unwrap(),
        ]),
        "--kernel",
        &bad,
    );
}
