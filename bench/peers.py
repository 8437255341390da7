"""cvxcnn against the tools a user would pick instead, on the same data, network and objective.

Usage: python bench/peers.py CVXCNN_BINARY OUT_DIR [--quick] [--only=A,B,C]
(sections run are merged into OUT_DIR/results.json)

Three comparisons (each prints a table and goes into OUT_DIR/results.json):

A. The exact two-layer program on small 1-D instances: cvxcnn (exact enumeration + Clarabel in
   Rust) vs CVXPY + Clarabel on the same program. The patterns for CVXPY are enumerated here
   independently (filter size 2: the regions are the arcs between the hyperplanes' normals), so
   equal optima check both the enumeration and the solve.
B. The sampled classifier program at MNIST scale (cvxcnn, projected FISTA) vs PyTorch Adam and
   SGD on the same CNN (per-class filters, same β, summed squared loss + (β/2)‖θ‖², float64),
   and vs cvxcnn's own non-convex trainer: seconds for each to reach the target objective
   max(convex objective, best Adam objective).
C. Kernel = whole image (the CNN is a two-layer MLP) vs pyscnn on the same data and the same
   gate vectors (hence the same patterns): objective of each solution on cvxcnn's scale, its cone
   violation, and seconds. pyscnn scales its squared loss by 1/(2nc) for c outputs (its
   ConvexMLP `scaling` defaults to n·c), so its λ is β/(n·c) here: β/n for one output only.

Objectives are always ½ Σ (f − y)² + β Σ (convex) or + (β/2) Σ ‖θ‖² (networks), summed over
samples. Times are wall-clock seconds on this machine, each tool with its default threads.
"""

import gzip
import json
import os
import struct
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{r.stderr}")
    return r.stdout, time.perf_counter() - t


def mnist():
    """The 3,000 digits embedded in cvxcnn (data/), as floats in [0, 1]."""
    with gzip.open(os.path.join(ROOT, "data/mnist-subset-images-idx3-ubyte.gz")) as f:
        _, n, h, w = struct.unpack(">IIII", f.read(16))
        x = np.frombuffer(f.read(), dtype=np.uint8).reshape(n, 1, h, w) / 255.0
    with gzip.open(os.path.join(ROOT, "data/mnist-subset-labels-idx1-ubyte.gz")) as f:
        struct.unpack(">II", f.read(8))
        y = np.frombuffer(f.read(), dtype=np.uint8).astype(np.int64)
    return x, y


# --------------------------------------------------------------------------------------------
# A. exact program vs CVXPY + Clarabel


def patches_1d(x, k):
    """Stacked patch matrix, row k*n + t = patch k of sample t (cvxcnn's layout)."""
    n, length = x.shape
    positions = length - k + 1
    return np.concatenate([x[:, p : p + k] for p in range(positions)], axis=0), positions


def exact_patterns_h2(m):
    """All sign patterns 1[M u >= 0] of the open regions of a central arrangement in R^2."""
    rows = m[np.linalg.norm(m, axis=1) > 0]
    phi = np.arctan2(rows[:, 1], rows[:, 0])
    bounds = np.sort(np.unique(np.mod(np.concatenate([phi + np.pi / 2, phi - np.pi / 2]), 2 * np.pi)))
    mids = (bounds + np.roll(bounds, -1) + np.where(np.arange(len(bounds)) == len(bounds) - 1, 2 * np.pi, 0)) / 2
    u = np.stack([np.cos(mids), np.sin(mids)])
    d = (m @ u >= 0).T
    return np.unique(d, axis=0)


def cvxpy_exact(x, y, k, beta):
    import cvxpy as cp

    n = x.shape[0]
    m, positions = patches_1d(x, k)
    pats = exact_patterns_h2(m)
    h = m.shape[1]
    f = 0
    cons = []
    pen = 0
    for d in pats:
        c1 = cp.Variable(h)
        c2 = cp.Variable(h)
        a = np.zeros((n, h))
        for p in range(positions):
            a += d[p * n : (p + 1) * n, None] * m[p * n : (p + 1) * n]
        if not np.any(a):
            continue
        f = f + a @ (c1 - c2)
        s = (2.0 * d - 1.0)[:, None] * m
        cons += [s @ c1 >= 0, s @ c2 >= 0]
        pen = pen + cp.norm(c1, 2) + cp.norm(c2, 2)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(f - y) + beta * pen), cons)
    t = time.perf_counter()
    # The tolerance cvxcnn's interior point uses (its refit on the support then goes to 1e-12).
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-9, tol_gap_rel=1e-9, tol_feas=1e-9)
    total = time.perf_counter() - t
    return prob.value, total, prob.solver_stats.solve_time, len(pats)


