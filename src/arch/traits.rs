//! The contract every architecture family implements, defined once beside no implementation.
//!
//! The one road from a description to a certified model: an [`Architecture`] (a validated
//! description: geometry, β, patterns, solver) is [`fit`](Architecture::fit) on a
//! [`Dataset`]; the [`Fit`] holds the [`Report`] (one schema for every family) and the
//! [`Model`], which predicts, evaluates its own objective and hands its weights to
//! [`crate::export`]. The same architecture also runs the non-convex baseline (Adam on the same
//! network and objective) for `compare`.

use crate::data::Dataset;
use crate::error::Result;
use crate::nonconvex::FullBatchSettings;
use crate::observe::Observer;
use crate::tensors::ModelTensors;
use serde::{Deserialize, Serialize};

/// A trained network of any architecture.
pub trait Model: Send {
    /// Predictions for the samples of `ds`: output `c` of sample `t` at `c·n + t`.
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>>;
    /// Outputs per sample.
    fn outputs(&self) -> usize {
        1
    }
    /// The architecture's training objective (loss summed over samples + its penalty) for
    /// scalar targets `y`.
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64>;
    /// Units (filters) with non-zero weight.
    fn width(&self) -> usize;
    /// The weights in PyTorch layout with their metadata (written as `model.safetensors`);
    /// `None` for a fit that is a bound rather than a network (the gated relaxation).
    fn tensors(&self) -> Result<Option<ModelTensors>>;
    /// Further files a model needs to be used again (the classifier's `model.json`).
    fn extra_files(&self) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(Vec::new())
    }
}

/// The convex side of a run, in numbers (what `compare` sets beside the non-convex runs).
#[derive(Debug, Clone, Serialize)]
pub struct ConvexFit {
    /// Convex optimum (exact) or upper bound attained by the network (bracketed).
    pub objective: f64,
    /// The recovered network's own objective.
    pub network_objective: f64,
    /// Certified lower bound on the optimum of the (possibly restricted) training problem.
    pub lower_bound: f64,
    /// Whether `objective` is the global optimum of the training problem (all patterns, an
    /// exact program, certificate closed).
    pub exact: bool,
    /// Seconds.
    pub seconds: f64,
}

/// What the certificate of a fit covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CertificateScope {
    /// Every pattern was enumerated: `lower_bound` bounds every network of the architecture.
    Global,
    /// Sampled patterns: `lower_bound` holds for networks whose filters use those patterns.
    Restricted,
    /// Lower and upper bounds on the non-convex optimum (deep circular CNNs, SDP relaxations).
    Bounds,
}

/// `report.json`: the same top-level keys for every architecture and mode; what is specific to
/// one family is added beside them (`details`, flattened), never nested differently.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Report format version (2: one schema for every architecture).
    pub version: u32,
    /// Architecture family (`two-layer`, `classifier`, `local-pool`, `linear`, `circular`,
    /// `three-layer`, `shared`).
    pub arch: String,
    /// The architecture in words.
    pub name: String,
    /// The implicit convex regularizer, in words.
    pub regularizer: String,
    /// Data source as given (set by the caller).
    pub data: String,
    /// Training samples.
    pub n: usize,
    /// Weight decay `β` (the last one of a path).
    pub beta: f64,
    /// Convex optimum (or the upper bound a network attains).
    pub objective: f64,
    /// The recovered network's own objective.
    pub network_objective: f64,
    /// Certified lower bound.
    pub lower_bound: f64,
    /// `network_objective − lower_bound`.
    pub duality_gap: f64,
    /// `duality_gap / network_objective`.
    pub relative_gap: f64,
    /// What the bound covers.
    pub certificate: CertificateScope,
    /// Solver status (`optimal`, `solved`, `time limit`, ...).
    pub status: String,
    /// Whether the certificate closed (relative gap within the solver's tolerance).
    pub converged: bool,
    /// Units of the recovered network.
    pub filters: usize,
    /// Training accuracy (class labels, or signs of two classes).
    pub train_accuracy: Option<f64>,
    /// Accuracy on the held-out part.
    pub test_accuracy: Option<f64>,
    /// Wall time of the fit, seconds.
    pub seconds: f64,
    /// Which number is which.
    pub notes: Vec<String>,
    /// Fields of this architecture and mode.
    #[serde(flatten)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// The keys of [`Report`] that `details` must not repeat.
