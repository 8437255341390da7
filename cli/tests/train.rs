//! `train` of the two-layer network: the report and weights it writes, the builtin MNIST run
//! with sampled patterns, and max pooling (with `predict` on the saved model).

mod common;

use common::{gaussian, read_json, run, train_args, write_npz, write_xy, Arr, Dir};

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

/// Max pooling: a certified optimum, and the saved model predicts with max pooling. (A
/// classifier with max pooling is refused: `bad_inputs.rs`.)
#[test]
fn max_pooling_train_and_predict() {
    let d = Dir::new();
    let data = d.p("g.npz");
    write_xy(&data, &gaussian(30, 3), &gaussian(5, 4));
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
    let y = gaussian(5, 4);
    let loss = predicted_loss(&out, ds, &y);
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
}

/// `--out` never deletes what cvxcnn did not write: a directory of the user's (here the one
/// holding the training data) is refused before any work, a result is replaced by the next
/// one, and a result the user added a file to is refused with the file kept.
#[test]
fn out_never_replaces_foreign_directories() {
    let d = Dir::new();
    let data = d.p("good.npz");
    write_xy(&data, &gaussian(35, 1), &gaussian(5, 2));
    let own = d.p("");
    let o = run(&train_args(data.to_str().unwrap(), own.to_str().unwrap()));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--out") && err.contains("not a cvxcnn result"),
        "{err}"
    );
    assert!(data.exists(), "the training data must survive");
    let out = d.p("out");
    for _ in 0..2 {
        let o = run(&train_args(data.to_str().unwrap(), out.to_str().unwrap()));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    std::fs::create_dir(out.join("sub")).unwrap();
    std::fs::write(out.join("sub").join("notes.txt"), b"mine").unwrap();
    let o = run(&train_args(data.to_str().unwrap(), out.to_str().unwrap()));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds sub"));
    assert_eq!(
        std::fs::read(out.join("sub").join("notes.txt")).unwrap(),
        b"mine"
    );
    assert!(out.join("report.json").exists(), "the earlier result stays");
}

/// `eval` of the README's quick-start kind of model (one output, trained on two classes as
/// ±1): its accuracy and squared loss equal the report's train accuracy and the network's loss.
#[test]
fn eval_of_a_scalar_two_class_model() {
    let d = Dir::new();
    let out = d.p("qs");
    let args = [
        "--data",
        "builtin:mnist",
        "--classes",
        "3,8",
        "--limit",
        "40",
        "--kernel",
        "7",
        "--stride",
        "7",
        "--beta",
        "1",
        "--patterns",
        "sample:5",
        "--seed",
        "0",
    ];
    let mut train = vec!["train", "--quiet", "--out", out.to_str().unwrap()];
    train.extend(args);
    let o = run(&train);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out.join("report.json"));
    let mut eval = vec!["eval", "--json", "--model", out.to_str().unwrap()];
    eval.extend(&args[..6]);
    let e = run(&eval);
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    let ev: serde_json::Value = serde_json::from_slice(&e.stdout).unwrap();
    assert_eq!(ev["samples"], 40);
    let acc = ev["accuracy"].as_f64().unwrap();
    assert!(
        (acc - r["train_accuracy"].as_f64().unwrap()).abs() < 1e-12,
        "{acc}"
    );
    // The network objective is the loss plus (β/2)‖θ‖², so the loss is below it.
    let loss = ev["loss"].as_f64().unwrap();
    let net = r["network_objective"].as_f64().unwrap();
    assert!(loss > 0.0 && loss < net, "{loss} vs {net}");
    // model.json names the two classes: `predict` prints them (3 for a negative output, 8
    // otherwise) under a header, and `eval` takes the labelled digits without --classes.
    let p = run(&[
        "predict",
        "--json",
        "--model",
        out.to_str().unwrap(),
        "--data",
        "builtin:mnist",
        "--classes",
        "3,8",
        "--limit",
        "40",
    ]);
    assert!(p.status.success(), "{}", String::from_utf8_lossy(&p.stderr));
    let pj: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    let labels = pj["labels"].as_array().unwrap();
    for (l, f) in labels.iter().zip(pj["outputs"].as_array().unwrap()) {
        let want = if f[0].as_f64().unwrap() >= 0.0 { 8 } else { 3 };
        assert_eq!(l.as_i64(), Some(want));
    }
    let text = run(&[
        "predict",
        "--model",
        out.to_str().unwrap(),
        "--data",
        "builtin:mnist",
        "--classes",
        "3,8",
        "--limit",
        "3",
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("sample\tlabel\toutput\n"), "{text}");
    // Labelled digits of other classes are refused with the model's classes named.
    let e = run(&["eval", "--model", out.to_str().unwrap(), "--limit", "20"]);
    assert!(!e.status.success());
    assert!(
        String::from_utf8_lossy(&e.stderr).contains("[3, 8]"),
        "{}",
        String::from_utf8_lossy(&e.stderr)
    );
}

