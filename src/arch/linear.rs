//! Linear CNNs (no ReLU; MATH.md section 5), both exact:
//!
//! - **pooling head** `f = Σ_j w_j s Σ_k X_k u_j`: with `A = s Σ_k X_k` the training problem is
//!   `min ½‖A z − y‖² + β‖z‖₂` (one filter suffices, `u = z/√‖z‖`, `w = √‖z‖`), solved in closed
//!   form up to one monotone scalar equation ([`solve_linear_pool`]);
//! - **fully connected head** `f = Σ_j Σ_k w_{jk} X_k u_j`: with `𝒜(Z) = Σ_k X_k Z e_k` the
//!   problem is `min ½‖𝒜(Z) − y‖² + β‖Z‖_*` over `Z ∈ R^{h×K}` (nuclear norm), solved by
//!   accelerated proximal gradient with singular-value thresholding ([`solve_linear_fc`]);
//!   filters come from the SVD `Z = Σ σ_j p_j q_jᵀ`: `u_j = √σ_j p_j`, `w_j = √σ_j q_j`.
//!
//! Both report a duality gap: the dual of `min ½‖𝒜Z − y‖² + β‖Z‖` is
//! `max ⟨y, v⟩ − ½‖v‖²` over `‖𝒜*v‖_dual ≤ β` (operator norm for the nuclear norm), and the
//! scaled residual `v = (y − 𝒜Z)·min(1, β/‖𝒜*(y − 𝒜Z)‖)` is dual feasible.

use crate::arch::traits::{
    sign_accuracy_of, Architecture, Fit, Geometry, Model, PatchModel, PatchNetwork, Report,
    EXACT_GAP,
};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::nonconvex::FullBatchSettings;
use crate::observe::Observer;
use crate::patches::Patches;
use crate::tensors::ModelTensors;
use faer::Mat;
use serde::Serialize;
use std::time::Instant;

/// The output head of a linear CNN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinearHead {
    /// Global pooling with factor `s` (1: sum, `1/K`: average), one weight per filter.
    Pool,
    /// A linear layer over all positions (`K` weights per filter).
    Fc,
}

/// The linear map `𝒜(Z) = Σ_k B_k Z e_k` of a linear CNN: `B_k = X_k` for the fully connected
/// head, one block `B_1 = s Σ_k X_k` for the pooling head.
#[derive(Debug, Clone)]
pub struct LinearOperator {
    /// Samples `n`.
    pub n: usize,
    /// Filter size `h`.
    pub h: usize,
    /// Blocks `K'` (columns of `Z`).
    pub k: usize,
    /// `B = [B_1 … B_K']`, `n × hK'` (column `k·h + e` is entry `e` of block `k`).
    pub b: Mat<f64>,
}

impl LinearOperator {
    /// The operator of `head` on `patches` (`scale` multiplies the pooled sum).
    pub fn new(patches: &Patches, head: LinearHead, scale: f64) -> Self {
        let (n, h, k) = (patches.n, patches.h, patches.k);
        match head {
            LinearHead::Fc => LinearOperator {
                n,
                h,
                k,
                b: Mat::from_fn(n, h * k, |t, c| patches.row((c / h) * n + t)[c % h]),
            },
            LinearHead::Pool => LinearOperator {
                n,
                h,
                k: 1,
                b: Mat::from_fn(n, h, |t, e| {
                    scale * (0..k).map(|kk| patches.row(kk * n + t)[e]).sum::<f64>()
                }),
            },
        }
    }

    /// `𝒜(Z)` for `Z` stored column-major (`h × K'`).
    pub fn apply(&self, z: &[f64]) -> Vec<f64> {
        let zc = faer::MatRef::from_column_major_slice(z, self.h * self.k, 1);
        let f = &self.b * zc;
        (0..self.n).map(|t| f[(t, 0)]).collect()
    }

    /// `𝒜*(r)`, column-major `h × K'`.
    pub fn adjoint(&self, r: &[f64]) -> Vec<f64> {
        let rc = faer::MatRef::from_column_major_slice(r, self.n, 1);
        let g = self.b.transpose() * rc;
        (0..self.h * self.k).map(|i| g[(i, 0)]).collect()
    }
}

