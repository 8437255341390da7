//! Forward and backward passes of the two-layer CNN with per-output filters on a minibatch, as
//! im2col plus two GEMMs, in caller-owned buffers (no allocation per step).
//!
//! For a batch of `B` samples the patches are gathered into `X_b` (`BK × h`, row `k·B + t`),
//! then `Z = X_b Uᵀ` (`BK × M`), `P_{tj} = s Σ_k (Z_{kB+t, j})_+` (the pooled features; for max
//! pooling `max_k (Z_{kB+t, j})_+`), and
//! `f_{tc} = Σ_{j ∈ c} w_j P_{tj}`. The backward pass reuses `Z`'s memory for `∂/∂Z` and forms
//! `∂/∂U = (∂/∂Z)ᵀ X_b` with a second GEMM.

use crate::loss::Loss;
use crate::patches::Patches;
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

/// How the ReLU outputs of one filter are pooled over the positions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PoolOp {
    /// `s Σ_k (z_k)_+` (sum: `s = 1`, average: `s = 1/K`).
    Scaled(f64),
    /// `max_k (z_k)_+`.
    Max,
}

impl PoolOp {
    /// The operation of `pool` over `k` positions.
    pub fn of(pool: crate::program::Pooling, k: usize) -> Self {
        match pool {
            crate::program::Pooling::Max => PoolOp::Max,
            p => PoolOp::Scaled(p.scale(k)),
        }
    }
}

/// Parameters of a two-layer CNN with per-output filters: `M = C·m` filters, filter `j` feeding
/// output `j / m` with the scalar weight `w_j`.
#[derive(Debug, Clone)]
pub struct Params {
    /// Filters, `M × h` row-major (weights, then the bias if the patches carry one).
    pub u: Vec<f64>,
    /// Output weights, one per filter.
    pub w: Vec<f64>,
    /// Filters per output `m`.
    pub per_output: usize,
    /// Outputs `C`.
    pub outputs: usize,
}

impl Params {
    /// Total filters `M`.
    pub fn filters(&self) -> usize {
        self.w.len()
    }

    /// The output that filter `j` feeds.
    pub fn owner(&self, j: usize) -> usize {
        j / self.per_output.max(1)
    }

    /// `½ Σ (‖u‖² + w²)`: the weight decay without its `β`.
    pub fn half_sq_norm(&self) -> f64 {
        0.5 * (self.u.iter().map(|v| v * v).sum::<f64>()
            + self.w.iter().map(|v| v * v).sum::<f64>())
    }
}

/// Buffers for batches of up to `capacity` samples.
#[derive(Debug, Clone)]
pub struct Workspace {
    capacity: usize,
    k: usize,
    h: usize,
    m: usize,
    c: usize,
    xb: Vec<f64>,
    z: Vec<f64>,
    pooled: Vec<f64>,
    arg: Vec<u32>,
    f: Vec<f64>,
    yb: Vec<f64>,
    g: Vec<f64>,
    par: Par,
}

impl Workspace {
    /// Buffers for batches of up to `capacity` samples of `patches` (`K` positions, size `h`),
    /// `m_total` filters and `outputs` outputs.
    pub fn new(capacity: usize, patches: &Patches, m_total: usize, outputs: usize) -> Self {
        let (k, h) = (patches.k, patches.h);
        let rows = capacity * k;
        // Parallel GEMMs pay off only on large products.
        let par = if rows * h * m_total >= 1 << 21 {
            Par::rayon(0)
        } else {
            Par::Seq
        };
        Workspace {
            capacity,
            k,
            h,
            m: m_total,
            c: outputs,
            xb: vec![0.0; rows * h],
            z: vec![0.0; rows * m_total],
            pooled: vec![0.0; capacity * m_total],
            arg: vec![0; capacity * m_total],
            f: vec![0.0; capacity * outputs],
            yb: vec![0.0; capacity * outputs],
            g: vec![0.0; capacity * outputs],
            par,
        }
    }

