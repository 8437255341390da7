"""Shared fixtures: small data sets and the `cvxcnn` binary built from the same tree."""

import os
import shutil

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _find_cli():
    exe = os.environ.get("CVXCNN_BIN")
    if exe:
        return exe
    for target in (os.environ.get("CARGO_TARGET_DIR"), os.path.join(ROOT, "target")):
        if target:
            p = os.path.join(target, "release", "cvxcnn")
            if os.path.exists(p):
                return p
    return shutil.which("cvxcnn")


@pytest.fixture(scope="session")
def cli():
    """Path of the cvxcnn binary (CVXCNN_BIN, $CARGO_TARGET_DIR/release, target/release)."""
    exe = _find_cli()
    if not exe:
        pytest.skip("the cvxcnn binary is not built (cargo build --release, or set CVXCNN_BIN)")
    os.environ.setdefault("CVXCNN_BIN", exe)
    return exe


@pytest.fixture
def signals():
    """10 single-channel signals of length 5 and real targets (an exact instance)."""
    rng = np.random.default_rng(0)
    return rng.standard_normal((10, 5)), rng.standard_normal(10)


@pytest.fixture(scope="session")
def digits():
    """100 MNIST 3s and 8s from the embedded digits."""
    from cvxcnn.datasets import load_mnist_subset

    X, y = load_mnist_subset(return_X_y=True)
    keep = (y == 3) | (y == 8)
    return X[keep][:100], y[keep][:100]
