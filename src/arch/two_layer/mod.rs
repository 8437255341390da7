//! The two-layer ReLU CNN: global sum, average or max pooling with one output ([`train`]: exact
//! or sampled patterns, interior point), and the multi-output classifier at scale
//! ([`classifier`]: sampled patterns, first-order solvers, certificates).

pub mod classifier;
pub mod classify;
pub mod train;

pub use classify::{BetaChoice, Classifier, DataPart, ModelInfo, SplitInfo, TrainedPatterns};

use self::train::{train, TrainConfig};
use crate::arch::traits::{sign_accuracy_of, Architecture, Fit, Model, Report};
use crate::data::Dataset;
use crate::error::Result;
use crate::network::TwoLayerCnn;
use crate::nonconvex::{
    to_network, train_nonconvex, FullBatchSettings, NonconvexData, NonconvexSettings,
    OptimizerKind, PoolOp, Schedule, Unobserved,
};
use crate::observe::Observer;
use crate::patches::Patches;
use crate::tensors::ModelTensors;

// The Architecture interface.

/// The two-layer CNN with global sum, average or max pooling and one output.
#[derive(Debug, Clone, Copy)]
pub struct TwoLayer {
    /// Training settings.
    pub cfg: TrainConfig,
}

struct TwoLayerModel(TwoLayerCnn, f64);

impl Model for TwoLayerModel {
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>> {
        self.0.predict(&ds.x)
    }
    fn outputs(&self) -> usize {
        self.0.outputs.max(1)
    }
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64> {
        self.0.objective(&ds.x, y, self.1)
    }
    fn width(&self) -> usize {
        self.0.width()
    }
    fn tensors(&self) -> Result<Option<ModelTensors>> {
        Ok(Some(self.0.tensors(&[])))
    }
}

/// A saved two-layer network (global pooling; one output, or one per class for classifiers and
/// shared heads) with weight decay `beta` for its objective; its input shape.
pub(crate) fn read(
    t: &ModelTensors,
    beta: f64,
    file: &std::path::Path,
) -> Result<(Box<dyn Model>, crate::data::SampleShape)> {
    let net = TwoLayerCnn::from_tensors(t, file)?;
    let shape = net.shape;
    Ok((Box::new(TwoLayerModel(net, beta)), shape))
}

impl Architecture for TwoLayer {
    fn name(&self) -> String {
        format!("two-layer, global {} pooling", self.cfg.pool.name())
    }
    fn regularizer(&self) -> &'static str {
        match self.cfg.pool {
            crate::program::Pooling::Max => "group ℓ2 over argmax patterns",
            _ => "group ℓ2 over sign patterns",
        }
    }
    fn fit(&self, ds: &Dataset, obs: &mut dyn Observer) -> Result<Fit> {
        let y = ds.scalar_targets()?;
        let o = train(ds, &y, &self.cfg, obs)?;
        let c = &o.certificate;
        let mut r = Report::new(self, "two-layer", o.n, self.cfg.beta);
        r.certified(o.objective, o.network_objective, c);
        r.status = o.status.name().into();
        r.filters = o.network.width();
        r.train_accuracy = sign_accuracy_of(ds, &y, &o.network.predict(&ds.x)?);
        r.seconds = o.seconds;
        r.notes.push(match c.scope {
            crate::certify::Scope::Global => "all sign patterns were enumerated: lower_bound is a lower bound on the training objective of every two-layer network of this architecture, of any width; duality_gap bounds how far network_objective is from the global optimum",
            crate::certify::Scope::Restricted => "patterns were sampled: lower_bound holds only for networks whose filters have the sampled patterns (the restricted model); the global optimum may be lower",
        }.to_string());
        let s = &o.network.spec;
        let one_d = o.network.shape.one_d;
        let axes = |a: usize, b: usize| if one_d { vec![b] } else { vec![a, b] };
        r.detail("pool", o.network.pool.name())
            .detail("loss", "squared")
            .detail("solver", "ipm")
            .detail("kernel", axes(s.kernel_h, s.kernel_w))
            .detail("stride", axes(s.stride_h, s.stride_w))
            .detail("padding", axes(s.pad_h, s.pad_w))
            .detail("bias", s.bias)
            .detail("beta_max", o.beta_max)
            .detail("pattern_mode", self.cfg.patterns.text())
            .detail(
                "seed",
                match self.cfg.patterns {
                    crate::patterns::PatternChoice::Sample { seed, .. } => Some(seed),
                    crate::patterns::PatternChoice::Exact => None,
                },
            )
            .detail("positions", o.k)
            .detail("filter_size", o.h)
            .detail("hyperplanes", o.hyperplanes)
            .detail("rank", o.rank)
            .detail("patterns", o.patterns)
            .detail("blocks", o.blocks)
            .detail(
                "pattern_bound",
                crate::patterns::count_text(o.pattern_bound_rows),
            )
            .detail(
                "objective_mismatch",
                (o.network_objective - o.objective).abs() / o.objective.abs().max(1e-300),
            )
            .detail("gamma_residual", c.gamma_residual)
            .detail("filters_before_pruning", o.filters_before_pruning)
            .detail("iterations", o.iterations)
            .detail("working_set", o.working_set)
            .detail("constraint_violation", o.constraint_violation)
            .detail("pattern_check", o.pattern_check)
            .detail("timings", o.timings);
        Ok(Fit::new(
            r,
            Box::new(TwoLayerModel(o.network, self.cfg.beta)),
        ))
    }
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.cfg.spec)?;
        let data = NonconvexData {
            patches: &p,
            y,
            outputs: 1,
            loss: crate::loss::Loss::Squared,
            beta: self.cfg.beta,
            pool: PoolOp::of(self.cfg.pool, p.k),
            test: None,
        };
        let settings = NonconvexSettings {
            optimizer: OptimizerKind::Adam,
            width: s.width,
            epochs: s.iters,
            lr: s.lr,
            schedule: Schedule::Constant,
            batch_size: ds.n(),
            seed: s.seed,
            ..NonconvexSettings::default()
        };
        let r = train_nonconvex(&data, &settings, &mut Unobserved)?;
        let net = to_network(&r.params, ds.shape, self.cfg.spec, self.cfg.pool);
        Ok(Box::new(TwoLayerModel(net, self.cfg.beta)))
    }
}
