//! The standard two-layer ReLU CNN: convolution, ReLU, global sum/average pooling, linear output
//! (one output, or `C` outputs for classification).
//!
//! Its forward pass is a direct convolution over the input, written independently of the patch
//! matrices of the convex program, so that "recovered network objective = convex objective" is a
//! real check of both.

use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::patches::PatchSpec;
use crate::program::Pooling;
use crate::tensors::ModelTensors;
use serde::Serialize;

/// A two-layer CNN `f_c(x) = Σ_j W_cj · pool_k (conv(x, u_j) + b_j)_+`, `c = 1..C`.
/// Networks recovered from the per-output convex program (MATH.md section 4) have one non-zero
/// entry per column of `W`: every filter feeds one output.
#[derive(Debug, Clone, Serialize)]
pub struct TwoLayerCnn {
    /// Input sample shape.
    pub shape: SampleShape,
    /// First-layer geometry.
    pub spec: PatchSpec,
    /// Global pooling.
    pub pool: Pooling,
    /// Filters, `m × h` row-major, each in the channel-major patch layout (PyTorch's
    /// `Conv.weight[j].flatten()`), followed by the bias when `spec.bias`.
    pub filters: Vec<f64>,
    /// Number of outputs `C`.
    pub outputs: usize,
    /// Output weights `W`, `C × m` row-major (PyTorch's `Linear(m, C).weight`); for one output
    /// simply `w_j`.
    pub weights: Vec<f64>,
}

impl TwoLayerCnn {
    /// Number of filters `m`.
    pub fn width(&self) -> usize {
        self.weights.len() / self.outputs.max(1)
    }

    /// Filter size `h`.
    pub fn filter_len(&self) -> usize {
        self.spec.filter_len(&self.shape)
    }

    /// Filter `j` (weights, then the bias if any).
    pub fn filter(&self, j: usize) -> &[f64] {
        let h = self.filter_len();
        &self.filters[j * h..(j + 1) * h]
    }

    /// Predictions for `n` samples stored flattened in `x`, by direct convolution: `n × C`
    /// column-major (for one output, one value per sample).
    pub fn predict(&self, x: &[f64]) -> Result<Vec<f64>> {
        use rayon::prelude::*;
        let len = self.shape.len();
        if len == 0 || x.len() % len != 0 {
            return Err(Error::Data(format!(
                "input of {} values is not a whole number of samples of {len}",
                x.len()
            )));
        }
        if self.outputs == 0 || self.weights.len() % self.outputs != 0 {
            return Err(Error::Data(format!(
                "{} output weights for {} outputs",
                self.weights.len(),
                self.outputs
            )));
        }
        let n = x.len() / len;
        let (oh, ow) = self.spec.output_dims(&self.shape)?;
        let scale = self.pool.scale(oh * ow);
        let s = &self.spec;
        let (c, hh, ww) = (self.shape.channels, self.shape.height, self.shape.width);
        let m = self.width();
        let outs = self.outputs;
        let rows: Vec<Vec<f64>> = (0..n)
            .into_par_iter()
            .map(|t| {
                let sample = &x[t * len..(t + 1) * len];
                let mut f = vec![0.0; outs];
                for j in 0..m {
                    let u = self.filter(j);
                    let bias = if s.bias { u[u.len() - 1] } else { 0.0 };
                    let mut pooled: f64 = 0.0;
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut z = bias;
                            for ch in 0..c {
                                for i in 0..s.kernel_h {
                                    let yy = (oy * s.stride_h + i) as isize - s.pad_h as isize;
                                    if yy < 0 || yy >= hh as isize {
                                        continue;
                                    }
                                    for jj in 0..s.kernel_w {
                                        let xx = (ox * s.stride_w + jj) as isize - s.pad_w as isize;
                                        if xx < 0 || xx >= ww as isize {
                                            continue;
                                        }
                                        z += sample[(ch * hh + yy as usize) * ww + xx as usize]
                                            * u[(ch * s.kernel_h + i) * s.kernel_w + jj];
                                    }
                                }
                            }
                            pooled = match self.pool {
                                Pooling::Max => pooled.max(z),
                                _ => pooled + z.max(0.0),
                            };
                        }
                    }
                    for (o, fo) in f.iter_mut().enumerate() {
                        *fo += self.weights[o * m + j] * scale * pooled;
                    }
                }
                f
            })
            .collect();
        let mut out = vec![0.0; n * outs];
        for (t, r) in rows.iter().enumerate() {
            for (o, v) in r.iter().enumerate() {
                out[o * n + t] = *v;
            }
        }
        Ok(out)
    }

    /// The weight-decay penalty `(β/2) Σ_j (‖u_j‖² + w_j²)` (the bias counts as part of `u_j`).
    pub fn penalty(&self, beta: f64) -> f64 {
        let u2: f64 = self.filters.iter().map(|v| v * v).sum();
        let w2: f64 = self.weights.iter().map(|v| v * v).sum();
        0.5 * beta * (u2 + w2)
    }

    /// The non-convex training objective `Σ_t ½(f_t − y_t)² + (β/2) Σ_j (‖u_j‖² + ‖W_{:j}‖²)`.
    pub fn objective(&self, x: &[f64], y: &[f64], beta: f64) -> Result<f64> {
        self.objective_with(crate::loss::Loss::Squared, x, y, beta)
    }

    /// The training objective with any loss; `y` is `n × C` column-major.
    pub fn objective_with(
        &self,
        loss: crate::loss::Loss,
        x: &[f64],
        y: &[f64],
        beta: f64,
    ) -> Result<f64> {
        let f = self.predict(x)?;
        if f.len() != y.len() {
            return Err(Error::Data(format!(
                "{} targets for {} predictions",
                y.len(),
                f.len()
            )));
        }
        let n = f.len() / self.outputs.max(1);
        Ok(loss.value_grad(&f, y, n, None) + self.penalty(beta))
    }
}

