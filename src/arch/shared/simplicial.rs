//! Simplicial cones covering the regions of a hyperplane arrangement (MATH-DEEP.md section 3,
//! the weight-decay SDP): every region `{u : σ_g n_gᵀu ≥ 0}` of a full-rank arrangement in `R^h`
//! is a pointed polyhedral cone. Its extreme rays are the lines where `h − 1` independent
//! hyperplanes meet that lie in the region; a *pulling* triangulation (cone the apex ray over a
//! triangulation of every facet that misses it, recursively) splits it into simplicial cones
//! `B R^h_+` with `B` invertible. For `h = 2` a region is one arc, for `h = 3` this is the fan
//! triangulation of its polygon of rays.

use crate::error::{Error, Result};
use crate::patterns::{Hyperplanes, PatternSet};
use crate::program::dot;

/// A value `|n_gᵀd|` at most this counts as the ray `d` lying on hyperplane `g`.
const ON_PLANE: f64 = 1e-10;
/// Unit rays are keyed on this grid when merging duplicates.
const GRID: f64 = 1e8;

/// The simplicial cones of one region.
#[derive(Debug, Clone)]
pub struct RegionCones {
    /// Index of the region in the pattern set it came from.
    pub region: usize,
    /// Ray matrices `B` (`h × h` row-major, rays as unit columns), one per simplicial cone.
    pub cones: Vec<Vec<f64>>,
}

/// Candidate rays of the arrangement with their position against every hyperplane.
struct Rays {
    h: usize,
    /// Unit rays, `R × h` row-major.
    dirs: Vec<f64>,
    /// Per ray, bit `g` set when `n_gᵀd > 0`.
    pos: Vec<Vec<u64>>,
    /// Per ray, bit `g` set when the ray lies on hyperplane `g`.
    on: Vec<Vec<u64>>,
}

impl Rays {
    fn dir(&self, r: usize) -> &[f64] {
        &self.dirs[r * self.h..(r + 1) * self.h]
    }
}

fn bit(words: &[u64], g: usize) -> bool {
    words[g / 64] >> (g % 64) & 1 == 1
}

