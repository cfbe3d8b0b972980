"""Stopping a process the tests started together with its children, by pid: the children are
listed (psutil) while the process lives, then the process is terminated and any child still
running is killed. Nothing is matched by name."""

from __future__ import annotations

import subprocess

import psutil


def descendants(pid: int) -> list[psutil.Process]:
    """The running descendants of `pid` ([] once it has ended)."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def stop_tree(process: subprocess.Popen, timeout: float = 30) -> None:
    """Terminate `process` (SIGTERM, then SIGKILL after `timeout` s) and kill its children."""
    children = descendants(process.pid)
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
    kill(children, timeout)


def kill(processes: list[psutil.Process], timeout: float = 30) -> None:
    """SIGKILL each of `processes` that still runs, and wait for them."""
    for child in processes:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=timeout)
