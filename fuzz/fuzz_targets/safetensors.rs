//! `model.safetensors` alone: the tensors and metadata (`cvxcnn::export::deserialize`), the
//! network of any family they describe (`cvxcnn::arch::model_from_tensors`, with and without a
//! known β, then its predictions and objective on two samples of the shape it reads), and the
//! two-layer reader `cvxcnn::export::from_safetensors`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

#[global_allocator]
static ALLOC: cvxcnn_fuzz::CappedAlloc = cvxcnn_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let name = Path::new("model.safetensors");
    if let Ok(t) = cvxcnn::export::deserialize(data, name) {
        for beta in [None, Some(0.5)] {
            if let Ok(m) = cvxcnn::arch::model_from_tensors(&t, beta, name) {
                cvxcnn_fuzz::exercise(m.model.as_ref(), m.shape);
            }
        }
    }
    let _ = cvxcnn::export::from_safetensors(data, name);
});