    /// Largest batch.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Gathers the patches of samples `idx` into `X_b` and their targets (`y` is `n × C`
    /// column-major) into the batch targets.
    fn gather(&mut self, patches: &Patches, y: Option<&[f64]>, idx: &[usize]) {
        let (b, h, n) = (idx.len(), self.h, patches.n);
        for k in 0..self.k {
            for (tb, &t) in idx.iter().enumerate() {
                let src = &patches.data[(k * n + t) * h..(k * n + t + 1) * h];
                self.xb[(k * b + tb) * h..(k * b + tb + 1) * h].copy_from_slice(src);
            }
        }
        if let Some(y) = y {
            for c in 0..self.c {
                for (tb, &t) in idx.iter().enumerate() {
                    self.yb[c * b + tb] = y[c * n + t];
                }
            }
        }
    }

    /// Forward pass of the gathered batch of `b` samples: fills `Z`, `P` and `f`.
    fn forward_gathered(&mut self, b: usize, p: &Params, pool: PoolOp) {
        let (k, h, m, c) = (self.k, self.h, self.m, self.c);
        let rows = b * k;
        let xb = MatRef::from_row_major_slice(&self.xb[..rows * h], rows, h);
        let ut = MatRef::from_column_major_slice(&p.u, h, m);
        let z = MatMut::from_column_major_slice_mut(&mut self.z[..rows * m], rows, m);
        matmul(z, Accum::Replace, xb, ut, 1.0, self.par);
        for j in 0..m {
            let zj = &self.z[j * rows..(j + 1) * rows];
            let pj = &mut self.pooled[j * b..(j + 1) * b];
            pj.iter_mut().for_each(|v| *v = 0.0);
            match pool {
                PoolOp::Scaled(scale) => {
                    for kk in 0..k {
                        for (pt, zt) in pj.iter_mut().zip(&zj[kk * b..(kk + 1) * b]) {
                            *pt += zt.max(0.0);
                        }
                    }
                    pj.iter_mut().for_each(|v| *v *= scale);
                }
                PoolOp::Max => {
                    let aj = &mut self.arg[j * b..(j + 1) * b];
                    aj.iter_mut().for_each(|v| *v = 0);
                    for kk in 0..k {
                        let zk = &zj[kk * b..(kk + 1) * b];
                        for ((pt, at), zt) in pj.iter_mut().zip(aj.iter_mut()).zip(zk) {
                            if *zt > *pt {
                                *pt = *zt;
                                *at = kk as u32;
                            }
                        }
                    }
                }
            }
        }
        self.f[..b * c].iter_mut().for_each(|v| *v = 0.0);
        for j in 0..m {
            let o = p.owner(j);
            let wj = p.w[j];
            let pj = &self.pooled[j * b..(j + 1) * b];
            for (ft, pt) in self.f[o * b..(o + 1) * b].iter_mut().zip(pj) {
                *ft += wj * pt;
            }
        }
    }

    /// Predictions for samples `idx` (`b × C` column-major, valid until the next call).
    pub fn predict(
        &mut self,
        patches: &Patches,
        p: &Params,
        pool: PoolOp,
        idx: &[usize],
    ) -> &[f64] {
        let b = idx.len();
        self.gather(patches, None, idx);
        self.forward_gathered(b, p, pool);
        &self.f[..b * self.c]
    }

