"""hpsearch for scikit-learn: `SearchCV`, GridSearchCV's interface on hpsearch's strategies,
storage, pruning and parallel trials, for any scikit-learn estimator or pipeline.

- `search`: `SearchCV` (the meta-estimator: fit, refit, delegation, `cv_results_`).
- `space`: what `space=` takes (hp dimensions with `when=`, or lists of any values).
- `objective`: one trial, the candidate cross-validated, each fold reported as a step.
- `results`: GridSearchCV's `cv_results_` from the study's trials.
- `ensemble`: the top-k averaging ensemble of `ensemble_`.

Importing this package imports scikit-learn; `import hpsearch` does not import it.
"""

from hpsearch.sklearn.ensemble import AveragingClassifier, AveragingRegressor, averaging_ensemble
from hpsearch.sklearn.search import SearchCV

__all__ = ["AveragingClassifier", "AveragingRegressor", "SearchCV", "averaging_ensemble"]
