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
//! The pattern regions are enumerated exactly and split into simplicial cones
//! ([`crate::arch::shared::simplicial`]: one arc for `h = 2`, a fan for `h = 3`, a pulling triangulation
//! beyond); patches of rank `r < h` are first projected onto their row space, which loses
//! nothing (filter components outside it change no output and only add weight decay).
//! Recovery factors `T = G U Gᵀ ≈ E Eᵀ` with `E ≥ 0` ([`crate::arch::shared::cp_factor::cp_factorize`]:
//! exact for `r ≤ 3`, alternating projections beyond): neurons `u_s = B E e_s`, weights
//! `w_s = (E⁺ G V)_s`, balanced. Doubly non-negative equals completely positive for `r ≤ 4`, so
//! the SDP is exact there; for `r ≥ 5` it is a relaxation (a lower bound) and the outcome says
//! so. The dual certificate `γ(R) = max_q max_{u∈K_q, ‖u‖≤1} ‖M_q(R) u‖` is computed exactly
//! (the maximum sits at a singular vector of `M_q` restricted to one face of `K_q`, and every
//! face is tried), so every run reports the bracket `[lower bound, recovered network]`.

use crate::arch::shared::cp_factor::cp_factorize;
pub use crate::arch::shared::network::{predict, refit, train_shared_adam, SharedHead};
use crate::arch::shared::simplicial::triangulate_regions;
use crate::error::{Error, Result};
use crate::patches::Patches;
use crate::patterns::{enumerate_exact, general_position_count, rank_of, Hyperplanes};
use crate::program::dot;
use crate::program::maxpool::{winner_matrix, MaxArrangement};
use crate::solver::{IpmSettings, SolveStatus};
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSolver, IPSolver, NonnegativeConeT, PSDTriangleConeT, SupportedConeT, ZeroConeT,
};

/// Largest number of pattern regions (general-position bound) enumerated for the SDP.
const MAX_REGIONS: u128 = 200_000;
/// Largest number of hyperplane intersections tried for the rays of the regions.
const MAX_RAYS: u128 = 20_000_000;

/// One simplicial cone `K = B R^h_+`: its rays `B` (columns), `G = B⁻¹`, and its prediction
/// matrices `M_l` (`n × h`): output `(t, c)` of `V` is `Σ_l Σ_e M_{l}[t, e] V[e, l]` (local) or
/// `Σ_e M_0[t, e] V[e, c]` (vector).
#[derive(Debug, Clone)]
pub struct SimplicialCone {
    /// Dimension `h`.
    pub h: usize,
    /// Rays as unit columns, row-major `h × h`.
    pub b: Vec<f64>,
    /// `B⁻¹`, row-major `h × h`.
    pub g: Vec<f64>,
    /// Prediction matrices, one per window (local) or one (vector), each `n × h` row-major.
    pub a: Vec<Vec<f64>>,
}

/// What a shared-filter SDP run produces.
#[derive(Debug, Clone)]
pub struct SharedOutcome {
    /// The SDP optimum (Clarabel's primal objective at its point).
    pub sdp_objective: f64,
    /// The recovered network's objective from its own forward pass (an upper bound).
    pub network_objective: f64,
    /// The network recovered from the SDP before the amplitude refit.
    pub recovered_objective: f64,
    /// The dual certificate's lower bound.
    pub lower_bound: f64,
    /// Neurons: filters (`m × h`).
    pub filters: Vec<f64>,
    /// Output weights, `m × L` row-major (`L` = outputs or windows).
    pub weights: Vec<f64>,
    /// Simplicial cones.
    pub cones: usize,
    /// Cones in the final active set (the SDP solved is over these).
    pub active_cones: usize,
    /// Pattern regions they cover.
    pub regions: usize,
    /// Rank of the patches (the dimension the program lives in).
    pub rank: usize,
    /// Whether the SDP is only a relaxation (rank ≥ 5: doubly non-negative matrices need not
    /// be completely positive), so that its value is a lower bound rather than the optimum.
    pub relaxation: bool,
    /// Largest residual `‖EEᵀ − T‖_F` of the completely-positive factorizations, relative to
    /// the largest trace of an SDP block.
    pub cp_residual: f64,
    /// Interior-point status.
    pub status: SolveStatus,
}

