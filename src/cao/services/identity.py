"""Who is calling: the owner (the API token) or one terminal (its own MCP capability token).

The owner's token lives in ``$CAO_HOME/run/api-token`` (0600), made at the server's first start and
read by the CLI. Each terminal gets a secret token when it is created; only its own CLI's MCP
configuration holds it, and cao-server knows the caller from it — never from an id in a request.
A one-time login code turns into an HttpOnly cookie for the browser (as Jupyter does it).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cao.private_files import write_private

USER = "user"  # how the owner appears as a sender
LOGIN_CODE_TTL_S = 120.0
COOKIE_NAME = "cao_token"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the owner, or the terminal whose token was presented."""

    terminal_id: str | None = None

    @property
    def is_owner(self) -> bool:
        return self.terminal_id is None

    @property
    def sender_id(self) -> str:
        return self.terminal_id or USER


OWNER = Principal()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def load_or_create_api_token(path: Path) -> str:
    """The owner's token from ``path``; made (0600) at the first start."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = ""
    if len(token) < 32:
        token = new_token()
        write_private(path, token + "\n")
    else:
        os.chmod(path, 0o600)
    return token


class Identities:
    """The server's view of every credential; lookups are constant-time in the token's value."""

    def __init__(self, api_token: str | None) -> None:
        self._api_digest = _digest(api_token) if api_token else None
        self._terminals: dict[bytes, str] = {}
        self._login_codes: dict[bytes, float] = {}
        self.on_revoked: list[Callable[[Principal], None]] = []  # e.g. end the terminal's MCP sessions

    @property
    def auth_enabled(self) -> bool:
        return self._api_digest is not None

    def add_terminal(self, terminal_id: str, token: str) -> None:
        self._terminals[_digest(token)] = terminal_id

    def remove_terminal(self, terminal_id: str) -> None:
        for digest in [d for d, tid in self._terminals.items() if tid == terminal_id]:
            del self._terminals[digest]
        for listener in self.on_revoked:
            listener(Principal(terminal_id))

    def resolve(self, token: str | None) -> Principal | None:
        if not token:
            return None
        digest = _digest(token)
        if self._api_digest is not None and hmac.compare_digest(digest, self._api_digest):
            return OWNER
        terminal_id = self._terminals.get(digest)  # a dict of digests: the token itself is never compared
        return Principal(terminal_id) if terminal_id else None

    def new_login_code(self) -> str:
        now = time.monotonic()
        self._login_codes = {d: t for d, t in self._login_codes.items() if t > now}
        code = secrets.token_urlsafe(24)
        self._login_codes[_digest(code)] = now + LOGIN_CODE_TTL_S
        return code

    def redeem_login_code(self, code: str) -> bool:
        expires = self._login_codes.pop(_digest(code), None)
        return expires is not None and expires > time.monotonic()
