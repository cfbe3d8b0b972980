"""Gaussian-process Bayesian optimisation through scikit-optimize's `Optimizer`.

Contract: `Optimizer(dimensions, base_estimator="GP", random_state=<drawn from rng>, ...)`
behind the strategy seam. Log dimensions use skopt's "log-uniform" prior, ints `Integer`,
categoricals a skopt `Categorical` over their indices (so any choice type works); values come
back through the dimension's own quantisation (steps respected). Pending points get a
constant liar (skopt's "cl_min"): a copy of the optimizer is told the pending points at the
best value seen so far, then each new point at that value before the next `ask()`. Failed
trials are not told (skopt has no notion of failure); pruned trials are told their last value.
skopt is imported when the strategy is built, never by `import hpsearch`; only its GP path
is used (GBRT and "dummy" fail with NumPy 2.4 / scikit-learn 1.9), and any error it raises
becomes a `StrategyError`.

Options: n_initial_points (10), acq_func ("gp_hedge"), acq_optimizer ("auto"),
initial_point_generator ("random"), acq_func_kwargs, acq_optimizer_kwargs.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hpsearch.exceptions import StrategyError
from hpsearch.space import Categorical, Float, Space
from hpsearch.strategies.base import Strategy
from hpsearch.trial import FrozenTrial, TrialState


class SkoptStrategy(Strategy):
    name = "skopt"

    def __init__(self, space: Space, rng: np.random.Generator, direction: str = "minimize", *,
                 n_initial_points: int = 10, acq_func: str = "gp_hedge",
                 acq_optimizer: str = "auto", initial_point_generator: str = "random",
                 acq_func_kwargs: dict | None = None,
                 acq_optimizer_kwargs: dict | None = None) -> None:
        super().__init__(space, rng, direction)
        if space.conditional:
            conditional = [name for name in space if space.parents(name)]
            raise StrategyError(
                f"strategy 'skopt' cannot search a conditional space (scikit-optimize has no "
                f"conditions; {', '.join(conditional)} have `when`): use 'gp', 'tpe', "
                "'random' or 'grid', or remove the conditions")
        try:
            from skopt import Optimizer
            from skopt import space as sk
        except ImportError as err:
            raise StrategyError(f"strategy 'skopt' needs scikit-optimize: {err}") from err
        dims = []
        for name, dim in space.items():
            if isinstance(dim, Categorical):
                dims.append(sk.Categorical(list(range(len(dim.choices))), name=name,
                                           transform="onehot"))
            elif isinstance(dim, Float):
                dims.append(sk.Real(dim.low, dim.high, name=name,
                                    prior="log-uniform" if dim.log else "uniform"))
            else:
                dims.append(sk.Integer(dim.low, dim.high, name=name,
                                       prior="log-uniform" if dim.log else "uniform"))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._optimizer = Optimizer(
                    dims, base_estimator="GP", n_initial_points=n_initial_points,
                    acq_func=acq_func, acq_optimizer=acq_optimizer,
                    initial_point_generator=initial_point_generator,
                    random_state=int(rng.integers(2**31)), acq_func_kwargs=acq_func_kwargs,
                    acq_optimizer_kwargs=acq_optimizer_kwargs)
        except Exception as err:
            raise StrategyError(f"strategy 'skopt': scikit-optimize refused: {err}") from err

    def _to_skopt(self, params: Mapping[str, Any]) -> list[Any]:
        out = []
        for name, dim in self.space.items():
            value = params[name]
            if isinstance(dim, Categorical):
                out.append(dim.index(value))
            elif isinstance(dim, Float):
                out.append(float(value))
            else:
                out.append(int(value))
        return out

    def _from_skopt(self, x: Sequence[Any]) -> dict[str, Any]:
        out = {}
        for (name, dim), value in zip(self.space.items(), x, strict=True):
            if isinstance(dim, Categorical):
                out[name] = dim.choices[int(value)]
            else:
                out[name] = dim.from_unit(dim.to_unit(value))  # clip and quantise
        return out

    def ask(self, n: int, pending: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
        if n <= 0:
            return []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optimizer = self._optimizer
                lie = float(np.min(optimizer.yi)) if optimizer.yi else None
                if lie is not None and (pending or n > 1):
                    # Constant liar ("cl_min"): a copy told the pending points at the best
                    # value so far, then each new point before asking the next one.
                    optimizer = optimizer.copy(random_state=int(self.rng.integers(2**31)))
                    if pending:
                        optimizer.tell([self._to_skopt(p) for p in pending],
                                       [lie] * len(pending))
                points = []
                for k in range(n):
                    points.append(optimizer.ask())
                    if lie is not None and k < n - 1:
                        optimizer.tell(points[-1], lie)
        except Exception as err:
            raise StrategyError(f"strategy 'skopt': scikit-optimize failed in ask: "
                                f"{type(err).__name__}: {err}") from err
        return [self._from_skopt(x) for x in points]

    def tell(self, trial: FrozenTrial) -> None:
        if trial.state not in (TrialState.COMPLETE, TrialState.PRUNED) or not trial.has_value:
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._optimizer.tell(self._to_skopt(trial.params), self.sign() * trial.value)
        except Exception as err:
            raise StrategyError(f"strategy 'skopt': scikit-optimize failed in tell: "
                                f"{type(err).__name__}: {err}") from err
