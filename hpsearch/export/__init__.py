"""Exports of a run folder to other tools: `optuna` (an Optuna study, for optuna-dashboard)."""
