//! The exact two-layer program by the interior-point method over a working set, priced exactly
//! over every pattern (column generation with cutting planes).
//!
//! At the optimum few blocks carry the network (at most `n + 1` variables) and each of their
//! cones has few active facets, yet the full program gives the interior-point method every block
//! and every facet: `2·blocks·G` inequality rows. Here Clarabel only sees a working set `W` of
//! blocks, each with a working set of its facets, and two exact checks decide what to add:
//!
//! - **pricing**: with the sub-problem's residual `v = y − f`, every block outside `W` has
//!   `γ_b(v) = max(‖Π_{C_b}(A_bᵀv)‖, ‖Π_{C_b}(−A_bᵀv)‖)` (Moreau; [`crate::cones::project`]),
//!   skipped when the bound `‖A_bᵀv‖` is already `≤ β`. A block with `γ_b(v) > β(1 + ε)` would
//!   lower the objective and joins `W`, most violated first, with the facets active at its
//!   projections (the facets an optimal filter of that block lies on, MATH.md 3.2);
//! - **cutting planes**: every facet of a block in `W` that the sub-problem's solution violates
//!   joins that block's facet set.
//!
//! When neither adds anything, the sub-problem's solution is feasible for the full program and
//! its residual is dual feasible for every block (to `ε`), so it solves the full program to the
//! sub-problem's tolerance. The first working set is the blocks with the largest `γ_b(y)`; a
//! program with no more blocks than that, whose cones have long facet lists, is solved whole
//! (cutting planes over long lists cost rounds and save little: measured on sampled MNIST).

use super::ipm::{solve_ipm, IpmInfo, IpmSettings};
use super::status::SolveStatus;
use crate::cones::BlockCone;
use crate::error::Result;
use crate::program::{dot, norm, ConvexSolution, TwoLayerProgram};
use rayon::prelude::*;
use std::time::Instant;

/// Settings of the working-set solve.
#[derive(Debug, Clone, Copy)]
pub struct PricingSettings {
    /// Blocks in the first working set (`None`: `min(blocks, 2n)`).
    pub initial: Option<usize>,
    /// Most blocks added per round (`None`: `max(n, 8)`).
    pub add_per_round: Option<usize>,
    /// Relative dual-constraint tolerance `ε`: blocks with `γ_b ≤ β(1 + ε)` are priced out.
    pub tol: f64,
    /// Most rounds (sub-problem solves).
    pub max_rounds: usize,
    /// Time kept free for the stages after the solve, in passes over every block: the solve
    /// ends once the time left is below this many times its first pricing pass (the
    /// certificate's `γ` passes cost about as much as one pricing pass each).
    pub reserve_passes: f64,
}

impl Default for PricingSettings {
    fn default() -> Self {
        PricingSettings {
            initial: None,
            add_per_round: None,
            tol: 1e-8,
            max_rounds: 100,
            reserve_passes: 0.0,
        }
    }
}

/// What the working-set solve reports beside the interior-point info of its last round.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct PricingInfo {
    /// Sub-problems solved.
    pub rounds: usize,
    /// Blocks in the last working set.
    pub blocks: usize,
    /// Facet rows in the last working set (over both variables of every block).
    pub facet_rows: usize,
    /// Facet rows of the full program (over both variables of every block).
    pub full_facet_rows: usize,
    /// Interior-point iterations over all rounds.
    pub iterations: u32,
    /// Exact `γ_b` values computed by pricing.
    pub priced: usize,
    /// Whether the last round added nothing (the full program is solved).
    pub complete: bool,
}

/// A priced block: `γ_b(v)` and the facets active at its maximisers.
struct Priced {
    block: usize,
    gamma: f64,
    facets: Vec<u32>,
}