/// The nuclear norm and the SVD-based soft threshold of an `h × K'` matrix (column-major).
fn svt(z: &[f64], h: usize, k: usize, tau: f64) -> Result<(Vec<f64>, f64)> {
    let m = faer::MatRef::from_column_major_slice(z, h, k);
    let svd = m
        .thin_svd()
        .map_err(|e| Error::Solver(format!("SVD failed: {e:?}")))?;
    let (u, s, v) = (svd.U(), svd.S().column_vector(), svd.V());
    let mut out = vec![0.0; h * k];
    let mut nuc = 0.0;
    for i in 0..s.nrows() {
        let si = (s[i] - tau).max(0.0);
        if si == 0.0 {
            continue;
        }
        nuc += si;
        for c in 0..k {
            for r in 0..h {
                out[c * h + r] += si * u[(r, i)] * v[(c, i)];
            }
        }
    }
    Ok((out, nuc))
}

/// Nuclear norm (sum of singular values) of an `h × K'` matrix (column-major).
pub fn nuclear_norm(z: &[f64], h: usize, k: usize) -> Result<f64> {
    faer::MatRef::from_column_major_slice(z, h, k)
        .singular_values()
        .map(|s| s.iter().sum())
        .map_err(|e| Error::Solver(format!("SVD failed: {e:?}")))
}

/// Spectral norm (largest singular value) of an `h × K'` matrix (column-major).
pub fn spectral_norm(z: &[f64], h: usize, k: usize) -> Result<f64> {
    faer::MatRef::from_column_major_slice(z, h, k)
        .singular_values()
        .map(|s| s.iter().cloned().fold(0.0, f64::max))
        .map_err(|e| Error::Solver(format!("SVD failed: {e:?}")))
}

/// A solution of a linear-CNN program with its certificate.
#[derive(Debug, Clone, Serialize)]
pub struct LinearSolution {
    /// `Z`, column-major `h × K'`.
    pub z: Vec<f64>,
    /// Primal objective `½‖𝒜Z − y‖² + β‖Z‖_*`.
    pub objective: f64,
    /// Dual objective at the scaled residual (a lower bound on the optimum).
    pub lower_bound: f64,
    /// Iterations (bisection steps for the closed form).
    pub iterations: usize,
}

fn certify(
    op: &LinearOperator,
    y: &[f64],
    beta: f64,
    z: Vec<f64>,
    it: usize,
) -> Result<LinearSolution> {
    let f = op.apply(&z);
    let r: Vec<f64> = y.iter().zip(&f).map(|(a, b)| a - b).collect();
    let loss: f64 = 0.5 * r.iter().map(|v| v * v).sum::<f64>();
    let objective = loss + beta * nuclear_norm(&z, op.h, op.k)?;
    let g = spectral_norm(&op.adjoint(&r), op.h, op.k)?;
    let s = if g > beta { beta / g } else { 1.0 };
    let lower_bound: f64 = y
        .iter()
        .zip(&r)
        .map(|(yi, ri)| s * yi * ri - 0.5 * s * s * ri * ri)
        .sum();
    Ok(LinearSolution {
        z,
        objective,
        lower_bound,
        iterations: it,
    })
}

fn check(op: &LinearOperator, y: &[f64], beta: f64) -> Result<()> {
    crate::program::check_beta(beta)?;
    crate::data::check_targets(y, op.n)?;
    Ok(())
}

