//! The plots of `cvxcnn compare` (objective and accuracy against time) from the library's
//! [`CompareReport`].

use crate::plot::{Curve, PlotSpec};
use cvxcnn::compare::{CompareReport, RunSummary};

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
pub fn objective_plot(r: &CompareReport) -> PlotSpec {
    let floor = time_floor(r);
    PlotSpec {
        title: format!(
            "training objective, {} (β = {})",
            if r.convex.exact {
                "convex optimum exact"
            } else {
                "convex over sampled patterns"
            },
            r.beta
        ),
        x_label: "seconds".into(),
        y_label: "objective".into(),
        log_x: true,
        log_y: true,
        curves: r
            .runs
            .iter()
            .enumerate()
            .map(|(i, run)| Curve {
                label: label(run, i),
                points: run
                    .history
                    .iter()
                    .map(|h| (h.seconds.max(floor), h.objective))
                    .collect(),
            })
            .collect(),
        level: Some((r.convex.objective, "convex optimum".into())),
        marker: Some((
            r.convex.seconds.max(floor),
            r.convex.objective,
            "convex solve".into(),
        )),
        legend_low: false,
    }
}

/// Test accuracy (training accuracy without a test set) against training time, with the
/// convex network's as a dashed line; `None` for real-valued targets.
pub fn accuracy_plot(r: &CompareReport) -> Option<PlotSpec> {
    let test = r.n_test > 0;
    let conv = if test {
        r.convex.test_accuracy?
    } else {
        r.convex.train_accuracy?
    };
    let floor = time_floor(r);
    Some(PlotSpec {
        title: format!("{} accuracy", if test { "test" } else { "training" }),
        x_label: "seconds".into(),
        y_label: "accuracy".into(),
        log_x: true,
        log_y: false,
        curves: r
            .runs
            .iter()
            .enumerate()
            .map(|(i, run)| Curve {
                label: label(run, i),
                points: run
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
        marker: Some((r.convex.seconds.max(floor), conv, "convex solve".into())),
        legend_low: true,
    })
}

/// Where the logarithmic time axis starts: half the smallest positive time recorded.
fn time_floor(r: &CompareReport) -> f64 {
    let min = r
        .runs
        .iter()
        .flat_map(|run| run.history.iter().map(|h| h.seconds))
        .chain(std::iter::once(r.convex.seconds))
        .filter(|s| *s > 0.0)
        .fold(f64::INFINITY, f64::min);
    if min.is_finite() {
        0.5 * min
    } else {
        1e-3
    }
}
