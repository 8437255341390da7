//! The in-memory data set.

use crate::error::{Error, Result};

/// Shape of one sample: channels and one or two spatial axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SampleShape {
    /// Number of channels `c`.
    pub channels: usize,
    /// Height (1 for 1-D signals).
    pub height: usize,
    /// Width, or the length `L` of a 1-D signal.
    pub width: usize,
    /// Whether the samples are 1-D signals (`(c, L)`) rather than images (`(c, H, W)`).
    pub one_d: bool,
}

impl SampleShape {
    /// The sample shape of an array of samples with dimensions `dims`: `(n, L)` (1-D signals,
    /// one channel), `(n, c, L)` (1-D signals) or `(n, c, H, W)` (images); `None` for any other
    /// number of dimensions.
    pub fn from_dims(dims: &[usize]) -> Option<SampleShape> {
        let one_d = |channels, width| SampleShape {
            channels,
            height: 1,
            width,
            one_d: true,
        };
        match dims {
            [_, l] => Some(one_d(1, *l)),
            [_, c, l] => Some(one_d(*c, *l)),
            [_, c, h, w] => Some(SampleShape {
                channels: *c,
                height: *h,
                width: *w,
                one_d: false,
            }),
            _ => None,
        }
    }

    /// Number of values in one sample, `c·H·W`.
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether a sample holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Targets of a data set.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// One real value per sample (regression, scalar output).
    Real(Vec<f64>),
    /// One integer class label per sample.
    Classes(Vec<i64>),
}

impl Targets {
    /// Number of targets.
    pub fn len(&self) -> usize {
        match self {
            Targets::Real(v) => v.len(),
            Targets::Classes(v) => v.len(),
        }
    }

    /// Whether there is no target.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `n` samples, each of shape [`SampleShape`], stored flattened channel-major
/// (`x[t·c·H·W + ch·H·W + i·W + j]`), with their targets.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Flattened samples, `n · shape.len()` values.
    pub x: Vec<f64>,
    /// Shape of one sample.
    pub shape: SampleShape,
    /// Targets, one per sample.
    pub targets: Targets,
}

impl Dataset {
    /// Builds a data set, checking sizes, finiteness and emptiness. `source` names the origin
    /// (a file) in error messages.
    pub fn new(x: Vec<f64>, shape: SampleShape, targets: Targets, source: &str) -> Result<Self> {
        let n = targets.len();
        if n == 0 {
            return Err(Error::Data(format!(
                "{source}: the data set is empty (0 samples)"
            )));
        }
        if shape.is_empty() {
            return Err(Error::Data(format!(
                "{source}: samples have no values (shape {}×{}×{})",
                shape.channels, shape.height, shape.width
            )));
        }
        if x.len() != n * shape.len() {
            return Err(Error::Data(format!(
                "{source}: x holds {} values but y has {n} samples of {} values",
                x.len(),
                shape.len()
            )));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::Data(format!(
                "{source}: x has a non-finite value {} at sample {}, index {}",
                x[i],
                i / shape.len(),
                i % shape.len()
            )));
        }
        if let Targets::Real(y) = &targets {
            if let Some(i) = y.iter().position(|v| !v.is_finite()) {
                return Err(Error::Data(format!(
                    "{source}: y has a non-finite value {} at sample {i}",
                    y[i]
                )));
            }
        }
        Ok(Dataset { x, shape, targets })
    }

    /// Number of samples `n`.
    pub fn n(&self) -> usize {
        self.targets.len()
    }

    /// The values of sample `t`.
    pub fn sample(&self, t: usize) -> &[f64] {
        let l = self.shape.len();
        &self.x[t * l..(t + 1) * l]
    }

    /// Keeps the samples whose indices are listed, in that order.
    pub fn select(&self, idx: &[usize]) -> Dataset {
        let mut x = Vec::with_capacity(idx.len() * self.shape.len());
        for &t in idx {
            x.extend_from_slice(self.sample(t));
        }
        let targets = match &self.targets {
            Targets::Real(y) => Targets::Real(idx.iter().map(|&t| y[t]).collect()),
            Targets::Classes(y) => Targets::Classes(idx.iter().map(|&t| y[t]).collect()),
        };
        Dataset {
            x,
            shape: self.shape,
            targets,
        }
    }

    /// The first `limit` samples (all of them when `limit ≥ n`).
    pub fn head(&self, limit: usize) -> Dataset {
        let idx: Vec<usize> = (0..self.n().min(limit)).collect();
        self.select(&idx)
    }

    /// Keeps only the samples of classes `negative` and `positive` and turns them into real
    /// targets `−1` and `+1`: a binary task for a scalar-output network.
    pub fn binary(&self, negative: i64, positive: i64) -> Result<Dataset> {
        let Targets::Classes(y) = &self.targets else {
            return Err(Error::param(
                "classes",
                "the data set has real-valued targets, not class labels",
            ));
        };
        if negative == positive {
            return Err(Error::param(
                "classes",
                format!("the two classes must differ (got {negative},{positive})"),
            ));
        }
        let idx: Vec<usize> = (0..y.len())
            .filter(|&t| y[t] == negative || y[t] == positive)
            .collect();
        for c in [negative, positive] {
            if !y.contains(&c) {
                return Err(Error::param(
                    "classes",
                    format!("class {c} does not occur in the data"),
                ));
            }
        }
        let mut out = self.select(&idx);
        out.targets = Targets::Real(
            idx.iter()
                .map(|&t| if y[t] == positive { 1.0 } else { -1.0 })
                .collect(),
        );
        Ok(out)
    }

    /// Real targets for a scalar-output network: real targets as they are; class labels only
    /// when there are exactly two classes (the smaller becomes `−1`, the larger `+1`).
    pub fn scalar_targets(&self) -> Result<Vec<f64>> {
        match &self.targets {
            Targets::Real(y) => Ok(y.clone()),
            Targets::Classes(y) => {
                let mut classes: Vec<i64> = y.clone();
                classes.sort_unstable();
                classes.dedup();
                if classes.len() != 2 {
                    return Err(Error::param(
                        "classes",
                        format!(
                            "a scalar-output network needs real targets or two classes; the data has {} classes ({}): pick two of them (A,B)",
                            classes.len(),
                            classes.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",")
                        ),
                    ));
                }
                Ok(y.iter()
                    .map(|&c| if c == classes[1] { 1.0 } else { -1.0 })
                    .collect())
            }
        }
    }
}