/// `½Σ(f − y)²` of the outputs `cvxcnn predict --json` gives for the model in `out` on `data`.
fn predicted_loss(out: &std::path::Path, data: &str, y: &[f64]) -> f64 {
    let p = run(&[
        "predict",
        "--json",
        "--model",
        out.to_str().unwrap(),
        "--data",
        data,
    ]);
    assert!(p.status.success(), "{}", String::from_utf8_lossy(&p.stderr));
    let pj: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    let f = pj["outputs"].as_array().unwrap();
    assert_eq!(f.len(), y.len());
    f.iter()
        .zip(y)
        .map(|(v, t)| 0.5 * (v[0].as_f64().unwrap() - t).powi(2))
        .sum()
}

/// `eval` and `predict` of a model that is not a two-layer CNN (a linear CNN on images, a
/// circular CNN on signals): predictions whose squared loss plus penalty is the report's
/// network objective.
#[test]
fn eval_of_other_architectures() {
    let d = Dir::new();
    let data = d.p("sig.npz");
    write_xy(&data, &gaussian(36, 5), &gaussian(6, 6));
    let ds = data.to_str().unwrap();
    for (name, extra) in [
        (
            "linear",
            vec!["--arch", "linear", "--kernel", "2", "--head", "fc"],
        ),
        (
            "circular",
            vec!["--arch", "circular", "--layers", "4", "--path-norm"],
        ),
    ] {
        let out = d.p(name);
        let mut a = vec![
            "train",
            "--quiet",
            "--data",
            ds,
            "--beta",
            "0.1",
            "--out",
            out.to_str().unwrap(),
        ];
        a.extend(&extra);
        let o = run(&a);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let e = run(&[
            "eval",
            "--json",
            "--model",
            out.to_str().unwrap(),
            "--data",
            ds,
        ]);
        assert!(
            e.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&e.stderr)
        );
        let ev: serde_json::Value = serde_json::from_slice(&e.stdout).unwrap();
        assert_eq!(ev["arch"], name);
        assert!(ev["accuracy"].is_null(), "real-valued targets: no accuracy");
        let loss = predicted_loss(&out, ds, &gaussian(6, 6));
        assert!(
            (loss - ev["loss"].as_f64().unwrap()).abs() <= 1e-9 * loss,
            "{name}"
        );
        let r = read_json(&out.join("report.json"));
        assert!(
            loss <= r["network_objective"].as_f64().unwrap() + 1e-12,
            "{name}"
        );
    }
}

