//! # cvxcnn
//!
//! Trains ReLU convolutional networks to their **global** optimum by solving the exact convex
//! reformulations of Ergen & Pilanci, *Implicit Convex Regularizers of CNN Architectures: Convex
//! Optimization of Two- and Three-Layer Networks in Polynomial Time* (ICLR 2021,
//! arXiv:2006.14798), recovers a standard CNN whose objective equals the convex optimum, and
//! certifies it with a duality gap.
//!
//! The notation follows the project's `MATH.md`: `X_k` are the patch matrices, `M` their stack,
//! `D_i^k` the sign patterns, `β` the weight decay, and the loss is `½‖f − y‖²` *summed* over
//! samples.
//!
//! The pipeline for the two-layer CNN with global sum/average pooling:
//! [`patches::Patches`] → [`patterns`] (exact or sampled) → [`program::TwoLayerProgram`] →
//! [`solver::solve_ipm`] → [`recovery`] (network, pruning) → [`certificate`] (duality gap);
//! [`train::train`] runs it all.

pub mod algebra;
pub mod arch;
pub mod certify;
pub mod cones;
pub mod data;
pub mod error;
pub mod export;
pub mod fourier;
pub mod loss;
pub mod network;
pub mod nonconvex;
pub mod observe;
pub mod patches;
pub mod patterns;
pub mod program;
pub mod recovery;
pub mod solver;
pub mod tensors;

pub use error::{Error, Result};
