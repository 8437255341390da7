//! Local pooling followed by a linear layer, with the ℓ1-squared output penalty (MATH-DEEP
//! section 3):
//!
//! ```text
//! f = Σ_j Σ_l w_{jl} pool_l((X_k u_j)_+ : k ∈ W_l),   min ½‖f − y‖² + (β/2) Σ_j (‖u_j‖² + ‖w_j‖₁²)
//! ```
//!
//! with disjoint windows `W_l` of positions and `pool_l` the average or the maximum over the
//! window. Under the ℓ1-squared penalty a neuron splits into one neuron per window at no cost, so
//! the training problem is exactly the group lasso over (pattern, window, sign) blocks
//! `c_{i,l,±} ∈ K_{i,l}` with penalty `β Σ‖c‖`:
//! - average windows: `A_{i,l} = (1/|W_l|) Σ_{k∈W_l} D_i^k X_k`, cone: the pattern on the window's
//!   rows;
//! - max windows: `A_{i,l} = Σ_t e_t x_{t,s_t}ᵀ` with `s_t` the argmax in `W_l`, cone: the argmax
//!   cone within the window ([`crate::program::maxpool`]).
//!
//! Recovery: `u = c/√‖c‖`, `w = ±√‖c‖ e_l`. With weight decay `(β/2)Σ(‖u‖² + ‖w‖₂²)` instead, the
//! same networks give an upper bound (the exact weight-decay program is an SDP).

use crate::arch::traits::{sign_accuracy_of, Architecture, Fit, Model, Report};
use crate::certify::{certify, Certificate, Scope};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::network::TwoLayerCnn;
use crate::nonconvex::FullBatchSettings;
use crate::observe::Observer;
use crate::patches::{PatchSpec, Patches};
use crate::patterns::PatternChoice;
use crate::patterns::{enumerate_exact, sample_gaussian, Hyperplanes, PatternSet};
use crate::program::maxpool::{groups_of, winner_matrix, MaxArrangement};
use crate::program::{Block, ConvexSolution, Pooling, TwoLayerProgram};
use crate::recovery::active_vars;
use crate::solver::{solve_ipm, IpmSettings, SolveStatus};
use crate::tensors::ModelTensors;
use serde::Serialize;
use std::collections::HashSet;

/// Pooling inside a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowPool {
    /// Mean of the window's ReLU outputs.
    Avg,
    /// Maximum of the window's ReLU outputs.
    Max,
}

/// Disjoint `size × size` tiles of the output grid `(oh, ow)` (`size` consecutive positions for
/// 1-D data, where `oh = 1`); tiles at the far edges may be smaller. Position `k = y·ow + x`.
pub fn tile_windows(out_dims: (usize, usize), size: usize) -> Result<Vec<Vec<usize>>> {
    let (oh, ow) = out_dims;
    if size == 0 {
        return Err(Error::param(
            "windows",
            "the window size must be at least 1",
        ));
    }
    let (sh, sw) = if oh == 1 { (1, size) } else { (size, size) };
    let mut windows = Vec::new();
    for y0 in (0..oh).step_by(sh) {
        for x0 in (0..ow).step_by(sw) {
            let mut w = Vec::new();
            for y in y0..(y0 + sh).min(oh) {
                for x in x0..(x0 + sw).min(ow) {
                    w.push(y * ow + x);
                }
            }
            windows.push(w);
        }
    }
    Ok(windows)
}

/// The ℓ1-squared local-pooling program: a group lasso whose blocks each belong to one window.
#[derive(Debug, Clone)]
pub struct LocalProgram {
    /// The group lasso (blocks, cones, targets, `β`).
    pub prog: TwoLayerProgram,
    /// Window of each block.
    pub window_of: Vec<usize>,
    /// The windows.
    pub windows: Vec<Vec<usize>>,
    /// Pooling inside the windows.
    pub pool: WindowPool,
}

/// The arrangement whose regions are the patterns of a local-pooling network.
#[derive(Debug, Clone)]
pub struct LocalArrangement {
    /// For max windows, the argmax arrangement; `None` for average windows (the patch rows).
    pub max: Option<MaxArrangement>,
    /// The distinct hyperplanes of the arrangement rows.
    pub hyperplanes: Hyperplanes,
}

