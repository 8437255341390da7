//! Circular CNNs on 1-D signals (MATH.md section 6, MATH-DEEP.md section 2): the shallow
//! `L = 3` program with its spectral ℓ1 regularizer ([`shallow`]) and the deep `L ≥ 4`
//! networks with their bounds ([`deep`], which builds on the shallow one, never the reverse).

pub mod deep;
pub mod shallow;

pub use deep::*;
pub use shallow::*;

use crate::arch::traits::{
    sign_accuracy_of, Architecture, CertificateScope, Fit, Model, Report, EXACT_GAP,
};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::nonconvex::FullBatchSettings;
use crate::observe::Observer;
use crate::solver::IpmSettings;
use crate::tensors::ModelTensors;
use std::time::Instant;

// The Architecture interface.

/// Circular CNNs on single-channel 1-D signals.
#[derive(Debug, Clone, Copy)]
pub struct Circular {
    /// Layers `L ≥ 3`.
    pub layers: usize,
    /// The spectral path norm instead of weight decay.
    pub path_norm: bool,
    /// `β`.
    pub beta: f64,
    /// Interior-point settings.
    pub ipm: IpmSettings,
    /// The first-order solver (augmented Lagrangian, spectral prox) instead of the interior
    /// point, for `L = 3` with weight decay.
    pub first_order: Option<crate::solver::ProxAlSettings>,
    /// Seed of the refinement (L ≥ 4).
    pub seed: u64,
    /// Bytes the program and its solve may use; a program estimated above it is refused before
    /// its sign patterns are enumerated ([`Circular::check_memory`]).
    pub max_memory: u64,
}

struct CircularModel {
    net: DeepCircularCnn,
    beta: f64,
    path_norm: bool,
}

impl Model for CircularModel {
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>> {
        self.net.predict(&ds.x)
    }
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64> {
        if self.path_norm {
            self.net.path_norm_objective(&ds.x, y, self.beta)
        } else {
            self.net.objective(&ds.x, y, self.beta)
        }
    }
    fn width(&self) -> usize {
        self.net.width()
    }
    /// `a` (m, L − 2, d), `b` (m, d), `w` (m,), with the formula in the metadata.
    fn tensors(&self) -> Result<Option<ModelTensors>> {
        let net = &self.net;
        let (m, d, l) = (net.width(), net.d, net.layers);
        let mut t = ModelTensors::new("circular");
        t.push("a", vec![m, l - 2, d], net.a.clone())
            .push("b", vec![m, d], net.b.clone())
            .push("w", vec![m], net.w.clone());
        t.meta("layers", l.to_string())
            .meta(
                "regularizer",
                if self.path_norm { "path-norm" } else { "weight-decay" },
            )
            .meta(
                "network",
                "f(x) = sum_j w_j relu(x . (a_j1 (*) ... (*) a_j(L-2) (*) b_j)), (a (*) b)_t = sum_s a_s b_{(t-s) mod d}",
            );
        Ok(Some(t))
    }
}

/// A saved circular CNN (`arch` `circular`: tensors `a`, `b`, `w`, metadata `layers` and
/// `regularizer`) with `β` for its objective; its input shape (single-channel signals).
pub(crate) fn read(
    t: &ModelTensors,
    beta: f64,
    file: &std::path::Path,
) -> Result<(Box<dyn Model>, crate::data::SampleShape)> {
    let bad = |msg: String| Error::format(file, msg);
    let layers = t.field("layers", file)?;
    let layers: usize = layers.parse().ok().filter(|l| *l >= 3).ok_or_else(|| {
        bad(format!(
            "metadata field 'layers': '{layers}' is not a count ≥ 3"
        ))
    })?;
    let path_norm = match t.field("regularizer", file)? {
        "path-norm" => true,
        "weight-decay" => false,
        v => {
            return Err(bad(format!(
                "metadata field 'regularizer': unknown value '{v}'"
            )))
        }
    };
    let (a, b, w) = (
        t.require("a", file)?,
        t.require("b", file)?,
        t.require("w", file)?,
    );
    let m = w.data.len();
    let d = match b.shape.as_slice() {
        [bm, d] if *bm == m && *d >= 1 => *d,
        s => return Err(bad(format!("tensor 'b': shape {s:?}, expected ({m}, d)"))),
    };
    if a.data.len() != m * (layers - 2) * d {
        return Err(bad(format!(
            "tensor 'a': shape {:?}, expected ({m}, {}, {d})",
            a.shape,
            layers - 2
        )));
    }
    let net = DeepCircularCnn {
        d,
        layers,
        a: a.data.clone(),
        b: b.data.clone(),
        w: w.data.clone(),
    };
    let shape = crate::data::SampleShape {
        channels: 1,
        height: 1,
        width: d,
        one_d: true,
    };
    Ok((
        Box::new(CircularModel {
            net,
            beta,
            path_norm,
        }),
        shape,
    ))
}

