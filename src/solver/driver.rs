//! The iteration driver shared by the first-order solvers: limits, observers and status.
//!
//! A solver reports one [`IterRecord`] per (outer) iteration to an [`IterObserver`], which may
//! draw a progress bar, keep a [`History`], or stop the run. Limits end a run with a status, never
//! with an error: the last point is returned.

use super::SolveStatus;
pub use crate::observe::IterRecord;
use serde::Serialize;
use std::time::Instant;

/// Iteration and time limits and the target tolerance of a first-order solve.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IterLimits {
    /// Most (outer) iterations.
    pub max_iter: usize,
    /// Wall-clock limit in seconds, if any.
    pub time_limit: Option<f64>,
    /// Target relative duality gap (and, for constrained programs, relative violation).
    pub tol: f64,
}

impl Default for IterLimits {
    fn default() -> Self {
        IterLimits {
            max_iter: 2000,
            time_limit: None,
            tol: 1e-4,
        }
    }
}

/// Receives iteration records; returns `false` to stop the solver.
pub trait IterObserver {
    /// One iteration finished.
    fn record(&mut self, rec: &IterRecord) -> bool;
}

/// An observer that keeps every record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct History {
    /// The records, in order.
    pub records: Vec<IterRecord>,
}

impl IterObserver for History {
    fn record(&mut self, rec: &IterRecord) -> bool {
        self.records.push(*rec);
        true
    }
}

/// An observer that does nothing.
pub struct NoObserver;

impl IterObserver for NoObserver {
    fn record(&mut self, _rec: &IterRecord) -> bool {
        true
    }
}

/// Two observers in turn (e.g. a progress bar and a history).
pub struct Both<'a>(pub &'a mut dyn IterObserver, pub &'a mut dyn IterObserver);

impl IterObserver for Both<'_> {
    fn record(&mut self, rec: &IterRecord) -> bool {
        let a = self.0.record(rec);
        let b = self.1.record(rec);
        a && b
    }
}

/// Keeps the clock and the limits of one solve.
pub struct Driver {
    limits: IterLimits,
    start: Instant,
}

impl Driver {
    /// Starts the clock.
    pub fn new(limits: IterLimits) -> Self {
        Driver {
            limits,
            start: Instant::now(),
        }
    }

    /// The limits.
    pub fn limits(&self) -> &IterLimits {
        &self.limits
    }

    /// Seconds since the start.
    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Whether the time limit has passed.
    pub fn out_of_time(&self) -> bool {
        self.limits.time_limit.is_some_and(|t| self.elapsed() >= t)
    }

    /// Reports `rec` and decides whether to stop: `Some(status)` ends the run. `converged` is
    /// the solver's own test.
    pub fn step(
        &self,
        rec: &IterRecord,
        converged: bool,
        obs: &mut dyn IterObserver,
    ) -> Option<SolveStatus> {
        let go_on = obs.record(rec);
        if converged {
            Some(SolveStatus::Solved)
        } else if !go_on {
            Some(SolveStatus::Interrupted)
        } else if rec.iter + 1 >= self.limits.max_iter {
            Some(SolveStatus::MaxIterations)
        } else if self.out_of_time() {
            Some(SolveStatus::MaxTime)
        } else {
            None
        }
    }
}
