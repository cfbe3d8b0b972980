"""The `gp` strategy's options: their allowed values and limits, checked in one place.

Contract: `check_options(options, unknown, n_dims) -> dict` returns the options with the
defaults that depend on the space filled in (n_startup), or raises `StrategyError` naming the
option, what it must be and what it got; `prior_for(options, n_dims) -> Prior` is the GP's
hyperparameter prior those options ask for. The options themselves are documented on
`hpsearch.strategies.gp.GPStrategy`.
"""

from __future__ import annotations

from typing import Any

from hpsearch.exceptions import StrategyError
from hpsearch.gp.model import Prior, dimension_scaled
from hpsearch.gp.warping import WARPINGS

__all__ = ["MAX_CANDIDATES", "MAX_STARTUP", "check_options", "prior_for"]

MAX_CANDIDATES = 65_536  # n_candidates: the scored candidates are (1.25 m, D) and (1.25 m, n)
MAX_STARTUP = 10_000  # n_startup; its default is max(10, len(space) + 1), at most 1000
NOISE_PRIORS = {"tight": 300.0, "weak": 30.0}  # the Gamma(1.1, b) prior's rate b on the noise
CHOICES = {
    "startup": ("sobol", "random"),
    "acquisition": ("logei", "ei", "lcb", "pi", "hedge"),
    "output_warping": WARPINGS,
    "liar": ("min", "mean", "max", "believer"),
    "failed": ("worst", "skip"),
    "lengthscale_prior": ("dimension", "unit"),
    "noise_prior": tuple(NOISE_PRIORS),
    "incumbent": ("observed", "mean"),
}
INTEGERS = {"n_startup": (0, MAX_STARTUP), "n_candidates": (1, MAX_CANDIDATES),
            "n_local": (1, 256), "n_restarts": (0, 100), "max_model_trials": (10, 4096)}
NUMBERS = ("xi", "kappa", "hedge_eta")  # >= 0
FLAGS = ("trust_region",)


def check_options(options: dict[str, Any], unknown: dict[str, Any], n_dims: int
                  ) -> dict[str, Any]:
    if unknown:
        raise StrategyError(f"gp: unknown option(s) {', '.join(sorted(unknown))}; valid "
                            f"options: {', '.join(options)}")
    opts = dict(options)
    for name, allowed in CHOICES.items():
        if opts[name] not in allowed:
            raise StrategyError(f"gp: {name} must be one of {list(allowed)}, "
                                f"got {opts[name]!r}")
    if opts["n_startup"] is None:
        opts["n_startup"] = min(max(10, n_dims + 1), 1000)
    for name, (low, high) in INTEGERS.items():
        value = opts[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise StrategyError(f"gp: {name} must be an integer from {low} to {high}, "
                                f"got {value!r}")
    for name in NUMBERS:
        value = opts[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise StrategyError(f"gp: {name} must be a number >= 0, got {value!r}")
    for name in FLAGS:
        if not isinstance(opts[name], bool):
            raise StrategyError(f"gp: {name} must be true or false, got {opts[name]!r}")
    return opts


def prior_for(options: dict[str, Any], n_dims: int) -> Prior:
    noise_b = NOISE_PRIORS[options["noise_prior"]]
    if options["lengthscale_prior"] == "dimension":
        return dimension_scaled(n_dims, noise_b=noise_b)
    return Prior(noise_b=noise_b)
