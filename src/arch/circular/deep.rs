//! Circular CNNs with `L ≥ 4` layers (MATH-DEEP.md section 2): the network, the single-frequency
//! upper-bound network, the frequency-component cone test that makes the lower bound exact, local
//! refinement, and the spectral path-norm variant (exact for every `L`).
//!
//! The network is `f(X) = Σ_j w_j (X q_j)_+` with `q_j = a_{1j} ⊛ … ⊛ a_{(L−2)j} ⊛ b_j`,
//! `‖a_{lj}‖ ≤ 1` and weight decay `(β/2) Σ_j (‖b_j‖² + w_j²)`.

use super::shallow::{
    build_program, check_layers, circular_conv, dft, fourier_blocks, solve_spectral,
    spectral_weights, unit_from_block,
};
use crate::error::{Error, Result};
use crate::program::{dot, norm};
use crate::solver::{solve_block_socp, BlockNorm, IpmSettings, SocpBlock};

/// A circular CNN with `L` layers and one ReLU.
#[derive(Debug, Clone)]
pub struct DeepCircularCnn {
    /// Signal length `d`.
    pub d: usize,
    /// Layers `L ≥ 3`.
    pub layers: usize,
    /// Unit-norm filters `a_{lj}`: per unit `j`, `L − 2` filters of length `d` (`m × (L−2) × d`).
    pub a: Vec<f64>,
    /// Filters `b_j`, `m × d`.
    pub b: Vec<f64>,
    /// Output weights `w_j`.
    pub w: Vec<f64>,
}

impl DeepCircularCnn {
    /// Units `m`.
    pub fn width(&self) -> usize {
        self.w.len()
    }

    fn unit_a(&self, j: usize) -> &[f64] {
        let per = (self.layers - 2) * self.d;
        &self.a[j * per..(j + 1) * per]
    }

    /// `q_j = a_{1j} ⊛ … ⊛ a_{(L−2)j} ⊛ b_j`, by direct circular convolution.
    pub fn q(&self, j: usize) -> Vec<f64> {
        let d = self.d;
        let mut q = self.b[j * d..(j + 1) * d].to_vec();
        for a in self.unit_a(j).chunks(d) {
            q = circular_conv(a, &q);
        }
        q
    }

    /// Predictions for `n` signals (row-major `n × d`).
    pub fn predict(&self, x: &[f64]) -> Result<Vec<f64>> {
        let d = self.d;
        if d == 0 || x.len() % d != 0 {
            return Err(Error::Data(format!(
                "{} values are not whole signals of length {d}",
                x.len()
            )));
        }
        let qs: Vec<Vec<f64>> = (0..self.width()).map(|j| self.q(j)).collect();
        Ok(x.chunks(d)
            .map(|xt| {
                qs.iter()
                    .zip(&self.w)
                    .map(|(q, w)| w * dot(xt, q).max(0.0))
                    .sum()
            })
            .collect())
    }

    fn loss(&self, x: &[f64], y: &[f64]) -> Result<f64> {
        let f = self.predict(x)?;
        if f.len() != y.len() {
            return Err(Error::Data(format!(
                "{} targets for {} samples",
                y.len(),
                f.len()
            )));
        }
        Ok(crate::loss::half_squared(&f, y))
    }

    /// `½‖f − y‖² + (β/2) Σ_j (‖b_j‖² + w_j²)` (weight decay; `‖a‖ ≤ 1` is a constraint).
    pub fn objective(&self, x: &[f64], y: &[f64], beta: f64) -> Result<f64> {
        let pen: f64 =
            self.b.iter().map(|v| v * v).sum::<f64>() + self.w.iter().map(|v| v * v).sum::<f64>();
        Ok(self.loss(x, y)? + 0.5 * beta * pen)
    }

