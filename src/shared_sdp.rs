//! Weight decay for a filter feeding a *vector* of output weights (MATH-DEEP.md section 3):
//! shared-filter vector outputs `f = Σ_j (Σ_k (X_k u_j)_+) w_jᵀ`, and local pooling followed by
//! a linear layer `f = Σ_j Σ_l w_{jl} pool_l((X_k u_j)_+)`. A unit is the rank-one `u wᵀ` with
//! `u` in a pattern cone; the exact program is an SDP over simplicial cones `K_q = B_q R^h_+`:
//!
//! ```text
//! min ½‖Σ_q 𝒜_q(V_q) − Y‖² + (β/2) Σ_q tr Φ_q
//! s.t. Φ_q = [[U_q, V_q], [V_qᵀ, W_q]] ⪰ 0,  (G_q U_q G_qᵀ)_{ab} ≥ 0 (a < b),  G_q = B_q⁻¹
//! ```
//!
//! Implemented for filter size `h = 2`, where every pattern region is already a simplicial cone
//! (an arc of directions), found by an angular sweep. Recovery factors `T = G U Gᵀ = E Eᵀ`
//! with `E ≥ 0` ([`crate::cp_factor`]): neurons `u_s = B E e_s`, weights `w_s = (E⁺ G V)_s`,
//! balanced. The dual certificate `γ(R) = max_q max_{u∈K_q, ‖u‖≤1} ‖M_q(R) u‖` is exact for
//! `h = 2` (a top eigenvector or an arc end), so every run reports the bracket
//! `[lower bound, recovered network]`.

use crate::cp_factor::cp_factor;
use crate::error::{Error, Result};
use crate::maxpool::{winner_matrix, MaxArrangement};
use crate::patches::Patches;
use crate::patterns::Hyperplanes;
use crate::program::dot;
use crate::solver::{IpmSettings, SolveStatus};
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSolver, IPSolver, NonnegativeConeT, PSDTriangleConeT, SupportedConeT, ZeroConeT,
};

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

/// One simplicial cone: its rays `B` (columns, row-major 2×2), `G = B⁻¹`, and its prediction
/// matrices `M_l` (`n × h`): output `(t, c)` of `V` is `Σ_l Σ_e M_{l}[t, e] V[e, l]` (local) or
/// `Σ_e M_0[t, e] V[e, c]` (vector).
#[derive(Debug, Clone)]
pub struct SimplicialCone {
    /// Rays as columns, row-major `2 × 2`.
    pub b: [f64; 4],
    /// `B⁻¹`, row-major.
    pub g: [f64; 4],
    /// Prediction matrices, one per window (local) or one (vector).
    pub a: Vec<Vec<f64>>,
}

/// What a shared-filter SDP run produces.
#[derive(Debug, Clone)]
pub struct SharedOutcome {
    /// The SDP optimum (Clarabel's primal objective at its point).
    pub sdp_objective: f64,
    /// The recovered network's objective from its own forward pass (an upper bound).
    pub network_objective: f64,
    /// The dual certificate's lower bound.
    pub lower_bound: f64,
    /// Neurons: filters (`m × h`) and output weights (`m × L`).
    pub filters: Vec<f64>,
    /// Output weights, `m × L` row-major (`L` = outputs or windows).
    pub weights: Vec<f64>,
    /// Simplicial cones (regions).
    pub cones: usize,
    /// Interior-point status.
    pub status: SolveStatus,
}

