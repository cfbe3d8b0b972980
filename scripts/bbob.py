"""COCO's BBOB suite for `scripts/bench_search.py --suite bbob` (and `--suite bbob-noisy`).

The functions, their instances and their optima are COCO's own, through `cocoex` (the
`coco-experiment` package, a benchmark-only dependency: `pip install coco-experiment`):
`cocoex.BareProblem("bbob", f, d, i)` and its `best_value()`. Every method minimises the same
problem on [-5, 5]^d from the same seeds, one process per run; a run's score is
log10(best - optimum), floored at 1e-8 (COCO's final target), of the best point it evaluated.

Noisy suite (`bbob-noisy`): the same 24 functions observed through a documented noise model of
ours rather than COCO's f101-f130 (whose noise-free values cocoex does not expose, and a
search is judged by where it lands, not by a lucky draw): an evaluation of x returns

    y = f_opt + (f(x) - f_opt) * exp(BETA * Z1) + SIGMA * s * Z2,    Z1, Z2 ~ N(0, 1)

COCO's severe multiplicative Gaussian noise (f_GN with beta = 1, Hansen et al. 2009) on the
regret, plus an additive plateau of SIGMA = 1% of s, the median regret of 256 uniform points
of that problem (so the noise has the landscape's own scale), drawn from a Generator seeded
by (seed, function, dimension, instance). A run is then scored on the noise-free regret of
the point with the best *observed* value, the one a user would pick.

Function groups (COCO's): separable f1-f5, low or moderate conditioning f6-f9, high
conditioning and unimodal f10-f14, multimodal with adequate global structure f15-f19,
multimodal with weak global structure f20-f24. Budget per run: min(15 d, 100) evaluations
unless `--budget` says otherwise.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

GROUPS = {
    "separable": range(1, 6),
    "low/moderate cond.": range(6, 10),
    "high cond.": range(10, 15),
    "multimodal, structure": range(15, 20),
    "multimodal, weak": range(20, 25),
}
BETA, SIGMA = 1.0, 0.01
FLOOR = 1e-8
RECORD_FIELDS = ("curve", "seconds")  # a run's record: log regret per evaluation, optimizer s
BBOB_METHODS = ("gp", "tpe", "random", "optuna_gp", "optuna_tpe", "sk_gp_minimize", "smac")
OPTUNA_SAMPLERS = ("optuna_hpsearch", "optuna_gp", "optuna_tpe", "optuna_auto")


def budget_for(d: int, budget: int | None) -> int:
    return budget if budget else min(15 * d, 100)


class Problem:
    """One BBOB problem as a minimiser sees it: x (d,) in [-5, 5]^d -> an observed value.
    Records each evaluation's noise-free value and the seconds spent evaluating."""

    def __init__(self, function: int, dimension: int, instance: int, noisy: bool, seed: int):
        import cocoex

        self.bare = cocoex.BareProblem("bbob", function, dimension, instance)
        self.d = dimension
        self.optimum = float(self.bare.best_value())
        self.noisy = noisy
        self.true: list[float] = []
        self.observed: list[float] = []
        self.seconds = 0.0
        if noisy:
            self.rng = np.random.default_rng([seed, function, dimension, instance])
            sample = np.random.default_rng([function, dimension, instance]).uniform(
                -5, 5, size=(256, dimension))
            self.scale = float(np.median([self.bare(x) - self.optimum for x in sample]))

    def __call__(self, x) -> float:
        start = time.perf_counter()
        x = np.clip(np.asarray(x, dtype=float), -5.0, 5.0)
        value = float(self.bare(x))
        observed = value
        if self.noisy:
            z1, z2 = self.rng.normal(size=2)
            observed = (self.optimum + (value - self.optimum) * math.exp(BETA * z1)
                        + SIGMA * self.scale * z2)
        self.true.append(value)
        self.observed.append(observed)
        self.seconds += time.perf_counter() - start
        return observed

    def log_regret(self, upto: int | None = None) -> float:
        """log10 of the noise-free regret of the best observed point among the first `upto`."""
        observed = self.observed[:upto]
        best = int(np.argmin(observed)) if self.noisy else None
        value = self.true[best] if best is not None else min(self.true[:upto])
        return math.log10(max(value - self.optimum, FLOOR))


# -- the methods: each minimises `problem` in `budget` evaluations ----------------------------

def _names(d: int) -> list[str]:
    return [f"x{j}" for j in range(d)]


