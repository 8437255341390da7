//! `cvxcnn._cvxcnn`: the native half of the Python package `cvxcnn`.
//!
//! The bindings only convert and call: NumPy arrays become a [`Dataset`], a JSON object of
//! settings becomes a [`cvxcnn::settings::Settings`] (the same struct the command line fills),
//! and [`cvxcnn::settings::architecture`] builds the architecture that
//! [`cvxcnn::Architecture::fit`] fits. The fit runs on a worker thread with the GIL released;
//! the calling thread forwards progress to Python and checks for signals, so that Ctrl-C raises
//! `KeyboardInterrupt` at once (and asks the library to stop, see
//! [`cvxcnn::observe::request_interrupt`]). Library errors become Python exceptions: bad input
//! `ValueError`, files `OSError`, solver failures `CvxcnnError`; panics are caught and become
//! `CvxcnnError` too.

use cvxcnn::arch::ModelInfo;
use cvxcnn::compare::{CompareSettings, NoRunProgress};
use cvxcnn::data::{builtin_mnist, Dataset, SampleShape, Targets};
use cvxcnn::export::{
    check_output_dir, deserialize, fit_files, recover_interrupted, write_dir_atomically,
    OutputLock, SavedModel,
};
use cvxcnn::observe::{clear_interrupt, interrupt_requested, request_interrupt, IterRecord};
use cvxcnn::settings::{architecture, Settings};
use cvxcnn::{Error, Model};
use numpy::ndarray::{Array1, Array2, ArrayD, IxDyn};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDyn, PyReadonlyArray1, PyReadonlyArrayDyn,
    PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

create_exception!(
    _cvxcnn,
    CvxcnnError,
    PyRuntimeError,
    "A solver failure or an internal error of cvxcnn (bad input raises ValueError)."
);

/// A library error as a Python exception: `ValueError` for bad input (parameters, data, file
/// contents), `OSError` for files, `KeyboardInterrupt` for an interrupted run, `CvxcnnError`
/// for solver failures.
fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Parameter { .. } | Error::Data(_) | Error::Format { .. } => {
            PyValueError::new_err(msg)
        }
        Error::Io { .. } => PyOSError::new_err(msg),
        Error::Interrupted => PyKeyboardInterrupt::new_err(msg),
        _ => CvxcnnError::new_err(msg),
    }
}

/// The text of a panic payload.
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `f`, turning library errors into Python exceptions and panics into `CvxcnnError`.
fn guarded<T>(f: impl FnOnce() -> cvxcnn::Result<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(to_py),
        Err(p) => Err(CvxcnnError::new_err(format!(
            "internal error (please report it): {}",
            panic_text(p.as_ref())
        ))),
    }
}

/// Samples of an array of any supported shape, as a data set with `targets`.
fn dataset(x: &PyReadonlyArrayDyn<'_, f64>, targets: Targets) -> PyResult<Dataset> {
    let dims = x.shape().to_vec();
    let shape = SampleShape::from_dims(&dims).ok_or_else(|| {
        PyValueError::new_err(format!(
            "X has shape {dims:?}; expected (n, L), (n, c, L) or (n, c, H, W)"
        ))
    })?;
    let values: Vec<f64> = match x.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => x.as_array().iter().copied().collect(),
    };
    if targets.len() != dims[0] {
        return Err(PyValueError::new_err(format!(
            "X has {} samples but y has {}",
            dims[0],
            targets.len()
        )));
    }
    guarded(|| Dataset::new(values, shape, targets, "X"))
}

/// What the worker thread of a fit sends to the calling thread.
enum Event {
    Stage(String),
    Progress(usize, usize),
    Iteration(IterRecord),
    Done(Box<dyn std::any::Any + Send>),
    Panicked(String),
}

/// Forwards the library's progress to the calling thread; asks solvers to stop once the fit is
/// abandoned.
struct Forward {
    tx: Sender<Event>,
    abandoned: Arc<AtomicBool>,
}

