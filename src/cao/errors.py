"""The one exception hierarchy of cao.

    CaoError                      base; ``str(err)`` is a one-line message for a person
    ├── InvalidInput              a name, id, path, key, env pair or size is not acceptable (400)
    │   ├── InvalidProfile        a profile file is malformed; the message names the field
    │   └── InvalidTeam           a team file is malformed; the message names the key, its line and the fix
    ├── NotFound                  a session, terminal or profile does not exist (404)
    │   └── ProfileNotFound       lists the installed profiles
    ├── Unauthorized              no valid credential: the owner's token is missing or wrong (401)
    ├── PermissionDenied          the caller may not do this (403): e.g. speak as someone else
    ├── Conflict                  the request collides with current state (409)
    ├── TmuxError                 tmux is missing, too old, or a tmux command failed
    ├── ProviderUnavailable       the provider's binary is not installed; names the package
    ├── AgentTimeout              an agent did not reach the expected state in time (504)
    └── ServerUnavailable         cao-server is not running and cannot be started (CLI only)

Errors are converted only at the edges: the CLI prints ``Error: <message>`` and exits 1,
the API answers ``{"detail": <message>}`` with ``http_status``.
"""

from __future__ import annotations


class CaoError(Exception):
    http_status = 500


class InvalidInput(CaoError):
    http_status = 400


class InvalidProfile(InvalidInput):
    pass


class InvalidTeam(InvalidInput):
    pass


class NotFound(CaoError):
    http_status = 404


class ProfileNotFound(NotFound):
    pass


class Unauthorized(CaoError):
    http_status = 401


class PermissionDenied(CaoError):
    http_status = 403


class Conflict(CaoError):
    http_status = 409


class TmuxError(CaoError):
    http_status = 500


class ProviderUnavailable(CaoError):
    http_status = 400


class AgentTimeout(CaoError):
    http_status = 504


class ServerUnavailable(CaoError):
    pass
