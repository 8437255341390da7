//! Every bad input of the `cvxcnn` command fails cleanly: the exit code (2), a one-line error
//! naming the file or flag and the value, no panic, and no output directory or temporary
//! directory left behind. One table of cases; the files they read are prepared first.

mod common;

use common::{
    bad_failure, bin, cifar_batch, gaussian, train_args, write_labelled, write_npy, write_npz,
    write_xy, Arr, Dir, A1_X, A1_Y, B1_X, B1_Y, C2_X, C2_Y, CIFAR_RECORD,
};

/// One bad command line: what it is, its arguments, what its error must name, its exit code.
struct Case {
    name: &'static str,
    args: Vec<String>,
    needle: &'static str,
    code: i32,
}

fn case(name: &'static str, args: Vec<String>, needle: &'static str) -> Case {
    Case {
        name,
        args,
        needle,
        code: 2,
    }
}

/// The files the cases read, written into `d`: each case names them by file name.
fn prepare(d: &Dir) {
    let (good_x, good_y) = (gaussian(35, 1), gaussian(5, 2));
    // IDX: an image file whose magic is wrong; one whose header promises more than it holds.
    let mut bytes = vec![0, 0, 8, 4, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3];
    bytes.extend([0u8; 18]);
    std::fs::write(d.p("img.idx"), &bytes).unwrap();
    std::fs::write(d.p("lab.idx"), [0, 0, 8, 1, 0, 0, 0, 2, 0, 1]).unwrap();
    bytes[3] = 3;
    bytes.truncate(16 + 10);
    std::fs::write(d.p("short-img.idx"), &bytes).unwrap();
    // .npz: good, truncated, x and y of different lengths, NaN, inf, an unknown dtype, empty,
    // no y, three classes.
    write_xy(&d.p("good.npz"), &good_x, &good_y);
    write_xy(&d.p("trunc.npz"), &good_x, &good_y);
    let full = std::fs::read(d.p("trunc.npz")).unwrap();
    std::fs::write(d.p("trunc.npz"), &full[..full.len() / 2]).unwrap();
    write_npz(
        &d.p("mismatch.npz"),
        &[
            ("x", Arr::F64(&good_x, vec![5, 7])),
            ("y", Arr::F64(&good_y[..4], vec![4])),
        ],
    );
    // The good data scaled by 1e300 (the program's products overflow) and by 1e20 (the same
    // program at β/1e20: below what f64 resolves).
    let huge: Vec<f64> = good_x.iter().map(|v| v * 1e300).collect();
    write_xy(&d.p("huge.npz"), &huge, &good_y);
    let large: Vec<f64> = good_x.iter().map(|v| v * 1e20).collect();
    write_xy(&d.p("large.npz"), &large, &good_y);
    let mut nan_x = good_x.clone();
    nan_x[9] = f64::NAN;
    write_xy(&d.p("nan.npz"), &nan_x, &good_y);
    let mut inf_y = good_y.clone();
    inf_y[2] = f64::INFINITY;
    write_xy(&d.p("inf.npz"), &good_x, &inf_y);
    let ux: Vec<u64> = (0..35).collect();
    write_npz(
        &d.p("dtype.npz"),
        &[
            ("x", Arr::U64(&ux, vec![5, 7])),
            ("y", Arr::I64(&[0, 1, 0, 1, 1], vec![5])),
        ],
    );
    write_npz(
        &d.p("empty.npz"),
        &[
            ("x", Arr::F64(&[], vec![0, 7])),
            ("y", Arr::F64(&[], vec![0])),
        ],
    );
    write_npz(&d.p("noy.npz"), &[("x", Arr::F64(&good_x, vec![5, 7]))]);
    write_labelled(&d.p("cls.npz"), &good_x, &[0, 1, 2, 1, 0]);
    // .npy images without labels or with labels of the wrong length; a truncated CIFAR batch.
    write_npy(&d.p("x.npy"), &gaussian(150, 3), &[6, 1, 5, 5]);
    write_npy(&d.p("y5.npy"), &[0i64, 1, 2, 0, 1], &[5]);
    // .npy headers that declare far more than the file holds, or a size that overflows.
    for (file, shape) in [
        ("huge.npy", "(1000000000, 10)"),
        ("overflow.npy", "(4294967296, 4294967296, 4294967296)"),
    ] {
        let dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
        let mut header = dict.into_bytes();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(b' ');
        }
        header.push(b'\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header);
        bytes.extend([0u8; 80]);
        std::fs::write(d.p(file), bytes).unwrap();
    }
    std::fs::write(d.p("short.bin"), &cifar_batch(0, 3)[..CIFAR_RECORD + 10]).unwrap();
    // The architectures' data: three classes, MATH-DEEP's B1, C2 and A1, two Gaussian sets.
    let three = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0];
    write_labelled(&d.p("max-lab.npz"), &gaussian(60, 5), &three);
    write_xy(&d.p("b1.npz"), &B1_X, &B1_Y);
    write_xy(&d.p("c2.npz"), &C2_X, &C2_Y);
    write_xy(&d.p("a1.npz"), &A1_X, &A1_Y);
    write_xy(&d.p("lin.npz"), &gaussian(48, 7), &gaussian(6, 8));
    write_xy(&d.p("cmp.npz"), &gaussian(30, 11), &gaussian(5, 12));
    // The shared head: without the sdp feature; with it, too many regions.
    #[cfg(not(feature = "sdp"))]
    write_labelled(
        &d.p("shared-lab.npz"),
        &gaussian(60, 21),
        &[0, 1, 2, 0, 1, 2, 0, 1, 2, 1],
    );
    #[cfg(feature = "sdp")]
    {
        let labels: Vec<i64> = (0..40).map(|i| i % 2).collect();
        write_labelled(&d.p("big.npz"), &gaussian(40 * 30, 22), &labels);
    }
}