/// `B⁻¹` of a simplicial cone's ray matrix (`h × h` row-major).
fn inverse(b: &[f64], h: usize) -> Result<Vec<f64>> {
    let m = faer::Mat::<f64>::from_fn(h, h, |i, j| b[i * h + j]);
    let inv = m
        .svd()
        .map_err(|e| Error::Solver(format!("cone inverse: SVD failed: {e:?}")))?
        .pseudoinverse();
    Ok((0..h * h).map(|ij| inv[(ij / h, ij % h)]).collect())
}

/// The simplicial cones of `patches` (of full rank: see [`solve_shared_sdp`]) for `head`, with
/// the number of pattern regions they cover.
pub fn simplicial_cones(
    patches: &Patches,
    head: &SharedHead,
) -> Result<(Vec<SimplicialCone>, usize)> {
    let (n, h) = (patches.n, patches.h);
    let max_arr = match head {
        SharedHead::Local { windows, max: true } => {
            Some(MaxArrangement::with_windows(patches, windows.clone()))
        }
        _ => None,
    };
    let rows = max_arr.as_ref().map_or(patches, |m| &m.rows);
    let hp = Hyperplanes::from_patches(rows);
    let bound = general_position_count(hp.len(), h);
    if bound > MAX_REGIONS {
        return Err(Error::param(
            "kernel",
            format!(
                "the shared-filter SDP enumerates every pattern region exactly: up to {bound} regions ({} distinct hyperplanes, patch rank {h}), above the limit {MAX_REGIONS}; use a smaller filter, fewer samples or a larger stride",
                hp.len()
            ),
        ));
    }
    let set = enumerate_exact(rows, &hp, MAX_REGIONS, &mut |_, _| {})?;
    let regions = triangulate_regions(&hp, &set, MAX_RAYS)?;
    let mut cones = Vec::new();
    for rc in regions {
        let bits = set.pattern(rc.region);
        let d = hp.row_pattern(bits);
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
                    m.winners_per_window(&hp, bits)
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
                                        for (ai, xi) in a[t * h..(t + 1) * h].iter_mut().zip(x) {
                                            *ai += s * xi;
                                        }
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
        for b in rc.cones {
            let g = inverse(&b, h)?;
            cones.push(SimplicialCone {
                h,
                b,
                g,
                a: a.clone(),
            });
        }
    }
    Ok((cones, set.len()))
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
/// windows), recovers the network and certifies it. Patches of rank below `h` are projected
/// onto their row space first; the filters returned are in the original coordinates.
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
    let (r, basis) = rank_of(patches);
    if r == 0 {
        return Err(Error::Data(
            "every patch is zero: the shared-filter program has nothing to fit".into(),
        ));
    }
    if r == h {
        return solve_full_rank(patches, y, head, beta, settings, lw);
    }
    // Row-space coordinates z = Vᵀx (basis V is h × r, column-major).
    let basis = &basis;
    let mut proj = patches.clone();
    proj.h = r;
    proj.data = (0..patches.rows())
        .flat_map(|row| {
            let x = patches.row(row);
            (0..r).map(move |c| dot(&basis[c * h..(c + 1) * h], x))
        })
        .collect();
    let mut o = solve_full_rank(&proj, y, head, beta, settings, lw)?;
    o.filters = o
        .filters
        .chunks_exact(r)
        .flat_map(|z| (0..h).map(move |i| (0..r).map(|c| basis[c * h + i] * z[c]).sum::<f64>()))
        .collect();
    let f = predict(patches, head, &o.filters, &o.weights, lw);
    o.network_objective = objective(y, &f, &o.filters, &o.weights, beta);
    Ok(o)
}

/// `½‖y − f‖² + (β/2)(‖filters‖² + ‖weights‖²)`.
fn objective(y: &[f64], f: &[f64], filters: &[f64], weights: &[f64], beta: f64) -> f64 {
    let loss = 0.5 * y.iter().zip(f).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
    loss + 0.5 * beta * (dot(filters, filters) + dot(weights, weights))
}

/// What one interior-point solve of the SDP over a set of cones gives.
struct SdpPoint {
    objective: f64,
    /// Per cone, its `svec(Φ_q)`.
    phi: Vec<Vec<f64>>,
    /// Multipliers of the residual rows (`n·C`).
    multipliers: Vec<f64>,
    status: SolveStatus,
}

/// Cones added per round of the active-set loop.
const ADD_PER_ROUND: usize = 32;
/// Rounds of the active-set loop before giving up on adding cones.
const MAX_ROUNDS: usize = 100;

