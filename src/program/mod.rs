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
        if y.len() != patches.n {
            return Err(Error::Data(format!(
                "{} targets for {} samples",
                y.len(),
                patches.n
            )));
        }
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
