"""Multi-fidelity benchmark on YAHPO Gym's LCBench surrogate: methods side by side, one worker.

Each run tunes the 7 LCBench hyperparameters of one instance (an OpenML task) for one seed,
training epoch by epoch on the surrogate's learning curves, on simulated time: training a
configuration from epoch e1 to e2 costs the surrogate's time(e2) - time(e1) (a resumed trial
pays only its new epochs); the budget is 50 units, a unit being the median time(52) of 1,000
random configurations of the instance. The model a user gets is the best configuration
trained to epoch 52: the table gives, at 10, 25 and 50 units, the mean rank of that incumbent
over instances and seeds (1 = best) and its median normalised regret, and each method's own
seconds per run (its ask/tell/scheduler, not the surrogate); "bounds" is the median share of a
run's trials after the 10th with at least 3 of the 6 non-layer parameters within 1% of a bound
(`mf_methods.at_bounds`; ours and Optuna's). The accounting is
`scripts/mf_accounting.py`, one implementation for every method; the methods are
`scripts/mf_methods.py` (ours and Optuna's, in this venv) and `scripts/mf_peers.py` (DEHB,
SMAC3, Syne Tune, each in its own venv under /work/venvs, driven over JSON lines).

The surrogate (yahpo-gym 1.0.2 + onnxruntime, benchmark-only) runs in /work/venvs/yahpo and is
served by scripts/lcbench_surrogate.py; its data is ../shared/yahpo_data/lcbench/ (Apache-2.0).

    flock /work/notes/bench.lock python scripts/bench_multifidelity.py --seeds 3 --jobs 2 \\
        --methods random,random+asha,tpe,optuna_tpe,optuna_tpe+hyperband,dehb
    python scripts/bench_multifidelity.py --cached-only          # the tables from the cache

Runs are cached, one JSON line each, in --cache (default runs/bench_multifidelity.jsonl, with
each instance's reference: unit, top and median accuracy); a run already there is not run
again, so an interrupted benchmark resumes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mf_accounting as accounting  # noqa: E402
import mf_methods as methods  # noqa: E402

DEV_INSTANCES = ("126026 126029 167149 167152 167161 167168 167181 167184 167185 167190 167200 "
                 "167201 168329 168331 168335 168868 168908 168910 189354 189862 189865 189866 "
                 "189873 189905 189908 189909").split()
DEFAULT_METHODS = "random,random+asha,random+median,gp,gp+asha,tpe,tpe+asha,optuna_tpe," \
                  "optuna_tpe+hyperband,dehb,smac_hb,smac_mf,syne_asha,syne_bohb"
CACHE = accounting.ROOT / "runs" / "bench_multifidelity.jsonl"
_CLIENT: accounting.SurrogateClient | None = None


def _client() -> accounting.SurrogateClient:
    global _CLIENT  # one surrogate server per worker process
    if _CLIENT is None:
        _CLIENT = accounting.SurrogateClient()
    return _CLIENT


def one_run(task: tuple[str, str, int, float]) -> dict:
    """(method, instance, seed, unit seconds) -> the run's record (cache line)."""
    import logging
    import warnings

    from threadpoolctl import threadpool_limits

    warnings.filterwarnings("ignore")
    logging.getLogger("hpsearch").setLevel(logging.ERROR)
    method, instance, seed, unit = task
    client = _client()
    problem = accounting.Problem(instance, unit, lambda configs: client.curves(instance, configs))
    with threadpool_limits(1):
        outcome = methods.run(method, problem, seed)
    ledger = problem.ledger
    return {"kind": "run", "method": method, "instance": instance, "seed": seed,
            "full": ledger.full, "epochs": ledger.epochs, **outcome}


