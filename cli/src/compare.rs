//! The side-by-side report of `cvxcnn compare`: the convex solve beside non-convex restarts of
//! the same network on the same objective, and its plots.

use crate::plot::{Curve, PlotSpec};
use cvxcnn::nonconvex::{EpochRecord, NonconvexRun, NonconvexSettings, RunStatus};
use serde::Serialize;

/// The convex side.
#[derive(Debug, Clone, Serialize)]
pub struct ConvexSummary {
    /// Objective of the convex solution (equal to its recovered network's).
    pub objective: f64,
    /// Seconds of the whole convex pipeline (patterns, solve, recovery, certificate).
    pub seconds: f64,
    /// Training accuracy of the recovered network (`None` for real-valued targets).
    pub train_accuracy: Option<f64>,
    /// Test accuracy (`None` without a test set or for real-valued targets).
    pub test_accuracy: Option<f64>,
    /// Filters of the recovered network.
    pub filters: usize,
    /// Whether the patterns were enumerated exactly: then `objective` is the global optimum of
    /// the non-convex problem (to the gap), and no run can end below it.
    pub exact: bool,
    /// Relative duality gap (of the restricted program when the patterns are sampled).
    pub relative_gap: f64,
    /// Solver used.
    pub solver: String,
    /// The solver's checks as `(seconds since the fit began, objective, relative violation)`
    /// (first-order classifier solvers; empty otherwise). The iterates are feasible for the
    /// working-set cones only: `violation` is measured over all rows.
    pub trajectory: Vec<(f64, f64, f64)>,
    /// Seconds from the start of the fit to the end of recovery (the certificates follow).
    pub seconds_to_network: f64,
}

/// Who reached the best non-convex objective first.
#[derive(Debug, Clone, Serialize)]
pub struct Race {
    /// Seed of the restart with the lowest final objective.
    pub best_run_seed: u64,
    /// Its final objective: the target.
    pub target_objective: f64,
    /// Training seconds that restart took to first record an objective at or below the target
    /// (its history's resolution).
    pub nonconvex_seconds: f64,
    /// Seconds from the start of the convex fit to its first solver check at or below the
    /// target with a relative violation ≤ 1e-3, or else to its recovered network when that is
    /// at or below the target; `None` when the convex run never got there.
    pub convex_seconds: Option<f64>,
}

impl Race {
    /// The race of `runs` against the convex fit.
    pub fn of(convex: &ConvexSummary, runs: &[RunSummary]) -> Option<Race> {
        let best = runs
            .iter()
            .filter(|r| r.objective.is_finite())
            .min_by(|a, b| a.objective.total_cmp(&b.objective))?;
        let target = best.objective;
        let slack = 1e-9 * target.abs();
        let nonconvex_seconds = best
            .history
            .iter()
            .find(|h| h.objective <= target + slack)
            .map_or(best.seconds, |h| h.seconds);
        let convex_seconds = convex
            .trajectory
            .iter()
            .find(|(_, o, v)| *o <= target + slack && *v <= 1e-3)
            .map(|(t, _, _)| *t)
            .or((convex.objective <= target + slack).then_some(convex.seconds_to_network));
        Some(Race {
            best_run_seed: best.seed,
            target_objective: target,
            nonconvex_seconds,
            convex_seconds,
        })
    }
}

/// One non-convex restart.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Seed of the initialisation and the minibatch order.
    pub seed: u64,
    /// `sgd` or `adam`.
    pub optimizer: &'static str,
    /// Filters per output.
    pub width: usize,
    /// Final training objective, from the network's own forward pass (same scale as `train`).
    pub objective: f64,
    /// `(objective − convex) / |convex|`.
    pub excess: f64,
    /// Training accuracy.
    pub train_accuracy: Option<f64>,
    /// Test accuracy.
    pub test_accuracy: Option<f64>,
    /// Training seconds (evaluations for the history not counted).
    pub seconds: f64,
    /// Epochs run.
    pub epochs: usize,
    /// How the run ended.
    pub status: RunStatus,
    /// The settings.
    pub settings: NonconvexSettings,
    /// Objective and accuracies along the run.
    pub history: Vec<EpochRecord>,
}

impl RunSummary {
    /// Summary of a run whose final objective (from the standard network's forward pass) is
    /// `objective`; accuracies are dropped when `classes` is false.
    pub fn new(
        run: &NonconvexRun,
        s: &NonconvexSettings,
        objective: f64,
        convex: f64,
        classes: bool,
    ) -> Self {
        let keep = |a: Option<f64>| if classes { a } else { None };
        let mut history = run.history.clone();
        if !classes {
            for r in &mut history {
                r.train_accuracy = f64::NAN;
                r.test_accuracy = None;
            }
        }
        RunSummary {
            seed: s.seed,
            optimizer: s.optimizer.name(),
            width: s.width,
            objective,
            excess: (objective - convex) / convex.abs().max(f64::MIN_POSITIVE),
            train_accuracy: keep(Some(run.train_accuracy)),
            test_accuracy: keep(run.test_accuracy),
            seconds: run.seconds,
            epochs: run.history.last().map_or(0, |r| r.epoch),
            status: run.status,
            settings: *s,
            history,
        }
    }
}

