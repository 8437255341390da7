//! Pattern counts: the general-position formula and the rank of the patch matrix.

use crate::patches::Patches;

/// Number of regions of a central arrangement of `n_planes` hyperplanes in general position in
/// `R^r`: `2·Σ_{j=0}^{r−1} C(N−1, j)` (MATH.md section 2); also the upper bound for any
/// arrangement. Saturates at `u128::MAX`.
pub fn general_position_count(n_planes: usize, r: usize) -> u128 {
    if n_planes == 0 || r == 0 {
        return 1;
    }
    let m = (n_planes - 1) as u128;
    let mut total: u128 = 0;
    let mut binom: u128 = 1; // C(m, 0)
    for j in 0..r as u128 {
        if j > m {
            break;
        }
        total = total.saturating_add(binom);
        // C(m, j+1) = C(m, j)·(m − j)/(j + 1)
        binom = binom.saturating_mul(m - j) / (j + 1);
    }
    total.saturating_mul(2)
}

/// [`general_position_count`] as text: the number, or `> 3.4e38` when it saturates.
pub fn count_text(c: u128) -> String {
    if c == u128::MAX {
        "> 3.4e38".to_string()
    } else {
        c.to_string()
    }
}

/// Rank `r` of the stacked patch matrix, with an orthonormal basis of its row space (`h × r`,
/// column-major). Singular values above `max(nK, h)·ε·σ_max` count (NumPy's `matrix_rank` rule).
pub fn rank_of(p: &Patches) -> (usize, Vec<f64>) {
    let h = p.h;
    let rows = p.rows();
    let m = faer::Mat::<f64>::from_fn(rows, h, |i, j| p.data[i * h + j]);
    let Ok(svd) = m.thin_svd() else {
        let mut basis = vec![0.0; h * h];
        for a in 0..h {
            basis[a * h + a] = 1.0;
        }
        return (h, basis);
    };
    let s = svd.S().column_vector();
    let v = svd.V();
    let k = s.nrows();
    let max = (0..k).map(|i| s[i]).fold(0.0, f64::max);
    let tol = max * (rows.max(h) as f64) * f64::EPSILON;
    let mut basis = Vec::new();
    let mut r = 0;
    for i in 0..k {
        if max > 0.0 && s[i] > tol {
            r += 1;
            for a in 0..h {
                basis.push(v[(a, i)]);
            }
        }
    }
    (r, basis)
}

#[cfg(test)]
mod tests {
    use super::general_position_count;

    #[test]
    fn formula_reference_values() {
        // MATH.md: N = 25, r = 3 gives 602.
        assert_eq!(general_position_count(25, 3), 602);
        // r = 1: two half-lines; r = 2: 2N lines through the origin cut the plane into 2N sectors.
        assert_eq!(general_position_count(7, 1), 2);
        assert_eq!(general_position_count(7, 2), 14);
        // N ≤ r: all 2^N orthants.
        assert_eq!(general_position_count(3, 5), 8);
    }
}
