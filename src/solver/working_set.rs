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

use crate::multi::MultiProgram;
use crate::operator::{normals_times, row_chunks};
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
    /// Projection scratch: passive set, Gram factor, right-hand side, trial multipliers.
    passive: Vec<usize>,
    gram: Vec<f64>,
    rhs: Vec<f64>,
    mu: Vec<f64>,
    v0: Vec<f64>,
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
                project_block(br, h, vb, nv, iters);
                super::fista::shrink(vb, thr);
            });
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
    for (to, &from) in keep.iter().enumerate() {
        br.rows[to] = br.rows[from];
        br.lam[to] = br.lam[from];
        br.w.copy_within(from * h..(from + 1) * h, to * h);
    }
    br.rows.truncate(keep.len());
    br.lam.truncate(keep.len());
    br.w.truncate(keep.len() * h);
}

/// `v ← Π(v) = v + Wᵀλ` with `λ = argmin_{λ≥0} ½‖v + Wᵀλ‖²` (Lawson–Hanson active set on the
/// block's working rows, warm-started from `br.lam`).
fn project_block(br: &mut BlockRows, h: usize, v: &mut [f64], nv: f64, iters: usize) {
    let m = br.rows.len();
    let mut v0 = std::mem::take(&mut br.v0);
    v0.clear();
    v0.extend_from_slice(v);
    let tol = 1e-12 * nv;
    br.passive.clear();
    br.passive.extend((0..m).filter(|&r| br.lam[r] > 0.0));
    let z = v;
    let mut changes = 0;
    loop {
        // Least squares on the passive set, stepping back to keep λ ≥ 0.
        loop {
            let p = br.passive.len();
            if p == 0 {
                break;
            }
            // Gram B_PᵀB_P and right-hand side −B_Pᵀv.
            br.gram.resize(p * p, 0.0);
            br.rhs.resize(p, 0.0);
            br.mu.resize(p, 0.0);
            for a in 0..p {
                let wa = &br.w[br.passive[a] * h..(br.passive[a] + 1) * h];
                for b in 0..=a {
                    let wb = &br.w[br.passive[b] * h..(br.passive[b] + 1) * h];
                    let d: f64 = wa.iter().zip(wb).map(|(x, y)| x * y).sum();
                    br.gram[a * p + b] = d;
                }
                br.rhs[a] = -wa.iter().zip(&v0).map(|(x, y)| x * y).sum::<f64>();
            }
            if !cholesky_solve(&mut br.gram, p, &br.rhs, &mut br.mu) {
                // Dependent rows: drop the newest and stop growing.
                let last = br.passive.pop().unwrap_or(0);
                br.lam[last] = 0.0;
                continue;
            }
            if br.mu.iter().all(|&u| u > 0.0) {
                for (k, &r) in br.passive.iter().enumerate() {
                    br.lam[r] = br.mu[k];
                }
                break;
            }
            // Step from λ_P towards μ until the first multiplier hits zero.
            let mut alpha: f64 = 1.0;
            for (k, &r) in br.passive.iter().enumerate() {
                let (l, u) = (br.lam[r], br.mu[k]);
                if u <= 0.0 {
                    alpha = alpha.min(l / (l - u));
                }
            }
            for (k, &r) in br.passive.iter().enumerate() {
                let l = br.lam[r];
                br.lam[r] = (l + alpha * (br.mu[k] - l)).max(0.0);
            }
            let lam = &mut br.lam;
            br.passive.retain(|&r| {
                if lam[r] <= 1e-14 * nv {
                    lam[r] = 0.0;
                    false
                } else {
                    true
                }
            });
            changes += 1;
            if changes > iters {
                break;
            }
        }
        // z = v + Σ λ_r w_r, and the most negative dual gradient w_rᵀz outside P.
        z.copy_from_slice(&v0);
        for &r in &br.passive {
            let l = br.lam[r];
            for (zi, wi) in z.iter_mut().zip(&br.w[r * h..(r + 1) * h]) {
                *zi += l * wi;
            }
        }
        if changes > iters {
            break;
        }
        let mut best = (usize::MAX, -tol);
        for r in 0..m {
            if br.lam[r] > 0.0 {
                continue;
            }
            let g: f64 = br.w[r * h..(r + 1) * h]
                .iter()
                .zip(z.iter())
                .map(|(a, b)| a * b)
                .sum();
            if g < best.1 {
                best = (r, g);
            }
        }
        if best.0 == usize::MAX || br.passive.len() >= h {
            break;
        }
        br.passive.push(best.0);
        br.lam[best.0] = 0.0;
        changes += 1;
    }
    br.v0 = v0;
}

