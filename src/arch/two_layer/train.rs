//! The end-to-end training pipeline for the two-layer CNN: patches, patterns, convex program,
//! interior-point solve, recovery, pruning and certificate.

use crate::certify::{beta_max, certify, Certificate, Scope};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::network::TwoLayerCnn;
pub use crate::observe::{Observer, Silent};
use crate::patches::{PatchSpec, Patches};
pub use crate::patterns::PatternChoice;
use crate::patterns::{
    enumerate_exact, general_position_count, rank_of, sample_gaussian, Hyperplanes,
};
use crate::program::maxpool::{max_program, MaxArrangement};
use crate::program::{Pooling, TwoLayerProgram};
use crate::recovery::{check_patterns, prune, recover, PatternCheck};
use crate::solver::{
    refit_support, solve_ipm_priced, IpmSettings, PricingInfo, PricingSettings, SolveStatus,
};
use std::time::Instant;

/// Settings of a training run.
#[derive(Debug, Clone, Copy)]
pub struct TrainConfig {
    /// First-layer geometry.
    pub spec: PatchSpec,
    /// Global pooling.
    pub pool: Pooling,
    /// Weight decay `β > 0`.
    pub beta: f64,
    /// Exact or sampled patterns.
    pub patterns: PatternChoice,
    /// Interior-point settings.
    pub ipm: IpmSettings,
    /// Refuse exact enumeration when the pattern bound exceeds this.
    pub max_exact_patterns: u128,
    /// Prune the recovered network to at most `n + 1` filters.
    pub prune: bool,
    /// Bytes the interior-point solve may use: a program whose estimate
    /// ([`crate::resources::priced_ipm_bytes`] for exact patterns, [`crate::resources::ipm_bytes`]
    /// for sampled ones) exceeds it is refused before it is assembled.
    pub max_memory: u64,
}

impl TrainConfig {
    /// Exact patterns, sum pooling, the default interior point, pruning, and a limit of two
    /// million patterns for exact enumeration.
    pub fn new(spec: PatchSpec, beta: f64) -> Self {
        TrainConfig {
            spec,
            pool: Pooling::Sum,
            beta,
            patterns: PatternChoice::Exact,
            ipm: IpmSettings::default(),
            max_exact_patterns: 2_000_000,
            prune: true,
            max_memory: crate::resources::default_limit(),
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if !(self.beta > 0.0 && self.beta.is_finite()) {
            return Err(Error::param(
                "beta",
                format!("β must be positive and finite, got {}", self.beta),
            ));
        }
        if let PatternChoice::Sample { draws, .. } = self.patterns {
            if draws == 0 {
                return Err(Error::param("patterns", "sample:N needs N ≥ 1"));
            }
        }
        if self.ipm.tol.is_nan() || self.ipm.tol <= 0.0 {
            return Err(Error::param(
                "tol",
                format!("tolerance must be positive, got {}", self.ipm.tol),
            ));
        }
        Ok(())
    }
}

/// Seconds spent per stage.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Timings {
    /// Patch extraction and hyperplanes.
    pub patches: f64,
    /// Pattern enumeration or sampling.
    pub patterns: f64,
    /// Program assembly.
    pub assemble: f64,
    /// Interior-point solve.
    pub solve: f64,
    /// Recovery and pruning.
    pub recovery: f64,
    /// Certificate (γ computations).
    pub certificate: f64,
}

/// Everything a training run produces.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The recovered (and pruned) network.
    pub network: TwoLayerCnn,
    /// Convex objective at the solver's point.
    pub objective: f64,
    /// Objective of the recovered network, from its own forward pass.
    pub network_objective: f64,
    /// Certificate of the recovered network.
    pub certificate: Certificate,
    /// `β_max = γ(y)`.
    pub beta_max: f64,
    /// Patterns found (regions, including any with `A_i = 0`).
    pub patterns: usize,
    /// Blocks in the program (patterns with `A_i ≠ 0`).
    pub blocks: usize,
    /// Distinct hyperplanes of the patch matrix.
    pub hyperplanes: usize,
    /// Rank of the patch matrix.
    pub rank: usize,
    /// General-position pattern count for `nK` rows in rank `r` (MATH.md section 2).
    pub pattern_bound_rows: u128,
    /// The same with the distinct hyperplanes only.
    pub pattern_bound_hyperplanes: u128,
    /// Samples, positions, filter size.
    pub n: usize,
    /// Positions `K`.
    pub k: usize,
    /// Filter size `h`.
    pub h: usize,
    /// Solver status.
    pub status: SolveStatus,
    /// Whether the solution was refitted on its support (see [`refit_support`]).
    pub refitted: bool,
    /// Interior-point iterations.
    pub iterations: u32,
    /// Largest relative cone-constraint violation of the solution.
    pub constraint_violation: f64,
    /// Recovered filters vs block patterns.
    pub pattern_check: PatternCheck,
    /// Filters before pruning.
    pub filters_before_pruning: usize,
    /// The working-set solve: rounds, blocks and facet rows the interior point saw.
    pub working_set: PricingInfo,
    /// Per-stage times.
    pub timings: Timings,
    /// Total seconds.
    pub seconds: f64,
}

