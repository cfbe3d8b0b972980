"""Network: config validation, parameter naming, whole-network gradient checks, dtype, sanity."""

import dataclasses
import math

import numpy as np
import pytest

from nn_core.gradcheck import check_network_gradients
from nn_core.network import ACTIVATIONS, Network, NetworkConfig

NETWORK_TOL = 1e-6


def data(n=8, d=5, c=3, seed=1, loss="softmax"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if loss in ("softmax", "svm"):
        y = rng.integers(0, c, n)
    elif loss == "sigmoid_cross_entropy":
        y = rng.integers(0, 2, (n, c))
    else:
        y = rng.standard_normal((n, c))
    return X, y


def assert_gradients_ok(config, X, y, reg=0.0, checks=10):
    report = check_network_gradients(
        config, X, y, num_checks=checks, reg=reg, rng=np.random.default_rng(2)
    )
    assert report.worst_relative_error < NETWORK_TOL, report.format_table()
    # Most sampled entries must really have been compared, not waved through as kinks.
    checked = sum(r.num_checked for r in report.rows)
    assert sum(r.num_kinks for r in report.rows) <= checked // 4, report.format_table()
    return report


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("activation", "gelu", r"activation must be one of 'relu', 'leaky_relu'.*got 'gelu'"),
        ("init", "glorot", r"init must be one of .*'he'.*got 'glorot'"),
        ("loss", "hinge", r"loss must be one of 'softmax', 'svm'.*got 'hinge'"),
        ("regularization", "ridge", r"regularization must be one of .*got 'ridge'"),
        ("dtype", "float16", r"dtype must be one of 'float32', 'float64'"),
        ("dropout", 1.0, r"dropout must be in \[0, 1\); got 1.0"),
        ("dropout", -0.1, r"dropout must be in \[0, 1\)"),
        ("hidden_sizes", (10, 0), r"hidden_sizes entries must be a positive integer; got 0"),
        ("hidden_sizes", 10, r"hidden_sizes must be a sequence of positive integers"),
        ("input_dim", 0, r"input_dim must be a positive integer"),
        ("maxout_pieces", 1, r"maxout_pieces must be at least 2"),
        ("leaky_alpha", 1.5, r"leaky_alpha must be in \[0, 1\)"),
        ("reg", -1.0, r"reg must be a finite number >= 0"),
        ("l1_ratio", 2.0, r"l1_ratio must be in \[0, 1\]"),
    ],
)
def test_config_validation_names_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        NetworkConfig(**{"input_dim": 4, "output_dim": 3, field: value})


