//! Three-layer CNNs with two ReLU layers (MATH-DEEP.md section 1): `m` parallel sub-networks,
//! each with `m₁ = 2` filters, ReLU, a 1×1 convolution mixing the two channels into one, ReLU,
//! global sum pooling and a scalar output weight:
//!
//! ```text
//! f(X)_t = Σ_j w3_j Σ_k ( Σ_c w2_{jc} (x_{t,k}ᵀ u_{jc})_+ )_+
//! min ½‖f − y‖² + (β/2) Σ_j (‖w2_j‖² + w3_j²)   s.t. ‖U_j‖_F ≤ 1
//! ```
//!
//! This is this project's precise version of the paper's three-layer family: rescaling gives the
//! path-norm problem with `z_{jc} = |w3_j||w2_{jc}| u_{jc}` and penalty `β Σ ‖z_{jc}‖`, an exact
//! SOCP over two kinds of blocks:
//! - **S-blocks** `(i, σ)`: the two-layer blocks (one channel active);
//! - **P-blocks** `(i₁, i₂, o, σ)`: the first channel positive with pattern `d_{i₁}`, the second
//!   negative with `d_{i₂}`, and `o` the second layer's sign pattern on the rows `R` where both
//!   fire; prediction `σ S((d_{i₁}∘(1 − d_{i₂}) + ō)∘M z₁ − ō∘M z₂)`, cost `β(‖z₁‖ + ‖z₂‖)`.

use crate::error::{Error, Result};
use crate::patches::Patches;
use crate::patterns::{enumerate_exact, Hyperplanes, PatternSet};
use crate::program::{dot, norm};
use crate::solver::{solve_block_socp, IpmSettings, SocpBlock, SolveStatus};

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
        let loss: f64 = f.iter().zip(y).map(|(a, b)| 0.5 * (a - b) * (a - b)).sum();
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

/// The three-layer program's blocks and solution.
#[derive(Debug, Clone)]
pub struct ThreeLayerOutcome {
    /// Convex optimum.
    pub objective: f64,
    /// The recovered network's objective from its own forward pass.
    pub network_objective: f64,
    /// The recovered network.
    pub network: ThreeLayerCnn,
    /// S-blocks.
    pub s_blocks: usize,
    /// P-blocks.
    pub p_blocks: usize,
    /// Interior-point status.
    pub status: SolveStatus,
    /// Clarabel's dual objective.
    pub dual_objective: f64,
}

/// Row patterns of a pattern set over the stacked patch rows.
fn row_patterns(hp: &Hyperplanes, set: &PatternSet) -> Vec<Vec<bool>> {
    (0..set.len())
        .map(|i| hp.row_pattern(set.pattern(i)))
        .collect()
}

/// `S(d∘M z)` as an `n × h` matrix (row-major): `Σ_k` of the active patch rows of each sample,
/// with weight `weight[r]` per row.
fn pooled(p: &Patches, weight: impl Fn(usize) -> f64) -> Vec<f64> {
    let (n, h) = (p.n, p.h);
    let mut a = vec![0.0; n * h];
    for k in 0..p.k {
        for t in 0..n {
            let r = k * n + t;
            let wr = weight(r);
            if wr != 0.0 {
                for (ai, xi) in a[t * h..(t + 1) * h].iter_mut().zip(p.row(r)) {
                    *ai += wr * xi;
                }
            }
        }
    }
    a
}

/// Constraint rows `(2d_r − 1) x_r` of the non-zero rows (`rows × h`).
fn sign_rows(p: &Patches, d: &[bool]) -> Vec<f64> {
    let mut c = Vec::new();
    for (r, &dr) in d.iter().enumerate() {
        let x = p.row(r);
        if x.iter().any(|v| *v != 0.0) {
            let s = if dr { 1.0 } else { -1.0 };
            c.extend(x.iter().map(|v| s * v));
        }
    }
    c
}

