//! Solvers of the convex programs. The interior-point method (Clarabel) is the exact reference
//! for small instances.

mod ipm;
mod refit;
mod status;

pub use ipm::{solve_ipm, IpmInfo, IpmSettings};
pub use refit::refit_support;
pub use status::SolveStatus;
