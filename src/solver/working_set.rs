//! Per-block working sets of cone constraints for projected FISTA ([`super::projected`]).
//!
//! Block `b` of the exact program has one constraint `s_{g,i} n_gᵀ x_b ≥ 0` per hyperplane
//! `g` — tens of thousands to millions of rows in a space of dimension `h`, almost all of them
//! far from active. The proximal steps therefore project onto the cone of a working set per
//! block (an outer approximation): rows found violated or within a small angular margin of the
//! boundary at a full scan. Rows stay once in (dropping them lets the iterates cycle across
//! them); a cap per block keeps memory bounded, preferring rows with a positive multiplier.
//! The signed normals `w_r = s_r n_r` of the working rows are gathered at each scan, so that a
//! projection costs `O(|W_b|·h)` rather than `G·h`.
//!
//! A full scan — a GEMM of `N` with the non-zero blocks, over row chunks in parallel and over
//! groups of blocks so that memory stays bounded — brings in new rows and measures the
//! violation over *all* rows: at a point that violates no row, the working-set optimum is the
//! optimum of the full program.

use crate::cones::nnls::{project_rows, NnlsWork};
use crate::program::multi::{relative_gap, MultiProgram};
use crate::program::operator::{normals_times, row_chunks};
use faer::{MatMut, MatRef};
use rayon::prelude::*;

/// Rows of `N` per GEMM inside a chunk.
const ROW_BLOCK: usize = 512;
/// Blocks per scan group (bounds the candidate buffers).
const GROUP: usize = 256;

/// The working rows of one block.
#[derive(Debug, Clone, Default)]
struct BlockRows {
    /// Hyperplane indices.
    rows: Vec<u32>,
    /// Signed normals `s_r n_r`, row-major `|rows| × h`.
    w: Vec<f64>,
    /// Multipliers.
    lam: Vec<f64>,
    /// Projection buffers.
    work: NnlsWork,
}

/// One row chunk's scan buffers.
struct ScanChunk {
    g0: usize,
    g1: usize,
    q: Vec<f64>,
    sides: Vec<f64>,
    /// Candidate rows `(g, s n_gᵀx_b)` per block of the current group.
    found: Vec<Vec<(u32, f64)>>,
    violation: f64,
}

/// Working sets, multipliers and the penalty parameter.
pub(crate) struct WorkingSets {
    blocks: Vec<BlockRows>,
    margin: f64,
    cap: usize,
    chunks: Vec<ScanChunk>,
}

/// Keeps the `cap` rows that matter most: by multiplier, then by (most negative) value.
fn keep_best(c: &mut Vec<(u32, f64, f64)>, cap: usize) {
    if c.len() > cap {
        c.select_nth_unstable_by(cap, |a, b| b.2.total_cmp(&a.2).then(a.1.total_cmp(&b.1)));
        c.truncate(cap);
    }
}

impl WorkingSets {
    /// Empty working sets for the `2PC` blocks of `prog`; `margin` is the angular margin
    /// (`s n_gᵀx_b < margin·‖x_b‖` brings a row in) and `cap` the most rows per block.
    pub(crate) fn new(prog: &MultiProgram, margin: f64, cap: usize) -> Self {
        let g = prog.op.hyperplanes();
        let parts = (2 * rayon::current_num_threads()).max(1);
        let chunks = row_chunks(g, parts)
            .into_iter()
            .map(|(g0, g1)| ScanChunk {
                g0,
                g1,
                q: Vec::new(),
                sides: vec![0.0; ROW_BLOCK.min(g1 - g0)],
                found: Vec::new(),
                violation: 0.0,
            })
            .collect();
        WorkingSets {
            blocks: vec![BlockRows::default(); 2 * prog.half()],
            margin,
            cap: cap.max(1),
            chunks,
        }
    }

    /// Drops every block's cached projection factor: the next projections start from the
    /// multipliers alone (what a solve continued from [`WorkingSets::rows`] and
    /// [`WorkingSets::multipliers`] does).
    pub(crate) fn reset_factors(&mut self) {
        self.blocks.par_iter_mut().for_each(|br| br.work.reset());
    }

    /// The working rows of every block.
    pub(crate) fn rows(&self) -> Vec<Vec<u32>> {
        self.blocks.iter().map(|b| b.rows.clone()).collect()
    }

    /// The multipliers of every block's working rows.
    pub(crate) fn multipliers(&self) -> Vec<Vec<f64>> {
        self.blocks.iter().map(|b| b.lam.clone()).collect()
    }

