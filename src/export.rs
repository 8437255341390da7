//! Saving models as safetensors in PyTorch layout, and writing output directories atomically.
//!
//! Tensors (float64, little-endian), for a network of `m` filters on `c` input channels:
//!
//! | name | shape | PyTorch module |
//! |---|---|---|
//! | `conv.weight` | `(m, c, k)` (1-D) or `(m, c, kh, kw)` (2-D) | `nn.Conv1d/Conv2d(c, m, kernel, stride, padding)` |
//! | `conv.bias` | `(m,)`, only with a bias | the same module's bias |
//! | `fc.weight` | `(C, m)` | `nn.Linear(m, C, bias=False)` (`C = 1` for a scalar output) |
//!
//! The network is `fc(pool(relu(conv(x))))` with `pool` the sum (`--pool sum`) or the mean
//! (`--pool avg`) over all spatial positions. The header's `__metadata__` holds `format`
//! (`cvxcnn`), `arch`, `pool`, `input_shape`, `kernel`, `stride`, `padding` and `bias`.

use crate::arch::traits::Fit;
use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::network::TwoLayerCnn;
use crate::patches::PatchSpec;
use crate::program::Pooling;
use crate::tensors::ModelTensors;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::path::Path;

fn to_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_bytes(b: &[u8]) -> Vec<f64> {
    b.chunks_exact(8)
        .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}

/// Serialises a model's tensors (float64, little-endian) and metadata to safetensors bytes: the
/// one serializer of every architecture.
pub fn serialize(t: &ModelTensors) -> Result<Vec<u8>> {
    let err = |e: safetensors::SafeTensorError| Error::Solver(format!("safetensors: {e}"));
    let bytes: Vec<Vec<u8>> = t.tensors.iter().map(|x| to_bytes(&x.data)).collect();
    let mut views = Vec::with_capacity(t.tensors.len());
    for (x, b) in t.tensors.iter().zip(&bytes) {
        views.push((
            x.name.clone(),
            TensorView::new(Dtype::F64, x.shape.clone(), b).map_err(err)?,
        ));
    }
    let meta: HashMap<String, String> = t.metadata.clone().into_iter().collect();
    safetensors::tensor::serialize(views, Some(meta)).map_err(err)
}

/// The files of a fit, as they are written: `report.json`, `model.safetensors` (when the fit is
/// a network) and the model's own further files (the classifier's `model.json`).
pub fn fit_files(fit: &Fit) -> Result<Vec<(String, Vec<u8>)>> {
    let report = serde_json::to_vec_pretty(&fit.report)
        .map_err(|e| Error::Solver(format!("report: {e}")))?;
    let mut files = vec![("report.json".to_string(), report)];
    if let Some(t) = fit.model.tensors()? {
        files.push(("model.safetensors".to_string(), serialize(&t)?));
    }
    files.extend(fit.model.extra_files()?);
    Ok(files)
}

/// Serialises a two-layer CNN to safetensors bytes (layout in the module docs).
pub fn to_safetensors(net: &TwoLayerCnn) -> Result<Vec<u8>> {
    serialize(&net.tensors(&[]))
}

/// [`to_safetensors`] with metadata entries added or replaced (e.g. `arch` and `windows` of a
/// local-pooling network, whose `fc.weight` is `(L, m)`: window `l`'s weights).
pub fn to_safetensors_with(net: &TwoLayerCnn, extra: &[(&str, String)]) -> Result<Vec<u8>> {
    serialize(&net.tensors(extra))
}

fn parse_list(s: &str) -> Option<Vec<usize>> {
    let t = s.trim().trim_start_matches('[').trim_end_matches(']');
    t.split(',').map(|p| p.trim().parse().ok()).collect()
}

