//! Euclidean projection onto a polyhedral cone `{x : w_rᵀx ≥ 0}` given by a few unit rows in
//! a small dimension `h`, through the dual non-negative least-squares problem
//!
//! ```text
//! Π(v) = v + Wᵀλ,   λ = argmin_{λ ≥ 0} ½‖v + Wᵀλ‖²     (Moreau: K° = {−Wᵀλ : λ ≥ 0})
//! ```
//!
//! solved exactly by the Lawson–Hanson active-set method: least squares on a passive set of at
//! most `h` rows (Cholesky of its small Gram matrix, kept while the passive set is unchanged),
//! stepping back to keep `λ ≥ 0`, and adding the row with the most negative dual gradient
//! `w_rᵀΠ` until none is negative. Warm starts from the previous `λ` make repeated projections
//! of nearby points (proximal steps, cutting-plane rounds) cost one or two passes over the rows.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

/// Reusable buffers of [`project_rows`] (no allocation once grown).
#[derive(Debug, Clone, Default)]
pub struct NnlsWork {
    passive: Vec<usize>,
    gram: Vec<f64>,
    rhs: Vec<f64>,
    mu: Vec<f64>,
    v0: Vec<f64>,
    /// The passive set whose Cholesky factor `gram` holds.
    factored: Vec<usize>,
    /// Dual gradients `w_rᵀz` of all rows.
    grad: Vec<f64>,
}

impl NnlsWork {
    /// Forgets the cached factor (call when the rows change).
    pub fn reset(&mut self) {
        self.factored.clear();
    }
}

