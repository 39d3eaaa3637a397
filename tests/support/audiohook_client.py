"""A sans-I/O AudioHook client (what Genesys Cloud does per the AudioHook protocol), for tests.

It builds signed upgrade headers, numbers its messages (``seq`` 1, 2, ...; ``serverseq`` = the last
server ``seq`` received), keeps its stream ``position`` (audio sent + time it skipped), frames PCMU
audio in 200 ms frames, and checks every server message (version, id, ``seq`` = last + 1,
``clientseq`` not ahead of ours, ``pong.clientseq`` = the ping's ``seq``).
"""

from __future__ import annotations

import attrs

from actors.ingest.audiohook.messages import (
    ClientErrorParameters,
    ClientMessage,
    ClientParameters,
    CloseParameters,
    CloseReason,
    DiscardedParameters,
    MediaFormat,
    OpenedParameters,
    OpenParameters,
    Participant,
    PausedParameters,
    PingParameters,
    PongParameters,
    ResumedParameters,
    ServerMessage,
    UpdateParameters,
    dump,
    parse_server_message,
)
from actors.ingest.audiohook.signatures import new_uuid, sign_request

STEREO = MediaFormat(format="PCMU", channels=("external", "internal"))
STEREO_INVERTED = MediaFormat(format="PCMU", channels=("internal", "external"))
MONO_EXTERNAL = MediaFormat(format="PCMU", channels=("external",))
MONO_INTERNAL = MediaFormat(format="PCMU", channels=("internal",))
#: What the reference client offers.
DEFAULT_OFFER = (STEREO, MONO_EXTERNAL, MONO_INTERNAL)
#: Bytes of one 200 ms frame per channel (PCMU, 8 kHz).
FRAME_BYTES_PER_CHANNEL = 1600


class ClientProtocolError(AssertionError):
    """The server broke the protocol as the client sees it."""


@attrs.define
class AudioHookClient:
    """The client side of one session; every method returns the frame to send."""

    organization_id: str = attrs.field(factory=new_uuid)
    session_id: str = attrs.field(factory=new_uuid)
    conversation_id: str = attrs.field(factory=new_uuid)
    participant_id: str = attrs.field(factory=new_uuid)
    correlation_id: str = attrs.field(factory=new_uuid)
    seq: int = 0
    serverseq: int = 0
    position: float = 0.0
    media: MediaFormat | None = None
    received: list[ServerMessage] = attrs.field(factory=list)
    _pending_ping: int | None = None

    def handshake_headers(
        self, *, target: str, host: str, api_key: str, client_secret: str, now: float
    ) -> dict[str, str]:
        """Signed upgrade headers as Genesys sends them."""
        return sign_request(
            target=target,
            host=host,
            organization_id=self.organization_id,
            session_id=self.session_id,
            correlation_id=self.correlation_id,
            api_key=api_key,
            client_secret=client_secret,
            created=int(now),
        )

    def message(self, parameters: ClientParameters) -> str:
        """Number and serialize any client message (also usable to send deliberately odd ones)."""
        self.seq += 1
        return dump(
            ClientMessage(
                id=self.session_id,
                seq=self.seq,
                serverseq=self.serverseq,
                position=self.position,
                parameters=parameters,
            )
        )

    def open(
        self,
        media: tuple[MediaFormat, ...] = DEFAULT_OFFER,
        *,
        language: str | None = "en-US",
        supported_languages: bool | None = None,
        organization_id: str | None = None,
    ) -> str:
        """The ``open`` message."""
        return self.message(
            OpenParameters(
                organization_id=organization_id or self.organization_id,
                conversation_id=self.conversation_id,
                participant=Participant(id=self.participant_id, ani="+15551230000", dnis="+18005550100"),
                media=media,
                language=language,
                supported_languages=supported_languages,
            )
        )

    def ping(self, rtt: float | None = None) -> str:
        """A ``ping``; the next ``pong`` must echo its ``seq``."""
        text = self.message(PingParameters(rtt=rtt))
        self._pending_ping = self.seq
        return text

    def paused(self) -> str:
        """The ``paused`` message."""
        return self.message(PausedParameters())

    def resumed(self, discarded: float = 0.0) -> str:
        """``resumed`` after skipping ``discarded`` s of stream while paused (the position jumps by it)."""
        start = self.position
        self.position += discarded
        return self.message(ResumedParameters(start=start, discarded=discarded))

    def discarded(self, seconds: float) -> str:
        """``discarded``: the client dropped ``seconds`` of audio at the current position."""
        start = self.position
        self.position += seconds
        return self.message(DiscardedParameters(start=start, discarded=seconds))

    def update(self, language: str) -> str:
        """The ``update`` message."""
        return self.message(UpdateParameters(language=language))

    def error(self, code: int, message: str) -> str:
        """The client's ``error`` message."""
        return self.message(ClientErrorParameters(code=code, message=message))

    def close(self, reason: CloseReason = "end") -> str:
        """The ``close`` message."""
        return self.message(CloseParameters(reason=reason))

    def audio(self, seconds: float, *, fill: int = 0xFF) -> list[bytes]:
        """``seconds`` of negotiated audio as 200 ms frames (last one shorter); advances the position."""
        if self.media is None:
            raise ClientProtocolError("no media negotiated")
        channels = len(self.media.channels)
        total = round(seconds * 8000)
        frames = []
        for start in range(0, total, FRAME_BYTES_PER_CHANNEL):
            samples = min(FRAME_BYTES_PER_CHANNEL, total - start)
            frames.append(bytes([fill]) * (samples * channels))
        self.position += total / 8000
        return frames

    def frames(self, audio: bytes) -> list[bytes]:
        """Real audio (interleaved in the negotiated order) as 200 ms frames; advances the position."""
        if self.media is None:
            raise ClientProtocolError("no media negotiated")
        channels = len(self.media.channels)
        size = FRAME_BYTES_PER_CHANNEL * channels
        self.position += len(audio) / (8000 * channels)
        return [audio[i : i + size] for i in range(0, len(audio), size)]

    def receive(self, text: str) -> ServerMessage:
        """Check and record a server message; raises :class:`ClientProtocolError` if it breaks the rules."""
        message = parse_server_message(text)
        if message.id != self.session_id:
            raise ClientProtocolError(f"id {message.id} is not the session id")
        if message.seq != self.serverseq + 1:
            raise ClientProtocolError(f"server seq {message.seq} does not follow {self.serverseq}")
        if message.clientseq > self.seq:
            raise ClientProtocolError(f"clientseq {message.clientseq} is ahead of our seq {self.seq}")
        if isinstance(message.parameters, PongParameters):
            if message.clientseq != self._pending_ping:
                raise ClientProtocolError(
                    f"pong clientseq {message.clientseq} != ping seq {self._pending_ping}"
                )
            self._pending_ping = None
        if isinstance(message.parameters, OpenedParameters):
            media = message.parameters.media
            self.media = media[0] if media else None
        self.serverseq = message.seq
        self.received.append(message)
        return message


__all__ = [
    "DEFAULT_OFFER",
    "MONO_EXTERNAL",
    "MONO_INTERNAL",
    "STEREO",
    "STEREO_INVERTED",
    "AudioHookClient",
    "ClientProtocolError",
]
