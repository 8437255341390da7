"""cvxcnn: ReLU CNNs trained to their global optimum through exact convex reformulations
(Ergen & Pilanci, ICLR 2021), certified by a duality gap.

- `ConvexCNNClassifier`, `ConvexCNNRegressor`: scikit-learn estimators (every architecture of
  the command line, its flags as parameters);
- `load(dir)` / `Model.save(dir)`: the command line's files (`report.json`,
  `model.safetensors`, `model.json`); `Model.to_torch()`: the same network in PyTorch;
- `compare(X, y, ...)`: the convex fit beside non-convex restarts (`cvxcnn compare`);
- `datasets.load_mnist_subset()`: the 3,000 embedded MNIST digits.

Errors: `ValueError` for bad input, `CvxcnnError` for solver failures; Ctrl-C during a fit
raises `KeyboardInterrupt`.
"""

from ._cvxcnn import CvxcnnError, __version__
from ._model import Model, load
from .compare import compare
from .estimators import ConvexCNNClassifier, ConvexCNNRegressor
from . import datasets

__all__ = [
    "ConvexCNNClassifier",
    "ConvexCNNRegressor",
    "CvxcnnError",
    "Model",
    "compare",
    "datasets",
    "load",
    "__version__",
]
