//! Accelerated proximal gradient (FISTA) for `min_x f(x) + β Σ_b ‖x_b‖₂` with a smooth `f` and a
//! group-ℓ2 penalty over consecutive blocks of equal length (MATH.md section 7).
//!
//! Backtracking on the Lipschitz estimate (with a mild decrease every step, so the step can grow
//! again), and a monotone restart: a step that would increase the objective is thrown away, the
//! momentum is reset, and a plain proximal-gradient step is taken from the last point, which with
//! backtracking never increases the objective. The objective sequence is therefore
//! non-increasing. A gradient restart (O'Donoghue & Candès) also resets the momentum when it points
//! against the last step.

use crate::algebra::group_norm_sum;

/// The smooth part `f` of a composite objective.
pub trait SmoothPart {
    /// `f(x)`; writes `∇f(x)` into `grad` when given.
    fn eval(&mut self, x: &[f64], grad: Option<&mut [f64]>) -> f64;
}

/// The proximal map of the non-smooth part `β Σ_b ‖x_b‖₂ + ι_C(x)`, with `C` a product of
/// closed convex cones over the blocks (`C` = everything for the plain group lasso).
pub trait Prox {
    /// Overwrites `v` with `argmin_x ½‖x − v‖² + step·(β Σ_b ‖x_b‖ + ι_C(x))`.
    fn apply(&mut self, v: &mut [f64], step: f64);
}

/// Block soft-thresholding: the proximal map of `β Σ_b ‖x_b‖₂` alone.
#[derive(Debug, Clone, Copy)]
pub struct GroupShrink {
    /// Block length.
    pub block: usize,
    /// Weight `β`.
    pub beta: f64,
}

impl Prox for GroupShrink {
    fn apply(&mut self, v: &mut [f64], step: f64) {
        let thr = self.beta * step;
        for xb in v.chunks_mut(self.block.max(1)) {
            shrink(xb, thr);
        }
    }
}

/// `x ← (1 − thr/‖x‖)_+ x`.
pub fn shrink(x: &mut [f64], thr: f64) {
    let nv = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    let s = if nv > thr { 1.0 - thr / nv } else { 0.0 };
    x.iter_mut().for_each(|v| *v *= s);
}

/// Settings of one FISTA run.
#[derive(Debug, Clone, Copy)]
pub struct FistaSettings {
    /// Most iterations of this run.
    pub max_iter: usize,
    /// Stop when the gradient mapping `L‖x⁺ − y‖` is at most `tol · max(1, ‖∇f(y)‖)`.
    pub tol: f64,
}

/// What a FISTA run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct FistaInfo {
    /// Iterations taken.
    pub iterations: usize,
    /// Momentum restarts (monotone and gradient restarts).
    pub restarts: usize,
    /// Final objective `f(x) + β Σ‖x_b‖`.
    pub objective: f64,
    /// Whether the gradient-mapping test was met.
    pub converged: bool,
    /// Whether the per-iteration callback stopped the run.
    pub stopped: bool,
}

/// FISTA with its buffers (reused across runs: no allocation inside iterations).
#[derive(Debug, Clone)]
pub struct Fista {
    y: Vec<f64>,
    g: Vec<f64>,
    xn: Vec<f64>,
    /// Current Lipschitz estimate, carried between runs (warm starts).
    pub lipschitz: f64,
}

impl Fista {
    /// Buffers for vectors of length `len`, with an initial Lipschitz estimate.
    pub fn new(len: usize, lipschitz: f64) -> Self {
        Fista {
            y: vec![0.0; len],
            g: vec![0.0; len],
            xn: vec![0.0; len],
            lipschitz: if lipschitz > 0.0 { lipschitz } else { 1.0 },
        }
    }

    /// `xn = prox_{(1/L)(β Σ‖·‖ + ι)}(y − g/L)`.
    fn prox_step(&mut self, prox: &mut dyn Prox) {
        let l = self.lipschitz;
        for ((x, y), g) in self.xn.iter_mut().zip(&self.y).zip(&self.g) {
            *x = y - g / l;
        }
        prox.apply(&mut self.xn, 1.0 / l);
    }

    /// [`Fista::run_with`] for the plain group lasso (block soft-thresholding).
    pub fn run(
        &mut self,
        f: &mut dyn SmoothPart,
        block: usize,
        beta: f64,
        x: &mut [f64],
        settings: &FistaSettings,
        each: &mut dyn FnMut(usize, f64, &[f64]) -> bool,
    ) -> FistaInfo {
        let mut prox = GroupShrink {
            block: block.max(1),
            beta,
        };
        self.run_with(f, &mut prox, block, beta, x, settings, each)
    }

