"""Every architecture, errors, the GIL, Ctrl-C, progress and PyTorch."""

import _thread
import threading
import time

import numpy as np
import pytest

import cvxcnn
from cvxcnn import ConvexCNNRegressor


@pytest.mark.parametrize(
    "params",
    [
        dict(pool="sum"),
        dict(pool="avg"),
        dict(pool="max"),
        dict(head="l1", windows=2, pool="avg"),
        dict(head="l1", windows=2, pool="max"),
        dict(architecture="linear"),
        dict(architecture="linear", head="fc"),
        dict(architecture="circular"),
        dict(architecture="circular", layers=4),
        dict(architecture="three-layer", patterns="sample:3"),
    ],
    ids=lambda p: "-".join(str(v) for v in p.values()),
)
def test_every_architecture(params, tmp_path):
    rng = np.random.default_rng(1)
    d = 6 if params.get("architecture") == "circular" else 5
    X, y = rng.standard_normal((8, d)), rng.standard_normal(8)
    kernel = None if params.get("architecture") == "circular" else 3
    est = ConvexCNNRegressor(kernel=kernel, beta=0.1, **params).fit(X, y)
    assert est.network_objective_ >= est.lower_bound_ * (1 - 1e-6)
    f = est.predict(X)
    assert f.shape == (8,) and np.all(np.isfinite(f))
    # The prediction is the recovered network's: its objective is the report's.
    assert np.isfinite(est.objective_)
    # Saved and read back, every architecture predicts what the fitted estimator predicts.
    est.save(tmp_path / "model")
    loaded = cvxcnn.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict(X)[:, 0], f, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(beta=-1.0), "beta"),
        (dict(kernel=9), "kernel"),
        (dict(patterns="sometimes"), "patterns"),
        (dict(architecture="linear", bias=True), "bias"),
        (dict(pool="median"), "pool"),
        (dict(head="l1"), "windows"),
        (dict(threads=0), "threads"),
        (dict(max_memory="1K"), "max_memory"),
        (dict(max_memory="10X"), "max_memory"),
    ],
)
def test_bad_input_raises_value_error(signals, params, match):
    X, y = signals
    with pytest.raises(ValueError, match=match):
        ConvexCNNRegressor(**params).fit(X, y)


def test_bad_arrays_raise(signals):
    X, y = signals
    with pytest.raises(ValueError):
        ConvexCNNRegressor().fit(X[:, :, None, None, None], y)
    with pytest.raises(ValueError):
        X2 = X.copy()
        X2[0, 0] = np.nan
        ConvexCNNRegressor().fit(X2, y)
    with pytest.raises(ValueError):
        ConvexCNNRegressor().fit(X, y[:5])
    est = ConvexCNNRegressor(kernel=3).fit(X, y)
    with pytest.raises(ValueError):
        est.predict(X[:, :4])
    with pytest.raises(ValueError):
        cvxcnn.Model.from_files([("model.safetensors", b"not a safetensors file")])
    assert issubclass(cvxcnn.CvxcnnError, RuntimeError)


def test_gil_released_during_fit(digits):
    X, y = digits
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.005)

    t = threading.Thread(target=count)
    t.start()
    start = time.time()
    cvxcnn.ConvexCNNClassifier(kernel=7, stride=7, beta=1.0, patterns="sample:10", threads=1).fit(X, y)
    took = time.time() - start
    stop.set()
    t.join()
    # The other thread ran throughout the fit (about one tick per 5 ms).
    assert len(ticks) > 0.3 * took / 0.005


def test_ctrl_c_interrupts_promptly(digits):
    X, y = digits
    timer = threading.Timer(0.5, _thread.interrupt_main)
    start = time.time()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        # About 10 s uninterrupted.
        cvxcnn.ConvexCNNClassifier(kernel=7, stride=7, beta=1.0, patterns="sample:40", threads=1).fit(X, y)
    assert time.time() - start < 3.0
    # The next fit runs normally.
    rng = np.random.default_rng(0)
    ConvexCNNRegressor(kernel=3).fit(rng.standard_normal((10, 5)), rng.standard_normal(10))


