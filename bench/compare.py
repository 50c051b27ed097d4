"""cao side by side with the public CAO 2.5.4, in one run; writes its section of docs/performance.md.

    bench/install_upstream.sh            # once: the public CAO into /tmp/upstream-venv (+ wrk, hyperfine)
    uv run python bench/compare.py       # [--quick] [--no-write]

See bench/README.md for what each figure measures.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sections
from harness import (
    LOOPBACK,
    Target,
    comm,
    free_port,
    hyperfine,
    median,
    memory_kb,
    pane_pids,
    per_terminal_processes,
    wrk,
)
from targets import CAO_VENV, ROOT, UPSTREAM_VENV, agent_test, cao_target, compile_bytecode, upstream_target

MARK = sections.COMPARE
RESTART_TERMINALS, RESTART_TERMINALS_QUICK = 50, 30


IMPORTS, STARTUP = "imports", "start-up work"  # cao-server's own account of its start (its INFO log)


def start_to_health(targets: list[Target], runs: int) -> dict[str, list[float]]:
    """Start → healthy of each target, interleaved so all see the same machine; for cao also how long
    its interpreter start and imports took and how long its start-up work took, as it logs them."""
    out: dict[str, list[float]] = {t.name: [] for t in targets}
    out[IMPORTS], out[STARTUP] = [], []
    for _ in range(runs):
        for t in targets:
            out[t.name].append(t.start(*(["--log-level", "info"] if t.is_cao else [])))
            t.stop()
            if t.is_cao:
                log = t.log_path.read_text()
                out[IMPORTS].append(float(re.findall(r"imports took (\d+) ms", log)[-1]) / 1000)
                out[STARTUP].append(float(re.findall(r"start-up work took (\d+) ms", log)[-1]) / 1000)
    return out


GROUPS = {"fastapi": "FastAPI/Starlette", "starlette": "FastAPI/Starlette", "sqlalchemy": "SQLAlchemy/SQLModel",
          "sqlmodel": "SQLAlchemy/SQLModel", "pydantic": "pydantic", "pydantic_core": "pydantic", "cao": "cao's own"}


def import_shares() -> dict[str, float]:
    """Share of cao-server's import time per library (``python -X importtime`` self times, grouped)."""
    out = subprocess.run([str(CAO_VENV / "bin" / "python"), "-X", "importtime", "-c",
                          "import cao.server.main, cao.server.app, uvicorn"], capture_output=True, text=True).stderr
    by_group: dict[str, float] = {}
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[0].split(":")[-1].strip().isdigit():
            top = parts[2].strip().split(".")[0]
            group = GROUPS.get(top, "the rest (stdlib, uvicorn, pyte, yaml, …)")
            by_group[group] = by_group.get(group, 0) + int(parts[0].split(":")[-1])
    total = sum(by_group.values()) or 1
    return {k: v / total for k, v in sorted(by_group.items(), key=lambda kv: -kv[1])}


def sessions_latency(t: Target, count: int) -> list[float]:
    conn = http.client.HTTPConnection(LOOPBACK, t.port, timeout=30)
    out = []
    for _ in range(count):
        start = time.perf_counter()
        conn.request("GET", "/sessions", headers=t.headers())
        response = conn.getresponse()
        response.read()
        out.append((time.perf_counter() - start) * 1000)
        assert response.status == 200, response.status
    conn.close()
    return out


def bare_target(cao: Target) -> Target:
    """cao's server without its middleware (Host/Origin checks), to show what the middleware costs."""
    port, home = free_port(), cao.home.parent / "bare-home"
    env = {**cao.env, "CAO_API_PORT": str(port), "CAO_HOME": str(home), "CAO_TMUX_SOCKET": f"cao_bare_{os.getpid()}"}
    return Target(name="cao, no middleware", server_argv=[str(CAO_VENV / "bin" / "python"),
                  str(ROOT / "bench" / "bare_server.py"), str(port)], cli=cao.cli, env=env, port=port, home=home,
                  provider=cao.provider, is_cao=True)


def label(pid: int) -> str:
    """A process's name; for Python, the module it runs (``python -m cao.mcp.server`` → cao.mcp.server)."""
    name = comm(pid)
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return name
    if name.startswith("python") and "-m" in argv[:-1]:
        return argv[argv.index("-m") + 1]
    return name


def grow(t: Target, total: int) -> None:
    have = len(t.sessions())
    for i in range(have, total):
        t.launch(f"bench{i}")


def memory_per_terminal(t: Target, terminals: int) -> dict[str, float]:
    procs = per_terminal_processes(t, agent_test(t, pane_pids(t)))
    by_kind: dict[str, float] = {}
    pss = rss = 0
    for pid in procs:
        p, r = memory_kb(pid)
        pss, rss = pss + p, rss + r
        by_kind[label(pid)] = by_kind.get(label(pid), 0) + p
    return {"pss_mb": pss / 1024 / terminals, "rss_mb": rss / 1024 / terminals, "processes": len(procs) / terminals,
            "kinds": {k: v / 1024 / terminals for k, v in sorted(by_kind.items())}}


