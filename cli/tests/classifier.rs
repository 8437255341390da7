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
}
