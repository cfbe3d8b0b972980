"""Training throughput of nn_core against peers, side by side in one run.

Two parts, every run interleaved in rounds (alternating order) with medians kept:

1. The size grid (float32, 1 thread): synthetic 10-class data, N in {10k, 100k} rows, D in
   {64, 784} features, an MLP D-H-H-10 ReLU with H in {256, 1024}, batch in {128, 512}, Adam
   (learning rate 1e-3), 5 epochs at N = 10k and 2 at N = 100k (the first epochs are what a
   pruned trial pays). nn_core is the whole `MLPClassifier(...).fit` (standardisation
   included); PyTorch is the usual loop (Linear + ReLU, `Adam(fused=True)`, a permutation per
   epoch and an index gather per batch), standardising inside its timed region too, with the
   same minibatches per epoch as nn_core (a remainder under half a batch joins the last batch).
   Per cell: samples/s of both, their ratio, and nn_core's GEMM share, its matmul GFLOP/s
   against (a) np.dot on that cell's own matmul shapes, (b) np.dot (OpenBLAS) on 1024^3 and
   (c) torch.mm (MKL) on 1024^3, the machine's large-GEMM rates. Then the targets: >= 0.9x
   PyTorch in every cell, >= 1.2x in the geometric mean, a share of (b) >= 60% at batch 512
   and H = 1024.
2. Digits (64-256-256-10 on all 1797 samples, batch 128, 30 epochs; float32 and float64, 1 and
   2 threads): nn_core, PyTorch (fused Adam, same batches), scikit-learn's MLPClassifier and a
   minimal hand-written NumPy loop (forward, backward, Adam; nothing else).

The first line says which of nn_core's optional fast paths run (the `fast` extra, `pip install
"hpsearch[fast]"`: MKL's GEMM for large products, a numba Adam step; `NN_CORE_FAST=0` in the
environment keeps NumPy's). Run it under the machine-wide lock; `--quick` runs the N = 10k half
of the grid and float32 digits on 1 thread, one round each:

    flock /tmp/bench.lock /work/venv/bin/python scripts/bench_nn.py [--quick]

`--against DIR` adds a row for the nn_core of another checkout (say the commit before a
change: `git worktree add /tmp/nn_before HEAD~1`), interleaved with this one's in the same
process: each checkout's package is imported as module objects of its own and then taken out
of `sys.modules` (a run that imports nn_core lazily is refused, as it would mix the two), so
both meet the same process, allocator and machine drift. `--only-nn-core` leaves the peers out.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import math
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

LEARNING_RATE = 1e-3
CLASSES = 10


@dataclass(frozen=True)
class Workload:
    """An MLP (sizes: input, hidden..., output), its batch size and epochs."""

    sizes: tuple[int, ...]
    batch: int
    epochs: int

    @property
    def hidden(self) -> tuple[int, ...]:
        return self.sizes[1:-1]

    def matmul_shapes(self) -> list[tuple[int, int, int]]:
        """(m, k, n) of every matmul of one step of `batch` rows: forward and weight gradients
        for every layer, input gradients for all but the first."""
        pairs = list(itertools.pairwise(self.sizes))
        b = self.batch
        shapes = [(b, a, c) for a, c in pairs] + [(a, b, c) for a, c in pairs]
        return shapes + [(b, c, a) for a, c in pairs[1:]]

    def flops_per_sample(self) -> float:
        return sum(2 * m * k * n for m, k, n in self.matmul_shapes()) / self.batch


DIGITS = Workload((64, 256, 256, 10), 128, 30)


def batch_bounds(n: int, batch: int) -> list[tuple[int, int]]:
    """nn_core's minibatches of n rows: a remainder under half a batch joins the last one."""
    batch = min(batch, n)
    starts = list(range(0, n, batch))
    if len(starts) > 1 and n - starts[-1] < batch / 2:
        starts.pop()
    return list(zip(starts, [*starts[1:], n], strict=True))


# --- GEMM rates -----------------------------------------------------------------------------


