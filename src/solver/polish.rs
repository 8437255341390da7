//! Column-generation polish of a feasible point of the multi-output program (squared loss).
//!
//! A first-order solver leaves a point whose residual is accurate to a few digits; the dual
//! bound built by scaling that residual loses a factor `β/γ_max` that is far from 1 when
//! `‖A_i‖ ≫ β`. The polish makes the dual point itself nearly feasible instead:
//!
//! * every non-zero block `b` of the point becomes an **atom**: its direction `u = c_b/‖c_b‖`
//!   (in the cone `K_b`) and its column `φ = s_b A_i u` (`s_b = ±1` for `c`/`c'` blocks);
//! * per output, the non-negative lasso over the atoms, `min_{θ ≥ 0} ½‖Φθ − y_c‖² + β Σ θ`, is
//!   solved exactly ([`crate::solver::nonneg_qp`]); at its optimum every atom in use meets its
//!   dual constraint with equality, `φᵀr = β` for the residual `r = y_c − Φθ`;
//! * every block is priced at `r`: `γ_b(r) = ‖Π_{K_b}(s_b A_iᵀ r)‖` (exact cone projection, after
//!   the bound `‖A_iᵀ r‖`); a block above `β` adds the maximiser `Π/‖Π‖` as a new atom, and a
//!   block with several atoms in use adds their combined direction (lower penalty for the same
//!   prediction);
//! * repeat until no block is above `β(1 + tol)` or the rounds or the time run out.
//!
//! The point `c_b = Σ_{atoms of b} θ_a u_a` lies in `K_b` (a cone is convex) and predicts `Φθ`
//! with penalty `β Σ_b ‖c_b‖ ≤ β Σ θ`, so its objective is at most the lasso's, which is at most
//! the starting point's. At the end, `γ_b(r)/β − 1` is the angle-squared error between the atoms
//! in use and the blocks' best directions, not the residual's first-order error.

use crate::cones::{project_or_bound, Priced};
use crate::error::{Error, Result};
use crate::observe::IterRecord;
use crate::program::multi::{relative_gap, MultiProgram};
use crate::solver::nonneg_qp::nonneg_qp;
use crate::solver::IterObserver;
use faer::Mat;
use rayon::prelude::*;
use std::time::Instant;

/// Settings of [`polish`].
#[derive(Debug, Clone, Copy)]
pub struct PolishSettings {
    /// Most pricing rounds.
    pub max_rounds: usize,
    /// A block whose `γ_b > β(1 + gamma_tol)` adds an atom.
    pub gamma_tol: f64,
    /// Stop once the restricted relative duality gap is at or below this.
    pub gap_tol: f64,
    /// Stop at this instant (the rounds made so far stand; the last one's certificate holds).
    pub deadline: Option<Instant>,
    /// The clock of the records' `elapsed` (default: the polish's own start).
    pub started: Option<Instant>,
    /// A round stops pricing once this many violated blocks are found (0: price every
    /// candidate every round).
    pub max_new_atoms: usize,
}

impl Default for PolishSettings {
    fn default() -> Self {
        PolishSettings {
            max_rounds: 40,
            gamma_tol: 1e-4,
            gap_tol: 1e-3,
            deadline: None,
            started: None,
            max_new_atoms: 256,
        }
    }
}

/// What [`polish`] did, with the certificate of its last round.
#[derive(Debug, Clone)]
pub struct PolishInfo {
    /// The polished point (same layout as the input).
    pub x: Vec<f64>,
    /// Pricing rounds made (atoms added after each).
    pub rounds: usize,
    /// Atoms at the end (all outputs).
    pub atoms: usize,
    /// Objective of the polished point.
    pub objective: f64,
    /// Loss gradient `V = f − y` at the polished point.
    pub v: Vec<f64>,
    /// Per output, the largest dual-constraint value over its blocks at `V`: exact for every
    /// block that could exceed `β(1 + gamma_tol)`, an upper bound below that for the rest.
    pub output_gammas: Vec<f64>,
    /// Blocks whose exact `γ` was computed in the last round.
    pub exact_blocks: usize,
    /// Dual bound from `V` scaled per output.
    pub dual: f64,
    /// `(objective − dual)/objective`.
    pub relative_gap: f64,
    /// Whether it stopped because the gap reached `gap_tol`.
    pub converged: bool,
    /// What the last round knew of each block, to warm-start a later polish.
    pub warm: PolishWarm,
}

