//! The two-layer ReLU CNN: global sum, average or max pooling with one output ([`train`]: exact
//! or sampled patterns, interior point), and the multi-output classifier at scale
//! ([`classifier`]: sampled patterns, first-order solvers, certificates).

pub mod classifier;
pub mod train;