def bench_exact(binary, out, quick):
    rows = []
    sizes = [(10, 8), (20, 10), (40, 10)] if not quick else [(8, 6)]
    for n, length in sizes:
        rng = np.random.default_rng(n)
        x = rng.normal(size=(n, length))
        y = rng.normal(size=n)
        beta, k = 0.1, 2
        data = os.path.join(out, f"exact_{n}.npz")
        np.savez(data, x=x, y=y)
        dest = os.path.join(out, f"exact_{n}")
        _, wall = run([binary, "train", "--allow-unconverged", "--data", data, "--kernel", str(k), "--beta", str(beta),
                       "--patterns", "exact", "--quiet", "--out", dest])
        rep = json.load(open(os.path.join(dest, "report.json")))
        obj, tot, solve, npat = cvxpy_exact(x, y, k, beta)
        rows.append({
            "n": n, "length": length, "kernel": k, "beta": beta,
            "patterns_cvxcnn": rep["patterns"], "patterns_python": int(npat),
            "cvxcnn_objective": rep["objective"], "cvxpy_objective": obj,
            "relative_difference": abs(rep["objective"] - obj) / abs(obj),
            "cvxcnn_seconds": rep["seconds"], "cvxcnn_wall_seconds": wall,
            "cvxpy_seconds": tot, "clarabel_solve_seconds": solve,
            "speedup": tot / rep["seconds"],
        })
    print("\nA. exact program: cvxcnn vs CVXPY + Clarabel")
    print(f"{'n':>4} {'L':>4} {'patterns':>9} {'cvxcnn obj':>14} {'cvxpy obj':>14} {'rel diff':>9} "
          f"{'cvxcnn s':>9} {'cvxpy s':>9} {'ratio':>7}")
    for r in rows:
        print(f"{r['n']:>4} {r['length']:>4} {r['patterns_cvxcnn']:>9} {r['cvxcnn_objective']:>14.8f} "
              f"{r['cvxpy_objective']:>14.8f} {r['relative_difference']:>9.1e} {r['cvxcnn_seconds']:>9.3f} "
              f"{r['cvxpy_seconds']:>9.3f} {r['speedup']:>6.1f}x")
    return rows


# --------------------------------------------------------------------------------------------
# B. sampled program at MNIST scale vs PyTorch Adam / SGD


def torch_cnn_runs(xtr, ytr, beta, kernel, stride, width, epochs, batch, optim, lr, seed):
    import torch

    torch.manual_seed(seed)
    torch.set_default_dtype(torch.float64)
    n, classes = ytr.shape
    conv = torch.nn.Conv2d(1, classes * width, kernel, stride=stride, bias=True)
    h = kernel * kernel + 1
    with torch.no_grad():
        conv.weight.normal_(0.0, 1.0 / np.sqrt(h))
        conv.bias.normal_(0.0, 1.0 / np.sqrt(h))
    w = torch.nn.Parameter(torch.randn(classes * width) / np.sqrt(width))
    params = [conv.weight, conv.bias, w]
    x = torch.from_numpy(xtr)
    y = torch.from_numpy(ytr)

    def forward(xb):
        p = torch.relu(conv(xb)).sum(dim=(2, 3)) * w
        return p.reshape(xb.shape[0], classes, width).sum(dim=2)

    def objective():
        with torch.no_grad():
            f = forward(x)
            reg = sum((q * q).sum() for q in params)
            return float(0.5 * ((f - y) ** 2).sum() + 0.5 * beta * reg)

    cls = torch.optim.Adam if optim == "adam" else torch.optim.SGD
    kw = {"lr": lr, "weight_decay": beta / n}
    if optim == "sgd":
        kw["momentum"] = 0.9
    opt = cls(params, **kw)
    hist = [(0.0, objective())]
    elapsed = 0.0
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        t = time.perf_counter()
        perm = torch.randperm(n, generator=g)
        for i in range(0, n, batch):
            idx = perm[i : i + batch]
            opt.zero_grad()
            loss = 0.5 * ((forward(x[idx]) - y[idx]) ** 2).sum() / len(idx)
            loss.backward()
            opt.step()
        elapsed += time.perf_counter() - t
        hist.append((elapsed, objective()))
    return hist


