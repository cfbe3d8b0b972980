"""Scores of predictions: the one place nn_core computes accuracy, log loss, R^2, MSE and MAE.

Each metric follows the scikit-learn function of the same meaning (`accuracy_score`,
`log_loss`, `r2_score`, `mean_squared_error`, `mean_absolute_error` in `sklearn.metrics`, with
their default averaging) and is tested against it. Results are Python floats computed in
float64. Notation: N samples, C classes, L outputs (regression) or labels (multi-label).

- `accuracy(y_true, y_pred)`: labels (N,), or 0/1 label matrices (N, L) (subset accuracy: a
  row counts only if every label is right).
- `log_loss(y_true, proba, classes=None, eps=1e-12)`: probabilities clipped to [eps, 1 - eps]
  (scikit-learn clips at the dtype's machine epsilon instead: the two differ only where a
  probability lies within 1e-12 of 0 or 1).
- `r2(y_true, y_pred)`: averaged uniformly over outputs. A constant target scores 1.0 when it is
  predicted exactly and 0.0 otherwise (`r2_score`'s rule with its default
  `force_finite=True`); `r2_from_sums` applies the same rule to per-output sums of squares.
  Unlike `r2_score`, a single sample gives that constant-target score instead of NaN.
- `mean_squared_error`, `mean_absolute_error`: averaged over all N * L entries.

For models, by task (`TASKS`, the names of hpsearch study files; `task_of(loss)` maps a network
loss to its task):

- `score(metric, y_true, output, task, classes=None)`: a metric of a model's output, output being
  class probabilities (N, C) (classification), label probabilities (N, L) (multilabel) or
  predictions (N,) / (N, L) (regression). metric "loss" is the task's loss: log loss, or MSE.
- `network_score(task, scores, y)`: the trainer's figure from raw network scores (no softmax or
  sigmoid applied): accuracy, subset accuracy, or R^2. `MinibatchScore` accumulates the same
  figure over an epoch's minibatches.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "METRICS",
    "TASKS",
    "MinibatchScore",
    "accuracy",
    "log_loss",
    "mean_absolute_error",
    "mean_squared_error",
    "network_predictions",
    "network_score",
    "r2",
    "r2_from_sums",
    "score",
    "task_of",
]

TASKS = ("classification", "multilabel", "regression")
#: metrics `score` accepts for each task ("loss": log_loss, or mse for regression)
METRICS = {
    "classification": ("accuracy", "log_loss", "loss"),
    "multilabel": ("accuracy", "log_loss", "loss"),
    "regression": ("r2", "mse", "mae", "loss"),
}
LOG_LOSS_EPS = 1e-12


# --- metrics of predictions -----------------------------------------------------------------


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of rows predicted exactly: y_true, y_pred (N,) labels or (N, L) label matrices."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape; got {y_true.shape} "
                         f"and {y_pred.shape}")
    right = y_true == y_pred
    return float(np.mean(right if right.ndim == 1 else np.all(right, axis=1)))


def log_loss(
    y_true: np.ndarray,
    proba: np.ndarray,
    classes: np.ndarray | None = None,
    eps: float = LOG_LOSS_EPS,
) -> float:
    """Mean negative log-likelihood of the true labels.

    Multiclass: y_true (N,) labels and proba (N, C) rows of class probabilities; the labels are
    column indices, or values of `classes` (C,) (sorted: the label of each column), where a
    label not among them has probability 0. Returns -mean_n log p[n, y_n].
    Multi-label: y_true (N, L) 0/1 and proba (N, L) per-label probabilities; returns the mean
    binary cross-entropy over all N * L entries (the mean over labels of scikit-learn's binary
    log loss of each column).
    """
    y_true = np.asarray(y_true)
    proba = np.clip(np.asarray(proba, dtype=np.float64), eps, 1.0 - eps)
    if y_true.ndim == 2:
        if y_true.shape != proba.shape:
            raise ValueError(f"multi-label y_true {y_true.shape} and proba {proba.shape} must "
                             "have the same shape")
        targets = y_true.astype(np.float64)
        return float(-np.mean(targets * np.log(proba) + (1.0 - targets) * np.log1p(-proba)))
    rows = np.arange(len(y_true))
    if classes is None:
        return float(-np.mean(np.log(proba[rows, y_true])))
    classes = np.asarray(classes)
    columns = np.clip(np.searchsorted(classes, y_true), 0, len(classes) - 1)
    known = classes[columns] == y_true
    true_proba = np.where(known, proba[rows, columns], eps)
    return float(-np.mean(np.log(true_proba)))


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination, uniform average over outputs; y_true (N,) or (N, L),
    y_pred with as many entries (reshaped to y_true's shape). See the module docstring."""
    targets = np.asarray(y_true, dtype=np.float64)
    targets = targets.reshape(targets.shape[0], -1)
    predictions = np.asarray(y_pred, dtype=np.float64).reshape(targets.shape)
    residual = ((targets - predictions) ** 2).sum(axis=0)
    total = ((targets - targets.mean(axis=0)) ** 2).sum(axis=0)
    return r2_from_sums(residual, total)


