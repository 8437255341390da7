//! Settings → one validated [`Architecture`]: the choices a run makes (architecture, pooling,
//! head, geometry, β, patterns, solver, loss, limits), as plain values, and the functions that
//! turn them into the library's architecture structs. The command line (`cli/src/flags.rs`)
//! and the Python bindings (`py/`) both fill a [`Settings`] and call [`architecture`], so both
//! build the same architecture from the same choices. Text values (`kernel = "3x5"`,
//! `beta = "path:10"`, `patterns = "sample:40"`) are parsed here, once.
//!
//! Errors name the setting (`kernel`, `max_iter`); the command line shows them as its flags.
//! [`Settings`] deserializes from JSON with the command line's defaults for every absent field.

use crate::arch::circular::Circular;
use crate::arch::linear::{Linear, LinearHead};
use crate::arch::local_pool::{LocalConfig, LocalPool, WindowPool};
use crate::arch::three_layer::first_order::FirstOrderSettings;
use crate::arch::three_layer::{ThreeLayer, ThreeLayerPatterns, ThreeLayerSolver};
use crate::arch::two_layer::classifier::{CheckpointPlan, ClassifierConfig, FirstOrder};
use crate::arch::two_layer::train::TrainConfig;
use crate::arch::two_layer::TrainedPatterns;
use crate::arch::{Architecture, BetaChoice, Classifier, TwoLayer};
use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::patches::PatchSpec;
use crate::patterns::PatternChoice;
use crate::program::Pooling;
use crate::solver::{AlSettings, IpmSettings, IterLimits, ProxAlSettings};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Architecture family.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    /// Two-layer ReLU CNN: convolution, ReLU, pooling, linear output.
    #[default]
    TwoLayer,
    /// Circular CNN on single-channel 1-D signals.
    Circular,
    /// Linear CNN (no activation).
    Linear,
    /// Three-layer CNN with two ReLU layers.
    ThreeLayer,
}

/// Another architecture whose optimum a run also reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Also {
    /// The two-layer CNN with sum pooling and the same first layer (beside a three-layer run).
    TwoLayer,
}

/// Output head.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Head {
    /// Global pooling, one output weight per filter.
    Pool,
    /// Local pooling windows, a linear layer over them, ℓ1-squared output penalty.
    L1,
    /// A linear layer over all positions (linear CNNs).
    Fc,
    /// Weight decay on a vector of output weights per filter (the SDP; feature `sdp`).
    Shared,
}

/// Pooling after the activation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Pool {
    /// Sum over positions.
    #[default]
    Sum,
    /// Average over positions.
    Avg,
    /// Maximum over positions (scalar outputs).
    Max,
}

/// Solver.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Solver {
    /// Interior point (Clarabel).
    Ipm,
    /// Augmented Lagrangian (classifiers; three-layer over a working set; circular L = 3).
    Al,
    /// FISTA on the gated relaxation (classifiers; a bound, not a ReLU network).
    Gated,
    /// Projected FISTA (classifiers).
    Proj,
    /// ADMM with one factored system for the loss (classifiers, squared loss).
    Admm,
    /// Conditional gradient (three-layer).
    Cg,
}

/// Loss of a classifier.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LossChoice {
    /// ½ Σ_t ‖f_t − y_t‖² (one-hot targets for classifiers).
    #[default]
    Squared,
    /// Softmax cross-entropy, summed over samples (classifiers).
    Ce,
}

/// Input normalization of a classifier.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Normalize {
    /// Inputs as given.
    #[default]
    None,
    /// Per-channel mean 0, standard deviation 1, from the training part.
    Standardize,
}

/// The first layer's geometry as text: `K` or `KxL` each (the defaults depend on the mode).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PatchSettings {
    /// Kernel `K` or `KxL` [default: 3; classifiers: a 2×2 grid, `⌈H/2⌉ × ⌈W/2⌉`].
    pub kernel: Option<String>,
    /// Stride `S` or `SxT` [default: 1; classifiers: `⌊H/2⌋ × ⌊W/2⌋`, or the kernel when one
    /// is given].
    pub stride: Option<String>,
    /// Zero padding `P` or `PxQ`.
    pub padding: String,
    /// Give every filter a bias (scalar outputs).
    pub bias: bool,
    /// No bias (classifiers have one unless this is set).
    pub no_bias: bool,
}

impl Default for PatchSettings {
    fn default() -> Self {
        PatchSettings {
            kernel: None,
            stride: None,
            padding: "0".into(),
            bias: false,
            no_bias: false,
        }
    }
}

