from __future__ import annotations

import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

import pytest

from cao import profile_install
from cao.errors import InvalidInput, InvalidProfile, ProfileNotFound
from cao.profile_install import MAX_PROFILE_BYTES, _download, check_url, install_profile, make_opener
from cao.profiles import builtin_profiles_dir, load_profile

PROFILE = "---\nname: helper\ndescription: helps\nrole: reviewer\n---\nBe helpful.\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def store_files(home: Path) -> dict[str, str]:
    store = home / "agent-store"
    return {p.name: p.read_text() for p in store.iterdir()} if store.exists() else {}


# ---------------------------------------------------------------- ignored fields


def test_install_warns_about_skill_patterns_that_match_nothing(tmp_path: Path) -> None:
    source = tmp_path / "skilled.md"
    source.write_text("---\nname: skilled\nskills: [python, 'docs/*', 'cao-*']\n---\nBody.\n")
    result = install_profile(str(source), tmp_path / "home")
    assert result.warnings == ["profile 'skilled' lists skills (python, docs/*) that match no installed skill: "
                               "the agent starts without them (see: cao skills list)"]
    assert install_profile("developer", tmp_path / "home").warnings == []


# ---------------------------------------------------------------- built-in names


def test_install_builtin_by_name(tmp_path: Path) -> None:
    result = install_profile("developer", tmp_path)
    assert (result.name, result.source_kind, result.replaced) == ("developer", "name", False)
    assert result.path == tmp_path / "agent-store" / "developer.md"
    assert result.path.read_text() == (builtin_profiles_dir() / "developer.md").read_text()
    assert mode(result.path) == 0o600
    assert mode(result.path.parent) == 0o700
    assert install_profile("developer", tmp_path).replaced is True


def test_install_unknown_name_lists_builtins(tmp_path: Path) -> None:
    with pytest.raises(ProfileNotFound) as info:
        install_profile("nope", tmp_path)
    assert "unknown built-in profile 'nope'; built-in profiles: code_supervisor, developer, reviewer" in str(
        info.value)
    assert store_files(tmp_path) == {}


# ---------------------------------------------------------------- local files


def test_install_file_copies_under_profile_name(tmp_path: Path) -> None:
    source = tmp_path / "some-file.md"
    source.write_text(PROFILE)
    home = tmp_path / "home"
    result = install_profile(str(source), home)
    assert (result.name, result.source_kind, result.replaced) == ("helper", "file", False)
    assert result.path == home / "agent-store" / "helper.md"
    assert result.path.read_text() == PROFILE
    assert mode(result.path) == 0o600
    assert load_profile("helper", home).system_prompt == "Be helpful."


def test_install_file_name_defaults_to_stem(tmp_path: Path) -> None:
    source = tmp_path / "stemmy.md"
    source.write_text("---\ndescription: d\n---\nbody\n")
    assert install_profile(str(source), tmp_path / "home").name == "stemmy"


