//! The convex program of the two-layer ReLU CNN with global sum or average pooling
//! (MATH.md section 3):
//!
//! ```text
//! min_{c_i, c'_i}  ½‖Σ_i A_i (c_i − c'_i) − y‖² + β Σ_i (‖c_i‖₂ + ‖c'_i‖₂)
//! s.t.  (2D_i^k − I) X_k c_i ≥ 0,  (2D_i^k − I) X_k c'_i ≥ 0
//! ```
//!
//! with `A_i = Σ_k D_i^k X_k` (times `1/K` for average pooling). The constraints of block `i` are
//! kept in factored form: one row `s_g n_g` per distinct hyperplane `g` of the patch matrix
//! (rows on the same hyperplane give the same constraint, zero patches give none).

pub mod maxpool;
pub mod multi;
pub mod operator;

pub use crate::algebra::{dot, norm};
use crate::error::{Error, Result};
use crate::patches::Patches;
use crate::patterns::{Hyperplanes, PatternSet};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Global pooling of the two-layer CNN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// `f = Σ_j w_j Σ_k (X_k u_j)_+`.
    Sum,
    /// `f = Σ_j w_j (1/K) Σ_k (X_k u_j)_+`.
    Avg,
    /// `f = Σ_j w_j max_k (X_k u_j)_+` (MATH.md section 5; see [`crate::program::maxpool`]).
    Max,
}

impl Pooling {
    /// The factor applied to the sum over positions (1 for max pooling, which does not sum).
    pub fn scale(self, k: usize) -> f64 {
        match self {
            Pooling::Sum | Pooling::Max => 1.0,
            Pooling::Avg => 1.0 / k as f64,
        }
    }

    /// Pools the ReLU outputs `(z_k)_+` of one filter over the positions.
    pub fn pool(self, z: impl Iterator<Item = f64>, k: usize) -> f64 {
        match self {
            Pooling::Sum | Pooling::Avg => self.scale(k) * z.map(|v| v.max(0.0)).sum::<f64>(),
            Pooling::Max => z.fold(0.0, f64::max),
        }
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Pooling::Sum => "sum",
            Pooling::Avg => "avg",
            Pooling::Max => "max",
        }
    }
}

/// One pattern's block: `A_i` and its pattern bits.
#[derive(Debug, Clone)]
pub struct Block {
    /// Index of the pattern in the pattern set it came from.
    pub pattern: usize,
    /// `A_i`, `n × h` row-major (pooling scale included).
    pub a: Vec<f64>,
    /// Pattern bits over the distinct hyperplanes.
    pub bits: Vec<u64>,
    /// The hyperplanes that constrain this block's cone (`s_g n_gᵀc ≥ 0` for `g` in the list);
    /// `None` means all of them (sum and average pooling).
    pub constraints: Option<Vec<u32>>,
}

/// The assembled convex program of a two-layer CNN with scalar output and squared loss.
#[derive(Debug, Clone)]
pub struct TwoLayerProgram {
    /// Samples `n`.
    pub n: usize,
    /// Filter size `h`.
    pub h: usize,
    /// Positions `K`.
    pub k: usize,
    /// Pooling.
    pub pool: Pooling,
    /// Targets.
    pub y: Vec<f64>,
    /// Weight decay `β`.
    pub beta: f64,
    /// Distinct hyperplanes (the constraint normals).
    pub hyperplanes: Hyperplanes,
    /// Blocks, one per pattern with `A_i ≠ 0`.
    pub blocks: Vec<Block>,
}

/// A point of the convex program: for block `b`, `c_b` is `x[2b]`, `c'_b` is `x[2b+1]`
/// (each of length `h`), stored contiguously.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvexSolution {
    /// Filter size `h`.
    pub h: usize,
    /// `2·blocks·h` values.
    pub c: Vec<f64>,
}

impl ConvexSolution {
    /// The zero point for `blocks` blocks.
    pub fn zeros(blocks: usize, h: usize) -> Self {
        ConvexSolution {
            h,
            c: vec![0.0; 2 * blocks * h],
        }
    }

