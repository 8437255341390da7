//! Data formats beyond .npz: a pair of .npy files (images and labels) and CIFAR-10 binary
//! batches given as a comma-separated list. (Their bad inputs are in `bad_inputs.rs`.)

mod common;

use common::{cifar_batch, gaussian, patterns_json, write_npy, Dir};

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
    let (ap, bp) = (d.p("a.bin"), d.p("b.bin"));
    std::fs::write(&ap, cifar_batch(0, 3)).unwrap();
    std::fs::write(&bp, cifar_batch(3, 2)).unwrap();
    let list = format!("{},{}", ap.display(), bp.display());
    let r = patterns_json(&["--data", &list, "--kernel", "8", "--stride", "8"]);
    assert_eq!(r["n"], 5);
    assert_eq!(r["filter_size"], 3 * 64);
}
