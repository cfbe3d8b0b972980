"""`strategy="gp"`: Bayesian optimisation with a Gaussian process (no torch).

The adapter between trials and the pure GP maths of `hpsearch.gp`:

- Encoding (`hpsearch.strategies.encoding`): each dimension maps onto [0, 1] by its own
  `to_unit` (log dimensions in log space; integers and stepped floats are relaxed to the unit
  interval and snapped back to their nearest valid value); each categorical becomes a one-hot
  block of columns, or one index column past 32 choices (or 256 one-hot columns in all), so a
  model row has D <= len(space) + 256 columns. Conditional spaces: an inactive dimension takes
  a fixed imputed value and the parent's columns tell the branches apart (see that module).
- Start-up: the first `n_startup` points are a scrambled Sobol sequence (or uniform draws)
  seeded from the strategy's Generator; the model takes over once that many trials have a
  finite value. Points already handed out count, so parallel workers get distinct start-up
  points, and a resumed study continues the sequence.
- Model: Matern 5/2 with ARD length scales, fit by maximum a posteriori marginal likelihood
  (L-BFGS-B, analytic gradients), warm-started from the previous fit; objective values are
  warped (`output_warping`) and standardised. Bounded: at most `max_model_trials` (256) trials
  in the model, all of them up to that; past it the best half plus a space-filling subset of
  the rest, chosen at each hyperparameter fit (every ask up to 30 trials, then at 5% growth),
  with the trials told in between (and the lies) added by bordered Cholesky updates, a row
  per trial, instead of a new factorisation (`hpsearch.strategies.gp_trials`).
- Failed trials (raised, NaN, no value): `failed="worst"` (default) imputes the worst finite
  value seen, so the search moves away from configurations that break; `failed="skip"` leaves
  them out. Pruned trials with a finite value (the engine keeps the last reported one, or
  else their last finite intermediate value) count like complete ones: that value is an
  honest, if pessimistic, reading of a configuration judged poor; pruned trials with none are
  handled like failed ones.
- With a pruner or scheduler (`use_steps`, called by the study) the model learns from every
  report: a GP over configuration x resource (`hpsearch.strategies.gp_fidelity`: a trial's
  reports at rung-like steps, the resource as one more input in [0, 1]), its acquisition
  read at the resource of a full training, the incumbent the best final value (or, before
  any, the lowest posterior mean of a full training at the configurations seen); paused
  trials are told too, and a pruned trial's last report is no longer read as its final value.
  `max_model_trials` then bounds the model's points (the highest-resource half first, then a
  space-filling subset), so an ask costs what it costs without a scheduler at that many
  trials. Without a pruner nothing changes.
- Pending trials (running elsewhere) and the points already chosen in the same `ask` are
  added to the GP with a lie (`liar`: "min", the best value so far, by default, the
  constant liar of Ginsbourger et al.; "mean", "max", or "believer", the GP's own mean),
  which flattens the acquisition around them; proposals equal to an observed or pending
  point are skipped.
- Acquisition: "logei" (default), "ei", "lcb", "pi" or "hedge" (GP-Hedge over EI, LCB and PI,
  Hoffman et al. 2011), maximised over `n_candidates` random points plus perturbed incumbents,
  then L-BFGS-B from the best few (`hpsearch.gp.optimize_acq`), all inside the trust region
  (TuRBO's box around the incumbent, `hpsearch.strategies.gp_region`; `trust_region=False`
  searches the whole space): on COCO's BBOB suite it took gp's mean rank from 4.6 to 3.3 of
  9 methods, most in 10-D and on badly conditioned functions (docs/benchmarks.md).
- Cost of one ask, bounded for any space: with n model points (at most 1.25 x
  `max_model_trials`, plus the pending ones), m = `n_candidates` (at most `MAX_CANDIDATES`)
  and D model columns (at most len(space) + 256, above), the fit needs O(n^2 + n D) memory and
  O(n^2 D) time per iteration; scoring the candidates 8 bytes x 1.25 m (D + n) and O(m n D)
  time; the local starts' gradients 8 bytes x 3 n_local n D. A categorical's number of choices
  adds nothing past 32: with 10,000 choices and 20 trials an ask took 85-98 s and 7.7 GB when
  each choice was a column, and takes 0.05 s and about 1 MB as one index column
  (`scripts/bench_gp_categorical.py`). The start-up design holds n_startup x len(space)
  numbers (n_startup at most `MAX_STARTUP`).

Everything random comes from the Generator given at construction.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import qmc
from threadpoolctl import ThreadpoolController

from hpsearch.exceptions import SpaceError
from hpsearch.gp import acquisition as acq
from hpsearch.gp.model import GaussianProcess, extend, predict, predict_with_grad, training_mean
from hpsearch.gp.optimize_acq import maximize
from hpsearch.pareto import to_minimize
from hpsearch.space import Space
from hpsearch.strategies.base import Strategy
from hpsearch.strategies.encoding import Encoding
from hpsearch.strategies.gp_fidelity import FidelityPoints, at_full, final_incumbent
from hpsearch.strategies.gp_options import (
    EVIDENCE_MARGIN,
    MAX_CANDIDATES,
    MAX_STARTUP,
    NOISY_RATIO,
    check_options,
    is_noisy,
    noisy_prior_for,
    prior_for,
)
from hpsearch.strategies.gp_region import TrustRegion, evidence_box
from hpsearch.strategies.gp_trials import ModelTrials
from hpsearch.strategies.keys import point_key
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["GPStrategy", "MAX_CANDIDATES", "MAX_STARTUP"]

Box = tuple[np.ndarray, np.ndarray] | None  # (low, high) (D,) of the trust region, or None


@functools.cache
def _controller() -> ThreadpoolController:
    """The BLAS libraries, found once: `threadpool_limits` searches them at every call, which
    cost 0.5-1.5 ms an ask, a tenth of it (NumPy's and SciPy's are loaded by now)."""
    return ThreadpoolController()


class GPStrategy(Strategy):
    """Gaussian-process Bayesian optimisation (see the module docstring for the method).

    Options (keyword arguments, i.e. `strategy_options`):
        n_startup: start-up points before the model is used (None: max(10, len(space) + 1),
            at most 1000; up to `MAX_STARTUP`).
        startup: "sobol" (scrambled Sobol, default) or "random".
        acquisition: "logei" (default), "ei", "lcb", "pi" or "hedge".
        xi: improvement margin for EI/log-EI/PI, in standardised units (0.0).
        kappa: exploration weight of LCB (1.96).
        n_candidates: random candidates scored per proposal (1024, up to `MAX_CANDIDATES`),
            plus a quarter as many perturbations of the best points.
        n_local: L-BFGS-B starts from the best candidates (8, up to 256).
        n_restarts: extra random starts of the hyperparameter fit while there are at most
            60 trials (2, up to 100); the previous fit and a default start are always tried.
        output_warping: "yeo-johnson" (default), "log" or "none".
        liar: value given to pending points: "min" (default), "mean", "max" or "believer".
        failed: "worst" (impute the worst finite value, default) or "skip".
        hedge_eta: GP-Hedge learning rate (1.0).
        max_model_trials: the most trials the model holds (256, from 10 to 4096); see the
            module docstring for which.
        lengthscale_prior: "unit" (peaked at 1 in the unit cube, default) or "dimension"
            (log-normal, median growing with the dimension; `hpsearch.gp.model.Prior`).
        trust_region: propose only inside TuRBO's box around the incumbent (True;
            `hpsearch.strategies.gp_region`; one objective only, ignored with several).
        noise_prior: "auto" (default: "tight" until a fit finds a noise variance above 3% of
            the signal's, then "weak" for good), "tight" (the noise variance's prior mode is
            0.4% of the standardised variance and 10% is all but excluded) or "weak" (ten
            times looser, Optuna's rate: plateaus and noisy values are explained as noise
            more readily). `hpsearch.strategies.gp_options` says why these thresholds.
        evidence_margin: how far (in the unit cube, on each side) the gradient step of the
            acquisition optimiser may go beyond the span of the best quarter of the trials:
            "auto" (default: `EVIDENCE_MARGIN` with a pruner or scheduler, "off" without
            one), a number in [0, 1], or "off" (no limit but the trust region). Why:
            expected improvement grows towards the edges of the cube (the variance does),
            and L-BFGS-B followed it onto the bounds (docs/multifidelity.md).
        incumbent: "auto" (default: "mean" while the fitted noise variance is above 1% of
            the signal's, else "observed"), "observed" (the best value seen is what expected
            improvement must beat, and the trust region's centre) or "mean" (the lowest
            posterior mean at the trials, the plug-in incumbent for noisy objectives).
    Unknown options or bad values raise `StrategyError`.
    """

    name = "gp"
    multi_objective = True  # random Chebyshev scalarisations (ParEGO), see _scalarise

    def __init__(self, space: Space, rng: np.random.Generator, direction: str = "minimize", *,
                 n_startup: int | None = None, startup: str = "sobol",
                 acquisition: str = "logei", xi: float = 0.0, kappa: float = 1.96,
                 n_candidates: int = 1024, n_local: int = 8, n_restarts: int = 2,
                 output_warping: str = "yeo-johnson", liar: str = "min", failed: str = "worst",
                 hedge_eta: float = 1.0, max_model_trials: int = 256,
                 lengthscale_prior: str = "unit", trust_region: bool = True,
                 noise_prior: str = "auto", incumbent: str = "auto",
                 evidence_margin: float | str = "auto",
                 **unknown: Any) -> None:
        super().__init__(space, rng, direction)
        opts = dict(n_startup=n_startup, startup=startup, acquisition=acquisition, xi=xi,
                    kappa=kappa, n_candidates=n_candidates, n_local=n_local,
                    n_restarts=n_restarts, output_warping=output_warping, liar=liar,
                    failed=failed, hedge_eta=hedge_eta, max_model_trials=max_model_trials,
                    lengthscale_prior=lengthscale_prior, trust_region=trust_region,
                    noise_prior=noise_prior, incumbent=incumbent,
                    evidence_margin=evidence_margin)
        opts = check_options(opts, unknown, len(space))
        self.options = opts
        self.encoding = Encoding(space)
        self.prior = prior_for(opts, len(space))
        self._rows: list[np.ndarray] = []
        self._values: list[float] = []  # to minimise; nan for failed (scalarised: several)
        self._objectives: list[np.ndarray] = []  # (k,) per told trial, to minimise
        self._keys: set[tuple] = set()
        self._n_told = 0
        self._n_issued = 0
        self._fidelity: FidelityPoints | None = None  # set by use_steps
        self._fidelity_version: tuple = (0, 0, frozenset())
        self._stale = False
        self._models = self._new_models()
        self._gains = np.zeros(3)
        self._nominees: np.ndarray | None = None
        self._ranking: tuple[GaussianProcess, np.ndarray] | None = None  # `_ranked`'s last
        self._startup_units = self._make_startup()
        # one objective only: ParEGO's scalarisation changes at every ask, so "an improvement
        # of the best value" would mean nothing from one ask to the next
        self._region = (TrustRegion(len(self.encoding.continuous))
                        if trust_region and len(self.directions) == 1 else None)

    # -- trials in ---------------------------------------------------------------------------

    learns_from_steps = True

    def use_steps(self, max_step: int | None) -> None:
        if self.options["evidence_margin"] == "auto":
            self.options["evidence_margin"] = EVIDENCE_MARGIN
        if len(self.directions) == 1:  # several objectives: finished trials only, as before
            self._fidelity = FidelityPoints(max_step)

    def tell(self, trial: FrozenTrial) -> None:
        if self._fidelity is not None:
            self._tell_steps(trial)
            return
        if not trial.state.is_finished:
            return  # interrupted trials run again later; they say nothing about their params
        self._n_told += 1
        try:
            row = self.encoding.encode_params(trial.params)
        except (KeyError, SpaceError):
            return  # params from another space (e.g. a renamed dimension): nothing to learn
        k = len(self.directions)
        value = np.full(k, math.nan)
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED) and trial.has_value \
                and len(trial.values) == k:
            value = to_minimize(np.array(trial.values), self.directions)
        elif trial.state == TrialState.PRUNED and k == 1:
            finite = [v for _, v in sorted(trial.intermediate.items()) if math.isfinite(v)]
            if finite:
                value = np.array([self.sign() * float(finite[-1])])
        self._rows.append(row)
        self._objectives.append(value)
        self._values.append(float(value[0]) if k == 1 else math.nan)
        self._keys.add(point_key(self.space, trial.params))

    def _tell_steps(self, trial: FrozenTrial) -> None:
        """Multi-fidelity: the trial's points (`hpsearch.strategies.gp_fidelity`)."""
        if not (trial.state.is_finished or trial.state is TrialState.PAUSED):
            return
        try:
            row = self.encoding.encode_params(trial.params)
        except (KeyError, SpaceError):
            return
        self._fidelity.add_trial(trial, row, self.sign())
        self._n_told = self._fidelity.n_trials()
        self._keys.add(point_key(self.space, trial.params))
        self._stale = True

    def _sync_steps(self) -> None:
        """The model's points from the fidelity data, once per ask after new tells."""
        points = self._fidelity
        leave_out = points.untrusted()
        X, y = points.design(leave_out)
        version = (points.version, points.resource, leave_out)
        if version != self._fidelity_version:  # a value changed, R grew, a step left: afresh
            self._fidelity_version = version
            theta = self._models.theta
            self._models = self._new_models()
            self._models.theta = theta  # the fit still starts from the last hyperparameters
        self._rows, self._values = list(X), list(y)
        self._stale = False

    def _new_models(self) -> ModelTrials:
        opts = self.options
        return ModelTrials(opts["max_model_trials"], self.prior, self.rng, opts["n_restarts"],
                           opts["failed"], opts["output_warping"],
                           noisy_prior_for(opts, len(self.space)),
                           fidelity=self._fidelity is not None)

    def _lift(self, X: np.ndarray) -> np.ndarray:
        """Configuration rows (k, D) as model rows (`gp_fidelity.at_full`, or unchanged)."""
        return X if self._fidelity is None else at_full(X)

    def _incumbent(self, gp: GaussianProcess) -> tuple[np.ndarray, float]:
        """The incumbent's configuration row (D,) and the warped value EI must beat."""
        width = self.encoding.n_columns
        kind = self.options["incumbent"]
        noisy = kind == "mean" or (kind == "auto" and is_noisy(
            gp.noise_variance, gp.signal_variance, NOISY_RATIO))
        if self._fidelity is None:
            if noisy:  # trust the mean
                fitted = training_mean(gp)
                return gp.X[int(np.argmin(fitted))], float(fitted.min())
            best = int(np.argmin(gp.y))
            return gp.X[best], float(gp.y[best])
        return final_incumbent(gp, width, noisy)

    def _scalarise(self) -> None:
        """Several objectives (ParEGO, Knowles 2006): this ask's values are the augmented
        Chebyshev scalarisation max_i w_i f_i + 0.05 sum_i w_i f_i of the objectives, each
        normalised to [0, 1] over the finite values seen, with fresh weights w drawn uniformly
        from the simplex; the single-objective model then works on those."""
        F = np.array(self._objectives)
        finite = np.all(np.isfinite(F), axis=1)
        if not finite.any():
            self._values = [math.nan] * len(F)
            return
        low, high = F[finite].min(axis=0), F[finite].max(axis=0)
        scaled = (F - low) / np.where(high > low, high - low, 1.0)
        weights = self.rng.dirichlet(np.ones(F.shape[1]))
        y = np.max(scaled * weights, axis=1) + 0.05 * (scaled @ weights)
        self._values = list(np.where(finite, y, math.nan))

    # -- points out --------------------------------------------------------------------------

    def ask(self, n: int, pending: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
        if self._fidelity is not None and self._stale:
            self._sync_steps()
        taken = set(self._keys)
        pending_rows = []
        for params in pending:
            try:
                pending_rows.append(self.encoding.encode_params(params))
                taken.add(point_key(self.space, params))
            except (KeyError, SpaceError):
                continue
        if len(self.directions) > 1 and self._objectives:
            self._scalarise()
        n_finite = int(np.isfinite(self._values).sum()) if self._values else 0
        if self._fidelity is not None:  # start-up counts trials, not points
            n_finite = min(n_finite, self._fidelity.n_trials())
        out: list[dict[str, Any]] = []
        if n_finite < max(self.options["n_startup"], 2) or self._constant_values():
            index = max(self._n_issued, self._n_told + len(pending))
            for _ in range(n):
                out.append(self._startup_point(index, taken))
                index += 1
            self._n_issued = index
            return out
        # Small matrices: BLAS threads cost more than they give, and the machine is shared.
        with _controller().limit(limits=1):
            gp, _ = self._fit()
            center, y_best = self._incumbent(gp)
            box = None
            if self._region is not None:
                self._region.update(self._values if self._fidelity is None
                                    else self._fidelity.finals)
                box = self._region.box(center, gp.lengthscales[: self.encoding.n_columns],
                                       self.encoding.continuous_array)
            batch_rows: list[np.ndarray] = []
            for _ in range(n):
                lie_rows = pending_rows + batch_rows
                model = self._with_lies(gp, lie_rows, y_best)
                row, params = self._propose(model, y_best, taken, not batch_rows, box)
                taken.add(point_key(self.space, params))
                batch_rows.append(row)
                out.append(params)
        self._n_issued += n
        return out

    # -- start-up ----------------------------------------------------------------------------

    def _make_startup(self) -> np.ndarray:
        n, d = self.options["n_startup"], len(self.space)
        if self.options["startup"] == "random" or n == 0 or d > qmc.Sobol.MAXDIM:
            return self.rng.random((n, d))
        sobol = qmc.Sobol(d, scramble=True, seed=self.rng)
        return sobol.random_base2(max(0, math.ceil(math.log2(n))))[:n]

    def _startup_point(self, index: int, taken: set[tuple]) -> dict[str, Any]:
        if index < len(self._startup_units):
            params = self.space.from_unit(self._startup_units[index])
        else:
            params = self.space.sample(self.rng)
        for _ in range(100):  # small discrete spaces: draw until new, if anything is left
            if point_key(self.space, params) not in taken:
                break
            params = self.space.sample(self.rng)
        taken.add(point_key(self.space, params))
        return params

    def _constant_values(self) -> bool:
        y = np.asarray(self._values)
        y = y[np.isfinite(y)]
        return bool(np.ptp(y) <= 0)

    # -- model -------------------------------------------------------------------------------

    def _fit(self) -> tuple[GaussianProcess, float]:
        """The model to propose from and the best (warped) value: `hpsearch.strategies.gp_trials`
        picks its trials and keeps its Cholesky factor from one ask to the next."""
        return self._models.model(self._rows, self._values)

    def _with_lies(self, gp: GaussianProcess, rows: list[np.ndarray], y_best: float
                   ) -> GaussianProcess:
        if not rows:
            return gp
        P = self._lift(np.array(rows))
        liar = self.options["liar"]
        if liar == "believer":
            lies, _ = predict(gp, P)
        else:
            value = {"min": y_best, "mean": float(gp.y.mean()), "max": float(gp.y.max())}[liar]
            lies = np.full(len(P), value)
        return extend(gp, P, lies)  # a bordered Cholesky update, not a new factorisation

    # -- acquisition -------------------------------------------------------------------------

    def _acquisition(self, gp: GaussianProcess, y_best: float, kind: str):
        xi, kappa = float(self.options["xi"]), float(self.options["kappa"])

        def value_and_grad(x: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
            # Conditional spaces: score the point that exists (inactive columns imputed); the
            # value does not depend on the imputed columns, so their gradient is zero.
            x, imputed = self.encoding.project(x.copy())
            width = x.shape[1]
            if grad:
                mean, var, dmean, dvar = predict_with_grad(gp, self._lift(x))
                dmean, dvar = dmean[:, :width], dvar[:, :width]
            else:
                mean, var = predict(gp, self._lift(x))
            if kind == "lcb":
                v, dm, dv = acq.lower_confidence_bound(mean, var, kappa)
            elif kind == "pi":
                v, dm, dv = acq.log_probability_of_improvement(mean, var, y_best, xi)
            elif kind == "ei":
                v, dm, dv = acq.expected_improvement(mean, var, y_best, xi)
            else:
                v, dm, dv = acq.log_expected_improvement(mean, var, y_best, xi)
            if not grad:
                return v, None
            g = dm[:, None] * dmean + dv[:, None] * dvar
            if imputed is not None:
                g[imputed] = 0.0
            return v, g

        return value_and_grad

    def _candidates(self, gp: GaussianProcess, box: Box) -> np.ndarray:
        m = self.options["n_candidates"]
        random_rows = self.encoding.encode_units(self.rng.random((m, len(self.space))))
        if box is not None:  # the trust region: its own uniform draws, perturbations inside
            c = self.encoding.continuous_array
            random_rows[:, c] = box[0][c] + (box[1][c] - box[0][c]) * random_rows[:, c]
        # Perturbed incumbents: most of the value of a good search is near its best points.
        width = self.encoding.n_columns
        best = self._ranked(gp)[:5]
        n_near = max(m // 4, 1)
        near = best[self.rng.integers(len(best), size=n_near)].copy()
        scale = np.minimum(gp.lengthscales[:width], 1.0) * self.rng.choice([0.02, 0.1, 0.3],
                                                                   size=(n_near, 1))
        near += self.rng.normal(size=near.shape) * scale
        near = np.clip(near, *(box or (0.0, 1.0)))
        for group in self.encoding.groups:
            flip = self.rng.random(n_near) < 1.0 / max(len(self.space), 2)
            choice = self.rng.integers(len(group), size=n_near)
            near[np.ix_(flip, group)] = 0.0
            near[np.flatnonzero(flip), group[choice[flip]]] = 1.0
            keep = ~flip
            rounded = np.zeros((int(keep.sum()), len(group)))
            rounded[np.arange(int(keep.sum())), near[np.ix_(keep, group)].argmax(1)] = 1.0
            near[np.ix_(keep, group)] = rounded
        return np.vstack([self.encoding.snap(random_rows), self.encoding.snap(near)])

    def _ranked(self, gp: GaussianProcess) -> np.ndarray:
        """The model's configuration rows (n, D), best first: by value, or in multi-fidelity
        mode by the predicted value of a full training (O(n^2 D): kept for the same model,
        which the candidates and the evidence box both ask for)."""
        if self._ranking is not None and self._ranking[0] is gp:
            return self._ranking[1]
        width = self.encoding.n_columns
        if self._fidelity is None:
            ranking = gp.y
        else:
            ranking, _ = predict(gp, self._lift(gp.X[:, :width]))
        rows = gp.X[np.argsort(ranking, kind="stable"), :width]
        self._ranking = (gp, rows)
        return rows

    def _local_box(self, gp: GaussianProcess, box: Box) -> Box:
        """Where L-BFGS-B may move (`evidence_margin`, see the class docstring): the span of
        the best quarter of the model's configurations (at least 5), widened by the margin on
        each side, within the trust region; None: the trust region (or the whole cube)."""
        margin = self.options["evidence_margin"]
        if margin in ("auto", "off"):  # "auto" without a scheduler: off
            return box
        return evidence_box(self._ranked(gp), box, margin, self.encoding.continuous_array)

    def _maximize(self, gp: GaussianProcess, y_best: float, kind: str, candidates: np.ndarray,
                  box: Box) -> tuple[np.ndarray, np.ndarray]:
        return maximize(self._acquisition(gp, y_best, kind), candidates,
                        self.encoding.continuous_array, self.encoding.groups,
                        gp.lengthscales[: self.encoding.n_columns],
                        self.encoding.snap, n_local=self.options["n_local"],
                        box=self._local_box(gp, box))

    def _propose(self, gp: GaussianProcess, y_best: float, taken: set[tuple], first: bool,
                 box: Box) -> tuple[np.ndarray, dict[str, Any]]:
        candidates = self._candidates(gp, box)
        kind = self.options["acquisition"]
        if kind != "hedge":
            points, _ = self._maximize(gp, y_best, kind, candidates, box)
        else:
            points = self._hedge(gp, y_best, candidates, first, box)
        for row in points[:256]:
            params = self.encoding.decode(row)
            if point_key(self.space, params) not in taken:
                return self.encoding.encode_params(params), params
        params = self._startup_point(len(self._startup_units), taken)
        return self.encoding.encode_params(params), params

    def _hedge(self, gp: GaussianProcess, y_best: float, candidates: np.ndarray, first: bool,
               box: Box) -> np.ndarray:
        """GP-Hedge: each acquisition nominates a point; pick one by past rewards."""
        if first and self._nominees is not None:
            mean, _ = predict(gp, self._lift(self._nominees))
            self._gains -= mean  # reward: a low posterior mean at what each one nominated
        results = [self._maximize(gp, y_best, kind, candidates, box)[0]
                   for kind in ("logei", "lcb", "pi")]
        gains = self.options["hedge_eta"] * (self._gains - self._gains.max())
        probabilities = np.exp(gains) / np.exp(gains).sum()
        chosen = int(self.rng.choice(3, p=probabilities))
        if first:
            self._nominees = np.array([r[0] for r in results])
        return results[chosen]
