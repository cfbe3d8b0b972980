"""The minibatch training loop and what it records ("babysitting the learning process").

`train(network, X, y, X_val=None, y_val=None, config=TrainConfig(), rng, callback=None)` trains
`network` in place and returns a `nn_core.history.History`. The network is duck-typed; what
`train` uses (all of which `nn_core.network.Network` has):
- `params` (dict of arrays, rebound in place as views of one flat vector), `buffers` (dict of
  state arrays, saved and restored with the parameters), `weight_keys` (the weight matrices:
  max-norm projection and update ratios), `config.loss` (a `nn_core.losses.LOSSES` name: the
  task and the validation loss);
- `loss(X, y, training=True, rng=rng, grads_out=views)` -> (loss, grads), writing the
  gradients into `grads_out` (views of the flat gradient vector the rule steps with);
- `predict_scores(X)` -> scores (N, C), evaluation mode;
- optionally `last_scores`, the scores of the last `loss` call: with it the training score
  comes from the minibatches' scores, without it from a full `predict_scores` pass per epoch.

Per epoch: the training rows are shuffled with `rng` (one permutation, cut into contiguous
minibatches whose rows are gathered into a reused batch buffer, so no copy of the whole set is
made; a remainder smaller than half a batch joins the last full batch, so no step rests on a
handful of samples, and n = 1797 with batch 128 gives 13 batches of 128 and one of 133 rather
than a 15th batch of 5), each minibatch takes one forward/backward pass in training mode
(batchnorm batch statistics, dropout masks drawn from `rng`) and one step of the update rule
applied to all parameters as one flat vector; then the optional max-norm projection of every
weight matrix. The schedule sets the learning rate per epoch or per iteration (its `unit`).

Recorded (`History`): the loss of every iteration; per epoch the mean minibatch loss, the
training score taken from the minibatch scores already computed (no extra pass; accuracy for
classification, subset accuracy for multi-label, R^2 for regression, all from
`nn_core.metrics`; `eval_train=True` adds a full evaluation-mode pass instead), the validation
score and loss, the learning rate, the update/weight ratio ||w_after - w_before|| / ||w_before||
of every weight matrix measured on the epoch's last step (the seed's health figure: about
1e-3), and wall time.

The callback: `callback(epoch, score, val_loss) -> bool | None`, called after every epoch
(epoch counts from 0) with the epoch's validation score (the training score without
validation data) and validation loss (NaN without validation data). hpsearch uses it for
pruning. Returning True, or raising `StopTraining`, stops training.

Stopping, with `History.stop_reason`:
- "completed": all epochs ran.
- "early stopping: ...": `early_stopping=True` and the validation score did not improve for
  `patience` epochs; the parameters of the best epoch are restored.
- "callback": the callback returned True, or raised `StopTraining` ("callback: <message>").
- "diverged: ...": the loss became non-finite or exceeded `explode_factor` times the first
  loss; the parameters from the start of that epoch (or the best epoch) are restored, so the
  network never holds NaN.

Resuming (`nn_core.resume`): `state_out` (a dict) receives the run's whole state when it stops
(parameters, buffers, update-rule state, random state, schedule, records) and `resume=` that
state continues it in a fresh call with the same network, data and config: the result equals
an uninterrupted run bit for bit.

`optimizer="lbfgs"` trains full batch through `nn_core.optim.lbfgs` instead; the whole run
counts as one epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from nn_core import fused, optim
from nn_core import resume as resume_state
from nn_core._validate import check_generator
from nn_core.history import METRIC_OF_TASK, History
from nn_core.losses import LOSSES
from nn_core.metrics import MinibatchScore, network_score, task_of
from nn_core.regularization import max_norm as project_max_norm
from nn_core.schedules import Plateau, make_schedule
from nn_core.train_config import TrainConfig

__all__ = ["Callback", "History", "StopTraining", "TrainConfig", "train"]

#: `callback(epoch, score, val_loss)`; True stops training (see the module docstring)
Callback = Callable[[int, float, float], bool | None]


class StopTraining(Exception):  # noqa: N818 - the name says what raising it does
    """Raised by a training callback to stop training; the message goes into stop_reason."""


def train(
    network: Any,
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    config: TrainConfig | None = None,
    rng: np.random.Generator | None = None,
    callback: Callback | None = None,
    resume: dict[str, np.ndarray] | None = None,
    state_out: dict[str, np.ndarray] | None = None,
) -> History:
    """Train `network` in place on X (N, D), y (N,) int labels or (N, C) targets.

    X_val, y_val: optional validation split (scored once per epoch in evaluation mode).
    rng: the Generator for shuffling and dropout (default: seed 0).
    callback(epoch, score, val_loss) -> True stops training (see the module docstring).
    resume / state_out: go on from a saved run state / fill `state_out` with the run's state
    when it stops (minibatch training only; see `nn_core.resume`).
    """
    config = TrainConfig() if config is None else config
    rng = check_generator("rng", rng if rng is not None else np.random.default_rng(0))
    X, y = _check_training_data(network, X, y, "training data")
    validation = None
    if X_val is not None and y_val is not None:
        validation = _check_training_data(network, X_val, y_val, "validation data")
    if config.early_stopping and validation is None:
        raise ValueError("early_stopping needs validation data (X_val, y_val)")
    task = task_of(network.config.loss)
    if config.optimizer == "lbfgs":
        if resume is not None or state_out is not None:
            raise ValueError("resume and state_out are for minibatch training, not L-BFGS")
        return _train_lbfgs(network, (X, y), validation, config, callback, task)
    if not (isinstance(config.batch_size, int) and config.batch_size >= 1):
        raise ValueError(f"batch_size must be a positive integer; got {config.batch_size!r}")
    run = _MinibatchTraining(network, (X, y), validation, config, rng, callback, task)
    return run.run(resume, state_out)


def _check_training_data(network: Any, X: np.ndarray, y: np.ndarray, name: str) -> tuple:
    X = np.asarray(X)
    y = np.asarray(y)
    dtype = getattr(network, "dtype", None) or next(iter(network.params.values())).dtype
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{name}: X must be (N, D) and y must have N rows; got {X.shape} and {y.shape}"
        )
    return np.ascontiguousarray(X, dtype=dtype), y


def _evaluate(network: Any, task: str, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(score, data loss) of the network on (X, y) in evaluation mode."""
    scores = network.predict_scores(X)
    return network_score(task, scores, y), float(LOSSES[network.config.loss](scores, y)[0])