impl cvxcnn::observe::Observer for Forward {
    fn stage(&mut self, name: &str) {
        let _ = self.tx.send(Event::Stage(name.to_string()));
    }
    fn progress(&mut self, done: usize, total: usize) {
        let _ = self.tx.send(Event::Progress(done, total));
    }
    fn iteration(&mut self, rec: &IterRecord) -> bool {
        let _ = self.tx.send(Event::Iteration(*rec));
        !self.abandoned.load(Ordering::SeqCst)
    }
}

/// Fits still running on worker threads (abandoned ones included).
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Calls the Python progress callback with one event.
fn report_event(py: Python<'_>, cb: &Bound<'_, PyAny>, ev: &Event) -> PyResult<()> {
    match ev {
        Event::Stage(s) => cb.call1(("stage", s.as_str()))?,
        Event::Progress(d, t) => cb.call1(("progress", (*d, *t)))?,
        Event::Iteration(r) => {
            let d = PyDict::new(py);
            d.set_item("iter", r.iter)?;
            d.set_item("inner", r.inner)?;
            d.set_item("objective", r.objective)?;
            d.set_item("violation", r.violation)?;
            d.set_item("gap", r.gap)?;
            d.set_item("elapsed", r.elapsed)?;
            cb.call1(("iteration", d))?
        }
        _ => return Ok(()),
    };
    Ok(())
}

/// A fitted or loaded model: the library's model (when it can predict), the files that
/// describe it (`report.json`, `model.safetensors`, `model.json`) and the sample shape it reads.
#[pyclass(module = "cvxcnn._cvxcnn", name = "NativeModel", frozen)]
struct NativeModel {
    /// The network, when this build can run it.
    model: Option<Mutex<Box<dyn Model>>>,
    /// Why a loaded model cannot predict here.
    why_not: String,
    /// The files, as the command line writes them.
    files: Vec<(String, Vec<u8>)>,
    /// Classes and input normalization of a classifier (`model.json`).
    info: Option<ModelInfo>,
    /// Shape of one sample.
    shape: Option<SampleShape>,
}

/// The model description in `files`, if any.
fn model_info(files: &[(String, Vec<u8>)]) -> PyResult<Option<ModelInfo>> {
    match files.iter().find(|(k, _)| k == "model.json") {
        Some((_, b)) => serde_json::from_slice(b).map(Some).map_err(|e| {
            PyValueError::new_err(format!("model.json: not a model description: {e}"))
        }),
        None => Ok(None),
    }
}

#[pymethods]
impl NativeModel {
    /// `report.json` as text (empty for a model read without one).
    fn report_json(&self) -> String {
        self.files
            .iter()
            .find(|(k, _)| k == "report.json")
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }

