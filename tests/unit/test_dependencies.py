"""Every run-time dependency in pyproject.toml is imported by cao itself (test-only ones are dev deps)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMPORT_NAME = {"python-frontmatter": "frontmatter", "pyyaml": "yaml"}
# Declared ahead of the feature that uses it, with the reason.
AHEAD_OF_USE = {"httptools": "not imported: uvicorn's HTTP parser, which cao-server asks for (http='httptools')",
                "websockets": "not imported: uvicorn's WebSocket protocol, for /terminals/{id}/ws"}


def test_every_runtime_dependency_is_imported_by_cao() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    source = "\n".join(path.read_text() for path in (ROOT / "src" / "cao").rglob("*.py"))
    unused = []
    for requirement in declared:
        name = re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower()
        module = IMPORT_NAME.get(name, name.replace("-", "_"))
        if name not in AHEAD_OF_USE and not re.search(rf"^\s*(import|from) {module}\b", source, re.MULTILINE):
            unused.append(name)
    assert unused == [], f"declared but never imported by src/cao: {unused} (test-only ones go to the dev group)"
