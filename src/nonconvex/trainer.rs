//! The non-convex training loop: seeded initialisation, shuffled minibatches, SGD or Adam, and a
//! history of the full training objective (the same objective and scale as the convex program:
//! loss summed over samples plus `(β/2) Σ_j (‖u_j‖² + w_j²)`).
//!
//! The steps descend the *mean* objective `J/n`, whose minibatch gradient is
//! `(1/B) Σ_{t ∈ batch} ∇ℓ_t + (β/n)θ`: the PyTorch convention of a mean loss with
//! `weight_decay = β/n`, so learning rates mean what they mean there. `J/n` and `J` have the same
//! minimisers; reports give `J`.

use super::batch::{predict_all, Params, PoolOp, Workspace};
use super::optim::{Optimizer, OptimizerKind, Schedule};
use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::loss::{argmax_rows, Loss};
use crate::network::TwoLayerCnn;
use crate::patches::{PatchSpec, Patches};
use crate::program::Pooling;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_distr::Distribution;
use serde::Serialize;
use std::time::Instant;

/// Settings of one non-convex run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct NonconvexSettings {
    /// Update rule.
    pub optimizer: OptimizerKind,
    /// Filters per output `m` (`C·m` filters in all).
    pub width: usize,
    /// Passes over the training data.
    pub epochs: usize,
    /// Learning rate (on the mean objective).
    pub lr: f64,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Minibatch size (0: the whole training set).
    pub batch_size: usize,
    /// Momentum of SGD.
    pub momentum: f64,
    /// Seed of the initialisation and of the minibatch order.
    pub seed: u64,
    /// Initial weights are `N(0, init_scale²/h)` for filters and `N(0, init_scale²/m)` for
    /// output weights.
    pub init_scale: f64,
    /// At most this many history records (evenly spaced in epochs, plus the start and the end).
    pub records: usize,
}

impl Default for NonconvexSettings {
    fn default() -> Self {
        NonconvexSettings {
            optimizer: OptimizerKind::Adam,
            width: 8,
            epochs: 100,
            lr: 1e-2,
            schedule: Schedule::Constant,
            batch_size: 64,
            momentum: 0.9,
            seed: 0,
            init_scale: 1.0,
            records: 200,
        }
    }
}

impl NonconvexSettings {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.width == 0 {
            return Err(Error::param("width", "must be at least 1"));
        }
        if self.epochs == 0 {
            return Err(Error::param("epochs", "must be at least 1"));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(Error::param(
                "lr",
                format!("must be positive and finite, got {}", self.lr),
            ));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(Error::param(
                "momentum",
                format!("must be in [0, 1), got {}", self.momentum),
            ));
        }
        if !(self.init_scale > 0.0 && self.init_scale.is_finite()) {
            return Err(Error::param(
                "init_scale",
                format!("must be positive and finite, got {}", self.init_scale),
            ));
        }
        Ok(())
    }
}

/// The training problem: patches, targets and objective.
#[derive(Debug, Clone, Copy)]
pub struct NonconvexData<'a> {
    /// Patches of the training samples.
    pub patches: &'a Patches,
    /// Targets `n × C` column-major (one-hot for classes; `±1` or reals for one output).
    pub y: &'a [f64],
    /// Outputs `C`.
    pub outputs: usize,
    /// Loss.
    pub loss: Loss,
    /// Weight decay `β`.
    pub beta: f64,
    /// Pooling over the positions.
    pub pool: PoolOp,
    /// Optional test patches and targets, for the test accuracy in the history.
    pub test: Option<(&'a Patches, &'a [f64])>,
}

/// One point of the history.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EpochRecord {
    /// Epochs completed.
    pub epoch: usize,
    /// Training seconds so far (evaluations not counted).
    pub seconds: f64,
    /// Full training objective `J`.
    pub objective: f64,
    /// Training accuracy.
    pub train_accuracy: f64,
    /// Test accuracy, when test data are given.
    pub test_accuracy: Option<f64>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// All epochs done.
    Completed,
    /// The objective became non-finite (learning rate too large); the run stopped there.
    Diverged,
    /// The observer asked to stop.
    Stopped,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct NonconvexRun {
    /// Final parameters.
    pub params: Params,
    /// Final training objective `J` (batched forward pass).
    pub objective: f64,
    /// Final training accuracy.
    pub train_accuracy: f64,
    /// Final test accuracy.
    pub test_accuracy: Option<f64>,
    /// History, from the initialisation to the end.
    pub history: Vec<EpochRecord>,
    /// Training seconds (evaluations not counted).
    pub seconds: f64,
    /// How it ended.
    pub status: RunStatus,
}

