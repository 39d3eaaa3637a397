"""House rule: the project's comments, docstrings and text files name only files the project has.

A newcomer who follows a pointer to a file that is not there loses trust in every other pointer.
The check (:func:`tests.house_rules_refs.stale_file_mentions`) covers ``actors/``, ``tests/``,
``scripts/``, ``examples/``, ``docs/`` and the root's README.md, ARCHITECTURE.md and config files
(not CHANGELOG.md: it names removed files on purpose).
"""

from __future__ import annotations

from pathlib import Path

from tests.house_rules_refs import mentions, stale_file_mentions

#: Files outside the project that its prose may name, each with what it is.
EXTERNAL_FILES: dict[str, str] = {
    "asyncapi.yml": "Deepgram's published AsyncAPI spec of its WebSocket APIs (the protocol tests read it)",
}


def test_prose_names_only_files_the_project_has() -> None:
    findings = stale_file_mentions(external=EXTERNAL_FILES)
    assert not findings, (
        "mentions of files the project does not have (name the real path, or say what the "
        "source is in words):\n" + "\n".join(map(str, findings))
    )


def test_every_external_file_is_still_mentioned() -> None:
    everywhere = {name for f in stale_file_mentions() for name in [f.what.removeprefix("mentions ")]}
    unused = set(EXTERNAL_FILES) - everywhere
    assert not unused, f"EXTERNAL_FILES entries nobody mentions any more (remove them): {sorted(unused)}"


def test_reference_checker_finds_a_planted_stale_mention(tmp_path: Path) -> None:
    """The checker itself: missing files are found, whatever folder they are named from; real ones,
    code strings and external names are not."""
    (tmp_path / "actors" / "runtime").mkdir(parents=True)
    (tmp_path / "scripts" / "benchlib").mkdir(parents=True)
    (tmp_path / "setup.cfg").write_text("")
    (tmp_path / "actors" / "runtime" / "real.py").write_text(
        '"""Real; see ``real.py``, actors/runtime/real.py, setup.cfg and PLAN.md."""\n'
        "# gone: actors/runtime/profiles.py, ../runtime/real.py and ./sibling.py\n"
        'DATA = "widget.py"  # a code string is data, not a mention\n'
        "def f() -> None:\n"
        '    """Follows spec.yml (external) and https://example.com/docs/guide.md."""\n'
    )
    (tmp_path / "scripts" / "bench.py").write_text('"""A bench."""\n')
    (tmp_path / "scripts" / "benchlib" / "load.py").write_text('"""Used by bench.py, not by gone.py."""\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "notes.md").write_text("See `STACK.md` and tests/notes.md.\n")
    findings = [str(f) for f in stale_file_mentions(tmp_path, external=["spec.yml"])]
    assert findings == [
        "actors/runtime/real.py:1: mentions PLAN.md",
        "actors/runtime/real.py:2: mentions ./sibling.py",
        "actors/runtime/real.py:2: mentions actors/runtime/profiles.py",
        "scripts/benchlib/load.py:1: mentions gone.py",
        "tests/notes.md:1: mentions STACK.md",
    ]
    assert [name for _, name in mentions(tmp_path / "tests" / "notes.md")] == ["STACK.md", "tests/notes.md"]
