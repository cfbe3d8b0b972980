"""hpsearch: hyperparameter search for neural networks.

The public API: spaces (`Float`, `Int`, `Categorical`, `Space`; any dimension takes
`when=` for conditional spaces), `Study` (ask/tell, enqueue, warm start, optimize) and
`load_study`, `hypervolume` (several objectives), the live trial (`Trial`, what
`study.ask()` returns and what an objective gets),
objective results (`Result`, `TrialPruned`), trial records (`TrialState`, `FrozenTrial`),
the pruner interface and pruners (`Pruner`, `MedianPruner`, `ASHAPruner`,
`ThresholdPruner`), study-level stopping (`NoImprovementStop`, `StopStudy`), ensembles
(`build_ensemble` from a run folder, `save_ensemble`, and `load_ensemble` for a file from
`hpsearch ensemble -o` or `save_ensemble`), `connect(url, token=None)` (a client of
`hpsearch serve`, see `hpsearch.service`) and every exception. Importing hpsearch
does not import pandas, optuna, scikit-optimize, scikit-learn or the service; they load on
first use.
"""

from hpsearch.ensembles import build_ensemble, load_ensemble, save_ensemble
from hpsearch.exceptions import (
    EnsembleError,
    HpsearchError,
    LeaseLostError,
    ObjectiveError,
    ServiceError,
    SpaceError,
    StopStudy,
    StorageError,
    StrategyError,
    StudyError,
    StudyFileError,
    StudyLockedError,
    StudyMismatchError,
    TrialPruned,
)
from hpsearch.objectives.python import load_objective
from hpsearch.pareto import hypervolume
from hpsearch.pruners import ASHAPruner, MedianPruner, Pruner, ThresholdPruner
from hpsearch.space import Categorical, Float, Int, Space
from hpsearch.strategies import STRATEGY_NAMES
from hpsearch.study import NoImprovementStop, Study, load_study
from hpsearch.trial import FrozenTrial, Result, Trial, TrialHandle, TrialState

__all__ = [
    "Float", "Int", "Categorical", "Space", "Study", "load_study", "Result", "TrialPruned",
    "Trial", "TrialHandle", "TrialState", "FrozenTrial", "Pruner", "ThresholdPruner",
    "MedianPruner", "ASHAPruner", "NoImprovementStop", "StopStudy", "load_objective",
    "STRATEGY_NAMES", "HpsearchError", "SpaceError", "StrategyError", "StudyError",
    "StorageError", "StudyLockedError", "StudyMismatchError", "StudyFileError",
    "ObjectiveError", "EnsembleError", "build_ensemble", "save_ensemble", "load_ensemble",
    "hypervolume", "connect", "ServiceError", "LeaseLostError",
]


def __getattr__(name: str):
    if name == "connect":  # the service's client loads on first use
        from hpsearch.service.client import connect

        return connect
    raise AttributeError(f"module 'hpsearch' has no attribute {name!r}")
