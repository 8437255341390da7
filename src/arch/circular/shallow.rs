//! The three-layer circular CNN with one ReLU, `L = 3` (MATH.md section 6):
//!
//! ```text
//! f(X) = Σ_j w_j (X (a_j ⊛ b_j))_+,   min ½‖f − y‖² + (β/2) Σ_j (‖b_j‖² + w_j²),  ‖a_j‖ ≤ 1
//! ```
//!
//! with `(a ⊛ b)_t = Σ_s a_s b_{(t−s) mod d}` on `R^d`. Its exact convex program is the two-layer
//! program over the sign patterns of `X` (one position, filter size `d`) with the block penalty
//! `(β/d)‖F z‖₁` in place of `β‖z‖₂`.
//!
//! **DFT convention** (rustfft): `F` is the unnormalized forward DFT,
//! `(Fz)_k = Σ_t z_t e^{−2πi kt/d}`, so that `F(a ⊛ b) = Fa ∘ Fb` and `‖Fa‖² = d‖a‖²`; the
//! inverse divides by `d`. `‖·‖₁` sums complex moduli over all `d` frequencies. Real filters keep
//! Hermitian spectra (`(Fz)_{d−k} = conj (Fz)_k`), and the recovery below preserves that.

use crate::data::SampleShape;
use crate::error::{Error, Result};
pub use crate::fourier::{dft, idft_real};
use crate::patches::{PatchSpec, Patches};
use crate::patterns::{enumerate_exact, Hyperplanes};
use crate::program::{ConvexSolution, Pooling, TwoLayerProgram};
use crate::solver::{solve_ipm_with, BlockNorm, IpmSettings, SolveStatus};
use rustfft::num_complex::Complex;

/// `‖Fz‖₁`, the sum of the spectrum's moduli.
pub fn spectral_l1(z: &[f64]) -> f64 {
    dft(z).iter().map(|c| c.norm()).sum()
}

/// Circular convolution `(a ⊛ b)_t = Σ_s a_s b_{(t−s) mod d}`, computed directly.
pub fn circular_conv(a: &[f64], b: &[f64]) -> Vec<f64> {
    let d = a.len();
    (0..d)
        .map(|t| (0..d).map(|s| a[s] * b[(t + d - s) % d]).sum())
        .collect()
}

/// A three-layer circular CNN with one ReLU (`m` units).
#[derive(Debug, Clone)]
pub struct CircularCnn {
    /// Signal length `d`.
    pub d: usize,
    /// First-layer filters `a_j`, `m × d` row-major (`‖a_j‖ ≤ 1`).
    pub a: Vec<f64>,
    /// Second-layer filters `b_j`, `m × d`.
    pub b: Vec<f64>,
    /// Output weights `w_j`.
    pub w: Vec<f64>,
}

impl CircularCnn {
    /// Units `m`.
    pub fn width(&self) -> usize {
        self.w.len()
    }

    /// Predictions for `n` samples of length `d` (row-major `n × d`), by direct convolution.
    pub fn predict(&self, x: &[f64]) -> Result<Vec<f64>> {
        let d = self.d;
        if d == 0 || x.len() % d != 0 {
            return Err(Error::Data(format!(
                "{} values are not whole signals of length {d}",
                x.len()
            )));
        }
        let qs: Vec<Vec<f64>> = (0..self.width())
            .map(|j| circular_conv(&self.a[j * d..(j + 1) * d], &self.b[j * d..(j + 1) * d]))
            .collect();
        Ok(x.chunks(d)
            .map(|xt| {
                qs.iter()
                    .zip(&self.w)
                    .map(|(q, w)| w * xt.iter().zip(q).map(|(u, v)| u * v).sum::<f64>().max(0.0))
                    .sum()
            })
            .collect())
    }

    /// `½‖f − y‖² + (β/2) Σ_j (‖b_j‖² + w_j²)`.
    pub fn objective(&self, x: &[f64], y: &[f64], beta: f64) -> Result<f64> {
        let f = self.predict(x)?;
        if f.len() != y.len() {
            return Err(Error::Data(format!(
                "{} targets for {} samples",
                y.len(),
                f.len()
            )));
        }
        let loss: f64 = crate::loss::half_squared(&f, y);
        let pen: f64 =
            self.b.iter().map(|v| v * v).sum::<f64>() + self.w.iter().map(|v| v * v).sum::<f64>();
        Ok(loss + 0.5 * beta * pen)
    }

