"""The report's figures and tables for the dashboard: `hpsearch.report.write_report` into a
temporary folder, the page's sections kept as HTML, redrawn in the background when the run's
finished trials (or its exported ensembles) change.

Contract: `ReportCache.get(name, path) -> {"html", "trials", "current"}` returns at once: the
last sections drawn for that run (empty before the first), how many finished trials they
show, and whether they are up to date. When they are not, one drawing starts (never two for
a run) in the cache's one worker process (spawned: matplotlib and Optuna's importance run
there, never beside the server's threads); the page asks again. Nothing is written outside
the temporary folder, which is removed after each drawing. The worker process ends soon after
the dashboard's process does, however that ends (`hpsearch.execution.orphans`; kill -9
included), and with it multiprocessing's resource tracker; `close()` ends it at once.
"""

from __future__ import annotations

import concurrent.futures as cf
import gc
import logging
import multiprocessing
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

__all__ = ["ReportCache", "sections_html"]

logger = logging.getLogger("hpsearch")

_BODY = re.compile(r"</nav>\s*(.*)</body>", re.S)


def sections_html(path: Path) -> str:
    """The report page's sections (everything after its navigation) for run folder `path`."""
    from hpsearch.report import write_report

    with tempfile.TemporaryDirectory(prefix="hpsearch-dashboard-") as folder:
        report = write_report(path, folder)
        page = report.html.read_text(encoding="utf-8")
    gc.collect()  # close the run's read-only database here, not in another thread later
    found = _BODY.search(page)
    return found.group(1) if found else ""


class ReportCache:
    """See the module docstring."""

    def __init__(self) -> None:
        from hpsearch.execution.orphans import exit_with_parent

        self._pool = cf.ProcessPoolExecutor(max_workers=1,
                                            mp_context=multiprocessing.get_context("spawn"),
                                            initializer=exit_with_parent,
                                            initargs=(os.getpid(),))
        self._lock = threading.Lock()
        self._done: dict[str, tuple[Any, str, int]] = {}  # name -> (key, html, trials)
        self._drawing: dict[str, cf.Future] = {}

    def get(self, name: str, path: Path) -> dict[str, Any]:
        from hpsearch.dashboard.data import report_key

        key = report_key(path)
        with self._lock:
            done_key, html, trials = self._done.get(name, (None, "", 0))
            current = done_key == key
            if not current and name not in self._drawing:
                future = self._pool.submit(sections_html, path)
                future.add_done_callback(lambda done: self._drawn(name, key, done))
                self._drawing[name] = future
        return {"html": html, "trials": trials, "current": current}

    def _drawn(self, name: str, key: Any, future: cf.Future) -> None:
        try:
            html = future.result()
        except Exception as err:  # a figure that fails must not stop the dashboard
            logger.warning("dashboard: the report of %s failed: %s", name, err)
            html = f"<p class=\"omitted\">The report could not be drawn: {type(err).__name__}</p>"
        with self._lock:
            self._done[name] = (key, html, len(key[0]))
            self._drawing.pop(name, None)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