    /// The files of the model: a list of `(name, bytes)`.
    fn files<'py>(&self, py: Python<'py>) -> Vec<(String, Bound<'py, PyBytes>)> {
        self.files
            .iter()
            .map(|(k, b)| (k.clone(), PyBytes::new(py, b)))
            .collect()
    }

    /// The shape of one sample `(c, L)` or `(c, H, W)`, when known.
    fn sample_shape(&self) -> Option<Vec<usize>> {
        self.shape.map(|s| {
            if s.one_d {
                vec![s.channels, s.width]
            } else {
                vec![s.channels, s.height, s.width]
            }
        })
    }

    /// Outputs of the network on `x` (normalized as at training), shape `(n, C)`.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArrayDyn<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let n = x.shape().first().copied().unwrap_or(0);
        let mut ds = dataset(&x, Targets::Real(vec![0.0; n]))?;
        if let Some(s) = self.shape {
            if ds.shape.channels * ds.shape.height * ds.shape.width
                != s.channels * s.height * s.width
                || ds.shape.channels != s.channels
            {
                return Err(PyValueError::new_err(format!(
                    "X has samples of shape {:?}; the model was trained on {:?}",
                    &x.shape()[1..],
                    self.sample_shape().unwrap_or_default()
                )));
            }
            ds.shape = s;
        }
        if let Some(info) = &self.info {
            guarded(|| info.normalization.apply(&mut ds))?;
        }
        let f = py.detach(|| {
            guarded(|| match &self.model {
                Some(m) => {
                    let m = m
                        .lock()
                        .map_err(|_| Error::Solver("the model's lock is poisoned".into()))?;
                    m.predict(&ds)
                }
                None => Err(Error::param("model", self.why_not.clone())),
            })
        })?;
        let c = f.len().checked_div(n).unwrap_or(1);
        let mut out = Array2::<f64>::zeros((n, c));
        for ci in 0..c {
            for t in 0..n {
                out[[t, ci]] = f[ci * n + t];
            }
        }
        Ok(out.into_pyarray(py))
    }

    /// The weights in PyTorch's layout: `({name: array}, {metadata key: value})`, or `None` for
    /// a fit that is a bound rather than a network.
    fn tensors<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<(Bound<'py, PyDict>, Bound<'py, PyDict>)>> {
        let Some((_, bytes)) = self.files.iter().find(|(k, _)| k == "model.safetensors") else {
            return Ok(None);
        };
        let t = guarded(|| deserialize(bytes, Path::new("model.safetensors")))?;
        let arrays = PyDict::new(py);
        for x in t.tensors {
            let a = ArrayD::from_shape_vec(IxDyn(&x.shape), x.data)
                .map_err(|e| CvxcnnError::new_err(format!("tensor '{}': {e}", x.name)))?;
            let a: Bound<'py, PyArrayDyn<f64>> = a.into_pyarray(py);
            arrays.set_item(x.name, a)?;
        }
        let meta = PyDict::new(py);
        for (k, v) in t.metadata {
            meta.set_item(k, v)?;
        }
        Ok(Some((arrays, meta)))
    }
}

/// The targets given: real values or class labels, exactly one of them.
fn targets(
    y_real: Option<PyReadonlyArray1<'_, f64>>,
    y_classes: Option<PyReadonlyArray1<'_, i64>>,
) -> PyResult<Targets> {
    match (y_real, y_classes) {
        (Some(y), None) => Ok(Targets::Real(y.as_array().to_vec())),
        (None, Some(y)) => Ok(Targets::Classes(y.as_array().to_vec())),
        _ => Err(PyValueError::new_err(
            "give exactly one of y_real and y_classes",
        )),
    }
}

