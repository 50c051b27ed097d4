"""The memory store over a real SQLite database (FTS5), and its LIKE fallback on the same data."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from cao.errors import InvalidInput
from cao.models import utcnow
from cao.services.memory import scopes
from cao.services.memory.config import MemorySettings, Retention
from cao.services.memory.records import MemoryRecord
from cao.services.memory.store import MemoryStore
from cao.settings import Settings
from cao.store import make_engine, open_session

MINE = [("session", "cao-s1"), ("project", "github.com/org/app"), ("agent", "developer"), ("global", "")]


@pytest.fixture(params=["fts5", "like"])
def store(request: pytest.FixtureRequest, settings: Settings) -> MemoryStore:
    memory = MemoryStore(make_engine(settings), settings.memory)
    assert memory.fts  # this machine's SQLite has FTS5: the fallback is chosen on purpose below
    memory.fts = request.param == "fts5"
    return memory


def test_put_get_update_and_delete(store: MemoryStore) -> None:
    first = store.put("project", "github.com/org/app", "Run tests with: uv run pytest -q", key="test-command",
                      created_by="0123abcd")
    assert (first.action, first.memory.key, first.memory.created_by, first.masked) == (
        "created", "test-command", "0123abcd", ())
    assert store.put("project", "github.com/org/app", "Run tests with: uv run pytest -q",
                     key="test-command").action == "unchanged"
    again = store.put("project", "github.com/org/app", "Run tests with: make test", key="test-command")
    assert again.action == "updated"
    assert store.get("project", "github.com/org/app", "test-command").content == "Run tests with: make test"
    assert store.get("project", "elsewhere", "test-command") is None  # another project's key is another memory
    assert store.delete("project", "github.com/org/app", "test-command") is True
    assert store.delete("project", "github.com/org/app", "test-command") is False
    assert store.count() == 0


def test_a_key_is_made_from_the_content_and_never_overwrites_another_text(store: MemoryStore) -> None:
    one = store.put("global", "", "The CI runs on Ubuntu 24.04 with Python 3.12, always.")
    two = store.put("global", "", "The CI runs on Ubuntu 24.04 with Python 3.13 next year.")
    same = store.put("global", "", "The CI runs on Ubuntu 24.04 with Python 3.12, always.")
    assert one.memory.key == "the-ci-runs-on-ubuntu-24"
    assert two.memory.key == "the-ci-runs-on-ubuntu-24-2"
    assert (same.memory.key, same.action) == ("the-ci-runs-on-ubuntu-24", "unchanged")
    assert store.put("global", "", "!!! ???").memory.key == "memory"


def test_secrets_are_masked_before_storing(store: MemoryStore) -> None:
    stored = store.put("project", "p", "deploy with GITHUB_TOKEN ghp_0123456789abcdefABCDEF0123456789abcd and "
                       "db postgres://app:s3cr3t-Pa55@db:5432/app", key="deploy")
    assert stored.masked == ("github-token", "url-password")
    content = store.get("project", "p", "deploy").content
    assert "ghp_0123" not in content and "s3cr3t" not in content
    assert "[secret:github-token]" in content and "postgres://app:[secret:url-password]@db" in content
    assert store.recall("s3cr3t Pa55", [("project", "p")]) == []  # the secret is not searchable either


@pytest.mark.parametrize("call, message", [
    (lambda s: s.put("project", "p", "x", key="Bad Key"), "invalid memory key 'Bad Key'"),
    (lambda s: s.put("project", "p", "x", key="-dash"), "invalid memory key '-dash'"),
    (lambda s: s.put("project", "p", "x", key="k" * 61), "invalid memory key"),
    (lambda s: s.put("team", "p", "x"), "invalid memory scope 'team': use one of session, project, agent, global"),
    (lambda s: s.put("project", "p", "   "), "memory content is empty"),
    (lambda s: s.put("project", "p", "a\x00b"), "NUL byte"),
    (lambda s: s.put("project", "p", "x" * (16 * 1024 + 1)), "memory content is too long (16385 bytes; limit 16 KiB)"),
    (lambda s: s.recall("x", MINE, limit=0), "invalid limit 0: give a whole number from 1 to 100"),
    (lambda s: s.recall("x", MINE, limit=101), "invalid limit 101"),
    (lambda s: s.recall("x" * 1001, MINE), "query is too long"),
], ids=["spaces", "dash", "long-key", "scope", "empty", "nul", "too-long", "limit-0", "limit-101", "long-query"])
def test_bad_input_is_refused_with_a_clear_error_and_nothing_stored(store: MemoryStore, call, message: str) -> None:
    store.put("project", "p", "kept", key="kept")
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(store)
    assert [m.key for m in store.latest()] == ["kept"]


def test_recall_ranks_by_relevance_within_the_callers_scopes_only(store: MemoryStore) -> None:
    store.put("project", "github.com/org/app", "Database migrations live in src/app/migrations.py; "
              "run them with make migrate.", key="db-migrations")
    store.put("project", "github.com/org/app", "The staging database is reset every night.", key="staging")
    store.put("global", "", "Prefer small commits with clear messages.", key="commits")
    store.put("session", "cao-s1", "Today: fix the flaky login test.", key="today")
    store.put("project", "github.com/other/secret-project", "Database migrations are in db/ here.", key="db")
    store.put("session", "cao-s2", "Another session's database notes.", key="notes")

    found = store.recall("how do I run database migrations", MINE)
    assert [m.key for m in found] == ["db-migrations", "staging"]  # both words beat one; others' memories hidden
    assert found[0].score > found[1].score > 0
    assert [m.key for m in store.recall("migration", MINE)] == ["db-migrations"]  # key and content, any form
    assert [m.key for m in store.recall("login", MINE)] == ["today"]
    assert store.recall("nothing matches this", MINE) == []
    only_global = store.recall("commits database", MINE[3:])
    assert [(m.key, m.scope) for m in only_global] == [("commits", "global")]


def test_recall_without_words_gives_the_most_recent_and_odd_text_is_no_syntax(store: MemoryStore) -> None:
    for i in range(5):
        store.put("agent", "developer", f"note number {i}", key=f"note-{i}")
    assert [m.key for m in store.recall("", MINE, limit=3)] == ["note-4", "note-3", "note-2"]
    assert [m.key for m in store.recall('  "*" -- ; ', MINE, limit=2)] == ["note-4", "note-3"]
    # FTS5 operators and quotes in a query are just words (or nothing), never a syntax error.
    odd = store.recall('number NEAR(4) "note" AND OR*', MINE, limit=1)
    assert len(odd) == 1 and odd[0].key.startswith("note-")
    assert [m.key for m in store.recall("100%_done", MINE)] == []


def test_a_key_word_weighs_more_than_a_content_word(store: MemoryStore) -> None:
    store.put("global", "", "Notes about many things, including deployment once.", key="misc")
    store.put("global", "", "Use the blue-green script.", key="deployment")
    assert store.recall("deployment", MINE)[0].key == "deployment"


def test_retention_caps_each_scope_id_and_expires_by_age(settings: Settings) -> None:
    tight = MemorySettings(retention=(("session", Retention(14, 3)), ("project", Retention(90, 2)),
                                      ("agent", Retention(None, 2)), ("global", Retention(None, 10))))
    store = MemoryStore(make_engine(settings), tight)
    for i in range(5):
        store.put("project", "a", f"text {i}", key=f"k{i}")
    store.put("project", "b", "other project", key="k0")
    assert [m.key for m in store.latest("project", "a")] == ["k4", "k3"]  # the two most recent stay
    assert [m.key for m in store.latest("project", "b")] == ["k0"]  # counted per project

    store.put("session", "cao-old", "old", key="old")
    store.put("global", "", "forever", key="forever")
    with open_session(store.engine) as db:
        db.execute(sa.update(MemoryRecord).values(updated_at=utcnow() - timedelta(days=100)))
        db.commit()
    store.put("session", "cao-live", "fresh", key="fresh")
    store.put("session", "cao-gone", "of a removed session", key="gone")
    assert store.prune(live_sessions={"cao-live"}) == 5  # 2+1 project (90 d), old (14 d), gone (removed)
    assert sorted((m.scope, m.key) for m in store.latest()) == [("global", "forever"), ("session", "fresh")]


def test_settings_from_the_environment_and_their_errors() -> None:
    memory = Settings.from_env({"HOME": "/h", "CAO_MEMORY_SESSION_DAYS": "never", "CAO_MEMORY_PROJECT_MAX": "7",
                                "CAO_MEMORY_PROMPT_CHARS": "0"}).memory
    assert memory.retention_of("session") == Retention(None, 500)
    assert memory.retention_of("project") == Retention(90, 7)
    assert (memory.prompt_chars, memory.enabled) == (0, True)
    assert Settings.from_env({"HOME": "/h", "CAO_MEMORY": "off"}).memory.enabled is False
    with pytest.raises(InvalidInput, match="CAO_MEMORY_AGENT_MAX='0' is not a whole number from 1 to"):
        Settings.from_env({"HOME": "/h", "CAO_MEMORY_AGENT_MAX": "0"})


@pytest.mark.parametrize("url, project", [
    ("git@github.com:Org/App.git", "github.com/Org/App"),
    ("https://github.com/org/app.git/", "github.com/org/app"),
    ("https://x-access-token:ghp_secret@GitHub.com/org/app", "github.com/org/app"),
    ("ssh://git@gitlab.example.com:2222/group/sub/app.git", "gitlab.example.com/group/sub/app"),
    ("file:///srv/git/app.git", "/srv/git/app"),
])
def test_git_remotes_are_normalised_without_credentials(url: str, project: str) -> None:
    assert scopes.normalise_remote(url) == project


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


def test_project_id_is_the_remote_else_the_repository_else_the_folder(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert scopes.project_id(plain) == str(plain)
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    git("init", "-q", str(repo))
    assert scopes.project_id(repo / "sub") == str(repo)
    assert scopes.project_id(repo / "sub") == str(repo)  # cached
    git("-C", str(repo), "remote", "add", "upstream", "git@github.com:someone/else.git")
    git("-C", str(repo), "remote", "add", "origin", "https://bot:ghp_fake0123456789@github.com/org/app.git")
    scopes._projects.clear()
    assert scopes.project_id(repo / "sub") == "github.com/org/app"  # origin's, without its credentials
    # A worktree reads the main repository's config.
    git("-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")
    git("-C", str(repo), "worktree", "add", "-q", str(tmp_path / "wt"))
    assert scopes.project_id(tmp_path / "wt") == "github.com/org/app"


def test_old_style_and_commented_git_config(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text('[core]\n\turl = not-this\n[Remote.origin]\n'
                                              '\tURL = "git@host.example:a/b.git" ; a comment\n')
    assert scopes.project_id(tmp_path) == "host.example/a/b"


def test_the_most_recent_of_each_scope_in_one_query(store: MemoryStore) -> None:
    for i in range(4):
        store.put("global", "", f"global {i}", key=f"g{i}")
        store.put("session", "cao-s1", f"session {i}", key=f"s{i}")
    store.put("session", "cao-other", "not mine", key="other")
    found = store.recent_by_scope(MINE, 2)
    assert {scope: [m.key for m in memories] for scope, memories in found.items()} == {
        "session": ["s3", "s2"], "project": [], "agent": [], "global": ["g3", "g2"]}


def test_the_index_follows_updates_and_deletes(store: MemoryStore) -> None:
    store.put("global", "", "The mirror is in Frankfurt.", key="mirror")
    assert [m.key for m in store.recall("frankfurt", MINE)] == ["mirror"]
    store.put("global", "", "The mirror moved to Lisbon.", key="mirror")
    assert store.recall("frankfurt", MINE) == []
    assert [m.key for m in store.recall("lisbon", MINE)] == ["mirror"]
    store.clear("global")
    assert store.recall("lisbon mirror", MINE) == []
