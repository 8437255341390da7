//! Sign patterns of the stacked patch matrix (MATH.md section 2).
//!
//! The rows of `M` define a central hyperplane arrangement. Rows that are zero (zero patches) or
//! parallel to another row (repeated or scaled patches: common in real images) are merged into
//! [`Hyperplanes`] first. A pattern is stored as one bit per distinct hyperplane `g`
//! (`1` iff `n_gᵀu > 0`), from which the per-row pattern `d(u) = 1[Mu ≥ 0]` follows
//! ([`Hyperplanes::row_pattern`]). Patterns are the open regions of the arrangement: every filter
//! lies in the closure of one of them, and the program's constraints are closed cones, so the
//! regions are all a global optimum needs.

mod ascent;
mod count;
mod enumerate;
mod hyperplanes;
mod sample;
mod set;

pub use ascent::{ascend, AscentPattern, AscentSettings};
pub use count::{count_text, general_position_count, rank_of};
pub use enumerate::enumerate_exact;
pub use hyperplanes::Hyperplanes;
pub use sample::{
    patterns_of_filters, sample_from_patches, sample_from_patches_until, sample_gaussian,
    sample_gaussian_until,
};
pub(crate) use set::get_bit;
pub use set::PatternSet;

/// How the sign patterns are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternChoice {
    /// All patterns, enumerated exactly: the optimum is global.
    Exact,
    /// `draws` Gaussian filters, de-duplicated: the optimum is that of the restricted model.
    Sample {
        /// Number of Gaussian draws.
        draws: usize,
        /// Seed of the generator.
        seed: u64,
    },
}

impl PatternChoice {
    /// `exact` or `sample:N`, as written on the command line and in reports.
    pub fn text(&self) -> String {
        match self {
            PatternChoice::Exact => "exact".into(),
            PatternChoice::Sample { draws, .. } => format!("sample:{draws}"),
        }
    }
}
