"""A minibatch training run's whole state as named arrays, to stop it and go on later exactly.

Contract: `capture(run, next_epoch) -> {name: ndarray}` reads a `nn_core.trainer` minibatch run
between two epochs; `restore(run, state) -> next_epoch` puts it back into a freshly built run of
the same network, data and `TrainConfig`. A run restored this way and trained on gives, with the
same seed, the very same parameters, optimizer moments, learning rates, batch-norm statistics,
random draws and history (losses, scores, update ratios; not the wall times) as a run that was
never stopped: bit for bit. Everything is a NumPy array of numbers (no objects, no pickle), so
the mapping can be stored anywhere arrays go (hpsearch stores it as a trial's checkpoint):

    format                  (1,) int64, `FORMAT`
    epoch, iteration        () int64: the next epoch to run, the minibatch steps taken
    params                  (P,) the flat parameter vector
    buffer.<name>           the network's buffers (batch-norm running mean and variance)
    rule.array.<key>        the update rule's state arrays (moments, velocity, cache)
    rule.int.<key>          its integer counters (Adam's t)
    rng                     (B,) uint8: the Generator's bit-generator state as UTF-8 JSON (the
                            128-bit PCG64 state and increment are integers JSON keeps exactly)
    plateau                 (3,) float64: a plateau schedule's current rate, best, stalled
    progress                (4,) float64: best validation score, best epoch (-1: none),
                            epochs stalled, the divergence limit
    best.params, best.buffer.<name>   the best epoch's snapshot (early stopping only)
    losses                  (iteration,) float64: every minibatch loss so far
    record.<key>            (epochs,) float64: the per-epoch records so far
    ratio.<weight>          (epochs,) float64: the update ratios so far

`restore` raises ValueError naming what does not fit (another format, a parameter vector of
another size, a bit generator of another kind).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from nn_core.schedules import Plateau

__all__ = ["FORMAT", "capture", "restore", "rng_state_array", "set_rng_state"]

FORMAT = 1


def rng_state_array(rng: np.random.Generator) -> np.ndarray:
    """The Generator's bit-generator state as a uint8 array of UTF-8 JSON."""
    text = json.dumps(rng.bit_generator.state, sort_keys=True)
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()


def set_rng_state(rng: np.random.Generator, array: np.ndarray) -> None:
    """Put back a state from `rng_state_array` (ValueError for another bit generator)."""
    state = json.loads(np.asarray(array, dtype=np.uint8).tobytes().decode("utf-8"))
    kind = type(rng.bit_generator).__name__
    if state.get("bit_generator") != kind:
        raise ValueError(f"the saved random state is a {state.get('bit_generator')!r} one; "
                         f"this run's generator is {kind!r}")
    rng.bit_generator.state = state


def capture(run: Any, next_epoch: int) -> dict[str, np.ndarray]:
    """The state of the minibatch run `run` before epoch `next_epoch` (module docstring)."""
    state: dict[str, np.ndarray] = {
        "format": np.array([FORMAT], dtype=np.int64),
        "epoch": np.array(next_epoch, dtype=np.int64),
        "iteration": np.array(run.iteration, dtype=np.int64),
        "params": run.flat.flat.copy(),
        "rng": rng_state_array(run.rng),
        "progress": np.array([run.best_score, -1 if run.best_epoch is None else run.best_epoch,
                              run.stalled, run.limit], dtype=np.float64),
        "losses": run.losses[:run.iteration].copy(),
    }
    state.update({f"buffer.{k}": v.copy() for k, v in run.network.buffers.items()})
    for key, value in run.rule_state.items():
        if key.startswith("_scratch"):
            continue  # a work buffer: its contents never carry over
        if isinstance(value, np.ndarray):
            state[f"rule.array.{key}"] = value.copy()
        else:
            state[f"rule.int.{key}"] = np.array(int(value), dtype=np.int64)
    if isinstance(run.schedule, Plateau):
        state["plateau"] = np.array([run.schedule.current, run.schedule.best,
                                     run.schedule.stalled], dtype=np.float64)
    if run.best is not None:
        params, buffers = run.best
        state["best.params"] = params.copy()
        state.update({f"best.buffer.{k}": v.copy() for k, v in buffers.items()})
    state.update({f"record.{k}": np.asarray(v, dtype=np.float64) for k, v in run.record.items()})
    state.update({f"ratio.{k}": np.asarray(v, dtype=np.float64) for k, v in run.ratios.items()})
    return state


def _prefixed(state: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def restore(run: Any, state: dict[str, np.ndarray]) -> int:
    """Load `state` into the freshly built run `run`; returns the epoch to go on from."""
    state = {k: np.asarray(v) for k, v in state.items()}
    if "format" not in state or int(state["format"][0]) != FORMAT:
        raise ValueError(f"not a training state of format {FORMAT}")
    params = state["params"]
    if params.shape != run.flat.flat.shape or params.dtype != run.flat.flat.dtype:
        raise ValueError(f"the saved parameters are {params.dtype}{list(params.shape)}; this "
                         f"network has {run.flat.flat.dtype}{list(run.flat.flat.shape)}")
    run.flat.flat[...] = params
    for key, value in _prefixed(state, "buffer.").items():
        run.network.buffers[key] = value.copy()
    run.rule_state.clear()
    run.rule_state.update({k: v.copy() for k, v in _prefixed(state, "rule.array.").items()})
    run.rule_state.update({k: int(v) for k, v in _prefixed(state, "rule.int.").items()})
    set_rng_state(run.rng, state["rng"])
    run.iteration = int(state["iteration"])
    run.losses[:run.iteration] = state["losses"]
    best_score, best_epoch, stalled, limit = (float(v) for v in state["progress"])
    run.best_score, run.stalled, run.limit = best_score, int(stalled), limit
    run.best_epoch = None if best_epoch < 0 else int(best_epoch)
    if "plateau" in state and isinstance(run.schedule, Plateau):
        current, best, plateau_stalled = (float(v) for v in state["plateau"])
        run.schedule.current, run.schedule.best = current, best
        run.schedule.stalled = int(plateau_stalled)
    if "best.params" in state:
        run.best = (state["best.params"].copy(), _prefixed(state, "best.buffer."))
    for key in run.record:
        run.record[key] = [float(v) for v in state.get(f"record.{key}", ())]
    for key in run.ratios:
        run.ratios[key] = [float(v) for v in state.get(f"ratio.{key}", ())]
    return int(state["epoch"])
