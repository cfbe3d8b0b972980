"""Training throughput of nn_core against peers, side by side in one run.

The same MLP (64-256-256-10 ReLU) on scikit-learn's digits (all 1797 samples), Adam
(learning rate 1e-3), batch 128, 30 epochs, in float32 and float64, on 1 and 2 threads:

- nn_core: `MLPClassifier(hidden_sizes=(256, 256), epochs=30, batch_size=128, dtype=...).fit`
  with every other keyword at its default (standardisation included);
- PyTorch CPU (skipped with a message if torch is missing);
- scikit-learn's MLPClassifier (solver="adam", no early stopping);
- a minimal hand-written NumPy loop (forward, backward, Adam; nothing else).

Prints samples per second (median of `--repeats` interleaved rounds), ratios against nn_core,
and the achieved GEMM GFLOP/s (the MLP's matmul flops per second) against this machine's GEMM rate
measured with np.dot on the same shapes at the start of each round ("% GEMM" is the median over
rounds of run rate / that round's GEMM rate). Run it under the machine-wide lock:

    flock /tmp/bench.lock /work/venv/bin/python scripts/bench_nn.py

`--against DIR` adds a row for the nn_core of another checkout (say the commit before a
change: `git worktree add /tmp/nn_before HEAD~1`), interleaved with this one's in the same
process: each checkout's package is imported as module objects of its own and then taken out
of `sys.modules` (a run that imports nn_core lazily is refused, as it would mix the two), so
both meet the same process, allocator and machine drift. `--only-nn-core` leaves the peers out.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

SIZES = (64, 256, 256, 10)
BATCH = 128
EPOCHS = 30
LEARNING_RATE = 1e-3


def matmul_flops_per_sample() -> float:
    """Forward + weight gradients for every layer, input gradients for all but the first."""
    pairs = list(zip(SIZES[:-1], SIZES[1:], strict=True))
    forward = sum(2 * a * b for a, b in pairs)
    input_grads = sum(2 * a * b for a, b in pairs[1:])
    return 2 * forward + input_grads


def gemm_rate(dtype: np.dtype, seconds: float = 0.5) -> float:
    """GFLOP/s of np.dot on exactly the MLP's per-batch matmul shapes."""
    rng = np.random.default_rng(0)
    shapes = []
    for a, b in zip(SIZES[:-1], SIZES[1:], strict=True):
        shapes.append(((BATCH, a), (a, b)))  # forward
        shapes.append(((a, BATCH), (BATCH, b)))  # weight gradient
    for a, b in list(zip(SIZES[:-1], SIZES[1:], strict=True))[1:]:
        shapes.append(((BATCH, b), (b, a)))  # input gradient
    operands = [
        (rng.standard_normal(x).astype(dtype), rng.standard_normal(y).astype(dtype))
        for x, y in shapes
    ]
    flops = sum(2 * x[0] * x[1] * y[1] for x, y in shapes)
    outs = [np.empty((x.shape[0], y.shape[1]), dtype=dtype) for x, y in operands]
    repeats, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for (x, y), out in zip(operands, outs, strict=True):
            np.dot(x, y, out=out)
        repeats += 1
    return flops * repeats / (time.perf_counter() - start) / 1e9


def load() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data.astype(np.float64), bunch.target.astype(np.int64)