/// Every choice of a training run, with the command line's defaults (`cvxcnn train --help`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Architecture family.
    pub arch: Arch,
    /// Pooling after the ReLU.
    pub pool: Pool,
    /// Layers `L` of a circular CNN.
    pub layers: usize,
    /// Also report another architecture's optimum (three-layer: two-layer).
    pub also: Option<Also>,
    /// Circular CNNs: the spectral path norm instead of weight decay.
    pub path_norm: bool,
    /// Output head [default: pool].
    pub head: Option<Head>,
    /// Local pooling window (with `head = l1` or `shared`).
    pub windows: Option<usize>,
    /// First-layer geometry.
    #[serde(flatten)]
    pub patch: PatchSettings,
    /// `β` (classifiers also take `B1,B2,…` or `path:N`) [default: 0.1; classifiers: 1].
    pub beta: Option<String>,
    /// `exact`, `sample:N`, or for classifiers `data:N`, `gates:FILE.npy` or `adam:W` [default:
    /// exact; classifiers: adam:8].
    pub patterns: Option<String>,
    /// Seed of the pattern sampler (and of a classifier's split).
    pub seed: u64,
    /// Solver [default: ipm; classifiers: admm (squared loss) or proj (ce)].
    pub solver: Option<Solver>,
    /// Loss.
    pub loss: LossChoice,
    /// Fraction held out for testing (classifiers).
    pub test_fraction: f64,
    /// Input normalization (classifiers).
    pub normalize: Normalize,
    /// Outer iterations of a first-order solver [default: 30; classifiers with admm: 12].
    pub max_iter: Option<usize>,
    /// Inner iterations per outer iteration [default: 50; admm: 10].
    pub inner_iter: Option<usize>,
    /// Safety cap in seconds on the run: of a first-order solve (classifiers: the whole fit)
    /// [default: 60]; of the two-layer interior-point run when given [default: none].
    pub time_limit: Option<f64>,
    /// Fresh patterns drawn for the global-optimality estimate (classifiers; 0: none).
    pub fresh: usize,
    /// Seconds allowed for exact dual-constraint values in each certificate (classifiers).
    pub certificate_budget: f64,
    /// Most column-generation rounds after the first-order solve (classifiers, squared loss;
    /// 0: none).
    pub polish_rounds: usize,
    /// Most rounds of pattern pricing after the polish (classifiers, squared loss; 0: none).
    pub pattern_rounds: usize,
    /// Keep every filter the solver returns (no Carathéodory pruning).
    pub no_prune: bool,
    /// Refuse exact enumeration above this many patterns.
    pub max_exact: u128,
    /// Memory a solve may use, as a size (`8G`, `512M`; default: 80% of the memory available
    /// when the run starts).
    pub max_memory: Option<String>,
    /// Target relative gap: interior point, and first-order classifier solvers [default: 1e-9;
    /// classifiers: 1e-3].
    pub tol: Option<f64>,
    /// Whether the targets were made ±1 from two chosen classes (the command line's
    /// `--classes A,B`): such data train a scalar output, never the classifier.
    pub two_classes: bool,
    /// Checkpoints of the classifier's ADMM solve (other runs write none).
    pub checkpoint: Option<CheckpointSettings>,
}

/// Checkpoints of a long solve: the classifier's ADMM solve with one β writes its state every
/// `every` seconds (and when interrupted), and `resume` continues from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointSettings {
    /// The checkpoint file.
    pub path: std::path::PathBuf,
    /// Least seconds between two checkpoints (0: at every check of the solver).
    pub every: f64,
    /// Continue from the checkpoint at `path`.
    pub resume: bool,
    /// Stored in the checkpoint as is (the command line, say).
    pub context: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            arch: Arch::TwoLayer,
            pool: Pool::Sum,
            layers: 3,
            also: None,
            path_norm: false,
            head: None,
            windows: None,
            patch: PatchSettings::default(),
            beta: None,
            patterns: None,
            seed: 0,
            solver: None,
            loss: LossChoice::Squared,
            test_fraction: 0.2,
            normalize: Normalize::None,
            max_iter: None,
            inner_iter: None,
            time_limit: None,
            fresh: 200,
            certificate_budget: 30.0,
            polish_rounds: DEFAULT_POLISH_ROUNDS,
            pattern_rounds: DEFAULT_PATTERN_ROUNDS,
            no_prune: false,
            max_exact: 2_000_000,
            max_memory: None,
            tol: None,
            two_classes: false,
            checkpoint: None,
        }
    }
}

/// `N` or `NxM` (`x`, `X` or `×`) as whole numbers; errors name `flag`.
fn parse_pair(flag: &str, s: &str) -> Result<(usize, Option<usize>)> {
    let bad = || Error::param(flag, format!("'{s}' is not N or NxM with whole numbers"));
    let parts: Vec<&str> = s.split(['x', 'X', '×']).collect();
    match parts.as_slice() {
        [a] => Ok((a.trim().parse().map_err(|_| bad())?, None)),
        [a, b] => Ok((
            a.trim().parse().map_err(|_| bad())?,
            Some(b.trim().parse().map_err(|_| bad())?),
        )),
        _ => Err(bad()),
    }
}