/// Appends the P-block `(d₁, d₂, o)` with both output signs (nothing when its prediction is
/// zero): prediction `S((d₁∘(1 − d₂) + ō)∘M z₁ − ō∘M z₂)`, the two first-layer cones and
/// `(2o_r − 1) x_rᵀ(z₁ − z₂) ≥ 0` on `R`.
#[allow(clippy::too_many_arguments)]
fn push_p_block(
    p: &Patches,
    d1: &[bool],
    d2: &[bool],
    o: &[bool],
    rset: &[usize],
    beta: f64,
    blocks: &mut Vec<SocpBlock>,
    kinds: &mut Vec<(bool, f64)>,
) {
    let (n, h) = (p.n, p.h);
    let a1 = pooled(p, |r| if (d1[r] && !d2[r]) || o[r] { 1.0 } else { 0.0 });
    let a2 = pooled(p, |r| if o[r] { -1.0 } else { 0.0 });
    let mut a = vec![0.0; n * 2 * h];
    for t in 0..n {
        a[t * 2 * h..t * 2 * h + h].copy_from_slice(&a1[t * h..(t + 1) * h]);
        a[t * 2 * h + h..(t + 1) * 2 * h].copy_from_slice(&a2[t * h..(t + 1) * h]);
    }
    if a.iter().all(|v| *v == 0.0) {
        return;
    }
    let (c1, c2) = (sign_rows(p, d1), sign_rows(p, d2));
    let mut c = Vec::with_capacity(c1.len() * 2 + c2.len() * 2 + rset.len() * 2 * h);
    for row in c1.chunks(h) {
        c.extend_from_slice(row);
        c.extend(std::iter::repeat_n(0.0, h));
    }
    for row in c2.chunks(h) {
        c.extend(std::iter::repeat_n(0.0, h));
        c.extend_from_slice(row);
    }
    for &r in rset {
        let s = if o[r] { 1.0 } else { -1.0 };
        let x = p.row(r);
        c.extend(x.iter().map(|v| s * v));
        c.extend(x.iter().map(|v| -s * v));
    }
    for sigma in [1.0, -1.0] {
        blocks.push(SocpBlock {
            dim: 2 * h,
            a: a.clone(),
            c: c.clone(),
            sign: sigma,
            cost: beta,
            groups: Some(vec![h, h]),
        });
        kinds.push((true, sigma));
    }
}

/// How the three-layer program's patterns are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreeLayerPatterns {
    /// Every first-layer pattern and every second-layer pattern of every pair: the global
    /// optimum.
    Exact,
    /// A restricted program for real data: the first-layer patterns of `draws` Gaussian filters
    /// (S-blocks), and the P-blocks of `pairs` Gaussian sub-networks `(z₁, z₂)` (their patterns
    /// `d₁, d₂` and `o = 1[M(z₁ − z₂) ≥ 0]` on the rows where both fire), de-duplicated.
    Sample {
        /// Gaussian first-layer filters.
        draws: usize,
        /// Gaussian sub-networks.
        pairs: usize,
        /// Seed.
        seed: u64,
    },
}

/// The row pattern `1[M u ≥ 0]` (zero rows count as on).
fn pattern_of(p: &Patches, u: &[f64]) -> Vec<bool> {
    (0..p.rows()).map(|r| dot(p.row(r), u) >= 0.0).collect()
}

