//! `train --arch` beyond the two-layer network, on MATH-DEEP's reference instances: circular
//! (B1), local pooling with an l1 head (C2), linear, three-layer (A1), and the weight-decay
//! SDP of the shared head (C2; `sdp` feature). Their bad inputs are in `bad_inputs.rs`.

mod common;

#[cfg(feature = "sdp")]
use common::write_labelled;
use common::{gaussian, read_json, run, write_xy, Dir, A1_X, A1_Y, B1_X, B1_Y, C2_X, C2_Y};

/// `train --arch circular` on MATH-DEEP's B1: the exact L = 3 optimum, the L = 4 bounds, the
/// path-norm variant, and the first-order solver.
#[test]
fn circular_arch_reference() {
    let d = Dir::new();
    let data = d.p("b1.npz");
    write_xy(&data, &B1_X, &B1_Y);
    let ds = data.to_str().unwrap();
    let out = d.p("c3");
    let os = out.to_str().unwrap();
    let o = run(&[
        "train", "--arch", "circular", "--data", ds, "--beta", "0.1", "--quiet", "--out", os,
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
    let os4 = out4.to_str().unwrap();
    let o4 = run(&[
        "train", "--arch", "circular", "--layers", "4", "--data", ds, "--beta", "0.1", "--quiet",
        "--out", os4,
    ]);
    let err4 = String::from_utf8_lossy(&o4.stderr);
    assert!(o4.status.success(), "{err4}");
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
    let osp = outp.to_str().unwrap();
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
        osp,
    ]);
    let errp = String::from_utf8_lossy(&op.stderr);
    assert!(op.status.success(), "{errp}");
    let rp = read_json(&outp.join("report.json"));
    let (po, pn) = (
        rp["objective"].as_f64().unwrap(),
        rp["network_objective"].as_f64().unwrap(),
    );
    assert!((po - pn).abs() <= 1e-6 * po && rp["certificate"] == "global");
    // The first-order solver with the spectral prox reaches the same optimum.
    let outa = d.p("cal");
    let osa = outa.to_str().unwrap();
    let oa = run(&[
        "train", "--arch", "circular", "--solver", "al", "--data", ds, "--beta", "0.1", "--quiet",
        "--out", osa,
    ]);
    let erra = String::from_utf8_lossy(&oa.stderr);
    assert!(oa.status.success(), "{erra}");
    let ra = read_json(&outa.join("report.json"));
    let oa_obj = ra["objective"].as_f64().unwrap();
    assert!((oa_obj - 0.12946906).abs() < 1e-6 * 0.12946906, "{oa_obj}");
    let oa_net = ra["network_objective"].as_f64().unwrap();
    assert!((oa_net - oa_obj).abs() < 1e-6 * oa_obj);
}

/// Local max pooling over two windows with an l1 head on MATH-DEEP's C2.
#[test]
fn local_pooling_l1_head_reference() {
    let d = Dir::new();
    let data = d.p("c2.npz");
    write_xy(&data, &C2_X, &C2_Y);
    let ds = data.to_str().unwrap();
    let out = d.p("c2");
    let os = out.to_str().unwrap();
    let o = run(&[
        "train",
        "--data",
        ds,
        "--kernel",
        "2",
        "--beta",
        "0.05",
        "--pool",
        "max",
        "--windows",
        "2",
        "--head",
        "l1",
        "--quiet",
        "--out",
        os,
    ]);
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
}

