"""Plugins installed for real (built and installed by uv into a directory on cao-server's PYTHONPATH):
the webhook example posts a mock session's events to a local receiver, while a plugin that fails to
import and one whose every hook raises are listed with why, and the server carries on."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cao.cli import cli
from cao.client import ApiClient
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.helpers import launch
from tests.webhook_receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = ROOT / "examples" / "plugins" / "cao-webhook"


def _broken_package(where: Path) -> Path:
    """A package with two bad plugins: one raises at import, one raises in every hook."""
    (where / "src" / "cao_broken").mkdir(parents=True)
    (where / "src" / "cao_broken" / "__init__.py").write_text(textwrap.dedent('''
        from cao.plugins import CaoPlugin

        class Raises(CaoPlugin):
            async def on_session_created(self, event):
                raise RuntimeError("this hook always fails")
    '''))
    (where / "src" / "cao_broken" / "at_import.py").write_text("import cao_no_such_dependency\n")
    (where / "pyproject.toml").write_text(textwrap.dedent('''
        [project]
        name = "cao-broken"
        version = "0.0.1"
        [project.entry-points."cao.plugins"]
        raises = "cao_broken:Raises"
        broken-import = "cao_broken.at_import:Plugin"
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [tool.hatch.build.targets.wheel]
        packages = ["src/cao_broken"]
    '''))
    return where


@pytest.fixture
def plugin_site(tmp_path: Path) -> Path:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is needed to build and install the example plugin")
    site = tmp_path / "site"
    install = [uv, "pip", "install", "--no-deps", "--target", str(site), str(WEBHOOK),
               str(_broken_package(tmp_path / "broken"))]
    # Offline first (the build backend, hatchling, is in uv's cache once cao itself was built), else online.
    result = subprocess.run([*install, "--offline"], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        result = subprocess.run(install, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return site


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def plugin_server(settings: Settings, plugin_site: Path, receiver: Receiver,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiClient]:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(plugin_site), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("CAO_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("CAO_WEBHOOK_EVENTS", "session.*,terminal.created,terminal.status")
    monkeypatch.setenv("CAO_WEBHOOK_STATUSES", "*")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    server = ServerProcess(settings)
    server.start()
    yield server.client
    server.stop()


def test_installed_plugins_run_isolated_and_are_listed(plugin_server: ApiClient, workdir: Path,
                                                      receiver: Receiver) -> None:
    api = plugin_server
    by_name = retry_until(lambda: {p["name"]: p for p in api.get("/plugins")} if all(
        p["status"] != "starting" for p in api.get("/plugins")) else None, message="plugins settled")
    assert by_name["webhook"]["status"] == "running" and by_name["webhook"]["distribution"] == "cao-webhook"
    assert by_name["broken-import"]["status"] == "failed"
    assert by_name["broken-import"]["error"] == ("import failed: ModuleNotFoundError: "
                                                 "No module named 'cao_no_such_dependency'")

    terminal = launch(api, workdir)  # the raising plugin does not get in the way
    def posted(kind: str) -> list[dict]:
        return [body for body in receiver.bodies if body["kind"] == kind]

    retry_until(lambda: posted("terminal.created") and posted("terminal.status"), message="the webhook posted")
    assert [b["data"]["session"] for b in posted("session.created")] == ["cao-t1"]
    assert posted("terminal.created")[0]["data"]["terminal_id"] == terminal["id"]
    statuses = posted("terminal.status")  # these name only the terminal: the session comes from the registry
    assert {b["data"]["terminal_id"] for b in statuses} == {terminal["id"]}
    assert {b["session"] for b in statuses} == {"cao-t1"}
    ids = [b["id"] for b in receiver.bodies]
    assert ids == sorted(ids)  # in the bus's order
    raises = retry_until(lambda: next(p for p in api.get("/plugins") if p["name"] == "raises")["errors"] and
                         next(p for p in api.get("/plugins") if p["name"] == "raises"), message="the hook's error")
    assert raises["last_error"].endswith("RuntimeError: this hook always fails")

    listed = CliRunner().invoke(cli, ["plugins", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split() == ["PLUGIN", "STATUS", "PACKAGE", "EVENTS", "ERRORS", "TIMEOUTS", "SKIPPED"]
    assert any(line.split()[:4] == ["webhook", "running", "cao-webhook", "0.1.0"] for line in lines)
    assert "broken-import: import failed: ModuleNotFoundError: No module named 'cao_no_such_dependency'" in lines
    assert any(line.startswith("raises: last error: session.created #") for line in lines)

    api.request("DELETE", "/sessions/t1")
    retry_until(lambda: receiver.bodies[-1]["kind"] == "session.removed", message="session.removed posted")


def test_without_plugins_the_list_says_how_to_add_one(api: ApiClient) -> None:
    assert api.get("/plugins") == []
    listed = CliRunner().invoke(cli, ["plugins", "list"])
    assert listed.exit_code == 0 and listed.output.startswith('No plugins installed. A plugin is a package with an '
                                                              'entry point in group "cao.plugins"')