    /// Loss of the batch `idx` and the gradient of `(1/B)·loss + (decay)·½Σ(‖u‖² + w²)` in `gu`,
    /// `gw` (the minibatch estimate of the mean objective's gradient when `decay = β/n`).
    /// Returns the batch loss (summed over the batch).
    #[allow(clippy::too_many_arguments)]
    pub fn loss_grad(
        &mut self,
        patches: &Patches,
        y: &[f64],
        loss: Loss,
        p: &Params,
        pool: PoolOp,
        decay: f64,
        idx: &[usize],
        gu: &mut [f64],
        gw: &mut [f64],
    ) -> f64 {
        let b = idx.len();
        let (k, h, m, c) = (self.k, self.h, self.m, self.c);
        let rows = b * k;
        self.gather(patches, Some(y), idx);
        self.forward_gathered(b, p, pool);
        let value = loss.value_grad(
            &self.f[..b * c],
            &self.yb[..b * c],
            b,
            Some(&mut self.g[..b * c]),
        );
        let inv_b = 1.0 / b as f64;
        for (j, gwj) in gw.iter_mut().enumerate().take(m) {
            let o = p.owner(j);
            let gj = &self.g[o * b..(o + 1) * b];
            let pj = &self.pooled[j * b..(j + 1) * b];
            let dot: f64 = gj.iter().zip(pj).map(|(a, b)| a * b).sum();
            *gwj = inv_b * dot + decay * p.w[j];
            let zj = &mut self.z[j * rows..(j + 1) * rows];
            match pool {
                PoolOp::Scaled(scale) => {
                    // ∂/∂Z_{kB+t, j} = (1/B) s g_{t,o} w_j 1[Z > 0], written over Z.
                    let coef = inv_b * scale * p.w[j];
                    for kk in 0..k {
                        for (zt, gt) in zj[kk * b..(kk + 1) * b].iter_mut().zip(gj) {
                            let on = if *zt > 0.0 { 1.0 } else { 0.0 };
                            *zt = on * coef * gt;
                        }
                    }
                }
                PoolOp::Max => {
                    // Only the winning position of a positive maximum gets a gradient.
                    let coef = inv_b * p.w[j];
                    zj.iter_mut().for_each(|v| *v = 0.0);
                    let aj = &self.arg[j * b..(j + 1) * b];
                    for (t, (&at, &pt)) in aj.iter().zip(pj).enumerate() {
                        if pt > 0.0 {
                            zj[at as usize * b + t] = coef * gj[t];
                        }
                    }
                }
            }
        }
        for (g, u) in gu.iter_mut().zip(&p.u) {
            *g = decay * u;
        }
        let xbt = MatRef::from_column_major_slice(&self.xb[..rows * h], h, rows);
        let dz = MatRef::from_column_major_slice(&self.z[..rows * m], rows, m);
        let gut = MatMut::from_column_major_slice_mut(gu, h, m);
        // gu += X_bᵀ (∂/∂Z), as h × M column-major (= M × h row-major).
        matmul(gut, Accum::Add, xbt, dz, 1.0, self.par);
        value
    }
}

