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
use crate::arch::ModelInfo;
use crate::data::{Dataset, Normalization, SampleShape};
use crate::error::{Error, Result};
use crate::network::TwoLayerCnn;
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
    let bytes = safetensors::tensor::serialize(views, Some(meta)).map_err(err)?;
    Ok(canonical_header(bytes))
}

/// Reads safetensors bytes written by [`serialize`] (any architecture) back into tensors and
/// metadata, in the file's order; `name` is used in error messages.
pub fn deserialize(bytes: &[u8], name: &Path) -> Result<ModelTensors> {
    let bad = |msg: String| Error::format(name, msg);
    let (_, md) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let st =
        SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let mut t = ModelTensors::default();
    for (k, v) in md.metadata().clone().unwrap_or_default() {
        t.meta(&k, v);
    }
    for (k, view) in st.iter() {
        if view.dtype() != Dtype::F64 {
            return Err(bad(format!(
                "tensor '{k}': dtype {:?}, expected F64",
                view.dtype()
            )));
        }
        t.push(k, view.shape().to_vec(), from_bytes(view.data()));
    }
    Ok(t)
}

/// The same file with its JSON header's keys in sorted order (the serializer takes a hash map,
/// whose order changes from run to run), so that the same model always gives the same bytes.
/// The header keeps its length (same content, padded with spaces as the format allows).
fn canonical_header(mut bytes: Vec<u8>) -> Vec<u8> {
    let Some(len) = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as usize)
    else {
        return bytes;
    };
    let Some(header) = bytes.get(8..8 + len) else {
        return bytes;
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(header) else {
        return bytes;
    };
    match serde_json::to_vec(&value) {
        Ok(mut sorted) if sorted.len() <= len => {
            sorted.resize(len, b' ');
            bytes[8..8 + len].copy_from_slice(&sorted);
            bytes
        }
        _ => bytes,
    }
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

/// [`fit_files`] of a scalar-output fit trained on two classes of a labelled data set
/// (`classes`: the labels that became targets −1 and +1, as [`Dataset::binary`] makes them):
/// `model.json` then names the two labels, so that predictions print them and evaluation reads
/// labelled data. Without `classes`, or for a fit with several outputs or no network, the files
/// are those of [`fit_files`].
pub fn fit_files_with_classes(
    fit: &Fit,
    classes: Option<(i64, i64)>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = fit_files(fit)?;
    if let Some((negative, positive)) = classes {
        if fit.model.outputs() == 1 && files.iter().any(|(k, _)| k == "model.safetensors") {
            files.retain(|(k, _)| k != "model.json");
            files.push(model_json(&ModelInfo::two_classes(negative, positive))?);
        }
    }
    Ok(files)
}

/// `model.json` with `info`, as a file of [`fit_files`].
pub fn model_json(info: &ModelInfo) -> Result<(String, Vec<u8>)> {
    let json =
        serde_json::to_vec_pretty(info).map_err(|e| Error::Solver(format!("model.json: {e}")))?;
    Ok(("model.json".into(), json))
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

/// Reads a two-layer CNN written by [`to_safetensors`]; `name` is used in error messages.
pub fn from_safetensors(bytes: &[u8], name: &Path) -> Result<TwoLayerCnn> {
    let t = deserialize(bytes, name)?;
    if t.metadata.get("format").map(String::as_str) != Some("cvxcnn")
        || t.metadata.get("arch").map(String::as_str) != Some("two-layer")
    {
        return Err(Error::format(
            name,
            "metadata: not a cvxcnn two-layer model",
        ));
    }
    TwoLayerCnn::from_tensors(&t, name)
}

/// A model read back from the files `cvxcnn train` writes: the network (any family), what
/// `model.json` says about its inputs and outputs, and its report.
#[derive(Debug)]
pub struct SavedModel {
    /// The network.
    pub loaded: crate::arch::LoadedModel,
    /// `model.json`: the label of every output (for a scalar output trained on two classes,
    /// the labels of a negative and of a non-negative output), the input normalization, the
    /// loss and the train/test split; `None` for real-valued outputs.
    pub info: Option<ModelInfo>,
    /// `report.json`, when it was there in the current schema.
    pub report: Option<crate::arch::traits::Report>,
}

/// The files of a saved model, in the order they are looked for.
pub const MODEL_FILES: [&str; 3] = ["report.json", "model.safetensors", "model.json"];

impl SavedModel {
    /// A model from its files (`(name, bytes)`, names as in [`MODEL_FILES`]); `dir` names the
    /// source in errors.
    pub fn from_files<S: AsRef<str>>(files: &[(S, Vec<u8>)], dir: &Path) -> Result<SavedModel> {
        let get = |name: &str| {
            files
                .iter()
                .find(|(k, _)| k.as_ref() == name)
                .map(|(_, b)| b)
        };
        // The report gives β (for the objective); one of an older schema still does.
        let (report, beta) = match get("report.json") {
            Some(b) => {
                let v: serde_json::Value = serde_json::from_slice(b).map_err(|e| {
                    Error::format(dir.join("report.json"), format!("not JSON: {e}"))
                })?;
                let beta = v.get("beta").and_then(|x| x.as_f64());
                (
                    serde_json::from_value::<crate::arch::traits::Report>(v).ok(),
                    beta,
                )
            }
            None => (None, None),
        };
        let wpath = dir.join("model.safetensors");
        let Some(bytes) = get("model.safetensors") else {
            return Err(match &report {
                Some(r) if r.certificate == crate::arch::traits::CertificateScope::Bounds
                    || r.filters == 0 =>
                {
                    Error::format(
                        &wpath,
                        "missing: this fit is a bound (or the zero network), so no network was saved",
                    )
                }
                _ => Error::format(&wpath, "missing: no model was saved here"),
            });
        };
        let t = deserialize(bytes, &wpath)?;
        let loaded = crate::arch::model_from_tensors(&t, beta, &wpath)?;
        let ipath = dir.join("model.json");
        let info = match get("model.json") {
            Some(b) => Some(
                serde_json::from_slice::<ModelInfo>(b)
                    .map_err(|e| Error::format(&ipath, format!("not a model description: {e}")))?,
            ),
            None => None,
        };
        let outputs = loaded.model.outputs();
        if let Some(i) = &info {
            let fits = if outputs == 1 {
                matches!(i.classes.len(), 1 | 2)
            } else {
                i.classes.len() == outputs
            };
            if !fits {
                return Err(Error::format(
                    &ipath,
                    format!(
                        "field 'classes' has {} labels for a network with {outputs} outputs",
                        i.classes.len()
                    ),
                ));
            }
        }
        Ok(SavedModel {
            loaded,
            info,
            report,
        })
    }

    /// Reads the directory `dir` written by `cvxcnn train --out` (or [`write_dir_atomically`]
    /// with [`fit_files`]).
    pub fn load(dir: &Path) -> Result<SavedModel> {
        if !dir.is_dir() {
            let what = if dir.exists() {
                "not a directory"
            } else {
                "no such directory"
            };
            return Err(Error::format(
                dir,
                format!("{what}, so no model.safetensors to read (give the --out directory of cvxcnn train)"),
            ));
        }
        let mut files = Vec::new();
        for name in MODEL_FILES {
            let p = dir.join(name);
            match std::fs::read(&p) {
                Ok(b) => files.push((name, b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&p, e)),
            }
        }
        SavedModel::from_files(&files, dir)
    }

    /// Outputs per sample.
    pub fn outputs(&self) -> usize {
        self.loaded.model.outputs()
    }

    /// The network's outputs on `ds` (`C·n` values, output `c` of sample `t` at `c·n + t`),
    /// after checking the sample shape and applying the training normalization.
    pub fn predict(&self, ds: &Dataset) -> Result<Vec<f64>> {
        let s = self.loaded.shape;
        if ds.shape != s {
            let show = |d: &SampleShape| {
                if d.one_d {
                    format!("({}, {})", d.channels, d.width)
                } else {
                    format!("({}, {}, {})", d.channels, d.height, d.width)
                }
            };
            return Err(Error::Data(format!(
                "samples of shape {}, the model reads {}",
                show(&ds.shape),
                show(&s)
            )));
        }
        match self.info.as_ref().map(|i| &i.normalization) {
            Some(n @ Normalization::Standardize { .. }) => {
                let mut ds = ds.clone();
                n.apply(&mut ds)?;
                self.loaded.model.predict(&ds)
            }
            _ => self.loaded.model.predict(ds),
        }
    }

    /// The labels the outputs `f` (from [`SavedModel::predict`] on `n` samples) predict: the
    /// class of the largest output, or for a scalar output trained on two classes the sign's;
    /// `None` for real-valued outputs.
    pub fn labels(&self, f: &[f64], n: usize) -> Option<Vec<i64>> {
        let classes = &self.info.as_ref()?.classes;
        let c = self.outputs();
        if c == 1 {
            let [neg, pos] = classes.as_slice() else {
                return None;
            };
            return Some(
                f.iter()
                    .map(|v| if *v >= 0.0 { *pos } else { *neg })
                    .collect(),
            );
        }
        Some(
            crate::loss::argmax_rows(f, n)
                .into_iter()
                .map(|k| classes[k])
                .collect(),
        )
    }
}

/// The file that marks a directory as a cvxcnn result; it lists the files cvxcnn wrote there.
pub const RESULT_MARKER: &str = ".cvxcnn-result";

/// Checks, before any work is spent, that `dir` can receive a result: its parent directory
/// exists, and `dir` is either absent or an earlier cvxcnn result (it holds the
/// [`RESULT_MARKER`]) that holds nothing but the files cvxcnn wrote there. Anything else is
/// refused, so that replacing a result never deletes a file cvxcnn did not write.
pub fn check_output_dir(dir: &Path) -> Result<()> {
    let parent = parent_of(dir);
    if !parent.is_dir() {
        return Err(Error::param(
            "out",
            format!("parent directory {} does not exist", parent.display()),
        ));
    }
    if dir.file_name().is_none() {
        return Err(Error::param(
            "out",
            format!("'{}' is not a directory name", dir.display()),
        ));
    }
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(Error::param(
            "out",
            format!("{} exists and is not a directory", dir.display()),
        ));
    }
    let marker = dir.join(RESULT_MARKER);
    let written = match std::fs::read_to_string(&marker) {
        Ok(s) => s,
        Err(_) => {
            let empty = std::fs::read_dir(dir)
                .map_err(|e| Error::io(dir, e))?
                .next()
                .is_none();
            if empty {
                return Ok(());
            }
            return Err(Error::param(
                "out",
                format!(
                    "{} exists and is not a cvxcnn result (no {RESULT_MARKER}); nothing was written: choose another output directory",
                    dir.display()
                ),
            ));
        }
    };
    let ours: Vec<&str> = written.lines().collect();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if name != RESULT_MARKER && !(is_file && ours.contains(&name.as_str())) {
            return Err(Error::param(
                "out",
                format!(
                    "{} holds {name}, which cvxcnn did not write; nothing was written: move it or choose another output directory",
                    dir.display()
                ),
            ));
        }
    }
    Ok(())
}

