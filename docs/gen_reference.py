"""Pages generated at build time (mkdocs-gen-files runs this on every `mkdocs build`).

- `reference/cli.md`: the command-line reference, by walking the Click command tree that Typer
  builds from `hpsearch.cli.app` (every command, its usage, arguments and options with their
  help and defaults), so the page is the `--help` screens and cannot drift from them.
- `reference/study-file.md`: every key a study file accepts, section by section, read from the
  code: the `[study]` and `[objective]` keys are the fields of `StudySpec` and `ObjectiveSpec`
  (with their defaults), `[strategy_options]` each strategy's keyword parameters, `[pruner]`
  `PRUNER_OPTIONS`, a `[space]` entry the keywords of `Float`/`Int`/`Categorical`, and the
  network's hyperparameters `nn_core.keyword_table()` plus the objective's own names.

The one-line meanings of the `[study]` and `[objective]` keys are kept here (the code has no
per-key text); the build fails when a key has no meaning here or a meaning names a key the code
no longer has, so the two cannot drift apart silently.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import tempfile
from pathlib import Path
from typing import Any

import click
import mkdocs_gen_files
import typer

STUDY_MEANINGS = {
    "name": "The study's name; the run folder is `<storage>/<name>`. Default: the file's stem.",
    "strategy": "How configurations are proposed (see `[strategy_options]` below).",
    "n_trials": "Finished trials (complete + pruned + failed) in all runs together.",
    "n_jobs": "Trials at once: worker processes (1 runs in-process; -1 every core), or trials "
              "in flight on Dask.",
    "seed": "The study seed: the data split, the strategy, every trial's seed.",
    "direction": "`minimize` or `maximize` (a list, one per metric, for several objectives). "
                 "Default: minimize for metrics ending in loss/error/_ms/_s, `n_params` and "
                 "`value`, else maximize.",
    "metric": "The metric to optimise (a list for several objectives). Default `val_accuracy` "
              "(regression `val_loss`; `value` for a Python objective's return value).",
    "storage": "Parent folder of the run folder, relative to the working directory.",
    "timeout": "Seconds after which no new trial starts.",
    "trial_timeout": "Fail a trial still running after this many seconds.",
    "max_memory_mb": "Fail a trial that maps this much more memory than its worker had.",
    "backend": "`local` (joblib/loky processes) or `dask`.",
    "scheduler": "The Dask scheduler's address (`tcp://HOST:8786`), with `backend = \"dask\"`.",
    "max_consecutive_failures": "Stop after this many failed trials in a row.",
    "stop_after_no_improvement": "Stop after this many finished trials without a new best.",
    "enqueue": "`[[study.enqueue]]` tables: configurations tried first, in order (partial ones "
               "are completed by the strategy); skipped when a trial already has them.",
    "warm_start": "Earlier run folders whose finished trials are told to the strategy first.",
}
OBJECTIVE_MEANINGS = {
    "kind": "`mlp` (the built-in nn_core network) or `python`.",
    "task": "`classification`, `regression` or `multilabel`.",
    "dataset": "`digits`, `spiral`, or a CSV or NPZ path (relative to the study file).",
    "target": "The CSV's label column (default: the last column).",
    "val_fraction": "Validation share; the metric is computed on it.",
    "test_fraction": "Test share (reported, never used for choosing); 0 = none.",
    "entry": "`kind = \"python\"`: `\"file.py:function\"` (beside the study file) or "
             "`\"module:function\"`.",
    "fixed": "The `[objective.fixed]` table: hyperparameters held constant.",
    "repeats": "Train each trial under N seeds; metrics are the members' mean.",
    "checkpoint_epochs": "Epochs at which the first member of each trial is saved (snapshot "
                         "ensembles).",
    "impute": "`\"mean\"`: fill missing feature cells with the training rows' column mean "
              "(default: refuse them).",
}
# StudySpec fields that are not keys of [study]: the file itself and the other sections.
NOT_STUDY_KEYS = {"path", "space", "objective", "strategy_options", "pruner"}


def _text(text: Any) -> str:
    """Help text as Markdown: Rich's escapes undone, angle brackets kept as text."""
    return str(text).replace("\\[", "[").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: Any) -> str:
    return _text(text).replace("|", "\\|").replace("\n", " ")


