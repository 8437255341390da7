//! The shared-filter network (a filter feeding a vector of output weights, MATH-DEEP.md
//! section 3): its forward pass and non-convex training ([`network`]), the simplicial cones of
//! the pattern regions ([`simplicial`]), completely positive factorization ([`cp_factor`]) and,
//! behind the cargo feature `sdp`, the weight-decay SDP ([`sdp`]).

pub mod cp_factor;
#[cfg(feature = "sdp")]
mod fit;
pub mod network;
#[cfg(feature = "sdp")]
pub mod sdp;
pub mod simplicial;

#[cfg(feature = "sdp")]
pub use fit::{Shared, SharedHeadChoice};