/// The directory that holds `dir` (`.` for a bare name).
fn parent_of(dir: &Path) -> std::path::PathBuf {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

/// [`parent_of`] `dir` and `dir`'s own name (empty when it has none), which names the hidden
/// files cvxcnn keeps beside it (`.NAME.lock`, `.NAME.checkpoint`, `.NAME.tmp-PID`).
fn parent_and_base(dir: &Path) -> (std::path::PathBuf, String) {
    let base = dir
        .file_name()
        .map(|b| b.to_string_lossy().to_string())
        .unwrap_or_default();
    (parent_of(dir), base)
}

/// Where a run writing `dir` keeps the checkpoint of its solve: the hidden file
/// `.NAME.checkpoint` beside `dir`, so that replacing the result never touches it and a
/// continued run (`--resume`) finds it from `dir` alone.
pub fn checkpoint_path(dir: &Path) -> std::path::PathBuf {
    let (parent, base) = parent_and_base(dir);
    parent.join(format!(".{base}.checkpoint"))
}

/// Cleans up after a run that was killed while writing `dir`: a previous result left hidden as
/// `.NAME.old-PID` is restored when `dir` is missing (or removed when `dir` holds a newer
/// result), and a half-written `.NAME.tmp-PID` is removed. Only leftovers of processes that no
/// longer run are touched, and only directories that hold nothing but cvxcnn's files. Returns
/// what was done, in words.
pub fn recover_interrupted(dir: &Path) -> Result<Vec<String>> {
    let parent = parent_of(dir);
    let Some(base) = dir.file_name().map(|b| b.to_string_lossy().to_string()) else {
        return Ok(Vec::new());
    };
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return Ok(Vec::new());
    };
    let mut done = Vec::new();
    let mut leftovers: Vec<(std::path::PathBuf, bool)> = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        // A half-written checkpoint of a process that no longer runs (the whole one beside it
        // stays: a continued run picks it up).
        if let Some(pid) = name.strip_prefix(&format!(".{base}.checkpoint.tmp-")) {
            let alive = pid.parse::<u32>().map(running).unwrap_or(true);
            if !alive && e.path().is_file() {
                std::fs::remove_file(e.path()).map_err(|err| Error::io(e.path(), err))?;
                done.push(format!(
                    "removed {} left by an interrupted run",
                    e.path().display()
                ));
            }
            continue;
        }
        for (kind, old) in [(".old-", true), (".tmp-", false)] {
            let prefix = format!(".{base}{kind}");
            let Some(pid) = name.strip_prefix(&prefix) else {
                continue;
            };
            // Without /proc (not Linux) no process can be known to have ended: touch nothing.
            let alive = pid.parse::<u32>().map(running).unwrap_or(true);
            if !alive && e.path().is_dir() {
                leftovers.push((e.path(), old));
            }
        }
    }
    leftovers.sort();
    for (path, old) in leftovers {
        let ours = std::fs::read_dir(&path)
            .map(|it| {
                it.flatten().all(|f| {
                    let n = f.file_name().to_string_lossy().to_string();
                    f.path().is_file()
                        && (n == RESULT_MARKER
                            || n.ends_with(".json")
                            || n.ends_with(".safetensors")
                            || n.ends_with(".png")
                            || n.ends_with(".svg"))
                })
            })
            .unwrap_or(false);
        if !ours {
            continue;
        }
        if old && !dir.exists() && path.join(RESULT_MARKER).exists() {
            std::fs::rename(&path, dir).map_err(|e| Error::io(dir, e))?;
            done.push(format!(
                "restored the earlier result {} from an interrupted run ({})",
                dir.display(),
                path.display()
            ));
        } else {
            std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            done.push(format!(
                "removed {} left by an interrupted run",
                path.display()
            ));
        }
    }
    Ok(done)
}

