"""Who may talk to the service: the bearer token, and where the service may listen.

Contract:
- `read_token(path)`: the token in a file (surrounding whitespace stripped); a missing or
  unreadable file, an empty one, or a token under `MIN_TOKEN_CHARS` characters raises
  `ServiceError` naming the file. `new_token()` is a fresh one (what the docs suggest:
  `python -c "import secrets; print(secrets.token_urlsafe(32))" > token`).
- `authorized(header, token)`: whether an `Authorization` header is `Bearer <token>`,
  compared with `hmac.compare_digest` (constant time); with no token configured every request
  passes.
- `is_loopback(host)`: 127.0.0.0/8, ::1 and "localhost". `check_bind(host, token)` refuses
  (ServiceError) to listen on any other address without a token.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets

from hpsearch.exceptions import ServiceError

__all__ = ["MIN_TOKEN_CHARS", "authorized", "check_bind", "is_loopback", "new_token",
           "read_token"]

MIN_TOKEN_CHARS = 16


def new_token() -> str:
    return secrets.token_urlsafe(32)


def read_token(path: str | os.PathLike) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            token = handle.read(4096).strip()
    except (OSError, UnicodeDecodeError) as err:
        raise ServiceError(f"--token-file {path}: cannot read it ({err})", 0,
                           "--token-file") from err
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise ServiceError(f"--token-file {path}: expected one token of at least "
                           f"{MIN_TOKEN_CHARS} characters without spaces, e.g. from "
                           "python -c 'import secrets; print(secrets.token_urlsafe(32))'", 0,
                           "--token-file")
    return token


def authorized(header: str | None, token: str | None) -> bool:
    """See the module docstring."""
    if token is None:
        return True
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    if token is None and not is_loopback(host):
        raise ServiceError(f"--host {host}: not a loopback address; a service reachable from "
                           "other machines needs --token-file (every request then carries "
                           "'Authorization: Bearer <token>')", 0, "--host")