def run_ours(method: str, problem: Problem, seed: int, budget: int) -> None:
    from hpsearch.space import Float, Space
    from hpsearch.strategies import make_strategy
    from hpsearch.trial import FrozenTrial, TrialState

    names = _names(problem.d)
    space = Space({n: Float(-5.0, 5.0) for n in names})
    name, options = parse_method(method)
    strategy = make_strategy(name, space, np.random.default_rng(seed), "minimize", **options)
    for number in range(budget):
        params = strategy.ask(1)[0]
        value = problem([params[n] for n in names])
        strategy.tell(FrozenTrial(number=number, params=params, state=TrialState.COMPLETE,
                                  seed=seed, value=value))


OPTUNAHUB_ROOT_VARIABLE = "OPTUNAHUB_REGISTRY_ROOT"  # a local copy of the registry's package/


def optuna_sampler(method: str, seed: int):
    """The Optuna sampler a method names: optuna_gp (GPSampler), optuna_tpe (TPESampler),
    optuna_hpsearch (hpsearch's HpsearchSampler, options as "optuna_hpsearch:strategy=tpe"),
    optuna_auto (OptunaHub's AutoSampler: `optunahub.load_module`, which downloads it from the
    registry, or from a local copy of the registry's package/ folder named by the environment
    variable OPTUNAHUB_REGISTRY_ROOT)."""
    import optuna

    name, options = parse_method(method)
    if name == "optuna_gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "optuna_tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "optuna_hpsearch":
        from hpsearch.integrations.optuna import HpsearchSampler

        return HpsearchSampler(seed=seed, **options)
    if name == "optuna_auto":
        return auto_sampler_module().AutoSampler(seed=seed)
    raise ValueError(f"not an Optuna sampler: {method}")


def auto_sampler_module():
    import optunahub

    root = os.environ.get(OPTUNAHUB_ROOT_VARIABLE)
    if root:
        return optunahub.load_local_module(package="samplers/auto_sampler", registry_root=root)
    return optunahub.load_module("samplers/auto_sampler")


def run_optuna(method: str, problem: Problem, seed: int, budget: int) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna_sampler(method, seed))
    names = _names(problem.d)
    study.optimize(lambda t: problem([t.suggest_float(n, -5.0, 5.0) for n in names]),
                   n_trials=budget)


def run_skopt(method: str, problem: Problem, seed: int, budget: int) -> None:
    from skopt import gp_minimize

    gp_minimize(problem, [(-5.0, 5.0)] * problem.d, n_calls=budget, random_state=seed)


def run_smac(method: str, problem: Problem, seed: int, budget: int) -> None:
    import tempfile

    from ConfigSpace import ConfigurationSpace, Float
    from smac import BlackBoxFacade, Scenario

    names = _names(problem.d)
    space = ConfigurationSpace(seed=seed)
    space.add([Float(n, (-5.0, 5.0)) for n in names])
    with tempfile.TemporaryDirectory() as folder:
        scenario = Scenario(space, deterministic=True, n_trials=budget, seed=seed,
                            output_directory=Path(folder) / "smac")
        smac = BlackBoxFacade(scenario, lambda config, seed=0: 0.0, overwrite=True,
                              logging_level=40)
        from smac.runhistory.dataclasses import TrialValue

        for _ in range(budget):
            info = smac.ask()
            value = problem([info.config[n] for n in names])
            smac.tell(info, TrialValue(cost=value))


def parse_method(method: str) -> tuple[str, dict]:
    """"gp:n_local=16:lengthscale_prior=dimension" -> ("gp", {"n_local": 16, ...}): one of our
    strategies with options, to compare variants side by side (values read as JSON, else
    strings). An "@label" only names the runs (their cache files), to compare versions of the
    code: "gp@before", "gp@before:n_local=16"."""
    name, *pairs = re.sub(r"@[^:]*", "", method).split(":")
    options = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return name, options


RUNNERS: dict[str, Callable] = {"gp": run_ours, "tpe": run_ours, "random": run_ours,
                                "optuna_gp": run_optuna, "optuna_tpe": run_optuna,
                                "optuna_hpsearch": run_optuna, "optuna_auto": run_optuna,
                                "sk_gp_minimize": run_skopt, "smac": run_smac}