const REPORT_KEYS: [&str; 21] = [
    "version",
    "arch",
    "name",
    "regularizer",
    "data",
    "n",
    "beta",
    "objective",
    "network_objective",
    "lower_bound",
    "duality_gap",
    "relative_gap",
    "certificate",
    "status",
    "converged",
    "filters",
    "train_accuracy",
    "test_accuracy",
    "seconds",
    "notes",
    "details",
];

impl Report {
    /// A report with the common numbers; gap fields follow from the two objectives.
    pub fn new(arch: &dyn Architecture, family: &str, n: usize, beta: f64) -> Self {
        Report {
            version: 2,
            arch: family.to_string(),
            name: arch.name(),
            regularizer: arch.regularizer().to_string(),
            data: String::new(),
            n,
            beta,
            objective: f64::NAN,
            network_objective: f64::NAN,
            lower_bound: f64::NAN,
            duality_gap: f64::NAN,
            relative_gap: f64::NAN,
            certificate: CertificateScope::Global,
            status: String::new(),
            converged: false,
            filters: 0,
            train_accuracy: None,
            test_accuracy: None,
            seconds: 0.0,
            notes: Vec::new(),
            details: serde_json::Map::new(),
        }
    }

    /// Sets the objectives and the bound; the gaps follow (`tol`: the relative gap under which
    /// the fit counts as converged).
    pub fn bracket(&mut self, objective: f64, network_objective: f64, lower_bound: f64, tol: f64) {
        self.objective = objective;
        self.network_objective = network_objective;
        self.lower_bound = lower_bound;
        self.duality_gap = (network_objective - lower_bound).max(0.0);
        self.relative_gap = self.duality_gap / network_objective.abs().max(1e-300);
        self.converged = self.relative_gap <= tol;
    }

    /// Adds a field of this family (one that is not a common key; those are ignored).
    pub fn detail(&mut self, key: &str, value: impl Serialize) -> &mut Self {
        debug_assert!(!REPORT_KEYS.contains(&key), "{key} is a common key");
        if !REPORT_KEYS.contains(&key) {
            self.details.insert(
                key.to_string(),
                serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
            );
        }
        self
    }

    /// Adds every field of a serialisable struct (a map) as details, skipping common keys.
    pub fn details_from(&mut self, value: impl Serialize) -> &mut Self {
        if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(value) {
            for (k, v) in m {
                if !REPORT_KEYS.contains(&k.as_str()) {
                    self.details.insert(k, v);
                }
            }
        }
        self
    }

    /// The numbers `compare` needs.
    pub fn convex(&self) -> ConvexFit {
        ConvexFit {
            objective: self.objective,
            network_objective: self.network_objective,
            lower_bound: self.lower_bound,
            exact: self.certificate == CertificateScope::Global && self.converged,
            seconds: self.seconds,
        }
    }
}

/// A fitted architecture: the report and the model.
pub struct Fit {
    /// Everything the fit measured.
    pub report: Report,
    /// The recovered network.
    pub model: Box<dyn Model>,
}

impl Fit {
    /// A fit with an honest status: when the solver reports success but the certificate does
    /// not close (the recovered network's objective is not within the tolerance of the
    /// certified bound), the status is `inaccurate`, with a note that says why. Fits that only
    /// claim bounds (`certificate: bounds`) keep their status.
    pub fn new(mut report: Report, model: Box<dyn Model>) -> Fit {
        let claims_success = matches!(
            report.status.as_str(),
            "solved" | "almost_solved" | "optimal"
        );
        let bounds_only = report.certificate == CertificateScope::Bounds;
        if claims_success && !report.converged && !bounds_only {
            report.notes.push(format!(
                "status: the solver reported {}, but the recovered network is {:.1e} (relative) above the certified lower bound, outside the tolerance; at a β this small against beta_max the solver's accuracy may not suffice",
                report.status, report.relative_gap
            ));
            report.status = "inaccurate".into();
        }
        Fit { report, model }
    }
}