/// Trains the three-layer CNN exactly: all first-layer patterns, all second-layer patterns of
/// every pair, one interior-point solve, recovery. `max_blocks` bounds the program size.
pub fn train_three_layer(
    p: &Patches,
    y: &[f64],
    beta: f64,
    patterns: ThreeLayerPatterns,
    ipm: &IpmSettings,
    max_blocks: usize,
) -> Result<ThreeLayerOutcome> {
    crate::program::check_beta(beta)?;
    if y.len() != p.n {
        return Err(Error::Data(format!(
            "{} targets for {} samples",
            y.len(),
            p.n
        )));
    }
    let (n, h) = (p.n, p.h);
    let hp = Hyperplanes::from_patches(p);
    let set = match patterns {
        ThreeLayerPatterns::Exact => enumerate_exact(p, &hp, max_blocks as u128, &mut |_, _| {})?,
        ThreeLayerPatterns::Sample { draws, seed, .. } => {
            crate::patterns::sample_gaussian(&hp, draws, seed)
        }
    };
    let pats = row_patterns(&hp, &set);
    let nonzero: Vec<bool> = (0..p.rows())
        .map(|r| p.row(r).iter().any(|v| *v != 0.0))
        .collect();
    // Each block's channels: (pattern rows, weight per row) for z₁ and, for P-blocks, z₂.
    let mut blocks: Vec<SocpBlock> = Vec::new();
    let mut kinds: Vec<(bool, f64)> = Vec::new(); // (is P-block, σ)
    let too_many = |count: usize| -> Result<()> {
        if count > max_blocks {
            return Err(Error::param(
                "--max-exact",
                format!("the three-layer program has more than {max_blocks} blocks"),
            ));
        }
        Ok(())
    };
    for d in &pats {
        let a = pooled(p, |r| if d[r] { 1.0 } else { 0.0 });
        if a.iter().all(|v| *v == 0.0) {
            continue;
        }
        let c = sign_rows(p, d);
        for sigma in [1.0, -1.0] {
            blocks.push(SocpBlock {
                dim: h,
                a: a.clone(),
                c: c.clone(),
                sign: sigma,
                cost: beta,
                groups: None,
            });
            kinds.push((false, sigma));
        }
        too_many(blocks.len())?;
    }
    let s_blocks = blocks.len();
    if let ThreeLayerPatterns::Sample { pairs, seed, .. } = patterns {
        use rand::SeedableRng;
        use rand_distr::Distribution;
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed.wrapping_add(1));
        let mut seen = std::collections::HashSet::new();
        for _ in 0..pairs {
            let mut draw = || -> Vec<f64> {
                (0..h)
                    .map(|_| Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut rng))
                    .collect()
            };
            let (z1, z2) = (draw(), draw());
            let d1 = pattern_of(p, &z1);
            let d2 = pattern_of(p, &z2);
            let diff: Vec<f64> = z1.iter().zip(&z2).map(|(a, b)| a - b).collect();
            let rset: Vec<usize> = (0..p.rows())
                .filter(|&r| d1[r] && d2[r] && nonzero[r])
                .collect();
            let mut o = vec![false; p.rows()];
            for &r in &rset {
                o[r] = dot(p.row(r), &diff) >= 0.0;
            }
            if rset.is_empty() || !seen.insert((d1.clone(), d2.clone(), o.clone())) {
                continue;
            }
            push_p_block(p, &d1, &d2, &o, &rset, beta, &mut blocks, &mut kinds);
            too_many(blocks.len())?;
        }
    }
    let exact_pairs: &[Vec<bool>] = if patterns == ThreeLayerPatterns::Exact {
        &pats
    } else {
        &[]
    };
    for d1 in exact_pairs {
        for d2 in exact_pairs {
            let rset: Vec<usize> = (0..p.rows())
                .filter(|&r| d1[r] && d2[r] && nonzero[r])
                .collect();
            if rset.is_empty() {
                continue;
            }
            // The second layer's patterns on R: regions of the arrangement of {x_r : r ∈ R}.
            let sub = Patches {
                n: rset.len(),
                k: 1,
                h,
                out_dims: (1, 1),
                data: rset.iter().flat_map(|&r| p.row(r).to_vec()).collect(),
            };
            let shp = Hyperplanes::from_patches(&sub);
            let oset = enumerate_exact(&sub, &shp, max_blocks as u128, &mut |_, _| {})?;
            for oi in 0..oset.len() {
                let o_sub = shp.row_pattern(oset.pattern(oi));
                let mut o = vec![false; p.rows()];
                for (q, &r) in rset.iter().enumerate() {
                    o[r] = o_sub[q];
                }
                push_p_block(p, d1, d2, &o, &rset, beta, &mut blocks, &mut kinds);
            }
            too_many(blocks.len())?;
        }
    }
    let p_blocks = blocks.len() - s_blocks;
    let sol = solve_block_socp(y, &blocks, ipm)?;
    // Objective at the solution.
    let mut f = vec![0.0; n];
    let mut pen = 0.0;
    for (b, th) in blocks.iter().zip(&sol.theta) {
        for (t, ft) in f.iter_mut().enumerate() {
            *ft += b.sign * dot(&b.a[t * b.dim..(t + 1) * b.dim], th);
        }
        pen += beta * th.chunks(h).map(norm).sum::<f64>();
    }
    let loss: f64 = f.iter().zip(y).map(|(a, b)| 0.5 * (a - b) * (a - b)).sum();
    let objective = loss + pen;
    // Carathéodory pruning over the blocks (same prediction, same penalty, ≤ n + 1 blocks).
    let largest = sol.theta.iter().map(|t| norm(t)).fold(0.0, f64::max);
    let active: Vec<usize> = (0..blocks.len())
        .filter(|&b| largest > 0.0 && norm(&sol.theta[b]) > 1e-9 * largest)
        .collect();
    let outputs: Vec<Vec<f64>> = active
        .iter()
        .map(|&b| {
            let bl = &blocks[b];
            (0..n)
                .map(|t| bl.sign * dot(&bl.a[t * bl.dim..(t + 1) * bl.dim], &sol.theta[b]))
                .collect()
        })
        .collect();
    let costs: Vec<f64> = active
        .iter()
        .map(|&b| sol.theta[b].chunks(h).map(norm).sum())
        .collect();
    let scales = crate::recovery::caratheodory_scales(&outputs, &costs)?;
    let mut theta: Vec<Vec<f64>> = vec![Vec::new(); blocks.len()];
    for (&b, f) in active.iter().zip(&scales) {
        if *f > 0.0 {
            theta[b] = sol.theta[b].iter().map(|v| v * f).collect();
        }
    }
    // Recovery: u_c = z_c/√(‖z_c‖ t), w2_c = s_c √‖z_c‖, w3 = σ√t with t = Σ_c ‖z_c‖.
    let mut net = ThreeLayerCnn {
        h,
        u: Vec::new(),
        w2: Vec::new(),
        w3: Vec::new(),
    };
    for ((is_p, sigma), th) in kinds.iter().zip(&theta) {
        if th.is_empty() || norm(th) == 0.0 {
            continue;
        }
        let (z1, z2) = if *is_p {
            (&th[..h], &th[h..])
        } else {
            (&th[..h], &[][..])
        };
        let (n1, n2) = (norm(z1), if *is_p { norm(z2) } else { 0.0 });
        let t = n1 + n2;
        for (z, nz, s) in [(z1, n1, 1.0), (z2, n2, -1.0)] {
            if nz > 0.0 {
                net.u.extend(z.iter().map(|v| v / (nz * t).sqrt()));
                net.w2.push(s * nz.sqrt());
            } else {
                net.u.extend(std::iter::repeat_n(0.0, h));
                net.w2.push(0.0);
            }
        }
        net.w3.push(sigma * t.sqrt());
    }
    let network_objective = net.objective(p, y, beta)?;
    Ok(ThreeLayerOutcome {
        objective,
        network_objective,
        network: net,
        s_blocks,
        p_blocks,
        status: sol.status,
        dual_objective: sol.dual_objective,
    })
}

