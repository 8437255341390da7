//! The convex program of the three-layer CNN (MATH-DEEP.md section 1): S-blocks and P-blocks of
//! first-layer pattern pairs and a second-layer pattern, as row weights over the patches.

use crate::error::{Error, Result};
use crate::patches::Patches;
use crate::patterns::{enumerate_exact, Hyperplanes, PatternSet};
use crate::program::dot;
pub use crate::resources::{SizeStage, ThreeLayerSize};
use crate::solver::SocpBlock;

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
        Self::build_within(p, patterns, max_blocks, &|_| Ok(()))
    }

    /// [`ThreeLayerProgram::build`], asking `fits` about the program's size before it grows:
    /// before the first-layer patterns are enumerated (at their general-position count, with two
    /// S-blocks each) or sampled (at the most the draws and pairs can give), and for exact
    /// programs again after every pair of first-layer patterns. An error there ends the build.
    pub fn build_within(
        p: &Patches,
        patterns: ThreeLayerPatterns,
        max_blocks: usize,
        fits: &dyn Fn(ThreeLayerSize) -> Result<()>,
    ) -> Result<Self> {
        let h = p.h;
        let hp = Hyperplanes::from_patches(p);
        let set = match patterns {
            ThreeLayerPatterns::Exact => {
                let (rank, _) = crate::patterns::rank_of(p);
                let most = crate::patterns::general_position_count(hp.len(), rank.max(1));
                let most = usize::try_from(most).unwrap_or(usize::MAX);
                fits(ThreeLayerSize {
                    patterns: most,
                    s_blocks: most.saturating_mul(2),
                    p_blocks: 0,
                    stage: SizeStage::Enumerating,
                })?;
                enumerate_exact(p, &hp, max_blocks as u128, &mut |_, _| {})?
            }
            ThreeLayerPatterns::Sample { draws, pairs, seed } => {
                fits(ThreeLayerSize {
                    patterns: draws.saturating_add(pairs.saturating_mul(2)),
                    s_blocks: draws.saturating_mul(2),
                    p_blocks: pairs.saturating_mul(2),
                    stage: SizeStage::Sampled,
                })?;
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
                    "max_exact",
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
                    fits(ThreeLayerSize {
                        patterns: prog.patterns.len(),
                        s_blocks: prog.s_blocks,
                        p_blocks: prog.p_blocks(),
                        stage: SizeStage::Growing,
                    })?;
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
    pub(crate) fn socp_block(&self, p: &Patches, b: usize, beta: f64) -> SocpBlock {
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
