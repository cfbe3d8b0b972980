"""Which trials the `gp` strategy's model holds, and its Cholesky factor kept across asks.

Contract: `ModelTrials(cap, prior, rng, n_restarts, failed, output_warping, noisy_prior)`;
`model(rows, values) -> (GaussianProcess, y_best)` with rows the encoded row (D,) of every
told trial and values their values to minimise (NaN: failed), returns the GP to propose from
and the best warped value. Cost per ask stays bounded whatever the number of trials:

- The cap: the model holds at most `cap` trials (the strategy's `max_model_trials`, 256 by
  default) chosen when the hyperparameters are fitted, plus the trials told since (up to
  cap // 4 more, then the next fit). Up to `cap` usable trials, that is all of them, so small
  studies are modelled exactly as before. Past it: the best cap // 2 by value (where expected
  improvement is decided, the incumbent's neighbourhood must be modelled well), then a
  space-filling subset of the others for the rest (greedy maximin: each pick is the trial
  farthest, in the kernel's own length-scaled distance, from every trial already picked, so
  the model keeps seeing every region the search has covered, and where it found nothing).
  With `fidelity` (the last column is the resource, `gp_fidelity`) the rows are points of
  configuration x resource and the first half is the highest-resource points (best value
  first among equals): the lowest-fidelity points are the first dropped.
- Hyperparameters are fitted (MAP, L-BFGS-B) from the previous fit's values, and one fit in
  `FRESH_EVERY` (the first included) also from the default and `n_restarts` random values
  while there are at most 60 trials (the likelihood has several optima when data are few),
  keeping the best; they are fitted at every ask up to 30 usable
  trials, then once the usable trials have grown by 5% since the last fit, or when the model
  holds cap + cap // 4 trials. In between, new trials join the model through a bordered
  Cholesky update (`hpsearch.gp.model.extend`, O(n^2) a trial) and a changed target vector
  (warping is refitted on every value at every ask) only re-solves alpha (O(n^2)).
- The prior: `prior`, until a fit finds the values noisy (`gp_options.is_noisy` at
  `SWITCH_RATIO`) when `noisy_prior` is given; from then on `noisy_prior`, refitted under it at
  once (`noise_prior="auto"`). One way: a resumed study, told every trial again, decides
  afresh at its first fit.
- Failed trials: failed="worst" imputes the worst finite value (they are usable), "skip"
  leaves them out. The encoded rows are kept in one array grown by the new rows only.
"""

from __future__ import annotations

import numpy as np

from hpsearch.gp.model import (
    GaussianProcess,
    Prior,
    default_theta,
    extend,
    fit,
    retarget,
)
from hpsearch.gp.warping import warp
from hpsearch.strategies.gp_options import SWITCH_RATIO, is_noisy

__all__ = ["ModelTrials", "space_filling"]

EXACT_UP_TO = 30  # usable trials up to which the hyperparameters are refitted at every ask
REFIT_GROWTH = 20  # past that, refit once the usable trials grew by 1/REFIT_GROWTH
FRESH_EVERY = 4  # one fit in FRESH_EVERY also starts afresh (default and random thetas)


def space_filling(Z: np.ndarray, chosen: np.ndarray, candidates: np.ndarray, k: int
                  ) -> np.ndarray:
    """Greedy maximin: k of `candidates` (indices into Z (N, D)), each the farthest from all
    of `chosen` and the ones picked before it (ties: the first). Returns their indices."""
    points = Z[candidates]
    if len(chosen):
        anchors = Z[chosen]
        gap = ((points * points).sum(1)[:, None] + (anchors * anchors).sum(1)[None, :]
               - 2.0 * points @ anchors.T).min(axis=1)
    else:
        gap = np.full(len(candidates), np.inf)
    picked = []
    for _ in range(min(k, len(candidates))):
        best = int(np.argmax(gap))
        picked.append(best)
        step = points - points[best]
        gap = np.minimum(gap, (step * step).sum(1))
        gap[best] = -np.inf
    return candidates[np.array(picked, dtype=int)]


