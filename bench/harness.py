"""What bench/compare.py drives: a cao or public-CAO server in a private environment, HTTP, wrk, /proc.

Loopback only. Every request to cao goes through ``Target.headers()``: once the API needs the
owner's bearer token, it is read from ``$CAO_HOME/run/api-token`` there (if the file exists).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


@dataclass
class Target:
    """One implementation under test: how to start its server, its CLI, its environment."""

    name: str
    server_argv: list[str]
    cli: str
    env: dict[str, str]
    port: int
    home: Path  # CAO_HOME for cao, HOME for the public CAO
    provider: str
    is_cao: bool
    process: subprocess.Popen[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def headers(self) -> dict[str, str]:
        token = self.home / "run" / "api-token"
        if self.is_cao and token.exists():
            return {"Authorization": f"Bearer {token.read_text().strip()}"}
        return {}

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
                timeout: float = 120.0) -> tuple[int, Any]:
        if params:
            path += "?" + urllib.parse.urlencode(params)
        conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=timeout)
        headers = self.headers()
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw

    def healthy(self) -> bool:
        try:
            return self.request("GET", "/health", timeout=1)[0] == 200
        except OSError:
            return False

    # --- the server process -----------------------------------------------------------

    @property
    def log_path(self) -> Path:
        return self.home.parent / f"{self.name}-server.log"

    def start(self, *args: str, timeout: float = 60.0) -> float:
        """Start the server (with extra ``args``); return seconds from spawn to the first 200 from /health."""
        if self.healthy():
            raise SystemExit(f"something already answers at {self.base}")
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept by the child)
        start = time.perf_counter()
        self.process = subprocess.Popen([*self.server_argv, *args], env=self.env, stdout=log, stderr=log,
                                        start_new_session=True, cwd=self.home.parent)
        while not self.healthy():
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} server exited ({self.process.returncode}); see {log.name}")
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"{self.name} server did not become healthy in {timeout:.0f}s")
            time.sleep(0.005)
        return time.perf_counter() - start

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
            self.process.wait(20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None
        time.sleep(0.2)  # let the port go

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        socket_args = ["-L", self.env["CAO_TMUX_SOCKET"]] if self.is_cao else []
        return subprocess.run(["tmux", *socket_args, *args], env=self.env, capture_output=True, text=True)

    def kill_tmux(self) -> None:
        self.tmux("kill-server")

    # --- sessions -----------------------------------------------------------------------

    def launch(self, session: str) -> dict[str, Any]:
        params = {"agent_profile": "developer", "provider": self.provider, "session_name": session,
                  "working_directory": str(self.home.parent)}
        status, body = self.request("POST", "/sessions", params=params, timeout=180)
        if status not in (200, 201):
            raise SystemExit(f"{self.name}: POST /sessions -> {status}: {str(body)[:300]}")
        return body

    def sessions(self) -> list[dict[str, Any]]:
        return self.request("GET", "/sessions")[1]

    def remove_all(self) -> None:
        for session in self.sessions():
            self.request("DELETE", f"/sessions/{session['name']}", timeout=120)


# --- load generation and timing ------------------------------------------------------


def wrk(target: Target, path: str, connections: int = 50, seconds: int = 10, threads: int = 2) -> dict[str, float]:
    """req/s and latency percentiles of GET ``path`` under ``connections`` keep-alive clients (wrk)."""
    headers = [arg for k, v in target.headers().items() for arg in ("-H", f"{k}: {v}")]
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", *headers,
                          target.base + path], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = {q: _ms(re.search(rf"^\s+{q}%\s+([\d.]+\w+)", out, re.M).group(1)) for q in ("50", "99")}
    return {"rps": rps, "p50_ms": lat["50"], "p99_ms": lat["99"], "non_2xx": int(errors.group(1)) if errors else 0}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def hyperfine(commands: list[str], env: dict[str, str], runs: int = 20) -> list[float]:
    """Median wall ms of each command as a new process (hyperfine, no shell, page cache warm)."""
    out = HERE / ".hyperfine.json"
    subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--export-json", str(out),
                    *commands], env=env, capture_output=True, check=True)
    results = json.loads(out.read_text())["results"]
    out.unlink()
    return [statistics.median(r["times"]) * 1000 for r in results]


# --- /proc ----------------------------------------------------------------------------


def children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(stat.parent.name))
    return tree


def descendants(pid: int, tree: dict[int, list[int]]) -> list[int]:
    out, stack = [], list(tree.get(pid, []))
    while stack:
        child = stack.pop()
        out.append(child)
        stack += tree.get(child, [])
    return out


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def memory_kb(pid: int) -> tuple[int, int]:
    """(PSS, RSS) in kB, from /proc/<pid>/smaps_rollup."""
    pss = rss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def tmux_server_pid(target: Target) -> int:
    out = target.tmux("display-message", "-p", "#{pid}").stdout.strip()
    return int(out) if out.isdigit() else 0


def pane_pids(target: Target) -> list[int]:
    out = target.tmux("list-panes", "-a", "-F", "#{pane_pid}").stdout.split()
    return [int(p) for p in out if p.isdigit()]


def per_terminal_processes(target: Target, is_agent: Any) -> list[int]:
    """Every process tmux runs for the terminals (panes' trees, pipe-pane readers) except the agents."""
    server = tmux_server_pid(target)
    if not server:
        return []
    tree = children()
    return [p for p in descendants(server, tree) if not is_agent(p)]


def bench_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAO_", "TMUX"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(extra)
    return env


def which(name: str, venv: Path) -> str:
    found = shutil.which(name, path=str(venv / "bin"))
    if not found:
        raise SystemExit(f"{name} not found in {venv}/bin")
    return found
