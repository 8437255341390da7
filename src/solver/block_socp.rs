//! A generic cone-constrained group lasso for the interior-point solver:
//!
//! ```text
//! min ½‖Σ_v s_v A_v θ_v − y‖² + Σ_v ω_v ‖θ_v‖₂   s.t.  C_v θ_v ≥ 0
//! ```
//!
//! with blocks of any size. Used for restricted programs whose variables live in subspaces (the
//! single-frequency upper bound of deep circular CNNs), where the two-layer program's fixed
//! layout does not fit.

use super::ipm::{clarabel_settings, map_status, IpmSettings};
use super::status::SolveStatus;
use crate::error::{Error, Result};
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSolver, IPSolver, NonnegativeConeT, SecondOrderConeT, SupportedConeT, ZeroConeT,
};

/// One block variable `θ_v ∈ R^{dim}`.
#[derive(Debug, Clone)]
pub struct SocpBlock {
    /// Size of `θ_v`.
    pub dim: usize,
    /// `A_v`, `n × dim` row-major.
    pub a: Vec<f64>,
    /// Constraint rows `C_v`, `rows × dim` row-major (`C_v θ_v ≥ 0`).
    pub c: Vec<f64>,
    /// Sign `s_v` of the block's contribution.
    pub sign: f64,
    /// Cost `ω_v` of `‖θ_v‖`, or of each group's norm.
    pub cost: f64,
    /// Consecutive groups of `θ_v` (sizes summing to `dim`), each penalized by `ω_v‖θ_{v,g}‖`
    /// (a three-layer sub-network's two channels); `None` is one group.
    pub groups: Option<Vec<usize>>,
}

impl SocpBlock {
    /// The sizes of the block's norm groups.
    pub fn group_sizes(&self) -> Vec<usize> {
        self.groups.clone().unwrap_or_else(|| vec![self.dim])
    }
}

/// The solution: every block's `θ_v`, the objective and the status.
#[derive(Debug, Clone)]
pub struct SocpSolution {
    /// `θ_v` per block.
    pub theta: Vec<Vec<f64>>,
    /// Clarabel's primal objective.
    pub objective: f64,
    /// Clarabel's dual objective.
    pub dual_objective: f64,
    /// Status.
    pub status: SolveStatus,
}