impl Circular {
    /// Refuses a program whose estimate exceeds `max_memory`, before anything is enumerated: its
    /// sign patterns are at most the general-position count `P` of the distinct hyperplanes of
    /// the `n` signals in the rank of `X` (the count itself for signals in general position), and
    /// the solve this run takes ([`crate::resources::circular_ipm_bytes`] for `L = 3` and the
    /// path norm, [`crate::resources::circular_first_order_bytes`] for `L = 3` with the
    /// first-order solver, [`crate::resources::circular_bounds_bytes`] for the bounds of
    /// `L ≥ 4`) is estimated at `P`.
    pub fn check_memory(&self, ds: &Dataset, d: usize) -> Result<()> {
        let n = ds.n();
        let spec = crate::patches::PatchSpec::one_d(d, 1, 0, false);
        let p = crate::patches::Patches::extract(&ds.x, n, &ds.shape, &spec)?;
        let g = crate::patterns::Hyperplanes::from_patches(&p).len();
        let (rank, _) = crate::patterns::rank_of(&p);
        let most = crate::patterns::general_position_count(g, rank.max(1));
        let pats = most as f64;
        let (need, instead) = if self.path_norm || self.layers <= 3 {
            match (&self.first_order, self.path_norm) {
                (Some(_), false) => (
                    crate::resources::circular_first_order_bytes(pats, n, d, g),
                    "use fewer samples (--limit N)",
                ),
                _ => (
                    crate::resources::circular_ipm_bytes(pats, n, d, g),
                    if self.path_norm || self.layers != 3 {
                        "use fewer samples (--limit N)"
                    } else {
                        "use fewer samples (--limit N), or --solver al"
                    },
                ),
            }
        } else {
            (
                crate::resources::circular_bounds_bytes(pats, n, d, g),
                "use fewer samples (--limit N)",
            )
        };
        crate::resources::check(
            &format!(
                "the circular program of up to {} sign patterns ({n} signals of length {d})",
                crate::patterns::count_text(most)
            ),
            need,
            self.max_memory,
            instead,
        )
    }

    /// The signal length, after checking that `ds` holds single-channel 1-D signals.
    pub fn signals(ds: &Dataset) -> Result<usize> {
        if !ds.shape.one_d || ds.shape.channels != 1 {
            return Err(Error::param(
                "arch",
                format!(
                    "circular CNNs take single-channel 1-D signals; the data are {}x{}x{}",
                    ds.shape.channels, ds.shape.height, ds.shape.width
                ),
            ));
        }
        Ok(ds.shape.width)
    }
}

