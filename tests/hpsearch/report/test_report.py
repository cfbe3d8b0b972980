"""The study report: valid PNG figures, a self-contained page with every section, the reasons
for what it leaves out, the CLI command, and the page rendered in headless Chromium."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import hpsearch as hp
from hpsearch.cli import app
from hpsearch.report import write_report
from hpsearch.report.figures import image_shape as _image_shape

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SECTIONS = ("summary", "history", "parameters", "parallel", "importance", "curves",
            "update-ratios", "weights", "ensembles", "omitted")
SPACE = {"x": hp.Float(1e-3, 1.0, log=True), "width": hp.Int(4, 64, log=True),
         "kind": hp.Categorical(["a", "b", "c"])}


def make_study(folder: Path, objective: str, n_trials: int, name: str = "flaky") -> Path:
    run_dir = folder / "runs" / name
    study = hp.Study(SPACE, direction="minimize", strategy="random", seed=0, storage=run_dir)
    try:
        study.optimize(objective, n_trials=n_trials)
    except hp.AllTrialsFailed:  # a run folder of failed trials is reported all the same
        pass
    return run_dir


class _Page(HTMLParser):
    """Section ids, image sources and every URL-bearing attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.images: list[str] = []
        self.urls: list[str] = []
        self.html_attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "html":
            self.html_attrs = attrs
        if tag == "section":
            self.ids.append(attrs.get("id"))
        if tag == "img":
            self.images.append(attrs.get("src") or "")
        for key in ("src", "href", "srcset", "action", "data"):
            if attrs.get(key):
                self.urls.append(attrs[key])


def parse(page: Path) -> tuple[_Page, str]:
    text = page.read_text(encoding="utf-8")
    parser = _Page()
    parser.feed(text)
    return parser, text


def check_png(path: Path) -> np.ndarray:
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_MAGIC, path
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels.std() > 0.01, f"{path.name} is blank"
    return pixels


def check_self_contained(page: Path, n_images: int) -> _Page:
    parser, text = parse(page)
    assert len(parser.images) == n_images
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG_MAGIC
    assert all(u.startswith(("data:", "#")) for u in parser.urls), parser.urls
    lowered = text.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "@import" not in lowered and "url(" not in lowered
    assert "default-src 'none'" in text  # the page forbids network loads itself
    return parser


@pytest.fixture(scope="module")
def flaky_report(tmp_path_factory, objective_file):
    """A custom objective (no artifacts) whose odd trials fail; reported once."""
    folder = tmp_path_factory.mktemp("flaky")
    run_dir = make_study(folder, objective_file("raises_on_odd"), 8)
    return run_dir, write_report(run_dir)


def test_report_of_custom_objective_with_failed_trials(flaky_report):
    run_dir, report = flaky_report
    assert report.html == run_dir / "report" / "report.html"
    names = {p.name for p in report.figures}
    assert names == {"history.png", "parameters.png", "parallel_coordinates.png",
                     "importance.png"}
    for path in report.figures:
        check_png(path)
    parser = check_self_contained(report.html, len(report.figures))
    # a Python objective records no networks: one line, not three empty sections
    assert tuple(parser.ids) == tuple(s for s in SECTIONS
                                      if s not in ("curves", "update-ratios", "weights"))
    omitted = dict(report.omitted)
    assert set(omitted) == {"network", "ensembles"}
    assert "built-in network objective only" in omitted["network"]
    text = report.html.read_text()
    assert "built-in network objective only" in text
    assert "Failed and interrupted trials" in text and "odd trial 3" in text
    assert "Top 4 trials" in text


def test_single_trial_and_all_failed(tmp_path, objective_file):
    single = write_report(make_study(tmp_path, objective_file("quadratic"), 1, "single"))
    assert {p.name for p in single.figures} == {"history.png", "parameters.png",
                                                "parallel_coordinates.png"}
    assert "at least 2 complete trials" in dict(single.omitted)["importance"]
    for path in single.figures:
        check_png(path)

    broken = write_report(make_study(tmp_path, objective_file("always_raises"), 3, "broken"))
    assert [p.name for p in broken.figures] == ["history.png"]
    check_png(broken.figures[0])
    omitted = dict(broken.omitted)
    assert "no complete trial" in omitted["parameters"]
    assert "no complete trial" in omitted["curves"]
    check_self_contained(broken.html, 1)


def test_stale_figures_are_removed_and_output_folder_is_honoured(tmp_path, objective_file):
    run_dir = make_study(tmp_path, objective_file("quadratic"), 1, "single")
    out = tmp_path / "elsewhere"
    out.mkdir()
    (out / "importance.png").write_bytes(PNG_MAGIC)  # from an earlier, bigger report
    (out / "holiday.png").write_bytes(PNG_MAGIC)  # not ours: left alone
    report = write_report(run_dir, out)
    assert report.html == out / "report.html"
    assert not (out / "importance.png").exists()
    assert (out / "holiday.png").exists()
    assert not (run_dir / "report").exists()


