//! A first-order solver for the scalar-output programs of every architecture built on
//! [`TwoLayerProgram`] (sum/average/max pooling, local windows, circular CNNs), whose prox
//! handles each block norm: the group soft threshold for `β‖c‖₂`, and for the spectral norms
//! `Σ_k ω_k |F_k c|` the soft threshold of every DFT coefficient's modulus,
//! `c ← F⁻¹ soft(F c, t ω_k h)` (exact because `F/√h` is unitary; equal weights on `k` and
//! `h − k` keep the spectrum Hermitian, so `c` stays real).
//!
//! The cone constraints `s_g n_gᵀ c_j ≥ 0` enter through an augmented Lagrangian (MATH.md 7):
//! inner FISTA on `½‖Σ A (c − c') − y‖² + (δ/2) Σ ‖(λ/δ − G c)_+‖²` plus the block norm,
//! multipliers `λ ← max(λ − δ G c, 0)`.

use super::ipm::BlockNorm;
use super::status::SolveStatus;
use crate::error::{Error, Result};
use crate::fourier::{dft, idft_real};
use crate::program::{dot, norm, ConvexSolution, TwoLayerProgram};
use rustfft::num_complex::Complex;

/// Settings of [`solve_prox_al`].
#[derive(Debug, Clone, Copy)]
pub struct ProxAlSettings {
    /// Outer (multiplier) iterations at most.
    pub outer: usize,
    /// FISTA steps per outer iteration at most.
    pub inner: usize,
    /// Stop when the relative cone violation and the relative change of the objective over an
    /// outer iteration are both below this.
    pub tol: f64,
    /// Penalty `δ` of the augmented Lagrangian.
    pub delta: f64,
}

impl Default for ProxAlSettings {
    fn default() -> Self {
        ProxAlSettings {
            outer: 400,
            inner: 2000,
            tol: 1e-9,
            delta: 10.0,
        }
    }
}

/// What the solver reports.
#[derive(Debug, Clone)]
pub struct ProxAlInfo {
    /// Converged, or stopped on the iteration limit.
    pub status: SolveStatus,
    /// Outer iterations.
    pub outer: usize,
    /// FISTA steps in all.
    pub inner: usize,
    /// Objective (loss plus block norms) at the returned point.
    pub objective: f64,
    /// Largest relative cone violation at the returned point.
    pub violation: f64,
}

/// The block penalty `Σ_j pen(c_j)` (without `β` for the Euclidean norm: `β‖c‖`).
pub fn block_penalty(prog: &TwoLayerProgram, norm_kind: BlockNorm<'_>, c: &[f64]) -> f64 {
    let h = prog.h;
    c.chunks(h)
        .map(|cj| match norm_kind {
            BlockNorm::Euclidean => prog.beta * norm(cj),
            BlockNorm::SpectralL1 => prog.beta / h as f64 * spectral_moduli(cj).iter().sum::<f64>(),
            BlockNorm::WeightedSpectral(w) => spectral_moduli(cj)
                .iter()
                .zip(w)
                .map(|(m, wk)| m * wk)
                .sum(),
        })
        .sum()
}

fn spectral_moduli(c: &[f64]) -> Vec<f64> {
    dft(c).iter().map(|v| v.norm()).collect()
}

/// The prox of `t·pen` on one block variable, in place.
fn prox(prog: &TwoLayerProgram, norm_kind: BlockNorm<'_>, t: f64, c: &mut [f64]) {
    let h = prog.h;
    let weights: Vec<f64> = match norm_kind {
        BlockNorm::Euclidean => {
            let n = norm(c);
            let f = if n > 0.0 {
                (1.0 - t * prog.beta / n).max(0.0)
            } else {
                0.0
            };
            c.iter_mut().for_each(|v| *v *= f);
            return;
        }
        BlockNorm::SpectralL1 => vec![prog.beta / h as f64; h],
        BlockNorm::WeightedSpectral(w) => w.to_vec(),
    };
    let fc = dft(c);
    let shrunk: Vec<Complex<f64>> = fc
        .iter()
        .zip(&weights)
        .map(|(v, w)| {
            let m = v.norm();
            let thr = t * w * h as f64;
            if m > thr {
                v * ((m - thr) / m)
            } else {
                Complex::new(0.0, 0.0)
            }
        })
        .collect();
    c.copy_from_slice(&idft_real(&shrunk));
}

/// Block variable `j`'s constraint rows `s_g n_g` (`rows × h`).
fn constraint_rows(prog: &TwoLayerProgram, b: usize) -> Vec<Vec<f64>> {
    prog.constraints(b)
        .map(|g| {
            let s = prog.side(b, g);
            prog.hyperplanes.normal(g).iter().map(|v| s * v).collect()
        })
        .collect()
}

