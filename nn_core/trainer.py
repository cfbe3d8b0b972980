"""The minibatch training loop and what it records ("babysitting the learning process").

`train(network, X, y, X_val=None, y_val=None, config=TrainConfig(), rng, callback=None)` trains
`network` (the `nn_core.network.Network` contract: `params`, `buffers`, `weight_keys`,
`loss(X, y, training, rng)`, `predict_scores(X)`) in place and returns a `History`.

Per epoch: the training rows are shuffled with `rng` (one gather into a reused buffer, then
contiguous minibatches; a remainder smaller than half a batch joins the last full batch, so no
step rests on a handful of samples, and n = 1797 with batch 128 gives 13 batches of 128 and one of
133 rather than a 15th batch of 5), each minibatch takes one forward/backward pass in training mode
(batchnorm batch statistics, dropout masks drawn from `rng`) and one step of the update rule
applied to all parameters as one flat vector; then the optional max-norm projection of every
weight matrix. The schedule sets the learning rate per epoch or per iteration (its `unit`).

Recorded (`History`): the loss of every iteration; per epoch the mean minibatch loss, the
training score taken from the minibatch scores already computed (no extra pass; accuracy for
classification, subset accuracy for multi-label, R^2 for regression; `eval_train=True` adds a
full evaluation-mode pass instead), the validation score and loss, the learning rate, the
update/weight ratio ||w_after - w_before|| / ||w_before|| of every weight matrix measured on the
epoch's last step (the seed's health figure: about 1e-3), and wall time.

Stopping, with `History.stop_reason`:
- "completed": all epochs ran.
- "early stopping: ...": `early_stopping=True` and the validation score did not improve for
  `patience` epochs; the parameters of the best epoch are restored.
- "callback": `callback(epoch, score)` returned True, or raised `StopTraining` (its message
  is appended). `score` is the epoch's validation score, or the training score without
  validation data. A callback with three required positional parameters is called
  `callback(epoch, score, val_loss)` (val_loss NaN without validation data). hpsearch uses
  this for pruning.
- "diverged: ...": the loss became non-finite or exceeded `explode_factor` times the first
  loss; the parameters from the start of that epoch (or the best epoch) are restored, so the
  network never holds NaN.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from nn_core import optim
from nn_core._validate import check_generator
from nn_core.losses import LOSSES
from nn_core.network import Network
from nn_core.regularization import max_norm as project_max_norm
from nn_core.schedules import Plateau, make_schedule

__all__ = ["History", "StopTraining", "TrainConfig", "score", "task_of", "train"]


class StopTraining(Exception):  # noqa: N818 - the name says what raising it does
    """Raised by a training callback to stop training; the message goes into stop_reason."""


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Rule settings a rule does not use are ignored.

    optimizer: sgd | momentum | nesterov | adagrad | rmsprop | adam | lbfgs.
    lr_schedule: None | step | exponential | inverse_time | plateau; lr_decay is its factor
    (step drop, plateau cut, or k of exponential / inverse_time), lr_step the epochs between
    step drops, lr_patience the epochs plateau waits. max_iter bounds L-BFGS iterations
    (full batch; epochs and batch_size are then unused). max_norm: radius of the max-norm
    constraint on every weight matrix's incoming vectors, None = off.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    decay_rate: float = 0.99
    lr_schedule: str | None = None
    lr_decay: float | None = None
    lr_step: int = 5
    lr_patience: int = 3
    batch_size: int = 128
    epochs: int = 20
    max_iter: int = 200
    max_norm: float | None = None
    early_stopping: bool = False
    patience: int = 10
    shuffle: bool = True
    eval_train: bool = False
    explode_factor: float = 1e3

    def rule_settings(self) -> dict[str, float]:
        """The keyword arguments of the chosen update rule besides the learning rate."""
        return {name: getattr(self, name) for name in optim.RULE_SETTINGS.get(self.optimizer, ())}


@dataclass(frozen=True)
class History:
    """What one training run saw. Per-epoch tuples have one entry per finished epoch.

    loss: (n_iterations,) minibatch loss (with the penalty) of every step.
    metric: "accuracy" (multiclass), "subset_accuracy" (multi-label) or "r2" (regression).
    """

    loss: np.ndarray
    epoch_loss: tuple[float, ...]
    train_score: tuple[float, ...]
    val_score: tuple[float, ...]
    val_loss: tuple[float, ...]
    learning_rate: tuple[float, ...]
    update_ratio: dict[str, tuple[float, ...]]
    epoch_time: tuple[float, ...]
    wall_time: float
    stop_reason: str
    best_epoch: int | None
    metric: str
    n_iterations: int = field(default=0)

    @property
    def epochs(self) -> int:
        """Number of finished epochs."""
        return len(self.epoch_loss)

    @property
    def train_accuracy(self) -> tuple[float, ...]:
        """Alias of train_score for classifiers."""
        return self.train_score

    @property
    def val_accuracy(self) -> tuple[float, ...]:
        """Alias of val_score for classifiers."""
        return self.val_score

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able values (lists and floats)."""
        out = asdict(self)
        out["loss"] = [float(v) for v in self.loss]
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        out["update_ratio"] = {k: list(v) for k, v in self.update_ratio.items()}
        return out


