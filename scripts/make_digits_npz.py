#!/usr/bin/env python3
"""Write scikit-learn's 8×8 digits (1,797 images, 10 classes; shipped with the scikit-learn
package) as an `.npz` that `cvxcnn train --data` and `cvxcnn compare --data` read: `x` of shape
(n, 1, 8, 8), float64 pixels scaled to [0, 1] (the package's 0–16 divided by 16), `y` int64
labels 0–9.

Usage (needs numpy and scikit-learn, e.g. in a venv):
    python scripts/make_digits_npz.py /tmp/digits.npz
"""
import sys

import numpy as np
from sklearn.datasets import load_digits


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else "digits.npz"
    d = load_digits()
    x = (d.images.astype(np.float64) / 16.0)[:, None, :, :]
    y = d.target.astype(np.int64)
    np.savez(out, x=x, y=y)
    print(f"{out}: x {x.shape}, y {y.shape}, classes {sorted(set(y.tolist()))}")


if __name__ == "__main__":
    main()
