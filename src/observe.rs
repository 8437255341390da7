//! Progress of long runs, reported to an observer (the library never prints). The command line
//! shows it as progress bars; the default methods ignore everything.

/// Receives progress of a long run (the library never prints).
pub trait Observer {
    /// A stage starts.
    fn stage(&mut self, _name: &str) {}
    /// Progress inside the current stage.
    fn progress(&mut self, _done: usize, _total: usize) {}
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {}
