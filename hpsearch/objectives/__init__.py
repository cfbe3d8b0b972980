"""Objectives: `python` (the calling convention of a Python objective, checking what it returns,
loading one by name) and `mlp` (the built-in nn_core network, the only importer of nn_core).
Which objective a study file names, and checking it up front, is `hpsearch.studyfile.objectives`."""
