"""`python -m actors speak "text" -o out.wav`: synthesise text with Speak V1 (or V2) and save the audio.

Speak V1 (the default, Aura voices): the text is sent in pieces of at most 2,000 characters (the
service's per-message limit), then ``Flush``; the audio that comes back until ``Flushed`` is kept.

Speak V2 (``--api v2`` or ``--flux``, Flux TTS, ``flux-{voice}-{language}`` models): the text is
spoken as turns -- one per ``--turn`` given, else one per sentence -- each sent as ``Speak`` then
``Flush``; the turn's audio is kept up to its ``Flushed``, and each turn's duration is reported.

The audio is written as a WAV (linear16), or as raw bytes when the output name does not end in
``.wav`` (any encoding). Without DEEPGRAM_API_KEY the embedded local server speaks with espeak-ng.
"""

from __future__ import annotations

import argparse
import queue
import re
import sys
from pathlib import Path
from typing import Any

from actors.cli.audiofile import write_wav
from actors.cli.eventwait import EventReader, is_type
from actors.cli.target import Target, add_target_arguments, run_on_target
from actors.errors import OptionsError
from actors.protocol.apis import SPEAK_V1, SPEAK_V2, ApiSpec
from actors.runtime import Connection, events

MAX_CHARS = 2000  # per Speak message: Deepgram's limit
#: The voice used when ``--model`` is not given, per ``--api``.
DEFAULT_MODELS = {"v1": "aura-2-thalia-en", "v2": "flux-alexis-en"}
APIS: dict[str, ApiSpec] = {"v1": SPEAK_V1, "v2": SPEAK_V2}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``speak`` sub-command."""
    parser = subparsers.add_parser(
        "speak", help="text to speech with Speak V1 (or V2, Flux TTS), saved as WAV", description=__doc__
    )
    parser.add_argument(
        "text", nargs="*", help='the text to speak; "-" reads it from standard input (or use --turn)'
    )
    parser.add_argument(
        "--api",
        choices=sorted(APIS),
        default="v1",
        help="v1: /v1/speak (Aura, default); v2: /v2/speak (Flux TTS, turn by turn)",
    )
    parser.add_argument("--flux", dest="api", action="store_const", const="v2", help="the same as --api v2")
    parser.add_argument(
        "--turn",
        action="append",
        default=[],
        metavar="TEXT",
        help="with --api v2: one turn of text (repeat for several; default: one turn per sentence)",
    )
    parser.add_argument(
        "-o", "--out", type=Path, default=Path("speech.wav"), help="output file (default speech.wav)"
    )
    parser.add_argument(
        "--model",
        default=None,
        help="voice (default aura-2-thalia-en with v1, flux-alexis-en with v2)",
    )
    parser.add_argument(
        "--encoding",
        default="linear16",
        choices=("linear16", "mulaw", "alaw"),
        help="audio encoding (default linear16; mulaw and alaw need a .raw output name)",
    )
    parser.add_argument("--sample-rate", type=int, default=24000, help="Hz (default 24000)")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the audio (default 60)"
    )
    add_target_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Speak ``args.text`` into ``args.out``; 0 on success, 1 on failure, 2 on bad usage."""
    text = sys.stdin.read() if args.text == ["-"] else " ".join(args.text)
    api = APIS[args.api]
    model = args.model if args.model is not None else DEFAULT_MODELS[args.api]
    try:
        if args.turn and args.api != "v2":
            raise OptionsError("--turn", "turns are a Speak V2 feature; add --api v2 (or --flux)")
        if args.turn and text.strip():
            raise OptionsError("--turn", "give the text either as arguments or as --turn, not both")
        turns = [t.strip() for t in args.turn] if args.turn else split_turns(text)
        if not any(turns):
            raise OptionsError("text", "nothing to speak (the text is empty)", text)
        if args.out.suffix.lower() == ".wav" and args.encoding != "linear16":
            raise OptionsError(
                "--encoding", f"a .wav output needs linear16; use a .raw name for {args.encoding}"
            )
        options_type = api.options_type
        assert options_type is not None
        options = options_type.from_query(
            [("model", model), ("encoding", args.encoding), ("sample_rate", str(args.sample_rate))]
        )
    except OptionsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if api is SPEAK_V2:
        audio = run_on_target(
            args, lambda target: synthesize_turns(target, options, [t for t in turns if t], args.timeout)
        )
    else:
        audio = run_on_target(args, lambda target: synthesize(target, options, text, args.timeout))
    if audio is None:
        return 1
    try:
        write_audio(args.out, audio, args.sample_rate, args.encoding)
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    seconds = len(audio) / ((2 if args.encoding == "linear16" else 1) * args.sample_rate)
    print(f"wrote {args.out} ({seconds:.1f} s of audio)", file=sys.stderr)
    return 0


