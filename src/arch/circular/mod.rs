//! Circular CNNs on 1-D signals (MATH.md section 6, MATH-DEEP.md section 2): the shallow
//! `L = 3` program with its spectral ℓ1 regularizer ([`shallow`]) and the deep `L ≥ 4`
//! networks with their bounds ([`deep`], which builds on the shallow one, never the reverse).

pub mod deep;
pub mod shallow;

pub use deep::*;
pub use shallow::*;
