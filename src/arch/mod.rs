//! Architecture families, one folder each, all behind the [`Architecture`] trait of
//! [`traits`]: the two-layer CNN ([`two_layer`]: sum/avg/max pooling and the multi-output
//! classifier), local pooling ([`local_pool`]), linear CNNs ([`linear`]), circular CNNs
//! ([`circular`]), the three-layer CNN ([`three_layer`]) and the shared-filter network
//! ([`shared`]; its SDP behind the `sdp` feature).

pub mod circular;
pub mod linear;
pub mod load;
pub mod local_pool;
pub mod shared;
pub mod three_layer;
pub mod traits;
pub mod two_layer;

pub use circular::Circular;
pub use linear::Linear;
pub use load::{model_from_tensors, LoadedModel};
pub use local_pool::LocalPool;
pub use shared::{Shared, SharedHeadChoice};
pub use three_layer::ThreeLayer;
pub use traits::{Architecture, ConvexFit, Model};
pub use two_layer::{BetaChoice, Classifier, ModelInfo, TwoLayer};
