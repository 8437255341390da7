//! One interface over every architecture: exact (or bracketed) convex training with recovery and
//! certificate, the recovered network's own forward pass and objective, and the non-convex
//! baseline on the same network and objective. `cvxcnn compare` and the architecture benchmark
//! (`examples/architectures.rs`) work through it unchanged for every architecture.

pub mod circular;
pub mod linear;
pub mod local_pool;
pub mod shared;
pub mod three_layer;
pub mod two_layer;

use crate::arch::circular::train_circular_exact;
use crate::arch::circular::{
    lower_bound_with_cone_test, path_norm_network, refine, single_frequency_network,
    DeepCircularCnn, RefineSettings,
};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::arch::linear::{
    solve_linear_fc, solve_linear_pool, train_linear_adam, LinearCnn, LinearFcSettings, LinearHead,
    LinearOperator,
};
use crate::arch::local_pool::{tile_windows, train_local, train_local_adam, LocalConfig, LocalPoolCnn};
use crate::network::TwoLayerCnn;
use crate::nonconvex::{
    to_network, train_nonconvex, FullBatchSettings, NonconvexData, NonconvexSettings,
    OptimizerKind, PoolOp, Schedule, Unobserved,
};
use crate::patches::Patches;
use crate::solver::IpmSettings;
use crate::arch::two_layer::train::{train, Silent, TrainConfig};
use std::time::Instant;

/// A trained network of any architecture.
pub trait Model: Send {
    /// Predictions for the samples of `ds` (one output).
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>>;
    /// The architecture's training objective (loss summed over samples + its penalty).
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64>;
    /// Units (filters) with non-zero weight.
    fn width(&self) -> usize;
}

/// The convex side of a run.
#[derive(Debug, Clone, serde::Serialize)]
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

/// An architecture: its name, the regularizer weight decay turns into, convex training and the
/// non-convex baseline.
pub trait Architecture {
    /// Name for reports.
    fn name(&self) -> String;
    /// The implicit convex regularizer, in words.
    fn regularizer(&self) -> &'static str;
    /// Convex training, recovery and certificate on `ds` with scalar targets `y`.
    fn fit(&self, ds: &Dataset, y: &[f64]) -> Result<(ConvexFit, Box<dyn Model>)>;
    /// One non-convex run (Adam on the same network and objective) from a seeded start.
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>>;
}

fn sq_loss(f: &[f64], y: &[f64]) -> f64 {
    f.iter().zip(y).map(|(a, b)| 0.5 * (a - b) * (a - b)).sum()
}

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

/// Local pooling windows with the ℓ1-squared head.
#[derive(Debug, Clone)]
pub struct LocalPool {
    /// Training settings.
    pub cfg: LocalConfig,
}

struct LocalModel(LocalPoolCnn, f64);

impl Model for LocalModel {
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.0.spec)?;
        self.0.predict(&p)
    }
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64> {
        Ok(sq_loss(&self.predict(ds)?, y) + self.0.penalty_l1(self.1))
    }
    fn width(&self) -> usize {
        self.0.width()
    }
}

impl Architecture for LocalPool {
    fn name(&self) -> String {
        let w = self.cfg.window;
        format!(
            "two-layer, local {} pooling {w}×{w} windows, ℓ1² head",
            match self.cfg.pool {
                crate::arch::local_pool::WindowPool::Avg => "avg",
                crate::arch::local_pool::WindowPool::Max => "max",
            }
        )
    }
    fn regularizer(&self) -> &'static str {
        "group ℓ2 over (pattern, window) blocks"
    }
    fn fit(&self, ds: &Dataset, y: &[f64]) -> Result<(ConvexFit, Box<dyn Model>)> {
        let t = Instant::now();
        let o = train_local(ds, y, &self.cfg)?;
        let fit = ConvexFit {
            objective: o.objective,
            network_objective: o.network_objective,
            lower_bound: o.certificate.lower_bound,
            exact: o.certificate.scope == crate::certify::Scope::Global,
            seconds: t.elapsed().as_secs_f64(),
        };
        Ok((fit, Box::new(LocalModel(o.network, self.cfg.beta))))
    }
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.cfg.spec)?;
        let windows = tile_windows(p.out_dims, self.cfg.window)?;
        let net = train_local_adam(
            &p,
            y,
            &windows,
            self.cfg.pool,
            self.cfg.spec,
            self.cfg.beta,
            s,
        )?;
        Ok(Box::new(LocalModel(net, self.cfg.beta)))
    }
}

