//! The shared-filter network of MATH-DEEP.md section 3 as a network: shared-filter vector
//! outputs `f = Σ_j (Σ_k (X_k u_j)_+) w_jᵀ`, or local pooling followed by a linear layer
//! `f = Σ_j Σ_l w_{jl} pool_l((X_k u_j)_+)`, with weight decay `(β/2) Σ_j (‖u_j‖² + ‖w_j‖²)`:
//! its forward pass, objective and gradient, full-batch Adam from a seeded start (the local
//! method the SDP is compared with), and the exact amplitude refit of a recovered network.

use crate::error::{Error, Result};
use crate::patches::Patches;
use crate::program::dot;

/// The output head of the shared-filter program.
#[derive(Debug, Clone, PartialEq)]
pub enum SharedHead {
    /// `C` outputs sharing each filter after global sum pooling (targets `n × C`).
    Vector {
        /// Outputs `C`.
        outputs: usize,
    },
    /// Local pooling windows (positions), average or max, then one linear output.
    Local {
        /// The windows.
        windows: Vec<Vec<usize>>,
        /// Max (true) or average pooling inside a window.
        max: bool,
    },
}

impl SharedHead {
    /// `(L, C)`: output weights per unit (outputs or windows) and network outputs.
    pub fn sizes(&self) -> (usize, usize) {
        match self {
            SharedHead::Vector { outputs } => (*outputs, *outputs),
            SharedHead::Local { windows, .. } => (windows.len(), 1),
        }
    }
}

/// The network's predictions from the patches (`n × C` column-major, or `n`).
pub fn predict(
    patches: &Patches,
    head: &SharedHead,
    filters: &[f64],
    weights: &[f64],
    lw: usize,
) -> Vec<f64> {
    let (n, h, k) = (patches.n, patches.h, patches.k);
    let cout = match head {
        SharedHead::Vector { outputs } => *outputs,
        SharedHead::Local { .. } => 1,
    };
    let mut f = vec![0.0; n * cout];
    for (u, w) in filters.chunks_exact(h).zip(weights.chunks_exact(lw)) {
        for t in 0..n {
            let z: Vec<f64> = (0..k)
                .map(|kk| dot(patches.row(kk * n + t), u).max(0.0))
                .collect();
            match head {
                SharedHead::Vector { outputs } => {
                    let pooled: f64 = z.iter().sum();
                    for c in 0..*outputs {
                        f[c * n + t] += w[c] * pooled;
                    }
                }
                SharedHead::Local { windows, max } => {
                    for (l, win) in windows.iter().enumerate() {
                        let pooled = if *max {
                            win.iter().map(|&kk| z[kk]).fold(0.0, f64::max)
                        } else {
                            win.iter().map(|&kk| z[kk]).sum::<f64>() / win.len() as f64
                        };
                        f[t] += w[l] * pooled;
                    }
                }
            }
        }
    }
    f
}

