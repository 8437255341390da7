//! The JSON report of a training run (`report.json`).

use cvxcnn::arch::two_layer::train::{Timings, TrainOutcome};
use cvxcnn::certify::Certificate;
use cvxcnn::recovery::PatternCheck;
use serde::Serialize;

/// `report.json`. Objectives are on the scale `Σ_t ½(f_t − y_t)² + β Σ_i (‖c_i‖ + ‖c'_i‖)`
/// (equivalently `+ (β/2) Σ_j (‖u_j‖² + w_j²)` for the network).
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// Report format version.
    pub version: u32,
    /// Architecture (`two-layer`).
    pub arch: String,
    /// Pooling (`sum` or `avg`).
    pub pool: String,
    /// Loss (`squared`).
    pub loss: String,
    /// Solver (`ipm`).
    pub solver: String,
    /// Data source as given.
    pub data: String,
    /// Kernel per axis (one entry for 1-D data).
    pub kernel: Vec<usize>,
    /// Stride per axis.
    pub stride: Vec<usize>,
    /// Padding per axis.
    pub padding: Vec<usize>,
    /// Whether filters carry a bias.
    pub bias: bool,
    /// Weight decay.
    pub beta: f64,
    /// `γ(y)`: the zero network is optimal iff `β ≥ beta_max`.
    pub beta_max: f64,
    /// `exact` or `sample:N`.
    pub pattern_mode: String,
    /// Seed of the pattern sampler (sampled mode).
    pub seed: Option<u64>,
    /// Samples `n`.
    pub n: usize,
    /// Positions `K`.
    pub positions: usize,
    /// Filter size `h`.
    pub filter_size: usize,
    /// Distinct hyperplanes of the patch matrix.
    pub hyperplanes: usize,
    /// Rank of the patch matrix.
    pub rank: usize,
    /// Patterns found (exact regions, or distinct sampled patterns).
    pub patterns: usize,
    /// Blocks of the program (patterns with `A_i ≠ 0`).
    pub blocks: usize,
    /// General-position count `2 Σ_{j<r} C(nK − 1, j)`.
    pub pattern_bound: String,
    /// Convex optimum (solver's point, all blocks).
    pub objective: f64,
    /// Objective of the recovered network from its own forward pass.
    pub network_objective: f64,
    /// `|network_objective − objective| / objective`.
    pub objective_mismatch: f64,
    /// Duality gap of the recovered network.
    pub duality_gap: f64,
    /// Duality gap over the network objective.
    pub relative_gap: f64,
    /// Lower bound from the dual point.
    pub lower_bound: f64,
    /// `γ(y − f)` of the recovered network (`≈ β` at a non-zero optimum).
    pub gamma_residual: f64,
    /// `global` (exact patterns) or `restricted` (sampled patterns).
    pub certificate: String,
    /// What the certificate means, in words.
    pub certificate_meaning: String,
    /// Filters of the recovered network (after pruning).
    pub filters: usize,
    /// Filters before pruning.
    pub filters_before_pruning: usize,
    /// Solver status.
    pub status: String,
    /// Solver iterations.
    pub iterations: u32,
    /// Largest relative cone-constraint violation.
    pub constraint_violation: f64,
    /// Recovered filters vs their block patterns.
    pub pattern_check: PatternCheck,
    /// Sign accuracy on the training data when the targets are ±1 classes.
    pub train_accuracy: Option<f64>,
    /// Total seconds.
    pub seconds: f64,
    /// Seconds per stage.
    pub timings: Timings,
    /// File holding the weights.
    pub model_file: String,
}

impl TrainReport {
    /// Builds the report of a run.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        o: &TrainOutcome,
        data: &str,
        beta: f64,
        pattern_mode: String,
        seed: Option<u64>,
        train_accuracy: Option<f64>,
    ) -> Self {
        let s = &o.network.spec;
        let one_d = o.network.shape.one_d;
        let axes = |a: usize, b: usize| if one_d { vec![b] } else { vec![a, b] };
        let c: &Certificate = &o.certificate;
        let meaning = match c.scope {
            cvxcnn::certify::Scope::Global => "all sign patterns were enumerated: lower_bound is a lower bound on the training objective of every two-layer network of this architecture, of any width; duality_gap bounds how far network_objective is from the global optimum".to_string(),
            cvxcnn::certify::Scope::Restricted => "patterns were sampled: lower_bound holds only for networks whose filters have the sampled patterns (the restricted model); the global optimum may be lower".to_string(),
        };
        TrainReport {
            version: 1,
            arch: "two-layer".into(),
            pool: o.network.pool.name().into(),
            loss: "squared".into(),
            solver: "ipm".into(),
            data: data.into(),
            kernel: axes(s.kernel_h, s.kernel_w),
            stride: axes(s.stride_h, s.stride_w),
            padding: axes(s.pad_h, s.pad_w),
            bias: s.bias,
            beta,
            beta_max: o.beta_max,
            pattern_mode,
            seed,
            n: o.n,
            positions: o.k,
            filter_size: o.h,
            hyperplanes: o.hyperplanes,
            rank: o.rank,
            patterns: o.patterns,
            blocks: o.blocks,
            pattern_bound: cvxcnn::patterns::count_text(o.pattern_bound_rows),
            objective: o.objective,
            network_objective: o.network_objective,
            objective_mismatch: (o.network_objective - o.objective).abs()
                / o.objective.abs().max(1e-300),
            duality_gap: c.duality_gap,
            relative_gap: c.relative_gap,
            lower_bound: c.lower_bound,
            gamma_residual: c.gamma_residual,
            certificate: c.scope.name().into(),
            certificate_meaning: meaning,
            filters: o.network.width(),
            filters_before_pruning: o.filters_before_pruning,
            status: o.status.name().into(),
            iterations: o.iterations,
            constraint_violation: o.constraint_violation,
            pattern_check: o.pattern_check,
            train_accuracy,
            seconds: o.seconds,
            timings: o.timings,
            model_file: "model.safetensors".into(),
        }
    }
}

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
