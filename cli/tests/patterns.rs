//! `patterns`: the number of activation patterns and its bound, without training.

mod common;

use common::{gaussian, run, write_npz, Arr, Dir};

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
