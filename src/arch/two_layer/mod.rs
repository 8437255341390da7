//! The two-layer ReLU CNN: global sum, average or max pooling with one output ([`train`]: exact
//! or sampled patterns, interior point), and the multi-output classifier at scale
//! ([`classifier`]: sampled patterns, first-order solvers, certificates).

pub mod classifier;
pub mod train;

use self::train::{train, Silent, TrainConfig};
use crate::arch::traits::{Architecture, ConvexFit, Model};
use crate::data::Dataset;
use crate::error::Result;
use crate::network::TwoLayerCnn;
use crate::nonconvex::{
    to_network, train_nonconvex, FullBatchSettings, NonconvexData, NonconvexSettings,
    OptimizerKind, PoolOp, Schedule, Unobserved,
};
use crate::patches::Patches;
use std::time::Instant;

// The Architecture interface.

/// The two-layer CNN with global sum, average or max pooling.
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
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64> {
        self.0.objective(&ds.x, y, self.1)
    }
    fn width(&self) -> usize {
        self.0.width()
    }
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
    fn fit(&self, ds: &Dataset, y: &[f64]) -> Result<(ConvexFit, Box<dyn Model>)> {
        let t = Instant::now();
        let o = train(ds, y, &self.cfg, &mut Silent)?;
        let fit = ConvexFit {
            objective: o.objective,
            network_objective: o.network_objective,
            lower_bound: o.certificate.lower_bound,
            exact: o.certificate.scope == crate::certify::Scope::Global,
            seconds: t.elapsed().as_secs_f64(),
        };
        Ok((fit, Box::new(TwoLayerModel(o.network, self.cfg.beta))))
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