    /// The largest `‖a_j‖` (the constraint is `≤ 1`).
    pub fn max_a_norm(&self) -> f64 {
        self.a
            .chunks(self.d.max(1))
            .map(|a| a.iter().map(|v| v * v).sum::<f64>().sqrt())
            .fold(0.0, f64::max)
    }
}

/// One unit from a block solution `z` of sign `sign` (MATH.md 6): `s = ‖Fz‖₁/d`, `w = ±√s`,
/// `q = z/√s`, `a = F⁻¹ √(c|Fq|)`, `b = F⁻¹ (√(|Fq|/c) e^{i arg Fq})`, `c = d/‖Fq‖₁`, so that
/// `a ⊛ b = q`, `‖a‖ = 1`, `‖b‖ = |w|` and the unit's penalty is `β s`.
pub fn unit_from_block(z: &[f64], sign: f64) -> Option<(Vec<f64>, Vec<f64>, f64)> {
    let d = z.len();
    let s = spectral_l1(z) / d as f64;
    if !(s > 0.0 && s.is_finite()) {
        return None;
    }
    let root = s.sqrt();
    let q: Vec<f64> = z.iter().map(|v| v / root).collect();
    let fq = dft(&q);
    let l1: f64 = fq.iter().map(|c| c.norm()).sum();
    let c = d as f64 / l1;
    let fa: Vec<Complex<f64>> = fq
        .iter()
        .map(|v| Complex::new((c * v.norm()).sqrt(), 0.0))
        .collect();
    let fb: Vec<Complex<f64>> = fq
        .iter()
        .map(|v| Complex::from_polar((v.norm() / c).sqrt(), v.arg()))
        .collect();
    Some((idft_real(&fa), idft_real(&fb), sign * root))
}

/// What an exact `L = 3` solve produces.
#[derive(Debug, Clone)]
pub struct CircularOutcome {
    /// Convex optimum `½‖f − y‖² + (β/d) Σ ‖F z‖₁` at the solver's point.
    pub objective: f64,
    /// Objective of the recovered network, from its own forward pass.
    pub network_objective: f64,
    /// The recovered network.
    pub network: CircularCnn,
    /// Patterns of `X` (exact enumeration).
    pub patterns: usize,
    /// Solver status.
    pub status: SolveStatus,
    /// Clarabel's dual objective (a lower bound up to the solver's tolerance).
    pub dual_objective: f64,
}

/// Solves the `L = 3` circular program exactly (all sign patterns of `X`, interior point) and
/// recovers the network. `x` is `n × d` row-major.
pub fn train_circular_exact(
    x: &[f64],
    d: usize,
    y: &[f64],
    beta: f64,
    ipm: &IpmSettings,
) -> Result<CircularOutcome> {
    crate::program::check_beta(beta)?;
    let (prog, sol, info, patterns) = solve_spectral(x, d, y, beta, BlockNorm::SpectralL1, ipm)?;
    let objective = spectral_objective(&prog, &sol);
    let net = recover_circular(&sol, d);
    let network_objective = net.objective(x, y, beta)?;
    Ok(CircularOutcome {
        objective,
        network_objective,
        network: net,
        patterns,
        status: info.status,
        dual_objective: info.solver_dual_objective,
    })
}

