//! Checkpoints of long first-order solves: the whole state of an ADMM solve between two of its
//! checks, written atomically to one safetensors file, and read back so that the solve goes on
//! from where it stopped and takes the same steps as a solve that never stopped.
//!
//! A checkpoint carries a fingerprint of the program and the settings that shape the steps
//! (data, patterns, β, start point, step counts), so that a run with other data or settings is
//! refused instead of continued; and a free-form `context` string (the command line, say) that
//! the caller stores and reads back.

use super::driver::IterRecord;
use crate::error::{Error, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Format tag in the file's metadata.
const FORMAT: &str = "cvxcnn-admm-checkpoint-1";

/// The state of an ADMM solve between two checks: everything the next iteration reads.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmmState {
    /// The `w` iterate (feasible for the working-set cones).
    pub w: Vec<f64>,
    /// Scaled multipliers `λ` of `u = w`.
    pub lam: Vec<f64>,
    /// The penalty `ρ`.
    pub rho: f64,
    /// Checks done.
    pub checks: usize,
    /// ADMM steps done.
    pub steps: usize,
    /// Seconds the solve has run so far (over all its parts).
    pub elapsed: f64,
    /// The last certified relative gap.
    pub last_gap: f64,
    /// Working rows of each block (hyperplane indices).
    pub rows: Vec<Vec<u32>>,
    /// Their multipliers.
    pub row_multipliers: Vec<Vec<f64>>,
    /// The records of the checks done.
    pub history: Vec<IterRecord>,
}

/// Where a solve sends its checkpoints.
pub trait CheckpointSink {
    /// Whether a checkpoint is due now (asked at each check).
    fn due(&mut self) -> bool;
    /// Saves `state`.
    fn save(&mut self, state: &AdmmState) -> Result<()>;
}

/// A fingerprint of what a solve's steps depend on, built from numbers and strings.
#[derive(Debug, Clone)]
pub struct Fingerprint(std::hash::DefaultHasher);

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint(std::hash::DefaultHasher::new())
    }
}

impl Fingerprint {
    /// Adds numbers (bit for bit).
    pub fn floats(&mut self, v: &[f64]) -> &mut Self {
        self.0.write_usize(v.len());
        for x in v {
            self.0.write_u64(x.to_bits());
        }
        self
    }

    /// Adds a count.
    pub fn count(&mut self, v: usize) -> &mut Self {
        self.0.write_usize(v);
        self
    }

    /// Adds a string.
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.0.write(s.as_bytes());
        self.0.write_u8(0xff);
        self
    }

    /// The fingerprint as a hexadecimal string.
    pub fn finish(&self) -> String {
        format!("{:016x}", self.0.finish())
    }
}