/// Largest eigenvalue of `MᵀM` by power iteration (`apply` computes `MᵀM x`).
fn power(dim: usize, apply: impl Fn(&[f64]) -> Vec<f64>) -> f64 {
    let mut x: Vec<f64> = (0..dim).map(|i| 1.0 + (i as f64 * 0.37).sin()).collect();
    let mut lam = 0.0;
    for _ in 0..100 {
        let nx = norm(&x);
        if nx == 0.0 {
            return 0.0;
        }
        x.iter_mut().for_each(|v| *v /= nx);
        let y = apply(&x);
        lam = dot(&x, &y);
        x = y;
    }
    lam.max(0.0)
}

/// Solves the program with the block norm `norm_kind` by the augmented Lagrangian with inner
/// FISTA and the block prox. Returns the solution and the report.
pub fn solve_prox_al(
    prog: &TwoLayerProgram,
    norm_kind: BlockNorm<'_>,
    s: &ProxAlSettings,
) -> Result<(ConvexSolution, ProxAlInfo)> {
    let (n, h) = (prog.n, prog.h);
    if s.outer == 0
        || s.inner == 0
        || s.delta.is_nan()
        || s.delta <= 0.0
        || s.tol.is_nan()
        || s.tol <= 0.0
    {
        return Err(Error::param(
            "settings",
            "outer, inner, δ and tol must be positive",
        ));
    }
    if let BlockNorm::WeightedSpectral(w) = norm_kind {
        if w.len() != h {
            return Err(Error::param("weights", "one weight per frequency"));
        }
    }
    let nb = prog.blocks.len();
    let nv = 2 * nb;
    let rows: Vec<Vec<Vec<f64>>> = (0..nb).map(|b| constraint_rows(prog, b)).collect();
    // Lipschitz constant of the smooth part: ‖[A, −A]‖² + δ max_b ‖G_b‖².
    let a_norm2 = 2.0
        * power(nb * h, |x| {
            let mut f = vec![0.0; n];
            for b in 0..nb {
                prog.apply_block(b, &x[b * h..(b + 1) * h], 1.0, &mut f);
            }
            (0..nb).flat_map(|b| prog.adjoint_block(b, &f)).collect()
        });
    let g_norm2 = rows
        .iter()
        .map(|rb| {
            power(h, |x| {
                let mut out = vec![0.0; h];
                for r in rb {
                    let v = dot(r, x);
                    out.iter_mut().zip(r).for_each(|(o, ri)| *o += v * ri);
                }
                out
            })
        })
        .fold(0.0, f64::max);
    let delta = s.delta * prog.beta.max(1e-12);
    let lip = (a_norm2 + delta * g_norm2).max(1e-12);
    let step = 1.0 / lip;

    let mut c = vec![0.0; nv * h];
    let mut lam: Vec<Vec<f64>> = (0..nv).map(|j| vec![0.0; rows[j / 2].len()]).collect();
    let objective = |c: &[f64]| -> f64 {
        let sol = ConvexSolution { h, c: c.to_vec() };
        let f = prog.predict(&sol);
        let loss: f64 = f
            .iter()
            .zip(&prog.y)
            .map(|(a, b)| 0.5 * (a - b) * (a - b))
            .sum();
        loss + block_penalty(prog, norm_kind, c)
    };
    let violation = |c: &[f64]| -> f64 {
        let largest = c.chunks(h).map(norm).fold(0.0, f64::max);
        if largest == 0.0 {
            return 0.0;
        }
        let mut worst: f64 = 0.0;
        for (j, cj) in c.chunks(h).enumerate() {
            for r in &rows[j / 2] {
                worst = worst.max(-dot(r, cj));
            }
        }
        worst / largest
    };
    let mut prev = objective(&c);
    let mut total_inner = 0;
    let mut status = SolveStatus::MaxIterations;
    let mut outer = 0;
    let mut grad = vec![0.0; nv * h];
    for it in 0..s.outer {
        outer = it + 1;
        // Inner FISTA with adaptive restart.
        let mut z = c.clone();
        let mut w = c.clone();
        let mut tk = 1.0f64;
        for _ in 0..s.inner {
            total_inner += 1;
            // Gradient of the smooth part at w.
            let sol = ConvexSolution { h, c: w.clone() };
            let f = prog.predict(&sol);
            let r: Vec<f64> = f.iter().zip(&prog.y).map(|(a, b)| a - b).collect();
            for (b, rows_b) in rows.iter().enumerate() {
                let g = prog.adjoint_block(b, &r);
                for (j, sign) in [(2 * b, 1.0), (2 * b + 1, -1.0)] {
                    let gj = &mut grad[j * h..(j + 1) * h];
                    gj.iter_mut().zip(&g).for_each(|(o, v)| *o = sign * v);
                    let wj = &w[j * h..(j + 1) * h];
                    for (row, l) in rows_b.iter().zip(&lam[j]) {
                        let m = (l / delta - dot(row, wj)).max(0.0);
                        if m > 0.0 {
                            gj.iter_mut()
                                .zip(row)
                                .for_each(|(o, ri)| *o -= delta * m * ri);
                        }
                    }
                }
            }
            let mut znew: Vec<f64> = w.iter().zip(&grad).map(|(a, g)| a - step * g).collect();
            for cj in znew.chunks_mut(h) {
                prox(prog, norm_kind, step, cj);
            }
            let moved = znew
                .iter()
                .zip(&z)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            let scale = norm(&znew).max(1e-300);
            momentum_step(&mut w, &z, &znew, &mut tk);
            z = znew;
            if moved <= 1e-3 * s.tol * scale {
                break;
            }
        }
        c = z;
        for (j, cj) in c.chunks(h).enumerate() {
            for (row, l) in rows[j / 2].iter().zip(lam[j].iter_mut()) {
                *l = (*l - delta * dot(row, cj)).max(0.0);
            }
        }
        let obj = objective(&c);
        let change = (obj - prev).abs() / obj.abs().max(1e-300);
        prev = obj;
        if violation(&c) <= s.tol && change <= s.tol {
            status = SolveStatus::Solved;
            break;
        }
    }
    let info = ProxAlInfo {
        status,
        outer,
        inner: total_inner,
        objective: objective(&c),
        violation: violation(&c),
    };
    Ok((ConvexSolution { h, c }, info))
}

