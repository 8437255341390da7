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
        let go_on = obs.record(rec) && !crate::observe::interrupt_requested();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(iter: usize) -> IterRecord {
        IterRecord {
            iter,
            inner: iter,
            objective: 1.0,
            violation: 0.0,
            gap: None,
            elapsed: 0.0,
            penalty: 0.0,
        }
    }

    struct StopAt(usize);

    impl IterObserver for StopAt {
        fn record(&mut self, rec: &IterRecord) -> bool {
            rec.iter < self.0
        }
    }

    /// The stop rules in order: convergence, then the observer, then the iteration limit, then
    /// the time limit; otherwise the run goes on. Every record reaches the observer.
    #[test]
    fn step_stops_in_priority_order() {
        let limits = IterLimits {
            max_iter: 5,
            time_limit: None,
            tol: 1e-4,
        };
        let d = Driver::new(limits);
        let mut h = History::default();
        assert_eq!(d.step(&rec(0), false, &mut h), None);
        assert_eq!(d.step(&rec(1), true, &mut h), Some(SolveStatus::Solved));
        assert_eq!(
            d.step(&rec(4), false, &mut h),
            Some(SolveStatus::MaxIterations)
        );
        assert_eq!(h.records.len(), 3);
        assert_eq!(
            d.step(&rec(3), false, &mut StopAt(3)),
            Some(SolveStatus::Interrupted)
        );
        assert_eq!(
            d.step(&rec(3), true, &mut StopAt(3)),
            Some(SolveStatus::Solved)
        );
        let timed = Driver::new(IterLimits {
            time_limit: Some(0.0),
            ..limits
        });
        assert!(timed.out_of_time());
        assert_eq!(
            timed.step(&rec(0), false, &mut h),
            Some(SolveStatus::MaxTime)
        );
        assert!(!d.out_of_time());
    }

    /// `Both` asks both observers every time and goes on only if both do.
    #[test]
    fn both_observers_record() {
        let (mut a, mut b) = (History::default(), StopAt(1));
        let mut both = Both(&mut a, &mut b);
        assert!(both.record(&rec(0)));
        assert!(!both.record(&rec(1)));
        assert_eq!(a.records.len(), 2);
        assert!(NoObserver.record(&rec(7)));
    }
}
