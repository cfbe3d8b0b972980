"""Ensembles: building from a run folder, the file format, the guards, and damaged files."""

import json
import zipfile

import numpy as np
import pytest

import hpsearch as hp
from hpsearch.ensembles import build_ensemble, load_ensemble, save_ensemble
from hpsearch.ensembles.averaging import average_parameters, check_averaging
from hpsearch.ensembles.file import FORMAT_VERSION, make_ensemble
from hpsearch.ensembles.selection import bagged_greedy_selection, greedy_selection
from hpsearch.exceptions import EnsembleError
from hpsearch.objectives.mlp import model_from_arrays
from hpsearch.studyfile.reader import load_study_file
from hpsearch.studyfile.runner import run
from nn_core.estimator import MLPClassifier, MLPRegressor

STUDY = """
[study]
name = "tiny"
strategy = "random"
n_trials = 3
n_jobs = 1
seed = 0
storage = "{storage}"

[objective]
kind = "mlp"
dataset = "digits"
repeats = 2
checkpoint_epochs = [6, 7, 8, 50]

[objective.fixed]
epochs = 8
hidden_size = 16
batch_size = 64

[space]
learning_rate = {{ type = "float", low = 1e-3, high = 1e-2, log = true }}
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished 3-trial digits study with repeats = 2 and checkpoints (about 2 s)."""
    folder = tmp_path_factory.mktemp("ensemble_study")
    path = folder / "study.toml"
    path.write_text(STUDY.format(storage=folder / "runs"))
    spec = load_study_file(path)
    run(spec)
    return spec.run_dir


def split(run_dir, part):
    with np.load(run_dir / "data.npz", allow_pickle=False) as data:
        return data["X"][data[part]], data["y"][data[part]]


def test_checkpoints_are_saved_for_the_first_member_only(run_dir):
    study = hp.load_study(run_dir)
    arrays = study.artifacts(0)
    assert arrays["checkpoint_epochs"].tolist() == [6, 7, 8]  # epoch 50 was never reached
    assert json.loads(str(arrays["checkpoint7.config"]))["epoch"] == 7
    assert arrays["checkpoint7.val_proba"].shape == arrays["val_proba"].shape
    # the last checkpoint is the first member's final network
    np.testing.assert_array_equal(arrays["checkpoint8.param.output.w"],
                                  arrays["member0.param.output.w"])
    assert not any(k.startswith("checkpoint") and ".preprocess." in k for k in arrays)


@pytest.mark.parametrize("method", ["predictions", "greedy", "snapshot"])
def test_export_load_predict_reproduce_the_study(run_dir, tmp_path, method):
    built = build_ensemble(run_dir, method, top_k=2 if method == "predictions" else None)
    path = save_ensemble(built.ensemble, tmp_path / "model.npz")
    loaded = hp.load_ensemble(path)
    X_test, y_test = split(run_dir, "test")
    proba = loaded.predict_proba(X_test)
    np.testing.assert_allclose(proba, built.test_output, rtol=1e-6, atol=1e-12)
    labels = loaded.predict(X_test)
    np.testing.assert_array_equal(labels, loaded.classes[built.test_output.argmax(axis=1)])
    assert np.mean(labels == y_test) == pytest.approx(built.test_score)
    manifest = loaded.manifest
    assert manifest["format_version"] == FORMAT_VERSION and manifest["method"] == method
    assert manifest["feature_names"][:2] == ["pixel_0_0", "pixel_0_1"]
    assert sum(m["weight"] for m in manifest["members"]) == pytest.approx(1.0)


def test_predictions_average_the_stored_trial_predictions_with_every_repeat(run_dir):
    study = hp.load_study(run_dir)
    ranked = sorted(study.trials, key=lambda t: (-t.value, t.number))
    top = [t.number for t in ranked[:2]]
    built = build_ensemble(run_dir, "predictions", top_k=2)
    expected = np.mean([study.artifacts(n)["test_proba"] for n in top], axis=0)
    np.testing.assert_allclose(built.test_output, expected, rtol=1e-12)
    assert len(built.ensemble) == 4  # 2 trials x repeats = 2
    assert sorted({m["trial"] for m in built.ensemble.manifest["members"]}) == sorted(top)


