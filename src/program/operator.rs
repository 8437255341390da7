//! The linear operators of a pattern program in GEMM form (MATH.md sections 3, 4 and 8).
//!
//! * `A = [A_1 … A_P] ∈ R^{n × Ph}` with `A_i = Σ_k D_i^k X_k` (pooling scale included), stored
//!   column-major so that a prediction for all outputs is one product `A Z` with
//!   `Z ∈ R^{Ph × C}`, and the loss gradient with respect to every block is one product `Aᵀ V`.
//! * The cone constraints `(2D_i^k − I) X_k c ≥ 0` of pattern `i`, in factored form: one unit normal
//!   `n_g` per distinct hyperplane of the patch matrix (`N ∈ R^{G × h}`) and the side
//!   `s_{g,i} ∈ {±1}` of the pattern. For a matrix of block vectors `C ∈ R^{h × m}` the constraint
//!   values are `diag(s_{·,i}) N C`: products with row blocks of `N` keep the memory bounded
//!   ([`row_chunks`]).

use crate::error::{Error, Result};
use crate::patches::Patches;
use crate::patterns::{get_bit, Hyperplanes, PatternSet};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rayon::prelude::*;

/// Columns of `A` per task of the parallel adjoint (measured with `cargo bench --bench
/// operator`: 16 columns give 39–45 GFLOP/s at n = 2,400, Ph = 2,500, C = 10, against 19 for
/// one parallel GEMM call and 24 for 128-column tasks).
const ADJOINT_COLUMNS: usize = 16;

/// `A` and the constraint data of a set of patterns, shared by all outputs.
#[derive(Debug, Clone)]
pub struct PatternOperator {
    /// Samples `n`.
    pub n: usize,
    /// Filter size `h`.
    pub h: usize,
    /// Positions `K`.
    pub k: usize,
    /// `A = [A_1 … A_P]`, `n × Ph`.
    a: Mat<f64>,
    /// Unit normals `N`, `G × h`.
    normals: Mat<f64>,
    /// Pattern bits (over the distinct hyperplanes) of each kept pattern, `words` each.
    bits: Vec<u64>,
    words: usize,
    /// Parallelism of the large products.
    pub par: Par,
}

impl PatternOperator {
    /// Builds the operator for the patterns of `set` (bits over `hp`), with pooling factor
    /// `scale` (1 for sum pooling, `1/K` for average pooling). Patterns with `A_i = 0` are
    /// dropped: such a block only adds penalty.
    pub fn new(patches: &Patches, hp: &Hyperplanes, set: &PatternSet, scale: f64) -> Result<Self> {
        let (n, h, k) = (patches.n, patches.h, patches.k);
        if set.groups() != hp.len() {
            return Err(Error::param(
                "patterns",
                format!(
                    "pattern set over {} hyperplanes, data have {}",
                    set.groups(),
                    hp.len()
                ),
            ));
        }
        let p_all = set.len();
        let mut chunks = vec![0.0; n * h * p_all];
        chunks
            .par_chunks_mut(n * h.max(1))
            .enumerate()
            .for_each(|(i, ai)| {
                let bits = set.pattern(i);
                for kk in 0..k {
                    for t in 0..n {
                        let r = kk * n + t;
                        let on = match hp.row_group[r] {
                            None => true,
                            Some((g, flipped)) => get_bit(bits, g as usize) != flipped,
                        };
                        if on {
                            let x = patches.row(r);
                            for j in 0..h {
                                ai[j * n + t] += scale * x[j];
                            }
                        }
                    }
                }
            });
        let keep: Vec<usize> = (0..p_all)
            .filter(|&i| chunks[i * n * h..(i + 1) * n * h].iter().any(|v| *v != 0.0))
            .collect();
        let p = keep.len();
        let g = hp.len();
        let mut a = Mat::<f64>::zeros(n, p * h);
        let words = set.words();
        let mut bits = Vec::with_capacity(p * words);
        for (col, &i) in keep.iter().enumerate() {
            for j in 0..h {
                let src = &chunks[(i * h + j) * n..(i * h + j + 1) * n];
                a.col_mut(col * h + j)
                    .iter_mut()
                    .zip(src)
                    .for_each(|(d, s)| *d = *s);
            }
            bits.extend_from_slice(set.pattern(i));
        }
        let normals = Mat::<f64>::from_fn(g, h, |r, c| hp.normal(r)[c]);
        Ok(PatternOperator {
            n,
            h,
            k,
            a,
            normals,
            bits,
            words,
            par: Par::rayon(0),
        })
    }