/// The first layer's geometry on the samples of `ds` (defaults: kernel 3, stride 1, no bias;
/// for a classifier the grid below and a bias).
///
/// Classifiers without a kernel take a 2×2 grid of patches of the input (kernel `⌈H/2⌉ × ⌈W/2⌉`,
/// stride `⌊H/2⌋ × ⌊W/2⌋`, at least 1; 14×14 stride 14 on 28×28 digits, 4×4 on 8×8, 16×16 on
/// 32×32), and without a stride take the kernel (patches side by side).
pub fn patch_spec(p: &PatchSettings, ds: &Dataset, classifier: bool) -> Result<PatchSpec> {
    let (h, w) = (ds.shape.height, ds.shape.width);
    let half = |n: usize| (n.div_ceil(2).max(1), (n / 2).max(1));
    let (dk, ds_) = match (classifier, ds.shape.one_d) {
        (false, _) => ("3".to_string(), "1".to_string()),
        (true, true) => {
            let (k, s) = half(w);
            (k.to_string(), s.to_string())
        }
        (true, false) => {
            let ((kh, sh), (kw, sw)) = (half(h), half(w));
            (format!("{kh}x{kw}"), format!("{sh}x{sw}"))
        }
    };
    let kernel_text = p.kernel.as_deref().unwrap_or(&dk);
    let stride_default = if classifier && p.kernel.is_some() {
        kernel_text
    } else {
        &ds_
    };
    let (k1, k2) = parse_pair("kernel", kernel_text)?;
    let (s1, s2) = parse_pair("stride", p.stride.as_deref().unwrap_or(stride_default))?;
    let bias = if classifier { !p.no_bias } else { p.bias };
    let (p1, p2) = parse_pair("padding", &p.padding)?;
    if ds.shape.one_d {
        for (flag, second) in [("kernel", k2), ("stride", s2), ("padding", p2)] {
            if second.is_some() {
                return Err(Error::param(
                    flag,
                    "the data are 1-D signals: give a single number",
                ));
            }
        }
        Ok(PatchSpec::one_d(k1, s1, p1, bias))
    } else {
        Ok(PatchSpec {
            kernel_h: k1,
            kernel_w: k2.unwrap_or(k1),
            stride_h: s1,
            stride_w: s2.unwrap_or(s1),
            pad_h: p1,
            pad_w: p2.unwrap_or(p1),
            bias,
        })
    }
}

/// `A,B`: the two class labels of a two-class run (the first becomes target −1, the second +1).
pub fn parse_classes(s: &str) -> Result<(i64, i64)> {
    s.split_once(',')
        .and_then(|(a, b)| Some((a.trim().parse::<i64>().ok()?, b.trim().parse::<i64>().ok()?)))
        .ok_or_else(|| Error::param("classes", format!("'{s}' is not A,B with two integers")))
}

/// `exact` or `sample:N` (seeded by `seed`).
pub fn parse_patterns(s: &str, seed: u64) -> Result<PatternChoice> {
    if s == "exact" {
        return Ok(PatternChoice::Exact);
    }
    if let Some(n) = s.strip_prefix("sample:") {
        let draws: usize = n.parse().map_err(|_| {
            Error::param(
                "patterns",
                format!("'{s}': N in sample:N must be a whole number"),
            )
        })?;
        if draws == 0 {
            return Err(Error::param(
                "patterns",
                format!("'{s}': N must be at least 1"),
            ));
        }
        return Ok(PatternChoice::Sample { draws, seed });
    }
    Err(Error::param(
        "patterns",
        format!("'{s}' is neither exact nor sample:N"),
    ))
}

/// One `β`: positive and finite.
pub fn parse_beta(s: &str) -> Result<f64> {
    let b: f64 = s
        .parse()
        .map_err(|_| Error::param("beta", format!("'{s}' is not a number")))?;
    if !(b > 0.0 && b.is_finite()) {
        return Err(Error::param(
            "beta",
            format!("β must be positive and finite, got {s}"),
        ));
    }
    Ok(b)
}

/// Whether the flags and data ask for the multi-output classifier (else the scalar program).
pub fn wants_classifier(a: &Settings, ds: &Dataset) -> bool {
    let multi_class = match &ds.targets {
        Targets::Classes(y) => {
            let mut c = y.clone();
            c.sort_unstable();
            c.dedup();
            c.len() > 2
        }
        Targets::Real(_) => false,
    };
    !a.two_classes
        && matches!(ds.targets, Targets::Classes(_))
        && (multi_class
            || a.loss == LossChoice::Ce
            || matches!(a.solver, Some(Solver::Al | Solver::Gated | Solver::Proj)))
}