impl LocalArrangement {
    /// Builds the arrangement of `patches` for `windows` and `pool`.
    pub fn new(patches: &Patches, windows: &[Vec<usize>], pool: WindowPool) -> Self {
        let max = (pool == WindowPool::Max)
            .then(|| MaxArrangement::with_windows(patches, windows.to_vec()));
        let hyperplanes = Hyperplanes::from_patches(max.as_ref().map_or(patches, |m| &m.rows));
        LocalArrangement { max, hyperplanes }
    }

    /// The arrangement rows.
    pub fn rows<'a>(&'a self, patches: &'a Patches) -> &'a Patches {
        self.max.as_ref().map_or(patches, |m| &m.rows)
    }
}

fn check_windows(windows: &[Vec<usize>], k: usize) -> Result<()> {
    let mut seen = vec![false; k];
    if windows.is_empty() {
        return Err(Error::param("windows", "no pooling window"));
    }
    for w in windows {
        if w.is_empty() {
            return Err(Error::param("windows", "an empty pooling window"));
        }
        for &p in w {
            if p >= k || seen[p] {
                return Err(Error::param(
                    "windows",
                    format!("position {p} is outside the {k} positions or in two windows"),
                ));
            }
            seen[p] = true;
        }
    }
    Ok(())
}

/// Assembles the program over the regions in `set` (patterns of `arr`): one block per distinct
/// (window, window pattern), blocks with `A = 0` dropped.
pub fn local_program(
    patches: &Patches,
    windows: &[Vec<usize>],
    pool: WindowPool,
    arr: LocalArrangement,
    set: &PatternSet,
    y: &[f64],
    beta: f64,
) -> Result<LocalProgram> {
    local_program_within(patches, windows, pool, arr, set, y, beta, &|_, _| Ok(()))
}

/// [`local_program`], first finding its distinct (window, window pattern) blocks and their
/// cones, then calling `fits(blocks, constraint rows)` (all blocks' rows together) before any
/// block's `A` is built: an error there ends the assembly.
#[allow(clippy::too_many_arguments)]
pub fn local_program_within(
    patches: &Patches,
    windows: &[Vec<usize>],
    pool: WindowPool,
    arr: LocalArrangement,
    set: &PatternSet,
    y: &[f64],
    beta: f64,
    fits: &dyn Fn(usize, usize) -> Result<()>,
) -> Result<LocalProgram> {
    crate::program::check_beta(beta)?;
    crate::data::check_targets(y, patches.n)?;
    check_windows(windows, patches.k)?;
    let (n, h) = (patches.n, patches.h);
    let hp = &arr.hyperplanes;
    // The distinct (window, window pattern) pairs: pattern, window, cone groups and, for max
    // windows, the winners.
    type Spec = (usize, usize, Vec<u32>, Option<Vec<Option<u32>>>);
    let mut seen: HashSet<(usize, Vec<u8>)> = HashSet::new();
    let mut specs: Vec<Spec> = Vec::new();
    for i in 0..set.len() {
        let bits = set.pattern(i);
        let d = hp.row_pattern(bits);
        let winners = arr
            .max
            .as_ref()
            .map(|m| (m, m.winners_per_window(hp, bits)));
        for (l, win) in windows.iter().enumerate() {
            let (key, rows, wins): (Vec<u8>, Vec<usize>, _) = match &winners {
                None => {
                    let rows: Vec<usize> = win
                        .iter()
                        .flat_map(|&k| (0..n).map(move |t| k * n + t))
                        .collect();
                    (rows.iter().map(|&r| d[r] as u8).collect(), rows, None)
                }
                Some((m, wins)) => (
                    wins[l]
                        .iter()
                        .flat_map(|s| s.map_or(u32::MAX, |v| v).to_le_bytes())
                        .collect(),
                    m.cone_rows(l, &wins[l]),
                    Some(wins[l].clone()),
                ),
            };
            // A window pattern with nothing on (no winner) has `A = 0`.
            let off = match &wins {
                None => key.iter().all(|v| *v == 0),
                Some(w) => w.iter().all(Option::is_none),
            };
            if off || !seen.insert((l, key)) {
                continue;
            }
            specs.push((i, l, groups_of(hp, rows.into_iter()), wins));
        }
    }
    drop(seen);
    fits(specs.len(), specs.iter().map(|s| s.2.len()).sum())?;
    let mut blocks = Vec::with_capacity(specs.len());
    let mut window_of = Vec::with_capacity(specs.len());
    for (i, l, constraints, wins) in specs {
        let bits = set.pattern(i);
        let a = match &wins {
            None => {
                let d = hp.row_pattern(bits);
                let win = &windows[l];
                let mut a = vec![0.0; n * h];
                let s = 1.0 / win.len() as f64;
                for r in win.iter().flat_map(|&k| (0..n).map(move |t| k * n + t)) {
                    if d[r] {
                        let t = r % n;
                        for (ai, xi) in a[t * h..(t + 1) * h].iter_mut().zip(patches.row(r)) {
                            *ai += s * xi;
                        }
                    }
                }
                a
            }
            Some(w) => winner_matrix(patches, w),
        };
        if a.iter().all(|v| *v == 0.0) {
            continue;
        }
        blocks.push(Block {
            pattern: i,
            a,
            bits: bits.to_vec(),
            constraints: Some(constraints),
        });
        window_of.push(l);
    }
    Ok(LocalProgram {
        prog: TwoLayerProgram {
            n,
            h,
            k: patches.k,
            pool: match pool {
                WindowPool::Avg => Pooling::Avg,
                WindowPool::Max => Pooling::Max,
            },
            y: y.to_vec(),
            beta,
            hyperplanes: arr.hyperplanes,
            blocks,
        },
        window_of,
        windows: windows.to_vec(),
        pool,
    })
}

