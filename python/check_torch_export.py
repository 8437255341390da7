"""PyTorch reproduces cvxcnn's predictions from its exported weights (to 1e-5).

Usage: python check_torch_export.py CVXCNN_BINARY WORK_DIR

Trains small models with the cvxcnn binary (a 2-D classifier with bias, padding, stride and
average pooling and standardized inputs; a 1-D multichannel scalar model with sum pooling; a
2-D scalar model with max pooling),
asks `cvxcnn predict --json` for its outputs, loads the same weights into torch.nn.Conv1d /
Conv2d + Linear (cvxcnn_torch.load) and compares. Exits non-zero on any mismatch.
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import torch

# The module lives in the Python package (py/python/cvxcnn/torch_modules.py); it is loaded on
# its own, so that this check needs neither the package's native part nor scikit-learn.
_spec = importlib.util.spec_from_file_location(
    "cvxcnn_torch",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "py", "python", "cvxcnn", "torch_modules.py"),
)
cvxcnn_torch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cvxcnn_torch)

TOL = 1e-5


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{r.stderr}")
    return r.stdout


def check(binary, work, name, x, y, train_args):
    data = os.path.join(work, f"{name}.npz")
    np.savez(data, x=x, y=y)
    out = os.path.join(work, name)
    run([binary, "train", "--data", data, "--out", out, "--quiet", "--allow-unconverged", *train_args])
    pred = json.loads(run([binary, "predict", "--model", out, "--data", data, "--json"]))
    ours = np.array(pred["outputs"], dtype=np.float64)
    net, info = cvxcnn_torch.load(out)
    with torch.no_grad():
        xt = cvxcnn_torch.normalize(torch.from_numpy(x.astype(np.float64)), info)
        theirs = net(xt).numpy()
    err = float(np.max(np.abs(ours - theirs)))
    scale = float(np.max(np.abs(ours)))
    m = net.conv.weight.shape[0]
    print(
        f"{name}: {x.shape[0]} samples, {m} filters, {ours.shape[1]} outputs; "
        f"max |cvxcnn - torch| = {err:.3e} (outputs up to {scale:.3e})"
    )
    if not err <= TOL:
        sys.exit(f"FAIL {name}: PyTorch differs from cvxcnn by {err:.3e} > {TOL}")


def check_objective(binary, work, name, x, y, train_args, penalty):
    data = os.path.join(work, f"{name}.npz")
    np.savez(data, x=x, y=y)
    out = os.path.join(work, name)
    run([binary, "train", "--data", data, "--out", out, "--quiet", "--allow-unconverged", *train_args])
    with open(os.path.join(out, "report.json")) as fh:
        report = json.load(fh)
    beta = report["beta"]
    net, _ = cvxcnn_torch.load(out)
    with torch.no_grad():
        f = net(torch.from_numpy(x.astype(np.float64)))[:, 0].numpy()
        if penalty == "circular":
            pen = 0.5 * beta * (float((net.b ** 2).sum()) + float((net.w ** 2).sum()))
        elif penalty == "three":
            pen = 0.5 * beta * (float((net.mix ** 2).sum()) + float((net.fc_weight ** 2).sum()))
        elif penalty == "l1":
            u2 = float((net.conv.weight ** 2).sum())
            w1 = float((net.fc_weight.abs().sum(dim=0) ** 2).sum())
            pen = 0.5 * beta * (u2 + w1)
        else:
            pen = 0.5 * beta * (float((net.conv.weight ** 2).sum()) + float((net.fc_weight ** 2).sum()))
    ours = 0.5 * float(((f - y) ** 2).sum()) + pen
    theirs = report["network_objective"]
    err = abs(ours - theirs) / abs(theirs)
    print(f"{name}: torch objective {ours:.12g}, cvxcnn network_objective {theirs:.12g} (relative {err:.1e})")
    if not err <= 1e-8:
        sys.exit(f"FAIL {name}: PyTorch's objective differs by {err:.3e}")


def main():
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(0)
    x2 = rng.normal(size=(60, 2, 9, 8)) * 3.0 + 1.0
    y2 = (x2[:, 0, :4].sum(axis=(1, 2)) > x2[:, 1, 4:].sum(axis=(1, 2))).astype(np.int64)
    y2 += (x2[:, :, :, 0].sum(axis=(1, 2)) > 2.0).astype(np.int64)
    check(
        binary,
        work,
        "classifier2d",
        x2,
        y2,
        ["--kernel", "3x2", "--stride", "2x3", "--padding", "1", "--pool", "avg",
         "--normalize", "standardize", "--patterns", "sample:12", "--beta", "0.5",
         "--max-iter", "20", "--fresh", "0", "--test-fraction", "0", "--threads", "1"],
    )
    x1 = rng.normal(size=(9, 2, 7))
    y1 = rng.normal(size=9)
    check(
        binary,
        work,
        "scalar1d",
        x1,
        y1,
        ["--kernel", "3", "--stride", "2", "--padding", "1", "--bias", "--pool", "sum",
         "--patterns", "sample:30", "--beta", "0.05"],
    )
    x3 = rng.normal(size=(8, 2, 6, 5))
    y3 = rng.normal(size=8)
    check(
        binary,
        work,
        "maxpool2d",
        x3,
        y3,
        ["--kernel", "2", "--stride", "2", "--padding", "1", "--bias", "--pool", "max",
         "--patterns", "sample:30", "--beta", "0.05"],
    )
    # Architectures without `cvxcnn predict`: PyTorch's outputs plus the architecture's penalty
    # must give the report's network_objective.
    x4 = rng.normal(size=(8, 1, 6, 6))
    y4 = rng.normal(size=8)
    check_objective(binary, work, "local2d", x4, y4,
                    ["--kernel", "2", "--stride", "1", "--pool", "max", "--windows", "2",
                     "--head", "l1", "--patterns", "sample:30", "--beta", "0.05"], "l1")
    check_objective(binary, work, "linearfc", x4, y4,
                    ["--arch", "linear", "--head", "fc", "--kernel", "3", "--stride", "2",
                     "--beta", "0.05"], "wd")
    x6 = rng.normal(size=(4, 5))
    y6 = rng.normal(size=4)
    check_objective(binary, work, "threelayer", x6, y6,
                    ["--arch", "three-layer", "--kernel", "2", "--beta", "0.1"], "three")
    x5 = rng.normal(size=(6, 4))
    y5 = rng.normal(size=6)
    check_objective(binary, work, "circular4", x5, y5,
                    ["--arch", "circular", "--layers", "4", "--beta", "0.1"], "circular")
    print(f"PASS: PyTorch reproduces cvxcnn's predictions to {TOL} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