def test_ensemble_records_become_a_table(tmp_path, objective_file):
    run_dir = make_study(tmp_path, objective_file("quadratic"), 2, "with_ensemble")
    (run_dir / "ensembles").mkdir()
    manifest = {"method": "greedy", "note": "greedy selection of 4 picks",
                "metrics": {"val_accuracy": 0.975, "test_accuracy": 0.96,
                            "best_single": {"trial": 1, "val_accuracy": 0.95}},
                "members": [{"trial": 1, "weight": 0.6}, {"trial": 0, "weight": 0.4}]}
    (run_dir / "ensembles" / "digits.json").write_text(json.dumps(manifest))
    report = write_report(run_dir)
    assert "ensembles" not in dict(report.omitted)
    text = report.html.read_text()
    section = text[text.index('<section id="ensembles">'):text.index('<section id="omitted">')]
    assert "<td>greedy</td>" in section and "<td>0, 1</td>" in section
    # one column per score, so the numbers line up (they were run together in one cell)
    for head in ("<th>val_accuracy</th>", "<th>test_accuracy</th>", "<th>best single trial</th>",
                 "<th>single val_accuracy</th>"):
        assert head in section
    assert "<td>0.9750</td><td>trial 1</td><td>0.9500</td>" in section.replace(
        "<td>0.9600</td>", "")
    assert "greedy selection of 4 picks" in section


def test_loss_per_iteration_has_a_log_axis():
    import types

    from hpsearch.report.figures import curves_figure, loss_scale, new_figure

    spike = np.concatenate([[250.0], np.linspace(2.3, 0.1, 200)])
    run = types.SimpleNamespace(metric="val_accuracy")
    trial = hp.FrozenTrial(0, {}, hp.TrialState.COMPLETE, 0, value=0.9,
                           metrics={"val_accuracy": 0.9})
    figure = curves_figure(run, [(trial, {"curve.loss": spike})])
    assert figure.axes[0].get_yscale() == "log"
    hinge = new_figure(4, 3).subplots()
    assert loss_scale(hinge, [np.array([1.0, 0.0, 0.5])]) == "symlog"


def test_image_shape_detection():
    assert _image_shape([f"pixel_{r}_{c}" for r in range(8) for c in range(8)], 64) == (8, 8)
    assert _image_shape([f"pixel{k}" for k in range(784)], 784) == (28, 28)
    assert _image_shape(["a", "b", "c", "d"], 4) is None
    assert _image_shape([f"pixel{k}" for k in range(10)], 10) is None


def pixel_csv(folder: Path) -> Path:
    """3 classes of noisy 4x4 'images' (16 features named pixel_<row>_<col>)."""
    rng = np.random.default_rng(0)
    templates = rng.normal(size=(3, 16)) * 3
    y = np.repeat(np.arange(3), 40)
    X = templates[y] + rng.normal(size=(len(y), 16))
    header = [f"pixel_{r}_{c}" for r in range(4) for c in range(4)] + ["label"]
    lines = [",".join(header)] + [",".join(f"{v:.4f}" for v in row) + f",k{t}"
                                  for row, t in zip(X, y, strict=True)]
    path = folder / "pixels.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


MLP_STUDY = """
[study]
name = "pixels"
strategy = "random"
n_trials = 4
n_jobs = 1
seed = 0
storage = "{storage}"

[objective]
kind = "mlp"
dataset = "{dataset}"

[objective.fixed]
epochs = 3
batch_size = 32
hidden_size = 16

[space]
learning_rate = {{ type = "float", low = 1e-3, high = 1e-1, log = true }}
optimizer = {{ type = "categorical", choices = ["adam", "momentum"] }}
"""


@pytest.mark.slow
def test_network_study_report_through_the_cli(tmp_path):
    study_file = tmp_path / "pixels.toml"
    study_file.write_text(MLP_STUDY.format(storage=tmp_path / "runs",
                                           dataset=pixel_csv(tmp_path)))
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(study_file)]).exit_code == 0
    run_dir = tmp_path / "runs" / "pixels"
    out = tmp_path / "report"
    result = runner.invoke(app, ["report", str(run_dir), "-o", str(out), "--top", "2"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out / 'report.html'} (7 figures" in result.output
    assert "left out ensembles" in result.output
    figures = sorted(p.name for p in out.glob("*.png"))
    assert figures == ["first_layer_weights.png", "history.png", "importance.png",
                       "learning_curves.png", "parallel_coordinates.png", "parameters.png",
                       "update_ratios.png"]
    for name in figures:
        check_png(out / name)
    parser = check_self_contained(out / "report.html", 7)
    assert tuple(parser.ids) == SECTIONS
    if shutil.which("chromium"):
        dom, console = render(out / "report.html")
        assert 'data-render="ok"' in dom and not console, console


def test_cli_report_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["report", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "no such run folder" in result.stderr


# ----------------------------------------------------------------------------- Chromium
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium; "
                             "locally: apt-get install chromium)")


def render(page: Path) -> tuple[str, list[str]]:
    """Load `page` in headless Chromium: (the DOM after load, the console's lines)."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
             "--enable-logging=stderr", "--v=0", "--dump-dom", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


@needs_chromium
def test_page_renders_in_headless_chromium(flaky_report):
    _, report = flaky_report
    dom, console = render(report.html)
    assert 'data-render="ok"' in dom, dom[:500]
    assert console == []
    assert dom.count("<img ") == len(report.figures)
    assert 'id="importance"' in dom


@needs_chromium
def test_chromium_check_catches_a_broken_page(flaky_report, tmp_path):
    _, report = flaky_report
    text = report.html.read_text()
    broken = tmp_path / "broken.html"
    broken.write_text(text.replace(
        "</body>", '<img src="data:image/png;base64,AAAA" alt="bad">'
                   '<img src="https://example.invalid/x.png" alt="remote">'
                   "<script>notAFunction();</script></body>"))
    dom, console = render(broken)
    assert 'data-render="error"' in dom
    assert "notAFunction" in dom and "image bad did not decode" in dom
    assert any("Content Security Policy" in line for line in console)
    assert any("notAFunction" in line for line in console)
