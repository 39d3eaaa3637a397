"""A threaded HTTP transcription service: one Listen V1 stream per request, one shared client.

Each ``POST /transcribe`` carries audio -- a WAV file (16-bit PCM, any rate, mono or
multichannel) or raw 16-bit little-endian PCM (``?sample_rate=16000&channels=1``, the defaults)
-- and is answered with the transcript as JSON::

    {"transcript": "...", "channels": [{"transcript": "...", "words": [...]}],
     "duration": 3.2, "request_id": "..."}

The standard library's ``http.server.ThreadingHTTPServer`` runs every request on its own thread;
all of them share ONE :class:`actors.DeepgramClient` (it is thread-safe: each request opens its
own socket). The audio is streamed as fast as the connection takes it; leaving the ``with`` block
finishes the stream gracefully and waits for the last results (the adaptive finish deadline
follows the audio the service still owes, so a busy service is waited for).

Run it (from the repository root)::

    python examples/threaded_server.py                      # the embedded offline server (*)
    python examples/threaded_server.py --url ws://127.0.0.1:8765   # a `python -m actors serve`
    DEEPGRAM_API_KEY=... python examples/threaded_server.py --deepgram   # Deepgram itself

    curl --data-binary @actors/samples/call-1-order.wav http://127.0.0.1:8080/transcribe

(*) when ``DEEPGRAM_API_KEY`` is not set. ``--port 0`` picks a free port; the first line printed
is ``listening on http://HOST:PORT``. Ctrl-C or SIGTERM shuts down cleanly: no new requests, the
ones running finish, then the process exits 0.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import signal
import sys
import threading
import wave
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from actors import DeepgramClient, DeepgramClientEnvironment
from actors.errors import ActorsError, FinishTimeout, HandshakeError
from actors.listen.v1.types import ListenV1Results

#: Largest accepted request body (about 50 minutes of 16 kHz mono PCM).
MAX_BODY_BYTES = 100 * 1024 * 1024
#: Audio is sent in chunks of this many milliseconds.
CHUNK_MS = 100
#: Connect parameters of every stream (the encoding and rate come from the audio).
LISTEN_PARAMS: dict[str, Any] = {"model": "nova-3", "punctuate": True}


class BadAudio(ValueError):
    """The request body is not audio this service understands (answered with 400)."""


def decode_body(body: bytes, query: Mapping[str, Sequence[str]]) -> tuple[bytes, int, int]:
    """``(pcm, sample_rate, channels)`` of a WAV body, or of raw 16-bit PCM described by ``query``.

    Raises :class:`BadAudio` naming what is wrong.
    """
    if body[:4] == b"RIFF" and body[8:12] == b"WAVE":
        try:
            with wave.open(io.BytesIO(body)) as wav:
                if wav.getsampwidth() != 2 or wav.getcomptype() != "NONE":
                    raise BadAudio("only 16-bit PCM WAV files are supported")
                return wav.readframes(wav.getnframes()), wav.getframerate(), wav.getnchannels()
        except (wave.Error, EOFError) as exc:
            raise BadAudio(f"unreadable WAV file: {exc}") from None
    try:
        rate = int(query.get("sample_rate", ["16000"])[0])
        channels = int(query.get("channels", ["1"])[0])
    except ValueError:
        raise BadAudio("sample_rate and channels must be integers") from None
    if not 8000 <= rate <= 192000 or not 1 <= channels <= 8:
        raise BadAudio(f"unsupported raw audio: sample_rate={rate}, channels={channels}")
    if len(body) % (2 * channels):
        raise BadAudio("raw audio must be whole 16-bit frames")
    return body, rate, channels


def transcribe(client: DeepgramClient, pcm: bytes, sample_rate: int, channels: int) -> dict[str, Any]:
    """Stream ``pcm`` (linear16) through one Listen V1 socket; the transcript as a JSON-able dict.

    Raises ``HandshakeError`` when the service refuses the stream, ``FinishTimeout`` when it did
    not answer for all the audio in time, and other ``ActorsError``s for a failed stream.
    """
    params = dict(LISTEN_PARAMS, encoding="linear16", sample_rate=sample_rate, channels=channels)
    if channels > 1:
        params["multichannel"] = True
    chunk = sample_rate * channels * 2 * CHUNK_MS // 1000
    with client.listen.v1.connect(**params) as socket:
        for offset in range(0, len(pcm), chunk):
            socket.send_media(pcm[offset : offset + chunk])
    # The block finished the stream: every result is queued on the socket; reading ends at close.
    texts: list[list[str]] = [[] for _ in range(channels)]
    words: list[list[dict[str, Any]]] = [[] for _ in range(channels)]
    for message in socket:
        if not (isinstance(message, ListenV1Results) and message.is_final):
            continue
        channel = (message.channel_index or [0])[0]
        alternative = message.channel.alternatives[0]
        if alternative.transcript:
            texts[channel].append(alternative.transcript)
        words[channel].extend(
            {"word": w.word, "start": w.start, "end": w.end, "confidence": w.confidence}
            for w in alternative.words
        )
    per_channel: list[dict[str, Any]] = [
        {"transcript": " ".join(t), "words": w} for t, w in zip(texts, words, strict=True)
    ]
    return {
        "transcript": " ".join(c["transcript"] for c in per_channel if c["transcript"]),
        "channels": per_channel,
        "duration": len(pcm) / (sample_rate * channels * 2),
        "request_id": socket.request_id,
    }


class TranscribeHandler(BaseHTTPRequestHandler):
    """``POST /transcribe``: the body's transcript as JSON; errors as ``{"error": "..."}``."""

    server: TranscriptionServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        """Transcribe the request body (see the module docstring)."""
        threading.current_thread().name = f"http-request-{next(self.server.request_numbers)}"
        url = urlsplit(self.path)
        if url.path != "/transcribe":
            self._reply(HTTPStatus.NOT_FOUND, {"error": f"no such path: {url.path} (POST /transcribe)"})
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._reply(HTTPStatus.LENGTH_REQUIRED, {"error": "send the audio with a Content-Length"})
            return
        if int(length) > MAX_BODY_BYTES:
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"body over {MAX_BODY_BYTES} bytes"})
            return
        body = self.rfile.read(int(length))
        try:
            pcm, rate, channels = decode_body(body, parse_qs(url.query))
            answer = transcribe(self.server.client, pcm, rate, channels)
        except BadAudio as exc:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except HandshakeError as exc:
            self._reply(HTTPStatus.BAD_GATEWAY, {"error": f"the service refused the stream: {exc}"})
        except FinishTimeout as exc:
            self._reply(HTTPStatus.GATEWAY_TIMEOUT, {"error": str(exc)})
        except (ActorsError, OSError) as exc:
            self._reply(HTTPStatus.BAD_GATEWAY, {"error": f"the stream failed: {exc}"})
        else:
            self._reply(HTTPStatus.OK, answer)

    def _reply(self, status: HTTPStatus, payload: Mapping[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Access log lines go to stderr only when the server was made with ``verbose=True``."""
        if self.server.verbose:
            super().log_message(format, *args)


class TranscriptionServer(ThreadingHTTPServer):
    """The HTTP server: a thread per request, all sharing ``client``.

    ``start()`` serves on a background thread (``http-server``); ``stop()`` stops accepting,
    waits for the requests still running (their threads are joined) and closes the socket.
    """

    daemon_threads = False  # stop() waits for running requests instead of cutting them off
    request_queue_size = 128  # the listen backlog (socketserver: 5), for bursts of clients
    block_on_close = True

    def __init__(self, address: tuple[str, int], client: DeepgramClient, *, verbose: bool = False) -> None:
        super().__init__(address, TranscribeHandler)
        self.client = client
        self.verbose = verbose
        self.request_numbers = itertools.count(1)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` this server listens on."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Serve on a background thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self.serve_forever, name="http-server")
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, let running requests finish (their threads are joined), close the socket."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()


def make_client(args: argparse.Namespace) -> DeepgramClient:
    """The one client every request shares: a local server, Deepgram, or the embedded server."""
    if args.url:
        return DeepgramClient(environment=DeepgramClientEnvironment.local(args.url))
    if args.deepgram:
        key = os.environ.get("DEEPGRAM_API_KEY")
        if not key:
            raise SystemExit("--deepgram needs DEEPGRAM_API_KEY")
        return DeepgramClient(api_key=key, environment=DeepgramClientEnvironment.PRODUCTION)
    return DeepgramClient()  # no key (and no DEEPGRAM_API_KEY): the embedded offline server


def main(argv: Sequence[str] | None = None) -> int:
    """Run the service until Ctrl-C / SIGTERM; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--url", help="a local Deepgram-compatible server, e.g. ws://127.0.0.1:8765")
    where.add_argument("--deepgram", action="store_true", help="use Deepgram (needs DEEPGRAM_API_KEY)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    server = TranscriptionServer((args.host, args.port), make_client(args), verbose=args.verbose)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    server.start()
    print(f"listening on {server.url}", flush=True)
    try:
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