    /// `½‖f − y‖² + β Σ_j ‖F(w_j q_j)‖₁` (the spectral path norm).
    pub fn path_norm_objective(&self, x: &[f64], y: &[f64], beta: f64) -> Result<f64> {
        let pen: f64 = (0..self.width())
            .map(|j| {
                let wq: Vec<f64> = self.q(j).iter().map(|v| self.w[j] * v).collect();
                crate::arch::circular::spectral_l1(&wq)
            })
            .sum();
        Ok(self.loss(x, y)? + beta * pen)
    }

    /// The largest `‖a_{lj}‖` (the constraint is `≤ 1`).
    pub fn max_a_norm(&self) -> f64 {
        self.a.chunks(self.d.max(1)).map(norm).fold(0.0, f64::max)
    }
}

/// The single-frequency upper bound and the network that attains it: every non-zero block `c`
/// of Fourier block `B` becomes one unit whose `a_l` are the unit-norm filters of `B`
/// (`1/√d`, `(−1)^t/√d` or `√(2/d) cos(2πst/d)`), which scale `B`'s components by `√d` (DC,
/// Nyquist) or `√(d/2)` (pairs); then `b = κ_B c/|w|`, `|w| = √(κ_B‖c‖)`, and the unit costs
/// `β κ_B ‖c‖`.
pub fn single_frequency_network(
    x: &[f64],
    d: usize,
    y: &[f64],
    beta: f64,
    layers: usize,
    ipm: &IpmSettings,
) -> Result<(f64, DeepCircularCnn)> {
    check_layers(layers)?;
    let n = y.len();
    let (prog, _) = build_program(x, d, y, beta)?;
    let fb = fourier_blocks(d, layers);
    let g_count = prog.hyperplanes.len();
    let mut blocks = Vec::new();
    let mut which = Vec::new();
    for b in 0..prog.blocks.len() {
        let a = &prog.blocks[b].a;
        for (fi, (basis, kappa)) in fb.iter().enumerate() {
            let dim = basis.len() / d;
            // A_i U_B and the constraint rows s_g n_gᵀ U_B.
            let mut av = vec![0.0; n * dim];
            for t in 0..n {
                for e in 0..dim {
                    av[t * dim + e] = dot(&a[t * d..(t + 1) * d], &basis[e * d..(e + 1) * d]);
                }
            }
            let mut cv = vec![0.0; g_count * dim];
            for g in 0..g_count {
                let side = prog.side(b, g);
                for e in 0..dim {
                    cv[g * dim + e] =
                        side * dot(prog.hyperplanes.normal(g), &basis[e * d..(e + 1) * d]);
                }
            }
            for sign in [1.0, -1.0] {
                blocks.push(SocpBlock {
                    dim,
                    a: av.clone(),
                    c: cv.clone(),
                    sign,
                    cost: beta * kappa,
                    groups: None,
                });
                which.push(fi);
            }
        }
    }
    let sol = solve_block_socp(y, &blocks, ipm)?;
    let largest = sol.theta.iter().map(|t| norm(t)).fold(0.0, f64::max);
    let mut net = DeepCircularCnn {
        d,
        layers,
        a: Vec::new(),
        b: Vec::new(),
        w: Vec::new(),
    };
    for ((blk, th), &fi) in blocks.iter().zip(&sol.theta).zip(&which) {
        let nc = norm(th);
        if nc <= 1e-9 * largest || nc == 0.0 {
            continue;
        }
        let (basis, kappa) = &fb[fi];
        let c: Vec<f64> = (0..d)
            .map(|r| (0..blk.dim).map(|e| th[e] * basis[e * d + r]).sum())
            .collect();
        // The unit-norm filter of the block: the first basis vector (cos for a pair).
        let a1: Vec<f64> = basis[..d].to_vec();
        let a1n = norm(&a1);
        let a1: Vec<f64> = a1.iter().map(|v| v / a1n).collect();
        let w = (kappa * nc).sqrt();
        for _ in 0..layers - 2 {
            net.a.extend_from_slice(&a1);
        }
        net.b.extend(c.iter().map(|v| kappa * v / w));
        net.w.push(blk.sign * w);
    }
    // The program's objective at the solution (the network's own is checked by the tests).
    let mut f = vec![0.0; n];
    for (blk, th) in blocks.iter().zip(&sol.theta) {
        for (t, ft) in f.iter_mut().enumerate() {
            *ft += blk.sign * dot(&blk.a[t * blk.dim..(t + 1) * blk.dim], th);
        }
    }
    let loss: f64 = crate::loss::half_squared(&f, y);
    let pen: f64 = blocks
        .iter()
        .zip(&sol.theta)
        .map(|(b, t)| b.cost * norm(t))
        .sum();
    Ok((loss + pen, net))
}

