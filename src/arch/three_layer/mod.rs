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

pub mod first_order;

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
    /// Convex objective at the returned point (the optimum, up to the solver's accuracy).
    pub objective: f64,
    /// The recovered network's objective from its own forward pass.
    pub network_objective: f64,
    /// The recovered network.
    pub network: ThreeLayerCnn,
    /// S-blocks.
    pub s_blocks: usize,
    /// P-blocks.
    pub p_blocks: usize,
    /// Solver status.
    pub status: SolveStatus,
    /// A lower bound on the program's optimum: Clarabel's dual objective (interior point), or
    /// the dual value of the scaled residual (first-order solver, [`crate::arch::three_layer::first_order`]).
    pub dual_objective: f64,
    /// The first-order solver's report (`None` for the interior point).
    pub first_order: Option<crate::arch::three_layer::first_order::FirstOrderReport>,
}

/// One block of the three-layer program; pattern indices point into
/// [`ThreeLayerProgram::patterns`].
#[derive(Debug, Clone)]
pub struct ThreeLayerBlock {
    /// First-layer pattern `d₁` of the (positive) first channel.
    pub d1: usize,
    /// P-blocks: the negative channel's pattern `d₂` and the second layer's pattern `o` over all
    /// patch rows (`false` off `R`); `None` for S-blocks.
    pub pair: Option<(usize, Vec<bool>)>,
    /// Output sign `σ`.
    pub sigma: f64,
}

/// The three-layer program: first-layer row patterns (over the stacked patch rows `r = k·n + t`)
/// and the S- and P-blocks built on them (S-blocks first).
#[derive(Debug, Clone)]
pub struct ThreeLayerProgram {
    /// First-layer row patterns `1[M u ≥ 0]`.
    pub patterns: Vec<Vec<bool>>,
    /// Blocks, S-blocks first.
    pub blocks: Vec<ThreeLayerBlock>,
    /// Number of S-blocks.
    pub s_blocks: usize,
    /// Rows of `M` that are not zero (zero rows carry no constraint).
    pub nonzero: Vec<bool>,
}

/// `S(w∘M z)` as an `n × h` matrix (row-major): `Σ_k` of the patch rows of each sample, with
/// weight `w[r]` per row.
fn pooled(p: &Patches, w: &[f64]) -> Vec<f64> {
    let (n, h) = (p.n, p.h);
    let mut a = vec![0.0; n * h];
    for k in 0..p.k {
        for t in 0..n {
            let r = k * n + t;
            if w[r] != 0.0 {
                for (ai, xi) in a[t * h..(t + 1) * h].iter_mut().zip(p.row(r)) {
                    *ai += w[r] * xi;
                }
            }
        }
    }
    a
}