/// The objective `½‖f − y‖² + (β/2)(‖u‖² + ‖w‖²)` of the network `(filters, weights)`, with
/// its gradient written into `gu`, `gw` (same shapes). At a ReLU kink (a pre-activation exactly
/// zero) the unit counts as off, and max pooling routes to the first largest position.
#[allow(clippy::too_many_arguments)]
pub fn objective_gradient(
    patches: &Patches,
    y: &[f64],
    head: &SharedHead,
    beta: f64,
    u: &[f64],
    w: &[f64],
    gu: &mut [f64],
    gw: &mut [f64],
) -> f64 {
    let (n, h, k) = (patches.n, patches.h, patches.k);
    let (lw, _) = head.sizes();
    let m = u.len() / h;
    let f = predict(patches, head, u, w, lw);
    let r: Vec<f64> = f.iter().zip(y).map(|(a, b)| a - b).collect();
    let mut z = vec![0.0; k];
    for j in 0..m {
        let uj = &u[j * h..(j + 1) * h];
        let wj = &w[j * lw..(j + 1) * lw];
        let (g_u, g_w) = (&mut gu[j * h..(j + 1) * h], &mut gw[j * lw..(j + 1) * lw]);
        for (g, v) in g_u.iter_mut().zip(uj) {
            *g = beta * v;
        }
        for (g, v) in g_w.iter_mut().zip(wj) {
            *g = beta * v;
        }
        for t in 0..n {
            for (kk, zk) in z.iter_mut().enumerate() {
                *zk = dot(patches.row(kk * n + t), uj);
            }
            let route = |kk: usize, coef: f64, g_u: &mut [f64]| {
                let x = patches.row(kk * n + t);
                g_u.iter_mut().zip(x).for_each(|(g, xv)| *g += coef * xv);
            };
            match head {
                SharedHead::Vector { .. } => {
                    let phi: f64 = z.iter().map(|v| v.max(0.0)).sum();
                    let back: f64 = (0..lw).map(|c| r[c * n + t] * wj[c]).sum();
                    for c in 0..lw {
                        g_w[c] += r[c * n + t] * phi;
                    }
                    for (kk, zk) in z.iter().enumerate() {
                        if *zk > 0.0 {
                            route(kk, back, g_u);
                        }
                    }
                }
                SharedHead::Local { windows, max } => {
                    for (l, win) in windows.iter().enumerate() {
                        if *max {
                            let best =
                                win.iter().copied().fold(
                                    win[0],
                                    |b, kk| {
                                        if z[kk] > z[b] {
                                            kk
                                        } else {
                                            b
                                        }
                                    },
                                );
                            if z[best] > 0.0 {
                                g_w[l] += r[t] * z[best];
                                route(best, r[t] * wj[l], g_u);
                            }
                        } else {
                            let c = 1.0 / win.len() as f64;
                            for &kk in win {
                                if z[kk] > 0.0 {
                                    g_w[l] += r[t] * c * z[kk];
                                    route(kk, r[t] * wj[l] * c, g_u);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    0.5 * dot(&r, &r) + 0.5 * beta * (dot(u, u) + dot(w, w))
}

/// Full-batch Adam on the non-convex shared-filter network with weight decay
/// `(β/2) Σ (‖u‖² + ‖w‖²)`, from a seeded Gaussian start: the local method the SDP is compared
/// with. Returns the filters (`m × h`) and weights (`m × L`).
pub fn train_shared_adam(
    patches: &Patches,
    y: &[f64],
    head: &SharedHead,
    beta: f64,
    s: &crate::nonconvex::FullBatchSettings,
) -> Result<(Vec<f64>, Vec<f64>)> {
    use crate::nonconvex::{Optimizer, OptimizerKind};

    let (n, h, m) = (patches.n, patches.h, s.width);
    let (lw, cout) = head.sizes();
    if y.len() != n * cout || m == 0 {
        return Err(Error::Data(format!(
            "{} targets for {n} samples and {cout} outputs, width {m}",
            y.len()
        )));
    }
    let mut draws = crate::nonconvex::Draws::new(s.seed);
    let mut draw = |len: usize, sd: f64| draws.draw(len, sd);
    let mut u = draw(m * h, 1.0 / (h as f64).sqrt());
    let mut w = draw(m * lw, 1.0 / ((m * lw) as f64).sqrt());
    let mut ou = Optimizer::new(OptimizerKind::Adam, s.lr, 0.0, m * h);
    let mut ow = Optimizer::new(OptimizerKind::Adam, s.lr, 0.0, m * lw);
    let (mut gu, mut gw) = (vec![0.0; m * h], vec![0.0; m * lw]);
    for _ in 0..s.iters {
        objective_gradient(patches, y, head, beta, &u, &w, &mut gu, &mut gw);
        ou.step(&mut u, &gu);
        ow.step(&mut w, &gw);
    }
    Ok((u, w))
}

/// Refits the output side of a network with its filter *directions* fixed: with unit
/// directions `û_s` and features `F_s` (the pooled ReLU outputs of `û_s`, `n·C × L`), the best
/// amplitudes solve the group lasso `min ½‖y − Σ_s F_s c_s‖² + β Σ_s ‖c_s‖`, and the balanced
/// network `u_s = û_s √‖c_s‖`, `w_s = c_s/√‖c_s‖` has exactly that objective. Units the refit
/// zeroes are dropped, and Carathéodory pruning leaves at most `n·C + 1`. Returns the new filters, weights and objective (never above the input
/// network's, whose own amplitudes are feasible).
pub fn refit(
    patches: &Patches,
    y: &[f64],
    head: &SharedHead,
    beta: f64,
    filters: &[f64],
    settings: &crate::solver::IpmSettings,
) -> Result<(Vec<f64>, Vec<f64>, f64)> {
    use crate::solver::{solve_block_socp, SocpBlock};
    let (n, h) = (patches.n, patches.h);
    let (lw, cout) = head.sizes();
    // Unit directions, duplicates merged (a unit on a face shared by two cones comes back
    // from both).
    let mut dirs: Vec<Vec<f64>> = Vec::new();
    for u in filters.chunks_exact(h) {
        let nu = dot(u, u).sqrt();
        if nu == 0.0 {
            continue;
        }
        let d: Vec<f64> = u.iter().map(|v| v / nu).collect();
        if !dirs.iter().any(|e| dot(e, &d) > 1.0 - 1e-12) {
            dirs.push(d);
        }
    }
    let blocks: Vec<SocpBlock> = dirs
        .iter()
        .map(|u| {
            // Column l of F_s is the network output of the unit (u, e_l).
            let mut a = vec![0.0; n * cout * lw];
            for l in 0..lw {
                let mut e = vec![0.0; lw];
                e[l] = 1.0;
                for (row, v) in predict(patches, head, u, &e, lw).iter().enumerate() {
                    a[row * lw + l] = *v;
                }
            }
            SocpBlock {
                dim: lw,
                a,
                c: Vec::new(),
                sign: 1.0,
                cost: beta,
                groups: None,
            }
        })
        .collect();
    if blocks.is_empty() {
        return Ok((Vec::new(), Vec::new(), 0.5 * dot(y, y)));
    }
    let sol = solve_block_socp(y, &blocks, settings)?;
    let largest = sol
        .theta
        .iter()
        .map(|c| dot(c, c).sqrt())
        .fold(0.0, f64::max);
    let (mut u_out, mut w_out) = (Vec::new(), Vec::new());
    for (u, c) in dirs.iter().zip(&sol.theta) {
        let nc = dot(c, c).sqrt();
        if nc <= 1e-9 * largest || nc == 0.0 {
            continue;
        }
        let s = nc.sqrt();
        u_out.extend(u.iter().map(|v| v * s));
        w_out.extend(c.iter().map(|v| v / s));
    }
    // Carathéodory pruning: at most n·C + 1 units keep the same outputs and cost.
    let outputs: Vec<Vec<f64>> = u_out
        .chunks_exact(h)
        .zip(w_out.chunks_exact(lw))
        .map(|(u, w)| predict(patches, head, u, w, lw))
        .collect();
    let costs: Vec<f64> = u_out
        .chunks_exact(h)
        .zip(w_out.chunks_exact(lw))
        .map(|(u, w)| 0.5 * (dot(u, u) + dot(w, w)))
        .collect();
    let scales = crate::recovery::caratheodory_scales(&outputs, &costs)?;
    let (mut u_kept, mut w_kept) = (Vec::new(), Vec::new());
    for ((u, w), a) in u_out
        .chunks_exact(h)
        .zip(w_out.chunks_exact(lw))
        .zip(scales)
    {
        if a > 0.0 {
            u_kept.extend(u.iter().map(|v| v * a.sqrt()));
            w_kept.extend(w.iter().map(|v| v * a.sqrt()));
        }
    }
    let (u_out, w_out) = (u_kept, w_kept);
    let f = predict(patches, head, &u_out, &w_out, lw);
    let obj = 0.5 * y.iter().zip(&f).map(|(a, b)| (a - b).powi(2)).sum::<f64>()
        + 0.5 * beta * (dot(&u_out, &u_out) + dot(&w_out, &w_out));
    Ok((u_out, w_out, obj))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SampleShape;
    use crate::patches::PatchSpec;
    use rand::SeedableRng;
    use rand_distr::Distribution;

    fn gaussian(len: usize, seed: u64) -> Vec<f64> {
        let mut r = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
        (0..len)
            .map(|_| Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut r))
            .collect()
    }

    /// The gradient against central differences, for every head.
    #[test]
    fn gradient_matches_central_differences() {
        let shape = SampleShape {
            channels: 1,
            height: 1,
            width: 6,
            one_d: true,
        };
        let (n, h, m) = (4, 3, 3);
        let x = gaussian(n * 6, 1);
        let p = Patches::extract(&x, n, &shape, &PatchSpec::one_d(h, 1, 0, false)).unwrap();
        for head in [
            SharedHead::Vector { outputs: 2 },
            SharedHead::Local {
                windows: vec![vec![0, 1], vec![2, 3]],
                max: false,
            },
            SharedHead::Local {
                windows: vec![vec![0, 1], vec![2, 3]],
                max: true,
            },
        ] {
            let (lw, cout) = head.sizes();
            let y = gaussian(n * cout, 2);
            let u = gaussian(m * h, 3);
            let w = gaussian(m * lw, 4);
            let (mut gu, mut gw) = (vec![0.0; m * h], vec![0.0; m * lw]);
            objective_gradient(&p, &y, &head, 0.1, &u, &w, &mut gu, &mut gw);
            let (mut su, mut sw) = (gu.clone(), gw.clone());
            let eps = 1e-6;
            for i in 0..u.len() + w.len() {
                let (mut up, mut wp) = (u.clone(), w.clone());
                let (mut um, mut wm) = (u.clone(), w.clone());
                if i < u.len() {
                    up[i] += eps;
                    um[i] -= eps;
                } else {
                    wp[i - u.len()] += eps;
                    wm[i - u.len()] -= eps;
                }
                let fp = objective_gradient(&p, &y, &head, 0.1, &up, &wp, &mut su, &mut sw);
                let fm = objective_gradient(&p, &y, &head, 0.1, &um, &wm, &mut su, &mut sw);
                let fd = (fp - fm) / (2.0 * eps);
                let an = if i < u.len() { gu[i] } else { gw[i - u.len()] };
                assert!(
                    (fd - an).abs() < 1e-6 * (1.0 + an.abs()),
                    "{head:?} {i}: {fd} vs {an}"
                );
            }
        }
    }
}
