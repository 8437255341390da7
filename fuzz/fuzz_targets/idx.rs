//! MNIST IDX image and label files, raw or gzip: in memory (`cvxcnn::data::read_idx_bytes`)
//! and from files (`read_idx`, which reads only what the header declares). The input is the
//! two files cut as `cvxcnn_fuzz::split` does; the first byte's low bits gzip either file here
//! (so that the fuzzer reaches the IDX header behind a valid gzip stream), beside inputs that
//! are gzip streams themselves.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::Path;

#[global_allocator]
static ALLOC: cvxcnn_fuzz::CappedAlloc = cvxcnn_fuzz::CappedAlloc;

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).expect("gzip in memory");
    e.finish().expect("gzip in memory")
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let parts = cvxcnn_fuzz::split(rest, 2);
    let wrap = |b: &[u8], bit: u8| if mode & bit != 0 { gz(b) } else { b.to_vec() };
    let (img, lab) = (wrap(parts[0], 1), wrap(parts[1], 2));
    let (ip, lp) = (Path::new("images.idx"), Path::new("labels.idx"));
    let _ = cvxcnn::data::read_idx_bytes(img.clone(), ip, lab.clone(), lp);
    let ip = cvxcnn_fuzz::file("images.idx", &img);
    let lp = cvxcnn_fuzz::file("labels.idx", &lab);
    let _ = cvxcnn::data::read_idx(&ip, &lp);
});
