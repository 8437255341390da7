"""Estimator parameters -> the library's settings (the JSON object `cvxcnn::settings::Settings`
reads; absent fields take the command line's defaults)."""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional, Sequence, Union

Geometry = Union[int, str, Sequence[int], None]


def _pair(name: str, v: Geometry) -> Optional[str]:
    """`3`, `(3, 5)`, `"3x5"` -> `"3"`, `"3x5"`; None stays None."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, (int,)) and not isinstance(v, bool):
        return str(v)
    try:
        parts = [int(p) for p in v]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected an int, a pair of ints or 'KxL', got {v!r}") from None
    if len(parts) not in (1, 2):
        raise ValueError(f"{name}: expected one or two numbers, got {v!r}")
    return "x".join(str(p) for p in parts)


def _beta(v: Any) -> Optional[str]:
    """`0.1`, `[1, 0.5]`, `"path:10"` -> the command line's text (full precision)."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return repr(float(v))
    try:
        return ",".join(repr(float(b)) for b in v)
    except (TypeError, ValueError):
        raise ValueError(f"beta: expected a number, a list of numbers or 'path:N', got {v!r}") from None


def _patterns(v: Any) -> Optional[str]:
    """`"exact"`, `"sample:40"`, or an int N (= `sample:N`)."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return f"sample:{v}"
    raise ValueError(f"patterns: expected 'exact', 'sample:N', 'data:N' or an int, got {v!r}")


CHOICES = {
    "architecture": ("two-layer", "linear", "circular", "three-layer"),
    "pool": ("sum", "avg", "max"),
    "head": (None, "pool", "l1", "fc", "shared"),
    "also": (None, "two-layer"),
    "solver": (None, "ipm", "al", "gated", "proj", "cg"),
    "loss": ("squared", "ce"),
    "normalize": ("none", "standardize"),
}


def settings_json(p: Mapping[str, Any], *, classifier_defaults: bool = False) -> str:
    """The settings of the estimator parameters `p` as JSON (keys named as the CLI's flags)."""
    for key, allowed in CHOICES.items():
        if key in p and p[key] not in allowed:
            shown = ", ".join(repr(a) for a in allowed)
            raise ValueError(f"{key}: {p[key]!r} is not one of {shown}")
    s: dict[str, Any] = {
        "arch": p.get("architecture", "two-layer"),
        "pool": p.get("pool", "sum"),
        "layers": int(p.get("layers", 3)),
        "path_norm": bool(p.get("path_norm", False)),
        "padding": _pair("padding", p.get("padding", 0)) or "0",
        "seed": int(p.get("seed", 0)),
        "loss": p.get("loss", "squared"),
        "normalize": p.get("normalize", "none"),
        "fresh": int(p.get("fresh", 200)),
        "certificate_budget": float(p.get("certificate_budget", 30.0)),
        "polish_rounds": int(p.get("polish_rounds", 40)),
        "pattern_rounds": int(p.get("pattern_rounds", 0)),
        "no_prune": not bool(p.get("prune", True)),
        "max_exact": int(p.get("max_exact", 2_000_000)),
        "test_fraction": float(p.get("test_fraction", 0.0)),
    }
    # Left out when None: the library's defaults then apply (they depend on the solver).
    for key, kind in (("max_iter", int), ("inner_iter", int), ("tol", float)):
        if p.get(key) is not None:
            s[key] = kind(p[key])
    if p.get("time_limit") is not None:
        s["time_limit"] = float(p["time_limit"])
    if p.get("max_memory") is not None:
        s["max_memory"] = str(p["max_memory"])
    for key in ("also", "head", "solver"):
        if p.get(key) is not None:
            s[key] = p[key]
    if p.get("windows") is not None:
        s["windows"] = int(p["windows"])
    kernel, stride = _pair("kernel", p.get("kernel")), _pair("stride", p.get("stride"))
    if kernel is not None:
        s["kernel"] = kernel
    if stride is not None:
        s["stride"] = stride
    bias = p.get("bias")
    if bias is True:
        s["bias"] = True
    elif bias is False:
        s["no_bias"] = True
    beta, patterns = _beta(p.get("beta")), _patterns(p.get("patterns"))
    if beta is not None:
        s["beta"] = beta
    if patterns is not None:
        s["patterns"] = patterns
    for key in ("layers", "max_iter", "inner_iter", "fresh", "max_exact", "polish_rounds",
                "pattern_rounds"):
        if key in s and s[key] < 0:
            raise ValueError(f"{key}: must not be negative, got {s[key]}")
    return json.dumps(s)