/// Whether process `pid` runs (through /proc; without it, every process counts as running).
fn running(pid: u32) -> bool {
    pid == std::process::id()
        || !Path::new("/proc/self").exists()
        || Path::new(&format!("/proc/{pid}")).exists()
}

/// A claim on an output directory for the length of a run: the file `.NAME.lock` beside it,
/// holding the process id, removed when the claim is dropped. A second run on the same
/// directory is refused while the first one runs; a claim left by a process that no longer runs
/// is taken over. Taking it also shows that the parent directory is writable, before any work.
#[derive(Debug)]
pub struct OutputLock {
    path: std::path::PathBuf,
}

impl OutputLock {
    /// Claims `dir`.
    pub fn acquire(dir: &Path) -> Result<OutputLock> {
        let parent = parent_of(dir);
        let base = dir
            .file_name()
            .map(|b| b.to_string_lossy().to_string())
            .ok_or_else(|| {
                Error::param(
                    "out",
                    format!("'{}' is not a directory name", dir.display()),
                )
            })?;
        let path = parent.join(format!(".{base}.lock"));
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    write!(f, "{}", std::process::id()).map_err(|e| Error::io(&path, e))?;
                    return Ok(OutputLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|s| s.trim().parse::<u32>().ok());
                    match owner {
                        Some(pid) if !running(pid) => {
                            let _ = std::fs::remove_file(&path);
                        }
                        _ => {
                            return Err(Error::param(
                                "out",
                                format!(
                                    "another cvxcnn run{} is writing {} (lock {}); wait for it or choose another output directory",
                                    owner.map_or(String::new(), |p| format!(" (pid {p})")),
                                    dir.display(),
                                    path.display()
                                ),
                            ))
                        }
                    }
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Err(Error::param(
            "out",
            format!(
                "could not claim {} (lock {})",
                dir.display(),
                path.display()
            ),
        ))
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes `files` into directory `dir` so that `dir` appears complete or not at all: everything
/// goes into a fresh sibling temporary directory, which is then renamed to `dir`. An existing
/// `dir` is replaced only when [`check_output_dir`] accepts it (an earlier cvxcnn result holding
/// only cvxcnn's files), and only after the new one is complete. Every result holds the
/// [`RESULT_MARKER`] with the names of its files.
pub fn write_dir_atomically<S: AsRef<str>>(dir: &Path, files: &[(S, Vec<u8>)]) -> Result<()> {
    check_output_dir(dir)?;
    let (parent, base) = parent_and_base(dir);
    let tmp = parent.join(format!(".{base}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let result = (|| {
        let mut names = String::new();
        for (name, bytes) in files {
            let p = tmp.join(name.as_ref());
            std::fs::write(&p, bytes).map_err(|e| Error::io(&p, e))?;
            names.push_str(name.as_ref());
            names.push('\n');
        }
        let m = tmp.join(RESULT_MARKER);
        std::fs::write(&m, names).map_err(|e| Error::io(&m, e))?;
        if dir.exists() {
            let old = parent.join(format!(".{base}.old-{}", std::process::id()));
            std::fs::rename(dir, &old).map_err(|e| Error::io(dir, e))?;
            std::fs::rename(&tmp, dir).map_err(|e| Error::io(dir, e))?;
            // `old` held only cvxcnn's files (checked above).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    }

    /// The same model gives the same bytes, and they read back to the same tensors.
    #[test]
    fn serialization_is_deterministic() {
        let mut t = ModelTensors::new("two-layer");
        t.push(
            "conv.weight",
            vec![2, 1, 3],
            vec![0.5, -1.0, 2.0, 3.0, 0.25, -0.125],
        )
        .push("fc.weight", vec![1, 2], vec![1.5, -2.5])
        .push("conv.bias", vec![2], vec![0.1, -0.2]);
        for (k, v) in [
            ("a", "1"),
            ("b", "2"),
            ("c", "3"),
            ("d", "4"),
            ("e", "5"),
            ("f", "6"),
        ] {
            t.meta(k, v);
        }
        let first = serialize(&t).unwrap();
        for _ in 0..20 {
            assert_eq!(serialize(&t).unwrap(), first);
        }
        let st = safetensors::SafeTensors::deserialize(&first).unwrap();
        let w = st.tensor("conv.weight").unwrap();
        assert_eq!(w.shape(), [2, 1, 3]);
        assert_eq!(from_bytes(w.data()), t.tensors[0].data);
        let (_, md) = safetensors::SafeTensors::read_metadata(&first).unwrap();
        assert_eq!(md.metadata().as_ref().unwrap().get("c").unwrap(), "3");
    }

    /// Leftovers of a run killed between the two renames: the hidden earlier result comes back,
    /// a half-written directory goes; anything else, or a running process's, is left alone.
    #[test]
    fn interrupted_writes_are_recovered() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        write_dir_atomically(&out, &[("report.json", b"1".to_vec())]).unwrap();
        let old = d.path().join(".out.old-4000000001");
        std::fs::rename(&out, &old).unwrap();
        let tmp = d.path().join(".out.tmp-4000000002");
        std::fs::create_dir(&tmp).unwrap();
        std::fs::write(tmp.join("report.json"), b"half").unwrap();
        let mine = d.path().join(".out.tmp-4000000003");
        std::fs::create_dir(&mine).unwrap();
        std::fs::write(mine.join("notes.txt"), b"mine").unwrap();
        let running = d.path().join(format!(".out.tmp-{}", std::process::id()));
        std::fs::create_dir(&running).unwrap();
        let done = recover_interrupted(&out).unwrap();
        assert_eq!(done.len(), 2, "{done:?}");
        assert_eq!(std::fs::read(out.join("report.json")).unwrap(), b"1");
        assert!(!old.exists() && !tmp.exists());
        assert!(mine.join("notes.txt").exists() && running.exists());
        assert!(recover_interrupted(&out).unwrap().is_empty());
    }

    /// One run at a time on a directory: a second claim is refused while the first is held,
    /// allowed after it is dropped, and a dead process's claim is taken over.
    #[test]
    fn output_lock_is_exclusive() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let first = OutputLock::acquire(&out).unwrap();
        let e = OutputLock::acquire(&out).unwrap_err();
        assert!(e.to_string().contains("another cvxcnn run"), "{e}");
        drop(first);
        assert!(!d.path().join(".out.lock").exists());
        let again = OutputLock::acquire(&out).unwrap();
        drop(again);
        std::fs::write(d.path().join(".out.lock"), "4000000001").unwrap();
        let taken = OutputLock::acquire(&out).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join(".out.lock")).unwrap(),
            std::process::id().to_string()
        );
        drop(taken);
        assert!(OutputLock::acquire(&d.path().join("missing/out")).is_err());
    }

    /// A result is written with its marker and replaced by the next one.
    #[test]
    fn results_replace_results() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        write_dir_atomically(&out, &[("report.json", b"1".to_vec())]).unwrap();
        assert_eq!(names(&out), [RESULT_MARKER, "report.json"]);
        write_dir_atomically(&out, &[("compare.json", b"2".to_vec())]).unwrap();
        assert_eq!(names(&out), [RESULT_MARKER, "compare.json"]);
        assert_eq!(
            names(d.path()),
            ["out"],
            "no temporary or old directory left"
        );
    }