    /// Sets the working rows and multipliers saved by [`WorkingSets::rows`] and
    /// [`WorkingSets::multipliers`]; `false` (nothing changed) when their shapes do not fit
    /// `prog` (block count, row indices, one multiplier per row).
    pub(crate) fn import(
        &mut self,
        prog: &MultiProgram,
        st: &super::checkpoint::AdmmState,
    ) -> bool {
        let g = prog.op.hyperplanes();
        let fits = st.rows.len() == self.blocks.len()
            && st.row_multipliers.len() == self.blocks.len()
            && st
                .rows
                .iter()
                .zip(&st.row_multipliers)
                .all(|(r, l)| r.len() == l.len() && r.iter().all(|&x| (x as usize) < g));
        if !fits {
            return false;
        }
        let h = prog.h();
        let normals = prog.op.normals();
        for (b, br) in self.blocks.iter_mut().enumerate() {
            let (i, _, _) = prog.block_info(b);
            let sides = prog.op.signs(i);
            br.rows = st.rows[b].clone();
            br.lam = st.row_multipliers[b].clone();
            br.w.clear();
            br.work.reset();
            for &r in &br.rows {
                let s = sides.get(r as usize);
                br.w.extend((0..h).map(|c| s * normals[(r as usize, c)]));
            }
        }
        true
    }

    /// The proximal map of `β Σ_b ‖x_b‖ + ι_{K_b}` with `K_b` the working-set cone
    /// `{x : w_rᵀx ≥ 0, r ∈ W_b}`, applied to `v` in place with threshold `thr = step·β`:
    /// `x_b = (1 − thr/‖Π(v_b)‖)_+ Π(v_b)` (for a cone, projecting then shrinking is the prox).
    /// The projection `Π(v) = v + W_bᵀλ` solves the dual `min_{λ≥0} ½‖v + W_bᵀλ‖²` exactly by
    /// an active-set (Lawson–Hanson) method, warm-started from the stored `λ`; `iters` bounds
    /// its passive-set changes.
    pub(crate) fn prox(&mut self, h: usize, v: &mut [f64], thr: f64, iters: usize) {
        self.blocks
            .par_iter_mut()
            .zip(v.par_chunks_mut(h))
            .for_each(|(br, vb)| {
                let nv = vb.iter().map(|a| a * a).sum::<f64>().sqrt();
                if nv <= thr || br.rows.is_empty() {
                    // ‖Π(v)‖ ≤ ‖v‖: the block is zero, or there is nothing to project on.
                    super::fista::shrink(vb, thr);
                    return;
                }
                project_rows(&br.w, h, &mut br.lam, &mut br.work, vb, iters);
                super::fista::shrink(vb, thr);
            });
    }

    /// One check of a working-set solver at `x` (feasible for the working-set cones): a full
    /// scan (new rows; the violation over all rows, relative to the largest block), the
    /// multiplier term `G_bᵀμ_b` with `μ = scale·λ` (`scale`: the inverse step of the last
    /// prox), and the objective and dual bound it certifies. Returns
    /// `(relative violation, multiplier term, objective, relative gap)`.
    pub(crate) fn check(
        &mut self,
        prog: &MultiProgram,
        x: &[f64],
        scale: f64,
    ) -> (f64, Vec<f64>, f64, f64) {
        let h = prog.h();
        let abs_viol = self.scan(prog, x);
        let viol = crate::algebra::relative_violation(abs_viol, x, h);
        let mut mult = self.multiplier_term(h);
        mult.iter_mut().for_each(|m| *m *= scale);
        let (primal, dual) = super::auglag::al_gap(prog, x, &mult);
        (viol, mult, primal, relative_gap(primal, dual))
    }

    /// The exact projection of `x` onto the full cones, by cutting planes over the working sets
    /// (warm multipliers; the rows found so far are usually most of the active ones): project
    /// onto the working-set cones, scan, repeat with the new rows, at most `rounds` times.
    /// Returns the relative violation left (callers still check every row). Rounds after the
    /// first are not started once `stop()` holds (the solver's time limit).
    pub(crate) fn polish(
        &mut self,
        prog: &MultiProgram,
        x: &mut [f64],
        sweeps: usize,
        rounds: usize,
        stop: &dyn Fn() -> bool,
    ) -> f64 {
        let h = prog.h();
        let target = x.to_vec();
        let mut viol = f64::INFINITY;
        for _ in 0..rounds {
            x.copy_from_slice(&target);
            self.prox(h, x, 0.0, sweeps.max(8 * h));
            let abs_viol = self.scan(prog, x);
            viol = crate::algebra::relative_violation(abs_viol, x, h);
            if viol <= 1e-12 || stop() {
                break;
            }
        }
        viol
    }

