//! Recovering a standard CNN from a convex solution, and Carathéodory pruning (MATH.md 3.1).

use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::network::TwoLayerCnn;
use crate::patches::{PatchSpec, Patches};
use crate::program::{dot, norm, ConvexSolution, TwoLayerProgram};

/// Variables with `‖c_j‖` at or below this fraction of the largest are treated as zero (interior
/// point solutions are never exactly sparse).
pub const ACTIVE_TOL: f64 = 1e-9;

/// Indices of the active variables of `sol`: `‖c_j‖ > ACTIVE_TOL·max‖c‖`, and what the
/// variable weighs in the objective — its penalty `β‖c_j‖` plus its reach into the loss,
/// `‖A_b c_j‖·‖y‖` — above `ACTIVE_TOL·½‖y‖²` (the objective of the zero network), so that the
/// solver's round-off around a zero optimum is not mistaken for filters. (The penalty alone
/// would drop real filters at a tiny `β`, where the penalty of every filter is tiny.)
pub fn active_vars(prog: &TwoLayerProgram, sol: &ConvexSolution) -> Vec<usize> {
    let norms: Vec<f64> = (0..sol.vars()).map(|j| norm(sol.var(j))).collect();
    let max = norms.iter().cloned().fold(0.0, f64::max);
    let zero_obj: f64 = prog.y.iter().map(|v| 0.5 * v * v).sum();
    let ynorm = (2.0 * zero_obj).sqrt();
    let floor = ACTIVE_TOL * zero_obj;
    (0..sol.vars())
        .filter(|&j| max > 0.0 && norms[j] > ACTIVE_TOL * max)
        .filter(|&j| {
            if prog.beta * norms[j] > floor {
                return true;
            }
            let mut f = vec![0.0; prog.n];
            prog.apply_block(j / 2, sol.var(j), 1.0, &mut f);
            prog.beta * norms[j] + norm(&f) * ynorm > floor
        })
        .collect()
}

/// A copy of `sol` with the inactive variables set exactly to zero.
pub fn drop_inactive(prog: &TwoLayerProgram, sol: &ConvexSolution) -> ConvexSolution {
    let active = active_vars(prog, sol);
    let mut out = ConvexSolution {
        h: sol.h,
        c: vec![0.0; sol.c.len()],
    };
    for j in active {
        out.var_mut(j).copy_from_slice(sol.var(j));
    }
    out
}

/// Carathéodory pruning: returns a solution with the same prediction and the same penalty
/// (hence the same objective, up to rounding) and at most `n + 1` non-zero variables. Each step
/// takes `n + 2` active variables, a null vector `δ` of `[e_j; 1]` (`e_j = ±A c_j/‖c_j‖`), and
/// moves their magnitudes along `−δ` until one reaches zero. Directions are kept, so every
/// variable stays in its cone.
pub fn prune(prog: &TwoLayerProgram, sol: &ConvexSolution) -> Result<ConvexSolution> {
    let mut out = drop_inactive(prog, sol);
    let active = active_vars(prog, &out);
    let mut outputs = Vec::with_capacity(active.len());
    let mut costs = Vec::with_capacity(active.len());
    for &j in &active {
        let c = out.var(j);
        let mut e = vec![0.0; prog.n];
        let s = if j % 2 == 0 { 1.0 } else { -1.0 };
        prog.apply_block(j / 2, c, s, &mut e);
        outputs.push(e);
        costs.push(norm(c));
    }
    let scales = caratheodory_scales(&outputs, &costs)?;
    for (&j, f) in active.iter().zip(scales) {
        out.var_mut(j).iter_mut().for_each(|x| *x *= f);
    }
    Ok(out)
}