/// The interior-point settings of `--tol`.
fn ipm(a: &Settings) -> IpmSettings {
    IpmSettings {
        tol: a.tol.unwrap_or(1e-9),
        // Checked positive by `architecture`; unbounded unless given.
        time_limit: a.time_limit.unwrap_or(f64::INFINITY),
        ..IpmSettings::default()
    }
}

/// The time limit of first-order solves: the one given, or 60 s.
fn first_order_limit(a: &Settings) -> Result<f64> {
    let t = a.time_limit.unwrap_or(60.0);
    if t.is_nan() || t <= 0.0 {
        return Err(Error::param(
            "time_limit",
            format!("must be positive, got {t}"),
        ));
    }
    Ok(t)
}

/// `--beta` for the single-β architectures [default 0.1].
fn beta(a: &Settings) -> Result<f64> {
    parse_beta(a.beta.as_deref().unwrap_or("0.1"))
}

/// The library's pooling for the command-line choice.
fn pooling(p: Pool) -> Pooling {
    match p {
        Pool::Sum => Pooling::Sum,
        Pool::Avg => Pooling::Avg,
        Pool::Max => Pooling::Max,
    }
}

/// The architecture that `--arch`, `--head`, `--windows`, `--pool`, `--layers` and the data
/// select, validated: the one road of `train` (and of `compare` outside the two-layer CNN).
pub fn architecture(a: &Settings, ds: &Dataset) -> Result<Box<dyn Architecture>> {
    if let Some(t) = a.time_limit {
        if t.is_nan() || t <= 0.0 {
            return Err(Error::param(
                "time_limit",
                format!("must be positive, got {t}"),
            ));
        }
    }
    if let Some(c) = &a.checkpoint {
        if !(c.every >= 0.0 && c.every.is_finite()) {
            return Err(Error::param(
                "checkpoint_every",
                format!("must be a number of seconds ≥ 0, got {}", c.every),
            ));
        }
        if c.resume
            && !(a.arch == Arch::TwoLayer
                && a.head.is_none()
                && a.windows.is_none()
                && wants_classifier(a, ds))
        {
            return Err(Error::param(
                "resume",
                "only the multi-class classifier's ADMM solve writes checkpoints; this run has none to continue",
            ));
        }
    }
    if a.arch == Arch::Circular {
        return Ok(Box::new(circular(a, ds)?));
    }
    if a.arch == Arch::ThreeLayer {
        return Ok(Box::new(three_layer(a, ds)?));
    }
    if a.also.is_some() {
        return Err(Error::param(
            "also",
            "--also two-layer is for --arch three-layer",
        ));
    }
    if a.path_norm {
        return Err(Error::param(
            "path_norm",
            "the spectral path norm is for --arch circular",
        ));
    }
    if a.arch == Arch::Linear {
        if a.windows.is_some() {
            return Err(Error::param(
                "windows",
                "local pooling windows are for --arch two-layer --head l1",
            ));
        }
        return Ok(Box::new(linear(a, ds)?));
    }
    if a.head == Some(Head::Shared) {
        return shared(a, ds);
    }
    match (a.head, a.windows) {
        (Some(Head::L1), Some(w)) => return Ok(Box::new(local_pool(a, ds, w)?)),
        (Some(Head::L1), None) => {
            return Err(Error::param(
                "head",
                "--head l1 needs --windows W (the local pooling window)",
            ))
        }
        (_, Some(_)) => {
            return Err(Error::param(
                "windows",
                "local pooling windows need --head l1 (the ℓ1-squared output penalty)",
            ))
        }
        (Some(Head::Fc), None) => {
            return Err(Error::param("head", "--head fc is for --arch linear"))
        }
        _ => {}
    }
    if wants_classifier(a, ds) {
        Ok(Box::new(classifier(a, ds)?))
    } else {
        Ok(Box::new(two_layer(a, ds)?))
    }
}

/// The two-layer CNN with one output (interior point; exact or sampled patterns).
pub fn two_layer(a: &Settings, ds: &Dataset) -> Result<TwoLayer> {
    if a.loss == LossChoice::Ce {
        return Err(Error::param(
            "loss",
            "cross-entropy needs class labels (and no --classes A,B)",
        ));
    }
    if matches!(
        a.solver,
        Some(Solver::Al | Solver::Gated | Solver::Proj | Solver::Cg)
    ) {
        return Err(Error::param(
            "solver",
            "the first-order solvers train classifiers (data with class labels, no --classes A,B) and three-layer CNNs (cg, al); use ipm for a two-layer scalar output",
        ));
    }
    let beta = beta(a)?;
    let patterns = parse_patterns(a.patterns.as_deref().unwrap_or("exact"), a.seed)?;
    let spec = patch_spec(&a.patch, ds, false)?;
    spec.output_dims(&ds.shape)?;
    Ok(TwoLayer {
        cfg: TrainConfig {
            spec,
            pool: pooling(a.pool),
            beta,
            patterns,
            ipm: ipm(a),
            max_exact_patterns: a.max_exact,
            prune: !a.no_prune,

            max_memory: max_memory(a)?,
        },
    })
}