    /// `G_bᵀλ_b = Σ_r λ_r w_r` for every block (`2PCh` values).
    pub(crate) fn multiplier_term(&self, h: usize) -> Vec<f64> {
        let mut out = vec![0.0; self.blocks.len() * h];
        out.par_chunks_mut(h)
            .zip(self.blocks.par_iter())
            .for_each(|(o, br)| {
                for (w, &l) in br.w.chunks_exact(h).zip(&br.lam) {
                    for (oi, wi) in o.iter_mut().zip(w) {
                        *oi += l * wi;
                    }
                }
            });
        out
    }

    /// One full scan at `x`: rows that `x` violates or nearly reaches join the working sets
    /// (with `λ = 0`; the cap keeps rows by multiplier, then by value). Returns the largest
    /// absolute violation `max_b max_g (−s n_gᵀ x_b)_+` over all rows.
    pub(crate) fn scan(&mut self, prog: &MultiProgram, x: &[f64]) -> f64 {
        let h = prog.h();
        let nonzero: Vec<usize> = x
            .chunks(h)
            .enumerate()
            .filter(|(_, xb)| xb.iter().any(|v| *v != 0.0))
            .map(|(b, _)| b)
            .collect();
        let mut worst: f64 = 0.0;
        // Blocks that are zero: their rows keep their multipliers (updated with G x = 0).
        let mut is_nonzero = vec![false; self.blocks.len()];
        for &b in &nonzero {
            is_nonzero[b] = true;
        }
        self.blocks
            .par_iter_mut()
            .zip(is_nonzero.par_iter())
            .filter(|(_, nz)| !**nz)
            .for_each(|(br, _)| {
                // With x_b = 0 every row has value 0: λ stays, zero-multiplier rows go.
                let keep: Vec<usize> = (0..br.rows.len()).filter(|&r| br.lam[r] > 0.0).collect();
                retain_rows(br, &keep, h);
            });
        let normals = prog.op.normals();
        let (margin, cap) = (self.margin, self.cap);
        let mut xa = Vec::with_capacity(GROUP.min(nonzero.len()) * h);
        for group in nonzero.chunks(GROUP) {
            let na = group.len();
            xa.clear();
            for &b in group {
                xa.extend_from_slice(&x[b * h..(b + 1) * h]);
            }
            let norms: Vec<f64> = xa
                .chunks(h)
                .map(|c| c.iter().map(|v| v * v).sum::<f64>().sqrt())
                .collect();
            let xm = MatRef::from_column_major_slice(&xa, h, na);
            self.chunks.par_iter_mut().for_each(|ch| {
                let rows_max = ROW_BLOCK.min(ch.g1 - ch.g0);
                if ch.q.len() < rows_max * na {
                    ch.q.resize(rows_max * na, 0.0);
                }
                if ch.found.len() < na {
                    ch.found.resize_with(na, Vec::new);
                }
                ch.found.iter_mut().for_each(Vec::clear);
                let mut viol: f64 = 0.0;
                let mut sub = ch.g0;
                while sub < ch.g1 {
                    let rows = ROW_BLOCK.min(ch.g1 - sub);
                    let q = &mut ch.q[..rows * na];
                    normals_times(
                        normals,
                        sub,
                        xm,
                        MatMut::from_column_major_slice_mut(q, rows, na),
                    );
                    for (j, &b) in group.iter().enumerate() {
                        let (i, _, _) = prog.block_info(b);
                        let s = &mut ch.sides[..rows];
                        prog.op.signs(i).fill(sub, s);
                        let lim = margin * norms[j];
                        let found = &mut ch.found[j];
                        for (r, (c, sg)) in
                            q[j * rows..(j + 1) * rows].iter().zip(s.iter()).enumerate()
                        {
                            let v = sg * c;
                            if v < lim {
                                viol = viol.max(-v);
                                found.push(((sub + r) as u32, v));
                                if found.len() >= 4 * cap {
                                    found.select_nth_unstable_by(cap, |a, b| a.1.total_cmp(&b.1));
                                    found.truncate(cap);
                                }
                            }
                        }
                    }
                    sub += rows;
                }
                ch.violation = viol;
            });
            worst = self
                .chunks
                .iter()
                .map(|c| c.violation)
                .fold(worst, f64::max);
            // Merge per block.
            let chunks = &self.chunks;
            let mut grp: Vec<(usize, BlockRows)> = group
                .iter()
                .map(|&b| (b, std::mem::take(&mut self.blocks[b])))
                .collect();
            grp.par_iter_mut().enumerate().for_each(|(j, (b, br))| {
                let xb = &x[*b * h..(*b + 1) * h];
                // Old rows: value from the gathered normals, multiplier update.
                let mut cand: Vec<(u32, f64, f64)> = Vec::with_capacity(br.rows.len());
                for ((&g, w), &l) in br.rows.iter().zip(br.w.chunks_exact(h)).zip(&br.lam) {
                    let v: f64 = w.iter().zip(xb).map(|(a, c)| a * c).sum();
                    let lam = l;
                    // Rows stay once in (dropping them lets the inner solves cycle across
                    // them); the cap trims the least relevant.
                    cand.push((g, v, lam));
                }
                cand.sort_unstable_by_key(|c| c.0);
                let old = cand.len();
                for ch in chunks {
                    for &(g, v) in &ch.found[j] {
                        if cand[..old].binary_search_by_key(&g, |c| c.0).is_err() {
                            cand.push((g, v, 0.0));
                        }
                    }
                }
                keep_best(&mut cand, cap);
                let (i, _, _) = prog.block_info(*b);
                let sides = prog.op.signs(i);
                br.rows.clear();
                br.lam.clear();
                br.w.clear();
                br.work.reset();
                for &(g, _, l) in &cand {
                    br.rows.push(g);
                    br.lam.push(l);
                    let s = sides.get(g as usize);
                    br.w.extend((0..h).map(|c| s * normals[(g as usize, c)]));
                }
            });
            for (b, br) in grp {
                self.blocks[b] = br;
            }
        }
        worst
    }
}

