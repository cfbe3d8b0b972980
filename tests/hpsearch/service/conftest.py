"""A real `hpsearch serve` process on a free loopback port, stopped (with its children) by pid."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "test-token-0123456789abcdef"


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("HPSEARCH_TOKEN", None)
    return env


class Served:
    """One `hpsearch serve` process: `url`, `storage`, `stop()`, `kill()`, `restart()`."""

    def __init__(self, storage: Path, *options: str) -> None:
        self.storage, self.options = storage, options
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.start()

    def start(self) -> None:
        log = open(self.storage.parent / f"serve-{time.monotonic_ns()}.log", "w+")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hpsearch.cli", "serve", str(self.storage),
             "--port", str(self.port), *self.options],
            stdout=log, stderr=log, env=environment(), start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            log.seek(0)
            found = re.search(r"(https?)://127\.0\.0\.1:(\d+)", log.read())
            if found:
                self.scheme, self.port = found.group(1), int(found.group(2))
                self.log = log
                return
            if self.process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"hpsearch serve exited: {log.read()}")
            time.sleep(0.05)
        raise RuntimeError("hpsearch serve did not start")

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def signal(self, number: int) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, number)
            self.process.wait(timeout=60)

    def stop(self) -> None:
        self.signal(signal.SIGTERM)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    def restart(self) -> None:
        """Start again on the same port, the same storage."""
        self.start()


@pytest.fixture
def serve(tmp_path):
    """A factory: serve(*options) starts `hpsearch serve <tmp>/runs *options`."""
    started: list[Served] = []

    def start(*options: str) -> Served:
        served = Served(tmp_path / "runs", *options)
        started.append(served)
        return served

    yield start
    for served in started:
        served.kill()


def objective_file(tmp_path: Path, body: str, name: str = "objectives.py") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path