/// A lower bound on the `L = 3` program's optimum from the residual `v = y − f` of any point:
/// `g(sv) = s vᵀy − ½ s²‖v‖²` with `s ≤ β / γ`, `γ = d · max_{b, ±} max {±vᵀA_b z : z in block
/// b's cone, ‖F z‖₁ ≤ 1}` (the dual constraint of block `b` asks `±vᵀA_b z ≤ (β/d)‖F z‖₁` on its
/// cone; each max is a small cone program, [`crate::solver::spectral_cone_dual_norm`]), so the
/// scaled residual is dual feasible.
pub fn spectral_lower_bound(prog: &TwoLayerProgram, f: &[f64]) -> Result<f64> {
    let v: Vec<f64> = prog.y.iter().zip(f).map(|(a, b)| a - b).collect();
    let d = prog.h;
    let tight = IpmSettings {
        tol: 1e-10,
        ..IpmSettings::default()
    };
    let mut gamma: f64 = 0.0;
    for b in 0..prog.blocks.len() {
        let g = prog.adjoint_block(b, &v);
        let mut rows = Vec::with_capacity(prog.constraint_count(b) * d);
        for gi in prog.constraints(b) {
            let side = prog.side(b, gi);
            rows.extend(prog.hyperplanes.normal(gi).iter().map(|x| side * x));
        }
        let neg: Vec<f64> = g.iter().map(|x| -x).collect();
        for dir in [&g, &neg] {
            let m = crate::solver::spectral_cone_dual_norm(dir, &rows, &tight)?;
            gamma = gamma.max(d as f64 * m);
        }
    }
    let smax = if gamma > 0.0 {
        (prog.beta / gamma).min(1.0)
    } else {
        1.0
    };
    let vy: f64 = v.iter().zip(&prog.y).map(|(a, b)| a * b).sum();
    let vv: f64 = v.iter().map(|a| a * a).sum();
    let s = if vv > 0.0 {
        (vy / vv).clamp(0.0, smax)
    } else {
        0.0
    };
    Ok(s * vy - 0.5 * s * s * vv)
}

/// Solves the `L = 3` circular program with the first-order solver (augmented Lagrangian, FISTA
/// with the spectral-ℓ1 prox; [`crate::solver::solve_prox_al`]) and recovers the network.
/// `dual_objective` is [`spectral_lower_bound`] at the solver's point.
pub fn train_circular_first_order(
    x: &[f64],
    d: usize,
    y: &[f64],
    beta: f64,
    settings: &crate::solver::ProxAlSettings,
) -> Result<CircularOutcome> {
    crate::program::check_beta(beta)?;
    let (prog, patterns) = build_program(x, d, y, beta)?;
    let (sol, info) = crate::solver::solve_prox_al(&prog, BlockNorm::SpectralL1, settings)?;
    let net = recover_circular(&sol, d);
    let network_objective = net.objective(x, y, beta)?;
    Ok(CircularOutcome {
        objective: info.objective,
        network_objective,
        network: net,
        patterns,
        status: info.status,
        dual_objective: spectral_lower_bound(&prog, &prog.predict(&sol))?,
    })
}

/// One unit per non-zero block variable ([`unit_from_block`]).
fn recover_circular(sol: &ConvexSolution, d: usize) -> CircularCnn {
    let mut net = CircularCnn {
        d,
        a: Vec::new(),
        b: Vec::new(),
        w: Vec::new(),
    };
    let largest = sol
        .c
        .chunks(d)
        .map(|z| z.iter().map(|v| v * v).sum::<f64>().sqrt())
        .fold(0.0, f64::max);
    for (j, z) in sol.c.chunks(d).enumerate() {
        let nz = z.iter().map(|v| v * v).sum::<f64>().sqrt();
        if nz <= 1e-9 * largest {
            continue;
        }
        let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
        if let Some((a, b, w)) = unit_from_block(z, sign) {
            net.a.extend(a);
            net.b.extend(b);
            net.w.push(w);
        }
    }
    net
}

/// The program over all sign patterns of `X` (`n × d`) with the block penalty `norm`, by
/// interior point: the program, the solution, the solver's report and the pattern count.
pub(crate) fn solve_spectral(
    x: &[f64],
    d: usize,
    y: &[f64],
    beta: f64,
    norm: BlockNorm<'_>,
    ipm: &IpmSettings,
) -> Result<(
    TwoLayerProgram,
    ConvexSolution,
    crate::solver::IpmInfo,
    usize,
)> {
    let (prog, patterns) = build_program(x, d, y, beta)?;
    let (sol, info) = solve_ipm_with(&prog, norm, ipm)?;
    Ok((prog, sol, info, patterns))
}

