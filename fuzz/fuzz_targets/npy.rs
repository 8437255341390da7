//! `.npy` files: a pair of samples and targets (`cvxcnn::data::read_npy_pair`) and a 2-D
//! matrix (`read_npy_matrix`, the `gates:FILE` of the classifier's patterns). The input is the
//! two files cut as `cvxcnn_fuzz::split` does; the first is also read as the matrix.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: cvxcnn_fuzz::CappedAlloc = cvxcnn_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let parts = cvxcnn_fuzz::split(data, 2);
    let x = cvxcnn_fuzz::file("x.npy", parts[0]);
    let y = cvxcnn_fuzz::file("y.npy", parts[1]);
    let _ = cvxcnn::data::read_npy_matrix(&x);
    let _ = cvxcnn::data::read_npy_pair(&x, &y);
});