/// Every `k`-subset of `0..g` (lexicographic), passed to `f`.
fn subsets(g: usize, k: usize, f: &mut dyn FnMut(&[usize])) {
    if k > g {
        return;
    }
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        f(&idx);
        // Advance the rightmost index that can still move.
        let mut i = k;
        while i > 0 && idx[i - 1] == g - k + i - 1 {
            i -= 1;
        }
        if i == 0 {
            return;
        }
        idx[i - 1] += 1;
        for j in i..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// Binomial coefficient, saturating.
fn choose(n: usize, k: usize) -> u128 {
    (0..k).fold(1u128, |acc, i| {
        acc.saturating_mul((n - i) as u128) / (i as u128 + 1)
    })
}

fn candidate_rays(hp: &Hyperplanes, max_rays: u128) -> Result<Rays> {
    let (h, ng) = (hp.h, hp.len());
    let words = ng.div_ceil(64).max(1);
    let count = if h == 1 { 1 } else { choose(ng, h - 1) };
    if count > max_rays {
        return Err(Error::param(
            "kernel",
            format!(
                "triangulating the pattern regions needs {count} hyperplane intersections ({ng} hyperplanes, filter size {h}), above the limit {max_rays}"
            ),
        ));
    }
    let mut dirs: Vec<f64> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut push = |d: &[f64], dirs: &mut Vec<f64>| {
        let key: Vec<i64> = d.iter().map(|v| (v * GRID).round() as i64).collect();
        if seen.insert(key) {
            dirs.extend_from_slice(d);
        }
    };
    if h == 1 {
        push(&[1.0], &mut dirs);
        push(&[-1.0], &mut dirs);
    } else {
        let mut failure = None;
        subsets(ng, h - 1, &mut |sub| {
            if failure.is_some() {
                return;
            }
            let m =
                faer::Mat::<f64>::from_fn(
                    h,
                    h,
                    |i, j| {
                        if i < h - 1 {
                            hp.normal(sub[i])[j]
                        } else {
                            0.0
                        }
                    },
                );
            let svd = match m.svd() {
                Ok(s) => s,
                Err(e) => {
                    failure = Some(format!("{e:?}"));
                    return;
                }
            };
            let s = svd.S().column_vector();
            if s[h - 2] <= 1e-9 * s[0] {
                return;
            }
            let v = svd.V();
            let d: Vec<f64> = (0..h).map(|i| v[(i, h - 1)]).collect();
            let nd = dot(&d, &d).sqrt();
            let d: Vec<f64> = d.iter().map(|x| x / nd).collect();
            push(&d, &mut dirs);
            let neg: Vec<f64> = d.iter().map(|x| -x).collect();
            push(&neg, &mut dirs);
        });
        if let Some(f) = failure {
            return Err(Error::Solver(format!("ray computation: SVD failed: {f}")));
        }
    }
    let nr = dirs.len() / h;
    let mut pos = vec![vec![0u64; words]; nr];
    let mut on = vec![vec![0u64; words]; nr];
    for r in 0..nr {
        let d = &dirs[r * h..(r + 1) * h];
        for g in 0..ng {
            let v = dot(hp.normal(g), d);
            if v.abs() <= ON_PLANE {
                on[r][g / 64] |= 1 << (g % 64);
            } else if v > 0.0 {
                pos[r][g / 64] |= 1 << (g % 64);
            }
        }
    }
    Ok(Rays { h, dirs, pos, on })
}

/// Rank of the rays `set` (unit vectors), by Gram–Schmidt with a relative tolerance.
fn rank(rays: &Rays, set: &[usize]) -> usize {
    let h = rays.h;
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for &r in set {
        let mut v = rays.dir(r).to_vec();
        for b in &basis {
            let c = dot(b, &v);
            v.iter_mut().zip(b).for_each(|(x, y)| *x -= c * y);
        }
        let nv = dot(&v, &v).sqrt();
        if nv > 1e-8 {
            v.iter_mut().for_each(|x| *x /= nv);
            basis.push(v);
            if basis.len() == h {
                break;
            }
        }
    }
    basis.len()
}

/// Pulling triangulation of the pointed cone spanned by the rays `face` (of dimension `dim`):
/// appends the simplices (ray index lists) to `out`.
fn pull(rays: &Rays, ng: usize, face: &[usize], dim: usize, out: &mut Vec<Vec<usize>>) {
    if face.len() <= dim {
        out.push(face.to_vec());
        return;
    }
    let apex = face[0];
    let mut facets: Vec<Vec<usize>> = Vec::new();
    for g in 0..ng {
        if bit(&rays.on[apex], g) {
            continue;
        }
        let sub: Vec<usize> = face
            .iter()
            .copied()
            .filter(|&r| bit(&rays.on[r], g))
            .collect();
        if sub.len() + 1 >= dim && !facets.contains(&sub) && rank(rays, &sub) == dim - 1 {
            facets.push(sub);
        }
    }
    for f in facets {
        let mut simplices = Vec::new();
        pull(rays, ng, &f, dim - 1, &mut simplices);
        for mut s in simplices {
            s.push(apex);
            out.push(s);
        }
    }
}

/// Splits every region of `regions` (patterns of `hp`, whose normals must span `R^h`) into
/// simplicial cones. Errors when the arrangement is not of full rank (a region would not be
/// pointed) or needs more than `max_rays` hyperplane intersections.
pub fn triangulate_regions(
    hp: &Hyperplanes,
    regions: &PatternSet,
    max_rays: u128,
) -> Result<Vec<RegionCones>> {
    let (h, ng) = (hp.h, hp.len());
    let all: Vec<usize> = (0..ng).collect();
    let full = Rays {
        h,
        dirs: hp.normals.clone(),
        pos: Vec::new(),
        on: Vec::new(),
    };
    if h > 1 && rank(&full, &all) < h {
        return Err(Error::Data(format!(
            "the patch hyperplanes span rank {} < filter size {h}: project the patches onto their row space first",
            rank(&full, &all)
        )));
    }
    let rays = candidate_rays(hp, max_rays)?;
    let words = ng.div_ceil(64).max(1);
    // Valid hyperplane bits per word.
    let masks: Vec<u64> = (0..words)
        .map(|w| {
            let live = ng.saturating_sub(w * 64).min(64);
            if live == 64 {
                u64::MAX
            } else {
                (1u64 << live) - 1
            }
        })
        .collect();
    let mut out = Vec::with_capacity(regions.len());
    for i in 0..regions.len() {
        let bits = regions.pattern(i);
        let face: Vec<usize> = (0..rays.dirs.len() / h)
            .filter(|&r| {
                (0..words).all(|w| (rays.pos[r][w] ^ bits[w]) & !rays.on[r][w] & masks[w] == 0)
            })
            .collect();
        if rank(&rays, &face) < h {
            return Err(Error::Solver(format!(
                "region {i} has rays of rank {} < {h}: not a pointed full-dimensional cone",
                rank(&rays, &face)
            )));
        }
        let mut simplices = Vec::new();
        pull(&rays, ng, &face, h, &mut simplices);
        let cones = simplices
            .into_iter()
            .map(|s| {
                let mut b = vec![0.0; h * h];
                for (col, &r) in s.iter().enumerate() {
                    for (row, v) in rays.dir(r).iter().enumerate() {
                        b[row * h + col] = *v;
                    }
                }
                b
            })
            .collect();
        out.push(RegionCones { region: i, cones });
    }
    Ok(out)
}
