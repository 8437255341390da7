//! Non-convex training of exactly the networks the convex programs describe (the two-layer CNN
//! with sum/average pooling and per-output filters), on exactly the same objective, by minibatch
//! SGD with momentum or Adam: the usual way, for comparison with the convex optimum. No local
//! method can end below the global optimum the exact convex program certifies.

mod batch;
mod optim;
mod trainer;

pub use batch::{predict_all, Params, PoolOp, Workspace};
pub use optim::{FullBatchSettings, Optimizer, OptimizerKind, Schedule};
pub use trainer::{
    accuracy_against, initial_params, to_network, train_nonconvex, EpochObserver, EpochRecord,
    NonconvexData, NonconvexRun, NonconvexSettings, RunStatus, Unobserved,
};