def first_time(hist, target):
    for t, v in hist:
        if v <= target:
            return t
    return None


def bench_mnist(binary, out, quick, threads):
    import torch

    x, y = mnist()
    n = 600 if quick else 2400
    xtr, ytr = x[:n], y[:n]
    mean, std = xtr.mean(), xtr.std()
    xtr = (xtr - mean) / std
    data = os.path.join(out, "mnist_train.npz")
    np.savez(data, x=xtr, y=ytr)
    # beta_max is about 3.5e3 at n = 2400 (cvxcnn train --beta path:2 prints 0.9 beta_max first).
    beta, kernel, stride, draws = (100.0 if quick else 50.0), 7, 7, 40
    tl = "20" if quick else "120"
    dest = os.path.join(out, "mnist_convex")
    run([binary, "train", "--allow-unconverged", "--data", data, "--kernel", str(kernel), "--stride", str(stride),
         "--patterns", f"sample:{draws}", "--beta", str(beta), "--test-fraction", "0",
         "--fresh", "0", "--certificate-budget", "10", "--max-iter", "100000",
         "--time-limit", tl, "--quiet", "--out", dest])
    rep = json.load(open(os.path.join(dest, "report.json")))
    o = rep.get("outcome", rep)  # report version 2: one schema, no nesting
    convex_obj = o["objective"]
    prep = o["timings"]["patterns"] + o["timings"]["operator"]
    cvx_hist = [(prep + h["seconds"], h["objective"]) for h in rep["solver_history"]
                if h["violation"] <= 1e-6]
    cvx_hist.append((o["seconds"], convex_obj))
    classes = 10
    yoh = np.eye(classes)[ytr]
    width = 8
    epochs = 3 if quick else 30
    torch.set_num_threads(threads)
    runs = {}
    for optim, lr in [("adam", 1e-2), ("sgd", 3e-4)]:
        runs[optim] = torch_cnn_runs(xtr, yoh, beta, kernel, stride, width, epochs, 64, optim, lr, 0)
    # cvxcnn's own non-convex trainer on the same data and objective.
    cmp_dest = os.path.join(out, "mnist_compare")
    run([binary, "compare", "--data", data, "--kernel", str(kernel), "--stride", str(stride),
         "--patterns", "sample:2", "--beta", str(beta), "--test-fraction", "0", "--fresh", "0",
         "--max-iter", "1", "--certificate-budget", "1", "--restarts", "1",
         "--optimizer", "adam", "--width", str(width), "--epochs", str(epochs),
         "--quiet", "--out", cmp_dest])
    cmp = json.load(open(os.path.join(cmp_dest, "compare.json")))
    for r in cmp["runs"]:
        runs[f"cvxcnn-{r['optimizer']}"] = [(h["seconds"], h["objective"]) for h in r["history"]]
    run([binary, "compare", "--data", data, "--kernel", str(kernel), "--stride", str(stride),
         "--patterns", "sample:2", "--beta", str(beta), "--test-fraction", "0", "--fresh", "0",
         "--max-iter", "1", "--certificate-budget", "1", "--restarts", "1",
         "--optimizer", "sgd", "--lr", "3e-4", "--width", str(width), "--epochs", str(epochs),
         "--quiet", "--out", cmp_dest])
    cmp = json.load(open(os.path.join(cmp_dest, "compare.json")))
    for r in cmp["runs"]:
        runs[f"cvxcnn-{r['optimizer']}"] = [(h["seconds"], h["objective"]) for h in r["history"]]
    best_adam = min(v for _, v in runs["adam"])
    target = max(convex_obj, best_adam)
    res = {
        "n": n, "beta": beta, "kernel": kernel, "stride": stride, "patterns": o["patterns"],
        "width_per_class": width, "epochs": epochs, "batch": 64,
        "convex_objective": convex_obj, "convex_seconds": o["seconds"],
        "convex_relative_gap": o["relative_gap"], "convex_filters": o["filters"],
        "target": target, "convex_time_to_target": first_time(cvx_hist, target),
        "runs": {},
    }
    for k, hist in runs.items():
        res["runs"][k] = {
            "final_objective": hist[-1][1], "best_objective": min(v for _, v in hist),
            "seconds": hist[-1][0], "time_to_target": first_time(hist, target),
            "seconds_per_epoch": hist[-1][0] / max(1, len(hist) - 1),
        }
    print(f"\nB. MNIST {n} digits, kernel {kernel} stride {stride}, beta {beta}: target objective "
          f"{target:.6e} (convex {convex_obj:.6e}, best torch Adam {best_adam:.6e})")
    print(f"{'method':>14} {'final obj':>14} {'s/epoch':>9} {'to target':>10}")
    print(f"{'cvxcnn convex':>14} {convex_obj:>14.6e} {'':>9} "
          f"{res['convex_time_to_target'] if res['convex_time_to_target'] is not None else float('nan'):>10.2f}")
    for k, r in res["runs"].items():
        tt = r["time_to_target"]
        print(f"{k:>14} {r['final_objective']:>14.6e} {r['seconds_per_epoch']:>9.3f} "
              f"{('%.2f' % tt) if tt is not None else 'not reached':>10}")
    return res


