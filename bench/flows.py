"""Flow figures: fire precision, idle cost with 1,000 flows, `cao flow list` with 1,000 flows.

Writes the ``## Flows`` section of docs/performance.md (see bench/sections.py). Run:
``uv run python bench/flows.py [--quick] [--no-write]``.

Fire precision: a flow on a 6-field schedule (every 3 s) runs the mock agent with ``CAO_MOCK_TRACE``;
the agent logs the moment it has drawn the typed prompt (``busy``). Figure: that moment minus the
run's ``scheduled_for`` (the cron instant), and, separately, the run's ``started_at`` minus
``scheduled_for`` (the scheduler alone).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import sections  # bench/sections.py
from run import Bench, cold_start, cpu_seconds, pct  # bench/run.py

ROOT = Path(__file__).resolve().parents[1]
MARK = sections.FLOWS


def write_flow(directory: Path, name: str, schedule: str, **fields: object) -> Path:
    front = {"name": name, "schedule": schedule, "agent_profile": "developer", "provider": "mock", **fields}
    path = directory / f"{name}.flow.md"
    path.write_text("---\n" + "".join(f"{k}: {json.dumps(v)}\n" for k, v in front.items()) + "---\nSay hello\n")
    return path


def fire_precision(bench: Bench, fires: int, **fields: object) -> dict[str, list[float]]:
    trace = bench.workdir / f"flow-trace-{len(fields)}.jsonl"
    name = "precise" + ("-cold" if fields else "")
    path = write_flow(bench.workdir, name, "*/3 * * * * *", env={"CAO_MOCK_TRACE": str(trace)}, **fields)
    bench.api.request("POST", "/flows", body={"file_path": str(path)})
    deadline = time.monotonic() + fires * 3 * 3 + 30
    while time.monotonic() < deadline:
        done = [r for r in bench.api.get(f"/flows/{name}/runs", limit=1000) if r["outcome"] == "completed"]
        if len(done) >= fires:
            break
        time.sleep(1)
    bench.api.request("POST", f"/flows/{name}/disable")
    runs = sorted((r for r in bench.api.get(f"/flows/{name}/runs", limit=1000)
                   if r["outcome"] == "completed" and r["trigger"] == "schedule"), key=lambda r: r["id"])
    busy = [json.loads(line) for line in trace.read_text().splitlines()]
    busy_times = [e["t"] for e in busy if e["event"] == "busy"]
    to_prompt, to_start = [], []
    for run in runs:
        due = datetime.fromisoformat(run["scheduled_for"]).timestamp()
        typed = next((t for t in busy_times if t >= due), None)
        if typed is not None:
            to_prompt.append((typed - due) * 1000)
        to_start.append((datetime.fromisoformat(run["started_at"]).timestamp() - due) * 1000)
    bench.api.request("DELETE", f"/flows/{name}", timeout=60)
    return {"to_prompt": to_prompt, "to_start": to_start, "outcomes": [r["outcome"] for r in runs]}


def many_flows(bench: Bench, count: int, idle_s: float, list_runs: int) -> dict[str, object]:
    directory = bench.workdir / "many"
    directory.mkdir()
    started = time.perf_counter()
    for i in range(count):
        # Spread over the year: none fires during the measurement.
        path = write_flow(directory, f"f{i:04d}", f"{i % 60} {i % 24} {1 + i % 28} {1 + (i // 28) % 12} *")
        bench.api.request("POST", "/flows", body={"file_path": str(path)})
    added_s = time.perf_counter() - started
    time.sleep(2)
    before = cpu_seconds(bench.server.pid)
    time.sleep(idle_s)
    cpu_pct = (cpu_seconds(bench.server.pid) - before) / idle_s * 100
    list_ms = cold_start(bench.env, ["flow", "list"], list_runs)
    json_ms = cold_start(bench.env, ["flow", "list", "--json"], list_runs)
    session_ms = cold_start(bench.env, ["session", "list"], list_runs)  # the CLI's own start, for comparison
    return {"added_s": added_s, "cpu_pct": cpu_pct, "list_ms": list_ms, "json_ms": json_ms,
            "session_ms": session_ms}


def render(cold: dict, warm: dict | None, many: dict, count: int, idle_s: float) -> str:
    med = statistics.median

    def fmt(values: list[float]) -> str:
        return f"median {med(values):.0f} ms, p95 {pct(values, 0.95):.0f} ms" if values else "no data"

    lines = [MARK, "", "Written by `uv run python bench/flows.py`; see docs/flows.md.", "",
             "| figure | cao | target | public CAO |", "|---|---|---|---|",
             f"| scheduler: cron instant → run started ({len(cold['to_start'])} fires) | {fmt(cold['to_start'])} "
             "| — | polls every 60 s: up to 60 s |",
             f"| cron instant → prompt typed into the agent, `prestart: 0` (the agent started at the fire, "
             f"{len(cold['to_prompt'])} fires) | {fmt(cold['to_prompt'])} | — | up to 60 s + start |"]
    if warm is not None:
        lines.append(f"| cron instant → prompt typed, the default `prestart` ({len(warm['to_prompt'])} fires) | "
                     f"{fmt(warm['to_prompt'])} | ≤ 100 ms | — |")
    lines += [
        f"| idle server CPU with {count} registered flows, {idle_s:.0f} s | {many['cpu_pct']:.2f} % of a core | "
        "≤ 0.5 % | — |",
        f"| `cao flow list` with {count} flows, a new process ({len(many['list_ms'])} runs) | median "
        f"{med(many['list_ms']):.0f} ms (`--json`: {med(many['json_ms']):.0f} ms; `cao session list` with no "
        f"session, same runs: {med(many['session_ms']):.0f} ms) | ≤ 150 ms | — |",
        f"| registering {count} flows one `POST /flows` at a time | {many['added_s']:.1f} s | — | — |",
        "",
        "With `prestart: 0` the time to the prompt is mostly the agent's start (a new session, the mock "
        "agent's process, its MCP client listing cao's tools), which a run pays after its gate has decided; "
        "with the default prestart (30 s) the agent is already waiting and the fire costs the scheduler, "
        "the gate and the paste. "
        "`GET /flows` is rendered once per change (about 7 ms for 1,000 flows when cached); most of "
        "`cao flow list` is the CLI process's own start, as the `cao session list` figure shows.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--no-warm", action="store_true", help="skip the prestart measurement")
    opts = parser.parse_args()
    fires, count, idle_s, list_runs = (5, 100, 5, 3) if opts.quick else (20, 1000, 30, 10)
    with tempfile.TemporaryDirectory(prefix="cao-bench-flows-") as tmp:
        bench = Bench(Path(tmp))
        bench.start()
        try:
            cold = fire_precision(bench, fires, prestart=0)
            warm = None if opts.no_warm else fire_precision(bench, fires)
            many = many_flows(bench, count, idle_s, list_runs)
        finally:
            bench.stop()
    report = render(cold, warm, many, count, idle_s)
    print(report)
    if not opts.no_write:
        sections.write_section(ROOT / "docs" / "performance.md", MARK, report)


if __name__ == "__main__":
    main()
