//! New sign patterns by ascent on the dual constraint (pricing over all patterns).
//!
//! For a dual point `r` (per output `c`, `r_c ∈ R^n`) the dual constraint of the two-layer program
//! over *every* pattern is `max_{‖u‖ ≤ 1} s·r_cᵀ Σ_k (X_k u)_+ ≤ β` for both signs `s = ±1`
//! (MATH.md 3.2; pooling scales the sum). A unit filter `u` lies in the cone of its own pattern
//! `D(u)`, so its value `f(u) = s·r_cᵀ A_{D(u)} u` is a lower bound on that pattern's exact `γ`:
//! a filter with `f(u) > β` proves that pattern `D(u)` is missing from a program whose dual point
//! is `r`.
//!
//! The search is the fixed-point ascent `u ← ∇f(u)/‖∇f(u)‖` with `∇f(u) = s·A_{D(u)}ᵀ r_c`, from
//! seeded Gaussian starts, for all outputs and both signs at once: each step is two products with
//! the stacked patch matrix `M` (`nK × h`, GEMM-shaped). At a fixed point `u = A_{D}ᵀ r/‖·‖` lies in
//! its own cone, so `f(u)` is then the exact `γ` of its block. The ascent is not monotone (the
//! weights have both signs): the best filter of each start's path is kept.

use super::hyperplanes::Hyperplanes;
use super::set::PatternSet;
use crate::patches::Patches;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Settings of [`ascend`].
#[derive(Debug, Clone, Copy)]
pub struct AscentSettings {
    /// Gaussian starts per output and sign.
    pub starts: usize,
    /// Ascent steps per start.
    pub steps: usize,
    /// Seed of the starts.
    pub seed: u64,
    /// Most patterns returned (the largest values first).
    pub max_new: usize,
}

impl Default for AscentSettings {
    fn default() -> Self {
        AscentSettings {
            starts: 24,
            steps: 12,
            seed: 0,
            max_new: 80,
        }
    }
}

/// A pattern found by [`ascend`].
#[derive(Debug, Clone)]
pub struct AscentPattern {
    /// Its bits over the hyperplanes.
    pub bits: Vec<u64>,
    /// The output whose dual constraint it violates most.
    pub output: usize,
    /// The sign (`+1`: a filter feeding the output positively).
    pub sign: f64,
    /// `f(u)` at the unit filter found: a lower bound on the block's exact `γ`.
    pub value: f64,
    /// The unit filter.
    pub filter: Vec<f64>,
}

/// Searches for patterns whose dual-constraint value at `r` exceeds `threshold` (see the module
/// documentation). `r` holds `outputs` columns of `n` values (`r[c·n + t]`), `scale` is the
/// pooling factor (1 for sum pooling, `1/K` for average pooling). Patterns in `known` are left
/// out; each pattern is returned once, with its largest value, largest values first.
#[allow(clippy::too_many_arguments)]
pub fn ascend(
    patches: &Patches,
    hp: &Hyperplanes,
    scale: f64,
    r: &[f64],
    outputs: usize,
    threshold: f64,
    known: &PatternSet,
    s: &AscentSettings,
) -> Vec<AscentPattern> {
    let (n, h) = (patches.n, patches.h);
    let rows = patches.rows();
    let pairs = 2 * outputs;
    let m = pairs * s.starts;
    if m == 0 || rows == 0 || h == 0 || r.len() != n * outputs {
        return Vec::new();
    }
    let x = MatRef::from_row_major_slice(&patches.data, rows, h);
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(s.seed);
    let mut u = Mat::<f64>::from_fn(h, m, |_, _| StandardNormal.sample(&mut rng));
    for j in 0..m {
        let nu = u.col(j).norm_l2();
        if nu > 0.0 {
            u.col_mut(j).iter_mut().for_each(|v| *v /= nu);
        }
    }
    let mut z = vec![0.0; rows * m];
    let mut g = vec![0.0; h * m];
    let mut best_value = vec![f64::NEG_INFINITY; m];
    let mut best = vec![0.0; h * m];
    let pair_of = |j: usize| {
        let p = j / s.starts;
        (p / 2, if p % 2 == 0 { 1.0 } else { -1.0 })
    };
    for step in 0..=s.steps {
        matmul(
            MatMut::from_column_major_slice_mut(&mut z, rows, m),
            Accum::Replace,
            x,
            u.as_ref(),
            1.0,
            Par::rayon(0),
        );
        // Values, and the weights of the gradient written over `z`.
        let values: Vec<f64> = z
            .par_chunks_mut(rows)
            .enumerate()
            .map(|(j, col)| {
                let (c, sg) = pair_of(j);
                let w = &r[c * n..(c + 1) * n];
                let mut val = 0.0;
                for (q, zq) in col.iter_mut().enumerate() {
                    if *zq > 0.0 {
                        let wq = sg * scale * w[q % n];
                        val += wq * *zq;
                        *zq = wq;
                    } else {
                        *zq = 0.0;
                    }
                }
                val
            })
            .collect();
        for j in 0..m {
            if values[j] > best_value[j] {
                best_value[j] = values[j];
                for (i, b) in best[j * h..(j + 1) * h].iter_mut().enumerate() {
                    *b = u[(i, j)];
                }
            }
        }
        if step == s.steps {
            break;
        }
        matmul(
            MatMut::from_column_major_slice_mut(&mut g, h, m),
            Accum::Replace,
            x.transpose(),
            MatRef::from_column_major_slice(&z, rows, m),
            1.0,
            Par::rayon(0),
        );
        for j in 0..m {
            let gj = &g[j * h..(j + 1) * h];
            let ng = gj.iter().map(|v| v * v).sum::<f64>().sqrt();
            if ng > 0.0 {
                for (i, b) in gj.iter().enumerate() {
                    u[(i, j)] = b / ng;
                }
            }
        }
    }
    let words = known.words();
    let mut found: Vec<AscentPattern> = (0..m)
        .into_par_iter()
        .filter(|&j| best_value[j] > threshold)
        .filter_map(|j| {
            let filter = best[j * h..(j + 1) * h].to_vec();
            let mut bits = vec![0u64; words];
            if hp.signs_of(&filter, &mut bits) <= 1e-12 || known.contains(&bits) {
                return None;
            }
            let (output, sign) = pair_of(j);
            Some(AscentPattern {
                bits,
                output,
                sign,
                value: best_value[j],
                filter,
            })
        })
        .collect();
    // Largest value first; ties by start order (deterministic), then one entry per pattern.
    found.sort_by(|a, b| b.value.total_cmp(&a.value));
    let mut seen = PatternSet::new(known.groups());
    found.retain(|p| seen.insert(&p.bits));
    found.truncate(s.max_new);
    found
}
