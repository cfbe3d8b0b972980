"""The HTTP API in one table: `ROUTES`, from which the server's URL map and `/openapi.json`
are both made, so the schema cannot drift from what is served.

Contract: each `Route` has an HTTP method, an OpenAPI path (`{name}` for the study name), the
`ServiceApi` method that answers it, a summary, the request body's fields (POST: name ->
(JSON type, description, required)) and what it returns. `openapi()` is the OpenAPI 3.0.3
document (bearer security on every operation); `url_pattern(path)` the Tornado regex of a path.
Every POST body is a JSON object (`Content-Type: application/json`); every answer is JSON
except the Parquet download; errors are `{"error": message, "key": field or null,
"status": code}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ROUTES", "Route", "openapi", "url_pattern"]

_LEASED = {"number": ("integer", "the trial's number", True),
           "lease": ("string", "the lease id `ask` returned with the trial", True)}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: str
    summary: str
    body: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    returns: str = "application/json"


ROUTES: tuple[Route, ...] = (
    Route("GET", "/openapi.json", "openapi", "This document (OpenAPI 3)."),
    Route("GET", "/api/studies", "list_studies", "The served studies and their status."),
    Route("POST", "/api/studies", "create_study",
          "Create a study, or open the one of that name (the same document). The body is a "
          "study file's tables as JSON: study (name, strategy, direction, metric, seed, "
          "n_trials as the budget, enqueue), space, strategy_options, pruner, objective; "
          "checked as study files are, errors naming the key.",
          {"study": ("object", "[study]: name (required), strategy, direction, ...", True),
           "space": ("object", "[space]: {name: {type, low, high, ...}}", True),
           "strategy_options": ("object", "[strategy_options]", False),
           "pruner": ("object", "[pruner]: kind and its options", False),
           "objective": ("object", "[objective]: what workers run (kind mlp or python)",
                         False)}),
    Route("GET", "/api/studies/{name}", "get_study",
          "The study's status: budget, counts by state, leases, best trial, its document."),
    Route("POST", "/api/studies/{name}/ask", "ask",
          "Lease up to n trials (number, params, seed, lease). An empty list with done=false: "
          "the budget is all leased, ask again later; done=true: the study is finished.",
          {"n": ("integer", "how many trials (default 1, at most 1000)", False),
           "worker": ("string", "who asks (shown in logs)", False),
           "until": ("integer", "lease only while the study holds fewer finished and leased "
                                "trials than this (the caller's own budget)", False),
           "request_id": ("string", "repeat it when retrying: the same trials come back",
                          False)}),
    Route("POST", "/api/studies/{name}/tell", "tell",
          "Finish a leased trial: value (or values), state, error, metrics, intermediate, "
          "artifacts. Repeating a recorded tell returns the record; an expired lease is 409.",
          {**_LEASED,
           "value": ("number", "the objective's value", False),
           "values": ("array", "one value per objective (multi-objective studies)", False),
           "state": ("string", "complete (default with a value), pruned or failed", False),
           "error": ("string", "why it failed", False),
           "metrics": ("object", "{name: number}", False),
           "intermediate": ("object", "{step: value} reported during the trial", False),
           "artifacts": ("object", "{name: {npy: base64 of a .npy file}}", False),
           "started_at": ("number", "epoch seconds", False),
           "finished_at": ("number", "epoch seconds", False),
           "request_id": ("string", "an id for this request (retries are safe anyway)",
                          False)}),
    Route("POST", "/api/studies/{name}/report", "report",
          "Report an intermediate value; returns the pruner's decision (prune) and whether "
          "the study is done (stop). Renews the lease.",
          {**_LEASED, "step": ("integer", "the step (e.g. the epoch)", True),
           "value": ("number", "the value at that step", True)}),
    Route("POST", "/api/studies/{name}/heartbeat", "heartbeat",
          "Renew a trial's lease (send one every lease_seconds / 4).", dict(_LEASED)),
    Route("GET", "/api/studies/{name}/trials", "trials", "Every trial, by number (JSON)."),
    Route("GET", "/api/studies/{name}/trials.parquet", "trials_parquet",
          "The trials table as Parquet (the columns of hp.Study.results()).",
          returns="application/vnd.apache.parquet"),
    Route("GET", "/api/studies/{name}/best", "best",
          "The best trial (one objective) or the Pareto front (best_trials)."),
)


def url_pattern(path: str) -> str:
    return "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"


def _operation(route: Route) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.handler, "summary": route.summary,
        "responses": {
            "200": {"description": "OK", "content": {route.returns: {"schema": {
                "type": "string", "format": "binary"} if route.returns != "application/json"
                else {"type": "object"}}}},
            "default": {"description": "An error", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}},
        },
    }
    if "{name}" in route.path:
        operation["parameters"] = [{"name": "name", "in": "path", "required": True,
                                    "schema": {"type": "string"},
                                    "description": "The study's name (its run folder)."}]
    if route.method == "POST":
        properties = {key: {"type": kind, "description": text}
                      for key, (kind, text, _) in route.body.items()}
        required = [key for key, (_, _, needed) in route.body.items() if needed]
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        operation["requestBody"] = {"required": bool(required), "content": {
            "application/json": {"schema": schema}}}
    return operation


def openapi(version: str = "0.1.0") -> dict[str, Any]:
    """The OpenAPI 3.0.3 document of `ROUTES`."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {"title": "hpsearch serve", "version": version,
                 "description": "Ask/tell over HTTP for hpsearch studies, with leases."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "properties": {
                "error": {"type": "string"}, "key": {"type": "string", "nullable": True},
                "status": {"type": "integer"}}, "required": ["error", "status"]}},
        },
        "security": [{"bearer": []}],
    }
