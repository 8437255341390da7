#!/usr/bin/env bash
# Peer benchmarks (BENCHMARKS.md, "Against other tools"): builds cvxcnn, creates bench/.venv
# with numpy, torch, cvxpy (Clarabel) and pyscnn unless it exists, and runs bench/peers.py.
# Usage: bench/run.sh [OUT_DIR] [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench/out}"
shift || true
venv=bench/.venv
if ! "$venv/bin/python" -c "import torch, cvxpy, scnn, numpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q numpy torch cvxpy pyscnn safetensors
fi
cargo build --release --quiet
"$venv/bin/python" bench/peers.py target/release/cvxcnn "$out" "$@"
