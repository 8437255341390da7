"""The PyTorch counterpart of `cargo bench --bench nonconvex`: one Adam step of the same
network (batch 128 of 3x32x32, 3x3 conv with bias and padding 1, 30 filters feeding 10 outputs
through per-filter weights, average pooling, squared loss), float64 and float32.

Usage: bench/.venv/bin/python bench/torch_step.py [THREADS]
"""

import sys
import time

import torch


def step_time(dtype, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.randn(128, 3, 32, 32, dtype=dtype)
    y = torch.nn.functional.one_hot(torch.arange(128) % 10, 10).to(dtype)
    conv = torch.nn.Conv2d(3, 30, 3, padding=1, bias=True, dtype=dtype)
    w = torch.nn.Parameter(torch.randn(30, dtype=dtype) / 3 ** 0.5)
    opt = torch.optim.Adam([conv.weight, conv.bias, w], lr=1e-3, weight_decay=1e-4)

    def step():
        opt.zero_grad()
        p = torch.relu(conv(x)).mean(dim=(2, 3)) * w
        f = p.reshape(128, 10, 3).sum(dim=2)
        loss = 0.5 * ((f - y) ** 2).sum() / 128
        loss.backward()
        opt.step()

    for _ in range(10):
        step()
    reps = 50
    t = time.perf_counter()
    for _ in range(reps):
        step()
    return (time.perf_counter() - t) / reps


if __name__ == "__main__":
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads()
    for dt in (torch.float64, torch.float32):
        print(f"torch {torch.__version__} {dt} threads {threads}: {1e3 * step_time(dt, threads):.2f} ms/step")
