//! Completely-positive factorization of small doubly non-negative matrices (MATH-DEEP.md
//! section 3, the recovery of the weight-decay SDP): `T = E Eᵀ` with `E ≥ 0` entrywise, for
//! `T` symmetric, positive semidefinite and entrywise non-negative, of order `h ≤ 3` (every such
//! matrix is completely positive).
//!
//! - `h = 2`: the Cholesky factor `[[√a, 0], [b/√a, √(c − b²/a)]]` is non-negative because
//!   `b ≥ 0`.
//! - `h = 3`: subtract the rank-one `v vᵀ` with `v = T e_i/√T_ii` for a pivot `i` whose Schur
//!   complement keeps a non-negative off-diagonal entry, then factor that 2×2 complement. Such a
//!   pivot exists: if all three complements had a negative off-diagonal entry, then
//!   `T₁₁T₂₃ < T₁₂T₁₃` and `T₂₂T₁₃ < T₁₂T₂₃` would give `T₁₁T₂₂ < T₁₂²`, contradicting
//!   `T ⪰ 0`.

use crate::error::{Error, Result};

/// Relative tolerance for rounding: entries above `−tol·max|T|` count as non-negative.
const TOL: f64 = 1e-12;

/// Factors the `h × h` (row-major) doubly non-negative `t` as `E Eᵀ` with `E ≥ 0`, `h × h`
/// row-major. Errors when `t` is not symmetric, has a negative entry or a negative pivot beyond
/// rounding, or `h > 3`.
pub fn cp_factor(t: &[f64], h: usize) -> Result<Vec<f64>> {
    if t.len() != h * h || h == 0 {
        return Err(Error::Data(format!(
            "{} values are not a {h}×{h} matrix",
            t.len()
        )));
    }
    let scale = t.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let tol = TOL * scale.max(f64::MIN_POSITIVE);
    for i in 0..h {
        for j in 0..h {
            if (t[i * h + j] - t[j * h + i]).abs() > tol || t[i * h + j] < -tol {
                return Err(Error::Data(format!(
                    "not doubly non-negative: entry ({i}, {j}) = {}",
                    t[i * h + j]
                )));
            }
        }
    }
    match h {
        1 => Ok(vec![t[0].max(0.0).sqrt()]),
        2 => factor2(t[0], t[1], t[3], tol).map(|e| e.to_vec()),
        3 => factor3(t, tol),
        _ => Err(Error::param(
            "h",
            format!("completely-positive factorization is implemented for h ≤ 3, not {h}"),
        )),
    }
}

/// `[[a, b], [b, c]] = E Eᵀ`, `E ≥ 0` (row-major 2×2).
fn factor2(a: f64, b: f64, c: f64, tol: f64) -> Result<[f64; 4]> {
    let b = b.max(0.0);
    if a <= tol {
        // Then b = 0 (up to rounding), or T is not PSD.
        if b > tol.sqrt() * c.max(tol).sqrt() + tol {
            return Err(Error::Data(format!(
                "not positive semidefinite: a = {a}, b = {b}"
            )));
        }
        return Ok([0.0, 0.0, 0.0, c.max(0.0).sqrt()]);
    }
    let ra = a.sqrt();
    let l = b / ra;
    let rest = c - l * l;
    if rest < -tol {
        return Err(Error::Data(format!(
            "not positive semidefinite: Schur complement {rest}"
        )));
    }
    Ok([ra, 0.0, l, rest.max(0.0).sqrt()])
}

fn factor3(t: &[f64], tol: f64) -> Result<Vec<f64>> {
    let at = |i: usize, j: usize| t[i * 3 + j];
    // The pivot whose Schur complement has the largest off-diagonal entry.
    let complement = |i: usize| {
        let (j, k) = ((i + 1) % 3, (i + 2) % 3);
        if at(i, i) > tol {
            at(j, k) - at(j, i) * at(k, i) / at(i, i)
        } else {
            at(j, k)
        }
    };
    let (i, off) = (1..3).fold((0, complement(0)), |(bi, bo), i| {
        let o = complement(i);
        if o > bo {
            (i, o)
        } else {
            (bi, bo)
        }
    });
    if off < -tol {
        return Err(Error::Data(format!(
            "no pivot keeps the complement non-negative (best {off}): not positive semidefinite"
        )));
    }
    let (j, k) = ((i + 1) % 3, (i + 2) % 3);
    let mut e = vec![0.0; 9];
    let (sjj, sjk, skk) = if at(i, i) > tol {
        let r = at(i, i).sqrt();
        // Column 0: v = T e_i / √T_ii.
        e[i * 3] = r;
        e[j * 3] = at(j, i) / r;
        e[k * 3] = at(k, i) / r;
        (
            at(j, j) - at(j, i) * at(j, i) / at(i, i),
            off,
            at(k, k) - at(k, i) * at(k, i) / at(i, i),
        )
    } else {
        // T_ii = 0: row i vanishes (T ⪰ 0), the rest is 2×2.
        (at(j, j), at(j, k), at(k, k))
    };
    let f = factor2(sjj, sjk, skk, tol)?;
    // Columns 1, 2: the 2×2 factor on rows j, k.
    e[j * 3 + 1] = f[0];
    e[j * 3 + 2] = f[1];
    e[k * 3 + 1] = f[2];
    e[k * 3 + 2] = f[3];
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(e: &[f64], h: usize) -> Vec<f64> {
        let mut t = vec![0.0; h * h];
        for i in 0..h {
            for j in 0..h {
                t[i * h + j] = (0..h).map(|c| e[i * h + c] * e[j * h + c]).sum();
            }
        }
        t
    }

    #[test]
    fn two_by_two_and_degenerate_cases() {
        for t in [
            vec![4.0, 2.0, 2.0, 5.0],
            vec![0.0, 0.0, 0.0, 3.0],
            vec![1.0, 1.0, 1.0, 1.0],
        ] {
            let e = cp_factor(&t, 2).unwrap();
            assert!(e.iter().all(|v| *v >= 0.0));
            for (a, b) in product(&e, 2).iter().zip(&t) {
                assert!((a - b).abs() < 1e-12);
            }
        }
        assert!(cp_factor(&[1.0, -0.1, -0.1, 1.0], 2).is_err());
        assert!(cp_factor(&[1.0, 2.0, 2.0, 1.0], 2).is_err());
    }
}
