"""Team hooks end to end: cao runs a member's hooks with the event as JSON on stdin, with timeouts and
failures reported as ``team.hook`` events."""

from __future__ import annotations

import json
import queue
import sys
import threading
from pathlib import Path

from cao.client import ApiClient
from tests.conftest import ServerProcess, retry_until
from tests.helpers import send_and_wait

HOOK = "import json, sys; open(sys.argv[1], 'a').write(json.dumps(json.load(sys.stdin)) + '\\n')"
TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2  # a GitHub token's shape
LEAKY = json.dumps({"command": sys.executable, "args": ["-c", f"print('token {TOKEN}'); raise SystemExit(3)"]})


def team_yaml(out: Path, script: Path) -> str:
    def record(name: str) -> str:
        return json.dumps({"type": "command", "command": f"{sys.executable} {script}", "args": [str(out / name)]})

    return f"""\
agents:
  root:
    model: mock/m
    instruction: You lead.
    hooks:
      session_start: [{record("start.jsonl")}, {{command: /nonexistent/hook}}, {{command: /nonexistent/{TOKEN}}}]
      on_user_input: [{record("input.jsonl")}]
      stop: [{record("stop.jsonl")}, {{command: "sleep 30", timeout: 1s}}, {LEAKY}]
      session_end: [{record("end.jsonl")}]
"""


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_hooks_run_with_json_timeouts_and_reported_failures(api: ApiClient, server: ServerProcess, workdir: Path,
                                                            tmp_path: Path) -> None:
    script = tmp_path / "hook.py"
    script.write_text(HOOK)
    out = tmp_path / "out"
    out.mkdir()
    team_file = tmp_path / "team.yaml"
    team_file.write_text(team_yaml(out, script))
    got: queue.Queue[dict] = queue.Queue()
    threading.Thread(target=lambda: [got.put(p) for _k, p in api.events(after=0, kinds=["team.hook"])],
                     daemon=True).start()
    launched = api.request("POST", "/teams/launch", timeout=60, body={
        "file": str(team_file), "session_name": "hooks", "working_directory": str(workdir)})
    terminal = launched["terminal"]["id"]

    start = retry_until(lambda: lines(out / "start.jsonl"), 20, message="session_start hook ran")
    assert start == [{"hook_event_name": "session_start", "session": "cao-hooks", "agent_name": "root",
                      "terminal_id": terminal, "cwd": str(workdir), "status": None, "time": start[0]["time"]}]
    send_and_wait(api, terminal, "hello", timeout=30)
    stop = retry_until(lambda: lines(out / "stop.jsonl"), 20, message="stop hook ran")
    assert stop[0]["hook_event_name"] == "stop" and stop[0]["status"] == "completed"
    assert retry_until(lambda: lines(out / "input.jsonl"), 20)[0]["status"] == "processing"

    events: list[dict] = []

    def reported(predicate) -> dict:
        def find() -> dict | None:
            while not got.empty():
                events.append(got.get_nowait())
            return next((e["data"] for e in events if predicate(e["data"])), None)
        return retry_until(find, 20, message="team.hook event")

    missing = reported(lambda d: d["command"] == ["/nonexistent/hook"])
    assert not missing["ok"] and missing["error"].startswith("cannot run /nonexistent/hook")
    slow = reported(lambda d: d["command"] == ["sleep", "30"])
    assert not slow["ok"] and slow["error"] == "timed out after 1s and was killed"
    assert reported(lambda d: d["hook_event"] == "stop" and d["ok"])["exit_code"] == 0
    leaky = reported(lambda d: d.get("exit_code") == 3)
    assert leaky["output"] == "token [secret:github-token]\n"  # a hook's output is masked in the event
    assert "cannot run /nonexistent/[secret:github-token]" in server.log.read_text()  # and in cao-server's log
    assert TOKEN not in server.log.read_text()

    api.request("DELETE", "/sessions/cao-hooks", timeout=60)
    end = retry_until(lambda: lines(out / "end.jsonl"), 20, message="session_end hook ran")
    assert end[0]["hook_event_name"] == "session_end" and end[0]["terminal_id"] == terminal