def available(method: str) -> bool:
    import importlib.util

    method = parse_method(method)[0]
    found = method in RUNNERS and all(importlib.util.find_spec(name.split(".")[0]) is not None
                                      for name in _modules(method))
    if found and method == "optuna_auto":
        try:
            auto_sampler_module()
        except Exception as err:  # no network to the registry, and no local copy
            print(f"# optuna_auto: AutoSampler could not be loaded: {type(err).__name__}: "
                  f"{str(err).strip().splitlines()[-1][:160]}")
            return False
    return found


def _modules(method: str) -> tuple[str, ...]:
    """What a method imports (its peer's package; ours: the strategies)."""
    return {"optuna_gp": ("optuna", "torch", "optuna._gp.gp"), "optuna_tpe": ("optuna",),
            "optuna_hpsearch": ("optuna", "hpsearch.integrations.optuna",
                                "hpsearch.strategies.gp"),
            "optuna_auto": ("optuna", "optunahub", "cmaes", "torch", "optuna._gp.gp"),
            "sk_gp_minimize": ("skopt",), "smac": ("smac",)}.get(
        method, ("hpsearch.strategies.gp", "hpsearch.strategies.tpe"))


def _preload(method: str) -> None:
    """Import what a method needs before its clock starts (the first run in a process would
    otherwise pay seconds of imports: SciPy's stats, torch)."""
    import importlib

    for name in _modules(method):
        importlib.import_module(name)


def one_run(task: tuple) -> dict:
    """(method, function, dimension, instance, seed, budget, noisy) -> the run's record:
    log regret after each evaluation and the optimizer's own seconds (wall time minus the
    time spent evaluating)."""
    import logging
    import warnings

    from threadpoolctl import threadpool_limits

    warnings.filterwarnings("ignore")
    logging.getLogger("hpsearch").setLevel(logging.ERROR)
    method, function, dimension, instance, seed, budget, noisy = task
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    problem = Problem(function, dimension, instance, noisy, seed)
    base = parse_method(method)[0]
    _preload(base)
    start = time.perf_counter()
    with threadpool_limits(1):
        RUNNERS[base](method, problem, seed, budget)
    seconds = time.perf_counter() - start - problem.seconds
    n = min(budget, len(problem.true))
    curve = [problem.log_regret(k) for k in range(1, n + 1)]
    return dict(zip(RECORD_FIELDS, (curve, seconds), strict=True))


def _cached(task: tuple, cache: Path | None) -> tuple[Path | None, dict | None]:
    if cache is None:
        return None, None
    method, function, dimension, instance, seed, budget, noisy = task
    path = cache / (f"{'noisy' if noisy else 'bbob'}-{method}-f{function}-d{dimension}"
                    f"-i{instance}-s{seed}-b{budget}.json")
    return path, (json.loads(path.read_text()) if path.exists() else None)


def run_all(tasks: list[tuple], jobs: int, cache: Path | None, cached_only: bool = False
            ) -> dict[tuple, dict]:
    """Every task's record, from the cache when it holds it; `jobs` processes at a time
    (`cached_only`: the cached records only, nothing is run)."""
    records, todo = {}, []
    for task in tasks:
        path, record = _cached(task, cache)
        if record is not None:
            records[task] = record
        elif not cached_only:
            todo.append((task, path))
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [(task, path, pool.submit(one_run, task)) for task, path in todo]
        for done, (task, path, future) in enumerate(futures, 1):
            records[task] = future.result()
            if path is not None:
                path.write_text(json.dumps(records[task]))
            if done % 50 == 0:
                print(f"# {done}/{len(todo)} runs", flush=True)
    return records


# -- the table -------------------------------------------------------------------------------

def ranks(values: dict[str, float]) -> dict[str, float]:
    """Average ranks (1 = best, ties shared) of the methods' median log regrets, which are
    compared to 0.01 (in log10) so that two methods both at the floor tie."""
    rounded = {m: round(v, 2) for m, v in values.items()}
    return {m: sum(w < v for w in rounded.values()) + (sum(w == v for w in rounded.values())
                                                        + 1) / 2
            for m, v in rounded.items()}