/// Per-frequency costs `ω_k` of the weighted spectral group-ℓ1 penalty
/// `g(q) = Σ_B κ_B ‖P_B q‖` of MATH-DEEP.md section 2 for `layers = L` (times `β`): over the real
/// Fourier blocks `B` (DC; Nyquist for even `d`; cos/sin pairs `1 ≤ s < d/2`) with
/// `κ_DC = κ_Nyq = d^{(2−L)/2}` and `κ_pair = 2^{(L−2)/2} d^{(2−L)/2}`. With `F` unnormalized,
/// `‖P_DC q‖ = |F_0 q|/√d`, `‖P_Nyq q‖ = |F_{d/2} q|/√d` and `‖P_s q‖ = √(2/d)|F_s q|`, split
/// evenly between `k = s` and `k = d − s`. For `L = 3` every `ω_k = β/d`.
pub fn spectral_weights(d: usize, beta: f64, layers: usize) -> Vec<f64> {
    let df = d as f64;
    let l = layers as f64;
    let kappa = df.powf((2.0 - l) / 2.0);
    let kappa_pair = 2f64.powf((l - 2.0) / 2.0) * kappa;
    (0..d)
        .map(|k| {
            if k == 0 || 2 * k == d {
                beta * kappa / df.sqrt()
            } else {
                0.5 * beta * kappa_pair * (2.0 / df).sqrt()
            }
        })
        .collect()
}

/// The real Fourier blocks of `R^d` with orthonormal bases (`dim × d` row-major) and their
/// `κ_B` for `L` layers: DC, Nyquist (even `d`), and the cos/sin pairs `1 ≤ s < d/2`.
pub fn fourier_blocks(d: usize, layers: usize) -> Vec<(Vec<f64>, f64)> {
    let df = d as f64;
    let l = layers as f64;
    let kappa = df.powf((2.0 - l) / 2.0);
    let kappa_pair = 2f64.powf((l - 2.0) / 2.0) * kappa;
    let two_pi = 2.0 * std::f64::consts::PI;
    let mut out = vec![(vec![1.0 / df.sqrt(); d], kappa)];
    for s in 1..d.div_ceil(2) {
        let mut basis = Vec::with_capacity(2 * d);
        let c = (2.0 / df).sqrt();
        basis.extend((0..d).map(|t| c * (two_pi * ((s * t) % d) as f64 / df).cos()));
        basis.extend((0..d).map(|t| c * (two_pi * ((s * t) % d) as f64 / df).sin()));
        out.push((basis, kappa_pair));
    }
    if d % 2 == 0 && d > 0 {
        let sign = |t: usize| if t % 2 == 0 { 1.0 } else { -1.0 };
        out.push(((0..d).map(|t| sign(t) / df.sqrt()).collect(), kappa));
    }
    out
}

pub(crate) fn check_layers(layers: usize) -> Result<()> {
    if layers < 3 {
        return Err(Error::param(
            "layers",
            format!("circular CNNs have L ≥ 3 layers, got {layers}"),
        ));
    }
    Ok(())
}

/// The circular program over all sign patterns of `X` (`n × d` row-major, one position, filter
/// size `d`), for any solver and block norm ([`BlockNorm::SpectralL1`] for `L = 3`).
pub fn circular_program(x: &[f64], d: usize, y: &[f64], beta: f64) -> Result<TwoLayerProgram> {
    Ok(build_program(x, d, y, beta)?.0)
}

/// The program over all sign patterns of `X` (one position, filter size `d`), and the number
/// of patterns.
pub(crate) fn build_program(
    x: &[f64],
    d: usize,
    y: &[f64],
    beta: f64,
) -> Result<(TwoLayerProgram, usize)> {
    if d == 0 || x.len() % d != 0 || x.len() / d != y.len() || y.is_empty() {
        return Err(Error::Data(format!(
            "{} values and {} targets are not n signals of length {d}",
            x.len(),
            y.len()
        )));
    }
    let n = y.len();
    let shape = SampleShape {
        channels: 1,
        height: 1,
        width: d,
        one_d: true,
    };
    let spec = PatchSpec::one_d(d, 1, 0, false);
    let p = Patches::extract(x, n, &shape, &spec)?;
    let hp = Hyperplanes::from_patches(&p);
    let set = enumerate_exact(&p, &hp, 1 << 40, &mut |_, _| {})?;
    let patterns = set.len();
    Ok((
        TwoLayerProgram::new(&p, hp, &set, y, beta, Pooling::Sum)?,
        patterns,
    ))
}

