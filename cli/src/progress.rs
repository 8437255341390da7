//! Progress on stderr: a spinner per stage of a fit, with enumeration counts and the first-order
//! solvers' iterations (objective, violation, gap), and one bar over the epochs of `compare`'s
//! non-convex runs.

use cvxcnn::compare::RunsObserver;
use cvxcnn::nonconvex::EpochRecord;
use cvxcnn::observe::{IterRecord, Observer};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::{Duration, Instant};

/// The library's observer shown as spinners (nothing when quiet).
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    stage: String,
    start: Instant,
}

impl Progress {
    /// A display that starts its clock now.
    pub(crate) fn new(quiet: bool) -> Self {
        Progress {
            bar: None,
            quiet,
            stage: String::new(),
            start: Instant::now(),
        }
    }

    /// Removes the current spinner.
    pub(crate) fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn stage(&mut self, name: &str) {
        if self.quiet {
            return;
        }
        self.finish();
        self.stage = name.to_string();
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.set_message(format!(
            "{name} (t = {:.1}s)",
            self.start.elapsed().as_secs_f64()
        ));
        b.enable_steady_tick(Duration::from_millis(120));
        self.bar = Some(b);
    }
    fn progress(&mut self, done: usize, total: usize) {
        if let Some(b) = &self.bar {
            b.set_message(format!("{}: {done}/{total}", self.stage));
        }
    }
    fn iteration(&mut self, r: &IterRecord) -> bool {
        if let Some(b) = &self.bar {
            let gap = r.gap.map_or(String::new(), |g| format!("  gap {g:.1e}"));
            b.set_message(format!(
                "{}: iteration {}  objective {:.6e}  violation {:.1e}{gap}  ({} inner, {:.0}s)",
                self.stage,
                r.iter + 1,
                r.objective,
                r.violation,
                r.inner,
                r.elapsed
            ));
        }
        true
    }
}

/// One bar over all epochs of all non-convex runs.
pub(crate) struct RunBar {
    /// The shared bar (none when quiet).
    bar: Option<ProgressBar>,
    /// Epochs of one run.
    epochs: u64,
    /// Show nothing.
    quiet: bool,
}

impl RunBar {
    /// A bar that appears when the runs start (never when quiet).
    pub(crate) fn new(quiet: bool) -> Self {
        RunBar {
            bar: None,
            epochs: 0,
            quiet,
        }
    }

    /// Clears the bar.
    pub(crate) fn finish_now(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl RunsObserver for RunBar {
    fn start(&mut self, runs: usize, epochs: usize) {
        self.epochs = epochs as u64;
        if self.quiet {
            return;
        }
        let b = ProgressBar::new((runs * epochs) as u64);
        b.set_style(
            ProgressStyle::with_template(
                "non-convex [{elapsed_precise}] {bar:30} {pos}/{len} epochs {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        self.bar = Some(b);
    }
    fn epoch(&mut self, run: usize, r: &EpochRecord, _total: usize) -> bool {
        if let Some(b) = &self.bar {
            b.set_position(run as u64 * self.epochs + r.epoch as u64);
            b.set_message(format!("objective {:.6e}", r.objective));
        }
        true
    }
    fn finish(&mut self) {
        self.finish_now();
    }
}