/// Carathéodory pruning of any sum of scalable terms: given each term's output `v_j ∈ R^n` and
/// cost `c_j > 0` (both linear in a non-negative scale), returns scales `α_j ≥ 0` with
/// `Σ α_j v_j = Σ v_j` and `Σ α_j c_j = Σ c_j` and at most `n + 1` of them non-zero. Each step
/// takes `n + 2` terms, a null vector `δ` of the columns `[v_j/c_j; 1]`, and moves their
/// magnitudes along `−δ` until one reaches zero.
pub fn caratheodory_scales(outputs: &[Vec<f64>], costs: &[f64]) -> Result<Vec<f64>> {
    let n = outputs.first().map_or(0, |v| v.len());
    let mut t: Vec<f64> = costs.to_vec();
    loop {
        let live: Vec<usize> = (0..t.len()).filter(|&i| t[i] > 0.0).collect();
        if live.len() <= n + 1 {
            break;
        }
        let pick = &live[..n + 2];
        let mut b = faer::Mat::<f64>::zeros(n + 1, n + 2);
        for (col, &j) in pick.iter().enumerate() {
            for (r, v) in outputs[j].iter().enumerate() {
                b[(r, col)] = v / costs[j];
            }
            b[(n, col)] = 1.0;
        }
        let svd = b
            .svd()
            .map_err(|e| Error::Solver(format!("pruning: SVD failed: {e:?}")))?;
        let v = svd.V();
        let mut delta: Vec<f64> = (0..n + 2).map(|i| v[(i, n + 1)]).collect();
        if !delta.iter().any(|d| *d > 0.0) {
            delta.iter_mut().for_each(|d| *d = -*d);
        }
        let (mut step, mut hit) = (f64::INFINITY, 0);
        for i in 0..n + 2 {
            if delta[i] > 0.0 && t[pick[i]] / delta[i] < step {
                step = t[pick[i]] / delta[i];
                hit = i;
            }
        }
        for (i, &j) in pick.iter().enumerate() {
            t[j] = if i == hit {
                0.0
            } else {
                (t[j] - step * delta[i]).max(0.0)
            };
        }
    }
    Ok(t.iter().zip(costs).map(|(a, c)| a / c).collect())
}

/// The network of a convex solution: for every active `c_j`, the filter `c_j/√‖c_j‖` with
/// output weight `±√‖c_j‖` (`+` for `c`, `−` for `c'`). Returns the network and, per filter,
/// the variable it came from.
pub fn recover(
    prog: &TwoLayerProgram,
    sol: &ConvexSolution,
    shape: SampleShape,
    spec: PatchSpec,
    pool: crate::program::Pooling,
) -> (TwoLayerCnn, Vec<usize>) {
    let active = active_vars(prog, sol);
    let mut filters = Vec::with_capacity(active.len() * sol.h);
    let mut weights = Vec::with_capacity(active.len());
    for &j in &active {
        let c = sol.var(j);
        let root = norm(c).sqrt();
        filters.extend(c.iter().map(|x| x / root));
        weights.push(if j % 2 == 0 { root } else { -root });
    }
    (
        TwoLayerCnn {
            shape,
            spec,
            pool,
            filters,
            outputs: 1,
            weights,
        },
        active,
    )
}

/// Agreement of recovered filters with the patterns of their blocks, row by row of `M`.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct PatternCheck {
    /// Rows (over all filters) where `1[M_r u ≥ 0]` differs from the block's pattern while
    /// `|M_r u|` is above the tie tolerance: must be 0.
    pub mismatches: usize,
    /// Rows where `|M_r u| ≤ 1e-7·‖M_r‖‖u‖`: the filter lies on that row's hyperplane, where
    /// both sides give the same `(M_r u)_+ = 0`.
    pub ties: usize,
    /// Rows checked.
    pub rows: usize,
}

/// Checks that each recovered filter reproduces the sign pattern of its block.
pub fn check_patterns(
    prog: &TwoLayerProgram,
    patches: &Patches,
    net: &TwoLayerCnn,
    vars: &[usize],
) -> PatternCheck {
    let mut out = PatternCheck::default();
    for (f, &j) in vars.iter().enumerate() {
        let u = net.filter(f);
        let nu = norm(u);
        let b = j / 2;
        let d = prog.hyperplanes.row_pattern(&prog.blocks[b].bits);
        let listed: Option<std::collections::HashSet<u32>> = prog.blocks[b]
            .constraints
            .as_ref()
            .map(|l| l.iter().copied().collect());
        for (r, &dr) in d.iter().enumerate() {
            // Only the rows that bound the block's cone (all rows unless it lists them).
            if let (Some(set), Some((g, _))) = (&listed, prog.hyperplanes.row_group[r]) {
                if !set.contains(&g) {
                    continue;
                }
            }
            let row = patches.row(r);
            let z = dot(row, u);
            out.rows += 1;
            if z.abs() <= 1e-7 * norm(row) * nu {
                out.ties += 1;
            } else if (z >= 0.0) != dr {
                out.mismatches += 1;
            }
        }
    }
    out
}
