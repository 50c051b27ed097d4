"""cao-webhook: post chosen cao-server events as JSON to a URL — generic JSON, Slack or Discord.

Configured from cao-server's environment:

- ``CAO_WEBHOOK_URL`` (required): where to POST; http(s) only. It is a secret for Slack and Discord,
  so it is never logged: errors name only its host.
- ``CAO_WEBHOOK_EVENTS``: comma list of event kinds, ``*`` patterns allowed (``message.*``). Default:
  sessions and terminals coming and going, failed messages, finished handoffs/assigns/flow runs,
  and ``terminal.status`` changes to the statuses below.
- ``CAO_WEBHOOK_STATUSES``: which ``terminal.status`` changes to post (default
  ``waiting_user_answer,error``: an agent needs you); ``*`` for all.
- ``CAO_WEBHOOK_FORMAT``: ``json``, ``slack`` or ``discord``; default chosen from the URL's host.
- ``CAO_WEBHOOK_TIMEOUT``: seconds per POST (default 5).
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import os
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from cao.plugins import KINDS, CaoPlugin, Event, PluginContext

__all__ = ["WebhookPlugin", "payload", "summary"]

DEFAULT_EVENTS = ("session.*,terminal.created,terminal.removed,terminal.status,message.failed,"
                  "handoff.finished,assign.finished,flow.run.finished")
DEFAULT_STATUSES = "waiting_user_answer,error"
DISCORD_LIMIT = 2000


def _kinds(spec: str) -> frozenset[str]:
    kinds: set[str] = set()
    for pattern in (part.strip() for part in spec.split(",") if part.strip()):
        matched = fnmatch.filter(KINDS, pattern)
        if not matched:
            raise ValueError(f"CAO_WEBHOOK_EVENTS: {pattern!r} matches no event kind; "
                             f"kinds: {', '.join(sorted(KINDS))}")
        kinds.update(matched)
    if not kinds:
        raise ValueError("CAO_WEBHOOK_EVENTS names no event kind")
    return frozenset(kinds)


def _format_for(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    if host == "hooks.slack.com":
        return "slack"
    if host in ("discord.com", "discordapp.com") or host.endswith(".discord.com"):
        return "discord"
    return "json"


def summary(event: Event, session: str | None = None) -> str:
    """One line a person reads in a chat channel."""
    d = event.data
    where = f" in {session}" if session else ""
    terminal = d.get("terminal_id", "?")
    if event.kind == "session.created":
        text = f"session {d.get('session')} started" + (f" in {d['working_directory']}" if d.get("working_directory")
                                                         else "")
    elif event.kind == "session.removed":
        text = f"session {d.get('session')} ended"
    elif event.kind == "terminal.created":
        text = f"terminal {terminal} ({d.get('profile')}, {d.get('provider')}) joined {d.get('session')}"
    elif event.kind == "terminal.removed":
        text = f"terminal {terminal} left {d.get('session')}" + (f": {d['reason']}" if d.get("reason") else "")
    elif event.kind == "terminal.status":
        text = f"terminal {terminal}{where} is {d.get('status')} (was {d.get('previous')})"
    elif event.kind.startswith("message."):
        text = (f"message {d.get('message_id')} from {d.get('sender_id')} to {d.get('receiver_id')} "
                f"{event.kind.split('.', 1)[1]}" + (f": {d['error']}" if d.get("error") else ""))
    elif event.kind.startswith(("handoff.", "assign.")):
        action, phase = event.kind.split(".", 1)
        text = f"{action} from {d.get('caller_id')} to {terminal} ({d.get('profile')}){where} {phase}"
        if d.get("error"):
            text += f": {d['error']}"
    elif event.kind == "flow.run.finished":
        text = f"flow {d.get('flow')} run {d.get('run_id')}: {d.get('outcome')}" + (
            f" ({d['error']})" if d.get("error") else "")
    else:
        text = f"{event.kind} {json.dumps(d, default=str)}"
    return f"[cao] {text}"


def payload(event: Event, fmt: str, session: str | None = None) -> dict[str, Any]:
    """The JSON body for ``fmt``: generic (everything), Slack (``text``) or Discord (``content``)."""
    text = summary(event, session)
    if fmt == "slack":
        return {"text": text}
    if fmt == "discord":  # no pings from text an agent wrote
        return {"content": text[:DISCORD_LIMIT], "username": "cao", "allowed_mentions": {"parse": []}}
    return {"source": "cao", "id": event.id, "kind": event.kind, "time": event.time, "session": session,
            "data": event.data, "text": text}


class WebhookPlugin(CaoPlugin):
    """Posts each chosen event, in order, one POST at a time (on this plugin's own thread)."""

    def __init__(self) -> None:
        self.url = os.environ.get("CAO_WEBHOOK_URL", "").strip()
        self.kinds = _kinds(os.environ.get("CAO_WEBHOOK_EVENTS") or DEFAULT_EVENTS)
        statuses = os.environ.get("CAO_WEBHOOK_STATUSES") or DEFAULT_STATUSES
        self.statuses = None if statuses.strip() == "*" else {s.strip() for s in statuses.split(",") if s.strip()}
        self.format = (os.environ.get("CAO_WEBHOOK_FORMAT") or _format_for(self.url)).strip().lower()
        self.post_timeout = float(os.environ.get("CAO_WEBHOOK_TIMEOUT") or 5)
        self.timeout = self.post_timeout + 1
        self.host = urlsplit(self.url).hostname or "?"

    async def setup(self, context: PluginContext) -> None:
        await super().setup(context)
        if not self.url:
            raise ValueError("CAO_WEBHOOK_URL is not set: give cao-server the URL to post events to")
        if urlsplit(self.url).scheme not in ("http", "https"):
            raise ValueError("CAO_WEBHOOK_URL must be an http:// or https:// URL")
        if self.format not in ("json", "slack", "discord"):
            raise ValueError(f"CAO_WEBHOOK_FORMAT={self.format!r}: use json, slack or discord")
        context.log.info("posting %s to %s as %s", ", ".join(sorted(self.kinds)), self.host, self.format)

    async def on_event(self, event: Event) -> None:
        if event.kind == "terminal.status" and self.statuses is not None \
                and event.data.get("status") not in self.statuses:
            return
        body = json.dumps(payload(event, self.format, self.context.session_of(event)), default=str).encode()
        await asyncio.to_thread(self._post, body)

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "cao-webhook/0.1"})
        try:
            with urllib.request.urlopen(request, timeout=self.post_timeout) as response:
                response.read(1024)
        except urllib.error.HTTPError as exc:  # the URL (a secret) stays out of the message
            raise RuntimeError(f"{self.host} answered HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RuntimeError(f"could not post to {self.host}: {reason}") from None
