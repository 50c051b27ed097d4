"""Where ``scripts/install-real-clis`` puts the pinned agent CLIs, so cao finds them there too.

The script installs into ``${CAO_REAL_CLIS_DIR:-~/.cache/cao/real-clis}`` (never globally); a provider
whose binary is not on PATH is looked for in that directory's ``node_modules/.bin``. CLIs from PyPI
(Kimi CLI) get a directory of their own beside it, ``<dir>-<name>/bin`` (``pypi_bin_dir``).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DIR = "~/.cache/cao/real-clis"


def bin_dir() -> Path:
    root = os.environ.get("CAO_REAL_CLIS_DIR") or DEFAULT_DIR
    return Path(root).expanduser() / "node_modules" / ".bin"


def pypi_bin_dir(name: str) -> Path:
    """The bin directory of a CLI the script installs from PyPI (``uv tool install``), e.g. ``kimi``."""
    root = os.environ.get("CAO_REAL_CLIS_DIR") or DEFAULT_DIR
    return Path(f"{Path(root).expanduser()}-{name}") / "bin"
