"""Do ensembles of a study's trials beat its best single trial? Digits, several seeds.

For each seed: a study of the built-in network on scikit-learn's digits (split 60/20/20 from
the seed; pixels scaled to [-1, 1]; the search space of studies/digits_mlp.toml, batchnorm
on or off included) with `--n-trials` trials (`--strategy`, default gp, n_jobs=2), each trial
trained `--repeats` times and checkpointed at `--checkpoints`; then, from the run folder, the
ensembles
`predictions` (top 5), `greedy` (every complete trial, 20 picks), `greedy bagged` (the same
in 20 bags of half the trials, for comparison) and `snapshot` (the best trial's checkpoints),
and the first two again with `refit` (each chosen network trained again on train+val), whose
wins are counted against the best single trial refitted the same way.
All choices use validation predictions; the test split only scores.
Prints a table per seed (test accuracy; the best single trial is the best by validation) and
the medians, and each ensemble's wins (seeds where it scores at least the best single trial)
and median, for the issue's mark: at least 4 wins of 5 and a median of at least 97.8%.

    flock /tmp/bench.lock python scripts/ensemble_study.py                  # 5 seeds x 30 trials
    python scripts/ensemble_study.py --seeds 1 --n-trials 4 --epochs 3      # smoke run
    python scripts/ensemble_study.py --storage runs/ens --rescore           # re-score kept runs

Run folders go to `--storage` (default: a temporary folder, removed at the end).
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import tempfile
import time
from pathlib import Path

from hpsearch.ensembles import build_ensemble
from hpsearch.exceptions import EnsembleError
from hpsearch.studyfile import runner
from hpsearch.studyfile.reader import load_study_file

STUDY = """
[study]
name = "digits_seed{seed}"
strategy = "{strategy}"
n_trials = {n_trials}
n_jobs = {n_jobs}
seed = {seed}
direction = "maximize"
metric = "val_accuracy"
storage = "{storage}"

[objective]
kind = "mlp"
task = "classification"
dataset = "digits"
val_fraction = 0.2
test_fraction = 0.2
repeats = {repeats}
checkpoint_epochs = {checkpoints}

[objective.fixed]
activation = "relu"
epochs = {epochs}
batch_size = 64
preprocess = "minmax"

"""

# The built-in example's search space, read from its study file so the two never drift apart.
SPACE = (Path(__file__).resolve().parent.parent / "studies" / "digits_mlp.toml").read_text()
SPACE = SPACE[SPACE.index("\n[space]\n") + 1:]

# (column, method, options); a "refit" column is compared with the best single trial refitted.
METHODS = (("top-5", "predictions", {"top_k": 5}),
           ("greedy", "greedy", {"size": 20}),
           ("greedy bagged", "greedy", {"size": 20, "bags": 20}),
           ("snapshot", "snapshot", {}),
           ("top-5 refit", "predictions", {"top_k": 5, "refit": True}),
           ("greedy refit", "greedy", {"size": 20, "refit": True}))


def one_seed(seed: int, args: argparse.Namespace, storage: Path) -> dict[str, float]:
    """Run one study (or, with --rescore, read its run folder) and score the ensembles;
    returns {column: test accuracy}."""
    path = storage / f"digits_seed{seed}.toml"
    row = {"study_s": math.nan}  # nan: --rescore runs no study
    if args.rescore:
        spec = load_study_file(path)
    else:
        checkpoints = [e for e in args.checkpoints if e <= args.epochs]
        path.write_text(STUDY.format(seed=seed, strategy=args.strategy, n_trials=args.n_trials,
                                     n_jobs=args.n_jobs, storage=storage, repeats=args.repeats,
                                     checkpoints=checkpoints, epochs=args.epochs) + SPACE)
        spec = load_study_file(path)
        started = time.perf_counter()
        runner.run(spec)
        row["study_s"] = time.perf_counter() - started
    for column, method, options in METHODS:
        try:
            built = build_ensemble(spec.run_dir, method, **options)
        except EnsembleError as err:
            print(f"  seed {seed} {column}: {err}")
            row[column] = float("nan")
            continue
        row.setdefault("best", built.best_test)
        row.setdefault("best val", built.best_val)
        if built.best_refit_test is not None:
            row.setdefault("best refit", built.best_refit_test)
        row[column] = built.test_score
        row[f"{column} val"] = built.val_score
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds run from here (default 0: seeds 0, 1, ...)")
    parser.add_argument("--n-trials", type=int, default=30)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--strategy", default="gp", choices=("random", "gp", "tpe"))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--checkpoints", type=int, nargs="*", default=[20, 24, 27, 30],
                        help="checkpoint_epochs of every trial (for snapshot)")
    parser.add_argument("--storage", type=Path, default=None,
                        help="keep the run folders here (default: a temporary folder)")
    parser.add_argument("--rescore", action="store_true",
                        help="score the run folders already in --storage (from an earlier run "
                             "of this script) without running the studies again")
    args = parser.parse_args()
    if args.rescore and args.storage is None:
        parser.error("--rescore needs --storage (the folder of an earlier run)")
    logging.basicConfig(level=logging.WARNING)
    columns = ["best", *(c for c, _, _ in METHODS[:4]), "best refit",
               *(c for c, _, _ in METHODS[4:])]
    settings = "(stored runs, rescored)" if args.rescore else (
        f"x {args.n_trials} trials ({args.strategy}, {args.epochs} epochs, repeats "
        f"{args.repeats}, checkpoints {args.checkpoints})")
    print(f"digits, {args.seeds} seeds {settings}; test accuracy %; best = the best single "
          "trial by validation")
    with tempfile.TemporaryDirectory() as scratch:
        storage = args.storage or Path(scratch)
        storage.mkdir(parents=True, exist_ok=True)
        rows = []
        print("seed  " + "  ".join(f"{c:>13}" for c in columns) + "  best val  study s")
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            row = one_seed(seed, args, storage.resolve())
            rows.append(row)
            print(f"{seed:>4}  " + "  ".join(f"{100 * row.get(c, math.nan):>13.2f}"
                                             for c in columns)
                  + f"  {100 * row['best val']:>8.2f}  {row['study_s']:>7.0f}")
    print("median" + "".join(
        f"  {100 * statistics.median(r.get(c, math.nan) for r in rows):>13.2f}"
        for c in columns))
    for column in columns[1:]:
        if column == "best refit":
            continue
        against = "best refit" if column.endswith("refit") else "best"
        wins = sum(r.get(column, math.nan) >= r.get(against, math.nan) for r in rows)
        median = statistics.median(r.get(column, math.nan) for r in rows)
        print(f"{column}: >= {against} on {wins}/{len(rows)} seeds, median "
              f"{100 * median:.2f}%")


if __name__ == "__main__":
    main()