def test_greedy_selection_on_a_hand_made_case():
    # Target 1.0: picking 0.8 first, then 1.4 (mean 1.1), then 0.8 again (mean 1.0) is best.
    outputs = np.array([[0.8, 0.8], [1.4, 1.4], [0.0, 0.0]])

    def key(mean):
        return -abs(float(mean.mean()) - 1.0)

    assert greedy_selection(outputs, key, 1).tolist() == [1, 0, 0]
    assert greedy_selection(outputs, key, 2).tolist() == [1, 1, 0]
    assert greedy_selection(outputs, key, 3).tolist() == [2, 1, 0]
    assert greedy_selection(outputs, key, 4).tolist() == [3, 1, 0]
    with pytest.raises(EnsembleError, match="at least 1"):
        greedy_selection(outputs, key, 0)


def test_bagged_selection_adds_up_greedy_counts_over_random_halves():
    # Candidate 1 is the best alone and with any partner, so it wins every bag holding it.
    outputs = np.array([[0.8, 0.8], [1.0, 1.0], [0.0, 0.0], [3.0, 3.0]])

    def key(mean):
        return -abs(float(mean.mean()) - 1.0)

    plain = bagged_greedy_selection(outputs, key, 3, 1, 1.0, np.random.default_rng(0))
    assert plain.tolist() == greedy_selection(outputs, key, 3).tolist() == [0, 3, 0, 0]
    rng = np.random.default_rng(5)
    counts = bagged_greedy_selection(outputs, key, 3, 10, 0.5, rng)
    assert counts.sum() == 30
    # Replay the bags: each is a greedy selection over the drawn half.
    replay, expected, holding_1 = np.random.default_rng(5), np.zeros(4, dtype=int), 0
    for _ in range(10):
        subset = np.sort(replay.choice(4, 2, replace=False))
        expected[subset] += greedy_selection(outputs[subset], key, 3)
        holding_1 += 1 in subset
    assert counts.tolist() == expected.tolist()
    assert 0 < holding_1 < 10 and counts[1] == 3 * holding_1
    with pytest.raises(EnsembleError, match="bags"):
        bagged_greedy_selection(outputs, key, 3, 0, 0.5, rng)
    with pytest.raises(EnsembleError, match="fraction"):
        bagged_greedy_selection(outputs, key, 3, 2, 0.0, rng)


def test_greedy_weights_are_the_counts(run_dir):
    built = build_ensemble(run_dir, "greedy", size=7)  # plain: one bag of every candidate
    assert built.options["bags"] == 1 and built.options["bag_fraction"] == 1.0
    weights = [r["weight"] * 7 for r in built.rows]
    assert np.allclose(weights, np.round(weights)) and sum(weights) == pytest.approx(7)
    bagged = build_ensemble(run_dir, "greedy", size=7, bags=4)
    weights = [r["weight"] * 28 for r in bagged.rows]
    assert np.allclose(weights, np.round(weights)) and sum(weights) == pytest.approx(28)
    again = build_ensemble(run_dir, "greedy", size=7, bags=4)  # bags drawn from the study seed
    assert [(r["trial"], r["weight"]) for r in again.rows] == \
        [(r["trial"], r["weight"]) for r in bagged.rows]
    assert bagged.options["bags"] == 4 and bagged.options["bag_fraction"] == 0.5
    with pytest.raises(EnsembleError, match="apply to greedy"):
        build_ensemble(run_dir, "predictions", bags=3)


