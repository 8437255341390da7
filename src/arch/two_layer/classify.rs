//! The multi-output classifier as an [`Architecture`]: class labels in, a held-out test part, an
//! optional input standardization, one β or a warm-started path of them, sampled patterns and a
//! first-order solver ([`super::classifier`]), and a model that `eval` and `predict` can load
//! again (`model.safetensors` beside `model.json`).

use super::classifier::{
    beta_max, gated_limits, point_of_network, prepare_with, solve_prepared_with, CheckpointPlan,
    ClassifierConfig, ClassifierOutcome, FirstOrder,
};
use crate::arch::traits::{Architecture, CertificateScope, Fit, Model, Report};
use crate::data::{Dataset, Normalization};
use crate::error::{Error, Result};
use crate::loss::{accuracy, Loss};
use crate::network::TwoLayerCnn;
use crate::nonconvex::{
    train_nonconvex, FullBatchSettings, NonconvexData, NonconvexSettings, PoolOp, Unobserved,
};
use crate::observe::{IterRecord, Observer};
use crate::solver::IterObserver;
use crate::tensors::ModelTensors;
use serde::{Deserialize, Serialize};

/// Values of `β` of a classifier run.
#[derive(Debug, Clone, PartialEq)]
pub enum BetaChoice {
    /// These values, solved in order with warm starts (the last one's model is kept).
    List(Vec<f64>),
    /// `N` values from just below `β_max` (where the network is zero) down to `β_max/100`,
    /// geometrically.
    Path(usize),
}

/// What is saved beside the weights (`model.json`) so that a model can be used again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Original class label of every output.
    pub classes: Vec<i64>,
    /// Input normalization applied before the network.
    pub normalization: Normalization,
    /// Loss the model was trained with.
    pub loss: Loss,
    /// How the training data were split (classifiers): with the same data, the held-out part
    /// can be found again ([`ModelInfo::part`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitInfo>,
}

/// The seeded train/test split of a classifier's data ([`Dataset::split`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitInfo {
    /// Samples before the split.
    pub samples: usize,
    /// Fraction held out.
    pub test_fraction: f64,
    /// Seed of the split.
    pub seed: u64,
}

/// A part of the data a model was trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataPart {
    /// Every sample.
    All,
    /// The samples the model was trained on.
    Train,
    /// The held-out samples.
    Test,
}

impl ModelInfo {
    /// What a model without `model.json` assumes: outputs `0..outputs`, no normalization, the
    /// squared loss.
    pub fn plain(outputs: usize) -> ModelInfo {
        ModelInfo {
            classes: (0..outputs.max(1) as i64).collect(),
            normalization: Normalization::None,
            loss: Loss::Squared,
            split: None,
        }
    }

    /// A scalar output trained on two classes (`negative` as −1, `positive` as +1): a negative
    /// output predicts `negative`.
    pub fn two_classes(negative: i64, positive: i64) -> ModelInfo {
        ModelInfo {
            classes: vec![negative, positive],
            normalization: Normalization::None,
            loss: Loss::Squared,
            split: None,
        }
    }

    /// `part` of `ds`, the data the model was trained on (before normalization): the same
    /// seeded split as at training, so `Test` is the held-out part.
    pub fn part(&self, ds: &Dataset, part: DataPart) -> Result<Dataset> {
        if part == DataPart::All {
            return Ok(ds.clone());
        }
        let Some(s) = self.split else {
            return Err(Error::param(
                "split",
                "the model records no train/test split (only classifiers split their data)",
            ));
        };
        if ds.n() != s.samples {
            return Err(Error::Data(format!(
                "{} samples, but the model was trained on {} (give the same data and --limit to find its split again)",
                ds.n(),
                s.samples
            )));
        }
        if s.test_fraction == 0.0 {
            return Ok(if part == DataPart::Train {
                ds.clone()
            } else {
                ds.head(0)
            });
        }
        let (train, test) = ds.split(s.test_fraction, s.seed)?;
        Ok(if part == DataPart::Train { train } else { test })
    }
}