/// Runs `job` on a worker thread with the GIL released (on a pool of `threads` when given),
/// forwarding its progress to `progress` and checking for signals: Ctrl-C raises
/// `KeyboardInterrupt` at once and asks the library to stop the abandoned job.
fn in_worker<T: Send + 'static>(
    py: Python<'_>,
    threads: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
    job: impl FnOnce(&mut Forward) -> cvxcnn::Result<T> + Send + 'static,
) -> PyResult<T> {
    let pool = match threads {
        None => None,
        Some(t) if (1..=1024).contains(&t) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .map_err(|e| CvxcnnError::new_err(format!("threads: {e}")))?,
        ),
        Some(t) => {
            return Err(PyValueError::new_err(format!(
                "threads: must be between 1 and 1024, got {t}"
            )))
        }
    };
    // An earlier fit abandoned on Ctrl-C may still be stopping: let it finish, then clear its
    // interrupt request so that this fit runs.
    while interrupt_requested() && RUNNING.load(Ordering::SeqCst) > 0 {
        py.detach(|| std::thread::sleep(Duration::from_millis(20)));
        py.check_signals()?;
    }
    clear_interrupt();
    let (tx, rx) = channel();
    // `detach` needs a `Sync` capture: the receiver, behind a lock only this thread takes.
    let rx = Mutex::new(rx);
    let abandoned = Arc::new(AtomicBool::new(false));
    let mut obs = Forward {
        tx: tx.clone(),
        abandoned: abandoned.clone(),
    };
    RUNNING.fetch_add(1, Ordering::SeqCst);
    let spawned = std::thread::Builder::new()
        .name("cvxcnn-worker".into())
        .spawn(move || {
            let r = catch_unwind(AssertUnwindSafe(|| match &pool {
                Some(p) => p.install(|| job(&mut obs)),
                None => job(&mut obs),
            }));
            RUNNING.fetch_sub(1, Ordering::SeqCst);
            let _ = tx.send(match r {
                Ok(r) => Event::Done(Box::new(r) as Box<dyn std::any::Any + Send>),
                Err(p) => Event::Panicked(panic_text(p.as_ref())),
            });
        });
    if let Err(e) = spawned {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        return Err(CvxcnnError::new_err(format!("cannot start the fit: {e}")));
    }
    let abandon = |e: PyErr| {
        abandoned.store(true, Ordering::SeqCst);
        request_interrupt();
        e
    };
    let result = loop {
        let ev = py.detach(|| match rx.lock() {
            Ok(rx) => rx.recv_timeout(Duration::from_millis(50)),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        });
        match ev {
            Ok(Event::Done(r)) => match r.downcast::<cvxcnn::Result<T>>() {
                Ok(r) => break *r,
                Err(_) => {
                    return Err(CvxcnnError::new_err(
                        "internal error: the worker's result has another type",
                    ))
                }
            },
            Ok(Event::Panicked(msg)) => {
                return Err(CvxcnnError::new_err(format!(
                    "internal error (please report it): {msg}"
                )))
            }
            Ok(ev) => {
                if let Some(cb) = &progress {
                    report_event(py, cb, &ev).map_err(abandon)?;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Err(CvxcnnError::new_err("the fit's worker thread ended early"))
            }
        }
        py.check_signals().map_err(abandon)?;
    };
    result.map_err(to_py)
}

/// Fits the architecture that `settings` (a JSON object of the command line's choices) selects
/// on `x` with real targets `y_real` or class labels `y_classes`; `progress(kind, payload)` is
/// called with `("stage", name)`, `("progress", (done, total))` and `("iteration", dict)`.
/// `threads`: worker threads of this fit (default: all cores).
#[pyfunction]
#[pyo3(signature = (x, settings, y_real=None, y_classes=None, threads=None, progress=None, source="numpy"))]
#[allow(clippy::too_many_arguments)]
fn fit(
    py: Python<'_>,
    x: PyReadonlyArrayDyn<'_, f64>,
    settings: &str,
    y_real: Option<PyReadonlyArray1<'_, f64>>,
    y_classes: Option<PyReadonlyArray1<'_, i64>>,
    threads: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
    source: &str,
) -> PyResult<NativeModel> {
    let settings: Settings = serde_json::from_str(settings)
        .map_err(|e| PyValueError::new_err(format!("settings: {e}")))?;
    let ds = dataset(&x, targets(y_real, y_classes)?)?;
    let shape = ds.shape;
    let arch = guarded(|| architecture(&settings, &ds))?;
    let fitted = in_worker(py, threads, progress, move |obs| arch.fit(&ds, obs))?;
    let mut fitted = fitted;
    fitted.report.data = source.to_string();
    let files = guarded(|| fit_files(&fitted))?;
    Ok(NativeModel {
        info: model_info(&files)?,
        model: Some(Mutex::new(fitted.model)),
        why_not: String::new(),
        files,
        shape: Some(shape),
    })
}

