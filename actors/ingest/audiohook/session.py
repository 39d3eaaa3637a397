"""The server side of one AudioHook session, sans-I/O (the AudioHook protocol).

Feed it the socket's frames (:meth:`AudioHookSession.receive_text`, :meth:`~AudioHookSession.receive_binary`)
and the time (:meth:`~AudioHookSession.tick`); drain :meth:`~AudioHookSession.take_events` (call events
from :mod:`actors.ingest.calls` plus :class:`CloseReceived` / :class:`ClientReportedError`) and
:meth:`~AudioHookSession.take_outgoing` (text frames to send). :attr:`~AudioHookSession.transport_done`
says when the service may drop the socket.

The close transaction: on ``close`` the session emits :class:`~actors.ingest.calls.CallEnd` then
:class:`CloseReceived` and waits; the service flushes its stream, sends the final transcripts with
:meth:`~AudioHookSession.send_event`, then calls :meth:`~AudioHookSession.send_closed`. If it has not by
``CloseReceived.closed_by`` (the client gives up 10 s after ``close``), :meth:`~AudioHookSession.tick`
sends ``closed`` itself.

Protocol violations (bad JSON/envelope, wrong session id, out-of-order ``seq``, ``serverseq`` ahead of
ours, audio outside ACTIVE, a frame not a multiple of the channel count, a message unexpected in the
state) are answered as the reference server does: ``disconnect`` ``{reason:"error", info:"Client Error:
..."}``, and the call ends with ``CallEnd(reason="error")``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from actors.ingest.audiohook.messages import (
    ClientErrorParameters,
    ClientMessage,
    ClosedParameters,
    CloseParameters,
    DiscardedParameters,
    DisconnectParameters,
    DisconnectReason,
    Entity,
    EventParameters,
    MediaFormat,
    MessageError,
    OpenedParameters,
    OpenParameters,
    PausedParameters,
    PauseParameters,
    PingParameters,
    PongParameters,
    ResumedParameters,
    ResumeParameters,
    ServerMessage,
    ServerParameters,
    UpdateParameters,
    dump,
    parse_client_message,
)
from actors.ingest.audiohook.signatures import NULL_UUID, VerifiedRequest
from actors.ingest.calls import (
    CallAudio,
    CallEnd,
    CallEvent,
    CallPaused,
    CallResumed,
    CallStart,
    CallUpdated,
    EndReason,
)

#: The client's close timeout: it gives up this long after sending ``close`` (s).
CLIENT_CLOSE_TIMEOUT = 10.0
#: We send ``closed`` ourselves this long after ``close`` if the service has not (s).
DEFAULT_CLOSE_GRACE = 8.0
#: After our ``disconnect``, the client should answer ``close``; we drop the socket after this (s).
DISCONNECT_GRACE = 10.0
#: The languages Deepgram's streaming models handle that we advertise in ``opened.supportedLanguages``.
DEFAULT_LANGUAGES: tuple[str, ...] = ("en-US", "en-GB", "en-AU", "en-IN", "es-ES", "es-US", "fr-FR", "de-DE")


class State(enum.Enum):
    """Where the session is (the reference server's states, condensed)."""

    PREPARING = "preparing"
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSING = "closing"
    CLOSED = "closed"
    DISCONNECTING = "disconnecting"


@attrs.frozen
class CloseReceived:
    """The client sent ``close``: flush, send final transcripts, then ``send_closed()`` by ``closed_by``."""

    reason: str
    position: float
    closed_by: float


@attrs.frozen
class ClientReportedError:
    """The client sent ``error`` (a ``close`` ``error`` follows)."""

    code: int
    message: str
    retry_after: float | None = None


SessionEvent = CallEvent | CloseReceived | ClientReportedError


@attrs.frozen
class SessionConfig:
    """What the service accepts: stereo only or mono too, languages, and the close grace period.

    ``transcription_connector``: the session serves the Transcription Connector (the service decides by
    route; the protocol names no flag in ``open``): transcripts are wanted, and a missing or unsupported
    ``language`` is answered with ``pause`` until an ``update`` names a supported one (then ``resume``),
    as the reference does. ``supported_languages`` go in ``opened`` when ``open.supportedLanguages``.
    """

    require_stereo: bool = False
    transcription_connector: bool = False
    supported_languages: tuple[str, ...] = DEFAULT_LANGUAGES
    start_paused: bool = False
    close_grace: float = DEFAULT_CLOSE_GRACE


class _Violation(Exception):
    def __init__(self, info: str) -> None:
        super().__init__(info)
        self.info = info


def choose_media(offers: tuple[MediaFormat, ...], *, require_stereo: bool = False) -> MediaFormat | None:
    """The first offer we accept: PCMU at 8 kHz, mono or stereo in either channel order.

    L16 is refused: the protocol says its byte order is unspecified (the reference reads host order),
    so we cannot hand Deepgram a ``linear16`` stream we are sure of.
    """
    for offer in offers:
        if offer.format != "PCMU" or offer.rate != 8000:
            continue
        if require_stereo and len(offer.channels) != 2:
            continue
        return offer
    return None


class AudioHookSession:
    """One AudioHook session, server side; see the module docstring for the contract.

    ``request`` is the verified upgrade (its session id is every message's ``id``; the null UUID adopts
    the first message's id). ``auth_failure`` set means the upgrade failed verification and the service
    accepted the socket anyway (the reference's "session" strategy): the ``open`` is answered with
    ``disconnect`` ``unauthorized`` carrying that info.
    """

    def __init__(
        self,
        request: VerifiedRequest,
        config: SessionConfig | None = None,
        *,
        auth_failure: str | None = None,
    ) -> None:
        self.request = request
        self.config = config or SessionConfig()
        self.state = State.PREPARING
        self.session_id = request.session_id
        self._auth_failure = auth_failure
        self._seq = 0
        self._clientseq = 0
        self._events: list[SessionEvent] = []
        self._outgoing: list[str] = []
        self.media: MediaFormat | None = None
        self.open: OpenParameters | None = None
        self.language: str | None = None
        #: Seconds of audio received.
        self.received = 0.0
        #: Seconds of the client's timeline skipped (``discarded`` and ``resumed.discarded``).
        self.discarded = 0.0
        self.client_position = 0.0
        #: The last round trip the client reported in ``ping.rtt`` (s).
        self.rtt: float | None = None
        self._bytes = 0
        self._ended = False
        self._closed_by: float | None = None
        self._drop_by: float | None = None
        self._graceful = False  # our disconnect asked the client to close; its audio still counts
        self.transport_done = False

    # --- what the service reads -------------------------------------------------------------------

    @property
    def position(self) -> float:
        """The client timeline now: audio received + Σdiscarded (s)."""
        return self.received + self.discarded

    @property
    def wants_transcripts(self) -> bool:
        """True when ``event`` transcripts should be sent (Transcription Connector, session opened)."""
        return self.config.transcription_connector and self.state in (
            State.ACTIVE,
            State.PAUSED,
            State.CLOSING,
        )

    def take_events(self) -> list[SessionEvent]:
        """The events since the last call, in order."""
        out, self._events = self._events, []
        return out

    def take_outgoing(self) -> list[str]:
        """The text frames to send since the last call, in order."""
        out, self._outgoing = self._outgoing, []
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`tick` next has something to do (``closed`` due, or the socket to drop), if ever."""
        if self._closed_by is not None:
            return self._closed_by
        return self._drop_by

    # --- input --------------------------------------------------------------------------------------

    def receive_text(self, text: str, now: float) -> None:
        """Handle a text frame received at ``now``."""
        if self.state in (State.CLOSED,) or self.transport_done:
            return
        try:
            message = parse_client_message(text)
        except MessageError as exc:
            self._violation(f"Client Error: {exc}", now)
            return
        try:
            self._check_envelope(message)
            self._dispatch(message, now)
        except _Violation as exc:
            self._violation(exc.info, now)

    def receive_binary(self, data: bytes, now: float) -> None:
        """Handle a binary (audio) frame received at ``now``."""
        if self.state is State.CLOSED or self.transport_done:
            return
        if self.state is State.DISCONNECTING and not self._graceful:
            return
        if self.state not in (State.ACTIVE, State.DISCONNECTING) or self.media is None:
            self._violation(f"Client Error: audio received in state {self.state.value}", now)
            return
        channels = len(self.media.channels)
        if len(data) % channels:
            self._violation(
                f"Client Error: audio frame of {len(data)} bytes is not a multiple of {channels}", now
            )
            return
        if not data:
            return
        position = self.position
        self._bytes += len(data)
        self.received = self._bytes / (8000 * channels)
        self._events.append(CallAudio(audio=data, position=position))

    def tick(self, now: float) -> None:
        """Let time pass: send a late ``closed``, or give up on a disconnect the client never answered."""
        if self._closed_by is not None and now >= self._closed_by and self.state is State.CLOSING:
            self.send_closed()
        if self._drop_by is not None and now >= self._drop_by:
            self.transport_done = True
            self._end("disconnected", "the client did not answer disconnect")

    def connection_lost(self) -> None:
        """The socket went away (without a completed close transaction)."""
        self.transport_done = True
        self._end("disconnected", "connection lost")

    # --- server-initiated -----------------------------------------------------------------------------

    def send_event(self, entities: tuple[Entity, ...]) -> None:
        """Send an ``event`` (allowed while active, paused or closing; ignored otherwise)."""
        if self.state in (State.ACTIVE, State.PAUSED, State.CLOSING):
            self._send(EventParameters(entities=entities))

    def send_closed(self) -> None:
        """Finish the close transaction: send ``closed`` (the client then closes the socket)."""
        if self.state is State.CLOSING:
            self._send(ClosedParameters())
            self.state = State.CLOSED
            self._closed_by = None

    def pause(self) -> None:
        """Ask the client to pause (the state changes when it answers ``paused``)."""
        if self.state in (State.ACTIVE, State.PAUSED):
            self._send(PauseParameters())

    def resume(self) -> None:
        """Ask the client to resume (the state changes when it answers ``resumed``)."""
        if self.state in (State.ACTIVE, State.PAUSED):
            self._send(ResumeParameters())

    def disconnect(
        self, reason: DisconnectReason, info: str | None, now: float, *, graceful: bool = False
    ) -> None:
        """Ask the client to close (``disconnect``); the call ends (completed for ``completed``).

        ``graceful`` (a drain): the call goes on until the client's ``close`` -- audio sent meanwhile
        still counts -- and that close runs the normal close transaction (:class:`CloseReceived`, the
        service's last transcripts, then ``closed``). Otherwise the call ends now and the client's
        close is answered ``closed`` at once.
        """
        if self.state in (State.CLOSED, State.DISCONNECTING, State.CLOSING) or self.transport_done:
            return
        self._send(DisconnectParameters(reason=reason, info=info))
        self.state = State.DISCONNECTING
        self._drop_by = now + DISCONNECT_GRACE
        if graceful and self.open is not None:
            self._graceful = True
            return
        end: EndReason = "completed" if reason == "completed" else "error"
        self._end(end, info)

    # --- internals ------------------------------------------------------------------------------------

    def _send(self, parameters: ServerParameters) -> None:
        self._seq += 1
        message = ServerMessage(
            id=self.session_id, seq=self._seq, clientseq=self._clientseq, parameters=parameters
        )
        self._outgoing.append(dump(message))

    def _end(self, reason: EndReason, detail: str | None) -> None:
        if self._ended or self.open is None:
            self._ended = True
            return
        self._ended = True
        self._events.append(CallEnd(reason=reason, position=self.position, detail=detail))

    def _violation(self, info: str, now: float) -> None:
        if self.state is State.DISCONNECTING:
            return
        self._send(DisconnectParameters(reason="error", info=info))
        self.state = State.DISCONNECTING
        self._closed_by = None
        self._drop_by = now + DISCONNECT_GRACE
        self._end("error", info)

    def _check_envelope(self, message: ClientMessage) -> None:
        if self.session_id == NULL_UUID:
            self.session_id = message.id
        if message.id != self.session_id:
            raise _Violation("Client Error: Session identifier mismatch")
        if self.state is State.DISCONNECTING:
            # After our disconnect only the client's close matters; resynchronise instead of re-erroring.
            self._clientseq = message.seq
            return
        if message.seq != self._clientseq + 1:
            raise _Violation(f"Client Error: seq {message.seq} does not follow {self._clientseq}")
        if message.serverseq > self._seq:
            raise _Violation(f"Client Error: serverseq {message.serverseq} is ahead of our seq {self._seq}")
        self._clientseq = message.seq
        self.client_position = message.position

    def _dispatch(self, message: ClientMessage, now: float) -> None:
        params = message.parameters
        if isinstance(params, OpenParameters):
            self._on_open(params, now)
        elif isinstance(params, CloseParameters):
            self._on_close(params, now)
        elif isinstance(params, PingParameters):
            if params.rtt is not None:
                self.rtt = params.rtt
            self._send(PongParameters())
        elif self.state is State.DISCONNECTING:
            return
        elif isinstance(params, ClientErrorParameters):
            self._events.append(ClientReportedError(params.code, params.message, params.retry_after))
        elif self.state not in (State.ACTIVE, State.PAUSED):
            raise _Violation(f"Client Error: {message.type} unexpected in state {self.state.value}")
        elif isinstance(params, PausedParameters):
            if self.state is State.ACTIVE:
                self.state = State.PAUSED
                self._events.append(CallPaused(position=self.position))
        elif isinstance(params, ResumedParameters):
            if self.state is State.PAUSED:
                self.state = State.ACTIVE
                self.discarded += params.discarded
                self._events.append(CallResumed(position=self.position, discarded=params.discarded))
        elif isinstance(params, DiscardedParameters):
            self.discarded += params.discarded
        elif isinstance(params, UpdateParameters):
            self.language = params.language
            self._events.append(CallUpdated(position=self.position, language=params.language))
            if (
                self.config.transcription_connector
                and self.state is State.PAUSED
                and self._supported(params.language)
            ):
                self._send(ResumeParameters())

    def _supported(self, language: str | None) -> bool:
        wanted = (language or "").lower()
        return any(wanted == known.lower() for known in self.config.supported_languages)

    def _on_open(self, params: OpenParameters, now: float) -> None:
        if self.state is not State.PREPARING:
            raise _Violation(f"Client Error: open unexpected in state {self.state.value}")
        if self._auth_failure is not None or params.organization_id != self.request.organization_id:
            info = self._auth_failure or "Organization id does not match the Audiohook-Organization-Id header"
            self._send(DisconnectParameters(reason="unauthorized", info=info))
            self.state = State.DISCONNECTING
            self._drop_by = now + DISCONNECT_GRACE
            return
        media = choose_media(params.media, require_stereo=self.config.require_stereo)
        if media is None:
            need = "two channels" if self.config.require_stereo else "PCMU at 8000 Hz"
            self._violation(f"No supported media offered: the service needs {need}", now)
            return
        self.open = params
        self.media = media
        self.language = params.language
        langs = self.config.supported_languages if params.supported_languages else None
        self._send(
            OpenedParameters(media=(media,), start_paused=self.config.start_paused, supported_languages=langs)
        )
        self.state = State.PAUSED if self.config.start_paused else State.ACTIVE
        ids: Mapping[str, str] = {
            "session_id": self.session_id,
            "conversation_id": params.conversation_id,
            "participant_id": params.participant.id,
            "organization_id": params.organization_id,
            "correlation_id": self.request.correlation_id,
        }
        metadata = {
            key: value
            for key, value in (
                ("ani", params.participant.ani),
                ("ani_name", params.participant.ani_name),
                ("dnis", params.participant.dnis),
            )
            if value
        }
        self._events.append(
            CallStart(
                platform="audiohook",
                call_id=self.session_id,
                encoding="mulaw",
                sample_rate=8000,
                channels=tuple(media.channels),
                platform_ids=ids,
                language=params.language,
                metadata=metadata,
            )
        )
        if self.config.transcription_connector and not self._supported(params.language):
            # The reference Transcription Connector: no usable language -> ask for a pause until an update.
            self._send(PauseParameters())

    def _on_close(self, params: CloseParameters, now: float) -> None:
        if self.state is State.CLOSING:
            raise _Violation("Client Error: close unexpected in state closing")
        if self.state is State.DISCONNECTING and self._graceful:
            # The answer to a graceful disconnect: the normal close transaction.
            self._graceful = False
            self._drop_by = None
            self._end("completed", None)
            self.state = State.CLOSING
            self._closed_by = now + min(self.config.close_grace, CLIENT_CLOSE_TIMEOUT)
            self._events.append(
                CloseReceived(reason=params.reason, position=self.position, closed_by=self._closed_by)
            )
            return
        if self.state is State.DISCONNECTING:
            # The answer to our disconnect (or a close after an error): finish at once.
            self.state = State.CLOSING
            self._drop_by = None
            self.send_closed()
            return
        if self.state is State.PREPARING:
            self.state = State.CLOSING
            self.send_closed()
            return
        end: EndReason = "completed"
        if params.reason == "error":
            end = "error"
        elif params.reason != "end":
            end = "disconnected"
        self._end(end, None if end == "completed" else f"client closed with reason {params.reason}")
        self.state = State.CLOSING
        self._closed_by = now + min(self.config.close_grace, CLIENT_CLOSE_TIMEOUT)
        self._events.append(
            CloseReceived(reason=params.reason, position=self.position, closed_by=self._closed_by)
        )


__all__ = [
    "CLIENT_CLOSE_TIMEOUT",
    "DEFAULT_LANGUAGES",
    "AudioHookSession",
    "ClientReportedError",
    "CloseReceived",
    "SessionConfig",
    "SessionEvent",
    "State",
    "choose_media",
]