/// `max_memory`: the size given, or 80% of the available memory.
fn max_memory(a: &Settings) -> Result<u64> {
    a.max_memory.as_deref().map_or_else(
        || Ok(crate::resources::default_limit()),
        crate::resources::parse_size,
    )
}

/// `--beta B`, `B1,B2,…` or `path:N`.
fn parse_betas(s: &str) -> Result<BetaChoice> {
    if let Some(n) = s.strip_prefix("path:") {
        let n: usize = n
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| Error::param("beta", format!("'{s}': N in path:N must be ≥ 1")))?;
        return Ok(BetaChoice::Path(n));
    }
    Ok(BetaChoice::List(
        s.split(',')
            .map(|b| parse_beta(b.trim()))
            .collect::<Result<_>>()?,
    ))
}

/// Bytes of a first-order classifier solve beyond the program's operator: the working sets of
/// the cone projections of ADMM and projected FISTA (at most `rows_per_block` rows of `h`
/// values for each of the `2PC` blocks) and, for ADMM, the Gram matrix of its loss system and
/// its Cholesky factor (`min(n, Ph)²` values each). On the default run the estimate with the operator's three
/// copies is 1.65 GB against a measured peak of 1.42 GB (BENCHMARKS.md, 2026-12-08).
fn solver_bytes(patterns: f64, n: f64, h: f64, classes: f64, solver: FirstOrder) -> f64 {
    let rows = crate::solver::AdmmSettings::default().rows_per_block as f64;
    let working_sets = 2.0 * patterns * classes * rows * h * 8.0;
    match solver {
        FirstOrder::Admm => working_sets + 2.0 * n.min(patterns * h).powi(2) * 8.0,
        FirstOrder::Projected => working_sets,
        FirstOrder::AugmentedLagrangian | FirstOrder::Gated => 0.0,
    }
}

/// Epochs of the Adam run behind `patterns = adam:W`.
const TRAINED_EPOCHS: usize = 20;
/// Checks (of 10 ADMM steps each) of a default classifier solve: the solve ends on this count,
/// so the same command gives the same model on any machine (120 steps took 37 s on the 2-core
/// machine of BENCHMARKS.md, inside the default 60 s limit).
const DEFAULT_ADMM_CHECKS: usize = 12;

/// Default most rounds of the classifier's column-generation polish.
pub const DEFAULT_POLISH_ROUNDS: usize = 40;
/// Default most rounds of the classifier's pattern pricing.
pub const DEFAULT_PATTERN_ROUNDS: usize = 0;
/// Filters per output of the default `patterns = adam:W` (measured in BENCHMARKS.md).
const DEFAULT_TRAINED_WIDTH: usize = 8;

