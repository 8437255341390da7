//! Convex losses on an `n × C` prediction (MATH.md sections 1 and 4), their gradients and the
//! conjugate values used by duality-gap certificates.
//!
//! Matrices are column-major `n × C` (one column per output). Both losses are **summed** over
//! samples, as everywhere in cvxcnn.

use serde::{Deserialize, Serialize};

/// A convex training loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// `½ Σ_{t,c} (f_tc − y_tc)²` (one-hot targets for classification).
    Squared,
    /// `Σ_t [log Σ_c e^{f_tc} − Σ_c y_tc f_tc]` with `y_t` a probability vector (one-hot).
    CrossEntropy,
}

impl Loss {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Squared => "squared",
            Loss::CrossEntropy => "cross-entropy",
        }
    }

    /// Loss value at the prediction `f` for targets `y` (both `n × C` column-major). When `grad`
    /// is given, writes `∇ℓ(f)` into it.
    pub fn value_grad(self, f: &[f64], y: &[f64], n: usize, grad: Option<&mut [f64]>) -> f64 {
        debug_assert_eq!(f.len(), y.len());
        match self {
            Loss::Squared => match grad {
                Some(g) => {
                    let mut s = 0.0;
                    for ((gi, fi), yi) in g.iter_mut().zip(f).zip(y) {
                        let r = fi - yi;
                        *gi = r;
                        s += r * r;
                    }
                    0.5 * s
                }
                None => 0.5 * f.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>(),
            },
            Loss::CrossEntropy => {
                let c = f.len().checked_div(n).unwrap_or(0);
                let mut total = 0.0;
                let mut g = grad;
                for t in 0..n {
                    let mut mx = f64::NEG_INFINITY;
                    for k in 0..c {
                        mx = mx.max(f[k * n + t]);
                    }
                    let mut z = 0.0;
                    for k in 0..c {
                        z += (f[k * n + t] - mx).exp();
                    }
                    let lse = mx + z.ln();
                    let mut ysum = 0.0;
                    for k in 0..c {
                        total -= y[k * n + t] * f[k * n + t];
                        ysum += y[k * n + t];
                    }
                    total += ysum * lse;
                    if let Some(g) = g.as_deref_mut() {
                        for k in 0..c {
                            g[k * n + t] = ysum * (f[k * n + t] - lse).exp() - y[k * n + t];
                        }
                    }
                }
                total
            }
        }
    }

    /// The dual value `−ℓ*(v)`, a lower bound on the training objective whenever `v` is dual
    /// feasible (MATH.md 3.2). Returns `−∞` where `ℓ*(v)` is infinite.
    ///
    /// For the squared loss `−ℓ*(v) = −½‖v‖² − ⟨v, y⟩`; for cross-entropy, with
    /// `p_t = v_t + y_t`, `−ℓ*(v) = −Σ p log p` when every `p_t` is a probability vector.
    pub fn dual_value(self, v: &[f64], y: &[f64], n: usize) -> f64 {
        match self {
            Loss::Squared => -v
                .iter()
                .zip(y)
                .map(|(a, b)| 0.5 * a * a + a * b)
                .sum::<f64>(),
            Loss::CrossEntropy => {
                let c = v.len().checked_div(n).unwrap_or(0);
                let mut total = 0.0;
                for t in 0..n {
                    let mut psum = 0.0;
                    let mut ysum = 0.0;
                    for k in 0..c {
                        let p = v[k * n + t] + y[k * n + t];
                        if p < -1e-12 {
                            return f64::NEG_INFINITY;
                        }
                        psum += p;
                        ysum += y[k * n + t];
                        if p > 0.0 {
                            total -= p * p.ln();
                        }
                    }
                    if (psum - ysum).abs() > 1e-9 * ysum.max(1.0) {
                        return f64::NEG_INFINITY;
                    }
                    // With targets summing to `s` (1 for one-hot rows), `p` ranges over the
                    // simplex scaled by `s` and ℓ*_t(v) = Σ p log p − s log s.
                    if ysum > 0.0 {
                        total += ysum * ysum.ln();
                    }
                }
                total
            }
        }
    }
}

/// Class predictions `argmax_c f_tc` of an `n × C` column-major prediction.
pub fn argmax_rows(f: &[f64], n: usize) -> Vec<usize> {
    let c = f.len().checked_div(n).unwrap_or(0);
    (0..n)
        .map(|t| {
            let mut best = 0;
            for k in 1..c {
                if f[k * n + t] > f[best * n + t] {
                    best = k;
                }
            }
            best
        })
        .collect()
}

/// Fraction of `labels` that `argmax` of the prediction matches.
pub fn accuracy(f: &[f64], labels: &[usize]) -> f64 {
    let n = labels.len();
    if n == 0 {
        return f64::NAN;
    }
    let pred = argmax_rows(f, n);
    pred.iter().zip(labels).filter(|(a, b)| a == b).count() as f64 / n as f64
}

/// Fraction of samples whose scalar output has the sign of its ±1 target (`f ≥ 0` predicts
/// `+1`); NaN for no samples.
pub fn sign_accuracy(f: &[f64], y: &[f64]) -> f64 {
    if y.is_empty() {
        return f64::NAN;
    }
    let right = f
        .iter()
        .zip(y)
        .filter(|(f, y)| (**f >= 0.0) == (**y > 0.0))
        .count();
    right as f64 / y.len() as f64
}

/// One-hot targets, `n × C` column-major.
pub fn one_hot(labels: &[usize], classes: usize) -> Vec<f64> {
    let n = labels.len();
    let mut y = vec![0.0; n * classes];
    for (t, &l) in labels.iter().enumerate() {
        if l < classes {
            y[l * n + t] = 1.0;
        }
    }
    y
}

/// `½ Σ_t (f_t − y_t)²`.
pub fn half_squared(f: &[f64], y: &[f64]) -> f64 {
    f.iter().zip(y).map(|(a, b)| 0.5 * (a - b) * (a - b)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_grad(loss: Loss) {
        let n = 3;
        let f = [0.3, -1.0, 2.0, 0.5, 0.1, -0.7];
        let y = one_hot(&[1, 0, 1], 2);
        let mut g = vec![0.0; 6];
        let v0 = loss.value_grad(&f, &y, n, Some(&mut g));
        for i in 0..6 {
            let mut fp = f;
            fp[i] += 1e-6;
            let v1 = loss.value_grad(&fp, &y, n, None);
            assert!(((v1 - v0) / 1e-6 - g[i]).abs() < 1e-5, "{loss:?} {i}");
        }
        // Fenchel–Young equality at v = ∇ℓ(f): ℓ(f) + ℓ*(v) = ⟨v, f⟩.
        let fy = v0 - loss.dual_value(&g, &y, n);
        let vf: f64 = g.iter().zip(&f).map(|(a, b)| a * b).sum();
        assert!((fy - vf).abs() < 1e-10, "{loss:?}: {fy} vs {vf}");
    }

    #[test]
    fn gradients_and_conjugates() {
        check_grad(Loss::Squared);
        check_grad(Loss::CrossEntropy);
    }
}
