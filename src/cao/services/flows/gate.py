"""The gating script: run directly (an argv of one path, never a shell), with a timeout.

Its stdout must be one JSON object ``{"execute": bool, "output": {...}}``. No script means
``{"execute": true, "output": {}}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cao.errors import CaoError

MAX_OUTPUT_BYTES = 1024 * 1024
SHAPE = 'print one JSON object such as {"execute": true, "output": {"name": "value"}}'


class GateError(CaoError):
    """The script failed, timed out or broke the output contract; the message says which and how to fix it."""


@dataclass
class GateResult:
    execute: bool
    output: dict[str, Any] = field(default_factory=dict)


def parse_output(stdout: bytes, script: str) -> GateResult:
    try:
        data = json.loads(stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        shown = stdout.decode("utf-8", "replace").strip()[:200]
        raise GateError(f"script {script} printed something that is not JSON ({exc}): {shown!r}; it must "
                        f"{SHAPE}") from None
    if not isinstance(data, dict) or "execute" not in data or "output" not in data:
        raise GateError(f"script {script} printed JSON of the wrong shape (keys: "
                        f"{sorted(data) if isinstance(data, dict) else type(data).__name__}); it must {SHAPE}")
    if not isinstance(data["execute"], bool):
        raise GateError(f"script {script}: \"execute\" must be true or false, not {data['execute']!r}")
    if not isinstance(data["output"], dict):
        raise GateError(f"script {script}: \"output\" must be a JSON object, not {type(data['output']).__name__}")
    return GateResult(execute=data["execute"], output=data["output"])


async def run_gate(script: str | None, *, cwd: str | None, env: dict[str, str], timeout: float) -> GateResult:
    if script is None:
        return GateResult(execute=True)
    if not os.access(script, os.X_OK):
        raise GateError(f"script {script} is missing or not executable; fix it with: chmod +x {script}")
    try:
        process = await asyncio.create_subprocess_exec(
            script, cwd=cwd or str(Path(script).parent), env={**os.environ, **env},
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True)
    except OSError as exc:
        raise GateError(f"script {script} could not be started: {exc.strerror or exc} (does it have a #! line?)"
                        ) from None
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)  # its children too: it was started in its own session
        await process.wait()
        raise GateError(f"script {script} did not finish within {timeout:g}s (script_timeout); it was killed"
                        ) from None
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        raise
    if process.returncode != 0:
        tail = stderr.decode("utf-8", "replace").strip()[-300:]
        raise GateError(f"script {script} exited with code {process.returncode}" + (f": {tail}" if tail else ""))
    if len(stdout) > MAX_OUTPUT_BYTES:
        raise GateError(f"script {script} printed more than {MAX_OUTPUT_BYTES // 1024} KiB")
    return parse_output(stdout, script)
