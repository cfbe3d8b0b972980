"""Benchmark: `hpsearch serve` against Optuna's gRPC storage proxy and OSS Vizier's service.

N client processes share one study of a trivial objective ((x - 0.25)^2, x in [0, 1], random
search) until it holds T finished trials: asks per second (all asks over the wall time from the
moment every client is ready), p50/p99 ask and tell latency, and the counts that matter:
trials lost (a client's tell was answered OK but the trial is not complete in the storage at
the end), trials run twice (a trial evaluated by more than one client or twice), orphans
(trials the storage left unfinished) and the final complete count. Each peer runs twice:
steady, then with the server SIGKILLed halfway (at half the steady run's wall time) and
restarted at once on the same port and storage; clients keep going through their retries.

- hpsearch: `hpsearch serve` (a SQLite run folder), clients `hp.connect(url).study(name)`
  with `ask()`/`tell()` (the study's budget is T; leases and request ids make retries safe).
- Optuna: `optuna.storages.run_grpc_proxy_server` over an RDB storage (SQLite), clients
  `GrpcStorageProxy` + `optuna.load_study(...).ask()/tell()` with T/N trials each (Optuna has
  no study budget); a failed call is retried as a user would (up to 50 times, 0.2 s apart;
  then that trial is given up, counted in `gave_up`).
- OSS Vizier: `vizier.service.servers.DefaultVizierServer` (SQLite) in its own venv
  (`--vizier-python`, default /work/venvs/vizier/bin/python; skipped with a note when it does
  not import), clients `clients.Study.suggest(count=1, client_id=...)` / `complete(...)`,
  RANDOM_SEARCH, T/N trials each.

Run: flock /work/notes/bench.lock python scripts/bench_service.py --clients 32 --trials 2000
(--peers hpsearch,optuna,vizier; --no-kill skips the SIGKILL runs). Prints one table and the
ratios hpsearch / peer. Client processes import nothing from this repository but hpsearch.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDY = "bench"


def objective(x: float) -> float:
    return (x - 0.25) ** 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ----- clients (one process each; they write what they saw to --out)
def _wait_for_go(ready: Path, go: Path) -> None:
    ready.touch()
    while not go.exists():
        time.sleep(0.01)


def client_hpsearch(args: argparse.Namespace, record: dict) -> None:
    import hpsearch as hp

    study = hp.connect(args.address, retry_seconds=300).study(STUDY)
    _wait_for_go(Path(args.ready), Path(args.go))
    while True:
        started = time.perf_counter()
        try:
            trial = study.ask()
        except hp.StudyError:
            break
        record["asks"].append(time.perf_counter() - started)
        record["evaluated"].append(trial.number)
        value = objective(trial.params["x"])
        started = time.perf_counter()
        try:
            study.tell(trial, value)
        except hp.LeaseLostError:
            record["errors"] += 1
            continue
        record["tells"].append(time.perf_counter() - started)
        record["told"].append(trial.number)


def _retried(call, record: dict, attempts: int = 50) -> tuple[object, bool]:
    """(result, True), or (None, False) after `attempts` failures 0.2 s apart: what a user's
    retry loop does. An answer saying the trial is already finished counts as done."""
    for _ in range(attempts):
        try:
            return call(), True
        except Exception as err:  # noqa: BLE001 - any failure: pause, try again
            record["errors"] += 1
            text = f"{type(err).__name__}: {err}"
            if len(record["error_kinds"]) < 5 and text[:80] not in record["error_kinds"]:
                record["error_kinds"].append(text[:80])
            if "already" in text or "finished" in text:
                return None, True
            time.sleep(0.2)
    record["gave_up"] += 1
    return None, False


def client_optuna(args: argparse.Namespace, record: dict) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    host, port = args.address.rsplit(":", 1)
    storage = optuna.storages.GrpcStorageProxy(host=host, port=int(port))
    study = optuna.load_study(study_name=STUDY, storage=storage,
                              sampler=optuna.samplers.RandomSampler())
    _wait_for_go(Path(args.ready), Path(args.go))
    for _ in range(args.share):
        started = time.perf_counter()
        trial, ok = _retried(study.ask, record)
        if not ok:
            continue
        x, ok = _retried(lambda t=trial: t.suggest_float("x", 0.0, 1.0), record)
        if not ok or x is None:
            continue
        record["asks"].append(time.perf_counter() - started)
        record["evaluated"].append(trial._trial_id)
        value = objective(x)
        started = time.perf_counter()
        _, ok = _retried(lambda t=trial, v=value: study.tell(t, v), record)
        if ok:
            record["tells"].append(time.perf_counter() - started)
            record["told"].append(trial._trial_id)


def client_vizier(args: argparse.Namespace, record: dict) -> None:
    from vizier.service import clients
    from vizier.service import pyvizier as vz

    clients.environment_variables.server_endpoint = args.address
    study = clients.Study.from_owner_and_id("bench", STUDY)
    me = f"client-{os.getpid()}"
    _wait_for_go(Path(args.ready), Path(args.go))
    for _ in range(args.share):
        started = time.perf_counter()
        suggestions, ok = _retried(lambda: study.suggest(count=1, client_id=me), record)
        if not ok or not suggestions:
            continue
        suggestion = suggestions[0]
        record["asks"].append(time.perf_counter() - started)
        record["evaluated"].append(suggestion.id)
        value = objective(float(suggestion.parameters["x"]))
        started = time.perf_counter()
        _, ok = _retried(lambda s=suggestion, v=value: s.complete(vz.Measurement({"value": v})),
                         record)
        if ok:
            record["tells"].append(time.perf_counter() - started)
            record["told"].append(suggestion.id)


# ----- servers
def serve_optuna(args: argparse.Namespace) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = optuna.storages.RDBStorage(f"sqlite:///{args.db}")
    optuna.storages.run_grpc_proxy_server(storage, host="127.0.0.1", port=args.port)


def serve_vizier(args: argparse.Namespace) -> None:
    from vizier.service import servers

    server = servers.DefaultVizierServer(host="127.0.0.1", port=args.port,
                                         database_url=f"sqlite:///{args.db}")
    print(f"vizier at {server.endpoint}", flush=True)
    while True:
        time.sleep(3600)


def setup_vizier(args: argparse.Namespace) -> None:
    from vizier.service import clients
    from vizier.service import pyvizier as vz

    clients.environment_variables.server_endpoint = args.address
    config = vz.StudyConfig(algorithm="RANDOM_SEARCH")
    config.search_space.root.add_float_param("x", 0.0, 1.0)
    config.metric_information.append(vz.MetricInformation("value",
                                                          goal=vz.ObjectiveMetricGoal.MINIMIZE))
    clients.Study.from_study_config(config, owner="bench", study_id=STUDY)


def count_vizier(args: argparse.Namespace) -> None:
    from vizier.service import clients

    clients.environment_variables.server_endpoint = args.address
    trials = list(clients.Study.from_owner_and_id("bench", STUDY).trials())
    states = [str(t.materialize().status) for t in trials]
    print(json.dumps({"complete": sum("COMPLETED" in s for s in states),
                      "unfinished": sum("COMPLETED" not in s for s in states)}))


ROLES = {"client-hpsearch": client_hpsearch, "client-optuna": client_optuna,
         "client-vizier": client_vizier, "serve-optuna": serve_optuna,
         "serve-vizier": serve_vizier, "setup-vizier": setup_vizier,
         "count-vizier": count_vizier}


# ----- orchestration
def _python(peer: str, args: argparse.Namespace) -> str:
    return args.vizier_python if peer == "vizier" else sys.executable


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("JAX_PLATFORMS", "cpu")
    return env


def _spawn(python: str, role: str, *options: str, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "w") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen([python, __file__, "--role", role, *options], stdout=out,
                            stderr=subprocess.STDOUT, env=_env(), start_new_session=True)


class Server:
    """One peer's server process, killable and restartable on the same port and storage."""

    def __init__(self, peer: str, args: argparse.Namespace, folder: Path) -> None:
        self.peer, self.args, self.folder = peer, args, folder
        self.port = free_port()
        self.address = (f"http://127.0.0.1:{self.port}" if peer == "hpsearch"
                        else f"127.0.0.1:{self.port}")
        self.starts = 0
        self.start()

    def start(self) -> None:
        self.starts += 1
        log = self.folder / f"server-{self.starts}.log"
        if self.peer == "hpsearch":
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hpsearch.cli", "serve", str(self.folder / "runs"),
                 "--port", str(self.port)], stdout=open(log, "w"),  # noqa: SIM115
                stderr=subprocess.STDOUT, env=_env(), start_new_session=True)
        else:
            self.process = _spawn(_python(self.peer, self.args), f"serve-{self.peer}",
                                  "--port", str(self.port), "--db",
                                  str(self.folder / "peer.db"), log=log)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.peer} server exited: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"{self.peer} server did not listen")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _create(peer: str, server: Server, args: argparse.Namespace) -> None:
    if peer == "hpsearch":
        import hpsearch as hp

        hp.connect(server.address).create_study(STUDY, {"x": hp.Float(0.0, 1.0)},
                                                strategy="random", seed=0,
                                                n_trials=args.trials)
    elif peer == "optuna":
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        storage = optuna.storages.GrpcStorageProxy(host="127.0.0.1", port=server.port)
        optuna.create_study(study_name=STUDY, storage=storage, direction="minimize")
    else:
        subprocess.run([args.vizier_python, __file__, "--role", "setup-vizier", "--address",
                        server.address], check=True, env=_env(), timeout=600,
                       capture_output=True)