def gemm_rate(shapes: list[tuple[int, int, int]], dtype, seconds: float = 0.3) -> float:
    """GFLOP/s of np.dot on the (m, k, n) shapes, each run in turn."""
    rng = np.random.default_rng(0)
    operands = [(rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(
        dtype), np.empty((m, n), dtype=dtype)) for m, k, n in shapes]
    flops = sum(2 * m * k * n for m, k, n in shapes)
    repeats, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a, b, out in operands:
            np.dot(a, b, out=out)
        repeats += 1
    return flops * repeats / (time.perf_counter() - start) / 1e9


def torch_gemm_rate(size: int = 1024, seconds: float = 0.5) -> float | None:
    """GFLOP/s of torch.mm (float32, the current thread count) on size^3; None without torch."""
    if not torch_available():
        return None
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    out = torch.empty(size, size)
    torch.mm(a, b, out=out)
    repeats, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b, out=out)
        repeats += 1
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


# --- the implementations: runner(work, X, y, dtype, threads) -> (seconds, train accuracy) ----


def run_nn_core(work, X, y, dtype, threads, package=None):
    MLPClassifier = package.MLPClassifier if package is not None else nn_core_classifier()
    model = MLPClassifier(hidden_sizes=work.hidden, epochs=work.epochs, batch_size=work.batch,
                          dtype=np.dtype(dtype).name)
    start = time.perf_counter()
    model.fit(X, y)
    elapsed = time.perf_counter() - start
    return elapsed, model.score(X[:5000], y[:5000])


def nn_core_classifier():
    from nn_core import MLPClassifier

    return MLPClassifier


def import_nn_core(tree: str):
    """nn_core imported from checkout `tree` as module objects of its own, then taken out of
    sys.modules so that another checkout's can be imported beside it."""

    def ours():
        return [name for name in sys.modules if name == "nn_core" or name.startswith("nn_core.")]

    saved = {name: sys.modules.pop(name) for name in ours()}
    sys.path.insert(0, tree)
    try:
        package = importlib.import_module("nn_core")
        if not Path(package.__file__).resolve().is_relative_to(Path(tree).resolve()):
            raise SystemExit(f"nn_core came from {package.__file__}, not {tree}")
        package.MLPClassifier  # noqa: B018 - loads nn_core.estimator (lazy) while it is ours
        fused = getattr(package, "fused", None)
        if fused is not None:  # numba imports a kernel's module by name when it compiles or
            for dtype in (np.float32, np.float64):  # loads it: do that now, while it is ours
                fused.adam_fused(np.zeros(4, dtype), np.ones(4, dtype), {})
    finally:
        sys.path.remove(tree)
        for name in ours():
            del sys.modules[name]
        sys.modules.update(saved)
    return package


def fast_paths(package) -> str:
    """Which of the optional fast paths (the `fast` extra: MKL's GEMM, the numba Adam step) an
    imported nn_core package runs."""
    blas, fused = getattr(package, "blas", None), getattr(package, "fused", None)
    adam = "numba" if fused is not None and fused.fused_available() else "numpy"
    return f"products {blas.BACKEND if blas is not None else 'numpy'}, Adam step {adam}"


def nn_core_from(tree: str):
    """A runner timing `run_nn_core` with the nn_core of checkout `tree` (see the docstring)."""
    package = import_nn_core(tree)
    print(f"nn_core from {tree}: {fast_paths(package)}")

    def run(work, X, y, dtype, threads):
        result = run_nn_core(work, X, y, dtype, threads, package)
        if any(name == "nn_core" or name.startswith("nn_core.") for name in sys.modules):
            raise SystemExit("nn_core was imported during a run: with --against the two "
                             "checkouts would mix")
        return result

    return run