/// Solves `G μ = rhs` for a symmetric positive definite `p × p` `G` (lower triangle, row-major,
/// overwritten by its Cholesky factor). `false` when `G` is not numerically positive definite.
fn cholesky_solve(g: &mut [f64], p: usize, rhs: &[f64], mu: &mut [f64]) -> bool {
    let scale = (0..p).map(|i| g[i * p + i]).fold(0.0, f64::max).max(1e-300);
    for j in 0..p {
        let mut d = g[j * p + j];
        for k in 0..j {
            d -= g[j * p + k] * g[j * p + k];
        }
        if d <= 1e-12 * scale {
            return false;
        }
        let d = d.sqrt();
        g[j * p + j] = d;
        for i in j + 1..p {
            let mut s = g[i * p + j];
            for k in 0..j {
                s -= g[i * p + k] * g[j * p + k];
            }
            g[i * p + j] = s / d;
        }
    }
    for i in 0..p {
        let mut s = rhs[i];
        for k in 0..i {
            s -= g[i * p + k] * mu[k];
        }
        mu[i] = s / g[i * p + i];
    }
    for i in (0..p).rev() {
        let mut s = mu[i];
        for k in i + 1..p {
            s -= g[k * p + i] * mu[k];
        }
        mu[i] = s / g[i * p + i];
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// The active-set projection satisfies the KKT conditions of `min ½‖p − v‖², W p ≥ 0`:
    /// `p = v + Wᵀλ`, `λ ≥ 0`, `W p ≥ 0`, `λ_r w_rᵀp = 0` — which certify the projection.
    #[test]
    fn projection_meets_its_kkt_conditions() {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(7);
        for trial in 0..50 {
            let h = 2 + trial % 6;
            let m = 5 + trial % 40;
            let mut br = BlockRows::default();
            for r in 0..m {
                let mut w: Vec<f64> = (0..h).map(|_| rng.random::<f64>() - 0.5).collect();
                // Some rows lean the same way, so that the cone is narrow and degenerate.
                w[0] += 0.8;
                let n = w.iter().map(|a| a * a).sum::<f64>().sqrt();
                br.w.extend(w.iter().map(|a| a / n));
                br.rows.push(r as u32);
                br.lam.push(0.0);
            }
            for warm in 0..3 {
                let v: Vec<f64> = (0..h).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
                let nv = v.iter().map(|a| a * a).sum::<f64>().sqrt();
                let mut p = v.clone();
                project_block(&mut br, h, &mut p, nv, 1000);
                let mut recon = v.clone();
                for (w, &l) in br.w.chunks_exact(h).zip(&br.lam) {
                    assert!(l >= 0.0);
                    let wp: f64 = w.iter().zip(&p).map(|(a, b)| a * b).sum();
                    assert!(wp >= -1e-10, "trial {trial}/{warm}: row value {wp}");
                    assert!(l * wp.abs() <= 1e-10, "complementarity {l} · {wp}");
                    for (ri, wi) in recon.iter_mut().zip(w) {
                        *ri += l * wi;
                    }
                }
                for (a, b) in recon.iter().zip(&p) {
                    assert!((a - b).abs() <= 1e-10, "p ≠ v + Wᵀλ: {a} vs {b}");
                }
            }
        }
    }
}
