//! Non-convex training of the same two-layer CNN (full-batch Adam), on exactly the objective the
//! convex program solves: `Σ_t ½(f_t − y_t)² + (β/2) Σ_j (‖u_j‖² + w_j²)`. Used to check that no
//! local method ends below the convex optimum.

use crate::patches::Patches;
use crate::program::Pooling;
use rand::SeedableRng;
use rand_distr::Distribution;

/// Settings of a full-batch Adam run.
#[derive(Debug, Clone, Copy)]
pub struct AdamSettings {
    /// Number of filters `m`.
    pub width: usize,
    /// Iterations (full-batch steps).
    pub iters: usize,
    /// Learning rate.
    pub lr: f64,
    /// Seed of the initialisation.
    pub seed: u64,
    /// Standard deviation of the initial weights.
    pub init_scale: f64,
}

/// Result of a run: filters (`m × h`), output weights and the final objective (patch form).
#[derive(Debug, Clone)]
pub struct AdamResult {
    /// Filters, `m × h` row-major.
    pub filters: Vec<f64>,
    /// Output weights.
    pub weights: Vec<f64>,
    /// Objective after the last step.
    pub objective: f64,
}

/// Objective and gradient at `(u, w)`; gradients written into `gu`, `gw`.
#[allow(clippy::too_many_arguments)]
fn objective_grad(
    p: &Patches,
    scale: f64,
    y: &[f64],
    beta: f64,
    u: &[f64],
    w: &[f64],
    gu: &mut [f64],
    gw: &mut [f64],
) -> f64 {
    let (n, h, m) = (p.n, p.h, w.len());
    let mut f = vec![0.0; n];
    // pooled[j*n + t] = scale Σ_k relu(M_{kn+t}·u_j)
    let mut pooled = vec![0.0; m * n];
    for j in 0..m {
        let uj = &u[j * h..(j + 1) * h];
        for r in 0..p.rows() {
            let z: f64 = p.row(r).iter().zip(uj).map(|(a, b)| a * b).sum();
            pooled[j * n + r % n] += scale * z.max(0.0);
        }
        for t in 0..n {
            f[t] += w[j] * pooled[j * n + t];
        }
    }
    let res: Vec<f64> = f.iter().zip(y).map(|(a, b)| a - b).collect();
    let mut obj: f64 = res.iter().map(|r| 0.5 * r * r).sum();
    obj +=
        0.5 * beta * (u.iter().map(|v| v * v).sum::<f64>() + w.iter().map(|v| v * v).sum::<f64>());
    for j in 0..m {
        gw[j] = beta * w[j] + (0..n).map(|t| res[t] * pooled[j * n + t]).sum::<f64>();
        let uj = &u[j * h..(j + 1) * h];
        let g = &mut gu[j * h..(j + 1) * h];
        for (gi, ui) in g.iter_mut().zip(uj) {
            *gi = beta * ui;
        }
        for r in 0..p.rows() {
            let row = p.row(r);
            let z: f64 = row.iter().zip(uj).map(|(a, b)| a * b).sum();
            if z > 0.0 {
                let c = res[r % n] * w[j] * scale;
                for (gi, xi) in g.iter_mut().zip(row) {
                    *gi += c * xi;
                }
            }
        }
    }
    obj
}

/// Full-batch Adam from a seeded Gaussian start.
pub fn train_adam(
    p: &Patches,
    pool: Pooling,
    y: &[f64],
    beta: f64,
    s: &AdamSettings,
) -> AdamResult {
    let (h, m) = (p.h, s.width);
    let scale = pool.scale(p.k);
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(s.seed);
    // A non-finite or non-positive scale falls back to 1 (no panic on bad settings).
    let sd = if s.init_scale.is_finite() && s.init_scale > 0.0 {
        s.init_scale
    } else {
        1.0
    };
    let mut theta: Vec<f64> = (0..m * h + m)
        .map(|_| sd * Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut rng))
        .collect();
    let mut grad = vec![0.0; m * h + m];
    let mut m1 = vec![0.0; m * h + m];
    let mut m2 = vec![0.0; m * h + m];
    let (b1, b2, eps) = (0.9, 0.999, 1e-12);
    let mut obj = 0.0;
    for it in 1..=s.iters {
        let (u, w) = theta.split_at(m * h);
        let (gu, gw) = grad.split_at_mut(m * h);
        obj = objective_grad(p, scale, y, beta, u, w, gu, gw);
        let c1 = 1.0 - f64::powi(b1, it as i32);
        let c2 = 1.0 - f64::powi(b2, it as i32);
        for i in 0..theta.len() {
            m1[i] = b1 * m1[i] + (1.0 - b1) * grad[i];
            m2[i] = b2 * m2[i] + (1.0 - b2) * grad[i] * grad[i];
            theta[i] -= s.lr * (m1[i] / c1) / ((m2[i] / c2).sqrt() + eps);
        }
    }
    let (u, w) = theta.split_at(m * h);
    let (gu, gw) = grad.split_at_mut(m * h);
    obj = if s.iters > 0 {
        objective_grad(p, scale, y, beta, u, w, gu, gw)
    } else {
        obj
    };
    AdamResult {
        filters: u.to_vec(),
        weights: w.to_vec(),
        objective: obj,
    }
}