def test_config_is_frozen_and_normalises_hidden_sizes():
    config = NetworkConfig(4, 3, hidden_sizes=[8, 6])
    assert config.hidden_sizes == (8, 6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.reg = 1.0


# --- structure -------------------------------------------------------------------------------


def test_parameter_names_and_shapes():
    net = Network(NetworkConfig(5, 3, (4, 2), activation="prelu"), np.random.default_rng(0))
    assert {k: v.shape for k, v in net.params.items()} == {
        "hidden1.w": (5, 4),
        "hidden1.b": (4,),
        "prelu1.alpha": (4,),
        "hidden2.w": (4, 2),
        "hidden2.b": (2,),
        "prelu2.alpha": (2,),
        "output.w": (2, 3),
        "output.b": (3,),
    }
    assert net.weight_keys == ("hidden1.w", "hidden2.w", "output.w")
    assert net.buffers == {}
    assert not net.params["hidden1.b"].any()


def test_batchnorm_replaces_the_bias_and_keeps_buffers():
    net = Network(NetworkConfig(5, 3, (4,), batchnorm=True), np.random.default_rng(0))
    assert "hidden1.b" not in net.params
    assert set(net.params) == {"hidden1.w", "bn1.gamma", "bn1.beta", "output.w", "output.b"}
    assert set(net.buffers) == {"bn1.running_mean", "bn1.running_var"}


def test_maxout_layout():
    config = NetworkConfig(5, 3, (4,), activation="maxout", maxout_pieces=3, batchnorm=True)
    net = Network(config, np.random.default_rng(0))
    assert net.params["hidden1.w"].shape == (5, 3, 4)
    assert net.params["bn1.gamma"].shape == (12,)
    scores = net.loss(np.ones((2, 5)))
    assert scores.shape == (2, 3)


def test_scores_and_gradient_keys():
    X, y = data()
    net = Network(NetworkConfig(5, 3, (6,), dtype="float64"), np.random.default_rng(0))
    scores = net.loss(X)
    assert scores.shape == (8, 3)
    loss, grads = net.loss(X, y)
    assert isinstance(loss, float)
    assert list(grads) == list(net.params)
    assert all(grads[k].shape == net.params[k].shape for k in grads)
    np.testing.assert_allclose(net.predict_scores(X, batch_size=3), scores)


def test_softmax_regression_is_linear():
    X, y = data()
    net = Network(NetworkConfig(5, 3, (), dtype="float64"), np.random.default_rng(0))
    assert set(net.params) == {"output.w", "output.b"}
    net.params["output.b"][:] = [0.1, -0.2, 0.3]
    np.testing.assert_allclose(net.loss(X), X @ net.params["output.w"] + net.params["output.b"])


def test_input_shape_mismatch_names_x():
    net = Network(NetworkConfig(5, 3), np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"X must have shape \(N, 5\); got shape \(4, 6\)"):
        net.loss(np.ones((4, 6)))
    with pytest.raises(ValueError, match=r"X must have shape \(N, 5\)"):
        net.loss(np.ones(5))
    # Images flatten row-major, as in affine_forward.
    assert Network(NetworkConfig(6, 2), np.random.default_rng(0)).loss(
        np.ones((2, 2, 3))
    ).shape == (2, 2)


def test_dropout_training_needs_rng():
    net = Network(NetworkConfig(5, 3, dropout=0.5), np.random.default_rng(0))
    X, y = data()
    with pytest.raises(ValueError, match="rng .*needed for dropout"):
        net.loss(X, y, training=True)
    net.loss(X, y)  # evaluation mode needs no rng


# --- gradient checks -------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_with_batchnorm_and_dropout(activation):
    X, y = data()
    config = NetworkConfig(5, 3, (6, 4), activation=activation, batchnorm=True, dropout=0.3)
    assert_gradients_ok(config, X, y)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_plain(activation):
    X, y = data(seed=4)
    assert_gradients_ok(NetworkConfig(5, 3, (7,), activation=activation), X, y)


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_linear_classifier_gradients(loss):
    X, y = data(loss=loss)
    assert_gradients_ok(NetworkConfig(5, 3, (), loss=loss), X, y)


@pytest.mark.parametrize("loss", ["svm", "sigmoid_cross_entropy", "l2", "l1"])
def test_other_loss_gradients(loss):
    X, y = data(loss=loss)
    assert_gradients_ok(NetworkConfig(5, 3, (6,), activation="tanh", loss=loss), X, y)


@pytest.mark.parametrize("kind", ["l2", "l1", "elastic"])
def test_gradients_with_regularisation(kind):
    X, y = data()
    config = NetworkConfig(5, 3, (6,), activation="tanh", regularization=kind, l1_ratio=0.4)
    assert_gradients_ok(config, X, y, reg=0.3)


# --- sanity and dtype ------------------------------------------------------------------------


@pytest.mark.parametrize("classes", [3, 10])
def test_initial_softmax_loss_is_log_c(classes):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 20))
    y = np.arange(500) % classes  # balanced
    net = Network(NetworkConfig(20, classes, (50,), init="small"), np.random.default_rng(1))
    loss, _ = net.loss(X, y)
    assert loss == pytest.approx(math.log(classes), rel=1e-3)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_float32_end_to_end(activation):
    X, y = data()
    config = NetworkConfig(
        5,
        3,
        (6,),
        activation=activation,
        batchnorm=True,
        dropout=0.2,
        regularization="elastic",
        reg=0.1,
    )
    net = Network(config, np.random.default_rng(0))
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert net.loss(X).dtype == np.float32  # float64 X is cast once
    loss, grads = net.loss(X, y, training=True, rng=np.random.default_rng(0))
    assert isinstance(loss, float)
    assert {k: g.dtype for k, g in grads.items()} == {k: np.dtype(np.float32) for k in grads}
    assert all(b.dtype == np.float32 for b in net.buffers.values())


def test_batchnorm_running_stats_update_only_in_training():
    X, y = data(n=32)
    X = X * 3 + 1
    net = Network(
        NetworkConfig(5, 3, (4,), batchnorm=True, dtype="float64"), np.random.default_rng(0)
    )
    before = {k: v.copy() for k, v in net.buffers.items()}
    net.loss(X, y)
    net.predict_scores(X)
    for key in before:
        np.testing.assert_array_equal(net.buffers[key], before[key])
    net.loss(X, y, training=True)
    z = X @ net.params["hidden1.w"]
    np.testing.assert_allclose(net.buffers["bn1.running_mean"], 0.1 * z.mean(axis=0))
    np.testing.assert_allclose(net.buffers["bn1.running_var"], 0.9 + 0.1 * z.var(axis=0))