/// The regions of the arrangement of the (2-D) rows of `rows` as arcs: every boundary direction
/// `angle(n_g) ± π/2`, sorted; each arc between consecutive boundaries is a region (arcs of `π`
/// or more are split so that every cone is pointed). Returns `(B, midpoint)` per arc.
fn arcs(hp: &Hyperplanes) -> Vec<([f64; 4], [f64; 2])> {
    use std::f64::consts::PI;
    let mut ang: Vec<f64> = Vec::new();
    for g in 0..hp.len() {
        let nrm = hp.normal(g);
        let a = nrm[1].atan2(nrm[0]);
        for s in [0.5 * PI, -0.5 * PI] {
            ang.push((a + s).rem_euclid(2.0 * PI));
        }
    }
    ang.sort_by(|a, b| a.total_cmp(b));
    ang.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    if ang.is_empty() {
        ang = vec![0.0, 2.0 * PI / 3.0, 4.0 * PI / 3.0];
    }
    let mut bounds = ang.clone();
    bounds.push(ang[0] + 2.0 * PI);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let (a0, a1) = (w[0], w[1]);
        let pieces = if a1 - a0 >= PI - 1e-9 { 2 } else { 1 };
        for p in 0..pieces {
            let s = a0 + (a1 - a0) * p as f64 / pieces as f64;
            let e = a0 + (a1 - a0) * (p + 1) as f64 / pieces as f64;
            let m = 0.5 * (s + e);
            out.push(([s.cos(), e.cos(), s.sin(), e.sin()], [m.cos(), m.sin()]));
        }
    }
    out
}

fn inverse2(b: &[f64; 4]) -> [f64; 4] {
    let det = b[0] * b[3] - b[1] * b[2];
    [b[3] / det, -b[1] / det, -b[2] / det, b[0] / det]
}

/// The simplicial cones of `patches` (filter size 2) for `head`.
pub fn simplicial_cones(patches: &Patches, head: &SharedHead) -> Result<Vec<SimplicialCone>> {
    if patches.h != 2 {
        return Err(Error::param(
            "--kernel",
            format!(
                "the shared-filter SDP is implemented for filter size h = 2, not {}",
                patches.h
            ),
        ));
    }
    let (n, h) = (patches.n, patches.h);
    let max_arr = match head {
        SharedHead::Local { windows, max: true } => {
            Some(MaxArrangement::with_windows(patches, windows.clone()))
        }
        _ => None,
    };
    let rows = max_arr.as_ref().map_or(patches, |m| &m.rows);
    let hp = Hyperplanes::from_patches(rows);
    let mut cones = Vec::new();
    for (b, mid) in arcs(&hp) {
        let mut bits = vec![0u64; hp.len().div_ceil(64).max(1)];
        hp.signs_of(&mid, &mut bits);
        let d = hp.row_pattern(&bits);
        let a: Vec<Vec<f64>> = match head {
            SharedHead::Vector { .. } => {
                let mut a = vec![0.0; n * h];
                for (r, &dr) in d.iter().enumerate() {
                    if dr {
                        let t = r % n;
                        for (ai, xi) in a[t * h..(t + 1) * h].iter_mut().zip(patches.row(r)) {
                            *ai += xi;
                        }
                    }
                }
                vec![a]
            }
            SharedHead::Local { windows, .. } => {
                if let Some(m) = &max_arr {
                    m.winners_per_window(&hp, &bits)
                        .iter()
                        .map(|w| winner_matrix(patches, w))
                        .collect()
                } else {
                    windows
                        .iter()
                        .map(|win| {
                            let mut a = vec![0.0; n * h];
                            let s = 1.0 / win.len() as f64;
                            for &k in win {
                                for t in 0..n {
                                    if d[k * n + t] {
                                        let x = patches.row(k * n + t);
                                        a[t * h] += s * x[0];
                                        a[t * h + 1] += s * x[1];
                                    }
                                }
                            }
                            a
                        })
                        .collect()
                }
            }
        };
        if a.iter().all(|m| m.iter().all(|v| *v == 0.0)) {
            continue;
        }
        cones.push(SimplicialCone {
            b,
            g: inverse2(&b),
            a,
        });
    }
    Ok(cones)
}

/// Index of `Φ[row, col]` (`row ≤ col`) in Clarabel's svec (upper triangle by columns).
fn svec_index(row: usize, col: usize) -> usize {
    col * (col + 1) / 2 + row
}

