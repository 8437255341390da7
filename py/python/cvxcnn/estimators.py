"""scikit-learn estimators over cvxcnn's convex training: `ConvexCNNClassifier` and
`ConvexCNNRegressor`. Their parameters are the command line's flags (`cvxcnn train --help`),
their fit is `cvxcnn train` on NumPy arrays, and the fitted model is the one `train` writes."""

from __future__ import annotations

import warnings
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _cvxcnn
from ._model import Model
from ._progress import Progress
from ._settings import Geometry, settings_json

_PARAMS_DOC = """
    Parameters
    ----------
    architecture : {"two-layer", "linear", "circular", "three-layer"}, default="two-layer"
        The network (``--arch``): conv -> ReLU -> pooling -> linear; a linear CNN; a circular
        CNN (single-channel 1-D signals); two ReLU layers.
    pool : {"sum", "avg", "max"}, default="sum"
        Pooling after the ReLU (``--pool``); with ``windows``: pooling over each window.
    head : {"pool", "l1", "fc", "shared"} or None, default=None
        Output head (``--head``): global pooling; local pooling ``windows`` with an
        l1-squared penalty; a linear layer over all positions (linear CNNs); the weight-decay
        SDP (builds with the ``sdp`` feature).
    windows : int or None, default=None
        Local pooling window (``--windows``, with ``head="l1"``).
    layers : int, default=3
        Layers of a circular CNN (``--layers``).
    path_norm : bool, default=False
        Circular CNNs: the spectral path norm instead of weight decay.
    also : {"two-layer"} or None, default=None
        Three-layer CNNs: also report the two-layer optimum (``report_["two_layer_objective"]``).
    kernel, stride, padding : int, (int, int), "KxL" or None
        First-layer geometry (``--kernel/--stride/--padding``); None: the command line's
        default (kernel 3, stride 1; multi-class classifiers kernel 14, stride 14).
    bias : bool or None, default=None
        Filter biases; None: the command line's default (none for one output, a bias for
        multi-class classifiers).
    beta : float, list of floats, "path:N" or None, default=None
        Weight decay (``--beta``); None: 0.1 (multi-class classifiers: 1). Lists and
        ``path:N`` are for multi-class classifiers (warm-started path, the last one kept).
    patterns : "exact", "sample:N", "data:N", int N or None, default=None
        Sign patterns (``--patterns``): all of them (a global certificate) or N sampled
        filters (restricted); None: exact (multi-class classifiers: sample:40).
    seed : int, default=0
        Seed of the pattern sampler (``--seed``).
    solver : {"ipm", "al", "gated", "proj", "cg"} or None, default=None
        Solver (``--solver``); None: interior point (multi-class classifiers: proj).
    loss : {"squared", "ce"}, default="squared"
        Loss (``--loss``); ``ce`` (softmax cross-entropy) trains the multi-output classifier.
    test_fraction : float, default=0.0
        Part of the training data a multi-class classifier holds out for
        ``report_["test_accuracy"]`` (the command line's default is 0.2; here every sample
        trains unless asked).
    normalize : {"none", "standardize"}, default="none"
        Input standardization of multi-class classifiers (statistics of the training part,
        applied again at prediction).
    max_iter, inner_iter : int or None, default=None
        Iteration limits of the first-order solvers (None: 30 and 50; multi-class
        classifiers with the default ADMM solver: 12 checks of 10 steps).
    time_limit : float or None, default=None
        Safety cap in seconds (None: 60 for first-order solves and multi-class classifiers,
        whose whole fit it bounds; none for the two-layer interior point, which it bounds as a
        whole when given). Reaching it is reported as ``status_ == "max_time"``.
    fresh : int, default=200
        Fresh patterns drawn for the global-optimality estimate of classifiers (0: none).
    certificate_budget : float, default=30.0
        Seconds for exact dual-constraint values in each classifier certificate.
    polish_rounds : int, default=40
        Column-generation rounds after a multi-class classifier's first-order solve (squared
        loss): they stop once the restricted gap reaches ``tol`` (0: none).
    pattern_rounds : int, default=0
        Rounds of pattern pricing after the polish (multi-class classifiers, squared loss): sign
        patterns the program lacks, found by ascent on the dual constraint, join the program,
        which is polished again (0: none). Lowers the objective towards the global optimum
        at the cost of time.
    prune : bool, default=True
        Caratheodory pruning to at most n + 1 filters (``--no-prune`` is ``prune=False``).
    max_exact : int, default=2_000_000
        Refuse exact enumeration above this many patterns.
    max_memory : str or int or None, default=None
        Memory a solve may use (``"4G"``, ``"512M"`` or bytes; None: 80% of the memory
        available when the fit starts). A program estimated above it raises ``ValueError``
        before it is built.
    tol : float or None, default=None
        Target relative duality gap (None: 1e-9 for the interior point, 1e-3 for the
        first-order classifier solvers).
    threads : int or None, default=None
        Worker threads of a fit (None: all cores).
    verbose : bool, default=False
        Show progress (a tqdm bar per stage when tqdm is installed).
"""

