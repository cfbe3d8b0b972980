"""Benchmark hpsearch's search strategies against scikit-optimize and Optuna, side by side.

Quality: every method runs with the same seeds on each problem (budget evaluations each); we
print the median and quartiles of the best value and of the regret (best - known minimum)
after 10/25/50 evaluations. Speed: seconds per suggestion (one ask plus one tell, since
scikit-optimize fits its model in `tell`) after 25/50/100/200 finished random trials on a 6-D
space (Hartmann6's); then, for gp, the ask + tell time amortised over refits at 1,000 and 5,000
trials (`--amortised-sizes`): the first ask's cold fit, then the mean of the next
`--amortised-asks` (100) asks, each told its Hartmann6 value, which include the periodic
hyperparameter refits (target: under 0.2 s at 5,000).

Methods: gp, random, skopt, tpe (hpsearch strategies through `make_strategy`; options as in
"gp:trust_region=false", see scripts/bbob.py), and the peers
sk_gp_minimize (scikit-optimize's gp_minimize / Optimizer with its defaults), optuna_tpe
(TPESampler) and optuna_gp (GPSampler; needs torch, skipped when it is missing).

Conditional search (`--problems conditional,conditional_disjoint`):
- conditional (5-D): Branin on a shared x, y whose formula depends on a categorical parent
  `branch`, as a network's learning rate is shared by every optimizer: "a" adds
  2 (u - 0.3)^2 with u active only there, "b" is 1.5 Branin + 0.5 + |v - 3| / 5 with an
  integer v active only there, "c" is Branin + 2. Minimum 0.397887 (branch a, u = 0.3).
- conditional_disjoint (7-D): the branches share nothing but w: "a" activates x_a, y_a
  (Branin), "b" x_b, y_b (Branin mirrored, + 1), "c" an integer z (a flat 5 + (z - 3)^2 / 10);
  w in [0, 1] adds (w - 0.2)^2 everywhere. Minimum 0.397887. Harder: what a trial learns in
  one branch says nothing of another.
Peers that cannot express conditions (skopt, sk_gp_minimize) are skipped; Optuna's samplers
run define-by-run, as Optuna users would write it.

Warm start (`--warm-start`): per seed, a 30-trial random study of Branin, then a gp study of
Branin warm-started from it against a cold one; prints the median number of new trials to
reach a regret of 0.05 (the budget + 1 when never reached).

    flock /tmp/bench.lock python scripts/bench_search.py                      # everything
    flock /tmp/bench.lock python scripts/bench_search.py --quick      # gp vs random, 3 seeds
    python scripts/bench_search.py --methods gp --problems branin --seeds 3 --no-timing
    python scripts/bench_search.py --cache .bench_cache ...                  # reuse finished runs
    flock /tmp/bench.lock python scripts/bench_search.py --problems \
        conditional,conditional_disjoint --methods gp,tpe,random,optuna_tpe --no-timing
    flock /tmp/bench.lock python scripts/bench_search.py --warm-start        # warm vs cold

`--cache DIR` stores each (method, problem, seed) curve as JSON, so the slow peers run once.

COCO's BBOB suite (`--suite bbob`, or `--suite bbob-noisy` for its functions under a documented
noise model; `pip install coco-experiment` first, and `smac` for SMAC3): every method on each
function x dimension x instance x seed, in `--jobs` processes; prints the mean rank per
dimension and per function group, the cells won, the median log10 regret per cell and the
optimizer seconds per run (see scripts/bbob.py):

    flock /tmp/bench.lock python scripts/bench_search.py --suite bbob --dims 2,5,10 \
        --functions 1-24 --instances 1-3 --seeds 5 --jobs 2 --cache .bench_cache
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hpsearch.space import Categorical, Float, Int, Space
from hpsearch.testing.benchmarks import (
    branin,
    branin_space,
    hartmann6,
    hartmann6_space,
    styblinski_tang,
    styblinski_tang_space,
)
from hpsearch.trial import FrozenTrial, TrialState

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bbob import parse_method  # noqa: E402  (beside this script: "gp:trust_region=false")


def conditional_space() -> Space:
    """The conditional benchmark's space (see the module docstring)."""
    return Space({
        "branch": Categorical(["a", "b", "c"]),
        "x": Float(-5, 10), "y": Float(0, 15),
        "u": Float(0, 1, when={"branch": ["a"]}),
        "v": Int(0, 10, when={"branch": ["b"]}),
    })


def conditional(params: dict) -> float:
    """Branin whose formula depends on the branch (see the module docstring); min 0.397887."""
    core = branin({"x": params["x"], "y": params["y"]})
    if params["branch"] == "a":
        return core + 2 * (params["u"] - 0.3) ** 2
    if params["branch"] == "b":
        return 1.5 * core + 0.5 + abs(params["v"] - 3) / 5
    return core + 2


