"""Live transcription with the SDK-shaped client: a stereo sample call, streamed as it would be live.

This is deepgram-sdk 7.16 code with ``deepgram`` replaced by ``actors`` in the imports. With no
``DEEPGRAM_API_KEY`` the client starts the embedded local server (pocketsphinx); with one, the same
code goes to Deepgram. Run it from the repository root::

    python examples/live_transcription.py [CALL.wav]

It prints one line per final result, ``channel N: transcript``, then ``N finals``.
"""

from __future__ import annotations

import sys
import threading
import wave
from pathlib import Path

from actors import DeepgramClient
from actors.core.events import EventType
from actors.listen.v1.types import ListenV1Results

SAMPLE = Path(__file__).resolve().parents[1] / "actors" / "samples" / "call-1-order.wav"
CHUNK_MS = 100


def main(path: Path) -> int:
    """Stream ``path`` (a 16-bit PCM WAV) through one Listen V1 socket and print its finals."""
    with wave.open(str(path)) as wav:
        rate, channels = wav.getframerate(), wav.getnchannels()
        audio = wav.readframes(wav.getnframes())
    finals: list[ListenV1Results] = []

    def on_message(message: object) -> None:
        if isinstance(message, ListenV1Results) and message.is_final:
            transcript = message.channel.alternatives[0].transcript
            if transcript:
                finals.append(message)
                print(f"channel {message.channel_index[0]}: {transcript}", flush=True)

    client = DeepgramClient()  # the key comes from DEEPGRAM_API_KEY; none: the embedded server
    with client.listen.v1.connect(
        model="nova-3",
        encoding="linear16",
        sample_rate=rate,
        channels=channels,
        multichannel=channels > 1,
        punctuate=True,
    ) as socket:
        socket.on(EventType.MESSAGE, on_message)
        socket.on(EventType.ERROR, lambda error: print(f"error: {error}", file=sys.stderr))
        listener = threading.Thread(target=socket.start_listening, name="example-listener")
        listener.start()
        chunk = rate * channels * 2 * CHUNK_MS // 1000
        for offset in range(0, len(audio), chunk):
            socket.send_listen_v_1_media(audio[offset : offset + chunk])
        # Leaving the block sends CloseStream and waits for the last results.
    listener.join()
    print(f"{len(finals)} finals")
    return 0 if finals else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE))