def _default(value: Any) -> str:
    if value is inspect.Parameter.empty or value is dataclasses.MISSING:
        return "required"
    return f"`{value!r}`"


def _field_default(field: dataclasses.Field) -> str:
    if field.default_factory is not dataclasses.MISSING:
        return f"`{field.default_factory()!r}`"
    return _default(field.default)


def _file_defaults() -> dict[str, str]:
    """What the reader fills in for each `[study]` key a file leaves out: a minimal study file
    (the two required keys and one searched hyperparameter) read by `load_study_file`."""
    from hpsearch.studyfile.reader import load_study_file

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "minimal.toml")
        path.write_text('[study]\nstrategy = "random"\nn_trials = 1\n[space]\n'
                        'learning_rate = { type = "float", low = 1e-4, high = 1e-1 }\n')
        spec = load_study_file(path)
    shown = {key: f"`{value!r}`" for key, value in vars(spec).items()}
    shown.update(name="the file's stem", strategy="required", n_trials="required",
                 storage=f"`{str(spec.storage)!r}`")
    return shown


def _keys_table(fields: list[dataclasses.Field], meanings: dict[str, str], where: str,
                defaults: dict[str, str] | None = None) -> str:
    names = {field.name for field in fields}
    missing, stale = names - set(meanings), set(meanings) - names
    if missing or stale:
        raise SystemExit(f"docs/gen_reference.py: {where}: keys without a meaning "
                         f"{sorted(missing)}, meanings of keys the code does not have "
                         f"{sorted(stale)}")
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for field in fields:
        default = defaults[field.name] if defaults else _field_default(field)
        rows.append(f"| `{field.name}` | {default} | {_cell(meanings[field.name])} |")
    return "\n".join(rows)


def _signature_table(cls: Any, skip: tuple[str, ...]) -> str:
    rows = ["| option | default |", "|---|---|"]
    for name, param in inspect.signature(cls).parameters.items():
        if name in skip or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        rows.append(f"| `{name}` | {_default(param.default)} |")
    return "\n".join(rows) if len(rows) > 2 else "No options."


def study_file_page() -> str:
    from hpsearch.objectives.mlp.hyperparameters import HYPERPARAMETERS, SHAPE_HYPERPARAMETERS
    from hpsearch.pruners import PRUNER_OPTIONS
    from hpsearch.space import Categorical, Float, Int
    from hpsearch.strategies import STRATEGY_NAMES, strategy_class
    from hpsearch.studyfile.reader import ObjectiveSpec, StudySpec
    from nn_core import KEYWORDS, keyword_table

    study_fields = [f for f in dataclasses.fields(StudySpec) if f.name not in NOT_STUDY_KEYS]
    parts = [
        "# Study-file keys",
        "Generated from the code at build time (`docs/gen_reference.py`): the keys below are "
        "exactly those the reader accepts; any other key is refused with a did-you-mean. "
        "[Study files](../tutorials/study-files.md) is the tutorial.",
        "## [study]", _keys_table(study_fields, STUDY_MEANINGS, "[study]", _file_defaults()),
        "## [objective]",
        _keys_table(list(dataclasses.fields(ObjectiveSpec)), OBJECTIVE_MEANINGS, "[objective]"),
        "## [strategy_options]",
        f"Keyword options of the strategy named by `[study].strategy` ({', '.join(STRATEGY_NAMES)}"
        "); unknown ones are refused with the list of valid ones. What `gp`'s options do is on "
        "[the Gaussian process](../explanations/gp.md); `tpe`, `nsga2` and `skopt` pass theirs "
        "to Optuna's and scikit-optimize's samplers ([the strategies]"
        "(../explanations/strategies.md)).",
    ]
    for name in STRATEGY_NAMES:
        cls = strategy_class(name)
        parts += [f"### `{name}`", _signature_table(cls, ("space", "rng", "direction"))]
    parts += ["## [pruner]",
              "`kind` is one of " + ", ".join(f"`{kind}`" for kind in PRUNER_OPTIONS) +
              "; each kind takes these keys (type, lowest value):"]
    for kind, options in PRUNER_OPTIONS.items():
        listed = ", ".join(f"`{key}` ({kind_}" + (f", >= {low})" if math.isfinite(low) else ")")
                           for key, (kind_, low) in options.items())
        parts.append(f"- `{kind}`: {listed or 'no keys'}")
    parts.append("They are the keywords of the classes on [Schedulers]"
                 "(../tutorials/schedulers.md) and [Pruning](../tutorials/pruning.md). `pbt`'s "
                 "`perturb` lists the hyperparameters its explore step may change (default: "
                 "every one; with the built-in network, every searched one but those that set "
                 "the network's shapes: " + ", ".join(f"`{name}`" for name in SHAPE_HYPERPARAMETERS)
                 + "). `hyperband`'s `min_rank_correlation` is the Kendall tau a rung's ranking "
                 "must keep with the next level's for the rung to judge (default 0.5; -1: every "
                 "rung judges); `brackets` left out means every bracket with `gp` and `tpe`, one "
                 "with `random` and `grid`. `asha`'s and `median`'s `min_rank_correlation` is the "
                 "Kendall tau the complete trials' values at a rung (step) must keep with their "
                 "final values for it to stop trials, once 10 have both (left out: 0.5 with `gp` "
                 "and `tpe`, off with the other strategies; -1: off).")
    parts += ["## [space]",
              "Each entry is an inline table with `type` (`float`, `int` or `categorical`) and "
              "the keywords of its dimension:"]
    for label, cls in (("float", Float), ("int", Int), ("categorical", Categorical)):
        params = [p for p in inspect.signature(cls).parameters if p != "name"]
        parts.append(f"- `{label}`: " + ", ".join(f"`{p}`" for p in params))
    extra = [name for name in HYPERPARAMETERS if name not in {k.name for k in KEYWORDS}]
    parts += [
        "## The built-in network's hyperparameters",
        "With `kind = \"mlp\"`, `[objective.fixed]` and `[space]` take these names: nn_core's "
        "estimator keywords (all but `seed`, which comes from the trial) plus " +
        ", ".join(f"`{name}`" for name in extra) + " (see `hpsearch.objectives.mlp."
        "hyperparameters`: `hidden_sizes = (hidden_size,) * num_layers`, `hidden_size_2` and "
        "`hidden_size_3` the widths of the second and third layers, `mu` the seed's name for "
        "`momentum`).",
        "### Estimator keywords (`nn_core.keyword_table()`)",
        keyword_table(),
    ]
    return "\n\n".join(parts) + "\n"


