//! Exact enumeration of the regions of the (deduplicated) hyperplane arrangement.
//!
//! Works in the `r`-dimensional row space of `M` and adds hyperplanes one at a time. When
//! hyperplane `H_j` is added, the regions it splits are exactly the regions of the arrangement
//! restricted to `H_j` (the intersections `H_l ∩ H_j`, `l < j`, an arrangement in dimension
//! `r − 1`), which are found by the same procedure recursively. Each region carries an interior
//! point; a split region's two halves get `p ± ε·n_j` with `ε` below the distance to every other
//! hyperplane. Hyperplanes that coincide at any level (repeated, scaled or zero patches, and the
//! coincidences of degenerate real data) are merged at that level, so degenerate arrangements are
//! handled exactly, not only those in general position.

use super::count::{general_position_count, rank_of};
use super::hyperplanes::Hyperplanes;
use super::set::PatternSet;
use crate::error::{Error, Result};
use crate::patches::Patches;
use std::collections::HashSet;

/// Two unit normals closer than this (up to sign) are one hyperplane.
const PARALLEL: f64 = 1e-9;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Unit, non-zero, pairwise non-parallel normals from `normals`.
fn distinct_unit(normals: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = Vec::new();
    for v in normals {
        let nv = dot(v, v).sqrt();
        if nv < PARALLEL {
            continue;
        }
        let u: Vec<f64> = v.iter().map(|x| x / nv).collect();
        // Compare ‖u − w‖ and ‖u + w‖ directly: through 1 − |uᵀw| a rounding error of 1e-16
        // would become a distance of 1e-8 and keep coincident hyperplanes apart.
        let dup = out.iter().any(|w| {
            let (mut dm, mut dp) = (0.0, 0.0);
            for (a, b) in u.iter().zip(w) {
                dm += (a - b) * (a - b);
                dp += (a + b) * (a + b);
            }
            dm.min(dp).sqrt() < PARALLEL
        });
        if !dup {
            out.push(u);
        }
    }
    out
}

/// An orthonormal basis of `a^⊥` (`a` a unit vector of length `dim ≥ 1`): the columns of the
/// Householder reflection that maps `e_m` to `∓a`, except column `m`.
fn complement_basis(a: &[f64]) -> Vec<Vec<f64>> {
    let dim = a.len();
    let m = (0..dim)
        .max_by(|&i, &j| a[i].abs().total_cmp(&a[j].abs()))
        .unwrap_or(0);
    let s = if a[m] >= 0.0 { 1.0 } else { -1.0 };
    let mut v = a.to_vec();
    v[m] += s;
    let vv = dot(&v, &v);
    (0..dim)
        .filter(|&i| i != m)
        .map(|i| {
            let f = 2.0 * v[i] / vv;
            let mut col: Vec<f64> = v.iter().map(|x| -f * x).collect();
            col[i] += 1.0;
            col
        })
        .collect()
}

