"""How to train: `TrainConfig`, the plain settings `nn_core.trainer.train` runs with.

A frozen dataclass; the update rule, the schedule and the batch size are checked by `train`
(ValueError naming the setting). Its field names are the estimators' keywords of the same name.
"""

from __future__ import annotations

from dataclasses import dataclass

from nn_core import optim

__all__ = ["TrainConfig"]


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
