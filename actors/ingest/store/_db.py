"""The two backends behind one small connection interface: URL parsing, connecting, transactions.

SQL is written once with ``?`` placeholders; the PostgreSQL connection turns them into ``%s``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Protocol
from urllib.parse import SplitResult, urlsplit, urlunsplit

import attrs

from actors.ingest.store.errors import StoreUnavailable, StoreURLError

Param = str | int | float | None
Row = tuple[object, ...]


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe for logs and error messages)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(SplitResult(parts.scheme, f"{user}:***@{netloc}", parts.path, parts.query, ""))


@attrs.frozen
class StoreURL:
    """A parsed store URL: ``backend`` (``"sqlite"`` | ``"postgresql"``) and where (path or conninfo)."""

    backend: str
    path: Path | None = None
    conninfo: str = attrs.field(default="", repr=False)
    display: str = ""

    @classmethod
    def parse(cls, url: str) -> StoreURL:
        """Parse ``sqlite:///ABS/PATH``, ``sqlite:REL/PATH`` or ``postgresql://user@host:port/db``."""
        if not isinstance(url, str) or not url:
            raise StoreURLError("store URL: empty; expected sqlite:///PATH or postgresql://...")
        shown = redact_url(url)
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            raise StoreURLError(f"store URL {shown!r}: malformed ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme == "sqlite":
            if parts.netloc:
                raise StoreURLError(
                    f"store URL {shown!r}: a sqlite URL has no host; use sqlite:///ABSOLUTE/PATH "
                    "or sqlite:RELATIVE/PATH"
                )
            if parts.query or parts.fragment:
                raise StoreURLError(f"store URL {shown!r}: sqlite URLs take no query or fragment")
            if not parts.path or parts.path in {":memory:", "/:memory:"}:
                raise StoreURLError(f"store URL {shown!r}: needs a database file path (the store is durable)")
            return cls("sqlite", path=Path(parts.path), display=shown)
        if scheme in {"postgresql", "postgres"}:
            if not parts.path.strip("/") and not parts.netloc:
                raise StoreURLError(f"store URL {shown!r}: needs a host or a database name")
            try:
                parts.port  # noqa: B018 -- urlsplit checks the port only when it is read
            except ValueError:
                raise StoreURLError(f"store URL {shown!r}: the port is not a number in 0..65535") from None
            try:
                from psycopg.conninfo import conninfo_to_dict
            except ImportError:
                raise StoreURLError(
                    f"store URL {shown!r}: PostgreSQL needs psycopg; pip install 'actors-deepgram[ingest]'"
                ) from None
            try:
                conninfo_to_dict(url)
            except Exception as exc:  # psycopg.ProgrammingError; its text does not echo the URL
                raise StoreURLError(
                    f"store URL {shown!r}: invalid PostgreSQL URL ({str(exc).strip()})"
                ) from None
            return cls("postgresql", conninfo=url, display=shown)
        raise StoreURLError(
            f"store URL {shown!r}: unknown scheme {parts.scheme!r}; expected 'sqlite' or 'postgresql'"
        )


class Connection(Protocol):
    """One open database connection of either backend (not thread-safe; one owner at a time)."""

    backend: str

    def transaction(self, write: bool = True) -> AbstractContextManager[None]:
        """A context in which statements run in one transaction, committed on a clean exit.

        ``write=False`` promises only reads (SQLite then does not take the write lock up front).
        """

    def execute(self, sql: str, params: Sequence[Param] = ()) -> list[Row]:
        """Run one statement and return its rows (empty for statements without any)."""

    def executemany(self, sql: str, rows: Sequence[Sequence[Param]]) -> None:
        """Run one statement for every parameter row."""

    def close(self) -> None:
        """Close the connection; idempotent, never raises."""


def _create_private(path: Path) -> None:
    """Create the database file ``path`` with mode 0600 unless it exists, without ever opening and
    closing ``path`` itself: closing any descriptor of a file drops every POSIX lock this process
    holds on it, which would silently release another connection's SQLite locks. The file is made
    under a temporary name and hard-linked into place (a concurrent creator's file wins)."""
    if path.exists():
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links: create it in place (before any connection)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    finally:
        os.unlink(temporary)


def _enable_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Put ``conn``'s database in WAL mode, retrying for up to ``timeout`` s while it is locked.

    Switching a new file to WAL takes its exclusive lock, and SQLite reports "database is locked"
    at once instead of calling the busy handler: of several instances opening a new store together,
    one could fail (measured: 12 of 1,200 openers, 6 at a time). The mode is kept in the file, so a
    retry usually finds it already set by the opener that won.
    """
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        # No notification exists for another connection's lock: back off as SQLite's busy handler does.
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


class SqliteConnection:
    """A stdlib ``sqlite3`` connection in autocommit mode with explicit ``BEGIN IMMEDIATE``/``COMMIT``.

    WAL journal, ``synchronous=NORMAL`` (measured: with batched commits it costs
    nothing, and a process kill never loses a committed row), ``busy_timeout`` 5 s so a second writer
    waits instead of failing. The file (and so its ``-wal``/``-shm``, which SQLite creates with the
    database file's mode) is created mode 0600.
    """

    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(path)
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
            _enable_wal(self._conn, 5.0)
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"sqlite store {str(path)!r}: cannot open ({exc})") from exc
        self._path = path

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` (``BEGIN`` for reads) .. ``COMMIT`` (``ROLLBACK`` on an exception)."""
        self._run("BEGIN IMMEDIATE" if write else "BEGIN", ())
        try:
            yield
        except BaseException:
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            raise
        self._run("COMMIT", ())

    def _run(self, sql: str, params: Sequence[Param]) -> list[Row]:
        try:
            return [tuple(r) for r in self._conn.execute(sql, tuple(params)).fetchall()]
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"sqlite store {str(self._path)!r}: {exc}") from exc

    def execute(self, sql: str, params: Sequence[Param] = ()) -> list[Row]:
        """Run one statement and return its rows."""
        return self._run(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Param]]) -> None:
        """Run one statement for every parameter row."""
        try:
            self._conn.executemany(sql, [tuple(r) for r in rows])
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"sqlite store {str(self._path)!r}: {exc}") from exc

    def close(self) -> None:
        """Close the connection."""
        with suppress(sqlite3.Error):
            self._conn.close()