def standardized(X: np.ndarray, dtype: np.dtype) -> np.ndarray:
    std = X.std(axis=0)
    return ((X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(dtype)


def run_nn_core(X, y, dtype, threads, package=None):
    MLPClassifier = package.MLPClassifier if package is not None else nn_core_classifier()
    model = MLPClassifier(
        hidden_sizes=SIZES[1:-1], epochs=EPOCHS, batch_size=BATCH, dtype=np.dtype(dtype).name
    )
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start, model.score(X, y)


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
    finally:
        sys.path.remove(tree)
        for name in ours():
            del sys.modules[name]
        sys.modules.update(saved)
    return package


def nn_core_from(tree: str):
    """A runner timing `run_nn_core` with the nn_core of checkout `tree` (see the docstring)."""
    package = import_nn_core(tree)

    def run(X, y, dtype, threads):
        result = run_nn_core(X, y, dtype, threads, package)
        if any(name == "nn_core" or name.startswith("nn_core.") for name in sys.modules):
            raise SystemExit("nn_core was imported during a run: with --against the two "
                             "checkouts would mix")
        return result

    return run


def run_sklearn(X, y, dtype, threads):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    Xs = standardized(X, dtype)
    model = MLPClassifier(
        hidden_layer_sizes=SIZES[1:-1],
        solver="adam",
        batch_size=BATCH,
        max_iter=EPOCHS,
        learning_rate_init=LEARNING_RATE,
        n_iter_no_change=EPOCHS + 1,
        tol=0.0,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(Xs, y)
        elapsed = time.perf_counter() - start
    return elapsed, model.score(Xs, y)


def run_torch(X, y, dtype, threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    Xt = torch.from_numpy(standardized(X, dtype)).to(torch_dtype)
    yt = torch.from_numpy(y)
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.ReLU(inplace=True))
    model = torch.nn.Sequential(*layers).to(torch_dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(EPOCHS):
        order = torch.randperm(len(Xt), generator=generator)
        for begin in range(0, len(Xt), BATCH):
            index = order[begin : begin + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[index]), yt[index])
            loss.backward()
            optimizer.step()
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        accuracy = float((model(Xt).argmax(1) == yt).double().mean())
    return elapsed, accuracy


def run_minimal_numpy(X, y, dtype, threads):
    """Forward, backward, Adam: the least a NumPy MLP loop can do."""
    rng = np.random.default_rng(0)
    Xs = standardized(X, dtype)
    W = [
        (rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(dtype)
        for a, b in zip(SIZES[:-1], SIZES[1:], strict=True)
    ]
    B = [np.zeros(b, dtype=dtype) for b in SIZES[1:]]
    params = W + B
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    beta1, beta2, eps, t = 0.9, 0.999, 1e-8, 0
    n = len(Xs)
    start = time.perf_counter()
    for _ in range(EPOCHS):
        order = rng.permutation(n)
        for begin in range(0, n, BATCH):
            index = order[begin : begin + BATCH]
            xb, yb = Xs[index], y[index]
            activations = [xb]
            h = xb
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
                grads_w[i] = activations[i].T @ delta
                grads_b[i] = delta.sum(axis=0)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds (medians kept)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--against", metavar="DIR",
                        help="also time the nn_core of this checkout (see the docstring)")
    parser.add_argument("--only-nn-core", action="store_true", help="leave the peers out")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # rows appear as they are measured

    X, y = load()
    runners = {"nn_core": run_nn_core}
    if args.against:
        runners = {"nn_core": nn_core_from(str(Path(__file__).resolve().parents[1])),
                   "nn_core@other": nn_core_from(args.against)}
        print(f"nn_core@other: nn_core from {args.against}")
    if not args.only_nn_core:
        if torch_available():
            runners["pytorch"] = run_torch
        else:
            print("pytorch: not installed, skipped")
        runners["sklearn"] = run_sklearn
        runners["numpy_minimal"] = run_minimal_numpy
    flops = matmul_flops_per_sample()
    samples = len(X) * EPOCHS
    print(
        f"MLP {'-'.join(map(str, SIZES))} ReLU, digits ({len(X)} samples), Adam lr "
        f"{LEARNING_RATE}, batch {BATCH}, {EPOCHS} epochs; {flops / 1e6:.3f} MFLOP of matmul "
        f"per sample; median of {args.repeats} interleaved rounds"
    )
    header = (
        f"{'impl':<14}{'dtype':<9}{'thr':>4}{'samples/s':>12}{'x nn_core':>11}"
        f"{'GFLOP/s':>9}{'% GEMM':>8}{'train acc':>11}"
    )
    results: dict[tuple[str, str, int], float] = {}
    for dtype_name in args.dtypes:
        dtype = np.dtype(dtype_name).type
        for threads in args.threads:
            with threadpool_limits(threads):
                # Rounds interleave the implementations (and a GEMM measurement), so that
                # drift in the machine's speed hits every column alike; medians over rounds.
                for runner in runners.values():
                    runner(X[:256], y[:256], dtype, threads)  # warm-up (imports, caches)
                times: dict[str, list[float]] = {name: [] for name in runners}
                accuracy: dict[str, float] = {}
                peaks = []
                for round_number in range(args.repeats):
                    peaks.append(gemm_rate(np.dtype(dtype)))
                    order = list(runners.items())
                    if round_number % 2:  # alternate the order: no implementation always first
                        order.reverse()
                    for name, runner in order:
                        elapsed, accuracy[name] = runner(X, y, dtype, threads)
                        times[name].append(elapsed)
                peak = statistics.median(peaks)
                print(f"\n{dtype_name}, {threads} thread(s): np.dot on the MLP's shapes "
                      f"{peak:.1f} GFLOP/s (median; rounds {min(peaks):.1f}-{max(peaks):.1f})")
                print(header)
                for name in runners:
                    rate = samples / statistics.median(times[name])
                    results[(name, dtype_name, threads)] = rate
                    base = results[("nn_core", dtype_name, threads)]
                    achieved = rate * flops / 1e9
                    # The share pairs each run with the GEMM rate measured in the same round
                    # (the machine's speed drifts between rounds); median over rounds.
                    shares = [samples / t * flops / 1e9 / p
                              for t, p in zip(times[name], peaks, strict=True)]
                    share = statistics.median(shares)
                    results[("share", name, dtype_name, threads)] = (share, min(shares),
                                                                     max(shares))
                    print(
                        f"{name:<14}{dtype_name:<9}{threads:>4}{rate:>12,.0f}"
                        f"{rate / base:>11.2f}{achieved:>9.1f}{100 * share:>7.0f}%"
                        f"{accuracy[name]:>11.3f}"
                    )
                if "nn_core@other" in times:
                    # Paired per round: the drift between rounds cancels out.
                    pairs = [new / other for new, other in
                             zip(times["nn_core"], times["nn_core@other"], strict=True)]
                    print(f"nn_core time / nn_core@other time, per round: median "
                          f"{statistics.median(pairs):.3f} (rounds {min(pairs):.3f}-"
                          f"{max(pairs):.3f})")

    if args.only_nn_core:
        return
    print("\nTargets (float32):")
    for threads in args.threads:
        own = results.get(("nn_core", "float32", threads))
        if own is None:
            continue
        for peer, needed in (("pytorch", 1.2), ("sklearn", 1.5), ("numpy_minimal", 1.0)):
            other = results.get((peer, "float32", threads))
            if other is None:
                print(f"  nn_core / {peer} ({threads} thr): peer not run")
                continue
            verdict = "met" if own / other >= needed else "NOT met"
            ratio = own / other
            print(f"  nn_core / {peer} ({threads} thr) = {ratio:.2f} (>= {needed}): {verdict}")
    shares = results.get(("share", "nn_core", "float32", 1))
    if shares:
        share, low, high = shares
        verdict = "met" if share >= 0.6 else "NOT met"
        print(f"  nn_core share of GEMM rate (1 thr) = {100 * share:.0f}% (rounds "
              f"{100 * low:.0f}-{100 * high:.0f}%; >= 60%): {verdict}")


if __name__ == "__main__":
    main()