def test_progress_events(signals):
    X, y = signals
    events = []
    from cvxcnn import _cvxcnn
    from cvxcnn._settings import settings_json

    _cvxcnn.fit(X, settings_json(dict(kernel=3)), y_real=y, progress=lambda k, p: events.append(k))
    assert "stage" in events
    # verbose=True draws the bars without failing.
    ConvexCNNRegressor(kernel=3, verbose=True).fit(X, y)


def test_mnist_subset():
    from cvxcnn.datasets import load_mnist_subset

    b = load_mnist_subset()
    assert b.data.shape == (3000, 1, 28, 28) and b.target.shape == (3000,)
    assert b.data.min() >= 0.0 and b.data.max() <= 1.0
    assert sorted(set(b.target.tolist())) == list(range(10))


def test_torch_module_equals_predict(digits):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    Xs, ys = rng.standard_normal((8, 6)), rng.standard_normal(8)
    cases = [
        (dict(kernel=7, stride=7, beta=1.0, patterns="sample:10", bias=True), *digits, "clf"),
        (dict(kernel=3, pool="max"), Xs[:, :5], ys, "reg"),
        (dict(kernel=3, head="l1", windows=2, pool="avg"), Xs[:, :5], ys, "reg"),
        (dict(kernel=3, architecture="linear", head="fc"), Xs[:, :5], ys, "reg"),
        (dict(kernel=3, architecture="three-layer", patterns="sample:3"), Xs[:, :5], ys, "reg"),
        (dict(architecture="circular"), Xs, ys, "reg"),
    ]
    for params, X, y, kind in cases:
        est = (cvxcnn.ConvexCNNClassifier if kind == "clf" else ConvexCNNRegressor)(**params).fit(X, y)
        net = est.to_torch()
        xt = torch.from_numpy(X if X.ndim > 2 else X[:, None, :])
        with torch.no_grad():
            out = net(xt).numpy()[:, 0]
        expected = est.decision_function(X) if kind == "clf" else est.predict(X)
        np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-9, err_msg=str(params))


def test_not_converged_warns(digits):
    """A fit that ends on its iteration count, not its certificate, says so (scikit-learn's
    ConvergenceWarning); an exact fit does not. (Without the polish: with it, this small fit
    closes its gap.)"""
    from sklearn.exceptions import ConvergenceWarning
    import warnings

    from cvxcnn.datasets import load_mnist_subset

    X, y = load_mnist_subset(return_X_y=True)
    clf = cvxcnn.ConvexCNNClassifier(
        patterns="sample:4", max_iter=1, inner_iter=2, fresh=0, polish_rounds=0
    )
    with pytest.warns(ConvergenceWarning, match="not converged"):
        clf.fit(X[:60], y[:60])
    assert clf.converged_ is False
    # The same fit with the default column-generation polish closes its restricted gap.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        polished = cvxcnn.ConvexCNNClassifier(
            patterns="sample:4", max_iter=1, inner_iter=2, fresh=0
        ).fit(X[:60], y[:60])
    assert polished.converged_ is True
    rng = np.random.default_rng(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ConvexCNNRegressor(kernel=2, beta=0.1).fit(rng.standard_normal((6, 4)), rng.standard_normal(6))


def test_pattern_rounds_lower_the_objective(digits):
    """Pattern pricing (``pattern_rounds``) adds patterns the sampled program lacks: the fit's
    objective is lower than without them, and the recovered network agrees with it. Negative
    counts are refused."""
    from cvxcnn.datasets import load_mnist_subset

    X, y = load_mnist_subset(return_X_y=True)
    common = dict(patterns="sample:4", max_iter=3, fresh=0, time_limit=120)
    plain = cvxcnn.ConvexCNNClassifier(**common).fit(X[:60], y[:60])
    grown = cvxcnn.ConvexCNNClassifier(pattern_rounds=2, **common).fit(X[:60], y[:60])
    assert grown.objective_ < plain.objective_ * (1 - 1e-3)
    assert abs(grown.network_objective_ - grown.objective_) <= 1e-8 * grown.objective_
    with pytest.raises(ValueError, match="pattern_rounds"):
        cvxcnn.ConvexCNNClassifier(pattern_rounds=-1).fit(X[:60], y[:60])