/// Per block (in the program's block order): the facets of its last exact projection, its last
/// exact `γ` and the `A_iᵀv` it was taken at (NaN and empty when never priced).
#[derive(Debug, Clone, Default)]
pub struct PolishWarm {
    facets: Vec<Vec<usize>>,
    last_gamma: Vec<f64>,
    last_at: Vec<f64>,
}

impl PolishWarm {
    fn cold(blocks: usize, h: usize) -> Self {
        PolishWarm {
            facets: vec![Vec::new(); blocks],
            last_gamma: vec![f64::NAN; blocks],
            last_at: vec![0.0; blocks * h],
        }
    }

    /// The same knowledge in the block order of `new`, a program over more patterns (matched
    /// by their bits; blocks of new patterns start cold). The cones and `A_i` of a pattern do
    /// not depend on which other patterns a program holds, so what was known stays true.
    pub fn remap(&self, old: &MultiProgram, new: &MultiProgram) -> Self {
        let h = new.h();
        let mut w = PolishWarm::cold(2 * new.half(), h);
        if self.last_gamma.len() != 2 * old.half() || old.h() != h {
            return w;
        }
        for (b, nb) in new.block_map(old).into_iter().enumerate() {
            let Some(nb) = nb else { continue };
            w.facets[nb].clone_from(&self.facets[b]);
            w.last_gamma[nb] = self.last_gamma[b];
            w.last_at[nb * h..(nb + 1) * h].copy_from_slice(&self.last_at[b * h..(b + 1) * h]);
        }
        w
    }
}

/// Atoms of one output.
#[derive(Default)]
struct Atoms {
    /// Exact block of each atom.
    block: Vec<usize>,
    /// Directions, `m × h` row-major.
    dir: Vec<f64>,
    /// Columns `φ_a`, `m × n` row-major.
    col: Vec<f64>,
    /// Weights `θ`.
    theta: Vec<f64>,
    /// Gram matrix `ΦᵀΦ`, row-major `m × m`.
    gram: Vec<f64>,
}

impl Atoms {
    fn len(&self) -> usize {
        self.block.len()
    }

    fn push(&mut self, block: usize, dir: &[f64], col: Vec<f64>, theta: f64, n: usize) {
        let m = self.len();
        let mut g = vec![0.0; (m + 1) * (m + 1)];
        for i in 0..m {
            g[i * (m + 1)..i * (m + 1) + m].copy_from_slice(&self.gram[i * m..(i + 1) * m]);
        }
        for i in 0..m {
            let d: f64 = self.col[i * n..(i + 1) * n]
                .iter()
                .zip(&col)
                .map(|(a, b)| a * b)
                .sum();
            g[i * (m + 1) + m] = d;
            g[m * (m + 1) + i] = d;
        }
        g[m * (m + 1) + m] = col.iter().map(|a| a * a).sum();
        self.gram = g;
        self.block.push(block);
        self.dir.extend_from_slice(dir);
        self.col.extend_from_slice(&col);
        self.theta.push(theta);
    }

    /// Keeps the atoms with `keep[a]`.
    fn retain(&mut self, keep: &[bool], n: usize, h: usize) {
        let m = self.len();
        let idx: Vec<usize> = (0..m).filter(|&a| keep[a]).collect();
        let k = idx.len();
        let mut g = vec![0.0; k * k];
        for (i, &a) in idx.iter().enumerate() {
            for (j, &b) in idx.iter().enumerate() {
                g[i * k + j] = self.gram[a * m + b];
            }
        }
        self.gram = g;
        self.block = idx.iter().map(|&a| self.block[a]).collect();
        self.theta = idx.iter().map(|&a| self.theta[a]).collect();
        self.dir = idx
            .iter()
            .flat_map(|&a| self.dir[a * h..(a + 1) * h].to_vec())
            .collect();
        self.col = idx
            .iter()
            .flat_map(|&a| self.col[a * n..(a + 1) * n].to_vec())
            .collect();
    }

    /// Solves the non-negative lasso over the atoms for targets `y` (warm start: `θ`).
    fn solve(&mut self, y: &[f64], beta: f64, n: usize) -> Result<()> {
        let m = self.len();
        if m == 0 {
            return Ok(());
        }
        let g = Mat::<f64>::from_fn(m, m, |i, j| self.gram[i * m + j]);
        let b: Vec<f64> = (0..m)
            .map(|a| {
                self.col[a * n..(a + 1) * n]
                    .iter()
                    .zip(y)
                    .map(|(p, q)| p * q)
                    .sum::<f64>()
                    - beta
            })
            .collect();
        nonneg_qp(g.as_ref(), &b, &mut self.theta, 1e-12 * beta)?;
        Ok(())
    }

