"""The dashboard's page: one HTML document, its script and its style, all served by the
dashboard itself (no CDN, no network fetch: `CSP` allows the page's own origin for the script,
the style and the API, and `data:` images, nothing else).

The script polls `/api/runs` and the selected run's `/api/run` once a second and redraws only
what changed (each answer has a `version`); when the run's finished trials change it asks for
`/api/report` until the report is current. It marks `<html data-updates="N">` after each
redraw and `data-errors` with what failed (a headless browser's test reads them).
"""

from __future__ import annotations

__all__ = ["PAGE", "SCRIPT", "STYLE", "CSP"]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

PAGE = """<!DOCTYPE html>
<html lang="en" data-updates="0"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hpsearch dashboard</title><link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script></head>
<body><header><h1>hpsearch dashboard</h1><p id="where"></p></header>
<div id="layout"><nav><h2>Runs</h2><ul id="runs"></ul></nav>
<main id="run"><p class="hint" id="choose">Choose a run on the left.</p>
<section id="run-summary"></section>
<section id="live"><h2>Learning curves</h2><p class="hint" id="curves-note"></p>
<div id="live-curves"></div></section>
<section id="trials"><h2>Trials</h2><p class="hint" id="trials-note"></p>
<div class="scroll" id="table"></div></section>
<section id="report"><h2>Report</h2><p class="hint" id="report-note"></p>
<div id="report-body"></div></section></main></div></body></html>
"""

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; }
header { background: #243447; color: #fff; padding: 0.4em 1em; }
header h1 { margin: 0; font-size: 1.3em; } header p { margin: 0.2em 0; font-size: 0.9em; }
#layout { display: flex; align-items: flex-start; }
nav { width: 17em; flex: none; padding: 0 0.8em; border-right: 1px solid #ddd; }
nav ul { list-style: none; padding: 0; } nav li { margin: 0.2em 0 0.6em; }
nav li.active a { font-weight: bold; } nav .meta { color: #555; font-size: 0.82em; }
.alive { color: #1a7f37; } .dead { color: #999; }
main { flex: 1; padding: 0 1.2em 2em; min-width: 0; }
h2 { border-bottom: 1px solid #ccc; margin-top: 1.2em; font-size: 1.15em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; white-space: nowrap; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; } dd { margin: 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.scroll { overflow-x: auto; } .hint { color: #666; font-size: 0.9em; }
.omitted { color: #8a5a00; background: #fff7e0; padding: 0.4em 0.7em; }
svg text { font-size: 11px; fill: #444; } .legend span { margin-right: 1em; font-size: 0.85em; }
#report section h2 { font-size: 1.05em; }
"""

SCRIPT = r"""
"use strict";
(function () {
  var root = document.documentElement, errors = [], updates = 0;
  var seen = {runs: null, run: null, report: null, reportTrials: -1};
  var COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"];

  function byId(id) { return document.getElementById(id); }
  function make(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }
  function fail(what) {
    if (errors.indexOf(what) < 0) { errors.push(what); }
    root.setAttribute("data-errors", errors.join(" | "));
  }
  function mark() { updates += 1; root.setAttribute("data-updates", String(updates)); }
  function getJSON(url) {
    return fetch(url, {cache: "no-store"}).then(function (answer) {
      if (!answer.ok) { throw new Error(url + ": HTTP " + answer.status); }
      return answer.json();
    });
  }
  function selected() {
    var found = /(?:^#|&)run=([^&]*)/.exec(location.hash);
    return found ? decodeURIComponent(found[1]) : null;
  }
  function counts(c) {
    var parts = [];
    Object.keys(c || {}).sort().forEach(function (k) { parts.push(c[k] + " " + k); });
    return parts.join(", ") || "no trials";
  }
  function best(run) {
    if (run.front !== null && run.front !== undefined) { return "front of " + run.front; }
    if (run.best_value === null || run.best_value === undefined) { return "no best yet"; }
    return "best " + Number(run.best_value).toPrecision(6) + " (trial " + run.best_trial + ")";
  }

  function drawRuns(data) {
    byId("where").textContent = data.storage + " (read-only)";
    var list = byId("runs"), current = selected();
    list.textContent = "";
    data.runs.forEach(function (run) {
      var item = make("li"), link = make("a", run.name);
      link.href = "#run=" + encodeURIComponent(run.name);
      item.setAttribute("data-run", run.name);
      if (run.name === current) { item.className = "active"; }
      item.appendChild(link);
      var alive = make("span", run.alive ? " \u25cf running" : "", run.alive ? "alive" : "dead");
      item.appendChild(alive);
      item.appendChild(make("div", run.error || (counts(run.counts) + "; " + best(run)), "meta"));
      list.appendChild(item);
    });
    if (!current && data.runs.length === 1) {
      location.hash = "run=" + encodeURIComponent(data.runs[0].name);
    }
  }

  function drawSummary(body) {
    var s = body.summary, box = byId("run-summary"), dl = make("dl");
    box.textContent = ""; byId("choose").hidden = true;
    box.appendChild(make("h2", body.name));
    [["strategy", s.strategy], ["direction", String(s.direction) + " " + (s.metric || "value")],
     ["trials", counts(s.counts)], ["best", best(s)],
     ["driver", s.alive ? "running" + (s.driver ? " (pid " + s.driver + ")" : "") : "none"]]
      .forEach(function (pair) {
        dl.appendChild(make("dt", pair[0])); dl.appendChild(make("dd", pair[1]));
      });
    box.appendChild(dl);
    if (s.error) { box.appendChild(make("p", s.error, "omitted")); }
  }

  function drawTable(t) {
    var holder = byId("table"), table = make("table"), head = make("tr"), tbody = make("tbody");
    holder.textContent = "";
    if (!t) { return; }
    t.headers.forEach(function (h) { head.appendChild(make("th", h)); });
    var thead = make("thead"); thead.appendChild(head); table.appendChild(thead);
    t.rows.forEach(function (row) {
      var tr = make("tr");
      tr.setAttribute("data-trial", row[0]);
      row.forEach(function (cell) { tr.appendChild(make("td", cell)); });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody); holder.appendChild(table);
    var hidden = Object.keys(t.hidden || {}).map(function (k) {
      return k + " (" + t.hidden[k] + ")";
    });
    byId("trials-note").textContent = (t.rows.length < t.total ? "the best " + t.rows.length +
      " of " + t.total + " trials; " : t.total + " trials, best first; ") +
      (hidden.length ? "hidden: " + hidden.join(", ") : "");
  }

  function drawCurves(curves, metric) {
    var holder = byId("live-curves"), NS = "http://www.w3.org/2000/svg";
    holder.textContent = "";
    var live = curves.filter(function (c) { return c.running; }).length;
    byId("curves-note").textContent = curves.length ? ("values reported per step: " + live +
      " running trial(s) as they report, and the best finished ones (grey)") :
      "no reports yet (objectives report with trial.report(step, value))";
    if (!curves.length) { return; }
    var W = 680, H = 260, L = 60, R = 10, T = 10, B = 30, xs = [], ys = [];
    curves.forEach(function (c) {
      c.reports.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); });
    });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (x1 === x0) { x1 = x0 + 1; } if (y1 === y0) { y1 = y0 + 1; }
    function sx(v) { return L + (v - x0) / (x1 - x0) * (W - L - R); }
    function sy(v) { return H - B - (v - y0) / (y1 - y0) * (H - T - B); }
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + H); svg.setAttribute("width", W);
    svg.setAttribute("height", H); svg.setAttribute("role", "img");
    function text(x, y, value, anchor) {
      var node = document.createElementNS(NS, "text");
      node.setAttribute("x", x); node.setAttribute("y", y);
      node.setAttribute("text-anchor", anchor || "start"); node.textContent = value;
      svg.appendChild(node);
    }
    var frame = document.createElementNS(NS, "rect");
    frame.setAttribute("x", L); frame.setAttribute("y", T); frame.setAttribute("width", W - L - R);
    frame.setAttribute("height", H - T - B); frame.setAttribute("fill", "none");
    frame.setAttribute("stroke", "#ccc"); svg.appendChild(frame);
    text(L - 4, T + 10, y1.toPrecision(4), "end"); text(L - 4, H - B, y0.toPrecision(4), "end");
    text(L, H - 8, "step " + x0); text(W - R, H - 8, "step " + x1, "end");
    text(L + 4, T + 12, metric || "reported value");
    var legend = make("p", null, "legend"), k = 0;
    curves.slice().reverse().forEach(function (c) {
      var line = document.createElementNS(NS, "polyline");
      var colour = c.running ? COLOURS[k++ % COLOURS.length] : "#bbb";
      line.setAttribute("points", c.reports.map(function (p) {
        return sx(p[0]) + "," + sy(p[1]);
      }).join(" "));
      line.setAttribute("fill", "none"); line.setAttribute("stroke", colour);
      line.setAttribute("stroke-width", c.running ? 2.5 : 1.5);
      line.setAttribute("data-trial", c.number); line.setAttribute("data-running", c.running);
      svg.appendChild(line);
      var label = make("span", "trial " + c.number + (c.running ? " (running, step " +
        c.reports[c.reports.length - 1][0] + ")" : " (" + c.state + ")"));
      label.style.color = colour; legend.appendChild(label);
    });
    holder.appendChild(svg); holder.appendChild(legend);
  }

  function drawReport(name, finished) {
    if (seen.report === name && seen.reportTrials === finished) { return; }
    getJSON("/api/report?run=" + encodeURIComponent(name)).then(function (body) {
      if (selected() !== name) { return; }
      if (body.html) { byId("report-body").innerHTML = body.html; }  // the server's own HTML
      byId("report-note").textContent = body.current ? "figures of " + body.trials +
        " finished trials" : "drawing the figures of the newest trials...";
      if (body.current) { seen.report = name; seen.reportTrials = body.trials; }
      mark();
    }).catch(function (err) { fail(String(err)); });
  }

  function finishedCount(s) {
    var c = s.counts || {};
    return (c.complete || 0) + (c.pruned || 0) + (c.failed || 0);
  }

  function tick() {
    getJSON("/api/runs").then(function (data) {
      var version = JSON.stringify(data);
      if (version !== seen.runs) { seen.runs = version; drawRuns(data); mark(); }
      var name = selected();
      if (!name) { return null; }
      return getJSON("/api/run?run=" + encodeURIComponent(name)).then(function (body) {
        if (body.version !== seen.run) {
          seen.run = body.version;
          drawSummary(body); drawTable(body.table);
          drawCurves(body.curves || [], body.summary.metric);
          mark();
        }
        if (!body.summary.error) { drawReport(name, finishedCount(body.summary)); }
      });
    }).catch(function (err) { fail(String(err)); });
  }

  window.addEventListener("hashchange", function () {
    seen.run = null; seen.report = null; seen.runs = null;
    byId("report-body").textContent = ""; tick();
  });
  window.addEventListener("error", function (event) { fail(event.message || "error"); });
  tick();
  setInterval(tick, 1000);
})();
"""
