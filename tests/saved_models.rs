//! Saved models of every family read back (`SavedModel`): the files `train` writes give a
//! network whose predictions are the fitted model's, whose objective (with the report's β) is
//! the report's network objective, and whose tensors are the ones written; damaged files are
//! refused with a message naming the field.

mod common;

use common::*;
use cvxcnn::arch::two_layer::DataPart;
use cvxcnn::data::{Dataset, Targets};
use cvxcnn::export::{deserialize, fit_files, model_json, serialize, SavedModel};
use cvxcnn::observe::Silent;
use cvxcnn::settings::{self, Arch, Head, Normalize, Pool, Settings};
use cvxcnn::Fit;
use std::path::Path;

fn fit(s: &Settings, ds: &Dataset) -> Fit {
    settings::architecture(s, ds)
        .unwrap()
        .fit(ds, &mut Silent)
        .unwrap()
}

/// The files of `fit` read back: predictions equal to the fitted model's (to 1e-12, the
/// same arithmetic on the same weights), objective equal to the report's network objective,
/// tensors equal to the written ones.
fn round_trip(name: &str, fit: &Fit, ds: &Dataset, arch: &str) -> SavedModel {
    let files = fit_files(fit).unwrap();
    let saved = SavedModel::from_files(&files, Path::new(name)).unwrap();
    assert_eq!(saved.loaded.arch, arch, "{name}");
    assert_eq!(saved.loaded.shape, ds.shape, "{name}");
    assert_eq!(saved.outputs(), fit.model.outputs(), "{name}");
    assert_eq!(saved.loaded.model.width(), fit.model.width(), "{name}");
    let a = fit.model.predict(ds).unwrap();
    let b = saved.predict(ds).unwrap();
    assert_eq!(a.len(), b.len());
    let scale = a.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-12 * scale, "{name}: {x} vs {y}");
    }
    if let Targets::Real(y) = &ds.targets {
        let obj = saved.loaded.model.objective(ds, y).unwrap();
        let want = fit.report.network_objective;
        assert!(
            (obj - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{name}: objective {obj} vs report {want}"
        );
    }
    let written = fit.model.tensors().unwrap().unwrap();
    assert_eq!(saved.loaded.model.tensors().unwrap().unwrap(), written);
    saved
}

fn base(beta: &str) -> Settings {
    Settings {
        beta: Some(beta.into()),
        ..Settings::default()
    }
}

#[test]
fn two_layer_models_of_every_pooling_read_back() {
    let ds = gaussian_1d(6, 5, 3);
    for pool in [Pool::Sum, Pool::Avg, Pool::Max] {
        let mut s = base("0.05");
        s.pool = pool;
        s.patch.kernel = Some("3".into());
        s.patch.bias = pool == Pool::Sum;
        let f = fit(&s, &ds);
        assert!(f.model.width() > 0);
        let saved = round_trip(&format!("{pool:?}"), &f, &ds, "two-layer");
        // Real-valued outputs: no labels.
        assert!(saved.info.is_none());
        assert!(saved.labels(&saved.predict(&ds).unwrap(), ds.n()).is_none());
    }
}

#[test]
fn images_linear_and_local_pooling_read_back() {
    let ds = gaussian_2d(5, 1, 4, 4, 8);
    let mut s = base("0.05");
    s.patch.kernel = Some("2".into());
    s.patch.stride = Some("2".into());
    s.head = Some(Head::L1);
    s.windows = Some(1);
    for pool in [Pool::Avg, Pool::Max] {
        s.pool = pool;
        round_trip("local", &fit(&s, &ds), &ds, "two-layer-local");
    }
    let mut s = base("0.1");
    s.arch = Arch::Linear;
    s.patch.kernel = Some("2".into());
    for (head, pool) in [
        (Head::Pool, Pool::Avg),
        (Head::Pool, Pool::Sum),
        (Head::Fc, Pool::Sum),
    ] {
        s.head = Some(head);
        s.pool = pool;
        round_trip("linear", &fit(&s, &ds), &ds, "linear");
    }
}

#[test]
fn three_layer_and_circular_read_back() {
    let ds = gaussian_1d(5, 4, 21);
    let mut s = base("0.1");
    s.arch = Arch::ThreeLayer;
    s.patch.kernel = Some("2".into());
    s.patch.stride = Some("2".into());
    round_trip("three", &fit(&s, &ds), &ds, "three-layer");
    // With a bias (written as conv.bias), on sampled patterns: exact enumeration with a bias
    // takes minutes even here.
    s.patch.bias = true;
    s.patterns = Some("sample:4".into());
    round_trip("three-bias", &fit(&s, &ds), &ds, "three-layer");
    let ds = gaussian_1d(6, 4, 31);
    for (layers, path_norm) in [(3, false), (4, true)] {
        let mut s = base("0.1");
        s.arch = Arch::Circular;
        s.layers = layers;
        s.path_norm = path_norm;
        round_trip("circular", &fit(&s, &ds), &ds, "circular");
    }
}

