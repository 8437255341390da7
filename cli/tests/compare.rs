//! `compare`: the convex optimum against non-convex training runs (SGD, Adam) on the same
//! network, for an exact instance, the classifier, and the other architectures. (Its bad
//! inputs are in `bad_inputs.rs`.)

mod common;

use common::{gaussian, read_json, run, write_npz, write_xy, Arr, Dir};

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

/// `compare` on the classifier path (sampled patterns, several outputs).
#[test]
fn compare_classifier() {
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
        text.contains("convex (admm)") && text.contains("adam seed 1"),
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
    // The race: the target is the best restart's final objective; the convex side reached it
    // at a recorded check (its trajectory is in seconds since the fit began), or at its
    // recovered network, or not at all.
    let best = runs
        .iter()
        .map(|x| x["objective"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    let race = &r["race"];
    assert_eq!(race["target_objective"].as_f64().unwrap(), best);
    assert!(race["nonconvex_seconds"].as_f64().unwrap() >= 0.0);
    let traj = r["convex"]["trajectory"].as_array().unwrap();
    assert!(!traj.is_empty());
    match race["convex_seconds"].as_f64() {
        Some(t) => assert!(t > 0.0 && t <= r["convex"]["seconds"].as_f64().unwrap() + 1e-9),
        None => assert!(r["convex"]["objective"].as_f64().unwrap() > best),
    }
}

/// `compare` with the linear architecture and with local max pooling (l1 head): exact convex
/// optima, and no run below the certified lower bound.
#[test]
fn compare_through_the_architecture_interface() {
    let d = Dir::new();
    let data = d.p("g.npz");
    write_xy(&data, &gaussian(30, 11), &gaussian(5, 12));
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
}
