"""Real CLIs: launch → ready, how fast cao sees a finished turn, and memory per terminal, for every
provider and every version in scripts/install-real-clis' table.

    uv run python bench/real_clis.py [--runs N] [--only PROVIDER] [--no-write]

Replaces its section of docs/performance.md. Needs the CLIs (scripts/install-real-clis) and runs them
against cao's scripted model server, each (provider, version) with its own HOME, CAO_HOME, tmux socket
and cao-server (whose PATH starts with that version's bin directory).

Detection latency is measured against an independent observer: a loop that captures the pane
every 5 ms and runs the provider's detect() on it. For each turn the figure is the time from the
first capture that shows the turn completed to the moment cao's API reports it (negative values
mean cao saw it before the observer's next capture).

Memory per terminal, once the turn completed (one terminal alive): the PSS of the agent's process
tree (the pane's process and its descendants: the CLI, its helpers, its MCP servers) and of cao's own
per-terminal process, the pipe-pane reader (the tmux server's other descendants), from
/proc/<pid>/smaps_rollup.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sections  # noqa: E402  (bench/sections.py, next to this script)
from harness import children, descendants, memory_kb  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.screens.record_codex import seed_codex_home  # noqa: E402

from cao.client import ApiClient  # noqa: E402
from cao.providers import get_provider  # noqa: E402
from cao.settings import Settings  # noqa: E402
from cao.status import Status  # noqa: E402

MARK = "## Real CLIs"
Seed = Callable[[Path, Path, str], dict[str, str]]  # (HOME, workdir, model URL) -> environment to add


def seed_claude_code(home: Path, workdir: Path, model_url: str) -> dict[str, str]:
    key = "sk-ant-fake-key-0123456789abcdef"
    (home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "theme": "dark", "numStartups": 5,
        "customApiKeyResponses": {"approved": [key[-20:]], "rejected": []},
        "projects": {str(workdir): {"hasTrustDialogAccepted": True}}}))
    return {"ANTHROPIC_BASE_URL": model_url, "ANTHROPIC_API_KEY": key}


def seed_codex(home: Path, workdir: Path, model_url: str) -> dict[str, str]:
    seed_codex_home(home, model_url, key_var="SCRIPTED_MODEL_KEY")
    return {"SCRIPTED_MODEL_KEY": "sk-scripted"}


def seed_gemini_cli(home: Path, workdir: Path, model_url: str) -> dict[str, str]:
    (home / ".gemini").mkdir()
    auth = {"security": {"auth": {"selectedType": "gemini-api-key"}}}
    (home / ".gemini" / "settings.json").write_text(json.dumps(auth))
    (home / ".gemini" / "trustedFolders.json").write_text(json.dumps({str(workdir): "TRUST_FOLDER"}))
    return {"GOOGLE_GEMINI_BASE_URL": model_url, "GEMINI_API_KEY": "fake-gemini-key"}


def seed_qwen_code(home: Path, workdir: Path, model_url: str) -> dict[str, str]:
    (home / ".qwen").mkdir()
    (home / ".qwen" / "settings.json").write_text(json.dumps({
        "security": {"auth": {"selectedType": "openai"}}, "model": {"name": "fake-model"},
        "modelProviders": {"openai": [{"id": "fake-model", "baseUrl": f"{model_url}/v1",
                                       "envKey": "SCRIPTED_MODEL_KEY"}]}}))
    return {"SCRIPTED_MODEL_KEY": "sk-scripted"}


def seed_opencode(home: Path, workdir: Path, model_url: str) -> dict[str, str]:
    (home / ".config" / "opencode").mkdir(parents=True)
    (home / ".config" / "opencode" / "opencode.json").write_text(json.dumps({
        "model": "fake/fake-model", "provider": {"fake": {
            "npm": "@ai-sdk/openai-compatible", "options": {"baseURL": f"{model_url}/v1", "apiKey": "sk-scripted"},
            "models": {"fake-model": {"name": "Fake Model", "tool_call": True}}}}}))
    return {"OPENCODE_DISABLE_MODELS_FETCH": "1"}


def seed_kimi_cli(home: Path, workdir: Path, model_url: str) -> dict[str, str]:
    (home / ".kimi").mkdir()
    (home / ".kimi" / "config.toml").write_text(
        f'default_model = "fake"\ntelemetry = false\n[providers.local]\ntype = "openai_legacy"\n'
        f'base_url = "{model_url}/v1"\napi_key = "sk-scripted"\n[models.fake]\nprovider = "local"\n'
        f'model = "fake-model"\nmax_context_size = 100000\n')
    return {}


class Cli(NamedTuple):
    provider: str
    package: str  # as in scripts/install-real-clis' table
    seed: Seed  # what a returning user of that CLI has in their HOME


# One row per provider; its versions come from install-real-clis --list.
CLIS = (
    Cli("claude_code", "@anthropic-ai/claude-code", seed_claude_code),
    Cli("codex", "@openai/codex", seed_codex),
    Cli("gemini_cli", "@google/gemini-cli", seed_gemini_cli),
    Cli("qwen_code", "@qwen-code/qwen-code", seed_qwen_code),
    Cli("opencode", "opencode-ai", seed_opencode),
    Cli("kimi_cli", "kimi-cli", seed_kimi_cli),  # from PyPI; its bin directory comes from the same table
)


class Figures(NamedTuple):
    ready: list[float]  # seconds
    detection: list[float]  # milliseconds
    agent_pss: list[float]  # MB
    agent_processes: list[int]
    reader_pss: list[float]  # MB


def versions() -> list[tuple[str, str, Path]]:
    """(package, version, bin directory) for each version in the table, installing what is missing."""
    subprocess.run([str(ROOT / "scripts" / "install-real-clis")], capture_output=True, check=True)
    rows = subprocess.run([str(ROOT / "scripts" / "install-real-clis"), "--list"], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    return [(package, version, Path(bin_dir)) for package, version, bin_dir in (row.split() for row in rows)]


def observe(socket: str, pane: str, provider: str, stop: threading.Event, seen: list[float]) -> None:
    detect = get_provider(provider).detect
    while not stop.is_set():
        out = subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", pane], capture_output=True,
                             text=True).stdout
        if detect([line.rstrip() for line in out.splitlines()]) is Status.COMPLETED:
            seen.append(time.time())
            return
        time.sleep(0.005)


def tmux(socket: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True).stdout.strip()


def memory(socket: str, pane_pid: int) -> tuple[float, int, float]:
    """(agent tree PSS MB, its process count, PSS MB of the tmux server's other descendants: the pipe reader)."""
    tree = children()
    agent = [pane_pid, *descendants(pane_pid, tree)]
    panes = {int(p) for p in tmux(socket, "list-panes", "-a", "-F", "#{pane_pid}").split()}
    in_panes = {p for pid in panes for p in (pid, *descendants(pid, tree))}  # a closing pane's too
    server = int(tmux(socket, "display-message", "-p", "#{pid}") or 0)
    others = [p for p in descendants(server, tree) if p not in in_panes]
    return (sum(memory_kb(p)[0] for p in agent) / 1024, len(agent), sum(memory_kb(p)[0] for p in others) / 1024)


def measure(cli: Cli, bin_dir: Path, model_url: str, runs: int, tmp: Path, base_env: dict[str, str]) -> Figures:
    home, workdir = tmp / "home", tmp / "work"
    for d in (home, workdir, tmp / "tmp"):
        d.mkdir()
    env = {**base_env, "HOME": str(home), "TMPDIR": str(tmp / "tmp"), "PATH": f"{bin_dir}:{base_env['PATH']}",
           "CAO_HOME": str(tmp / "cao"), "CAO_TMUX_SOCKET": f"cao_bench_real_{os.getpid()}_{tmp.name}",
           "CAO_API_PORT": str(free_port()), **cli.seed(home, workdir, model_url)}
    server = subprocess.Popen([sys.executable, "-m", "cao.server.main"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    settings = Settings.from_env(env)
    socket = settings.tmux_socket or ""
    api = ApiClient(settings)
    figures = Figures([], [], [], [], [])
    try:
        deadline = time.monotonic() + 30
        while not api.is_up() and time.monotonic() < deadline:
            time.sleep(0.05)
        for i in range(runs):
            start = time.perf_counter()
            terminal = api.request("POST", "/sessions", timeout=120, params={
                "agent_profile": "developer", "provider": cli.provider, "session_name": f"bench-{i}",
                "working_directory": str(workdir)})
            figures.ready.append(time.perf_counter() - start)
            target = f"{terminal['session_name']}:{terminal['name']}"
            pane, pane_pid = tmux(socket, "list-panes", "-t", target, "-F", "#{pane_id} #{pane_pid}").split()
            stop, seen = threading.Event(), []
            turn = api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": f"say hello {i}"})["turn"]
            watcher = threading.Thread(target=observe, args=(socket, pane, cli.provider, stop, seen))
            watcher.start()
            api.request("GET", f"/terminals/{terminal['id']}/wait", params={"turn": turn, "timeout": 60}, timeout=70)
            reported = time.time()
            watcher.join(5)
            stop.set()
            if seen:
                figures.detection.append((reported - seen[0]) * 1000)
            agent_mb, processes, reader_mb = memory(socket, int(pane_pid))
            figures.agent_pss.append(agent_mb)
            figures.agent_processes.append(processes)
            figures.reader_pss.append(reader_mb)
            api.request("DELETE", f"/sessions/{terminal['session_name']}", timeout=60)
    finally:
        server.terminate()
        server.wait(15)
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", action="append", metavar="PROVIDER", help="measure only this provider")
    parser.add_argument("--no-write", action="store_true")
    opts = parser.parse_args()
    table = versions()
    load = os.getloadavg()[0]
    results: list[tuple[str, str, Figures]] = []
    with tempfile.TemporaryDirectory(prefix="cao-bench-real-") as tmp:
        tmp_path = Path(tmp)
        model_port = free_port()
        model_url = f"http://127.0.0.1:{model_port}"
        script = tmp_path / "rules.json"
        script.write_text(json.dumps({"rules": [], "default": {"text": "Done: {{text}}"}}))
        base_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("ANTHROPIC_", "OPENAI_", "GEMINI_", "CAO_", "TMUX", "KIMI_"))}
        model = subprocess.Popen([sys.executable, "-m", "cao", "model-server", "--script", str(script), "--port",
                                  str(model_port)], env=base_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for n, cli in enumerate(c for c in CLIS if not opts.only or c.provider in opts.only):
                for package, version, bin_dir in table:
                    if package == cli.package:
                        run_dir = tmp_path / f"{n}-{version}"
                        run_dir.mkdir()
                        results.append((cli.provider, version, measure(cli, bin_dir, model_url, opts.runs, run_dir,
                                                                       base_env)))
                        print(render_row(*results[-1]), flush=True)
        finally:
            model.terminate()
            model.wait(10)
    report = render(results, load)
    print(report)
    if not opts.no_write:
        sections.write_section(ROOT / "docs" / "performance.md", MARK, report)


def render_row(provider: str, version: str, f: Figures) -> str:
    med = statistics.median
    det = f"{med(f.detection):.0f} ms, {max(f.detection):.0f} ms ({len(f.detection)} turns)" if f.detection else \
        "not observed"
    return (f"| {provider} | {version} | {med(f.ready):.2f} s, {max(f.ready):.2f} s ({len(f.ready)} runs) | {det} "
            f"| {med(f.agent_pss):.0f} MB ({plural(round(med(f.agent_processes)), 'process')}) "
            f"| {med(f.reader_pss):.1f} MB |")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}es"


def render(results: list[tuple[str, str, Figures]], load: float) -> str:
    lines = [MARK, "", "Written by `uv run python bench/real_clis.py` (each version in `scripts/install-real-clis`' "
             f"table, scripted model server), {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, "
             f"{os.cpu_count()} cores, load average {load:.1f} when it started (the machine may be shared).", "",
             "| provider | version | launch → ready (median, max) | detection latency vs a 5 ms capture loop "
             "(median, max) | agent's process tree, PSS (median) | cao's pipe reader, PSS (median) |",
             "|---|---|---|---|---|---|"]
    lines += [render_row(*result) for result in results]
    lines += ["", "Launch → ready includes the CLI drawing its prompt and its MCP client listing cao's tools.",
              "Detection latency: from the first 5 ms capture showing the turn completed to cao's API reporting",
              "it; it includes the observer's own capture cost, so small negative values mean cao was first.",
              "Memory per terminal, after one completed turn with that terminal alone: the agent's process tree",
              "(the pane's process and every descendant: the CLI, its helpers and MCP servers) and cao's own",
              "per-terminal process, the pipe-pane reader (`cat`), from `/proc/<pid>/smaps_rollup`; cao-server",
              "itself is shared by all terminals and not counted.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