/// A two-layer CNN with local pooling and a linear layer over the windows.
#[derive(Debug, Clone, Serialize)]
pub struct LocalPoolCnn {
    /// First-layer geometry.
    pub spec: PatchSpec,
    /// Pooling windows over the positions.
    pub windows: Vec<Vec<usize>>,
    /// Pooling inside a window.
    pub pool: WindowPool,
    /// Filter size `h`.
    pub h: usize,
    /// Filters `u_j`, `m × h` row-major.
    pub filters: Vec<f64>,
    /// Output weights `w_j ∈ R^L`, `m × L` row-major.
    pub weights: Vec<f64>,
}

impl LocalPoolCnn {
    /// Neurons `m`.
    pub fn width(&self) -> usize {
        self.filters.len() / self.h.max(1)
    }

    /// Predictions on the patches of the data (`n` values).
    pub fn predict(&self, patches: &Patches) -> Result<Vec<f64>> {
        if patches.h != self.h {
            return Err(Error::Data(format!(
                "patches of size {} for filters of size {}",
                patches.h, self.h
            )));
        }
        check_windows(&self.windows, patches.k)?;
        let (n, l) = (patches.n, self.windows.len());
        let mut f = vec![0.0; n];
        for (u, w) in self
            .filters
            .chunks_exact(self.h)
            .zip(self.weights.chunks_exact(l))
        {
            for (t, ft) in f.iter_mut().enumerate() {
                for (win, wl) in self.windows.iter().zip(w) {
                    let z = win.iter().map(|&k| {
                        let r = patches.row(k * n + t);
                        r.iter().zip(u).map(|(a, b)| a * b).sum::<f64>().max(0.0)
                    });
                    let pooled = match self.pool {
                        WindowPool::Avg => z.sum::<f64>() / win.len() as f64,
                        WindowPool::Max => z.fold(0.0, f64::max),
                    };
                    *ft += wl * pooled;
                }
            }
        }
        Ok(f)
    }

    /// `(β/2) Σ_j (‖u_j‖² + ‖w_j‖₁²)`.
    pub fn penalty_l1(&self, beta: f64) -> f64 {
        let l = self.windows.len();
        let u2: f64 = self.filters.iter().map(|v| v * v).sum();
        let w1: f64 = self
            .weights
            .chunks_exact(l)
            .map(|w| w.iter().map(|v| v.abs()).sum::<f64>().powi(2))
            .sum();
        0.5 * beta * (u2 + w1)
    }

    /// `½‖f − y‖² + (β/2) Σ_j (‖u_j‖² + ‖w_j‖₁²)`.
    pub fn objective_l1(&self, patches: &Patches, y: &[f64], beta: f64) -> Result<f64> {
        let f = self.predict(patches)?;
        let loss: f64 = crate::loss::half_squared(&f, y);
        Ok(loss + self.penalty_l1(beta))
    }
}

