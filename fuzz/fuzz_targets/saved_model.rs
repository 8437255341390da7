//! A saved model: the files `cvxcnn train --out` writes (`report.json`, `model.safetensors`,
//! `model.json`), read by `cvxcnn::export::SavedModel::from_files` or, from a directory, by
//! `SavedModel::load`; a model that loads then predicts (with its normalization and labels) on
//! two samples of the shape it reads. The first byte chooses the case: bits 0–2 which of the
//! three files are there, bit 3 reading them from a directory. The rest is the three files, cut
//! as `cvxcnn_fuzz::split` does.
#![no_main]

use cvxcnn::export::{SavedModel, MODEL_FILES};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

#[global_allocator]
static ALLOC: cvxcnn_fuzz::CappedAlloc = cvxcnn_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let parts = cvxcnn_fuzz::split(rest, 3);
    let files: Vec<(&str, Vec<u8>)> = MODEL_FILES
        .iter()
        .zip(&parts)
        .enumerate()
        .filter(|(i, _)| mode & (1 << i) != 0)
        .map(|(_, (name, bytes))| (*name, bytes.to_vec()))
        .collect();
    let loaded = if mode & 8 != 0 {
        let dir = cvxcnn_fuzz::scratch().join("model");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("a writable temporary directory");
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).expect("a writable temporary directory");
        }
        SavedModel::load(&dir)
    } else {
        SavedModel::from_files(&files, Path::new("model"))
    };
    let Ok(m) = loaded else {
        return;
    };
    if let Some(ds) = cvxcnn_fuzz::samples(m.loaded.shape) {
        if let Ok(f) = m.predict(&ds) {
            let _ = m.labels(&f, ds.n());
        }
        let _ = m.loaded.model.objective(&ds, &[1.0, -1.0]);
    }
});