def test_invalid_file_leaves_stored_profile_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    good = tmp_path / "helper.md"
    good.write_text(PROFILE)
    install_profile(str(good), home)
    before = store_files(home)
    bad = tmp_path / "bad" / "helper.md"
    bad.parent.mkdir()
    bad.write_text("---\nname: helper\nallowedTools: fs_read\n---\n")
    with pytest.raises(InvalidProfile, match="field 'allowedTools' must be a list of strings"):
        install_profile(str(bad), home)
    assert store_files(home) == before


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    src = tmp_path / "helper.md"
    src.write_text(PROFILE)
    install_profile(str(src), home)
    src.write_text(PROFILE.replace("Be helpful.", "Changed."))

    def broken_replace(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(profile_install.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        install_profile(str(src), home)
    assert store_files(home) == {"helper.md": PROFILE}


class BadFile(NamedTuple):
    test_id: str
    name: str
    content: str | None  # None: make a directory
    message: str


BAD_FILES = [
    BadFile("missing", "absent.md", "", "no such file"),
    BadFile("not-md", "profile.txt", PROFILE, "is not a .md file"),
    BadFile("directory", "dir.md", None, "is not a file"),
    BadFile("too-big", "big.md", PROFILE + "x" * MAX_PROFILE_BYTES, "larger than 256 KiB"),
    BadFile("not-utf8", "latin.md", "---\nname: a\n---\ncaf\xe9", "not UTF-8 text"),
]


@pytest.mark.parametrize("case", BAD_FILES, ids=[c.test_id for c in BAD_FILES])
def test_install_bad_file(case: BadFile, tmp_path: Path) -> None:
    path = tmp_path / case.name
    if case.content is None:
        path.mkdir()
    elif case.test_id != "missing":
        path.write_bytes(case.content.encode("latin-1" if case.test_id == "not-utf8" else "utf-8"))
    with pytest.raises(InvalidInput, match=case.message):
        install_profile(str(path), tmp_path / "home")
    assert store_files(tmp_path / "home") == {}


# ---------------------------------------------------------------- URLs (injected fetch)


class Fetch:
    def __init__(self, data: bytes) -> None:
        self.data, self.urls = data, []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return self.data


def test_install_url(tmp_path: Path) -> None:
    fetch = Fetch(PROFILE.encode())
    result = install_profile("https://example.com/agents/x.md", tmp_path, fetch=fetch)
    assert fetch.urls == ["https://example.com/agents/x.md"]
    assert (result.name, result.source_kind) == ("helper", "url")
    assert result.path.read_text() == PROFILE


def test_install_url_name_defaults_to_url_stem(tmp_path: Path) -> None:
    result = install_profile("https://example.com/a/from_url.md", tmp_path, fetch=Fetch(b"---\n---\nhi"))
    assert result.name == "from_url"


class BadUrl(NamedTuple):
    test_id: str
    url: str
    message: str


BAD_URLS = [
    BadUrl("http", "http://example.com/x.md", "https is required"),
    BadUrl("HTTP-upper", "HTTP://example.com/x.md", "https is required"),
    BadUrl("ftp", "ftp://example.com/x.md", "unsupported URL scheme 'ftp'"),
    BadUrl("file", "file:///etc/passwd.md", "unsupported URL scheme 'file'"),
    BadUrl("userinfo", "https://user:secret@example.com/x.md", "user credentials"),
    BadUrl("user-only", "https://user@example.com/x.md", "user credentials"),
    BadUrl("no-host", "https:///x.md", "has no host"),
    BadUrl("not-md", "https://example.com/x.txt", "does not point at a .md file"),
    BadUrl("md-in-query-only", "https://example.com/x?f=a.md", "does not point at a .md file"),
]


@pytest.mark.parametrize("case", BAD_URLS, ids=[c.test_id for c in BAD_URLS])
def test_refused_urls_are_never_fetched(case: BadUrl, tmp_path: Path) -> None:
    fetch = Fetch(PROFILE.encode())
    with pytest.raises(InvalidInput, match=case.message):
        install_profile(case.url, tmp_path, fetch=fetch)
    assert fetch.urls == []
    assert store_files(tmp_path) == {}


def test_check_url_accepts_plain_https() -> None:
    check_url("https://raw.githubusercontent.com/o/r/main/agents/dev.md")
    check_url("https://example.com:8443/x.MD?ref=main")


def test_url_size_limit_applies_to_any_fetcher(tmp_path: Path) -> None:
    fetch = Fetch(PROFILE.encode() + b"x" * MAX_PROFILE_BYTES)
    with pytest.raises(InvalidInput, match=r"^profile at URL is larger than 256 KiB$"):
        install_profile("https://example.com/x.md", tmp_path, fetch=fetch)


def test_invalid_profile_at_url(tmp_path: Path) -> None:
    fetch = Fetch(b"<html>not a profile</html>")
    with pytest.raises(InvalidProfile, match=r"^https://example\.com/x\.md: missing YAML frontmatter"):
        install_profile("https://example.com/x.md", tmp_path, fetch=fetch)
    assert store_files(tmp_path) == {}


# ---------------------------------------------------------------- _download against a real server

BIG = b"x" * (MAX_PROFILE_BYTES + 1)
HEADER = b"---\nname: exact\n---\n"
EXACT = HEADER + b"y" * (MAX_PROFILE_BYTES - len(HEADER))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass

    def _send(self, body: bytes, *, length: bool = True, status: int = 200) -> None:
        self.send_response(status)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        routes = {
            "/good.md": lambda: self._send(PROFILE.encode()),
            "/exact.md": lambda: self._send(EXACT),
            "/big.md": lambda: self._send(BIG),
            "/big-no-length.md": lambda: self._send(BIG, length=False),
            "/to-same.md": lambda: self._redirect("/good.md"),
            "/to-same-absolute.md": lambda: self._redirect(f"http://127.0.0.1:{port}/good.md"),
            "/to-other-host.md": lambda: self._redirect(f"http://localhost:{port}/good.md"),
            "/to-other-scheme.md": lambda: self._redirect(f"https://127.0.0.1:{port}/good.md"),
        }
        routes.get(self.path, lambda: self._send(b"nope", status=404))()


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def download(url: str) -> bytes:
    return _download(url, opener=make_opener(url, proxies={}), timeout=5)


@pytest.mark.parametrize("path,expected", [
    ("/good.md", PROFILE.encode()),
    ("/exact.md", EXACT),
    ("/to-same.md", PROFILE.encode()),
    ("/to-same-absolute.md", PROFILE.encode()),
], ids=["plain", "exactly-at-limit", "relative-redirect", "absolute-redirect"])
def test_download_ok(server: str, path: str, expected: bytes) -> None:
    assert download(server + path) == expected


@pytest.mark.parametrize("path,message", [
    ("/big.md", "^profile at URL is larger than 256 KiB$"),
    ("/big-no-length.md", "^profile at URL is larger than 256 KiB$"),
    ("/to-other-host.md", "refusing redirect from 127.0.0.1 to another host .localhost"),
    ("/to-other-scheme.md", "refusing redirect from http:// to https://"),
    ("/missing.md", "HTTP 404"),
])
def test_download_refused(server: str, path: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        download(server + path)


def test_download_connection_refused() -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{httpd.server_address[1]}/good.md"
    httpd.server_close()
    with pytest.raises(InvalidInput, match="could not download"):
        download(url)
