"""scripts/test installs the real CLIs before pytest (visibly), and pytest itself never downloads them.

The scripts run for real, with fake ``uv`` and ``npm`` first on PATH that only record how they were called.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = (ROOT / "scripts" / "install-real-clis").read_text()


def _array(name: str) -> tuple[str, ...]:
    """The packages of one bash array in scripts/install-real-clis (its one table of versions)."""
    body = re.search(rf"^{name}=\((.*?)^\)", _SCRIPT, re.MULTILINE | re.DOTALL)
    assert body, name
    return tuple(re.findall(r'"([^"]+)"', body.group(1)))


PINNED = _array("packages")
EXTRA = _array("extra_versions")
KIMI = re.search(r'^kimi_spec="([^"]+)"', _SCRIPT, re.MULTILINE).group(1)  # type: ignore[union-attr]  # from PyPI
HERMES = "hermes-agent[mcp]==" + re.search(r'^hermes_version="([^"]+)"', _SCRIPT, re.MULTILINE).group(1)  # type: ignore[union-attr]


@pytest.fixture
def fakes(tmp_path: Path) -> dict[str, str]:
    """A PATH whose uv and npm append their arguments (and CAO_REQUIRE_REAL_CLIS) to calls.log."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("uv", "npm", "apt-get", "sudo"):
        fake = bin_dir / tool
        fake.write_text(f'#!/bin/sh\necho "{tool} $* require=${{CAO_REQUIRE_REAL_CLIS:-}}" >> "{log}"\n')
        fake.chmod(0o755)
    # Not inherited: ./scripts/test (as CI runs it) exports CAO_REQUIRE_REAL_CLIS=1 to this very pytest.
    outer = {k: v for k, v in os.environ.items() if k != "CAO_REQUIRE_REAL_CLIS"}
    # CAO_CHROMIUM, CAO_FIREFOX: browsers that are "there", so the web tier's install step stays out of these tests.
    return {**outer, "PATH": f"{bin_dir}:/usr/bin:/bin", "CAO_REAL_CLIS_DIR": str(tmp_path / "clis"),
            "LOG": str(log), "CAO_CHROMIUM": sys.executable,
            "CAO_FIREFOX": sys.executable}


def calls(env: dict[str, str]) -> list[str]:
    log = Path(env["LOG"])
    return log.read_text().splitlines() if log.exists() else []


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False)


def test_check_installs_nothing_and_says_how(fakes: dict[str, str]) -> None:
    result = run(fakes, "scripts/install-real-clis", "--check")
    assert result.returncode == 1
    assert "install them with: scripts/install-real-clis" in result.stderr
    assert calls(fakes) == [] and not Path(fakes["CAO_REAL_CLIS_DIR"]).exists()


def test_test_script_installs_the_clis_before_pytest_with_a_reason(fakes: dict[str, str]) -> None:
    result = run(fakes, "scripts/test", "-q")
    assert result.returncode == 0, result.stderr
    assert "the e2e_real tier runs the real Claude Code, Codex CLI, Gemini CLI" in result.stderr
    assert "about 880 MB from npm" in result.stderr
    npm = [c for c in calls(fakes) if c.startswith("npm install")]
    assert all(p in npm[0] for p in PINNED)  # the pinned set together, then each extra version on its own
    assert [c.split()[-2] for c in npm[1:]] == list(EXTRA)
    assert [c.split()[-2] for c in calls(fakes) if c.startswith("uv tool install")] == [KIMI, HERMES]  # uv, PyPI
    assert calls(fakes)[-1] == "uv run --frozen pytest -n 3 -q require=1"
    installed = run(fakes, "scripts/install-real-clis", "--check")
    assert installed.stdout.strip() == f"{fakes['CAO_REAL_CLIS_DIR']}/node_modules/.bin"

    run(fakes, "scripts/test", "tests/e2e_real/test_codex.py::test_x")  # installed now: no second download
    assert len([c for c in calls(fakes) if c.startswith("npm")]) == 1 + len(EXTRA)


def test_list_names_every_version_and_its_own_bin_directory(fakes: dict[str, str]) -> None:
    rows = [line.split() for line in run(fakes, "scripts/install-real-clis", "--list").stdout.splitlines()]
    clis = fakes["CAO_REAL_CLIS_DIR"]
    pinned = len(PINNED)
    assert [row[2] for row in rows[:pinned]] == [f"{clis}/node_modules/.bin"] * pinned
    assert [f"{row[0]}@{row[1]}" for row in rows[pinned:pinned + len(EXTRA)]] == list(EXTRA)
    assert ["hermes-agent", "0.19.0", f"{clis}-hermes/bin"] in rows  # from PyPI, a directory of its own
    assert rows[pinned][2] == f"{clis}-versions/claude-code@2.1.332/node_modules/.bin"
    assert [*KIMI.split("=="), f"{clis}-kimi/bin"] in rows  # a PyPI CLI, in a directory of its own
    assert calls(fakes) == []  # --list installs nothing


def test_test_script_skips_the_download_when_the_tier_is_not_selected(fakes: dict[str, str]) -> None:
    result = run(fakes, "scripts/test", "tests/unit", "tests/e2e/test_cli.py", "-x")
    assert result.returncode == 0, result.stderr
    assert not [c for c in calls(fakes) if c.startswith("npm")]
    assert calls(fakes)[-1] == "uv run --frozen pytest -n 3 tests/unit tests/e2e/test_cli.py -x require="