    /// Runs FISTA from `x` (overwritten with the result) with the proximal map `prox` of
    /// `β Σ_b ‖x_b‖ + ι_C` (blocks of length `block`; `x` must lie in `C`).
    /// `each(iter, objective, x)` is called after every accepted step; returning `false` stops
    /// the run.
    #[allow(clippy::too_many_arguments)]
    pub fn run_with(
        &mut self,
        f: &mut dyn SmoothPart,
        prox: &mut dyn Prox,
        block: usize,
        beta: f64,
        x: &mut [f64],
        settings: &FistaSettings,
        each: &mut dyn FnMut(usize, f64, &[f64]) -> bool,
    ) -> FistaInfo {
        let block = block.max(1);
        let mut info = FistaInfo::default();
        // A carried-over estimate may be far too large (after a stiff phase): start lower and
        // let backtracking raise it again. Too large an estimate means tiny steps and a false
        // "no progress" stop.
        self.lipschitz *= 0.1;
        let mut fx_obj = f.eval(x, None) + beta * group_norm_sum(x, block);
        self.y.copy_from_slice(x);
        let mut fy = f.eval(&self.y, Some(&mut self.g));
        let mut t: f64 = 1.0;
        let mut just_restarted = false;
        for it in 0..settings.max_iter {
            info.iterations = it + 1;
            // Backtracking on the quadratic upper bound.
            let mut fxn;
            loop {
                self.prox_step(prox);
                fxn = f.eval(&self.xn, None);
                let mut lin = 0.0;
                let mut quad = 0.0;
                for ((xn, y), g) in self.xn.iter().zip(&self.y).zip(&self.g) {
                    let d = xn - y;
                    lin += g * d;
                    quad += d * d;
                }
                let bound = fy + lin + 0.5 * self.lipschitz * quad;
                if fxn <= bound + 1e-12 * fy.abs().max(1e-300) || self.lipschitz > 1e300 {
                    break;
                }
                self.lipschitz *= 2.0;
            }
            let obj_n = fxn + beta * group_norm_sum(&self.xn, block);
            let mut step2 = 0.0;
            let mut gnorm2 = 0.0;
            for ((xn, y), g) in self.xn.iter().zip(&self.y).zip(&self.g) {
                step2 += (xn - y) * (xn - y);
                gnorm2 += g * g;
            }
            let gm = self.lipschitz * step2.sqrt();
            let small = gm <= settings.tol * gnorm2.sqrt().max(1.0);
            if obj_n > fx_obj {
                // Monotone restart: drop the step, take a proximal-gradient step from x next.
                if just_restarted {
                    // Even a plain step cannot decrease: we are at rounding level.
                    info.converged = true;
                    break;
                }
                info.restarts += 1;
                t = 1.0;
                self.y.copy_from_slice(x);
                fy = f.eval(&self.y, Some(&mut self.g));
                just_restarted = true;
                continue;
            }
            just_restarted = false;
            // Gradient restart test: momentum against the last step.
            let mut against = 0.0;
            for ((y, xn), xo) in self.y.iter().zip(&self.xn).zip(x.iter()) {
                against += (y - xn) * (xn - xo);
            }
            let tn = if against > 0.0 {
                info.restarts += 1;
                t = 1.0;
                1.0
            } else {
                (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0
            };
            let mom = (t - 1.0) / tn;
            for ((y, xn), xo) in self.y.iter_mut().zip(&self.xn).zip(x.iter_mut()) {
                *y = xn + mom * (xn - *xo);
                *xo = *xn;
            }
            t = tn;
            fx_obj = obj_n;
            if !each(it, fx_obj, x) {
                info.stopped = true;
                break;
            }
            if small {
                info.converged = true;
                break;
            }
            self.lipschitz *= 0.95;
            fy = f.eval(&self.y, Some(&mut self.g));
        }
        info.objective = fx_obj;
        info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `f(x) = Σ_b (d_b/2)‖x_b − a_b‖²` over blocks of length 2: separable, with the group-lasso
    /// minimizer `x_b = (1 − β/(d_b‖a_b‖))_+ a_b` in closed form.
    struct Quadratic {
        d: Vec<f64>,
        a: Vec<f64>,
    }

    impl SmoothPart for Quadratic {
        fn eval(&mut self, x: &[f64], grad: Option<&mut [f64]>) -> f64 {
            let mut v = 0.0;
            for (i, (xi, ai)) in x.iter().zip(&self.a).enumerate() {
                v += 0.5 * self.d[i / 2] * (xi - ai) * (xi - ai);
            }
            if let Some(g) = grad {
                for (i, gi) in g.iter_mut().enumerate() {
                    *gi = self.d[i / 2] * (x[i] - self.a[i]);
                }
            }
            v
        }
    }

    /// `shrink((3, 4), 1) = (2.4, 3.2)`, `shrink((0.3, 0.4), 0.1) = (0.24, 0.32)`; thresholds at
    /// or above the norm give zero.
    #[test]
    fn shrink_matches_the_closed_form() {
        let mut x = [3.0, 4.0];
        shrink(&mut x, 1.0);
        assert!((x[0] - 2.4).abs() < 1e-15 && (x[1] - 3.2).abs() < 1e-15);
        // Below unit norm: (0.3, 0.4) with threshold 0.1 keeps 1 − 0.1/0.5 = 0.8 of itself.
        let mut y = [0.3, 0.4];
        shrink(&mut y, 0.1);
        assert!(
            (y[0] - 0.24).abs() < 1e-15 && (y[1] - 0.32).abs() < 1e-15,
            "{y:?}"
        );
        for thr in [5.0, 7.0] {
            let mut x = [3.0, 4.0];
            shrink(&mut x, thr);
            assert_eq!(x, [0.0, 0.0]);
        }
        let mut z = [0.0, 0.0];
        shrink(&mut z, 0.0);
        assert_eq!(z, [0.0, 0.0]);
    }

    /// The group prox thresholds each block at `step·β = 1` (`β = 2`, `step = ½`):
    /// `(3, 4) → (2.4, 3.2)` and `(0.6, 0.8) → 0`.
    #[test]
    fn group_shrink_acts_blockwise() {
        let mut v = [3.0, 4.0, 0.6, 0.8];
        GroupShrink {
            block: 2,
            beta: 2.0,
        }
        .apply(&mut v, 0.5);
        let want = [2.4, 3.2, 0.0, 0.0];
        for (a, b) in v.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{v:?}");
        }
    }

    /// FISTA reaches the closed-form minimizer of a separable group lasso with curvatures
    /// ½ to 20 (so backtracking is needed), and its accepted objectives never increase.
    #[test]
    fn fista_solves_a_separable_group_lasso() {
        let d = vec![1.0, 5.0, 20.0, 0.5];
        let a = vec![3.0, 4.0, 0.1, -0.2, -1.0, 2.0, 0.3, 0.3];
        let beta = 1.5;
        let mut f = Quadratic {
            d: d.clone(),
            a: a.clone(),
        };
        let mut x = vec![0.0; 8];
        let mut last = f64::INFINITY;
        let mut monotone = true;
        let info = Fista::new(8, 1.0).run(
            &mut f,
            2,
            beta,
            &mut x,
            &FistaSettings {
                max_iter: 5000,
                tol: 1e-12,
            },
            &mut |_, obj, _| {
                monotone &= obj <= last + 1e-15;
                last = obj;
                true
            },
        );
        assert!(monotone);
        assert!(info.converged, "{info:?}");
        let mut want = a.clone();
        let mut opt = 0.0;
        for (b, wb) in want.chunks_mut(2).enumerate() {
            shrink(wb, beta / d[b]);
            let nw = (wb[0] * wb[0] + wb[1] * wb[1]).sqrt();
            let r2 = (wb[0] - a[2 * b]).powi(2) + (wb[1] - a[2 * b + 1]).powi(2);
            opt += 0.5 * d[b] * r2 + beta * nw;
        }
        assert_eq!(want[2..4], [0.0, 0.0]); // d₁‖a₁‖ = √5/2 < β: a zero block
                                            // The run may end at the rounding level of the objective (a plain step no longer
                                            // decreases it), where x is only known to about √ε.
        for (xi, wi) in x.iter().zip(&want) {
            assert!((xi - wi).abs() < 1e-6, "{x:?} vs {want:?}");
        }
        assert!((info.objective - opt).abs() < 1e-12 * opt.max(1.0));
    }

    /// The callback stops the run after the step on which it returns `false`.
    #[test]
    fn callback_can_stop_the_run() {
        let mut f = Quadratic {
            d: vec![1.0],
            a: vec![1.0, 1.0],
        };
        let mut x = vec![0.0; 2];
        let info = Fista::new(2, 1.0).run(
            &mut f,
            2,
            0.1,
            &mut x,
            &FistaSettings {
                max_iter: 100,
                tol: 0.0,
            },
            &mut |it, _, _| it < 2,
        );
        assert!(info.stopped && !info.converged);
        assert_eq!(info.iterations, 3);
    }
}
