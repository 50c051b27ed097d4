"""Web UI figures: terminal WebSocket connect → first bytes and keystroke → echo, event → DOM latency in a
real Chromium, dashboard first paint with many terminals, idle CPU with 100 event-stream clients.

Writes the ``## Web UI`` section of docs/performance.md (see bench/sections.py). Run:
``uv run python bench/web.py [--quick] [--no-write]`` (Chromium: Debian's package, ``CAO_CHROMIUM``).

* connect → first bytes: a new WebSocket to ``/terminals/{id}/ws`` (handshake included) until the first
  binary frame of the screen arrives.
* keystroke → echo: one character sent as ``{"type": "input"}`` until a frame that contains it arrives
  (the mock agent draws it in its input box); then a Backspace, likewise.
* event → DOM: the dashboard in Chromium; a MutationObserver stamps the moment a terminal row's
  ``data-status`` changes; minus the event's own time (``time`` in the event, set when the server
  published it). Same machine, same clock.
* first paint: navigation start until every terminal row of the dashboard is in the DOM.
* 100 SSE clients: cao-server's CPU time over a quiet period with 0 and with 100 ``GET /events`` clients.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path

import sections  # bench/sections.py
from run import Bench, cpu_seconds, pct  # bench/run.py
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
MARK = sections.WEB
CHROMIUM = os.environ.get("CAO_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def token(bench: Bench) -> str:
    return bench.settings.api_token_file.read_text().strip()


def ws_figures(bench: Bench, terminal_id: str, connects: int, keys: int) -> dict[str, list[float]]:
    url = f"ws://127.0.0.1:{bench.settings.api_port}/terminals/{terminal_id}/ws?rows=40&cols=120"
    headers = {"Authorization": f"Bearer {token(bench)}"}
    origin = f"http://127.0.0.1:{bench.settings.api_port}"
    first: list[float] = []
    for _ in range(connects):
        begun = time.perf_counter()
        with connect(url, additional_headers=headers, origin=origin) as ws:
            ws.recv(timeout=10)
            first.append((time.perf_counter() - begun) * 1000)
    echo: list[float] = []
    with connect(url, additional_headers=headers, origin=origin) as ws:
        _drain(ws, 1.0)
        for i in range(keys):
            char = "abcdefghijklmnopqrstuvwxyz"[i % 26]
            for data, expect in ((char, char.encode()), ("\x7f", None)):
                begun = time.perf_counter()
                ws.send(json.dumps({"type": "input", "data": data}))
                while True:
                    frame = ws.recv(timeout=10)
                    if expect is None or expect in frame:
                        break
                if expect is not None:
                    echo.append((time.perf_counter() - begun) * 1000)
            _drain(ws, 0.05)
    return {"first": first, "echo": echo}


def _drain(ws, quiet: float) -> None:
    while True:
        try:
            ws.recv(timeout=quiet)
        except TimeoutError:
            return


def browser_figures(bench: Bench, terminal_id: str, turns: int, count: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="cao-bench-chromium-") as profile, sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                            args=ARGS, viewport={"width": 1280, "height": 800})
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(bench.api.request("POST", "/auth/login-url")["url"])
            # Stamped in the page (not by polling from here, which adds the driver's round trips).
            page.add_init_script("""new MutationObserver((_, observer) => {
                if (document.querySelectorAll('[data-terminal]').length >= COUNT) {
                    window.caoPainted = performance.now();
                    observer.disconnect();
                }
            }).observe(document, {subtree: true, childList: true});""".replace("COUNT", str(count)))
            paints = []
            for _ in range(5):
                page.goto(f"{bench.settings.api_url}/?again={time.time()}#/")
                page.wait_for_function("() => window.caoPainted !== undefined", timeout=60_000)
                paints.append(page.evaluate("window.caoPainted"))
            page.wait_for_selector("#live[data-state=live]")
            page.evaluate("""(id) => {
                window.caoSeen = [];
                const row = () => document.querySelector(`[data-terminal="${id}"]`);
                new MutationObserver(() => {
                    const r = row();
                    if (r && r.dataset.status !== window.caoLast) {
                        window.caoLast = r.dataset.status;
                        window.caoSeen.push({status: r.dataset.status, at: performance.timeOrigin + performance.now()});
                    }
                }).observe(document.getElementById('sessions'), {subtree: true, childList: true, attributes: true});
            }""", terminal_id)
            seen_events: list[dict] = []
            begun = time.time()
            stream = (event for _kind, event in bench.api.events(after=0, kinds=["terminal.status"])
                      if event.get("time", 0) >= begun)  # the backlog replayed first: nothing is missed
            for i in range(turns):
                bench.api.request("POST", f"/terminals/{terminal_id}/input", body={"message": f"turn {i}"})
                for event in stream:
                    if event["data"].get("terminal_id") == terminal_id:
                        seen_events.append(event)
                        if event["data"]["status"] == "completed":
                            break
            time.sleep(0.5)
            dom = page.evaluate("window.caoSeen")
        finally:
            context.close()
    latencies = []
    for event in seen_events:  # pair each event with the first DOM change to its status after it
        at = next((d["at"] for d in dom if d["status"] == event["data"]["status"] and d["at"] >= event["time"] * 1000
                   - 1), None)
        if at is not None:
            latencies.append(at - event["time"] * 1000)
            dom = [d for d in dom if d["at"] > at]
    return {"paint": paints, "dom": latencies, "events": [float(len(seen_events))]}


def sse_idle_cpu(bench: Bench, clients: int, quiet_s: float) -> tuple[float, float]:
    pid = bench.server.pid
    def quiet() -> float:
        begun = cpu_seconds(pid)
        time.sleep(quiet_s)
        return (cpu_seconds(pid) - begun) / quiet_s * 100
    without = quiet()
    sockets = []
    for _ in range(clients):
        sock = socket.create_connection(("127.0.0.1", bench.settings.api_port))
        sock.sendall((f"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token(bench)}\r\n"
                      "Accept: text/event-stream\r\n\r\n").encode())
        sockets.append(sock)
    time.sleep(1)
    with_clients = quiet()
    for sock in sockets:
        sock.close()
    return without, with_clients


def fmt(values: list[float]) -> str:
    return f"median {statistics.median(values):.1f} ms, p95 {pct(values, 0.95):.1f} ms" if values else "—"


def render(ws: dict, web: dict, sse: tuple[float, float], count: int, clients: int, quiet_s: float,
           turns: int) -> str:
    return "\n".join([
        MARK,
        "",
        "Written by `uv run python bench/web.py`; see docs/web-ui.md. Measured on the shared 2-core machine "
        "while other work ran: read them as upper bounds.",
        "",
        "| figure | cao | target | public CAO |",
        "|---|---|---|---|",
        f"| terminal WebSocket: connect → first bytes ({len(ws['first'])} connects) | {fmt(ws['first'])} | ≤ 30 ms "
        "| 18 ms |",
        f"| terminal WebSocket: keystroke → echo ({len(ws['echo'])} keys) | {fmt(ws['echo'])} | median ≤ 5 ms "
        "| 1.6 ms |",
        f"| event → DOM in Chromium (terminal.status, {int(web['events'][0])} events over {turns} turns) | "
        f"{fmt(web['dom'])} | ≤ 100 ms | — |",
        f"| dashboard first paint with {count} terminals (navigation → every row in the DOM, 5 loads) | "
        f"{fmt(web['paint'])} | ≤ 500 ms | — |",
        f"| idle cao-server CPU, {quiet_s:.0f} s quiet: no event-stream client / {clients} clients | "
        f"{sse[0]:.2f} % / {sse[1]:.2f} % of a core | no material change | — |",
        "",
        "Each viewer of a terminal is a tmux client of its own on a PTY (services/terminal_view.py): the "
        "keystroke figure is the WebSocket, the PTY write, tmux and the mock agent redrawing its input box, "
        "and the frame back.",
    ]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    opts = parser.parse_args()
    quick, full = (10, 20, 5, 10, 100, 5), (30, 50, 20, 50, 100, 20)
    connects, keys, turns, count, clients, quiet_s = quick if opts.quick else full
    with tempfile.TemporaryDirectory(prefix="cao-bench-web-") as tmp:
        bench = Bench(Path(tmp))
        bench.start()
        try:
            main_terminal = bench.launch("webbench")["id"]
            for i in range(count - 1):
                bench.api.request("POST", "/sessions/cao-webbench/terminals" if i % 5 else "/sessions", timeout=60,
                                  params={"agent_profile": "developer", "provider": "mock",
                                          "working_directory": str(bench.workdir),
                                          **({} if i % 5 else {"session_name": f"web{i}"})})
            ws = ws_figures(bench, main_terminal, connects, keys)
            web = browser_figures(bench, main_terminal, turns, count)
            sse = sse_idle_cpu(bench, clients, quiet_s)
        finally:
            bench.stop()
    report = render(ws, web, sse, count, clients, quiet_s, turns)
    print(report)
    if not opts.no_write:
        sections.write_section(ROOT / "docs" / "performance.md", MARK, report)


if __name__ == "__main__":
    main()