/// The lower bound with its frequency-component cone test (MATH-DEEP.md section 2).
#[derive(Debug, Clone, Copy)]
pub struct LowerBound {
    /// The weighted spectral group-ℓ1 optimum: `≤` the non-convex optimum.
    pub value: f64,
    /// Whether every real Fourier component of every active block lies in its block's cone; then
    /// each component is a single-frequency unit of the same total cost and the bound is exact.
    pub cone_test: bool,
}

/// The lower bound of [`crate::arch::circular::circular_lower_bound`] plus the frequency-component cone
/// test. Components smaller than `1e-7` of the largest are ignored, and a component passes when
/// its constraint values are `≥ −1e-7‖P_B z‖` (interior-point solutions sit near the faces).
pub fn lower_bound_with_cone_test(
    x: &[f64],
    d: usize,
    y: &[f64],
    beta: f64,
    layers: usize,
    ipm: &IpmSettings,
) -> Result<LowerBound> {
    check_layers(layers)?;
    let w = spectral_weights(d, beta, layers);
    let (prog, sol, _, _) = solve_spectral(x, d, y, beta, BlockNorm::WeightedSpectral(&w), ipm)?;
    let f = prog.predict(&sol);
    let loss: f64 = crate::loss::half_squared(&f, y);
    let pen: f64 = sol
        .c
        .chunks(d)
        .map(|z| {
            dft(z)
                .iter()
                .zip(&w)
                .map(|(c, wk)| wk * c.norm())
                .sum::<f64>()
        })
        .sum();
    let fb = fourier_blocks(d, layers);
    let largest = sol.c.chunks(d).map(norm).fold(0.0, f64::max);
    let mut pass = true;
    for (j, z) in sol.c.chunks(d).enumerate() {
        if norm(z) <= 1e-7 * largest {
            continue;
        }
        for (basis, _) in &fb {
            let dim = basis.len() / d;
            let coef: Vec<f64> = (0..dim)
                .map(|e| dot(&basis[e * d..(e + 1) * d], z))
                .collect();
            let comp: Vec<f64> = (0..d)
                .map(|r| (0..dim).map(|e| coef[e] * basis[e * d + r]).sum())
                .collect();
            let nc = norm(&comp);
            if nc <= 1e-7 * largest {
                continue;
            }
            let b = j / 2;
            if prog
                .constraints(b)
                .any(|g| prog.side(b, g) * dot(prog.hyperplanes.normal(g), &comp) < -1e-7 * nc)
            {
                pass = false;
            }
        }
    }
    Ok(LowerBound {
        value: loss + pen,
        cone_test: pass,
    })
}

/// Settings of [`refine`].
#[derive(Debug, Clone, Copy)]
pub struct RefineSettings {
    /// Full-batch Adam steps.
    pub iters: usize,
    /// Learning rate.
    pub lr: f64,
    /// Standard deviation of the seeded Gaussian perturbation of the start's filters (a
    /// single-frequency network is a stationary point: its gradients stay in its frequencies).
    pub noise: f64,
    /// Seed of the perturbation.
    pub seed: u64,
}