/// An architecture: a validated description (geometry, β, patterns, solver) that fits itself
/// to data, certifies the result, and trains the same network non-convexly for comparison.
pub trait Architecture: Send + Sync {
    /// Name for reports.
    fn name(&self) -> String;
    /// The implicit convex regularizer, in words.
    fn regularizer(&self) -> &'static str;
    /// Convex training, recovery and certificate on `ds` with its own targets; progress goes
    /// to `obs`.
    fn fit(&self, ds: &Dataset, obs: &mut dyn Observer) -> Result<Fit>;
    /// One non-convex run (Adam on the same network and objective) from a seeded start, on
    /// scalar targets `y`.
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>>;
}

/// Sign accuracy of `f` when the targets are two classes (class labels, or all ±1).
pub(crate) fn sign_accuracy_of(ds: &Dataset, y: &[f64], f: &[f64]) -> Option<f64> {
    let labels = matches!(ds.targets, crate::data::Targets::Classes(_))
        || (!y.is_empty() && y.iter().all(|v| *v == 1.0 || *v == -1.0));
    labels.then(|| crate::loss::sign_accuracy(f, y))
}

/// The relative gap under which an exact (interior-point) fit counts as converged.
pub(crate) const EXACT_GAP: f64 = 1e-6;

impl From<crate::certify::Scope> for CertificateScope {
    fn from(s: crate::certify::Scope) -> Self {
        match s {
            crate::certify::Scope::Global => CertificateScope::Global,
            crate::certify::Scope::Restricted => CertificateScope::Restricted,
        }
    }
}

/// The first-layer geometry a model needs to read samples and to describe its weights.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    /// Kernel, stride, padding, bias.
    pub(crate) spec: crate::patches::PatchSpec,
    /// The samples' shape (channels, size, 1-D or images).
    pub(crate) shape: crate::data::SampleShape,
}

impl Geometry {
    /// The geometry of `spec` on the samples of `ds`.
    pub(crate) fn of(spec: crate::patches::PatchSpec, ds: &Dataset) -> Self {
        Geometry {
            spec,
            shape: ds.shape,
        }
    }

    /// The geometry a saved model describes (see [`Geometry::describe`]).
    pub(crate) fn read(t: &ModelTensors, file: &std::path::Path) -> Result<Self> {
        let (shape, spec) = crate::patches::read_geometry(t, file)?;
        Ok(Geometry { spec, shape })
    }

    /// Filter size `h` (the bias entry included).
    pub(crate) fn filter_len(&self) -> usize {
        self.spec.filter_len(&self.shape)
    }

    /// PyTorch's Conv weight shape for `out` filters: `(out, c, k)` or `(out, c, kh, kw)`.
    pub(crate) fn conv_shape(&self, out: usize) -> Vec<usize> {
        let s = &self.spec;
        let c = self.shape.channels;
        if self.shape.one_d {
            vec![out, c, s.kernel_w]
        } else {
            vec![out, c, s.kernel_h, s.kernel_w]
        }
    }

    /// `rows` filters of [`Geometry::filter_len`] values as PyTorch's Conv `weight` and, with a
    /// bias, `bias` (the last entry of each filter).
    pub(crate) fn push_conv(&self, t: &mut ModelTensors, rows: &[f64]) {
        let h = self.filter_len();
        let m = rows.len() / h.max(1);
        if self.spec.bias {
            let (w, b): (Vec<&[f64]>, Vec<f64>) = rows
                .chunks_exact(h)
                .map(|r| (&r[..h - 1], r[h - 1]))
                .unzip();
            t.push("conv.weight", self.conv_shape(m), w.concat());
            t.push("conv.bias", vec![m], b);
        } else {
            t.push("conv.weight", self.conv_shape(m), rows.to_vec());
        }
    }