def _final_counts(peer: str, server: Server, args: argparse.Namespace) -> dict[str, int]:
    if peer == "hpsearch":
        import hpsearch as hp

        trials = hp.connect(server.address).study(STUDY).trials
        complete = {t.number for t in trials if t.state == "complete"}
        return {"complete": len(complete), "unfinished": len(trials) - len(complete),
                "ids": sorted(complete)}
    if peer == "optuna":
        import optuna

        study = optuna.load_study(study_name=STUDY,
                                  storage=f"sqlite:///{server.folder / 'peer.db'}")
        trials = study.get_trials(deepcopy=False)
        complete = {t._trial_id for t in trials if t.state.name == "COMPLETE"}
        return {"complete": len(complete), "unfinished": len(trials) - len(complete),
                "ids": sorted(complete)}
    done = subprocess.run([args.vizier_python, __file__, "--role", "count-vizier",
                           "--address", server.address], check=True, env=_env(),
                          timeout=600, capture_output=True, text=True)
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    return {**counts, "ids": None}


def run_peer(peer: str, args: argparse.Namespace, kill_after: float | None) -> dict:
    """One run: N clients, T trials, the server SIGKILLed after `kill_after` seconds."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-service-{peer}-"))
    server = Server(peer, args, folder)
    try:
        _create(peer, server, args)
        shares = [args.trials // args.clients + (k < args.trials % args.clients)
                  for k in range(args.clients)]
        go = folder / "go"
        clients = [_spawn(_python(peer, args), f"client-{peer}", "--address", server.address,
                          "--share", str(share), "--ready", str(folder / f"ready{k}"),
                          "--go", str(go), "--out", str(folder / f"client{k}.json"),
                          log=folder / f"client{k}.log")
                   for k, share in enumerate(shares)]
        while sum((folder / f"ready{k}").exists() for k in range(args.clients)) < args.clients:
            if any(c.poll() not in (None, 0) for c in clients):
                raise RuntimeError(f"a {peer} client failed: "
                                   f"{(folder / 'client0.log').read_text()[-2000:]}")
            time.sleep(0.1)
        go.touch()
        started = time.monotonic()
        killed_at = down = None
        if kill_after is not None:
            while time.monotonic() - started < kill_after and any(
                    c.poll() is None for c in clients):
                time.sleep(0.02)
            killed_at = time.monotonic() - started
            server.kill()
            server.start()
            down = time.monotonic() - started - killed_at
        for client in clients:
            try:
                client.wait(timeout=max(1.0, args.client_timeout - (time.monotonic() - started)))
            except subprocess.TimeoutExpired:  # a client stuck for good: counted, not waited
                os.killpg(client.pid, signal.SIGKILL)
                client.wait()
        wall = time.monotonic() - started
        records = [_record(folder / f"client{k}.json") for k in range(args.clients)]
        return _summary(peer, records, _final_counts(peer, server, args), wall, killed_at,
                        down)
    finally:
        server.kill()


def _record(path: Path) -> dict:
    """A client's record, or an empty one for a client that never finished (it gave up all)."""
    if path.exists():
        return json.loads(path.read_text())
    return {"asks": [], "tells": [], "evaluated": [], "told": [], "errors": 0, "gave_up": 1,
            "error_kinds": ["the client did not finish (killed after --client-timeout)"]}


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values) * 1000.0, q)) if values else float("nan")