def test_refit_trains_the_chosen_networks_again_on_train_and_val(run_dir, tmp_path):
    from threadpoolctl import threadpool_limits

    plain = build_ensemble(run_dir, "predictions", top_k=2)
    built = build_ensemble(run_dir, "predictions", top_k=2, refit=True)
    # The same selection and weights, chosen on the held-out networks' validation scores.
    assert [(r["trial"], r["weight"]) for r in built.rows] == \
        [(r["trial"], r["weight"]) for r in plain.rows]
    assert built.val_score == plain.val_score and built.test_before_refit == plain.test_score
    np.testing.assert_array_equal(built.val_output, plain.val_output)
    X_train, y_train = split(run_dir, "train")
    X_val, y_val = split(run_dir, "val")
    X_fit, y_fit = np.concatenate([X_train, X_val]), np.concatenate([y_train, y_val])
    X_test, y_test = split(run_dir, "test")
    study = hp.load_study(run_dir)
    members = built.ensemble.manifest["members"]
    assert len(members) == 4  # 2 trials x repeats = 2, each refitted
    outputs = []
    for member, exported in zip(members, built.ensemble.models, strict=True):
        stored = json.loads(str(study.artifacts(member["trial"])[f"{member['source']}.config"]))
        config = member["config"]
        assert config["params"]["seed"] == stored["params"]["seed"]  # same keywords and seed
        assert config["refit_samples"] == len(y_fit) and config["epochs_trained"] == 8
        # Replayed by hand: the member's keywords and seed on train + val, one BLAS thread.
        params = {**stored["params"], "hidden_sizes": tuple(stored["params"]["hidden_sizes"])}
        with threadpool_limits(limits=1):
            model = MLPClassifier(**params).fit(X_fit, y_fit)
        _, arrays = model.to_arrays()
        np.testing.assert_allclose(exported.predict_proba(X_test), model.predict_proba(X_test),
                                   rtol=1e-6, atol=1e-12)
        assert not np.allclose(arrays["param.output.w"],
                               study.artifacts(member["trial"])[
                                   f"{member['source']}.param.output.w"])
        outputs.append(member["weight"] * model.predict_proba(X_test))
    np.testing.assert_allclose(built.test_output, np.sum(outputs, axis=0), rtol=1e-6)
    assert built.test_score == pytest.approx(np.mean(built.test_output.argmax(axis=1) == y_test))
    assert all(r["refit_test"] is not None for r in built.rows)
    assert built.best_refit_test is not None
    metrics = built.ensemble.manifest["metrics"]
    assert metrics["test_accuracy_before_refit"] == plain.test_score
    # Both sides name their scores alike: test_<m> refitted, test_<m>_before_refit not.
    assert metrics["best_single"]["test_accuracy"] == built.best_refit_test
    assert metrics["best_single"]["test_accuracy_before_refit"] == plain.best_test
    lines = []
    build_ensemble(run_dir, "predictions", top_k=1, refit=True, progress=lines.append)
    assert lines == [f"refitting 2 networks on the train and validation rows ({len(y_fit)} "
                     "samples)..."]  # the best trial's two repeats
    # The file predicts what the build measured, and the same run folder gives the same one.
    loaded = hp.load_ensemble(save_ensemble(built.ensemble, tmp_path / "refit.npz"))
    np.testing.assert_allclose(loaded.predict_proba(X_test), built.test_output, rtol=1e-6,
                               atol=1e-12)
    again = build_ensemble(run_dir, "predictions", top_k=2, refit=True)
    np.testing.assert_array_equal(again.test_output, built.test_output)
    greedy = build_ensemble(run_dir, "greedy", size=3, refit=True)
    assert greedy.test_before_refit == build_ensemble(run_dir, "greedy", size=3).test_score
    # Two processes refit the same networks: one BLAS thread each, so the same result.
    parallel = build_ensemble(run_dir, "predictions", top_k=2, refit=True, n_jobs=2)
    np.testing.assert_array_equal(parallel.test_output, built.test_output)
    for left, right in zip(parallel.ensemble.manifest["members"], members, strict=True):
        assert left["arrays"] == right["arrays"]  # shapes and checksums of every array
    for bad in (0, -2, 1.5):
        with pytest.raises(EnsembleError, match="n-jobs must be a positive integer"):
            build_ensemble(run_dir, "predictions", refit=True, n_jobs=bad)
    with pytest.raises(EnsembleError, match="--n-jobs applies to --refit"):
        build_ensemble(run_dir, "predictions", n_jobs=2)
    with pytest.raises(EnsembleError, match="--refit applies to predictions and greedy"):
        build_ensemble(run_dir, "snapshot", refit=True)


