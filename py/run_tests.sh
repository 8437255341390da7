#!/usr/bin/env bash
# The Python package's tests: creates a virtual environment ($CVXCNN_PY_VENV, default
# py/.venv), installs the package from py/ (maturin, release build in the workspace's target
# directory) with numpy, scikit-learn, pytest, tqdm and safetensors, builds the cvxcnn binary
# (the parity tests compare against it) and runs pytest on py/tests. torch is used when the
# environment already has it (the torch test skips otherwise; python/run_check.sh installs it).
# With CVXCNN_PY_OPTIONAL=1 a failed install from PyPI prints SKIPPED and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CVXCNN_PY_VENV:-py/.venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
if ! { [ -x "$venv/bin/python" ] || python3 -m venv "$venv"; } ||
  ! timeout "${CVXCNN_INSTALL_TIMEOUT:-600}" "$venv/bin/pip" install -q "maturin>=1.5,<2" numpy "scikit-learn>=1.6" pytest tqdm safetensors; then
  if [ "${CVXCNN_PY_OPTIONAL:-0}" = "1" ]; then
    echo "SKIPPED: Python package tests (could not install maturin, numpy, scikit-learn and pytest from PyPI)"
    exit 0
  fi
  echo "error: could not set up $venv" >&2
  exit 1
fi
# The package, built by maturin through pip (no build isolation: maturin is in the venv, which
# goes first on PATH for pip's build step).
PATH="$(cd "$venv/bin" && pwd):$PATH" "$venv/bin/pip" install -q --no-build-isolation ./py
cargo build --release --quiet -p cvxcnn-cli
CVXCNN_BIN="$CARGO_TARGET_DIR/release/cvxcnn" "$venv/bin/python" -m pytest -q py/tests "$@"