/// The two-layer CNN with one output per class, trained on sampled patterns by a first-order
/// solver with a restricted certificate.
#[derive(Debug, Clone)]
pub struct Classifier {
    /// Solver, patterns, geometry and loss (`cfg.beta` is set from `betas`).
    pub cfg: ClassifierConfig,
    /// `β` values.
    pub betas: BetaChoice,
    /// Fraction of the data held out for testing (seeded by `cfg.seed`).
    pub test_fraction: f64,
    /// Standardize each input channel with the training part's statistics.
    pub standardize: bool,
    /// Filters (`rows × h`, row-major) whose patterns replace sampled ones.
    pub gates: Option<Vec<f64>>,
    /// Patterns and a warm start from a short non-convex run of the same network (instead of
    /// sampled patterns): see [`TrainedPatterns`].
    pub trained: Option<TrainedPatterns>,
    /// Checkpoints of the ADMM solve (one β only).
    pub checkpoint: Option<CheckpointPlan>,
}

/// Patterns from a short Adam run of the same CNN (same data, loss, pooling and first `β`),
/// `width` filters per output for `epochs` passes (learning rate 1e-2, minibatches of 64,
/// seeded by the classifier's seed). The program takes the patterns of the trained filters, and
/// the solver starts from the trained network written as a convex point
/// ([`point_of_network`]): the convex objective starts at or below the network's, and the
/// result is never worse than that start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainedPatterns {
    /// Filters per output.
    pub width: usize,
    /// Passes over the training data.
    pub epochs: usize,
}

impl TrainedPatterns {
    /// Trains the network on `train` and returns its parameters and training seconds.
    fn train(
        &self,
        train: &Dataset,
        labels: &[usize],
        classes: usize,
        cfg: &ClassifierConfig,
    ) -> Result<(crate::nonconvex::Params, f64, f64)> {
        let patches =
            crate::patches::Patches::extract(&train.x, train.n(), &train.shape, &cfg.spec)?;
        let y = crate::loss::one_hot(labels, classes);
        let data = NonconvexData {
            patches: &patches,
            y: &y,
            outputs: classes,
            loss: cfg.loss,
            beta: cfg.beta,
            pool: PoolOp::of(cfg.pool, patches.k),
            test: None,
        };
        let s = NonconvexSettings {
            width: self.width,
            epochs: self.epochs,
            seed: cfg.seed,
            ..NonconvexSettings::default()
        };
        let run = train_nonconvex(&data, &s, &mut Unobserved)?;
        Ok((run.params, run.objective, run.seconds))
    }
}

struct ClassifierModel {
    net: Option<TwoLayerCnn>,
    info: ModelInfo,
}

impl Model for ClassifierModel {
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>> {
        let net = self.net.as_ref().ok_or_else(|| {
            Error::Solver("the gated relaxation is a bound, not a ReLU network".into())
        })?;
        net.predict(&ds.x)
    }
    fn outputs(&self) -> usize {
        self.info.classes.len()
    }
    fn objective(&self, _ds: &Dataset, _y: &[f64]) -> Result<f64> {
        Err(Error::param(
            "targets",
            "the classifier's objective takes class labels, not scalar targets",
        ))
    }
    fn width(&self) -> usize {
        self.net.as_ref().map_or(0, |n| n.width())
    }
    fn tensors(&self) -> Result<Option<ModelTensors>> {
        Ok(self.net.as_ref().map(|n| n.tensors(&[])))
    }
    fn extra_files(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let json = serde_json::to_vec_pretty(&self.info)
            .map_err(|e| Error::Solver(format!("model: {e}")))?;
        Ok(vec![("model.json".into(), json)])
    }
}

/// Class indices of `ds` against the model's `classes`.
pub fn labels_of(ds: &Dataset, classes: &[i64], what: &str) -> Result<Vec<usize>> {
    ds.class_index_with(classes)?
        .into_iter()
        .enumerate()
        .map(|(t, c)| {
            c.ok_or_else(|| {
                Error::Data(format!(
                    "{what} sample {t} has a label the model does not know"
                ))
            })
        })
        .collect()
}