def report(records: dict[tuple, dict], methods: list[str], checkpoint: int | None) -> None:
    cells: dict[tuple[int, int], dict[str, float]] = {}
    seconds: dict[tuple[str, int], list[float]] = {}
    scores: dict[tuple[int, int], dict[str, list[float]]] = {}  # (f, d) -> method -> runs
    for (method, function, dimension, _i, _s, _b, _n), record in records.items():
        seconds.setdefault((method, dimension), []).append(record["seconds"])
        curve = record["curve"]
        scores.setdefault((function, dimension), {}).setdefault(method, []).append(
            curve[(checkpoint or len(curve)) - 1])
    dims = sorted({d for _, d in scores})
    for key, runs in scores.items():
        per = {m: statistics.median(runs[m]) for m in methods if m in runs}
        if len(per) >= 2:  # a method left out of a cell (too slow there) is not ranked
            cells[key] = per
    label = f"after {checkpoint} evaluations" if checkpoint else "at the end of the budget"
    print(f"\n## BBOB {label}: median log10 regret per cell, rank per cell (1 = best; a "
          "method absent from a cell is not ranked there)")
    width = max(15, *(len(m) + 1 for m in methods))
    head = f"{'method':<{width}}" + "".join(f"{'rank ' + str(d) + '-D':>10}" for d in dims)
    print(head + f"{'rank all':>10}{'won':>6}" + "".join(f"{'s/run ' + str(d) + 'D':>11}"
                                                         for d in dims))
    ranked = {key: ranks(per) for key, per in cells.items()}
    for m in methods:
        by_dim = [_mean([r[m] for (f, d), r in ranked.items() if d == dim and m in r])
                  for dim in dims]
        overall = _mean([r[m] for r in ranked.values() if m in r])
        won = sum(1 for r in ranked.values() if m in r and r[m] == min(r.values()))
        secs = [statistics.fmean(seconds.get((m, dim), [math.nan])) for dim in dims]
        print(f"{m:<{width}}" + "".join(f"{v:>10.2f}" for v in by_dim) + f"{overall:>10.2f}"
              f"{won:>6}" + "".join(f"{s:>11.2f}" for s in secs))
    print("\n## mean rank per function group (all dimensions); median log10 regret in brackets")
    print(f"{'method':<{width}}" + "".join(f"{g:>26}" for g in GROUPS))
    for m in methods:
        row = []
        for members in GROUPS.values():
            keys = [k for k in ranked if k[0] in members and m in ranked[k]]
            if not keys:
                row.append(f"{'-':>26}")
                continue
            rank = statistics.fmean([ranked[k][m] for k in keys])
            regret = statistics.median([cells[k][m] for k in keys])
            row.append(f"{rank:>17.2f} [{regret:>5.2f}]")
        print(f"{m:<{width}}" + "".join(row))
    print("\n## per cell: median log10 regret (best of the row marked *)")
    labels = methods if all(len(m) <= 10 for m in methods) else [f"m{k}" for k in
                                                                  range(len(methods))]
    if labels is not methods:
        print("  ".join(f"{label} = {m}" for label, m in zip(labels, methods, strict=True)))
    print(f"{'f':>4}{'d':>4}" + "".join(f"{label:>11}" for label in labels))
    for (f, d), per in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        best = min(round(v, 2) for v in per.values())
        print(f"{f:>4}{d:>4}" + "".join(
            f"{per[m]:>10.2f}{'*' if round(per[m], 2) == best else ' '}" if m in per
            else f"{'-':>10} " for m in methods))


def bbob_main(args) -> None:
    methods = [m for m in args.methods.split(",") if parse_method(m)[0] in RUNNERS]
    for m in [m for m in methods if not available(m)]:
        print(f"# {m} skipped: not installed")
    methods = [m for m in methods if available(m)]
    functions = int_list(args.functions)
    dims = int_list(args.dims)
    instances = int_list(args.instances)
    noisy = args.suite == "bbob-noisy"
    tasks = [(m, f, d, i, s, budget_for(d, args.bbob_budget), noisy)
             for d in dims for f in functions for i in instances for s in range(args.seeds)
             for m in methods]
    print(f"# {args.suite}: functions {args.functions}, dimensions {args.dims}, instances "
          f"{args.instances}, seeds 0..{args.seeds - 1}, budget "
          f"{args.bbob_budget or 'min(15 d, 100)'}; {len(tasks)} runs, {args.jobs} at a time")
    started = time.perf_counter()
    records = run_all(tasks, args.jobs, args.cache, args.cached_only)
    print(f"# {time.perf_counter() - started:.0f} s (cached runs excluded); pid {os.getpid()}")
    if args.checkpoint:
        report(records, methods, args.checkpoint)
    report(records, methods, None)


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def int_list(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        out.extend(range(int(low), int(high or low) + 1))
    return out