/// Local refinement: full-batch projected Adam on the deep network from a perturbed `start`
/// (each `a_{lj}` projected onto the unit ball after every step). Returns the best network seen
/// (the unperturbed start included) and its objective, so the result is never worse than the
/// start.
pub fn refine(
    x: &[f64],
    y: &[f64],
    beta: f64,
    start: &DeepCircularCnn,
    s: &RefineSettings,
) -> Result<(DeepCircularCnn, f64)> {
    use crate::nonconvex::{Optimizer, OptimizerKind};
    use rand::SeedableRng;
    use rand_distr::Distribution;
    let (iters, lr) = (s.iters, s.lr);
    let (d, l, m) = (start.d, start.layers, start.width());
    let n = y.len();
    if d == 0 || x.len() != n * d {
        return Err(Error::Data(format!(
            "{} values and {n} targets are not signals of length {d}",
            x.len()
        )));
    }
    let mut net = start.clone();
    let mut best = (net.clone(), net.objective(x, y, beta)?);
    if m == 0 {
        return Ok(best);
    }
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(s.seed);
    for v in net.a.iter_mut().chain(net.b.iter_mut()) {
        *v += s.noise * Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut rng);
    }
    for a in net.a.chunks_mut(d) {
        let na = norm(a);
        if na > 1.0 {
            a.iter_mut().for_each(|v| *v /= na);
        }
    }
    let mut oa = Optimizer::new(OptimizerKind::Adam, lr, 0.0, net.a.len());
    let mut ob = Optimizer::new(OptimizerKind::Adam, lr, 0.0, net.b.len());
    let mut ow = Optimizer::new(OptimizerKind::Adam, lr, 0.0, net.w.len());
    let (mut ga, mut gb, mut gw) = (
        vec![0.0; net.a.len()],
        vec![0.0; net.b.len()],
        vec![0.0; net.w.len()],
    );
    let per = (l - 2) * d;
    for _ in 0..iters {
        let qs: Vec<Vec<f64>> = (0..m).map(|j| net.q(j)).collect();
        let mut f = vec![0.0; n];
        let mut z = vec![0.0; n * m];
        for (t, xt) in x.chunks(d).enumerate() {
            for j in 0..m {
                z[t * m + j] = dot(xt, &qs[j]);
                f[t] += net.w[j] * z[t * m + j].max(0.0);
            }
        }
        for j in 0..m {
            let mut gq = vec![0.0; d];
            gw[j] = beta * net.w[j];
            for (t, xt) in x.chunks(d).enumerate() {
                let v = z[t * m + j];
                if v > 0.0 {
                    let r = f[t] - y[t];
                    gw[j] += r * v;
                    for (g, xv) in gq.iter_mut().zip(xt) {
                        *g += r * net.w[j] * xv;
                    }
                }
            }
            // q = a_l ⊛ R_l (R_l: the other factors), so ∂/∂a_l[s] = Σ_t gq[t] R_l[(t − s) mod d].
            let factors: Vec<Vec<f64>> = net
                .unit_a(j)
                .chunks(d)
                .map(|a| a.to_vec())
                .chain(std::iter::once(net.b[j * d..(j + 1) * d].to_vec()))
                .collect();
            for (li, _) in factors.iter().enumerate() {
                let mut rest = vec![0.0; d];
                rest[0] = 1.0;
                for (o, fo) in factors.iter().enumerate() {
                    if o != li {
                        rest = circular_conv(fo, &rest);
                    }
                }
                let g: Vec<f64> = (0..d)
                    .map(|s| (0..d).map(|t| gq[t] * rest[(t + d - s) % d]).sum())
                    .collect();
                if li < l - 2 {
                    ga[j * per + li * d..j * per + (li + 1) * d].copy_from_slice(&g);
                } else {
                    for (e, gv) in g.iter().enumerate() {
                        gb[j * d + e] = gv + beta * net.b[j * d + e];
                    }
                }
            }
        }
        oa.step(&mut net.a, &ga);
        ob.step(&mut net.b, &gb);
        ow.step(&mut net.w, &gw);
        for a in net.a.chunks_mut(d) {
            let na = norm(a);
            if na > 1.0 {
                a.iter_mut().for_each(|v| *v /= na);
            }
        }
        let v = net.objective(x, y, beta)?;
        if v < best.1 {
            best = (net.clone(), v);
        }
    }
    Ok(best)
}