_ATTRS_DOC = """
    Attributes
    ----------
    model_ : cvxcnn.Model
        The recovered network: ``predict``, ``save(dir)``, ``to_torch()``, ``tensors()``.
    report_ : dict
        ``report.json`` of the fit (the same schema as the command line's).
    objective_ : float
        The convex optimum (or the upper bound a network attains).
    network_objective_ : float
        The recovered network's own objective (loss summed over samples + penalty).
    lower_bound_, duality_gap_, relative_gap_ : float
        The certified lower bound and the gaps.
    certificate_ : {"global", "restricted", "bounds"}
        What the lower bound covers.
    status_ : str
        Solver status (``inaccurate`` when the certificate did not close).
    converged_ : bool
        Whether the relative gap is within the solver's tolerance.
    filters_ : int
        Filters (units) of the recovered network.
    n_iter_ : int or None
        Iterations of the solver, when the report records them.
    n_features_in_ : int
        ``X.shape[1]`` at fit.
"""


def _n_iter(report: Dict[str, Any]) -> Optional[int]:
    for key in ("iterations", "ipm_iterations", "rounds"):
        v = report.get(key)
        if isinstance(v, int):
            return v
    hist = report.get("solver_history")
    if isinstance(hist, list) and hist:
        return len(hist)
    return None


class _ConvexCNN(BaseEstimator):
    """Parameters and fitting shared by both estimators."""

    def __init__(
        self,
        architecture: str = "two-layer",
        *,
        pool: str = "sum",
        head: Optional[str] = None,
        windows: Optional[int] = None,
        layers: int = 3,
        path_norm: bool = False,
        also: Optional[str] = None,
        kernel: Geometry = None,
        stride: Geometry = None,
        padding: Geometry = 0,
        bias: Optional[bool] = None,
        beta: Union[float, Sequence[float], str, None] = None,
        patterns: Union[str, int, None] = None,
        seed: int = 0,
        solver: Optional[str] = None,
        loss: str = "squared",
        test_fraction: float = 0.0,
        normalize: str = "none",
        max_iter: Optional[int] = None,
        inner_iter: Optional[int] = None,
        time_limit: Optional[float] = None,
        fresh: int = 200,
        certificate_budget: float = 30.0,
        polish_rounds: int = 40,
        pattern_rounds: int = 0,
        prune: bool = True,
        max_exact: int = 2_000_000,
        max_memory: Optional[Union[str, int]] = None,
        tol: Optional[float] = None,
        threads: Optional[int] = None,
        verbose: bool = False,
    ) -> None:
        self.architecture = architecture
        self.pool = pool
        self.head = head
        self.windows = windows
        self.layers = layers
        self.path_norm = path_norm
        self.also = also
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.bias = bias
        self.beta = beta
        self.patterns = patterns
        self.seed = seed
        self.solver = solver
        self.loss = loss
        self.test_fraction = test_fraction
        self.normalize = normalize
        self.max_iter = max_iter
        self.inner_iter = inner_iter
        self.time_limit = time_limit
        self.fresh = fresh
        self.certificate_budget = certificate_budget
        self.polish_rounds = polish_rounds
        self.pattern_rounds = pattern_rounds
        self.prune = prune
        self.max_exact = max_exact
        self.max_memory = max_memory
        self.tol = tol
        self.threads = threads
        self.verbose = verbose

    def _settings(self) -> str:
        return settings_json(self.get_params())

    def _fit_native(self, X: np.ndarray, **targets: Any) -> None:
        progress = Progress() if self.verbose else None
        try:
            native = _cvxcnn.fit(
                np.ascontiguousarray(X, dtype=np.float64),
                self._settings(),
                threads=self.threads,
                progress=progress,
                **targets,
            )
        except ValueError as e:
            if X.ndim == 2:
                raise ValueError(f"{e} (X: {X.shape[0]} samples of {X.shape[1]} feature(s))") from None
            raise
        finally:
            if progress is not None:
                progress.close()
        self._set_model(Model(native))
        r = self.report_
        if r.get("status") == "inaccurate":
            warnings.warn(
                f"the solver reported success, but the recovered network is {r.get('relative_gap'):.1e} "
                "(relative) above the certified bound: the result is not the optimum (is beta too small?)",
                ConvergenceWarning,
                stacklevel=3,
            )
        elif r.get("converged") is False and r.get("certificate") != "bounds":
            warnings.warn(
                f"not converged (status {r.get('status')!r}, relative gap {r.get('relative_gap'):.1e}); "
                "raise max_iter or time_limit",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _set_model(self, model: Model) -> None:
        r = model.report
        self.model_ = model
        self.report_ = r
        self.objective_ = r.get("objective")
        self.network_objective_ = r.get("network_objective")
        self.lower_bound_ = r.get("lower_bound")
        self.duality_gap_ = r.get("duality_gap")
        self.relative_gap_ = r.get("relative_gap")
        self.certificate_ = r.get("certificate")
        self.status_ = r.get("status")
        self.converged_ = r.get("converged")
        self.filters_ = r.get("filters")
        self.n_iter_ = _n_iter(r)

    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, allow_nd=True, dtype=np.float64)
        return self.model_.predict(X)

    # Pickling: the native model travels as its files (the bytes `cvxcnn train` writes).
    def __getstate__(self) -> Dict[str, Any]:
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        model = state.pop("model_", None)
        if model is not None:
            state["_model_files"] = model.files()
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        state = dict(state)
        files = state.pop("_model_files", None)
        if hasattr(super(), "__setstate__"):
            super().__setstate__(state)
        else:  # pragma: no cover
            self.__dict__.update(state)
        if files is not None:
            self.model_ = Model.from_files(files)

    def save(self, path: Any) -> None:
        """Writes the fitted model's files to the directory `path` (see `cvxcnn.Model.save`)."""
        check_is_fitted(self, "model_")
        self.model_.save(path)

    def to_torch(self) -> Any:
        """The fitted network as a `torch.nn.Module` (see `cvxcnn.Model.to_torch`)."""
        check_is_fitted(self, "model_")
        return self.model_.to_torch()