impl ThreeLayerProgram {
    /// Enumerates (or samples) the patterns and assembles the blocks; more than `max_blocks`
    /// blocks is an error naming `--max-exact`.
    pub fn build(p: &Patches, patterns: ThreeLayerPatterns, max_blocks: usize) -> Result<Self> {
        let h = p.h;
        let hp = Hyperplanes::from_patches(p);
        let set = match patterns {
            ThreeLayerPatterns::Exact => {
                enumerate_exact(p, &hp, max_blocks as u128, &mut |_, _| {})?
            }
            ThreeLayerPatterns::Sample { draws, seed, .. } => {
                crate::patterns::sample_gaussian(&hp, draws, seed)
            }
        };
        let nonzero: Vec<bool> = (0..p.rows())
            .map(|r| p.row(r).iter().any(|v| *v != 0.0))
            .collect();
        let mut prog = ThreeLayerProgram {
            patterns: row_patterns(&hp, &set),
            blocks: Vec::new(),
            s_blocks: 0,
            nonzero,
        };
        let too_many = |count: usize| -> Result<()> {
            if count > max_blocks {
                return Err(Error::param(
                    "--max-exact",
                    format!("the three-layer program has more than {max_blocks} blocks"),
                ));
            }
            Ok(())
        };
        for i in 0..prog.patterns.len() {
            prog.push(p, i, None);
            too_many(prog.blocks.len())?;
        }
        prog.s_blocks = prog.blocks.len();
        if let ThreeLayerPatterns::Sample { pairs, seed, .. } = patterns {
            use rand::SeedableRng;
            use rand_distr::Distribution;
            let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed.wrapping_add(1));
            let mut seen = std::collections::HashSet::new();
            let mut index: std::collections::HashMap<Vec<bool>, usize> = prog
                .patterns
                .iter()
                .enumerate()
                .map(|(i, d)| (d.clone(), i))
                .collect();
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
                let rset = prog.both_on(&d1, &d2);
                let mut o = vec![false; p.rows()];
                for &r in &rset {
                    o[r] = dot(p.row(r), &diff) >= 0.0;
                }
                if rset.is_empty() || !seen.insert((d1.clone(), d2.clone(), o.clone())) {
                    continue;
                }
                let mut id = |d: Vec<bool>| -> usize {
                    let next = prog.patterns.len();
                    *index.entry(d.clone()).or_insert_with(|| {
                        prog.patterns.push(d);
                        next
                    })
                };
                let (i1, i2) = (id(d1), id(d2));
                prog.push(p, i1, Some((i2, o)));
                too_many(prog.blocks.len())?;
            }
        }
        if patterns == ThreeLayerPatterns::Exact {
            let count = prog.patterns.len();
            for i1 in 0..count {
                for i2 in 0..count {
                    let rset = prog.both_on(&prog.patterns[i1], &prog.patterns[i2]);
                    if rset.is_empty() {
                        continue;
                    }
                    // The second layer's patterns on R: regions of the arrangement of
                    // {x_r : r ∈ R}.
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
                        prog.push(p, i1, Some((i2, o)));
                    }
                    too_many(prog.blocks.len())?;
                }
            }
        }
        Ok(prog)
    }

    /// The non-zero rows where both patterns fire (`R`).
    fn both_on(&self, d1: &[bool], d2: &[bool]) -> Vec<usize> {
        (0..d1.len())
            .filter(|&r| d1[r] && d2[r] && self.nonzero[r])
            .collect()
    }

    /// Appends the block with both output signs, unless its prediction is zero.
    fn push(&mut self, p: &Patches, d1: usize, pair: Option<(usize, Vec<bool>)>) {
        let block = ThreeLayerBlock {
            d1,
            pair,
            sigma: 1.0,
        };
        let (w1, w2) = self.row_weights_of(&block);
        if pooled(p, &w1)
            .iter()
            .chain(&pooled(p, &w2))
            .all(|v| *v == 0.0)
        {
            return;
        }
        self.blocks.push(block.clone());
        self.blocks.push(ThreeLayerBlock {
            sigma: -1.0,
            ..block
        });
    }

    /// Whether block `b` is a P-block (two channels).
    pub fn is_pair(&self, b: usize) -> bool {
        self.blocks[b].pair.is_some()
    }

    /// Number of P-blocks.
    pub fn p_blocks(&self) -> usize {
        self.blocks.len() - self.s_blocks
    }

    fn row_weights_of(&self, b: &ThreeLayerBlock) -> (Vec<f64>, Vec<f64>) {
        let d1 = &self.patterns[b.d1];
        match &b.pair {
            None => (
                d1.iter().map(|&v| if v { 1.0 } else { 0.0 }).collect(),
                vec![0.0; d1.len()],
            ),
            Some((i2, o)) => {
                let d2 = &self.patterns[*i2];
                (
                    (0..d1.len())
                        .map(|r| if (d1[r] && !d2[r]) || o[r] { 1.0 } else { 0.0 })
                        .collect(),
                    o.iter().map(|&v| if v { -1.0 } else { 0.0 }).collect(),
                )
            }
        }
    }

    /// Block `b`'s prediction weights per patch row for its two channels (before `σ`): the
    /// block predicts `σ S(w₁∘M z₁ + w₂∘M z₂)` (`w₂ = 0` for S-blocks).
    pub fn row_weights(&self, b: usize) -> (Vec<f64>, Vec<f64>) {
        self.row_weights_of(&self.blocks[b])
    }

    /// Block `b`'s cone constraints `a₁ x_rᵀz₁ + a₂ x_rᵀz₂ ≥ 0` as `(r, a₁, a₂)`: the first
    /// channel's pattern on the non-zero rows, then (P-blocks) the second channel's, then the
    /// second layer's pattern `(2o_r − 1) x_rᵀ(z₁ − z₂) ≥ 0` on `R`.
    pub fn constraints(&self, b: usize) -> Vec<(usize, f64, f64)> {
        let bl = &self.blocks[b];
        let sign = |v: bool| if v { 1.0 } else { -1.0 };
        let d1 = &self.patterns[bl.d1];
        let live = |r: &usize| self.nonzero[*r];
        let mut c: Vec<(usize, f64, f64)> = (0..d1.len())
            .filter(live)
            .map(|r| (r, sign(d1[r]), 0.0))
            .collect();
        if let Some((i2, o)) = &bl.pair {
            let d2 = &self.patterns[*i2];
            c.extend((0..d2.len()).filter(live).map(|r| (r, 0.0, sign(d2[r]))));
            for r in self.both_on(d1, d2) {
                c.push((r, sign(o[r]), -sign(o[r])));
            }
        }
        c
    }

    /// `σ A_b θ` (`n` values) for block `b` with variable `θ = [z₁, z₂]` (`z₂` absent for
    /// S-blocks).
    pub fn output(&self, p: &Patches, b: usize, theta: &[f64]) -> Vec<f64> {
        let (n, h) = (p.n, p.h);
        let (w1, w2) = self.row_weights(b);
        let mut f = vec![0.0; n];
        for (r, (a1, a2)) in w1.iter().zip(&w2).enumerate() {
            let mut v = 0.0;
            if *a1 != 0.0 {
                v += a1 * dot(p.row(r), &theta[..h]);
            }
            if *a2 != 0.0 {
                v += a2 * dot(p.row(r), &theta[h..2 * h]);
            }
            f[r % n] += v;
        }
        let s = self.blocks[b].sigma;
        f.iter_mut().for_each(|v| *v *= s);
        f
    }

    /// Block `b` for the interior point: `A_b` (`n × dim`), the constraint rows and the groups.
    fn socp_block(&self, p: &Patches, b: usize, beta: f64) -> SocpBlock {
        let (n, h) = (p.n, p.h);
        let pair = self.is_pair(b);
        let dim = if pair { 2 * h } else { h };
        let (w1, w2) = self.row_weights(b);
        let (a1, a2) = (pooled(p, &w1), pooled(p, &w2));
        let mut a = vec![0.0; n * dim];
        for t in 0..n {
            a[t * dim..t * dim + h].copy_from_slice(&a1[t * h..(t + 1) * h]);
            if pair {
                a[t * dim + h..(t + 1) * dim].copy_from_slice(&a2[t * h..(t + 1) * h]);
            }
        }
        let mut c = Vec::new();
        for (r, c1, c2) in self.constraints(b) {
            let x = p.row(r);
            c.extend(x.iter().map(|v| c1 * v));
            if pair {
                c.extend(x.iter().map(|v| c2 * v));
            }
        }
        SocpBlock {
            dim,
            a,
            c,
            sign: self.blocks[b].sigma,
            cost: beta,
            groups: pair.then(|| vec![h, h]),
        }
    }
}