/// Interior points (unit vectors) of all regions of the central arrangement with the given
/// normals in `R^dim`.
fn regions(
    normals: &[Vec<f64>],
    dim: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Vec<Vec<f64>> {
    if dim == 0 {
        return vec![Vec::new()];
    }
    let hs = distinct_unit(normals);
    let nh = hs.len();
    let words = nh.div_ceil(64).max(1);
    let mut pts: Vec<Vec<f64>> = vec![vec![0.0; dim]];
    let mut keys: Vec<Vec<u64>> = vec![vec![0; words]];
    for j in 0..nh {
        let a = &hs[j];
        let q = complement_basis(a);
        let restricted: Vec<Vec<f64>> = hs[..j]
            .iter()
            .map(|b| q.iter().map(|qc| dot(qc, b)).collect())
            .collect();
        let sub = regions(&restricted, dim - 1, &mut |_, _| {});
        let mut split: HashSet<Vec<u64>> = HashSet::with_capacity(sub.len());
        let mut new_pts = Vec::with_capacity(2 * sub.len());
        let mut new_keys = Vec::with_capacity(2 * sub.len());
        for s in &sub {
            let mut p = vec![0.0; dim];
            for (c, qc) in s.iter().zip(&q) {
                for (pi, qi) in p.iter_mut().zip(qc) {
                    *pi += c * qi;
                }
            }
            let mut key = vec![0u64; words];
            let mut eps: f64 = 1.0;
            for (l, hl) in hs[..j].iter().enumerate() {
                let d = dot(hl, &p);
                if d > 0.0 {
                    key[l / 64] |= 1 << (l % 64);
                }
                let c = dot(hl, a).abs();
                if c > 0.0 {
                    eps = eps.min(0.5 * d.abs() / c);
                }
            }
            for side in [1.0, -1.0] {
                let mut pp: Vec<f64> = p
                    .iter()
                    .zip(a)
                    .map(|(pi, ai)| pi + side * eps * ai)
                    .collect();
                let np = dot(&pp, &pp).sqrt();
                pp.iter_mut().for_each(|x| *x /= np);
                let mut k = key.clone();
                if side > 0.0 {
                    k[j / 64] |= 1 << (j % 64);
                }
                new_pts.push(pp);
                new_keys.push(k);
            }
            split.insert(key);
        }
        let mut kept_pts = Vec::with_capacity(pts.len() + new_pts.len());
        let mut kept_keys = Vec::with_capacity(pts.len() + new_pts.len());
        for (p, mut k) in pts.into_iter().zip(keys) {
            if split.contains(&k) {
                continue;
            }
            if dot(a, &p) > 0.0 {
                k[j / 64] |= 1 << (j % 64);
            }
            kept_pts.push(p);
            kept_keys.push(k);
        }
        kept_pts.extend(new_pts);
        kept_keys.extend(new_keys);
        pts = kept_pts;
        keys = kept_keys;
        progress(j + 1, nh);
    }
    pts
}

/// All sign patterns of the patch matrix (every region of its hyperplane arrangement), exactly.
///
/// Refuses with an error when the general-position bound exceeds `max_patterns`, so that a
/// mistaken exact request on real-size data fails fast instead of running for hours.
/// `progress(done, total)` is called after each hyperplane.
pub fn enumerate_exact(
    p: &Patches,
    hp: &Hyperplanes,
    max_patterns: u128,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<PatternSet> {
    let (r, basis) = rank_of(p);
    let bound = general_position_count(hp.len(), r);
    if bound > max_patterns {
        return Err(Error::param(
            "patterns",
            format!(
                "exact enumeration could give up to {bound} patterns ({} distinct hyperplanes in rank {r}), above the limit {max_patterns}; sample the patterns instead (sample:N)",
                hp.len()
            ),
        ));
    }
    let h = p.h;
    let mut set = PatternSet::new(hp.len());
    if hp.is_empty() || r == 0 {
        // All patches are zero: one region, everything on the non-negative side.
        let w = vec![0u64; set.words()];
        set.insert(&w);
        return Ok(set);
    }
    // Normals in row-space coordinates: b_g = Vᵀ n_g.
    let projected: Vec<Vec<f64>> = (0..hp.len())
        .map(|g| {
            let n = hp.normal(g);
            (0..r).map(|c| dot(&basis[c * h..(c + 1) * h], n)).collect()
        })
        .collect();
    let pts = regions(&projected, r, progress);
    let mut bits = vec![0u64; set.words()];
    let mut u = vec![0.0; h];
    for pt in &pts {
        u.iter_mut().for_each(|x| *x = 0.0);
        for (c, &pc) in pt.iter().enumerate() {
            for (ui, bi) in u.iter_mut().zip(&basis[c * h..(c + 1) * h]) {
                *ui += pc * bi;
            }
        }
        hp.signs_of(&u, &mut bits);
        set.insert(&bits);
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complement_basis_is_orthonormal_and_orthogonal() {
        let a = [0.6, -0.8, 0.0];
        let q = complement_basis(&a);
        assert_eq!(q.len(), 2);
        for (i, qi) in q.iter().enumerate() {
            assert!(dot(qi, &a).abs() < 1e-14);
            for (j, qj) in q.iter().enumerate() {
                let e = if i == j { 1.0 } else { 0.0 };
                assert!((dot(qi, qj) - e).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn lines_through_origin_in_the_plane() {
        // N distinct lines through the origin cut R^2 into 2N sectors.
        let normals: Vec<Vec<f64>> = (0..5)
            .map(|i| {
                let t = 0.3 + i as f64;
                vec![t.cos(), t.sin()]
            })
            .collect();
        assert_eq!(regions(&normals, 2, &mut |_, _| {}).len(), 10);
        // Repeating and scaling lines changes nothing.
        let mut more = normals.clone();
        more.push(normals[0].iter().map(|x| -3.0 * x).collect());
        assert_eq!(regions(&more, 2, &mut |_, _| {}).len(), 10);
    }

    #[test]
    fn rounding_level_duplicates_are_merged() {
        let a = vec![0.3608381125574477, -0.9326284664999126];
        let b = vec![0.3608381125574444, -0.9326284664999138];
        assert_eq!(distinct_unit(&[a.clone(), b]).len(), 1);
        let c: Vec<f64> = a.iter().map(|x| -2.0 * x).collect();
        assert_eq!(distinct_unit(&[a, c]).len(), 1);
    }

    #[test]
    fn degenerate_planes_through_a_common_line() {
        // Three planes in R^3 through the z axis: 6 regions, not the 8 of general position.
        let normals = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![1.0, 1.0, 0.0],
        ];
        assert_eq!(regions(&normals, 3, &mut |_, _| {}).len(), 6);
    }
}
