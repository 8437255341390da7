//! Circular CNNs on 1-D signals (MATH.md section 6, MATH-DEEP.md section 2): the shallow
//! `L = 3` program with its spectral ℓ1 regularizer ([`shallow`]) and the deep `L ≥ 4`
//! networks with their bounds ([`deep`], which builds on the shallow one, never the reverse).

pub mod deep;
pub mod shallow;

pub use deep::*;
pub use shallow::*;

use crate::arch::traits::{Architecture, ConvexFit, Model};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::nonconvex::FullBatchSettings;
use crate::solver::IpmSettings;
use std::time::Instant;

// The Architecture interface.

/// Circular CNNs on single-channel 1-D signals.
#[derive(Debug, Clone, Copy)]
pub struct Circular {
    /// Layers `L ≥ 3`.
    pub layers: usize,
    /// The spectral path norm instead of weight decay.
    pub path_norm: bool,
    /// `β`.
    pub beta: f64,
    /// Interior-point settings.
    pub ipm: IpmSettings,
    /// Seed of the refinement (L ≥ 4).
    pub seed: u64,
}

struct CircularModel {
    net: DeepCircularCnn,
    beta: f64,
    path_norm: bool,
}

impl Model for CircularModel {
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>> {
        self.net.predict(&ds.x)
    }
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64> {
        if self.path_norm {
            self.net.path_norm_objective(&ds.x, y, self.beta)
        } else {
            self.net.objective(&ds.x, y, self.beta)
        }
    }
    fn width(&self) -> usize {
        self.net.width()
    }
}

impl Circular {
    fn signals(ds: &Dataset) -> Result<usize> {
        if !ds.shape.one_d || ds.shape.channels != 1 {
            return Err(Error::param(
                "arch",
                format!(
                    "circular CNNs take single-channel 1-D signals; the data are {}x{}x{}",
                    ds.shape.channels, ds.shape.height, ds.shape.width
                ),
            ));
        }
        Ok(ds.shape.width)
    }
}

impl Architecture for Circular {
    fn name(&self) -> String {
        format!(
            "circular, L = {}{}",
            self.layers,
            if self.path_norm { ", path norm" } else { "" }
        )
    }
    fn regularizer(&self) -> &'static str {
        if self.path_norm || self.layers == 3 {
            "spectral ℓ1 over sign patterns"
        } else {
            "weighted spectral group ℓ1 (lower bound) / single-frequency units (upper bound)"
        }
    }
    fn fit(&self, ds: &Dataset, y: &[f64]) -> Result<(ConvexFit, Box<dyn Model>)> {
        let t = Instant::now();
        let d = Self::signals(ds)?;
        let model = |net| CircularModel {
            net,
            beta: self.beta,
            path_norm: self.path_norm,
        };
        if self.path_norm {
            let (opt, net) = path_norm_network(&ds.x, d, y, self.beta, self.layers, &self.ipm)?;
            let m = model(net);
            let own = m.objective(ds, y)?;
            let fit = ConvexFit {
                objective: opt,
                network_objective: own,
                lower_bound: opt.min(own),
                exact: true,
                seconds: t.elapsed().as_secs_f64(),
            };
            return Ok((fit, Box::new(m)));
        }
        if self.layers == 3 {
            let o = train_circular_exact(&ds.x, d, y, self.beta, &self.ipm)?;
            let net = DeepCircularCnn {
                d,
                layers: 3,
                a: o.network.a,
                b: o.network.b,
                w: o.network.w,
            };
            let fit = ConvexFit {
                objective: o.objective,
                network_objective: o.network_objective,
                lower_bound: o.dual_objective.min(o.objective),
                exact: true,
                seconds: t.elapsed().as_secs_f64(),
            };
            return Ok((fit, Box::new(model(net))));
        }
        let lb = lower_bound_with_cone_test(&ds.x, d, y, self.beta, self.layers, &self.ipm)?;
        let (ub, ub_net) =
            single_frequency_network(&ds.x, d, y, self.beta, self.layers, &self.ipm)?;
        let mut best = (ub_net.clone(), ub_net.objective(&ds.x, y, self.beta)?);
        for k in 0..4 {
            let s = RefineSettings {
                iters: 5000,
                lr: 0.01,
                noise: 0.2,
                seed: self.seed.wrapping_add(k),
            };
            let (net, v) = refine(&ds.x, y, self.beta, &ub_net, &s)?;
            if v < best.1 {
                best = (net, v);
            }
        }
        let fit = ConvexFit {
            objective: ub,
            network_objective: best.1,
            lower_bound: lb.value,
            exact: lb.cone_test,
            seconds: t.elapsed().as_secs_f64(),
        };
        Ok((fit, Box::new(model(best.0))))
    }
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>> {
        use rand::SeedableRng;
        use rand_distr::Distribution;
        let d = Self::signals(ds)?;
        if self.path_norm {
            return Err(Error::param(
                "path_norm",
                "no non-convex baseline for the path norm (it is not differentiable at zero spectra)",
            ));
        }
        // A random start refined by the same projected Adam as the upper-bound network.
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(s.seed);
        let mut draw = |k: usize, sd: f64| -> Vec<f64> {
            (0..k)
                .map(|_| sd * Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut rng))
                .collect()
        };
        let m = s.width.max(1);
        let sd = 1.0 / (d as f64).sqrt();
        let start = DeepCircularCnn {
            d,
            layers: self.layers,
            a: draw(m * (self.layers - 2) * d, sd),
            b: draw(m * d, sd),
            w: draw(m, 1.0 / (m as f64).sqrt()),
        };
        let rs = RefineSettings {
            iters: s.iters,
            lr: s.lr,
            noise: 0.0,
            seed: s.seed,
        };
        let (net, _) = refine(&ds.x, y, self.beta, &start, &rs)?;
        Ok(Box::new(CircularModel {
            net,
            beta: self.beta,
            path_norm: false,
        }))
    }
}
