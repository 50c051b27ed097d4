"""``add_date`` and ``add_environment_info``: facts added to a team member's system prompt at start."""

from __future__ import annotations

import datetime
import platform
import subprocess
from pathlib import Path

from cao.services import prompt_parts
from cao.teams import members, policy

GIT_TIMEOUT_S = 2.0


def contribute(starting: prompt_parts.Starting) -> str | None:
    found = policy.member_of(starting.rt, starting.session_name, starting.profile.name)
    if found is None:
        return None
    team, member = found
    # An installed profile with team fields: its body is the instruction; its prompt files, toolset
    # instructions, team and output format come here.
    parts = []
    if team is None:
        parts += [text.strip() for _, text in member.prompt_files if text.strip()]
        parts += members.team_parts(None, member)
    lines = []
    if member.add_date:
        lines.append(f"Today's date: {datetime.date.today().isoformat()}")
    if member.add_environment_info:
        lines += environment_lines(starting.working_directory)
    if lines:
        parts.append("## Context\n" + "\n".join(lines))
    return "\n\n".join(parts) or None


def environment_lines(cwd: Path) -> list[str]:
    lines = [f"Working directory: {cwd}", f"Operating system: {platform.system()} {platform.release()}",
             f"CPU architecture: {platform.machine()}"]
    branch = _git(cwd, "rev-parse", "--abbrev-ref", "HEAD")
    if branch is None:
        lines.append("Git repository: no")
        return lines
    status = _git(cwd, "status", "--porcelain") or ""
    changed = len([line for line in status.splitlines() if line.strip()])
    lines.append(f"Git repository: yes, branch {branch}, "
                 + (f"{changed} changed file(s)" if changed else "no uncommitted changes"))
    return lines


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def register() -> None:
    if contribute not in prompt_parts.CONTRIBUTORS:
        prompt_parts.CONTRIBUTORS.append(contribute)