    /// Number of kept patterns `P`.
    pub fn patterns(&self) -> usize {
        self.a.ncols() / self.h.max(1)
    }

    /// Number of distinct hyperplanes `G`.
    pub fn hyperplanes(&self) -> usize {
        self.normals.nrows()
    }

    /// `A`, `n × Ph`.
    pub fn a(&self) -> MatRef<'_, f64> {
        self.a.as_ref()
    }

    /// The unit normals `N`, `G × h`.
    pub fn normals(&self) -> MatRef<'_, f64> {
        self.normals.as_ref()
    }

    /// Sides `s_{·,i}` of pattern `i`, read from its bits (one bit per hyperplane, so memory is
    /// `G·P/8` bytes rather than `8·G·P`).
    pub fn signs(&self, i: usize) -> Sides<'_> {
        Sides(self.bits(i))
    }

    /// Pattern bits of kept pattern `i`.
    pub fn bits(&self, i: usize) -> &[u64] {
        &self.bits[i * self.words..(i + 1) * self.words]
    }

    /// `out = A Z` (`Z` is `Ph × C`, `out` is `n × C`, both column-major slices).
    pub fn forward(&self, z: &[f64], out: &mut [f64]) {
        let c = out.len() / self.n.max(1);
        let zr = MatRef::from_column_major_slice(z, self.a.ncols(), c);
        let o = MatMut::from_column_major_slice_mut(out, self.n, c);
        matmul(o, Accum::Replace, self.a.as_ref(), zr, 1.0, self.par);
    }

    /// `out = Aᵀ V` (`V` is `n × C`, `out` is `Ph × C`).
    ///
    /// With few right-hand columns the product is bound by reading `A` once: each task takes
    /// a range of `A`'s columns (contiguous in memory) and writes the matching rows of `out`,
    /// so every byte of `A` is read by one core exactly once.
    pub fn adjoint(&self, v: &[f64], out: &mut [f64]) {
        let c = v.len() / self.n.max(1);
        let m = self.a.ncols();
        let vr = MatRef::from_column_major_slice(v, self.n, c);
        let o = MatMut::from_column_major_slice_mut(out, m, c);
        let threads = match self.par {
            Par::Seq => 1,
            _ => rayon::current_num_threads().max(1),
        };
        if threads == 1 || m < 2 * ADJOINT_COLUMNS {
            matmul(
                o,
                Accum::Replace,
                self.a.as_ref().transpose(),
                vr,
                1.0,
                self.par,
            );
            return;
        }
        // Row chunks of `out` match column chunks of `A` (no allocation).
        o.par_row_chunks_mut(ADJOINT_COLUMNS)
            .enumerate()
            .for_each(|(t, view)| {
                let j0 = t * ADJOINT_COLUMNS;
                let cols = view.nrows();
                matmul(
                    view,
                    Accum::Replace,
                    self.a.as_ref().subcols(j0, cols).transpose(),
                    vr,
                    1.0,
                    Par::Seq,
                );
            });
    }

    /// Largest violation `max_g (−s_{g,i} n_gᵀ c)_+ / ‖c‖` of pattern `i`'s cone by `c`
    /// (0 when feasible or `c = 0`).
    pub fn cone_violation(&self, i: usize, c: &[f64]) -> f64 {
        let nc = c.iter().map(|v| v * v).sum::<f64>().sqrt();
        if nc == 0.0 {
            return 0.0;
        }
        let s = self.signs(i);
        let mut worst: f64 = 0.0;
        for g in 0..self.hyperplanes() {
            let mut d = 0.0;
            for (j, cj) in c.iter().enumerate() {
                d += self.normals[(g, j)] * cj;
            }
            worst = worst.max(-s.get(g) * d);
        }
        worst / nc
    }
}

/// The sides `s_g ∈ {±1}` of one pattern, as bits (`1` for `+1`).
#[derive(Debug, Clone, Copy)]
pub struct Sides<'a>(pub &'a [u64]);

impl Sides<'_> {
    /// `s_g`.
    #[inline]
    pub fn get(&self, g: usize) -> f64 {
        (((self.0[g / 64] >> (g % 64)) & 1) as f64) * 2.0 - 1.0
    }

    /// Writes `s_{g0}, …, s_{g0+out.len()−1}` into `out`.
    pub fn fill(&self, g0: usize, out: &mut [f64]) {
        for (k, o) in out.iter_mut().enumerate() {
            *o = self.get(g0 + k);
        }
    }
}