/// The multi-output classifier (sampled patterns, first-order solver).
pub fn classifier(a: &Settings, ds: &Dataset) -> Result<Classifier> {
    // ADMM for the squared loss (one factored system for the loss), projected FISTA for
    // cross-entropy.
    let default_solver = match a.loss {
        LossChoice::Squared => Solver::Admm,
        LossChoice::Ce => Solver::Proj,
    };
    let solver = match a.solver.unwrap_or(default_solver) {
        Solver::Al => FirstOrder::AugmentedLagrangian,
        Solver::Gated => FirstOrder::Gated,
        Solver::Proj => FirstOrder::Projected,
        Solver::Admm if a.loss == LossChoice::Ce => {
            return Err(Error::param(
                "solver",
                "admm solves the squared loss; use proj or al with the cross-entropy loss",
            ))
        }
        Solver::Admm => FirstOrder::Admm,
        Solver::Ipm => {
            return Err(Error::param(
                "solver",
                "the interior-point solver handles scalar outputs (pick two classes with --classes A,B); classifiers use proj, al or gated",
            ))
        }
        Solver::Cg => {
            return Err(Error::param(
                "solver",
                "cg is the three-layer solver (--arch three-layer); classifiers use proj, al or gated",
            ))
        }
    };
    let pattern_text = a
        .patterns
        .clone()
        .unwrap_or_else(|| format!("adam:{DEFAULT_TRAINED_WIDTH}"));
    let trained = match pattern_text.strip_prefix("adam:") {
        Some(w) => {
            let width: usize = w.parse().map_err(|_| {
                Error::param(
                    "patterns",
                    format!("adam:W needs a number of filters per output W ≥ 1, got {w:?}"),
                )
            })?;
            if width == 0 || width > 4096 {
                return Err(Error::param(
                    "patterns",
                    format!("adam:W needs 1 ≤ W ≤ 4096 filters per output, got {width}"),
                ));
            }
            Some(TrainedPatterns {
                width,
                epochs: TRAINED_EPOCHS,
            })
        }
        None => None,
    };
    let gates = match pattern_text.strip_prefix("gates:") {
        Some(file) => {
            let path = Path::new(file);
            let (rows, cols, v) = crate::data::read_npy_matrix(path)?;
            let h = patch_spec(&a.patch, ds, true)?.filter_len(&ds.shape);
            if cols != h || rows == 0 {
                return Err(Error::format(
                    path,
                    format!("gates have shape ({rows}, {cols}); expected (p, {h}): one filter of size h = {h} per row"),
                ));
            }
            Some((rows, v))
        }
        None => None,
    };
    let (from_data, ptext) = match (pattern_text.strip_prefix("data:"), &gates) {
        _ if trained.is_some() => (false, "sample:1".to_string()),
        (_, Some((rows, _))) => (false, format!("sample:{rows}")),
        (Some(n), None) => (true, format!("sample:{n}")),
        (None, None) => (false, pattern_text.clone()),
    };
    let draws = match parse_patterns(&ptext, a.seed)? {
        PatternChoice::Sample { draws, .. } => draws,
        PatternChoice::Exact => {
            return Err(Error::param(
                "patterns",
                "classifiers use sampled patterns: give data:N or sample:N",
            ))
        }
    };
    // Patterns of the program: an `adam:W` start gives up to W per class.
    let program_patterns = match &trained {
        Some(t) => t
            .width
            .saturating_mul(ds.class_index().map_or(1, |c| c.labels.len().max(1))),
        None => draws,
    };
    let time_limit = first_order_limit(a)?;
    if a.max_iter == Some(0) || a.inner_iter == Some(0) {
        return Err(Error::param(
            "max_iter",
            "iteration limits must be at least 1",
        ));
    }
    let spec = patch_spec(&a.patch, ds, true)?;
    let (oh, ow) = spec.output_dims(&ds.shape)?;
    // Memory before any is spent: the program's operator holds one `n × h` block per pattern
    // (with the solver's copies, three), the fresh batch one pattern of `n·K` bits per draw.
    let limit = max_memory(a)?;
    let (n, k, h) = (
        ds.n() as f64,
        (oh * ow) as f64,
        spec.filter_len(&ds.shape) as f64,
    );
    let classes = ds.class_index().map_or(1, |c| c.labels.len().max(1)) as f64;
    crate::resources::check(
        &format!("the program of up to {program_patterns} patterns"),
        program_patterns as f64 * n * h * 8.0 * 3.0
            + solver_bytes(program_patterns as f64, n, h, classes, solver),
        limit,
        "fewer patterns (--patterns sample:N or adam:W)",
    )?;
    if a.pattern_rounds > 0 {
        if a.polish_rounds == 0 || a.loss != LossChoice::Squared {
            return Err(Error::param(
                "pattern_rounds",
                format!(
                    "{} pattern rounds need the polish (polish rounds ≥ 1, got {}) and the squared loss (got {:?})",
                    a.pattern_rounds, a.polish_rounds, a.loss
                ),
            ));
        }
        let most = program_patterns
            + a.pattern_rounds
                .saturating_mul(crate::patterns::AscentSettings::default().max_new);
        crate::resources::check(
            &format!(
                "the program grown by {} pattern rounds (up to {most} patterns)",
                a.pattern_rounds
            ),
            most as f64 * n * h * 8.0 * 3.0 + solver_bytes(most as f64, n, h, classes, solver),
            limit,
            "fewer rounds (--pattern-rounds N)",
        )?;
    }
    crate::resources::check(
        &format!("a fresh batch of {} patterns", a.fresh),
        a.fresh as f64 * (n * k / 8.0 + 64.0),
        limit,
        "draw fewer (--fresh N)",
    )?;
    let pool = match a.pool {
        Pool::Max => {
            return Err(Error::param(
                "pool",
                "max pooling trains a scalar output (--classes A,B or numeric targets); the multi-class solvers support sum and avg",
            ))
        }
        p => pooling(p),
    };
    let loss = match a.loss {
        LossChoice::Squared => crate::loss::Loss::Squared,
        LossChoice::Ce => crate::loss::Loss::CrossEntropy,
    };
    let betas = parse_betas(a.beta.as_deref().unwrap_or("1"))?;
    let single_beta = matches!(&betas, BetaChoice::List(b) if b.len() == 1);
    let checkpoint = match &a.checkpoint {
        Some(c) if solver == FirstOrder::Admm && single_beta => Some(CheckpointPlan {
            path: c.path.clone(),
            // Finite but past `Duration`'s range (1e300 s) is an error, not a panic.
            every: std::time::Duration::try_from_secs_f64(c.every).map_err(|_| {
                Error::param(
                    "checkpoint_every",
                    format!("must be a number of seconds ≥ 0, got {}", c.every),
                )
            })?,
            context: c.context.clone(),
            resume: c.resume,
        }),
        Some(c) if c.resume => {
            return Err(Error::param(
                "resume",
                "checkpoints are written by the ADMM solver (squared loss) with one β; this run writes none to continue",
            ))
        }
        _ => None,
    };
    Ok(Classifier {
        cfg: ClassifierConfig {
            spec,
            pool,
            loss,
            beta: 1.0,
            draws,
            from_data,
            seed: a.seed,
            solver,
            al: AlSettings {
                limits: IterLimits {
                    max_iter: a.max_iter.unwrap_or(if solver == FirstOrder::Admm {
                        DEFAULT_ADMM_CHECKS
                    } else {
                        30
                    }),
                    time_limit: Some(time_limit),
                    tol: a.tol.unwrap_or(1e-3).max(1e-12),
                },
                inner_iter: a.inner_iter.unwrap_or(if solver == FirstOrder::Admm {
                    10
                } else {
                    50
                }),
                ..AlSettings::default()
            },
            fresh_draws: a.fresh,
            certificate_budget: a.certificate_budget.max(0.0),
            polish_rounds: a.polish_rounds,
            pattern_rounds: a.pattern_rounds,
            deadline: None,
        },
        betas,
        test_fraction: a.test_fraction,
        standardize: a.normalize == Normalize::Standardize,
        gates: gates.map(|g| g.1),
        trained,
        checkpoint,
    })
}