/// Prices the blocks not in `skip` at `v`: those with `γ_b(v) > β(1 + ε)`, most violated first.
fn price(
    prog: &TwoLayerProgram,
    v: &[f64],
    skip: &[bool],
    eps: f64,
    priced: &mut usize,
) -> Result<Vec<Priced>> {
    let thr = prog.beta * (1.0 + eps);
    let cand: Vec<(usize, Vec<f64>)> = (0..prog.blocks.len())
        .into_par_iter()
        .filter(|&b| !skip[b])
        .filter_map(|b| {
            let g = prog.adjoint_block(b, v);
            (norm(&g) > thr).then_some((b, g))
        })
        .collect();
    *priced += cand.len();
    let found: Vec<Result<Option<Priced>>> = cand
        .par_iter()
        .map(|(b, g)| {
            let cone = BlockCone::new(prog, *b);
            let (plus, mut fp) = cone.gamma_active(g)?;
            let neg: Vec<f64> = g.iter().map(|x| -x).collect();
            let (minus, fm) = cone.gamma_active(&neg)?;
            let gamma = plus.max(minus);
            if gamma <= thr {
                return Ok(None);
            }
            // Only a side that would lower the objective brings its facets.
            if plus <= thr {
                fp.clear();
            }
            if minus > thr {
                fp.extend(fm);
            }
            fp.sort_unstable();
            fp.dedup();
            Ok(Some(Priced {
                block: *b,
                gamma,
                facets: fp,
            }))
        })
        .collect();
    let mut out = Vec::new();
    for f in found {
        if let Some(p) = f? {
            out.push(p);
        }
    }
    out.sort_by(|a, b| b.gamma.total_cmp(&a.gamma).then(a.block.cmp(&b.block)));
    Ok(out)
}

/// The cuts for a variable `c` of block `b` that leaves its cone: the facets active at the
/// projection `Π_{C_b}(c)` (the facets of the nearest feasible point, which the next solution
/// will lie on), or when all of those are known already, the most violated facet. Facets in
/// `have` (sorted) are left out.
fn cuts(cone: &BlockCone, c: &[f64], have: &[u32]) -> Result<Vec<u32>> {
    let nc = norm(c);
    if nc == 0.0 || cone.facets().is_empty() {
        return Ok(Vec::new());
    }
    let mut worst: Option<(f64, u32)> = None;
    for (r, &g) in cone.facets().iter().enumerate() {
        let v = dot(cone.row(r), c);
        if v < -1e-10 * nc && worst.is_none_or(|w| v < w.0) {
            worst = Some((v, g));
        }
    }
    let Some((_, deepest)) = worst else {
        return Ok(Vec::new());
    };
    let (_, active) = cone.gamma_active(c)?;
    let mut new: Vec<u32> = active
        .into_iter()
        .filter(|g| have.binary_search(g).is_err())
        .collect();
    if new.is_empty() && have.binary_search(&deepest).is_err() {
        new.push(deepest);
    }
    Ok(new)
}