/// The whole report (`compare.json`).
#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    /// Data source.
    pub data: String,
    /// Training samples.
    pub n_train: usize,
    /// Test samples.
    pub n_test: usize,
    /// Outputs `C` (1: scalar output).
    pub outputs: usize,
    /// Loss name.
    pub loss: &'static str,
    /// Pooling name.
    pub pool: &'static str,
    /// Weight decay `β`.
    pub beta: f64,
    /// Kernel, stride, padding, bias.
    pub spec: cvxcnn::patches::PatchSpec,
    /// The convex solve.
    pub convex: ConvexSummary,
    /// The non-convex restarts.
    pub runs: Vec<RunSummary>,
    /// Runs that ended below the convex objective by more than `1e-6` relative (possible only
    /// with sampled patterns; with exact patterns it would be a bug).
    pub runs_below_convex: Vec<u64>,
    /// Time each side took to reach the best restart's final objective.
    pub race: Option<Race>,
    /// Which number is which.
    pub notes: Vec<String>,
}

impl CompareReport {
    /// Seeds of the runs whose final objective is below the convex one by more than `rel`.
    pub fn below(runs: &[RunSummary], convex: f64, rel: f64) -> Vec<u64> {
        runs.iter()
            .filter(|r| r.objective < convex - rel * convex.abs())
            .map(|r| r.seed)
            .collect()
    }

    fn label(r: &RunSummary, i: usize) -> String {
        // A legend of more than ten runs is unreadable: the rest go unlabelled.
        if i < 10 {
            format!("{} m={} seed {}", r.optimizer, r.width, r.seed)
        } else {
            String::new()
        }
    }

    /// Training objective against training time (both axes logarithmic), with the convex
    /// optimum as a dashed line and the convex solve as a point at its time.
    pub fn objective_plot(&self) -> PlotSpec {
        let floor = self.time_floor();
        PlotSpec {
            title: format!(
                "training objective, {} (β = {})",
                if self.convex.exact {
                    "convex optimum exact"
                } else {
                    "convex over sampled patterns"
                },
                self.beta
            ),
            x_label: "seconds".into(),
            y_label: "objective".into(),
            log_x: true,
            log_y: true,
            curves: self
                .runs
                .iter()
                .enumerate()
                .map(|(i, r)| Curve {
                    label: Self::label(r, i),
                    points: r
                        .history
                        .iter()
                        .map(|h| (h.seconds.max(floor), h.objective))
                        .collect(),
                })
                .collect(),
            level: Some((self.convex.objective, "convex optimum".into())),
            marker: Some((
                self.convex.seconds.max(floor),
                self.convex.objective,
                "convex solve".into(),
            )),
            legend_low: false,
        }
    }

    /// Test accuracy (training accuracy without a test set) against training time, with the
    /// convex network's as a dashed line; `None` for real-valued targets.
    pub fn accuracy_plot(&self) -> Option<PlotSpec> {
        let test = self.n_test > 0;
        let conv = if test {
            self.convex.test_accuracy?
        } else {
            self.convex.train_accuracy?
        };
        let floor = self.time_floor();
        Some(PlotSpec {
            title: format!("{} accuracy", if test { "test" } else { "training" }),
            x_label: "seconds".into(),
            y_label: "accuracy".into(),
            log_x: true,
            log_y: false,
            curves: self
                .runs
                .iter()
                .enumerate()
                .map(|(i, r)| Curve {
                    label: Self::label(r, i),
                    points: r
                        .history
                        .iter()
                        .filter_map(|h| {
                            let a = if test {
                                h.test_accuracy?
                            } else {
                                h.train_accuracy
                            };
                            Some((h.seconds.max(floor), a))
                        })
                        .collect(),
                })
                .collect(),
            level: Some((conv, "convex network".into())),
            marker: Some((self.convex.seconds.max(floor), conv, "convex solve".into())),
            legend_low: true,
        })
    }

    /// Where the logarithmic time axis starts: half the smallest positive time recorded.
    fn time_floor(&self) -> f64 {
        let min = self
            .runs
            .iter()
            .flat_map(|r| r.history.iter().map(|h| h.seconds))
            .chain(std::iter::once(self.convex.seconds))
            .filter(|s| *s > 0.0)
            .fold(f64::INFINITY, f64::min);
        if min.is_finite() {
            0.5 * min
        } else {
            1e-3
        }
    }
}