    /// Variable `j` (`j = 2b` is `c_b`, `j = 2b + 1` is `c'_b`).
    pub fn var(&self, j: usize) -> &[f64] {
        &self.c[j * self.h..(j + 1) * self.h]
    }

    /// Mutable variable `j`.
    pub fn var_mut(&mut self, j: usize) -> &mut [f64] {
        &mut self.c[j * self.h..(j + 1) * self.h]
    }

    /// Number of variables (`2·blocks`).
    pub fn vars(&self) -> usize {
        self.c.len() / self.h
    }
}

/// `β` must be positive and finite: the error every program gives otherwise.
pub(crate) fn check_beta(beta: f64) -> Result<()> {
    if beta > 0.0 && beta.is_finite() {
        Ok(())
    } else {
        Err(Error::param(
            "beta",
            format!("β must be positive and finite, got {beta}"),
        ))
    }
}

impl TwoLayerProgram {
    /// Assembles the program for the patterns in `set`. Patterns whose `A_i` is zero (every
    /// active row a zero patch) are dropped: such a block can only add penalty.
    pub fn new(
        patches: &Patches,
        hyperplanes: Hyperplanes,
        set: &PatternSet,
        y: &[f64],
        beta: f64,
        pool: Pooling,
    ) -> Result<Self> {
        crate::program::check_beta(beta)?;
        crate::data::check_targets(y, patches.n)?;
        if pool == Pooling::Max {
            return Err(Error::param(
                "pool",
                "max pooling is assembled by crate::program::maxpool::max_program",
            ));
        }
        let (n, h, k) = (patches.n, patches.h, patches.k);
        let scale = pool.scale(k);
        let mut blocks = Vec::with_capacity(set.len());
        for i in 0..set.len() {
            let bits = set.pattern(i);
            let d = hyperplanes.row_pattern(bits);
            let mut a = vec![0.0; n * h];
            for kk in 0..k {
                for t in 0..n {
                    let r = kk * n + t;
                    if d[r] {
                        for (ai, xi) in a[t * h..(t + 1) * h].iter_mut().zip(patches.row(r)) {
                            *ai += scale * xi;
                        }
                    }
                }
            }
            if a.iter().all(|v| *v == 0.0) {
                continue;
            }
            blocks.push(Block {
                pattern: i,
                a,
                bits: bits.to_vec(),
                constraints: None,
            });
        }
        Ok(TwoLayerProgram {
            n,
            h,
            k,
            pool,
            y: y.to_vec(),
            beta,
            hyperplanes,
            blocks,
        })
    }

    /// The program restricted to the listed blocks (in that order).
    pub fn subset(&self, blocks: &[usize]) -> TwoLayerProgram {
        TwoLayerProgram {
            n: self.n,
            h: self.h,
            k: self.k,
            pool: self.pool,
            y: self.y.clone(),
            beta: self.beta,
            hyperplanes: self.hyperplanes.clone(),
            blocks: blocks.iter().map(|&b| self.blocks[b].clone()).collect(),
        }
    }

    /// The program with each block's constraints cut down to the facets of its cell, given every
    /// region of the arrangement (exact enumeration): hyperplane `g` bounds the cell of a
    /// pattern exactly when the pattern with bit `g` flipped is a region too. The cones, hence
    /// the optimum and every `γ_b`, are unchanged; a region missing from `regions` only leaves
    /// a facet out, which enlarges a cone, so a certificate computed on the result stays valid
    /// (its `γ` can only grow).
    pub fn with_cell_facets(&self, regions: &PatternSet) -> TwoLayerProgram {
        let blocks = self
            .blocks
            .par_iter()
            .enumerate()
            .map(|(b, block)| {
                let mut bits = block.bits.clone();
                let facets: Vec<u32> = self
                    .constraints(b)
                    .filter(|&g| {
                        bits[g / 64] ^= 1 << (g % 64);
                        let found = regions.contains(&bits);
                        bits[g / 64] ^= 1 << (g % 64);
                        found
                    })
                    .map(|g| g as u32)
                    .collect();
                Block {
                    constraints: Some(facets),
                    ..block.clone()
                }
            })
            .collect();
        TwoLayerProgram {
            blocks,
            y: self.y.clone(),
            hyperplanes: self.hyperplanes.clone(),
            ..*self
        }
    }

