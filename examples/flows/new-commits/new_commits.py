#!/usr/bin/env python3
"""Gate for new-commits.flow.md: run the reviewer only when the repository has commits it has not seen.

cao runs this directly (no shell) in the flow's working_directory, and reads one JSON object from
stdout: {"execute": bool, "output": {...}}. The last reviewed commit is kept in
$CAO_HOME/flow-state/new-commits.head (CAO_HOME defaults to ~/.cao).
"""

import json
import os
import subprocess
from pathlib import Path


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()


state = Path(os.environ.get("CAO_HOME") or Path.home() / ".cao") / "flow-state" / "new-commits.head"
head = git("rev-parse", "HEAD")
seen = state.read_text().strip() if state.exists() else None
if seen == head:
    print(json.dumps({"execute": False, "output": {"head": head, "reason": "no new commits"}}))
    raise SystemExit(0)
since = [f"{seen}..{head}"] if seen else ["-n", "5"]
log = git("log", "--oneline", "--no-decorate", *since)
state.parent.mkdir(parents=True, exist_ok=True)
state.write_text(head + "\n")
print(json.dumps({"execute": True, "output": {
    "count": len(log.splitlines()), "branch": git("rev-parse", "--abbrev-ref", "HEAD"), "log": log, "head": head}}))
