"""SIGTERM handled like Ctrl-C by the commands that run studies.

`sigterm_interrupts()` is a context manager: inside it, SIGTERM raises `Terminated` (a
`KeyboardInterrupt`) in the main thread, so the study stops exactly as on Ctrl-C (running
trials `interrupted`, workers stopped, tables written) and the command exits 143 (128 + 15).
A second SIGTERM during that clean-up is ignored, so the clean-up finishes. Outside the main
thread (where Python cannot install handlers) it does nothing.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

__all__ = ["Terminated", "sigterm_interrupts", "TERMINATED_EXIT_CODE"]

TERMINATED_EXIT_CODE = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM."""


def _raise_terminated(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the clean-up finish
    raise Terminated("SIGTERM")


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises `Terminated` inside this block (see the module docstring)."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