def _summary(peer: str, records: list[dict], final: dict, wall: float,
             killed_at: float | None, down: float | None) -> dict:
    asks = [a for r in records for a in r["asks"]]
    tells = [t for r in records for t in r["tells"]]
    evaluated = [e for r in records for e in r["evaluated"]]
    told = {t for r in records for t in r["told"]}
    lost = len(told - set(final["ids"])) if final["ids"] is not None else None
    seen: dict = {}
    for item in evaluated:
        seen[item] = seen.get(item, 0) + 1
    return {"peer": peer, "wall_s": wall, "asks_per_s": len(asks) / wall,
            "ask_p50_ms": _percentile(asks, 50), "ask_p99_ms": _percentile(asks, 99),
            "tell_p50_ms": _percentile(tells, 50), "tell_p99_ms": _percentile(tells, 99),
            "complete": final["complete"], "lost": lost,
            "run_twice": sum(1 for n in seen.values() if n > 1),
            "orphans": final["unfinished"], "retried_errors": sum(r["errors"] for r in records),
            "gave_up": sum(r["gave_up"] for r in records),
            "error_kinds": sorted({k for r in records for k in r["error_kinds"]})[:5],
            "killed_at_s": killed_at, "restart_s": down}


def _vizier_works(args: argparse.Namespace) -> str | None:
    try:
        done = subprocess.run([args.vizier_python, "-c", "from vizier.service import clients, "
                               "servers"], capture_output=True, text=True, timeout=300,
                              env=_env())
    except (OSError, subprocess.TimeoutExpired) as err:
        return str(err)
    return None if done.returncode == 0 else done.stderr.strip().splitlines()[-1]