impl Architecture for Circular {
    fn name(&self) -> String {
        format!(
            "circular, L = {}{}",
            self.layers,
            if self.path_norm { ", path norm" } else { "" }
        )
    }
    fn regularizer(&self) -> &'static str {
        if self.path_norm || self.layers == 3 {
            "spectral ℓ1 over sign patterns"
        } else {
            "weighted spectral group ℓ1 (lower bound) / single-frequency units (upper bound)"
        }
    }
    fn fit(&self, ds: &Dataset, obs: &mut dyn Observer) -> Result<Fit> {
        let t = Instant::now();
        let d = Self::signals(ds)?;
        let y = ds.scalar_targets()?;
        check_layers(self.layers)?;
        self.check_memory(ds, d)?;
        let mut r = Report::new(self, "circular", y.len(), self.beta);
        r.detail("layers", self.layers).detail("d", d).detail(
            "penalty",
            if self.path_norm {
                "path-norm"
            } else {
                "weight-decay"
            },
        );
        let model = |net| CircularModel {
            net,
            beta: self.beta,
            path_norm: self.path_norm,
        };
        let m = if self.path_norm {
            obs.stage("path-norm program");
            let (opt, net) = path_norm_network(&ds.x, d, &y, self.beta, self.layers, &self.ipm)?;
            let m = model(net);
            let own = m.objective(ds, &y)?;
            r.bracket(opt, own, opt.min(own), EXACT_GAP);
            r.status = "optimal".into();
            r.notes.push("objective: ½Σ(f−y)² + β Σ_j ‖F(w_j q_j)‖₁ (spectral path norm, unnormalized DFT), exact for every L (MATH-DEEP.md section 2); the network's extra layers are identity filters".into());
            m
        } else if self.layers == 3 {
            obs.stage("circular program");
            let o = match &self.first_order {
                Some(s) => train_circular_first_order(&ds.x, d, &y, self.beta, s)?,
                None => train_circular_exact(&ds.x, d, &y, self.beta, &self.ipm)?,
            };
            let lb = if o.dual_objective.is_finite() {
                o.dual_objective.min(o.objective)
            } else {
                f64::NEG_INFINITY
            };
            let tol = self.first_order.map_or(EXACT_GAP, |s| s.tol.max(EXACT_GAP));
            r.bracket(o.objective, o.network_objective, lb, tol);
            r.status = o.status.name().into();
            r.detail("patterns", o.patterns).detail(
                "solver",
                if self.first_order.is_some() {
                    "al (FISTA, spectral prox)"
                } else {
                    "ipm"
                },
            );
            r.notes.push("objective: ½Σ(f−y)² + (β/d)Σ‖F z‖₁ (unnormalized DFT), the global optimum of ½Σ(f−y)² + (β/2)Σ(‖b‖² + w²) with ‖a‖ ≤ 1; lower_bound: the solver's dual objective".into());
            let net = DeepCircularCnn {
                d,
                layers: 3,
                a: o.network.a,
                b: o.network.b,
                w: o.network.w,
            };
            model(net)
        } else {
            obs.stage("lower bound (spectral group ℓ1)");
            let lb = lower_bound_with_cone_test(&ds.x, d, &y, self.beta, self.layers, &self.ipm)?;
            obs.stage("upper bound (single-frequency units)");
            let (ub, ub_net) =
                single_frequency_network(&ds.x, d, &y, self.beta, self.layers, &self.ipm)?;
            // Local refinement from the upper-bound network: a few seeded perturbed restarts.
            obs.stage("refinement");
            let mut best = (ub_net.clone(), ub_net.objective(&ds.x, &y, self.beta)?);
            for k in 0..4 {
                let s = RefineSettings {
                    iters: 5000,
                    lr: 0.01,
                    noise: 0.2,
                    seed: self.seed.wrapping_add(k),
                };
                let (net, v) = refine(&ds.x, &y, self.beta, &ub_net, &s)?;
                if v < best.1 {
                    best = (net, v);
                }
            }
            r.bracket(ub, best.1, lb.value, EXACT_GAP);
            r.certificate = if lb.cone_test {
                CertificateScope::Global
            } else {
                CertificateScope::Bounds
            };
            r.status = if lb.cone_test { "optimal" } else { "bounds" }.into();
            r.detail("cone_test", lb.cone_test)
                .detail("upper_bound", ub)
                .detail("bound_gap", (ub - lb.value) / ub);
            r.notes.push("L ≥ 4: lower_bound from the weighted spectral group-ℓ1 relaxation (exact only when cone_test passes), upper_bound (= objective) from single-frequency units (attained by a network), network_objective: the best network after local refinement from the upper-bound network (MATH-DEEP.md section 2); the optimum lies in [lower_bound, network_objective]".into());
            model(best.0)
        };
        r.filters = m.width();
        r.train_accuracy = sign_accuracy_of(ds, &y, &m.predict(ds)?);
        r.seconds = t.elapsed().as_secs_f64();
        Ok(Fit::new(r, Box::new(m)))
    }
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>> {
        let d = Self::signals(ds)?;
        if self.path_norm {
            return Err(Error::param(
                "path_norm",
                "no non-convex baseline for the path norm (it is not differentiable at zero spectra)",
            ));
        }
        // A random start refined by the same projected Adam as the upper-bound network.
        let mut draws = crate::nonconvex::Draws::new(s.seed);
        let mut draw = |k: usize, sd: f64| draws.draw(k, sd);
        let m = s.width.max(1);
        let sd = 1.0 / (d as f64).sqrt();
        let start = DeepCircularCnn {
            d,
            layers: self.layers,
            a: draw(m * (self.layers - 2) * d, sd),
            b: draw(m * d, sd),
            w: draw(m, 1.0 / (m as f64).sqrt()),
        };
        let rs = RefineSettings {
            iters: s.iters,
            lr: s.lr,
            noise: 0.0,
            seed: s.seed,
        };
        let (net, _) = refine(&ds.x, y, self.beta, &start, &rs)?;
        Ok(Box::new(CircularModel {
            net,
            beta: self.beta,
            path_norm: false,
        }))
    }
}
