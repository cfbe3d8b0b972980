"""Objectives: `mlp`, the built-in nn_core network (the only importer of nn_core). The calling
convention of a Python objective (checking what it returns, loading one by name) is
`hpsearch.execution.objective`, beside the one place an objective is called; which objective a
study file names, and checking it up front, is `hpsearch.studyfile.objectives`."""