def task_of(loss: str) -> str:
    """"multiclass", "multilabel" or "regression" for a network loss name."""
    if loss in ("softmax", "svm"):
        return "multiclass"
    if loss == "sigmoid_cross_entropy":
        return "multilabel"
    return "regression"


def score(task: str, scores: np.ndarray, y: np.ndarray) -> float:
    """Accuracy, subset accuracy or R^2 (uniform average over outputs) of raw scores (N, C)."""
    if task == "multiclass":
        return float(np.mean(scores.argmax(axis=1) == y))
    if task == "multilabel":
        return float(np.mean(np.all((scores > 0) == (y > 0.5), axis=1)))
    targets = y.reshape(scores.shape[0], -1)
    residual = ((scores - targets) ** 2).sum(axis=0, dtype=np.float64)
    total = ((targets - targets.mean(axis=0)) ** 2).sum(axis=0, dtype=np.float64)
    return _r2(residual, total)


def _r2(residual: np.ndarray, total: np.ndarray) -> float:
    # Constant targets: R^2 is 1 for a perfect fit and 0 otherwise (scikit-learn's convention).
    safe = np.where(total > 0, total, 1.0)
    per_output = np.where(total > 0, 1.0 - residual / safe, np.where(residual == 0, 1.0, 0.0))
    return float(per_output.mean())


class _FlatParams:
    """Rebinds every parameter array as a view of one flat vector, gradients likewise.

    One rule call on the flat vector replaces a dozen small ones per step.
    """

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        self.keys = list(params)
        dtype = params[self.keys[0]].dtype
        total = sum(value.size for value in params.values())
        self.flat = np.empty(total, dtype=dtype)
        self.grad = np.empty(total, dtype=dtype)
        self.views: dict[str, np.ndarray] = {}
        self.grad_views: dict[str, np.ndarray] = {}
        self.slices: dict[str, slice] = {}
        offset = 0
        for key in self.keys:
            value = params[key]
            end = offset + value.size
            view = self.flat[offset:end].reshape(value.shape)
            view[...] = value
            params[key] = view
            self.views[key] = view
            self.grad_views[key] = self.grad[offset:end].reshape(value.shape)
            self.slices[key] = slice(offset, end)
            offset = end


def _check_training_data(network: Any, X: np.ndarray, y: np.ndarray, name: str) -> tuple:
    X = np.asarray(X)
    y = np.asarray(y)
    dtype = getattr(network, "dtype", None) or next(iter(network.params.values())).dtype
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{name}: X must be (N, D) and y must have N rows; got {X.shape} and {y.shape}"
        )
    return np.ascontiguousarray(X, dtype=dtype), y


