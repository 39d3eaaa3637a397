"""What `transcribe` takes: files, directories, manifests and standard input, resolved to calls.

`resolve_inputs` turns the command's positional inputs and ``--manifest`` files into one ordered
list of `CallInput`:

* a file is one call (whatever its name; reading it decides whether it is audio);
* a directory is searched recursively for files whose name matches ``--glob`` (default: the
  audio extensions in `AUDIO_EXTENSIONS`, any case), in sorted path order; hidden files and
  folders (names starting with ``.``) are skipped, so temporary outputs never become inputs;
* ``-`` is one call read from standard input (at most once);
* a manifest is a CSV file with a header row or a JSONL file (one JSON object per line) with the
  columns or keys ``path`` (required; relative paths are relative to the manifest's folder),
  ``call_id`` (optional: names the call and its output files), ``params`` (optional: Listen V1
  options for this call only, a JSON object or ``key=value&key=value``) and ``metadata``
  (optional: a JSON object kept with the call).

A problem with an input as a whole (a manifest that cannot be parsed, a directory with no
matching file, a second ``-``) raises `InputError` naming the manifest line and field; a file
that is missing or not audio is not an input error, it becomes that call's failure when read.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import os
import re
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import attrs

from actors.errors import OptionsError
from actors.protocol.listen_v1.options import LISTEN_V1_AUDIO_FORMAT_OPTIONS

AUDIO_EXTENSIONS = ("wav", "flac", "ogg", "opus", "mp3")
STDIN = "-"
MANIFEST_FIELDS = ("path", "call_id", "params", "metadata")
#: Set per call from the audio itself; a manifest or ``--param`` may not override them.
AUDIO_PARAMS = LISTEN_V1_AUDIO_FORMAT_OPTIONS

Query = tuple[tuple[str, str], ...]
JSONObject = dict[str, object]


class InputError(OptionsError):
    """An input cannot be used as given; the message names the file, line and field at fault."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(where, message)


@attrs.frozen
class CallInput:
    """One call to transcribe: where its audio is, and what a manifest said about it.

    ``path`` is the file to read (``"-"`` for standard input), ``call_id`` the name a manifest
    gave it (None: named after the file), ``params`` its own Listen V1 options (added to the
    run's, replacing the run's value of the same key), ``metadata`` a JSON object kept with it.
    """

    path: str
    call_id: str | None = None
    params: Query = ()
    metadata: JSONObject = attrs.field(factory=dict)
    where: str | None = None  # "manifest.csv:3" for a manifest row, for error messages


def resolve_inputs(
    inputs: Sequence[str], manifests: Sequence[str | Path] = (), glob: str | None = None
) -> list[CallInput]:
    """Every call named by ``inputs`` (files, directories, ``-``) and then by ``manifests``, in order.

    Raises `InputError` when nothing is given, for a second ``-``, for a directory without a
    matching file, and for any problem in a manifest.
    """
    calls: list[CallInput] = []
    for item in inputs:
        if item == STDIN:
            calls.append(CallInput(STDIN))
        elif os.path.isdir(item):
            found = list(find_audio(Path(item), glob))
            if not found:
                wanted = glob or ", ".join(f"*.{ext}" for ext in AUDIO_EXTENSIONS)
                raise InputError(item, f"no file matching {wanted} in this directory or below")
            calls += [CallInput(str(path)) for path in found]
        else:
            calls.append(CallInput(item))
    for manifest in manifests:
        calls += read_manifest(Path(manifest))
    if not calls:
        raise InputError("CALL", "give at least one file, directory, '-' (standard input) or --manifest")
    if sum(1 for c in calls if c.path == STDIN) > 1:
        raise InputError(STDIN, "standard input can be read only once")
    return calls


def find_audio(directory: Path, glob: str | None = None) -> Iterator[Path]:
    """Files under ``directory`` (recursive, sorted, hidden names skipped) whose name matches ``glob``.

    A pattern containing ``/`` is matched against the path relative to ``directory`` instead.
    Without ``glob``, file names ending in one of `AUDIO_EXTENSIONS` (any case) match.
    """
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(root) / name
            if _matches(path.relative_to(directory).as_posix(), name, glob):
                yield path


def _matches(relative: str, name: str, glob: str | None) -> bool:
    if glob is None:
        return name.rpartition(".")[2].lower() in AUDIO_EXTENSIONS and "." in name
    return fnmatch.fnmatchcase(relative if "/" in glob else name, glob)