def concurrent_inputs(t: Target, count: int) -> dict[str, float]:
    """POST /terminals/{id}/input to ``count`` different terminals at once vs one at a time."""
    ids = [s["conductor_id"] for s in t.sessions()][:count]

    def post(tid: str) -> float:
        start = time.perf_counter()
        status, body = t.request("POST", f"/terminals/{tid}/input", body={"message": "hello"})
        assert status == 200, body
        return (time.perf_counter() - start) * 1000

    def settle() -> None:
        for tid in ids:
            t.request("GET", f"/terminals/{tid}/wait", params={"timeout": 30}, timeout=40)

    alone = []
    for tid in ids:
        alone.append(post(tid))
        settle()
    together: list[float] = []
    for _ in range(3):
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            together += list(pool.map(post, ids))
        settle()
    return {"alone_median": median(alone), "together_median": median(together), "together_max": max(together)}


def restart_adoption(t: Target, terminals: int, runs: int) -> dict[str, float]:
    """SIGKILL the server with ``terminals`` live ones; time the restart until healthy, and check at once
    that every terminal is tracked (answers with its status, and takes input)."""
    grow(t, terminals)
    times, untracked, adoption = [], 0, []
    for _ in range(runs):
        t.stop(signal.SIGKILL)
        times.append(t.start())
        adoption += [float(ms) / 1000 for ms in re.findall(r"re-adopted \d+ live terminal\(s\) in (\d+) ms",
                                                             t.log_path.read_text())[-1:]]
        health = t.request("GET", "/health")[1]
        untracked += terminals - int(health["terminals"])
        for s in t.sessions():
            status, body = t.request("GET", f"/terminals/{s['conductor_id']}")
            untracked += status != 200 or body["status"] in ("unknown", "error")
    probe = t.sessions()[0]["conductor_id"]
    accepted = t.request("POST", f"/terminals/{probe}/input", body={"message": "after restart"})[0] == 200
    return {"median_s": median(times), "max_s": max(times), "untracked": untracked, "input_ok": accepted,
            "adoption_s": median(adoption)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer runs and shorter loads (a smoke check)")
    parser.add_argument("--no-write", action="store_true", help="print without touching docs/performance.md")
    opts = parser.parse_args()
    runs, seconds, scale = (3, 3, (1, 20, 30)) if opts.quick else (7, 10, (1, 20, 50, 100))
    compile_bytecode(CAO_VENV, ROOT / "src")
    compile_bytecode(UPSTREAM_VENV)
    fig: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="cao-compare-") as tmp:
        cao, upstream = cao_target(Path(tmp)), upstream_target(Path(tmp))
        both = [cao, upstream]
        try:
            fig["start"] = start_to_health(both, runs)
            fig["import_shares"] = import_shares()
            fig["help"] = dict(zip(["cao", "upstream"], [
                hyperfine([f"{t.cli} --help"], env=t.env, runs=runs * 3)[0] for t in both], strict=True))
            bare = bare_target(cao)
            for t in (*both, bare):
                t.start()
            fig["health"] = {t.name: wrk(t, "/health", 50, seconds) for t in (*both, bare)}
            bare.stop()
            for t in both:
                grow(t, 20)
            time.sleep(3)  # every terminal idle, one reconciliation pass done
            fig["sessions"] = {t.name: wrk(t, "/sessions", 50, seconds) for t in both}
            fig["memory"] = {t.name: memory_per_terminal(t, 20) for t in both}
            upstream.remove_all()
            upstream.stop()
            upstream.kill_tmux()
            fig["inputs"] = concurrent_inputs(cao, 10)
            fig["scale"] = {}
            restart_at = RESTART_TERMINALS_QUICK if opts.quick else RESTART_TERMINALS
            for n in scale:
                grow(cao, n)
                fig["scale"][n] = median(sessions_latency(cao, 300))
                if n == restart_at:
                    fig["restart"] = restart_adoption(cao, n, 3)
        finally:
            for t in both:
                if t.process is not None:
                    t.stop(signal.SIGKILL)
                t.kill_tmux()
    report = render(fig, quick=opts.quick)
    print(report)
    if not opts.no_write:
        sections.write_section(ROOT / "docs" / "performance.md", sections.COMPARE, report)