class Cache:
    """The JSON-lines file of references and runs; appended to as runs finish."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.references: dict[str, accounting.Reference] = {}
        self.runs: dict[tuple[str, str, int], dict] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    self._take(json.loads(line))

    def _take(self, record: dict) -> None:
        if record["kind"] == "reference":
            self.references[record["instance"]] = accounting.Reference(
                record["unit"], record["top"], record["median"])
        else:
            self.runs[(record["method"], record["instance"], record["seed"])] = record

    def add(self, record: dict) -> None:
        self._take(record)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as file:
            file.write(json.dumps(record) + "\n")


def ensure_references(cache: Cache, instances: list[str]) -> None:
    for instance in instances:
        if instance not in cache.references:
            ref = accounting.reference(_client(), instance)
            cache.add({"kind": "reference", "instance": instance, "unit": ref.unit,
                       "top": ref.top, "median": ref.median})


def run_all(cache: Cache, tasks: list[tuple[str, str, int]], jobs: int) -> None:
    todo = [(m, i, s, cache.references[i].unit) for m, i, s in tasks
            if (m, i, s) not in cache.runs]
    print(f"# {len(tasks) - len(todo)} runs cached, {len(todo)} to run, {jobs} at a time",
          flush=True)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(one_run, task) for task in todo]
        for done, future in enumerate(futures, 1):
            cache.add(future.result())
            if done % 20 == 0 or done == len(todo):
                print(f"# {done}/{len(todo)} runs, {time.perf_counter() - started:.0f} s",
                      flush=True)


# -- the tables ----------------------------------------------------------------------------

def scores(cache: Cache, names: list[str], instances: list[str], seeds: list[int],
           units: float) -> dict[tuple[str, int], dict[str, float | None]]:
    """(instance, seed) -> method -> incumbent at `units`, for the cells every method ran."""
    out = {}
    for instance in instances:
        for seed in seeds:
            runs = {m: cache.runs.get((m, instance, seed)) for m in names}
            if all(runs.values()):
                out[(instance, seed)] = {m: accounting.incumbent(r["full"], units)
                                         for m, r in runs.items()}
    return out


def table(cache: Cache, names: list[str], instances: list[str], seeds: list[int]) -> None:
    per_unit = {u: scores(cache, names, instances, seeds, u) for u in accounting.CHECKPOINTS}
    cells = len(per_unit[accounting.CHECKPOINTS[0]])
    print(f"\n## LCBench surrogate, {cells} runs a method ({len(instances)} instances x "
          f"{len(seeds)} seeds), budget {accounting.BUDGET_UNITS} units: mean rank (1 = best) "
          "and median normalised regret of the epoch-52 incumbent")
    head = "".join(f"{'rank@' + str(u):>9}" for u in accounting.CHECKPOINTS)
    head += "".join(f"{'regret@' + str(u):>11}" for u in accounting.CHECKPOINTS)
    width = max(24, *(len(m) + 2 for m in names))
    print(f"{'method':<{width}}{head}{'s/run':>9}{'trials':>8}{'epochs':>8}{'bounds':>8}")
    for m in names:
        row = ""
        for u in accounting.CHECKPOINTS:
            cell_ranks = [accounting.ranks(v)[m] for v in per_unit[u].values()]
            row += f"{_mean(cell_ranks):>9.2f}"
        for u in accounting.CHECKPOINTS:
            regrets = [accounting.regret(v[m], cache.references[i].top,
                                         cache.references[i].median)
                       for (i, _s), v in per_unit[u].items()]
            row += f"{statistics.median(regrets) if regrets else math.nan:>11.3f}"
        runs = [cache.runs[(m, i, s)] for (i, s) in per_unit[accounting.CHECKPOINTS[0]]]
        row += f"{_mean([r['seconds'] for r in runs]):>9.2f}"
        row += f"{_median([r['trials'] for r in runs]):>8.0f}"
        row += f"{_median([r['epochs'] for r in runs]):>8.0f}"
        row += f"{_median([r.get('bounds', math.nan) for r in runs]):>8.2f}"
        print(f"{m:<{width}}{row}")


def paired(cache: Cache, first: str, second: str, instances: list[str], seeds: list[int]) -> None:
    """Wins / ties / losses of `first` against `second`, run by run, at each checkpoint."""
    parts = []
    for u in accounting.CHECKPOINTS:
        cells = scores(cache, [first, second], instances, seeds, u).values()
        r = [accounting.ranks(v) for v in cells]
        wins = sum(x[first] < x[second] for x in r)
        ties = sum(x[first] == x[second] for x in r)
        parts.append(f"@{u}: {wins}/{ties}/{len(r) - wins - ties}")
    print(f"{first} vs {second} (wins/ties/losses): " + ", ".join(parts))


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="dev",
                        help="comma-separated OpenML task ids, or 'dev' (the 26 development "
                             "instances)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--methods", default=DEFAULT_METHODS)
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (processes)")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--paired", default="",
                        help="comma-separated first:second pairs of methods to compare run by "
                             "run (wins/ties/losses of the first), e.g. gp+asha:gp")
    parser.add_argument("--cached-only", action="store_true",
                        help="print the tables from the cache; run nothing")
    args = parser.parse_args(argv)
    instances = DEV_INSTANCES if args.instances == "dev" else args.instances.split(",")
    names = args.methods.split(",")
    unknown = [m for m in names if not methods.known(m)]
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}; ours: "
                     f"{'|'.join(methods.OURS)}[+{'|'.join(methods.OUR_SCHEDULERS)}], "
                     f"optuna_tpe[+hyperband], peers: {', '.join(methods.PEER_VENVS)}")
    seeds = list(range(args.seeds))
    cache = Cache(args.cache)
    if not args.cached_only:
        for m in [m for m in names if not methods.available(m)]:
            print(f"# {m} skipped: its venv {methods.VENVS / methods.PEER_VENVS[m]} is missing")
        names = [m for m in names if methods.available(m)]
        ensure_references(cache, instances)
        run_all(cache, [(m, i, s) for i in instances for s in seeds for m in names], args.jobs)
    print(f"# {' '.join(sys.argv)}; pid {os.getpid()}")
    table(cache, names, instances, seeds)
    pairs = [("random+hyperband", "random+asha"), ("random+hyperband", "random")]
    pairs += [tuple(pair.rsplit(":", 1)) for pair in args.paired.split(",") if ":" in pair]
    for first, second in pairs:
        if first in names and second in names:
            paired(cache, first, second, instances, seeds)


if __name__ == "__main__":
    main()
