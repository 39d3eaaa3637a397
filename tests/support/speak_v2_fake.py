"""A tiny test-only ``/v2/speak`` (Flux TTS) server that follows asyncapi.yml and the SDK's types.

Until the local server has its own ``/v2/speak`` this lets the client, the CLI and deepgram-sdk's
``speak.v2`` client be walked end to end over a real socket. It is deliberately deterministic:

* handshake: 400 without ``model`` or with a non-``flux-`` model; otherwise ``Connected``;
* ``Speak`` adds text to the open turn; ``Flush`` of a non-empty turn answers ``SpeechStarted``,
  binary linear16 silence (:data:`MS_PER_CHAR` per character, in chunks of at most
  :data:`CHUNK_BYTES`), ``SpeechMetadata``, ``Flushed``; a ``Flush`` with no text: ``Warning``
  ``NO_ACTIVE_SPEECH``;
* ``Interrupt`` with text buffered: ``SpeechStarted``, the first chunk of its audio, then
  ``SpeechInterrupted`` (the text split at the played offset when one was given) and the turn is
  dropped; with nothing generated yet: ``Warning NO_AUDIO_GENERATED``; otherwise ``NO_ACTIVE_SPEECH``;
* ``Configure`` with a speed on the 0.05 grid within 0.5..1.5: ``ConfigureSuccess``, else
  ``ConfigureFailure``;
* ``Close`` synthesises a turn still open (as a flush would), then ``SessionMetadata`` and close 1000;
* anything else: ``Error MESSAGE-0000`` and close 1008.

``FakeSpeakV2Server`` serves on 127.0.0.1 in one thread named ``fake-speak-v2-<port>``, which
``stop()`` (or leaving the ``with`` block) shuts down and joins. ``received`` records every text
frame the clients sent, decoded, in order.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from typing import Any

from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

__all__ = ["CHUNK_BYTES", "FLUSHED_TURN", "MS_PER_CHAR", "FakeSpeakV2Server", "message_names"]

MS_PER_CHAR = 10
CHUNK_BYTES = 4800
_DEFAULT_RATE = 24000


def _refuse(message: str) -> Response:
    body = json.dumps({"err_code": "Bad Request", "err_msg": message}).encode()
    headers = Headers([("Content-Type", "application/json"), ("dg-error", message)])
    return Response(400, "Bad Request", headers, body)


class _Session:
    """One connection's turn state; every answer goes out through ``send``."""

    def __init__(self, ws: ServerConnection, sample_rate: int) -> None:
        self.ws = ws
        self.sample_rate = sample_rate
        self.text = ""
        self.turns = 0
        self.total_ms = 0
        self.total_chars = 0
        self.speed: float | None = None

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def _speech_id(self) -> str:
        return f"dg_sp_{self.turns:012x}"

    def _audio(self, ms: int) -> list[bytes]:
        size = ms * self.sample_rate // 1000 * 2
        return [b"\x00" * min(CHUNK_BYTES, size - i) for i in range(0, size, CHUNK_BYTES)]

    def _metadata(self, speech_id: str, ms: int, chars: int) -> dict[str, Any]:
        return {
            "speech_id": speech_id,
            "audio_duration_ms": ms,
            "input_character_count": chars,
            "billable_character_count": chars,
            "controls_applied": {
                "pronunciations_applied": 0,
                "breaks_applied": 0,
                "pronunciation_warnings": 0,
            },
        }

    def flush(self) -> None:
        if not self.text:
            self.send({"type": "Warning", "code": "NO_ACTIVE_SPEECH", "description": "no text to flush"})
            return
        self.turns += 1
        speech_id = self._speech_id()
        chars, self.text = len(self.text), ""
        ms = chars * MS_PER_CHAR
        self.send({"type": "SpeechStarted", "speech_id": speech_id})
        for chunk in self._audio(ms):
            self.ws.send(chunk)
        self.total_ms += ms
        self.total_chars += chars
        self.send({"type": "SpeechMetadata", **self._metadata(speech_id, ms, chars)})
        self.send({"type": "Flushed", "speech_id": speech_id})

    def interrupt(self, message: dict[str, Any]) -> None:
        if not self.text:
            code = "NO_AUDIO_GENERATED" if self.total_ms == 0 else "NO_ACTIVE_SPEECH"
            self.send({"type": "Warning", "code": code, "description": "Interrupt ignored"})
            return
        self.turns += 1
        speech_id = self._speech_id()
        text, self.text = self.text, ""
        chunk = self._audio(len(text) * MS_PER_CHAR)[0]
        played_here = len(chunk) * 1000 // (2 * self.sample_rate)
        self.send({"type": "SpeechStarted", "speech_id": speech_id})
        self.ws.send(chunk)
        answer: dict[str, Any] = {"type": "SpeechInterrupted"}
        offset = message.get("playback_offset")
        if isinstance(offset, dict) and isinstance(offset.get("value"), int):
            played = offset["value"]
            cut = max(0, min(len(text), (played - self.total_ms) // MS_PER_CHAR))
            answer.update(audio_played_ms=played, text_spoken=text[:cut], text_remaining=text[cut:])
        else:
            answer["audio_played_ms"] = self.total_ms + played_here
        self.total_ms += played_here
        self.total_chars += len(text)
        answer["metadata"] = self._metadata(speech_id, played_here, len(text))
        self.send(answer)

    def configure(self, message: dict[str, Any]) -> None:
        speed = message.get("speed")
        on_grid = isinstance(speed, int | float) and abs(speed * 20 - round(speed * 20)) < 1e-6
        if speed is not None and on_grid and 0.5 <= speed <= 1.5:
            self.speed = float(speed)
            self.send({"type": "ConfigureSuccess", "applied": {"speed": self.speed}})
        else:
            self.send(
                {
                    "type": "ConfigureFailure",
                    "code": "SPEED_OUT_OF_RANGE",
                    "field": "speed",
                    "value": speed,
                    "description": "speed must be 0.5 to 1.5 in 0.05 steps",
                }
            )

    def close(self) -> None:
        if self.text:
            self.flush()
        self.send(
            {
                "type": "SessionMetadata",
                "total_audio_duration_ms": self.total_ms,
                "total_input_character_count": self.total_chars,
                "total_billable_character_count": self.total_chars,
            }
        )
        self.ws.close(1000)


class FakeSpeakV2Server:
    """A ``/v2/speak`` test server on 127.0.0.1; ``url`` is its ``ws://`` base (see the module docstring)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: Server = serve(self._handle, "127.0.0.1", 0, process_request=self._check)
        self.port: int = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"fake-speak-v2-{self.port}", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The base URL to give a client (``ws://127.0.0.1:<port>``)."""
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop serving and join the server thread."""
        self._server.shutdown()
        self._thread.join(5)

    def __enter__(self) -> FakeSpeakV2Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urllib.parse.urlsplit(request.path)
        if url.path.rstrip("/") != "/v2/speak":
            return _refuse(f"no API at {url.path!r}")
        model = dict(urllib.parse.parse_qsl(url.query)).get("model")
        if not model or not model.startswith("flux-"):
            return _refuse("Bad Request: No such model/version combination found.")
        return None

    def _handle(self, ws: ServerConnection) -> None:
        query = dict(
            urllib.parse.parse_qsl(urllib.parse.urlsplit(ws.request.path if ws.request else "").query)
        )
        session = _Session(ws, int(query.get("sample_rate", _DEFAULT_RATE)))
        session.send(
            {
                "type": "Connected",
                "request_id": "00000000-0000-4000-8000-000000000001",
                "model_name": query["model"],
                "model_version": "2026-01-01.0",
                "model_uuids": ["00000000-0000-4000-8000-0000000000aa"],
            }
        )
        for frame in ws:
            try:
                message = json.loads(frame)
            except (TypeError, ValueError):
                message = None
            if not isinstance(message, dict):
                session.send({"type": "Error", "code": "MESSAGE-0000", "description": "not a JSON message"})
                ws.close(1008)
                return
            with self._lock:
                self.received.append(message)
            kind = message.get("type")
            if kind == "Speak" and isinstance(message.get("text"), str):
                session.text += message["text"]
            elif kind == "Flush":
                session.flush()
            elif kind == "Interrupt":
                session.interrupt(message)
            elif kind == "Configure":
                session.configure(message)
            elif kind == "Close":
                session.close()
                return
            else:
                session.send({"type": "Error", "code": "MESSAGE-0000", "description": f"unknown {kind!r}"})
                ws.close(1008)
                return


#: What one flushed turn gets back, in :func:`message_names` form (from this server and the local one).
FLUSHED_TURN = ("SpeakV2SpeechStarted", "audio", "SpeakV2SpeechMetadata", "SpeakV2Flushed")


def message_names(messages: list[object]) -> list[str]:
    """Class names in order, each run of audio frames collapsed into one ``audio``."""
    out: list[str] = []
    for m in messages:
        name = "audio" if isinstance(m, bytes) else type(m).__name__
        if not (name == "audio" and out[-1:] == ["audio"]):
            out.append(name)
    return out