#[test]
fn a_classifier_reads_back_with_its_labels_normalization_and_split() {
    let ds = cvxcnn::data::builtin_mnist().unwrap().head(60);
    let mut s = base("1");
    s.patch.kernel = Some("7".into());
    s.patch.stride = Some("7".into());
    s.patterns = Some("sample:6".into());
    s.normalize = Normalize::Standardize;
    s.test_fraction = 0.25;
    s.max_iter = Some(3);
    let f = fit(&s, &ds);
    let files = fit_files(&f).unwrap();
    let saved = SavedModel::from_files(&files, Path::new("clf")).unwrap();
    let info = saved.info.clone().unwrap();
    assert!(matches!(
        info.normalization,
        cvxcnn::data::Normalization::Standardize { .. }
    ));
    // The saved split finds the held-out part again: its accuracy is the report's.
    for (part, key) in [(DataPart::Train, "train"), (DataPart::Test, "test")] {
        let d = info.part(&ds, part).unwrap();
        let out = saved.predict(&d).unwrap();
        let labels = saved.labels(&out, d.n()).unwrap();
        let Targets::Classes(y) = &d.targets else {
            panic!()
        };
        let right = labels.iter().zip(y).filter(|(a, b)| a == b).count();
        let acc = right as f64 / d.n() as f64;
        let want = if key == "train" {
            f.report.train_accuracy
        } else {
            f.report.test_accuracy
        };
        assert!(
            (acc - want.unwrap()).abs() < 1e-12,
            "{key}: {acc} vs {want:?}"
        );
    }
    // The split needs the same samples.
    assert!(info.part(&ds.head(50), DataPart::Test).is_err());
    // Other data shapes are refused with both shapes named.
    let e = saved.predict(&gaussian_2d(2, 1, 27, 28, 0)).unwrap_err();
    assert!(e.to_string().contains("(1, 27, 28)"), "{e}");
}

#[test]
fn two_class_labels_and_damaged_files() {
    let ds = gaussian_1d(8, 6, 3);
    let mut s = base("0.05");
    s.patch.kernel = Some("3".into());
    let f = fit(&s, &ds);
    let mut files = fit_files(&f).unwrap();
    files.push(model_json(&cvxcnn::arch::ModelInfo::two_classes(3, 8)).unwrap());
    let saved = SavedModel::from_files(&files, Path::new("two")).unwrap();
    let out = saved.predict(&ds).unwrap();
    let labels = saved.labels(&out, ds.n()).unwrap();
    for (l, v) in labels.iter().zip(&out) {
        assert_eq!(*l, if *v >= 0.0 { 8 } else { 3 });
    }
    // Damaged tensors: each refusal names the field and the value.
    let weights = &files
        .iter()
        .find(|(k, _)| k == "model.safetensors")
        .unwrap()
        .1;
    let t = deserialize(weights, Path::new("m")).unwrap();
    let damage = |edit: &dyn Fn(&mut cvxcnn::tensors::ModelTensors)| -> String {
        let mut t = t.clone();
        edit(&mut t);
        let files = vec![("model.safetensors".to_string(), serialize(&t).unwrap())];
        SavedModel::from_files(&files, Path::new("dir"))
            .unwrap_err()
            .to_string()
    };
    let e = damage(&|t| {
        t.meta("arch", "five-layer");
    });
    assert!(e.contains("'arch'") && e.contains("five-layer"), "{e}");
    let e = damage(&|t| {
        t.meta("kernel", "[1, 9]");
    });
    assert!(e.contains("kernel"), "{e}");
    let e = damage(&|t| {
        t.tensors.retain(|x| x.name != "fc.weight");
    });
    assert!(e.contains("'fc.weight' is missing"), "{e}");
    let e = damage(&|t| {
        t.meta("pool", "median");
    });
    assert!(e.contains("'pool'") && e.contains("median"), "{e}");
    // Without report.json the objective's β is unknown: it predicts, and says so.
    let files: Vec<_> = files
        .into_iter()
        .filter(|(k, _)| k != "report.json")
        .collect();
    let saved = SavedModel::from_files(&files, Path::new("two")).unwrap();
    assert_eq!(saved.predict(&ds).unwrap(), out);
    let Targets::Real(y) = &ds.targets else {
        panic!()
    };
    assert!(saved.loaded.model.objective(&ds, y).is_err());
}
