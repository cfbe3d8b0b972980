"""Exact resume: a run stopped after an epoch and continued from its saved state equals a run
that was never stopped, bit for bit (nn_core.resume, trainer.train(resume=, state_out=))."""

from __future__ import annotations

import io

import numpy as np
import pytest

from nn_core.data import make_spiral
from nn_core.estimator import MLPClassifier
from nn_core.network import Network, NetworkConfig
from nn_core.trainer import TrainConfig, train

SPIRAL = make_spiral(60, 3, np.random.default_rng(0))
VAL = make_spiral(20, 3, np.random.default_rng(1))
# batch norm (running statistics), dropout (random masks), two hidden layers
NET = NetworkConfig(input_dim=2, output_dim=3, hidden_sizes=(16, 16), batchnorm=True,
                    dropout=0.2)


def through_npz(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The state written and read back as a pickle-free .npz (numbers only)."""
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as loaded:
        return {k: loaded[k] for k in loaded.files}


def run(config: TrainConfig, stop_after: int | None = None, resume=None, seed: int = 0):
    """(network, history, state): a fresh network from `seed`, trained with rng seed 7."""
    network = Network(NET, np.random.default_rng(seed))
    state: dict[str, np.ndarray] = {}
    callback = None if stop_after is None else (lambda epoch, *_: epoch + 1 == stop_after)
    history = train(network, SPIRAL.X, SPIRAL.y, VAL.X, VAL.y, config,
                    np.random.default_rng(7), callback, resume=resume, state_out=state)
    return network, history, state


def assert_same_run(a, b) -> None:
    (net_a, hist_a, _), (net_b, hist_b, _) = a, b
    for key in net_a.params:
        assert np.array_equal(net_a.params[key], net_b.params[key]), key
    for key in net_a.buffers:
        assert np.array_equal(net_a.buffers[key], net_b.buffers[key]), key
    assert np.array_equal(hist_a.loss, hist_b.loss)
    for name in ("epoch_loss", "train_score", "val_score", "val_loss", "learning_rate"):
        assert getattr(hist_a, name) == getattr(hist_b, name), name
    assert hist_a.update_ratio == hist_b.update_ratio
    assert (hist_a.stop_reason, hist_a.best_epoch) == (hist_b.stop_reason, hist_b.best_epoch)


@pytest.mark.parametrize(("optimizer", "schedule"), [
    ("adam", "step"), ("sgd", "exponential"), ("momentum", "inverse_time"),
    ("nesterov", None), ("adagrad", "step"), ("rmsprop", "plateau"),
])
def test_a_resumed_run_equals_an_uninterrupted_one_bit_for_bit(optimizer, schedule):
    config = TrainConfig(optimizer=optimizer, learning_rate=1e-2, epochs=6, batch_size=32,
                         lr_schedule=schedule, lr_step=2, lr_patience=1,
                         lr_decay=0.5 if schedule in ("step", "plateau") else 1e-3)
    whole = run(config)
    first = run(config, stop_after=3)
    assert first[1].stop_reason == "callback" and int(first[2]["epoch"]) == 3
    # a network built from another seed and a generator in another state: all of it restored
    resumed = run(config, resume=through_npz(first[2]), seed=99)
    assert_same_run(whole, resumed)
    assert resumed[1].epochs == 6


def test_resume_twice_and_with_early_stopping():
    config = TrainConfig(optimizer="adam", learning_rate=3e-2, epochs=8, batch_size=40,
                         early_stopping=True, patience=2)
    whole = run(config)
    one = run(config, stop_after=2)
    two = run(config, stop_after=4, resume=one[2], seed=5)
    three = run(config, resume=two[2], seed=6)
    assert_same_run(whole, three)


def test_a_state_that_does_not_fit_is_refused():
    config = TrainConfig(epochs=2, batch_size=32)
    _, _, state = run(config, stop_after=1)
    wider = Network(NetworkConfig(input_dim=2, output_dim=3, hidden_sizes=(8,)),
                    np.random.default_rng(0))
    with pytest.raises(ValueError, match="saved parameters"):
        train(wider, SPIRAL.X, SPIRAL.y, config=config, resume=state)
    with pytest.raises(ValueError, match="format"):
        train(Network(NET, np.random.default_rng(0)), SPIRAL.X, SPIRAL.y, config=config,
              resume={k: v for k, v in state.items() if k != "format"})
    other = np.random.Generator(np.random.MT19937(0))
    with pytest.raises(ValueError, match="PCG64"):
        train(Network(NET, np.random.default_rng(0)), SPIRAL.X, SPIRAL.y, config=config,
              rng=other, resume=state)


def test_the_estimator_resumes_exactly():
    keywords = {"hidden_sizes": (16,), "batchnorm": True, "dropout": 0.1, "epochs": 5,
                "batch_size": 32, "learning_rate": 1e-2, "seed": 3}
    whole = MLPClassifier(**keywords).fit(SPIRAL.X, SPIRAL.y, VAL.X, VAL.y)
    stopped = MLPClassifier(**keywords).fit(SPIRAL.X, SPIRAL.y, VAL.X, VAL.y,
                                            callback=lambda epoch, *_: epoch == 1,
                                            keep_state=True)
    assert stopped.history_.epochs == 2 and int(stopped.training_state_["epoch"]) == 2
    resumed = MLPClassifier(**keywords).fit(SPIRAL.X, SPIRAL.y, VAL.X, VAL.y,
                                            resume=through_npz(stopped.training_state_))
    for key in whole.params_:
        assert np.array_equal(whole.params_[key], resumed.params_[key]), key
    assert whole.history_.val_score == resumed.history_.val_score
    assert np.array_equal(whole.predict_proba(VAL.X), resumed.predict_proba(VAL.X))