    /// Sign `s_g` of hyperplane `g` in block `b` (`+1` when the pattern is on the positive side).
    pub fn side(&self, b: usize, g: usize) -> f64 {
        if crate::patterns::get_bit(&self.blocks[b].bits, g) {
            1.0
        } else {
            -1.0
        }
    }

    /// The hyperplanes that constrain block `b`.
    pub fn constraints(&self, b: usize) -> Constraints<'_> {
        match &self.blocks[b].constraints {
            Some(list) => Constraints::List(list.iter()),
            None => Constraints::All(0..self.hyperplanes.len()),
        }
    }

    /// Number of constraints of block `b`.
    pub fn constraint_count(&self, b: usize) -> usize {
        match &self.blocks[b].constraints {
            Some(list) => list.len(),
            None => self.hyperplanes.len(),
        }
    }

    /// `A_b c` added into `out` with factor `alpha`.
    pub fn apply_block(&self, b: usize, c: &[f64], alpha: f64, out: &mut [f64]) {
        let a = &self.blocks[b].a;
        for (t, o) in out.iter_mut().enumerate() {
            *o += alpha * dot(&a[t * self.h..(t + 1) * self.h], c);
        }
    }

    /// `A_bᵀ v`.
    pub fn adjoint_block(&self, b: usize, v: &[f64]) -> Vec<f64> {
        let a = &self.blocks[b].a;
        let mut g = vec![0.0; self.h];
        for (t, vt) in v.iter().enumerate() {
            for (gi, ai) in g.iter_mut().zip(&a[t * self.h..(t + 1) * self.h]) {
                *gi += vt * ai;
            }
        }
        g
    }

    /// The prediction `Σ_b A_b (c_b − c'_b)`.
    pub fn predict(&self, sol: &ConvexSolution) -> Vec<f64> {
        let mut f = vec![0.0; self.n];
        for b in 0..self.blocks.len() {
            self.apply_block(b, sol.var(2 * b), 1.0, &mut f);
            self.apply_block(b, sol.var(2 * b + 1), -1.0, &mut f);
        }
        f
    }

    /// The convex objective `½‖f − y‖² + β Σ (‖c‖ + ‖c'‖)`.
    pub fn objective(&self, sol: &ConvexSolution) -> f64 {
        let f = self.predict(sol);
        let loss: f64 = f
            .iter()
            .zip(&self.y)
            .map(|(a, b)| 0.5 * (a - b) * (a - b))
            .sum();
        let pen: f64 = (0..sol.vars()).map(|j| norm(sol.var(j))).sum();
        loss + self.beta * pen
    }

    /// Largest violation `max(0, −s_g n_gᵀ c)` of the cone constraints, relative to `‖c‖`
    /// (0 for a feasible point).
    pub fn max_violation(&self, sol: &ConvexSolution) -> f64 {
        let mut worst: f64 = 0.0;
        for j in 0..sol.vars() {
            let c = sol.var(j);
            let nc = norm(c);
            if nc == 0.0 {
                continue;
            }
            let b = j / 2;
            for g in self.constraints(b) {
                let v = self.side(b, g) * dot(self.hyperplanes.normal(g), c);
                worst = worst.max(-v / nc);
            }
        }
        worst
    }
}

/// The hyperplane indices that constrain one block (see [`TwoLayerProgram::constraints`]).
#[derive(Debug, Clone)]
pub enum Constraints<'a> {
    /// Every hyperplane.
    All(std::ops::Range<usize>),
    /// A listed subset.
    List(std::slice::Iter<'a, u32>),
}

impl Iterator for Constraints<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        match self {
            Constraints::All(r) => r.next(),
            Constraints::List(it) => it.next().map(|g| *g as usize),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Fixtures shared by the unit tests of the programs, solvers and certificates, and the tests
    //! of [`TwoLayerProgram`].

    use super::*;
    use crate::data::SampleShape;
    use crate::patches::PatchSpec;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    /// `len` standard normal values from a seeded ChaCha8 generator.
    pub(crate) fn gaussian(len: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
        (0..len).map(|_| StandardNormal.sample(&mut rng)).collect()
    }