fn solve_full_rank(
    patches: &Patches,
    y: &[f64],
    head: &SharedHead,
    beta: f64,
    settings: &IpmSettings,
    lw: usize,
) -> Result<SharedOutcome> {
    let (n, h) = (patches.n, patches.h);
    let (cones, regions) = simplicial_cones(patches, head)?;
    let nq = cones.len();
    let dim = h + lw;
    let s2 = std::f64::consts::FRAC_1_SQRT_2;
    // Active set: start from the cones that the targets themselves violate most (γ at the zero
    // network), solve the SDP over the active cones, add the cones whose dual constraint
    // γ_q(multipliers) ≤ β fails, repeat. With no violation left the restricted optimum is the
    // optimum over all cones (its multipliers are dual feasible for the whole program); small
    // restricted SDPs also stay well conditioned, unlike one SDP over thousands of cones that
    // sit at zero.
    let gammas = |v: &[f64]| -> Result<Vec<f64>> {
        use rayon::prelude::*;
        cones
            .par_iter()
            .map(|c| cone_gamma(c, head, v, n, lw))
            .collect()
    };
    let mut active: Vec<usize> = Vec::new();
    let mut in_active = vec![false; nq];
    let mut point: Option<SdpPoint> = None;
    let mut v = y.to_vec();
    for _ in 0..MAX_ROUNDS {
        let g = gammas(&v)?;
        let mut violators: Vec<usize> = (0..nq)
            .filter(|&q| !in_active[q] && g[q] > beta * (1.0 + 1e-6))
            .collect();
        if violators.is_empty() && point.is_some() {
            break;
        }
        violators.sort_by(|&a, &b| g[b].total_cmp(&g[a]));
        for &q in violators.iter().take(ADD_PER_ROUND) {
            in_active[q] = true;
            active.push(q);
        }
        if active.is_empty() {
            // Even the targets violate nothing: the zero network is optimal.
            break;
        }
        let chosen: Vec<&SimplicialCone> = active.iter().map(|&q| &cones[q]).collect();
        let pt = solve_sdp(&chosen, head, y, n, lw, beta, settings)?;
        v = pt.multipliers.clone();
        point = Some(pt);
    }
    let (sdp_objective, status) = match &point {
        Some(p) => (p.objective, p.status),
        None => (0.5 * dot(y, y), SolveStatus::Solved),
    };
    // Recovery.
    let (mut filters, mut weights) = (Vec::new(), Vec::new());
    let mut cp_residual = 0.0f64;
    let tri = dim * (dim + 1) / 2;
    let phis: Vec<&[f64]> = point
        .as_ref()
        .map_or(Vec::new(), |p| p.phi.iter().map(|v| v.as_slice()).collect());
    let trace = |x: &[f64]| (0..dim).map(|d| x[svec_index(d, d)]).sum::<f64>();
    let largest_tr = phis.iter().map(|x| trace(x)).fold(0.0, f64::max);
    for (&q, x) in active.iter().zip(&phis) {
        let cone = &cones[q];
        let tr = trace(x);
        if tr <= 1e-7 * largest_tr {
            continue;
        }
        debug_assert_eq!(x.len(), tri);
        let phi = |i: usize, j: usize| {
            let v = x[svec_index(i.min(j), i.max(j))];
            if i == j {
                v
            } else {
                v * s2
            }
        };
        // T and R are the cone-coordinate blocks of Ψ.
        let t: Vec<f64> = (0..h * h).map(|ab| phi(ab / h, ab % h)).collect();
        let r: Vec<f64> = (0..h * lw).map(|al| phi(al / lw, h + al % lw)).collect();
        let cp = cp_factorize(&t, h, q as u64)?;
        // The residual against the solution's scale (cones at noise level factor loosely
        // and matter as little).
        let norm_t = t.iter().map(|v| v * v).sum::<f64>().sqrt();
        cp_residual = cp_residual.max(cp.residual * norm_t / largest_tr);
        let k = cp.cols;
        let e = faer::Mat::<f64>::from_fn(h, k, |i, j| cp.e[i * k + j]);
        let einv = pseudo_inverse(&e)?;
        for col in 0..k {
            let u: Vec<f64> = (0..h)
                .map(|i| (0..h).map(|j| cone.b[i * h + j] * e[(j, col)]).sum())
                .collect();
            let w: Vec<f64> = (0..lw)
                .map(|l| (0..h).map(|a| einv[(col, a)] * r[a * lw + l]).sum())
                .collect();
            let (nu, nw) = (dot(&u, &u).sqrt(), dot(&w, &w).sqrt());
            if nu <= 1e-12 || nw <= 1e-12 {
                continue;
            }
            let sc = (nw / nu).sqrt();
            filters.extend(u.iter().map(|v| v * sc));
            weights.extend(w.iter().map(|v| v / sc));
        }
    }
    let f = predict(patches, head, &filters, &weights, lw);
    let recovered_objective = objective(y, &f, &filters, &weights, beta);
    // The factorization carries the interior point's small errors into the network (and
    // cones at noise level give tiny spurious units): refit the amplitudes of the recovered
    // directions exactly (a small group lasso), kept when it lowers the objective.
    let network_objective = if filters.is_empty() {
        recovered_objective
    } else {
        let (fu, fw, obj) = refit(patches, y, head, beta, &filters, settings)?;
        if obj < recovered_objective {
            (filters, weights) = (fu, fw);
            obj
        } else {
            recovered_objective
        }
    };
    let f = predict(patches, head, &filters, &weights, lw);
    let resid: Vec<f64> = y.iter().zip(&f).map(|(a, b)| a - b).collect();
    // Dual certificate: the best of two dual candidates, the recovered network's residual and
    // the interior point's multipliers of the residual rows (equal to the residual at an exact
    // optimum; the objective is quadratic in the residual, so an objective accurate to ε leaves
    // the residual accurate only to about √ε, and the multipliers are the better candidate).
    let mut lower_bound = f64::NEG_INFINITY;
    for v in [resid, v] {
        let gamma = gammas(&v)?.into_iter().fold(0.0, f64::max);
        let s = if gamma > beta { beta / gamma } else { 1.0 };
        let bound = y
            .iter()
            .zip(&v)
            .map(|(yv, rv)| s * yv * rv - 0.5 * s * s * rv * rv)
            .sum::<f64>();
        lower_bound = lower_bound.max(bound);
    }
    Ok(SharedOutcome {
        sdp_objective,
        network_objective,
        lower_bound,
        filters,
        weights,
        recovered_objective,
        cones: nq,
        active_cones: active.len(),
        regions,
        rank: h,
        relaxation: h >= 5,
        cp_residual,
        status,
    })
}

