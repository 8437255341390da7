//! Solvers of the convex programs. The interior-point method (Clarabel) is the exact reference
//! for small instances; the first-order solvers (FISTA for the gated relaxation, an augmented
//! Lagrangian for the exact program) share one iteration [`Driver`] and scale to real data.

mod admm;
mod auglag;
mod block_socp;
pub mod checkpoint;
mod driver;
mod fista;
mod gated;
mod ipm;
mod loss_part;
pub mod nonneg_qp;
mod polish;
mod pricing;
mod projected;
mod prox_al;
mod refit;
mod status;
mod working_set;

pub use crate::algebra::{group_norm_sum, relative_violation};
pub use admm::{solve_admm, solve_admm_resumable, AdmmSettings};
pub use auglag::{multiplier_bounds, solve_auglag, AlSettings, AlSolution};
pub use driver::{Both, Driver, History, IterLimits, IterObserver, IterRecord, NoObserver};
pub use fista::{shrink, Fista, FistaInfo, FistaSettings, GroupShrink, Prox, SmoothPart};
pub use gated::{solve_gated, GatedSolution};

pub use block_socp::{solve_block_socp, SocpBlock, SocpSolution};
#[cfg(feature = "sdp")]
pub(crate) use ipm::{clarabel_settings, interruptible, map_status};
pub use ipm::{
    solve_ipm, solve_ipm_with, spectral_cone_dual_norm, BlockNorm, IpmInfo, IpmSettings,
};
pub use polish::{polish, polish_from, PolishInfo, PolishSettings, PolishWarm};
pub use pricing::{solve_ipm_priced, PricingInfo, PricingSettings};
pub use projected::{solve_projected, ProjectedSettings};
pub(crate) use prox_al::momentum_step;
pub use prox_al::{block_penalty, solve_prox_al, ProxAlInfo, ProxAlSettings};
pub use refit::refit_support;
pub use status::SolveStatus;