/// Solves the two-layer program exactly by the interior-point method over working sets of
/// blocks and facets, priced over every block (module docs). The solution is full-size (zero
/// outside the working set); the info is that of the last sub-problem, with its iterations and
/// seconds summed over the rounds, and status `MaxIterations` when the rounds ran out before
/// the pricing was complete.
///
/// A block with at most `4h` constraints joins with all of them (a program whose blocks list
/// their cells' facets, [`TwoLayerProgram::with_cell_facets`], needs no cutting planes).
pub fn solve_ipm_priced(
    prog: &TwoLayerProgram,
    settings: &IpmSettings,
    pricing: &PricingSettings,
) -> Result<(ConvexSolution, IpmInfo, PricingInfo)> {
    let t0 = Instant::now();
    let (nb, h, n) = (prog.blocks.len(), prog.h, prog.n);
    let mut info = PricingInfo {
        full_facet_rows: (0..nb).map(|b| 2 * prog.constraint_count(b)).sum(),
        ..PricingInfo::default()
    };
    let mut in_w = vec![false; nb];
    let mut facets: Vec<Vec<u32>> = vec![Vec::new(); nb];
    let mut order: Vec<usize> = Vec::new();
    let mut position = vec![0usize; nb];
    let (mut dropped, mut returned) = (vec![false; nb], vec![false; nb]);
    // The first working set: the largest γ_b(y) (every block with γ_b(y) > β is a candidate;
    // when none is, the zero network is optimal and one block is enough to say so).
    let first = price(prog, &prog.y, &in_w, 0.0, &mut info.priced)?;
    // What the later stages keep of the time limit.
    let limit = settings.time_limit - pricing.reserve_passes * t0.elapsed().as_secs_f64();
    let initial = pricing.initial.unwrap_or(2 * n).max(1);
    // A program that fits in the first working set whole is solved whole: cutting planes over
    // long facet lists cost rounds and save little (measured on sampled MNIST programs).
    let short = (0..nb).all(|b| prog.constraint_count(b) <= 4 * h);
    if nb <= initial && !short && !first.is_empty() {
        let whole = IpmSettings {
            time_limit: (limit - t0.elapsed().as_secs_f64()).max(0.0),
            ..*settings
        };
        let (sol, ipm) = solve_ipm(prog, &whole)?;
        info.rounds = 1;
        info.blocks = nb;
        info.facet_rows = info.full_facet_rows;
        info.iterations = ipm.iterations;
        info.complete = ipm.status.converged();
        return Ok((sol, ipm, info));
    }
    let join = |b: usize, found: Vec<u32>, facets: &mut Vec<Vec<u32>>| {
        let f = &mut facets[b];
        f.extend(found);
        if prog.constraint_count(b) <= 4 * h {
            f.extend(prog.constraints(b).map(|g| g as u32));
        }
        f.sort_unstable();
        f.dedup();
    };
    for p in first.into_iter().take(initial) {
        in_w[p.block] = true;
        join(p.block, p.facets, &mut facets);
        order.push(p.block);
    }
    if order.is_empty() {
        // `γ_b(y) ≤ β` for every block: `v = y` is dual feasible with the zero network's value.
        info.complete = true;
        let zero = 0.5 * prog.y.iter().map(|v| v * v).sum::<f64>();
        let ipm = IpmInfo {
            status: SolveStatus::Solved,
            iterations: 0,
            solver_objective: zero,
            solver_dual_objective: zero,
            seconds: t0.elapsed().as_secs_f64(),
            dual_point: prog.y.clone(),
        };
        return Ok((ConvexSolution::zeros(nb, h), ipm, info));
    }
    let add = pricing.add_per_round.unwrap_or(n.max(8)).max(1);
    let mut seconds = 0.0;
    // The last round's cost (its solve, cuts and pricing pass): a round that cannot end before
    // the limit is not started, so that the limit holds within a few percent.
    let mut last_round = 0.0;
    let mut last: Option<(ConvexSolution, IpmInfo)> = None;
    loop {
        let round_start = t0.elapsed().as_secs_f64();
        if let Some((full, sub_info)) = &last {
            if round_start + last_round > limit {
                let mut sub_info = sub_info.clone();
                sub_info.iterations = info.iterations;
                sub_info.seconds = seconds;
                sub_info.status = SolveStatus::MaxTime;
                return Ok((full.clone(), sub_info, info));
            }
        }
        info.rounds += 1;
        let mut sub = prog.subset(&order);
        for (i, &b) in order.iter().enumerate() {
            sub.blocks[i].constraints = Some(facets[b].clone());
        }
        info.blocks = order.len();
        info.facet_rows = order.iter().map(|&b| 2 * facets[b].len()).sum();
        let left = limit - t0.elapsed().as_secs_f64();
        let round = IpmSettings {
            time_limit: left.max(0.0),
            ..*settings
        };
        let (sub_sol, mut sub_info) = solve_ipm(&sub, &round)?;
        info.iterations += sub_info.iterations;
        seconds += sub_info.seconds;
        let mut full = ConvexSolution::zeros(nb, h);
        for (i, &b) in order.iter().enumerate() {
            position[b] = i;
            full.var_mut(2 * b).copy_from_slice(sub_sol.var(2 * i));
            full.var_mut(2 * b + 1)
                .copy_from_slice(sub_sol.var(2 * i + 1));
        }
        let finish = |mut sub_info: IpmInfo, info: PricingInfo, status: SolveStatus| {
            sub_info.iterations = info.iterations;
            sub_info.seconds = seconds;
            sub_info.status = status;
            (full.clone(), sub_info, info)
        };
        if !sub_info.status.converged() {
            return Ok(finish(sub_info.clone(), info, sub_info.status));
        }
        if t0.elapsed().as_secs_f64() >= limit {
            // No time for the cuts and the pricing pass: the sub-problem's optimum stands.
            return Ok(finish(sub_info, info, SolveStatus::MaxTime));
        }
        // Cutting planes: facets of the working blocks that the solution violates. Variables
        // far below the largest carry no filter and are left to the final refit.
        let big = (0..sub_sol.vars())
            .map(|j| norm(sub_sol.var(j)))
            .fold(0.0, f64::max);
        let mut added = 0;
        for (i, &b) in order.iter().enumerate() {
            let mut new: Vec<u32> = Vec::new();
            let cone = BlockCone::new(prog, b);
            for j in [2 * i, 2 * i + 1] {
                let c = sub_sol.var(j);
                if norm(c) > 1e-7 * big {
                    new.extend(cuts(&cone, c, &facets[b])?);
                }
            }
            if !new.is_empty() {
                added += new.len();
                facets[b].extend(new);
                facets[b].sort_unstable();
                facets[b].dedup();
            }
        }
        // Blocks that carry nothing leave the working set (their facets are kept for a return):
        // each sub-problem's optimum is the last one's minus what the joining blocks add, so
        // the objective falls strictly and no working set repeats.
        // A block that came back once stays, so that rounding near the tolerances cannot make
        // blocks come and go forever.
        order.retain(|&b| {
            let i = position[b];
            let keep = returned[b]
                || norm(sub_sol.var(2 * i)).max(norm(sub_sol.var(2 * i + 1))) > 1e-7 * big;
            in_w[b] = keep;
            dropped[b] |= !keep;
            keep
        });
        // Pricing: blocks outside the working set that the residual says would help.
        let f = prog.predict(&full);
        let v: Vec<f64> = prog.y.iter().zip(&f).map(|(y, f)| y - f).collect();
        let violators = price(prog, &v, &in_w, pricing.tol, &mut info.priced)?;
        let mut joined = 0;
        for p in violators.into_iter().take(add) {
            in_w[p.block] = true;
            returned[p.block] = dropped[p.block];
            // A returning block keeps the cuts it had.
            join(p.block, p.facets, &mut facets);
            order.push(p.block);
            joined += 1;
        }
        if added == 0 && joined == 0 {
            // Dropping changed nothing of the optimum: the last solution stands.
            info.complete = true;
            sub_info.dual_point = v;
            return Ok(finish(sub_info, info, SolveStatus::Solved));
        }
        last_round = t0.elapsed().as_secs_f64() - round_start;
        last = Some((full.clone(), sub_info.clone()));
        if info.rounds >= pricing.max_rounds || t0.elapsed().as_secs_f64() >= limit {
            let status = if info.rounds >= pricing.max_rounds {
                SolveStatus::MaxIterations
            } else {
                SolveStatus::MaxTime
            };
            return Ok(finish(sub_info, info, status));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::{enumerate_exact, Hyperplanes, PatternSet};
    use crate::program::tests::{gaussian, random_patches};
    use crate::program::{Pooling, TwoLayerProgram};

    /// A random exact program: `n` Gaussian signals of length `len`, kernel `k`.
    fn exact_program(n: usize, len: usize, k: usize, beta: f64, seed: u64) -> TwoLayerProgram {
        exact_program_and_regions(n, len, k, beta, seed).0
    }

    fn exact_program_and_regions(
        n: usize,
        len: usize,
        k: usize,
        beta: f64,
        seed: u64,
    ) -> (TwoLayerProgram, PatternSet) {
        let (patches, _) = random_patches(n, len, k, seed);
        let y = gaussian(n, seed + 1000);
        let hp = Hyperplanes::from_patches(&patches);
        let set = enumerate_exact(&patches, &hp, 1_000_000, &mut |_, _| {}).unwrap();
        let prog = TwoLayerProgram::new(&patches, hp, &set, &y, beta, Pooling::Sum).unwrap();
        (prog, set)
    }

    /// Cutting each cone down to its cell's facets changes neither the cones nor the optimum:
    /// both solves agree with the full program's, every block keeps at least one facet and
    /// the cone projections (hence every `γ_b`) agree with those over all constraints.
    #[test]
    fn cell_facets_describe_the_same_cones() {
        for (n, len, k, seed) in [(8, 6, 2, 11), (7, 5, 3, 12)] {
            let (prog, set) = exact_program_and_regions(n, len, k, 0.1, seed);
            let lean = prog.with_cell_facets(&set);
            let (rows, full_rows): (usize, usize) = (0..prog.blocks.len())
                .map(|b| (lean.constraint_count(b), prog.constraint_count(b)))
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            assert!(rows < full_rows, "{rows} of {full_rows}");
            let v = gaussian(n, seed + 7);
            for b in 0..prog.blocks.len() {
                let g = prog.adjoint_block(b, &v);
                let (full_gamma, _) = BlockCone::new(&prog, b).gamma_active(&g).unwrap();
                let (cell_gamma, _) = BlockCone::new(&lean, b).gamma_active(&g).unwrap();
                assert!(
                    (full_gamma - cell_gamma).abs() <= 1e-9 * full_gamma.max(1.0),
                    "block {b}: {full_gamma} vs {cell_gamma}"
                );
            }
            let s = IpmSettings::default();
            let want = prog.objective(&solve_ipm(&prog, &s).unwrap().0);
            let (sol, info, pi) = solve_ipm_priced(&lean, &s, &PricingSettings::default()).unwrap();
            assert!(info.status.converged() && pi.complete);
            let got = prog.objective(&sol);
            assert!((got - want).abs() <= 1e-8 * want, "{got} vs {want}");
        }
    }

    /// On enumerated programs the working-set solve reaches the interior-point optimum over all
    /// patterns, with far fewer blocks and facet rows than the full program.
    #[test]
    fn working_set_reaches_the_full_optimum() {
        for (n, len, k, beta, seed) in [(8, 6, 2, 0.1, 1), (9, 6, 3, 0.05, 2), (6, 5, 2, 1.0, 3)] {
            let prog = exact_program(n, len, k, beta, seed);
            let s = IpmSettings::default();
            let (full, fi) = solve_ipm(&prog, &s).unwrap();
            assert!(fi.status.converged());
            let want = prog.objective(&full);
            let (sol, info, pi) = solve_ipm_priced(&prog, &s, &PricingSettings::default()).unwrap();
            assert!(info.status.converged(), "{pi:?}");
            assert!(pi.complete);
            let got = prog.objective(&sol);
            assert!(
                (got - want).abs() <= 1e-8 * want,
                "n={n}: working set {got} vs full {want} ({pi:?})"
            );
            // The filters (not the interior point's residue of size ~tol) lie in their cones.
            let big = (0..sol.vars())
                .map(|j| norm(sol.var(j)))
                .fold(0.0, f64::max);
            let mut kept = sol.clone();
            for j in 0..kept.vars() {
                if norm(kept.var(j)) <= 1e-4 * big {
                    kept.var_mut(j).iter_mut().for_each(|v| *v = 0.0);
                }
            }
            // An interior point ends ~1e-7 inside or outside its cones (measured: 8.6e-8 and,
            // after the faster projections' rounding changed the working sets, 1.1e-7 on the
            // n = 9 program); a filter outside its cone would violate at the scale of itself.
            assert!(
                prog.max_violation(&kept) <= 1e-6,
                "{}",
                prog.max_violation(&kept)
            );
            assert!(pi.facet_rows < pi.full_facet_rows, "{pi:?}");
        }
    }

    /// Above `β_max` the zero network is optimal and one round says so.
    #[test]
    fn zero_network_above_beta_max() {
        let prog = exact_program(6, 5, 2, 1e6, 4);
        let (sol, info, pi) =
            solve_ipm_priced(&prog, &IpmSettings::default(), &PricingSettings::default()).unwrap();
        assert!(info.status.converged());
        assert_eq!(pi.rounds, 0);
        assert!(sol.c.iter().all(|v| *v == 0.0));
        let (full, _) = solve_ipm(&prog, &IpmSettings::default()).unwrap();
        let zero = 0.5 * prog.y.iter().map(|v| v * v).sum::<f64>();
        assert!((prog.objective(&full) - zero).abs() <= 1e-6 * zero);
    }
}
