"""The report's HTML page: one self-contained file, and `write_report`, which writes it.

Contract:
- `render_page(run, sections, folder) -> str`: the whole document. Images are base64 `data:`
  URIs of the sections' PNG files in `folder`; styles (`STYLE`) and the one small script
  (`SCRIPT`) are inline; a Content-Security-Policy meta tag (`CSP`) forbids every network load.
  The script marks `<html data-render="ok">` once every image decoded, or
  `data-render="error"` with the errors in `data-errors` (so a headless browser's
  `--dump-dom` shows whether it rendered). After the sections comes `omitted`, the list of
  what the page leaves out and why.
- `write_report(run_dir, out_dir=None, top=3) -> Report`: see `hpsearch.report`.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import logging
import os
import sys
import time
from pathlib import Path

from hpsearch.report.figures import RunData, metric_name
from hpsearch.report.pareto import FIGURES as PARETO_FIGURES
from hpsearch.report.pareto import first_objective, pareto_sections
from hpsearch.report.sections import FIGURES, Section, build_sections

__all__ = ["Report", "write_report", "render_page", "STYLE", "SCRIPT", "CSP"]

logger = logging.getLogger("hpsearch")


@dataclasses.dataclass(frozen=True)
class Report:
    """What `write_report` wrote: the page, the figures, and the sections it left out."""

    html: Path
    figures: tuple[Path, ...]
    omitted: tuple[tuple[str, str], ...]


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1250px; color: #222;
       padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.35em 0.8em; text-align: right; white-space: nowrap; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; } dd { margin: 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.scroll { overflow-x: auto; }
.omitted { color: #8a5a00; background: #fff7e0; padding: 0.4em 0.7em; }
nav a { margin-right: 0.8em; }
"""

# Marks <html data-render> so a headless browser's DOM dump shows whether the page rendered.
SCRIPT = """
(function () {
  var errors = [];
  function mark() {
    var root = document.documentElement;
    root.setAttribute("data-render", errors.length ? "error" : "ok");
    if (errors.length) { root.setAttribute("data-errors", errors.join(" | ")); }
  }
  window.addEventListener("error", function (event) {
    errors.push(event.message || ("failed to load " + (event.target && event.target.tagName)));
  }, true);
  window.addEventListener("load", function () {
    var images = document.images;
    for (var i = 0; i < images.length; i++) {
      if (!images[i].complete || images[i].naturalWidth === 0) {
        errors.push("image " + (images[i].alt || i) + " did not decode");
      }
    }
    mark();
  });
})();
"""

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
       "script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")


def _section_html(section: Section, folder: Path) -> str:
    block = f'<section id="{section.id}"><h2>{html.escape(section.title)}</h2>'
    if section.omitted:
        block += f'<p class="omitted">{html.escape(section.omitted)}</p>'
    block += section.body
    if section.figure:
        data = base64.b64encode((folder / section.figure).read_bytes()).decode("ascii")
        block += (f'<p><img src="data:image/png;base64,{data}" '
                  f'alt="{html.escape(section.title)}" title="{html.escape(section.figure)}"></p>')
    return block + "</section>"


def _omitted_html(sections: list[Section]) -> str:
    left_out = [s for s in sections if s.omitted]
    omitted = '<section id="omitted"><h2>What this page leaves out</h2>'
    omitted += ("<ul>" + "".join(f"<li><strong>{html.escape(s.title)}</strong>: "
                                 f"{html.escape(s.omitted or '')}</li>" for s in left_out)
                + "</ul>") if left_out else "<p>Nothing: every section could be drawn.</p>"
    return omitted + "</section>"


def render_page(run: RunData, sections: list[Section], folder: Path) -> str:
    """The HTML document of `sections`, whose figures are PNG files in `folder`."""
    name = html.escape(run.path.resolve().name)
    parts = [_section_html(s, folder) for s in sections if s.shown]
    parts.append(_omitted_html(sections))
    nav = "".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections if s.shown)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    return (f'<!DOCTYPE html>\n<html lang="en" data-render="pending"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>hpsearch report: {name}</title><style>{STYLE}</style>"
            f"<script>{SCRIPT}</script></head>\n<body><h1>hpsearch report: {name}</h1>"
            f"<p>{len(run.trials)} trials; written {stamp} by <code>hpsearch report</code>."
            f"</p><nav>{nav}</nav>\n" + "\n".join(parts) + "\n</body></html>\n")


def write_report(run_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                 top: int = 3) -> Report:
    """Write the figures and `report.html` for `run_dir`; see `hpsearch.report`."""
    import matplotlib

    from hpsearch.study.study import load_study

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    path = Path(run_dir)
    study = load_study(path)
    trials = study.trials
    if study.n_objectives > 1:  # the one-value sections plot the first objective
        run = RunData(path, study, first_objective(trials), study.space, study.directions[0],
                      study.objective_names[0])
    else:
        run = RunData(path, study, trials, study.space, study.direction, metric_name(trials))
    folder = Path(out_dir) if out_dir is not None else path / "report"
    folder.mkdir(parents=True, exist_ok=True)
    for name in (*FIGURES, *PARETO_FIGURES):  # nothing stale from an older report
        (folder / name).unlink(missing_ok=True)
    sections = build_sections(run, folder, top)
    sections[1:1] = pareto_sections(study, folder)

    page = folder / "report.html"
    tmp = folder / "report.html.tmp"
    tmp.write_text(render_page(run, sections, folder), encoding="utf-8")
    os.replace(tmp, page)
    figures = tuple(folder / s.figure for s in sections if s.figure)
    omitted = tuple((s.id, s.omitted) for s in sections if s.omitted)
    logger.info("report of %s: %s (%d figures)", path, page, len(figures))
    return Report(page, figures, omitted)
