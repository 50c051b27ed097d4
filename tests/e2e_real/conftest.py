"""Fixtures for the real CLIs: pinned binaries from npm, the scripted model server, private HOMEs.

Everything runs against the real CLI binaries (installed by scripts/install-real-clis into a cache
directory) and cao's scripted model server on a free loopback port. Each test gets its own HOME and
TMPDIR, so nothing touches the user's own CLI configuration, and no daemon outlives the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cao.client import ApiClient
from cao.settings import Settings
from tests.conftest import ServerProcess, free_port, retry_until

ROOT = Path(__file__).resolve().parents[2]

# Third-party CLIs on a loaded two-core machine sometimes lose a key pressed at the very moment they
# redraw (a few tests per CI run, mostly a different one each time). A test that needs its reruns in
# run after run is a defect, not noise: Qwen Code's Esc mid-turn was one (the turn it takes back).
# Each real-CLI test gets two more tries; the summary lists every rerun (``-r R``), and a test that fails
# three times fails the run.
REAL_CLI_RERUNS = int(os.environ.get("CAO_REAL_CLI_RERUNS", "2"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if REAL_CLI_RERUNS and here in item.path.parents and not item.get_closest_marker("flaky"):
            item.add_marker(pytest.mark.flaky(reruns=REAL_CLI_RERUNS))


@pytest.fixture(scope="session")
def real_clis_bin() -> Path:
    """The pinned CLIs' bin directory. Nothing is downloaded here (``./scripts/test`` installs them first)."""
    out = subprocess.run([str(ROOT / "scripts" / "install-real-clis"), "--check"], capture_output=True, text=True,
                         timeout=60, check=False)
    if out.returncode != 0:
        reason = (f"{out.stderr.strip()} (about 740 MB from npm, once; ./scripts/test does it before pytest)")
        if os.environ.get("CAO_REQUIRE_REAL_CLIS") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return Path(out.stdout.strip().splitlines()[-1])


# A file in the format of ``install-real-clis --list`` that replaces the table for this run
# (scripts/check-latest-clis points it at the latest versions).
VERSIONS_OVERRIDE = "CAO_REAL_CLIS_TABLE"


def cli_versions(package: str) -> list[tuple[str, Path]]:
    """Each version of ``package`` the tier runs, as (version, bin directory), from the one table in
    ``scripts/install-real-clis`` (``--list``; the pinned version first), or from the file named by
    ``$CAO_REAL_CLIS_TABLE`` instead. Read at collection, installs nothing."""
    override = os.environ.get(VERSIONS_OVERRIDE)
    if override:
        rows = Path(override).read_text().splitlines()
    else:
        rows = subprocess.run([str(ROOT / "scripts" / "install-real-clis"), "--list"], capture_output=True, text=True,
                              timeout=60, check=True).stdout.splitlines()
    return [(version, Path(bin_dir)) for name, version, bin_dir in (row.split() for row in rows if row.strip())
            if name == package]


def cli_version_fixture(package: str) -> Any:
    """A fixture, parametrised over ``cli_versions(package)`` (test ids ``[<version>]``), that puts that
    version's bin directory first on PATH and returns the version. Request it before ``real_server``
    (cao-server, started after it, then runs that version)."""
    versions = cli_versions(package)

    @pytest.fixture(params=versions, ids=[version for version, _ in versions])
    def version_on_path(request: pytest.FixtureRequest, real_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
        version, bin_dir = request.param
        monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
        return version

    return version_on_path


class ModelServer:
    """cao's scripted model server in a subprocess; rules can be swapped between turns."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.script = workdir / "model-script.json"
        self.log = workdir / "model-requests.jsonl"
        self.set_rules([])
        self.stderr = (workdir / "model-server.err").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cao", "model-server", "--script", str(self.script), "--port", str(self.port),
             "--log", str(self.log)], stdout=subprocess.DEVNULL, stderr=self.stderr)
        client = ApiClient(Settings(home=workdir, api_port=self.port))
        retry_until(lambda: self._up(client), 20, message="model server starts")

    def _up(self, client: ApiClient) -> bool:
        try:
            client.request("GET", "/_cao/health", timeout=1)
        except Exception:
            return False
        return True

    def set_rules(self, rules: list[dict[str, Any]], default: dict[str, Any] | None = None) -> None:
        data: dict[str, Any] = {"rules": rules}
        if default is not None:
            data["default"] = default
        before = self.script.stat().st_mtime_ns if self.script.exists() else 0
        self.script.write_text(json.dumps(data))
        # The server reloads on a changed mtime; make sure it changes even within one clock tick.
        os.utime(self.script, ns=(time.time_ns(), max(time.time_ns(), before + 1_000_000)))

    def requests(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.stderr.close()


@pytest.fixture
def model(tmp_path: Path) -> Iterator[ModelServer]:
    server = ModelServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def real_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_clis_bin: Path) -> Path:
    """A private HOME and TMPDIR, with the real CLIs first on PATH, for cao-server and its agents."""
    home = tmp_path / "home"
    home.mkdir()
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setenv("PATH", f"{real_clis_bin}:{os.environ['PATH']}")
    for key in list(os.environ):
        if key.startswith(("ANTHROPIC_", "OPENAI_", "GEMINI_", "GOOGLE_", "CLAUDE", "CODEX_")):
            monkeypatch.delenv(key)
    return home


@pytest.fixture
def real_server(real_home: Path, model: ModelServer, settings: Settings) -> Iterator[ServerProcess]:
    """cao-server started with the private HOME/PATH (each provider test adds its env before this)."""
    srv = ServerProcess(settings)
    srv.start()
    yield srv
    srv.stop()
