"""Multi-objective search: hpsearch's strategies against Optuna's own samplers, side by side.

Problems, from their published definitions (all minimised; reference points for the
hypervolume in brackets):
- ZDT1, ZDT2, ZDT3 (Zitzler, Deb and Thiele, 2000) with n = 6 variables in [0, 1]:
  f1 = x1, g = 1 + 9 / (n - 1) * sum(x2..xn), f2 = g * h(f1, g) with h = 1 - sqrt(f1 / g)
  (ZDT1), 1 - (f1 / g)^2 (ZDT2), 1 - sqrt(f1 / g) - (f1 / g) sin(10 pi f1) (ZDT3)
  [reference (1.1, 11)].
- DTLZ2 (Deb, Thiele, Laumanns and Zitzler, 2002) with M = 3 objectives and n = 6 variables
  (k = n - M + 1 = 4): g = sum((x_i - 0.5)^2, i >= M), f1 = (1 + g) cos(x1 pi/2) cos(x2 pi/2),
  f2 = (1 + g) cos(x1 pi/2) sin(x2 pi/2), f3 = (1 + g) sin(x1 pi/2) [reference (2.5, 2.5, 2.5)].

Methods: gp (ParEGO), tpe (Optuna's multi-objective TPE through our adapter), nsga2 (Optuna's
NSGA-II through our adapter, population 20), random, and Optuna itself: optuna_nsga2
(NSGAIISampler defaults) and optuna_tpe (TPESampler defaults). Each run evaluates `budget`
points; the script prints the median (and quartiles) over seeds of the hypervolume after 50 and
100 evaluations, computed exactly (`hp.hypervolume`), and seconds per run.

    flock /tmp/bench.lock python scripts/bench_multiobjective.py            # 10 seeds
    python scripts/bench_multiobjective.py --seeds 3 --methods gp,random --problems zdt1
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np

from hpsearch.pareto import hypervolume
from hpsearch.space import Float, Space
from hpsearch.strategies import make_strategy
from hpsearch.trial import FrozenTrial, TrialState

N_VARIABLES = 6


def _x(params: dict) -> np.ndarray:
    return np.array([params[f"x{i}"] for i in range(N_VARIABLES)])


def zdt(kind: int) -> Callable[[dict], tuple[float, ...]]:
    def f(params: dict) -> tuple[float, float]:
        x = _x(params)
        f1 = x[0]
        g = 1 + 9 / (len(x) - 1) * x[1:].sum()
        ratio = f1 / g
        h = {1: 1 - np.sqrt(ratio), 2: 1 - ratio ** 2,
             3: 1 - np.sqrt(ratio) - ratio * np.sin(10 * np.pi * f1)}[kind]
        return float(f1), float(g * h)

    return f


def dtlz2(params: dict) -> tuple[float, float, float]:
    x = _x(params)
    g = float(((x[2:] - 0.5) ** 2).sum())
    a, b = x[0] * np.pi / 2, x[1] * np.pi / 2
    return ((1 + g) * np.cos(a) * np.cos(b), (1 + g) * np.cos(a) * np.sin(b),
            (1 + g) * np.sin(a))


PROBLEMS: dict[str, tuple[Callable, tuple[float, ...]]] = {
    "zdt1": (zdt(1), (1.1, 11.0)),
    "zdt2": (zdt(2), (1.1, 11.0)),
    "zdt3": (zdt(3), (1.1, 11.0)),
    "dtlz2": (dtlz2, (2.5, 2.5, 2.5)),
}
OURS = ("gp", "tpe", "nsga2", "random")
PEERS = ("optuna_nsga2", "optuna_tpe")
CHECKPOINTS = (50, 100)


def space() -> Space:
    return Space({f"x{i}": Float(0.0, 1.0) for i in range(N_VARIABLES)})


def run_ours(method: str, problem: str, seed: int, budget: int) -> np.ndarray:
    function, reference = PROBLEMS[problem]
    directions = ["minimize"] * len(reference)
    strategy = make_strategy(method, space(), np.random.default_rng(seed), directions)
    values = []
    for number in range(budget):
        params = strategy.ask(1)[0]
        point = function(params)
        values.append(point)
        strategy.tell(FrozenTrial(number, params, TrialState.COMPLETE, seed, values=point))
    return np.array(values)


def run_optuna(method: str, problem: str, seed: int, budget: int) -> np.ndarray:
    import optuna

    function, reference = PROBLEMS[problem]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = (optuna.samplers.NSGAIISampler(seed=seed) if method == "optuna_nsga2"
               else optuna.samplers.TPESampler(seed=seed))
    study = optuna.create_study(directions=["minimize"] * len(reference), sampler=sampler)
    study.optimize(lambda t: function({f"x{i}": t.suggest_float(f"x{i}", 0.0, 1.0)
                                       for i in range(N_VARIABLES)}), n_trials=budget)
    return np.array([t.values for t in study.trials])


def _quartiles(x: list[float]) -> str:
    q1, q2, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    return f"{q2:.4g} [{q1:.4g}, {q3:.4g}]"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default=",".join(OURS + PEERS))
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=100)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.getLogger("hpsearch").setLevel(logging.ERROR)
    checkpoints = [c for c in CHECKPOINTS if c <= args.budget] or [args.budget]
    print(f"# median hypervolume [q25, q75] over {args.seeds} seeds; budget {args.budget}")
    winners: dict[int, dict[str, str]] = {c: {} for c in checkpoints}
    for problem in args.problems.split(","):
        reference = PROBLEMS[problem][1]
        print(f"\n## {problem} (reference {reference})")
        print(f"{'method':<14}{'s/run':>7}  " + "  ".join(f"{'HV@' + str(c):<28}"
                                                        for c in checkpoints))
        medians: dict[int, dict[str, float]] = {c: {} for c in checkpoints}
        for method in args.methods.split(","):
            start = time.perf_counter()
            runs = [run_ours(method, problem, s, args.budget) if method in OURS
                    else run_optuna(method, problem, s, args.budget)
                    for s in range(args.seeds)]
            seconds = (time.perf_counter() - start) / args.seeds
            cells = []
            for c in checkpoints:
                volumes = [hypervolume(run[:c], reference) for run in runs]
                medians[c][method] = statistics.median(volumes)
                cells.append(f"{_quartiles(volumes):<28}")
            print(f"{method:<14}{seconds:>7.2f}  " + "  ".join(cells), flush=True)
        for c in checkpoints:
            winners[c][problem] = max(medians[c], key=medians[c].get)
    for c in checkpoints:
        print(f"\nhighest median hypervolume at {c}: "
              + ", ".join(f"{p} {m}" for p, m in winners[c].items()))


if __name__ == "__main__":
    main()