def _show(rows: list[dict]) -> None:
    columns = ["peer", "run", "wall_s", "asks_per_s", "ask_p50_ms", "ask_p99_ms", "tell_p50_ms",
               "tell_p99_ms", "complete", "lost", "run_twice", "orphans", "retried_errors",
               "gave_up"]
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(f"{row[c]:.1f}" if isinstance(row[c], float) else str(row[c])
                         for c in columns))
    steady = {r["peer"]: r for r in rows if r["run"] == "steady"}
    if "hpsearch" in steady:
        ours = steady["hpsearch"]
        for peer, theirs in steady.items():
            if peer != "hpsearch":
                parts = [f"{label} x{_ratio(ours[key], theirs[key])}" for label, key in (
                    ("asks/s", "asks_per_s"), ("p50 ask", "ask_p50_ms"),
                    ("p99 ask", "ask_p99_ms"), ("p50 tell", "tell_p50_ms"))]
                print(f"hpsearch / {peer}: {', '.join(parts)} (latency: lower is better; "
                      "n/a: the peer's clients recorded none, e.g. all killed at the timeout, "
                      f"{theirs['complete']} trials complete)")


def _ratio(ours: float | None, theirs: float | None) -> str:
    """ours / theirs to two decimals, or 'n/a' when the peer has no figure."""
    if not ours or not theirs or math.isnan(ours) or math.isnan(theirs):
        return "n/a"
    return f"{ours / theirs:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", default="bench", choices=["bench", *ROLES])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--peers", default="hpsearch,optuna,vizier")
    parser.add_argument("--no-kill", action="store_true")
    parser.add_argument("--client-timeout", type=float, default=1800.0)
    parser.add_argument("--vizier-python", default="/work/venvs/vizier/bin/python")
    for option in ("--address", "--ready", "--go", "--out", "--db"):
        parser.add_argument(option)
    parser.add_argument("--share", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.role.startswith("client-"):
        record = {"asks": [], "tells": [], "evaluated": [], "told": [], "errors": 0,
                  "gave_up": 0, "error_kinds": []}
        ROLES[args.role](args, record)
        Path(args.out).write_text(json.dumps(record))
        return
    if args.role != "bench":
        ROLES[args.role](args)
        return
    peers = args.peers.split(",")
    if "vizier" in peers:
        problem = _vizier_works(args)
        if problem is not None:
            print(f"OSS Vizier left out: it does not import in {args.vizier_python} "
                  f"({problem})")
            peers.remove("vizier")
    print(f"{args.clients} clients x {args.trials} trials, trivial objective; "
          f"{os.cpu_count()} cores")
    rows = []
    for peer in peers:
        steady = run_peer(peer, args, None)
        rows.append({**steady, "run": "steady"})
        print(json.dumps(rows[-1]), flush=True)
        if not args.no_kill:
            rows.append({**run_peer(peer, args, steady["wall_s"] / 2), "run": "kill -9"})
            print(json.dumps(rows[-1]), flush=True)
    _show(rows)


if __name__ == "__main__":
    main()
