"""``cao install``: put a profile into ``<CAO_HOME>/agent-store/<name>.md``.

Three source forms: a built-in profile's name, a local ``.md`` file, or an ``https://`` URL.
The profile is read and validated completely before anything is written, and the write is
atomic (temp file + ``os.replace``), so a failed install never damages what is stored.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cao.errors import InvalidInput, InvalidProfile, ProfileNotFound
from cao.profile_files import ignored_fields
from cao.profiles import NAME, builtin_profiles_dir, local_store_dir, parse_profile

MAX_PROFILE_BYTES = 256 * 1024
DOWNLOAD_TIMEOUT_S = 15.0


@dataclass
class InstallResult:
    name: str
    path: Path
    source_kind: str  # "name" | "file" | "url"
    replaced: bool
    warnings: list[str] = field(default_factory=list)  # fields cao accepts but ignores (skills)


def _builtin_names() -> list[str]:
    directory = builtin_profiles_dir()
    return sorted(p.stem for p in directory.glob("*.md")) if directory.is_dir() else []


def check_url(url: str) -> None:
    """Accept only ``https://host/.../<file>.md`` without credentials in it."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "http":
        raise InvalidInput(f"refusing to download {url}: https is required (plain http can be tampered with)")
    if scheme != "https":
        raise InvalidInput(f"unsupported URL scheme {parts.scheme!r} in {url}: use an https:// URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidInput("refusing a URL with user credentials in it (user@host); "
                           "download the file yourself and install it from disk")
    if not parts.hostname:
        raise InvalidInput(f"URL {url} has no host")
    if not parts.path.lower().endswith(".md"):
        raise InvalidInput(f"URL {url} does not point at a .md file")


class _SameHostRedirect(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to the same host and scheme as the original URL."""

    def __init__(self, origin: str) -> None:
        parts = urlsplit(origin)
        self.scheme, self.host = parts.scheme.lower(), (parts.hostname or "").lower()

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        target = urlsplit(newurl)
        host = (target.hostname or "").lower()
        if host != self.host:
            raise InvalidInput(f"refusing redirect from {self.host} to another host ({host or newurl}); "
                               "install from the final URL if you trust it")
        if target.scheme.lower() != self.scheme:
            raise InvalidInput(f"refusing redirect from {self.scheme}:// to {target.scheme}:// on {host}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def make_opener(url: str, *, proxies: dict[str, str] | None = None) -> urllib.request.OpenerDirector:
    """An opener whose redirects stay on ``url``'s host; ``proxies=None`` uses the environment's."""
    return urllib.request.build_opener(urllib.request.ProxyHandler(proxies), _SameHostRedirect(url))


def _download(url: str, *, opener: urllib.request.OpenerDirector | None = None,
              timeout: float = DOWNLOAD_TIMEOUT_S, limit: int = MAX_PROFILE_BYTES) -> bytes:
    """GET ``url`` (scheme checks are the caller's job) with the same-host and size limits."""
    opener = opener or make_opener(url)
    request = urllib.request.Request(url, headers={"User-Agent": "cao-install", "Accept": "text/*"})
    try:
        with opener.open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > limit:
                raise InvalidInput(f"profile at URL is larger than {limit // 1024} KiB")
            data = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        raise InvalidInput(f"could not download {url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise InvalidInput(f"could not download {url}: {exc.reason}") from None
    except TimeoutError:
        raise InvalidInput(f"could not download {url}: no answer within {timeout:g} s") from None
    if len(data) > limit:
        raise InvalidInput(f"profile at URL is larger than {limit // 1024} KiB")
    return data


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidProfile(f"{source}: not UTF-8 text") from None


def _write_atomically(directory: Path, name: str, text: str) -> tuple[Path, bool]:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    target = directory / f"{name}.md"
    replaced = target.exists() or target.is_symlink()
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target, replaced


def _from_name(name: str) -> tuple[str, str]:
    path = builtin_profiles_dir() / f"{name}.md"
    if not path.is_file():
        raise ProfileNotFound(f"unknown built-in profile {name!r}; built-in profiles: "
                              f"{', '.join(_builtin_names()) or 'none'} (or give a .md file or an https URL)")
    return path.read_text(encoding="utf-8"), name


def _from_file(source: str) -> tuple[str, str]:
    path = Path(source).expanduser()
    if not path.exists():
        raise InvalidInput(f"no such file: {source} (and it is not a profile name or an https URL)")
    if not path.is_file():
        raise InvalidInput(f"{source} is not a file")
    if path.suffix.lower() != ".md":
        raise InvalidInput(f"{source} is not a .md file; a profile is Markdown with YAML frontmatter")
    if path.stat().st_size > MAX_PROFILE_BYTES:
        raise InvalidInput(f"{source} is larger than {MAX_PROFILE_BYTES // 1024} KiB")
    return _decode(path.read_bytes(), source), path.stem


def _from_url(url: str, fetch: Callable[[str], bytes] | None) -> tuple[str, str]:
    check_url(url)
    data = (fetch or _download)(url)
    if len(data) > MAX_PROFILE_BYTES:
        raise InvalidInput(f"profile at URL is larger than {MAX_PROFILE_BYTES // 1024} KiB")
    return _decode(data, url), Path(urlsplit(url).path).stem


def install_text(text: str, filename: str, home: Path) -> InstallResult:
    """Install a profile given as text (the web UI's file upload), named by ``filename``'s stem unless
    its frontmatter names it; the same checks as a local file."""
    if len(text.encode()) > MAX_PROFILE_BYTES:
        raise InvalidInput(f"{filename} is larger than {MAX_PROFILE_BYTES // 1024} KiB")
    if not filename.lower().endswith(".md"):
        raise InvalidInput(f"{filename} is not a .md file; a profile is Markdown with YAML frontmatter")
    stem = Path(filename).stem
    profile = parse_profile(text, source=filename, default_name=stem if NAME.fullmatch(stem) else None)
    path, replaced = _write_atomically(local_store_dir(home), profile.name, text)
    return InstallResult(name=profile.name, path=path, source_kind="upload", replaced=replaced,
                         warnings=ignored_fields(profile.name, {"skills": profile.skills}, home))


def install_profile(source: str, home: Path, *,
                    fetch: Callable[[str], bytes] | None = None) -> InstallResult:
    """Install from a built-in name, a local ``.md`` file or an ``https://`` URL."""
    source = source.strip()
    if not source:
        raise InvalidInput("give a profile name, a .md file or an https:// URL to install")
    if "://" in source:
        kind = "url"
        text, stem = _from_url(source, fetch)
    elif NAME.fullmatch(source):
        kind = "name"
        text, stem = _from_name(source)
    else:
        kind = "file"
        text, stem = _from_file(source)
    shown = source if kind != "name" else f"{source}.md"
    profile = parse_profile(text, source=shown, default_name=stem if NAME.fullmatch(stem) else None)
    path, replaced = _write_atomically(local_store_dir(home), profile.name, text)
    return InstallResult(name=profile.name, path=path, source_kind=kind, replaced=replaced,
                         warnings=ignored_fields(profile.name, {"skills": profile.skills}, home))