/// Output `(t, c)` of cone `q`'s `V` entry `(e, l)`: the coefficient.
fn coef(
    cone: &SimplicialCone,
    head: &SharedHead,
    h: usize,
    t: usize,
    c: usize,
    e: usize,
    l: usize,
) -> f64 {
    match head {
        SharedHead::Vector { .. } => {
            if l == c {
                cone.a[0][t * h + e]
            } else {
                0.0
            }
        }
        SharedHead::Local { .. } => {
            if c == 0 {
                cone.a[l][t * h + e]
            } else {
                0.0
            }
        }
    }
}

/// Solves the SDP for targets `y` (`n × C` column-major for vector outputs, `n` for local
/// windows), recovers the network and certifies it.
pub fn solve_shared_sdp(
    patches: &Patches,
    y: &[f64],
    head: &SharedHead,
    beta: f64,
    settings: &IpmSettings,
) -> Result<SharedOutcome> {
    crate::program::check_beta(beta)?;
    let (n, h) = (patches.n, patches.h);
    let (lw, cout) = match head {
        SharedHead::Vector { outputs } => (*outputs, *outputs),
        SharedHead::Local { windows, .. } => (windows.len(), 1),
    };
    if y.len() != n * cout || lw == 0 {
        return Err(Error::Data(format!(
            "{} targets for {n} samples and {cout} outputs",
            y.len()
        )));
    }
    let cones = simplicial_cones(patches, head)?;
    let dim = h + lw;
    let tri = dim * (dim + 1) / 2;
    let nq = cones.len();
    let nres = n * cout;
    let nx = nq * tri + nres;
    // Rows: residual equalities, nonnegativity of (G U Gᵀ)_{01}, then the PSD cones.
    let (eq0, nn0, psd0) = (0, nres, nres + nq);
    let m = psd0 + nq * tri;
    let s2 = std::f64::consts::FRAC_1_SQRT_2;
    let (mut ai, mut aj, mut av) = (Vec::new(), Vec::new(), Vec::new());
    for (q, cone) in cones.iter().enumerate() {
        let base = q * tri;
        // ρ_{tc} − Σ coef·V = −Y_{tc};  V[e, l] = x[svec(e, h + l)]/√2.
        for t in 0..n {
            for c in 0..cout {
                for e in 0..h {
                    for l in 0..lw {
                        let v = coef(cone, head, h, t, c, e, l);
                        if v != 0.0 {
                            ai.push(eq0 + c * n + t);
                            aj.push(base + svec_index(e, h + l));
                            av.push(-v * s2);
                        }
                    }
                }
            }
        }
        // (G U Gᵀ)_{01} = Σ_{i,j} G[0,i] U[i,j] G[1,j] ≥ 0, as −(...) + s = 0.
        let g = &cone.g;
        for i in 0..h {
            for j in 0..h {
                let w = g[i] * g[h + j];
                let (r, cc) = (i.min(j), i.max(j));
                let scale = if i == j { 1.0 } else { s2 };
                ai.push(nn0 + q);
                aj.push(base + svec_index(r, cc));
                av.push(-w * scale);
            }
        }
        // Φ ⪰ 0: s = x.
        for k in 0..tri {
            ai.push(psd0 + q * tri + k);
            aj.push(base + k);
            av.push(-1.0);
        }
    }
    for k in 0..nres {
        ai.push(eq0 + k);
        aj.push(nq * tri + k);
        av.push(1.0);
    }
    let a_mat = CscMatrix::new_from_triplets(m, nx, ai, aj, av);
    let p_mat = CscMatrix::new_from_triplets(
        nx,
        nx,
        (nq * tri..nx).collect(),
        (nq * tri..nx).collect(),
        vec![1.0; nres],
    );
    let mut qv = vec![0.0; nx];
    for q in 0..nq {
        for d in 0..dim {
            qv[q * tri + svec_index(d, d)] = 0.5 * beta;
        }
    }
    let mut bv = vec![0.0; m];
    for k in 0..nres {
        bv[eq0 + k] = -y[k];
    }
    let mut cones_t: Vec<SupportedConeT<f64>> = vec![ZeroConeT(nres), NonnegativeConeT(nq)];
    for _ in 0..nq {
        cones_t.push(PSDTriangleConeT(dim));
    }
    let st = crate::solver::clarabel_settings(settings)?;
    let mut solver = DefaultSolver::new(&p_mat, &qv, &a_mat, &bv, &cones_t, st)
        .map_err(|e| Error::Solver(format!("Clarabel rejected the SDP: {e:?}")))?;
    solver.solve();
    let sol = &solver.solution;
    let status = crate::solver::map_status(sol.status)?;
    let x = &sol.x;
    let sdp_objective = sol.obj_val;
    // Recovery.
    let mut filters = Vec::new();
    let mut weights = Vec::new();
    let largest_tr: f64 = (0..nq)
        .map(|q| (0..dim).map(|d| x[q * tri + svec_index(d, d)]).sum::<f64>())
        .fold(0.0, f64::max);
    for (q, cone) in cones.iter().enumerate() {
        let base = q * tri;
        let tr: f64 = (0..dim).map(|d| x[base + svec_index(d, d)]).sum();
        if tr <= 1e-9 * largest_tr {
            continue;
        }
        let u_at = |i: usize, j: usize| {
            let (r, c) = (i.min(j), i.max(j));
            let v = x[base + svec_index(r, c)];
            if i == j {
                v
            } else {
                v * s2
            }
        };
        let v_at = |e: usize, l: usize| x[base + svec_index(e, h + l)] * s2;
        let g = &cone.g;
        // T = G U Gᵀ (2×2), R = G V (2×L).
        let mut t = [0.0; 4];
        for a in 0..2 {
            for b in 0..2 {
                t[a * 2 + b] = (0..2)
                    .map(|i| {
                        (0..2)
                            .map(|j| g[a * 2 + i] * u_at(i, j) * g[b * 2 + j])
                            .sum::<f64>()
                    })
                    .sum();
            }
        }
        // Interior-point rounding can leave tiny negative entries: clamp them.
        t[1] = (0.5 * (t[1] + t[2])).max(0.0);
        t[2] = t[1];
        t[0] = t[0].max(0.0);
        t[3] = t[3].max(0.0);
        if t[1] * t[1] > t[0] * t[3] {
            t[1] = (t[0] * t[3]).sqrt();
            t[2] = t[1];
        }
        let e = cp_factor(&t, 2)?;
        let r: Vec<f64> = (0..2)
            .flat_map(|a| (0..lw).map(move |l| (a, l)))
            .map(|(a, l)| (0..2).map(|i| g[a * 2 + i] * v_at(i, l)).sum())
            .collect();
        // Wᵀ = E⁺ R (E lower triangular 2×2; pseudo-inverse on its non-zero part).
        let einv = pinv2(&e);
        for s in 0..2 {
            let col = [e[s], e[2 + s]];
            let u: Vec<f64> = (0..2)
                .map(|i| cone.b[i * 2] * col[0] + cone.b[i * 2 + 1] * col[1])
                .collect();
            let w: Vec<f64> = (0..lw)
                .map(|l| einv[s * 2] * r[l] + einv[s * 2 + 1] * r[lw + l])
                .collect();
            let (nu, nw) = (dot(&u, &u).sqrt(), dot(&w, &w).sqrt());
            if nu <= 1e-12 || nw <= 1e-12 {
                continue;
            }
            let k = (nw / nu).sqrt();
            filters.extend(u.iter().map(|v| v * k));
            weights.extend(w.iter().map(|v| v / k));
        }
    }
    let f = predict(patches, head, &filters, &weights, lw);
    let resid: Vec<f64> = y.iter().zip(&f).map(|(a, b)| a - b).collect();
    let loss = 0.5 * resid.iter().map(|v| v * v).sum::<f64>();
    let pen = 0.5 * beta * (dot(&filters, &filters) + dot(&weights, &weights));
    let network_objective = loss + pen;
    // Dual certificate: the best of two dual candidates, the recovered network's residual and
    // the interior point's multipliers of the residual rows (equal to the residual at an exact
    // optimum; the objective is quadratic in the residual, so an objective accurate to ε leaves
    // the residual accurate only to about √ε, and the multipliers are the better candidate).
    let lower_bound = [resid.clone(), sol.z[eq0..eq0 + nres].to_vec()]
        .iter()
        .map(|v| {
            let gamma = cones
                .iter()
                .map(|cone| cone_gamma(cone, head, v, n, h, lw))
                .fold(0.0, f64::max);
            let s = if gamma > beta { beta / gamma } else { 1.0 };
            y.iter()
                .zip(v)
                .map(|(yv, rv)| s * yv * rv - 0.5 * s * s * rv * rv)
                .sum::<f64>()
        })
        .fold(f64::NEG_INFINITY, f64::max);
    Ok(SharedOutcome {
        sdp_objective,
        network_objective,
        lower_bound,
        filters,
        weights,
        cones: nq,
        status,
    })
}

