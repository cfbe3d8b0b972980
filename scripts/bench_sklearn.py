"""Benchmark hpsearch.sklearn.SearchCV against the scikit-learn search peers, side by side.

Same budget for every method: 30 candidates, 5-fold cross-validation (cv=5: the same
unshuffled StratifiedKFold splits for all), one process (n_jobs=1), refit on the whole data
included, seeds 0-4. Two scikit-learn estimators on two data sets bundled with scikit-learn
(no download):
- svc: StandardScaler + SVC, C and gamma log-uniform (2 continuous dimensions);
- tree: DecisionTreeClassifier, max_depth and min_samples_leaf (integers), criterion
  (categorical), max_features (continuous): a mixed space;
on breast_cancer (569 x 30, 2 classes) and digits (1797 x 64, 10 classes).

Methods: searchcv_gp (SearchCV, strategy="gp"), bayes_skopt (scikit-optimize's
BayesSearchCV), optuna (optuna-integration's OptunaSearchCV, its default TPE sampler), random
(scikit-learn's RandomizedSearchCV). A peer that is not installed is skipped
(`pip install optuna-integration` for OptunaSearchCV: a benchmark-only package, never a
dependency of the project); one that fails is reported with its error.

Printed per problem: mean and standard deviation over the seeds of the best mean CV
accuracy (`best_score_`) and of the wall time of `fit`, and the time ratio to SearchCV.

    flock /tmp/bench.lock python scripts/bench_sklearn.py             # everything (~10 min)
    python scripts/bench_sklearn.py --seeds 1 --candidates 10          # a quick look
    python scripts/bench_sklearn.py --methods searchcv_gp,random --problems svc/breast_cancer
"""

from __future__ import annotations

import argparse
import importlib
import logging
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

METHODS = ("searchcv_gp", "bayes_skopt", "optuna", "random")
DATASETS = {"breast_cancer": load_breast_cancer, "digits": load_digits}
NEEDS = {"bayes_skopt": "skopt", "optuna": "optuna_integration"}


# -- the two estimators and their spaces, written once per library ------------------------------

def svc_estimator() -> Any:
    return make_pipeline(StandardScaler(), SVC())


def tree_estimator() -> Any:
    return DecisionTreeClassifier(random_state=0)


# (kind, low, high) or ("categorical", choices); log-uniform for "log".
SPACES: dict[str, dict[str, tuple]] = {
    "svc": {"svc__C": ("log", 1e-2, 1e3), "svc__gamma": ("log", 1e-5, 1e0)},
    "tree": {"max_depth": ("int", 1, 20), "min_samples_leaf": ("int", 1, 20),
             "criterion": ("categorical", ["gini", "entropy"]),
             "max_features": ("float", 0.1, 1.0)},
}
ESTIMATORS: dict[str, Callable[[], Any]] = {"svc": svc_estimator, "tree": tree_estimator}


def hp_space(spec: dict[str, tuple]) -> dict[str, Any]:
    import hpsearch as hp

    out = {}
    for name, (kind, *args) in spec.items():
        if kind == "categorical":
            out[name] = hp.Categorical(args[0])
        elif kind == "int":
            out[name] = hp.Int(*args)
        else:
            out[name] = hp.Float(*args, log=kind == "log")
    return out


def skopt_space(spec: dict[str, tuple]) -> dict[str, Any]:
    from skopt.space import Categorical, Integer, Real

    out = {}
    for name, (kind, *args) in spec.items():
        if kind == "categorical":
            out[name] = Categorical(args[0])
        elif kind == "int":
            out[name] = Integer(*args)
        else:
            out[name] = Real(*args, prior="log-uniform" if kind == "log" else "uniform")
    return out


def optuna_space(spec: dict[str, tuple]) -> dict[str, Any]:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out = {}
    for name, (kind, *args) in spec.items():
        if kind == "categorical":
            out[name] = CategoricalDistribution(args[0])
        elif kind == "int":
            out[name] = IntDistribution(*args)
        else:
            out[name] = FloatDistribution(*args, log=kind == "log")
    return out


