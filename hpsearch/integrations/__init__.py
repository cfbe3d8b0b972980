"""hpsearch inside other tools.

`hpsearch.integrations.optuna` holds `HpsearchSampler`, hpsearch's strategies as an Optuna
sampler. It is the one place in hpsearch that imports Optuna when it is imported; this package
itself imports nothing, so `import hpsearch` never loads Optuna.
"""
