"""Preprocessing: statistics from the training split only, whitening, errors, zero variance."""

from __future__ import annotations

import numpy as np
import pytest

from nn_core import preprocess


@pytest.fixture
def split():
    rng = np.random.default_rng(0)
    train = rng.normal(loc=[1.0, -3.0, 5.0], scale=[1.0, 2.0, 0.5], size=(200, 3))
    test = rng.normal(loc=[10.0, 10.0, 10.0], scale=5.0, size=(50, 3))
    return train, test


@pytest.mark.parametrize("name", preprocess.PREPROCESSOR_NAMES)
def test_statistics_come_from_train_only(name, split):
    train, test = split
    fitted = preprocess.make_preprocessor(name).fit(train)
    on_train_only = fitted.transform(test)
    refit_on_all = preprocess.make_preprocessor(name).fit(np.vstack([train, test]))
    if name != "none":
        assert not np.allclose(on_train_only, refit_on_all.transform(test))
    # Transforming test does not change what was learned.
    again = preprocess.make_preprocessor(name).fit(train)
    for key, value in fitted.state().items():
        np.testing.assert_array_equal(value, again.state()[key])


def test_center_and_standardize_values(split):
    train, test = split
    centred = preprocess.make_preprocessor("center").fit(train)
    np.testing.assert_allclose(centred.transform(test), test - train.mean(axis=0))
    standard = preprocess.make_preprocessor("standardize").fit(train)
    out = standard.transform(train)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1.0)
    np.testing.assert_allclose(
        standard.transform(test), (test - train.mean(axis=0)) / train.std(axis=0)
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_standardize_in_blocks_equals_the_whole_array_expression(dtype):
    rows = 2 * preprocess.STD_BLOCK_ROWS + 7  # a partial last block
    X = np.random.default_rng(1).normal(2.0, 3.0, size=(rows, 5)).astype(dtype)
    fitted = preprocess.Standardize().fit(X)
    out = fitted.transform(X)
    expected = (X - fitted.mean_.astype(dtype)) / fitted.scale_.astype(dtype)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, expected)


def test_minmax_maps_train_range_to_minus_one_one(split):
    train, _ = split
    out = preprocess.make_preprocessor("minmax").fit_transform(train)
    np.testing.assert_allclose(out.min(axis=0), -1.0)
    np.testing.assert_allclose(out.max(axis=0), 1.0)


def test_whitening_gives_identity_training_covariance():
    rng = np.random.default_rng(1)
    mixing = np.array([[2.0, 0.0, 0.0], [1.5, 0.5, 0.0], [0.3, -1.0, 0.2]])
    train = rng.normal(size=(500, 3)) @ mixing.T + 4.0
    out = preprocess.Whiten(eps=1e-12).fit_transform(train)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(out.T @ out / len(out), np.eye(3), atol=1e-8)


def test_pca_decorrelates_and_reduces():
    rng = np.random.default_rng(2)
    latent = rng.normal(size=(300, 2)) * [3.0, 1.0]
    train = np.hstack([latent, latent @ [[1.0], [0.5]] + 1e-3 * rng.normal(size=(300, 1))])
    pca = preprocess.PCA().fit(train)
    out = pca.transform(train)
    covariance = out.T @ out / len(out)
    np.testing.assert_allclose(covariance, np.diag(pca.explained_variance_), atol=1e-8)
    assert np.all(np.diff(pca.explained_variance_) <= 0)
    assert preprocess.PCA(2).fit_transform(train).shape == (300, 2)
    assert preprocess.PCA(0.99).fit(train).components_.shape == (3, 2)


def test_transform_before_fit_and_feature_mismatch_raise(split):
    train, _ = split
    with pytest.raises(ValueError, match="not fitted"):
        preprocess.Standardize().transform(train)
    fitted = preprocess.Standardize().fit(train)
    with pytest.raises(ValueError, match="fitted on 3 features; X has 2 features"):
        fitted.transform(train[:, :2])


@pytest.mark.parametrize("name", preprocess.PREPROCESSOR_NAMES)
def test_zero_variance_features_do_not_give_nan(name):
    train = np.column_stack([np.arange(10.0), np.full(10, 7.0)])
    out = preprocess.make_preprocessor(name).fit_transform(train)
    assert np.all(np.isfinite(out))


def test_float32_stays_float32(split):
    train, _ = split
    for name in preprocess.PREPROCESSOR_NAMES:
        out = preprocess.make_preprocessor(name).fit_transform(train.astype(np.float32))
        assert out.dtype == np.float32, name


def test_state_round_trip(split):
    train, test = split
    fitted = preprocess.Whiten(2).fit(train)
    rebuilt = preprocess.from_state("whiten", fitted.state())
    np.testing.assert_allclose(rebuilt.transform(test), fitted.transform(test))


def test_unknown_name():
    with pytest.raises(ValueError, match="preprocess"):
        preprocess.make_preprocessor("zca")
