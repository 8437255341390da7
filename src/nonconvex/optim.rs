//! First-order update rules: SGD with heavy-ball momentum and Adam, in PyTorch's conventions
//! (`torch.optim.SGD(momentum=μ)`, `torch.optim.Adam`), on a flat parameter vector.

use serde::{Deserialize, Serialize};

/// Which update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// `v ← μv + g`, `θ ← θ − η v`.
    Sgd,
    /// Adam with `β₁ = 0.9`, `β₂ = 0.999`, `ε = 1e-8` and bias correction.
    Adam,
}

/// Learning-rate schedule over the epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// The same rate throughout.
    Constant,
    /// Cosine annealing to zero: `η_e = η · ½(1 + cos(π e / E))` in epoch `e` of `E`
    /// (PyTorch's `CosineAnnealingLR` stepped per epoch).
    Cosine,
}

impl Schedule {
    /// The rate of epoch `e` (from 0) of `total`.
    pub fn rate(self, lr: f64, e: usize, total: usize) -> f64 {
        match self {
            Schedule::Constant => lr,
            Schedule::Cosine => {
                0.5 * lr * (1.0 + (std::f64::consts::PI * e as f64 / total.max(1) as f64).cos())
            }
        }
    }
}

impl OptimizerKind {
    /// Name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
        }
    }
}

/// The state of an update rule over `len` parameters.
#[derive(Debug, Clone)]
pub struct Optimizer {
    kind: OptimizerKind,
    lr: f64,
    momentum: f64,
    m1: Vec<f64>,
    m2: Vec<f64>,
    step: u32,
}

impl Optimizer {
    /// Fresh state (zero moments).
    pub fn new(kind: OptimizerKind, lr: f64, momentum: f64, len: usize) -> Self {
        let m2 = match kind {
            OptimizerKind::Adam => vec![0.0; len],
            OptimizerKind::Sgd => Vec::new(),
        };
        Optimizer {
            kind,
            lr,
            momentum,
            m1: vec![0.0; len],
            m2,
            step: 0,
        }
    }

    /// Sets the learning rate (for schedules).
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// One update of `theta` with the gradient `grad`.
    pub fn step(&mut self, theta: &mut [f64], grad: &[f64]) {
        self.step = self.step.saturating_add(1);
        match self.kind {
            OptimizerKind::Sgd => {
                let (mu, lr) = (self.momentum, self.lr);
                for ((t, g), v) in theta.iter_mut().zip(grad).zip(self.m1.iter_mut()) {
                    *v = mu * *v + g;
                    *t -= lr * *v;
                }
            }
            OptimizerKind::Adam => {
                let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
                let s = self.step.min(i32::MAX as u32) as i32;
                let c1 = 1.0 - b1.powi(s);
                let c2 = 1.0 - b2.powi(s);
                let lr = self.lr;
                for (((t, g), a), b) in theta
                    .iter_mut()
                    .zip(grad)
                    .zip(self.m1.iter_mut())
                    .zip(self.m2.iter_mut())
                {
                    *a = b1 * *a + (1.0 - b1) * g;
                    *b = b2 * *b + (1.0 - b2) * g * g;
                    *t -= lr * (*a / c1) / ((*b / c2).sqrt() + eps);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both rules minimise a convex quadratic `½ Σ a_i θ_i²`.
    #[test]
    fn rules_minimise_a_quadratic() {
        for (kind, lr) in [(OptimizerKind::Sgd, 0.05), (OptimizerKind::Adam, 0.05)] {
            let a = [1.0, 4.0, 0.5];
            let mut theta = vec![1.0, -2.0, 3.0];
            let mut opt = Optimizer::new(kind, lr, 0.9, 3);
            let mut g = vec![0.0; 3];
            for _ in 0..3000 {
                for i in 0..3 {
                    g[i] = a[i] * theta[i];
                }
                opt.step(&mut theta, &g);
            }
            let norm: f64 = theta.iter().map(|t| t * t).sum::<f64>().sqrt();
            assert!(norm < 1e-3, "{kind:?}: {theta:?}");
        }
    }

    /// The first Adam step moves every coordinate by `lr` against the sign of its gradient.
    #[test]
    fn first_adam_step_is_lr_times_sign() {
        let mut theta = vec![0.0, 0.0];
        let mut opt = Optimizer::new(OptimizerKind::Adam, 0.1, 0.0, 2);
        opt.step(&mut theta, &[3.0, -0.01]);
        assert!((theta[0] + 0.1).abs() < 1e-6 && (theta[1] - 0.1).abs() < 1e-4);
    }
}

/// Settings of the full-batch Adam runs on the small non-convex networks (circular CNNs, local
/// pooling): width, steps, learning rate and seed of the Gaussian start.
#[derive(Debug, Clone, Copy)]
pub struct FullBatchSettings {
    /// Units `m`.
    pub width: usize,
    /// Full-batch steps.
    pub iters: usize,
    /// Learning rate.
    pub lr: f64,
    /// Seed of the initialisation.
    pub seed: u64,
}
