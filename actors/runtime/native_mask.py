"""websockets' compiled ``apply_mask``, loaded without importing the websockets package.

``import websockets.speedups`` first runs ``websockets/__init__``, which imports
``importlib.metadata`` (and with it email, zipfile, csv, ...): about 10 ms, a large share of a
cold start. The extension module needs nothing from its package, so it is loaded from its file
directly (or taken from ``sys.modules`` when websockets is already imported). Importing this
module raises ImportError when websockets or its compiled speed-ups are not installed.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from typing import cast

__all__ = ["apply_mask"]

_MODULE = "websockets.speedups"


def _load_module() -> object:
    loaded = sys.modules.get(_MODULE)
    if loaded is not None:
        return loaded
    package = importlib.util.find_spec("websockets")  # a top-level spec: imports nothing
    if package is None or not package.submodule_search_locations:
        raise ImportError("websockets is not installed", name="websockets")
    finder = importlib.machinery.FileFinder(
        package.submodule_search_locations[0],
        (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
    )
    spec = finder.find_spec(_MODULE)
    if spec is None or spec.loader is None:
        raise ImportError("websockets has no compiled speedups module", name=_MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # Loading registered it in sys.modules; without its package's attribute, that would make a
    # later ``import websockets.speedups`` skip the load and leave ``websockets.speedups`` unset.
    if sys.modules.get(_MODULE) is module:
        del sys.modules[_MODULE]
    return module


def _load_apply_mask() -> Callable[[bytes, bytes], bytes]:
    """The C ``apply_mask(data, mask4) -> bytes``; ImportError if it cannot be loaded."""
    try:
        module = _load_module()
        return cast(Callable[[bytes, bytes], bytes], module.apply_mask)  # type: ignore[attr-defined]
    except ImportError:
        raise
    except Exception as e:  # a broken or foreign build: the caller falls back to pure Python
        raise ImportError(f"cannot load {_MODULE}: {e}", name=_MODULE) from e


#: ``apply_mask(data, mask4) -> bytes``: XOR ``data`` with the 4-byte ``mask`` repeated.
apply_mask: Callable[[bytes, bytes], bytes] = _load_apply_mask()
