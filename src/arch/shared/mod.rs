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

use crate::patches::PatchSpec;
use crate::solver::IpmSettings;

/// What the vector of output weights of a filter feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedHeadChoice {
    /// One output per class (sum pooling; one-hot targets from the class labels).
    Classes,
    /// One output weight per local pooling window of `window` positions (per axis), max or
    /// average pooling inside a window; scalar targets.
    Windows {
        /// Window size (see [`crate::arch::local_pool::tile_windows`]).
        window: usize,
        /// Max (true) or average pooling.
        max: bool,
    },
}

/// Weight decay on the vector of output weights of each filter: the SDP over simplicial cones,
/// exact for patch rank ≤ 4 (MATH-DEEP.md section 3; cargo feature `sdp`).
#[derive(Debug, Clone)]
pub struct Shared {
    /// First-layer geometry.
    pub spec: PatchSpec,
    /// The head.
    pub head: SharedHeadChoice,
    /// `β`.
    pub beta: f64,
    /// Interior-point settings.
    pub ipm: IpmSettings,
}

/// Without the `sdp` feature the SDP is not compiled: fitting says how to get it.
#[cfg(not(feature = "sdp"))]
mod without_sdp {
    use crate::arch::traits::{Architecture, Fit, Model};
    use crate::data::Dataset;
    use crate::error::{Error, Result};
    use crate::nonconvex::FullBatchSettings;
    use crate::observe::Observer;

    impl Architecture for super::Shared {
        fn name(&self) -> String {
            "two-layer, shared filters, weight decay (SDP)".into()
        }
        fn regularizer(&self) -> &'static str {
            "PSD matrices over simplicial cones (completely positive; exact for patch rank ≤ 4)"
        }
        fn fit(&self, _ds: &Dataset, _obs: &mut dyn Observer) -> Result<Fit> {
            Err(no_sdp())
        }
        fn nonconvex(
            &self,
            _ds: &Dataset,
            _y: &[f64],
            _s: &FullBatchSettings,
        ) -> Result<Box<dyn Model>> {
            Err(no_sdp())
        }
    }

    fn no_sdp() -> Error {
        Error::param(
            "head",
            "the shared head needs the SDP solver: build with `cargo build --release --features sdp` (links OpenBLAS: apt-get install libopenblas-dev libgfortran-12-dev)",
        )
    }
}