/// `min ½‖A z − y‖² + β‖z‖₂` for the pooling head (`op.k = 1`), in closed form: with the SVD
/// `A = P Σ Qᵀ` and `c = Pᵀy`, `z = Q ζ(λ)`, `ζ_i = σ_i c_i/(σ_i² + λ)`, where `λ = β/‖z‖` solves
/// the increasing scalar equation `λ‖ζ(λ)‖ = β` (bisection in `log λ`); `z = 0` when
/// `‖Aᵀy‖ ≤ β`.
pub fn solve_linear_pool(op: &LinearOperator, y: &[f64], beta: f64) -> Result<LinearSolution> {
    check(op, y, beta)?;
    if op.k != 1 {
        return Err(Error::param(
            "head",
            "the closed form is for the pooling head",
        ));
    }
    let h = op.h;
    let aty = op.adjoint(y);
    if aty.iter().map(|v| v * v).sum::<f64>().sqrt() <= beta {
        return certify(op, y, beta, vec![0.0; h], 0);
    }
    let svd =
        op.b.thin_svd()
            .map_err(|e| Error::Solver(format!("SVD failed: {e:?}")))?;
    let (p, s, q) = (svd.U(), svd.S().column_vector(), svd.V());
    let r = s.nrows();
    let c: Vec<f64> = (0..r)
        .map(|i| (0..op.n).map(|t| p[(t, i)] * y[t]).sum())
        .collect();
    let zeta =
        |lam: f64| -> Vec<f64> { (0..r).map(|i| s[i] * c[i] / (s[i] * s[i] + lam)).collect() };
    let g = |lam: f64| lam * zeta(lam).iter().map(|v| v * v).sum::<f64>().sqrt() - beta;
    // g(0+) = −β < 0 and g(∞) = ‖Σc‖ − β > 0: bracket, then bisect in log λ.
    let (mut lo, mut hi) = (1e-300f64, 1.0f64);
    while g(hi) < 0.0 {
        hi *= 10.0;
    }
    let mut it = 0;
    while hi / lo > 1.0 + 1e-15 && it < 2000 {
        let mid = (lo.ln() * 0.5 + hi.ln() * 0.5).exp();
        if g(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        it += 1;
    }
    let zt = zeta(0.5 * (lo + hi));
    let z: Vec<f64> = (0..h)
        .map(|e| (0..r).map(|i| q[(e, i)] * zt[i]).sum())
        .collect();
    certify(op, y, beta, z, it)
}

/// Settings of [`solve_linear_fc`].
#[derive(Debug, Clone, Copy)]
pub struct LinearFcSettings {
    /// Stop when `(objective − lower_bound) ≤ tol·max(objective, 1e-12)`.
    pub tol: f64,
    /// Iteration limit.
    pub max_iter: usize,
}

impl Default for LinearFcSettings {
    fn default() -> Self {
        LinearFcSettings {
            tol: 1e-10,
            max_iter: 200_000,
        }
    }
}

/// `min ½‖𝒜(Z) − y‖² + β‖Z‖_*` by FISTA with singular-value thresholding and adaptive restart,
/// stopping on the relative duality gap. Works for any `K'` (for `K' = 1` the nuclear norm is
/// the ℓ2 norm: the pooling problem).
pub fn solve_linear_fc(
    op: &LinearOperator,
    y: &[f64],
    beta: f64,
    s: &LinearFcSettings,
) -> Result<LinearSolution> {
    check(op, y, beta)?;
    let (h, k) = (op.h, op.k);
    let lip = {
        let sv =
            op.b.singular_values()
                .map_err(|e| Error::Solver(format!("SVD failed: {e:?}")))?;
        let m = sv.iter().cloned().fold(0.0, f64::max);
        (m * m).max(1e-300)
    };
    let step = 1.0 / lip;
    let mut z = vec![0.0; h * k];
    let mut w = z.clone();
    let mut tk = 1.0f64;
    let mut best = certify(op, y, beta, z.clone(), 0)?;
    for it in 1..=s.max_iter {
        let f = op.apply(&w);
        let r: Vec<f64> = f.iter().zip(y).map(|(a, b)| a - b).collect();
        let g = op.adjoint(&r);
        let trial: Vec<f64> = w.iter().zip(&g).map(|(a, b)| a - step * b).collect();
        let (znew, _) = svt(&trial, h, k, step * beta)?;
        crate::solver::momentum_step(&mut w, &z, &znew, &mut tk);
        z = znew;
        if it % 10 == 0 || it == s.max_iter {
            let c = certify(op, y, beta, z.clone(), it)?;
            let done = c.objective - c.lower_bound <= s.tol * c.objective.max(1e-12);
            if c.objective < best.objective || done {
                best = c;
            }
            if done {
                break;
            }
        }
    }
    Ok(best)
}

/// A linear CNN: filters `u_j` and output weights (one per filter for the pooling head, `K` per
/// filter for the fully connected head).
#[derive(Debug, Clone, Serialize)]
pub struct LinearCnn {
    /// Head.
    pub head: LinearHead,
    /// Pooling factor (pooling head).
    pub scale: f64,
    /// Filter size `h`.
    pub h: usize,
    /// Filters, `m × h` row-major.
    pub filters: Vec<f64>,
    /// Output weights, `m × K'` row-major (`K' = 1` for the pooling head).
    pub weights: Vec<f64>,
}

impl LinearCnn {
    /// Filters `m`.
    pub fn width(&self) -> usize {
        self.filters.len() / self.h.max(1)
    }

    /// The network of `Z` (`h × K'` column-major): its SVD factors, `√σ_j` on each side;
    /// singular values below `1e-12·σ_max` are dropped.
    pub fn from_z(z: &[f64], h: usize, k: usize, head: LinearHead, scale: f64) -> Result<Self> {
        let m = faer::MatRef::from_column_major_slice(z, h, k);
        let svd = m
            .thin_svd()
            .map_err(|e| Error::Solver(format!("SVD failed: {e:?}")))?;
        let (u, s, v) = (svd.U(), svd.S().column_vector(), svd.V());
        let smax = (0..s.nrows()).map(|i| s[i]).fold(0.0, f64::max);
        let mut filters = Vec::new();
        let mut weights = Vec::new();
        for i in 0..s.nrows() {
            if s[i] <= 1e-12 * smax || s[i] == 0.0 {
                continue;
            }
            let r = s[i].sqrt();
            filters.extend((0..h).map(|e| r * u[(e, i)]));
            weights.extend((0..k).map(|c| r * v[(c, i)]));
        }
        Ok(LinearCnn {
            head,
            scale,
            h,
            filters,
            weights,
        })
    }

    /// Predictions on `patches`, computed neuron by neuron from the patches (not through `Z`).
    pub fn predict(&self, patches: &Patches) -> Result<Vec<f64>> {
        if patches.h != self.h {
            return Err(Error::Data(format!(
                "patches of size {} for filters of size {}",
                patches.h, self.h
            )));
        }
        let (n, k) = (patches.n, patches.k);
        let kw = match self.head {
            LinearHead::Pool => 1,
            LinearHead::Fc => k,
        };
        let mut f = vec![0.0; n];
        for (u, w) in self
            .filters
            .chunks_exact(self.h)
            .zip(self.weights.chunks_exact(kw))
        {
            for (t, ft) in f.iter_mut().enumerate() {
                for kk in 0..k {
                    let z: f64 = patches
                        .row(kk * n + t)
                        .iter()
                        .zip(u)
                        .map(|(a, b)| a * b)
                        .sum();
                    *ft += match self.head {
                        LinearHead::Pool => self.scale * w[0] * z,
                        LinearHead::Fc => w[kk] * z,
                    };
                }
            }
        }
        Ok(f)
    }

    /// `½‖f − y‖² + (β/2) Σ_j (‖u_j‖² + ‖w_j‖²)`.
    pub fn objective(&self, patches: &Patches, y: &[f64], beta: f64) -> Result<f64> {
        let f = self.predict(patches)?;
        let loss: f64 = crate::loss::half_squared(&f, y);
        let sq: f64 = self
            .filters
            .iter()
            .chain(&self.weights)
            .map(|v| v * v)
            .sum();
        Ok(loss + 0.5 * beta * sq)
    }
}

/// Full-batch Adam on the non-convex linear CNN (`width` filters), from a seeded Gaussian start.
pub fn train_linear_adam(
    patches: &Patches,
    y: &[f64],
    head: LinearHead,
    scale: f64,
    beta: f64,
    s: &crate::nonconvex::FullBatchSettings,
) -> Result<LinearCnn> {
    use crate::nonconvex::{Optimizer, OptimizerKind};

    let op = LinearOperator::new(patches, head, scale);
    check(&op, y, beta)?;
    let (h, k, m) = (op.h, op.k, s.width);
    if m == 0 {
        return Err(Error::param("width", "at least one filter"));
    }
    let mut draws = crate::nonconvex::Draws::new(s.seed);
    let mut draw = |len: usize, sd: f64| draws.draw(len, sd);
    let mut u = draw(m * h, 1.0 / (h as f64).sqrt());
    let mut w = draw(m * k, 1.0 / ((m * k) as f64).sqrt());
    let mut ou = Optimizer::new(OptimizerKind::Adam, s.lr, 0.0, m * h);
    let mut ow = Optimizer::new(OptimizerKind::Adam, s.lr, 0.0, m * k);
    let (mut gu, mut gw) = (vec![0.0; m * h], vec![0.0; m * k]);
    let mut z = vec![0.0; h * k];
    for _ in 0..s.iters {
        // Z = Σ_j u_j w_jᵀ, G = 𝒜*(f − y); ∂u_j = G w_j + βu_j, ∂w_j = Gᵀu_j + βw_j.
        z.iter_mut().for_each(|v| *v = 0.0);
        for j in 0..m {
            for c in 0..k {
                for e in 0..h {
                    z[c * h + e] += u[j * h + e] * w[j * k + c];
                }
            }
        }
        let f = op.apply(&z);
        let r: Vec<f64> = f.iter().zip(y).map(|(a, b)| a - b).collect();
        let g = op.adjoint(&r);
        for j in 0..m {
            for e in 0..h {
                gu[j * h + e] =
                    (0..k).map(|c| g[c * h + e] * w[j * k + c]).sum::<f64>() + beta * u[j * h + e];
            }
            for c in 0..k {
                gw[j * k + c] =
                    (0..h).map(|e| g[c * h + e] * u[j * h + e]).sum::<f64>() + beta * w[j * k + c];
            }
        }
        ou.step(&mut u, &gu);
        ow.step(&mut w, &gw);
    }
    Ok(LinearCnn {
        head,
        scale,
        h,
        filters: u,
        weights: w,
    })
}

// The Architecture interface.

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
    /// Tolerance of the nuclear-norm solver (fully connected head).
    pub tol: f64,
}

