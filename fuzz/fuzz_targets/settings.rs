//! The settings of a training run, as the command line's flags and the Python bindings give
//! them: a JSON object of `cvxcnn::settings::Settings` (what `cvxcnn.fit(settings=…)` parses),
//! or a single flag value, turned into a validated architecture by
//! `cvxcnn::settings::architecture` on a few small data sets (1-D signals with real targets,
//! images of three classes, images of two classes). This reaches every text parser of the
//! library: `--patterns` (`exact`, `sample:N`, `data:N`, `adam:W`, `gates:FILE`), `--beta`
//! (`B`, `B1,B2,…`, `path:N`), `--kernel`/`--stride`/`--padding` (`N`, `NxM`) and
//! `--max-memory` sizes. The input is the text, then optionally a NUL byte and the bytes of the
//! `.npy` file that `gates:FILE` names (whatever file the text names, this one is read).
#![no_main]

use cvxcnn::settings::{self, PatchSettings, Settings};
use cvxcnn::{Dataset, SampleShape, Targets};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[global_allocator]
static ALLOC: cvxcnn_fuzz::CappedAlloc = cvxcnn_fuzz::CappedAlloc;

fn datasets() -> &'static [Dataset] {
    static SETS: OnceLock<Vec<Dataset>> = OnceLock::new();
    SETS.get_or_init(|| {
        let make = |c, h, w, one_d, targets: Targets| {
            let shape = SampleShape {
                channels: c,
                height: h,
                width: w,
                one_d,
            };
            let x = (0..targets.len() * c * h * w)
                .map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0)
                .collect();
            Dataset::new(x, shape, targets, "fuzz").expect("a valid data set")
        };
        vec![
            make(1, 1, 6, true, Targets::Real(vec![1.0, -0.5, 0.25, 2.0])),
            make(1, 4, 4, false, Targets::Classes(vec![0, 1, 2, 0, 1, 2])),
            make(2, 3, 5, false, Targets::Classes(vec![3, 8, 3, 8])),
        ]
    })
}

/// `gates:FILE` names the scratch file holding `gates` instead.
fn redirect_gates(patterns: &mut Option<String>, gates: &[u8]) {
    if patterns.as_deref().is_some_and(|p| p.starts_with("gates:")) {
        let file = cvxcnn_fuzz::file("gates.npy", gates);
        *patterns = Some(format!("gates:{}", file.display()));
    }
}

fuzz_target!(|data: &[u8]| {
    let (text, gates) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let text = String::from_utf8_lossy(text).into_owned();
    if let Ok(mut s) = serde_json::from_str::<Settings>(&text) {
        redirect_gates(&mut s.patterns, gates);
        for ds in datasets() {
            let _ = settings::architecture(&s, ds);
        }
        return;
    }
    // One flag value, given to every parser and to every text setting at once.
    let _ = settings::parse_patterns(&text, 0);
    let _ = settings::parse_beta(&text);
    let _ = cvxcnn::resources::parse_size(&text);
    let patch = PatchSettings {
        kernel: Some(text.clone()),
        stride: Some(text.clone()),
        padding: text.clone(),
        ..Default::default()
    };
    let mut s = Settings {
        patterns: Some(text.clone()),
        beta: Some(text.clone()),
        max_memory: Some(text.clone()),
        ..Default::default()
    };
    redirect_gates(&mut s.patterns, gates);
    for ds in datasets() {
        for classifier in [false, true] {
            let _ = settings::patch_spec(&patch, ds, classifier);
        }
        let _ = settings::architecture(&s, ds);
    }
});
