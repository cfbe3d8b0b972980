"""Refitting: a member's network trained again, same keywords and seed, on other rows.

Contract: `refit_member(config, X, y) -> (config, arrays)` (the ensemble step's `refit`: X, y
are the train and validation rows together). `RefitObjective(X, y)` is the same as an objective
the execution package runs like a trial (in-process or on its loky pool, one BLAS thread):
params `{"config": member config}`; its result carries the new network as member 0's artifacts
(`hpsearch.objectives.mlp.schema`), or why it could not be refitted; `refit_result(artifacts)`
reads either back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpsearch.exceptions import EnsembleError
from hpsearch.objectives.mlp import schema
from hpsearch.objectives.mlp.hyperparameters import estimator_keywords
from hpsearch.objectives.mlp.networks import estimator_class
from hpsearch.trial import Result

__all__ = ["RefitObjective", "refit_member", "refit_result"]

_REFUSED = "refit.refused"  # the artifact holding why a member could not be refitted


def refit_member(config: Mapping[str, Any], X: np.ndarray, y: np.ndarray
                 ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Train a member's network again, same keywords and seed, on (X, y) (the ensemble step's
    `refit`: train and validation rows together). With no data held out there is no early
    stopping: the network trains for the epochs its kept parameters had (`epochs_trained`;
    the configured `epochs` for run folders older than that key, whose early-stopped members
    are refused), and a `plateau` schedule watches the training loss. Returns (config, arrays)
    as the objective stores them; ValueError when the config does not describe a network or
    the new training diverges where the study's did not (its kept parameters would be those
    before the blow-up; a member that diverged in the study too is redone as it was).
    """
    cls = estimator_class(config.get("estimator"))
    if cls is None or not isinstance(config.get("params"), Mapping):
        raise EnsembleError(f"not a network member config (estimator {config.get('estimator')!r})")
    params = estimator_keywords(config["params"])  # JSON lists back to tuples
    stopped = str(config.get(schema.STOP_REASON, ""))
    if schema.EPOCHS_TRAINED not in config and stopped.startswith("early stopping"):
        raise EnsembleError("it stopped early, and its run folder predates the record of the "
                         "epochs behind its kept parameters; run the study again to refit it")
    epochs = int(config.get(schema.EPOCHS_TRAINED, params.get("epochs", 1)))
    params.update(early_stopping=False, epochs=max(1, epochs))
    model = cls(**params).fit(X, y)
    stop_reason = str(model.history_.stop_reason)
    if stop_reason.startswith("diverged") and not stopped.startswith("diverged"):
        raise EnsembleError(f"its new training {stop_reason}, where the study's did not; build "
                         "without refit, or search lower learning rates")
    new_config, arrays = model.to_arrays()
    new_config[schema.STOP_REASON] = model.history_.stop_reason
    new_config[schema.EPOCHS_TRAINED] = int(model.history_.epochs)
    new_config[schema.REFIT_SAMPLES] = len(X)
    return new_config, arrays


@dataclass(frozen=True, eq=False)
class RefitObjective:
    """`refit_member` on rows X (N, D), y (N,) or (N, L), as an objective; see the module
    docstring. A refusal (ValueError) is a result, not a failed run, so its reason reads as
    refit_member wrote it."""

    X: np.ndarray
    y: np.ndarray

    def __call__(self, params: Mapping[str, Any]) -> Result:
        try:
            config, arrays = refit_member(params["config"], self.X, self.y)
        except (ValueError, EnsembleError) as err:
            return Result(0.0, artifacts={_REFUSED: np.array(str(err))})
        return Result(float(config[schema.EPOCHS_TRAINED]),
                      artifacts=schema.member_artifacts(0, config, arrays))


def refit_result(artifacts: Mapping[str, np.ndarray]
                 ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(config, arrays) of the network a `RefitObjective` returned; ValueError with its reason
    when it refused."""
    if _REFUSED in artifacts:
        raise EnsembleError(str(artifacts[_REFUSED]))
    return schema.read_network(artifacts, schema.member_prefix(0))
