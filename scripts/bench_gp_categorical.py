"""gp on a categorical with many choices: seconds and memory per ask.

    python scripts/bench_gp_categorical.py [--choices 10000] [--told 20] [--asks 3]
    python scripts/bench_gp_categorical.py --against /path/to/other/checkout   # side by side

The space is one categorical of `--choices` choices and one float; `--told` trials are told,
then `--asks` asks are timed one by one (each told before the next). Every measurement runs in
a fresh process (ru_maxrss is per process) and prints the median ask time, the tracemalloc
peak of one ask and the growth of the process's peak RSS over the asks. With `--against`, the
same measurement also runs with that checkout first on PYTHONPATH, and the ratios are printed.
Run under `flock /tmp/bench.lock` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np


def measure(choices: int, told: int, asks: int) -> dict[str, float]:
    import hpsearch as hp
    from hpsearch.strategies import make_strategy
    from hpsearch.trial import FrozenTrial, TrialState

    space = hp.Space({"c": hp.Categorical([f"c{i}" for i in range(choices)]),
                      "x": hp.Float(0.0, 1.0)})
    rng = np.random.default_rng(0)
    strategy = make_strategy("gp", space, np.random.default_rng(1), "minimize")

    def value(params):
        return (params["x"] - 0.3) ** 2 + (int(params["c"][1:]) % 7) / 10

    for number in range(told):
        params = space.sample(rng)
        strategy.tell(FrozenTrial(number, params, TrialState.COMPLETE, seed=number,
                                  value=value(params)))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times, peaks = [], []
    for k in range(asks):
        tracemalloc.start()
        start = time.perf_counter()
        (params,) = strategy.ask(1)
        times.append(time.perf_counter() - start)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        strategy.tell(FrozenTrial(told + k, params, TrialState.COMPLETE, seed=told + k,
                                  value=value(params)))
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    return {"seconds": statistics.median(times), "traced_mib": max(peaks) / 2**20,
            "rss_mib": grown / 1024, "module": hp.__file__}


def run_in_process(args: argparse.Namespace, path: str | None) -> dict[str, float]:
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([path, env.get("PYTHONPATH", "")])
    command = [sys.executable, __file__, "--choices", str(args.choices), "--told",
               str(args.told), "--asks", str(args.asks), "--child"]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(label: str, result: dict[str, float]) -> None:
    print(f"{label}: ask median {result['seconds']:.3g} s, tracemalloc peak "
          f"{result['traced_mib']:.1f} MiB, peak RSS growth {result['rss_mib']:.1f} MiB "
          f"({result['module']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--choices", type=int, default=10_000)
    parser.add_argument("--told", type=int, default=20)
    parser.add_argument("--asks", type=int, default=3)
    parser.add_argument("--against", help="another checkout to measure side by side")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.choices, args.told, args.asks)))
        return
    print(f"gp, a categorical of {args.choices} choices and a float, {args.told} trials told, "
          f"{args.asks} asks")
    here = run_in_process(args, None)
    show("this checkout", here)
    if args.against:
        other = run_in_process(args, args.against)
        show("--against", other)
        print(f"ratio (--against / this): time {other['seconds'] / here['seconds']:.3g}x, "
              f"traced memory {other['traced_mib'] / max(here['traced_mib'], 1e-9):.3g}x")


if __name__ == "__main__":
    main()