    /// The hand example: one sample with two patches `x₁ = (1, 1)`, `x₂ = (0, 1)` (`h = K = 2`).
    /// Its hyperplanes are `n₀ = (1, 1)/√2` and `n₁ = (0, 1)`.
    pub(crate) fn hand_patches() -> Patches {
        Patches {
            n: 1,
            k: 2,
            h: 2,
            out_dims: (1, 2),
            data: vec![1.0, 1.0, 0.0, 1.0],
        }
    }

    /// On `x₁` (value ½), off `x₂` (value −½): `A = x₁ = (1, 1)`, cone `{u₀ + u₁ ≥ 0, u₁ ≤ 0}`,
    /// whose projection of `A` is `(1, 0)`: `γ = 1` (while `‖A‖ = √2`).
    pub(crate) const ON_OFF: [f64; 2] = [1.0, -0.5];
    /// On both patches: `A = x₁ + x₂ = (1, 2)` inside its cone `{u₀ + u₁ ≥ 0, u₁ ≥ 0}`: `γ = √5`.
    pub(crate) const ALL_ON: [f64; 2] = [1.0, 1.0];

    /// `min_{t ≥ 0} ½(γt − |y|)² + βt = y²/2 − (γ|y| − β)_+²/(2γ²)`: the optimum of a one-sample
    /// program whose best direction reaches `γ` per unit of norm.
    pub(crate) fn one_sample_optimum(gamma: f64, y: f64, beta: f64) -> f64 {
        let r = (gamma * y.abs() - beta).max(0.0);
        0.5 * y * y - r * r / (2.0 * gamma * gamma)
    }

    /// The distinct patterns of `filters`, in order of first appearance, with the first filter
    /// that produced each.
    pub(crate) fn patterns_of(
        hp: &Hyperplanes,
        filters: &[Vec<f64>],
    ) -> (PatternSet, Vec<Vec<f64>>) {
        let mut set = PatternSet::new(hp.len());
        let mut bits = vec![0u64; set.words()];
        let mut first = Vec::new();
        for u in filters {
            hp.signs_of(u, &mut bits);
            if set.insert(&bits) {
                first.push(u.clone());
            }
        }
        (set, first)
    }

    /// `n` random 1-D signals of length `len` and their patches (kernel `f`, stride 1, no
    /// padding, no bias).
    pub(crate) fn random_patches(n: usize, len: usize, f: usize, seed: u64) -> (Patches, Vec<f64>) {
        let x = gaussian(n * len, seed);
        let shape = SampleShape {
            channels: 1,
            height: 1,
            width: len,
            one_d: true,
        };
        let p = Patches::extract(&x, n, &shape, &PatchSpec::one_d(f, 1, 0, false)).unwrap();
        (p, x)
    }

    /// `x_{t,k}ᵀu` straight from the raw signals (kernel `u.len()`, stride 1, no padding).
    pub(crate) fn raw_conv(x: &[f64], n: usize, len: usize, u: &[f64]) -> Vec<Vec<f64>> {
        let f = u.len();
        (0..n)
            .map(|t| {
                (0..=len - f)
                    .map(|k| (0..f).map(|j| x[t * len + k + j] * u[j]).sum())
                    .collect()
            })
            .collect()
    }

    /// The largest `|x_rᵀu| / (‖x_r‖‖u‖)` over the non-zero patches `x_r`.
    pub(crate) fn largest_cosine(p: &Patches, u: &[f64]) -> f64 {
        (0..p.rows())
            .map(|r| p.row(r))
            .filter(|x| norm(x) > 0.0)
            .map(|x| dot(x, u).abs() / (norm(x) * norm(u)))
            .fold(0.0, f64::max)
    }

    /// The hand program over the patterns of `filters`.
    pub(crate) fn hand_program(filters: &[[f64; 2]], y: f64, beta: f64) -> TwoLayerProgram {
        let p = hand_patches();
        let hp = Hyperplanes::from_patches(&p);
        let f: Vec<Vec<f64>> = filters.iter().map(|u| u.to_vec()).collect();
        let (set, _) = patterns_of(&hp, &f);
        TwoLayerProgram::new(&p, hp, &set, &[y], beta, Pooling::Sum).unwrap()
    }