def test_eval_mode_is_deterministic_and_training_differs_with_dropout():
    X, _ = data()
    net = Network(NetworkConfig(5, 3, (20,), dropout=0.5), np.random.default_rng(0))
    np.testing.assert_array_equal(net.loss(X), net.loss(X))
    a = net.loss(X, training=True, rng=np.random.default_rng(1))
    b = net.loss(X, training=True, rng=np.random.default_rng(2))
    assert not np.allclose(a, b)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "prelu", "maxout"])
@pytest.mark.parametrize("batchnorm", [False, True])
def test_grads_out_receives_the_same_gradients(activation, batchnorm, order):
    """The trainer's path (gradients written into given arrays, reused activation buffers)
    matches the plain one, also when called twice (no stale buffer leaks into the second)."""
    config = NetworkConfig(6, 3, hidden_sizes=(5, 4), activation=activation,
                           batchnorm=batchnorm, dropout=0.2, reg=1e-2, dtype="float64")
    network = Network(config, np.random.default_rng(0))
    data = np.random.default_rng(1)
    for _ in range(2):
        X, y = data.normal(size=(7, 6)), data.integers(0, 3, size=7)
        loss, grads = network.loss(X, y, training=True, rng=np.random.default_rng(2))
        # Fortran-ordered targets (maxout's 3-D weights) cannot be reshaped as views.
        out = {key: np.full_like(value, np.nan, order=order)
               for key, value in network.params.items()}
        loss_out, returned = network.loss(X, y, training=True, rng=np.random.default_rng(2),
                                          grads_out=out)
        assert returned is out and loss_out == pytest.approx(loss, rel=1e-12)
        for key in grads:
            np.testing.assert_allclose(out[key], grads[key], rtol=1e-12, atol=1e-15)


def test_inference_keeps_no_helper_arrays():
    # Training reuses buffers sized by the minibatch; scoring a large X must not pin a copy of
    # its size for the life of the network.
    network = Network(NetworkConfig(8, 3, hidden_sizes=(16,)), np.random.default_rng(0))
    X = np.random.default_rng(1).normal(size=(5000, 8))
    expected = np.maximum(X @ network.params["hidden1.w"] + network.params["hidden1.b"], 0)
    expected = expected @ network.params["output.w"] + network.params["output.b"]
    np.testing.assert_allclose(network.loss(X), expected, rtol=1e-5, atol=1e-6)  # float32
    assert not network._zeros and not network._work
    network.loss(X[:32], np.zeros(32, dtype=int), training=True)
    assert [z.shape for z in network._zeros.values()] == [(32, 16)]
    assert not any(z.flags.writeable for z in network._zeros.values())


# --- the network runs the nn_core.layers pairs -----------------------------------------------

ACTIVATION_PAIRS = {
    "relu": ("relu_forward", "relu_backward"),
    "leaky_relu": ("leaky_relu_forward", "leaky_relu_backward"),
    "prelu": ("prelu_forward", "prelu_backward"),
    "tanh": ("tanh_forward", "tanh_backward"),
    "sigmoid": ("sigmoid_forward", "sigmoid_backward"),
    "maxout": ("max_over_pieces", "max_over_pieces_backward"),
}