def _option_row(param: click.Parameter, ctx: click.Context) -> str:
    record = param.get_help_record(ctx)
    if record is None:
        return ""
    names, help_text = record
    return f"| `{names}` | {_cell(help_text)} |"


def _command_section(command: click.Command, path: str, ctx: click.Context) -> list[str]:
    sub = click.Context(command, info_name=path.rpartition(" ")[2], parent=ctx)
    usage = " ".join(command.collect_usage_pieces(sub))
    help_text = _text(inspect.cleandoc(command.help or "")).replace("\n", "  \n")
    lines = [f"## `{path}`" if path != "hpsearch" else "## `hpsearch` (global options)",
             f"```\n{path} {usage}\n```", help_text]
    rows = [row for param in command.get_params(sub) if (row := _option_row(param, sub))]
    if rows:
        lines.append("\n".join(["| argument or option | meaning |", "|---|---|", *rows]))
    return lines


def cli_page() -> str:
    from hpsearch.cli import app

    root = typer.main.get_command(app)
    ctx = click.Context(root, info_name="hpsearch")
    parts = ["# Command line",
             "Generated at build time from the Typer application (`hpsearch.cli.app`): each "
             "section is a command's `--help`. [First study from the command line]"
             "(../tutorials/cli.md) is the tutorial; exit codes are on [the failure model]"
             "(../explanations/failures.md#exit-codes)."]
    parts += _command_section(root, "hpsearch", ctx)
    for name in root.list_commands(ctx):
        parts += _command_section(root.get_command(ctx, name), f"hpsearch {name}", ctx)
    return "\n\n".join(parts) + "\n"


def write_pages() -> None:
    """Write both pages into the build (mkdocs-gen-files' virtual docs folder)."""
    with mkdocs_gen_files.open("reference/cli.md", "w") as page:
        page.write(cli_page())
    with mkdocs_gen_files.open("reference/study-file.md", "w") as page:
        page.write(study_file_page())


# mkdocs-gen-files runs this file with runpy.run_path (__name__ "<run_path>"); tests import it.
if __name__ in ("<run_path>", "__main__"):
    write_pages()