def standardized(X: np.ndarray, dtype) -> np.ndarray:
    std = X.std(axis=0)
    return ((X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(dtype)


def run_torch(work, X, y, dtype, threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(work.sizes)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(work.sizes) - 2:
            layers.append(torch.nn.ReLU(inplace=True))
    model = torch.nn.Sequential(*layers).to(torch_dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, fused=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    bounds = batch_bounds(len(X), work.batch)
    start = time.perf_counter()
    Xt = torch.from_numpy(X).to(torch_dtype)  # standardised in the timed region, as fit does
    std, mean = torch.std_mean(Xt, dim=0, correction=0)
    Xt = (Xt - mean) / torch.where(std > 0, std, torch.ones_like(std))
    yt = torch.from_numpy(y)
    for _ in range(work.epochs):
        order = torch.randperm(len(Xt), generator=generator)
        for begin, end in bounds:
            index = order[begin:end]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[index]), yt[index])
            loss.backward()
            optimizer.step()
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        accuracy = float((model(Xt[:5000]).argmax(1) == yt[:5000]).double().mean())
    return elapsed, accuracy


def run_sklearn(work, X, y, dtype, threads):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    Xs = standardized(X, dtype)
    model = MLPClassifier(hidden_layer_sizes=work.hidden, solver="adam", batch_size=work.batch,
                          max_iter=work.epochs, learning_rate_init=LEARNING_RATE,
                          n_iter_no_change=work.epochs + 1, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(Xs, y)
        elapsed = time.perf_counter() - start
    return elapsed, model.score(Xs, y)


def run_minimal_numpy(work, X, y, dtype, threads):
    """Forward, backward, Adam: the least a NumPy MLP loop can do (nn_core's batches)."""
    rng = np.random.default_rng(0)
    Xs = standardized(X, dtype)
    W = [(rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(dtype)
         for a, b in itertools.pairwise(work.sizes)]
    B = [np.zeros(b, dtype=dtype) for b in work.sizes[1:]]
    params = W + B
    m, v = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    beta1, beta2, eps, t = 0.9, 0.999, 1e-8, 0
    bounds = batch_bounds(len(Xs), work.batch)
    start = time.perf_counter()
    for _ in range(work.epochs):
        order = rng.permutation(len(Xs))
        for begin, end in bounds:
            index = order[begin:end]
            xb, yb = Xs[index], y[index]
            activations, h = [xb], xb
            for i in range(len(W)):
                h = h @ W[i] + B[i]
                if i < len(W) - 1:
                    np.maximum(h, 0, out=h)
                    activations.append(h)
            h -= h.max(axis=1, keepdims=True)
            np.exp(h, out=h)
            h /= h.sum(axis=1, keepdims=True)
            h[np.arange(len(yb)), yb] -= 1
            delta = h / len(yb)
            grads_w, grads_b = [None] * len(W), [None] * len(W)
            for i in range(len(W) - 1, -1, -1):
                grads_w[i], grads_b[i] = activations[i].T @ delta, delta.sum(axis=0)
                if i > 0:
                    delta = delta @ W[i].T
                    delta *= activations[i] > 0
            t += 1
            step = LEARNING_RATE * np.sqrt(1 - beta2**t) / (1 - beta1**t)
            for p, g, mp, vp in zip(params, grads_w + grads_b, m, v, strict=True):
                mp *= beta1
                mp += (1 - beta1) * g
                vp *= beta2
                vp += (1 - beta2) * g * g
                p -= step * mp / (np.sqrt(vp) + eps)
    elapsed = time.perf_counter() - start
    h = Xs
    for i in range(len(W)):
        h = h @ W[i] + B[i]
        if i < len(W) - 1:
            np.maximum(h, 0, out=h)
    return elapsed, float(np.mean(h.argmax(axis=1) == y))


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# --- rounds -----------------------------------------------------------------------------------


def interleaved(runners: dict, work: Workload, X, y, dtype, threads: int, repeats: int,
                shapes_rate: bool = True) -> tuple[dict[str, list[float]], dict, list[float]]:
    """Times of every runner over `repeats` rounds (alternating order), their accuracies, and
    np.dot's rate on the workload's shapes measured at the start of each round."""
    for runner in runners.values():  # warm-up (imports, caches, first-touch pages)
        runner(Workload(work.sizes, work.batch, 1), X[:1024], y[:1024], dtype, threads)
    times: dict[str, list[float]] = {name: [] for name in runners}
    accuracy: dict[str, float] = {}
    rates = []
    for round_number in range(repeats):
        if shapes_rate:
            rates.append(gemm_rate(work.matmul_shapes(), dtype))
        order = list(runners.items())
        if round_number % 2:  # no implementation always first
            order.reverse()
        for name, runner in order:
            elapsed, accuracy[name] = runner(work, X, y, dtype, threads)
            times[name].append(elapsed)
    return times, accuracy, rates


def synthetic(n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """n rows of d standard-normal features (float64) and labels from a random linear map."""
    rng = np.random.default_rng(n + d)
    X = rng.standard_normal((n, d))
    return X, (X @ rng.standard_normal((d, CLASSES))).argmax(axis=1)


def paired(times: dict[str, list[float]], name: str, other: str) -> str:
    """The per-round time ratio name / other: the drift between rounds cancels out."""
    pairs = [a / b for a, b in zip(times[name], times[other], strict=True)]
    return (f"{name} time / {other} time per round: median {statistics.median(pairs):.3f} "
            f"(rounds {min(pairs):.3f}-{max(pairs):.3f})")


def run_grid(runners: dict, sizes_n: tuple[int, ...], repeats: int) -> None:
    """Part 1 of the module docstring: the grid, then its targets."""
    dtype = np.float32
    with threadpool_limits(1):
        large = gemm_rate([(1024, 1024, 1024)], dtype, seconds=1.0)
        mkl = torch_gemm_rate() if "pytorch" in runners else None
    mkl_text = f", torch.mm (MKL) {mkl:.0f}" if mkl else ""
    print(f"Grid: float32, 1 thread, Adam, MLP D-H-H-10 ReLU; median of {repeats} round(s). "
          f"Large GEMM (1024^3): np.dot (OpenBLAS) {large:.0f} GFLOP/s{mkl_text}")
    print(f"{'N':>7}{'D':>5}{'H':>6}{'batch':>6}{'ep':>3}{'nn_core/s':>11}"
          + "".join(f"{name + '/s':>13}" for name in runners if name != "nn_core")
          + f"{'nn/torch':>9}{'GFLOP/s':>8}{'%shape':>7}{'%np1024':>8}{'%mm1024':>8}")
    ratios, shares = [], []
    for n, d, h, batch in itertools.product(sizes_n, (64, 784), (256, 1024), (128, 512)):
        work = Workload((d, h, h, CLASSES), batch, 5 if n <= 10_000 else 2)
        X, y = synthetic(n, d)
        with threadpool_limits(1):
            times, _, rates = interleaved(runners, work, X, y, dtype, 1, repeats)
        rate = {name: n * work.epochs / statistics.median(t) for name, t in times.items()}
        achieved = rate["nn_core"] * work.flops_per_sample() / 1e9
        line = (f"{n:>7}{d:>5}{h:>6}{batch:>6}{work.epochs:>3}{rate['nn_core']:>11,.0f}"
                + "".join(f"{rate[name]:>13,.0f}" for name in runners if name != "nn_core"))
        if "pytorch" in rate:
            ratios.append(((n, d, h, batch), rate["nn_core"] / rate["pytorch"]))
            line += f"{ratios[-1][1]:>9.2f}"
        else:
            line += f"{'-':>9}"
        line += (f"{achieved:>8.0f}{100 * achieved / statistics.median(rates):>6.0f}%"
                 f"{100 * achieved / large:>7.0f}%"
                 + (f"{100 * achieved / mkl:>7.0f}%" if mkl else f"{'-':>8}"))
        print(line)
        if batch == 512 and h == 1024:
            shares.append(((n, d, h, batch), achieved / large))
    if ratios:
        worst = min(ratios, key=lambda item: item[1])
        geometric = math.exp(statistics.fmean(math.log(r) for _, r in ratios))
        print(f"  nn_core / pytorch: every cell >= 0.9: {'met' if worst[1] >= 0.9 else 'NOT met'}"
              f" (lowest {worst[1]:.2f} at N, D, H, batch = {worst[0]}); geometric mean "
              f"{geometric:.2f} (>= 1.2): {'met' if geometric >= 1.2 else 'NOT met'}")
    low = min(shares, key=lambda item: item[1])
    print(f"  GEMM share of np.dot 1024^3 at batch 512, H = 1024: lowest {100 * low[1]:.0f}% "
          f"at {low[0]} (>= 60%): {'met' if low[1] >= 0.6 else 'NOT met'}")


def run_digits(runners: dict, dtypes: list[str], threads_list: list[int], repeats: int) -> None:
    """Part 2 of the module docstring: digits with every implementation."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X, y = bunch.data.astype(np.float64), bunch.target.astype(np.int64)
    work = DIGITS
    print(f"\nDigits: MLP {'-'.join(map(str, work.sizes))} ReLU, {len(X)} samples, Adam lr "
          f"{LEARNING_RATE}, batch {work.batch} ({len(batch_bounds(len(X), work.batch))} steps "
          f"an epoch), {work.epochs} epochs; {work.flops_per_sample() / 1e6:.3f} MFLOP of "
          f"matmul per sample; median of {repeats} round(s)")
    samples = len(X) * work.epochs
    for dtype_name, threads in itertools.product(dtypes, threads_list):
        dtype = np.dtype(dtype_name).type
        with threadpool_limits(threads):
            times, accuracy, rates = interleaved(runners, work, X, y, dtype, threads, repeats)
        peak = statistics.median(rates)
        print(f"{dtype_name}, {threads} thread(s): np.dot on the MLP's shapes {peak:.1f} "
              f"GFLOP/s\n{'impl':<14}{'samples/s':>12}{'x nn_core':>11}{'GFLOP/s':>9}"
              f"{'% GEMM':>8}{'train acc':>11}")
        base = samples / statistics.median(times["nn_core"])
        for name in runners:
            rate = samples / statistics.median(times[name])
            achieved = rate * work.flops_per_sample() / 1e9
            print(f"{name:<14}{rate:>12,.0f}{rate / base:>11.2f}{achieved:>9.1f}"
                  f"{100 * achieved / peak:>7.0f}%{accuracy[name]:>11.3f}")
        if "nn_core@other" in times:
            print(paired(times, "nn_core", "nn_core@other"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="N = 10k grid and float32 1-thread digits, one round")
    parser.add_argument("--repeats", type=int, default=None,
                        help="interleaved rounds (medians kept); default 3, 1 with --quick")
    parser.add_argument("--threads", type=int, nargs="+", default=None)
    parser.add_argument("--dtypes", nargs="+", default=None)
    parser.add_argument("--part", choices=("grid", "digits", "both"), default="both")
    parser.add_argument("--against", metavar="DIR",
                        help="also time the nn_core of this checkout (see the docstring)")
    parser.add_argument("--only-nn-core", action="store_true", help="leave the peers out")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # rows appear as they are measured
    repeats = args.repeats or (1 if args.quick else 3)
    threads = args.threads or ([1] if args.quick else [1, 2])
    dtypes = args.dtypes or (["float32"] if args.quick else ["float32", "float64"])

    runners = {"nn_core": run_nn_core}
    if not args.against:
        import nn_core

        print(f"nn_core: {fast_paths(nn_core)}")
    else:
        runners = {"nn_core": nn_core_from(str(Path(__file__).resolve().parents[1])),
                   "nn_core@other": nn_core_from(args.against)}
        print(f"nn_core@other: nn_core from {args.against}")
    if not args.only_nn_core:
        if torch_available():
            runners["pytorch"] = run_torch
        else:
            print("pytorch: not installed, skipped")
    if args.part in ("grid", "both"):
        run_grid(runners, (10_000,) if args.quick else (10_000, 100_000), repeats)
    if args.part in ("digits", "both"):
        if not args.only_nn_core:
            runners.update(sklearn=run_sklearn, numpy_minimal=run_minimal_numpy)
        run_digits(runners, dtypes, threads, repeats)


if __name__ == "__main__":
    main()
