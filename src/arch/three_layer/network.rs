//! The three-layer CNN with two ReLU layers as a network: forward pass, objective, width.

use crate::error::{Error, Result};
use crate::patches::Patches;
use crate::program::{dot, norm};

/// A three-layer CNN with two ReLU layers (`m` sub-networks of two channels).
#[derive(Debug, Clone)]
pub struct ThreeLayerCnn {
    /// Filter size `h`.
    pub h: usize,
    /// First-layer filters `u_{jc}`: `m × 2 × h`.
    pub u: Vec<f64>,
    /// Channel-mixing weights `w2_{jc}`: `m × 2`.
    pub w2: Vec<f64>,
    /// Output weights `w3_j`.
    pub w3: Vec<f64>,
}

impl ThreeLayerCnn {
    /// Sub-networks `m`.
    pub fn width(&self) -> usize {
        self.w3.len()
    }

    /// Predictions from the patches (`n` values), computed unit by unit.
    pub fn predict(&self, p: &Patches) -> Result<Vec<f64>> {
        if p.h != self.h {
            return Err(Error::Data(format!(
                "patches of size {} for filters of size {}",
                p.h, self.h
            )));
        }
        let (n, h) = (p.n, self.h);
        let mut f = vec![0.0; n];
        for j in 0..self.width() {
            for (t, ft) in f.iter_mut().enumerate() {
                let mut pooled = 0.0;
                for k in 0..p.k {
                    let x = p.row(k * n + t);
                    let mixed: f64 = (0..2)
                        .map(|c| {
                            let u = &self.u[(j * 2 + c) * h..(j * 2 + c + 1) * h];
                            self.w2[j * 2 + c] * dot(x, u).max(0.0)
                        })
                        .sum();
                    pooled += mixed.max(0.0);
                }
                *ft += self.w3[j] * pooled;
            }
        }
        Ok(f)
    }

    /// `½‖f − y‖² + (β/2) Σ_j (‖w2_j‖² + w3_j²)`; the constraint `‖U_j‖_F ≤ 1` is checked by
    /// [`ThreeLayerCnn::max_u_norm`].
    pub fn objective(&self, p: &Patches, y: &[f64], beta: f64) -> Result<f64> {
        let f = self.predict(p)?;
        let loss: f64 = crate::loss::half_squared(&f, y);
        let pen: f64 = self.w2.iter().chain(&self.w3).map(|v| v * v).sum();
        Ok(loss + 0.5 * beta * pen)
    }

    /// The largest `‖U_j‖_F`.
    pub fn max_u_norm(&self) -> f64 {
        self.u
            .chunks(2 * self.h.max(1))
            .map(norm)
            .fold(0.0, f64::max)
    }
}