/// `cvxcnn compare` on arrays: the fit that `settings` selects beside the non-convex runs of
/// `compare` (a JSON object of the library's `CompareSettings`: `restarts`, `optimizers`,
/// `widths`, `epochs`, `lr`, `batch_size`, `momentum`, `schedule`, `init_scale`,
/// `first_seed`). Returns `compare.json` as text.
#[pyfunction]
#[pyo3(signature = (x, settings, compare, y_real=None, y_classes=None, threads=None, progress=None, source="numpy"))]
#[allow(clippy::too_many_arguments)]
fn compare(
    py: Python<'_>,
    x: PyReadonlyArrayDyn<'_, f64>,
    settings: &str,
    compare: &str,
    y_real: Option<PyReadonlyArray1<'_, f64>>,
    y_classes: Option<PyReadonlyArray1<'_, i64>>,
    threads: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
    source: &str,
) -> PyResult<String> {
    let settings: Settings = serde_json::from_str(settings)
        .map_err(|e| PyValueError::new_err(format!("settings: {e}")))?;
    let runs: CompareSettings = serde_json::from_str(compare)
        .map_err(|e| PyValueError::new_err(format!("compare settings: {e}")))?;
    let ds = dataset(&x, targets(y_real, y_classes)?)?;
    let source = source.to_string();
    let result = in_worker(py, threads, progress, move |obs| {
        cvxcnn::compare::compare(&settings, &runs, &ds, &source, obs, &mut NoRunProgress)
    })?;
    let json = guarded(|| result.to_json())?;
    String::from_utf8(json).map_err(|e| CvxcnnError::new_err(format!("compare.json: {e}")))
}

/// A model from its files (`[(name, bytes)]`: `report.json`, `model.safetensors`, `model.json`
/// as the command line writes them), of any architecture. A fit that is a bound (no
/// `model.safetensors`) keeps its report and cannot predict.
#[pyfunction]
fn model_from_files(files: Vec<(String, Vec<u8>)>) -> PyResult<NativeModel> {
    if !files.iter().any(|(k, _)| k == "model.safetensors") {
        return Ok(NativeModel {
            info: model_info(&files)?,
            model: None,
            why_not: "no model.safetensors: the fit is a bound, not a network".to_string(),
            files,
            shape: None,
        });
    }
    let saved = guarded(|| SavedModel::from_files(&files, Path::new("")))?;
    Ok(NativeModel {
        model: Some(Mutex::new(saved.loaded.model)),
        why_not: String::new(),
        files,
        info: saved.info,
        shape: Some(saved.loaded.shape),
    })
}

/// Writes `files` to the directory `path` as the command line does: atomically, refusing a
/// directory that is not an earlier cvxcnn result, one writer at a time. Returns notes about
/// results an interrupted run left behind and that were restored.
#[pyfunction]
fn write_model_dir(
    py: Python<'_>,
    path: &str,
    files: Vec<(String, Vec<u8>)>,
) -> PyResult<Vec<String>> {
    let dir = Path::new(path).to_path_buf();
    py.detach(|| {
        guarded(|| {
            let notes = recover_interrupted(&dir)?;
            check_output_dir(&dir)?;
            let _claim = OutputLock::acquire(&dir)?;
            write_dir_atomically(&dir, &files)?;
            Ok(notes)
        })
    })
}

/// Images and labels.
type Digits<'py> = (Bound<'py, PyArrayDyn<f64>>, Bound<'py, PyArray1<i64>>);

/// The 3,000 embedded MNIST digits: `(x, y)` with `x` of shape `(3000, 1, 28, 28)` in `[0, 1]`
/// and `y` the labels 0–9.
#[pyfunction]
fn mnist_subset(py: Python<'_>) -> PyResult<Digits<'_>> {
    let ds = guarded(builtin_mnist)?;
    let s = ds.shape;
    let n = ds.n();
    let x = ArrayD::from_shape_vec(IxDyn(&[n, s.channels, s.height, s.width]), ds.x)
        .map_err(|e| CvxcnnError::new_err(e.to_string()))?;
    let y = match ds.targets {
        Targets::Classes(c) => c,
        Targets::Real(r) => r.into_iter().map(|v| v as i64).collect(),
    };
    Ok((x.into_pyarray(py), Array1::from_vec(y).into_pyarray(py)))
}

/// The native module `cvxcnn._cvxcnn`.
#[pymodule]
fn _cvxcnn(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("CvxcnnError", m.py().get_type::<CvxcnnError>())?;
    m.add_class::<NativeModel>()?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(model_from_files, m)?)?;
    m.add_function(wrap_pyfunction!(write_model_dir, m)?)?;
    m.add_function(wrap_pyfunction!(mnist_subset, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