/// The network of a convex solution: one neuron per active block variable, `u = c/√‖c‖`,
/// `w = ±√‖c‖ e_l`.
pub fn recover_local(lp: &LocalProgram, sol: &ConvexSolution, spec: PatchSpec) -> LocalPoolCnn {
    let l = lp.windows.len();
    let mut filters = Vec::new();
    let mut weights = Vec::new();
    for j in active_vars(&lp.prog, sol) {
        let c = sol.var(j);
        let root = crate::program::norm(c).sqrt();
        filters.extend(c.iter().map(|v| v / root));
        let mut w = vec![0.0; l];
        w[lp.window_of[j / 2]] = if j % 2 == 0 { root } else { -root };
        weights.extend(w);
    }
    LocalPoolCnn {
        spec,
        windows: lp.windows.clone(),
        pool: lp.pool,
        h: sol.h,
        filters,
        weights,
    }
}

/// Settings of a local-pooling run.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// First-layer geometry.
    pub spec: PatchSpec,
    /// Window size (positions per side; see [`tile_windows`]).
    pub window: usize,
    /// Pooling inside the windows.
    pub pool: WindowPool,
    /// `β > 0`.
    pub beta: f64,
    /// Exact or sampled patterns.
    pub patterns: PatternChoice,
    /// Interior-point settings.
    pub ipm: IpmSettings,
    /// Refuse exact enumeration above this many patterns.
    pub max_exact_patterns: u128,
    /// Bytes the interior-point solve may use ([`crate::resources::local_pool_bytes`]); a
    /// larger program is refused before it is assembled.
    pub max_memory: u64,
}

/// What a local-pooling run produces.
#[derive(Debug, Clone)]
pub struct LocalOutcome {
    /// The recovered network.
    pub network: LocalPoolCnn,
    /// Convex optimum.
    pub objective: f64,
    /// The recovered network's own objective (ℓ1-squared penalty).
    pub network_objective: f64,
    /// Duality certificate of the recovered network.
    pub certificate: Certificate,
    /// Regions found.
    pub patterns: usize,
    /// (pattern, window) blocks.
    pub blocks: usize,
    /// Solver status.
    pub status: SolveStatus,
    /// Seconds.
    pub seconds: f64,
}