/// Full-batch projected Adam on the non-convex three-layer network (`‖U_j‖_F ≤ 1` by projection
/// after every step), from a seeded Gaussian start: the local method the exact program is
/// compared with. Returns the last network.
pub fn train_three_layer_adam(
    p: &Patches,
    y: &[f64],
    beta: f64,
    s: &crate::nonconvex::FullBatchSettings,
) -> Result<ThreeLayerCnn> {
    use crate::nonconvex::{Optimizer, OptimizerKind};
    use rand::SeedableRng;
    use rand_distr::Distribution;
    let (n, h, m) = (p.n, p.h, s.width);
    if y.len() != n || m == 0 {
        return Err(Error::Data(format!(
            "{} targets for {n} samples, width {m}",
            y.len()
        )));
    }
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(s.seed);
    let mut draw = |k: usize, sd: f64| -> Vec<f64> {
        (0..k)
            .map(|_| sd * Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut rng))
            .collect()
    };
    let mut net = ThreeLayerCnn {
        h,
        u: draw(m * 2 * h, 1.0 / ((2 * h) as f64).sqrt()),
        w2: draw(m * 2, 1.0),
        w3: draw(m, 1.0 / (m as f64).sqrt()),
    };
    let project = |u: &mut [f64]| {
        for uj in u.chunks_mut(2 * h) {
            let nu = norm(uj);
            if nu > 1.0 {
                uj.iter_mut().for_each(|v| *v /= nu);
            }
        }
    };
    project(&mut net.u);
    let mut ou = Optimizer::new(OptimizerKind::Adam, s.lr, 0.0, net.u.len());
    let mut o2 = Optimizer::new(OptimizerKind::Adam, s.lr, 0.0, net.w2.len());
    let mut o3 = Optimizer::new(OptimizerKind::Adam, s.lr, 0.0, net.w3.len());
    let (mut gu, mut g2, mut g3) = (
        vec![0.0; net.u.len()],
        vec![0.0; net.w2.len()],
        vec![0.0; net.w3.len()],
    );
    for _ in 0..s.iters {
        let f = net.predict(p)?;
        let r: Vec<f64> = f.iter().zip(y).map(|(a, b)| a - b).collect();
        gu.iter_mut().for_each(|v| *v = 0.0);
        for j in 0..m {
            g3[j] = beta * net.w3[j];
            g2[2 * j] = beta * net.w2[2 * j];
            g2[2 * j + 1] = beta * net.w2[2 * j + 1];
            for (t, &rt) in r.iter().enumerate() {
                for k in 0..p.k {
                    let x = p.row(k * n + t);
                    let a: [f64; 2] = [0, 1]
                        .map(|c| dot(x, &net.u[(j * 2 + c) * h..(j * 2 + c + 1) * h]).max(0.0));
                    let g = net.w2[2 * j] * a[0] + net.w2[2 * j + 1] * a[1];
                    if g <= 0.0 {
                        continue;
                    }
                    g3[j] += rt * g;
                    for c in 0..2 {
                        g2[2 * j + c] += rt * net.w3[j] * a[c];
                        if a[c] > 0.0 {
                            let coef = rt * net.w3[j] * net.w2[2 * j + c];
                            for (gv, xv) in
                                gu[(j * 2 + c) * h..(j * 2 + c + 1) * h].iter_mut().zip(x)
                            {
                                *gv += coef * xv;
                            }
                        }
                    }
                }
            }
        }
        ou.step(&mut net.u, &gu);
        o2.step(&mut net.w2, &g2);
        o3.step(&mut net.w3, &g3);
        project(&mut net.u);
    }
    Ok(net)
}
