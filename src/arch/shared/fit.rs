//! The shared-filter network as an [`Architecture`]: weight decay on a vector of output weights
//! per filter (one per class, or one per local pooling window), by the SDP over simplicial cones.

use super::sdp::{predict, solve_shared_sdp, train_shared_adam, SharedHead};
use super::{Shared, SharedHeadChoice};
use crate::arch::local_pool::tile_windows;
use crate::arch::traits::{Architecture, CertificateScope, Fit, Model, Report, EXACT_GAP};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::network::TwoLayerCnn;
use crate::nonconvex::FullBatchSettings;
use crate::observe::Observer;
use crate::patches::{PatchSpec, Patches};
use crate::program::Pooling;
use crate::tensors::ModelTensors;
use std::time::Instant;

struct SharedModel {
    head: SharedHead,
    spec: PatchSpec,
    shape: crate::data::SampleShape,
    filters: Vec<f64>,
    weights: Vec<f64>,
    beta: f64,
}

impl SharedModel {
    fn outputs(&self) -> usize {
        match &self.head {
            SharedHead::Local { windows, .. } => windows.len(),
            SharedHead::Vector { outputs } => *outputs,
        }
    }
}

impl Model for SharedModel {
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        Ok(predict(
            &p,
            &self.head,
            &self.filters,
            &self.weights,
            self.outputs(),
        ))
    }
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64> {
        let f = self.predict(ds)?;
        let sq: f64 = self
            .filters
            .iter()
            .chain(&self.weights)
            .map(|v| v * v)
            .sum();
        Ok(crate::loss::half_squared(&f, y) + 0.5 * self.beta * sq)
    }
    fn width(&self) -> usize {
        self.weights.len() / self.outputs().max(1)
    }
    /// The tensors of a two-layer model with one output per class or window (`fc.weight`
    /// `(L, m)`); windows are listed in the metadata.
    fn tensors(&self) -> Result<Option<ModelTensors>> {
        let lw = self.outputs().max(1);
        let m = self.weights.len() / lw;
        let mut weights = vec![0.0; lw * m];
        for j in 0..m {
            for l in 0..lw {
                weights[l * m + j] = self.weights[j * lw + l];
            }
        }
        let net = TwoLayerCnn {
            shape: self.shape,
            spec: self.spec,
            pool: match &self.head {
                SharedHead::Local { max: true, .. } => Pooling::Max,
                SharedHead::Local { .. } => Pooling::Avg,
                SharedHead::Vector { .. } => Pooling::Sum,
            },
            filters: self.filters.clone(),
            outputs: lw,
            weights,
        };
        Ok(Some(match &self.head {
            SharedHead::Vector { .. } => net.tensors(&[]),
            SharedHead::Local { windows, .. } => {
                let wj = serde_json::to_string(windows)
                    .map_err(|e| Error::Solver(format!("windows: {e}")))?;
                net.tensors(&[
                    ("arch", "two-layer-local".to_string()),
                    ("head", "shared".to_string()),
                    ("windows", wj),
                ])
            }
        }))
    }
}

impl Shared {
    fn head(&self, p: &Patches, ds: &Dataset) -> Result<SharedHead> {
        Ok(match self.head {
            SharedHeadChoice::Windows { window, max } => SharedHead::Local {
                windows: tile_windows(p.out_dims, window)?,
                max,
            },
            SharedHeadChoice::Classes => SharedHead::Vector {
                outputs: Self::classes(ds)?.labels.len(),
            },
        })
    }

    fn classes(ds: &Dataset) -> Result<crate::data::ClassIndex> {
        ds.class_index().map_err(|_| {
            Error::param(
                "head",
                "a shared head without windows trains one output per class: the data need class labels",
            )
        })
    }

    fn pool_name(&self) -> &'static str {
        match self.head {
            SharedHeadChoice::Windows { max: true, .. } => "max",
            SharedHeadChoice::Windows { .. } => "avg",
            SharedHeadChoice::Classes => "sum",
        }
    }
}

