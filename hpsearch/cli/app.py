"""The Typer application every command module registers on (kept apart to avoid an
import cycle between the package and its command modules)."""

import typer

app = typer.Typer(
    name="hpsearch",
    help="Hyperparameter search for neural networks.\n\nExample: hpsearch run "
         "studies/digits_mlp.toml, then hpsearch results runs/digits_mlp",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