    /// Pooling values by hand: sums of the positive parts, their mean, and the largest (≥ 0).
    #[test]
    fn pooling_by_hand() {
        let z = [1.0, -2.0, 3.0];
        assert_eq!(Pooling::Sum.pool(z.iter().copied(), 3), 4.0);
        assert!((Pooling::Avg.pool(z.iter().copied(), 3) - 4.0 / 3.0).abs() < 1e-15);
        assert_eq!(Pooling::Max.pool(z.iter().copied(), 3), 3.0);
        assert_eq!(Pooling::Max.pool([-1.0, -2.0].into_iter(), 2), 0.0);
        assert_eq!(Pooling::Avg.scale(4), 0.25);
        assert_eq!(Pooling::Max.scale(4), 1.0);
        assert_eq!(Pooling::Sum.scale(4), 1.0);
    }

    /// `β` must be positive and finite.
    #[test]
    fn check_beta_rejects_nonpositive_and_nonfinite() {
        assert!(check_beta(0.3).is_ok());
        for b in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(check_beta(b).is_err(), "{b}");
        }
    }

    /// A block with its generating filter `u` predicts `Σ_k (x_{t,k}ᵀu)_+` (times `1/K` for
    /// average pooling), computed from the raw signals; `c'` enters with a minus sign.
    #[test]
    fn blocks_reproduce_the_relu_sum_of_their_filter() {
        let (n, len, f) = (4, 7, 3);
        let (p, x) = random_patches(n, len, f, 11);
        let hp = Hyperplanes::from_patches(&p);
        let filters: Vec<Vec<f64>> = (0..12).map(|s| gaussian(f, 100 + s)).collect();
        let (set, first) = patterns_of(&hp, &filters);
        let y = vec![0.0; n];
        for pool in [Pooling::Sum, Pooling::Avg] {
            let prog = TwoLayerProgram::new(&p, hp.clone(), &set, &y, 1.0, pool).unwrap();
            assert_eq!(prog.blocks.len(), set.len());
            for b in 0..prog.blocks.len() {
                let u = &first[prog.blocks[b].pattern];
                let want: Vec<f64> = raw_conv(&x, n, len, u)
                    .iter()
                    .map(|row| pool.pool(row.iter().copied(), p.k))
                    .collect();
                for (j, sign) in [(2 * b, 1.0), (2 * b + 1, -1.0)] {
                    let mut sol = ConvexSolution::zeros(prog.blocks.len(), f);
                    sol.var_mut(j).copy_from_slice(u);
                    let got = prog.predict(&sol);
                    for (g, w) in got.iter().zip(&want) {
                        assert!(
                            (g - sign * w).abs() < 1e-12,
                            "{pool:?} block {b}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }

    /// `⟨A_b c, v⟩ = ⟨c, A_bᵀv⟩` for every block, on random data.
    #[test]
    fn adjoint_block_is_the_transpose_of_apply_block() {
        let (n, len, f) = (5, 8, 3);
        let (p, _) = random_patches(n, len, f, 12);
        let hp = Hyperplanes::from_patches(&p);
        let filters: Vec<Vec<f64>> = (0..10).map(|s| gaussian(f, 200 + s)).collect();
        let (set, _) = patterns_of(&hp, &filters);
        let prog = TwoLayerProgram::new(&p, hp, &set, &vec![0.0; n], 1.0, Pooling::Avg).unwrap();
        for b in 0..prog.blocks.len() {
            let c = gaussian(f, 300 + b as u64);
            let v = gaussian(n, 400 + b as u64);
            let mut ac = vec![0.0; n];
            prog.apply_block(b, &c, 1.0, &mut ac);
            let lhs = dot(&ac, &v);
            let rhs = dot(&c, &prog.adjoint_block(b, &v));
            assert!(
                (lhs - rhs).abs() < 1e-12 * (1.0 + lhs.abs()),
                "{lhs} vs {rhs}"
            );
        }
    }

    /// The hand example: `c = (2.5, 0)` in the on/off block predicts 2.5 and costs
    /// `½(2.5 − 3)² + ½·2.5 = 1.375`; it is feasible, while `(1, 1)` violates `u₁ ≤ 0` by 1,
    /// i.e. `1/√2` relative to its norm.
    #[test]
    fn objective_and_violation_on_the_hand_example() {
        let prog = hand_program(&[ON_OFF], 3.0, 0.5);
        assert_eq!(prog.blocks.len(), 1);
        assert_eq!(prog.blocks[0].a, vec![1.0, 1.0]);
        assert_eq!(prog.side(0, 0), 1.0);
        assert_eq!(prog.side(0, 1), -1.0);
        let mut sol = ConvexSolution::zeros(1, 2);
        sol.var_mut(0).copy_from_slice(&[2.5, 0.0]);
        assert!((prog.predict(&sol)[0] - 2.5).abs() < 1e-15);
        assert!((prog.objective(&sol) - 1.375).abs() < 1e-15);
        assert_eq!(prog.max_violation(&sol), 0.0);
        sol.var_mut(1).copy_from_slice(&[1.0, 1.0]);
        assert!((prog.max_violation(&sol) - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-15);
        // f = 2.5 − 2 = 0.5: ½·2.5² + ½(2.5 + √2).
        let want = 0.5 * 2.5 * 2.5 + 0.5 * (2.5 + 2f64.sqrt());
        assert!((prog.objective(&sol) - want).abs() < 1e-14);
    }

    /// A filter is strictly inside its own cone, so `−u` violates every row, the worst by the
    /// largest `|x_rᵀu|/(‖x_r‖‖u‖)`; `u` itself violates none.
    #[test]
    fn negated_filter_violates_by_its_largest_cosine() {
        let (n, len, f) = (3, 6, 3);
        let (p, _) = random_patches(n, len, f, 13);
        let hp = Hyperplanes::from_patches(&p);
        let filters: Vec<Vec<f64>> = (0..8).map(|s| gaussian(f, 500 + s)).collect();
        let (set, first) = patterns_of(&hp, &filters);
        let prog = TwoLayerProgram::new(&p, hp, &set, &vec![0.0; n], 1.0, Pooling::Sum).unwrap();
        for b in 0..prog.blocks.len() {
            let u = &first[prog.blocks[b].pattern];
            let mut sol = ConvexSolution::zeros(prog.blocks.len(), f);
            sol.var_mut(2 * b).copy_from_slice(u);
            assert!(prog.max_violation(&sol) <= 1e-15);
            let neg: Vec<f64> = u.iter().map(|v| -v).collect();
            sol.var_mut(2 * b + 1).copy_from_slice(&neg);
            let want = largest_cosine(&p, u);
            assert!((prog.max_violation(&sol) - want).abs() < 1e-12);
        }
    }

    /// Max pooling and a wrong number of targets are refused; `subset` keeps the listed blocks.
    #[test]
    fn new_checks_and_subset() {
        let p = hand_patches();
        let hp = Hyperplanes::from_patches(&p);
        let f = vec![ON_OFF.to_vec(), ALL_ON.to_vec()];
        let (set, _) = patterns_of(&hp, &f);
        assert!(TwoLayerProgram::new(&p, hp.clone(), &set, &[1.0], 1.0, Pooling::Max).is_err());
        assert!(
            TwoLayerProgram::new(&p, hp.clone(), &set, &[1.0, 2.0], 1.0, Pooling::Sum).is_err()
        );
        assert!(TwoLayerProgram::new(&p, hp.clone(), &set, &[1.0], 0.0, Pooling::Sum).is_err());
        let prog = TwoLayerProgram::new(&p, hp, &set, &[1.0], 1.0, Pooling::Sum).unwrap();
        assert_eq!(prog.blocks[1].a, vec![1.0, 2.0]);
        let sub = prog.subset(&[1, 0]);
        assert_eq!(sub.blocks[0].a, vec![1.0, 2.0]);
        assert_eq!(sub.blocks[1].a, vec![1.0, 1.0]);
        assert_eq!(sub.constraint_count(0), 2);
    }
}
