"""`cvxcnn.compare`: the convex fit beside non-convex restarts (SGD/Adam) of the same network on
the same objective, as `cvxcnn compare` prints it (the same library call, in this process).
"""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import _cvxcnn
from ._settings import settings_json


def compare(
    X: Any,
    y: Any,
    *,
    restarts: int = 5,
    optimizer: Union[str, Sequence[str]] = "adam",
    width: Union[int, Sequence[int], None] = None,
    epochs: int = 50,
    lr: Optional[float] = None,
    batch_size: int = 64,
    momentum: float = 0.9,
    schedule: str = "constant",
    init_scale: float = 1.0,
    first_seed: int = 0,
    as_frame: Optional[bool] = None,
    return_report: bool = False,
    **params: Any,
) -> Any:
    """The convex fit and `restarts` non-convex runs of the same network, as records.

    ``X``, ``y``: as for the estimators (integer ``y``: class labels, floating ``y``:
    targets). ``params``: the estimators' parameters (``architecture``, ``kernel``, ``beta``,
    ``patterns``, ...; ``test_fraction`` defaults to the command line's 0.2 here). The other
    arguments are ``cvxcnn compare``'s flags.

    Returns one record per row of the command's table: first the convex fit
    (``kind = "convex"``), then every run (``kind = "nonconvex"``, with ``seed``,
    ``optimizer``, ``width``, ``objective``, ``excess`` over the convex objective where the
    command reports it, accuracies and seconds). A pandas DataFrame when pandas is installed
    (or ``as_frame=True``), else a list of dicts; with ``return_report=True`` also the whole
    ``compare.json`` as a second value.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y)
    y = y.astype(np.int64) if np.issubdtype(y.dtype, np.integer) else y.astype(np.float64)
    params.setdefault("test_fraction", 0.2)
    settings = settings_json(params)
    runs = {
        "restarts": int(restarts),
        "optimizers": [optimizer] if isinstance(optimizer, str) else list(optimizer),
        "widths": [] if width is None else ([int(width)] if isinstance(width, (int, np.integer)) else [int(w) for w in width]),
        "epochs": int(epochs),
        "lr": None if lr is None else float(lr),
        "batch_size": int(batch_size),
        "momentum": float(momentum),
        "schedule": schedule,
        "init_scale": float(init_scale),
        "first_seed": int(first_seed),
    }
    kwargs = {"y_classes": y} if y.dtype == np.int64 else {"y_real": y}
    threads = params.get("threads")
    text = _cvxcnn.compare(X, settings, json.dumps(runs), threads=None if threads is None else int(threads), source="numpy", **kwargs)
    report = json.loads(text)
    convex = dict(report["convex"], kind="convex")
    rows = [convex]
    for r in report["runs"]:
        row = {k: v for k, v in r.items() if k not in ("history", "settings")}
        row["kind"] = "nonconvex"
        rows.append(row)
    result: Any = rows
    if as_frame is None or as_frame:
        try:
            import pandas as pd

            result = pd.DataFrame(rows)
        except ImportError:
            if as_frame:
                raise
    return (result, report) if return_report else result