impl TwoLayerCnn {
    /// The weights in PyTorch layout (see [`crate::export`]) with the header metadata, plus the
    /// `extra` entries (added or replacing).
    pub fn tensors(&self, extra: &[(&str, String)]) -> ModelTensors {
        let m = self.width();
        let h = self.filter_len();
        let s = &self.spec;
        let c = self.shape.channels;
        let kk = c * s.kernel_h * s.kernel_w;
        let mut weight = Vec::with_capacity(m * kk);
        let mut bias = Vec::with_capacity(m);
        for j in 0..m {
            let u = self.filter(j);
            weight.extend_from_slice(&u[..kk]);
            if s.bias {
                bias.push(u[h - 1]);
            }
        }
        let wshape = if self.shape.one_d {
            vec![m, c, s.kernel_w]
        } else {
            vec![m, c, s.kernel_h, s.kernel_w]
        };
        let outs = self.outputs.max(1);
        let mut t = ModelTensors::new("two-layer");
        t.push("conv.weight", wshape, weight);
        t.push("fc.weight", vec![outs, m], self.weights.clone());
        if s.bias {
            t.push("conv.bias", vec![m], bias);
        }
        let (input_shape, kernel, stride, padding) = if self.shape.one_d {
            (
                format!("[{}, {}]", c, self.shape.width),
                format!("{}", s.kernel_w),
                format!("{}", s.stride_w),
                format!("{}", s.pad_w),
            )
        } else {
            (
                format!("[{}, {}, {}]", c, self.shape.height, self.shape.width),
                format!("[{}, {}]", s.kernel_h, s.kernel_w),
                format!("[{}, {}]", s.stride_h, s.stride_w),
                format!("[{}, {}]", s.pad_h, s.pad_w),
            )
        };
        t.meta("pool", self.pool.name())
            .meta("input_shape", input_shape)
            .meta("kernel", kernel)
            .meta("stride", stride)
            .meta("padding", padding)
            .meta("bias", s.bias.to_string());
        for (k, v) in extra {
            t.meta(k, v.clone());
        }
        t
    }
}

impl TwoLayerCnn {
    /// The network of saved tensors in the layout of [`TwoLayerCnn::tensors`] (any `arch`
    /// value: local-pooling and shared-head models reuse this layout); `file` names the source
    /// in errors.
    pub fn from_tensors(t: &ModelTensors, file: &std::path::Path) -> Result<TwoLayerCnn> {
        let bad = |msg: String| Error::format(file, msg);
        let (shape, spec) = crate::patches::read_geometry(t, file)?;
        let pool = match t.field("pool", file)? {
            "sum" => Pooling::Sum,
            "avg" => Pooling::Avg,
            "max" => Pooling::Max,
            p => return Err(bad(format!("metadata field 'pool': unknown value '{p}'"))),
        };
        let conv = t.require("conv.weight", file)?;
        let fc = t.require("fc.weight", file)?;
        let (outputs, m) = match fc.shape.as_slice() {
            [c, m] if *c >= 1 => (*c, *m),
            s => {
                return Err(bad(format!(
                    "tensor 'fc.weight': shape {s:?}, expected (outputs, filters)"
                )))
            }
        };
        let kk = shape.channels * spec.kernel_h * spec.kernel_w;
        if conv.shape.first() != Some(&m) || conv.data.len() != m * kk {
            return Err(bad(format!(
                "tensor 'conv.weight': shape {:?} does not match {m} filters of {kk} weights (fc.weight {:?} and the metadata)",
                conv.shape, fc.shape
            )));
        }
        let bias = if spec.bias {
            let b = t.require("conv.bias", file)?;
            if b.data.len() != m {
                return Err(bad(format!(
                    "tensor 'conv.bias': {} values for {m} filters",
                    b.data.len()
                )));
            }
            Some(&b.data)
        } else {
            None
        };
        let mut filters = Vec::with_capacity(m * (kk + usize::from(spec.bias)));
        for j in 0..m {
            filters.extend_from_slice(&conv.data[j * kk..(j + 1) * kk]);
            if let Some(b) = bias {
                filters.push(b[j]);
            }
        }
        Ok(TwoLayerCnn {
            shape,
            spec,
            pool,
            filters,
            outputs,
            weights: fc.data.clone(),
        })
    }
}
