"""PyTorch modules equal to cvxcnn's networks, built from a model's tensors (`model.to_torch()`)
or from a directory written by `cvxcnn train` / `model.save` (`load`). Needs torch.

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


class LocalPoolCnn(torch.nn.Module):
    """conv -> ReLU -> avg/max over each window of positions -> linear over (filter, window)."""

    def __init__(self, conv, fc_weight, windows, pool):
        super().__init__()
        self.conv, self.pool, self.windows = conv, pool, windows
        self.register_buffer("fc_weight", fc_weight)  # (L, m)

    def forward(self, x):
        z = torch.relu(self.conv(x)).flatten(2)  # (n, m, K), position k = y * ow + x
        reduce = (lambda v: v.mean(dim=-1)) if self.pool == "avg" else (lambda v: v.amax(dim=-1))
        pooled = torch.stack([reduce(z[:, :, w]) for w in self.windows], dim=2)  # (n, m, L)
        return (pooled * self.fc_weight.T.unsqueeze(0)).sum(dim=(1, 2)).unsqueeze(1)


class LinearCnn(torch.nn.Module):
    """conv (no activation) -> global sum/avg pooling or flatten -> linear."""

    def __init__(self, conv, fc_weight, head, pool):
        super().__init__()
        self.conv, self.head, self.pool = conv, head, pool
        self.register_buffer("fc_weight", fc_weight)  # (1, m) or (1, m * K)

    def forward(self, x):
        z = self.conv(x)
        if self.head == "fc":
            return z.flatten(1) @ self.fc_weight.T
        dims = tuple(range(2, z.dim()))
        z = z.sum(dim=dims) if self.pool == "sum" else z.mean(dim=dims)
        return z @ self.fc_weight.T


class ThreeLayerCnn(torch.nn.Module):
    """Sub-networks of two filters: conv -> ReLU -> mix the pair -> ReLU -> sum pool -> linear."""

    def __init__(self, conv, mix, fc_weight):
        super().__init__()
        self.conv = conv
        self.register_buffer("mix", mix)  # (m, 2)
        self.register_buffer("fc_weight", fc_weight)  # (1, m)

    def forward(self, x):
        if x.dim() == 2:  # (n, L) single-channel signals
            x = x.unsqueeze(1)
        z = torch.relu(self.conv(x)).flatten(2)  # (n, 2m, K), channels 2j, 2j+1 = unit j
        z = z.reshape(z.shape[0], -1, 2, z.shape[-1])  # (n, m, 2, K)
        mixed = torch.relu((z * self.mix[None, :, :, None]).sum(dim=2))  # (n, m, K)
        return mixed.sum(dim=2) @ self.fc_weight.T


class CircularCnn(torch.nn.Module):
    """f(x) = sum_j w_j relu(x . (a_j1 (*) ... (*) b_j)), circular convolutions via the DFT."""

    def __init__(self, a, b, w):
        super().__init__()
        self.register_buffer("a", a)  # (m, L - 2, d)
        self.register_buffer("b", b)  # (m, d)
        self.register_buffer("w", w)  # (m,)

    def forward(self, x):
        spec = torch.fft.fft(self.b) * torch.fft.fft(self.a, dim=-1).prod(dim=1)
        q = torch.fft.ifft(spec).real  # (m, d)
        return (torch.relu(x.reshape(x.shape[0], -1) @ q.T) @ self.w).unsqueeze(1)


def _conv(t, meta, bias):
    w = t["conv.weight"]
    m, c = w.shape[0], w.shape[1]
    nd = w.dim() - 2
    kernel, stride, padding = (_ints(meta[k])[-nd:] for k in ("kernel", "stride", "padding"))
    conv_cls = torch.nn.Conv1d if nd == 1 else torch.nn.Conv2d
    conv = conv_cls(
        c, m, tuple(kernel), stride=tuple(stride), padding=tuple(padding), bias=bias,
        dtype=torch.float64,
    )
    with torch.no_grad():
        conv.weight.copy_(w)
        if bias:
            conv.bias.copy_(t["conv.bias"])
    return conv


def build(t, meta, info=None):
    """Returns a float64 network from tensors `t` (name -> torch tensor) and the safetensors
    metadata `meta`; `info` is the parsed model.json (or None), returned unchanged.

    Two-layer models give `TwoLayerCnn`; local-pooling models (`arch = two-layer-local`)
    `LocalPoolCnn`; linear CNNs `LinearCnn`; three-layer CNNs `ThreeLayerCnn`; circular CNNs
    `CircularCnn`.
    """
    arch = meta.get("arch")
    if arch == "circular":
        return CircularCnn(t["a"], t["b"], t["w"]).eval()
    if arch == "three-layer":
        conv = _conv(t, meta, meta.get("bias") == "true")
        return ThreeLayerCnn(conv, t["mix.weight"], t["fc.weight"]).eval()
    if arch == "linear":
        return LinearCnn(_conv(t, meta, False), t["fc.weight"], meta["head"], meta["pool"]).eval()
    if arch == "two-layer-local":
        conv = _conv(t, meta, meta["bias"] == "true")
        windows = json.loads(meta["windows"])
        return LocalPoolCnn(conv, t["fc.weight"], windows, meta["pool"]).eval()
    if arch != "two-layer":
        raise ValueError(f"model.safetensors: unknown arch {arch!r}")
    fcw = t["fc.weight"]
    conv = _conv(t, meta, meta["bias"] == "true")
    fc = torch.nn.Linear(fcw.shape[1], fcw.shape[0], bias=False, dtype=torch.float64)
    with torch.no_grad():
        fc.weight.copy_(fcw)
    return TwoLayerCnn(conv, fc, meta["pool"]).eval()


def load(model_dir):
    """Returns (network, info): a float64 network (see `build`) and the parsed model.json (or
    None) of a directory written by `cvxcnn train` or `model.save`."""
    from safetensors import safe_open

    path = os.path.join(model_dir, "model.safetensors")
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
        t = {k: f.get_tensor(k) for k in f.keys()}
    info = None
    info_path = os.path.join(model_dir, "model.json")
    if os.path.exists(info_path):
        with open(info_path) as fh:
            info = json.load(fh)
    return build(t, meta, info), info


def normalize(x, info):
    """Applies the normalization recorded in model.json to x of shape (n, c, ...)."""
    if info is None or info["normalization"]["kind"] == "none":
        return x
    n = info["normalization"]
    shape = (1, -1) + (1,) * (x.dim() - 2)
    mean = torch.tensor(n["mean"], dtype=x.dtype).reshape(shape)
    std = torch.tensor(n["std"], dtype=x.dtype).reshape(shape)
    return (x - mean) / std