/// Predictions of all `n` samples of `patches` in batches of the workspace's capacity, into
/// `out` (`n × C` column-major). `idx` is scratch of at least the capacity.
pub fn predict_all(
    ws: &mut Workspace,
    patches: &Patches,
    p: &Params,
    pool: PoolOp,
    idx: &mut Vec<usize>,
    out: &mut [f64],
) {
    let n = patches.n;
    let c = p.outputs;
    let cap = ws.capacity().max(1);
    let mut t0 = 0;
    while t0 < n {
        let t1 = (t0 + cap).min(n);
        idx.clear();
        idx.extend(t0..t1);
        let b = t1 - t0;
        let f = ws.predict(patches, p, pool, idx);
        for o in 0..c {
            out[o * n + t0..o * n + t1].copy_from_slice(&f[o * b..(o + 1) * b]);
        }
        t0 = t1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SampleShape;
    use crate::patches::PatchSpec;
    use rand::{RngExt, SeedableRng};

    fn fixture(outputs: usize) -> (Patches, Vec<f64>, Params) {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(5);
        let shape = SampleShape {
            channels: 2,
            height: 4,
            width: 5,
            one_d: false,
        };
        let n = 7;
        let x: Vec<f64> = (0..n * shape.len())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let spec = PatchSpec::two_d(2, 3, 1, 1, true);
        let patches = Patches::extract(&x, n, &shape, &spec).unwrap();
        let labels: Vec<usize> = (0..n).map(|t| t % outputs).collect();
        let y = crate::loss::one_hot(&labels, outputs);
        let per_output = 3;
        let m = per_output * outputs;
        let p = Params {
            u: (0..m * patches.h)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect(),
            w: (0..m).map(|_| rng.random_range(-1.0..1.0)).collect(),
            per_output,
            outputs,
        };
        (patches, y, p)
    }

    /// The gradient matches central differences of `(1/B)·loss + decay·½‖θ‖²`.
    #[test]
    fn gradient_matches_finite_differences() {
        for (loss, outputs, pool) in [
            (Loss::Squared, 3, PoolOp::Scaled(0.3)),
            (Loss::CrossEntropy, 3, PoolOp::Scaled(0.3)),
            (Loss::Squared, 1, PoolOp::Scaled(0.3)),
            (Loss::Squared, 3, PoolOp::Max),
            (Loss::CrossEntropy, 1, PoolOp::Max),
        ] {
            let (patches, y, p) = fixture(outputs);
            let idx = [4usize, 0, 6, 2];
            let decay = 0.05;
            let mut ws = Workspace::new(5, &patches, p.filters(), outputs);
            let f = |ws: &mut Workspace, q: &Params| {
                let mut gu = vec![0.0; q.u.len()];
                let mut gw = vec![0.0; q.w.len()];
                let v = ws.loss_grad(&patches, &y, loss, q, pool, decay, &idx, &mut gu, &mut gw);
                (v / idx.len() as f64 + decay * q.half_sq_norm(), gu, gw)
            };
            let (_, gu, gw) = f(&mut ws, &p);
            let eps = 1e-6;
            for i in (0..p.u.len()).step_by(7) {
                let (mut a, mut b) = (p.clone(), p.clone());
                a.u[i] += eps;
                b.u[i] -= eps;
                let fd = (f(&mut ws, &a).0 - f(&mut ws, &b).0) / (2.0 * eps);
                assert!(
                    (fd - gu[i]).abs() < 1e-6,
                    "{loss:?} {pool:?} u[{i}]: {fd} vs {}",
                    gu[i]
                );
            }
            for (j, gwj) in gw.iter().enumerate() {
                let (mut a, mut b) = (p.clone(), p.clone());
                a.w[j] += eps;
                b.w[j] -= eps;
                let fd = (f(&mut ws, &a).0 - f(&mut ws, &b).0) / (2.0 * eps);
                assert!(
                    (fd - gwj).abs() < 1e-6,
                    "{loss:?} {pool:?} w[{j}]: {fd} vs {gwj}"
                );
            }
        }
    }

    /// Batched predictions equal the direct convolution of the standard network.
    #[test]
    fn batched_predictions_equal_the_direct_forward_pass() {
        let (patches, _, p) = fixture(3);
        let shape = SampleShape {
            channels: 2,
            height: 4,
            width: 5,
            one_d: false,
        };
        let spec = PatchSpec::two_d(2, 3, 1, 1, true);
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(5);
        let x: Vec<f64> = (0..7 * shape.len())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        for pool in [
            crate::program::Pooling::Avg,
            crate::program::Pooling::Sum,
            crate::program::Pooling::Max,
        ] {
            let net = crate::nonconvex::to_network(&p, shape, spec, pool);
            let direct = net.predict(&x).unwrap();
            let mut ws = Workspace::new(3, &patches, p.filters(), 3);
            let mut out = vec![0.0; 7 * 3];
            let op = PoolOp::of(pool, patches.k);
            predict_all(&mut ws, &patches, &p, op, &mut Vec::new(), &mut out);
            for (a, b) in out.iter().zip(&direct) {
                assert!((a - b).abs() < 1e-12, "{pool:?}: {a} vs {b}");
            }
        }
    }
}