/// Local pooling windows with the ℓ1-squared head.
fn local_pool(a: &Settings, ds: &Dataset, window: usize) -> Result<LocalPool> {
    let pool = match a.pool {
        Pool::Avg => WindowPool::Avg,
        Pool::Max => WindowPool::Max,
        Pool::Sum => {
            return Err(Error::param(
                "pool",
                "local pooling windows take --pool avg or --pool max",
            ))
        }
    };
    let beta = beta(a)?;
    let patterns = parse_patterns(a.patterns.as_deref().unwrap_or("exact"), a.seed)?;
    let spec = patch_spec(&a.patch, ds, false)?;
    spec.output_dims(&ds.shape)?;
    Ok(LocalPool {
        cfg: LocalConfig {
            spec,
            window,
            pool,
            beta,
            patterns,
            ipm: ipm(a),
            max_exact_patterns: a.max_exact,
            max_memory: max_memory(a)?,
        },
    })
}

/// Linear CNNs (`--head pool` or `fc`).
fn linear(a: &Settings, ds: &Dataset) -> Result<Linear> {
    let head = match a.head.unwrap_or(Head::Pool) {
        Head::Pool => LinearHead::Pool,
        Head::Fc => LinearHead::Fc,
        Head::L1 | Head::Shared => {
            return Err(Error::param(
                "head",
                "linear CNNs take --head pool or --head fc",
            ))
        }
    };
    let spec = patch_spec(&a.patch, ds, false)?;
    if spec.bias {
        return Err(Error::param(
            "bias",
            "linear CNNs have no bias (a bias would pass through the pooling as a constant)",
        ));
    }
    spec.output_dims(&ds.shape)?;
    if a.pool == Pool::Max {
        return Err(Error::param(
            "pool",
            "linear CNNs take --pool sum or avg (max pooling is not linear)",
        ));
    }
    Ok(Linear {
        spec,
        head,
        average: a.pool == Pool::Avg,
        beta: beta(a)?,
        tol: a.tol.unwrap_or(1e-9),
    })
}

/// Circular CNNs on single-channel 1-D signals.
fn circular(a: &Settings, ds: &Dataset) -> Result<Circular> {
    Circular::signals(ds)?;
    let beta = beta(a)?;
    let first_order = match a.solver {
        None | Some(Solver::Ipm) => None,
        Some(Solver::Al) if a.layers == 3 && !a.path_norm => Some(ProxAlSettings {
            tol: a.tol.unwrap_or(1e-9),
            ..ProxAlSettings::default()
        }),
        Some(s) => {
            return Err(Error::param(
                "solver",
                format!("circular CNNs take --solver ipm (or al for --layers 3 with weight decay), not {s:?}"),
            ))
        }
    };
    Ok(Circular {
        layers: a.layers,
        path_norm: a.path_norm,
        beta,
        ipm: ipm(a),
        first_order,
        seed: a.seed,
        max_memory: max_memory(a)?,
    })
}