impl PatchNetwork for LinearCnn {
    fn forward(&self, p: &Patches) -> Result<Vec<f64>> {
        self.predict(p)
    }
    fn penalized(&self, p: &Patches, y: &[f64], beta: f64) -> Result<f64> {
        self.objective(p, y, beta)
    }
    fn units(&self) -> usize {
        self.width()
    }
    /// `conv.weight` as PyTorch's Conv weight without bias, `fc.weight` `(1, m)` for the pooling
    /// head or `(1, m·K)` for the fully connected head, flattened filter-major like
    /// `torch.flatten(conv(x), 1)`.
    fn weights(&self, g: &Geometry) -> ModelTensors {
        let mut t = ModelTensors::new("linear");
        t.push(
            "conv.weight",
            g.conv_shape(self.width()),
            self.filters.clone(),
        );
        t.push(
            "fc.weight",
            vec![1, self.weights.len()],
            self.weights.clone(),
        );
        g.describe(&mut t);
        t.meta("head", head_name(self.head))
            .meta("pool", if self.scale == 1.0 { "sum" } else { "avg" })
            .meta(
                "network",
                match self.head {
                    LinearHead::Pool => "f(x) = fc(pool(conv(x))), no activation",
                    LinearHead::Fc => "f(x) = fc(flatten(conv(x))), no activation",
                },
            );
        t
    }
}