def render(fig: dict, *, quick: bool) -> str:
    cao, up = "cao", "public CAO 2.5.4"
    start = fig["start"]
    s_cao, s_up = median(start[cao]), median(start[up])
    imports, startup = median(start[IMPORTS]), median(start[STARTUP])
    health, sessions, memory = fig["health"], fig["sessions"], fig["memory"]
    scale, inputs, restart, help_ms = fig["scale"], fig["inputs"], fig["restart"], fig["help"]
    mem_c, mem_u = memory[cao], memory[up]
    kinds = ", ".join(f"{k} {v:.1f} MB" for k, v in mem_c["kinds"].items())
    tmux = subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip()
    n_restart = RESTART_TERMINALS_QUICK if quick else RESTART_TERMINALS
    rows = [
        (f"server start → first healthy `/health` ({len(start[cao])} runs each, interleaved)",
         f"{s_cao:.2f} s: interpreter and imports {imports:.2f} s, start-up work {startup:.2f} s, "
         f"the rest (binding, the first request) {s_cao - imports - startup:.2f} s", f"{s_up:.2f} s",
         f"{s_up / s_cao:.1f}× ahead"),
        ("`GET /health`, 50 connections, wrk", _rps(health[cao]), _rps(health[up]),
         f"{health[cao]['rps'] / health[up]['rps']:.1f}× ahead"),
        ("`GET /health` without cao's Host/Origin middleware (its cost)", _rps(health["cao, no middleware"]), "—",
         f"the middleware costs {(1 - health[cao]['rps'] / health['cao, no middleware']['rps']) * 100:.0f} % "
         "of req/s"),
        ("`GET /sessions`, 20 sessions, 50 connections, wrk", _rps(sessions[cao]), _rps(sessions[up]),
         f"{sessions[cao]['rps'] / sessions[up]['rps']:.0f}× ahead"),
        ("`GET /sessions` latency vs sessions (median of 300, one client)",
         ", ".join(f"{n}: {ms:.2f} ms" for n, ms in scale.items()), "—",
         f"+{(scale[max(scale)] - scale[min(scale)]) / (max(scale) - min(scale)) * 1000:.0f} µs per session"),
        ("10 inputs to 10 terminals at once (`POST /terminals/{id}/input`)",
         f"one at a time: median {inputs['alone_median']:.1f} ms; all at once: median "
         f"{inputs['together_median']:.1f} ms, slowest {inputs['together_max']:.1f} ms", "—",
         f"slowest of 10 at once = {inputs['together_max'] / inputs['alone_median']:.1f}× one alone"),
        ("`cao --help` cold (hyperfine)", f"{help_ms['cao']:.0f} ms", f"{help_ms['upstream']:.0f} ms",
         f"{help_ms['upstream'] / help_ms['cao']:.1f}× ahead"),
        ("memory per idle terminal, agent excluded (PSS, 20 terminals)",
         f"{mem_c['pss_mb']:.1f} MB PSS / {mem_c['rss_mb']:.1f} MB RSS in {mem_c['processes']:.0f} process(es): "
         f"{kinds}", f"{mem_u['pss_mb']:.1f} MB PSS / {mem_u['rss_mb']:.1f} MB RSS", ""),
        (f"restart (SIGKILL) → healthy, {n_restart} live terminals re-adopted",
         f"median {restart['median_s']:.2f} s, max {restart['max_s']:.2f} s, of which re-adoption "
         f"{restart['adoption_s'] * 1000:.0f} ms; {restart['untracked']} untracked right after; input accepted: "
         f"{'yes' if restart['input_ok'] else 'NO'}", "—", ""),
    ]
    lines = [
        f"{MARK} 2.5.4",
        "",
        "Written by `uv run python bench/compare.py` (after `bench/install_upstream.sh`); do not edit by hand.",
        f"One run, both on this machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {tmux}, {time.strftime('%Y-%m-%d %H:%M')}{' (quick run)' if quick else ''}.",
        "",
        "| figure | cao | public CAO 2.5.4 | ratio |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        "Medians unless stated. Both venvs have their bytecode compiled (pip does it at install, `uv sync` does",
        "not). Imports and start-up work (migrations, loading the store, re-adoption) are what cao-server",
        "logs at `--log-level info` about its own start (imports: from the process start to `main` having",
        "imported uvicorn and the app). The imports",
        "split as " + ", ".join(f"{name} {share * 100:.0f} %" for name, share in fig["import_shares"].items())
        + " (`python -X importtime` self times). Memory",
        "counts every process tmux runs for the terminals (each pane's tree and its pipe-pane reader) except",
        "the agent itself. The load generator (wrk, 2 threads) shares the 2 cores with the server.",
        "",
    ]
    return "\n".join(lines)


def _rps(r: dict[str, float]) -> str:
    return f"{r['rps']:,.0f} req/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.1f} ms" + (
        f", {r['non_2xx']} non-2xx" if r["non_2xx"] else "")


if __name__ == "__main__":
    main()