/// Watches a run; returning `false` stops it.
pub trait EpochObserver {
    /// Called after every recorded epoch; `total` is the number of epochs asked for.
    fn epoch(&mut self, record: &EpochRecord, total: usize) -> bool;
}

/// An observer that watches nothing.
pub struct Unobserved;

impl EpochObserver for Unobserved {
    fn epoch(&mut self, _: &EpochRecord, _: usize) -> bool {
        true
    }
}

/// Accuracy of predictions `f` against targets `y` (both `n × C`): argmax agreement for several
/// outputs, sign agreement (`f ≥ 0` iff `y > 0`) for one.
pub fn accuracy_against(f: &[f64], y: &[f64], n: usize, outputs: usize) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    let right = if outputs > 1 {
        let a = argmax_rows(f, n);
        let b = argmax_rows(y, n);
        a.iter().zip(&b).filter(|(p, q)| p == q).count()
    } else {
        f.iter()
            .zip(y)
            .filter(|(p, q)| (**p >= 0.0) == (**q > 0.0))
            .count()
    };
    right as f64 / n as f64
}

fn check_data(d: &NonconvexData<'_>) -> Result<()> {
    if d.outputs == 0 || d.y.len() != d.patches.n * d.outputs {
        return Err(Error::Data(format!(
            "{} targets for {} samples and {} outputs",
            d.y.len(),
            d.patches.n,
            d.outputs
        )));
    }
    if d.patches.n == 0 {
        return Err(Error::Data("no training samples".into()));
    }
    if !(d.beta > 0.0 && d.beta.is_finite()) {
        return Err(Error::param(
            "beta",
            format!("β must be positive and finite, got {}", d.beta),
        ));
    }
    if let Some((tp, ty)) = d.test {
        if tp.h != d.patches.h || tp.k != d.patches.k || ty.len() != tp.n * d.outputs {
            return Err(Error::Data(
                "test patches or targets do not match the training data".into(),
            ));
        }
    }
    Ok(())
}

/// Seeded initial parameters.
pub fn initial_params(h: usize, outputs: usize, s: &NonconvexSettings) -> Params {
    let m_total = outputs * s.width;
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(s.seed);
    let normal = rand_distr::StandardNormal;
    let su = s.init_scale / (h as f64).sqrt();
    let sw = s.init_scale / (s.width as f64).sqrt();
    let u = (0..m_total * h)
        .map(|_| su * Distribution::<f64>::sample(&normal, &mut rng))
        .collect();
    let w = (0..m_total)
        .map(|_| sw * Distribution::<f64>::sample(&normal, &mut rng))
        .collect();
    Params {
        u,
        w,
        per_output: s.width,
        outputs,
    }
}

/// Buffers for evaluating the full objective.
struct Evaluator {
    idx: Vec<usize>,
    f: Vec<f64>,
    ft: Vec<f64>,
}

impl Evaluator {
    fn record(
        &mut self,
        ws: &mut Workspace,
        d: &NonconvexData<'_>,
        p: &Params,
        epoch: usize,
        seconds: f64,
    ) -> EpochRecord {
        let n = d.patches.n;
        predict_all(ws, d.patches, p, d.pool, &mut self.idx, &mut self.f);
        let objective = d.loss.value_grad(&self.f, d.y, n, None) + d.beta * p.half_sq_norm();
        let train_accuracy = accuracy_against(&self.f, d.y, n, d.outputs);
        let test_accuracy = d.test.map(|(tp, ty)| {
            predict_all(ws, tp, p, d.pool, &mut self.idx, &mut self.ft);
            accuracy_against(&self.ft, ty, tp.n, d.outputs)
        });
        EpochRecord {
            epoch,
            seconds,
            objective,
            train_accuracy,
            test_accuracy,
        }
    }
}