#[test]
fn bad_inputs_fail_cleanly() {
    let d = Dir::new();
    prepare(&d);
    let out = d.p("out");
    // A command line: words split at spaces; `{name}` is the path of file `name` in `d`
    // (`{out}`: the output directory the command must not leave behind).
    let cmd = |line: &str| -> Vec<String> {
        line.split_whitespace()
            .map(
                |w| match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                    Some(name) => d.p(name).to_str().unwrap().to_string(),
                    None => w.to_string(),
                },
            )
            .collect()
    };
    // `train_args` (two-layer, sum pooling, kernel 3, β = 0.1, exact patterns) on file `data`,
    // with the values of some flags changed.
    let two_layer = |data: &str, set: &[(&str, &str)]| -> Vec<String> {
        let (data, o) = (d.p(data), out.to_str().unwrap().to_string());
        let mut a: Vec<String> = train_args(data.to_str().unwrap(), &o)
            .into_iter()
            .map(String::from)
            .collect();
        for (flag, value) in set {
            let i = a.iter().position(|w| w == flag).unwrap();
            a[i + 1] = value.to_string();
        }
        a
    };
    let idx = "--labels {lab.idx} --kernel 2 --out {out} --quiet";
    let clf = "train --limit 50 --out {out}";
    let cmp = "compare --limit 60 --patterns sample:2 --max-iter 1 --fresh 0 --quiet --out {out}";
    let c2_l1 = "train --data {c2.npz} --kernel 2 --beta 0.05";
    let lin = "train --arch linear --data {lin.npz} --kernel 3 --out {out}";
    let a1 = "--data {a1.npz} --kernel 2 --out {out}";
    let cases = [
        // Data files.
        case("missing file", two_layer("nope.npz", &[]), "nope.npz"),
        case(
            "unknown built-in data set",
            cmd("train --data builtin:fashion --out {out}"),
            "built in: builtin:mnist",
        ),
        case(
            "a program estimated above --max-memory",
            cmd("train --data {good.npz} --kernel 2 --max-memory 1M --out {out}"),
            "--max-memory: the interior-point solve of all",
        ),
        case(
            "a billion sampled patterns",
            cmd("train --classes 3,8 --limit 40 --kernel 7 --stride 7 --patterns sample:1000000000 --out {out}"),
            "up to 1000000000 sampled patterns",
        ),
        case(
            "a fresh batch above --max-memory",
            cmd("train --limit 50 --fresh 1000000000 --out {out}"),
            "--fresh N",
        ),
        case(
            "local pooling above --max-memory",
            cmd(&format!(
                "{c2_l1} --head l1 --windows 2 --pool avg --max-memory 1M --out {{out}}"
            )),
            "local-pooling patterns needs about",
        ),
        case(
            "three-layer program above --max-memory",
            cmd(&format!("train --arch three-layer --max-memory 1M {a1}")),
            "exact three-layer program of up to",
        ),
        case(
            "circular program above --max-memory",
            cmd("train --arch circular --data {b1.npz} --max-memory 1M --out {out}"),
            "circular program of up to",
        ),
        case(
            "not a size",
            cmd("train --data {good.npz} --kernel 2 --max-memory 4X --out {out}"),
            "'4X' is not a size",
        ),
        case(
            "absurd thread count",
            cmd("train --data {good.npz} --kernel 2 --threads 100000 --out {out}"),
            "--threads",
        ),
        case(
            "negative checkpoint interval",
            cmd("train --data {good.npz} --kernel 2 --checkpoint-every -1 --out {out}"),
            "--checkpoint-every: must be a number of seconds ≥ 0, got -1",
        ),
        case(
            "resume without a checkpoint",
            cmd("train --resume {out}"),
            "no checkpoint",
        ),
        case(
            "IDX with a wrong magic number",
            cmd(&format!("train --data {{img.idx}} {idx}")),
            "magic number 0x00000804",
        ),
        case(
            "IDX header promising more images than the file holds",
            cmd(&format!("train --data {{short-img.idx}} {idx}")),
            "truncated",
        ),
        case("truncated .npz", two_layer("trunc.npz", &[]), "trunc.npz"),
        case(
            "x and y of different lengths",
            two_layer("mismatch.npz", &[]),
            "shape mismatch",
        ),
        case("NaN in x", two_layer("nan.npz", &[]), "non-finite value NaN"),
        case("inf in y", two_layer("inf.npz", &[]), "non-finite value inf"),
        case(
            "unknown dtype",
            two_layer("dtype.npz", &[]),
            "unsupported dtype '<u8'",
        ),
        case("empty data", two_layer("empty.npz", &[]), "empty"),
        case("no array y", two_layer("noy.npz", &[]), "no array named 'y'"),
        case(
            "truncated CIFAR batch",
            cmd("train --data {short.bin} --out {out}"),
            "short.bin",
        ),
        case(
            ".npy images without labels",
            cmd("train --data {x.npy} --out {out}"),
            "--labels",
        ),
        case(
            ".npy header declaring more values than the file holds",
            cmd("train --data {huge.npy} --labels {y5.npy} --out {out}"),
            "declares 10000000000 values but the file holds",
        ),
        case(
            ".npy shape whose size overflows",
            cmd("train --data {overflow.npy} --labels {y5.npy} --out {out}"),
            "too large",
        ),
        case(
            ".npy labels of the wrong length",
            cmd("train --data {x.npy} --labels {y5.npy} --out {out}"),
            "shape mismatch",
        ),
        // Two-layer settings.
        case(
            "kernel larger than the signal",
            two_layer("good.npz", &[("--kernel", "9")]),
            "--kernel: kernel 9 is larger than the signal length 7",
        ),
        case(
            "inputs scaled by 1e300",
            two_layer("huge.npz", &[]),
            "the inputs are too large for f64",
        ),
        case(
            "inputs scaled by 1e20 (β/β_max ≈ 1e-21)",
            two_layer("large.npz", &[]),
            "--beta: β = 1e-1 is",
        ),
        case("β = 0", two_layer("good.npz", &[("--beta", "0")]), "--beta"),
        case("β < 0", two_layer("good.npz", &[("--beta", "-1")]), "--beta"),
        case("β NaN", two_layer("good.npz", &[("--beta", "nan")]), "--beta"),
        case(
            "bad pattern spec",
            two_layer("good.npz", &[("--patterns", "sample:x")]),
            "--patterns",
        ),
        case(
            "more than two classes for a scalar output",
            two_layer("cls.npz", &[]),
            "--classes",
        ),
        case(
            "exact enumeration on real-size data, with advice",
            cmd("train --data builtin:mnist --classes 0,1 --limit 200 --kernel 3 --patterns exact --out {out} --quiet"),
            "(sample:N)",
        ),
        case(
            "classifier with max pooling",
            cmd("train --data {max-lab.npz} --pool max --kernel 3 --out {out}"),
            "--pool",
        ),
        // Classifier settings that cannot work, and a missing model.
        case(
            "classifier: ipm solver",
            cmd(&format!("{clf} --solver ipm")),
            "--solver",
        ),
        case(
            "classifier: exact patterns",
            cmd(&format!("{clf} --patterns exact")),
            "--patterns",
        ),
        case(
            "classifier: test fraction above 1",
            cmd(&format!("{clf} --test-fraction 1.5")),
            "--test-fraction",
        ),
        case(
            "classifier: empty β path",
            cmd(&format!("{clf} --beta path:0")),
            "--beta",
        ),
        case(
            "classifier: negative β on the path",
            cmd(&format!("{clf} --beta 0.5,-1")),
            "--beta",
        ),
        case(
            "classifier: zero time limit",
            cmd(&format!("{clf} --time-limit 0")),
            "--time-limit",
        ),
        case(
            "eval of a missing model",
            cmd("eval --model {none}"),
            "model.safetensors",
        ),
        // compare.
        case(
            "compare: no restarts",
            cmd(&format!("{cmp} --restarts 0")),
            "--restarts",
        ),
        case(
            "compare: width 0",
            cmd(&format!("{cmp} --width 0")),
            "--width",
        ),
        case(
            "compare: no epochs",
            cmd(&format!("{cmp} --epochs 0")),
            "--epochs",
        ),
        case(
            "compare: negative learning rate",
            cmd(&format!("{cmp} --lr -1")),
            "--lr",
        ),
        case(
            "compare: momentum above 1",
            cmd(&format!("{cmp} --momentum 1.5")),
            "--momentum",
        ),
        case(
            "compare: a β path",
            cmd(&format!("{cmp} --beta 0.5,0.2")),
            "--beta",
        ),
        case(
            "compare: gated solver",
            cmd(&format!("{cmp} --solver gated")),
            "--solver",
        ),
        case(
            "compare: circular architecture",
            cmd(&format!("{cmp} --arch circular")),
            "--arch",
        ),
        case(
            "compare: linear architecture, width 0",
            cmd("compare --data {cmp.npz} --arch linear --width 0 --out {out}"),
            "--width",
        ),
        case(
            "compare: l1 head with sum pooling",
            cmd("compare --data {c2.npz} --windows 2 --head l1 --out {out}"),
            "--pool",
        ),
        // Circular.
        case(
            "circular: two layers",
            cmd("train --arch circular --data {b1.npz} --layers 2 --out {out}"),
            "--layers",
        ),
        case(
            "circular: images",
            cmd("train --arch circular --limit 5 --out {out}"),
            "--arch",
        ),
        // Local pooling and the l1 head.
        case(
            "windows without the l1 head",
            cmd(&format!("{c2_l1} --pool max --windows 2 --quiet --out {{out}}")),
            "--windows",
        ),
        case(
            "l1 head without windows",
            cmd("train --data {c2.npz} --head l1 --out {out}"),
            "--head",
        ),
        case(
            "sum pooling in windows",
            cmd(&format!("{c2_l1} --pool sum --windows 2 --head l1 --quiet --out {{out}}")),
            "--pool",
        ),
        // Linear.
        case(
            "linear: max pooling",
            cmd(&format!("{lin} --pool max")),
            "--pool",
        ),
        case("linear: bias", cmd(&format!("{lin} --bias")), "--bias"),
        case(
            "linear: l1 head",
            cmd(&format!("{lin} --head l1")),
            "--head",
        ),
        case(
            "linear: windows",
            cmd(&format!("{lin} --windows 2")),
            "--windows",
        ),
        // Three layers.
        case(
            "--also without three layers",
            cmd("train --data {a1.npz} --kernel 2 --also two-layer --out {out}"),
            "--also",
        ),
        case(
            "classifier: adam:0 patterns",
            cmd("train --patterns adam:0 --out {out}"),
            "adam:W needs 1 ≤ W ≤ 4096",
        ),
        case(
            "classifier: adam:W without a number",
            cmd("train --patterns adam:many --out {out}"),
            "adam:W needs a number",
        ),
        case(
            "classifier: admm with cross-entropy",
            cmd("train --solver admm --loss ce --out {out}"),
            "admm solves the squared loss",
        ),
        case(
            "three-layer: no sampled patterns",
            cmd("train --arch three-layer --data {a1.npz} --kernel 2 --patterns sample:0 --out {out}"),
            "--patterns",
        ),
        case(
            "three-layer: gated solver",
            cmd(&format!("train --arch three-layer --solver gated {a1}")),
            "--solver",
        ),
        case(
            "three-layer: proj solver",
            cmd(&format!("train --arch three-layer --solver proj {a1}")),
            "--solver",
        ),
        case(
            "three-layer: al solver, zero time limit",
            cmd(&format!(
                "train --arch three-layer --solver al --time-limit 0 {a1}"
            )),
            "--time-limit",
        ),
        case(
            "two-layer: cg solver",
            cmd(&format!("train --solver cg {a1}")),
            "--solver",
        ),
        // The shared head.
        #[cfg(not(feature = "sdp"))]
        case(
            "shared head without the sdp feature says how to get it",
            cmd("train --data {shared-lab.npz} --kernel 2 --head shared --out {out}"),
            "--features sdp",
        ),
        #[cfg(feature = "sdp")]
        case(
            "shared head: too many regions to enumerate",
            cmd("train --data {big.npz} --kernel 4 --head shared --out {out}"),
            "--kernel",
        ),
    ];
    let mut failed = Vec::new();
    for c in &cases {
        let o = bin().args(&c.args).output().unwrap();
        let wrong = bad_failure(&o, c.code, c.needle, &out);
        if !wrong.is_empty() {
            failed.push(format!("{}: {}\n  {:?}", c.name, wrong.join("; "), c.args));
            let _ = std::fs::remove_dir_all(&out);
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases failed:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}
