"""Streaming text-to-speech (Speak V1) with the SDK-shaped client; the audio saved as a WAV file.

Text goes out in pieces as it would from a language model, ``Flush`` asks for the audio of what
was sent, and leaving the ``with`` block sends ``Flush`` + ``Close`` and waits for the last audio.
The socket's messages are read afterwards (they are all queued on it). Without
``DEEPGRAM_API_KEY`` the embedded local server speaks with espeak-ng. Run it from the repository
root::

    python examples/speak_streaming.py [-o speech.wav]

It prints ``wrote PATH: N bytes, S s of 16 kHz speech``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import wave
from pathlib import Path

from actors import DeepgramClient
from actors.speak.v1.types import SpeakV1Flush, SpeakV1Flushed, SpeakV1Text

RATE = 16000
PIECES = ("Thank you for calling. ", "Your order has shipped ", "and will arrive on Monday.")


def speak(client: DeepgramClient) -> bytes:
    """Send :data:`PIECES` to Speak V1; the linear16 audio it answered with."""
    with client.speak.v1.connect(model="aura-2-thalia-en", encoding="linear16", sample_rate=RATE) as socket:
        for piece in PIECES:
            socket.send_speak_v_1_text(SpeakV1Text(text=piece))
        socket.send_speak_v_1_flush(SpeakV1Flush())
    audio = bytearray()
    flushes = 0
    for message in socket:  # the stream has ended: iteration yields what arrived, then stops
        if isinstance(message, bytes):
            audio.extend(message)
        elif isinstance(message, SpeakV1Flushed):
            flushes += 1
    if not flushes:
        raise SystemExit("no Flushed message came back")
    return bytes(audio)


def main() -> int:
    """Speak the pieces and write them to ``-o`` (default: a temporary file)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, help="the WAV file to write")
    args = parser.parse_args()
    audio = speak(DeepgramClient())  # no key and no DEEPGRAM_API_KEY: the embedded server
    with tempfile.TemporaryDirectory(prefix="actors-speak-") as tmp:
        path = args.out or Path(tmp) / "speech.wav"
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(audio)
        print(f"wrote {path}: {len(audio)} bytes, {len(audio) / (2 * RATE):.1f} s of 16 kHz speech")
    return 0 if audio else 1


if __name__ == "__main__":
    sys.exit(main())