def r2_from_sums(residual: np.ndarray, total: np.ndarray) -> float:
    """R^2 from per-output sums of squares (L,): residual sum((y - pred)**2), total
    sum((y - mean(y))**2). An output with total 0 scores 1.0 if residual is 0, else 0.0."""
    residual = np.asarray(residual, dtype=np.float64)
    total = np.asarray(total, dtype=np.float64)
    safe_total = np.where(total != 0, total, 1.0)
    per_output = np.where(residual == 0, 1.0, np.where(total != 0, 1.0 - residual / safe_total,
                                                       0.0))
    return float(per_output.mean())


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean of (y_true - y_pred)**2 over all entries; y_pred is reshaped to y_true's shape."""
    return float(np.mean(_difference(y_true, y_pred) ** 2))


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean of |y_true - y_pred| over all entries; y_pred is reshaped to y_true's shape."""
    return float(np.mean(np.abs(_difference(y_true, y_pred))))


def _difference(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    targets = np.asarray(y_true, dtype=np.float64)
    return targets - np.asarray(y_pred, dtype=np.float64).reshape(targets.shape)


# --- scores of models, by task --------------------------------------------------------------


def task_of(loss: str) -> str:
    """The task of a network loss: "classification" (softmax, svm), "multilabel"
    (sigmoid_cross_entropy) or "regression" (l2, l1)."""
    if loss in ("softmax", "svm"):
        return "classification"
    if loss == "sigmoid_cross_entropy":
        return "multilabel"
    return "regression"


def score(
    metric: str,
    y_true: np.ndarray,
    output: np.ndarray,
    task: str,
    classes: np.ndarray | None = None,
) -> float:
    """The metric (see `METRICS`) of a model's output against y_true for `task`.

    classification: output (N, C) class probabilities, y_true (N,) labels: column indices, or
    values of `classes` (C,) (sorted, the label of each column). Accuracy takes the most
    probable class. multilabel: output (N, L) label probabilities, y_true (N, L) 0/1; a label
    is predicted where its probability exceeds 0.5. regression: output (N,) or (N, L)
    predictions with as many entries as y_true. ValueError for an unknown task or a metric
    the task does not have.
    """
    if task not in METRICS:
        raise ValueError(f"task must be one of {', '.join(map(repr, TASKS))}; got {task!r}")
    if metric not in METRICS[task]:
        raise ValueError(f"metric for task {task!r} must be one of "
                         f"{', '.join(map(repr, METRICS[task]))}; got {metric!r}")
    y_true = np.asarray(y_true)
    output = np.asarray(output)
    if task == "regression":
        measure = {"r2": r2, "mae": mean_absolute_error}.get(metric, mean_squared_error)
        return measure(y_true, output)
    if metric in ("log_loss", "loss"):
        return log_loss(y_true, output, classes if task == "classification" else None)
    if task == "multilabel":
        return accuracy(y_true > 0.5, output > 0.5)
    predicted = output.argmax(axis=1)
    return accuracy(y_true, predicted if classes is None else np.asarray(classes)[predicted])


def network_predictions(task: str, scores: np.ndarray) -> np.ndarray:
    """What raw network scores (N, C) predict: class indices (N,) by argmax (classification),
    a boolean label matrix (N, L) of scores > 0, i.e. sigmoid > 0.5 (multilabel), or the
    scores themselves (regression)."""
    if task == "classification":
        return scores.argmax(axis=1)
    if task == "multilabel":
        return scores > 0
    return scores


def network_score(task: str, scores: np.ndarray, y: np.ndarray) -> float:
    """Accuracy (classification; y (N,) class indices), subset accuracy (multilabel; y (N, L)
    0/1) or R^2 (regression; y (N,) or (N, L)) of raw network scores (N, C)."""
    predicted = network_predictions(task, scores)
    if task == "regression":
        return r2(y, predicted)
    return accuracy(y > 0.5 if task == "multilabel" else y, predicted)


class MinibatchScore:
    """`network_score` of one epoch's training rows, accumulated from its minibatches' scores.

    `MinibatchScore(task, y)` with the training targets y (N,) or (N, L); `add(scores, y_batch)`
    per minibatch, `value()` once every row has been added, `reset()` before the next epoch.
    Accuracy counts correct rows; R^2 sums squared errors per output against the total sum of
    squares of the whole training set.
    """

    def __init__(self, task: str, y: np.ndarray) -> None:
        self.task = task
        self.n = y.shape[0]
        if task == "regression":
            targets = y.reshape(self.n, -1).astype(np.float64)
            self.total = ((targets - targets.mean(axis=0)) ** 2).sum(axis=0)
        self.reset()

    def reset(self) -> None:
        self.correct = 0
        self.squared_error: float | np.ndarray = 0.0

    def add(self, scores: np.ndarray, y_batch: np.ndarray) -> None:
        """Account for one minibatch: scores (n, C), y_batch its n targets."""
        predicted = network_predictions(self.task, scores)
        if self.task == "regression":
            self.squared_error += ((predicted - y_batch.reshape(scores.shape)) ** 2).sum(axis=0)
        elif self.task == "multilabel":
            self.correct += np.count_nonzero(np.all(predicted == (y_batch > 0.5), axis=1))
        else:
            self.correct += np.count_nonzero(predicted == y_batch)

    def value(self) -> float:
        """The epoch's score."""
        if self.task == "regression":
            return r2_from_sums(self.squared_error, self.total)
        return float(self.correct) / self.n
