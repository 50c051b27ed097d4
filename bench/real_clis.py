"""Real CLIs: time from launch to ready, and how fast cao sees a finished turn on a real CLI.

    uv run python bench/real_clis.py [--runs N] [--no-write]

Appends a section to docs/performance.md (replacing an earlier one). Needs the pinned CLIs
(scripts/install-real-clis) and runs them against cao's scripted model server, with a private HOME.

Detection latency is measured against an independent observer: a loop that captures the pane
every 5 ms and runs the provider's detect() on it. For each turn the figure is the time from the
first capture that shows the turn completed to the moment cao's API reports it (negative values
mean cao saw it before the observer's next capture).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sections  # noqa: E402  (bench/sections.py, next to this script)
from tests.conftest import free_port  # noqa: E402
from tests.screens.record_codex import seed_codex_home  # noqa: E402

from cao.client import ApiClient  # noqa: E402
from cao.providers import get_provider  # noqa: E402
from cao.settings import Settings  # noqa: E402
from cao.status import Status  # noqa: E402

MARK = "## Real CLIs"
PROVIDERS = ("claude_code", "codex", "gemini_cli", "qwen_code")


def seed(home: Path, workdir: Path, model_url: str, env: dict[str, str]) -> None:
    key = "sk-ant-fake-key-0123456789abcdef"
    (home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "theme": "dark", "numStartups": 5,
        "customApiKeyResponses": {"approved": [key[-20:]], "rejected": []},
        "projects": {str(workdir): {"hasTrustDialogAccepted": True}}}))
    seed_codex_home(home, model_url, key_var="SCRIPTED_MODEL_KEY")
    (home / ".gemini").mkdir()
    auth = {"security": {"auth": {"selectedType": "gemini-api-key"}}}
    (home / ".gemini" / "settings.json").write_text(json.dumps(auth))
    (home / ".gemini" / "trustedFolders.json").write_text(json.dumps({str(workdir): "TRUST_FOLDER"}))
    (home / ".qwen").mkdir()
    (home / ".qwen" / "settings.json").write_text(json.dumps({
        "security": {"auth": {"selectedType": "openai"}}, "model": {"name": "fake-model"},
        "modelProviders": {"openai": [{"id": "fake-model", "baseUrl": f"{model_url}/v1",
                                       "envKey": "SCRIPTED_MODEL_KEY"}]}}))
    env.update({"ANTHROPIC_BASE_URL": model_url, "ANTHROPIC_API_KEY": key,
                "SCRIPTED_MODEL_KEY": "sk-scripted", "GOOGLE_GEMINI_BASE_URL": model_url,
                "GEMINI_API_KEY": "fake-gemini-key"})


def observe(socket: str, pane: str, provider: str, stop: threading.Event, seen: list[float]) -> None:
    detect = get_provider(provider).detect
    while not stop.is_set():
        out = subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", pane], capture_output=True,
                             text=True).stdout
        if detect([line.rstrip() for line in out.splitlines()]) is Status.COMPLETED:
            seen.append(time.time())
            return
        time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    opts = parser.parse_args()
    bin_dir = subprocess.run([str(ROOT / "scripts" / "install-real-clis")], capture_output=True, text=True,
                             check=True).stdout.strip().splitlines()[-1]
    ready: dict[str, list[float]] = {p: [] for p in PROVIDERS}
    detection: dict[str, list[float]] = {p: [] for p in PROVIDERS}
    with tempfile.TemporaryDirectory(prefix="cao-bench-real-") as tmp:
        tmp_path = Path(tmp)
        home, workdir = tmp_path / "home", tmp_path / "work"
        home.mkdir()
        workdir.mkdir()
        (tmp_path / "tmp").mkdir()
        model_port = free_port()
        model_url = f"http://127.0.0.1:{model_port}"
        script = tmp_path / "rules.json"
        script.write_text(json.dumps({"rules": [], "default": {"text": "Done: {{text}}"}}))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_", "GEMINI_"))}
        env.update({"HOME": str(home), "TMPDIR": str(tmp_path / "tmp"), "PATH": f"{bin_dir}:{env['PATH']}",
                    "CAO_HOME": str(tmp_path / "cao"), "CAO_TMUX_SOCKET": f"cao_bench_real_{os.getpid()}",
                    "CAO_API_PORT": str(free_port())})
        seed(home, workdir, model_url, env)
        model = subprocess.Popen([sys.executable, "-m", "cao", "model-server", "--script", str(script), "--port",
                                  str(model_port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = subprocess.Popen([sys.executable, "-m", "cao.server.main"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        settings = Settings.from_env(env)
        api = ApiClient(settings)
        try:
            deadline = time.monotonic() + 20
            while not api.is_up() and time.monotonic() < deadline:
                time.sleep(0.05)
            for provider in PROVIDERS:
                for i in range(opts.runs):
                    start = time.perf_counter()
                    terminal = api.request("POST", "/sessions", timeout=120, params={
                        "agent_profile": "developer", "provider": provider, "session_name": f"{provider}-{i}",
                        "working_directory": str(workdir)})
                    ready[provider].append(time.perf_counter() - start)
                    pane = subprocess.run(["tmux", "-L", settings.tmux_socket, "list-panes", "-t",
                                           f"{terminal['session_name']}:{terminal['name']}", "-F", "#{pane_id}"],
                                          capture_output=True, text=True).stdout.strip()
                    stop, seen = threading.Event(), []
                    turn = api.request("POST", f"/terminals/{terminal['id']}/input",
                                       body={"message": f"say hello {i}"})["turn"]
                    watcher = threading.Thread(target=observe,
                                               args=(settings.tmux_socket, pane, provider, stop, seen))
                    watcher.start()
                    api.request("GET", f"/terminals/{terminal['id']}/wait", params={"turn": turn, "timeout": 60},
                                timeout=70)
                    reported = time.time()
                    watcher.join(5)
                    stop.set()
                    if seen:
                        detection[provider].append((reported - seen[0]) * 1000)
                    api.request("DELETE", f"/sessions/{terminal['session_name']}", timeout=60)
        finally:
            server.terminate()
            server.wait(15)
            model.terminate()
            subprocess.run(["tmux", "-L", settings.tmux_socket, "kill-server"], capture_output=True)
    report = render(ready, detection, opts.runs)
    print(report)
    if not opts.no_write:
        sections.write_section(ROOT / "docs" / "performance.md", MARK, report)


def render(ready: dict[str, list[float]], detection: dict[str, list[float]], runs: int) -> str:
    med = statistics.median
    lines = [MARK, "", "Written by `uv run python bench/real_clis.py` (pinned CLIs, scripted model server).", "",
             "| provider | launch → ready (median, max) | detection latency vs a 5 ms capture loop (median, max) |",
             "|---|---|---|"]
    for provider in PROVIDERS:
        r, d = ready[provider], detection[provider]
        det = f"{med(d):.0f} ms, {max(d):.0f} ms ({len(d)} turns)" if d else "not observed"
        lines.append(f"| {provider} | {med(r):.2f} s, {max(r):.2f} s ({len(r)} runs) | {det} |")
    lines += ["", "Launch → ready includes the CLI drawing its prompt and its MCP client listing cao's tools.",
              "Detection latency: from the first 5 ms capture showing the turn completed to cao's API reporting",
              "it; it includes the observer's own capture cost, so small negative values mean cao was first.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
