//! Three-layer CNNs with two ReLU layers (MATH-DEEP.md section 1): `m` parallel sub-networks,
//! each with `m₁ = 2` filters, ReLU, a 1×1 convolution mixing the two channels into one, ReLU,
//! global sum pooling and a scalar output weight:
//!
//! ```text
//! f(X)_t = Σ_j w3_j Σ_k ( Σ_c w2_{jc} (x_{t,k}ᵀ u_{jc})_+ )_+
//! min ½‖f − y‖² + (β/2) Σ_j (‖w2_j‖² + w3_j²)   s.t. ‖U_j‖_F ≤ 1
//! ```
//!
//! This is this project's precise version of the paper's three-layer family: rescaling gives the
//! path-norm problem with `z_{jc} = |w3_j||w2_{jc}| u_{jc}` and penalty `β Σ ‖z_{jc}‖`, an exact
//! SOCP over two kinds of blocks:
//! - **S-blocks** `(i, σ)`: the two-layer blocks (one channel active);
//! - **P-blocks** `(i₁, i₂, o, σ)`: the first channel positive with pattern `d_{i₁}`, the second
//!   negative with `d_{i₂}`, and `o` the second layer's sign pattern on the rows `R` where both
//!   fire; prediction `σ S((d_{i₁}∘(1 − d_{i₂}) + ō)∘M z₁ − ō∘M z₂)`, cost `β(‖z₁‖ + ‖z₂‖)`.

pub mod first_order;
pub mod network;
pub mod program;

pub use network::ThreeLayerCnn;
pub use program::{
    SizeStage, ThreeLayerBlock, ThreeLayerPatterns, ThreeLayerProgram, ThreeLayerSize,
};

use crate::arch::traits::{
    sign_accuracy_of, Architecture, CertificateScope, Fit, Geometry, Model, PatchModel,
    PatchNetwork, Report, EXACT_GAP,
};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::nonconvex::FullBatchSettings;
use crate::observe::Observer;
use crate::patches::Patches;
use crate::program::{dot, norm};
use crate::solver::{solve_block_socp, IpmSettings, SocpBlock, SolveStatus};
use crate::tensors::ModelTensors;
use std::time::Instant;

/// The three-layer program's blocks and solution.
#[derive(Debug, Clone)]
pub struct ThreeLayerOutcome {
    /// Convex objective at the returned point (the optimum, up to the solver's accuracy).
    pub objective: f64,
    /// The recovered network's objective from its own forward pass.
    pub network_objective: f64,
    /// The recovered network.
    pub network: ThreeLayerCnn,
    /// S-blocks.
    pub s_blocks: usize,
    /// P-blocks.
    pub p_blocks: usize,
    /// Solver status.
    pub status: SolveStatus,
    /// A lower bound on the program's optimum: Clarabel's dual objective (interior point), or
    /// the dual value of the scaled residual (first-order solver, [`crate::arch::three_layer::first_order`]).
    pub dual_objective: f64,
    /// The first-order solver's report (`None` for the interior point).
    pub first_order: Option<crate::arch::three_layer::first_order::FirstOrderReport>,
}

/// How the three-layer program is solved.
#[derive(Debug, Clone, Copy)]
pub enum ThreeLayerSolver {
    /// Interior point (Clarabel) on the whole program: exact, for small instances.
    Ipm(IpmSettings),
    /// Augmented Lagrangian with FISTA over a working set of blocks
    /// ([`crate::arch::three_layer::first_order::solve_three_layer_al`]): first-order, for sampled programs with
    /// large filters.
    Al(crate::arch::three_layer::first_order::FirstOrderSettings),
    /// Fully corrective conditional gradient, column generation over atoms
    /// ([`crate::arch::three_layer::first_order::solve_three_layer_cg`]): first-order, for exact programs with
    /// many blocks and small filters.
    Cg(crate::arch::three_layer::first_order::FirstOrderSettings),
}

/// Trains the three-layer CNN with the interior point: the patterns, one solve, recovery.
/// `max_blocks` bounds the program size.
pub fn train_three_layer(
    p: &Patches,
    y: &[f64],
    beta: f64,
    patterns: ThreeLayerPatterns,
    ipm: &IpmSettings,
    max_blocks: usize,
) -> Result<ThreeLayerOutcome> {
    train_three_layer_with(
        p,
        y,
        beta,
        patterns,
        &ThreeLayerSolver::Ipm(*ipm),
        max_blocks,
    )
}