class PostgresConnection:
    """A psycopg 3 connection in autocommit mode; :meth:`transaction` wraps psycopg's transaction block."""

    backend = "postgresql"

    def __init__(self, conninfo: str, display: str, connect_timeout: float = 5.0) -> None:
        import psycopg

        self._psycopg = psycopg
        self._display = display
        try:
            self._conn = psycopg.connect(
                conninfo, autocommit=True, connect_timeout=max(1, int(connect_timeout))
            )
        except psycopg.Error as exc:
            raise StoreUnavailable(
                f"postgresql store {display!r}: cannot connect ({_first_line(exc)})"
            ) from None

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[None]:
        """One PostgreSQL transaction, committed on a clean exit (``write`` changes nothing here)."""
        try:
            with self._conn.transaction():
                yield
        except (self._psycopg.OperationalError, self._psycopg.InterfaceError) as exc:
            raise StoreUnavailable(f"postgresql store {self._display!r}: {_first_line(exc)}") from None

    def execute(self, sql: str, params: Sequence[Param] = ()) -> list[Row]:
        """Run one statement and return its rows."""
        try:
            cur = self._conn.execute(sql.replace("?", "%s"), tuple(params))
            return [tuple(r) for r in cur.fetchall()] if cur.description else []
        except (self._psycopg.OperationalError, self._psycopg.InterfaceError) as exc:
            raise StoreUnavailable(f"postgresql store {self._display!r}: {_first_line(exc)}") from None

    def executemany(self, sql: str, rows: Sequence[Sequence[Param]]) -> None:
        """Run one statement for every parameter row (psycopg pipelines it)."""
        try:
            with self._conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), [tuple(r) for r in rows])
        except (self._psycopg.OperationalError, self._psycopg.InterfaceError) as exc:
            raise StoreUnavailable(f"postgresql store {self._display!r}: {_first_line(exc)}") from None

    def close(self) -> None:
        """Close the connection."""
        with suppress(Exception):  # closing a broken connection must not raise
            self._conn.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def connect(url: StoreURL) -> Connection:
    """Open a new connection to ``url`` (raises :class:`StoreUnavailable` when it cannot)."""
    if url.backend == "sqlite":
        assert url.path is not None
        return SqliteConnection(url.path)
    return PostgresConnection(url.conninfo, url.display)
