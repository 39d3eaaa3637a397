"""What the store raises."""

from __future__ import annotations

from actors.errors import ActorsError


class StoreError(ActorsError):
    """Base of every store failure."""


class StoreURLError(StoreError, ValueError):
    """The store URL is malformed or names an unknown scheme (the message never shows a password)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached (or a statement failed because the connection broke)."""


class SchemaTooNew(StoreError):
    """The database was migrated by a newer version of the service than this one."""


class BacklogFull(StoreError):
    """The segment writer already holds its maximum of uncommitted rows; the segment was not accepted."""