/// Trains the three-layer CNN with the given solver: builds the program
/// ([`ThreeLayerProgram::build`]), solves it, prunes (Carathéodory, `≤ n + 1` sub-networks) and
/// recovers all three layers.
pub fn train_three_layer_with(
    p: &Patches,
    y: &[f64],
    beta: f64,
    patterns: ThreeLayerPatterns,
    solver: &ThreeLayerSolver,
    max_blocks: usize,
) -> Result<ThreeLayerOutcome> {
    train_three_layer_within(
        p,
        y,
        beta,
        patterns,
        solver,
        max_blocks,
        crate::resources::default_limit(),
    )
}

/// [`train_three_layer_with`] within `max_memory` bytes: the program is refused while it is
/// built, before it outgrows the estimate of its solver
/// ([`crate::resources::three_layer_ipm_bytes`],
/// [`crate::resources::three_layer_first_order_bytes`]).
pub fn train_three_layer_within(
    p: &Patches,
    y: &[f64],
    beta: f64,
    patterns: ThreeLayerPatterns,
    solver: &ThreeLayerSolver,
    max_blocks: usize,
    max_memory: u64,
) -> Result<ThreeLayerOutcome> {
    crate::program::check_beta(beta)?;
    crate::data::check_targets(y, p.n)?;
    let fits = |size: ThreeLayerSize| -> Result<()> {
        let (n, h, rows) = (p.n, p.h, p.rows());
        let need = match solver {
            ThreeLayerSolver::Ipm(_) => crate::resources::three_layer_ipm_bytes(size, n, h, rows),
            ThreeLayerSolver::Al(s) | ThreeLayerSolver::Cg(s) => {
                crate::resources::three_layer_first_order_bytes(
                    size,
                    n,
                    h,
                    rows,
                    s.rounds.saturating_mul(s.add),
                    matches!(solver, ThreeLayerSolver::Al(_)),
                    rayon::current_num_threads(),
                )
            }
        };
        let (s, pb, pats) = (size.s_blocks, size.p_blocks, size.patterns);
        let what = match size.stage {
            SizeStage::Enumerating => {
                format!("the exact three-layer program of up to {pats} first-layer patterns ({s} S-blocks before any P-block)")
            }
            SizeStage::Sampled => {
                format!("the sampled three-layer program of up to {s} S-blocks and {pb} P-blocks")
            }
            SizeStage::Growing => format!(
                "the exact three-layer program, at {s} S-blocks and {pb} P-blocks so far ({pats} first-layer patterns)"
            ),
        };
        let instead = match (patterns, solver) {
            (ThreeLayerPatterns::Sample { .. }, _) => "sample fewer (--patterns sample:N)",
            (ThreeLayerPatterns::Exact, ThreeLayerSolver::Ipm(_)) => {
                "solve it with --solver cg, or sample patterns (--patterns sample:N)"
            }
            (ThreeLayerPatterns::Exact, _) => "sample patterns instead (--patterns sample:N)",
        };
        crate::resources::check(&what, need, max_memory, instead)
    };
    let prog = ThreeLayerProgram::build_within(p, patterns, max_blocks, &fits)?;
    let (theta, status, dual_objective, first_order) = match solver {
        ThreeLayerSolver::Ipm(s) => {
            let blocks: Vec<SocpBlock> = (0..prog.blocks.len())
                .map(|b| prog.socp_block(p, b, beta))
                .collect();
            let sol = solve_block_socp(y, &blocks, s)?;
            (sol.theta, sol.status, sol.dual_objective, None)
        }
        ThreeLayerSolver::Al(s) => {
            let (theta, rep) =
                crate::arch::three_layer::first_order::solve_three_layer_al(p, y, beta, &prog, s)?;
            (theta, rep.status, rep.lower_bound, Some(rep))
        }
        ThreeLayerSolver::Cg(s) => {
            let (theta, rep) =
                crate::arch::three_layer::first_order::solve_three_layer_cg(p, y, beta, &prog, s)?;
            (theta, rep.status, rep.lower_bound, Some(rep))
        }
    };
    let (objective, network) = recover(p, y, beta, &prog, &theta)?;
    let network_objective = network.objective(p, y, beta)?;
    Ok(ThreeLayerOutcome {
        objective,
        network_objective,
        network,
        s_blocks: prog.s_blocks,
        p_blocks: prog.p_blocks(),
        status,
        dual_objective,
        first_order,
    })
}