/// Pseudo-inverse of `E` (`h × k`), singular values below `1e-7·σ_max` dropped: the interior
/// point leaves `T` with tiny spurious eigenvalues that would otherwise blow up the weights.
fn pseudo_inverse(e: &faer::Mat<f64>) -> Result<faer::Mat<f64>> {
    let svd = e
        .svd()
        .map_err(|err| Error::Solver(format!("recovery: SVD failed: {err:?}")))?;
    let (u, v, s) = (svd.U(), svd.V(), svd.S().column_vector());
    let top = (0..s.nrows()).map(|i| s[i]).fold(0.0, f64::max);
    Ok(faer::Mat::<f64>::from_fn(e.ncols(), e.nrows(), |i, j| {
        (0..s.nrows())
            .filter(|&c| s[c] > 1e-7 * top)
            .map(|c| v[(i, c)] * u[(j, c)] / s[c])
            .sum()
    }))
}

/// `max_{u ∈ K, ‖u‖ = 1} ‖M u‖` with `M` (`L × h`) the cone's map of the residual. The maximum
/// is attained in the relative interior of some face `B_S R^S_+` of the cone, where it is a
/// stationary point of `‖M u‖` on the unit sphere of `span B_S`: a right singular vector of
/// `M Q_S` (`Q_S` an orthonormal basis of that span). Every face and singular vector (both
/// signs) that lies in the cone is tried, so the value is exact.
fn cone_gamma(
    cone: &SimplicialCone,
    head: &SharedHead,
    r: &[f64],
    n: usize,
    lw: usize,
) -> Result<f64> {
    let h = cone.h;
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
    let mut best = 0.0f64;
    let fail = |e: faer::linalg::svd::SvdError| Error::Solver(format!("γ: SVD failed: {e:?}"));
    // Rays (one-dimensional faces): the value at the unit ray itself.
    for a in 0..h {
        let ray: Vec<f64> = (0..h).map(|i| cone.b[i * h + a]).collect();
        let nr = dot(&ray, &ray).sqrt();
        let val = (0..lw)
            .map(|l| dot(&mm[l * h..(l + 1) * h], &ray).powi(2))
            .sum::<f64>()
            .sqrt();
        best = best.max(val / nr);
    }
    for mask in 1u32..(1 << h) {
        if mask.count_ones() < 2 {
            continue;
        }
        let face: Vec<usize> = (0..h).filter(|i| mask >> i & 1 == 1).collect();
        let bs = faer::Mat::<f64>::from_fn(h, face.len(), |i, j| cone.b[i * h + face[j]]);
        let q = bs.thin_svd().map_err(fail)?.U().to_owned();
        let mq = faer::Mat::<f64>::from_fn(lw, face.len(), |l, j| {
            (0..h).map(|e| mm[l * h + e] * q[(e, j)]).sum()
        });
        let svd = mq.svd().map_err(fail)?;
        let v = svd.V();
        for col in 0..face.len() {
            let u: Vec<f64> = (0..h)
                .map(|i| (0..face.len()).map(|j| q[(i, j)] * v[(j, col)]).sum())
                .collect();
            let val = (0..lw)
                .map(|l| dot(&mm[l * h..(l + 1) * h], &u).powi(2))
                .sum::<f64>()
                .sqrt();
            // Inside the face iff the coefficients G u on it share one sign.
            let coefs: Vec<f64> = face
                .iter()
                .map(|&a| dot(&cone.g[a * h..(a + 1) * h], &u))
                .collect();
            let scale = coefs.iter().fold(0.0f64, |m, c| m.max(c.abs()));
            let tol = 1e-12 * scale.max(1.0);
            if coefs.iter().all(|c| *c >= -tol) || coefs.iter().all(|c| *c <= tol) {
                best = best.max(val);
            }
        }
    }
    Ok(best)
}

