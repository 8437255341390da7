//! One module per subcommand.

pub(crate) mod compare;
pub(crate) mod model;
pub(crate) mod patterns;
pub(crate) mod train;
