"""The Typer application every command module registers on (kept apart to avoid an
import cycle between the package and its command modules).

Help screens are plain: a flag shows no `<bool>` placeholder, an argument shows as its name in
capitals (`STUDY_FILE`, not `{study_file}`), and shell completion is on
(`hpsearch --install-completion`)."""

from __future__ import annotations

import re
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

_BRACED = re.compile(r"^\{(.*)\}(\.\.\.)?$")


class _PlainHelp:
    """Metavars for help screens: none for flags and counts, NAME for arguments."""

    def get_params(self, ctx: Any) -> list:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if param.metavar is not None:
                continue
            if getattr(param, "is_flag", False) or getattr(param, "count", False):
                param.metavar = ""
            elif param.param_type_name == "argument":
                param.metavar = param.name.upper()
        return params

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)  # type: ignore[misc]
        return [_BRACED.sub(r"\1\2", piece) for piece in pieces]


class PlainCommand(_PlainHelp, TyperCommand):
    """A command whose help has no placeholder artefacts."""


class PlainGroup(_PlainHelp, TyperGroup):
    """The root group, with the same help."""


class App(typer.Typer):
    """`typer.Typer` whose commands are `PlainCommand`s unless told otherwise."""

    def command(self, *args: Any, **kwargs: Any):  # noqa: D102 - typer.Typer.command
        kwargs.setdefault("cls", PlainCommand)
        return super().command(*args, **kwargs)


app = App(
    name="hpsearch",
    cls=PlainGroup,
    help="Hyperparameter search for neural networks.\n\nExample: hpsearch run "
         "studies/digits_mlp.toml, then hpsearch results runs/digits_mlp",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