def disjoint_space() -> Space:
    """The disjoint conditional benchmark's space (see the module docstring)."""
    return Space({
        "branch": Categorical(["a", "b", "c"]),
        "x_a": Float(-5, 10, when={"branch": ["a"]}), "y_a": Float(0, 15, when={"branch": ["a"]}),
        "x_b": Float(-5, 10, when={"branch": ["b"]}), "y_b": Float(0, 15, when={"branch": ["b"]}),
        "z": Int(0, 10, when={"branch": ["c"]}),
        "w": Float(0, 1),
    })


def disjoint(params: dict) -> float:
    """The disjoint conditional benchmark (see the module docstring); minimum 0.397887."""
    shared = (params["w"] - 0.2) ** 2
    if params["branch"] == "a":
        return branin({"x": params["x_a"], "y": params["y_a"]}) + shared
    if params["branch"] == "b":  # the same landscape mirrored and lifted by 1
        return branin({"x": 5 - params["x_b"], "y": 15 - params["y_b"]}) + 1 + shared
    return 5 + (params["z"] - 3) ** 2 / 10 + shared


PROBLEMS: dict[str, tuple[Callable, Space, float]] = {
    "branin": (branin, branin_space(), 0.397887),
    "hartmann6": (hartmann6, hartmann6_space(), -3.32237),
    "styblinski_tang4": (styblinski_tang, styblinski_tang_space(4), -39.16617 * 4),
    "conditional": (conditional, conditional_space(), 0.397887),
    "conditional_disjoint": (disjoint, disjoint_space(), 0.397887),
}
OURS = ("gp", "random", "skopt", "tpe")
PEERS = ("sk_gp_minimize", "optuna_tpe", "optuna_gp")
CHECKPOINTS = (10, 25, 50)


# -- one run: a best-so-far curve --------------------------------------------------------------

def run_ours(name: str, function: Callable, space: Space, seed: int, budget: int) -> list[float]:
    from hpsearch.strategies import make_strategy

    base, options = parse_method(name)
    strategy = make_strategy(base, space, np.random.default_rng(seed), "minimize", **options)
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
    """Define-by-run, parents first, only the active dimensions (flat spaces: every one)."""

    def objective(trial) -> float:
        drawn: dict = {}
        for name in space.order:
            if not space.is_active(name, drawn):
                continue
            dim = space[name]
            if isinstance(dim, Categorical):
                drawn[name] = trial.suggest_categorical(name, list(dim.choices))
            elif isinstance(dim, Int):
                drawn[name] = trial.suggest_int(name, dim.low, dim.high, log=dim.log)
            else:
                drawn[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log)
        return float(function(drawn))

    return objective


def _optuna_sampler(name: str, seed: int):
    import optuna

    if name == "optuna_tpe":
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.GPSampler(seed=seed)


def run_optuna(name: str, function: Callable, space: Space, seed: int, budget: int) -> list[float]:
    import optuna

    if not space.conditional:
        _check_floats(space)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=_optuna_sampler(name, seed))
    study.optimize(_optuna_objective(function, space), n_trials=budget)
    return [float(t.value) for t in study.trials]


def runs_on(method: str, problem: str) -> bool:
    """Whether a method can express the problem's space (conditions need gp, tpe, random,
    or Optuna's define-by-run samplers)."""
    return not PROBLEMS[problem][1].conditional or method not in ("skopt", "sk_gp_minimize")


def run_one(method: str, problem: str, seed: int, budget: int) -> list[float]:
    function, space, _ = PROBLEMS[problem]
    if parse_method(method)[0] in OURS:
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


def amortised_ask_seconds(n_finished: int, asks: int) -> tuple[float, float]:
    """gp after n_finished random trials on 6-D Hartmann6: (the first ask + tell, with its cold
    fit; the mean of the next `asks`, refits included)."""
    from hpsearch.strategies import make_strategy

    function, space, _ = PROBLEMS["hartmann6"]
    rng = np.random.default_rng(0)
    strategy = make_strategy("gp", space, np.random.default_rng(0), "minimize")
    for i in range(n_finished):
        params = space.sample(rng)
        strategy.tell(FrozenTrial(number=i, params=params, state=TrialState.COMPLETE, seed=0,
                                  value=float(function(params))))
    times = []
    for i in range(asks + 1):
        start = time.perf_counter()
        params = strategy.ask(1)[0]
        strategy.tell(FrozenTrial(number=n_finished + i, params=params,
                                  state=TrialState.COMPLETE, seed=0, value=function(params)))
        times.append(time.perf_counter() - start)
    return times[0], statistics.fmean(times[1:])


