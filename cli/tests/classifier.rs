//! The classifier (builtin MNIST, all ten digits): `train` along a β path, then `eval` and
//! `predict` on the saved model. (Classifier settings that cannot work: `bad_inputs.rs`.)

mod common;

use common::run;

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
        "--polish-rounds",
        "0",
        "--beta",
        "0.5,0.2",
        "--threads",
        "1",
        "--out",
        out_s,
    ]);
    // Three iterations (and no polish) do not close the gap: the result is written, the summary and a warning
    // say it did not converge, and the exit code is 4.
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(
        err.contains("not converged") && err.contains("--allow-unconverged"),
        "{err}"
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("restricted gap"), "{text}");
    assert!(text.contains("NOT CONVERGED"), "{text}");
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
    // `--split test`: the same 300 digits give back the held-out part and its accuracy.
    for (split, key, n) in [
        ("test", "test_accuracy", "n_test"),
        ("train", "train_accuracy", "n_train"),
    ] {
        let e = run(&[
            "eval", "--model", out_s, "--limit", "300", "--split", split, "--json",
        ]);
        assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
        let ev: serde_json::Value = serde_json::from_slice(&e.stdout).unwrap();
        let acc = ev["accuracy"].as_f64().unwrap();
        let want = report[key].as_f64().unwrap();
        assert!(
            (acc - want).abs() < 1e-12,
            "{split}: eval {acc} vs report {want}"
        );
        assert_eq!(ev["samples"], report[n]);
    }
    // Other data than the model was trained on: its split cannot be found.
    let e = run(&[
        "eval", "--model", out_s, "--limit", "200", "--split", "test",
    ]);
    assert!(!e.status.success());
    assert!(String::from_utf8_lossy(&e.stderr).contains("300"));
    // `predict`: a header naming the class of every output, then one line per sample whose
    // label is the class of its largest output.
    let p = run(&["predict", "--model", out_s, "--limit", "5"]);
    assert!(p.status.success());
    let text = String::from_utf8_lossy(&p.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    let head: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(head[..3], ["sample", "label", "output[0]"], "{text}");
    assert_eq!(head.len(), 12, "{text}");
    for line in &lines[1..] {
        let cols: Vec<&str> = line.split('\t').collect();
        let outs: Vec<f64> = cols[2..].iter().map(|v| v.parse().unwrap()).collect();
        let best = (0..outs.len())
            .max_by(|&a, &b| outs[a].total_cmp(&outs[b]))
            .unwrap();
        assert_eq!(cols[1], best.to_string(), "{line}");
    }
}
