"""Where the command line's log records go, and whether it shows the live progress bar.

Contract:
- `configure(verbosity)`, verbosity -1 (`-q`), 0, 1 (`-v`) or 2 (`-vv`): one handler on the
  `hpsearch` logger, writing to whatever `sys.stderr` is when a record comes (so the records
  appear above a live progress bar, and in a test runner's capture). On a terminal, records of
  `hpsearch` from INFO (how a run starts, warnings, why it stopped) and, of the per-trial
  lines (`hpsearch.trials`), the failed trials only: the bar shows the rest; `-v` shows every
  trial's line, `-vv` the DEBUG records too. When stderr is not a terminal (a CI log, a file)
  there is no bar and every finished trial gets its line, with a timestamp. `-q`: warnings
  and errors only, and no bar. Calling it again replaces the handler.
- `show_progress(verbosity)`: whether the live bar shows (stderr a terminal, not `-q`).
- `reset()`: remove the handler and give the loggers back their levels.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["configure", "reset", "show_progress"]

_LOGGERS = ("hpsearch", "hpsearch.trials")
_state: dict[str, object] = {}


class _Stderr(logging.StreamHandler):
    """A handler on the current sys.stderr (looked up per record, as logging.lastResort)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # noqa: D102 - logging's own attribute
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


class _Format(logging.Formatter):
    """`warning: ...` for warnings and errors; a timestamp first when not on a terminal."""

    def __init__(self, stamped: bool) -> None:
        super().__init__(datefmt="%Y-%m-%d %H:%M:%S")
        self.stamped = stamped

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        if self.stamped:
            text = f"{self.formatTime(record, self.datefmt)} {text}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def show_progress(verbosity: int) -> bool:
    return _terminal() and verbosity >= 0


def configure(verbosity: int) -> None:
    """Send the `hpsearch` records to stderr for this verbosity (module docstring)."""
    reset()
    terminal = _terminal()
    if verbosity < 0:
        levels = (logging.WARNING, logging.WARNING)
    elif verbosity >= 2:
        levels = (logging.DEBUG, logging.DEBUG)
    elif terminal and verbosity == 0:
        levels = (logging.INFO, logging.WARNING)
    else:
        levels = (logging.INFO, logging.INFO)
    handler = _Stderr()
    handler.setFormatter(_Format(stamped=not terminal))
    main, trials = (logging.getLogger(name) for name in _LOGGERS)
    _state.update(handler=handler, levels=(main.level, trials.level),
                  propagate=main.propagate)
    main.addHandler(handler)
    main.setLevel(levels[0])
    trials.setLevel(levels[1])
    main.propagate = False  # one line per record, whatever the root logger has


def reset() -> None:
    handler = _state.pop("handler", None)
    if handler is None:
        return
    main, trials = (logging.getLogger(name) for name in _LOGGERS)
    main.removeHandler(handler)
    main.setLevel(_state["levels"][0])
    trials.setLevel(_state["levels"][1])
    main.propagate = _state["propagate"]
