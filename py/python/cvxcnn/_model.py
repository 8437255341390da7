"""A fitted or loaded cvxcnn model: its report, its weights and its files, in the command line's
formats (`report.json`, `model.safetensors`, `model.json`)."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import _cvxcnn

_FILES = ("report.json", "model.safetensors", "model.json")


class Model:
    """A certified network: what `cvxcnn train` writes, in memory.

    Attributes
    ----------
    report : dict
        `report.json` (the same schema for every architecture: `objective`,
        `network_objective`, `lower_bound`, `relative_gap`, `certificate`, `status`, ...).
    """

    def __init__(self, native: Any) -> None:
        self._native = native
        text = native.report_json()
        self.report: Dict[str, Any] = json.loads(text) if text else {}

    # -- files -----------------------------------------------------------------------------
    def files(self) -> List[Tuple[str, bytes]]:
        """The model's files as `(name, bytes)`: the bytes `cvxcnn train` writes."""
        return [(k, bytes(v)) for k, v in self._native.files()]

    def save(self, path: "os.PathLike[str] | str") -> None:
        """Writes the model's files to the directory `path`, as `cvxcnn train --out` does:
        atomically, replacing only an earlier cvxcnn result (any other existing directory is
        refused with `ValueError`). `cvxcnn eval/predict --model path` and `cvxcnn.load` read
        it."""
        _cvxcnn.write_model_dir(os.fspath(path), self.files())

    @classmethod
    def from_files(cls, files: List[Tuple[str, bytes]]) -> "Model":
        """A model from its files (see `files`)."""
        return cls(_cvxcnn.model_from_files([(k, bytes(v)) for k, v in files]))

    # -- use ------------------------------------------------------------------------------
    @property
    def sample_shape(self) -> Optional[Tuple[int, ...]]:
        """Shape of one sample, `(c, L)` or `(c, H, W)`."""
        s = self._native.sample_shape()
        return None if s is None else tuple(s)

    def predict(self, X: Any) -> np.ndarray:
        """Network outputs on `X` (shape `(n, L)`, `(n, c, L)` or `(n, c, H, W)`), as an
        `(n, C)` array; a classifier's inputs are normalized as at training."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        return self._native.predict(X)

    def tensors(self) -> Optional[Tuple[Dict[str, np.ndarray], Dict[str, str]]]:
        """The weights in PyTorch's layout (float64) and the safetensors metadata, or `None` for
        a fit that is a bound rather than a network."""
        return self._native.tensors()

    def to_torch(self) -> Any:
        """The equivalent `torch.nn.Module` (float64, eval mode). Its input is what the network
        reads: `(n, c, L)` or `(n, c, H, W)`, normalized as the `model.json` says
        (`cvxcnn.torch_modules.normalize`). Needs torch."""
        try:
            import torch
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("to_torch() needs PyTorch: pip install torch") from e
        from . import torch_modules

        t = self.tensors()
        if t is None:
            raise ValueError("this fit is a bound (the gated relaxation), not a network")
        arrays, meta = t
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
        return torch_modules.build(tensors, meta)

    def __repr__(self) -> str:
        r = self.report
        return (
            f"<cvxcnn.Model {r.get('name', '?')}: objective {r.get('objective', float('nan')):.6g}, "
            f"certificate {r.get('certificate', '?')}, {r.get('filters', '?')} filters>"
        )


def load(path: "os.PathLike[str] | str") -> Model:
    """Reads a model directory written by `cvxcnn train --out` or `Model.save`."""
    files = []
    for name in _FILES:
        p = os.path.join(os.fspath(path), name)
        if os.path.exists(p):
            with open(p, "rb") as fh:
                files.append((name, fh.read()))
    if not any(k == "model.safetensors" for k, _ in files):
        raise FileNotFoundError(f"{os.path.join(os.fspath(path), 'model.safetensors')}: no such file")
    return Model.from_files(files)
