//! Global max pooling (MATH.md section 5): `f(X) = Σ_j w_j max_k (X_k u_j)_+`.
//!
//! A pattern records, per sample `t`, the winning position `s_t(u) = argmax_k x_{t,k}ᵀu`, or none
//! when every `x_{t,k}ᵀu` is negative. Its cone is
//! `{u : x_{t,s}ᵀu ≥ 0, (x_{t,s} − x_{t,l})ᵀu ≥ 0 ∀l}` for a winner `s` and
//! `{u : x_{t,l}ᵀu ≤ 0 ∀l}` for none, and `A_i = Σ_t e_t x_{t,s_t}ᵀ`. On that cone the network's
//! pooled feature is `A_i u` exactly, so the program of section 3 with these blocks and the same
//! group-ℓ2 penalty is the training problem.
//!
//! The patterns come from the arrangement of the `nK` rows `x_{t,k}` and the `nK(K−1)/2` rows
//! `x_{t,k} − x_{t,l}` ([`MaxArrangement`]). Every open region of that arrangement fixes the
//! winners; regions with the same winners share one block, whose constraints are the rows above
//! (with the region's signs), so the block's cone is the whole argmax cone.

use crate::error::{Error, Result};
use crate::patches::Patches;
use crate::patterns::{Hyperplanes, PatternSet};
use crate::program::{Block, Pooling, TwoLayerProgram};
use std::collections::HashMap;

/// The hyperplane arrangement whose regions fix the argmax of every sample.
#[derive(Debug, Clone)]
pub struct MaxArrangement {
    /// Samples `n`.
    pub n: usize,
    /// Positions `K`.
    pub k: usize,
    /// The arrangement rows as a stacked matrix (`n` set to the row count, one position): per
    /// sample `t`, first the `K` patches `x_{t,k}`, then `x_{t,k} − x_{t,l}` for `k < l`.
    pub rows: Patches,
}

impl MaxArrangement {
    /// Rows per sample: `K + K(K−1)/2`.
    pub fn rows_per_sample(k: usize) -> usize {
        k + k * (k.saturating_sub(1)) / 2
    }

    /// Builds the arrangement of `patches`.
    pub fn new(patches: &Patches) -> Self {
        let (n, k, h) = (patches.n, patches.k, patches.h);
        let per = Self::rows_per_sample(k);
        let mut data = Vec::with_capacity(n * per * h);
        for t in 0..n {
            for kk in 0..k {
                data.extend_from_slice(patches.row(kk * n + t));
            }
            for a in 0..k {
                for b in a + 1..k {
                    let (xa, xb) = (patches.row(a * n + t), patches.row(b * n + t));
                    data.extend(xa.iter().zip(xb).map(|(p, q)| p - q));
                }
            }
        }
        MaxArrangement {
            n,
            k,
            rows: Patches {
                n: n * per,
                k: 1,
                h,
                out_dims: (1, 1),
                data,
            },
        }
    }

    /// Row of `x_{t,k}`.
    fn patch_row(&self, t: usize, k: usize) -> usize {
        t * Self::rows_per_sample(self.k) + k
    }

    /// Row of `x_{t,a} − x_{t,b}` for `a < b`.
    fn pair_row(&self, t: usize, a: usize, b: usize) -> usize {
        let k = self.k;
        // Pairs (a', b') with a' < a come first: Σ_{a'<a} (K − 1 − a').
        let before = a * (k - 1) - a * (a.saturating_sub(1)) / 2;
        t * Self::rows_per_sample(k) + k + before + (b - a - 1)
    }

    /// The winners of every sample in the region with hyperplane bits `bits`: `Some(k)` or `None`
    /// (all `x_{t,k}ᵀu < 0`). Ties between equal patches go to the lowest position.
    pub fn winners(&self, hp: &Hyperplanes, bits: &[u64]) -> Vec<Option<u32>> {
        let d = hp.row_pattern(bits);
        let k = self.k;
        (0..self.n)
            .map(|t| {
                // d[pair(a, b)] is 1[(x_a − x_b)ᵀu ≥ 0].
                let beats = |a: usize, b: usize| {
                    if a < b {
                        d[self.pair_row(t, a, b)]
                    } else {
                        !d[self.pair_row(t, b, a)]
                    }
                };
                let s = (0..k)
                    .find(|&a| (0..k).all(|b| b == a || beats(a, b)))
                    .unwrap_or(0);
                if d[self.patch_row(t, s)] {
                    Some(s as u32)
                } else {
                    None
                }
            })
            .collect()
    }