/// Overwrites `v` with its projection onto `{x : w_rᵀx ≥ 0}` (`w` is `m × h` row-major with unit
/// rows; `lam` holds the `m` multipliers, used as the warm start and updated). `iters` bounds
/// the passive-set changes. Returns `true` when the KKT conditions hold (to `1e-12‖v‖`), `false`
/// when the iteration bound or a numerically dependent passive set stopped it early.
pub fn project_rows(
    w: &[f64],
    h: usize,
    lam: &mut [f64],
    work: &mut NnlsWork,
    v: &mut [f64],
    iters: usize,
) -> bool {
    let nv = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    if nv == 0.0 {
        lam.iter_mut().for_each(|l| *l = 0.0);
        return true;
    }
    let m = lam.len();
    debug_assert_eq!(w.len(), m * h);
    let mut v0 = std::mem::take(&mut work.v0);
    v0.clear();
    v0.extend_from_slice(v);
    let tol = 1e-12 * nv;
    work.passive.clear();
    let positive = lam.iter().filter(|&&l| l > 0.0).count();
    if work.factored.len() == positive && work.factored.iter().all(|&r| lam[r] > 0.0) {
        // Same passive set as the last factorization: keep its order to reuse the factor.
        work.passive.extend_from_slice(&work.factored);
    } else {
        work.passive.extend((0..m).filter(|&r| lam[r] > 0.0));
    }
    if work.passive.len() > h {
        // A warm start with more positive multipliers than the dimension (a degenerate KKT
        // point of another solver) cannot be a passive set here: start cold.
        work.passive.clear();
        lam.iter_mut().for_each(|l| *l = 0.0);
    }
    let z = v;
    let mut changes = 0;
    let mut optimal = false;
    loop {
        // Least squares on the passive set, stepping back to keep λ ≥ 0.
        loop {
            let p = work.passive.len();
            if p == 0 {
                break;
            }
            // Gram B_PᵀB_P (factored once per passive set) and right-hand side −B_Pᵀv.
            work.rhs.resize(p, 0.0);
            work.mu.resize(p, 0.0);
            for a in 0..p {
                let wa = &w[work.passive[a] * h..(work.passive[a] + 1) * h];
                work.rhs[a] = -dot(wa, &v0);
            }
            if work.factored != work.passive {
                // The factor of the common prefix stays (rows are appended, and removals keep
                // the order); only the rows after it are computed. The factor is packed by rows.
                let keep = work
                    .passive
                    .iter()
                    .zip(&work.factored)
                    .take_while(|(a, b)| a == b)
                    .count();
                work.gram.resize(tri(p), 0.0);
                work.factored.truncate(keep);
                let mut ok = true;
                for k in keep..p {
                    if !append_row(&mut work.gram, h, w, &work.passive, k) {
                        ok = false;
                        break;
                    }
                    work.factored.push(work.passive[k]);
                }
                if !ok {
                    // Dependent rows: drop the newest and stop growing.
                    let last = work.passive.pop().unwrap_or(0);
                    lam[last] = 0.0;
                    work.factored.clear();
                    continue;
                }
            }
            cholesky_solve(&work.gram, p, &work.rhs, &mut work.mu);
            if work.mu.iter().all(|&u| u > 0.0) {
                for (k, &r) in work.passive.iter().enumerate() {
                    lam[r] = work.mu[k];
                }
                break;
            }
            // Step from λ_P towards μ until the first multiplier hits zero.
            let mut alpha: f64 = 1.0;
            for (k, &r) in work.passive.iter().enumerate() {
                let (l, u) = (lam[r], work.mu[k]);
                if u <= 0.0 {
                    alpha = alpha.min(l / (l - u));
                }
            }
            for (k, &r) in work.passive.iter().enumerate() {
                let l = lam[r];
                lam[r] = (l + alpha * (work.mu[k] - l)).max(0.0);
            }
            // Rows whose multiplier reached zero leave the passive set; the factor follows by
            // deletion (a rank-one update of the trailing block) when it is current.
            let current = work.factored == work.passive;
            let mut pos = work.passive.len();
            while pos > 0 {
                pos -= 1;
                let r = work.passive[pos];
                if lam[r] <= 1e-14 * nv {
                    lam[r] = 0.0;
                    if current {
                        delete_row(&mut work.gram, work.passive.len(), pos, &mut work.mu);
                        work.factored.remove(pos);
                    }
                    work.passive.remove(pos);
                }
            }
            changes += 1;
            if changes > iters {
                break;
            }
        }
        // z = v + Σ λ_r w_r, and the most negative dual gradient w_rᵀz outside P.
        z.copy_from_slice(&v0);
        for &r in &work.passive {
            let l = lam[r];
            for (zi, wi) in z.iter_mut().zip(&w[r * h..(r + 1) * h]) {
                *zi += l * wi;
            }
        }
        if changes > iters {
            break;
        }
        // Dual gradients of all rows: this scan is much of the method's time, so it is faer's
        // matrix-vector product (SIMD kernels chosen at run time; plain loops here compile for
        // the baseline instruction set).
        work.grad.resize(m, 0.0);
        matmul(
            MatMut::from_column_major_slice_mut(&mut work.grad, m, 1),
            Accum::Replace,
            MatRef::from_row_major_slice(w, m, h),
            MatRef::from_column_major_slice(z, h, 1),
            1.0,
            Par::Seq,
        );
        let mut best = (usize::MAX, -tol);
        for (r, &g) in work.grad.iter().enumerate() {
            if lam[r] > 0.0 {
                continue;
            }
            if g < best.1 {
                best = (r, g);
            }
        }
        if best.0 == usize::MAX {
            optimal = true;
            break;
        }
        if work.passive.len() >= h {
            // h independent passive rows with positive multipliers: z = v + W_Pᵀλ_P is zero
            // in exact arithmetic, and zero satisfies every KKT condition (the remaining
            // negative gradients are rounding).
            if work.passive.iter().all(|&r| lam[r] > 0.0) {
                z.iter_mut().for_each(|a| *a = 0.0);
                optimal = true;
            }
            break;
        }
        work.passive.push(best.0);
        lam[best.0] = 0.0;
        changes += 1;
    }
    work.v0 = v0;
    optimal
}

