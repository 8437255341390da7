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

/// Seeded Gaussian draws for the random starts of the non-convex baselines.
pub struct Draws(rand::rngs::ChaCha8Rng);

impl Draws {
    /// A generator seeded with `seed` (ChaCha8).
    pub fn new(seed: u64) -> Self {
        use rand::SeedableRng;
        Draws(rand::rngs::ChaCha8Rng::seed_from_u64(seed))
    }

    /// `k` values from `N(0, sd²)`.
    pub fn draw(&mut self, k: usize, sd: f64) -> Vec<f64> {
        use rand_distr::Distribution;
        (0..k)
            .map(|_| sd * Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut self.0))
            .collect()
    }
}
