"""hpsearch: hyperparameter search for neural networks.

The public API: spaces (`Float`, `Int`, `Categorical`, `Space`; any dimension takes `when=` for
conditional spaces), `Study` (ask/tell, enqueue, warm start, optimize; `strategy=` a name or a
`Strategy` object, `storage=` None, a folder or a `Storage` object) and `load_study`,
`Direction`, `hypervolume` (several objectives), the live trial (`Trial`, what `study.ask()`
returns and what an objective gets; its checkpoint: `save_checkpoint`, `checkpoint()`,
`last_step`), objective results (`Result`, `TrialPruned`), trial records (`TrialState`,
`FrozenTrial`), the pruner interface and pruners (`Pruner`, `MedianPruner`, `ASHAPruner`,
`ThresholdPruner`), the schedulers that pause and promote trials (`Scheduler`, `Hyperband`,
`PopulationBasedTraining`), study-level stopping (`NoImprovementStop`, `StopStudy`), ensembles
(`build_ensemble` from a run folder, `save_ensemble`, and `load_ensemble` for a file from
`hpsearch ensemble -o` or `save_ensemble`), `connect(url, token=None)` (a client of `hpsearch
serve`, see `hpsearch.service`) and every exception. Importing hpsearch does not import pandas,
optuna, scikit-optimize, scikit-learn or the service; they load on first use.
"""

from hpsearch.direction import Direction
from hpsearch.ensembles import build_ensemble, load_ensemble, save_ensemble
from hpsearch.exceptions import (
    AllTrialsFailed,
    EnsembleError,
    FormatError,
    HpsearchError,
    LeaseLostError,
    ObjectiveError,
    OptunaStyleObjectiveError,
    ParameterError,
    ServiceError,
    SpaceError,
    SpaceTypeError,
    StopStudy,
    StorageError,
    StrategyError,
    StudyError,
    StudyFileError,
    StudyLockedError,
    StudyMismatchError,
    TooManyFailuresError,
    TrialPruned,
)
from hpsearch.execution.objective import load_objective
from hpsearch.pareto import hypervolume
from hpsearch.pruners import (
    ASHAPruner,
    Hyperband,
    MedianPruner,
    PopulationBasedTraining,
    Pruner,
    Scheduler,
    ThresholdPruner,
)
from hpsearch.space import Categorical, Float, Int, Space
from hpsearch.strategies import STRATEGY_NAMES
from hpsearch.study import NoImprovementStop, Study, load_study
from hpsearch.trial import FrozenTrial, Result, Trial, TrialHandle, TrialState

__all__ = [
    "Float", "Int", "Categorical", "Space", "Study", "load_study", "Result", "TrialPruned",
    "Trial", "TrialHandle", "TrialState", "FrozenTrial", "Pruner", "ThresholdPruner",
    "MedianPruner", "ASHAPruner", "Scheduler", "Hyperband", "PopulationBasedTraining",
    "NoImprovementStop", "StopStudy", "load_objective",
    "STRATEGY_NAMES", "AllTrialsFailed", "HpsearchError", "SpaceError", "SpaceTypeError",
    "StrategyError", "StudyError", "StorageError", "StudyLockedError", "TooManyFailuresError",
    "StudyMismatchError", "StudyFileError", "ObjectiveError", "OptunaStyleObjectiveError",
    "EnsembleError", "ParameterError",
    "FormatError", "build_ensemble", "save_ensemble", "load_ensemble", "hypervolume", "Direction",
    "connect", "ServiceError", "LeaseLostError",
]


def __getattr__(name: str):
    if name == "connect":  # the service's client loads on first use
        from hpsearch.service.client import connect

        return connect
    raise AttributeError(f"module 'hpsearch' has no attribute {name!r}")
