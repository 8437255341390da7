//! The README's quick start from Rust: the same certified two-layer CNN (3s against 8s on 100
//! embedded MNIST digits, kernel 7, stride 7, β = 1, 20 sampled patterns) through the library's
//! one road. `cargo run --release --example library`.

use cvxcnn::{Architecture, PatchSpec, PatternChoice, TrainConfig, TwoLayer};

fn main() -> cvxcnn::Result<()> {
    let ds = cvxcnn::read_any("builtin:mnist", None)?
        .binary(3, 8)?
        .head(100);
    let mut cfg = TrainConfig::new(PatchSpec::two_d(7, 7, 7, 0, false), 1.0);
    cfg.patterns = PatternChoice::Sample { draws: 20, seed: 0 };
    let fit = TwoLayer { cfg }.fit(&ds, &mut cvxcnn::observe::Silent)?;
    println!(
        "objective {:.10} (relative gap {:.1e}, certificate {:?}), {} filters",
        fit.report.objective, fit.report.relative_gap, fit.report.certificate, fit.report.filters
    );
    Ok(())
}