/// Solves the block program with Clarabel. Variables are `[θ_0 … | t_0 … | ρ]` with
/// `ρ = Σ s_v A_v θ_v − y` and `(t_v, θ_v)` in second-order cones.
pub fn solve_block_socp(
    y: &[f64],
    blocks: &[SocpBlock],
    settings: &IpmSettings,
) -> Result<SocpSolution> {
    let n = y.len();
    for (v, b) in blocks.iter().enumerate() {
        if b.dim == 0 || b.a.len() != n * b.dim || b.c.len() % b.dim != 0 {
            return Err(Error::Data(format!(
                "block {v}: A has {} values and C {} for size {} and {n} samples",
                b.a.len(),
                b.c.len(),
                b.dim
            )));
        }
    }
    for (v, b) in blocks.iter().enumerate() {
        if b.group_sizes().iter().sum::<usize>() != b.dim || b.group_sizes().contains(&0) {
            return Err(Error::Data(format!(
                "block {v}: groups {:?} do not split its {} variables",
                b.groups, b.dim
            )));
        }
    }
    let nth: usize = blocks.iter().map(|b| b.dim).sum();
    // One norm variable t per group.
    let ng: usize = blocks.iter().map(|b| b.group_sizes().len()).sum();
    let nx = nth + ng + n;
    let soc_rows: usize = blocks.iter().map(|b| b.dim + b.group_sizes().len()).sum();
    let nn_rows: usize = blocks.iter().map(|b| b.c.len() / b.dim).sum();
    let (soc_base, nn_base) = (n, n + soc_rows);
    let m = nn_base + nn_rows;
    let mut colptr = vec![0usize];
    let mut rowval = Vec::new();
    let mut nzval = Vec::new();
    let (mut soc_off, mut nn_off) = (0, 0);
    let mut soc_starts = Vec::with_capacity(ng);
    for b in blocks {
        let rows = b.c.len() / b.dim;
        // The SOC row of each entry: (t_g, θ_g) cones laid out group after group.
        let mut row_of = Vec::with_capacity(b.dim);
        for size in b.group_sizes() {
            soc_starts.push(soc_base + soc_off);
            for k in 0..size {
                row_of.push(soc_base + soc_off + 1 + k);
            }
            soc_off += size + 1;
        }
        for (e, &soc_row) in row_of.iter().enumerate() {
            for t in 0..n {
                let v = b.a[t * b.dim + e];
                if v != 0.0 {
                    rowval.push(t);
                    nzval.push(-b.sign * v);
                }
            }
            rowval.push(soc_row);
            nzval.push(-1.0);
            for r in 0..rows {
                let v = b.c[r * b.dim + e];
                if v != 0.0 {
                    rowval.push(nn_base + nn_off + r);
                    nzval.push(-v);
                }
            }
            colptr.push(rowval.len());
        }
        nn_off += rows;
    }
    for s in &soc_starts {
        rowval.push(*s);
        nzval.push(-1.0);
        colptr.push(rowval.len());
    }
    for t in 0..n {
        rowval.push(t);
        nzval.push(1.0);
        colptr.push(rowval.len());
    }
    let a_mat = CscMatrix::new(m, nx, colptr, rowval, nzval);
    let mut pcol = vec![0usize; nx + 1];
    let mut prow = Vec::with_capacity(n);
    for i in 0..nx {
        if i >= nth + ng {
            prow.push(i);
        }
        pcol[i + 1] = prow.len();
    }
    let p_mat = CscMatrix::new(nx, nx, pcol, prow, vec![1.0; n]);
    let mut q = vec![0.0; nx];
    let mut gi = 0;
    for b in blocks {
        for _ in b.group_sizes() {
            q[nth + gi] = b.cost;
            gi += 1;
        }
    }
    let mut bvec = vec![0.0; m];
    for (bv, yv) in bvec.iter_mut().zip(y) {
        *bv = -yv;
    }
    let mut cones: Vec<SupportedConeT<f64>> = vec![ZeroConeT(n)];
    for b in blocks {
        for size in b.group_sizes() {
            cones.push(SecondOrderConeT(size + 1));
        }
    }
    if nn_rows > 0 {
        cones.push(NonnegativeConeT(nn_rows));
    }
    let st = clarabel_settings(settings)?;
    let mut solver = DefaultSolver::new(&p_mat, &q, &a_mat, &bvec, &cones, st)
        .map_err(|e| Error::Solver(format!("Clarabel rejected the problem: {e:?}")))?;
    super::ipm::interruptible(&mut solver);
    solver.solve();
    let s = &solver.solution;
    let status = map_status(s.status)?;
    let mut theta = Vec::with_capacity(blocks.len());
    let mut off = 0;
    for b in blocks {
        theta.push(s.x[off..off + b.dim].to_vec());
        off += b.dim;
    }
    Ok(SocpSolution {
        theta,
        objective: s.obj_val,
        dual_objective: s.obj_val_dual,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::tests::one_sample_optimum;

    /// The all-on block of the hand example: `A = (1, 2)`, constraints `x₁ = (1, 1)`,
    /// `x₂ = (0, 1)`.
    fn block(sign: f64, groups: Option<Vec<usize>>) -> SocpBlock {
        SocpBlock {
            dim: 2,
            a: vec![1.0, 2.0],
            c: vec![1.0, 1.0, 0.0, 1.0],
            sign,
            cost: 0.5,
            groups,
        }
    }

    fn tight() -> IpmSettings {
        IpmSettings {
            tol: 1e-10,
            ..IpmSettings::default()
        }
    }

    /// One Euclidean block: `A` lies in its cone, `γ = √5`, optimum `4.5 − (3√5 − ½)²/10` at
    /// `θ = t(1, 2)/√5`, `t = (3√5 − ½)/5`; a negative sign with `y = −3` gives the same.
    #[test]
    fn single_block_by_hand() {
        let g = 5f64.sqrt();
        let want = one_sample_optimum(g, 3.0, 0.5);
        for (sign, y) in [(1.0, 3.0), (-1.0, -3.0)] {
            let s = solve_block_socp(&[y], &[block(sign, None)], &tight()).unwrap();
            assert_eq!(s.status, SolveStatus::Solved);
            assert!((s.objective - want).abs() < 1e-7 && (s.dual_objective - want).abs() < 1e-7);
            let t = (3.0 * g - 0.5) / 5.0 / g;
            let th = &s.theta[0];
            assert!(
                (th[0] - t).abs() < 1e-6 && (th[1] - 2.0 * t).abs() < 1e-6,
                "sign {sign}: {th:?} vs t = {t}"
            );
        }
    }

    /// Two groups of one entry make the penalty `β‖θ‖₁`: the best direction is `e₂` (feasible),
    /// `γ = 2`, optimum `4.5 − 5.5²/8 = 0.71875` at `θ = (0, 1.375)`.
    #[test]
    fn groups_split_the_penalty() {
        let s = solve_block_socp(&[3.0], &[block(1.0, Some(vec![1, 1]))], &tight()).unwrap();
        assert!((s.objective - 0.71875).abs() < 1e-7);
        assert!(s.theta[0][0].abs() < 1e-6 && (s.theta[0][1] - 1.375).abs() < 1e-6);
    }

    /// Inconsistent sizes and groups are refused.
    #[test]
    fn rejects_inconsistent_blocks() {
        let mut b = block(1.0, None);
        b.a.push(1.0);
        assert!(solve_block_socp(&[3.0], &[b], &tight()).is_err());
        let mut b = block(1.0, None);
        b.c.push(1.0);
        assert!(solve_block_socp(&[3.0], &[b], &tight()).is_err());
        assert!(solve_block_socp(&[3.0], &[block(1.0, Some(vec![1]))], &tight()).is_err());
        assert!(solve_block_socp(&[3.0], &[block(1.0, Some(vec![0, 2]))], &tight()).is_err());
    }
}
