"""``ApiError`` at the import path Deepgram's SDK uses (``deepgram.core.api_error``).

``actors.errors.HandshakeError`` derives from it, so ``except ApiError`` catches refused handshakes.
"""

from __future__ import annotations

from actors.errors import ApiError

__all__ = ["ApiError"]
