"""A test stand-in for Twilio Media Streams: the exact frames Twilio sends, and the signed upgrade headers.

Built from Twilio's Media Streams docs: ``connected`` first (no sequence number), ``start`` with sequence "1",
then ``media`` / ``dtmf`` / ``mark`` and finally ``stop``; ``sequenceNumber`` counts every message after
``connected``; ``chunk`` counts per track from "1" (the docs do not say whether it is per track);
``timestamp`` is ms since the stream start; all three are strings. Media are 20 ms (160 bytes) of μ-law.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence

from actors.ingest.twilio.signature import signed_headers

CHUNK_MS = 20
CHUNK_BYTES = 160  # 20 ms of μ-law at 8 kHz


class TwilioStream:
    """Builds one stream's frames in Twilio's format; counters advance as frames are built."""

    def __init__(
        self,
        tracks: Sequence[str] = ("inbound",),
        *,
        call_sid: str = "CA00000000000000000000000000000001",
        stream_sid: str = "MZ00000000000000000000000000000001",
        account_sid: str = "AC00000000000000000000000000000001",
        custom_parameters: Mapping[str, str] | None = None,
    ) -> None:
        self.tracks = tuple(tracks)
        self.call_sid = call_sid
        self.stream_sid = stream_sid
        self.account_sid = account_sid
        self.custom_parameters = dict(custom_parameters or {})
        self.sequence = 0
        self.chunks = {track: 0 for track in self.tracks}

    def _next(self) -> str:
        self.sequence += 1
        return str(self.sequence)

    def connected(self) -> str:
        """The ``connected`` message (always first)."""
        return json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})

    def start(self) -> str:
        """The ``start`` message with tracks, custom parameters and the μ-law media format."""
        return json.dumps(
            {
                "event": "start",
                "sequenceNumber": self._next(),
                "start": {
                    "accountSid": self.account_sid,
                    "streamSid": self.stream_sid,
                    "callSid": self.call_sid,
                    "tracks": list(self.tracks),
                    "customParameters": self.custom_parameters,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
                "streamSid": self.stream_sid,
            }
        )

    def media(self, track: str, payload: bytes, timestamp_ms: int) -> str:
        """A ``media`` message carrying ``payload`` (raw μ-law) of ``track`` at ``timestamp_ms``."""
        self.chunks[track] += 1
        return json.dumps(
            {
                "event": "media",
                "sequenceNumber": self._next(),
                "media": {
                    "track": track,
                    "chunk": str(self.chunks[track]),
                    "timestamp": str(timestamp_ms),
                    "payload": base64.b64encode(payload).decode("ascii"),
                },
                "streamSid": self.stream_sid,
            }
        )

    def dtmf(self, digit: str) -> str:
        """A ``dtmf`` message (bidirectional streams)."""
        return json.dumps(
            {
                "event": "dtmf",
                "streamSid": self.stream_sid,
                "sequenceNumber": self._next(),
                "dtmf": {"track": "inbound_track", "digit": digit},
            }
        )

    def mark(self, name: str) -> str:
        """A ``mark`` echo (bidirectional streams)."""
        return json.dumps(
            {
                "event": "mark",
                "sequenceNumber": self._next(),
                "streamSid": self.stream_sid,
                "mark": {"name": name},
            }
        )

    def stop(self) -> str:
        """The ``stop`` message."""
        return json.dumps(
            {
                "event": "stop",
                "sequenceNumber": self._next(),
                "streamSid": self.stream_sid,
                "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
            }
        )

    def media_frames(self, audio: Mapping[str, bytes]) -> list[str]:
        """``media`` messages for each track's ``audio``, 20 ms each, interleaved in time, tracks in order."""
        longest = max((len(a) for a in audio.values()), default=0)
        frames = []
        for offset in range(0, longest, CHUNK_BYTES):
            for track in self.tracks:
                piece = audio.get(track, b"")[offset : offset + CHUNK_BYTES]
                if piece:
                    frames.append(self.media(track, piece, offset // 8))
        return frames

    def call(self, audio: Mapping[str, bytes]) -> list[str]:
        """The whole stream: connected, start, the media of :meth:`media_frames`, stop."""
        return [self.connected(), self.start(), *self.media_frames(audio), self.stop()]


def upgrade_headers(auth_token: str, url: str) -> dict[str, str]:
    """The signed headers of Twilio's WebSocket upgrade to ``url`` (``wss://...``, as in the TwiML)."""
    return signed_headers(auth_token, url)
