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

/// The hyperplane arrangement whose regions fix the argmax of every sample, over all positions
/// (global max pooling) or within each pooling window (local max pooling).
#[derive(Debug, Clone)]
pub struct MaxArrangement {
    /// Samples `n`.
    pub n: usize,
    /// Positions `K`.
    pub k: usize,
    /// Pooling windows (positions), disjoint; one window of all positions for global pooling.
    pub windows: Vec<Vec<usize>>,
    /// First pair row of each window within a sample's rows.
    offsets: Vec<usize>,
    /// Rows per sample.
    per: usize,
    /// The arrangement rows as a stacked matrix (`n` set to the row count, one position): per
    /// sample `t`, first the `K` patches `x_{t,k}`, then per window `x_{t,a} − x_{t,b}` for the
    /// window's positions `a` before `b`.
    pub rows: Patches,
}

impl MaxArrangement {
    /// The arrangement of global max pooling over all positions of `patches`.
    pub fn new(patches: &Patches) -> Self {
        Self::with_windows(patches, vec![(0..patches.k).collect()])
    }

    /// The arrangement of max pooling within each of `windows` (disjoint lists of positions).
    pub fn with_windows(patches: &Patches, windows: Vec<Vec<usize>>) -> Self {
        let (n, k, h) = (patches.n, patches.k, patches.h);
        let mut offsets = Vec::with_capacity(windows.len());
        let mut per = k;
        for w in &windows {
            offsets.push(per);
            per += w.len() * w.len().saturating_sub(1) / 2;
        }
        let mut data = Vec::with_capacity(n * per * h);
        for t in 0..n {
            for kk in 0..k {
                data.extend_from_slice(patches.row(kk * n + t));
            }
            for w in &windows {
                for (i, &a) in w.iter().enumerate() {
                    for &b in &w[i + 1..] {
                        let (xa, xb) = (patches.row(a * n + t), patches.row(b * n + t));
                        data.extend(xa.iter().zip(xb).map(|(p, q)| p - q));
                    }
                }
            }
        }
        MaxArrangement {
            n,
            k,
            windows,
            offsets,
            per,
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
        t * self.per + k
    }

    /// Row of `x_{t,a} − x_{t,b}` for the `i`-th and `j`-th positions (`i < j`) of window `w`.
    fn pair_row(&self, t: usize, w: usize, i: usize, j: usize) -> usize {
        let len = self.windows[w].len();
        // Pairs (i', ·) with i' < i come first: Σ_{i'<i} (len − 1 − i').
        let before = i * (len - 1) - i * i.saturating_sub(1) / 2;
        t * self.per + self.offsets[w] + before + (j - i - 1)
    }

    /// The winners in window `w` of every sample in the region with row pattern `d`: the winning
    /// position, or `None` (all `x_{t,k}ᵀu < 0` in the window). Ties between equal patches go to
    /// the earliest position.
    fn window_winners(&self, d: &[bool], w: usize) -> Vec<Option<u32>> {
        let win = &self.windows[w];
        let len = win.len();
        (0..self.n)
            .map(|t| {
                // d[pair(i, j)] is 1[(x_i − x_j)ᵀu ≥ 0].
                let beats = |i: usize, j: usize| {
                    if i < j {
                        d[self.pair_row(t, w, i, j)]
                    } else {
                        !d[self.pair_row(t, w, j, i)]
                    }
                };
                let s = (0..len)
                    .find(|&i| (0..len).all(|j| j == i || beats(i, j)))
                    .unwrap_or(0);
                d[self.patch_row(t, win[s])].then_some(win[s] as u32)
            })
            .collect()
    }

    /// The winners of every sample in the region with hyperplane bits `bits`, for global max
    /// pooling (the first window).
    pub fn winners(&self, hp: &Hyperplanes, bits: &[u64]) -> Vec<Option<u32>> {
        self.window_winners(&hp.row_pattern(bits), 0)
    }

    /// The winners per window of the region with hyperplane bits `bits`.
    pub fn winners_per_window(&self, hp: &Hyperplanes, bits: &[u64]) -> Vec<Vec<Option<u32>>> {
        let d = hp.row_pattern(bits);
        (0..self.windows.len())
            .map(|w| self.window_winners(&d, w))
            .collect()
    }

    /// The arrangement rows that bound the argmax cone of `winners` in window `w`.
    pub(crate) fn cone_rows(&self, w: usize, winners: &[Option<u32>]) -> Vec<usize> {
        let win = &self.windows[w];
        let mut rows = Vec::new();
        for (t, s) in winners.iter().enumerate() {
            match *s {
                Some(s) => {
                    let s = s as usize;
                    let i = win.iter().position(|&p| p == s).unwrap_or(0);
                    rows.push(self.patch_row(t, s));
                    for j in (0..win.len()).filter(|&j| j != i) {
                        rows.push(self.pair_row(t, w, i.min(j), i.max(j)));
                    }
                }
                None => rows.extend(win.iter().map(|&l| self.patch_row(t, l))),
            }
        }
        rows
    }
}

/// `A = Σ_t e_t x_{t,s_t}ᵀ` of the winners (row-major `n × h`).
pub(crate) fn winner_matrix(patches: &Patches, winners: &[Option<u32>]) -> Vec<f64> {
    let (n, h) = (patches.n, patches.h);
    let mut a = vec![0.0; n * h];
    for (t, w) in winners.iter().enumerate() {
        if let Some(s) = w {
            a[t * h..(t + 1) * h].copy_from_slice(patches.row(*s as usize * n + t));
        }
    }
    a
}

/// The distinct hyperplane groups of `rows` (zero rows have none), sorted.
pub(crate) fn groups_of(hp: &Hyperplanes, rows: impl Iterator<Item = usize>) -> Vec<u32> {
    let mut groups: Vec<u32> = rows
        .filter_map(|r| hp.row_group[r].map(|(g, _)| g))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    groups
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
    crate::program::check_beta(beta)?;
    if y.len() != patches.n || arr.n != patches.n || arr.k != patches.k {
        return Err(Error::Data(format!(
            "{} targets and an arrangement of {} samples for {} samples",
            y.len(),
            arr.n,
            patches.n
        )));
    }
    let (n, h) = (patches.n, patches.h);
    if arr.windows.len() != 1 {
        return Err(Error::Data(
            "global max pooling needs the arrangement of one window".into(),
        ));
    }
    let mut seen: HashMap<Vec<Option<u32>>, ()> = HashMap::new();
    let mut blocks = Vec::new();
    for i in 0..set.len() {
        let bits = set.pattern(i);
        let winners = arr.winners(&hp, bits);
        if seen.insert(winners.clone(), ()).is_some() {
            continue;
        }
        let a = winner_matrix(patches, &winners);
        if a.iter().all(|v| *v == 0.0) {
            continue;
        }
        let groups = groups_of(&hp, arr.cone_rows(0, &winners).into_iter());
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
        assert_eq!(arr.rows.rows(), 2 * (4 + 6));
        for t in 0..2 {
            for a in 0..4 {
                for b in a + 1..4 {
                    let r = arr.rows.row(arr.pair_row(t, 0, a, b));
                    let (xa, xb) = (p.row(a * 2 + t), p.row(b * 2 + t));
                    for e in 0..2 {
                        assert!((r[e] - (xa[e] - xb[e])).abs() < 1e-15);
                    }
                }
            }
        }
    }

    use crate::program::tests::{gaussian, patterns_of, random_patches, raw_conv};
    use crate::program::ConvexSolution;

    /// Winners of the region of a random filter `u` are `argmax_k x_{t,k}ᵀu` computed from the
    /// raw signals, or none when every value is negative.
    #[test]
    fn winners_are_the_argmax_of_each_sample() {
        let (n, len, f) = (4, 6, 2);
        let (p, x) = random_patches(n, len, f, 31);
        let arr = MaxArrangement::new(&p);
        let hp = Hyperplanes::from_patches(&arr.rows);
        let mut bits = vec![0u64; hp.len().div_ceil(64).max(1)];
        let mut seen_none = false;
        for s in 0..60 {
            let u = gaussian(f, 3100 + s);
            hp.signs_of(&u, &mut bits);
            let got = arr.winners(&hp, &bits);
            for (t, row) in raw_conv(&x, n, len, &u).iter().enumerate() {
                let (k, v) = row
                    .iter()
                    .enumerate()
                    .fold(
                        (0, f64::NEG_INFINITY),
                        |b, (k, v)| if *v > b.1 { (k, *v) } else { b },
                    );
                let want = (v >= 0.0).then_some(k as u32);
                seen_none |= want.is_none();
                assert_eq!(got[t], want, "filter {s}, sample {t}: {row:?}");
            }
        }
        assert!(seen_none, "no sample without a winner was tested");
    }

    /// A block with its generating filter predicts `max_k (x_{t,k}ᵀu)_+` (raw signals) and the
    /// filter lies in the block's argmax cone; each winner brings `K` cone rows (1 patch row and
    /// `K − 1` differences), each sample without one `K` rows.
    #[test]
    fn blocks_reproduce_max_pooled_relu() {
        let (n, len, f) = (3, 6, 2);
        let (p, x) = random_patches(n, len, f, 32);
        let arr = MaxArrangement::new(&p);
        let hp = Hyperplanes::from_patches(&arr.rows);
        let filters: Vec<Vec<f64>> = (0..40).map(|s| gaussian(f, 3200 + s)).collect();
        let (set, first) = patterns_of(&hp, &filters);
        let prog = max_program(&p, &arr, hp.clone(), &set, &vec![0.0; n], 1.0).unwrap();
        assert!(prog.blocks.len() > 1);
        for b in 0..prog.blocks.len() {
            let u = &first[prog.blocks[b].pattern];
            let mut sol = ConvexSolution::zeros(prog.blocks.len(), f);
            sol.var_mut(2 * b).copy_from_slice(u);
            let got = prog.predict(&sol);
            for (t, row) in raw_conv(&x, n, len, u).iter().enumerate() {
                let want = row.iter().fold(0.0f64, |m, v| m.max(*v));
                assert!((got[t] - want).abs() < 1e-12, "block {b}, sample {t}");
            }
            assert!(prog.max_violation(&sol) <= 1e-15, "block {b}");
            let winners = arr.winners(&hp, &prog.blocks[b].bits);
            assert_eq!(arr.cone_rows(0, &winners).len(), n * p.k);
        }
        // Different blocks have different winners.
        let mut all: Vec<_> = prog
            .blocks
            .iter()
            .map(|bl| arr.winners(&hp, &bl.bits))
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), prog.blocks.len());
    }
}