def _ask_callback(callback: Callback | None, epoch: int, score: float,
                  val_loss: float) -> str | None:
    """The stop reason the callback gives after `epoch`, or None to go on."""
    if callback is None:
        return None
    try:
        return "callback" if callback(epoch, score, val_loss) else None
    except StopTraining as stop:
        return f"callback: {stop}" if str(stop) else "callback"


def _update_ratio(after: np.ndarray, before: np.ndarray) -> float:
    """||after - before|| / ||before|| (inf for an all-zero before)."""
    denominator = float(np.linalg.norm(before))
    change = float(np.linalg.norm(after.ravel() - before.ravel()))
    return change / denominator if denominator > 0 else math.inf


def _batch_bounds(n: int, batch_size: int) -> tuple[list[int], list[int]]:
    """Start and end rows of the minibatches of n rows (the module docstring's remainder rule)."""
    batch_size = min(batch_size, n)
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] < batch_size / 2:
        starts.pop()  # the small remainder joins the last full batch
    return starts, [*starts[1:], n]


class _Steps(NamedTuple):
    """What one epoch's minibatch steps leave: the sum of loss * rows, the last learning rate,
    the parameters before the last step, and the divergence message (None if none)."""

    loss_sum: float
    learning_rate: float
    before: np.ndarray | None
    diverged: str | None


