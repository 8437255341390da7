//! Progress of long runs, reported to an observer (the library never prints). The command line
//! shows it as progress bars; the default methods ignore everything.

use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};

/// The process-wide interrupt request (Ctrl-C is process-wide too).
static INTERRUPT: AtomicBool = AtomicBool::new(false);

/// Asks every run in this process to stop soon: the interior point (Clarabel) stops at its next
/// iteration and the fit returns [`crate::Error::Interrupted`]; first-order solvers stop at their
/// next iteration as if an observer had asked (status `interrupted`). Nothing else is affected:
/// stages between solves (pattern enumeration, recovery, certificates) run to their end. A
/// front end sets this from its signal handling (the Python bindings on `KeyboardInterrupt`) and
/// clears it with [`clear_interrupt`] before the next run.
pub fn request_interrupt() {
    INTERRUPT.store(true, Ordering::SeqCst);
}

/// Withdraws an interrupt request (before a new run starts).
pub fn clear_interrupt() {
    INTERRUPT.store(false, Ordering::SeqCst);
}

/// Whether an interrupt was requested and not yet cleared.
pub fn interrupt_requested() -> bool {
    INTERRUPT.load(Ordering::SeqCst)
}

/// Receives progress of a long run (the library never prints).
pub trait Observer {
    /// A stage starts.
    fn stage(&mut self, _name: &str) {}
    /// Progress inside the current stage.
    fn progress(&mut self, _done: usize, _total: usize) {}
    /// A first-order solver finished an iteration; returning `false` asks it to stop.
    fn iteration(&mut self, _rec: &IterRecord) -> bool {
        true
    }
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {}

/// What a solver reports after an iteration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IterRecord {
    /// Iteration number (outer iterations for the augmented Lagrangian).
    pub iter: usize,
    /// Total inner (proximal-gradient) iterations so far.
    pub inner: usize,
    /// Objective at the current point.
    pub objective: f64,
    /// Largest relative cone-constraint violation (0 for unconstrained programs).
    pub violation: f64,
    /// Relative duality gap, when computed at this iteration.
    pub gap: Option<f64>,
    /// Seconds since the start.
    pub elapsed: f64,
    /// Penalty parameter `δ` of the augmented Lagrangian (0 for unconstrained solvers).
    pub penalty: f64,
}