    /// A directory cvxcnn did not write, or a result with a file of someone else's, is refused
    /// and left exactly as it was.
    #[test]
    fn foreign_files_are_never_touched() {
        let d = tempfile::tempdir().unwrap();
        let mine = d.path().join("mine");
        std::fs::create_dir(&mine).unwrap();
        std::fs::write(mine.join("data.npz"), b"x").unwrap();
        let e = write_dir_atomically(&mine, &[("report.json", b"1".to_vec())]).unwrap_err();
        assert!(e.to_string().contains("not a cvxcnn result"), "{e}");
        assert_eq!(names(&mine), ["data.npz"]);

        let out = d.path().join("out");
        write_dir_atomically(&out, &[("report.json", b"1".to_vec())]).unwrap();
        std::fs::create_dir(out.join("sub")).unwrap();
        std::fs::write(out.join("sub/notes.txt"), b"mine").unwrap();
        let e = write_dir_atomically(&out, &[("report.json", b"2".to_vec())]).unwrap_err();
        assert!(e.to_string().contains("holds sub"), "{e}");
        assert_eq!(std::fs::read(out.join("sub/notes.txt")).unwrap(), b"mine");
        assert_eq!(std::fs::read(out.join("report.json")).unwrap(), b"1");

        let file = d.path().join("file");
        std::fs::write(&file, b"f").unwrap();
        assert!(check_output_dir(&file).is_err());
        assert!(check_output_dir(&d.path().join("missing/out")).is_err());
        // An empty directory is fine (nothing to lose).
        let empty = d.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        write_dir_atomically(&empty, &[("report.json", b"1".to_vec())]).unwrap();
    }
}
