"""Command line of ``cao-mock-agent``: parse flags, set up the terminal, run the agent."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from cao.mock_agent.agent import Agent
from cao.mock_agent.config import Config
from cao.mock_agent.script import Script, ScriptError, load_mcp_config, load_script
from cao.mock_agent.tty import Terminal
from cao.mock_agent.ui import Screen

VERSION = "0.1.0"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cao-mock-agent",
        description="A mock AI coding CLI for offline tests and demos: it looks like a real agent "
        "on screen and answers from a script.",
        epilog="Environment: CAO_MOCK_SCRIPT (script file when --script is not given), "
        "CAO_MOCK_TRACE (append JSON-lines trace events to this file).",
    )
    parser.add_argument("--name", help="profile name shown in the banner")
    parser.add_argument("--model", default="mock-1", help="model name shown in the banner")
    parser.add_argument("--system-prompt-file", metavar="FILE", help="system prompt (shown by /system-prompt)")
    parser.add_argument("--script", metavar="FILE", help="JSON or YAML script of rules (see docs/mock-agent.md)")
    parser.add_argument("--mcp-config", metavar="FILE",
                        help='{"mcpServers": {...}}: MCP servers to connect to at start (for "tool" steps)')
    parser.add_argument("--delay", type=float, default=None, metavar="SECONDS",
                        help="thinking time at the start of every turn (default: $CAO_MOCK_DELAY or 0.2)")
    parser.add_argument("--yolo", action="store_true", help="never ask permission (auto-approve)")
    parser.add_argument("--version", action="version", version=f"cao-mock-agent {VERSION}")
    args = parser.parse_args(argv)
    if args.delay is None:
        try:
            args.delay = float(os.environ.get("CAO_MOCK_DELAY") or 0.2)
        except ValueError:
            parser.error(f"CAO_MOCK_DELAY={os.environ['CAO_MOCK_DELAY']!r} is not a number of seconds")
    if args.delay < 0:
        parser.error("--delay must be >= 0")
    return args


def build_config(args: argparse.Namespace) -> Config:
    cfg = Config(name=args.name, model=args.model or "mock-1", delay=args.delay, yolo=args.yolo,
                 trace_path=os.environ.get("CAO_MOCK_TRACE") or None)
    if args.system_prompt_file:
        try:
            with open(args.system_prompt_file, encoding="utf-8") as fh:
                cfg.system_prompt = fh.read()
        except OSError as err:
            raise ScriptError(f"cannot read system prompt {args.system_prompt_file!r}: {err.strerror}") from err
    cfg.script_path = args.script or os.environ.get("CAO_MOCK_SCRIPT") or None
    cfg.script = load_script(cfg.script_path) if cfg.script_path else Script()
    if args.mcp_config:
        cfg.mcp_servers = load_mcp_config(args.mcp_config)
    return cfg


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cfg = build_config(args)
    except ScriptError as err:
        print(f"cao-mock-agent: error: {err}", file=sys.stderr)
        return 2
    fd = sys.stdin.fileno()
    live = os.isatty(fd) and sys.stdout.isatty()
    term = Terminal(fd)
    screen = Screen(sys.stdout, live=live)
    agent = Agent(cfg, screen, term)

    def on_winch(*_: object) -> None:
        agent.resized = True

    def on_term(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    if live:
        signal.signal(signal.SIGWINCH, on_winch)
        term.enter()
        screen.write("\x1b[?2004h")
    try:
        return agent.run(os.getcwd())
    except KeyboardInterrupt:
        return 130
    finally:
        agent.close()
        if live:
            try:
                screen.write("\x1b[?2004l\x1b[?25h")
                term.leave()
            except OSError:
                pass  # the terminal is gone (SIGHUP)


if __name__ == "__main__":
    raise SystemExit(main())
