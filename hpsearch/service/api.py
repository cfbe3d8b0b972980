"""What each route of `hpsearch.service.routes.ROUTES` does, apart from HTTP.

Contract: `ServiceApi(registry)` has one method per route's `handler`, called with the path's
study name (when the route has one) and the checked JSON body (`wire.Body`; empty for GET).
Each returns a JSON-ready dict, or bytes for the Parquet download; a refusal raises an
`HpsearchError` that the server turns into a JSON error with a status (`status_of`).
"""

from __future__ import annotations

from typing import Any

from hpsearch.exceptions import (
    HpsearchError,
    ServiceError,
    StorageError,
    StudyError,
    StudyFileError,
    StudyLockedError,
    StudyMismatchError,
)
from hpsearch.service.registry import Registry
from hpsearch.service.routes import openapi
from hpsearch.service.wire import Body

__all__ = ["MAX_ASK", "ServiceApi", "status_of"]

MAX_ASK = 1000


def status_of(err: HpsearchError) -> tuple[int, str | None]:
    """The HTTP status and the key at fault for a refusal."""
    if isinstance(err, ServiceError):
        return err.status or 400, err.key
    if isinstance(err, StudyFileError):  # "<source>: [section].key: ..." names the key
        parts = str(err).split(": ")
        return 400, next((p for p in parts if p.startswith("[")), None)
    if isinstance(err, StudyLockedError | StudyMismatchError):
        return 409, None
    if isinstance(err, StorageError):
        return 503, None
    if isinstance(err, StudyError):
        return 400, None
    return 400, None


class ServiceApi:
    """The routes' answers (see the module docstring)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def openapi(self, body: Body) -> dict[str, Any]:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return openapi(version("hpsearch"))
        except PackageNotFoundError:
            return openapi()

    def list_studies(self, body: Body) -> dict[str, Any]:
        studies = []
        for name in self.registry.names():
            status = self.registry.get(name).status()
            status.pop("study")
            studies.append(status)
        return {"studies": studies}

    def create_study(self, body: Body) -> dict[str, Any]:
        hosted, created = self.registry.create(dict(body.data))
        return {**hosted.status(), "created": created}

    def get_study(self, name: str, body: Body) -> dict[str, Any]:
        return self.registry.get(name).status()

    def ask(self, name: str, body: Body) -> dict[str, Any]:
        hosted = self.registry.get(name)
        n = body.get("n", "int", default=1, low=1)
        if n > MAX_ASK:
            raise ServiceError(f"n: at most {MAX_ASK} trials an ask, got {n}", 400, "n")
        return hosted.ask(n, body.get("worker", "str", default="?")[:200],
                          body.get("request_id", "str"), body.get("until", "int", low=0))

    def tell(self, name: str, body: Body) -> dict[str, Any]:
        return self.registry.get(name).tell(body)

    def report(self, name: str, body: Body) -> dict[str, Any]:
        hosted = self.registry.get(name)
        return hosted.report(body.get("number", "int", required=True),
                             body.get("lease", "str", required=True),
                             body.get("step", "int", required=True),
                             float(body.get("value", "number", required=True)))

    def heartbeat(self, name: str, body: Body) -> dict[str, Any]:
        return self.registry.get(name).heartbeat(body.get("number", "int", required=True),
                                                 body.get("lease", "str", required=True))

    def trials(self, name: str, body: Body) -> dict[str, Any]:
        return {"trials": self.registry.get(name).trials()}

    def trials_parquet(self, name: str, body: Body) -> bytes:
        return self.registry.get(name).parquet()

    def best(self, name: str, body: Body) -> dict[str, Any]:
        return self.registry.get(name).best()
