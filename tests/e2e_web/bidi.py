"""A tiny WebDriver BiDi client, enough to drive Firefox's built-in Remote Agent from the web tier's tests.

Playwright cannot drive a stock Firefox and geckodriver is not installed here, but Firefox itself speaks
WebDriver BiDi on ``ws://127.0.0.1:PORT/session`` when started with ``--remote-debugging-port``. This
client is synchronous (``websockets.sync``): send a command with an id, read messages until the answer
with that id comes back. Events read on the way are kept in ``events`` (it subscribes to the console's
``log.entryAdded`` only, so a test can assert the page logged no error).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

ENTER = "\ue007"  # WebDriver's key value for Enter


class BiDiError(AssertionError):
    """The browser answered a command with an error, or a script threw."""


class BiDi:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._stack = contextlib.ExitStack()  # websockets ≥ 17.1 wants its sync connect() used as a context
        self._ws = self._stack.enter_context(connect(url, open_timeout=timeout, max_size=64 * 2**20))
        self.send("session.new", capabilities={"alwaysMatch": {"acceptInsecureCerts": False}})
        contexts = self.send("browsingContext.getTree", maxDepth=0)["contexts"]
        self.context = contexts[0]["context"]  # the window's one tab
        self.events: list[dict] = []
        self.send("session.subscribe", events=["log.entryAdded"])

    def send(self, method: str, **params: Any) -> dict:
        command_id = next(self._ids)
        self._ws.send(json.dumps({"id": command_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while True:
            message = json.loads(self._ws.recv(timeout=max(0.0, deadline - time.monotonic())))
            if message.get("type") == "event":
                self.events.append(message)
                continue
            if message.get("type") == "error":
                raise BiDiError(f"{method}: {message.get('error')}: {message.get('message')}")
            return message["result"]

    def navigate(self, url: str) -> None:
        self.send("browsingContext.navigate", context=self.context, url=url, wait="complete")

    def evaluate(self, expression: str) -> Any:
        """The expression's value (awaited if a promise), through JSON: strings, numbers, lists, dicts, None."""
        wrapped = f"(async () => JSON.stringify(await ({expression}) ?? null))()"
        answer = self.send("script.evaluate", expression=wrapped, target={"context": self.context},
                           awaitPromise=True, resultOwnership="none")
        if answer["type"] == "exception":
            details = answer["exceptionDetails"]
            raise BiDiError(f"{expression!r} threw: {details.get('text')}")
        return json.loads(answer["result"]["value"])

    def set_viewport(self, width: int, height: int) -> None:
        self.send("browsingContext.setViewport", context=self.context,
                  viewport={"width": width, "height": height})

    def type(self, text: str) -> None:
        """Real (trusted) key presses into whatever has the focus, as a user's keyboard would."""
        keys = []
        for key in text:
            keys += [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]
        self.send("input.performActions", context=self.context,
                  actions=[{"type": "key", "id": "keyboard", "actions": keys}])
        self.send("input.releaseActions", context=self.context)

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        origin = "document" if full_page else "viewport"
        # Two animation frames first: what the DOM holds now has been painted, not only laid out.
        self.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        data = self.send("browsingContext.captureScreenshot", context=self.context, origin=origin)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def errors(self) -> list[str]:
        """What the page logged as errors (console.error, uncaught exceptions) since the last call."""
        entries = [e["params"] for e in self.events if e.get("method") == "log.entryAdded"]
        self.events = [e for e in self.events if e.get("method") != "log.entryAdded"]
        return [f"{e.get('text')} ({_where(e)})" for e in entries if e.get("level") == "error"]

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the browser is being killed anyway
            self.send("session.end")
        self._stack.close()


def _where(entry: dict) -> str:
    frames = (entry.get("stackTrace") or {}).get("callFrames") or [{}]
    return f"{frames[0].get('url', '?')}:{frames[0].get('lineNumber', '?')}"