/// `train` on 40 embedded digits (3 against 8, kernel 7, 20 sampled patterns) at `beta`.
fn mnist_3_8(beta: &str, out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let out = out.to_str().unwrap();
    let mut args = vec![
        "train",
        "--data",
        "builtin:mnist",
        "--classes",
        "3,8",
        "--limit",
        "40",
        "--kernel",
        "7",
        "--stride",
        "7",
        "--beta",
        beta,
        "--patterns",
        "sample:20",
        "--seed",
        "0",
        "--quiet",
        "--out",
        out,
    ];
    args.extend(extra);
    run(&args)
}

/// Issue 19, finding 2: at `--beta 1e-7` on this 40-image set the recovered network used to be
/// far above the convex optimum (objective 128 or 22.6 against 2.5e-7, 57.5% train accuracy)
/// while the status said `solved`: recovery dropped every filter whose penalty `β‖c‖` was below
/// 1e-9 of the zero network's objective, which at a tiny β is every filter. Now the network
/// reaches the optimum and the certificate closes. At `--beta 1e-9` the interior point's
/// absolute tolerance (1e-9) is the size of the optimum itself, so the gap cannot close: the
/// report must say `inaccurate`, not `solved`, the command warns and exits with 3.
#[test]
fn tiny_beta_is_solved_or_reported_inaccurate() {
    let d = Dir::new();
    let small = d.p("small");
    let o = mnist_3_8("1e-7", &small, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&small.join("report.json"));
    assert_eq!(r["status"], "solved");
    let (obj, net) = (
        r["objective"].as_f64().unwrap(),
        r["network_objective"].as_f64().unwrap(),
    );
    assert!(
        obj < 1e-5 && (net - obj).abs() <= 1e-6 * obj,
        "{net} vs {obj}"
    );
    assert!(r["relative_gap"].as_f64().unwrap() <= 1e-6);
    assert_eq!(r["train_accuracy"].as_f64(), Some(1.0));

    let out = d.p("tiny");
    let o = mnist_3_8("1e-9", &out, &[]);
    // The result is written, and the exit code (3) says it is not what the status claimed.
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = read_json(&out.join("report.json"));
    let gap = r["relative_gap"].as_f64().unwrap();
    assert!(gap > 1e-3, "the example must show the failure: gap {gap}");
    assert_eq!(r["converged"], false);
    assert_eq!(r["status"], "inaccurate");
    assert!(String::from_utf8_lossy(&o.stderr).contains("not the optimum"));
    // Opted in: the same result, exit code 0.
    let o = mnist_3_8("1e-9", &d.p("tiny2"), &["--allow-inaccurate"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        read_json(&d.p("tiny2").join("report.json"))["status"],
        "inaccurate"
    );
    // At β = 1 the same run converges and says so.
    let ok = d.p("ok");
    let o = mnist_3_8("1", &ok, &[]);
    assert!(o.status.success());
    let r = read_json(&ok.join("report.json"));
    assert_eq!(
        (r["status"].as_str(), r["converged"].as_bool()),
        (Some("solved"), Some(true))
    );
}

/// `--time-limit` bounds the interior-point run too: an exact program of 102,082 patterns whose
/// run takes about 18 s on 2 cores (enumeration 3 s, working-set solve 13 s), capped at 1 s,
/// ends on the cap with status `max_time` and says it did not converge (without the flag the
/// same run ends `solved`: `every_pooling_solves_exactly`-style runs above).
#[test]
fn time_limit_caps_the_interior_point() {
    let d = Dir::new();
    let data = d.p("ten.npz");
    write_xy(&data, &gaussian(400, 31), &gaussian(40, 32));
    let out = d.p("capped");
    let o = run(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--kernel",
        "3",
        "--beta",
        "0.1",
        "--time-limit",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    // Written, but not converged: exit code 4.
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = read_json(&out.join("report.json"));
    assert_eq!(r["status"], "max_time");
    assert_eq!(r["converged"], false);
    assert!(String::from_utf8_lossy(&o.stdout).contains("NOT CONVERGED"));
    let e = run(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--time-limit",
        "0",
        "--out",
        d.p("z").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("--time-limit: must be positive"));
}
