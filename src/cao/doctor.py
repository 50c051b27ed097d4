"""What is installed: each provider's binary and version, and tmux. Used by `cao doctor` and the API."""

from __future__ import annotations

import re
import subprocess
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from cao import real_clis
from cao.errors import ProviderUnavailable
from cao.providers import Provider, get_provider, provider_names

VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?(?:[-.+][0-9A-Za-z.]+)?")


@dataclass(frozen=True)
class ProviderStatus:
    name: str
    binary: str
    installed: bool
    path: str | None
    version: str | None
    tested_versions: tuple[str, ...]
    tested: bool | None  # None when not installed or the version is unknown
    install_hint: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@lru_cache(maxsize=32)
def _version(path: str, mtime_ns: int, args: tuple[str, ...]) -> str | None:
    try:
        out = subprocess.run([path, *args], capture_output=True, text=True, timeout=20, check=False,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = VERSION.search(out.stdout or out.stderr or "")
    return found.group(0) if found else None


def provider_status(provider: Provider) -> ProviderStatus:
    try:
        path = provider.resolve_binary()
    except ProviderUnavailable:
        return ProviderStatus(provider.name, provider.binary, False, None, None, provider.tested_versions, None,
                              provider.package_hint)
    version = None
    if provider.tested_versions:  # providers without a tested range (the mock) ship with cao
        version = _version(path, Path(path).stat().st_mtime_ns, tuple(provider.version_args))
    tested = None if version is None else version in provider.tested_versions
    return ProviderStatus(provider.name, provider.binary, True, path, version, provider.tested_versions, tested,
                          provider.package_hint)


def search_places() -> list[str]:
    """Where a provider's binary is looked for, in order (see ``Provider.resolve_binary``)."""
    return ["PATH", str(real_clis.bin_dir()), str(real_clis.pypi_bin_dir("kimi"))]


def all_providers() -> list[ProviderStatus]:
    return [provider_status(get_provider(name)) for name in provider_names()]