/// Smallest `β/β_max` that an f64 interior-point solve resolves: below it the optimum is within
/// the solver's tolerances of zero loss and the certificate cannot close (measured: 40 MNIST
/// digits at `β/β_max ≈ 1e-10` end `inaccurate`; at 1e-8 they solve and certify).
pub const MIN_BETA_RATIO: f64 = 1e-12;

/// Refuses a `β` that f64 cannot resolve against `β_max`, and data whose `β_max` overflows.
fn check_beta_scale(beta: f64, beta_max: f64) -> Result<()> {
    if !beta_max.is_finite() {
        return Err(Error::param(
            "data",
            format!(
                "the inputs are too large for f64: β_max = γ(y) = {beta_max} (the program's products overflow); scale the inputs down"
            ),
        ));
    }
    if beta_max > 0.0 && beta < MIN_BETA_RATIO * beta_max {
        return Err(Error::param(
            "beta",
            format!(
                "β = {beta:e} is {:.1e} of β_max = {beta_max:.3e}, below what f64 resolves ({MIN_BETA_RATIO:e}); raise β, or scale the inputs down (inputs scaled by s act as β/s)",
                beta / beta_max
            ),
        ));
    }
    Ok(())
}

/// Trains the two-layer CNN on `ds` with scalar targets `y`.
pub fn train(
    ds: &Dataset,
    y: &[f64],
    cfg: &TrainConfig,
    obs: &mut dyn Observer,
) -> Result<TrainOutcome> {
    cfg.validate()?;
    let t0 = Instant::now();
    // `ipm.time_limit` bounds the whole run: the solve gets what the stages before it left.
    let left = || (cfg.ipm.time_limit - t0.elapsed().as_secs_f64()).max(0.0);
    let mut tm = Timings::default();
    obs.stage("patches");
    let patches = Patches::extract(&ds.x, ds.n(), &ds.shape, &cfg.spec)?;
    // The arrangement whose regions are the patterns: the patch rows, or for max pooling the
    // rows that fix every sample's argmax.
    let arrangement = (cfg.pool == Pooling::Max).then(|| MaxArrangement::new(&patches));
    let rows = arrangement.as_ref().map_or(&patches, |a| &a.rows);
    let hyperplanes = Hyperplanes::from_patches(rows);
    tm.patches = t0.elapsed().as_secs_f64();

    let t = Instant::now();
    let (rank, _) = rank_of(rows);
    // The solve's memory at `p` patterns, before any is spent.
    let (n, h, g) = (patches.n, patches.h, hyperplanes.len());
    // Exact programs are solved over working sets on their cells' facets; sampled ones may be
    // solved whole.
    let fits = |p: f64, what: String, instead: &str| {
        let need = match cfg.patterns {
            PatternChoice::Exact => crate::resources::priced_ipm_bytes(p, n, h, g),
            PatternChoice::Sample { .. } => crate::resources::ipm_bytes(p, n, h, g),
        };
        crate::resources::check(&what, need, cfg.max_memory, instead)
    };
    let (set, scope) = match cfg.patterns {
        PatternChoice::Exact => {
            obs.stage("enumerating patterns");
            let set = enumerate_exact(rows, &hyperplanes, cfg.max_exact_patterns, &mut |d, t| {
                obs.progress(d, t)
            })?;
            fits(
                set.len() as f64,
                format!("the interior-point solve of all {} patterns", set.len()),
                "sample patterns instead (--patterns sample:N)",
            )?;
            (set, Scope::Global)
        }
        PatternChoice::Sample { draws, seed } => {
            // At most `draws` distinct patterns, and never more than the arrangement has.
            let most = (draws as u128).min(general_position_count(g, rank.max(1)));
            fits(
                most as f64,
                format!("the interior-point solve of up to {most} sampled patterns"),
                "sample fewer (--patterns sample:N)",
            )?;
            obs.stage("sampling patterns");
            (
                sample_gaussian(&hyperplanes, draws, seed),
                Scope::Restricted,
            )
        }
    };
    tm.patterns = t.elapsed().as_secs_f64();

    let t = Instant::now();
    obs.stage("assembling the program");
    let hcount = hyperplanes.len();
    let prog = match &arrangement {
        Some(arr) => max_program(&patches, arr, hyperplanes, &set, y, cfg.beta)?,
        None => TwoLayerProgram::new(&patches, hyperplanes, &set, y, cfg.beta, cfg.pool)?,
    };
    tm.assemble = t.elapsed().as_secs_f64();

    let t = Instant::now();
    obs.stage("interior-point solve");
    // With every region enumerated, each block's cone is cut down to its cell's facets: the
    // same program with a few rows per cone, for the solve, the refit and the certificate.
    // (Max pooling's cones are not the cells of one arrangement: they keep their rows.)
    let lean =
        (scope == Scope::Global && arrangement.is_none()).then(|| prog.with_cell_facets(&set));
    let solved = lean.as_ref().unwrap_or(&prog);
    // β against β_max = γ(y), before any solve: the same program with the inputs scaled by `s`
    // is this one at β/s, so badly scaled data shows here as a β that f64 cannot resolve.
    let beta_max = beta_max(solved)?;
    check_beta_scale(cfg.beta, beta_max)?;
    // Under a time limit the solve leaves room for the certificate: its passes over every
    // block (the residual, the dual point and β_max) cost 5–11 pricing passes (measured on
    // 102,082 patterns: 0.9–1.8 s against a 0.16 s pass).
    let pricing_settings = PricingSettings {
        reserve_passes: if cfg.ipm.time_limit.is_finite() {
            8.0
        } else {
            0.0
        },
        ..PricingSettings::default()
    };
    // The solve gets what the stages before it left (the cells' facets and β_max included).
    let limited = IpmSettings {
        time_limit: left(),
        ..cfg.ipm
    };
    let (sol, info, pricing) = solve_ipm_priced(solved, &limited, &pricing_settings)?;
    let objective = prog.objective(&sol);
    // Refit on the support at a tight tolerance (kept only if not worse than 1e-8 relative).
    let tight = IpmSettings {
        tol: 1e-12,
        time_limit: left(),
        ..cfg.ipm
    };
    // The refit only polishes a finished solve, within the time left.
    let refit = if info.status == SolveStatus::MaxTime || tight.time_limit <= 0.0 {
        None
    } else {
        refit_support(solved, &sol, &tight, 1e-8)?
    };
    let (sol, refitted) = match refit {
        Some((s, _)) => (s, true),
        None => (sol, false),
    };
    let objective = if refitted {
        objective.min(prog.objective(&sol))
    } else {
        objective
    };
    tm.solve = t.elapsed().as_secs_f64();

    let t = Instant::now();
    obs.stage("recovery and pruning");
    let violation = prog.max_violation(&crate::recovery::drop_inactive(&prog, &sol));
    let filters_before = crate::recovery::active_vars(&prog, &sol).len();
    let pruned = if cfg.prune {
        prune(&prog, &sol)?
    } else {
        crate::recovery::drop_inactive(&prog, &sol)
    };
    let (network, vars) = recover(&prog, &pruned, ds.shape, cfg.spec, cfg.pool);
    let pattern_check = check_patterns(&prog, rows, &network, &vars);
    let f = network.predict(&ds.x)?;
    let network_objective = network.objective(&ds.x, y, cfg.beta)?;
    tm.recovery = t.elapsed().as_secs_f64();

    let t = Instant::now();
    obs.stage("certificate");
    let certificate = certify(
        solved,
        &f,
        network_objective,
        scope,
        std::slice::from_ref(&info.dual_point),
    )?;
    tm.certificate = t.elapsed().as_secs_f64();

    Ok(TrainOutcome {
        network,
        objective,
        network_objective,
        certificate,
        beta_max,
        patterns: set.len(),
        blocks: prog.blocks.len(),
        hyperplanes: hcount,
        rank,
        pattern_bound_rows: general_position_count(rows.rows(), rank),
        pattern_bound_hyperplanes: general_position_count(hcount, rank),
        n: patches.n,
        k: patches.k,
        h: patches.h,
        status: info.status,
        refitted,
        iterations: info.iterations,
        constraint_violation: violation,
        pattern_check,
        filters_before_pruning: filters_before,
        working_set: pricing,
        timings: tm,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
