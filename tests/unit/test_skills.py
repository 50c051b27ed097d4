"""The skill store: validation with errors that name the fix, staged add/replace that never loses the
stored skill, removal, seeding that keeps a user's edits, profile patterns and the catalog text."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cao.errors import Conflict, InvalidInput, InvalidProfile, NotFound
from cao.mcp.skill_tools import SCHEMA
from cao.profiles import parse_profile
from cao.services import skills
from cao.services.skills import builtins, catalog, store


def make(parent: Path, name: str, description: str = "Does a thing. Load it for things.",
         body: str = "# Thing\n\nDo the thing.\n", fm_name: str | None = None, **files: str) -> Path:
    folder = parent / name
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["---", f"name: {fm_name if fm_name is not None else name}"]
    if description is not None:
        lines.append(f"description: {description}")
    (folder / "SKILL.md").write_text("\n".join([*lines, "---", body]), encoding="utf-8")
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def snapshot(home: Path) -> dict[str, bytes]:
    root = skills.skills_dir(home)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"fm_name": "other"}, "field 'name' is 'other' but the folder is 'thing'; rename one so they agree"),
    ({"fm_name": ""}, "field 'name' is required; set it to the folder's name: name: thing"),
    ({"description": ""}, "field 'description' is required"),
    ({"description": "x" * 1100}, "field 'description' has 1100 characters (limit 1024)"),
    ({"body": "\n"}, "the body is empty; write the skill's instructions"),
])
def test_invalid_skill_md_is_refused_with_the_fix(tmp_path: Path, home: Path, kwargs: dict, expected: str) -> None:
    folder = make(tmp_path / "src", "thing", **kwargs)
    with pytest.raises(InvalidInput) as err:
        skills.add_skill(home, folder)
    assert expected in str(err.value) and str(folder / "SKILL.md") in str(err.value)
    assert not (skills.skills_dir(home) / "thing").exists()


def test_missing_skill_md_frontmatter_and_folder(tmp_path: Path, home: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidInput, match=r"has no SKILL\.md; a skill folder holds SKILL\.md"):
        skills.add_skill(home, empty)
    (empty / "SKILL.md").write_text("# no frontmatter\n")
    with pytest.raises(InvalidInput, match="missing YAML frontmatter") as err:
        skills.add_skill(home, empty)
    assert not isinstance(err.value, InvalidProfile)  # a skill's error, not a profile's
    with pytest.raises(InvalidInput, match="does not exist"):
        skills.add_skill(home, tmp_path / "nope")
    with pytest.raises(InvalidInput, match=r"is not a folder; give the folder that holds SKILL\.md"):
        skills.add_skill(home, empty / "SKILL.md")
    bad = make(tmp_path, "bad name")
    with pytest.raises(InvalidInput, match="invalid skill name 'bad name'"):
        skills.add_skill(home, bad)


def test_links_special_and_huge_files_are_refused(tmp_path: Path, home: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    linked = make(tmp_path / "a", "linked")
    (linked / "notes.md").symlink_to(secret)
    with pytest.raises(InvalidInput, match=r"notes.md is a symbolic link \(to .*secret.txt\); .*replace the link"):
        skills.add_skill(home, linked)
    dir_link = make(tmp_path / "b", "dirlink")
    (dir_link / "up").symlink_to(tmp_path)
    with pytest.raises(InvalidInput, match="is a symbolic link"):
        skills.add_skill(home, dir_link)
    fifo = make(tmp_path / "c", "fifo")
    os.mkfifo(fifo / "pipe")
    with pytest.raises(InvalidInput, match="pipe is not a regular file"):
        skills.add_skill(home, fifo)
    huge = make(tmp_path / "d", "huge", **{"data/big.txt": "x" * (store.MAX_FILE_BYTES + 1)})
    with pytest.raises(InvalidInput, match=r"big.txt is 256 KiB, over the 256 KiB limit"):
        skills.add_skill(home, huge)
    many = make(tmp_path / "e", "many", **{f"f{i}.txt": "x" for i in range(store.MAX_FILES + 1)})
    with pytest.raises(InvalidInput, match="more than 200 files"):
        skills.add_skill(home, many)
    assert snapshot(home) == {}  # nothing was stored


def test_names_that_escape_the_store_are_refused(home: Path) -> None:
    for name in ("../etc", "a/b", ".hidden", "", "x" * 65):
        with pytest.raises(InvalidInput, match="invalid skill name"):
            skills.show(home, name)
        with pytest.raises(InvalidInput, match="invalid skill name"):
            skills.remove_skill(home, name)
    assert SCHEMA["properties"]["name"]["maxLength"] == 64


# ---------------------------------------------------------------- add, replace, remove


def test_add_copies_privately_and_lists_and_shows(tmp_path: Path, home: Path) -> None:
    folder = make(tmp_path, "thing", **{"scripts/run.py": "print(1)\n"})
    added = skills.add_skill(home, folder)
    assert added.path == skills.skills_dir(home) / "thing" and added.files == ["scripts/run.py"]
    assert stat.S_IMODE((added.path / "SKILL.md").stat().st_mode) == 0o600
    assert stat.S_IMODE((added.path / "scripts").stat().st_mode) == 0o700
    shown = skills.show(home, "thing")
    assert shown.description == "Does a thing. Load it for things." and shown.content.startswith("---\nname: thing")
    assert [s.name for s in skills.list_skills(home)] == ["thing"]
    assert skills.origin(home, "thing", shown.path) == "local"


def test_add_an_existing_name_needs_force_and_replaces_whole(tmp_path: Path, home: Path) -> None:
    skills.add_skill(home, make(tmp_path / "v1", "thing", body="version one\n", **{"old.txt": "old"}))
    with pytest.raises(Conflict, match="skill 'thing' already exists; replace it with: cao skills add --force"):
        skills.add_skill(home, make(tmp_path / "v2", "thing", body="version two\n"))
    assert "version one" in skills.show(home, "thing").body
    replaced = skills.add_skill(home, tmp_path / "v2" / "thing", force=True)
    assert "version two" in replaced.body and replaced.files == []  # old.txt went with the old version
    assert sorted(p.name for p in skills.skills_dir(home).iterdir()) == ["thing"]  # no staging left


def test_a_failed_replace_keeps_the_stored_skill(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    skills.add_skill(home, make(tmp_path / "v1", "thing", body="version one\n"))
    before = snapshot(home)

    def broken_copy(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_copy", broken_copy)
    with pytest.raises(OSError, match="No space left"):
        skills.add_skill(home, make(tmp_path / "v2", "thing", body="version two\n"), force=True)
    assert snapshot(home) == before
    assert sorted(p.name for p in skills.skills_dir(home).iterdir()) == ["thing"]


def test_adding_the_stored_folder_onto_itself_is_refused(home: Path, tmp_path: Path) -> None:
    added = skills.add_skill(home, make(tmp_path, "thing"))
    with pytest.raises(InvalidInput, match="is already the stored skill 'thing'; edit it in place"):
        skills.add_skill(home, added.path, force=True)
    assert skills.show(home, "thing").valid


def test_remove_and_not_found(tmp_path: Path, home: Path) -> None:
    skills.add_skill(home, make(tmp_path, "thing"))
    assert skills.remove_skill(home, "thing") == skills.skills_dir(home) / "thing"
    with pytest.raises(NotFound, match="no skill 'thing'"):
        skills.remove_skill(home, "thing")
    with pytest.raises(NotFound, match=r"no skill 'thing'; installed skills: none \(add one with: cao skills add"):
        skills.show(home, "thing")


def test_a_broken_folder_in_the_store_is_listed_with_its_error(home: Path) -> None:
    make(skills.skills_dir(home), "broken", fm_name="other")
    make(skills.skills_dir(home), "fine")
    listed = {s.name: s for s in skills.list_skills(home)}
    assert listed["fine"].valid and not listed["broken"].valid
    assert "field 'name' is 'other'" in (listed["broken"].error or "")


# ---------------------------------------------------------------- seeding the built-ins


def test_the_built_ins_are_valid_skills() -> None:
    names = builtins.builtin_names()
    assert {"cao-supervisor-protocols", "cao-worker-protocols", "cao-session-management", "cao-flows"} <= set(names)
    for name in names:
        assert store.read_folder(builtins.builtin_dir() / name).valid


def test_seed_copies_once_and_keeps_edits_and_removals(home: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert skills.seed(home) == builtins.builtin_names()
    assert skills.seed(home) == []  # nothing to do the second time
    flows = skills.skills_dir(home) / "cao-flows" / "SKILL.md"
    flows.write_text(flows.read_text() + "\nMy own note.\n")
    skills.remove_skill(home, "cao-worker-protocols")
    assert skills.origin(home, "cao-flows", flows.parent) == "built-in, edited"

    # A newer cao ships changed built-ins: unedited copies are updated, edits and removals stay.
    shipped = tmp_path / "shipped"
    for name in builtins.builtin_names():
        folder = make(shipped, name, description=f"New {name}.", body="new text\n")
        assert folder.is_dir()
    monkeypatch.setattr(builtins, "builtin_dir", lambda: shipped)
    assert skills.seed(home) == ["cao-session-management", "cao-supervisor-protocols"]
    assert "My own note." in flows.read_text()
    assert skills.show(home, "cao-supervisor-protocols").body.strip() == "new text"
    with pytest.raises(NotFound, match=r"built-in you removed: bring it back with: cao skills add .*shipped/cao-work"):
        skills.show(home, "cao-worker-protocols")
    skills.add_skill(home, shipped / "cao-worker-protocols")  # the way back, as the error says
    assert skills.show(home, "cao-worker-protocols").valid


def test_seed_leaves_a_users_own_folder_of_a_built_in_name(home: Path) -> None:
    mine = make(skills.skills_dir(home), "cao-flows", description="Mine.")
    skills.seed(home)
    assert skills.show(home, "cao-flows").description == "Mine."
    assert skills.origin(home, "cao-flows", mine) == "local"


# ---------------------------------------------------------------- profiles and the catalog


def test_profile_patterns_choose_skills() -> None:
    assert store.allowed(None, "anything")
    assert not store.allowed([], "cao-flows")
    assert store.allowed(["cao-*"], "cao-flows") and not store.allowed(["cao-*"], "python")
    assert not store.allowed(["CAO-*"], "cao-flows")  # case-sensitive, everywhere
    profile = parse_profile("---\nname: p\nskills: ['cao-*', python]\n---\nBody\n", source="p.md")
    assert profile.skills == ["cao-*", "python"]
    with pytest.raises(InvalidProfile, match="field 'skills' has pattern ''"):
        parse_profile("---\nname: p\nskills: ['']\n---\nBody\n", source="p.md")
    with pytest.raises(InvalidProfile, match="field 'skills' must be a list of strings"):
        parse_profile("---\nname: p\nskills: cao-flows\n---\nBody\n", source="p.md")


def test_catalog_lists_what_the_profile_allows(home: Path) -> None:
    skills.seed(home)
    make(skills.skills_dir(home), "python", description="Python style.\n  Load it for Python.")
    make(skills.skills_dir(home), "broken", fm_name="nope")
    every = parse_profile("---\nname: p\nrole: developer\n---\nBody\n", source="p.md")
    some = parse_profile("---\nname: p\nrole: developer\nskills: ['cao-*']\n---\nBody\n", source="p.md")
    none = parse_profile("---\nname: p\nrole: developer\nskills: []\n---\nBody\n", source="p.md")
    assert [s.name for s in catalog.available(home, every)] == sorted([*builtins.builtin_names(), "python"])
    text = catalog.render(catalog.available(home, some)) or ""
    assert text.startswith("## Available skills\n\n") and "`load_skill` tool of the `cao` MCP server" in text
    assert "- **cao-flows**: Scheduled and gated agent runs" in text and "python" not in text
    assert "- **python**: Python style. Load it for Python." in (catalog.render(catalog.available(home, every)) or "")
    assert catalog.render(catalog.available(home, none)) is None
    no_cao = parse_profile("---\nname: p\nallowedTools: [fs_read]\n---\nBody\n", source="p.md")
    assert not catalog.has_cao_tools(no_cao) and catalog.has_cao_tools(every)


def test_catalog_is_bounded(tmp_path: Path) -> None:
    many = [store.Skill(f"s{i:03}", "d" * 200, tmp_path) for i in range(300)]
    text = catalog.render(many) or ""
    assert len(text) < catalog.MAX_CHARS + 500
    assert text.endswith("more; load_skill takes any of their names too")
    assert text.count("\n- **") == 100
