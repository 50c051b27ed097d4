"""Flows end to end: real cao-server with real APScheduler, real tmux, the mock agent, the cao CLI.

A schedule that must really fire uses cao's documented 6-field form (seconds first), so a test
waits seconds, not a minute; the path from the scheduler's fire to the agent is the same as for a
5-field schedule (one APScheduler CronTrigger either way).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.errors import InvalidInput, NotFound, Unauthorized
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.helpers import tmux_sessions, write_script

NEVER = "0 0 1 1 *"  # once a year: the flow runs only when a test runs it


def cao(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cao", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    path = tmp_path / "flows"
    path.mkdir()
    write_script(path / "mock.json", [
        {"match": "slow", "steps": [{"wait": 30}, {"reply": "too late"}]},
        {"match": "medium", "steps": [{"wait": 3}, {"reply": "medium done"}]},
    ])
    return path


def write_flow(directory: Path, name: str, *, schedule: str = NEVER, body: str = "Say hello",
               **fields: object) -> Path:
    front = {"name": name, "schedule": schedule, "agent_profile": "developer", "provider": "mock",
             "env": {"CAO_MOCK_SCRIPT": str(directory / "mock.json")}, **fields}
    path = directory / f"{name}.flow.md"
    path.write_text("---\n" + "".join(f"{k}: {json.dumps(v)}\n" for k, v in front.items()) + f"---\n{body}\n")
    return path


def write_gate(directory: Path, body: str) -> Path:
    path = directory / "gate.sh"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def add(api: ApiClient, path: Path) -> dict:
    return api.request("POST", "/flows", body={"file_path": str(path)})


def run(api: ApiClient, name: str, wait: bool = True) -> dict:
    return api.request("POST", f"/flows/{name}/run", params={"wait": "true" if wait else None}, timeout=120)


def runs(api: ApiClient, name: str) -> list[dict]:
    return api.get(f"/flows/{name}/runs", limit=1000)


def test_add_run_now_and_the_reply_is_in_the_history(server: ServerProcess, settings: Settings,
                                                      flows_dir: Path) -> None:
    path = write_flow(flows_dir, "hello", schedule="0 9 * * 1-5", timezone="Europe/Berlin")
    added = cao("flow", "add", str(path))
    assert added.returncode == 0, added.stderr
    assert "Added flow hello (0 9 * * 1-5, Europe/Berlin)." in added.stdout and "Next runs: " in added.stdout

    shown = json.loads(cao("flow", "show", "hello", "--json").stdout)
    assert shown["enabled"] and len(shown["next_runs"]) == 3
    assert all(datetime.fromisoformat(t).astimezone(UTC).hour in (7, 8) for t in shown["next_runs"])
    assert shown["next_run"] == shown["next_runs"][0]

    result = cao("flow", "run", "hello", "--wait")
    assert result.returncode == 0, result.stderr
    assert "completed (session cao-flow-hello)" in result.stdout and "Say hello" in result.stdout
    assert "cao-flow-hello" in tmux_sessions(settings)  # kept for tmux attach until the next run

    [record] = json.loads(cao("flow", "history", "hello", "--json").stdout)
    assert record["outcome"] == "completed" and record["trigger"] == "manual"
    assert "Say hello" in record["reply"] and record["prompt"] == "Say hello"
    assert record["session_name"] == "cao-flow-hello" and len(record["terminal_id"]) == 8
    listed = json.loads(cao("flow", "list", "--json").stdout)
    assert [(f["name"], f["last_outcome"]) for f in listed] == [("hello", "completed")]
    assert "hello" in cao("schedule", "list").stdout  # the public CAO's verb

    again = run(server.client, "hello")
    assert again["executed"] and again["run"]["terminal_id"] != record["terminal_id"]  # a new session


def test_routes_need_the_owners_token(server: ServerProcess, settings: Settings) -> None:
    anonymous = ApiClient(settings)
    anonymous.token = lambda reread=False: None  # type: ignore[method-assign]
    for method, path in (("GET", "/flows"), ("POST", "/flows/x/run"), ("DELETE", "/flows/x"),
                         ("GET", "/flows/x/runs")):
        with pytest.raises(Unauthorized):
            anonymous.request(method, path)


def test_the_public_caos_post_form_writes_the_flow_file(api: ApiClient, settings: Settings) -> None:
    flow = api.request("POST", "/flows", body={"name": "compat", "schedule": "30 7 * * *",
                                               "agent_profile": "developer", "provider": "mock",
                                               "prompt_template": "Good morning"})
    assert flow["file_path"] == str(settings.home / "flows" / "compat.flow.md")
    assert "Good morning" in Path(flow["file_path"]).read_text()
    assert api.request("POST", "/flows/compat/disable") == {"success": True}
    assert api.get("/flows/compat")["next_run"] is None
    api.request("POST", "/flows/compat/enable")
    assert api.get("/flows/compat")["next_run"] is not None
    assert api.request("DELETE", "/flows/compat") == {"success": True}
    with pytest.raises(NotFound):
        api.get("/flows/compat")


def test_bad_flows_are_refused_and_nothing_is_stored(api: ApiClient, flows_dir: Path) -> None:
    cases = {
        "schedule": ({"schedule": "0 25 * * *"}, "field 'hour' ('25') is not valid"),
        "zone": ({"timezone": "Mars/Base"}, "unknown time zone 'Mars/Base'"),
        "profile": ({"agent_profile": "nobody"}, "agent_profile: unknown agent profile 'nobody'"),
        "provider": ({"provider": "crush"}, "provider: unknown provider 'crush'"),
        "script": ({"script": "missing.sh"}, "does not exist"),
    }
    for name, (fields, needle) in cases.items():
        with pytest.raises(InvalidInput) as err:
            add(api, write_flow(flows_dir, name, **fields))
        assert needle in str(err.value), name
    bad_name = write_flow(flows_dir, "ok")
    bad_name.write_text(bad_name.read_text().replace('name: "ok"', 'name: "../etc"'))
    with pytest.raises(InvalidInput, match="invalid flow name"):
        add(api, bad_name)
    plain = write_gate(flows_dir, "exit 0\n")
    plain.chmod(0o644)
    with pytest.raises(InvalidInput, match="is not executable"):
        add(api, write_flow(flows_dir, "gated", script="gate.sh"))
    assert api.get("/flows") == []

    add(api, write_flow(flows_dir, "dup"))
    result = cao("flow", "add", str(write_flow(flows_dir, "dup")))
    assert result.returncode == 1 and "flow 'dup' already exists" in result.stderr
    replaced = api.request("POST", "/flows", params={"replace": "true"},
                           body={"file_path": str(write_flow(flows_dir, "dup", body="Changed"))})
    assert replaced["prompt_template"] == "Changed"


def test_a_flow_fires_on_its_schedule(api: ApiClient, flows_dir: Path) -> None:
    add(api, write_flow(flows_dir, "tick", schedule="*/3 * * * * *", when_busy="skip"))
    done = retry_until(lambda: [r for r in runs(api, "tick") if r["outcome"] == "completed"], 60,
                       message="a scheduled run completed")
    first = done[-1]
    assert first["trigger"] == "schedule" and "Say hello" in first["reply"]
    scheduled = datetime.fromisoformat(first["scheduled_for"])
    assert scheduled.second % 3 == 0 and scheduled.microsecond == 0  # the cron instant itself
    assert datetime.fromisoformat(first["started_at"]) >= scheduled
    api.request("POST", "/flows/tick/disable")
    assert api.get("/flows/tick")["next_run"] is None


def test_the_gating_script_decides_and_fills_the_prompt(api: ApiClient, settings: Settings, flows_dir: Path,
                                                        tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    gate = write_gate(flows_dir, f'printf \'{{"execute": true, "output": {{"branch": "$(touch {marker})"}}}}\'\n')
    add(api, write_flow(flows_dir, "gated", script="gate.sh", body="Check branch [[branch]] now"))
    result = run(api, "gated")
    assert result["executed"] and result["run"]["outcome"] == "completed"
    assert result["run"]["script_output"] == {"branch": f"$(touch {marker})"}
    assert f"Check branch $(touch {marker}) now" in result["run"]["reply"]  # typed as text, never run
    assert not marker.exists()

    cases = [
        ('echo \'{"execute": false, "output": {"why": "no new commits"}}\'\n', "skipped_by_script", "execute"),
        ("echo oops >&2; exit 4\n", "error", "exited with code 4: oops"),
        ("echo hello\n", "error", "not JSON"),
        ('echo \'{"execute": true, "output": {}}\'\n', "error", "[[branch]] but the script's output has no such key"),
        ("sleep 30\n", "error", "did not finish within 1s"),
    ]
    api.request("POST", "/flows", params={"replace": "true"}, body={"file_path": str(write_flow(
        flows_dir, "gated", script="gate.sh", script_timeout=1, body="Check branch [[branch]] now"))})
    for script, outcome, needle in cases:
        gate.write_text("#!/bin/sh\n" + script)
        result = run(api, "gated")
        assert not result["executed"], script
        assert result["run"]["outcome"] == outcome and needle in (result["run"]["error"] or ""), result
        assert result["run"]["terminal_id"] is None
    skipped = [r for r in runs(api, "gated") if r["outcome"] == "skipped_by_script"]
    assert skipped[0]["script_output"] == {"why": "no new commits"}


def test_when_busy_skip_and_replace(api: ApiClient, flows_dir: Path) -> None:
    add(api, write_flow(flows_dir, "busy", body="medium job"))
    first = run(api, "busy", wait=False)
    assert first["executed"]
    second = run(api, "busy")
    assert not second["executed"] and second["run"]["outcome"] == "skipped_busy"
    assert f"run {first['run']['id']} was still working" in second["run"]["error"]
    retry_until(lambda: runs(api, "busy")[-1]["outcome"] == "completed", 60, message="first run completed")

    api.request("POST", "/flows", params={"replace": "true"},
                body={"file_path": str(write_flow(flows_dir, "busy", body="slow job", when_busy="replace"))})
    slow = run(api, "busy", wait=False)
    assert slow["executed"]
    api.request("POST", "/flows", params={"replace": "true"},
                body={"file_path": str(write_flow(flows_dir, "busy", body="quick job", when_busy="replace"))})
    quick = run(api, "busy")
    assert quick["run"]["outcome"] == "completed" and "quick job" in quick["run"]["reply"]
    replaced = next(r for r in runs(api, "busy") if r["id"] == slow["run"]["id"])
    assert replaced["outcome"] == "interrupted" and f"replaced by run {quick['run']['id']}" in replaced["error"]


def test_a_run_past_its_timeout_is_stopped_and_recorded(api: ApiClient, settings: Settings,
                                                        flows_dir: Path) -> None:
    add(api, write_flow(flows_dir, "late", body="slow job", timeout=3))
    result = run(api, "late")
    assert result["executed"] and result["run"]["outcome"] == "timed_out"
    assert "longer than its timeout of 3s" in result["run"]["error"]
    terminal = api.get(f"/terminals/{result['run']['terminal_id']}")
    assert terminal["status"] in ("idle", "completed")  # interrupted: back at its prompt, kept for attach
    assert "cao-flow-late" in tmux_sessions(settings)


def test_restart_keeps_flows_state_and_history(server: ServerProcess, flows_dir: Path) -> None:
    api = server.client
    add(api, write_flow(flows_dir, "kept"))
    add(api, write_flow(flows_dir, "off"))
    run(api, "kept")
    api.request("POST", "/flows/off/disable")
    server.stop()
    server.start()
    api = server.client
    listed = {f["name"]: f for f in api.get("/flows")}
    assert listed["kept"]["enabled"] and listed["kept"]["next_run"] and listed["kept"]["last_outcome"] == "completed"
    assert not listed["off"]["enabled"] and listed["off"]["next_run"] is None
    assert [r["outcome"] for r in runs(api, "kept")] == ["completed"]


def test_sigkill_during_a_run_is_recorded_as_interrupted(server: ServerProcess, flows_dir: Path) -> None:
    add(server.client, write_flow(flows_dir, "cut", body="slow job"))
    assert run(server.client, "cut", wait=False)["executed"]
    server.stop("kill")
    server.start()
    [record] = runs(server.client, "cut")
    assert record["outcome"] == "interrupted" and "killed or crashed" in record["error"]
    assert record["finished_at"] is not None


def test_fires_missed_while_down_are_recorded_and_caught_up(server: ServerProcess, flows_dir: Path) -> None:
    api = server.client
    add(api, write_flow(flows_dir, "recorded", schedule="*/2 * * * * *"))
    add(api, write_flow(flows_dir, "caught", schedule="*/2 * * * * *", catch_up="1h"))
    server.stop()
    stopped = datetime.now(UTC)
    retry_until(lambda: (datetime.now(UTC) - stopped).total_seconds() > 4.5, 10, 0.1, "two fire times passed")
    server.start()
    started = datetime.now(UTC)

    def missed(name: str) -> list[dict]:
        return [r for r in runs(server.client, name) if r["outcome"] == "missed"]

    down = [r for r in missed("recorded") if stopped < datetime.fromisoformat(r["scheduled_for"]) < started]
    assert len(down) >= 2 and all("not running" in r["error"] for r in down)
    catch = retry_until(lambda: [r for r in runs(server.client, "caught") if r["trigger"] == "catch_up"], 20,
                        message="the catch-up run")
    assert len(catch) == 1 and stopped < datetime.fromisoformat(catch[0]["scheduled_for"]) < started
    ended = retry_until(lambda: next(r for r in runs(server.client, "caught") if r["trigger"] == "catch_up")["outcome"],
                        60, message="the catch-up run ended")
    assert ended == "completed"
    assert missed("caught")  # the older fires of the downtime are recorded, one is run


def test_prestart_types_the_prompt_into_an_agent_started_before_the_fire(api: ApiClient, flows_dir: Path) -> None:
    add(api, write_flow(flows_dir, "warm", schedule="*/4 * * * * *", prestart="10s"))
    retry_until(lambda: len([r for r in runs(api, "warm") if r["outcome"] == "completed"]) >= 2, 90,
                message="two scheduled runs completed")
    api.request("POST", "/flows/warm/disable")  # its standby (started for the next fire) is removed
    retry_until(lambda: all(r["outcome"] for r in runs(api, "warm")), 60, message="no run is working")
    newest = next(r for r in runs(api, "warm") if r["outcome"] == "completed")
    terminal = api.get(f"/terminals/{newest['terminal_id']}")  # an earlier completed run's agent is retired
    assert datetime.fromisoformat(terminal["created_at"]) < datetime.fromisoformat(newest["scheduled_for"])
    detail = retry_until(lambda: (d := api.get("/sessions/cao-flow-warm")) and len(d["terminals"]) == 1 and d, 30,
                         message="only the last run's agent is left")
    assert detail["session"]["conductor_id"] == detail["terminals"][0]["id"] == newest["terminal_id"]