/// The spectral path-norm variant (MATH-DEEP.md section 2), exact for every `L`: with the
/// regularizer `β Σ_j ‖F(w_j q_j)‖₁` the program is the `L = 3` program with penalty
/// `β Σ (‖F z‖₁ + ‖F z'‖₁)`. The regularizer does not depend on how `q_j` factors, so the
/// network uses the `L = 3` units of [`unit_from_block`] with `L − 3` further identity filters
/// (`δ`, unit norm). Returns the optimum and the network.
pub fn path_norm_network(
    x: &[f64],
    d: usize,
    y: &[f64],
    beta: f64,
    layers: usize,
    ipm: &IpmSettings,
) -> Result<(f64, DeepCircularCnn)> {
    check_layers(layers)?;
    crate::program::check_beta(beta)?;
    // (β'/d)‖Fz‖₁ with β' = βd is β‖Fz‖₁.
    let bd = beta * d as f64;
    let (prog, sol, _, _) = solve_spectral(x, d, y, bd, BlockNorm::SpectralL1, ipm)?;
    let objective = crate::arch::circular::spectral_objective(&prog, &sol);
    let largest = sol.c.chunks(d).map(norm).fold(0.0, f64::max);
    let mut delta = vec![0.0; d];
    delta[0] = 1.0;
    let mut net = DeepCircularCnn {
        d,
        layers,
        a: Vec::new(),
        b: Vec::new(),
        w: Vec::new(),
    };
    for (j, z) in sol.c.chunks(d).enumerate() {
        if norm(z) <= 1e-9 * largest {
            continue;
        }
        let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
        if let Some((a, b, w)) = unit_from_block(z, sign) {
            net.a.extend(a);
            for _ in 0..layers - 3 {
                net.a.extend_from_slice(&delta);
            }
            net.b.extend(b);
            net.w.push(w);
        }
    }
    Ok((objective, net))
}

/// The lower bound of MATH-DEEP.md section 2 for the circular CNN with `layers = L ≥ 3`
/// (`L − 2` unit-norm circular layers before `b`): the optimum of the program with the weighted
/// spectral group-ℓ1 penalty ([`spectral_weights`]), which is `≤` the non-convex optimum because
/// `ρ_L ≥ g` for `p = 2/(L−1) ≤ 1`. For `L = 3` it is the exact optimum.
pub fn circular_lower_bound(
    x: &[f64],
    d: usize,
    y: &[f64],
    beta: f64,
    layers: usize,
    ipm: &IpmSettings,
) -> Result<f64> {
    Ok(crate::arch::circular::lower_bound_with_cone_test(x, d, y, beta, layers, ipm)?.value)
}

/// The single-frequency upper bound of MATH-DEEP.md section 2 for `layers = L ≥ 3`: the
/// program restricted to variables `c_{i,B,±}` that each lie in one real Fourier block `B` and in
/// their pattern's cone, with cost `β κ_B ‖c_{i,B}‖` (= `β ρ_L(c)` for a single-block `c`).
/// Every non-zero block is one unit with single-frequency first layers, so this value is attained
/// by a network and bounds the non-convex optimum from above.
pub fn circular_single_frequency_bound(
    x: &[f64],
    d: usize,
    y: &[f64],
    beta: f64,
    layers: usize,
    ipm: &IpmSettings,
) -> Result<f64> {
    Ok(crate::arch::circular::single_frequency_network(x, d, y, beta, layers, ipm)?.0)
}