impl Architecture for Shared {
    fn name(&self) -> String {
        match self.head {
            SharedHeadChoice::Windows { window: w, .. } => format!(
                "two-layer, local {} pooling {w}×{w} windows, weight decay (SDP)",
                self.pool_name()
            ),
            SharedHeadChoice::Classes => {
                "two-layer, shared filters with one output per class, weight decay (SDP)".into()
            }
        }
    }
    fn regularizer(&self) -> &'static str {
        "PSD matrices over simplicial cones (completely positive; exact for patch rank ≤ 4)"
    }
    fn fit(&self, ds: &Dataset, obs: &mut dyn Observer) -> Result<Fit> {
        let t = Instant::now();
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let n = p.n;
        let head = self.head(&p, ds)?;
        let (y, labels) = match self.head {
            SharedHeadChoice::Windows { .. } => (ds.scalar_targets()?, None),
            SharedHeadChoice::Classes => {
                let ci = Self::classes(ds)?;
                let y = crate::loss::one_hot(&ci.index, ci.labels.len());
                (y, Some(ci))
            }
        };
        obs.stage("shared-filter SDP");
        let o = solve_shared_sdp(&p, &y, &head, self.beta, &self.ipm)?;
        let model = SharedModel {
            head,
            spec: self.spec,
            shape: ds.shape,
            filters: o.filters,
            weights: o.weights,
            beta: self.beta,
        };
        let lw = model.outputs().max(1);
        let f = predict(&p, &model.head, &model.filters, &model.weights, lw);
        let accuracy = match (&model.head, &labels) {
            (SharedHead::Vector { outputs }, Some(ci)) => {
                let right = (0..n)
                    .filter(|&t| {
                        let best = (0..*outputs)
                            .max_by(|&a, &b| f[a * n + t].total_cmp(&f[b * n + t]))
                            .unwrap_or(0);
                        best == ci.index[t]
                    })
                    .count();
                Some(right as f64 / n as f64)
            }
            _ => None,
        };
        let mut r = Report::new(self, "two-layer", n, self.beta);
        r.bracket(
            o.network_objective,
            o.network_objective,
            o.lower_bound,
            EXACT_GAP,
        );
        r.certificate = if o.relaxation {
            CertificateScope::Bounds
        } else {
            CertificateScope::Global
        };
        r.status = o.status.name().into();
        r.filters = model.filters.len() / p.h;
        r.train_accuracy = accuracy;
        r.seconds = t.elapsed().as_secs_f64();
        r.detail("head", "shared")
            .detail(
                "outputs",
                match &model.head {
                    SharedHead::Vector { outputs } => *outputs,
                    SharedHead::Local { .. } => 1,
                },
            )
            .detail(
                "windows",
                match &model.head {
                    SharedHead::Local { windows, .. } => serde_json::json!(windows),
                    SharedHead::Vector { .. } => serde_json::Value::Null,
                },
            )
            .detail("pool", self.pool_name())
            .detail("positions", p.k)
            .detail("filter_size", p.h)
            .detail("sdp_objective", o.sdp_objective)
            .detail("regions", o.regions)
            .detail("cones", o.cones)
            .detail("active_cones", o.active_cones)
            .detail("patch_rank", o.rank)
            .detail("sdp_is_relaxation", o.relaxation)
            .detail("cp_residual", o.cp_residual)
            .detail("recovered_objective", o.recovered_objective)
            .detail("classes", labels.as_ref().map(|c| c.labels.clone()));
        r.notes = vec![
            "weight decay ½Σ‖f−Y‖² + (β/2)Σ(‖u‖² + ‖w‖²) with a vector w per filter; SDP over simplicial cones (MATH-DEEP.md section 3), solved over an active set of cones that the dual certificate verifies on all of them".into(),
            "the optimum lies in [lower_bound, network_objective] (dual certificate, recovered network)".into(),
            if o.relaxation { "patch rank ≥ 5: doubly non-negative need not be completely positive, so the SDP value is only a lower bound; the bracket is what is certified" } else { "patch rank ≤ 4: the SDP is exact (doubly non-negative = completely positive)" }.into(),
        ];
        Ok(Fit::new(r, Box::new(model)))
    }
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>> {
        if self.head == SharedHeadChoice::Classes {
            return Err(Error::param(
                "head",
                "the non-convex baseline of the shared head takes local pooling windows",
            ));
        }
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let head = self.head(&p, ds)?;
        let (filters, weights) = train_shared_adam(&p, y, &head, self.beta, s)?;
        Ok(Box::new(SharedModel {
            head,
            spec: self.spec,
            shape: ds.shape,
            filters,
            weights,
            beta: self.beta,
        }))
    }
}