/// The linear architecture with a pooling head and a fully connected head: both exact.
#[test]
fn linear_arch_pool_and_fc_heads() {
    let d = Dir::new();
    let data = d.p("g.npz");
    write_xy(&data, &gaussian(48, 7), &gaussian(6, 8));
    let ds = data.to_str().unwrap();
    let mut objs = Vec::new();
    for head in ["pool", "fc"] {
        let out = d.p(head);
        let os = out.to_str().unwrap();
        let o = run(&[
            "train", "--arch", "linear", "--head", head, "--data", ds, "--kernel", "3", "--beta",
            "0.2", "--quiet", "--out", os,
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
}

/// The three-layer network on MATH-DEEP's A1, beside the two-layer optimum (`--also`), and
/// the first-order solver's certified bracket.
#[test]
fn three_layer_reference_a1_with_two_layer_comparison() {
    let d = Dir::new();
    let data = d.p("a1.npz");
    write_xy(&data, &A1_X, &A1_Y);
    let ds = data.to_str().unwrap();
    let out = d.p("a1");
    let os = out.to_str().unwrap();
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
        os,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out.join("report.json"));
    let obj = r["objective"].as_f64().unwrap();
    assert!((obj - 0.12203594).abs() < 1e-6 * obj, "{obj}");
    let net = r["network_objective"].as_f64().unwrap();
    assert!((net - obj).abs() < 1e-6 * obj);
    let two = r["two_layer_objective"].as_f64().unwrap();
    assert!((two - 0.12521169).abs() < 1e-6 * two, "{two}");
    // The first-order solver: the certified bracket holds the reference.
    let cg = d.p("a1-cg");
    let cgs = cg.to_str().unwrap();
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
        cgs,
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
}

/// The weight-decay SDP of the shared head: MATH-DEEP's C2 inside the certified bracket,
/// `compare` above it, and one output per class (fan-triangulated regions for filter size 3).
#[cfg(feature = "sdp")]
#[test]
fn shared_head_sdp_reference_and_classes() {
    let d = Dir::new();
    let data = d.p("c2.npz");
    write_xy(&data, &C2_X, &C2_Y);
    let ds = data.to_str().unwrap();
    let out = d.p("c2");
    let os = out.to_str().unwrap();
    let o = run(&[
        "train",
        "--data",
        ds,
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
        os,
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
    let osc = outc.to_str().unwrap();
    let oc = run(&[
        "compare",
        "--data",
        ds,
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
        osc,
    ]);
    let errc = String::from_utf8_lossy(&oc.stderr);
    assert!(oc.status.success(), "{errc}");
    assert_eq!(
        read_json(&outc.join("compare.json"))["runs_below_lower_bound"],
        0
    );
    // One output per class: a standard two-layer model with C outputs (predict reads it).
    let lab = d.p("lab.npz");
    write_labelled(&lab, &gaussian(60, 21), &[0, 1, 2, 0, 1, 2, 0, 1, 2, 1]);
    let ls = lab.to_str().unwrap();
    let out2 = d.p("cls");
    let os2 = out2.to_str().unwrap();
    let o2 = run(&[
        "train", "--data", ls, "--kernel", "2", "--beta", "0.1", "--head", "shared", "--quiet",
        "--out", os2,
    ]);
    let err2 = String::from_utf8_lossy(&o2.stderr);
    assert!(o2.status.success(), "{err2}");
    let r2 = read_json(&out2.join("report.json"));
    assert_eq!(r2["outputs"], 3);
    let gap2 = r2["relative_gap"].as_f64().unwrap();
    assert!(gap2 < 1e-5, "{}", r2["relative_gap"]);
    let p = run(&["predict", "--model", os2, "--data", ls, "--json"]);
    assert!(p.status.success(), "{}", String::from_utf8_lossy(&p.stderr));
    // Filter size 3: the regions are fan-triangulated, and the bracket closes.
    let out3 = d.p("cls3");
    let os3 = out3.to_str().unwrap();
    let o3 = run(&[
        "train", "--data", ls, "--kernel", "3", "--beta", "0.1", "--head", "shared", "--quiet",
        "--out", os3,
    ]);
    let err3 = String::from_utf8_lossy(&o3.stderr);
    assert!(o3.status.success(), "{err3}");
    let r3 = read_json(&out3.join("report.json"));
    assert_eq!(r3["filter_size"], 3);
    assert_eq!(r3["sdp_is_relaxation"], false);
    assert!(r3["cones"].as_u64().unwrap() > r3["regions"].as_u64().unwrap());
    let gap3 = r3["relative_gap"].as_f64().unwrap();
    assert!(gap3 < 1e-6, "{}", r3["relative_gap"]);
}
