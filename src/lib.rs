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
//! ## One road from a description to a certified model
//!
//! An [`Architecture`] (a validated description: geometry, `β`, patterns, solver) is fitted to
//! a [`Dataset`]; the [`Fit`] holds the [`Report`] (the same schema for every architecture) and
//! the [`Model`], whose weights [`export`] writes in PyTorch's layout.
//!
//! ```
//! use cvxcnn::{Architecture, Dataset, PatchSpec, SampleShape, Targets, TrainConfig, TwoLayer};
//!
//! // Eight 1-D signals of length 5 and their targets.
//! let x: Vec<f64> = (0..40).map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0).collect();
//! let y = vec![1.0, -1.0, 0.5, 0.0, -0.5, 1.0, 0.2, -0.3];
//! let shape = SampleShape { channels: 1, height: 1, width: 5, one_d: true };
//! let ds = Dataset::new(x, shape, Targets::Real(y), "example")?;
//!
//! // A two-layer ReLU CNN, kernel 3, global sum pooling, weight decay 0.1, all sign patterns.
//! let arch = TwoLayer { cfg: TrainConfig::new(PatchSpec::one_d(3, 1, 0, false), 0.1) };
//! let fit = arch.fit(&ds, &mut cvxcnn::observe::Silent)?;
//! assert!(fit.report.relative_gap < 1e-6); // a certified global optimum
//! let own = fit.model.objective(&ds, &[1.0, -1.0, 0.5, 0.0, -0.5, 1.0, 0.2, -0.3])?;
//! assert!((own - fit.report.objective).abs() < 1e-6 * fit.report.objective);
//! # Ok::<(), cvxcnn::Error>(())
//! ```
//!
//! ## Layers
//!
//! Each module imports only from the ones before it: [`error`], `algebra`, `fourier`,
//! [`observe`], [`tensors`], [`loss`] → [`data`] → [`patches`] → [`patterns`] → [`program`],
//! `cones` → [`solver`] → [`certify`] → [`network`], [`recovery`] → [`nonconvex`] → [`arch`]
//! (one folder per family behind [`arch::traits`]) → [`export`] → [`settings`] (choices as
//! plain values → a validated architecture, shared by the CLI and the Python bindings).
//! `ARCHITECTURE.md` has the map.

#![warn(missing_docs)]

pub(crate) mod algebra;
pub mod arch;
pub mod certify;
pub mod compare;
pub(crate) mod cones;
pub mod data;
pub mod error;
pub mod export;
pub(crate) mod fourier;
pub mod loss;
pub mod network;
pub mod nonconvex;
pub mod observe;
pub mod patches;
pub mod patterns;
pub mod program;
pub mod recovery;
pub mod resources;
pub mod settings;
pub mod solver;
pub mod tensors;

pub use arch::traits::{Architecture, CertificateScope, Fit, Model, Report};
pub use arch::two_layer::train::TrainConfig;
pub use arch::{
    BetaChoice, Circular, Classifier, Linear, LocalPool, Shared, SharedHeadChoice, ThreeLayer,
    TwoLayer,
};
pub use data::{read_any, Dataset, SampleShape, Targets};
pub use error::{Error, Result};
pub use export::{fit_files, write_dir_atomically};
pub use patches::PatchSpec;
pub use patterns::PatternChoice;
pub use program::Pooling;
