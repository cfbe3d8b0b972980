"""Benchmark hpsearch's search strategies against scikit-optimize and Optuna, side by side.

Quality: every method runs with the same seeds on each problem (budget evaluations each); we
print the median and quartiles of the best value and of the regret (best - known minimum)
after 10/25/50 evaluations. Speed: seconds per suggestion (one ask plus one tell, since
scikit-optimize fits its model in `tell`) after 25/50/100/200 finished random trials on a 6-D
space (Hartmann6's).

Methods: gp, random, skopt, tpe (hpsearch strategies through `make_strategy`), and the peers
sk_gp_minimize (scikit-optimize's gp_minimize / Optimizer with its defaults), optuna_tpe
(TPESampler) and optuna_gp (GPSampler; needs torch, skipped when it is missing).

    flock /tmp/bench.lock python scripts/bench_search.py                      # everything
    flock /tmp/bench.lock python scripts/bench_search.py --quick      # gp vs random, 3 seeds
    python scripts/bench_search.py --methods gp --problems branin --seeds 3 --no-timing
    python scripts/bench_search.py --cache .bench_cache ...                  # reuse finished runs

`--cache DIR` stores each (method, problem, seed) curve as JSON, so the slow peers run once.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hpsearch.space import Float, Space
from hpsearch.testing.benchmarks import (
    branin,
    branin_space,
    hartmann6,
    hartmann6_space,
    styblinski_tang,
    styblinski_tang_space,
)
from hpsearch.trial import FrozenTrial, TrialState

PROBLEMS: dict[str, tuple[Callable, Space, float]] = {
    "branin": (branin, branin_space(), 0.397887),
    "hartmann6": (hartmann6, hartmann6_space(), -3.32237),
    "styblinski_tang4": (styblinski_tang, styblinski_tang_space(4), -39.16617 * 4),
}
OURS = ("gp", "random", "skopt", "tpe")
PEERS = ("sk_gp_minimize", "optuna_tpe", "optuna_gp")
CHECKPOINTS = (10, 25, 50)


# -- one run: a best-so-far curve --------------------------------------------------------------

def run_ours(name: str, function: Callable, space: Space, seed: int, budget: int) -> list[float]:
    from hpsearch.strategies import make_strategy

    strategy = make_strategy(name, space, np.random.default_rng(seed), "minimize")
    values = []
    for number in range(budget):
        params = strategy.ask(1)[0]
        value = float(function(params))
        values.append(value)
        strategy.tell(FrozenTrial(number=number, params=params, state=TrialState.COMPLETE,
                                  seed=seed, value=value))
    return values


def _check_floats(space: Space) -> None:
    if not all(isinstance(dim, Float) and dim.step is None for dim in space.values()):
        raise SystemExit("peers are only wired for continuous Float spaces")


def run_gp_minimize(function: Callable, space: Space, seed: int, budget: int) -> list[float]:
    from skopt import gp_minimize

    _check_floats(space)
    names = list(space)
    dimensions = [(space[n].low, space[n].high) for n in names]
    result = gp_minimize(lambda x: float(function(dict(zip(names, x, strict=True)))), dimensions,
                         n_calls=budget, random_state=seed)
    return [float(v) for v in result.func_vals]


def _optuna_objective(function: Callable, space: Space) -> Callable:
    def objective(trial) -> float:
        params = {n: trial.suggest_float(n, d.low, d.high, log=d.log) for n, d in space.items()}
        return float(function(params))

    return objective


def _optuna_sampler(name: str, seed: int):
    import optuna

    if name == "optuna_tpe":
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.GPSampler(seed=seed)


def run_optuna(name: str, function: Callable, space: Space, seed: int, budget: int) -> list[float]:
    import optuna

    _check_floats(space)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=_optuna_sampler(name, seed))
    study.optimize(_optuna_objective(function, space), n_trials=budget)
    return [float(t.value) for t in study.trials]


def run_one(method: str, problem: str, seed: int, budget: int) -> list[float]:
    function, space, _ = PROBLEMS[problem]
    if method in OURS:
        return run_ours(method, function, space, seed, budget)
    if method == "sk_gp_minimize":
        return run_gp_minimize(function, space, seed, budget)
    return run_optuna(method, function, space, seed, budget)


# -- speed: seconds per ask + tell after n finished trials -------------------------------------

def ask_seconds(method: str, n_finished: int, repeats: int) -> float:
    function, space, _ = PROBLEMS["hartmann6"]
    rng = np.random.default_rng(0)
    history = [space.sample(rng) for _ in range(n_finished)]
    values = [float(function(p)) for p in history]
    names = list(space)
    times = []
    if method in OURS:
        from hpsearch.strategies import make_strategy

        strategy = make_strategy(method, space, np.random.default_rng(0), "minimize")
        for i, (p, v) in enumerate(zip(history, values, strict=True)):
            strategy.tell(FrozenTrial(number=i, params=p, state=TrialState.COMPLETE, seed=0,
                                      value=v))
        for i in range(repeats):
            start = time.perf_counter()
            params = strategy.ask(1)[0]
            strategy.tell(FrozenTrial(number=n_finished + i, params=params,
                                      state=TrialState.COMPLETE, seed=0, value=function(params)))
            times.append(time.perf_counter() - start)
    elif method == "sk_gp_minimize":
        from skopt import Optimizer

        optimizer = Optimizer([(space[n].low, space[n].high) for n in names], random_state=0)
        optimizer.tell([[p[n] for n in names] for p in history], values)
        for _ in range(repeats):
            start = time.perf_counter()
            x = optimizer.ask()
            optimizer.tell(x, float(function(dict(zip(names, x, strict=True)))))
            times.append(time.perf_counter() - start)
    else:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        distributions = {n: optuna.distributions.FloatDistribution(d.low, d.high)
                         for n, d in space.items()}
        study = optuna.create_study(sampler=_optuna_sampler(method, 0))
        study.add_trials([optuna.trial.create_trial(params=p, distributions=distributions, value=v)
                          for p, v in zip(history, values, strict=True)])
        objective = _optuna_objective(function, space)
        for _ in range(repeats):
            start = time.perf_counter()
            trial = study.ask()
            study.tell(trial, objective(trial))
            times.append(time.perf_counter() - start)
    return statistics.median(times)


# -- driver ------------------------------------------------------------------------------------

def _available(method: str) -> bool:
    if method == "optuna_gp" and importlib.util.find_spec("torch") is None:
        print("# optuna_gp skipped: torch is not installed")
        return False
    if method in OURS:
        from hpsearch.strategies import STRATEGY_NAMES, strategy_class

        if method not in STRATEGY_NAMES:
            return False
        try:
            strategy_class(method)
        except Exception as err:  # a strategy still being written: skip it, say so
            print(f"# {method} skipped: {err}")
            return False
    return True


def _curve(method: str, problem: str, seed: int, budget: int, cache: Path | None) -> list[float]:
    path = cache / f"{method}-{problem}-{seed}-{budget}.json" if cache else None
    if path is not None and path.exists():
        return json.loads(path.read_text())
    values = run_one(method, problem, seed, budget)
    if path is not None:
        path.write_text(json.dumps(values))
    return values


def _quartiles(x: np.ndarray) -> str:
    q1, q2, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    return f"{q2:.3g} [{q1:.3g}, {q3:.3g}]"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default=",".join(OURS + PEERS))
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=50)
    parser.add_argument("--timing-sizes", default="25,50,100,200")
    parser.add_argument("--timing-repeats", type=int, default=3)
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="gp and random on branin, 3 seeds, timing at 25 and 100 only")
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.methods, args.problems, args.seeds = "gp,random", "branin", 3
        args.timing_sizes = "25,100"
    warnings.filterwarnings("ignore")
    logging.getLogger("hpsearch").setLevel(logging.ERROR)
    methods = [m for m in args.methods.split(",") if _available(m)]
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    checkpoints = [c for c in CHECKPOINTS if c <= args.budget]
    if not args.no_quality:
        print(f"# quality: {args.seeds} seeds (0..{args.seeds - 1}), budget {args.budget}; "
              "median [q25, q75]")
        for problem in args.problems.split(","):
            minimum = PROBLEMS[problem][2]
            print(f"\n## {problem} (minimum {minimum:.6g})")
            header = f"{'method':<16}{'seconds':>9}  " + "  ".join(
                f"{'regret@' + str(c):<28}" for c in checkpoints)
            print(header + f"  best@{args.budget}")
            for method in methods:
                start = time.perf_counter()
                curves = np.array([np.minimum.accumulate(
                    _curve(method, problem, seed, args.budget, args.cache))
                    for seed in range(args.seeds)])
                elapsed = time.perf_counter() - start
                cells = "  ".join(f"{_quartiles(curves[:, c - 1] - minimum):<28}"
                                  for c in checkpoints)
                print(f"{method:<16}{elapsed:>9.1f}  {cells}  {_quartiles(curves[:, -1])}",
                      flush=True)
    if not args.no_timing:
        sizes = [int(s) for s in args.timing_sizes.split(",")]
        print(f"\n## seconds per ask+tell on 6-D after n finished trials "
              f"(median of {args.timing_repeats})")
        print(f"{'method':<16}" + "".join(f"{'n=' + str(n):>10}" for n in sizes))
        for method in methods:
            cells = "".join(f"{ask_seconds(method, n, args.timing_repeats):>10.4f}" for n in sizes)
            print(f"{method:<16}{cells}", flush=True)


if __name__ == "__main__":
    main()
