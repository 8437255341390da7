"""cvxcnn from Python: a certified two-layer CNN separating MNIST 3s from 8s (the README's
command-line quick start), saved in the command line's files and loaded again.

    pip install ./py
    python examples/python_quickstart.py
"""

import tempfile

import cvxcnn
from cvxcnn.datasets import load_mnist_subset

X, y = load_mnist_subset(return_X_y=True)
keep = (y == 3) | (y == 8)
X, y = X[keep][:100], y[keep][:100]

clf = cvxcnn.ConvexCNNClassifier(kernel=7, stride=7, beta=1.0, patterns="sample:20", seed=0)
clf.fit(X, y)
print(f"objective        {clf.objective_:.10f}  (optimum over the sampled patterns)")
print(f"network          {clf.network_objective_:.10f}  ({clf.filters_} filters)")
print(f"relative gap     {clf.relative_gap_:.3e}  (certificate: {clf.certificate_})")
print(f"train accuracy   {clf.score(X, y):.2%}")

with tempfile.TemporaryDirectory() as tmp:
    clf.save(f"{tmp}/model")  # report.json, model.safetensors: `cvxcnn predict --model` reads it
    model = cvxcnn.load(f"{tmp}/model")
    assert (model.predict(X)[:, 0] == clf.decision_function(X)).all()
    print(f"saved and loaded {model}")