def train(
    network: Any,
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    config: TrainConfig | None = None,
    rng: np.random.Generator | None = None,
    callback: Callable[[int, float], bool | None] | None = None,
) -> History:
    """Train `network` in place on X (N, D), y (N,) int labels or (N, C) targets.

    X_val, y_val: optional validation split (scored once per epoch in evaluation mode).
    rng: the Generator for shuffling and dropout (default: seed 0).
    callback(epoch, score) -> True stops training (see the module docstring).
    """
    config = TrainConfig() if config is None else config
    rng = check_generator("rng", rng if rng is not None else np.random.default_rng(0))
    X, y = _check_training_data(network, X, y, "training data")
    has_val = X_val is not None and y_val is not None
    if has_val:
        X_val, y_val = _check_training_data(network, X_val, y_val, "validation data")
    if config.early_stopping and not has_val:
        raise ValueError("early_stopping needs validation data (X_val, y_val)")
    task = task_of(network.config.loss)
    metric = {"multiclass": "accuracy", "multilabel": "subset_accuracy"}.get(task, "r2")
    callback = _with_val_loss(callback)
    if config.optimizer == "lbfgs":
        return _train_lbfgs(network, X, y, X_val, y_val, config, callback, task, metric)
    rule = optim.TRAINER_RULES.get(config.optimizer, optim.get_rule(config.optimizer))
    settings = config.rule_settings()
    if not (isinstance(config.batch_size, int) and config.batch_size >= 1):
        raise ValueError(f"batch_size must be a positive integer; got {config.batch_size!r}")
    schedule = make_schedule(
        config.lr_schedule,
        config.learning_rate,
        decay=config.lr_decay,
        step=config.lr_step,
        patience=config.lr_patience,
        mode="max" if has_val else "min",
    )
    data_loss = LOSSES[network.config.loss]

    start_time = time.perf_counter()
    flat = _FlatParams(network.params)
    state: dict[str, Any] = {}
    n = X.shape[0]
    batch_size = min(config.batch_size, n)
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] < batch_size / 2:
        starts.pop()  # the small remainder joins the last full batch (module docstring)
    ends = [*starts[1:], n]
    X_epoch = np.empty_like(X)
    y_epoch = np.empty_like(y)
    losses = np.empty(len(starts) * config.epochs, dtype=np.float64)
    weight_keys = list(network.weight_keys)
    if task == "regression":
        targets = y.reshape(n, -1).astype(np.float64)
        train_total = ((targets - targets.mean(axis=0)) ** 2).sum(axis=0)

    # The training score comes from the minibatch scores the loss already computed
    # (`network.last_scores`); a network without them gets a full pass per epoch.
    tapped = isinstance(network, Network)
    eval_train = config.eval_train or not tapped
    record: dict[str, list] = {
        key: []
        for key in ("epoch_loss", "train_score", "val_score", "val_loss", "lr", "epoch_time")
    }
    ratios: dict[str, list[float]] = {key: [] for key in weight_keys}
    best_score, best_epoch, best_params, best_buffers = -math.inf, None, None, None
    stalled = 0
    stop_reason = "completed"
    iteration = 0
    limit = math.inf
    for epoch in range(config.epochs):
        safe_params = flat.flat.copy()
        safe_buffers = {key: value.copy() for key, value in network.buffers.items()}
        if config.shuffle:
            order = rng.permutation(n)
            np.take(X, order, axis=0, out=X_epoch)
            np.take(y, order, axis=0, out=y_epoch)
        else:
            X_epoch, y_epoch = X, y
        learning_rate = schedule(epoch)
        epoch_loss = 0.0
        correct = 0.0
        squared_error = 0.0
        diverged = None
        last = len(starts) - 1
        for b, (begin, end) in enumerate(zip(starts, ends, strict=True)):
            Xb = X_epoch[begin:end]
            yb = y_epoch[begin:end]
            if schedule.unit == "iteration":
                learning_rate = schedule(iteration)
            loss, _ = network.loss(Xb, yb, training=True, rng=rng, grads_out=flat.grad_views)
            losses[iteration] = loss
            iteration += 1
            if not loss < limit:  # also catches NaN
                if math.isfinite(loss):
                    diverged = (
                        f"diverged: loss {loss:.4g} exceeded {config.explode_factor:g} x "
                        f"the first loss at iteration {iteration}"
                    )
                else:
                    diverged = f"diverged: non-finite loss ({loss}) at iteration {iteration}"
                break
            if limit == math.inf:
                limit = config.explode_factor * max(abs(loss), 1e-12)
            epoch_loss += loss * Xb.shape[0]
            scores = network.last_scores
            if eval_train:
                pass
            elif task == "multiclass":
                correct += np.count_nonzero(scores.argmax(axis=1) == yb)
            elif task == "multilabel":
                correct += np.count_nonzero(np.all((scores > 0) == (yb > 0.5), axis=1))
            else:
                squared_error += ((scores - yb.reshape(scores.shape)) ** 2).sum(axis=0)
            if b == last:
                before = flat.flat.copy()
            rule(flat.flat, flat.grad, state, learning_rate=learning_rate, **settings)
            if config.max_norm is not None:
                for key in weight_keys:
                    view = flat.views[key]
                    project_max_norm(view, config.max_norm, out=view)
        if diverged is not None:
            stop_reason = diverged
            restore = best_params if best_params is not None else safe_params
            flat.flat[...] = restore
            for key, value in (best_buffers or safe_buffers).items():
                network.buffers[key] = value
            break
        # Per-epoch figures (cheap: the update ratio uses one snapshot per epoch).
        for key in weight_keys:
            after = flat.views[key]
            old = before[flat.slices[key]]
            denominator = float(np.linalg.norm(old))
            change = float(np.linalg.norm(after.ravel() - old))
            ratios[key].append(change / denominator if denominator > 0 else math.inf)
        record["epoch_loss"].append(epoch_loss / n)
        record["lr"].append(float(learning_rate))
        if eval_train:
            record["train_score"].append(score(task, network.predict_scores(X), y))
        elif task == "regression":
            record["train_score"].append(_r2(squared_error, train_total))
        else:
            record["train_score"].append(float(correct) / n)
        if has_val:
            val_scores = network.predict_scores(X_val)
            val_score = score(task, val_scores, y_val)
            record["val_score"].append(val_score)
            record["val_loss"].append(float(data_loss(val_scores, y_val)[0]))
            monitored = val_score
        else:
            monitored = record["train_score"][-1]
        record["epoch_time"].append(time.perf_counter() - start_time)
        if isinstance(schedule, Plateau):
            schedule.step(monitored if has_val else record["epoch_loss"][-1])
        if has_val:
            if val_score > best_score:
                best_score, best_epoch, stalled = val_score, epoch, 0
                if config.early_stopping:
                    best_params = flat.flat.copy()
                    best_buffers = {k: v.copy() for k, v in network.buffers.items()}
            else:
                stalled += 1
        if callback is not None:
            try:
                if callback(epoch, monitored,
                            record["val_loss"][-1] if has_val else math.nan):
                    stop_reason = "callback"
                    break
            except StopTraining as stop:
                stop_reason = f"callback: {stop}" if str(stop) else "callback"
                break
        if config.early_stopping and stalled >= config.patience:
            stop_reason = (
                f"early stopping: no validation improvement for {config.patience} epochs"
            )
            break
    if config.early_stopping and best_params is not None:
        flat.flat[...] = best_params
        for key, value in best_buffers.items():
            network.buffers[key] = value
    return History(
        loss=losses[:iteration].copy(),
        epoch_loss=tuple(record["epoch_loss"]),
        train_score=tuple(record["train_score"]),
        val_score=tuple(record["val_score"]),
        val_loss=tuple(record["val_loss"]),
        learning_rate=tuple(record["lr"]),
        update_ratio={key: tuple(values) for key, values in ratios.items()},
        epoch_time=tuple(record["epoch_time"]),
        wall_time=time.perf_counter() - start_time,
        stop_reason=stop_reason,
        best_epoch=best_epoch,
        metric=metric,
        n_iterations=iteration,
    )


