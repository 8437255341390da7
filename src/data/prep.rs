//! Preparing a data set for training: class indices, a seeded train/test split, and input
//! normalization with statistics taken from the training part only.

use super::dataset::{Dataset, Targets};
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// Class labels mapped to `0..C`: `index[t]` is the class index of sample `t`, `labels[c]` the
/// original label of index `c` (sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassIndex {
    /// Class index of every sample.
    pub index: Vec<usize>,
    /// Original label of every class index, ascending.
    pub labels: Vec<i64>,
}

impl Dataset {
    /// Class indices of a labelled data set (an error for real targets).
    pub fn class_index(&self) -> Result<ClassIndex> {
        let Targets::Classes(y) = &self.targets else {
            return Err(Error::param(
                "loss",
                "classification needs class labels; the data set has real-valued targets",
            ));
        };
        let mut labels = y.clone();
        labels.sort_unstable();
        labels.dedup();
        let index = y
            .iter()
            .map(|l| labels.binary_search(l).unwrap_or(0))
            .collect();
        Ok(ClassIndex { index, labels })
    }

    /// Indices of the given labels in `labels` (samples with other labels map to `None`).
    pub fn class_index_with(&self, labels: &[i64]) -> Result<Vec<Option<usize>>> {
        let Targets::Classes(y) = &self.targets else {
            return Err(Error::Data(
                "the data set has real-valued targets, not class labels".into(),
            ));
        };
        Ok(y.iter()
            .map(|l| labels.iter().position(|c| c == l))
            .collect())
    }

    /// A seeded random split: `(train, test)` with `round(n·fraction)` test samples.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        if !(0.0..1.0).contains(&test_fraction) {
            return Err(Error::param(
                "test_fraction",
                format!("must be in [0, 1), got {test_fraction}"),
            ));
        }
        let n = self.n();
        let mut idx: Vec<usize> = (0..n).collect();
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
        idx.shuffle(&mut rng);
        let nt = ((n as f64) * test_fraction).round() as usize;
        let (test, train) = idx.split_at(nt);
        let mut train = train.to_vec();
        let mut test = test.to_vec();
        train.sort_unstable();
        test.sort_unstable();
        if train.is_empty() {
            return Err(Error::param(
                "test_fraction",
                format!("leaves no training samples out of {n}"),
            ));
        }
        Ok((self.select(&train), self.select(&test)))
    }
}

/// Input normalization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Normalization {
    /// Inputs as read.
    None,
    /// Per channel: `(x − mean_c) / std_c`, with statistics of the training set.
    Standardize {
        /// Mean of each channel.
        mean: Vec<f64>,
        /// Standard deviation of each channel (1 where it is 0).
        std: Vec<f64>,
    },
}

impl Normalization {
    /// Per-channel statistics of `ds`.
    pub fn standardize_from(ds: &Dataset) -> Normalization {
        let c = ds.shape.channels.max(1);
        let per = ds.shape.len() / c;
        let mut mean = vec![0.0; c];
        let mut sq = vec![0.0; c];
        let mut count = 0usize;
        for t in 0..ds.n() {
            let s = ds.sample(t);
            for ch in 0..c {
                for v in &s[ch * per..(ch + 1) * per] {
                    mean[ch] += v;
                    sq[ch] += v * v;
                }
            }
            count += per;
        }
        let cnt = count.max(1) as f64;
        let std = mean
            .iter()
            .zip(&sq)
            .map(|(m, q)| {
                let mu = m / cnt;
                let var = (q / cnt - mu * mu).max(0.0);
                if var > 0.0 {
                    var.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        Normalization::Standardize {
            mean: mean.iter().map(|m| m / cnt).collect(),
            std,
        }
    }

    /// Applies the normalization in place.
    pub fn apply(&self, ds: &mut Dataset) -> Result<()> {
        if let Normalization::Standardize { mean, std } = self {
            let c = ds.shape.channels.max(1);
            if mean.len() != c || std.len() != c {
                return Err(Error::Data(format!(
                    "normalization has {} channels, data have {c}",
                    mean.len()
                )));
            }
            let per = ds.shape.len() / c;
            for s in ds.x.chunks_mut(ds.shape.len().max(1)) {
                for ch in 0..c {
                    for v in &mut s[ch * per..(ch + 1) * per] {
                        *v = (*v - mean[ch]) / std[ch];
                    }
                }
            }
        }
        Ok(())
    }
}