fn le_f64(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn le_u32(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The bytes of a checkpoint of `state` with its fingerprint and context.
pub fn encode(state: &AdmmState, fingerprint: &str, context: &str) -> Result<Vec<u8>> {
    let err = |e: safetensors::SafeTensorError| Error::Solver(format!("checkpoint: {e}"));
    let counts: Vec<u32> = state.rows.iter().map(|r| r.len() as u32).collect();
    let rows: Vec<u32> = state.rows.iter().flatten().copied().collect();
    let mults: Vec<f64> = state.row_multipliers.iter().flatten().copied().collect();
    let hist: Vec<f64> = state
        .history
        .iter()
        .flat_map(|r| {
            [
                r.iter as f64,
                r.inner as f64,
                r.objective,
                r.violation,
                r.gap.unwrap_or(f64::NAN),
                r.elapsed,
                r.penalty,
            ]
        })
        .collect();
    let scalars = [state.rho, state.elapsed, state.last_gap];
    let bytes = [
        ("w", le_f64(&state.w), Dtype::F64, state.w.len()),
        ("lam", le_f64(&state.lam), Dtype::F64, state.lam.len()),
        ("scalars", le_f64(&scalars), Dtype::F64, scalars.len()),
        ("row_counts", le_u32(&counts), Dtype::U32, counts.len()),
        ("rows", le_u32(&rows), Dtype::U32, rows.len()),
        ("row_multipliers", le_f64(&mults), Dtype::F64, mults.len()),
        ("history", le_f64(&hist), Dtype::F64, hist.len()),
    ];
    let mut views = Vec::with_capacity(bytes.len());
    for (name, b, dtype, len) in &bytes {
        views.push((
            name.to_string(),
            TensorView::new(*dtype, vec![*len], b).map_err(err)?,
        ));
    }
    let meta: HashMap<String, String> = [
        ("format", FORMAT.to_string()),
        ("fingerprint", fingerprint.to_string()),
        ("context", context.to_string()),
        ("checks", state.checks.to_string()),
        ("steps", state.steps.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    safetensors::tensor::serialize(views, Some(meta)).map_err(err)
}

/// A checkpoint read back: the state, its fingerprint and context.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The solver state.
    pub state: AdmmState,
    /// The fingerprint it was written with.
    pub fingerprint: String,
    /// The caller's context string.
    pub context: String,
}

impl Checkpoint {
    /// Reads the checkpoint file at `path`.
    pub fn read(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        decode(&bytes, path)
    }

    /// Refuses a checkpoint whose fingerprint is not `want` (`path` names it).
    pub fn check_fingerprint(&self, want: &str, path: &Path) -> Result<()> {
        if self.fingerprint != want {
            return Err(Error::format(
                path,
                format!(
                    "checkpoint fingerprint {} does not match this run's {want}: it was written for other data, patterns, settings or thread count",
                    self.fingerprint
                ),
            ));
        }
        Ok(())
    }
}

/// Decodes checkpoint bytes (`path` names them in errors).
pub fn decode(bytes: &[u8], path: &Path) -> Result<Checkpoint> {
    let bad = |m: String| Error::format(path, m);
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| bad(format!("not a cvxcnn checkpoint ({e})")))?;
    let (_, md) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("not a cvxcnn checkpoint ({e})")))?;
    let md = md.metadata().clone().unwrap_or_default();
    let field = |k: &str| -> Result<String> {
        md.get(k)
            .cloned()
            .ok_or_else(|| bad(format!("checkpoint metadata lacks '{k}'")))
    };
    let format = field("format")?;
    if format != FORMAT {
        return Err(bad(format!(
            "checkpoint format '{format}' is not '{FORMAT}'"
        )));
    }
    let count = |k: &str| -> Result<usize> {
        let s = field(k)?;
        s.parse()
            .map_err(|_| bad(format!("checkpoint field '{k}' = '{s}' is not a count")))
    };
    // The bytes of tensor `k`, which must have type `want`.
    let bytes = |k: &str, want: Dtype| -> Result<&[u8]> {
        let t = st
            .tensor(k)
            .map_err(|_| bad(format!("checkpoint lacks tensor '{k}'")))?;
        if t.dtype() != want {
            return Err(bad(format!(
                "checkpoint tensor '{k}' is {:?}, not {want:?}",
                t.dtype()
            )));
        }
        Ok(t.data())
    };
    let f64s = |k: &str| -> Result<Vec<f64>> {
        Ok(bytes(k, Dtype::F64)?
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect())
    };
    let u32s = |k: &str| -> Result<Vec<u32>> {
        Ok(bytes(k, Dtype::U32)?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    };
    let w = f64s("w")?;
    let lam = f64s("lam")?;
    let scalars = f64s("scalars")?;
    let counts = u32s("row_counts")?;
    let rows = u32s("rows")?;
    let mults = f64s("row_multipliers")?;
    let hist = f64s("history")?;
    let total: usize = counts.iter().map(|&c| c as usize).sum();
    if w.len() != lam.len()
        || scalars.len() != 3
        || total != rows.len()
        || rows.len() != mults.len()
        || hist.len() % 7 != 0
    {
        return Err(bad(format!(
            "checkpoint tensors disagree: w {}, lam {}, scalars {}, rows {} of {} counted, multipliers {}, history {}",
            w.len(),
            lam.len(),
            scalars.len(),
            rows.len(),
            total,
            mults.len(),
            hist.len()
        )));
    }
    let mut off = 0;
    let mut block_rows = Vec::with_capacity(counts.len());
    let mut block_mults = Vec::with_capacity(counts.len());
    for &c in &counts {
        let c = c as usize;
        block_rows.push(rows[off..off + c].to_vec());
        block_mults.push(mults[off..off + c].to_vec());
        off += c;
    }
    let history = hist
        .chunks_exact(7)
        .map(|r| IterRecord {
            iter: r[0] as usize,
            inner: r[1] as usize,
            objective: r[2],
            violation: r[3],
            gap: (!r[4].is_nan()).then_some(r[4]),
            elapsed: r[5],
            penalty: r[6],
        })
        .collect();
    Ok(Checkpoint {
        state: AdmmState {
            w,
            lam,
            rho: scalars[0],
            checks: count("checks")?,
            steps: count("steps")?,
            elapsed: scalars[1],
            last_gap: scalars[2],
            rows: block_rows,
            row_multipliers: block_mults,
            history,
        },
        fingerprint: field("fingerprint")?,
        context: field("context")?,
    })
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename, so that
/// `path` always holds a whole earlier or a whole new checkpoint.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// A [`CheckpointSink`] that writes a file every `every` (and whenever the solve stops early on
/// an interrupt: the solver saves then regardless of [`CheckpointSink::due`]).
#[derive(Debug, Clone)]
pub struct FileCheckpoint {
    /// The checkpoint file.
    pub path: PathBuf,
    /// Fingerprint of the run.
    pub fingerprint: String,
    /// Caller's context (stored as is).
    pub context: String,
    /// Least time between two checkpoints.
    pub every: Duration,
    last: Instant,
    /// Checkpoints written.
    pub written: usize,
}

impl FileCheckpoint {
    /// A sink writing `path` at most every `every`.
    pub fn new(path: PathBuf, fingerprint: String, context: String, every: Duration) -> Self {
        FileCheckpoint {
            path,
            fingerprint,
            context,
            every,
            last: Instant::now(),
            written: 0,
        }
    }
}

impl CheckpointSink for FileCheckpoint {
    fn due(&mut self) -> bool {
        self.last.elapsed() >= self.every
    }
    fn save(&mut self, state: &AdmmState) -> Result<()> {
        let bytes = encode(state, &self.fingerprint, &self.context)?;
        write_atomically(&self.path, &bytes)?;
        self.last = Instant::now();
        self.written += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> AdmmState {
        AdmmState {
            w: vec![1.0, -0.0, f64::MIN_POSITIVE, 3.5e300],
            lam: vec![0.1, 0.2, 0.3, 1.0 / 3.0],
            rho: 0.7,
            checks: 3,
            steps: 30,
            elapsed: 1.25,
            last_gap: f64::INFINITY,
            rows: vec![vec![4, 9], vec![], vec![1]],
            row_multipliers: vec![vec![0.5, 0.0], vec![], vec![2.0]],
            history: vec![IterRecord {
                iter: 2,
                inner: 30,
                objective: 4.0,
                violation: 1e-3,
                gap: Some(0.5),
                elapsed: 1.0,
                penalty: 0.7,
            }],
        }
    }

    /// Every number comes back bit for bit, with the fingerprint and the context.
    #[test]
    fn round_trip_is_exact() {
        let s = state();
        let bytes = encode(&s, "abc", "train --x 1").unwrap();
        let c = decode(&bytes, Path::new("c")).unwrap();
        assert_eq!(
            c.state.w.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            s.w.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(c.state, s);
        assert_eq!(c.fingerprint, "abc");
        assert_eq!(c.context, "train --x 1");
        assert!(c.check_fingerprint("abd", Path::new("c")).is_err());
    }

    /// Truncated or foreign bytes are format errors naming the file, never panics.
    #[test]
    fn damaged_checkpoints_are_refused() {
        let bytes = encode(&state(), "abc", "").unwrap();
        for cut in [0, 7, 8, 40, bytes.len() / 2, bytes.len() - 1] {
            let e = decode(&bytes[..cut], Path::new("ck")).unwrap_err();
            assert!(e.to_string().starts_with("ck:"), "{e}");
        }
        let e = decode(b"hello world, not a checkpoint", Path::new("ck")).unwrap_err();
        assert!(e.to_string().contains("not a cvxcnn checkpoint"), "{e}");
    }

    /// The file is replaced whole, and no temporary file stays.
    #[test]
    fn atomic_write_replaces_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ck");
        let mut sink = FileCheckpoint::new(p.clone(), "f".into(), "ctx".into(), Duration::ZERO);
        assert!(sink.due());
        sink.save(&state()).unwrap();
        let mut s2 = state();
        s2.checks = 4;
        sink.save(&s2).unwrap();
        assert_eq!(Checkpoint::read(&p).unwrap().state.checks, 4);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        assert_eq!(sink.written, 2);
    }
}