def test_real_cli_tier_skips_with_the_reason_or_fails_when_required(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # bash and coreutils, but no npm: nothing could be downloaded
    bin_dir.mkdir()
    for tool in ("bash", "cat", "mkdir", "env"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/bin/{tool}")
    env = {**os.environ, "PATH": str(bin_dir), "CAO_REAL_CLIS_DIR": str(tmp_path / "none")}
    env.pop("CAO_REQUIRE_REAL_CLIS", None)
    args = [sys.executable, "-m", "pytest", "tests/e2e_real/test_codex.py", "-q", "-rs", "-p", "no:cacheprovider"]
    skipped = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
    assert skipped.returncode == 0, skipped.stdout
    assert "skipped" in skipped.stdout and "install them with: scripts/install-real-clis" in skipped.stdout
    required = subprocess.run([*args, "-x"], capture_output=True, text=True, env={**env, "CAO_REQUIRE_REAL_CLIS": "1"},
                              cwd=ROOT, timeout=120, check=False)
    assert required.returncode == 1 and "install them with: scripts/install-real-clis" in required.stdout


def _fake_npm_registry(bin_dir: Path, latest: str) -> None:
    """An ``npm`` whose ``view`` answers ``latest`` for every package (released 2026-12-01) and whose
    ``install`` only logs (it is not run with --no-run)."""
    answer = json.dumps({"dist-tags": {"latest": latest}, "time": {latest: "2026-12-01T10:00:00.000Z"}})
    fake = bin_dir / "npm"
    fake.write_text(f"#!/bin/sh\necho \"npm $*\" >> \"$LOG\"\n[ \"$1\" = view ] && echo '{answer}'\nexit 0\n")
    fake.chmod(0o755)


def test_check_latest_clis_reports_an_untested_latest_version_and_installs_nothing_with_no_run(
        fakes: dict[str, str], tmp_path: Path) -> None:
    _fake_npm_registry(Path(fakes["PATH"].split(":")[0]), "99.0.0")
    result = run(fakes, "scripts/check-latest-clis", "--no-run", "--only", "codex")
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()
    assert header.split()[:3] == ["CLI", "pinned", "latest"]
    codex_pinned = next(p for p in PINNED if p.startswith("@openai/codex@")).rsplit("@", 1)[1]
    assert row.split() == ["codex", codex_pinned, "99.0.0", "2026-12-01", "no", "not", "run"]
    assert calls(fakes) == ["npm view @openai/codex dist-tags time --json"]


def test_check_latest_clis_runs_nothing_when_the_latest_is_in_the_table(fakes: dict[str, str]) -> None:
    latest = next(e for e in EXTRA if e.startswith("@openai/codex@")).rsplit("@", 1)[1]
    _fake_npm_registry(Path(fakes["PATH"].split(":")[0]), latest)
    result = run(fakes, "scripts/check-latest-clis", "--only", "codex")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split()[2:] == [latest, "2026-12-01", "yes", "not", "run", "(tested", "by",
                                                         "cao)"]
    assert not [c for c in calls(fakes) if "install" in c]


def test_the_version_table_of_the_e2e_real_tier_can_be_replaced_by_a_file(tmp_path: Path) -> None:
    listing = tmp_path / "versions"
    listing.write_text(f"@openai/codex 99.0.0 {tmp_path}/bin\n")
    env = {**os.environ, "CAO_REAL_CLIS_TABLE": str(listing)}
    out = subprocess.run([sys.executable, "-m", "pytest", "tests/e2e_real/test_codex.py", "--collect-only", "-q",
                          "-p", "no:cacheprovider"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                         check=False).stdout
    ids = [line for line in out.splitlines() if "::" in line]
    assert ids and all(line.endswith("[99.0.0]") for line in ids), out


def test_test_script_installs_chromium_only_for_the_web_tier(fakes: dict[str, str], tmp_path: Path) -> None:
    env = {**fakes, "CAO_CHROMIUM": str(tmp_path / "no-chromium")}
    result = run(env, "scripts/test", "tests/unit/test_scripts.py")
    assert result.returncode == 0, result.stderr
    assert not [c for c in calls(env) if "apt-get" in c]
    result = run(env, "scripts/test", "tests/e2e_web/test_dashboard.py::test_x")
    assert result.returncode == 0, result.stderr
    assert ("the e2e_web tier runs the web UI in Chromium and Firefox; installing Debian's chromium first"
            in result.stderr)
    installs = [c for c in calls(env) if "apt-get install" in c]
    assert len(installs) == 1 and "install -y -qq chromium require=" in installs[0]
    assert calls(env)[-1].startswith("uv run --frozen pytest -n 3 tests/e2e_web/test_dashboard.py::test_x")


def test_test_script_installs_firefox_esr_when_missing_for_the_web_tier(fakes: dict[str, str], tmp_path: Path) -> None:
    env = {**fakes, "CAO_FIREFOX": str(tmp_path / "no-firefox")}
    result = run(env, "scripts/test", "tests/unit/test_scripts.py")
    assert result.returncode == 0, result.stderr
    assert not [c for c in calls(env) if "apt-get" in c]
    result = run(env, "scripts/test", "tests/e2e_web/test_firefox.py")
    assert result.returncode == 0, result.stderr
    assert "installing Debian's firefox-esr first" in result.stderr
    installs = [c for c in calls(env) if "apt-get install" in c]
    assert len(installs) == 1 and "install -y -qq firefox-esr require=" in installs[0]
    env["CAO_CHROMIUM"] = str(tmp_path / "no-chromium")  # both missing: one apt-get for the two
    run(env, "scripts/test", "tests/e2e_web")
    assert "install -y -qq chromium firefox-esr require=" in calls(env)[-2], calls(env)