def split_text(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, at sentence ends, else at spaces."""
    pieces: list[str] = []
    current = ""
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            pieces.append(sentence[:cut])
            sentence = sentence[cut:].lstrip()
        if current and len(current) + 1 + len(sentence) > limit:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        pieces.append(current)
    return pieces


def split_turns(text: str) -> list[str]:
    """One turn per sentence of ``text`` (split after ``.``, ``!`` or ``?``); blank text gives none."""
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def synthesize_turns(target: Target, options: Any, turns: list[str], timeout: float) -> bytes:
    """Speak each of ``turns`` with Speak V2 (``Speak`` + ``Flush``) and return all their audio.

    Each turn is waited for up to its ``Flushed`` (``timeout`` seconds per turn); its duration
    from ``SpeechMetadata`` is reported on stderr. The session then ends with ``Close``.
    """
    audio = bytearray()

    def collect(event: Any) -> None:
        if isinstance(event, events.AudioChunk):
            audio.extend(event.data)

    codec = SPEAK_V2.client_codec
    inbox: queue.Queue[Any] = queue.Queue()
    conn = Connection.open(target.connection_config(SPEAK_V2, options=options), subscribers=[inbox])
    try:
        reader = EventReader(inbox, collect)
        for number, turn in enumerate(turns, 1):
            for piece in split_text(turn):
                conn.send(codec.from_dict({"type": "Speak", "text": piece}))
            conn.send(codec.from_dict({"type": "Flush"}))
            metadata = reader.until(is_type("SpeechMetadata"), timeout, f"turn {number}'s SpeechMetadata")
            reader.until(is_type("Flushed"), timeout, f"turn {number}'s Flushed")
            seconds = metadata.audio_duration_ms / 1000
            print(
                f"turn {number}: {seconds:.1f} s, {metadata.billable_character_count} characters",
                file=sys.stderr,
            )
        conn.send(codec.from_dict({"type": "Close"}))
        reader.until(is_type("SessionMetadata"), timeout, "SessionMetadata")
    finally:
        conn.close()
    return bytes(audio)


def synthesize(target: Target, options: Any, text: str, timeout: float) -> bytes:
    """Send ``text`` to Speak V1 and return the audio received up to ``Flushed``."""
    audio = bytearray()

    def collect(event: Any) -> None:
        if isinstance(event, events.AudioChunk):
            audio.extend(event.data)

    inbox: queue.Queue[Any] = queue.Queue()
    conn = Connection.open(target.connection_config(SPEAK_V1, options=options), subscribers=[inbox])
    try:
        reader = EventReader(inbox, collect)
        for piece in split_text(text):
            conn.send(SPEAK_V1.client_codec.from_dict({"type": "Speak", "text": piece}))
        conn.send(SPEAK_V1.client_codec.from_dict({"type": "Flush"}))
        reader.until(is_type("Flushed"), timeout, "Flushed")
    finally:
        conn.close()
    return bytes(audio)


def write_audio(path: Path, audio: bytes, sample_rate: int, encoding: str) -> None:
    """Write linear16 audio as a mono WAV when ``path`` ends in .wav, else the raw bytes."""
    if path.suffix.lower() == ".wav":
        write_wav(path, audio, sample_rate)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(audio)
