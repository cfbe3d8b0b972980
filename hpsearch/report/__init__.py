"""The study report: PNG figures and one self-contained HTML page about a run folder.

Contract:
- `write_report(run_dir, out_dir=None, top=3) -> Report` reads the run folder (read-only; it
  works during a live run) and writes into `out_dir` (default `<run_dir>/report`, created):
  `report.html` and the figures it shows, each also a PNG file:
  `history.png` (each trial's value and the best so far), `parameters.png` (each
  hyperparameter against the value: log x axes for log dimensions, box plus strip plots for
  categoricals), `parallel_coordinates.png`, `importance.png` (Optuna's fANOVA evaluator,
  `optuna.importance.get_param_importances`, on an in-memory Optuna study of the complete
  trials), `learning_curves.png` (loss per iteration, train/val score per epoch of the `top`
  best trials), `update_ratios.png` (update/weight ratio per layer and epoch, log axis, with
  the seed's 1e-3 guide line) and `first_layer_weights.png` (the best trial's first-layer
  weights, one tile per hidden unit, when the inputs are image pixels: features named
  `pixel_<row>_<col>`, as for digits, or `pixel<k>` with a square count). A figure file of
  that list that this report cannot draw is removed from `out_dir`; other files are left alone.
- The page has a summary (counts by state, the best trial, the top trials table, failed
  trials with their errors), one section per figure (ids `summary`, `history`, `parameters`,
  `parallel`, `importance`, `curves`, `update-ratios`, `weights`, `ensembles`, `omitted`), and
  the ensemble table when the run folder holds records of exported ensembles
  (`<run_dir>/ensembles/*.json`, ensemble-file manifests). A section that cannot be drawn
  (no complete trial, one trial only, an objective that returned no curves, inputs that are
  not images, no ensemble exported) keeps its heading and says why; `Report.omitted` lists
  the same (section id, reason) pairs. An objective that records no curves and no networks
  (a Python one) gets one line, `network`, under what the page leaves out, instead of three
  empty sections. The loss per iteration has a log axis (symlog when a loss reaches 0).
- Self-contained: images are base64 `data:` URIs, styles and the one small script are
  inline, and a Content-Security-Policy meta tag forbids every network load. The script
  marks `<html data-render="ok">` once every image decoded, or `data-render="error"` with the
  errors in `data-errors` (so a headless browser's `--dump-dom` shows whether it rendered).
- Figures are drawn on matplotlib `Figure` objects with the Agg canvas (no pyplot state);
  when pyplot has not been imported yet, the Agg backend is also selected with
  `matplotlib.use("Agg")`, so nothing ever needs a display.

Modules: `page` (the HTML document and `write_report`), `sections` (one builder per section),
`figures` (one function per figure).
"""

from hpsearch.report.page import Report, write_report

__all__ = ["Report", "write_report"]
