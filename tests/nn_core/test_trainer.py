"""The training loop: learning, reproducibility, stopping rules, history contents."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from nn_core.data import make_spiral
from nn_core.network import Network, NetworkConfig
from nn_core.trainer import StopTraining, TrainConfig, train

SPIRAL = make_spiral(100, 3, np.random.default_rng(0))
NET = NetworkConfig(input_dim=2, output_dim=3, hidden_sizes=(100,))


def fresh(config: NetworkConfig = NET, seed: int = 0) -> Network:
    return Network(config, np.random.default_rng(seed))


def test_spiral_reaches_98_percent_with_100_relus():
    network = fresh()
    config = TrainConfig(learning_rate=1e-2, epochs=300, batch_size=300)
    history = train(network, SPIRAL.X, SPIRAL.y, config=config, rng=np.random.default_rng(0))
    accuracy = np.mean(network.predict_scores(SPIRAL.X).argmax(axis=1) == SPIRAL.y)
    assert accuracy >= 0.98
    assert history.stop_reason == "completed"
    assert history.loss[-1] < 0.2 * history.loss[0]


@pytest.mark.parametrize(
    ("batch_size", "sizes"),
    [(64, [64, 64, 64, 64, 44]),  # remainder 44 >= 32: a batch of its own
     (128, [128, 172]),  # remainder 44 < 64: joins the last full batch
     (100, [100, 100, 100]),
     (500, [300])],
)
def test_minibatch_sizes_with_a_small_remainder_merged(batch_size, sizes, monkeypatch):
    network = fresh()
    seen = []
    original = network.loss

    def spy(X, *args, **kwargs):
        seen.append(X.shape[0])
        return original(X, *args, **kwargs)

    monkeypatch.setattr(network, "loss", spy)
    history = train(network, SPIRAL.X, SPIRAL.y, config=TrainConfig(epochs=2,
                    batch_size=batch_size), rng=np.random.default_rng(0))
    assert seen == sizes * 2
    assert history.n_iterations == 2 * len(sizes)


def test_history_shapes_and_update_ratio():
    network = fresh()
    config = TrainConfig(epochs=4, batch_size=64)
    history = train(
        network, SPIRAL.X, SPIRAL.y, SPIRAL.X[:50], SPIRAL.y[:50], config, np.random.default_rng(0)
    )
    assert history.n_iterations == 4 * math.ceil(300 / 64) == len(history.loss)
    assert history.epochs == 4
    for values in (history.train_score, history.val_score, history.val_loss,
                   history.learning_rate, history.epoch_time, history.epoch_loss):
        assert len(values) == 4
    assert set(history.update_ratio) == {"hidden1.w", "output.w"}
    ratios = np.array(history.update_ratio["hidden1.w"])
    assert np.all((ratios > 1e-5) & (ratios < 1e-1))
    assert history.metric == "accuracy"
    assert all(0.0 <= s <= 1.0 for s in history.train_accuracy)
    assert list(history.epoch_time) == sorted(history.epoch_time)
    as_dict = history.to_dict()
    assert isinstance(as_dict["loss"], list) and as_dict["stop_reason"] == "completed"


def test_train_score_comes_from_minibatch_scores():
    # With learning rate 0 the parameters do not move, so the minibatch accuracy equals the
    # evaluation-mode accuracy of the initial network.
    network = fresh(replace(NET, dtype="float64"))
    initial = np.mean(network.predict_scores(SPIRAL.X).argmax(axis=1) == SPIRAL.y)
    config = TrainConfig(optimizer="sgd", learning_rate=0.0, epochs=1, batch_size=50)
    history = train(network, SPIRAL.X, SPIRAL.y, config=config, rng=np.random.default_rng(0))
    assert history.train_score[0] == pytest.approx(initial)


def test_same_seed_same_history():
    config = TrainConfig(epochs=3, batch_size=32)
    net_config = replace(NET, dropout=0.3, batchnorm=True)
    runs = []
    for _ in range(2):
        network = fresh(net_config)
        runs.append(train(network, SPIRAL.X, SPIRAL.y, SPIRAL.X, SPIRAL.y, config,
                          np.random.default_rng(5)))
    first, second = runs
    np.testing.assert_array_equal(first.loss, second.loss)
    assert first.val_score == second.val_score
    assert first.update_ratio == second.update_ratio


def test_nan_loss_stops_with_reason_and_finite_params():
    network = fresh()
    config = TrainConfig(optimizer="sgd", learning_rate=1e6, epochs=20, batch_size=32)
    history = train(network, SPIRAL.X * 100, SPIRAL.y, config=config, rng=np.random.default_rng(0))
    assert history.stop_reason.startswith("diverged")
    assert history.epochs < 20
    assert all(np.all(np.isfinite(value)) for value in network.params.values())


def test_early_stopping_restores_best_params():
    network = fresh()
    # A validation set the network cannot get better on after overfitting: labels shuffled.
    rng = np.random.default_rng(0)
    y_val = rng.permutation(SPIRAL.y)
    config = TrainConfig(learning_rate=1e-2, epochs=60, batch_size=100, early_stopping=True,
                         patience=3)
    snapshots = {}

    def remember(epoch, score, val_loss):
        snapshots[epoch] = {k: v.copy() for k, v in network.params.items()}

    history = train(network, SPIRAL.X, SPIRAL.y, SPIRAL.X, y_val, config,
                    np.random.default_rng(0), callback=remember)
    assert history.stop_reason.startswith("early stopping")
    best = history.best_epoch
    assert history.val_score[best] == max(history.val_score)
    assert history.epochs == best + 1 + 3
    for key, value in network.params.items():
        np.testing.assert_array_equal(value, snapshots[best][key])


def test_callback_returning_true_stops():
    seen = []

    def prune(epoch, score, val_loss):
        seen.append((epoch, score))
        return epoch == 2

    history = train(fresh(), SPIRAL.X, SPIRAL.y, SPIRAL.X, SPIRAL.y, TrainConfig(epochs=10),
                    np.random.default_rng(0), callback=prune)
    assert history.stop_reason == "callback"
    assert history.epochs == 3
    assert [score for _, score in seen] == list(history.val_score)


def test_callback_raising_stop_training():
    def prune(epoch, score, val_loss):
        raise StopTraining("pruned by median rule")

    history = train(fresh(), SPIRAL.X, SPIRAL.y, config=TrainConfig(epochs=10),
                    rng=np.random.default_rng(0), callback=prune)
    assert history.stop_reason == "callback: pruned by median rule"
    assert history.epochs == 1


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_every_rule_trains(name):
    learning_rate = {"sgd": 0.5, "momentum": 0.1, "nesterov": 0.1, "adagrad": 0.1}.get(name, 1e-2)
    config = TrainConfig(optimizer=name, learning_rate=learning_rate, epochs=30, batch_size=100)
    history = train(fresh(), SPIRAL.X, SPIRAL.y, config=config, rng=np.random.default_rng(0))
    assert np.mean(history.loss[-3:]) < 0.8 * history.loss[0]


def test_lbfgs_trains_full_batch():
    config = TrainConfig(optimizer="lbfgs", max_iter=100)
    network = fresh()
    history = train(network, SPIRAL.X, SPIRAL.y, SPIRAL.X, SPIRAL.y, config,
                    np.random.default_rng(0))
    assert history.train_score[0] >= 0.95
    assert history.loss[-1] < history.loss[0]


def test_schedules_set_the_learning_rate():
    config = TrainConfig(optimizer="sgd", learning_rate=0.1, lr_schedule="step", lr_decay=0.5,
                         lr_step=2, epochs=5)
    history = train(fresh(), SPIRAL.X, SPIRAL.y, config=config, rng=np.random.default_rng(0))
    assert history.learning_rate == pytest.approx((0.1, 0.1, 0.05, 0.05, 0.025))


def test_max_norm_holds_after_every_step():
    config = TrainConfig(learning_rate=0.05, epochs=5, max_norm=0.5)
    network = fresh()
    train(network, SPIRAL.X, SPIRAL.y, config=config, rng=np.random.default_rng(0))
    for key in network.weight_keys:
        assert np.linalg.norm(network.params[key], axis=0).max() <= 0.5 + 1e-5


def test_regression_history_uses_r2():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X @ np.array([1.0, -1.0, 0.5]))[:, None]
    network = fresh(NetworkConfig(3, 1, (32,), loss="l2"))
    history = train(network, X, y, X, y, TrainConfig(learning_rate=1e-2, epochs=30),
                    np.random.default_rng(0))
    assert history.metric == "r2"
    assert history.val_score[-1] > 0.9
    assert history.train_score[-1] > 0.9


def test_early_stopping_without_validation_is_an_error():
    with pytest.raises(ValueError, match="early_stopping needs validation data"):
        train(fresh(), SPIRAL.X, SPIRAL.y, config=TrainConfig(early_stopping=True))


def test_eval_train_pass_matches_minibatch_score_when_frozen():
    network = fresh(replace(NET, dtype="float64"))
    config = TrainConfig(optimizer="sgd", learning_rate=0.0, epochs=1, eval_train=True)
    history = train(network, SPIRAL.X, SPIRAL.y, config=config, rng=np.random.default_rng(0))
    initial = np.mean(network.predict_scores(SPIRAL.X).argmax(axis=1) == SPIRAL.y)
    assert history.train_score[0] == pytest.approx(initial)


def test_callback_gets_epoch_score_and_validation_loss():
    seen = []
    history = train(fresh(), SPIRAL.X, SPIRAL.y, SPIRAL.X[:60], SPIRAL.y[:60],
                    TrainConfig(epochs=3), np.random.default_rng(0),
                    callback=lambda epoch, score, val_loss: seen.append((epoch, score, val_loss)))
    assert seen == list(zip(range(3), history.val_score, history.val_loss, strict=True))
    without = []
    train(fresh(), SPIRAL.X, SPIRAL.y, config=TrainConfig(epochs=2), rng=np.random.default_rng(0),
          callback=lambda epoch, score, val_loss: without.append(val_loss))
    assert len(without) == 2 and all(math.isnan(v) for v in without)


def test_lbfgs_calls_the_callback_once():
    seen = []
    history = train(fresh(), SPIRAL.X, SPIRAL.y, SPIRAL.X, SPIRAL.y,
                    TrainConfig(optimizer="lbfgs", max_iter=5), np.random.default_rng(0),
                    callback=lambda epoch, score, val_loss: seen.append((epoch, score, val_loss)))
    assert seen == [(0, history.val_score[0], history.val_loss[0])]


class DuckNetwork:
    """The documented contract and nothing more: no `last_scores`, not a Network."""

    def __init__(self, network):
        self._network = network
        self.params, self.buffers = network.params, network.buffers
        self.weight_keys, self.config = network.weight_keys, network.config
        self.calls = {"predict_scores": 0}

    def loss(self, X, y, training, rng, grads_out):
        return self._network.loss(X, y, training=training, rng=rng, grads_out=grads_out)

    def predict_scores(self, X):
        self.calls["predict_scores"] += 1
        return self._network.predict_scores(X)


def test_a_duck_typed_network_trains_with_a_scoring_pass():
    network = fresh(replace(NET, dtype="float64"))
    duck = DuckNetwork(network)
    config = TrainConfig(optimizer="sgd", learning_rate=0.0, epochs=2, batch_size=50)
    history = train(duck, SPIRAL.X, SPIRAL.y, config=config, rng=np.random.default_rng(0))
    initial = np.mean(network.predict_scores(SPIRAL.X).argmax(axis=1) == SPIRAL.y)
    assert history.train_score == pytest.approx((initial, initial))
    assert duck.calls["predict_scores"] == 2  # one training-score pass per epoch
