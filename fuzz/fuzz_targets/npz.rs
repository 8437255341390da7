//! `.npz` archives (`cvxcnn::data::read_npz`). The first byte chooses what the rest is:
//! even, the archive's bytes; odd, the bytes of its two members `x.npy` and `y.npy` (cut as
//! `cvxcnn_fuzz::split` does), stored in a zip archive here, so that the fuzzer reaches the
//! NumPy headers and values without having to keep the zip structure and CRCs right.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;

#[global_allocator]
static ALLOC: cvxcnn_fuzz::CappedAlloc = cvxcnn_fuzz::CappedAlloc;

fn zip_members(x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in [("x.npy", x), ("y.npy", y)] {
        w.start_file(name, o).expect("zip in memory");
        w.write_all(bytes).expect("zip in memory");
    }
    w.finish().expect("zip in memory").into_inner()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let archive = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let parts = cvxcnn_fuzz::split(rest, 2);
        zip_members(parts[0], parts[1])
    };
    let path = cvxcnn_fuzz::file("data.npz", &archive);
    let _ = cvxcnn::data::read_npz(&path);
});
