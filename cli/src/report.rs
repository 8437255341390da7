//! The JSON output of `cvxcnn patterns`.

use serde::Serialize;

/// A pattern-count report (`cvxcnn patterns`).
#[derive(Debug, Clone, Serialize)]
pub struct PatternReport {
    /// Samples.
    pub n: usize,
    /// Positions.
    pub positions: usize,
    /// Filter size.
    pub filter_size: usize,
    /// Rows of `M` (`nK`).
    pub rows: usize,
    /// Zero rows.
    pub zero_rows: usize,
    /// Distinct hyperplanes.
    pub hyperplanes: usize,
    /// Rank of `M`.
    pub rank: usize,
    /// `exact` or `sample:N`.
    pub mode: String,
    /// Patterns found.
    pub patterns: usize,
    /// `2 Σ_{j<r} C(nK − 1, j)`.
    pub bound: String,
    /// `2 Σ_{j<r} C(G − 1, j)` with `G` distinct hyperplanes.
    pub bound_distinct: String,
    /// Seconds.
    pub seconds: f64,
}
