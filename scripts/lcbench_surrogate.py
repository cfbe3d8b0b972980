"""Serve YAHPO Gym's LCBench surrogate over JSON lines (stdin -> stdout), for bench_multifidelity.

Runs in a venv of its own (`/work/venvs/yahpo`: `pip install yahpo-gym==1.0.2 onnxruntime`,
whose numpy pin clashes with the project's), started by the benchmark driver as a subprocess:

    /work/venvs/yahpo/bin/python scripts/lcbench_surrogate.py DATA_PATH

DATA_PATH is the folder that holds `lcbench/` (the surrogate's data, Apache-2.0). Each request
is one line {"instance": "126026", "configs": [{7 hyperparameters}, ...], "epochs": [1, ...]};
the answer is one line {"val_accuracy": [[...], ...], "time": [[...], ...]}: for each
configuration the surrogate's val_accuracy (percent) and cumulative training time (seconds) at
each requested epoch, from one batched call of the surrogate (integers rounded, the instance
set whatever the configuration says; no range check: the driver samples from the space). A
malformed request gets {"error": "..."}. End of input ends the server. No hpsearch import.
"""

from __future__ import annotations

import json
import sys

import numpy as np

HYPERPARAMETERS = ("batch_size", "learning_rate", "max_dropout", "max_units", "momentum",
                   "num_layers", "weight_decay")
INTEGERS = ("batch_size", "max_units", "num_layers")


def predict(bench, instance: str, configs: list[dict], epochs: list[int]) -> np.ndarray:
    """(len(configs), len(epochs), outputs): yahpo-gym's inputs built once per configuration
    and repeated over the epochs, then one batched ONNX call (`objective_function` builds and
    checks every row on its own, 25x the inference; `self_check` compares the two)."""
    names = bench.config.cont_names
    column = names.index(bench.config.fidelity_params[0])
    cats, conts = [], []
    for config in configs:
        point = {name: (int(config[name]) if name in INTEGERS else float(config[name]))
                 for name in HYPERPARAMETERS}
        point.update(OpenML_task_id=instance, epoch=epochs[0])  # the instance, whatever else
        x_cont, x_cat = bench._config_to_xs(point)
        x_cont = np.repeat(x_cont, len(epochs), axis=0)
        x_cont[:, column] = epochs
        conts.append(x_cont)
        cats.append(np.repeat(x_cat, len(epochs), axis=0))
    inputs = [x.name for x in bench.session.get_inputs()]
    out = bench.session.run([bench.session.get_outputs()[0].name],
                            {inputs[0]: np.vstack(cats), inputs[1]: np.vstack(conts)})[0]
    return out.reshape(len(configs), len(epochs), -1)


def answer(bench, request: dict) -> dict:
    instance = str(request["instance"])
    if bench.instance != instance:
        bench.set_instance(instance)
    epochs = [int(e) for e in request["epochs"]]
    if not request["configs"]:
        return {"val_accuracy": [], "time": []}
    out = predict(bench, instance, request["configs"], epochs)
    return {key: out[:, :, bench.config.y_names.index(key)].tolist()
            for key in ("val_accuracy", "time")}


def self_check(bench) -> None:
    """The batched path gives objective_function's numbers (or the server refuses to start)."""
    bench.set_instance("126026")
    config = {"batch_size": 71, "learning_rate": 0.001, "max_dropout": 0.2, "max_units": 300,
              "momentum": 0.9, "num_layers": 2, "weight_decay": 0.001}
    fast = predict(bench, "126026", [config], [1, 7, 52])[0]
    slow = bench.objective_function([{**config, "OpenML_task_id": "126026", "epoch": e}
                                     for e in (1, 7, 52)], multithread=False)
    expected = np.array([[row[k] for k in bench.config.y_names] for row in slow])
    if not np.allclose(fast, expected, rtol=1e-5):
        raise SystemExit(f"lcbench_surrogate: batched inputs disagree with yahpo-gym's "
                         f"objective_function: {fast.tolist()} vs {expected.tolist()}")


def main() -> None:
    out, sys.stdout = sys.stdout, sys.stderr  # yahpo-gym prints its citation: not on the channel
    from yahpo_gym import benchmark_set, local_config

    local_config.init_config()
    local_config.set_data_path(sys.argv[1])
    # check=False: yahpo-gym's per-row ConfigSpace check costs 25x the inference (the driver
    # sends configurations from the space); one thread: the benchmark runs in parallel processes
    bench = benchmark_set.BenchmarkSet("lcbench", check=False, multithread=False)
    bench.set_session(multithread=False)
    self_check(bench)
    for line in sys.stdin:
        try:
            reply = answer(bench, json.loads(line))
        except (KeyError, TypeError, ValueError, IndexError) as error:
            reply = {"error": f"{type(error).__name__}: {error}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