/// The convex objective at `theta` (one vector per block; empty for zero), then Carathéodory
/// pruning and the recovery `u_c = z_c/√(‖z_c‖ t)`, `w2_c = s_c √‖z_c‖`, `w3 = σ√t` with
/// `t = Σ_c ‖z_c‖`.
fn recover(
    p: &Patches,
    y: &[f64],
    beta: f64,
    prog: &ThreeLayerProgram,
    theta: &[Vec<f64>],
) -> Result<(f64, ThreeLayerCnn)> {
    let (n, h) = (p.n, p.h);
    let largest = theta.iter().map(|t| norm(t)).fold(0.0, f64::max);
    let active: Vec<usize> = (0..prog.blocks.len())
        .filter(|&b| largest > 0.0 && norm(&theta[b]) > 1e-9 * largest)
        .collect();
    let outputs: Vec<Vec<f64>> = active
        .iter()
        .map(|&b| prog.output(p, b, &theta[b]))
        .collect();
    let costs: Vec<f64> = active
        .iter()
        .map(|&b| theta[b].chunks(h).map(norm).sum())
        .collect();
    let mut f = vec![0.0; n];
    for o in &outputs {
        f.iter_mut().zip(o).for_each(|(a, b)| *a += b);
    }
    let loss: f64 = crate::loss::half_squared(&f, y);
    let objective = loss + beta * costs.iter().sum::<f64>();
    // Carathéodory pruning over the blocks (same prediction, same penalty, ≤ n + 1 blocks).
    let scales = crate::recovery::caratheodory_scales(&outputs, &costs)?;
    let mut net = ThreeLayerCnn {
        h,
        u: Vec::new(),
        w2: Vec::new(),
        w3: Vec::new(),
    };
    for (&b, scale) in active.iter().zip(&scales) {
        if *scale <= 0.0 {
            continue;
        }
        let th: Vec<f64> = theta[b].iter().map(|v| v * scale).collect();
        let is_p = prog.is_pair(b);
        let (z1, z2) = if is_p {
            (&th[..h], &th[h..2 * h])
        } else {
            (&th[..h], &[][..])
        };
        let (n1, n2) = (norm(z1), if is_p { norm(z2) } else { 0.0 });
        let t = n1 + n2;
        for (z, nz, s) in [(z1, n1, 1.0), (z2, n2, -1.0)] {
            if nz > 0.0 {
                net.u.extend(z.iter().map(|v| v / (nz * t).sqrt()));
                net.w2.push(s * nz.sqrt());
            } else {
                net.u.extend(std::iter::repeat_n(0.0, h));
                net.w2.push(0.0);
            }
        }
        net.w3.push(prog.blocks[b].sigma * t.sqrt());
    }
    Ok((objective, net))
}

/// Full-batch projected Adam on the non-convex three-layer network (`‖U_j‖_F ≤ 1` by projection
/// after every step), from a seeded Gaussian start: the local method the exact program is
/// compared with. Returns the last network.
pub fn train_three_layer_adam(
    p: &Patches,
    y: &[f64],
    beta: f64,
    s: &crate::nonconvex::FullBatchSettings,
) -> Result<ThreeLayerCnn> {
    use crate::nonconvex::{Optimizer, OptimizerKind};

    let (n, h, m) = (p.n, p.h, s.width);
    if y.len() != n || m == 0 {
        return Err(Error::Data(format!(
            "{} targets for {n} samples, width {m}",
            y.len()
        )));
    }
    let mut draws = crate::nonconvex::Draws::new(s.seed);
    let mut draw = |k: usize, sd: f64| draws.draw(k, sd);
    let mut net = ThreeLayerCnn {
        h,
        u: draw(m * 2 * h, 1.0 / ((2 * h) as f64).sqrt()),
        w2: draw(m * 2, 1.0),
        w3: draw(m, 1.0 / (m as f64).sqrt()),
    };
    let project = |u: &mut [f64]| {
        for uj in u.chunks_mut(2 * h) {
            let nu = norm(uj);
            if nu > 1.0 {
                uj.iter_mut().for_each(|v| *v /= nu);
            }
        }
    };
    project(&mut net.u);
    let mut ou = Optimizer::new(OptimizerKind::Adam, s.lr, 0.0, net.u.len());
    let mut o2 = Optimizer::new(OptimizerKind::Adam, s.lr, 0.0, net.w2.len());
    let mut o3 = Optimizer::new(OptimizerKind::Adam, s.lr, 0.0, net.w3.len());
    let (mut gu, mut g2, mut g3) = (
        vec![0.0; net.u.len()],
        vec![0.0; net.w2.len()],
        vec![0.0; net.w3.len()],
    );
    for _ in 0..s.iters {
        let f = net.predict(p)?;
        let r: Vec<f64> = f.iter().zip(y).map(|(a, b)| a - b).collect();
        gu.iter_mut().for_each(|v| *v = 0.0);
        for j in 0..m {
            g3[j] = beta * net.w3[j];
            g2[2 * j] = beta * net.w2[2 * j];
            g2[2 * j + 1] = beta * net.w2[2 * j + 1];
            for (t, &rt) in r.iter().enumerate() {
                for k in 0..p.k {
                    let x = p.row(k * n + t);
                    let a: [f64; 2] = [0, 1]
                        .map(|c| dot(x, &net.u[(j * 2 + c) * h..(j * 2 + c + 1) * h]).max(0.0));
                    let g = net.w2[2 * j] * a[0] + net.w2[2 * j + 1] * a[1];
                    if g <= 0.0 {
                        continue;
                    }
                    g3[j] += rt * g;
                    for c in 0..2 {
                        g2[2 * j + c] += rt * net.w3[j] * a[c];
                        if a[c] > 0.0 {
                            let coef = rt * net.w3[j] * net.w2[2 * j + c];
                            for (gv, xv) in
                                gu[(j * 2 + c) * h..(j * 2 + c + 1) * h].iter_mut().zip(x)
                            {
                                *gv += coef * xv;
                            }
                        }
                    }
                }
            }
        }
        ou.step(&mut net.u, &gu);
        o2.step(&mut net.w2, &g2);
        o3.step(&mut net.w3, &g3);
        project(&mut net.u);
    }
    Ok(net)
}

