//! Argument parsing, data loading, progress display and output for the `cvxcnn` binary.

use crate::report::{PatternReport, TrainReport};
use clap::{Args, Parser, Subcommand, ValueEnum};
use cvxcnn::arch::two_layer::train::{train, Observer, PatternChoice, TrainConfig};
use cvxcnn::data::{read_any, Dataset, Targets, BUILTIN_MNIST};
use cvxcnn::export::{to_safetensors, write_dir_atomically};
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::patterns::{
    count_text, enumerate_exact, general_position_count, rank_of, sample_gaussian, Hyperplanes,
};
use cvxcnn::program::Pooling;
use cvxcnn::solver::IpmSettings;
use cvxcnn::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Trains ReLU CNNs to their global optimum through exact convex reformulations, and certifies
/// the result with a duality gap (Ergen & Pilanci, ICLR 2021).
#[derive(Parser, Debug)]
#[command(name = "cvxcnn", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a CNN by solving its convex program; writes report.json and model.safetensors.
    Train(TrainArgs),
    /// Count the sign patterns of a data set and patch spec, beside the theoretical bound.
    Patterns(PatternArgs),
    /// Accuracy (and loss) of a saved model on labelled data.
    Eval(EvalArgs),
    /// Predicted labels and outputs of a saved model, one line per sample.
    Predict(PredictArgs),
    /// The convex solve beside non-convex restarts (SGD/Adam) of the same network on the same
    /// objective: a table, compare.json and plots (PNG, SVG).
    Compare(Box<crate::compare_cmd::CompareArgs>),
}

