"""A plain-stream call over a real socket that the test holds open between its two parts."""

from __future__ import annotations

import asyncio
import threading

import websockets

from actors.ingest.service import STREAM_PATH, IngestService
from tests.support.ingest import conversation, ws_url
from tests.support.plain_client import audio_frames, messages_until_closed, start_message, stop_message

#: The two parts of a held call (one channel, 16 kHz linear16), and what the pages show of them.
FIRST = conversation(
    [(0, ["my", "card", "was", "charged"])], channels=1, sample_rate=16000, encoding="linear16"
)
SECOND = conversation([(0, ["thanks", "a", "lot"])], channels=1, sample_rate=16000, encoding="linear16")
FIRST_WORDS = "my card was charged"
ALL_WORDS = "my card was charged thanks a lot"


class HeldCall(threading.Thread):
    """Streams :data:`FIRST` on ``/v1/stream`` of ``service`` (with ``token`` as the bearer token,
    if any), holds the call open until :attr:`release` is set, then sends :data:`SECOND` and stop;
    the service sees one active call the whole time. :attr:`error` holds what went wrong (the test
    reports it) and :attr:`replies` the service's messages up to the close."""

    def __init__(self, service: IngestService, call_id: str, token: str | None) -> None:
        super().__init__(name=f"test-held-call-{call_id}", daemon=True)
        self.service, self.call_id = service, call_id
        self._first, self._second, self._token = FIRST.audio, SECOND.audio, token
        self.release = threading.Event()
        self.replies: list[dict[str, object]] = []
        self.error: BaseException | None = None

    def end(self) -> None:
        """Let the call send its second part and stop (whatever happened meanwhile), wait for it,
        and raise what went wrong in it, if anything."""
        self.release.set()
        if self.ident is not None:  # started
            self.join(30)
        assert not self.is_alive(), f"call {self.call_id} did not end"
        if self.error is not None:
            raise self.error

    def run(self) -> None:
        try:
            asyncio.run(self._call())
        except BaseException as exc:  # reported by the test
            self.error = exc

    async def _call(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        async with websockets.connect(ws_url(self.service, STREAM_PATH), additional_headers=headers) as ws:
            await ws.send(start_message(self.call_id))
            for frame in audio_frames(self._first, frame_bytes=2, frame_ms=100):
                await ws.send(frame)
            released = await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
            assert released, "the test never saw the words"
            for frame in audio_frames(self._second, frame_bytes=2, frame_ms=100):
                await ws.send(frame)
            await ws.send(stop_message())
            self.replies = await messages_until_closed(ws)


__all__ = ["ALL_WORDS", "FIRST", "FIRST_WORDS", "SECOND", "HeldCall"]