fn head_name(h: LinearHead) -> &'static str {
    match h {
        LinearHead::Pool => "pool",
        LinearHead::Fc => "fc",
    }
}

/// A saved linear CNN (`arch` `linear`) with `β` for its objective; its input shape.
pub(crate) fn read(
    t: &ModelTensors,
    beta: f64,
    file: &std::path::Path,
) -> Result<(Box<dyn Model>, crate::data::SampleShape)> {
    let bad = |msg: String| Error::format(file, msg);
    let geometry = Geometry::read(t, file)?;
    let (oh, ow) = geometry.spec.output_dims(&geometry.shape)?;
    let k = oh * ow;
    let h = geometry.filter_len();
    let head = match t.field("head", file)? {
        "pool" => LinearHead::Pool,
        "fc" => LinearHead::Fc,
        v => return Err(bad(format!("metadata field 'head': unknown value '{v}'"))),
    };
    let scale = match t.field("pool", file)? {
        "sum" => 1.0,
        "avg" => 1.0 / k as f64,
        v => return Err(bad(format!("metadata field 'pool': unknown value '{v}'"))),
    };
    let (filters, m) = geometry.read_conv(t, file)?;
    let fc = t.require("fc.weight", file)?;
    let per = match head {
        LinearHead::Pool => 1,
        LinearHead::Fc => k,
    };
    if fc.data.len() != m * per {
        return Err(bad(format!(
            "tensor 'fc.weight' {:?} does not fit {m} filters with {per} output weights each",
            fc.shape
        )));
    }
    let net = LinearCnn {
        head,
        scale,
        h,
        filters,
        weights: fc.data.clone(),
    };
    Ok(PatchModel::loaded(net, geometry, beta))
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
    fn fit(&self, ds: &Dataset, obs: &mut dyn Observer) -> Result<Fit> {
        if self.spec.bias {
            return Err(Error::param(
                "bias",
                "linear CNNs have no bias (a bias would pass through the pooling as a constant)",
            ));
        }
        let y = ds.scalar_targets()?;
        let t = Instant::now();
        obs.stage("linear program");
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let scale = self.scale(p.k);
        let op = LinearOperator::new(&p, self.head, scale);
        let sol = match self.head {
            LinearHead::Pool => solve_linear_pool(&op, &y, self.beta)?,
            LinearHead::Fc => solve_linear_fc(
                &op,
                &y,
                self.beta,
                &LinearFcSettings {
                    tol: self.tol,
                    ..LinearFcSettings::default()
                },
            )?,
        };
        let net = LinearCnn::from_z(&sol.z, op.h, op.k, self.head, scale)?;
        let network_objective = net.objective(&p, &y, self.beta)?;
        let f = net.predict(&p)?;
        let mut r = Report::new(self, "linear", y.len(), self.beta);
        r.bracket(sol.objective, network_objective, sol.lower_bound, EXACT_GAP);
        r.duality_gap = sol.objective - sol.lower_bound;
        r.relative_gap = r.duality_gap / sol.objective.max(1e-300);
        r.converged = r.relative_gap <= EXACT_GAP.max(self.tol);
        r.status = "optimal".into();
        r.filters = net.width();
        r.train_accuracy = sign_accuracy_of(ds, &y, &f);
        r.notes.push(match self.head {
            LinearHead::Pool => "objective: ½Σ(f−y)² + β‖z‖₂ with z = Σ_j w_j u_j (group ℓ2; one filter suffices), the global optimum of weight decay",
            LinearHead::Fc => "objective: ½Σ(f−y)² + β‖Z‖_* with Z = Σ_j u_j w_jᵀ (nuclear norm), the global optimum of weight decay; filters from the SVD of Z",
        }.into());
        r.detail("head", head_name(self.head))
            .detail("pool", if self.average { "avg" } else { "sum" })
            .detail("positions", p.k)
            .detail("filter_size", p.h)
            .detail("iterations", sol.iterations);
        r.seconds = t.elapsed().as_secs_f64();
        let model = PatchModel {
            net,
            geometry: Geometry::of(self.spec, ds),
            beta: self.beta,
        };
        Ok(Fit::new(r, Box::new(model)))
    }
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let net = train_linear_adam(&p, y, self.head, self.scale(p.k), self.beta, s)?;
        Ok(Box::new(PatchModel {
            net,
            geometry: Geometry::of(self.spec, ds),
            beta: self.beta,
        }))
    }
}
