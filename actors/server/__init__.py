"""The local Deepgram-compatible server: ``LocalServer`` and fault injection (``FaultRule``)."""

from actors.server.faults import FaultRule
from actors.server.server import LocalServer

__all__ = ["FaultRule", "LocalServer"]
