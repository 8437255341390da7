//! `cvxcnn patterns`: the sign patterns of a data set and patch spec, beside the theoretical
//! bound.

use crate::args::PatternArgs;
use crate::flags::{load, parse_patterns, patch_spec};
use crate::report::PatternReport;
use cvxcnn::patches::Patches;
use cvxcnn::patterns::{
    count_text, enumerate_exact, general_position_count, rank_of, sample_gaussian, Hyperplanes,
    PatternChoice,
};
use cvxcnn::{Error, Result};
use std::time::Instant;

/// Runs `cvxcnn patterns`.
pub(crate) fn cmd_patterns(a: PatternArgs) -> Result<()> {
    let choice = parse_patterns(&a.patterns, a.seed)?;
    let ds = load(&a.data)?;
    let spec = patch_spec(&a.patch, &ds, false)?;
    let t = Instant::now();
    let patches = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec)?;
    let hp = Hyperplanes::from_patches(&patches);
    let (rank, _) = rank_of(&patches);
    let set = match choice {
        PatternChoice::Exact => enumerate_exact(&patches, &hp, a.max_exact, &mut |_, _| {})?,
        PatternChoice::Sample { draws, seed } => sample_gaussian(&hp, draws, seed),
    };
    let report = PatternReport {
        n: patches.n,
        positions: patches.k,
        filter_size: patches.h,
        rows: patches.rows(),
        zero_rows: hp.row_group.iter().filter(|g| g.is_none()).count(),
        hyperplanes: hp.len(),
        rank,
        mode: a.patterns.clone(),
        patterns: set.len(),
        bound: count_text(general_position_count(patches.rows(), rank)),
        bound_distinct: count_text(general_position_count(hp.len(), rank)),
        seconds: t.elapsed().as_secs_f64(),
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| Error::Solver(e.to_string()))?
        );
    } else {
        println!("patterns    {} ({})", report.patterns, report.mode);
        println!(
            "bound       {}  (2·Σ_(j<r) C(nK−1, j), nK = {}, r = {})",
            report.bound, report.rows, report.rank
        );
        println!(
            "bound (distinct hyperplanes) {}  ({} distinct, {} zero rows)",
            report.bound_distinct, report.hyperplanes, report.zero_rows
        );
        println!(
            "n = {}, K = {}, h = {}, time {:.3} s",
            report.n, report.positions, report.filter_size, report.seconds
        );
    }
    Ok(())
}