def test_the_activation_table_has_a_row_per_activation():
    from nn_core.hidden import ACTIVATION_LAYERS

    assert tuple(ACTIVATION_LAYERS) == ACTIVATIONS == tuple(ACTIVATION_PAIRS)


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_loss_calls_the_layer_functions(activation, batchnorm, monkeypatch):
    """Every layer of a 2-hidden-layer network goes through nn_core.layers, once per layer."""
    from nn_core import layers

    calls = {}

    def counted(name):
        original = getattr(layers, name)

        def wrapper(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return original(*args, **kwargs)

        return wrapper

    for name in layers.__all__:
        if callable(getattr(layers, name)) and not isinstance(getattr(layers, name), type):
            monkeypatch.setattr(layers, name, counted(name))
    config = NetworkConfig(5, 3, (6, 4), activation=activation, batchnorm=batchnorm,
                           dropout=0.3, dtype="float64")
    network = Network(config, np.random.default_rng(0))
    X, y = data()
    network.loss(X, y, training=True, rng=np.random.default_rng(1))
    forward, backward = ACTIVATION_PAIRS[activation]
    expected = {
        "affine_forward": 3, "affine_weight_gradients": 3, "affine_input_gradient": 2,
        forward: 2, backward: 2, "dropout_forward": 2, "dropout_backward": 2,
        "dropout_mask": 2,
    }
    if batchnorm:
        expected.update(batchnorm_forward=2, batchnorm_backward=2)
    assert calls == expected


def test_loss_follows_the_layer_functions_output(monkeypatch):
    # Not only called: the gradient is what the layer's backward returns.
    from nn_core import layers

    network = Network(NetworkConfig(5, 3, (6,), dtype="float64"), np.random.default_rng(0))
    X, y = data()
    monkeypatch.setattr(layers, "relu_backward", lambda dout, cache, **_: np.zeros_like(dout))
    _, grads = network.loss(X, y)
    assert not grads["hidden1.w"].any() and not grads["hidden1.b"].any()
    assert grads["output.w"].any()


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "prelu", "tanh", "sigmoid"])
def test_gradients_equal_the_layer_chain_by_hand(activation):
    """Loss and gradients of affine -> batchnorm -> activation -> dropout (twice) -> affine ->
    softmax, chained by hand through the plain (out, cache) API, are the network's."""
    from nn_core import layers
    from nn_core.losses import softmax_loss

    config = NetworkConfig(5, 3, (6, 4), activation=activation, batchnorm=True, dropout=0.3,
                           leaky_alpha=0.1, dtype="float64")
    network = Network(config, np.random.default_rng(0))
    p = {key: value.copy() for key, value in network.params.items()}
    X, y = data()
    loss, grads = network.loss(X, y, training=True, rng=np.random.default_rng(3))

    pairs = {
        "relu": (layers.relu_forward, layers.relu_backward),
        "leaky_relu": (lambda x: layers.leaky_relu_forward(x, 0.1), layers.leaky_relu_backward),
        "tanh": (layers.tanh_forward, layers.tanh_backward),
        "sigmoid": (layers.sigmoid_forward, layers.sigmoid_backward),
    }
    rng = np.random.default_rng(3)
    h, caches = X, []
    for i in (1, 2):
        z, affine_cache = layers.affine_forward(h, p[f"hidden{i}.w"], None)
        z, bn_cache = layers.batchnorm_forward(z, p[f"bn{i}.gamma"], p[f"bn{i}.beta"],
                                               np.zeros(z.shape[1]), np.ones(z.shape[1]), True)
        if activation == "prelu":
            a, act_cache = layers.prelu_forward(z, p[f"prelu{i}.alpha"])
        else:
            a, act_cache = pairs[activation][0](z)
        h, drop_cache = layers.dropout_forward(a, 0.7, True, rng)
        caches.append((affine_cache, bn_cache, act_cache, drop_cache))
    scores, out_cache = layers.affine_forward(h, p["output.w"], p["output.b"])
    expected_loss, dscores = softmax_loss(scores, y)
    dh, expected = dscores, {}
    dh, expected["output.w"], expected["output.b"] = layers.affine_backward(dh, out_cache)
    for i in (2, 1):
        affine_cache, bn_cache, act_cache, drop_cache = caches[i - 1]
        dh = layers.dropout_backward(dh, drop_cache)
        if activation == "prelu":
            dh, expected[f"prelu{i}.alpha"] = layers.prelu_backward(dh, act_cache)
        else:
            dh = pairs[activation][1](dh, act_cache)
        dh, expected[f"bn{i}.gamma"], expected[f"bn{i}.beta"] = layers.batchnorm_backward(
            dh, bn_cache)
        dh, expected[f"hidden{i}.w"], _ = layers.affine_backward(dh, affine_cache)

    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert set(expected) == set(grads)
    for key, value in expected.items():
        np.testing.assert_allclose(grads[key], value, rtol=1e-10, atol=1e-13, err_msg=key)


def test_maxout_network_equals_maxout_forward_and_backward():
    from nn_core import layers
    from nn_core.losses import softmax_loss

    config = NetworkConfig(5, 3, (4,), activation="maxout", maxout_pieces=3, dtype="float64")
    network = Network(config, np.random.default_rng(0))
    p = network.params
    X, y = data()
    loss, grads = network.loss(X, y)
    h, hidden_cache = layers.maxout_forward(X, p["hidden1.w"], p["hidden1.b"])
    scores, out_cache = layers.affine_forward(h, p["output.w"], p["output.b"])
    expected_loss, dscores = softmax_loss(scores, y)
    dh, dw_out, db_out = layers.affine_backward(dscores, out_cache)
    _, dw, db = layers.maxout_backward(dh, hidden_cache)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for key, value in {"output.w": dw_out, "output.b": db_out, "hidden1.w": dw,
                       "hidden1.b": db}.items():
        np.testing.assert_allclose(grads[key], value, rtol=1e-10, atol=1e-13, err_msg=key)