def test_parallel_refit_after_a_study_pool_in_the_same_process(run_dir):
    # A study with n_jobs > 1 leaves loky's reusable pool behind; refitting must use it as
    # it is (joblib.Parallel fails on a pool it did not create).
    from joblib.externals.loky import get_reusable_executor

    assert get_reusable_executor(max_workers=2).submit(abs, -3).result() == 3
    serial = build_ensemble(run_dir, "predictions", top_k=2, refit=True)
    parallel = build_ensemble(run_dir, "predictions", top_k=2, refit=True, n_jobs=-1)
    np.testing.assert_array_equal(parallel.test_output, serial.test_output)


def test_refit_trains_early_stopped_members_for_their_best_epochs(tmp_path):
    text = STUDY.format(storage=tmp_path / "runs").replace("repeats = 2", "repeats = 1")
    text = text.replace("epochs = 8", "epochs = 40\nearly_stopping = true\npatience = 2")
    path = tmp_path / "early.toml"
    path.write_text(text)
    spec = load_study_file(path)
    run(spec)
    study = hp.load_study(spec.run_dir)
    stopped = 0
    for trial in study.trials:
        arrays = study.artifacts(trial.number)
        config = json.loads(str(arrays["member0.config"]))
        # The kept parameters are the first best validation epoch's (1-based count).
        assert config["epochs_trained"] == int(np.argmax(arrays["curve.val_score"])) + 1
        stopped += config["stop_reason"].startswith("early stopping")
    assert stopped  # at least one trial restored an earlier epoch
    built = build_ensemble(spec.run_dir, "predictions", top_k=3, refit=True)
    for member in built.ensemble.manifest["members"]:
        stored = json.loads(str(study.artifacts(member["trial"])["member0.config"]))
        assert member["config"]["epochs_trained"] == stored["epochs_trained"]
        assert member["config"]["params"]["early_stopping"] is False


def test_refit_member_refuses_what_it_cannot_redo(run_dir):
    from hpsearch.objectives.mlp import refit_member

    X, y = split(run_dir, "train")
    with pytest.raises(hp.EnsembleError, match="not a network member config"):
        refit_member({"estimator": "Forest"}, X, y)
    config, _ = MLPClassifier(hidden_sizes=(8,), epochs=2, seed=0).fit(X, y).to_arrays()
    # A run folder from before `epochs_trained`: an early-stopped member cannot be redone.
    old = {**config, "stop_reason": "early stopping: no validation improvement for 2 epochs"}
    with pytest.raises(hp.EnsembleError, match="run the study again"):
        refit_member(old, X, y)
    assert refit_member({**config, "stop_reason": "completed"}, X, y)[0]["epochs_trained"] == 2
    # A new training that blows up is refused rather than exported half-trained.
    wild = json.loads(json.dumps(config))
    wild["params"].update(optimizer="momentum", learning_rate=50.0)
    with pytest.raises(hp.EnsembleError, match="new training diverged.*where the study's did not"):
        refit_member(wild, X, y)
    # A member that diverged in the study too is redone as it was, not refused.
    wild["stop_reason"] = "diverged: loss 1e4 exceeded 1000 x the first loss at iteration 2"
    assert refit_member(wild, X, y)[0]["stop_reason"].startswith("diverged")