/// `½‖Σ A_i (z_i − z'_i) − y‖² + (β/d) Σ (‖F z_i‖₁ + ‖F z'_i‖₁)`.
pub fn spectral_objective(prog: &TwoLayerProgram, sol: &ConvexSolution) -> f64 {
    let f = prog.predict(sol);
    let loss: f64 = f
        .iter()
        .zip(&prog.y)
        .map(|(a, b)| 0.5 * (a - b) * (a - b))
        .sum();
    let d = prog.h as f64;
    loss + prog.beta / d * sol.c.chunks(prog.h).map(spectral_l1).sum::<f64>()
}

/// Settings of [`train_circular_adam`].
pub use crate::nonconvex::FullBatchSettings as CircularAdamSettings;

/// Full-batch projected Adam on the non-convex circular network (`‖a_j‖ ≤ 1` kept by projection
/// after every step), from a seeded Gaussian start: the local method the exact program is
/// compared with. `x` is `n × d` row-major.
pub fn train_circular_adam(
    x: &[f64],
    d: usize,
    y: &[f64],
    beta: f64,
    s: &CircularAdamSettings,
) -> Result<CircularCnn> {
    let CircularAdamSettings {
        width,
        iters,
        lr,
        seed,
    } = *s;
    use crate::nonconvex::{Optimizer, OptimizerKind};

    if d == 0 || x.len() != d * y.len() || width == 0 {
        return Err(Error::Data(format!(
            "{} values, {} targets, length {d}, width {width}: not a circular training problem",
            x.len(),
            y.len()
        )));
    }
    let n = y.len();
    let mut draws = crate::nonconvex::Draws::new(seed);
    let mut draw = |k: usize, sd: f64| draws.draw(k, sd);
    let sd = 1.0 / (d as f64).sqrt();
    let mut net = CircularCnn {
        d,
        a: draw(width * d, sd),
        b: draw(width * d, sd),
        w: draw(width, 1.0 / (width as f64).sqrt()),
    };
    let project = |a: &mut [f64]| {
        for aj in a.chunks_mut(d) {
            let nrm = aj.iter().map(|v| v * v).sum::<f64>().sqrt();
            if nrm > 1.0 {
                aj.iter_mut().for_each(|v| *v /= nrm);
            }
        }
    };
    project(&mut net.a);
    let mut oa = Optimizer::new(OptimizerKind::Adam, lr, 0.0, net.a.len());
    let mut ob = Optimizer::new(OptimizerKind::Adam, lr, 0.0, net.b.len());
    let mut ow = Optimizer::new(OptimizerKind::Adam, lr, 0.0, net.w.len());
    let (mut ga, mut gb, mut gw) = (
        vec![0.0; net.a.len()],
        vec![0.0; net.b.len()],
        vec![0.0; net.w.len()],
    );
    for _ in 0..iters {
        let qs: Vec<Vec<f64>> = (0..width)
            .map(|j| circular_conv(&net.a[j * d..(j + 1) * d], &net.b[j * d..(j + 1) * d]))
            .collect();
        let mut f = vec![0.0; n];
        let mut z = vec![0.0; n * width];
        for t in 0..n {
            let xt = &x[t * d..(t + 1) * d];
            for j in 0..width {
                let v: f64 = xt.iter().zip(&qs[j]).map(|(u, q)| u * q).sum();
                z[t * width + j] = v;
                f[t] += net.w[j] * v.max(0.0);
            }
        }
        for j in 0..width {
            // ∂/∂q_j of the loss, then the chain rule through the circular convolution.
            let mut gq = vec![0.0; d];
            let mut gwj = beta * net.w[j];
            for t in 0..n {
                let r = f[t] - y[t];
                let v = z[t * width + j];
                if v > 0.0 {
                    gwj += r * v;
                    for (g, xv) in gq.iter_mut().zip(&x[t * d..(t + 1) * d]) {
                        *g += r * net.w[j] * xv;
                    }
                }
            }
            gw[j] = gwj;
            let (aj, bj) = (&net.a[j * d..(j + 1) * d], &net.b[j * d..(j + 1) * d]);
            for s in 0..d {
                ga[j * d + s] = (0..d).map(|t| gq[t] * bj[(t + d - s) % d]).sum();
                gb[j * d + s] =
                    beta * bj[s] + (0..d).map(|t| gq[t] * aj[(t + d - s) % d]).sum::<f64>();
            }
        }
        oa.step(&mut net.a, &ga);
        ob.step(&mut net.b, &gb);
        ow.step(&mut net.w, &gw);
        project(&mut net.a);
    }
    Ok(net)
}
