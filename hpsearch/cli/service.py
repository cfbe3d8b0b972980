"""Commands of the search service: `serve` (the HTTP service) and `worker` (runs its trials)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hpsearch.cli.app import app
from hpsearch.cli.common import error, user_errors
from hpsearch.cli.signals import TERMINATED_EXIT_CODE, Terminated, sigterm_interrupts


@app.command()
@user_errors
def serve(
    storage: Annotated[Path, typer.Argument(help="The storage folder: each served study is a run folder in it.")],
    host: Annotated[str, typer.Option("--host", help="The address to listen on; anything but loopback needs --token-file.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="The port (0: any free port).")] = 8787,
    token_file: Annotated[Path | None, typer.Option("--token-file", help="A file holding the bearer token every request must carry.")] = None,
    certfile: Annotated[Path | None, typer.Option("--certfile", help="TLS certificate (PEM): serve https.")] = None,
    keyfile: Annotated[Path | None, typer.Option("--keyfile", help="TLS private key (PEM), when not inside --certfile.")] = None,
    lease_seconds: Annotated[float, typer.Option("--lease-seconds", min=0.01, help="A trial whose worker sends no heartbeat or report for this long becomes interrupted and is asked again.")] = 60.0,
    max_body_mb: Annotated[float, typer.Option("--max-body-mb", min=0.001, help="The largest request body accepted (artifacts travel in tells).")] = 32.0,
    dashboard: Annotated[bool, typer.Option("--dashboard", help="Also serve the read-only dashboard of STORAGE from this process (on 127.0.0.1).")] = False,
    dashboard_port: Annotated[int, typer.Option("--dashboard-port", min=0, max=65535, help="The dashboard's port on 127.0.0.1.")] = 8765,
) -> None:
    """Serve the studies under STORAGE over HTTP/JSON: workers anywhere ask for trials and tell results.

    The service is the only writer of its run folders. The API is described at /openapi.json.

    Example: hpsearch serve runs --host 0.0.0.0 --token-file token
    """
    from hpsearch.service.auth import read_token
    from hpsearch.service.server import ServiceServer

    token = None if token_file is None else read_token(token_file)
    try:
        server = ServiceServer(storage, host, port, token,
                               None if certfile is None else str(certfile),
                               None if keyfile is None else str(keyfile),
                               lease_seconds=lease_seconds,
                               max_body_bytes=int(max_body_mb * 2**20),
                               dashboard_port=dashboard_port if dashboard else None)
    except OSError as err:
        raise error(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    served = ", ".join(server.registry.names()) or "none yet"
    typer.echo(f"hpsearch serve: {server.url} (studies: {served}; lease {lease_seconds:g} s; "
               f"{'token required' if token else 'no token: loopback only'}); Ctrl-C stops it",
               err=True)
    if server.dashboard is not None:
        typer.echo(f"hpsearch serve: dashboard at {server.dashboard.url}", err=True)
    try:
        with sigterm_interrupts():
            server.serve_forever()
    except Terminated:
        raise typer.Exit(TERMINATED_EXIT_CODE) from None
    except KeyboardInterrupt:
        pass


@app.command()
@user_errors
def worker(
    url: Annotated[str, typer.Argument(help="The service, e.g. http://HOST:8787.")],
    study: Annotated[str, typer.Option("--study", help="The served study's name.")],
    objective: Annotated[str | None, typer.Option("--objective", help="FILE.py:function or module:function (default: the study's own objective, e.g. the built-in network).")] = None,
    n_trials: Annotated[int | None, typer.Option("--n-trials", min=1, help="Stop after this many trials ran here (default: until the study is done).")] = None,
    token_file: Annotated[Path | None, typer.Option("--token-file", help="A file holding the service's token (or set HPSEARCH_TOKEN).")] = None,
    workdir: Annotated[Path, typer.Option("--workdir", help="Where the built-in network's data split is kept.")] = Path(".hpsearch-worker"),
    cafile: Annotated[Path | None, typer.Option("--cafile", help="The CA certificate (PEM) to trust for an https service with a self-signed certificate.")] = None,
) -> None:
    """Run trials of a served study here until it is done (or --n-trials ran); start as many as you like, anywhere.

    Example: hpsearch worker http://HOST:8787 --study branin --objective branin_objective.py:branin
    """
    from hpsearch.service.auth import read_token
    from hpsearch.service.client import connect
    from hpsearch.service.worker import run_worker

    token = None if token_file is None else read_token(token_file)
    try:
        with sigterm_interrupts():
            client = connect(url, token, cafile=None if cafile is None else str(cafile))
            ran = run_worker(client, study, objective, n_trials, workdir)
    except Terminated:
        raise typer.Exit(TERMINATED_EXIT_CODE) from None
    typer.echo(f"hpsearch worker: {ran} trial(s) of {study!r} ran here")
