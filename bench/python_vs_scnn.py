"""Time of one fit from Python (cvxcnn) against scnn's optimize (pip install pyscnn) on the same
fully connected problem (kernel = whole image), BENCHMARKS.md "Python". Usage: python
bench/python_vs_scnn.py"""

import time, numpy as np
import cvxcnn
from cvxcnn.datasets import load_mnist_subset
from scnn.optimize import optimize
from scnn.regularizers import NeuronGL1
X, y = load_mnist_subset(return_X_y=True)
keep = (y == 3) | (y == 8)
X, y = X[keep][:100], y[keep][:100]
yt = np.where(y == 8, 1.0, -1.0)
beta, n = 1.0, len(y)
for rep in range(2):
    t = time.perf_counter()
    clf = cvxcnn.ConvexCNNRegressor(kernel=28, stride=28, beta=beta, patterns="sample:20").fit(X, yt)
    tp = time.perf_counter() - t
    t = time.perf_counter()
    model, metrics = optimize("relu", 20, X.reshape(n, -1), yt.reshape(n, 1), regularizer=NeuronGL1(beta / n), device="cpu", seed=rep)
    ts = time.perf_counter() - t
    f = model(X.reshape(n, -1)).ravel()
    print(f"cvxcnn (python) {tp:.2f} s objective {clf.objective_:.6f} gap {clf.relative_gap_:.1e}; scnn optimize {ts:.2f} s, its train loss scaled: {0.5*np.sum((f-yt)**2):.6f} (loss part only)")