/// Forwards the solver's iterations to an [`Observer`] and keeps them.
struct Iterations<'a> {
    obs: &'a mut dyn Observer,
    history: Vec<IterRecord>,
}

impl IterObserver for Iterations<'_> {
    fn record(&mut self, rec: &IterRecord) -> bool {
        self.history.push(*rec);
        self.obs.iteration(rec)
    }
}

/// A classifier's data after the split and the normalization.
#[derive(Debug, Clone)]
pub struct ClassifierData {
    /// Training part (normalized).
    pub train: Dataset,
    /// Test part (normalized).
    pub test: Dataset,
    /// Class label of every output.
    pub classes: Vec<i64>,
    /// The normalization applied (statistics of the training part).
    pub normalization: Normalization,
}

impl Classifier {
    /// Splits `ds` into training and test parts (seeded; none held out at a test fraction of
    /// 0) and normalizes both with the training part's statistics.
    pub fn split(&self, ds: &Dataset) -> Result<ClassifierData> {
        let ci = ds.class_index()?;
        let (mut train, mut test) = if self.test_fraction == 0.0 {
            (ds.clone(), ds.head(0))
        } else {
            ds.split(self.test_fraction, self.cfg.seed)?
        };
        let normalization = if self.standardize {
            Normalization::standardize_from(&train)
        } else {
            Normalization::None
        };
        normalization.apply(&mut train)?;
        normalization.apply(&mut test)?;
        Ok(ClassifierData {
            train,
            test,
            classes: ci.labels,
            normalization,
        })
    }

    /// The `β` values for the training part (a path needs `β_max`, the largest dual-constraint
    /// value at the zero network).
    fn betas(&self, train: &Dataset, classes: &[i64]) -> Result<Vec<f64>> {
        let betas = match &self.betas {
            BetaChoice::List(b) => b.clone(),
            BetaChoice::Path(n) => {
                if *n == 0 {
                    return Err(Error::param("beta", "a path needs at least one value"));
                }
                let labels = labels_of(train, classes, "training")?;
                let prep = prepare_with(
                    train,
                    &labels,
                    classes.len(),
                    &self.cfg,
                    self.gates.as_deref(),
                    0,
                )?;
                let bmax = beta_max(&prep.prog, 30.0)?;
                // Geometric from just below β_max (where the network is zero) to β_max/100.
                (0..*n)
                    .map(|j| {
                        let t = if *n == 1 {
                            1.0
                        } else {
                            j as f64 / (*n - 1) as f64
                        };
                        0.9 * bmax * (0.01f64 / 0.9).powf(t)
                    })
                    .collect()
            }
        };
        if betas.is_empty() {
            return Err(Error::param("beta", "no value of β given"));
        }
        if let Some(b) = betas.iter().find(|b| !(**b > 0.0 && b.is_finite())) {
            return Err(Error::param(
                "beta",
                format!("β must be positive and finite, got {b}"),
            ));
        }
        Ok(betas)
    }

    /// The iteration count a progress display should expect per `β`.
    pub fn iterations(&self) -> usize {
        match self.cfg.solver {
            FirstOrder::AugmentedLagrangian | FirstOrder::Projected | FirstOrder::Admm => {
                self.cfg.al.limits.max_iter
            }
            FirstOrder::Gated => gated_limits(&self.cfg.al).max_iter,
        }
    }
}

/// Share of the time left that a solve gets under a time limit (the rest: projection,
/// recovery and the two certificates).
const SOLVE_SHARE: f64 = 0.75;