def _with_val_loss(callback: Callable | None) -> Callable | None:
    """The callback as `f(epoch, score, val_loss)`: 2-argument callbacks ignore val_loss."""
    if callback is None:
        return None
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        params = []
    required = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                and p.default is p.empty]
    if len(required) >= 3 or any(p.kind is p.VAR_POSITIONAL for p in params):
        return callback
    return lambda epoch, value, val_loss: callback(epoch, value)


def _train_lbfgs(network, X, y, X_val, y_val, config, callback, task, metric) -> History:
    """Full-batch L-BFGS: the whole run counts as one epoch in the history."""
    start_time = time.perf_counter()
    before = {key: network.params[key].copy() for key in network.weight_keys}
    stop = {"reason": "completed"}

    def on_iteration(iteration: int, loss: float) -> bool:
        if not math.isfinite(loss):
            stop["reason"] = f"diverged: non-finite loss ({loss}) at iteration {iteration}"
            return True
        return False

    result = optim.lbfgs(network, X, y, max_iter=config.max_iter, callback=on_iteration)
    if result["message"] == "stopped by callback" and stop["reason"] == "completed":
        stop["reason"] = "callback"
    train_score = score(task, network.predict_scores(X), y)
    val_score: tuple[float, ...] = ()
    val_loss: tuple[float, ...] = ()
    monitored = train_score
    if X_val is not None and y_val is not None:
        val_scores = network.predict_scores(X_val)
        monitored = score(task, val_scores, y_val)
        val_score = (monitored,)
        val_loss = (float(LOSSES[network.config.loss](val_scores, y_val)[0]),)
    if callback is not None:
        try:
            if callback(0, monitored, val_loss[0] if val_loss else math.nan):
                stop["reason"] = "callback"
        except StopTraining as error:
            stop["reason"] = f"callback: {error}" if str(error) else "callback"
    ratios = {
        key: (float(np.linalg.norm(network.params[key] - old) / max(np.linalg.norm(old), 1e-30)),)
        for key, old in before.items()
    }
    wall = time.perf_counter() - start_time
    return History(
        loss=np.asarray(result["losses"], dtype=np.float64),
        epoch_loss=(float(result["loss"]),),
        train_score=(train_score,),
        val_score=val_score,
        val_loss=val_loss,
        learning_rate=(float("nan"),),
        update_ratio=ratios,
        epoch_time=(wall,),
        wall_time=wall,
        stop_reason=stop["reason"],
        best_epoch=0 if val_score else None,
        metric=metric,
        n_iterations=int(result["n_iterations"]),
    )
