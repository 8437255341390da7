//! One entry for every data source (`cvxcnn::data::sniff_format`, `read_any`): the format is
//! recognised from the name and the first bytes, then read. The first byte chooses the case:
//! bits 0–2 the file name (`.npz`, `.npy`, `.bin`, `.idx`, `.gz`, no extension), bit 3 a
//! comma-separated pair of CIFAR batches, bit 4 a labels file, bit 5 that the rest is the
//! source text itself (as given to `--data`) rather than a file's bytes. The rest is the file
//! and the labels file, cut as `cvxcnn_fuzz::split` does.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: cvxcnn_fuzz::CappedAlloc = cvxcnn_fuzz::CappedAlloc;

const NAMES: [&str; 8] = [
    "data.npz",
    "data.npy",
    "data_batch_1.bin",
    "images.idx",
    "images.idx.gz",
    "data",
    "data.NPZ",
    "data.bin.npy",
];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 32 != 0 {
        // The source text: names without a directory part (nothing outside the scratch
        // directory is opened), the built-in set, and comma lists of CIFAR batches.
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        if text.contains(['/', '\\']) || text.contains("..") {
            return;
        }
        let source = cvxcnn_fuzz::scratch().join(text);
        let source = if text.starts_with("builtin:") {
            text.to_string()
        } else {
            source.to_string_lossy().into_owned()
        };
        if let Ok(format) = cvxcnn::data::sniff_format(&source) {
            if format == cvxcnn::data::SourceFormat::Builtin {
                let _ = cvxcnn::data::read_any(&source, None);
            }
        }
        return;
    }
    let parts = cvxcnn_fuzz::split(rest, 3);
    let name = NAMES[usize::from(mode & 7)];
    let source = if mode & 8 != 0 {
        let a = cvxcnn_fuzz::file("a.bin", parts[0]);
        let b = cvxcnn_fuzz::file("b.bin", parts[1]);
        format!("{}, {}", a.display(), b.display())
    } else {
        cvxcnn_fuzz::file(name, parts[0]).display().to_string()
    };
    let labels = (mode & 16 != 0).then(|| cvxcnn_fuzz::file("labels", parts[2]));
    if let Ok(ds) = cvxcnn::data::read_any(&source, labels.as_deref()) {
        let _ = ds.binary(0, 1);
        let _ = ds.head(2);
    }
});
