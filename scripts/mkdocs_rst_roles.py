"""A griffe extension for the docs build: our reST-flavoured docstrings read well as Markdown.

The docstrings under ``actors/`` use reST's roles (``:class:`~actors.x.Y```, ``:meth:`finish```)
and end a sentence introducing a code block with ``::``. mkdocstrings renders docstrings as
Markdown, where a role would show as ``:class:`` followed by code. This extension rewrites them,
for the rendered site only (the source is untouched):

* ``:role:`~a.b.C``` -> ```C```, ``:role:`a.b.C``` -> ```a.b.C```, ``:role:`text <target>``` ->
  ```text```;
* a line ending in ``::`` before an indented block -> ``:`` (the block stays a code block).

Loaded by ``mkdocs.yml`` (``extensions: [scripts/mkdocs_rst_roles.py]`` of the python handler).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

#: ``:role:`target``` or ``:domain:role:`target``` (reST interpreted text with a role).
ROLE = re.compile(r":(?:[a-z]+:)?[a-z]+:`([^`]+)`")
#: A line whose text ends with ``::`` (a reST literal-block marker), keeping the indentation.
LITERAL_MARKER = re.compile(r"(?m)(\S)::$")


def role_text(match: re.Match[str]) -> str:
    """The Markdown code span for one role: the title if given, else the target (``~``: last part)."""
    target = match.group(1).strip()
    titled = re.fullmatch(r"(.+?)\s*<([^>]+)>", target)
    if titled:
        return f"`{titled.group(1)}`"
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


def markdown_docstring(text: str) -> str:
    """``text`` with reST roles as code spans and ``::`` literal markers as ``:``."""
    return LITERAL_MARKER.sub(r"\1:", ROLE.sub(role_text, text))


class RstRoles(griffe.Extension):
    """Rewrites every loaded object's docstring with :func:`markdown_docstring`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Called by griffe for each object it loads (module, class, function, attribute)."""
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)
