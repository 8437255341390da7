//! Typed errors of the library. Every message names the file, field or flag and the offending value.

use std::path::PathBuf;

/// Errors returned by cvxcnn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system error while reading or writing a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file whose content is not what its format requires.
    #[error("{}: {msg}", path.display())]
    Format {
        /// The file involved.
        path: PathBuf,
        /// What is wrong, with the field and the value found.
        msg: String,
    },
    /// A parameter outside its valid range (a flag, a setting or a shape).
    #[error("{name}: {msg}")]
    Parameter {
        /// The parameter (flag or field) name.
        name: String,
        /// What is wrong, with the value given.
        msg: String,
    },
    /// A data set that cannot be used as asked (wrong shape for the patch spec, empty, ...).
    #[error("data: {0}")]
    Data(String),
    /// The numerical solver failed or returned no usable solution.
    #[error("solver: {0}")]
    Solver(String),
    /// The run was stopped by [`crate::observe::request_interrupt`] (Ctrl-C in a front end).
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// Shorthand for [`Error::Parameter`].
    pub fn param(name: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Parameter {
            name: name.into(),
            msg: msg.into(),
        }
    }

    /// Shorthand for [`Error::Format`].
    pub fn format(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            msg: msg.into(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result type of the library.
pub type Result<T> = std::result::Result<T, Error>;
