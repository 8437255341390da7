"""Time of one fit from Python against `cvxcnn train` on the same problem (BENCHMARKS.md,
"Python"). Usage: python bench/python_vs_cli.py PATH/TO/cvxcnn [repeats]"""

import json
import subprocess
import sys
import tempfile
import time

import numpy as np

import cvxcnn
from cvxcnn.datasets import load_mnist_subset

cli = sys.argv[1]
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
X, y = load_mnist_subset(return_X_y=True)
keep = (y == 3) | (y == 8)
X, y = X[keep][:100], y[keep][:100]
problems = {
    "conv 7x7 stride 7, sample:20": dict(kernel=7, stride=7, beta=1.0, patterns="sample:20"),
    "fully connected (kernel 28), sample:20": dict(kernel=28, stride=28, beta=1.0, patterns="sample:20"),
}
with tempfile.TemporaryDirectory() as tmp:
    data = f"{tmp}/d.npz"
    np.savez(data, x=X, y=y.astype(np.int64))
    for name, p in problems.items():
        py_t, cli_t, objs = [], [], []
        for _ in range(repeats):
            t = time.perf_counter()
            clf = cvxcnn.ConvexCNNClassifier(**p).fit(X, y)
            py_t.append(time.perf_counter() - t)
            flags = ["--kernel", str(p["kernel"]), "--stride", str(p["stride"]), "--beta", "1", "--patterns", p["patterns"]]
            t = time.perf_counter()
            subprocess.run([cli, "train", "--data", data, "--out", f"{tmp}/o", "--quiet", "--allow-unconverged", *flags], check=True)
            cli_t.append(time.perf_counter() - t)
            with open(f"{tmp}/o/report.json") as fh:
                objs.append((clf.objective_, json.load(fh)["objective"]))
        print(f"{name}: python {min(py_t):.2f} s (median {np.median(py_t):.2f}), "
              f"cli {min(cli_t):.2f} s (median {np.median(cli_t):.2f}); objectives {objs[0][0]:.10f} / {objs[0][1]:.10f}")
