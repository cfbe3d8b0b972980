"""The study: `Study` (ask/tell at its core, `optimize` on top), `load_study`, and what goes
with it: the optimize loop (`loop`), where params come from (`proposals`: the enqueue queue and
the strategy), warm start (`warmstart`), every named random stream (`seeds`), study-level
stopping (`stopping`) and the results tables (`tables`)."""

from hpsearch.study.seeds import trial_seed
from hpsearch.study.stopping import NoImprovementStop
from hpsearch.study.study import Study, load_study

__all__ = ["Study", "load_study", "trial_seed", "NoImprovementStop"]