class ConvexCNNClassifier(ClassifierMixin, _ConvexCNN):
    __doc__ = (
        """A ReLU CNN classifier trained to the global optimum of its convex reformulation.

    Two classes train one output (targets -1/+1, the smaller label -1) by the exact program
    (interior point); more classes, or ``loss="ce"``, train the multi-output classifier
    (sampled patterns, first-order solver, restricted certificate), as ``cvxcnn train``
    does with the same data. ``X`` is ``(n, L)``, ``(n, c, L)`` or ``(n, c, H, W)``.
"""
        + _PARAMS_DOC
        + _ATTRS_DOC
        + """    classes_ : ndarray
        The class labels.

    Examples
    --------
    >>> from cvxcnn import ConvexCNNClassifier
    >>> from cvxcnn.datasets import load_mnist_subset
    >>> X, y = load_mnist_subset(return_X_y=True)
    >>> keep = (y == 3) | (y == 8)
    >>> clf = ConvexCNNClassifier(kernel=7, stride=7, beta=1.0, patterns="sample:20")
    >>> clf.fit(X[keep][:100], y[keep][:100]).certificate_
    'restricted'
"""
    )

    def fit(self, X: Any, y: Any) -> "ConvexCNNClassifier":
        """Fits the network to samples `X` and class labels `y`; returns self."""
        X, y = validate_data(self, X, y, allow_nd=True, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, yi = np.unique(y, return_inverse=True)
        self._fit_native(X, y_classes=np.ascontiguousarray(yi, dtype=np.int64).ravel())
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Network outputs: `(n,)` for two classes (positive: `classes_[1]`), else
        `(n, n_classes)`."""
        f = self._outputs(X)
        if f.shape[1] == 1:
            return f[:, 0]
        if f.shape[1] == 2:  # two classes, one output each: the margin of classes_[1]
            return f[:, 1] - f[:, 0]
        return f

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels."""
        f = self._outputs(X)
        if f.shape[1] == 1:
            # scikit-learn's convention: a positive decision is classes_[1], a tie at exactly 0
            # (every ReLU off) classes_[0].
            return self.classes_[(f[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(f, axis=1)]

    def _has_proba(self) -> bool:
        return self.loss == "ce"

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: the softmax of the outputs (``loss="ce"`` only; the squared
        loss gives scores, not probabilities)."""
        f = self._outputs(X)
        z = f - f.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    @available_if(_has_proba)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithms of `predict_proba`."""
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # A CNN with global pooling is not a general model of tabular data: the accuracy
        # thresholds of scikit-learn's generic checks do not apply to it.
        tags.classifier_tags.poor_score = True
        return tags


class ConvexCNNRegressor(RegressorMixin, _ConvexCNN):
    __doc__ = (
        """A ReLU CNN with one output trained to the global optimum of its convex reformulation
    (squared loss summed over samples + the architecture's penalty), as ``cvxcnn train`` does
    with real targets. ``X`` is ``(n, L)``, ``(n, c, L)`` or ``(n, c, H, W)``.
"""
        + _PARAMS_DOC
        + _ATTRS_DOC
    )

    def fit(self, X: Any, y: Any) -> "ConvexCNNRegressor":
        """Fits the network to samples `X` and real targets `y`; returns self."""
        X, y = validate_data(self, X, y, allow_nd=True, dtype=np.float64, y_numeric=True)
        if np.ndim(y) != 1:
            raise ValueError(f"y must be one-dimensional (one target per sample), got shape {np.shape(y)}")
        self._fit_native(X, y_real=np.ascontiguousarray(y, dtype=np.float64))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Network outputs, shape `(n,)`."""
        return self._outputs(X)[:, 0]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # As for the classifier: the R² thresholds of the generic checks do not apply.
        tags.regressor_tags.poor_score = True
        return tags