    /// The filters [`Geometry::push_conv`] wrote (`m × filter_len`, bias last), and `m`.
    pub(crate) fn read_conv(
        &self,
        t: &ModelTensors,
        file: &std::path::Path,
    ) -> Result<(Vec<f64>, usize)> {
        let w = t.require("conv.weight", file)?;
        let h = self.filter_len();
        let kk = h - usize::from(self.spec.bias);
        let m = w.shape.first().copied().unwrap_or(0);
        if w.shape != self.conv_shape(m) || w.data.len() != m * kk {
            return Err(crate::error::Error::format(
                file,
                format!(
                    "tensor 'conv.weight': shape {:?}, expected {:?}",
                    w.shape,
                    self.conv_shape(m)
                ),
            ));
        }
        if !self.spec.bias {
            return Ok((w.data.clone(), m));
        }
        let b = t.require("conv.bias", file)?;
        if b.data.len() != m {
            return Err(crate::error::Error::format(
                file,
                format!(
                    "tensor 'conv.bias': {} values for {m} filters",
                    b.data.len()
                ),
            ));
        }
        let mut rows = Vec::with_capacity(m * h);
        for (r, bj) in w.data.chunks_exact(kk.max(1)).zip(&b.data) {
            rows.extend_from_slice(r);
            rows.push(*bj);
        }
        Ok((rows, m))
    }

    /// `input_shape` (`[c, L]` or `[c, H, W]`), `kernel`, `stride` and `padding` (`[h, w]`
    /// each) and `bias` metadata.
    pub(crate) fn describe(&self, t: &mut ModelTensors) {
        let s = &self.spec;
        let d = &self.shape;
        let input = if d.one_d {
            format!("[{}, {}]", d.channels, d.width)
        } else {
            format!("[{}, {}, {}]", d.channels, d.height, d.width)
        };
        t.meta("input_shape", input)
            .meta("kernel", format!("[{}, {}]", s.kernel_h, s.kernel_w))
            .meta("stride", format!("[{}, {}]", s.stride_h, s.stride_w))
            .meta("padding", format!("[{}, {}]", s.pad_h, s.pad_w))
            .meta("bias", s.bias.to_string());
    }
}

/// A network that acts on the patches of its first layer (linear and three-layer CNNs).
pub(crate) trait PatchNetwork: Send {
    /// Outputs on the patches.
    fn forward(&self, p: &crate::patches::Patches) -> Result<Vec<f64>>;
    /// Loss summed over samples plus the penalty at weight `beta`.
    fn penalized(&self, p: &crate::patches::Patches, y: &[f64], beta: f64) -> Result<f64>;
    /// Units with non-zero weight.
    fn units(&self) -> usize;
    /// The weights in PyTorch's layout.
    fn weights(&self, g: &Geometry) -> ModelTensors;
}

/// A [`PatchNetwork`] with its geometry and `β`: a [`Model`].
pub(crate) struct PatchModel<N> {
    pub(crate) net: N,
    pub(crate) geometry: Geometry,
    pub(crate) beta: f64,
}

impl<N: PatchNetwork + 'static> PatchModel<N> {
    /// The model of `net` read back with its geometry, and the sample shape it reads.
    pub(crate) fn loaded(
        net: N,
        geometry: Geometry,
        beta: f64,
    ) -> (Box<dyn Model>, crate::data::SampleShape) {
        let shape = geometry.shape;
        (
            Box::new(PatchModel {
                net,
                geometry,
                beta,
            }),
            shape,
        )
    }
}

impl<N: PatchNetwork> Model for PatchModel<N> {
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>> {
        let p = crate::patches::Patches::extract(&ds.x, ds.n(), &ds.shape, &self.geometry.spec)?;
        self.net.forward(&p)
    }
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64> {
        let p = crate::patches::Patches::extract(&ds.x, ds.n(), &ds.shape, &self.geometry.spec)?;
        self.net.penalized(&p, y, self.beta)
    }
    fn width(&self) -> usize {
        self.net.units()
    }
    fn tensors(&self) -> Result<Option<ModelTensors>> {
        Ok(Some(self.net.weights(&self.geometry)))
    }
}

impl Report {
    /// Sets the objectives and the two-layer certificate `c` (bound, gaps, scope) of an exact
    /// solve.
    pub(crate) fn certified(
        &mut self,
        objective: f64,
        network_objective: f64,
        c: &crate::certify::Certificate,
    ) {
        self.bracket(objective, network_objective, c.lower_bound, EXACT_GAP);
        self.duality_gap = c.duality_gap;
        self.relative_gap = c.relative_gap;
        self.converged = c.relative_gap <= EXACT_GAP;
        self.certificate = c.scope.into();
    }
}
