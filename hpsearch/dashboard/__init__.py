"""`hpsearch dashboard`: a live, read-only web page about the runs under a storage folder.

Contract:
- `DashboardServer(storage, port=0)` serves on 127.0.0.1 only (`port=0`: a free port; `url`
  says which). `start()` runs it in a thread of its own (tests, notebooks), `serve_forever()`
  in the calling thread (the CLI) until `stop()` or Ctrl-C.
- Read-only: GET and HEAD only (any other method: 405); no handler writes a file, opens a
  database for writing or takes a lock. A run is named by its path relative to the storage
  folder and must be one of the run folders `hpsearch.report.runs.find_runs` finds there, so no
  request reaches a path outside the storage folder (anything else: 404). Requests whose Host
  is not one of the server's loopback names (`hpsearch.webserver.loopback_hosts`) are refused
  (403), so another site cannot read the page through DNS rebinding.
- The page (`hpsearch.dashboard.page`) is one HTML document with its own script and style
  served from the same origin; its Content-Security-Policy allows nothing else (images are
  `data:` URIs), so it loads nothing from the network. It polls the JSON API once a second
  and redraws what changed without reloading: the runs, the selected run's summary, its
  running trials' learning curves (from `live.json`, see `hpsearch.monitor.live`) beside the
  best finished trials' curves, its trials table, and the report's figures and tables
  (`hpsearch.report`), redrawn in the background when a trial finishes.
- API (JSON): `/api/runs`; `/api/run?run=NAME` (summary, table, curves, `version` changing
  whenever they do); `/api/report?run=NAME` (the report's sections as HTML, and the trials
  count they were drawn from).

Modules: `data` (the JSON snapshots), `figures` (the report's sections, cached per run),
`page` (the HTML, script and style), `server` (Tornado handlers and the server).
"""

from hpsearch.dashboard.server import DashboardServer

__all__ = ["DashboardServer"]
