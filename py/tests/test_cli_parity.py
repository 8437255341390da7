"""The same optimum from Python as from the command line, and the same files both ways."""

import json
import subprocess

import numpy as np
import pytest

import cvxcnn


def _train(cli, tmp_path, X, y, *flags):
    data = tmp_path / "data.npz"
    np.savez(data, x=X, y=y)
    out = tmp_path / "cli-out"
    subprocess.run([cli, "train", "--data", str(data), "--out", str(out), "--quiet", "--allow-unconverged", *flags], check=True)
    return out, json.loads((out / "report.json").read_text())


def test_same_optimum_regression(cli, tmp_path, signals):
    X, y = signals
    out, report = _train(cli, tmp_path, X, y, "--kernel", "3", "--beta", "0.1", "--patterns", "exact")
    est = cvxcnn.ConvexCNNRegressor(kernel=3, beta=0.1, patterns="exact").fit(X, y)
    assert report["certificate"] == est.certificate_ == "global"
    assert abs(est.objective_ - report["objective"]) <= 1e-10 * max(1.0, abs(report["objective"]))
    assert abs(est.network_objective_ - report["network_objective"]) <= 1e-10 * max(1.0, abs(report["objective"]))
    assert est.filters_ == report["filters"]


def test_same_optimum_mnist(cli, tmp_path, digits):
    X, y = digits
    flags = ["--kernel", "7", "--stride", "7", "--beta", "1", "--patterns", "sample:20", "--seed", "0"]
    out, report = _train(cli, tmp_path, X, y.astype(np.int64), *flags)
    clf = cvxcnn.ConvexCNNClassifier(kernel=7, stride=7, beta=1.0, patterns="sample:20", seed=0).fit(X, y)
    assert abs(clf.objective_ - report["objective"]) <= 1e-10 * abs(report["objective"])
    assert clf.report_["patterns"] == report["patterns"]


def test_cli_model_opens_in_python(cli, tmp_path, digits):
    X, y = digits
    out, report = _train(cli, tmp_path, X, y.astype(np.int64), "--kernel", "7", "--stride", "7", "--beta", "1", "--patterns", "sample:10")
    model = cvxcnn.load(out)
    assert model.report["objective"] == report["objective"]
    data = tmp_path / "data.npz"
    done = subprocess.run([cli, "predict", "--model", str(out), "--data", str(data), "--json"], check=True, capture_output=True, text=True)
    cli_outputs = np.array(json.loads(done.stdout)["outputs"])
    np.testing.assert_allclose(model.predict(X), cli_outputs, rtol=1e-12, atol=1e-12)


def test_python_model_opens_in_cli(cli, tmp_path, digits):
    X, y = digits
    clf = cvxcnn.ConvexCNNClassifier(kernel=7, stride=7, beta=1.0, patterns="sample:10").fit(X, y)
    out = tmp_path / "py-out"
    clf.save(out)
    data = tmp_path / "data.npz"
    np.savez(data, x=X, y=y.astype(np.int64))
    done = subprocess.run([cli, "predict", "--model", str(out), "--data", str(data), "--json"], check=True, capture_output=True, text=True)
    np.testing.assert_allclose(np.array(json.loads(done.stdout)["outputs"])[:, 0], clf.decision_function(X), rtol=1e-12, atol=1e-12)
    # Saving again replaces the earlier result; a directory that is not a result is refused.
    clf.save(out)
    other = tmp_path / "not-a-result"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(ValueError):
        clf.save(other)
    assert (other / "keep.txt").read_text() == "mine"


def test_multiclass_files_round_trip(tmp_path):
    from cvxcnn.datasets import load_mnist_subset

    X, y = load_mnist_subset(return_X_y=True)
    X, y = X[:200], y[:200]
    clf = cvxcnn.ConvexCNNClassifier(patterns="sample:5", max_iter=3, inner_iter=10, fresh=0, normalize="standardize").fit(X, y)
    clf.save(tmp_path / "m")
    loaded = cvxcnn.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(X), clf.model_.predict(X))
    assert set(clf.classes_) == set(range(10))


def test_compare_records(cli, signals, tmp_path):
    X, y = signals
    rows, report = cvxcnn.compare(X, y, kernel=3, beta=0.1, patterns="exact", restarts=2, epochs=20, test_fraction=0.0, as_frame=False, return_report=True)
    assert rows[0]["kind"] == "convex" and rows[0]["exact"]
    runs = [r for r in rows if r["kind"] == "nonconvex"]
    assert len(runs) == 2
    # The convex objective is the global optimum: no run ends below it.
    assert all(r["objective"] >= rows[0]["objective"] * (1 - 1e-6) for r in runs)
    # The command line on the same data: the same convex optimum and the same seeded runs.
    data = tmp_path / "data.npz"
    np.savez(data, x=X, y=y)
    out = tmp_path / "cmp"
    subprocess.run([cli, "compare", "--data", str(data), "--kernel", "3", "--beta", "0.1", "--patterns", "exact", "--restarts", "2", "--epochs", "20", "--test-fraction", "0", "--quiet", "--out", str(out)], check=True, capture_output=True)
    with open(out / "compare.json") as fh:
        cli_report = json.load(fh)
    assert abs(cli_report["convex"]["objective"] - report["convex"]["objective"]) <= 1e-10 * abs(report["convex"]["objective"])
    assert [r["seed"] for r in cli_report["runs"]] == [r["seed"] for r in report["runs"]]
    for a, b in zip(cli_report["runs"], report["runs"]):
        assert abs(a["objective"] - b["objective"]) <= 1e-10 * abs(b["objective"])


def test_compare_other_architecture(signals):
    X, y = signals
    rows = cvxcnn.compare(X, y, architecture="linear", kernel=2, beta=0.1, restarts=2, epochs=30, width=[1, 2], as_frame=False)
    assert rows[0]["kind"] == "convex"
    runs = [r for r in rows if r["kind"] == "nonconvex"]
    assert [r["width"] for r in runs] == [1, 1, 2, 2]
    # The linear CNN's program is exact: no run ends below its certified lower bound.
    assert all(r["objective"] >= rows[0]["lower_bound"] * (1 - 1e-6) for r in runs)