def scipy_space(spec: dict[str, tuple]) -> dict[str, Any]:
    from scipy.stats import loguniform, randint, uniform

    out = {}
    for name, (kind, *args) in spec.items():
        if kind == "categorical":
            out[name] = list(args[0])
        elif kind == "int":
            out[name] = randint(args[0], args[1] + 1)
        elif kind == "log":
            out[name] = loguniform(*args)
        else:
            out[name] = uniform(args[0], args[1] - args[0])
    return out


# -- one search ---------------------------------------------------------------------------------

def make_search(method: str, estimator: Any, spec: dict[str, tuple], seed: int,
                candidates: int) -> Any:
    common = {"cv": 5, "n_jobs": 1, "refit": True}
    if method == "searchcv_gp":
        from hpsearch.sklearn import SearchCV

        return SearchCV(estimator, hp_space(spec), strategy="gp", n_trials=candidates,
                        seed=seed, **common)
    if method == "bayes_skopt":
        from skopt import BayesSearchCV

        return BayesSearchCV(estimator, skopt_space(spec), n_iter=candidates,
                             random_state=seed, **common)
    if method == "optuna":
        from optuna_integration import OptunaSearchCV

        return OptunaSearchCV(estimator, optuna_space(spec), n_trials=candidates,
                              random_state=seed, verbose=0, **common)
    from sklearn.model_selection import RandomizedSearchCV

    return RandomizedSearchCV(estimator, scipy_space(spec), n_iter=candidates,
                              random_state=seed, **common)


def run_one(method: str, problem: str, seed: int, candidates: int) -> tuple[float, float]:
    """(best mean CV score, seconds of fit) for one method, problem and seed."""
    estimator_name, dataset = problem.split("/")
    X, y = DATASETS[dataset](return_X_y=True)
    search = make_search(method, ESTIMATORS[estimator_name](), SPACES[estimator_name], seed,
                         candidates)
    started = time.perf_counter()
    search.fit(X, y)
    return float(search.best_score_), time.perf_counter() - started


def available(method: str) -> bool:
    module = NEEDS.get(method)
    if module is None:
        return True
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


# -- the table ----------------------------------------------------------------------------------

def summary(values: list[float]) -> str:
    if not values:
        return "-"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} +- {spread:.4f}"


def print_problem(problem: str, rows: dict[str, tuple[list[float], list[float]] | str]) -> None:
    print(f"\n{problem}")
    print(f"  {'method':<12} {'best mean CV accuracy':>22} {'fit seconds':>16} {'time / ours':>12}")
    ours = rows.get("searchcv_gp")
    our_time = statistics.mean(ours[1]) if isinstance(ours, tuple) and ours[1] else None
    for method, row in rows.items():
        if isinstance(row, str):
            print(f"  {method:<12} {row}")
            continue
        scores, times = row
        ratio = f"{statistics.mean(times) / our_time:.2f}x" if our_time else "-"
        seconds = f"{statistics.mean(times):.2f} +- {statistics.pstdev(times):.2f}"
        print(f"  {method:<12} {summary(scores):>22} {seconds:>16} {ratio:>12}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--problems", default=",".join(
        f"{e}/{d}" for e in ESTIMATORS for d in DATASETS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--candidates", type=int, default=30)
    args = parser.parse_args()
    logging.getLogger("hpsearch").setLevel(logging.ERROR)
    if available("optuna"):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore")  # peers' deprecation and experimental warnings
    methods = args.methods.split(",")
    print(f"{args.candidates} candidates, cv=5, n_jobs=1, seeds 0-{args.seeds - 1}; "
          "mean +- std over seeds")
    for problem in args.problems.split(","):
        rows: dict[str, tuple[list[float], list[float]] | str] = {}
        for method in methods:
            if not available(method):
                rows[method] = f"skipped: {NEEDS[method]} is not installed"
                continue
            scores, times = [], []
            try:
                for seed in range(args.seeds):
                    score, seconds = run_one(method, problem, seed, args.candidates)
                    scores.append(score)
                    times.append(seconds)
                rows[method] = (scores, times)
            except Exception as err:  # a peer's incompatibility is a row, not a crash
                rows[method] = f"failed: {type(err).__name__}: {str(err).splitlines()[0][:90]}"
        print_problem(problem, rows)


if __name__ == "__main__":
    main()