impl Architecture for Classifier {
    fn name(&self) -> String {
        format!(
            "two-layer classifier, {}×{} kernel, stride {}×{}, global {} pooling",
            self.cfg.spec.kernel_h,
            self.cfg.spec.kernel_w,
            self.cfg.spec.stride_h,
            self.cfg.spec.stride_w,
            self.cfg.pool.name()
        )
    }
    fn regularizer(&self) -> &'static str {
        "group ℓ2 over sampled sign patterns, per output"
    }
    fn fit(&self, ds: &Dataset, obs: &mut dyn Observer) -> Result<Fit> {
        let ClassifierData {
            train,
            test,
            classes,
            normalization,
        } = self.split(ds)?;
        let started = std::time::Instant::now();
        let betas = self.betas(&train, &classes)?;
        let train_labels = labels_of(&train, &classes, "training")?;
        let test_labels = labels_of(&test, &classes, "test")?;
        let mut cfg = self.cfg;
        cfg.beta = betas[0];
        // The time limit bounds the whole fit: each solve gets a share of what is left, and the
        // certificates what the solve leaves (see `ClassifierConfig::deadline`).
        let deadline = self
            .cfg
            .al
            .limits
            .time_limit
            .map(|s| started + std::time::Duration::from_secs_f64(s.max(0.0)));
        cfg.deadline = deadline;
        let trained = match &self.trained {
            Some(t) => {
                obs.stage(&format!("Adam, {} filters per output", t.width));
                Some(t.train(&train, &train_labels, classes.len(), &cfg)?)
            }
            None => None,
        };
        let gates = match &trained {
            Some((params, _, _)) => Some(params.u.as_slice()),
            None => self.gates.as_deref(),
        };
        // Adam's filters can collapse (dense, positive inputs): then sampled patterns fill in.
        let fill = self
            .trained
            .map_or(0, |t| t.width.saturating_mul(classes.len()));
        let mut prep = prepare_with(&train, &train_labels, classes.len(), &cfg, gates, fill)?;
        let (filled, from_gates) = (prep.filled, prep.set.len() - prep.filled);
        let mut warm: Option<Vec<f64>> = trained
            .as_ref()
            .map(|(params, _, _)| point_of_network(&prep.prog, &prep.hyperplanes, params).0);
        let mut last: Option<(ClassifierOutcome, Option<f64>, f64)> = None;
        let mut path_rows = Vec::new();
        let mut history = Vec::new();
        for (step, &beta) in betas.iter().enumerate() {
            cfg.beta = beta;
            prep.prog.beta = beta;
            if let Some(d) = deadline {
                let left = d
                    .saturating_duration_since(std::time::Instant::now())
                    .as_secs_f64();
                let share = SOLVE_SHARE * left / (betas.len() - step) as f64;
                cfg.al.limits.time_limit = Some(share.max(1e-3));
            }
            obs.stage(&if betas.len() > 1 {
                format!("β = {beta:.4e} ({}/{})", step + 1, betas.len())
            } else {
                match cfg.solver {
                    FirstOrder::AugmentedLagrangian => "augmented Lagrangian".to_string(),
                    FirstOrder::Gated => "gated FISTA".to_string(),
                    FirstOrder::Projected => "projected FISTA".to_string(),
                    FirstOrder::Admm => "ADMM".to_string(),
                }
            });
            obs.progress(0, self.iterations());
            let mut it = Iterations {
                obs: &mut *obs,
                history: Vec::new(),
            };
            let plan = self.checkpoint.as_ref().filter(|_| betas.len() == 1);
            let mut o = solve_prepared_with(
                &prep,
                &train,
                &train_labels,
                &cfg,
                warm.as_deref(),
                plan,
                &mut it,
            )?;
            history = it.history;
            // Patterns priced in stay for the next β (the point is in the grown layout).
            if let Some(g) = o.grown.take() {
                let (set, prog) = *g;
                prep.set = set;
                prep.prog = prog;
            }
            let test_acc = match &o.network {
                Some(net) if test.n() > 0 => Some(accuracy(&net.predict(&test.x)?, &test_labels)),
                _ => None,
            };
            path_rows.push(serde_json::json!({
                "beta": beta, "objective": o.objective, "relative_gap": o.certificate.relative_gap,
                "filters": o.filters, "train_accuracy": o.train_accuracy, "test_accuracy": test_acc,
                "status": o.status, "seconds": o.seconds,
            }));
            warm = Some(o.point.clone());
            last = Some((o, test_acc, beta));
        }
        let Some((o, test_acc, beta)) = last else {
            return Err(Error::param("beta", "no value of β given"));
        };
        let mut r = Report::new(self, "two-layer", train.n(), beta);
        let network_objective = o.network_objective.unwrap_or(f64::NAN);
        r.bracket(
            o.objective,
            o.network_objective.unwrap_or(o.objective),
            o.certificate.dual,
            cfg.al.limits.tol,
        );
        r.network_objective = network_objective;
        // The gap the user gets: the certificate's, or the recovered network's distance to the
        // certified bound when that is larger (they agree to rounding when the point is in its
        // cones; a network that does not reach the convex objective is not called solved).
        r.relative_gap = o.certificate.relative_gap.max(r.relative_gap);
        r.converged = o.network.is_some() && r.relative_gap <= cfg.al.limits.tol;
        r.certificate = CertificateScope::Restricted;
        r.status = o.status.name().into();
        r.filters = o.filters;
        r.train_accuracy = Some(o.train_accuracy);
        r.test_accuracy = test_acc;
        r.seconds = o.seconds;
        r.notes = vec![
            "objective: convex objective of the solver's point after projection onto the pattern cones (a feasible point); network_objective: the recovered CNN's own objective (equal up to rounding)".into(),
            "restricted_certificate.relative_gap (= relative_gap, unless the recovered network is further above the bound): duality gap of the RESTRICTED program (sampled patterns only); it certifies optimality among networks whose filters use those patterns".into(),
            "fresh: dual constraints checked on a fresh batch of sampled patterns; gamma_over_beta > 1 means the global optimum is lower, and fresh.dual bounds the program over both pattern sets".into(),
            "losses are summed over samples (not averaged)".into(),
            "solver_history: the first-order solver's iterates of the last β (seconds since the solve began, after timings.patterns + operator; objective of the iterate; its relative cone violation)".into(),
        ];
        if filled > 0 {
            r.notes.push(format!(
                "trained_start.sampled_patterns: the Adam start's {} filters gave only {} distinct patterns, so {} Gaussian patterns joined them (Adam's first steps switched its units fully on or off; standardized inputs usually avoid that)",
                fill, from_gates, filled
            ));
        }
        r.details_from(&o);
        r.detail("mode", "classifier")
            .detail("restricted_certificate", &o.certificate)
            .detail("n_train", train.n())
            .detail("n_test", test.n())
            .detail("classes", &classes)
            .detail("loss", cfg.loss)
            .detail("spec", cfg.spec)
            .detail("pool", cfg.pool.name())
            .detail("draws", cfg.draws)
            .detail(
                "trained_start",
                trained.as_ref().map(|(_, objective, seconds)| {
                    serde_json::json!({"width": self.trained.map(|t| t.width), "epochs": self.trained.map(|t| t.epochs), "objective": objective, "seconds": seconds, "sampled_patterns": filled})
                }),
            )
            .detail("seed", cfg.seed)
            .detail(
                "solver_history",
                history
                    .iter()
                    .map(|h| serde_json::json!({"seconds": h.elapsed, "objective": h.objective, "violation": h.violation}))
                    .collect::<Vec<_>>(),
            );
        if path_rows.len() > 1 {
            r.detail("path", path_rows);
        }
        let model = ClassifierModel {
            net: o.network,
            info: ModelInfo {
                classes,
                normalization,
                loss: cfg.loss,
                split: Some(SplitInfo {
                    samples: ds.n(),
                    test_fraction: self.test_fraction,
                    seed: self.cfg.seed,
                }),
            },
        };
        Ok(Fit::new(r, Box::new(model)))
    }
    fn nonconvex(
        &self,
        _ds: &Dataset,
        _y: &[f64],
        _s: &FullBatchSettings,
    ) -> Result<Box<dyn Model>> {
        Err(Error::param(
            "arch",
            "the classifier's non-convex baseline runs through compare's multi-output trainer",
        ))
    }
}