# --------------------------------------------------------------------------------------------
# C. whole-image kernel vs pyscnn


def bench_pyscnn(binary, out, quick):
    x, y = mnist()
    n = 300 if quick else 500
    p = 20 if quick else 30
    pyscnn_limit = 300 if quick else 1200
    xtr = x[:n]
    xf = xtr.reshape(n, -1)
    d = xf.shape[1]
    classes = 10
    yoh = np.eye(classes)[y[:n]]
    # beta_max is about 268 here (cvxcnn train --beta path:2 prints 0.9 beta_max first): beta is
    # beta_max/27, where first-order methods converge in reasonable time.
    beta = 10.0
    rng = np.random.default_rng(0)
    gates = rng.normal(size=(d, p))
    np.save(os.path.join(out, "gates.npy"), gates.T.copy())
    data = os.path.join(out, "mlp_train.npz")
    np.savez(data, x=xtr, y=y[:n].astype(np.int64))
    dest = os.path.join(out, "mlp_convex")
    tl = "30" if quick else "60"
    _, wall = run([binary, "train", "--allow-unconverged", "--data", data, "--kernel", "28", "--stride", "28", "--no-bias",
                   "--patterns", "gates:" + os.path.join(out, "gates.npy"), "--beta", str(beta),
                   "--test-fraction", "0", "--fresh", "0", "--max-iter", "100000",
                   "--time-limit", tl, "--certificate-budget", "30", "--quiet", "--out", dest])
    rep = json.load(open(os.path.join(dest, "report.json")))
    o = rep.get("outcome", rep)  # report version 2: one schema, no nesting

    np.save(os.path.join(out, "mlp_x.npy"), xf)
    np.save(os.path.join(out, "mlp_y.npy"), yoh)
    child = f"""
import json, time, numpy as np
from scnn.models import ConvexReLU
from scnn.optimize import optimize_model
from scnn.regularizers import NeuronGL1
from scnn.solvers import AL
from scnn.metrics import Metrics
xf = np.load({os.path.join(out, 'mlp_x.npy')!r}); yoh = np.load({os.path.join(out, 'mlp_y.npy')!r})
gates = np.load({os.path.join(out, 'gates.npy')!r}).T.copy()
model = ConvexReLU(gates, c={classes})
t = time.perf_counter()
model, _ = optimize_model(model, AL(model), Metrics(), xf, yoh, regularizer=NeuronGL1({beta} / ({n} * {classes})),
                          return_convex=True, unitize_data=False, dtype="float64")
secs = time.perf_counter() - t
np.save({os.path.join(out, 'pyscnn_v.npy')!r}, model.parameters[0])
np.save({os.path.join(out, 'pyscnn_w.npy')!r}, model.parameters[1])
np.save({os.path.join(out, 'pyscnn_g.npy')!r}, model.G)
print(json.dumps({{"seconds": secs}}))
"""
    try:
        r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                           timeout=pyscnn_limit)
        if r.returncode != 0:
            sys.exit(f"pyscnn failed:\n{r.stderr}")
        secs = json.loads(r.stdout.strip().splitlines()[-1])["seconds"]
        finished = True
    except subprocess.TimeoutExpired:
        secs, finished = None, False
    obj = viol = scale = float("nan")
    if finished:
        v = np.load(os.path.join(out, "pyscnn_v.npy"))
        w = np.load(os.path.join(out, "pyscnn_w.npy"))
        # pyscnn drops duplicate and all-zero patterns and returns the gates it kept.
        g = np.load(os.path.join(out, "pyscnn_g.npy"))
        dmask = (xf @ g > 0).astype(np.float64)  # n x p
        f = np.zeros((n, classes))
        viol = 0.0
        for c in range(classes):
            zv = xf @ v[c].T  # n x p
            zw = xf @ w[c].T
            f[:, c] = (dmask * (zv - zw)).sum(axis=1)
            s = 2 * dmask - 1
            viol = max(viol, float(np.max(np.maximum(-s * zv, 0))), float(np.max(np.maximum(-s * zw, 0))))
        scale = max(1e-300, float(np.max(np.abs(xf @ np.concatenate([v.reshape(-1, d), w.reshape(-1, d)]).T))))
        pen = np.linalg.norm(v, axis=2).sum() + np.linalg.norm(w, axis=2).sum()
        obj = 0.5 * ((f - yoh) ** 2).sum() + beta * pen
    res = {
        "n": n, "d": d, "gates": p, "patterns": o["patterns"], "beta": beta, "lambda_pyscnn": beta / (n * classes),
        "cvxcnn_objective": o["objective"], "cvxcnn_violation": 0.0,
        "cvxcnn_relative_gap": o["relative_gap"],
        "cvxcnn_seconds": o["seconds"], "cvxcnn_wall_seconds": wall,
        "pyscnn_objective": obj, "pyscnn_relative_violation": viol / scale,
        "pyscnn_seconds": secs, "pyscnn_finished": finished, "pyscnn_time_limit": pyscnn_limit,
        "objective_ratio": obj / o["objective"],
        "time_ratio": (secs / o["seconds"]) if finished else None,
    }
    print(f"\nC. kernel = whole image (two-layer MLP), n = {n}, d = {d}, {p} gates, beta {beta}")
    print(f"{'tool':>8} {'objective':>14} {'violation':>10} {'seconds':>9}")
    print(f"{'cvxcnn':>8} {o['objective']:>14.6e} {'0 (proj.)':>10} {o['seconds']:>9.2f}")
    if finished:
        print(f"{'pyscnn':>8} {obj:>14.6e} {viol / scale:>10.1e} {secs:>9.2f}")
    else:
        print(f"{'pyscnn':>8} did not finish within {pyscnn_limit} s")
    return res


def main():
    binary, out = sys.argv[1], sys.argv[2]
    quick = "--quick" in sys.argv
    os.makedirs(out, exist_ok=True)
    threads = os.cpu_count() or 1
    import platform

    results = {
        "machine": {"cpus": threads, "platform": platform.platform()},
        "quick": quick,
    }
    only = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--only=")), "A,B,C")
    path = os.path.join(out, "results.json")
    if os.path.exists(path):
        results = {**json.load(open(path)), **results}
    if "A" in only:
        results["exact_vs_cvxpy"] = bench_exact(binary, out, quick)
    if "B" in only:
        results["mnist_vs_torch"] = bench_mnist(binary, out, quick, threads)
    if "C" in only:
        results["mlp_vs_pyscnn"] = bench_pyscnn(binary, out, quick)
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nwritten {os.path.join(out, 'results.json')}")


if __name__ == "__main__":
    main()