def _trained_pair(run_dir):
    """(A, B): A a 16-unit net whose units 8-15 are the negation of units 0-7 (with zero
    output weights), B the same net with the two halves swapped: the same function."""
    X, y = split(run_dir, "train")
    model = MLPClassifier(hidden_sizes=(8,), epochs=10, learning_rate=1e-2, seed=0).fit(X, y)
    config, arrays = model.to_arrays()
    config["network"]["hidden_sizes"] = [16]
    config["params"]["hidden_sizes"] = [16]
    V, c, U = arrays["param.hidden1.w"], arrays["param.hidden1.b"], arrays["param.output.w"]
    a = {**arrays, "param.hidden1.w": np.hstack([V, -V]), "param.hidden1.b": np.hstack([c, -c]),
         "param.output.w": np.vstack([U, np.zeros_like(U)])}
    b = {**arrays, "param.hidden1.w": np.hstack([-V, V]), "param.hidden1.b": np.hstack([-c, c]),
         "param.output.w": np.vstack([np.zeros_like(U), U])}
    return config, a, b


def test_guard_refuses_averaging_a_permuted_pair(run_dir):
    config, a, b = _trained_pair(run_dir)
    X_val, y_val = split(run_dir, "val")
    model_a, model_b = model_from_arrays(config, a), model_from_arrays(config, b)
    np.testing.assert_allclose(model_a.predict_proba(X_val), model_b.predict_proba(X_val),
                               rtol=1e-5)  # a permutation: the same function
    averaged_config, averaged = average_parameters([(config, a), (config, b)])
    assert not averaged["param.hidden1.w"].any()  # the halves cancel: every hidden unit is 0
    scores = [model_a.score(X_val, y_val), model_b.score(X_val, y_val)]
    averaged_score = model_from_arrays(averaged_config, averaged).score(X_val, y_val)
    assert averaged_score < 0.3 < min(scores)
    with pytest.raises(EnsembleError, match="use --method predictions"):
        check_averaging(averaged_score, scores, "val_accuracy", maximize=True)
    check_averaging(min(scores), scores[:1] * 2, "val_accuracy", maximize=True)  # equal: ok
    with pytest.raises(EnsembleError):
        check_averaging(0.5, [0.4, 0.45], "val_loss", maximize=False)


def test_parameters_refuses_different_architectures(run_dir):
    config, a, _ = _trained_pair(run_dir)
    other = json.loads(json.dumps(config))
    other["network"]["hidden_sizes"] = [8]
    with pytest.raises(EnsembleError, match="identical architectures.*hidden_sizes"):
        average_parameters([(config, a), (other, a)])


def test_parameters_refuses_networks_from_different_initialisations(run_dir):
    with pytest.raises(EnsembleError, match="parameter averaging refused.*predictions"):
        build_ensemble(run_dir, "parameters", top_k=2)


def test_parameters_accepts_snapshot_members(run_dir, tmp_path):
    best = hp.load_study(run_dir).best_trial.number
    built = build_ensemble(run_dir, "parameters", trial=best)
    assert len(built.ensemble) == 1 and "guard passed" in built.note
    assert [r["member"] for r in built.rows] == ["epoch 6", "epoch 7", "epoch 8"]
    assert built.val_score >= np.mean([r["val"] for r in built.rows])
    loaded = load_ensemble(save_ensemble(built.ensemble, tmp_path / "avg.npz"))
    X_test, _ = split(run_dir, "test")
    np.testing.assert_allclose(loaded.predict_proba(X_test), built.test_output, rtol=1e-6)


