//! CIFAR-10 binary batches: in memory (`cvxcnn::data::read_cifar_bytes`) and as two batch
//! files read and concatenated (`read_cifar`). The input is the two files cut as
//! `cvxcnn_fuzz::split` does; the whole input is also read as one batch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

#[global_allocator]
static ALLOC: cvxcnn_fuzz::CappedAlloc = cvxcnn_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let _ = cvxcnn::data::read_cifar_bytes(data, Path::new("batch.bin"));
    let parts = cvxcnn_fuzz::split(data, 2);
    let a = cvxcnn_fuzz::file("data_batch_1.bin", parts[0]);
    let b = cvxcnn_fuzz::file("data_batch_2.bin", parts[1]);
    let _ = cvxcnn::data::read_cifar(&[a.as_path()]);
    let _ = cvxcnn::data::read_cifar(&[a.as_path(), b.as_path()]);
});
