"""Progress display of `verbose=True`: a tqdm bar per stage when tqdm is installed, else one
line per stage on stderr."""

from __future__ import annotations

import sys
from typing import Any, Optional


class Progress:
    """Receives the library's progress events: `("stage", name)`, `("progress", (done, total))`
    and `("iteration", {iter, objective, gap, ...})`."""

    def __init__(self) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - depends on the environment
            tqdm = None
        self._tqdm = tqdm
        self._bar: Optional[Any] = None

    def __call__(self, kind: str, payload: Any) -> None:
        if kind == "stage":
            self.close()
            if self._tqdm is not None:
                self._bar = self._tqdm(desc=str(payload), total=None, leave=False)
            else:
                print(f"cvxcnn: {payload}", file=sys.stderr, flush=True)
        elif kind == "progress" and self._bar is not None:
            done, total = payload
            self._bar.total = total
            self._bar.n = done
            self._bar.refresh()
        elif kind == "iteration":
            gap = payload.get("gap")
            text = f"objective {payload['objective']:.6e}" + ("" if gap is None else f", gap {gap:.2e}")
            if self._bar is not None:
                self._bar.update(1)
                self._bar.set_postfix_str(text)
            elif payload["iter"] % 10 == 0:
                print(f"cvxcnn: iteration {payload['iter']}: {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Closes the current bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