/// Linear CNNs (no activation).
#[derive(Debug, Clone, Copy)]
pub struct Linear {
    /// First-layer geometry (no bias).
    pub spec: crate::patches::PatchSpec,
    /// Head.
    pub head: LinearHead,
    /// Average (true) or sum pooling for the pooling head.
    pub average: bool,
    /// `β`.
    pub beta: f64,
}

struct LinearModel(LinearCnn, crate::patches::PatchSpec, f64);

impl Model for LinearModel {
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.1)?;
        self.0.predict(&p)
    }
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.1)?;
        self.0.objective(&p, y, self.2)
    }
    fn width(&self) -> usize {
        self.0.width()
    }
}

impl Linear {
    fn scale(&self, k: usize) -> f64 {
        if self.average {
            1.0 / k as f64
        } else {
            1.0
        }
    }
}

impl Architecture for Linear {
    fn name(&self) -> String {
        match self.head {
            LinearHead::Pool => format!(
                "linear, {} pooling",
                if self.average { "avg" } else { "sum" }
            ),
            LinearHead::Fc => "linear, fully connected head".into(),
        }
    }
    fn regularizer(&self) -> &'static str {
        match self.head {
            LinearHead::Pool => "ℓ2 (one filter)",
            LinearHead::Fc => "nuclear norm",
        }
    }
    fn fit(&self, ds: &Dataset, y: &[f64]) -> Result<(ConvexFit, Box<dyn Model>)> {
        let t = Instant::now();
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let scale = self.scale(p.k);
        let op = LinearOperator::new(&p, self.head, scale);
        let sol = match self.head {
            LinearHead::Pool => solve_linear_pool(&op, y, self.beta)?,
            LinearHead::Fc => solve_linear_fc(&op, y, self.beta, &LinearFcSettings::default())?,
        };
        let net = LinearCnn::from_z(&sol.z, op.h, op.k, self.head, scale)?;
        let network_objective = net.objective(&p, y, self.beta)?;
        let fit = ConvexFit {
            objective: sol.objective,
            network_objective,
            lower_bound: sol.lower_bound,
            exact: true,
            seconds: t.elapsed().as_secs_f64(),
        };
        Ok((fit, Box::new(LinearModel(net, self.spec, self.beta))))
    }
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let net = train_linear_adam(&p, y, self.head, self.scale(p.k), self.beta, s)?;
        Ok(Box::new(LinearModel(net, self.spec, self.beta)))
    }
}

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
                "--arch",
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
                "--path-norm",
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

/// The three-layer CNN with two ReLU layers (MATH-DEEP.md section 1), exact patterns.
#[derive(Debug, Clone, Copy)]
pub struct ThreeLayer {
    /// First-layer geometry.
    pub spec: crate::patches::PatchSpec,
    /// `β`.
    pub beta: f64,
    /// Interior point (exact, small) or the first-order working-set solver (real data).
    pub solver: crate::arch::three_layer::ThreeLayerSolver,
    /// Refuse programs with more blocks than this.
    pub max_blocks: usize,
    /// Exact or sampled patterns.
    pub patterns: crate::arch::three_layer::ThreeLayerPatterns,
}

struct ThreeLayerModel(
    crate::arch::three_layer::ThreeLayerCnn,
    crate::patches::PatchSpec,
    f64,
);

impl Model for ThreeLayerModel {
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.1)?;
        self.0.predict(&p)
    }
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.1)?;
        self.0.objective(&p, y, self.2)
    }
    fn width(&self) -> usize {
        self.0.width()
    }
}