class ModelTrials:
    """See the module docstring."""

    def __init__(self, cap: int, prior: Prior, rng: np.random.Generator, n_restarts: int,
                 failed: str, output_warping: str, noisy_prior: Prior | None = None,
                 fidelity: bool = False) -> None:
        self.cap, self.prior, self.rng = cap, prior, rng
        self.fidelity = fidelity  # the last column is the resource (gp_fidelity)
        self.noisy_prior = noisy_prior  # switched to (for good) once a fit finds noise
        self.n_restarts, self.failed, self.output_warping = n_restarts, failed, output_warping
        self.X: np.ndarray | None = None  # every told trial's row, (N, D)
        self.theta: np.ndarray | None = None
        self.n_at_fit = 0  # usable trials at the last fit
        self.index = np.zeros(0, dtype=int)  # the trials in the model, in its row order
        self.upto = 0  # usable trials considered by the model so far
        self.gp: GaussianProcess | None = None
        self.fits = 0

    def model(self, rows: list[np.ndarray], values: list[float]) -> tuple[GaussianProcess, float]:
        X = self._design(rows)
        y, usable = self._targets(values)
        n = len(usable)
        due = (self.gp is None or n <= EXACT_UP_TO or n - self.n_at_fit >= n // REFIT_GROWTH
               or len(self.index) + n - self.upto > self.cap + self.cap // 4)
        if due:
            self.index = self._select(X, y, usable)
            self.gp = self._fit(X[self.index], y[self.index])
            self.n_at_fit = n
        else:
            new = usable[self.upto:]
            self.gp = extend(self.gp, X[new], y[new])
            self.index = np.concatenate([self.index, new])
            self.gp = retarget(self.gp, y[self.index])
        self.upto = n
        return self.gp, float(y[usable].min())

    def _design(self, rows: list[np.ndarray]) -> np.ndarray:
        have = 0 if self.X is None else len(self.X)
        if have < len(rows):
            new = np.array(rows[have:])
            self.X = new if self.X is None else np.vstack([self.X, new])
        return self.X

    def _targets(self, values: list[float]) -> tuple[np.ndarray, np.ndarray]:
        """Warped targets (N,) (NaN where unusable) and the usable trials' indices, ascending."""
        y = np.array(values, dtype=float)
        finite = np.isfinite(y)
        if self.failed == "worst":
            y = np.where(finite, y, y[finite].max())
            usable = np.arange(len(y))
        else:
            usable = np.flatnonzero(finite)
        warped = np.full(len(y), np.nan)
        warped[usable] = warp(y[usable], self.output_warping)
        return warped, usable

    def _select(self, X: np.ndarray, y: np.ndarray, usable: np.ndarray) -> np.ndarray:
        """The trials of the next fit (see the module docstring), in ascending order."""
        if len(usable) <= self.cap:
            return usable.copy()
        if self.fidelity:  # the highest resource first, the best value first within it
            order = usable[np.lexsort((y[usable], -X[usable, -1]))]
        else:
            order = usable[np.argsort(y[usable], kind="stable")]
        best, rest = order[: self.cap // 2], order[self.cap // 2:]
        scale = np.exp(self.theta[:-2]) if self.theta is not None else 1.0
        filling = space_filling(X / scale, best, rest, self.cap - len(best))
        return np.sort(np.concatenate([best, filling]))

    def _fit(self, X: np.ndarray, y: np.ndarray) -> GaussianProcess:
        n, d = X.shape
        self.fits += 1
        starts = [] if self.theta is None else [self.theta]  # warm start from the last fit
        if self.theta is None or self.fits % FRESH_EVERY == 0:
            starts.append(default_theta(d, self.prior))
            for _ in range(self.n_restarts if n <= 60 else 0):
                jitter = self.rng.normal(0.0, 1.0, d + 2) * np.r_[np.full(d, 1.0), 0.5, 1.0]
                starts.append(default_theta(d, self.prior) + jitter)
        gp = fit(X, y, np.array(starts), self.prior)
        if self.noisy_prior is not None and is_noisy(gp.noise_variance, gp.signal_variance,
                                                     SWITCH_RATIO):
            self.prior, self.noisy_prior = self.noisy_prior, None  # and refit under it
            gp = fit(X, y, gp.theta[None, :], self.prior)
        self.theta = gp.theta
        return gp