// The Architecture interface.

/// The three-layer CNN with two ReLU layers (MATH-DEEP.md section 1).
#[derive(Debug, Clone, Copy)]
pub struct ThreeLayer {
    /// First-layer geometry.
    pub spec: crate::patches::PatchSpec,
    /// `β`.
    pub beta: f64,
    /// Interior point (exact, small) or the first-order working-set solver (real data).
    pub solver: ThreeLayerSolver,
    /// Refuse programs with more blocks than this.
    pub max_blocks: usize,
    /// Exact or sampled patterns.
    pub patterns: ThreeLayerPatterns,
    /// Also solve the two-layer program (sum pooling, same first layer) for comparison.
    pub also_two_layer: bool,
    /// Bytes the program and its solve may use (and the two-layer one beside it); a program
    /// estimated above it is refused while it is built ([`train_three_layer_within`]).
    pub max_memory: u64,
}

impl PatchNetwork for ThreeLayerCnn {
    fn forward(&self, p: &Patches) -> Result<Vec<f64>> {
        self.predict(p)
    }
    fn penalized(&self, p: &Patches, y: &[f64], beta: f64) -> Result<f64> {
        self.objective(p, y, beta)
    }
    fn units(&self) -> usize {
        self.width()
    }
    /// `conv.weight` `(2m, c, k…)`: channels `2j, 2j+1` are sub-network `j`'s filters;
    /// `mix.weight` `(m, 2)`; `fc.weight` `(1, m)`.
    fn weights(&self, g: &Geometry) -> ModelTensors {
        let m = self.width();
        let mut t = ModelTensors::new("three-layer");
        g.push_conv(&mut t, &self.u);
        t.push("mix.weight", vec![m, 2], self.w2.clone()).push(
            "fc.weight",
            vec![1, m],
            self.w3.clone(),
        );
        g.describe(&mut t);
        t.meta(
            "network",
            "f(x) = sum_j fc[j] sum_k relu(mix[j,0] relu(conv_2j(x))_k + mix[j,1] relu(conv_2j+1(x))_k)",
        );
        t
    }
}

/// A saved three-layer CNN (`arch` `three-layer`) with `β` for its objective; its input shape.
pub(crate) fn read(
    t: &ModelTensors,
    beta: f64,
    file: &std::path::Path,
) -> Result<(Box<dyn Model>, crate::data::SampleShape)> {
    let geometry = Geometry::read(t, file)?;
    let h = geometry.filter_len();
    let (u, rows) = geometry.read_conv(t, file)?;
    let mix = t.require("mix.weight", file)?;
    let fc = t.require("fc.weight", file)?;
    let m = fc.data.len();
    if rows != 2 * m || mix.data.len() != 2 * m {
        return Err(Error::format(
            file,
            format!(
                "tensors 'conv.weight' ({rows} filters), 'mix.weight' {:?} and 'fc.weight' {:?} do not fit {m} sub-networks of two filters",
                mix.shape, fc.shape
            ),
        ));
    }
    let net = ThreeLayerCnn {
        h,
        u,
        w2: mix.data.clone(),
        w3: fc.data.clone(),
    };
    Ok(PatchModel::loaded(net, geometry, beta))
}