/// Trains the two-layer CNN with per-output filters from a seeded random start.
pub fn train_nonconvex(
    d: &NonconvexData<'_>,
    s: &NonconvexSettings,
    obs: &mut dyn EpochObserver,
) -> Result<NonconvexRun> {
    s.validate()?;
    check_data(d)?;
    let (n, h, c) = (d.patches.n, d.patches.h, d.outputs);
    let batch = if s.batch_size == 0 {
        n
    } else {
        s.batch_size.min(n)
    };
    let mut p = initial_params(h, c, s);
    let m_total = p.filters();
    let mut ws = Workspace::new(batch, d.patches, m_total, c);
    let mut ev = Evaluator {
        idx: Vec::with_capacity(batch),
        f: vec![0.0; n * c],
        ft: vec![0.0; d.test.map_or(0, |(tp, _)| tp.n * c)],
    };
    let mut opt_u = Optimizer::new(s.optimizer, s.lr, s.momentum, p.u.len());
    let mut opt_w = Optimizer::new(s.optimizer, s.lr, s.momentum, p.w.len());
    let mut gu = vec![0.0; p.u.len()];
    let mut gw = vec![0.0; p.w.len()];
    let mut order: Vec<usize> = (0..n).collect();
    // The minibatch order has its own stream, so that it does not shift the initialisation.
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(s.seed ^ 0x6d69_6e69_6261_7463);
    let decay = d.beta / n as f64;
    let every = s.epochs.div_ceil(s.records.max(1)).max(1);
    let mut history = Vec::with_capacity(s.epochs / every + 2);
    let mut status = RunStatus::Completed;
    let mut seconds = 0.0;
    let first = ev.record(&mut ws, d, &p, 0, 0.0);
    history.push(first);
    if !obs.epoch(&first, s.epochs) {
        status = RunStatus::Stopped;
    }
    let mut epoch = 0;
    while status == RunStatus::Completed && epoch < s.epochs {
        let t = Instant::now();
        let lr = s.schedule.rate(s.lr, epoch, s.epochs);
        opt_u.set_lr(lr);
        opt_w.set_lr(lr);
        if batch < n {
            order.shuffle(&mut rng);
        }
        let mut finite = true;
        for idx in order.chunks(batch) {
            let v = ws.loss_grad(
                d.patches, d.y, d.loss, &p, d.pool, decay, idx, &mut gu, &mut gw,
            );
            if !v.is_finite() {
                finite = false;
                break;
            }
            opt_u.step(&mut p.u, &gu);
            opt_w.step(&mut p.w, &gw);
        }
        seconds += t.elapsed().as_secs_f64();
        epoch += 1;
        if !finite {
            status = RunStatus::Diverged;
        }
        if epoch % every == 0 || epoch == s.epochs || !finite {
            let r = ev.record(&mut ws, d, &p, epoch, seconds);
            history.push(r);
            if !r.objective.is_finite() {
                status = RunStatus::Diverged;
            }
            if status == RunStatus::Completed && !obs.epoch(&r, s.epochs) {
                status = RunStatus::Stopped;
            }
        }
    }
    let last = *history.last().unwrap_or(&first);
    Ok(NonconvexRun {
        params: p,
        objective: last.objective,
        train_accuracy: last.train_accuracy,
        test_accuracy: last.test_accuracy,
        history,
        seconds,
        status,
    })
}

/// The standard CNN of a run's parameters: `C × M` output weights with one non-zero per column.
pub fn to_network(p: &Params, shape: SampleShape, spec: PatchSpec, pool: Pooling) -> TwoLayerCnn {
    let m = p.filters();
    let c = p.outputs.max(1);
    let mut weights = vec![0.0; c * m];
    for j in 0..m {
        weights[p.owner(j) * m + j] = p.w[j];
    }
    TwoLayerCnn {
        shape,
        spec,
        pool,
        filters: p.u.clone(),
        outputs: c,
        weights,
    }
}