/// Splits `rows` into at most `parts` contiguous ranges of nearly equal size.
pub fn row_chunks(rows: usize, parts: usize) -> Vec<(usize, usize)> {
    let parts = parts.clamp(1, rows.max(1));
    let base = rows / parts;
    let extra = rows % parts;
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for p in 0..parts {
        let len = base + usize::from(p < extra);
        out.push((start, start + len));
        start += len;
    }
    out
}

/// `q = N[g0..g0+rows, :] · C` for a block of rows (sequential GEMM, used inside parallel chunks).
pub fn normals_times(normals: MatRef<'_, f64>, g0: usize, c: MatRef<'_, f64>, q: MatMut<'_, f64>) {
    let rows = q.nrows();
    matmul(
        q,
        Accum::Replace,
        normals.subrows(g0, rows),
        c,
        1.0,
        Par::Seq,
    );
}

/// `acc += N[g0..g0+rows, :]ᵀ · W` (sequential GEMM).
pub fn normals_adjoint_add(
    normals: MatRef<'_, f64>,
    g0: usize,
    w: MatRef<'_, f64>,
    acc: MatMut<'_, f64>,
) {
    let rows = w.nrows();
    matmul(
        acc,
        Accum::Add,
        normals.subrows(g0, rows).transpose(),
        w,
        1.0,
        Par::Seq,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::tests::{gaussian, largest_cosine, patterns_of, random_patches, raw_conv};
    use crate::program::{dot, Pooling};

    fn random_operator(scale_avg: bool, seed: u64) -> (PatternOperator, Vec<Vec<f64>>, Vec<f64>) {
        let (n, len, f) = (5, 8, 3);
        let (p, x) = random_patches(n, len, f, seed);
        let hp = Hyperplanes::from_patches(&p);
        let filters: Vec<Vec<f64>> = (0..40).map(|s| gaussian(f, seed * 1000 + s)).collect();
        let (set, first) = patterns_of(&hp, &filters);
        let scale = if scale_avg {
            Pooling::Avg.scale(p.k)
        } else {
            1.0
        };
        let op = PatternOperator::new(&p, &hp, &set, scale).unwrap();
        assert_eq!(op.patterns(), set.len());
        (op, first, x)
    }

    /// `⟨A Z, V⟩ = ⟨Z, Aᵀ V⟩` for several outputs, with the sequential product and with the
    /// parallel column-chunked adjoint (which must also agree with each other).
    #[test]
    fn forward_and_adjoint_are_transposes() {
        let (mut op, _, _) = random_operator(false, 1);
        let (n, m, c) = (op.n, op.patterns() * op.h, 3);
        assert!(
            m >= 2 * ADJOINT_COLUMNS,
            "too few columns ({m}) for the parallel path"
        );
        let z = gaussian(m * c, 2);
        let v = gaussian(n * c, 3);
        let mut outs = Vec::new();
        for par in [Par::Seq, Par::rayon(0)] {
            op.par = par;
            let mut az = vec![0.0; n * c];
            op.forward(&z, &mut az);
            let mut atv = vec![0.0; m * c];
            op.adjoint(&v, &mut atv);
            let (lhs, rhs) = (dot(&az, &v), dot(&z, &atv));
            assert!(
                (lhs - rhs).abs() < 1e-11 * (1.0 + lhs.abs()),
                "{lhs} vs {rhs}"
            );
            // Entry by entry against the stored matrix.
            for col in 0..c {
                for j in 0..m {
                    let want: f64 = (0..n).map(|t| op.a()[(t, j)] * v[col * n + t]).sum();
                    assert!((atv[col * m + j] - want).abs() < 1e-12);
                }
            }
            outs.push(atv);
        }
        for (a, b) in outs[0].iter().zip(&outs[1]) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    /// Block `i` applied to its generating filter `u` gives `Σ_k (x_{t,k}ᵀu)_+` from the raw
    /// signals (divided by `K` for average pooling).
    #[test]
    fn blocks_reproduce_relu_sums() {
        for avg in [false, true] {
            let (op, first, x) = random_operator(avg, 4);
            let (n, h, k) = (op.n, op.h, op.k);
            for (i, u) in first.iter().enumerate() {
                let mut z = vec![0.0; op.patterns() * h];
                z[i * h..(i + 1) * h].copy_from_slice(u);
                let mut f = vec![0.0; n];
                op.forward(&z, &mut f);
                for (t, row) in raw_conv(&x, n, 8, u).iter().enumerate() {
                    let mut want: f64 = row.iter().map(|v| v.max(0.0)).sum();
                    if avg {
                        want /= k as f64;
                    }
                    assert!((f[t] - want).abs() < 1e-12, "pattern {i}, sample {t}");
                }
            }
        }
    }

    /// A filter lies in its own cone; its negative violates it by the largest cosine between
    /// the filter and a patch.
    #[test]
    fn cone_violation_of_a_filter_and_its_negative() {
        let (n, len, f) = (5, 8, 3);
        let (p, _) = random_patches(n, len, f, 5);
        let hp = Hyperplanes::from_patches(&p);
        let filters: Vec<Vec<f64>> = (0..10).map(|s| gaussian(f, 5000 + s)).collect();
        let (set, first) = patterns_of(&hp, &filters);
        let op = PatternOperator::new(&p, &hp, &set, 1.0).unwrap();
        for (i, u) in first.iter().enumerate() {
            assert_eq!(op.cone_violation(i, u), 0.0);
            let neg: Vec<f64> = u.iter().map(|v| -2.0 * v).collect();
            let want = largest_cosine(&p, u);
            assert!((op.cone_violation(i, &neg) - want).abs() < 1e-12);
        }
        assert_eq!(op.cone_violation(0, &[0.0; 3]), 0.0);
    }

    /// Bit `g` (across word boundaries) is `+1` when set and `−1` when clear.
    #[test]
    fn sides_read_bits_across_words() {
        let bits = [0b101u64 | (1 << 63), 0b10];
        let s = Sides(&bits);
        let want = [
            (0, 1.0),
            (1, -1.0),
            (2, 1.0),
            (62, -1.0),
            (63, 1.0),
            (64, -1.0),
            (65, 1.0),
        ];
        for (g, v) in want {
            assert_eq!(s.get(g), v, "g = {g}");
        }
        let mut out = [0.0; 4];
        s.fill(62, &mut out);
        assert_eq!(out, [-1.0, 1.0, -1.0, 1.0]);
    }

    /// The chunks cover `0..rows` contiguously, in at most `parts` pieces whose sizes differ by
    /// at most one.
    #[test]
    fn row_chunks_partition_the_rows() {
        for rows in 0..30 {
            for parts in 0..9 {
                let ch = row_chunks(rows, parts);
                assert_eq!(ch.len(), parts.clamp(1, rows.max(1)));
                assert_eq!(ch[0].0, 0);
                assert_eq!(ch.last().unwrap().1, rows);
                for w in ch.windows(2) {
                    assert_eq!(w[0].1, w[1].0);
                }
                let lens: Vec<usize> = ch.iter().map(|(a, b)| b - a).collect();
                let (lo, hi) = (lens.iter().min().unwrap(), lens.iter().max().unwrap());
                assert!(hi - lo <= 1, "{rows} rows in {parts}: {lens:?}");
            }
        }
    }

    /// `⟨N_S C, W⟩ = ⟨C, N_Sᵀ W⟩` for a row block `S` of `N`, and the adjoint accumulates.
    #[test]
    fn normals_products_are_adjoint() {
        let (g, h, m, g0, rows) = (10, 3, 4, 3, 5);
        let nv = gaussian(g * h, 6);
        let normals = Mat::<f64>::from_fn(g, h, |r, c| nv[r * h + c]);
        let cv = gaussian(h * m, 7);
        let wv = gaussian(rows * m, 8);
        let c = MatRef::from_column_major_slice(&cv, h, m);
        let w = MatRef::from_column_major_slice(&wv, rows, m);
        let mut q = vec![0.0; rows * m];
        normals_times(
            normals.as_ref(),
            g0,
            c,
            MatMut::from_column_major_slice_mut(&mut q, rows, m),
        );
        for r in 0..rows {
            for j in 0..m {
                let want: f64 = (0..h).map(|e| normals[(g0 + r, e)] * cv[j * h + e]).sum();
                assert!((q[j * rows + r] - want).abs() < 1e-13);
            }
        }
        let start = gaussian(h * m, 9);
        let mut acc = start.clone();
        normals_adjoint_add(
            normals.as_ref(),
            g0,
            w,
            MatMut::from_column_major_slice_mut(&mut acc, h, m),
        );
        let added: Vec<f64> = acc.iter().zip(&start).map(|(a, b)| a - b).collect();
        let (lhs, rhs) = (dot(&q, &wv), dot(&cv, &added));
        assert!(
            (lhs - rhs).abs() < 1e-12 * (1.0 + lhs.abs()),
            "{lhs} vs {rhs}"
        );
    }
}