/// Appends row `k` of the Cholesky factor of the Gram matrix of rows `passive[..=k]` of `w`
/// (packed rows, `0..k` already in place). `false` when the new row is
/// numerically dependent on the others.
fn append_row(l: &mut [f64], h: usize, w: &[f64], passive: &[usize], k: usize) -> bool {
    let wk = &w[passive[k] * h..(passive[k] + 1) * h];
    let dkk: f64 = wk.iter().map(|x| x * x).sum();
    for b in 0..k {
        let wb = &w[passive[b] * h..(passive[b] + 1) * h];
        let (rk, rb) = (tri(k), tri(b));
        let s = dot(wk, wb) - dot(&l[rk..rk + b], &l[rb..rb + b]);
        l[rk + b] = s / l[rb + b];
    }
    let rk = tri(k);
    let d = dkk - dot(&l[rk..rk + k], &l[rk..rk + k]);
    if d <= 1e-12 * dkk.max(1e-300) {
        return false;
    }
    l[rk + k] = d.sqrt();
    true
}

/// Removes row and column `j` from the `p × p` Cholesky factor `L` (packed rows): the
/// trailing block takes the rank-one update `L₃₃L₃₃ᵀ + l₃₂l₃₂ᵀ`, then rows and columns shift.
/// `x` is scratch of length at least `p`.
fn delete_row(l: &mut [f64], p: usize, j: usize, x: &mut [f64]) {
    let q = p - j - 1;
    for i in 0..q {
        x[i] = l[tri(j + 1 + i) + j];
    }
    for k in 0..q {
        let kk = tri(j + 1 + k) + (j + 1 + k);
        let lkk = l[kk];
        let r = (lkk * lkk + x[k] * x[k]).sqrt();
        let c = r / lkk;
        let s = x[k] / lkk;
        l[kk] = r;
        for (i, xi) in x.iter_mut().enumerate().take(q).skip(k + 1) {
            let ik = tri(j + 1 + i) + (j + 1 + k);
            l[ik] = (l[ik] + s * *xi) / c;
            *xi = c * *xi - s * l[ik];
        }
    }
    for i in j + 1..p {
        for k in 0..=i {
            if k == j {
                continue;
            }
            let to = tri(i - 1) + if k > j { k - 1 } else { k };
            l[to] = l[tri(i) + k];
        }
    }
}

/// Solves `L Lᵀ μ = rhs` for the `p × p` factor `L` (packed rows) from [`append_row`].
fn cholesky_solve(l: &[f64], p: usize, rhs: &[f64], mu: &mut [f64]) {
    for i in 0..p {
        let ri = tri(i);
        let s = rhs[i] - dot(&l[ri..ri + i], &mu[..i]);
        mu[i] = s / l[ri + i];
    }
    // Lᵀ μ = y by columns of Lᵀ (rows of L, contiguous): once μ_i is known, its multiples
    // leave the entries above it.
    for i in (0..p).rev() {
        let ri = tri(i);
        let mi = mu[i] / l[ri + i];
        mu[i] = mi;
        for (m, lv) in mu[..i].iter_mut().zip(&l[ri..ri + i]) {
            *m -= lv * mi;
        }
    }
}

/// Start of row `k` of a packed lower-triangular factor (row `k` holds `k + 1` values): the
/// factor of `p` rows takes `p(p+1)/2` values, whatever the filter length (rows of stride `h`
/// took `h²` per block, 4.7 MB at `h` = 769).
fn tri(k: usize) -> usize {
    k * (k + 1) / 2
}

