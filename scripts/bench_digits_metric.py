"""Which metric and noise model should the built-in digits study search with? gp on
val_accuracy with its defaults (noise_prior and incumbent "auto"), with the weak noise prior,
with the tight prior and the observed incumbent (the defaults before "auto"), gp on val_loss,
and random, over the same study seeds.

Each configuration runs studies/digits_mlp.toml as it is (space, fixed hyperparameters, 30
trials, n_jobs 2; the seed sets the data split, so every configuration of a seed sees the same
split) with only [study] strategy / metric / direction and gp's two noise options changed
(each gp configuration sets both, whatever the file says). The judge is what a user gets: the
test accuracy of the best trial by the study's own metric (and that trial's validation
accuracy), never used to choose. Prints a row per seed and the mean, median and wins.

    flock /tmp/bench.lock python scripts/bench_digits_metric.py               # 10 seeds
    python scripts/bench_digits_metric.py --seeds 1 --n-trials 6              # smoke run
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path

from hpsearch.studyfile.reader import load_study_file
from hpsearch.studyfile.runner import run

ROOT = Path(__file__).resolve().parent.parent
AUTO = {"noise_prior": "auto", "incumbent": "auto"}  # gp's defaults
CONFIGS = {  # name: (strategy, metric, direction, gp's noise options over the file's)
    "gp acc defaults": ("gp", "val_accuracy", "maximize", AUTO),
    "gp acc weak": ("gp", "val_accuracy", "maximize", {**AUTO, "noise_prior": "weak"}),
    "gp acc tight": ("gp", "val_accuracy", "maximize",
                     {"noise_prior": "tight", "incumbent": "observed"}),
    "gp val_loss": ("gp", "val_loss", "minimize", AUTO),
    "random": ("random", "val_accuracy", "maximize", {}),
}


def one_study(study_file: Path, config: str, seed: int, folder: Path, n_trials: int | None
              ) -> tuple[float, float]:
    """(test accuracy, validation accuracy) of the study's best trial."""
    strategy, metric, direction, extra = CONFIGS[config]
    spec = load_study_file(study_file, seed=seed, storage=folder / config.replace(" ", "-"),
                           n_trials=n_trials)
    options = {**(spec.strategy_options if strategy == spec.strategy else {}), **extra}
    spec = replace(spec, strategy=strategy, metric=metric, direction=direction,
                   strategy_options=options)
    best = run(spec).best_trial
    return float(best.metrics["test_accuracy"]), float(best.metrics["val_accuracy"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study-file", type=Path, default=ROOT / "studies" / "digits_mlp.toml")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--n-trials", type=int, default=None)
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help=f"comma-separated, of: {', '.join(CONFIGS)}")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("hpsearch").setLevel(logging.ERROR)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown or not configs:
        parser.error(f"--configs: unknown {unknown or configs}; choose from {', '.join(CONFIGS)}")
    results: dict[str, list[tuple[float, float]]] = {c: [] for c in configs}
    print(f"{'seed':>4}" + "".join(f"{c + ' test/val':>32}" for c in configs), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            row = f"{seed:>4}"
            for config in configs:
                test, val = one_study(args.study_file, config, seed, Path(tmp) / str(seed),
                                      args.n_trials)
                results[config].append((test, val))
                row += f"{test:>24.4f} / {val:.4f}"
            print(row, flush=True)
    print("\ntest accuracy of the best trial (chosen on the study's own metric)")
    for config, pairs in results.items():
        tests = [t for t, _ in pairs]
        others = [c for c in configs if c != config]
        wins = {o: sum(t > u for t, (u, _) in zip(tests, results[o], strict=True))
                for o in others}
        print(f"{config:<18} mean {statistics.fmean(tests):.4f}  median "
              f"{statistics.median(tests):.4f}  "
              + "  ".join(f"beats {o} on {w}/{len(tests)}" for o, w in wins.items()))


if __name__ == "__main__":
    main()
