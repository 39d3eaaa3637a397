"""Static (ast-only) checks of the house rules over the ``actors`` package source.

Nothing here imports the package: every check reads the ``.py`` files and walks their syntax trees,
so a module that cannot be imported is still checked and the checks stay fast.

* :func:`missing_docstrings` -- public modules, classes, functions and methods without a docstring,
  or whose docstring only restates the name.
* :func:`sleep_calls` -- every ``time.sleep`` / ``asyncio.sleep`` call (also via
  ``from time import sleep`` or an alias).
* :func:`private_reaches` -- uses of another module's private (``_x``) members: private imports
  from ``actors`` modules and ``obj._x`` for an ``_x`` the module does not define itself.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "actors"

# Words that carry no promise: a docstring made only of these plus the name's own words restates it.
_FILLER_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "to",
        "for",
        "this",
        "that",
        "is",
        "class",
        "function",
        "method",
        "module",
        "property",
        "returns",
        "return",
        "get",
        "gets",
        "set",
        "sets",
        "todo",
        "docstring",
        "helper",
    }
)


@dataclass(frozen=True)
class Finding:
    """One rule violation at a source location, printable as ``path:line: what``."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def package_files(root: Path = PACKAGE_ROOT) -> list[Path]:
    """Every ``.py`` file of the package, sorted, skipping caches."""
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def relative(path: Path, root: Path = PACKAGE_ROOT) -> str:
    """``path`` relative to the package's parent (``actors/...``), for messages and allow-lists."""
    return path.resolve().relative_to(root.resolve().parent).as_posix()


@functools.cache
def parse(path: Path) -> ast.Module:
    """The syntax tree of one source file (parsed once per test session; trees are not modified)."""
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def is_public(name: str) -> bool:
    """True for a name that is part of the public surface (no leading underscore)."""
    return not name.startswith("_")


def _is_public_module(path: Path, root: Path) -> bool:
    rel_parts = Path(relative(path, root)).with_suffix("").parts
    return all(is_public(part) or part in ("__init__", "__main__") for part in rel_parts)


def _name_words(name: str) -> set[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name.strip("_"))
    return {w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w}


def restates_name(name: str, docstring: str) -> bool:
    """True when ``docstring`` says nothing beyond the name (``get_rate`` -> "Get the rate.")."""
    words = {w.lower() for w in re.findall(r"[A-Za-z0-9]+", docstring)}
    return not (words - _name_words(name) - _FILLER_WORDS)


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    names = []
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        names.append(ast.unparse(target))
    return names


