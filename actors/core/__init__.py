"""SDK-compatible core names: ``actors.core.events.EventType`` and ``actors.core.api_error.ApiError``.

Kept import-free so ``import actors.core.events`` costs nothing beyond the enum.
"""