impl Architecture for ThreeLayer {
    fn name(&self) -> String {
        "three-layer, two ReLU layers (2 channels per sub-network)".into()
    }
    fn regularizer(&self) -> &'static str {
        "group ℓ2 over S-blocks and P-blocks (pairs of first-layer patterns and a second-layer pattern)"
    }
    fn fit(&self, ds: &Dataset, y: &[f64]) -> Result<(ConvexFit, Box<dyn Model>)> {
        let t = Instant::now();
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let o = crate::arch::three_layer::train_three_layer_with(
            &p,
            y,
            self.beta,
            self.patterns,
            &self.solver,
            self.max_blocks,
        )?;
        let fit = ConvexFit {
            objective: o.objective,
            network_objective: o.network_objective,
            lower_bound: o.dual_objective.min(o.objective),
            exact: true,
            seconds: t.elapsed().as_secs_f64(),
        };
        Ok((
            fit,
            Box::new(ThreeLayerModel(o.network, self.spec, self.beta)),
        ))
    }
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let net = crate::arch::three_layer::train_three_layer_adam(&p, y, self.beta, s)?;
        Ok(Box::new(ThreeLayerModel(net, self.spec, self.beta)))
    }
}

/// Local pooling windows with weight decay on the output weights: the SDP over simplicial cones,
/// exact for patch rank ≤ 4 (MATH-DEEP.md section 3; cargo feature `sdp`).
#[cfg(feature = "sdp")]
#[derive(Debug, Clone)]
pub struct SharedLocal {
    /// First-layer geometry.
    pub spec: crate::patches::PatchSpec,
    /// Window size (see [`crate::arch::local_pool::tile_windows`]).
    pub window: usize,
    /// Max (true) or average pooling inside a window.
    pub max: bool,
    /// `β`.
    pub beta: f64,
    /// Interior-point settings.
    pub ipm: IpmSettings,
}

#[cfg(feature = "sdp")]
struct SharedLocalModel {
    head: crate::arch::shared::sdp::SharedHead,
    spec: crate::patches::PatchSpec,
    filters: Vec<f64>,
    weights: Vec<f64>,
    beta: f64,
}

#[cfg(feature = "sdp")]
impl Model for SharedLocalModel {
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let lw = match &self.head {
            crate::arch::shared::sdp::SharedHead::Local { windows, .. } => windows.len(),
            crate::arch::shared::sdp::SharedHead::Vector { outputs } => *outputs,
        };
        Ok(crate::arch::shared::sdp::predict(
            &p,
            &self.head,
            &self.filters,
            &self.weights,
            lw,
        ))
    }
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64> {
        let f = self.predict(ds)?;
        let sq: f64 = self
            .filters
            .iter()
            .chain(&self.weights)
            .map(|v| v * v)
            .sum();
        Ok(sq_loss(&f, y) + 0.5 * self.beta * sq)
    }
    fn width(&self) -> usize {
        self.filters.len() / 2
    }
}

#[cfg(feature = "sdp")]
impl SharedLocal {
    fn head(&self, p: &Patches) -> Result<crate::arch::shared::sdp::SharedHead> {
        Ok(crate::arch::shared::sdp::SharedHead::Local {
            windows: tile_windows(p.out_dims, self.window)?,
            max: self.max,
        })
    }
}

#[cfg(feature = "sdp")]
impl Architecture for SharedLocal {
    fn name(&self) -> String {
        let w = self.window;
        format!(
            "two-layer, local {} pooling {w}×{w} windows, weight decay (SDP)",
            if self.max { "max" } else { "avg" }
        )
    }
    fn regularizer(&self) -> &'static str {
        "PSD matrices over simplicial cones (completely positive; exact for patch rank ≤ 4)"
    }
    fn fit(&self, ds: &Dataset, y: &[f64]) -> Result<(ConvexFit, Box<dyn Model>)> {
        let t = Instant::now();
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let head = self.head(&p)?;
        let o = crate::arch::shared::sdp::solve_shared_sdp(&p, y, &head, self.beta, &self.ipm)?;
        let fit = ConvexFit {
            objective: o.network_objective,
            network_objective: o.network_objective,
            lower_bound: o.lower_bound,
            exact: (o.network_objective - o.lower_bound) <= 1e-6 * o.network_objective,
            seconds: t.elapsed().as_secs_f64(),
        };
        let model = SharedLocalModel {
            head,
            spec: self.spec,
            filters: o.filters,
            weights: o.weights,
            beta: self.beta,
        };
        Ok((fit, Box::new(model)))
    }
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let head = self.head(&p)?;
        let (filters, weights) = crate::arch::shared::sdp::train_shared_adam(&p, y, &head, self.beta, s)?;
        Ok(Box::new(SharedLocalModel {
            head,
            spec: self.spec,
            filters,
            weights,
            beta: self.beta,
        }))
    }
}
