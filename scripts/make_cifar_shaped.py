#!/usr/bin/env python3
"""Write a synthetic batch in the CIFAR-10 binary format (one label byte, then 3×32×32 pixel
bytes, per record) to exercise the pipeline on CIFAR-shaped inputs: dense, positive pixels and
wide filters. It is NOT CIFAR: pixels are seeded uniform noise, and the class shows as a darker
band of 300 bytes at an offset that depends on the label, so the classes are separable.

Usage (needs numpy):
    python scripts/make_cifar_shaped.py /tmp/cifar_shaped.bin [N]   # N records, default 10,000
"""
import sys

import numpy as np


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else "cifar_shaped.bin"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    pixels = rng.integers(0, 256, (n, 3072)).astype(np.uint8)
    for c in range(10):
        pixels[labels == c, c * 300 : c * 300 + 300] //= 2
    np.concatenate([labels[:, None], pixels], axis=1).tofile(out)
    print(f"{out}: {n} records of 1 + 3072 bytes")


if __name__ == "__main__":
    main()