/// Keeps the listed rows (in order) of a block's working set.
fn retain_rows(br: &mut BlockRows, keep: &[usize], h: usize) {
    if keep.len() == br.rows.len() {
        return;
    }
    br.work.reset();
    for (to, &from) in keep.iter().enumerate() {
        br.rows[to] = br.rows[from];
        br.lam[to] = br.lam[from];
        br.w.copy_within(from * h..(from + 1) * h, to * h);
    }
    br.rows.truncate(keep.len());
    br.lam.truncate(keep.len());
    br.w.truncate(keep.len() * h);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::multi::tests::hand_multi;
    use crate::program::tests::ON_OFF;

    /// With empty working sets the prox is the group soft threshold.
    #[test]
    fn empty_working_sets_only_shrink() {
        let prog = hand_multi(&[ON_OFF], &[3.0], 0.5);
        let mut ws = WorkingSets::new(&prog, 0.02, 16);
        let mut v = [3.0, 4.0, 0.3, 0.4];
        ws.prox(2, &mut v, 1.0, 100);
        for (a, b) in v.iter().zip([2.4, 3.2, 0.0, 0.0]) {
            assert!((a - b).abs() < 1e-15, "{v:?}");
        }
    }

    /// Hand example, cone `{u₀ + u₁ ≥ 0, u₁ ≤ 0}`: at `x = ((1, 1), (−1, 0.2))` the scan finds the
    /// worst violation 1 (row `u₁ ≤ 0` at `(1, 1)`); with every row in the working sets the prox
    /// with threshold 0 projects `(1, 1) → (1, 0)` and `(−1, 0.2) → 0` (it lies in the polar
    /// cone), the multiplier term is `Π(v) − v`, and a threshold ½ then shrinks `(1, 0)` to
    /// `(½, 0)`.
    #[test]
    fn scan_and_projection_by_hand() {
        let prog = hand_multi(&[ON_OFF], &[3.0], 0.5);
        let mut ws = WorkingSets::new(&prog, 2.0, 16);
        let x = [1.0, 1.0, -1.0, 0.2];
        let worst = ws.scan(&prog, &x);
        assert!((worst - 1.0).abs() < 1e-15, "{worst}");
        let mut p = x;
        ws.prox(2, &mut p, 0.0, 100);
        let want = [1.0, 0.0, 0.0, 0.0];
        for (a, b) in p.iter().zip(want) {
            assert!((a - b).abs() < 1e-14, "{p:?}");
        }
        let m = ws.multiplier_term(2);
        for ((mi, pi), xi) in m.iter().zip(&p).zip(&x) {
            assert!((mi - (pi - xi)).abs() < 1e-14, "{m:?}");
        }
        let mut q = x;
        ws.prox(2, &mut q, 0.5, 100);
        for (a, b) in q.iter().zip([0.5, 0.0, 0.0, 0.0]) {
            assert!((a - b).abs() < 1e-14, "{q:?}");
        }
        // A feasible point: no violation.
        assert_eq!(ws.scan(&prog, &[2.0, -1.0, 0.0, 0.0]), 0.0);
    }
}
