"""The `gp` strategy's options: their allowed values and limits, checked in one place.

Contract: `check_options(options, unknown, n_dims) -> dict` returns the options with the
defaults that depend on the space filled in (n_startup), or raises `StrategyError` naming the
option, what it must be and what it got; `prior_for(options, n_dims) -> Prior` is the GP's
hyperparameter prior those options start from, and `noisy_prior_for(options, n_dims)` the one
`noise_prior="auto"` switches to once a fit finds the values noisy (None for the fixed
priors); `is_noisy(noise_variance, signal_variance, threshold)` is that test. The options
themselves are documented on `hpsearch.strategies.gp.GPStrategy`.

What "noisy" means here: the fitted noise variance above a fraction of the fitted signal
variance (both of the warped, standardised values). The tight prior's mode is 0.37% (a/b with
a = 1.1, b = 300) and fits of smooth noiseless functions go below it (1e-7 to 1e-3 on COCO's
BBOB after 30-100 trials); noisy values and rugged functions push it to 1-10%.
`NOISY_RATIO` (1%) decides `incumbent="auto"` at each ask, `SWITCH_RATIO` (3%) the one-way
switch of `noise_prior="auto"` from the tight prior to the weak one.
"""

from __future__ import annotations

from typing import Any

from hpsearch.exceptions import StrategyError
from hpsearch.gp.model import Prior, dimension_scaled
from hpsearch.gp.warping import WARPINGS

__all__ = ["MAX_CANDIDATES", "MAX_STARTUP", "NOISY_RATIO", "SWITCH_RATIO", "check_options",
           "is_noisy", "noisy_prior_for", "prior_for"]

MAX_CANDIDATES = 65_536  # n_candidates: the scored candidates are (1.25 m, D) and (1.25 m, n)
MAX_STARTUP = 10_000  # n_startup; its default is max(10, len(space) + 1), at most 1000
NOISE_PRIORS = {"tight": 300.0, "weak": 30.0}  # the Gamma(1.1, b) prior's rate b on the noise
EVIDENCE_MARGIN = 0.1  # evidence_margin="auto" with a pruner or scheduler
NOISY_RATIO = 0.01  # incumbent="auto": the posterior mean's incumbent above this noise ratio
SWITCH_RATIO = 0.03  # noise_prior="auto": from the tight prior to the weak one above this
CHOICES = {
    "startup": ("sobol", "random"),
    "acquisition": ("logei", "ei", "lcb", "pi", "hedge"),
    "output_warping": WARPINGS,
    "liar": ("min", "mean", "max", "believer"),
    "failed": ("worst", "skip"),
    "lengthscale_prior": ("dimension", "unit"),
    "noise_prior": ("auto", *NOISE_PRIORS),
    "incumbent": ("auto", "observed", "mean"),
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
    margin = opts["evidence_margin"]
    if margin not in ("auto", "off") and (isinstance(margin, bool) or not isinstance(
            margin, int | float) or not 0 <= margin <= 1):
        raise StrategyError(f"gp: evidence_margin must be 'auto', 'off' or a number from 0 to "
                            f"1, got {margin!r}")
    for name in FLAGS:
        if not isinstance(opts[name], bool):
            raise StrategyError(f"gp: {name} must be true or false, got {opts[name]!r}")
    return opts


def _prior(options: dict[str, Any], n_dims: int, noise: str) -> Prior:
    noise_b = NOISE_PRIORS[noise]
    if options["lengthscale_prior"] == "dimension":
        return dimension_scaled(n_dims, noise_b=noise_b)
    return Prior(noise_b=noise_b)


def prior_for(options: dict[str, Any], n_dims: int) -> Prior:
    noise = options["noise_prior"]
    return _prior(options, n_dims, "tight" if noise == "auto" else noise)


def noisy_prior_for(options: dict[str, Any], n_dims: int) -> Prior | None:
    return _prior(options, n_dims, "weak") if options["noise_prior"] == "auto" else None


def is_noisy(noise_variance: float, signal_variance: float, threshold: float) -> bool:
    return noise_variance > threshold * signal_variance
