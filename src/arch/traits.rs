//! The contract every architecture family implements, defined once beside no implementation:
//! an [`Architecture`] fits (convex training, recovery, certificate) and runs the non-convex
//! baseline; a [`Model`] is the network it returns.

use crate::data::Dataset;
use crate::error::Result;
use crate::nonconvex::FullBatchSettings;

/// A trained network of any architecture.
pub trait Model: Send {
    /// Predictions for the samples of `ds` (one output).
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>>;
    /// The architecture's training objective (loss summed over samples + its penalty).
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64>;
    /// Units (filters) with non-zero weight.
    fn width(&self) -> usize;
}

/// The convex side of a run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConvexFit {
    /// Convex optimum (exact) or upper bound attained by the network (bracketed).
    pub objective: f64,
    /// The recovered network's own objective.
    pub network_objective: f64,
    /// Certified lower bound on the optimum of the (possibly restricted) training problem.
    pub lower_bound: f64,
    /// Whether `objective` is the global optimum of the training problem (all patterns, an
    /// exact program, certificate closed).
    pub exact: bool,
    /// Seconds.
    pub seconds: f64,
}

/// An architecture: its name, the regularizer weight decay turns into, convex training and the
/// non-convex baseline.
pub trait Architecture {
    /// Name for reports.
    fn name(&self) -> String;
    /// The implicit convex regularizer, in words.
    fn regularizer(&self) -> &'static str;
    /// Convex training, recovery and certificate on `ds` with scalar targets `y`.
    fn fit(&self, ds: &Dataset, y: &[f64]) -> Result<(ConvexFit, Box<dyn Model>)>;
    /// One non-convex run (Adam on the same network and objective) from a seeded start.
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>>;
}

pub(crate) fn sq_loss(f: &[f64], y: &[f64]) -> f64 {
    f.iter().zip(y).map(|(a, b)| 0.5 * (a - b) * (a - b)).sum()
}
