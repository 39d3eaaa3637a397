"""House rule: no module under ``actors/`` reaches into another module's private members.

A leading underscore means "this module's business": another module importing ``_name``, or using
``obj._name`` for a member it does not define itself, couples the two behind the owner's back. The
check is static (``ast``; see :func:`tests.house_rules_ast.private_reaches`).
"""

from __future__ import annotations

from pathlib import Path

from tests.house_rules_ast import private_reaches

# (file, finding without its line number) pairs that are allowed for now.
PRIVATE_ALLOW_LIST: frozenset[tuple[str, str]] = frozenset()


def test_no_module_reaches_into_another_modules_private_members() -> None:
    findings = private_reaches()
    unexplained = [f for f in findings if (f.path, f.what) not in PRIVATE_ALLOW_LIST]
    assert not unexplained, (
        "private members used outside their module (give the owner a public name for what is "
        "needed, or move the code to the owner):\n" + "\n".join(map(str, unexplained))
    )
    stale = PRIVATE_ALLOW_LIST - {(f.path, f.what) for f in findings}
    assert not stale, f"allow-list entries no longer found (remove them): {sorted(stale)}"


def test_private_member_checker_finds_a_planted_violation(tmp_path: Path) -> None:
    """The checker itself: each way of reaching in is found; a module's own privates are not."""
    root = tmp_path / "actors"
    root.mkdir()
    (root / "owner.py").write_text(
        "import attrs\n"
        "class Owner:\n"
        "    __slots__ = ('_slot',)\n"
        "    _class_attr = 1\n"
        "    def __init__(self) -> None:\n"
        "        self._state = 0\n"
        "    def _helper(self) -> int:\n"
        "        return self._state + self._inherited\n"
        "@attrs.define\n"
        "class Fields:\n"
        "    _field: int = 0\n"
        "def peer(o: Owner, f: Fields) -> int:\n"
        "    return o._state + o._helper() + o._class_attr + f._field + len(o.__slots__)\n"
        "def own_slot(o: Owner) -> object:\n"
        "    return getattr(o, '_slot')\n"
    )
    (root / "intruder.py").write_text(
        "from actors.owner import Owner, _secret\n"
        "from .owner import _other\n"
        "import actors.owner as owner\n"
        "def poke(o: Owner) -> int:\n"
        "    owner._CONSTANT\n"
        "    setattr(o, '_state', 1)\n"
        "    return o._state + o.__class__.__name__.count('x') + self_like(o)\n"
        "def self_like(self: Owner) -> int:\n"
        "    return self._state\n"
        "from os import _exit\n"
    )
    findings = [str(f) for f in private_reaches(root)]
    assert findings == [
        "actors/intruder.py:1: imports private _secret from actors.owner",
        "actors/intruder.py:2: imports private _other from .owner",
        "actors/intruder.py:5: reaches into owner._CONSTANT",
        "actors/intruder.py:6: reaches into setattr(o, '_state', 1)",
        "actors/intruder.py:7: reaches into o._state",
    ]
