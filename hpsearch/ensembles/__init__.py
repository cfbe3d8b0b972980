"""Ensembles of a finished study's networks, and the pickle-free file they are exported in.

Modules, one concept each:

- `build`: `build_ensemble(run_dir, method, ...) -> EnsembleBuild`, the orchestration (the
  methods and their options are documented there).
- `methods`: what each method chooses (members, table rows, combined predictions).
- `selection`: greedy ensemble selection, plain and bagged (pure, arrays in and out).
- `averaging`: parameter averaging of same-architecture networks and its guard.
- `run_folder`: `open_run_folder(run_dir) -> RunFolder`, a study of the network objective as
  the ensembles read it (through the objective's artifact schema).
- `refit`: the chosen members trained again on the train and validation rows, through the
  execution package.
- `file`: the `Ensemble` and its file format (`save_ensemble`, `load_ensemble`).

The network objective (`hpsearch.objectives.mlp`) is the only way in to nn_core: ensembles
rebuild, run, refit and score networks through it.
"""

from hpsearch.ensembles.build import EnsembleBuild, build_ensemble
from hpsearch.ensembles.file import Ensemble, load_ensemble, save_ensemble

__all__ = ["Ensemble", "EnsembleBuild", "build_ensemble", "load_ensemble", "save_ensemble"]