def test_snapshot_needs_checkpoints(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(STUDY.format(storage=tmp_path / "runs").replace(
        "checkpoint_epochs = [6, 7, 8, 50]", "").replace("n_trials = 3", "n_trials = 1")
        .replace("epochs = 8", "epochs = 2"))
    spec = load_study_file(path)
    run(spec)
    with pytest.raises(EnsembleError, match="no checkpoints: add checkpoint_epochs"):
        build_ensemble(spec.run_dir, "snapshot")


def test_bad_arguments(run_dir, tmp_path):
    with pytest.raises(EnsembleError, match="unknown method"):
        build_ensemble(run_dir, "bagging")
    with pytest.raises(EnsembleError, match="trial 99"):
        build_ensemble(run_dir, "snapshot", trial=99)
    with pytest.raises(EnsembleError, match="--trial applies to snapshot"):
        build_ensemble(run_dir, "greedy", trial=0)
    with pytest.raises(EnsembleError, match="top-k"):
        build_ensemble(run_dir, "predictions", top_k=0)
    with pytest.raises(EnsembleError, match="not a study run folder"):
        build_ensemble(tmp_path, "predictions")


# ----- the file: feature counts and damaged files ---------------------------------------------

@pytest.fixture(scope="module")
def saved(run_dir, tmp_path_factory):
    built = build_ensemble(run_dir, "predictions", top_k=2)
    return save_ensemble(built.ensemble, tmp_path_factory.mktemp("saved") / "model.npz")


def rewrite(source, target, edit_manifest=None, edit_arrays=None):
    with np.load(source, allow_pickle=False) as stored:
        arrays = {k: stored[k] for k in stored.files}
    manifest = json.loads(str(arrays["manifest"]))
    if edit_manifest:
        edit_manifest(manifest)
    if edit_arrays:
        edit_arrays(arrays)
    arrays["manifest"] = np.array(json.dumps(manifest))
    np.savez(target, **arrays)
    return target


def test_feature_count_mismatch(saved, run_dir):
    model = load_ensemble(saved)
    X_test, _ = split(run_dir, "test")
    with pytest.raises(EnsembleError, match="63 features; the ensemble expects 64"):
        model.predict(X_test[:, :63])
    with pytest.raises(EnsembleError, match="2-D"):
        model.predict_proba(X_test[0])


def test_truncated_file(saved, tmp_path):
    data = saved.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 100):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(EnsembleError, match="not a readable ensemble file"):
            load_ensemble(bad)


def test_wrong_format_version(saved, tmp_path):
    def newer(m):
        m["format_version"] = FORMAT_VERSION + 1

    with pytest.raises(EnsembleError, match="format version 2 is not supported.*newer"):
        load_ensemble(rewrite(saved, tmp_path / "v2.npz", newer))


def test_shape_tampered_in_manifest(saved, tmp_path):
    def tamper(m):
        m["members"][0]["arrays"]["param.hidden1.w"]["shape"] = [64, 17]

    with pytest.raises(EnsembleError, match="'m0.param.hidden1.w' is <f4 \\[64, 16\\] but the "
                                            "manifest says <f4 \\[64, 17\\]"):
        load_ensemble(rewrite(saved, tmp_path / "shape.npz", tamper))


def test_values_tampered(saved, tmp_path):
    def tamper(arrays):
        arrays["m1.param.output.b"] = arrays["m1.param.output.b"] + 1

    with pytest.raises(EnsembleError, match="checksum"):
        load_ensemble(rewrite(saved, tmp_path / "values.npz", edit_arrays=tamper))


def test_missing_and_extra_arrays(saved, tmp_path):
    def drop(arrays):
        del arrays["m0.param.output.w"]

    with pytest.raises(EnsembleError, match="'m0.param.output.w' listed in the manifest is "
                                            "missing"):
        load_ensemble(rewrite(saved, tmp_path / "drop.npz", edit_arrays=drop))

    def add(arrays):
        arrays["payload"] = np.zeros(3)

    with pytest.raises(EnsembleError, match="not listed in the manifest: payload"):
        load_ensemble(rewrite(saved, tmp_path / "add.npz", edit_arrays=add))


