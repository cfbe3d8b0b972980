"""The issue's scikit-learn reference, on exactly the splits of scripts/ensemble_study.py.

For each seed: the digits split that a study with that seed draws (60/20/20, stratified, from
SeedSequence([seed, 2]) as in hpsearch.objectives.mlp), then a 30-configuration random search
of scikit-learn's MLPClassifier (hidden sizes 32-512 log-uniform, 1-3 layers, alpha 1e-6-1e-1,
learning rate 1e-4-3e-2, 100 Adam epochs, pixels / 16). Prints the test accuracy of the best
configuration by validation, of the mean of the top 5 by validation, and of the best on the test
set itself, per seed and as medians: what "best single" and "top-5" reach with a peer's network
on the same data, to read scripts/ensemble_study.py's figures against.

    flock /tmp/bench.lock python scripts/ensemble_sklearn_reference.py            # seeds 0-4
    python scripts/ensemble_sklearn_reference.py --seeds 1 --configs 3           # smoke run
"""

from __future__ import annotations

import argparse
import statistics
import warnings

import numpy as np

from nn_core.data import load_digits, split


def one_seed(seed: int, configs: int, data) -> tuple[float, float, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    rows = np.arange(len(data.y))[:, None]
    parts = split(rows, data.y, 0.2, 0.2, np.random.default_rng(np.random.SeedSequence([seed, 2])),
                  stratify=True)
    train, val, test = parts.X_train[:, 0], parts.X_val[:, 0], parts.X_test[:, 0]
    X, y = data.X / 16.0, data.y
    rng = np.random.default_rng(seed)
    results = []
    for number in range(configs):
        config = {
            "hidden_layer_sizes": (int(np.exp(rng.uniform(np.log(32), np.log(512)))),)
            * int(rng.integers(1, 4)),
            "alpha": float(np.exp(rng.uniform(np.log(1e-6), np.log(1e-1)))),
            "learning_rate_init": float(np.exp(rng.uniform(np.log(1e-4), np.log(3e-2)))),
            "max_iter": 100,
            "random_state": number,
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = MLPClassifier(**config).fit(X[train], y[train])
        results.append((model.score(X[val], y[val]), model.score(X[test], y[test]),
                        model.predict_proba(X[test])))
    results.sort(key=lambda r: -r[0])  # stable: ties keep the earlier configuration
    top5 = float(np.mean(np.mean([r[2] for r in results[:5]], axis=0).argmax(axis=1) == y[test]))
    return results[0][1], top5, max(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--configs", type=int, default=30)
    args = parser.parse_args()
    data = load_digits()
    print(f"scikit-learn MLPClassifier, {args.configs}-configuration random search per seed; "
          "test accuracy %")
    print("seed  best by val   top-5   best on test")
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        row = one_seed(seed, args.configs, data)
        rows.append(row)
        print(f"{seed:>4}  {100 * row[0]:>11.2f}  {100 * row[1]:>6.2f}  {100 * row[2]:>13.2f}",
              flush=True)
    medians = [statistics.median(r[i] for r in rows) for i in range(3)]
    print("median" + f"{100 * medians[0]:>11.2f}  {100 * medians[1]:>6.2f}  "
          f"{100 * medians[2]:>13.2f}")


if __name__ == "__main__":
    main()