/// One interior-point solve of the SDP over `cones`.
fn solve_sdp(
    cones: &[&SimplicialCone],
    head: &SharedHead,
    y: &[f64],
    n: usize,
    lw: usize,
    beta: f64,
    settings: &IpmSettings,
) -> Result<SdpPoint> {
    let Some(first) = cones.first() else {
        return Err(Error::Solver("the SDP needs at least one cone".into()));
    };
    let h = first.h;
    let cout = y.len() / n;
    let dim = h + lw;
    let tri = dim * (dim + 1) / 2;
    let nq = cones.len();
    let pairs = h * (h - 1) / 2;
    let nres = n * cout;
    let nx = nq * tri + nres;
    // Variables per cone: svec of Ψ = [[T, R], [Rᵀ, W]] in the cone's own coordinates
    // (u = B a, a ≥ 0), so that U = B T Bᵀ and V = B R: Ψ ⪰ 0 is Φ ⪰ 0 (a congruence), the
    // doubly non-negative condition is T_ab ≥ 0 itself, and a thin cone (large G = B⁻¹) does
    // not amplify the interior point's residuals into the recovered T.
    // Rows: residual equalities, T_ab ≥ 0 (a < b), then the PSD cones.
    let (eq0, nn0, psd0) = (0, nres, nres + nq * pairs);
    let m = psd0 + nq * tri;
    let s2 = std::f64::consts::FRAC_1_SQRT_2;
    let (mut ai, mut aj, mut av) = (Vec::new(), Vec::new(), Vec::new());
    let mut qv = vec![0.0; nx];
    for (q, cone) in cones.iter().enumerate() {
        let base = q * tri;
        // ρ_{tc} − Σ coef_B·R = −Y_{tc} with coef_B(t, c, e, l) = Σ_i coef(t, c, i, l) B[i, e]
        // and R[e, l] = x[svec(e, h + l)]/√2.
        for t in 0..n {
            for c in 0..cout {
                for e in 0..h {
                    for l in 0..lw {
                        let v: f64 = (0..h)
                            .map(|i| coef(cone, head, h, t, c, i, l) * cone.b[i * h + e])
                            .sum();
                        if v != 0.0 {
                            ai.push(eq0 + c * n + t);
                            aj.push(base + svec_index(e, h + l));
                            av.push(-v * s2);
                        }
                    }
                }
            }
        }
        // T_ab ≥ 0: −x[svec(a, b)] + s = 0, s ≥ 0.
        let mut pair = 0;
        for a in 0..h {
            for b in a + 1..h {
                ai.push(nn0 + q * pairs + pair);
                aj.push(base + svec_index(a, b));
                av.push(-1.0);
                pair += 1;
            }
        }
        // Ψ ⪰ 0: s = x.
        for k in 0..tri {
            ai.push(psd0 + q * tri + k);
            aj.push(base + k);
            av.push(-1.0);
        }
        // (β/2)(tr U + tr W) = (β/2)(Σ_ab (BᵀB)_ab T_ab + tr W); off-diagonal entries of svec
        // carry √2.
        for i in 0..h {
            for j in i..h {
                let bb: f64 = (0..h).map(|r| cone.b[r * h + i] * cone.b[r * h + j]).sum();
                let w = if i == j { bb } else { 2.0 * bb * s2 };
                qv[base + svec_index(i, j)] = 0.5 * beta * w;
            }
        }
        for d in h..dim {
            qv[base + svec_index(d, d)] = 0.5 * beta;
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
    let mut bv = vec![0.0; m];
    for k in 0..nres {
        bv[eq0 + k] = -y[k];
    }
    let mut cones_t: Vec<SupportedConeT<f64>> = vec![ZeroConeT(nres), NonnegativeConeT(nq * pairs)];
    for _ in 0..nq {
        cones_t.push(PSDTriangleConeT(dim));
    }
    let st = crate::solver::clarabel_settings(settings)?;
    let mut solver = DefaultSolver::new(&p_mat, &qv, &a_mat, &bv, &cones_t, st)
        .map_err(|e| Error::Solver(format!("Clarabel rejected the SDP: {e:?}")))?;
    crate::solver::interruptible(&mut solver);
    solver.solve();
    let sol = &solver.solution;
    let status = crate::solver::map_status(sol.status)?;
    let phi = (0..nq)
        .map(|q| sol.x[q * tri..(q + 1) * tri].to_vec())
        .collect();
    Ok(SdpPoint {
        objective: sol.obj_val,
        phi,
        multipliers: sol.z[eq0..eq0 + nres].to_vec(),
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::Distribution;

    /// The face-by-face γ against dense sampling of the cone: never below any sample, and
    /// within sampling resolution of the best one (for h = 2, 3, 4).
    #[test]
    fn cone_gamma_is_the_maximum_over_the_cone() {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(5);
        let mut normal = || Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut rng);
        for h in [2usize, 3, 4] {
            for trial in 0..20 {
                let lw = 1 + trial % 3;
                let n = 1;
                let b: Vec<f64> = (0..h * h).map(|_| normal()).collect();
                let g = inverse(&b, h).unwrap();
                // One sample, vector head: M[l, e] = r_l · a[e] with a = 1, so use L outputs
                // and a single prediction row a (1 × h).
                let a: Vec<f64> = (0..h).map(|_| normal()).collect();
                let cone = SimplicialCone {
                    h,
                    b: b.clone(),
                    g,
                    a: vec![a.clone()],
                };
                let head = SharedHead::Vector { outputs: lw };
                let r: Vec<f64> = (0..lw).map(|_| normal()).collect();
                let gamma = cone_gamma(&cone, &head, &r, n, lw).unwrap();
                // ‖M u‖ = ‖r‖·|aᵀu|: sample u = B c, c ≥ 0, normalized.
                let rn = r.iter().map(|v| v * v).sum::<f64>().sqrt();
                let mut best = 0.0f64;
                let mut rng2 = rand::rngs::ChaCha8Rng::seed_from_u64(trial as u64);
                for s in 0..40000 {
                    // Uniform coefficients on a random face (the maximum may sit on one).
                    let mask = 1 + s % ((1 << h) - 1);
                    let c: Vec<f64> = (0..h)
                        .map(|i| {
                            let v: f64 = rand::RngExt::random_range(&mut rng2, 0.0..1.0);
                            if mask >> i & 1 == 1 {
                                v
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    let u: Vec<f64> = (0..h)
                        .map(|i| (0..h).map(|j| b[i * h + j] * c[j]).sum())
                        .collect();
                    let nu = dot(&u, &u).sqrt();
                    best = best.max(rn * dot(&a, &u).abs() / nu);
                }
                assert!(
                    best <= gamma * (1.0 + 1e-9),
                    "h={h}: sample {best} > γ {gamma}"
                );
                assert!(
                    best >= gamma * (1.0 - 2e-2),
                    "h={h}: γ {gamma} vs best sample {best}"
                );
            }
        }
    }
}