/// Row patterns of a pattern set over the stacked patch rows.
fn row_patterns(hp: &Hyperplanes, set: &PatternSet) -> Vec<Vec<bool>> {
    (0..set.len())
        .map(|i| hp.row_pattern(set.pattern(i)))
        .collect()
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

/// How the three-layer program is solved.
#[derive(Debug, Clone, Copy)]
pub enum ThreeLayerSolver {
    /// Interior point (Clarabel) on the whole program: exact, for small instances.
    Ipm(IpmSettings),
    /// Augmented Lagrangian with FISTA over a working set of blocks
    /// ([`crate::arch::three_layer::first_order::solve_three_layer_al`]): first-order, for sampled programs with
    /// large filters.
    Al(crate::arch::three_layer::first_order::FirstOrderSettings),
    /// Fully corrective conditional gradient, column generation over atoms
    /// ([`crate::arch::three_layer::first_order::solve_three_layer_cg`]): first-order, for exact programs with
    /// many blocks and small filters.
    Cg(crate::arch::three_layer::first_order::FirstOrderSettings),
}

/// Trains the three-layer CNN with the interior point: the patterns, one solve, recovery.
/// `max_blocks` bounds the program size.
pub fn train_three_layer(
    p: &Patches,
    y: &[f64],
    beta: f64,
    patterns: ThreeLayerPatterns,
    ipm: &IpmSettings,
    max_blocks: usize,
) -> Result<ThreeLayerOutcome> {
    train_three_layer_with(
        p,
        y,
        beta,
        patterns,
        &ThreeLayerSolver::Ipm(*ipm),
        max_blocks,
    )
}

/// Trains the three-layer CNN with the given solver: builds the program
/// ([`ThreeLayerProgram::build`]), solves it, prunes (Carathéodory, `≤ n + 1` sub-networks) and
/// recovers all three layers.
pub fn train_three_layer_with(
    p: &Patches,
    y: &[f64],
    beta: f64,
    patterns: ThreeLayerPatterns,
    solver: &ThreeLayerSolver,
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
    let prog = ThreeLayerProgram::build(p, patterns, max_blocks)?;
    let (theta, status, dual_objective, first_order) = match solver {
        ThreeLayerSolver::Ipm(s) => {
            let blocks: Vec<SocpBlock> = (0..prog.blocks.len())
                .map(|b| prog.socp_block(p, b, beta))
                .collect();
            let sol = solve_block_socp(y, &blocks, s)?;
            (sol.theta, sol.status, sol.dual_objective, None)
        }
        ThreeLayerSolver::Al(s) => {
            let (theta, rep) =
                crate::arch::three_layer::first_order::solve_three_layer_al(p, y, beta, &prog, s)?;
            (theta, rep.status, rep.lower_bound, Some(rep))
        }
        ThreeLayerSolver::Cg(s) => {
            let (theta, rep) =
                crate::arch::three_layer::first_order::solve_three_layer_cg(p, y, beta, &prog, s)?;
            (theta, rep.status, rep.lower_bound, Some(rep))
        }
    };
    let (objective, network) = recover(p, y, beta, &prog, &theta)?;
    let network_objective = network.objective(p, y, beta)?;
    Ok(ThreeLayerOutcome {
        objective,
        network_objective,
        network,
        s_blocks: prog.s_blocks,
        p_blocks: prog.p_blocks(),
        status,
        dual_objective,
        first_order,
    })
}

/// The convex objective at `theta` (one vector per block; empty for zero), then Carathéodory
/// pruning and the recovery `u_c = z_c/√(‖z_c‖ t)`, `w2_c = s_c √‖z_c‖`, `w3 = σ√t` with
/// `t = Σ_c ‖z_c‖`.
fn recover(
    p: &Patches,
    y: &[f64],
    beta: f64,
    prog: &ThreeLayerProgram,
    theta: &[Vec<f64>],
) -> Result<(f64, ThreeLayerCnn)> {
    let (n, h) = (p.n, p.h);
    let largest = theta.iter().map(|t| norm(t)).fold(0.0, f64::max);
    let active: Vec<usize> = (0..prog.blocks.len())
        .filter(|&b| largest > 0.0 && norm(&theta[b]) > 1e-9 * largest)
        .collect();
    let outputs: Vec<Vec<f64>> = active
        .iter()
        .map(|&b| prog.output(p, b, &theta[b]))
        .collect();
    let costs: Vec<f64> = active
        .iter()
        .map(|&b| theta[b].chunks(h).map(norm).sum())
        .collect();
    let mut f = vec![0.0; n];
    for o in &outputs {
        f.iter_mut().zip(o).for_each(|(a, b)| *a += b);
    }
    let loss: f64 = f.iter().zip(y).map(|(a, b)| 0.5 * (a - b) * (a - b)).sum();
    let objective = loss + beta * costs.iter().sum::<f64>();
    // Carathéodory pruning over the blocks (same prediction, same penalty, ≤ n + 1 blocks).
    let scales = crate::recovery::caratheodory_scales(&outputs, &costs)?;
    let mut net = ThreeLayerCnn {
        h,
        u: Vec::new(),
        w2: Vec::new(),
        w3: Vec::new(),
    };
    for (&b, scale) in active.iter().zip(&scales) {
        if *scale <= 0.0 {
            continue;
        }
        let th: Vec<f64> = theta[b].iter().map(|v| v * scale).collect();
        let is_p = prog.is_pair(b);
        let (z1, z2) = if is_p {
            (&th[..h], &th[h..2 * h])
        } else {
            (&th[..h], &[][..])
        };
        let (n1, n2) = (norm(z1), if is_p { norm(z2) } else { 0.0 });
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
        net.w3.push(prog.blocks[b].sigma * t.sqrt());
    }
    Ok((objective, net))
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
