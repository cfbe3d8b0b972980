"""Every error hpsearch raises on purpose, under one base class.

The CLI catches `HpsearchError` and prints its message as one line with a non-zero exit code;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class HpsearchError(Exception):
    """Base class of every error hpsearch raises for a user mistake or a failed run."""


class SpaceError(HpsearchError, ValueError):
    """A search-space dimension or a parameter value is invalid."""


class SpaceTypeError(SpaceError, TypeError):
    """A dimension's field has the wrong type: a string or a bool where a number belongs."""


class ParameterError(HpsearchError, ValueError):
    """An argument of a public function, class or estimator has a bad value (a ValueError, as
    Python and scikit-learn expect)."""


class FormatError(HpsearchError, ValueError):
    """Stored data hpsearch reads back (an ensemble file's arrays or manifest, an artifacts
    archive, a member's network config) is not what hpsearch writes; its reader's caller names
    the file."""


class StrategyError(HpsearchError):
    """A strategy is unknown, misconfigured, or its backend failed."""


class StudyError(HpsearchError):
    """A study cannot run: bad arguments, or too many consecutive failures."""


class TooManyFailuresError(StudyError):
    """`max_consecutive_failures` trials failed in a row, so the study stopped."""


class AllTrialsFailed(StudyError):  # noqa: N818 - read as a sentence: hp.AllTrialsFailed
    """`optimize()` ended with every finished trial of the study failed (none complete or
    pruned); the trials and their errors are stored."""


class StorageError(HpsearchError):
    """The run folder or its database is unusable: damaged, locked, or not writable."""


class StudyLockedError(StorageError):
    """Another driver holds the study's lock."""


class StudyMismatchError(StorageError):
    """An existing study was reopened with a different space or direction."""


class StudyFileError(HpsearchError):
    """A study file is missing, malformed, or has a bad key or value."""


class ObjectiveError(HpsearchError):
    """An objective cannot be loaded or returned something that is not a result."""


class OptunaStyleObjectiveError(ObjectiveError):
    """An Optuna objective, `objective(trial)` calling `trial.suggest_*`, was given to hpsearch."""


class EnsembleError(HpsearchError):
    """An ensemble cannot be built, saved or loaded."""


class ServiceError(HpsearchError):
    """`hpsearch serve` refused a request (`status`: its HTTP status, `key`: the field or
    study-file key at fault, if any), or could not be reached (status 0)."""

    def __init__(self, message: str, status: int = 400, key: str | None = None) -> None:
        super().__init__(message)
        self.status, self.key = status, key


class LeaseLostError(ServiceError):
    """A trial's lease expired (its worker was presumed lost): a late tell or report changed
    nothing; the trial is asked again, or already was."""

    def __init__(self, message: str, key: str | None = "lease") -> None:
        super().__init__(message, 409, key)


class StopStudy(Exception):  # noqa: N818 - a request, not an error
    """Raised by a study callback to stop the study gracefully (see the module docstring)."""


class TrialPruned(Exception):  # noqa: N818 - the name users know from Optuna
    """Raised by an objective to stop a trial the pruner asked to prune."""


class WorkerLost(HpsearchError, RuntimeError):
    """The Dask worker(s) running a trial died more often than allowed-failures permits."""


class UnknownColumn(HpsearchError, ValueError):
    """A `results --columns` or `--sort` name that is no column of the table."""
