"""Load a model written by `cvxcnn train` into PyTorch.

The safetensors file holds `conv.weight` (m, c, k) or (m, c, kh, kw), `conv.bias` (m,) when the
filters have a bias, and `fc.weight` (C, m), all float64; its metadata holds the geometry. The
network is

    fc(pool(relu(conv(x))))

with `pool` the sum (`pool = "sum"`), the mean (`pool = "avg"`) or the maximum (`pool = "max"`)
over all spatial positions.
`model.json` beside it (classifiers) records the input normalization and the class labels.
"""

import json
import os

import torch
from safetensors import safe_open


def _ints(text):
    v = json.loads(text)
    return v if isinstance(v, list) else [v]


class TwoLayerCnn(torch.nn.Module):
    """conv -> ReLU -> global sum/avg/max pooling -> linear (no bias), as cvxcnn defines it."""

    def __init__(self, conv, fc, pool):
        super().__init__()
        self.conv, self.fc, self.pool = conv, fc, pool

    def forward(self, x):
        z = torch.relu(self.conv(x))
        dims = tuple(range(2, z.dim()))
        if self.pool == "sum":
            z = z.sum(dim=dims)
        elif self.pool == "avg":
            z = z.mean(dim=dims)
        elif self.pool == "max":
            z = z.amax(dim=dims)
        else:
            raise ValueError(f"unknown pooling {self.pool!r}")
        return self.fc(z)


def load(model_dir):
    """Returns (network, info): a float64 `TwoLayerCnn` and the parsed model.json (or None)."""
    path = os.path.join(model_dir, "model.safetensors")
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
        t = {k: f.get_tensor(k) for k in f.keys()}
    w, fcw = t["conv.weight"], t["fc.weight"]
    m, c = w.shape[0], w.shape[1]
    bias = meta["bias"] == "true"
    kernel, stride, padding = (_ints(meta[k]) for k in ("kernel", "stride", "padding"))
    conv_cls = torch.nn.Conv1d if w.dim() == 3 else torch.nn.Conv2d
    conv = conv_cls(
        c,
        m,
        tuple(kernel),
        stride=tuple(stride),
        padding=tuple(padding),
        bias=bias,
        dtype=torch.float64,
    )
    fc = torch.nn.Linear(m, fcw.shape[0], bias=False, dtype=torch.float64)
    with torch.no_grad():
        conv.weight.copy_(w)
        if bias:
            conv.bias.copy_(t["conv.bias"])
        fc.weight.copy_(fcw)
    info = None
    info_path = os.path.join(model_dir, "model.json")
    if os.path.exists(info_path):
        with open(info_path) as fh:
            info = json.load(fh)
    return TwoLayerCnn(conv, fc, meta["pool"]).eval(), info


def normalize(x, info):
    """Applies the normalization recorded in model.json to x of shape (n, c, ...)."""
    if info is None or info["normalization"]["kind"] == "none":
        return x
    n = info["normalization"]
    shape = (1, -1) + (1,) * (x.dim() - 2)
    mean = torch.tensor(n["mean"], dtype=x.dtype).reshape(shape)
    std = torch.tensor(n["std"], dtype=x.dtype).reshape(shape)
    return (x - mean) / std