    /// Replaces the atoms in use of each block by their combination `Σ θ_a u_a` (same
    /// prediction, penalty `‖Σ θ_a u_a‖ ≤ Σ θ_a`) and drops the atoms not in use.
    fn merge(&mut self, prog: &MultiProgram, n: usize, h: usize) {
        let mut by_block: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for a in 0..self.len() {
            if self.theta[a] > 0.0 {
                by_block.entry(self.block[a]).or_default().push(a);
            }
        }
        let mut merged: Vec<(usize, Vec<f64>, f64)> = Vec::new();
        let mut keep = vec![false; self.len()];
        for (&b, list) in &by_block {
            if list.len() == 1 {
                keep[list[0]] = true;
                continue;
            }
            let mut cb = vec![0.0; h];
            for &a in list {
                for (z, d) in cb.iter_mut().zip(&self.dir[a * h..(a + 1) * h]) {
                    *z += self.theta[a] * d;
                }
            }
            let nc = norm(&cb);
            if nc > 0.0 {
                cb.iter_mut().for_each(|v| *v /= nc);
                merged.push((b, cb, nc));
            }
        }
        self.retain(&keep, n, h);
        for (b, u, t) in merged {
            let col = column(prog, b, &u);
            self.push(b, &u, col, t, n);
        }
    }

    /// `Φθ`.
    fn predict(&self, n: usize) -> Vec<f64> {
        let mut f = vec![0.0; n];
        for (a, &t) in self.theta.iter().enumerate() {
            if t != 0.0 {
                for (fi, p) in f.iter_mut().zip(&self.col[a * n..(a + 1) * n]) {
                    *fi += t * p;
                }
            }
        }
        f
    }
}

/// `s · A_i u` for exact block `b`.
fn column(prog: &MultiProgram, b: usize, u: &[f64]) -> Vec<f64> {
    let (i, _, s) = prog.block_info(b);
    let (n, h) = (prog.n(), prog.h());
    let a = prog.op.a().subcols(i * h, h);
    let mut out = vec![0.0; n];
    for (j, &uj) in u.iter().enumerate() {
        if uj != 0.0 {
            for (o, v) in out.iter_mut().zip(a.col(j).iter()) {
                *o += s * uj * v;
            }
        }
    }
    out
}

/// A block priced: `(block, γ_b, Π_{K_b}(s_b A_iᵀ r), facets active there)`, or, with no point,
/// `(block, upper bound on γ_b below the threshold, [], the facets it was bounded with)`, or
/// `(block, γ_b, [], facets)` when the projection is not in the cone to `1e-9‖Π‖` (no atom).
type PricedBlock = (usize, f64, Vec<f64>, Vec<usize>);

/// Polishes the feasible point `x` of `prog` by column generation over atoms (see the module
/// documentation) and certifies the result. Squared loss only (its dual separates over
/// outputs); `obs` gets one record per round with the gap. The returned point's objective is
/// never above `x`'s.
pub fn polish(
    prog: &MultiProgram,
    x: &[f64],
    s: &PolishSettings,
    obs: &mut dyn IterObserver,
) -> Result<PolishInfo> {
    polish_from(prog, x, None, s, obs)
}