/// Trains the local-pooling network with the ℓ1-squared head on scalar targets.
pub fn train_local(ds: &Dataset, y: &[f64], cfg: &LocalConfig) -> Result<LocalOutcome> {
    let t0 = std::time::Instant::now();
    let patches = Patches::extract(&ds.x, ds.n(), &ds.shape, &cfg.spec)?;
    let windows = tile_windows(patches.out_dims, cfg.window)?;
    let arr = LocalArrangement::new(&patches, &windows, cfg.pool);
    let rows = arr.rows(&patches);
    // Memory before any is spent: the patterns (at the general-position count of the
    // arrangement, or the draws) before they are enumerated, then the program once its blocks
    // are known, before their matrices are built.
    let (n, h, words) = (
        patches.n,
        patches.h,
        arr.hyperplanes.len().div_ceil(64).max(1),
    );
    let (rank, _) = crate::patterns::rank_of(rows);
    let most = crate::patterns::general_position_count(arr.hyperplanes.len(), rank.max(1));
    let instead = match cfg.patterns {
        PatternChoice::Exact => "sample patterns instead (--patterns sample:N)",
        PatternChoice::Sample { .. } => "sample fewer (--patterns sample:N)",
    };
    let fits = |patterns: f64, blocks: usize, cons: usize, what: String| {
        let need =
            crate::resources::local_pool_bytes(patterns, words, blocks as f64, cons as f64, n, h);
        crate::resources::check(&what, need, cfg.max_memory, instead)
    };
    let (set, scope) = match cfg.patterns {
        PatternChoice::Exact => {
            fits(
                most as f64,
                0,
                0,
                format!("enumerating up to {most} local-pooling patterns"),
            )?;
            let set = enumerate_exact(
                rows,
                &arr.hyperplanes,
                cfg.max_exact_patterns,
                &mut |_, _| {},
            )?;
            (set, Scope::Global)
        }
        PatternChoice::Sample { draws, seed } => {
            let most = most.min(draws as u128);
            fits(
                most as f64,
                0,
                0,
                format!("sampling up to {most} local-pooling patterns"),
            )?;
            (
                sample_gaussian(&arr.hyperplanes, draws, seed),
                Scope::Restricted,
            )
        }
    };
    let patterns = set.len();
    let lp = local_program_within(
        &patches,
        &windows,
        cfg.pool,
        arr,
        &set,
        y,
        cfg.beta,
        &|blocks, cons| {
            fits(
                patterns as f64,
                blocks,
                cons,
                format!(
                    "the local-pooling program of {blocks} blocks ({patterns} patterns, {} windows)",
                    windows.len()
                ),
            )
        },
    )?;
    let (sol, info) = solve_ipm(&lp.prog, &cfg.ipm)?;
    let objective = lp.prog.objective(&sol);
    let network = recover_local(&lp, &sol, cfg.spec);
    let f = network.predict(&patches)?;
    let network_objective = network.objective_l1(&patches, y, cfg.beta)?;
    let certificate = certify(
        &lp.prog,
        &f,
        network_objective,
        scope,
        std::slice::from_ref(&info.dual_point),
    )?;
    Ok(LocalOutcome {
        network,
        objective,
        network_objective,
        certificate,
        patterns,
        blocks: lp.prog.blocks.len(),
        status: info.status,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Full-batch Adam on the non-convex local-pooling network with the ℓ1-squared penalty (a
/// subgradient `β‖w_j‖₁ sign(w_j)` for the output weights), from a seeded Gaussian start: the
/// local method the exact program is compared with.
pub fn train_local_adam(
    patches: &Patches,
    y: &[f64],
    windows: &[Vec<usize>],
    pool: WindowPool,
    spec: PatchSpec,
    beta: f64,
    s: &crate::nonconvex::FullBatchSettings,
) -> Result<LocalPoolCnn> {
    use crate::nonconvex::{Optimizer, OptimizerKind};

    check_windows(windows, patches.k)?;
    let (n, h, l, m) = (patches.n, patches.h, windows.len(), s.width);
    if y.len() != n || m == 0 {
        return Err(Error::Data(format!(
            "{} targets for {n} samples, width {m}",
            y.len()
        )));
    }
    let mut draws = crate::nonconvex::Draws::new(s.seed);
    let mut draw = |k: usize, sd: f64| draws.draw(k, sd);
    let mut net = LocalPoolCnn {
        spec,
        windows: windows.to_vec(),
        pool,
        h,
        filters: draw(m * h, 1.0 / (h as f64).sqrt()),
        weights: draw(m * l, 1.0 / ((m * l) as f64).sqrt()),
    };
    let mut ou = Optimizer::new(OptimizerKind::Adam, s.lr, 0.0, m * h);
    let mut ow = Optimizer::new(OptimizerKind::Adam, s.lr, 0.0, m * l);
    let (mut gu, mut gw) = (vec![0.0; m * h], vec![0.0; m * l]);
    for _ in 0..s.iters {
        let f = net.predict(patches)?;
        let r: Vec<f64> = f.iter().zip(y).map(|(a, b)| a - b).collect();
        gu.iter_mut().for_each(|g| *g = 0.0);
        for j in 0..m {
            let u = &net.filters[j * h..(j + 1) * h];
            let w = &net.weights[j * l..(j + 1) * l];
            let w1: f64 = w.iter().map(|v| v.abs()).sum();
            for (li, win) in windows.iter().enumerate() {
                let mut gwl = 0.0;
                for (t, &rt) in r.iter().enumerate() {
                    let zs: Vec<f64> = win
                        .iter()
                        .map(|&k| {
                            let row = patches.row(k * n + t);
                            row.iter().zip(u).map(|(a, b)| a * b).sum::<f64>()
                        })
                        .collect();
                    // The pooled feature and the positions (with weights) it depends on.
                    let (p, grads): (f64, Vec<(usize, f64)>) = match pool {
                        WindowPool::Avg => {
                            let c = 1.0 / win.len() as f64;
                            (
                                c * zs.iter().map(|z| z.max(0.0)).sum::<f64>(),
                                (0..win.len())
                                    .filter(|&i| zs[i] > 0.0)
                                    .map(|i| (i, c))
                                    .collect(),
                            )
                        }
                        WindowPool::Max => {
                            let i =
                                (0..win.len()).fold(0, |b, i| if zs[i] > zs[b] { i } else { b });
                            if zs[i] > 0.0 {
                                (zs[i], vec![(i, 1.0)])
                            } else {
                                (0.0, Vec::new())
                            }
                        }
                    };
                    gwl += rt * p;
                    for (i, c) in grads {
                        let row = patches.row(win[i] * n + t);
                        for (g, x) in gu[j * h..(j + 1) * h].iter_mut().zip(row) {
                            *g += rt * w[li] * c * x;
                        }
                    }
                }
                gw[j * l + li] = gwl + beta * w1 * w[li].signum() * (w[li] != 0.0) as u8 as f64;
            }
            for (g, v) in gu[j * h..(j + 1) * h].iter_mut().zip(u) {
                *g += beta * v;
            }
        }
        ou.step(&mut net.filters, &gu);
        ow.step(&mut net.weights, &gw);
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_grid_once() {
        assert_eq!(
            tile_windows((1, 6), 2).unwrap(),
            vec![vec![0, 1], vec![2, 3], vec![4, 5]]
        );
        assert_eq!(
            tile_windows((1, 5), 2).unwrap(),
            vec![vec![0, 1], vec![2, 3], vec![4]]
        );
        let w = tile_windows((3, 3), 2).unwrap();
        assert_eq!(w, vec![vec![0, 1, 3, 4], vec![2, 5], vec![6, 7], vec![8]]);
        assert!(tile_windows((2, 2), 0).is_err());
    }
}

/// A saved local-pooling network (`arch` `two-layer-local`: the two-layer layout with one
/// output weight per window, the windows in the metadata; `head` `l1` or `shared`) with `β`
/// for its objective; its input shape.
pub(crate) fn read(
    t: &ModelTensors,
    beta: f64,
    file: &std::path::Path,
) -> Result<(Box<dyn Model>, crate::data::SampleShape)> {
    let as_cnn = TwoLayerCnn::from_tensors(t, file)?;
    let bad = |msg: String| Error::format(file, msg);
    let text = t.field("windows", file)?;
    let windows: Vec<Vec<usize>> =
        serde_json::from_str(text).map_err(|e| bad(format!("metadata field 'windows': {e}")))?;
    let k = {
        let (oh, ow) = as_cnn.spec.output_dims(&as_cnn.shape)?;
        oh * ow
    };
    check_windows(&windows, k).map_err(|e| bad(format!("metadata field 'windows': {e}")))?;
    let l = windows.len();
    if as_cnn.outputs != l {
        return Err(bad(format!(
            "tensor 'fc.weight' has {} rows for {l} windows",
            as_cnn.outputs
        )));
    }
    let pool = match as_cnn.pool {
        Pooling::Avg => WindowPool::Avg,
        Pooling::Max => WindowPool::Max,
        Pooling::Sum => {
            return Err(bad(
                "metadata field 'pool': 'sum' (local windows pool by avg or max)".into(),
            ))
        }
    };
    let l1 = match t.field("head", file)? {
        "l1" => true,
        "shared" => false,
        h => return Err(bad(format!("metadata field 'head': unknown value '{h}'"))),
    };
    let m = as_cnn.width();
    let mut weights = vec![0.0; m * l];
    for j in 0..m {
        for w in 0..l {
            weights[j * l + w] = as_cnn.weights[w * m + j];
        }
    }
    let h = as_cnn.spec.filter_len(&as_cnn.shape);
    let net = LocalPoolCnn {
        spec: as_cnn.spec,
        windows,
        pool,
        h,
        filters: as_cnn.filters,
        weights,
    };
    Ok((
        Box::new(LocalModel(net, beta, as_cnn.shape, l1)),
        as_cnn.shape,
    ))
}

// The Architecture interface.

/// Local pooling windows with the ℓ1-squared head.
#[derive(Debug, Clone)]
pub struct LocalPool {
    /// Training settings.
    pub cfg: LocalConfig,
}

/// The network, `β`, the sample shape, and whether the output penalty is `‖w_j‖₁²` (the
/// `l1` head) rather than weight decay `‖w_j‖²` (the shared head of the SDP).
struct LocalModel(LocalPoolCnn, f64, crate::data::SampleShape, bool);

impl Model for LocalModel {
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.0.spec)?;
        self.0.predict(&p)
    }
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64> {
        let penalty = if self.3 {
            self.0.penalty_l1(self.1)
        } else {
            let sq: f64 = self
                .0
                .filters
                .iter()
                .chain(&self.0.weights)
                .map(|v| v * v)
                .sum();
            0.5 * self.1 * sq
        };
        Ok(crate::loss::half_squared(&self.predict(ds)?, y) + penalty)
    }
    fn width(&self) -> usize {
        self.0.width()
    }
    /// The tensors of a two-layer model with `L` outputs (`fc.weight` `(L, m)`: the weights of
    /// window `l` in row `l`); the metadata lists the windows as position lists.
    fn tensors(&self) -> Result<Option<ModelTensors>> {
        let net = &self.0;
        let (m, l) = (net.width(), net.windows.len());
        let mut weights = vec![0.0; l * m];
        for j in 0..m {
            for w in 0..l {
                weights[w * m + j] = net.weights[j * l + w];
            }
        }
        let as_cnn = TwoLayerCnn {
            shape: self.2,
            spec: net.spec,
            pool: match net.pool {
                WindowPool::Avg => Pooling::Avg,
                WindowPool::Max => Pooling::Max,
            },
            filters: net.filters.clone(),
            outputs: l,
            weights,
        };
        let windows = serde_json::to_string(&net.windows)
            .map_err(|e| Error::Solver(format!("windows: {e}")))?;
        Ok(Some(as_cnn.tensors(&[
            ("arch", "two-layer-local".to_string()),
            ("head", "l1".to_string()),
            ("windows", windows),
            (
                "network",
                "f(x) = sum_l fc.weight[l] . pool_{k in windows[l]} relu(conv(x))_k".to_string(),
            ),
        ])))
    }
}

impl LocalPool {
    fn pool_name(&self) -> &'static str {
        match self.cfg.pool {
            WindowPool::Avg => "avg",
            WindowPool::Max => "max",
        }
    }
}

impl Architecture for LocalPool {
    fn name(&self) -> String {
        let w = self.cfg.window;
        format!(
            "two-layer, local {} pooling {w}×{w} windows, ℓ1² head",
            self.pool_name()
        )
    }
    fn regularizer(&self) -> &'static str {
        "group ℓ2 over (pattern, window) blocks"
    }
    fn fit(&self, ds: &Dataset, obs: &mut dyn Observer) -> Result<Fit> {
        let y = ds.scalar_targets()?;
        obs.stage("local pooling program");
        let o = train_local(ds, &y, &self.cfg)?;
        let patches = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.cfg.spec)?;
        let f = o.network.predict(&patches)?;
        let c = &o.certificate;
        let mut r = Report::new(self, "two-layer", y.len(), self.cfg.beta);
        r.certified(o.objective, o.network_objective, c);
        r.status = o.status.name().into();
        r.filters = o.network.width();
        r.train_accuracy = sign_accuracy_of(ds, &y, &f);
        r.seconds = o.seconds;
        r.notes.push("objective: ½Σ(f−y)² + (β/2)Σ_j(‖u_j‖² + ‖w_j‖₁²) (ℓ1-squared output penalty; exact group lasso over (pattern, window) blocks, MATH-DEEP.md section 3); with weight decay on w instead, this network is an upper bound".into());
        r.detail("head", "l1")
            .detail("pool", self.pool_name())
            .detail("window", self.cfg.window)
            .detail("windows", &o.network.windows)
            .detail("positions", patches.k)
            .detail("filter_size", patches.h)
            .detail("pattern_mode", self.cfg.patterns.text())
            .detail("patterns", o.patterns)
            .detail("blocks", o.blocks);
        Ok(Fit::new(
            r,
            Box::new(LocalModel(o.network, self.cfg.beta, ds.shape, true)),
        ))
    }
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.cfg.spec)?;
        let windows = tile_windows(p.out_dims, self.cfg.window)?;
        let net = train_local_adam(
            &p,
            y,
            &windows,
            self.cfg.pool,
            self.cfg.spec,
            self.cfg.beta,
            s,
        )?;
        Ok(Box::new(LocalModel(net, self.cfg.beta, ds.shape, true)))
    }
}
