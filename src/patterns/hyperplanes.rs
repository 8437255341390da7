//! The distinct hyperplanes of the rows of the stacked patch matrix.

use super::set::get_bit;
use crate::patches::Patches;
use std::collections::HashMap;

/// Rows whose norm is at most this fraction of the largest row norm count as zero patches.
const ZERO_ROW: f64 = 1e-12;
/// Unit normals are keyed on this grid when merging parallel rows.
const GRID: f64 = 1e9;

/// Distinct hyperplanes `{u : n_gᵀu = 0}` of the rows of `M`, with unit normals `n_g ∈ R^h`, and
/// for every row its hyperplane and orientation (`row = ±‖row‖·n_g`), or none for a zero row.
#[derive(Debug, Clone)]
pub struct Hyperplanes {
    /// Filter size `h`.
    pub h: usize,
    /// Unit normals, `G × h` row-major.
    pub normals: Vec<f64>,
    /// For row `r` of `M`: `Some((g, flipped))` (row is a positive multiple of `n_g` unless
    /// `flipped`), `None` for a zero row.
    pub row_group: Vec<Option<(u32, bool)>>,
    /// Number of rows of `M` on each hyperplane.
    pub multiplicity: Vec<usize>,
}

impl Hyperplanes {
    /// Merges the rows of `M` into distinct hyperplanes.
    pub fn from_patches(p: &Patches) -> Self {
        let h = p.h;
        let max_norm = (0..p.rows()).map(|r| norm(p.row(r))).fold(0.0, f64::max);
        let mut normals = Vec::new();
        let mut multiplicity = Vec::new();
        let mut row_group = Vec::with_capacity(p.rows());
        let mut index: HashMap<Vec<i64>, u32> = HashMap::new();
        let mut unit = vec![0.0; h];
        for r in 0..p.rows() {
            let row = p.row(r);
            let nr = norm(row);
            if nr <= ZERO_ROW * max_norm || nr == 0.0 {
                row_group.push(None);
                continue;
            }
            for (u, &v) in unit.iter_mut().zip(row) {
                *u = v / nr;
            }
            // Canonical orientation: the first entry of (nearly) largest magnitude is positive.
            let amax = unit.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let lead = unit
                .iter()
                .position(|v| v.abs() >= amax * (1.0 - 1e-9))
                .unwrap_or(0);
            let flipped = unit[lead] < 0.0;
            if flipped {
                unit.iter_mut().for_each(|v| *v = -*v);
            }
            let key: Vec<i64> = unit.iter().map(|v| (v * GRID).round() as i64).collect();
            let g = *index.entry(key).or_insert_with(|| {
                normals.extend_from_slice(&unit);
                multiplicity.push(0);
                (multiplicity.len() - 1) as u32
            });
            multiplicity[g as usize] += 1;
            row_group.push(Some((g, flipped)));
        }
        Hyperplanes {
            h,
            normals,
            row_group,
            multiplicity,
        }
    }

    /// Number of distinct hyperplanes `G`.
    pub fn len(&self) -> usize {
        self.multiplicity.len()
    }

    /// Whether there is no hyperplane (all patches zero).
    pub fn is_empty(&self) -> bool {
        self.multiplicity.is_empty()
    }

    /// Unit normal of hyperplane `g`.
    pub fn normal(&self, g: usize) -> &[f64] {
        &self.normals[g * self.h..(g + 1) * self.h]
    }

    /// Pattern bit of the filter `u` on every hyperplane (`n_gᵀu > 0`), written into `out`
    /// (`G.div_ceil(64)` words). Returns the smallest `|n_gᵀu|`, to detect filters on a
    /// hyperplane.
    pub fn signs_of(&self, u: &[f64], out: &mut [u64]) -> f64 {
        out.iter_mut().for_each(|w| *w = 0);
        let mut margin = f64::INFINITY;
        for g in 0..self.len() {
            let d: f64 = self.normal(g).iter().zip(u).map(|(a, b)| a * b).sum();
            margin = margin.min(d.abs());
            if d > 0.0 {
                out[g / 64] |= 1 << (g % 64);
            }
        }
        margin
    }

    /// The per-row pattern `d_r = 1[M_r u ≥ 0]` of a region given by its hyperplane bits:
    /// zero rows are `1`, other rows follow their hyperplane's side and orientation.
    pub fn row_pattern(&self, bits: &[u64]) -> Vec<bool> {
        self.row_group
            .iter()
            .map(|rg| match rg {
                None => true,
                Some((g, flipped)) => get_bit(bits, *g as usize) != *flipped,
            })
            .collect()
    }
}

pub(crate) fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}
