//! Every command-line type (clap): subcommands, flags, their defaults and help texts.

use clap::{Args, Parser, Subcommand, ValueEnum};
use cvxcnn::data::BUILTIN_MNIST;
use std::path::PathBuf;

/// Trains ReLU CNNs to their global optimum through exact convex reformulations, and certifies
/// the result with a duality gap (Ergen & Pilanci, ICLR 2021).
#[derive(Parser, Debug)]
#[command(name = "cvxcnn", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Train a CNN by solving its convex program; writes report.json and model.safetensors.
    Train(Box<TrainCmd>),
    /// Count the sign patterns of a data set and patch spec, beside the theoretical bound.
    Patterns(PatternArgs),
    /// Accuracy (and loss) of a saved model on labelled data.
    Eval(EvalArgs),
    /// Predicted labels and outputs of a saved model, one line per sample.
    Predict(PredictArgs),
    /// The convex solve beside non-convex restarts (SGD/Adam) of the same network on the same
    /// objective: a table, compare.json and plots (PNG, SVG).
    Compare(Box<CompareArgs>),
}

#[derive(Args, Debug)]
pub(crate) struct EvalArgs {
    /// Model directory written by `cvxcnn train` (model.safetensors, model.json).
    #[arg(long)]
    pub(crate) model: PathBuf,
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Which samples of --data: all, or (for a classifier, given the data and --limit it was
    /// trained with) the part it trained on or the part it held out.
    #[arg(long, value_enum, default_value = "all")]
    pub(crate) split: SplitArg,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `--split` of `eval` and `predict`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SplitArg {
    /// Every sample.
    All,
    /// The samples the model was trained on.
    Train,
    /// The samples the model held out (its test accuracy).
    Test,
}

#[derive(Args, Debug)]
pub(crate) struct PredictArgs {
    /// Model directory written by `cvxcnn train`.
    #[arg(long)]
    pub(crate) model: PathBuf,
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Which samples of --data: all, or (for a classifier) the part it trained on or held out.
    #[arg(long, value_enum, default_value = "all")]
    pub(crate) split: SplitArg,
    /// Print one JSON object (labels, and outputs at full precision as an n × C array) instead
    /// of lines.
    #[arg(long)]
    pub(crate) json: bool,
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
    /// Kernel: K (1-D signals: K; images: K×K) or KxL (images) [default: 3; classifiers: a 2×2
    /// grid of patches, ⌈H/2⌉×⌈W/2⌉: 14 on 28×28 digits].
    #[arg(long)]
    pub(crate) kernel: Option<String>,
    /// Stride: S, or SxT for images [default: 1; classifiers: ⌊H/2⌋×⌊W/2⌋, or the kernel when
    /// one is given].
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
    /// ADMM: the exact program (squared loss) with one factored linear system for the loss
    /// and cone projections in the prox (classifiers).
    Admm,
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

/// `cvxcnn train`: the training flags, and the checkpoints of its solve.
#[derive(Args, Debug)]
pub(crate) struct TrainCmd {
    #[command(flatten)]
    pub(crate) args: TrainArgs,
    #[command(flatten)]
    pub(crate) checkpoint: CheckpointArgs,
}

/// Checkpoints of a long solve, and continuing an interrupted run.
#[derive(Args, Debug)]
pub(crate) struct CheckpointArgs {
    /// Least seconds between two checkpoints of the solve (the classifier's ADMM solve with one
    /// β; 0: at every check). The checkpoint is the hidden file .NAME.checkpoint beside --out;
    /// it is also written on Ctrl-C (SIGINT, SIGTERM) and removed once the result is written.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 5.0,
        allow_hyphen_values = true
    )]
    pub(crate) checkpoint_every: f64,
    /// Continue the interrupted (or killed) run that was writing DIR from its checkpoint, with
    /// the flags it was started with; the result is the one the run would have written. Takes
    /// no other flags but --quiet and --checkpoint-every.
    #[arg(long, value_name = "DIR")]
    pub(crate) resume: Option<PathBuf>,
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
    /// patterns of given filters, a (p, h) array: another tool's gate vectors) or adam:W (the
    /// patterns of a 20-epoch Adam run of the same CNN with W filters per output, which is also
    /// the solver's start) [default: exact; classifiers: adam:8].
    #[arg(long)]
    pub(crate) patterns: Option<String>,
    /// Seed of the pattern sampler.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Solver [default: ipm; classifiers: admm (squared loss) or proj (ce)]. --arch three-layer
    /// takes ipm, cg or al.
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
    /// Outer iterations of the first-order solver (full constraint scans for proj, checks for
    /// admm; pricing rounds for the three-layer cg and al) [default: 30; classifiers with
    /// admm: 12].
    #[arg(long)]
    pub(crate) max_iter: Option<usize>,
    /// Inner iterations per outer iteration (FISTA steps between scans for proj, ADMM steps
    /// between checks for admm) [default: 50; admm: 10].
    #[arg(long)]
    pub(crate) inner_iter: Option<usize>,
    /// Safety cap in seconds, reported as not converged when hit: of a first-order solve; for
    /// classifiers, of the whole fit (the Adam start, the solve with 75% of the time left, then
    /// recovery and the certificates, whose exact dual values stop early with valid, looser
    /// bounds) [default: 60]; for the two-layer interior point, of the whole run [default:
    /// none, an exact solve runs to its certificate].
    #[arg(long)]
    pub(crate) time_limit: Option<f64>,
    /// Fresh patterns drawn for the global-optimality estimate (0: none).
    #[arg(long, default_value_t = 200)]
    pub(crate) fresh: usize,
    /// Seconds allowed for exact dual-constraint values in each certificate (bounds stand in
    /// after that: still valid, looser).
    #[arg(long, default_value_t = 30.0)]
    pub(crate) certificate_budget: f64,
    /// Most column-generation rounds after the first-order solve (classifiers, squared loss):
    /// each re-solves the lasso over the filters' directions exactly and adds the best
    /// direction of every block whose dual constraint is violated; they stop once the
    /// restricted gap reaches --tol (0: none).
    #[arg(long, default_value_t = cvxcnn::settings::DEFAULT_POLISH_ROUNDS)]
    pub(crate) polish_rounds: usize,
    /// Most rounds of pattern pricing after the polish (classifiers, squared loss): each
    /// searches for sign patterns the program lacks by ascent on the dual constraint from
    /// seeded starts, adds those whose constraint is violated, and polishes the grown program
    /// (0: none).
    #[arg(long, default_value_t = cvxcnn::settings::DEFAULT_PATTERN_ROUNDS)]
    pub(crate) pattern_rounds: usize,
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
    /// Exit with 0 even when the solver claimed success but the recovered network and the
    /// certificate disagree (status `inaccurate`, exit code 3 otherwise).
    #[arg(long)]
    pub(crate) allow_inaccurate: bool,
    /// Exit with 0 even when the run ended before its certificate closed (status
    /// `max_iterations` or `max_time`, NOT CONVERGED in the summary; exit code 4 otherwise).
    /// The result is written either way.
    #[arg(long)]
    pub(crate) allow_unconverged: bool,
    /// Refuse exact enumeration above this many patterns (general-position bound).
    #[arg(long, default_value_t = 2_000_000)]
    pub(crate) max_exact: u128,
    /// Memory the interior-point solve may use (4G, 512M; default: 80% of the memory available
    /// at the start); a program estimated above it is refused before it is built.
    #[arg(long, value_name = "SIZE")]
    pub(crate) max_memory: Option<String>,
    /// Target relative duality gap: interior point (gap and feasibility) and first-order
    /// classifier solvers [default: 1e-9; classifiers: 1e-3].
    #[arg(long)]
    pub(crate) tol: Option<f64>,
}

#[derive(Args, Debug)]
pub(crate) struct PatternArgs {
    #[command(flatten)]
    pub(crate) data: DataArgs,
    #[command(flatten)]
    pub(crate) patch: PatchArgs,
    /// exact, or sample:N.
    #[arg(long, default_value = "exact")]
    pub(crate) patterns: String,

    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// Refuse exact enumeration above this many patterns (general-position bound).
    #[arg(long, default_value_t = 2_000_000)]
    pub(crate) max_exact: u128,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum OptimizerArg {
    /// SGD with heavy-ball momentum (--momentum).
    Sgd,
    /// Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8).
    Adam,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScheduleArg {
    /// The same learning rate in every epoch.
    Constant,
    /// Cosine annealing to zero over the epochs.
    Cosine,
}

#[derive(Args, Debug)]
pub(crate) struct CompareArgs {
    #[command(flatten)]
    pub(crate) train: TrainArgs,
    /// Non-convex restarts per optimizer and width (seeds --first-seed, --first-seed + 1, …).
    #[arg(long, default_value_t = 5)]
    pub(crate) restarts: usize,
    /// Optimizers: sgd, adam, or both (sgd,adam).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "adam")]
    pub(crate) optimizer: Vec<OptimizerArg>,
    /// Filters per output of the non-convex networks, one or several (4,16,64) [default: the
    /// convex network's largest number of filters on one output, at least 2].
    #[arg(long, value_delimiter = ',')]
    pub(crate) width: Vec<usize>,
    /// Passes over the training data per run.
    #[arg(long, default_value_t = 50)]
    pub(crate) epochs: usize,
    /// Learning rate on the mean objective (loss/n + (β/2n)‖θ‖², PyTorch's convention)
    /// [default: adam 1e-2, sgd 1e-3].
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) lr: Option<f64>,
    /// Minibatch size (0: the whole training set).
    #[arg(long, default_value_t = 64)]
    pub(crate) batch_size: usize,
    /// Momentum of SGD.
    #[arg(long, default_value_t = 0.9, allow_hyphen_values = true)]
    pub(crate) momentum: f64,
    /// Learning-rate schedule.
    #[arg(long, value_enum, default_value = "constant")]
    pub(crate) schedule: ScheduleArg,
    /// Scale of the random initialisation (filters N(0, s²/h), output weights N(0, s²/m)).
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    pub(crate) init_scale: f64,
    /// Seed of the first restart.
    #[arg(long, default_value_t = 0)]
    pub(crate) first_seed: u64,
}
