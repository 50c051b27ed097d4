"""Provider for Amazon Q Developer CLI (``q``) — UNTESTED: written from AWS's documentation and the public
CAO's description of its removed q_cli provider (shared/reference/upstream-cao-spec.md §8.12, "Kiro-like"),
never run by cao: Q is not on npm or PyPI (AWS ships it as an installer) and needs an AWS Builder ID or
IAM Identity Center sign-in, so it cannot run here. Kiro CLI is its successor. See docs/providers/untested.md.

Everything but the names is Kiro's (cao.providers.kiro_cli): ``q chat --agent cao-<terminal id>
[--trust-all-tools] [--model M]`` with a new agent file ``~/.aws/amazonq/cli-agents/cao-<terminal
id>.json`` (0600), the same ``[agent] >`` prompt, ``> `` answers, ``Allow this action? … [y/n/t]:``
permission line; ``/quit`` exits.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cao.providers.base import StartupDialog
from cao.providers.kiro_cli import KiroCliProvider


class QCliProvider(KiroCliProvider):
    name: ClassVar[str] = "q_cli"
    binary: ClassVar[str] = "q"
    package_hint: ClassVar[str] = "AWS's Amazon Q Developer CLI installer (see the Amazon Q Developer user guide)"
    exit_command: ClassVar[str] = "/quit"
    env_passthrough: ClassVar[tuple[str, ...]] = ("Q_", "AMAZON_Q_")
    startup_dialogs: ClassVar[tuple[StartupDialog, ...]] = ()
    agents_dir: ClassVar[Path] = Path("~/.aws/amazonq/cli-agents")
    subcommand: ClassVar[tuple[str, ...]] = ("chat",)
