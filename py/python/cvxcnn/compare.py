"""`cvxcnn.compare`: the convex fit beside non-convex restarts (SGD/Adam) of the same network on
the same objective, as `cvxcnn compare` prints it.

The comparison (its minibatch trainers, table and plots) lives in the command-line crate, so
this function runs the `cvxcnn` binary on the arrays (written to a temporary `.npz`) and reads
its `compare.json`. The binary is found through the environment variable `CVXCNN_BIN`, then
`PATH`; `cargo install --path cli` (or `cargo build --release`) provides it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from ._settings import settings_json


def _binary() -> str:
    exe = os.environ.get("CVXCNN_BIN") or shutil.which("cvxcnn")
    if not exe:
        raise FileNotFoundError(
            "cvxcnn.compare runs the cvxcnn command: set CVXCNN_BIN to its path or put it on "
            "PATH (cargo install --path cli, from the cvxcnn repository)"
        )
    return exe


def _flags(settings: Dict[str, Any]) -> List[str]:
    out: List[str] = []
    for k, v in settings.items():
        flag = "--" + k.replace("_", "-")
        if isinstance(v, bool):
            if v:
                out.append(flag)
        else:
            out += [flag, str(v)]
    return out


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
    settings = json.loads(settings_json(params))
    argv = [_binary(), "compare"] + _flags(settings)
    argv += ["--restarts", str(restarts), "--epochs", str(epochs), "--batch-size", str(batch_size)]
    argv += ["--momentum", repr(float(momentum)), "--schedule", schedule]
    argv += ["--init-scale", repr(float(init_scale)), "--first-seed", str(first_seed)]
    argv += ["--optimizer", optimizer if isinstance(optimizer, str) else ",".join(optimizer)]
    if width is not None:
        argv += ["--width", str(width) if isinstance(width, int) else ",".join(map(str, width))]
    if lr is not None:
        argv += ["--lr", repr(float(lr))]
    if params.get("threads") is not None:
        argv += ["--threads", str(int(params["threads"]))]
    with tempfile.TemporaryDirectory(prefix="cvxcnn-compare-") as tmp:
        data = os.path.join(tmp, "data.npz")
        np.savez(data, x=X, y=y)
        out = os.path.join(tmp, "out")
        argv += ["--data", data, "--out", out, "--quiet"]
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            msg = done.stderr.strip().removeprefix("error: ") if hasattr(str, "removeprefix") else done.stderr.strip()
            if done.returncode == 2:
                raise ValueError(msg)
            from . import CvxcnnError

            raise CvxcnnError(f"cvxcnn compare failed ({done.returncode}): {msg}")
        with open(os.path.join(out, "compare.json")) as fh:
            report = json.load(fh)
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
