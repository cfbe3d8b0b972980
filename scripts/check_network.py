"""Sanity and gradient check of an nn_core network on scikit-learn's bundled digits.

Builds a 64-100-50-10 ReLU network (He init), standardises the digits with training-split
statistics, prints the initial softmax loss next to ln 10, and prints the float64 gradient-check
table on a small batch. Exits 1 if the gradient check fails. Runs in a few seconds.

    python scripts/check_network.py [--seed 0] [--tolerance 1e-6]
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from nn_core.gradcheck import check_network_gradients
from nn_core.network import Network, NetworkConfig


def load_standardised_digits(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Training split of digits (80 %), standardised with its own mean and std."""
    from sklearn.datasets import load_digits  # only this tool needs scikit-learn

    digits = load_digits()
    order = rng.permutation(len(digits.target))
    train = order[: int(0.8 * len(order))]
    X, y = digits.data[train], digits.target[train]
    mean, std = X.mean(axis=0), X.std(axis=0)
    std[std == 0] = 1.0  # constant border pixels
    return (X - mean) / std, y


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=1e-6)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    X, y = load_standardised_digits(rng)
    # The seed's check: with small weights the scores are near zero, so the softmax is uniform
    # and the loss is ln C. He init gives scores of order one and a loss somewhat above it.
    for init in ("small", "he"):
        config = NetworkConfig(64, 10, hidden_sizes=(100, 50), activation="relu", init=init)
        initial_loss, _ = Network(config, rng).loss(X, y)
        print(f"initial loss ({init:>5} init) {initial_loss:.4f}   ln 10 = {math.log(10):.4f}   "
              f"(reg 0, {len(y)} samples)")
    config = NetworkConfig(64, 10, hidden_sizes=(100, 50), activation="relu", init="he", reg=0.0)
    network = Network(config, rng)

    batch = rng.choice(len(y), size=16, replace=False)
    report = check_network_gradients(network, X[batch], y[batch], num_checks=10, rng=rng)
    print(f"\ngradient check (float64, batch 16, h={report.h}):")
    print(report.format_table())
    verdict = "PASS" if report.passed(args.tolerance) else "FAIL"
    print(
        f"\nworst relative error {report.worst_relative_error:.3e}  "
        f"(tolerance {args.tolerance:g}): {verdict}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