class _MinibatchTraining:
    """One minibatch run of `train` (see the module docstring); `run()` returns the History."""

    def __init__(self, network: Any, data: tuple, validation: tuple | None,
                 config: TrainConfig, rng: np.random.Generator, callback: Callback | None,
                 task: str) -> None:
        self.network, self.config, self.rng, self.callback, self.task = (
            network, config, rng, callback, task)
        (self.X, self.y), self.validation = data, validation
        self.rule = fused.TRAINER_RULES.get(config.optimizer, optim.get_rule(config.optimizer))
        self.settings = config.rule_settings()
        self.schedule = make_schedule(
            config.lr_schedule, config.learning_rate, decay=config.lr_decay,
            step=config.lr_step, patience=config.lr_patience,
            mode="max" if validation is not None else "min",
        )
        self.start_time = time.perf_counter()
        self.flat = optim.FlatParameters(network.params)
        self.rule_state: dict[str, Any] = {}
        self.starts, self.ends = _batch_bounds(self.X.shape[0], config.batch_size)
        rows = max(end - begin for begin, end in zip(self.starts, self.ends, strict=True))
        self.X_batch = np.empty((rows, *self.X.shape[1:]), dtype=self.X.dtype)
        self.y_batch = np.empty((rows, *self.y.shape[1:]), dtype=self.y.dtype)
        self.losses = np.empty(len(self.starts) * config.epochs, dtype=np.float64)
        self.weight_keys = list(network.weight_keys)
        tapped = not config.eval_train and hasattr(network, "last_scores")
        self.train_score = MinibatchScore(task, self.y) if tapped else None
        self.record: dict[str, list] = {key: [] for key in (
            "epoch_loss", "train_score", "val_score", "val_loss", "lr", "epoch_time")}
        self.ratios: dict[str, list[float]] = {key: [] for key in self.weight_keys}
        self.best_score, self.best_epoch, self.best = -math.inf, None, None
        self.stalled, self.iteration, self.limit = 0, 0, math.inf

    def run(self, resume: dict[str, np.ndarray] | None = None,
            state_out: dict[str, np.ndarray] | None = None) -> History:
        stop_reason, next_epoch = "completed", self.config.epochs
        first = 0 if resume is None else resume_state.restore(self, resume)
        for epoch in range(first, self.config.epochs):
            reason = self._epoch(epoch)
            if reason is not None:
                stop_reason, next_epoch = reason, epoch + 1
                break
        if state_out is not None:  # before early stopping puts the best epoch back
            state_out.update(resume_state.capture(self, next_epoch))
        if self.config.early_stopping and self.best is not None:
            self._restore(self.best)
        return self._history(stop_reason)

    def _epoch(self, epoch: int) -> str | None:
        """One epoch: its steps, then its records; returns the stop reason, or None."""
        safe = self._snapshot()
        order = self.rng.permutation(self.X.shape[0]) if self.config.shuffle else None
        steps = self._steps(order, self.schedule(epoch))
        if steps.diverged is not None:
            self._restore(self.best if self.best is not None else safe)
            return steps.diverged
        monitored = self._record_epoch(epoch, steps)
        val_loss = self.record["val_loss"][-1] if self.validation is not None else math.nan
        reason = _ask_callback(self.callback, epoch, monitored, val_loss)
        if reason is None and self.config.early_stopping and \
                self.stalled >= self.config.patience:
            reason = (f"early stopping: no validation improvement for {self.config.patience} "
                      "epochs")
        return reason

    def _batch(self, order: np.ndarray | None, begin: int, end: int) -> tuple:
        """The minibatch of rows order[begin:end] (rows begin:end without a shuffle), gathered
        into the reused batch buffers: (X_batch (rows, D), y_batch (rows, ...))."""
        if order is None:
            return self.X[begin:end], self.y[begin:end]
        index, rows = order[begin:end], end - begin
        # mode="clip" skips the bounds check (a permutation is in range) and runs 2x faster.
        return (np.take(self.X, index, axis=0, out=self.X_batch[:rows], mode="clip"),
                np.take(self.y, index, axis=0, out=self.y_batch[:rows], mode="clip"))

    def _steps(self, order: np.ndarray | None, learning_rate: float) -> _Steps:
        """One forward/backward pass and one update per minibatch of the epoch, the rows in
        `order` (a permutation of the training rows; None: as stored)."""
        network, flat, config, schedule = self.network, self.flat, self.config, self.schedule
        loss_sum, before = 0.0, None
        last = len(self.starts) - 1
        if self.train_score is not None:
            self.train_score.reset()
        for b, (begin, end) in enumerate(zip(self.starts, self.ends, strict=True)):
            Xb, yb = self._batch(order, begin, end)
            if schedule.unit == "iteration":
                learning_rate = schedule(self.iteration)
            loss, _ = network.loss(Xb, yb, training=True, rng=self.rng, grads_out=flat.grad_views)
            self.losses[self.iteration] = loss
            self.iteration += 1
            if not loss < self.limit:  # also catches NaN
                return _Steps(loss_sum, learning_rate, before, self._divergence(loss))
            if self.limit == math.inf:
                self.limit = config.explode_factor * max(abs(loss), 1e-12)
            loss_sum += loss * Xb.shape[0]
            if self.train_score is not None:
                self.train_score.add(network.last_scores, yb)
            if b == last:
                before = flat.flat.copy()
            self.rule(flat.flat, flat.grad, self.rule_state, learning_rate=learning_rate,
                      **self.settings)
            if config.max_norm is not None:
                for key in self.weight_keys:
                    view = flat.views[key]
                    project_max_norm(view, config.max_norm, out=view)
        return _Steps(loss_sum, learning_rate, before, None)

    def _divergence(self, loss: float) -> str:
        if math.isfinite(loss):
            return (f"diverged: loss {loss:.4g} exceeded {self.config.explode_factor:g} x the "
                    f"first loss at iteration {self.iteration}")
        return f"diverged: non-finite loss ({loss}) at iteration {self.iteration}"

    def _record_epoch(self, epoch: int, steps: _Steps) -> float:
        """Append the epoch's figures; returns the monitored score (validation, else training)."""
        network, record, n = self.network, self.record, self.X.shape[0]
        for key in self.weight_keys:  # cheap: one snapshot per epoch
            self.ratios[key].append(_update_ratio(self.flat.views[key],
                                                  steps.before[self.flat.slices[key]]))
        record["epoch_loss"].append(steps.loss_sum / n)
        record["lr"].append(float(steps.learning_rate))
        if self.train_score is None:
            record["train_score"].append(network_score(self.task, network.predict_scores(self.X),
                                                       self.y))
        else:
            record["train_score"].append(self.train_score.value())
        monitored = record["train_score"][-1]
        if self.validation is not None:
            monitored, val_loss = _evaluate(network, self.task, *self.validation)
            record["val_score"].append(monitored)
            record["val_loss"].append(val_loss)
        record["epoch_time"].append(time.perf_counter() - self.start_time)
        if isinstance(self.schedule, Plateau):
            self.schedule.step(monitored if self.validation is not None
                               else record["epoch_loss"][-1])
        if self.validation is not None:
            if monitored > self.best_score:
                self.best_score, self.best_epoch, self.stalled = monitored, epoch, 0
                if self.config.early_stopping:
                    self.best = self._snapshot()
            else:
                self.stalled += 1
        return monitored

    def _snapshot(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return self.flat.flat.copy(), {k: v.copy() for k, v in self.network.buffers.items()}

    def _restore(self, snapshot: tuple[np.ndarray, dict[str, np.ndarray]]) -> None:
        params, buffers = snapshot
        self.flat.flat[...] = params
        for key, value in buffers.items():
            self.network.buffers[key] = value

    def _history(self, stop_reason: str) -> History:
        record = self.record
        return History(
            loss=self.losses[: self.iteration].copy(),
            epoch_loss=tuple(record["epoch_loss"]),
            train_score=tuple(record["train_score"]),
            val_score=tuple(record["val_score"]),
            val_loss=tuple(record["val_loss"]),
            learning_rate=tuple(record["lr"]),
            update_ratio={key: tuple(values) for key, values in self.ratios.items()},
            epoch_time=tuple(record["epoch_time"]),
            wall_time=time.perf_counter() - self.start_time,
            stop_reason=stop_reason,
            best_epoch=self.best_epoch,
            metric=METRIC_OF_TASK[self.task],
            n_iterations=self.iteration,
        )


def _train_lbfgs(network: Any, data: tuple, validation: tuple | None, config: TrainConfig,
                 callback: Callback | None, task: str) -> History:
    """Full-batch L-BFGS: the whole run counts as one epoch in the history."""
    start_time = time.perf_counter()
    X, y = data
    before = {key: network.params[key].copy() for key in network.weight_keys}
    diverged: list[str] = []

    def on_iteration(iteration: int, loss: float) -> bool:
        if not math.isfinite(loss):
            diverged.append(f"diverged: non-finite loss ({loss}) at iteration {iteration}")
        return bool(diverged)

    result = optim.lbfgs(network, X, y, max_iter=config.max_iter, callback=on_iteration)
    stop_reason = diverged[0] if diverged else "completed"
    if result["message"] == "stopped by callback" and not diverged:
        stop_reason = "callback"
    train_score = network_score(task, network.predict_scores(X), y)
    val_score: tuple[float, ...] = ()
    val_loss: tuple[float, ...] = ()
    if validation is not None:
        score, loss = _evaluate(network, task, *validation)
        val_score, val_loss = (score,), (loss,)
    monitored = val_score[0] if val_score else train_score
    stop_reason = _ask_callback(callback, 0, monitored,
                                val_loss[0] if val_loss else math.nan) or stop_reason
    ratios = {key: (_update_ratio(network.params[key], old),) for key, old in before.items()}
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
        stop_reason=stop_reason,
        best_epoch=0 if val_score else None,
        metric=METRIC_OF_TASK[task],
        n_iterations=int(result["n_iterations"]),
    )