def _exempt_function(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Overload stubs and property setters/deleters share the documented definition's docstring."""
    for name in _decorator_names(node):
        if name in ("overload", "typing.overload") or name.endswith((".setter", ".deleter")):
            return True
    return False


def _check(node: ast.AST, name: str, kind: str, where: str, out: list[Finding]) -> None:
    doc = ast.get_docstring(node)  # type: ignore[arg-type]
    line = getattr(node, "lineno", 1)
    if not doc or not doc.strip():
        out.append(Finding(where, line, f"{kind} {name} has no docstring"))
    elif restates_name(name.rsplit(".", 1)[-1], doc):
        out.append(
            Finding(where, line, f"{kind} {name}: docstring {doc!r} restates the name; say what it promises")
        )


def _check_class(node: ast.ClassDef, where: str, prefix: str, out: list[Finding]) -> None:
    qualname = f"{prefix}{node.name}"
    _check(node, qualname, "class", where, out)
    class_documented = bool(ast.get_docstring(node))
    for item in node.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            if item.name == "__init__" and not class_documented:
                _check(item, f"{qualname}.__init__", "method", where, out)
            elif is_public(item.name) and not _exempt_function(item):
                _check(item, f"{qualname}.{item.name}", "method", where, out)
        elif isinstance(item, ast.ClassDef) and is_public(item.name):
            _check_class(item, where, f"{qualname}.", out)


def missing_docstrings(root: Path = PACKAGE_ROOT) -> list[Finding]:
    """Public modules, classes, functions and methods lacking a docstring that says what they promise.

    Public = not starting with ``_``, defined in the module (imports are not definitions), at module
    level or inside a public class. Dunder methods are skipped, except ``__init__`` of a class that
    has no docstring. Overload stubs and property setters/deleters are skipped. ``root`` is the
    package directory to scan.
    """
    out: list[Finding] = []
    for path in package_files(root):
        if not _is_public_module(path, root):
            continue
        tree = parse(path)
        where = relative(path, root)
        _check(tree, where, "module", where, out)
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and is_public(node.name):
                _check_class(node, where, "", out)
            elif (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and is_public(node.name)
                and not _exempt_function(node)
            ):
                _check(node, node.name, "function", where, out)
    return out


_SLEEPING_MODULES = ("time", "asyncio")


def _sleep_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(names bound to ``time``/``asyncio``, names bound to their ``sleep``) in one module."""
    modules, functions = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in _SLEEPING_MODULES:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module in _SLEEPING_MODULES:
            for alias in node.names:
                if alias.name == "sleep":
                    functions.add(alias.asname or "sleep")
    return modules, functions


def _calls_with_scope(tree: ast.Module) -> Iterator[tuple[ast.Call, str]]:
    """Every call in the module with the dotted name of the function (or class) it sits in."""

    def walk(node: ast.AST, scope: str) -> Iterator[tuple[ast.Call, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = f"{scope}.{child.name}" if scope else child.name
                yield from walk(child, inner)
            else:
                if isinstance(child, ast.Call):
                    yield child, scope or "<module>"
                yield from walk(child, scope)

    yield from walk(tree, "")


def _yields_only(call: ast.Call) -> bool:
    """``sleep(0)``: gives other threads / tasks a turn; waits for nothing, so it is not a sleep."""
    return len(call.args) == 1 and isinstance(call.args[0], ast.Constant) and call.args[0].value == 0


@dataclass(frozen=True)
class SleepCall:
    """One sleep call: file (``actors/...``), line and the enclosing function's dotted name."""

    path: str
    line: int
    scope: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: sleep in {self.scope}"


def sleep_calls(root: Path = PACKAGE_ROOT) -> list[SleepCall]:
    """Every ``time.sleep`` / ``asyncio.sleep`` call under ``root``, however it was imported or aliased.

    ``sleep(0)`` (a bare yield) is not reported."""
    found: list[SleepCall] = []
    for path in package_files(root):
        tree = parse(path)
        modules, functions = _sleep_names(tree)
        if not modules and not functions:
            continue
        for call, scope in _calls_with_scope(tree):
            func = call.func
            hit = (
                isinstance(func, ast.Attribute)
                and func.attr == "sleep"
                and isinstance(func.value, ast.Name)
                and func.value.id in modules
            ) or (isinstance(func, ast.Name) and func.id in functions)
            if hit and not _yields_only(call):
                found.append(SleepCall(relative(path, root), call.lineno, scope))
    return found


# -- private members: each module keeps its own ----------------------------------------------------


def is_private(name: str) -> bool:
    """A leading-underscore name that is not a dunder (``_x`` yes; ``__init__`` no)."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _slot_names(value: ast.expr) -> Iterator[str]:
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        yield value.value
    elif isinstance(value, ast.Tuple | ast.List | ast.Set):
        for item in value.elts:
            if isinstance(item, ast.Constant) and isinstance(item.value, str):
                yield item.value


def _assigned_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for item in target.elts:
            yield from _assigned_names(item)
    elif isinstance(target, ast.Starred):
        yield from _assigned_names(target.value)


def _class_body_names(node: ast.ClassDef) -> Iterator[str]:
    """Attributes a class body defines: assignments, annotated fields (attrs too) and ``__slots__``."""
    for item in node.body:
        if isinstance(item, ast.Assign):
            for target in item.targets:
                names = list(_assigned_names(target))
                yield from names
                if names == ["__slots__"]:
                    yield from _slot_names(item.value)
        elif isinstance(item, ast.AnnAssign):
            yield from _assigned_names(item.target)


def _own_names(tree: ast.Module) -> set[str]:
    """Every member name the module defines: functions, methods, classes, class attributes and
    fields, ``__slots__`` entries, and attributes assigned on ``self`` / ``cls`` (also annotated)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            names.update(_class_body_names(node))
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _is_self(node.value):
            names.add(node.attr)
    return names


def _is_actors_module(module: str | None, level: int) -> bool:
    return level > 0 or (module is not None and (module == "actors" or module.startswith("actors.")))


def _is_self(value: ast.expr) -> bool:
    return isinstance(value, ast.Name) and value.id in ("self", "cls")


_BY_NAME = ("getattr", "setattr", "hasattr", "delattr")


def _private_by_name(call: ast.Call, own: set[str]) -> bool:
    """``getattr(obj, "_name")`` and its siblings, for a private name the module does not define."""
    if not (isinstance(call.func, ast.Name) and call.func.id in _BY_NAME and len(call.args) >= 2):
        return False
    obj, name = call.args[0], call.args[1]
    return (
        isinstance(name, ast.Constant)
        and isinstance(name.value, str)
        and is_private(name.value)
        and name.value not in own
        and not _is_self(obj)
    )


def private_reaches(root: Path = PACKAGE_ROOT) -> list[Finding]:
    """Places where a module under ``root`` uses another module's private (``_x``) members.

    * ``from actors.x import _name`` (also relative imports) of a private name;
    * ``obj._name`` (or ``getattr(obj, "_name")`` and its siblings) where ``obj`` is not ``self`` /
      ``cls`` and the module itself defines no ``_name`` (as a function, method, class, class
      attribute or field, ``__slots__`` entry, or an attribute assigned on ``self`` / ``cls``) -- so
      a class may use the privates of its own module's other classes, never those of another
      module's (nor of a third-party library's).

    Dunder names (``__name__``) are not private. Each finding is ``actors/...:line: what``.
    """
    out: list[Finding] = []
    for path in package_files(root):
        tree = parse(path)
        where = relative(path, root)
        own = _own_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and _is_actors_module(node.module, node.level):
                source = "." * node.level + (node.module or "")
                for alias in node.names:
                    if is_private(alias.name):
                        out.append(Finding(where, node.lineno, f"imports private {alias.name} from {source}"))
            elif isinstance(node, ast.Attribute) and is_private(node.attr) and node.attr not in own:
                if not _is_self(node.value):
                    out.append(Finding(where, node.lineno, f"reaches into {ast.unparse(node)}"))
            elif isinstance(node, ast.Call) and _private_by_name(node, own):
                out.append(Finding(where, node.lineno, f"reaches into {ast.unparse(node)}"))
    return sorted(set(out), key=lambda f: (f.path, f.line, f.what))