# -- driver ------------------------------------------------------------------------------------

def _available(method: str) -> bool:
    if method == "optuna_gp" and importlib.util.find_spec("torch") is None:
        print("# optuna_gp skipped: torch is not installed")
        return False
    base = parse_method(method)[0]
    if base in OURS:
        from hpsearch.strategies import STRATEGY_NAMES, strategy_class

        if base not in STRATEGY_NAMES:
            return False
        try:
            strategy_class(base)
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


def trials_to_regret(study_kwargs: dict, target: float, budget: int) -> int:
    """New trials a gp study of Branin needs to reach `target` regret (budget + 1: never)."""
    import hpsearch as hp

    study = hp.Study(branin_space(), strategy="gp", **study_kwargs)
    for k in range(budget):
        trial = study.ask()
        value = branin(trial.params)
        study.tell(trial, value)
        if value - PROBLEMS["branin"][2] <= target:
            return k + 1
    return budget + 1


def warm_start_comparison(seeds: int, budget: int, target: float = 0.05) -> None:
    import tempfile

    import hpsearch as hp

    cold, warm = [], []
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(seeds):
            old = f"{folder}/old{seed}"
            hp.Study(branin_space(), strategy="random", seed=1000 + seed,
                     storage=old).optimize(branin, n_trials=30)
            cold.append(trials_to_regret({"seed": seed}, target, budget))
            warm.append(trials_to_regret({"seed": seed, "warm_start": [old]}, target, budget))
    print(f"## warm start: new gp trials to reach regret {target} on branin "
          f"({seeds} seeds, budget {budget}; {budget + 1} = not reached)")
    print(f"cold  median {statistics.median(cold):>5}  per seed {cold}")
    print(f"warm  median {statistics.median(warm):>5}  per seed {warm}  "
          "(warm-started from a 30-trial random study of another seed)")


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
    parser.add_argument("--amortised-sizes", default="1000,5000",
                        help="gp's amortised ask time at these numbers of trials ('' to skip)")
    parser.add_argument("--amortised-asks", type=int, default=100)
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="gp and random on branin, 3 seeds, timing at 25 and 100 only")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--warm-start", action="store_true",
                        help="only the warm-start comparison (gp warm against gp cold)")
    parser.add_argument("--suite", choices=("problems", "bbob", "bbob-noisy"), default="problems",
                        help="the problems above (default) or COCO's BBOB suite (scripts/bbob.py)")
    parser.add_argument("--dims", default="2,5,10", help="BBOB dimensions")
    parser.add_argument("--functions", default="1-24", help="BBOB functions, e.g. 1-24 or 1,8,10")
    parser.add_argument("--instances", default="1-3", help="BBOB instances")
    parser.add_argument("--bbob-budget", type=int, default=None,
                        help="BBOB evaluations per run (default min(15 d, 100))")
    parser.add_argument("--checkpoint", type=int, default=None,
                        help="BBOB: also rank after this many evaluations")
    parser.add_argument("--jobs", type=int, default=1, help="BBOB runs at a time (processes)")
    parser.add_argument("--cached-only", action="store_true",
                        help="BBOB: report the runs in --cache, run nothing (to put together "
                             "methods run on different dimensions)")
    args = parser.parse_args(argv)
    if args.suite != "problems":
        from bbob import BBOB_METHODS, bbob_main

        if args.methods == ",".join(OURS + PEERS):
            args.methods = ",".join(BBOB_METHODS)
        args.seeds = args.seeds if "--seeds" in (argv or sys.argv) else 5
        bbob_main(args)
        return
    if args.warm_start:
        warm_start_comparison(args.seeds, args.budget)
        return
    if args.quick:
        args.methods, args.problems, args.seeds = "gp,random", "branin", 3
        args.timing_sizes = "25,100"
        args.amortised_sizes, args.amortised_asks = "1000", 30
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
            for method in [m for m in methods if runs_on(m, problem)]:
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
        if "gp" in methods and args.amortised_sizes:
            print(f"\n## gp: seconds per ask+tell on 6-D amortised over refits (the first ask, "
                  f"with its cold fit; then the mean of the next {args.amortised_asks})")
            for n in [int(v) for v in args.amortised_sizes.split(",")]:
                first, mean = amortised_ask_seconds(n, args.amortised_asks)
                verdict = "" if n != 5000 else f"  (< 0.2 s: {'met' if mean < 0.2 else 'NOT met'})"
                print(f"  n={n:<6} first {first:8.3f} s   amortised {mean:8.4f} s{verdict}",
                      flush=True)


if __name__ == "__main__":
    main()