    /// The arrangement rows that bound the argmax cone of `winners`.
    fn cone_rows(&self, winners: &[Option<u32>]) -> Vec<usize> {
        let mut rows = Vec::new();
        for (t, w) in winners.iter().enumerate() {
            match *w {
                Some(s) => {
                    let s = s as usize;
                    rows.push(self.patch_row(t, s));
                    for l in (0..self.k).filter(|&l| l != s) {
                        rows.push(self.pair_row(t, s.min(l), s.max(l)));
                    }
                }
                None => rows.extend((0..self.k).map(|l| self.patch_row(t, l))),
            }
        }
        rows
    }
}

/// Assembles the max-pooling program: one block per distinct set of winners among the regions in
/// `set` (patterns of `hp`, the hyperplanes of `arr.rows`), with `A_i = Σ_t e_t x_{t,s_t}ᵀ` and the
/// argmax cone as its constraints. Blocks with `A_i = 0` are dropped.
pub fn max_program(
    patches: &Patches,
    arr: &MaxArrangement,
    hp: Hyperplanes,
    set: &PatternSet,
    y: &[f64],
    beta: f64,
) -> Result<TwoLayerProgram> {
    if !(beta > 0.0 && beta.is_finite()) {
        return Err(Error::param(
            "--beta",
            format!("β must be positive and finite, got {beta}"),
        ));
    }
    if y.len() != patches.n || arr.n != patches.n || arr.k != patches.k {
        return Err(Error::Data(format!(
            "{} targets and an arrangement of {} samples for {} samples",
            y.len(),
            arr.n,
            patches.n
        )));
    }
    let (n, h) = (patches.n, patches.h);
    let mut seen: HashMap<Vec<Option<u32>>, ()> = HashMap::new();
    let mut blocks = Vec::new();
    for i in 0..set.len() {
        let bits = set.pattern(i);
        let winners = arr.winners(&hp, bits);
        if seen.insert(winners.clone(), ()).is_some() {
            continue;
        }
        let mut a = vec![0.0; n * h];
        for (t, w) in winners.iter().enumerate() {
            if let Some(s) = w {
                a[t * h..(t + 1) * h].copy_from_slice(patches.row(*s as usize * n + t));
            }
        }
        if a.iter().all(|v| *v == 0.0) {
            continue;
        }
        let mut groups: Vec<u32> = arr
            .cone_rows(&winners)
            .into_iter()
            .filter_map(|r| hp.row_group[r].map(|(g, _)| g))
            .collect();
        groups.sort_unstable();
        groups.dedup();
        blocks.push(Block {
            pattern: i,
            a,
            bits: bits.to_vec(),
            constraints: Some(groups),
        });
    }
    Ok(TwoLayerProgram {
        n,
        h,
        k: patches.k,
        pool: Pooling::Max,
        y: y.to_vec(),
        beta,
        hyperplanes: hp,
        blocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SampleShape;
    use crate::patches::PatchSpec;

    #[test]
    fn pair_rows_are_in_order() {
        let x: Vec<f64> = (0..2 * 5).map(|v| (v as f64 * 0.7).sin()).collect();
        let shape = SampleShape {
            channels: 1,
            height: 1,
            width: 5,
            one_d: true,
        };
        let p = Patches::extract(&x, 2, &shape, &PatchSpec::one_d(2, 1, 0, false)).unwrap();
        let arr = MaxArrangement::new(&p);
        assert_eq!(arr.rows.rows(), 2 * MaxArrangement::rows_per_sample(4));
        for t in 0..2 {
            for a in 0..4 {
                for b in a + 1..4 {
                    let r = arr.rows.row(arr.pair_row(t, a, b));
                    let (xa, xb) = (p.row(a * 2 + t), p.row(b * 2 + t));
                    for e in 0..2 {
                        assert!((r[e] - (xa[e] - xb[e])).abs() < 1e-15);
                    }
                }
            }
        }
    }
}
