"""Lazy package exports: a package lists ``name -> module`` and the module is imported on first use.

Keeps ``import actors`` (and ``actors.protocol``, ``actors.runtime``) cheap: opening one Listen connection
imports only what it needs (see tests/test_cold_start.py).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package: str, namespace: dict[str, Any], exports: Mapping[str, str], submodules: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return the ``__getattr__`` and ``__dir__`` a package assigns to export ``exports`` lazily.

    ``exports`` maps each public name to the module defining it; ``submodules`` are names that resolve to
    the submodule ``package.name`` itself. A resolved name is stored in ``namespace`` so later lookups
    skip ``__getattr__``; an unknown name raises ``AttributeError`` as a normal module would.
    """
    subs = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        if name in subs:
            value = importlib.import_module(f"{package}.{name}")
        else:
            module = exports.get(name)
            if module is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports, *subs})

    return __getattr__, __dir__
