//! Checkpoints and `--resume`: a classifier run killed with SIGKILL, or stopped with SIGINT,
//! and then continued writes the same model bytes and report as the same run left alone; a
//! checkpoint that does not belong to the run is refused, and a fresh run never discards one.

mod common;

use common::{bin, Dir};
use std::path::Path;
use std::process::{Child, Output};
use std::time::{Duration, Instant};

/// A classifier run that ends on its iteration count (never on time), with checkpoints at every
/// check of the ADMM solve.
const RUN: [&str; 17] = [
    "train",
    "--allow-unconverged",
    "--limit",
    "150",
    "--max-iter",
    "8",
    "--time-limit",
    "1000",
    "--fresh",
    "0",
    "--certificate-budget",
    "0",
    "--checkpoint-every",
    "0",
    "--threads",
    "2",
    "--quiet",
];

fn start(d: &Dir, out: &str) -> Child {
    bin()
        .current_dir(d.0.path())
        .args(RUN)
        .args(["--out", out])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn run_in(d: &Dir, args: &[&str]) -> Output {
    bin().current_dir(d.0.path()).args(args).output().unwrap()
}

/// Waits until the run writing `out` has written a checkpoint (or fails the test).
fn await_checkpoint(d: &Dir, out: &str, child: &mut Child) {
    let ck = d.p(&format!(".{out}.checkpoint"));
    let t = Instant::now();
    while !ck.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its first checkpoint"
        );
        assert!(t.elapsed() < Duration::from_secs(120), "no checkpoint");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The report without its timings (the only part that differs between identical runs).
fn report(dir: &Path) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|k, _| !matches!(k.as_str(), "seconds" | "timings" | "elapsed"));
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    strip(&mut v);
    v
}

fn assert_same_result(d: &Dir, a: &str, b: &str) {
    // Every file but the report (whose timings differ) is the same, byte for byte.
    for file in ["model.safetensors", "model.json", ".cvxcnn-result"] {
        let bytes = |o: &str| std::fs::read(d.p(o).join(file)).unwrap();
        assert!(bytes(a) == bytes(b), "{file} differs");
    }
    assert_eq!(report(&d.p(a)), report(&d.p(b)));
    assert!(
        !d.p(&format!(".{b}.checkpoint")).exists(),
        "checkpoint left"
    );
}

#[test]
fn a_killed_run_resumes_to_the_result_of_an_uninterrupted_one() {
    let d = Dir::new();
    let whole = run_in(&d, &[&RUN[..], &["--out", "whole"]].concat());
    assert!(whole.status.success(), "{whole:?}");
    assert!(!d.p(".whole.checkpoint").exists());

    let mut child = start(&d, "killed");
    await_checkpoint(&d, "killed", &mut child);
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(!d.p("killed").exists(), "a killed run wrote a result");
    let o = run_in(&d, &["train", "--resume", "killed"]);
    assert!(o.status.success(), "{o:?}");
    assert_same_result(&d, "whole", "killed");

    // SIGINT: the run saves its state, writes nothing, says how to go on and exits with 130.
    let mut child = start(&d, "stopped");
    await_checkpoint(&d, "stopped", &mut child);
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("--resume stopped"), "{err}");
    assert!(!d.p("stopped").exists());
    assert!(d.p(".stopped.checkpoint").exists());
    // From another working directory, with the directory given by its path.
    let o = bin()
        .current_dir(std::env::temp_dir())
        .args(["train", "--resume"])
        .arg(d.p("stopped"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    assert_same_result(&d, "whole", "stopped");
}

#[test]
fn checkpoints_that_do_not_belong_are_refused() {
    let d = Dir::new();
    let mut child = start(&d, "r");
    await_checkpoint(&d, "r", &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let ck = d.p(".r.checkpoint");
    let saved = std::fs::read(&ck).unwrap();

    // A fresh run on the same output never discards the checkpoint.
    let o = run_in(&d, &[&RUN[..], &["--out", "r"]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--resume r"), "{err}");
    assert_eq!(std::fs::read(&ck).unwrap(), saved);

    // The same state under a command for other data (another --limit): its fingerprint differs.
    let c = cvxcnn::solver::checkpoint::Checkpoint::read(&ck).unwrap();
    let other = c.context.replace("\"150\"", "\"140\"");
    assert_ne!(other, c.context);
    let bytes = cvxcnn::solver::checkpoint::encode(&c.state, &c.fingerprint, &other).unwrap();
    std::fs::write(d.p(".o.checkpoint"), bytes).unwrap();
    // A damaged checkpoint.
    std::fs::write(d.p(".t.checkpoint"), &saved[..saved.len() / 2]).unwrap();

    for (args, needle) in [
        (vec!["train", "--resume", "o"], "fingerprint"),
        (vec!["train", "--resume", "t"], ".t.checkpoint"),
        (vec!["train", "--resume", "none"], "no checkpoint"),
        (
            vec!["train", "--resume", "r", "--beta", "2"],
            "--beta cannot be given",
        ),
    ] {
        let o = run_in(&d, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert_eq!(std::fs::read(&ck).unwrap(), saved);
    for out in ["o", "t", "none", "r"] {
        assert!(!d.p(out).exists(), "{out} written");
    }
}