/// [`polish`] that starts from what an earlier polish knew of the blocks (its
/// [`PolishInfo::warm`], [`PolishWarm::remap`]ped to this program): the bounds of blocks priced
/// before start tight and their projections start from their last facets.
pub fn polish_from(
    prog: &MultiProgram,
    x: &[f64],
    warm: Option<PolishWarm>,
    s: &PolishSettings,
    obs: &mut dyn IterObserver,
) -> Result<PolishInfo> {
    let t0 = Instant::now();
    let (n, h, c) = (prog.n(), prog.h(), prog.outputs);
    if !prog.separable() {
        return Err(Error::Solver(
            "the column-generation polish needs the squared loss".into(),
        ));
    }
    if x.len() != prog.exact_len() {
        return Err(Error::Solver(format!(
            "polish: a point of {} values for a program of {}",
            x.len(),
            prog.exact_len()
        )));
    }
    let nb = 2 * prog.half();
    let half = prog.half();
    let beta = prog.beta;
    let mut outs: Vec<Atoms> = (0..c).map(|_| Atoms::default()).collect();
    // Start: one atom per non-zero block.
    let starts: Vec<(usize, Vec<f64>, Vec<f64>, f64)> = (0..nb)
        .into_par_iter()
        .filter_map(|b| {
            let cb = &x[b * h..(b + 1) * h];
            let nc = norm(cb);
            (nc > 0.0).then(|| {
                let u: Vec<f64> = cb.iter().map(|v| v / nc).collect();
                let col = column(prog, b, &u);
                (b, u, col, nc)
            })
        })
        .collect();
    for (b, u, col, t) in starts {
        let o = prog.block_info(b).1;
        outs[o].push(b, &u, col, t, n);
    }
    // Per block: facets of its last projection, its last exact γ and the A_iᵀv it was taken at.
    let PolishWarm {
        mut facets,
        mut last_gamma,
        mut last_at,
    } = warm
        .filter(|w| w.last_gamma.len() == nb && w.last_at.len() == nb * h)
        .unwrap_or_else(|| PolishWarm::cold(nb, h));
    // Per pattern: the facets of its last projection (a start for its other blocks).
    let mut pattern_facets: Vec<Vec<usize>> = vec![Vec::new(); prog.patterns()];
    let mut rounds = 0;
    loop {
        outs.par_iter_mut()
            .enumerate()
            .try_for_each(|(o, at)| at.solve(&prog.y[o * n..(o + 1) * n], beta, n))?;
        let mut v = vec![0.0; n * c];
        for (o, at) in outs.iter().enumerate() {
            let f = at.predict(n);
            for ((vi, fi), yi) in v[o * n..(o + 1) * n]
                .iter_mut()
                .zip(&f)
                .zip(&prog.y[o * n..(o + 1) * n])
            {
                *vi = fi - yi;
            }
        }
        let ag = prog.adjoint(&v);
        // Upper bounds on γ_b: ‖A_iᵀv‖, or the last exact value plus how far A_iᵀv moved
        // (γ is sublinear: γ(a + d) ≤ γ(a) + ‖d‖).
        let bounds: Vec<f64> = (0..nb)
            .map(|b| {
                let r = b % half;
                let g = &ag[r * h..(r + 1) * h];
                let plain = norm(g);
                if last_gamma[b].is_finite() {
                    let moved = g
                        .iter()
                        .zip(&last_at[b * h..(b + 1) * h])
                        .map(|(p, q)| (p - q) * (p - q))
                        .sum::<f64>()
                        .sqrt();
                    plain.min(last_gamma[b] + moved)
                } else {
                    plain
                }
            })
            .collect();
        // Largest bounds first (likely violated); ties by block (deterministic).
        let mut cand: Vec<usize> = (0..nb)
            .filter(|&b| bounds[b] > beta * (1.0 + s.gamma_tol))
            .collect();
        cand.sort_by(|&p, &q| bounds[q].total_cmp(&bounds[p]).then(p.cmp(&q)));
        // Partial pricing: batches in that order until `max_new_atoms` violated blocks are
        // found; blocks left unpriced keep their upper bounds (the certificate stays valid).
        let batch = if s.max_new_atoms == 0 {
            cand.len().max(1)
        } else {
            (rayon::current_num_threads() * 32).max(64)
        };
        let thr = beta * (1.0 + s.gamma_tol);
        let mut priced: Vec<PricedBlock> = Vec::with_capacity(cand.len());
        let mut found = 0;
        for chunk in cand.chunks(batch) {
            if s.max_new_atoms > 0 && found >= s.max_new_atoms {
                break;
            }
            // The deadline also ends a round's pricing between batches (a round can take
            // minutes on large cones); what is unpriced keeps its bound.
            if !priced.is_empty() && s.deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            // Blocks of one pattern share its cone: within a batch they are projected one
            // after the other, each from the facets of its own last projection, else of the
            // pattern's last one.
            let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
            for &b in chunk {
                groups.entry(prog.block_info(b).0).or_default().push(b);
            }
            let groups: Vec<(usize, Vec<usize>)> = groups.into_iter().collect();
            // Inside a batch too, once the deadline has passed and some block of the round
            // is priced, the others keep their upper bounds (one projection onto a cone of
            // wide filters can take a second).
            let some_priced = std::sync::atomic::AtomicBool::new(!priced.is_empty());
            let part: Vec<PricedBlock> = groups
                .par_iter()
                .map(|(i, list)| {
                    let mut shared = pattern_facets[*i].clone();
                    let mut out = Vec::with_capacity(list.len());
                    for &b in list {
                        if some_priced.load(std::sync::atomic::Ordering::Relaxed)
                            && s.deadline.is_some_and(|d| Instant::now() >= d)
                        {
                            out.push((b, bounds[b], Vec::new(), facets[b].clone()));
                            continue;
                        }
                        let sg = prog.block_info(b).2;
                        let r = b % half;
                        let a: Vec<f64> = ag[r * h..(r + 1) * h].iter().map(|z| -sg * z).collect();
                        let mut f = if facets[b].is_empty() {
                            shared.clone()
                        } else {
                            facets[b].clone()
                        };
                        // Dismissed by the cone of the known facets alone when that bound
                        // stays below the threshold (no point: an upper bound only).
                        match project_or_bound(
                            prog.op.normals(),
                            prog.op.signs(*i),
                            &a,
                            1e-12,
                            &mut f,
                            thr,
                        )? {
                            Priced::Exact(p) => {
                                shared.clone_from(&f);
                                // Its direction becomes an atom only when it lies in the cone
                                // to rounding relative to its own length (a projection much
                                // shorter than `a` can be mostly rounding noise).
                                let np = norm(&p.point);
                                let point = if p.violation <= 1e-9 * np {
                                    p.point
                                } else {
                                    Vec::new()
                                };
                                out.push((b, np, point, f));
                            }
                            Priced::AtMost(g) => out.push((b, g, Vec::new(), f)),
                        }
                        some_priced.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(out)
                })
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .flatten()
                .collect();
            found += part.iter().filter(|(_, g, _, _)| *g > thr).count();
            priced.extend(part);
        }
        let mut gam = bounds;
        for (b, g, _, f) in &priced {
            gam[*b] = *g;
            last_gamma[*b] = *g;
            let r = b % half;
            last_at[b * h..(b + 1) * h].copy_from_slice(&ag[r * h..(r + 1) * h]);
            facets[*b].clone_from(f);
            pattern_facets[prog.block_info(*b).0].clone_from(f);
        }
        let gammas = prog.max_per_output(&gam);
        let xcur = assemble(prog, &outs);
        // The loss from the atoms' residual (no product with A: `x` predicts `Φθ`).
        let primal = 0.5 * v.iter().map(|a| a * a).sum::<f64>()
            + beta * crate::algebra::group_norm_sum(&xcur, h);
        let dual = prog.dual_value_per_output(&v, &gammas);
        let gap = relative_gap(primal, dual);
        let go_on = obs.record(&IterRecord {
            iter: rounds,
            inner: rounds,
            objective: primal,
            violation: 0.0,
            gap: Some(gap),
            elapsed: s.started.unwrap_or(t0).elapsed().as_secs_f64(),
            penalty: 0.0,
        });
        let violated: Vec<&PricedBlock> = priced
            .iter()
            .filter(|(_, g, p, _)| *g > thr && !p.is_empty())
            .collect();
        // Converged on the gap only; no violated block left above the slack also stops it
        // (nothing to add), not converged when the gap is still above the tolerance.
        let converged = gap <= s.gap_tol;
        let out_of_time = s.deadline.is_some_and(|d| Instant::now() >= d);
        if converged || violated.is_empty() || rounds >= s.max_rounds || out_of_time || !go_on {
            let atoms = outs.iter().map(|a| a.len()).sum();
            return Ok(PolishInfo {
                objective: primal,
                x: xcur,
                rounds,
                atoms,
                v,
                output_gammas: gammas,
                exact_blocks: priced.iter().filter(|p| !p.2.is_empty()).count(),
                dual,
                relative_gap: gap,
                converged,
                warm: PolishWarm {
                    facets,
                    last_gamma,
                    last_at,
                },
            });
        }
        rounds += 1;
        // Merge the atoms in use of each block into one (lower penalty, same prediction),
        // drop unused atoms, then add the priced maximisers.
        outs.par_iter_mut().for_each(|at| at.merge(prog, n, h));
        for (b, g, p, _) in violated {
            let o = prog.block_info(*b).1;
            let u: Vec<f64> = p.iter().map(|v| v / g).collect();
            let col = column(prog, *b, &u);
            outs[o].push(*b, &u, col, 0.0, n);
        }
    }
}

fn norm(a: &[f64]) -> f64 {
    a.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// The exact point `c_b = Σ θ_a u_a` of the atoms.
fn assemble(prog: &MultiProgram, outs: &[Atoms]) -> Vec<f64> {
    let h = prog.h();
    let mut x = vec![0.0; prog.exact_len()];
    for at in outs {
        for a in 0..at.len() {
            let b = at.block[a];
            for (z, d) in x[b * h..(b + 1) * h]
                .iter_mut()
                .zip(&at.dir[a * h..(a + 1) * h])
            {
                *z += at.theta[a] * d;
            }
        }
    }
    x
}