impl ThreeLayer {
    fn model(&self, net: ThreeLayerCnn, ds: &Dataset) -> PatchModel<ThreeLayerCnn> {
        PatchModel {
            net,
            geometry: Geometry::of(self.spec, ds),
            beta: self.beta,
        }
    }
}

impl Architecture for ThreeLayer {
    fn name(&self) -> String {
        "three-layer, two ReLU layers (2 channels per sub-network)".into()
    }
    fn regularizer(&self) -> &'static str {
        "group ℓ2 over S-blocks and P-blocks (pairs of first-layer patterns and a second-layer pattern)"
    }
    fn fit(&self, ds: &Dataset, obs: &mut dyn Observer) -> Result<Fit> {
        let t = Instant::now();
        let y = ds.scalar_targets()?;
        obs.stage("three-layer program");
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let o = train_three_layer_within(
            &p,
            &y,
            self.beta,
            self.patterns,
            &self.solver,
            self.max_blocks,
            self.max_memory,
        )?;
        let seconds = t.elapsed().as_secs_f64();
        let ipm = match self.solver {
            ThreeLayerSolver::Ipm(s) => s,
            _ => IpmSettings::default(),
        };
        let two = if self.also_two_layer {
            obs.stage("two-layer program (for comparison)");
            let cfg = crate::arch::two_layer::train::TrainConfig {
                spec: self.spec,
                pool: crate::program::Pooling::Sum,
                beta: self.beta,
                patterns: match self.patterns {
                    ThreeLayerPatterns::Exact => crate::patterns::PatternChoice::Exact,
                    ThreeLayerPatterns::Sample { draws, seed, .. } => {
                        crate::patterns::PatternChoice::Sample { draws, seed }
                    }
                },
                ipm,
                max_exact_patterns: self.max_blocks as u128,
                prune: true,
                max_memory: self.max_memory,
            };
            Some(crate::arch::two_layer::train::train(ds, &y, &cfg, obs)?.objective)
        } else {
            None
        };
        let (solver_name, tol) = match self.solver {
            ThreeLayerSolver::Ipm(_) => ("ipm", EXACT_GAP),
            ThreeLayerSolver::Al(s) => ("al", s.tol),
            ThreeLayerSolver::Cg(s) => ("cg", s.tol.max(EXACT_GAP)),
        };
        let mut r = Report::new(self, "three-layer", y.len(), self.beta);
        r.bracket(o.objective, o.network_objective, o.dual_objective, tol);
        r.certificate = if self.patterns == ThreeLayerPatterns::Exact {
            CertificateScope::Global
        } else {
            CertificateScope::Restricted
        };
        r.status = o.status.name().into();
        r.filters = o.network.width();
        r.seconds = seconds;
        let m = self.model(o.network, ds);
        r.train_accuracy = sign_accuracy_of(ds, &y, &m.predict(ds)?);
        r.detail("positions", p.k)
            .detail("filter_size", p.h)
            .detail(
                "pattern_mode",
                match self.patterns {
                    ThreeLayerPatterns::Exact => "exact".to_string(),
                    ThreeLayerPatterns::Sample { draws, .. } => format!("sample:{draws}"),
                },
            )
            .detail("s_blocks", o.s_blocks)
            .detail("p_blocks", o.p_blocks)
            .detail("sub_networks", m.width())
            .detail("solver", solver_name)
            .detail("first_order", &o.first_order)
            .detail("two_layer_objective", two);
        r.notes.push("objective: ½Σ(f−y)² + β Σ‖z‖ over S- and P-blocks (MATH-DEEP.md section 1), the global optimum of ½Σ(f−y)² + (β/2)Σ_j(‖w2_j‖² + w3_j²) with ‖U_j‖_F ≤ 1 and two channels per sub-network; lower_bound: a certified lower bound on the program's optimum (ipm: the interior-point dual objective; cg, al: the dual value of the residual scaled into the dual feasible set); relative_gap: (network_objective − lower_bound)/network_objective; first_order (cg, al): rounds, master active-set changes (cg) or multiplier updates (al), FISTA steps (al), atoms (cg) or working-set blocks (al), cone violation (al), dual excess max_b γ_b/β − 1; two_layer_objective (with also two-layer): the two-layer optimum on the same data, β and first layer".into());
        Ok(Fit::new(r, Box::new(m)))
    }
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let net = crate::arch::three_layer::train_three_layer_adam(&p, y, self.beta, s)?;
        Ok(Box::new(self.model(net, ds)))
    }
}