#[derive(Args, Debug)]
struct EvalArgs {
    /// Model directory written by `cvxcnn train` (model.safetensors, model.json).
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct PredictArgs {
    /// Model directory written by `cvxcnn train`.
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Print one JSON object (labels, and outputs at full precision as an n × C array) instead
    /// of lines.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct DataArgs {
    /// Data: a .npz file (arrays x, y), a .npy array of samples (with --labels Y.npy), an MNIST
    /// or Fashion-MNIST IDX image file (with --labels), CIFAR-10 binary batches (A.bin[,B.bin…]),
    /// or builtin:mnist (3,000 embedded MNIST digits).
    #[arg(long, default_value = BUILTIN_MNIST)]
    pub(crate) data: String,
    /// Targets that go with --data: an IDX label file, or a .npy array for a .npy sample file.
    #[arg(long)]
    pub(crate) labels: Option<PathBuf>,
    /// Keep two classes A,B of a labelled data set as targets −1 (A) and +1 (B).
    #[arg(long, value_name = "A,B")]
    pub(crate) classes: Option<String>,
    /// Use only the first N samples (after --classes).
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct PatchArgs {
    /// Kernel: K (1-D signals: K; images: K×K) or KxL (images) [default: 3; classifiers: 14].
    #[arg(long)]
    pub(crate) kernel: Option<String>,
    /// Stride: S, or SxT for images [default: 1; classifiers: 14].
    #[arg(long)]
    pub(crate) stride: Option<String>,
    /// Zero padding: P, or PxQ for images.
    #[arg(long, default_value = "0")]
    pub(crate) padding: String,
    /// Give every filter a bias.
    #[arg(long)]
    pub(crate) bias: bool,
    /// No bias (the default for scalar outputs; classifiers have a bias unless this is given).
    #[arg(long, conflicts_with = "bias")]
    pub(crate) no_bias: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Arch {
    /// Two-layer ReLU CNN: convolution, ReLU, global pooling, linear output.
    #[value(name = "two-layer")]
    TwoLayer,
    /// Circular CNN with one ReLU: L − 2 unit-norm circular convolutions, a circular filter b,
    /// a fully connected ReLU unit and an output weight, on 1-D signals (exact for --layers 3;
    /// lower and upper bounds for L ≥ 4).
    Circular,
    /// Linear CNN (no activation): convolution, then global pooling (--head pool: group ℓ2
    /// program) or a linear layer over all positions (--head fc: nuclear-norm program).
    Linear,
    /// Three-layer CNN with two ReLU layers: sub-networks of two filters, ReLU, a 1×1
    /// convolution mixing them, ReLU, sum pooling, output weight (exact, small instances).
    #[value(name = "three-layer")]
    ThreeLayer,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Also {
    /// The two-layer CNN with sum pooling and the same first layer.
    #[value(name = "two-layer")]
    TwoLayer,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Head {
    /// Global pooling, one output weight per filter.
    Pool,
    /// Local pooling windows, a linear layer over them, ℓ1-squared output penalty.
    L1,
    /// A linear layer over all positions (linear CNNs).
    Fc,
    /// Weight decay on a vector of output weights per filter (one per class, or per --windows
    /// window), by the SDP over simplicial cones (exact for patch rank ≤ 4).
    Shared,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Pool {
    /// Sum over positions.
    Sum,
    /// Average over positions.
    Avg,
    /// Maximum over positions (exact program over argmax patterns; scalar targets).
    Max,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SolverArg {
    /// Interior point (Clarabel): exact, for small instances (scalar output).
    Ipm,
    /// Augmented Lagrangian with FISTA: the exact program at scale (classifiers; --arch
    /// three-layer: over a working set of blocks, tolerance 1e-4).
    Al,
    /// FISTA on the gated relaxation: a lower bound, not a ReLU network (classifiers).
    Gated,
    /// Projected FISTA: the exact program with cone projections in the prox (classifiers).
    Proj,
    /// Conditional gradient, column generation over atoms (--arch three-layer: exact programs
    /// with many blocks; tolerance 1e-6).
    Cg,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Loss {
    /// ½ Σ_t ‖f_t − y_t‖² (one-hot targets for classifiers).
    Squared,
    /// Softmax cross-entropy, summed over samples (classifiers).
    Ce,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Normalize {
    /// Inputs as read (IDX pixels are scaled to [0, 1]).
    None,
    /// Per-channel mean 0, standard deviation 1, from the training part.
    Standardize,
}

#[derive(Args, Debug)]
pub(crate) struct TrainArgs {
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Architecture.
    #[arg(long, value_enum, default_value = "two-layer")]
    pub(crate) arch: Arch,
    /// Global pooling after the ReLU.
    #[arg(long, value_enum, default_value = "sum")]
    pub(crate) pool: Pool,
    /// Layers L of a circular CNN (--arch circular).
    #[arg(long, default_value_t = 3)]
    pub(crate) layers: usize,
    /// Also report another architecture's optimum on the same data (three-layer: two-layer).
    #[arg(long, value_enum)]
    pub(crate) also: Option<Also>,
    /// Circular CNNs: the spectral path norm β Σ_j ‖F(w_j q_j)‖₁ instead of weight decay (exact
    /// for every L).
    #[arg(long)]
    pub(crate) path_norm: bool,
    /// Output head: pool (global pooling, then one weight per filter), l1 (local pooling over
    /// --windows, a linear layer over the windows, ℓ1-squared penalty on its weights), fc
    /// (--arch linear: a linear layer over all positions) [default: pool].
    #[arg(long, value_enum)]
    pub(crate) head: Option<Head>,
    /// Local pooling window: W consecutive positions (1-D) or W×W tiles of the output grid
    /// (2-D), with --head l1 and --pool avg|max.
    #[arg(long)]
    pub(crate) windows: Option<usize>,
    #[command(flatten)]
    pub(crate) patch: PatchArgs,
    /// Weight decay β > 0 (objective ½Σ(f−y)² + (β/2)Σ(‖u‖² + w²)) [default: 0.1; classifiers:
    /// 1]. Classifiers also take a list B1,B2,… or path:N (N values from β_max down to
    /// β_max/100, warm-started), reporting accuracy, filters and objective per β.
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) beta: Option<String>,
    /// Sign patterns: exact (global optimum), sample:N (N Gaussian draws; restricted model) or,
    /// for classifiers, data:N (N filters drawn from data patches) or gates:FILE.npy (the
    /// patterns of given filters, a (p, h) array: another tool's gate vectors) [default: exact; classifiers:
    /// sample:40].
    #[arg(long)]
    pub(crate) patterns: Option<String>,
    /// Seed of the pattern sampler.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Solver [default: ipm; classifiers: proj]. --arch three-layer takes ipm, cg or al.
    #[arg(long, value_enum)]
    pub(crate) solver: Option<SolverArg>,
    /// Loss.
    #[arg(long, value_enum, default_value = "squared")]
    pub(crate) loss: Loss,
    /// Fraction of the data held out for testing (classifiers; seeded by --seed).
    #[arg(long, default_value_t = 0.2)]
    pub(crate) test_fraction: f64,
    /// Input normalization (classifiers).
    #[arg(long, value_enum, default_value = "none")]
    pub(crate) normalize: Normalize,
    /// Outer iterations of the first-order solver (full constraint scans for proj; pricing
    /// rounds for the three-layer cg and al).
    #[arg(long, default_value_t = 30)]
    pub(crate) max_iter: usize,
    /// Inner (FISTA) iterations per outer iteration (steps between scans for proj).
    #[arg(long, default_value_t = 50)]
    pub(crate) inner_iter: usize,
    /// Time limit of the first-order solve, in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) time_limit: f64,
    /// Fresh patterns drawn for the global-optimality estimate (0: none).
    #[arg(long, default_value_t = 200)]
    pub(crate) fresh: usize,
    /// Seconds allowed for exact dual-constraint values in each certificate (bounds stand in
    /// after that: still valid, looser).
    #[arg(long, default_value_t = 30.0)]
    pub(crate) certificate_budget: f64,
    /// Output directory, written atomically [default: cvxcnn-out; compare: cvxcnn-compare].
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    pub(crate) quiet: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Keep every filter the solver returns (no Carathéodory pruning to ≤ n+1).
    #[arg(long)]
    pub(crate) no_prune: bool,
    /// Refuse exact enumeration above this many patterns (general-position bound).
    #[arg(long, default_value_t = 2_000_000)]
    pub(crate) max_exact: u128,
    /// Interior-point tolerance (gap and feasibility).
    #[arg(long, default_value_t = 1e-9)]
    pub(crate) tol: f64,
}

#[derive(Args, Debug)]
struct PatternArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    patch: PatchArgs,
    /// exact, or sample:N.
    #[arg(long, default_value = "exact")]
    patterns: String,

    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Refuse exact enumeration above this many patterns (general-position bound).
    #[arg(long, default_value_t = 2_000_000)]
    max_exact: u128,
}

/// Entry point of the binary.
pub fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Train(a) => cmd_train(a),
        Command::Patterns(a) => cmd_patterns(a),
        Command::Eval(a) => {
            let (net, info) = crate::classify_cmd::load_model(&a.model)?;
            crate::classify_cmd::eval(&net, &info, load(&a.data)?, a.json)
        }
        Command::Predict(a) => {
            let (net, info) = crate::classify_cmd::load_model(&a.model)?;
            crate::classify_cmd::predict(&net, &info, load(&a.data)?, a.json)
        }
        Command::Compare(a) => crate::compare_cmd::cmd_compare(*a),
    }
}

/// An error as the command line shows it: the library names values (`kernel`, `test_fraction`);
/// where such a name is one of the command's flags, it is shown as the flag (`--kernel`).
pub fn describe(e: &Error) -> String {
    match e {
        Error::Parameter { name, msg } if !name.starts_with('-') => {
            let long = name.replace('_', "-");
            if is_flag(&long) {
                format!("--{long}: {msg}")
            } else {
                e.to_string()
            }
        }
        _ => e.to_string(),
    }
}

/// Whether `long` is the long name of a flag of some subcommand.
fn is_flag(long: &str) -> bool {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let found = cmd
        .get_subcommands()
        .flat_map(|s| s.get_arguments())
        .any(|a| a.get_long() == Some(long));
    found
}

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

pub(crate) fn patch_spec(p: &PatchArgs, ds: &Dataset, classifier: bool) -> Result<PatchSpec> {
    let (dk, ds_) = if classifier { ("14", "14") } else { ("3", "1") };
    let (k1, k2) = parse_pair("--kernel", p.kernel.as_deref().unwrap_or(dk))?;
    let (s1, s2) = parse_pair("--stride", p.stride.as_deref().unwrap_or(ds_))?;
    let bias = if classifier { !p.no_bias } else { p.bias };
    let (p1, p2) = parse_pair("--padding", &p.padding)?;
    if ds.shape.one_d {
        for (flag, second) in [("--kernel", k2), ("--stride", s2), ("--padding", p2)] {
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

pub(crate) fn parse_patterns(s: &str, seed: u64) -> Result<PatternChoice> {
    if s == "exact" {
        return Ok(PatternChoice::Exact);
    }
    if let Some(n) = s.strip_prefix("sample:") {
        let draws: usize = n.parse().map_err(|_| {
            Error::param(
                "--patterns",
                format!("'{s}': N in sample:N must be a whole number"),
            )
        })?;
        if draws == 0 {
            return Err(Error::param(
                "--patterns",
                format!("'{s}': N must be at least 1"),
            ));
        }
        return Ok(PatternChoice::Sample { draws, seed });
    }
    Err(Error::param(
        "--patterns",
        format!("'{s}' is neither exact nor sample:N"),
    ))
}

pub(crate) fn load(d: &DataArgs) -> Result<Dataset> {
    let ds = read_any(&d.data, d.labels.as_deref())?;
    let ds = match &d.classes {
        Some(c) => {
            let (a, b) = c
                .split_once(',')
                .and_then(|(a, b)| {
                    Some((a.trim().parse::<i64>().ok()?, b.trim().parse::<i64>().ok()?))
                })
                .ok_or_else(|| {
                    Error::param("--classes", format!("'{c}' is not A,B with two integers"))
                })?;
            ds.binary(a, b)?
        }
        None => ds,
    };
    let ds = match d.limit {
        Some(0) => return Err(Error::param("--limit", "must be at least 1")),
        Some(l) => ds.head(l),
        None => ds,
    };
    Ok(ds)
}

pub(crate) fn parse_beta(s: &str) -> Result<f64> {
    let b: f64 = s
        .parse()
        .map_err(|_| Error::param("--beta", format!("'{s}' is not a number")))?;
    if !(b > 0.0 && b.is_finite()) {
        return Err(Error::param(
            "--beta",
            format!("β must be positive and finite, got {s}"),
        ));
    }
    Ok(b)
}

/// Shows stages as spinners and enumeration as a progress bar on stderr.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    stage: String,
    start: Instant,
}

impl Progress {
    pub(crate) fn new(quiet: bool) -> Self {
        Progress {
            bar: None,
            quiet,
            stage: String::new(),
            start: Instant::now(),
        }
    }
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
}

/// Applies `--threads` to the global rayon pool.
pub(crate) fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(t) = threads {
        if t == 0 {
            return Err(Error::param("--threads", "must be at least 1"));
        }
        // Fails only if a pool exists already, which cannot happen here.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global();
    }
    Ok(())
}

/// Whether the flags and data ask for the multi-output classifier (else the scalar program).
pub(crate) fn wants_classifier(a: &TrainArgs, ds: &Dataset) -> bool {
    let multi_class = match &ds.targets {
        Targets::Classes(y) => {
            let mut c = y.clone();
            c.sort_unstable();
            c.dedup();
            c.len() > 2
        }
        Targets::Real(_) => false,
    };
    a.data.classes.is_none()
        && matches!(ds.targets, Targets::Classes(_))
        && (multi_class
            || a.loss == Loss::Ce
            || matches!(
                a.solver,
                Some(SolverArg::Al | SolverArg::Gated | SolverArg::Proj)
            ))
}

/// The scalar-output (interior-point) settings: config, β and the pattern text.
pub(crate) fn scalar_config(a: &TrainArgs, ds: &Dataset) -> Result<(TrainConfig, f64, String)> {
    if a.loss == Loss::Ce {
        return Err(Error::param(
            "--loss",
            "cross-entropy needs class labels (and no --classes A,B)",
        ));
    }
    if matches!(
        a.solver,
        Some(SolverArg::Al | SolverArg::Gated | SolverArg::Proj | SolverArg::Cg)
    ) {
        return Err(Error::param(
            "--solver",
            "the first-order solvers train classifiers (data with class labels, no --classes A,B) and three-layer CNNs (cg, al); use ipm for a two-layer scalar output",
        ));
    }
    let beta = parse_beta(a.beta.as_deref().unwrap_or("0.1"))?;
    let pattern_text = a.patterns.clone().unwrap_or_else(|| "exact".into());
    let patterns = parse_patterns(&pattern_text, a.seed)?;
    let spec = patch_spec(&a.patch, ds, false)?;
    spec.output_dims(&ds.shape)?;
    let pool = pooling(a.pool);
    let cfg = TrainConfig {
        spec,
        pool,
        beta,
        patterns,
        ipm: IpmSettings {
            tol: a.tol,
            ..IpmSettings::default()
        },
        max_exact_patterns: a.max_exact,
        prune: !a.no_prune,
    };
    Ok((cfg, beta, pattern_text))
}

/// The library's pooling for the command-line choice.
fn pooling(p: Pool) -> Pooling {
    match p {
        Pool::Sum => Pooling::Sum,
        Pool::Avg => Pooling::Avg,
        Pool::Max => Pooling::Max,
    }
}

fn cmd_train(a: TrainArgs) -> Result<()> {
    set_threads(a.threads)?;
    let ds = load(&a.data)?;
    if a.arch == Arch::Circular {
        return crate::circular_cmd::train_circular_cmd(&a, &ds);
    }
    if a.arch == Arch::ThreeLayer {
        return crate::three_layer_cmd::train_three_layer_cmd(&a, &ds, a.also.is_some());
    }
    if a.also.is_some() {
        return Err(Error::param(
            "--also",
            "--also two-layer is for --arch three-layer",
        ));
    }
    if a.path_norm {
        return Err(Error::param(
            "--path-norm",
            "the spectral path norm is for --arch circular",
        ));
    }
    if a.arch == Arch::Linear {
        if a.windows.is_some() {
            return Err(Error::param(
                "--windows",
                "local pooling windows are for --arch two-layer --head l1",
            ));
        }
        return crate::linear_cmd::train_linear_cmd(&a, &ds);
    }
    if a.head == Some(Head::Shared) {
        #[cfg(feature = "sdp")]
        return crate::shared_cmd::train_shared_cmd(&a, &ds);
        #[cfg(not(feature = "sdp"))]
        return Err(Error::param(
            "--head",
            "--head shared needs the SDP solver: build with `cargo build --release --features sdp` (links OpenBLAS: apt-get install libopenblas-dev libgfortran-12-dev)",
        ));
    }
    match (a.head, a.windows) {
        (Some(Head::L1), Some(w)) => return crate::local_cmd::train_local_cmd(&a, &ds, w),
        (Some(Head::L1), None) => {
            return Err(Error::param(
                "--head",
                "--head l1 needs --windows W (the local pooling window)",
            ))
        }
        (_, Some(_)) => {
            return Err(Error::param(
                "--windows",
                "local pooling windows need --head l1 (the ℓ1-squared output penalty)",
            ))
        }
        (Some(Head::Fc), None) => {
            return Err(Error::param("--head", "--head fc is for --arch linear"))
        }
        _ => {}
    }
    if wants_classifier(&a, &ds) {
        return train_classifier_cmd(a, ds);
    }
    let (cfg, beta, pattern_text) = scalar_config(&a, &ds)?;
    let patterns = cfg.patterns;
    let out_dir = a.out.clone().unwrap_or_else(|| PathBuf::from("cvxcnn-out"));
    let y = ds.scalar_targets()?;
    let classes = matches!(ds.targets, Targets::Classes(_)) || a.data.classes.is_some();
    let mut progress = Progress::new(a.quiet);
    let outcome = train(&ds, &y, &cfg, &mut progress);
    progress.finish();
    let outcome = outcome?;
    let acc = if classes {
        let f = outcome.network.predict(&ds.x)?;
        Some(cvxcnn::loss::sign_accuracy(&f, &y))
    } else {
        None
    };
    let seed = matches!(patterns, PatternChoice::Sample { .. }).then_some(a.seed);
    let report = TrainReport::new(&outcome, &a.data.data, beta, pattern_text, seed, acc);
    let json =
        serde_json::to_vec_pretty(&report).map_err(|e| Error::Solver(format!("report: {e}")))?;
    let model = to_safetensors(&outcome.network)?;
    write_dir_atomically(
        &out_dir,
        &[("report.json", json), ("model.safetensors", model)],
    )?;
    if !a.quiet {
        println!(
            "two-layer CNN, {} pooling, kernel {:?}, n = {}, K = {}, h = {}",
            report.pool, report.kernel, report.n, report.positions, report.filter_size
        );
        println!(
            "patterns        {} ({}; bound {}), {} blocks",
            report.patterns, report.pattern_mode, report.pattern_bound, report.blocks
        );
        println!(
            "objective       {:.10}  (convex optimum, status {}, {} iterations)",
            report.objective, report.status, report.iterations
        );
        println!(
            "network         {:.10}  (recovered CNN, {} filters; {} before pruning)",
            report.network_objective, report.filters, report.filters_before_pruning
        );
        println!(
            "duality gap     {:.3e}  (relative {:.3e}, certificate: {})",
            report.duality_gap, report.relative_gap, report.certificate
        );
        println!("beta / beta_max {} / {:.6}", beta, report.beta_max);
        if let Some(acc) = acc {
            println!("train accuracy  {:.2}%", 100.0 * acc);
        }
        println!("time            {:.3} s", report.seconds);
        println!(
            "written         {}/report.json, {}/model.safetensors",
            out_dir.display(),
            out_dir.display()
        );
    }
    Ok(())
}

fn parse_betas(s: &str, beta_max: impl Fn() -> Result<f64>) -> Result<Vec<f64>> {
    if let Some(n) = s.strip_prefix("path:") {
        let n: usize = n
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| Error::param("--beta", format!("'{s}': N in path:N must be ≥ 1")))?;
        let bmax = beta_max()?;
        // Geometric from just below β_max (where the network is zero) to β_max/100.
        return Ok((0..n)
            .map(|j| {
                let t = if n == 1 {
                    1.0
                } else {
                    j as f64 / (n - 1) as f64
                };
                0.9 * bmax * (0.01f64 / 0.9).powf(t)
            })
            .collect());
    }
    s.split(',').map(|b| parse_beta(b.trim())).collect()
}

/// What a classifier run needs, from the flags and the data.
pub(crate) struct ClassifierSetup {
    /// Training part (normalized).
    pub(crate) train: Dataset,
    /// Test part (normalized).
    pub(crate) test: Dataset,
    /// Class labels, one per output.
    pub(crate) classes: Vec<i64>,
    /// The normalization applied.
    pub(crate) normalization: cvxcnn::data::Normalization,
    /// Settings.
    pub(crate) cfg: cvxcnn::arch::two_layer::classifier::ClassifierConfig,
    /// Values of β.
    pub(crate) betas: Vec<f64>,
    /// Filters whose patterns replace sampled ones (`--patterns gates:FILE.npy`).
    pub(crate) gates: Option<Vec<f64>>,
}

/// Splits, normalizes and reads the classifier flags.
pub(crate) fn classifier_setup(a: &TrainArgs, ds: Dataset) -> Result<ClassifierSetup> {
    use cvxcnn::arch::two_layer::classifier::{ClassifierConfig, FirstOrder};
    use cvxcnn::data::Normalization;
    use cvxcnn::solver::{AlSettings, IterLimits};
    let solver = match a.solver.unwrap_or(SolverArg::Proj) {
        SolverArg::Al => FirstOrder::AugmentedLagrangian,
        SolverArg::Gated => FirstOrder::Gated,
        SolverArg::Proj => FirstOrder::Projected,
        SolverArg::Ipm => {
            return Err(Error::param(
                "--solver",
                "the interior-point solver handles scalar outputs (pick two classes with --classes A,B); classifiers use proj, al or gated",
            ))
        }
        SolverArg::Cg => {
            return Err(Error::param(
                "--solver",
                "cg is the three-layer solver (--arch three-layer); classifiers use proj, al or gated",
            ))
        }
    };
    let pattern_text = a.patterns.clone().unwrap_or_else(|| "sample:40".into());
    let gates = match pattern_text.strip_prefix("gates:") {
        Some(file) => {
            let path = Path::new(file);
            let (rows, cols, v) = cvxcnn::data::read_npy_matrix(path)?;
            let h = patch_spec(&a.patch, &ds, true)?.filter_len(&ds.shape);
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
        (_, Some((rows, _))) => (false, format!("sample:{rows}")),
        (Some(n), None) => (true, format!("sample:{n}")),
        (None, None) => (false, pattern_text.clone()),
    };
    let draws = match parse_patterns(&ptext, a.seed)? {
        PatternChoice::Sample { draws, .. } => draws,
        PatternChoice::Exact => {
            return Err(Error::param(
                "--patterns",
                "classifiers use sampled patterns: give data:N or sample:N",
            ))
        }
    };
    if a.time_limit.is_nan() || a.time_limit <= 0.0 {
        return Err(Error::param(
            "--time-limit",
            format!("must be positive, got {}", a.time_limit),
        ));
    }
    if a.max_iter == 0 || a.inner_iter == 0 {
        return Err(Error::param(
            "--max-iter",
            "iteration limits must be at least 1",
        ));
    }
    let spec = patch_spec(&a.patch, &ds, true)?;
    spec.output_dims(&ds.shape)?;
    let ci = ds.class_index()?;
    let (mut train, mut test) = ds.split(a.test_fraction, a.seed)?;
    let normalization = match a.normalize {
        Normalize::None => Normalization::None,
        Normalize::Standardize => Normalization::standardize_from(&train),
    };
    normalization.apply(&mut train)?;
    normalization.apply(&mut test)?;
    let pool = match a.pool {
        Pool::Max => {
            return Err(Error::param(
                "--pool",
                "max pooling trains a scalar output (--classes A,B or numeric targets); the multi-class solvers support sum and avg",
            ))
        }
        p => pooling(p),
    };
    let loss = match a.loss {
        Loss::Squared => cvxcnn::loss::Loss::Squared,
        Loss::Ce => cvxcnn::loss::Loss::CrossEntropy,
    };
    let cfg = ClassifierConfig {
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
                max_iter: a.max_iter,
                time_limit: Some(a.time_limit),
                tol: a.tol.max(1e-12),
            },
            inner_iter: a.inner_iter,
            ..AlSettings::default()
        },
        fresh_draws: a.fresh,
        certificate_budget: a.certificate_budget.max(0.0),
    };
    let beta_text = a.beta.clone().unwrap_or_else(|| "1".into());
    let betas = parse_betas(&beta_text, || {
        // β_max of the classifier: the largest dual-constraint value at the zero network.
        let labels = train
            .class_index_with(&ci.labels)?
            .into_iter()
            .map(|c| c.unwrap_or(0))
            .collect::<Vec<_>>();
        let prep = cvxcnn::arch::two_layer::classifier::prepare_with(
            &train,
            &labels,
            ci.labels.len(),
            &cfg,
            gates.as_ref().map(|g| g.1.as_slice()),
        )?;
        cvxcnn::arch::two_layer::classifier::beta_max(&prep.prog, 30.0)
    })?;
    if !a.quiet {
        eprintln!(
            "{} samples, {} classes; test fraction {}; {} pattern draws; solver {:?}",
            train.n() + test.n(),
            ci.labels.len(),
            a.test_fraction,
            draws,
            solver
        );
    }
    Ok(ClassifierSetup {
        train,
        test,
        classes: ci.labels,
        normalization,
        cfg,
        betas,
        gates: gates.map(|g| g.1),
    })
}

fn train_classifier_cmd(a: TrainArgs, ds: Dataset) -> Result<()> {
    let ClassifierSetup {
        train,
        test,
        classes,
        normalization,
        cfg,
        betas,
        gates,
    } = classifier_setup(&a, ds)?;
    let out_dir = a.out.clone().unwrap_or_else(|| PathBuf::from("cvxcnn-out"));
    crate::classify_cmd::run_classifier(crate::classify_cmd::ClassifierRun {
        source: &a.data.data,
        train,
        test,
        classes,
        normalization,
        cfg,
        betas,
        gates,
        out: &out_dir,
        quiet: a.quiet,
    })
}

fn cmd_patterns(a: PatternArgs) -> Result<()> {
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