def test_foreign_files(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello, this is not an archive\n")
    with pytest.raises(EnsembleError, match="not a readable ensemble file"):
        load_ensemble(text)
    other = tmp_path / "other.npz"
    np.savez(other, X=np.zeros((2, 2)))
    with pytest.raises(EnsembleError, match="no manifest"):
        load_ensemble(other)
    npy = tmp_path / "array.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(EnsembleError, match="not an ensemble file"):
        load_ensemble(npy)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, manifest=np.array([{"format": "hpsearch-ensemble"}], dtype=object))
    with pytest.raises(EnsembleError, match="not a readable ensemble file"):
        load_ensemble(pickled)  # object arrays need pickle: refused, never unpickled
    with zipfile.ZipFile(tmp_path / "zip.npz", "w") as archive:
        archive.writestr("readme.txt", "not numpy")
    with pytest.raises(EnsembleError):
        load_ensemble(tmp_path / "zip.npz")
    with pytest.raises(EnsembleError, match="no such file"):
        load_ensemble(tmp_path / "missing.npz")


# ----- other tasks, straight through make_ensemble ---------------------------------------------

def test_regression_ensemble_is_the_weighted_mean(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    models = [MLPRegressor(hidden_sizes=(4,), epochs=3, seed=s).fit(X, y) for s in (0, 1)]
    members = [{"config": m.to_arrays()[0], "arrays": m.to_arrays()[1], "weight": w}
               for m, w in zip(models, (1.0, 3.0), strict=True)]
    ensemble = make_ensemble("regression", members, ["a", "b", "c"])
    loaded = load_ensemble(save_ensemble(ensemble, tmp_path / "reg.npz"))
    expected = 0.25 * models[0].predict(X) + 0.75 * models[1].predict(X)
    np.testing.assert_allclose(loaded.predict(X), expected, rtol=1e-6)
    assert loaded.classes is None
    with pytest.raises(EnsembleError, match="no probabilities"):
        loaded.predict_proba(X)


def test_multilabel_ensemble_thresholds_the_mean_probability(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1).astype(int)
    models = [MLPClassifier(hidden_sizes=(8,), epochs=5, learning_rate=1e-2, seed=s).fit(X, Y)
              for s in (0, 1)]
    members = [{"config": m.to_arrays()[0], "arrays": m.to_arrays()[1], "weight": 1.0}
               for m in models]
    loaded = load_ensemble(save_ensemble(make_ensemble("multilabel", members, []),
                                         tmp_path / "ml.npz"))
    proba = (models[0].predict_proba(X) + models[1].predict_proba(X)) / 2
    np.testing.assert_allclose(loaded.predict_proba(X), proba, rtol=1e-6)
    np.testing.assert_array_equal(loaded.predict(X), (proba > 0.5).astype(int))
    assert loaded.n_features == 4


def test_the_study_metric_is_recorded_and_used(run_dir, tmp_path):
    study = hp.load_study(run_dir)
    best = min(study.trials, key=lambda t: -t.value)
    assert str(study.artifacts(best.number)["study_metric"]) == "val_accuracy"
    assert build_ensemble(run_dir, "predictions", top_k=2).metric == "accuracy"
    # A study ranked by validation loss: ensembles are scored and picked by loss.
    text = STUDY.format(storage=tmp_path / "runs")
    text = text.replace("seed = 0", 'seed = 0\nmetric = "val_loss"')
    text = text.replace("repeats = 2", "repeats = 1").replace("epochs = 8", "epochs = 3")
    path = tmp_path / "loss.toml"
    path.write_text(text)
    spec = load_study_file(path)
    run(spec)
    built = build_ensemble(spec.run_dir, "greedy", size=3)
    assert built.metric == "loss"
    losses = sorted(t.metrics["val_loss"] for t in hp.load_study(spec.run_dir).trials)
    assert built.best_val == pytest.approx(losses[0], rel=1e-6)
    _, y_val = split(spec.run_dir, "val")
    proba = built.val_output[np.arange(len(y_val)), y_val]  # digits labels are 0..9
    assert built.val_score == pytest.approx(-np.mean(np.log(proba)), rel=1e-6)
