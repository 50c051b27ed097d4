"""The two implementations compared by bench/compare.py, each in its own private environment.

* cao: this checkout's ``.venv`` (private ``CAO_HOME``, tmux socket and port; the mock agent).
* the public CAO 2.5.4: the venv made by ``bench/install_upstream.sh`` (private ``HOME`` and
  ``TMUX_TMPDIR``, its ``mock_cli`` provider driving ``bench/fake_agents/mock_cli``).

Both venvs get their bytecode compiled first (pip does that for the public CAO; ``uv sync`` does
not), so cold starts compare the code, not the compiler.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from harness import HERE, Target, bench_env, comm, free_port, which

ROOT = HERE.parent
CAO_VENV = Path(sys.prefix)
UPSTREAM_VENV = Path(os.environ.get("CAO_UPSTREAM_VENV", "/tmp/upstream-venv"))


def compile_bytecode(venv: Path, *extra: Path) -> None:
    site = next((venv / "lib").glob("python3*/site-packages"))
    print(f"compiling bytecode in {venv} (as pip does at install)", file=sys.stderr)
    subprocess.run([str(venv / "bin" / "python"), "-m", "compileall", "-q", "-j", "0", str(site), *map(str, extra)],
                   capture_output=True, check=False)


def cao_target(workdir: Path) -> Target:
    home = workdir / "cao" / "home"
    home.mkdir(parents=True)
    port = free_port()
    env = bench_env({"CAO_HOME": str(home), "CAO_TMUX_SOCKET": f"cao_compare_{os.getpid()}",
                     "CAO_API_PORT": str(port), "CAO_AUTO_START": "0",
                     "PATH": f"{CAO_VENV / 'bin'}:{os.environ['PATH']}"})
    return Target(name="cao", server_argv=[which("cao-server", CAO_VENV), "--port", str(port)],
                  cli=which("cao", CAO_VENV), env=env, port=port, home=home, provider="mock", is_cao=True)


def upstream_target(workdir: Path) -> Target:
    if not (UPSTREAM_VENV / "bin" / "cao-server").exists():
        raise SystemExit(f"the public CAO is not installed in {UPSTREAM_VENV}; run bench/install_upstream.sh")
    base = workdir / "upstream"
    home, fakebin, tmux_dir = base / "home", base / "fakebin", base / "tmux"
    for d in (home, fakebin, tmux_dir):
        d.mkdir(parents=True)
    tmux_dir.chmod(0o700)
    shutil.copy(HERE / "fake_agents" / "mock_cli", fakebin / "mock_cli")
    (fakebin / "mock_cli").chmod(0o755)
    # Its panes start login shells, and /etc/profile resets PATH: put the fake agent back on it.
    (home / ".profile").write_text(f'export PATH="{fakebin}:$PATH"\n')
    port = free_port()
    env = bench_env({"HOME": str(home), "TMUX_TMPDIR": str(tmux_dir), "CAO_API_PORT": str(port),
                     "PATH": f"{fakebin}:{UPSTREAM_VENV / 'bin'}:{os.environ['PATH']}"})
    target = Target(name="public CAO 2.5.4", server_argv=[which("cao-server", UPSTREAM_VENV), "--port", str(port)],
                    cli=which("cao", UPSTREAM_VENV), env=env, port=port, home=home, provider="mock_cli",
                    is_cao=False)
    subprocess.run([target.cli, "install", "developer"], env=env, capture_output=True, check=True, cwd=base)
    return target


def agent_test(target: Target, panes: list[int]) -> Callable[[int], bool]:
    """Which processes are the agents themselves (excluded from the per-terminal cost)."""
    if target.is_cao:
        agents = set(panes)  # cao execs the agent as the pane's own process
        return lambda pid: pid in agents
    return lambda pid: comm(pid) == "mock_cli"  # the public CAO's pane is a login shell running it