/// Reads a two-layer CNN written by [`to_safetensors`]; `name` is used in error messages.
pub fn from_safetensors(bytes: &[u8], name: &Path) -> Result<TwoLayerCnn> {
    let bad = |msg: String| Error::format(name, msg);
    let (_, md) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let st =
        SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let meta = md.metadata().clone().unwrap_or_default();
    let get = |k: &str| {
        meta.get(k)
            .cloned()
            .ok_or_else(|| bad(format!("metadata field '{k}' is missing")))
    };
    if get("format")? != "cvxcnn" || get("arch")? != "two-layer" {
        return Err(bad("metadata: not a cvxcnn two-layer model".into()));
    }
    let pool = match get("pool")?.as_str() {
        "sum" => Pooling::Sum,
        "avg" => Pooling::Avg,
        "max" => Pooling::Max,
        p => return Err(bad(format!("metadata field 'pool': unknown value '{p}'"))),
    };
    let list = |k: &str| -> Result<Vec<usize>> {
        let v = get(k)?;
        parse_list(&v).ok_or_else(|| bad(format!("metadata field '{k}': cannot parse '{v}'")))
    };
    let ishape = list("input_shape")?;
    let (kernel, stride, padding) = (list("kernel")?, list("stride")?, list("padding")?);
    let bias = get("bias")? == "true";
    let (shape, spec) = match (ishape.as_slice(), kernel.len(), stride.len(), padding.len()) {
        ([c, l], 1, 1, 1) => (
            SampleShape {
                channels: *c,
                height: 1,
                width: *l,
                one_d: true,
            },
            PatchSpec::one_d(kernel[0], stride[0], padding[0], bias),
        ),
        ([c, hh, ww], 2, 2, 2) => (
            SampleShape {
                channels: *c,
                height: *hh,
                width: *ww,
                one_d: false,
            },
            PatchSpec {
                kernel_h: kernel[0],
                kernel_w: kernel[1],
                stride_h: stride[0],
                stride_w: stride[1],
                pad_h: padding[0],
                pad_w: padding[1],
                bias,
            },
        ),
        _ => {
            return Err(bad(
                "metadata: inconsistent input_shape/kernel/stride/padding".into(),
            ))
        }
    };
    let tensor = |k: &str| -> Result<(Vec<usize>, Vec<f64>)> {
        let t = st
            .tensor(k)
            .map_err(|e| bad(format!("tensor '{k}': {e}")))?;
        if t.dtype() != Dtype::F64 {
            return Err(bad(format!(
                "tensor '{k}': dtype {:?}, expected F64",
                t.dtype()
            )));
        }
        Ok((t.shape().to_vec(), from_bytes(t.data())))
    };
    let (ws, w) = tensor("conv.weight")?;
    let (fs, fcw) = tensor("fc.weight")?;
    let (outputs, m) = match fs.as_slice() {
        [c, m] if *c >= 1 => (*c, *m),
        _ => {
            return Err(bad(format!(
                "tensor 'fc.weight': shape {fs:?}, expected (C, m)"
            )))
        }
    };
    let kk = shape.channels * spec.kernel_h * spec.kernel_w;
    if ws.first() != Some(&m) || w.len() != m * kk || fcw.len() != outputs * m {
        return Err(bad(format!(
            "tensor shapes {ws:?} and {fs:?} do not match the metadata"
        )));
    }
    let b = if bias {
        Some(tensor("conv.bias")?.1)
    } else {
        None
    };
    let mut filters = Vec::with_capacity(m * (kk + usize::from(bias)));
    for j in 0..m {
        filters.extend_from_slice(&w[j * kk..(j + 1) * kk]);
        if let Some(b) = &b {
            filters.push(
                *b.get(j)
                    .ok_or_else(|| bad("tensor 'conv.bias' is too short".into()))?,
            );
        }
    }
    Ok(TwoLayerCnn {
        shape,
        spec,
        pool,
        filters,
        outputs,
        weights: fcw,
    })
}

/// Writes `files` into directory `dir` so that `dir` appears complete or not at all: everything
/// goes into a fresh sibling temporary directory, which is then renamed to `dir` (an existing
/// `dir` is replaced only after the new one is complete).
pub fn write_dir_atomically<S: AsRef<str>>(dir: &Path, files: &[(S, Vec<u8>)]) -> Result<()> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(Error::param(
            "out",
            format!("parent directory {} does not exist", parent.display()),
        ));
    }
    let base = dir
        .file_name()
        .ok_or_else(|| {
            Error::param(
                "out",
                format!("'{}' is not a directory name", dir.display()),
            )
        })?
        .to_string_lossy()
        .to_string();
    let tmp = parent.join(format!(".{base}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let result = (|| {
        for (name, bytes) in files {
            let p = tmp.join(name.as_ref());
            std::fs::write(&p, bytes).map_err(|e| Error::io(&p, e))?;
        }
        if dir.exists() {
            if !dir.is_dir() {
                return Err(Error::param(
                    "out",
                    format!("{} exists and is not a directory", dir.display()),
                ));
            }
            let old = parent.join(format!(".{base}.old-{}", std::process::id()));
            std::fs::rename(dir, &old).map_err(|e| Error::io(dir, e))?;
            std::fs::rename(&tmp, dir).map_err(|e| Error::io(dir, e))?;
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&tmp, dir).map_err(|e| Error::io(dir, e))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}
