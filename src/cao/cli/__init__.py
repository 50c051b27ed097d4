"""The ``cao`` command. Subcommands load lazily so ``cao --help`` stays fast."""

from __future__ import annotations

import importlib
import sys

import click

from cao import __version__
from cao.errors import CaoError

# name → (module:attribute, one-line help). The help is here so `cao --help` imports nothing else.
COMMANDS = {
    "demo": ("cao.cli.demo:demo", "Run a supervisor and four mock workers offline; print the final answer."),
    "doctor": ("cao.cli.doctor:doctor", "Check tmux, the server and every provider's CLI and version."),
    "events": ("cao.cli.events:events", "Follow the server's events: statuses, terminals, messages, flow runs."),
    "flow": ("cao.cli.flow:flow", "Scheduled and gated agent runs, with a history of what each did."),
    "info": ("cao.cli.info:info", "Show cao's home, database, server and tmux state."),
    "install": ("cao.cli.install:install", "Install an agent profile from a name, a .md file or an https URL."),
    "model-server": ("cao.cli.model_server:model_server",
                     "Serve scripted Anthropic/OpenAI/Gemini APIs so real CLIs run offline."),
    "memory": ("cao.cli.memory:memory", "What agents remembered: list, show, forget or clear memories."),
    "mcp-server": ("cao.cli.mcp:mcp_server", "Run cao's MCP server for the agent in this terminal (stdio)."),
    "plugins": ("cao.cli.plugins:plugins", "List the server's plugins: loaded, failed to load (and why), counters."),
    "ops-mcp-server": ("cao.cli.ops_mcp:ops_mcp_server",
                       "Run cao's control plane as MCP tools for an agent outside cao (stdio)."),
    "launch": ("cao.cli.launch:launch", "Start an agent in its own tmux session; attach or run a task."),
    "schedule": ("cao.cli.flow:flow", "The same as `cao flow` (the public CAO's name for it)."),
    "session": ("cao.cli.session:session", "Inspect and talk to running sessions."),
    "skills": ("cao.cli.skills:skills", "List, show, add and remove the skills agents load on demand."),
    "shutdown": ("cao.cli.shutdown:shutdown", "Stop agents: kill their tmux session(s)."),
    "team": ("cao.cli.team:team", "Check a team file (one YAML file for a root agent and its sub-agents)."),
    "terminal": ("cao.cli.terminal:terminal", "Work with single terminals: restore one, connect an MCP client as one."),
    "ui": ("cao.cli.ui:ui", "Open the web UI, signed in with a one-time URL."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, _, attr = COMMANDS[cmd_name][0].partition(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_text) for name, (_, help_text) in sorted(COMMANDS.items())])

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except CaoError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="cao")
def cli() -> None:
    """Run real AI coding CLIs as one team in tmux.

    Start with `cao launch --agents developer`, or try everything offline with `cao demo`.
    """


def main() -> None:
    sys.exit(cli.main(prog_name="cao"))