fn pinv2(e: &[f64]) -> [f64; 4] {
    let det = e[0] * e[3] - e[1] * e[2];
    let scale = e.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if det.abs() > 1e-12 * scale * scale {
        return [e[3] / det, -e[1] / det, -e[2] / det, e[0] / det];
    }
    // Rank one (or zero): E⁺ = Eᵀ/‖E‖_F².
    let f2: f64 = e.iter().map(|v| v * v).sum();
    if f2 == 0.0 {
        return [0.0; 4];
    }
    [e[0] / f2, e[2] / f2, e[1] / f2, e[3] / f2]
}

/// `max_{u ∈ K, ‖u‖ = 1} ‖M u‖` with `M` (`L × 2`) the cone's map of the residual: the top
/// eigenvector of `MᵀM` when it (or its negative) lies in the cone, else the better ray.
fn cone_gamma(
    cone: &SimplicialCone,
    head: &SharedHead,
    r: &[f64],
    n: usize,
    h: usize,
    lw: usize,
) -> f64 {
    // M[l, e] = Σ_{t,c} r_{tc} coef(t, c, e, l).
    let cout = r.len() / n;
    let mut mm = vec![0.0; lw * h];
    for l in 0..lw {
        for e in 0..h {
            let mut s = 0.0;
            for t in 0..n {
                for c in 0..cout {
                    s += r[c * n + t] * coef(cone, head, h, t, c, e, l);
                }
            }
            mm[l * h + e] = s;
        }
    }
    let val = |u: [f64; 2]| -> f64 {
        (0..lw)
            .map(|l| {
                let v = mm[l * h] * u[0] + mm[l * h + 1] * u[1];
                v * v
            })
            .sum::<f64>()
            .sqrt()
    };
    let ray = |k: usize| {
        let (a, b) = (cone.b[k], cone.b[2 + k]);
        let nr = (a * a + b * b).sqrt();
        [a / nr, b / nr]
    };
    let mut best = val(ray(0)).max(val(ray(1)));
    // Top eigenvector of the 2×2 MᵀM.
    let (mut p, mut q, mut s) = (0.0, 0.0, 0.0);
    for l in 0..lw {
        let (a, b) = (mm[l * h], mm[l * h + 1]);
        p += a * a;
        q += a * b;
        s += b * b;
    }
    let th = 0.5 * (2.0 * q).atan2(p - s);
    for u in [[th.cos(), th.sin()], [-th.cos(), -th.sin()]] {
        // Inside the cone iff G u ≥ 0.
        let g = &cone.g;
        if g[0] * u[0] + g[1] * u[1] >= 0.0 && g[2] * u[0] + g[3] * u[1] >= 0.0 {
            best = best.max(val(u));
        }
    }
    best
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
    use rand::SeedableRng;
    use rand_distr::Distribution;
    let (n, h, k, m) = (patches.n, patches.h, patches.k, s.width);
    let (lw, cout) = match head {
        SharedHead::Vector { outputs } => (*outputs, *outputs),
        SharedHead::Local { windows, .. } => (windows.len(), 1),
    };
    if y.len() != n * cout || m == 0 {
        return Err(Error::Data(format!(
            "{} targets for {n} samples and {cout} outputs, width {m}",
            y.len()
        )));
    }
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(s.seed);
    let mut draw = |len: usize, sd: f64| -> Vec<f64> {
        (0..len)
            .map(|_| sd * Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut rng))
            .collect()
    };
    let mut u = draw(m * h, 1.0 / (h as f64).sqrt());
    let mut w = draw(m * lw, 1.0 / ((m * lw) as f64).sqrt());
    let mut ou = Optimizer::new(OptimizerKind::Adam, s.lr, 0.0, m * h);
    let mut ow = Optimizer::new(OptimizerKind::Adam, s.lr, 0.0, m * lw);
    let (mut gu, mut gw) = (vec![0.0; m * h], vec![0.0; m * lw]);
    for _ in 0..s.iters {
        let f = predict(patches, head, &u, &w, lw);
        let r: Vec<f64> = f.iter().zip(y).map(|(a, b)| a - b).collect();
        for j in 0..m {
            let uj = &u[j * h..(j + 1) * h];
            let wj = &w[j * lw..(j + 1) * lw];
            let mut g_u = vec![0.0; h];
            let mut g_w = vec![0.0; lw];
            for t in 0..n {
                let z: Vec<f64> = (0..k).map(|kk| dot(patches.row(kk * n + t), uj)).collect();
                match head {
                    SharedHead::Vector { .. } => {
                        let phi: f64 = z.iter().map(|v| v.max(0.0)).sum();
                        let back: f64 = (0..lw).map(|c| r[c * n + t] * wj[c]).sum();
                        for c in 0..lw {
                            g_w[c] += r[c * n + t] * phi;
                        }
                        for (kk, zk) in z.iter().enumerate() {
                            if *zk > 0.0 {
                                let x = patches.row(kk * n + t);
                                g_u.iter_mut().zip(x).for_each(|(g, xv)| *g += back * xv);
                            }
                        }
                    }
                    SharedHead::Local { windows, max } => {
                        for (l, win) in windows.iter().enumerate() {
                            let (phi, routes): (f64, Vec<(usize, f64)>) = if *max {
                                let best = win.iter().copied().fold(win[0], |b, kk| {
                                    if z[kk] > z[b] {
                                        kk
                                    } else {
                                        b
                                    }
                                });
                                if z[best] > 0.0 {
                                    (z[best], vec![(best, 1.0)])
                                } else {
                                    (0.0, Vec::new())
                                }
                            } else {
                                let c = 1.0 / win.len() as f64;
                                (
                                    c * win.iter().map(|&kk| z[kk].max(0.0)).sum::<f64>(),
                                    win.iter()
                                        .filter(|&&kk| z[kk] > 0.0)
                                        .map(|&kk| (kk, c))
                                        .collect(),
                                )
                            };
                            g_w[l] += r[t] * phi;
                            for (kk, c) in routes {
                                let x = patches.row(kk * n + t);
                                let coef = r[t] * wj[l] * c;
                                g_u.iter_mut().zip(x).for_each(|(g, xv)| *g += coef * xv);
                            }
                        }
                    }
                }
            }
            for (e, g) in g_u.iter().enumerate() {
                gu[j * h + e] = g + beta * uj[e];
            }
            for (l, g) in g_w.iter().enumerate() {
                gw[j * lw + l] = g + beta * wj[l];
            }
        }
        ou.step(&mut u, &gu);
        ow.step(&mut w, &gw);
    }
    Ok((u, w))
}