/// The three-layer CNN: `--patterns exact` or `sample:N` (`N` Gaussian first-layer filters and
/// `3N` Gaussian sub-networks), `--solver ipm` (tolerance `--tol`), `cg` (tolerance 1e-6) or
/// `al` (1e-4), the first-order solvers for `--max-iter` rounds and `--time-limit` seconds.
fn three_layer(a: &Settings, ds: &Dataset) -> Result<ThreeLayer> {
    let spec = patch_spec(&a.patch, ds, false)?;
    spec.output_dims(&ds.shape)?;
    let patterns = match parse_patterns(a.patterns.as_deref().unwrap_or("exact"), a.seed)? {
        PatternChoice::Exact => ThreeLayerPatterns::Exact,
        PatternChoice::Sample { draws, seed } => ThreeLayerPatterns::Sample {
            draws,
            pairs: 3 * draws,
            seed,
        },
    };
    let beta = beta(a)?;
    let solver = match a.solver {
        None | Some(Solver::Ipm) => ThreeLayerSolver::Ipm(ipm(a)),
        Some(kind @ (Solver::Al | Solver::Cg)) => {
            let time_limit = first_order_limit(a)?;
            let rounds = a.max_iter.unwrap_or(30);
            if rounds == 0 {
                return Err(Error::param("max_iter", "must be positive, got 0"));
            }
            let s = FirstOrderSettings {
                rounds,
                time_limit: Some(time_limit),
                // The conditional gradient reaches 1e-6 in a few rounds on exact programs.
                tol: if kind == Solver::Cg { 1e-6 } else { 1e-4 },
                ..FirstOrderSettings::default()
            };
            if kind == Solver::Al {
                ThreeLayerSolver::Al(s)
            } else {
                ThreeLayerSolver::Cg(s)
            }
        }
        Some(other) => {
            return Err(Error::param(
                "solver",
                format!(
                    "the three-layer program takes ipm (interior point), cg or al (first-order), not {}",
                    match other {
                        Solver::Gated => "gated",
                        _ => "proj",
                    }
                ),
            ))
        }
    };
    Ok(ThreeLayer {
        spec,
        beta,
        solver,
        max_blocks: usize::try_from(a.max_exact).unwrap_or(usize::MAX),
        patterns,
        also_two_layer: a.also == Some(Also::TwoLayer),
        max_memory: max_memory(a)?,
    })
}

/// `--head shared`: weight decay on a vector of output weights per filter (the SDP; without
/// the `sdp` feature its fit says how to get it).
fn shared(a: &Settings, ds: &Dataset) -> Result<Box<dyn Architecture>> {
    use crate::arch::{Shared, SharedHeadChoice};
    let spec = patch_spec(&a.patch, ds, false)?;
    spec.output_dims(&ds.shape)?;
    let head = match a.windows {
        Some(window) => SharedHeadChoice::Windows {
            window,
            max: match a.pool {
                Pool::Avg => false,
                Pool::Max => true,
                Pool::Sum => {
                    return Err(Error::param(
                        "pool",
                        "local pooling windows take --pool avg or --pool max",
                    ))
                }
            },
        },
        None => SharedHeadChoice::Classes,
    };
    Ok(Box::new(Shared {
        spec,
        head,
        beta: beta(a)?,
        ipm: ipm(a),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{SampleShape, Targets};

    fn images(h: usize, w: usize, one_d: bool) -> Dataset {
        let shape = SampleShape {
            channels: 1,
            height: h,
            width: w,
            one_d,
        };
        Dataset::new(
            vec![0.5; 2 * h * w],
            shape,
            Targets::Real(vec![1.0, -1.0]),
            "t",
        )
        .unwrap()
    }

    /// Classifier geometry from the image size: a 2×2 grid of patches (14/14 on MNIST, 4/4 on
    /// 8×8, kernel 4 stride 3 on 7×7), the kernel as stride when only a kernel is given, and the
    /// two-layer defaults (3/1) unchanged.
    #[test]
    fn classifier_geometry_follows_the_image_size() {
        let get = |ds: &Dataset, kernel: Option<&str>, classifier: bool| {
            let p = PatchSettings {
                kernel: kernel.map(str::to_string),
                ..PatchSettings::default()
            };
            let s = patch_spec(&p, ds, classifier).unwrap();
            (s.kernel_h, s.kernel_w, s.stride_h, s.stride_w)
        };
        assert_eq!(get(&images(28, 28, false), None, true), (14, 14, 14, 14));
        assert_eq!(get(&images(8, 8, false), None, true), (4, 4, 4, 4));
        assert_eq!(get(&images(7, 10, false), None, true), (4, 5, 3, 5));
        assert_eq!(get(&images(1, 10, true), None, true).1, 5);
        assert_eq!(get(&images(28, 28, false), Some("7"), true), (7, 7, 7, 7));
        assert_eq!(get(&images(28, 28, false), None, false), (3, 3, 1, 1));
        // Every default grid fits its images.
        for (h, w) in [(1, 1), (2, 3), (7, 7), (8, 8), (32, 32)] {
            let ds = images(h, w, false);
            let p = PatchSettings::default();
            let spec = patch_spec(&p, &ds, true).unwrap();
            assert!(spec.output_dims(&ds.shape).is_ok(), "{h}×{w}: {spec:?}");
        }
    }
}