/// `aᵀb` with four independent partial sums (vectorizes; a single running sum is bound by the
/// latency of one addition per element).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = (acc[0] + acc[2]) + (acc[1] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
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
            let mut w_rows = Vec::new();
            let mut lam = Vec::new();
            let mut work = NnlsWork::default();
            for r in 0..m {
                let mut w: Vec<f64> = (0..h).map(|_| rng.random::<f64>() - 0.5).collect();
                // Some rows lean the same way, so that the cone is narrow and degenerate.
                w[0] += 0.8;
                let n = w.iter().map(|a| a * a).sum::<f64>().sqrt();
                w_rows.extend(w.iter().map(|a| a / n));
                lam.push(0.0);
                let _ = r;
            }
            for warm in 0..3 {
                let v: Vec<f64> = (0..h).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
                let mut p = v.clone();
                assert!(project_rows(&w_rows, h, &mut lam, &mut work, &mut p, 1000));
                let mut recon = v.clone();
                for (w, &l) in w_rows.chunks_exact(h).zip(&lam) {
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

    /// Projection onto `{x : Wx ≥ 0}` by brute force: the projection lies in the relative
    /// interior of a face, so it is the projection of `v` onto the null space of some
    /// independent set of at most `h` rows; the nearest feasible such point is the answer.
    fn brute_force(w: &[f64], h: usize, v: &[f64]) -> Vec<f64> {
        let m = w.len() / h;
        let row = |r: usize| &w[r * h..(r + 1) * h];
        let dotv = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let mut best: Option<(f64, Vec<f64>)> = None;
        for mask in 0u32..(1 << m) {
            if mask.count_ones() as usize > h {
                continue;
            }
            // Orthonormal basis of the chosen rows (Gram–Schmidt), skipping dependent sets.
            let mut q: Vec<Vec<f64>> = Vec::new();
            let mut independent = true;
            for r in (0..m).filter(|r| mask >> r & 1 == 1) {
                let mut b = row(r).to_vec();
                for e in &q {
                    let c = dotv(&b, e);
                    b.iter_mut().zip(e).for_each(|(x, y)| *x -= c * y);
                }
                let nb = dotv(&b, &b).sqrt();
                if nb < 1e-9 {
                    independent = false;
                    break;
                }
                q.push(b.iter().map(|x| x / nb).collect());
            }
            if !independent {
                continue;
            }
            let mut x = v.to_vec();
            for e in &q {
                let c = dotv(v, e);
                x.iter_mut().zip(e).for_each(|(xi, ei)| *xi -= c * ei);
            }
            if (0..m).any(|r| dotv(row(r), &x) < -1e-12) {
                continue;
            }
            let d: f64 = x.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum();
            if best.as_ref().is_none_or(|(bd, _)| d < *bd) {
                best = Some((d, x));
            }
        }
        best.unwrap().1
    }

    /// Against brute force over active sets on random cones (2 to 4 dimensions, up to 8 rows),
    /// cold and warm-started.
    #[test]
    fn matches_brute_force_over_active_sets() {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(11);
        for trial in 0..120 {
            let h = 2 + trial % 3;
            let m = 3 + trial % 6;
            let mut w = Vec::new();
            for _ in 0..m {
                let r: Vec<f64> = (0..h).map(|_| rng.random::<f64>() - 0.5).collect();
                let n = r.iter().map(|a| a * a).sum::<f64>().sqrt();
                w.extend(r.iter().map(|a| a / n));
            }
            let mut lam = vec![0.0; m];
            let mut work = NnlsWork::default();
            for warm in 0..3 {
                let v: Vec<f64> = (0..h).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
                let mut p = v.clone();
                assert!(project_rows(&w, h, &mut lam, &mut work, &mut p, 1000));
                let want = brute_force(&w, h, &v);
                for (a, b) in p.iter().zip(&want) {
                    assert!(
                        (a - b).abs() < 1e-9,
                        "trial {trial}/{warm}: {p:?} vs {want:?}"
                    );
                }
            }
        }
    }

    /// `v = 0` projects to 0 with zero multipliers, whatever the warm start.
    #[test]
    fn zero_vector_projects_to_zero() {
        let w = [1.0, 0.0, 0.0, 1.0];
        let mut lam = vec![0.5, 2.0];
        let mut v = [0.0, 0.0];
        assert!(project_rows(
            &w,
            2,
            &mut lam,
            &mut NnlsWork::default(),
            &mut v,
            10
        ));
        assert_eq!((v, lam), ([0.0, 0.0], vec![0.0, 0.0]));
    }
}
