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
//! - `h ≥ 4` ([`cp_factorize`]): alternating projections (Groetzner & Dür, 2020) between
//!   `{L Q : Q orthogonal}` and the non-negative orthant, from the symmetric square root `L` of
//!   `T` padded to `2h` columns and seeded random orthogonal starts, stopping once `L Q ≥ 0`.
//!   Every doubly non-negative matrix of order 4 is completely positive (Maxfield–Minc), so for
//!   `h = 4` a factorization exists; from `h = 5` on one may not, and the residual says how far
//!   the best found is.

use crate::error::{Error, Result};
use rand::SeedableRng;

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

/// A completely-positive factorization `T ≈ E Eᵀ` with `E ≥ 0`.
#[derive(Debug, Clone)]
pub struct CpFactorization {
    /// The factor, `h × cols` row-major, entrywise non-negative.
    pub e: Vec<f64>,
    /// Columns of `E`.
    pub cols: usize,
    /// `‖E Eᵀ − T‖_F / ‖T‖_F` against the matrix passed in.
    pub residual: f64,
}

/// Restarts of the alternating projections.
const RESTARTS: u64 = 20;
/// Iterations per restart.
const ITERS: usize = 4000;

/// Factors a (nearly) doubly non-negative `h × h` matrix `t`, as an interior-point solution
/// gives it: symmetrized and moved to the doubly non-negative cone by a few alternating
/// projections (clip negative eigenvalues, clip negative entries), then factored exactly for
/// `h ≤ 3` ([`cp_factor`]) or by seeded alternating projections for larger `h`. The residual is
/// measured against `t` itself.
pub fn cp_factorize(t: &[f64], h: usize, seed: u64) -> Result<CpFactorization> {
    if t.len() != h * h || h == 0 || t.iter().any(|v| !v.is_finite()) {
        return Err(Error::Data(format!(
            "{} values are not a finite {h}×{h} matrix",
            t.len()
        )));
    }
    let norm_t = t.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm_t == 0.0 {
        return Ok(CpFactorization {
            e: vec![0.0; h * h],
            cols: h,
            residual: 0.0,
        });
    }
    let mut c: Vec<f64> = (0..h * h)
        .map(|k| 0.5 * (t[k] + t[(k % h) * h + k / h]))
        .collect();
    let mut l = vec![0.0; h * h];
    for _ in 0..20 {
        l = psd_root(&c, h)?;
        for i in 0..h {
            for j in 0..h {
                c[i * h + j] = (0..h).map(|k| l[i * h + k] * l[j * h + k]).sum();
            }
        }
        if c.iter().all(|v| *v >= 0.0) {
            break;
        }
        c.iter_mut().for_each(|v| *v = v.max(0.0));
    }
    let residual = |e: &[f64], cols: usize| {
        let mut s = 0.0;
        for i in 0..h {
            for j in 0..h {
                let p: f64 = (0..cols).map(|k| e[i * cols + k] * e[j * cols + k]).sum();
                s += (p - t[i * h + j]).powi(2);
            }
        }
        s.sqrt() / norm_t
    };
    // Numerically rank one (the common case at an SDP optimum: one unit per cone, the other
    // eigenvalues at the interior point's noise level): T ≈ λ v vᵀ with v of one sign,
    // E = √λ |v|, kept when its residual is below 1e-7.
    let col_norms: Vec<f64> = (0..h)
        .map(|k| (0..h).map(|i| l[i * h + k] * l[i * h + k]).sum::<f64>())
        .collect();
    let (kmax, &largest) =
        col_norms
            .iter()
            .enumerate()
            .fold((0, &0.0), |b, (k, v)| if *v > *b.1 { (k, v) } else { b });
    let rest: f64 = col_norms.iter().sum::<f64>() - largest;
    if largest > 0.0 && rest <= 1e-8 * largest {
        let e: Vec<f64> = (0..h).map(|i| l[i * h + kmax].abs()).collect();
        let r = residual(&e, 1);
        if r <= 1e-7 {
            return Ok(CpFactorization {
                e,
                cols: 1,
                residual: r,
            });
        }
    }
    if h <= 3 {
        if let Ok(e) = cp_factor(&c, h) {
            let r = residual(&e, h);
            return Ok(CpFactorization {
                e,
                cols: h,
                residual: r,
            });
        }
    }
    let k = 2 * h;
    let lm = faer::Mat::<f64>::from_fn(h, k, |i, j| if j < h { l[i * h + j] } else { 0.0 });
    let scale = c.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut best: Option<CpFactorization> = None;
    for restart in 0..RESTARTS {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed.wrapping_add(restart));
        let g = faer::Mat::<f64>::from_fn(k, k, |_, _| {
            rand_distr::Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut rng)
        });
        let mut q = polar(&g)?;
        for it in 0..ITERS {
            let lq = &lm * &q;
            let mut min = f64::INFINITY;
            let x = faer::Mat::<f64>::from_fn(h, k, |i, j| {
                min = min.min(lq[(i, j)]);
                lq[(i, j)].max(0.0)
            });
            if min >= -1e-15 * scale.sqrt() {
                break;
            }
            // Every 50 steps: stop once the clipped factor already reproduces T.
            if it % 50 == 49 {
                let e: Vec<f64> = (0..h * k).map(|ij| x[(ij / k, ij % k)]).collect();
                if residual(&e, k) <= 1e-13 {
                    break;
                }
            }
            q = polar(&(lm.transpose() * &x))?;
        }
        let lq = &lm * &q;
        let e: Vec<f64> = (0..h * k).map(|ij| lq[(ij / k, ij % k)].max(0.0)).collect();
        let r = residual(&e, k);
        if best.as_ref().is_none_or(|b| r < b.residual) {
            best = Some(CpFactorization {
                e,
                cols: k,
                residual: r,
            });
        }
        if r <= 1e-12 {
            break;
        }
    }
    best.ok_or_else(|| Error::Solver("completely-positive factorization: no restart ran".into()))
}

/// The orthogonal polar factor `U Vᵀ` of a square matrix.
fn polar(m: &faer::Mat<f64>) -> Result<faer::Mat<f64>> {
    let svd = m
        .svd()
        .map_err(|e| Error::Solver(format!("polar factor: SVD failed: {e:?}")))?;
    Ok(svd.U() * svd.V().transpose())
}

/// `L = V √max(Λ, 0)` (`h × h` row-major) with `L Lᵀ` the positive-semidefinite part of the
/// symmetric `c`.
fn psd_root(c: &[f64], h: usize) -> Result<Vec<f64>> {
    let m = faer::Mat::<f64>::from_fn(h, h, |i, j| c[i * h + j]);
    let evd = m
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|e| Error::Solver(format!("eigendecomposition failed: {e:?}")))?;
    let (s, u) = (evd.S().column_vector(), evd.U());
    Ok((0..h * h)
        .map(|ij| u[(ij / h, ij % h)] * s[ij % h].max(0.0).sqrt())
        .collect())
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
