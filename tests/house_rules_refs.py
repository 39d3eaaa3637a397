"""Static check that the project's prose names only files the project has.

:func:`stale_file_mentions` reads the comments and docstrings of ``.py`` files and the whole text of
other text files, finds every name that looks like a project file (a bare or slashed name ending in
``.md``, ``.py``, ``.yml``, ``.cfg`` or ``.toml``) and reports those that resolve to no file. Strings
in code are data (the name of a test's throw-away module), not mentions, so they are not read.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path

from tests.house_rules_ast import Finding

REPO_ROOT = Path(__file__).resolve().parent.parent

#: The folders whose files are checked, and the files at the root that are checked too (CHANGELOG.md
#: is history: it names files that were removed, on purpose).
CHECKED_FOLDERS = ("actors", "tests", "scripts", "examples", "docs")
CHECKED_ROOT_FILES = ("README.md", "ARCHITECTURE.md", "mkdocs.yml", "setup.cfg", "pyproject.toml")

#: Suffixes of the files read, and of the names taken for file mentions.
_TEXT_SUFFIXES = frozenset({".py", ".md", ".txt", ".cfg", ".toml", ".yml", ".yaml", ".ini", ".sh"})
_MENTION = re.compile(
    r"(?<![\w./-])"  # not the tail of a longer name, path or URL
    r"((?:\.{1,2}/)?[\w-]+(?:/[\w.-]+)*\.(?:md|py|yml|yaml|cfg|toml))"
    r"(?![\w/-])"
)


def checked_files(
    root: Path = REPO_ROOT,
    folders: Iterable[str] = CHECKED_FOLDERS,
    files: Iterable[str] = CHECKED_ROOT_FILES,
) -> list[Path]:
    """The text files under ``root``'s ``folders``, and those of ``files`` that exist at ``root``
    (sorted; caches skipped)."""
    out: list[Path] = [root / name for name in files if (root / name).is_file()]
    for folder in folders:
        top = root / folder
        if top.is_dir():
            out.extend(
                p
                for p in top.rglob("*")
                if p.is_file() and p.suffix in _TEXT_SUFFIXES and "__pycache__" not in p.parts
            )
    return sorted(out)


def _prose_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of the prose of one file: comments and docstrings of Python source
    (every string statement, so attribute docstrings too), every line of any other file."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".py":
        yield from enumerate(text.splitlines(), 1)
        return
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(text, filename=str(path))):
        value = node.value if isinstance(node, ast.Expr) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            for offset, line in enumerate(value.value.splitlines()):
                yield node.lineno + offset, line


def mentions(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, name)`` of every file-like name in the prose of ``path``."""
    for line_number, line in _prose_lines(path):
        for match in _MENTION.finditer(line):
            yield line_number, match.group(1)


def project_paths(root: Path) -> frozenset[str]:
    """Every file and folder under ``root`` as a ``/``-separated path relative to it (caches and
    ``.git`` skipped)."""
    return frozenset(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if ".git" not in p.parts and "__pycache__" not in p.parts and ".venv" not in p.parts
    )


def _resolves(name: str, path: Path, root: Path, known: frozenset[str]) -> bool:
    """True when ``name`` is a file or folder relative to the mentioning file's folder or any folder
    above it up to ``root`` (so a helper under ``scripts/benchlib/`` may name a script by its bare name),
    or is the tail of a project path (``cli/serve.py`` for ``actors/cli/serve.py``, a bare
    ``codec.py`` in a table row that names its folder elsewhere)."""
    folder = path.parent
    while True:
        if (folder / name).exists():
            break
        if folder == root or root not in folder.parents:
            tail = "/" + name.removeprefix("./")
            return any(known_path.endswith(tail) for known_path in known)
        folder = folder.parent
    return True


def stale_file_mentions(
    root: Path = REPO_ROOT, folders: Iterable[str] = CHECKED_FOLDERS, external: Iterable[str] = ()
) -> list[Finding]:
    """Mentions, in the files under ``root``'s ``folders``, of project files that do not exist.

    A name resolves relative to the mentioning file's folder or any folder above it, up to ``root``.
    ``external`` lists names of files outside the project that may be mentioned (by exact name).
    Each finding is ``path:line: mentions NAME``, the path relative to ``root``.
    """
    allowed = frozenset(external)
    known = project_paths(root)
    out: list[Finding] = []
    for path in checked_files(root, folders):
        where = path.relative_to(root).as_posix()
        for line_number, name in mentions(path):
            if name not in allowed and not _resolves(name, path, root, known):
                out.append(Finding(where, line_number, f"mentions {name}"))
    return sorted(set(out), key=lambda f: (f.path, f.line, f.what))