def read_manifest(manifest: Path) -> list[CallInput]:
    """The calls listed in a CSV (with header) or JSONL manifest, in file order.

    The format is chosen by extension (``.csv``; ``.jsonl``/``.ndjson``), else by content (a
    first non-blank character ``{`` means JSONL). Raises `InputError` naming the line and field.
    """
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(str(manifest), f"cannot read the manifest: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(str(manifest), "the manifest is not UTF-8 text") from None
    suffix = manifest.suffix.lower()
    is_jsonl = suffix in (".jsonl", ".ndjson") or (suffix != ".csv" and text.lstrip().startswith("{"))
    rows = _jsonl_rows(manifest, text) if is_jsonl else _csv_rows(manifest, text)
    calls = [_row_to_call(manifest, line, row) for line, row in rows]
    if not calls:
        raise InputError(str(manifest), "the manifest lists no calls")
    return calls


def _csv_rows(manifest: Path, text: str) -> Iterator[tuple[int, Mapping[str, object]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            unknown = [h for h in header if h not in MANIFEST_FIELDS]
            if unknown:
                raise InputError(
                    f"{manifest}:{line}",
                    f"unknown column {unknown[0]!r}; the columns are {', '.join(MANIFEST_FIELDS)}",
                )
            if "path" not in header:
                raise InputError(f"{manifest}:{line}", "the header row has no 'path' column")
            continue
        if len(row) > len(header):
            raise InputError(f"{manifest}:{line}", f"{len(row)} cells, but the header has {len(header)}")
        yield line, {h: cell for h, cell in zip(header, row, strict=False) if cell.strip()}


def _jsonl_rows(manifest: Path, text: str) -> Iterator[tuple[int, Mapping[str, object]]]:
    for line, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        try:
            row = json.loads(content)
        except json.JSONDecodeError as exc:
            raise InputError(f"{manifest}:{line}", f"not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise InputError(f"{manifest}:{line}", f"expected a JSON object, got {type(row).__name__}")
        unknown = [k for k in row if k not in MANIFEST_FIELDS]
        if unknown:
            raise InputError(
                f"{manifest}:{line}", f"unknown key {unknown[0]!r}; the keys are {', '.join(MANIFEST_FIELDS)}"
            )
        yield line, {k: v for k, v in row.items() if v is not None}


def _row_to_call(manifest: Path, line: int, row: Mapping[str, object]) -> CallInput:
    def where(field: str) -> str:
        return f"{manifest}:{line}: {field}"

    path = row.get("path")
    if not isinstance(path, str) or not path.strip():
        raise InputError(where("path"), "is required (the audio file, relative to the manifest's folder)")
    if path.strip() == STDIN:
        raise InputError(where("path"), "'-' (standard input) cannot be listed in a manifest")
    call_id = row.get("call_id")
    if isinstance(call_id, int) and not isinstance(call_id, bool):
        call_id = str(call_id)
    if call_id is not None and (not isinstance(call_id, str) or not call_id.strip()):
        raise InputError(where("call_id"), f"expected a non-empty string, got {call_id!r}")
    try:
        params = parse_params(row.get("params"))
    except ValueError as exc:
        raise InputError(where("params"), str(exc)) from None
    metadata = row.get("metadata", {})
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError as exc:
            raise InputError(where("metadata"), f"not valid JSON ({exc.msg})") from None
    if not isinstance(metadata, dict):
        raise InputError(where("metadata"), f"expected a JSON object, got {type(metadata).__name__}")
    return CallInput(
        path=str(manifest.parent / path.strip()),
        call_id=call_id.strip() if isinstance(call_id, str) else None,
        params=params,
        metadata=metadata,
        where=f"{manifest}:{line}",
    )


def parse_params(value: object) -> Query:
    """Per-call options as query pairs, from a JSON object (a list value repeats its key) or a
    ``key=value&key=value`` string; None or empty gives none. Raises ValueError saying what is wrong.
    """
    if value is None:
        return ()
    pairs: list[tuple[str, str]] = []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg})") from None
        else:
            for item in (x for x in text.split("&") if x.strip()):
                key, sep, val = item.partition("=")
                if not sep or not key.strip():
                    raise ValueError(f"expected key=value, got {item!r}")
                pairs.append((urllib.parse.unquote_plus(key.strip()), urllib.parse.unquote_plus(val)))
    if isinstance(value, dict):
        for key, val in value.items():
            for item in val if isinstance(val, list) else [val]:
                pairs.append((key, _query_value(key, item)))
    elif not isinstance(value, str):
        raise ValueError(f"expected a JSON object or key=value&key=value, got {type(value).__name__}")
    for key, _ in pairs:
        if key in AUDIO_PARAMS:
            raise ValueError(f"{key!r} is set from each file's audio; it cannot be given per call")
    return tuple(pairs)


def _query_value(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"{key!r}: expected a string, number or boolean, got {type(value).__name__}")


_UNSAFE = re.compile(r"[^\w.+=@-]+")


def safe_stem(name: str) -> str:
    """A file-name stem for a call id: path separators and other unsafe characters become ``_``."""
    stem = _UNSAFE.sub("_", name).strip("._")
    return stem or "call"
