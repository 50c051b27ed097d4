"""Secrets never reach cao-server's log: one filter on every handler masks each record's message and
traceback with cao's one masker (``cao/secrets.py``), whatever logged it (cao, uvicorn, a library).

A message is formatted here once (``%`` arguments in), so a token passed as an argument is masked too.
"""

from __future__ import annotations

import logging

from cao import secrets

LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")  # the ones with handlers of their own


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = secrets.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = secrets.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = secrets.mask(record.stack_info)
        return True


def install() -> None:
    """Add the filter to every handler of cao-server's loggers (after uvicorn configured its own)."""
    for name in LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())