/// The extrapolation of FISTA with adaptive restart (O'Donoghue–Candès): from the new iterate
/// `znew` and the previous `z`, sets the next point `w` and the momentum counter `tk`; when the
/// step at `w` went uphill (`⟨w − znew, znew − z⟩ > 0`) the momentum restarts at `znew`.
pub(crate) fn momentum_step(w: &mut Vec<f64>, z: &[f64], znew: &[f64], tk: &mut f64) {
    let tnext = 0.5 * (1.0 + (1.0 + 4.0 * *tk * *tk).sqrt());
    let uphill: f64 = w
        .iter()
        .zip(znew)
        .zip(z)
        .map(|((wi, zn), zo)| (wi - zn) * (zn - zo))
        .sum();
    if uphill > 0.0 {
        *tk = 1.0;
        w.clear();
        w.extend_from_slice(znew);
    } else {
        let mom = (*tk - 1.0) / tnext;
        for ((wi, zn), zo) in w.iter_mut().zip(znew).zip(z) {
            *wi = zn + mom * (zn - zo);
        }
        *tk = tnext;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::tests::{gaussian, hand_program, one_sample_optimum, ALL_ON, ON_OFF};

    /// The penalty by hand: blocks `(3, 4)` and `(1, −1)` cost `β(5 + √2)` in the Euclidean
    /// norm and, with `h = 2` (`‖Fc‖₁/2 = ‖c‖∞`), `β(4 + 1)` in the spectral one.
    #[test]
    fn block_penalty_by_hand() {
        let prog = hand_program(&[ON_OFF], 3.0, 0.5);
        let c = [3.0, 4.0, 1.0, -1.0];
        let e = block_penalty(&prog, BlockNorm::Euclidean, &c);
        assert!((e - 0.5 * (5.0 + 2f64.sqrt())).abs() < 1e-14);
        let s = block_penalty(&prog, BlockNorm::SpectralL1, &c);
        assert!((s - 0.5 * 5.0).abs() < 1e-14);
        let w = block_penalty(&prog, BlockNorm::WeightedSpectral(&[1.0, 2.0]), &c);
        // |F₀c| = |c₀ + c₁|, |F₁c| = |c₀ − c₁|: (7 + 2·1) + (0 + 2·2).
        assert!((w - 13.0).abs() < 1e-14);
    }

    /// The Euclidean prox is the group soft threshold; the spectral prox minimizes
    /// `½‖x − v‖² + t(β/h)‖Fx‖₁` (checked against random perturbations of its output, which by
    /// convexity is enough) and keeps `x` real.
    #[test]
    fn proxes_minimize_their_objectives() {
        let mut prog = hand_program(&[ON_OFF], 3.0, 0.7);
        let mut c = [3.0, 4.0];
        prox(&prog, BlockNorm::Euclidean, 2.0, &mut c);
        assert!((c[0] - 3.0 * (1.0 - 1.4 / 5.0)).abs() < 1e-15);
        assert!((c[1] - 4.0 * (1.0 - 1.4 / 5.0)).abs() < 1e-15);
        prog.h = 6;
        let t = 0.8;
        let obj = |x: &[f64], v: &[f64]| {
            let d: f64 = x.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum();
            0.5 * d + t * 0.7 / 6.0 * spectral_moduli(x).iter().sum::<f64>()
        };
        for case in 0..20u64 {
            let v = gaussian(6, 900 + case);
            let mut x = v.clone();
            prox(&prog, BlockNorm::SpectralL1, t, &mut x);
            assert!(x.iter().all(|a| a.is_finite()));
            let best = obj(&x, &v);
            for k in 0..200u64 {
                let d = gaussian(6, 10_000 * (case + 1) + k);
                let eps = 1e-3 * (1.0 + (k % 4) as f64);
                let y: Vec<f64> = x.iter().zip(&d).map(|(a, b)| a + eps * b).collect();
                assert!(
                    obj(&y, &v) >= best - 1e-13,
                    "case {case}: perturbation {k} is lower"
                );
            }
        }
    }

    /// The hand optima (see the IPM tests): 1.375 on the on/off pattern, where the cone binds;
    /// `4.5 − (9 − ½)²/18` for the spectral norm on the all-on pattern.
    #[test]
    fn hand_optima() {
        let s = ProxAlSettings::default();
        let prog = hand_program(&[ON_OFF], 3.0, 0.5);
        let (sol, info) = solve_prox_al(&prog, BlockNorm::Euclidean, &s).unwrap();
        assert_eq!(info.status, SolveStatus::Solved);
        assert!((info.objective - 1.375).abs() < 1e-6, "{info:?}");
        assert!(
            (sol.var(0)[0] - 2.5).abs() < 1e-4 && sol.var(0)[1].abs() < 1e-4,
            "{sol:?}"
        );
        assert!(info.violation < 1e-8);
        let prog = hand_program(&[ALL_ON], 3.0, 0.5);
        let (_, info) = solve_prox_al(&prog, BlockNorm::SpectralL1, &s).unwrap();
        let want = one_sample_optimum(3.0, 3.0, 0.5);
        assert!((info.objective - want).abs() < 1e-6, "{info:?} vs {want}");
    }

    /// Momentum by hand: from `z = 0`, `znew = 1`, `w = 0.5`, `t = 1`: no restart,
    /// `t' = (1 + √5)/2`, `w = 1 + 0·(1 − 0) = 1`; then with `t = 2` and `w = 2` (uphill:
    /// `(2 − 1.5)(1.5 − 1) > 0`) the momentum restarts at `znew`.
    #[test]
    fn momentum_step_by_hand() {
        let mut w = vec![0.5];
        let mut t = 1.0;
        momentum_step(&mut w, &[0.0], &[1.0], &mut t);
        assert!((t - (1.0 + 5f64.sqrt()) / 2.0).abs() < 1e-15 && w == vec![1.0]);
        let mut t = 2.0;
        let mut w = vec![0.0];
        momentum_step(&mut w, &[1.0], &[1.5], &mut t);
        let tn = (1.0 + 17f64.sqrt()) / 2.0;
        assert!((w[0] - (1.5 + (1.0 / tn) * 0.5)).abs() < 1e-15 && t == tn);
        let mut w = vec![2.0];
        let mut t = 2.0;
        momentum_step(&mut w, &[1.0], &[1.5], &mut t);
        assert_eq!((w, t), (vec![1.5], 1.0));
    }

    /// Non-positive settings and wrong weights are refused.
    #[test]
    fn rejects_bad_settings() {
        let prog = hand_program(&[ON_OFF], 3.0, 0.5);
        let bad = [
            ProxAlSettings {
                outer: 0,
                ..Default::default()
            },
            ProxAlSettings {
                inner: 0,
                ..Default::default()
            },
            ProxAlSettings {
                delta: f64::NAN,
                ..Default::default()
            },
            ProxAlSettings {
                tol: 0.0,
                ..Default::default()
            },
        ];
        for s in bad {
            assert!(solve_prox_al(&prog, BlockNorm::Euclidean, &s).is_err());
        }
        let w = [1.0];
        let s = ProxAlSettings::default();
        assert!(solve_prox_al(&prog, BlockNorm::WeightedSpectral(&w), &s).is_err());
    }
}
