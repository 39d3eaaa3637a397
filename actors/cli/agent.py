"""`python -m actors agent`: a scripted, microphone-free conversation with the Voice Agent API.

Each ``--say`` line (or each line of ``--script FILE``) is sent as ``InjectUserMessage``; each
``--user-audio FILE`` (a mono WAV) is streamed as user speech at real time, followed by silence
until the agent answers. The command prints both sides and waits for ``AgentAudioDone`` before
the next turn. The agent's speech is saved with ``--audio-out``. Without DEEPGRAM_API_KEY the
embedded local server answers with its small deterministic responder.
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actors.cli.audiofile import AudioFile, read_audio, write_wav
from actors.cli.eventwait import EventReader, is_type
from actors.cli.pacing import Pacer
from actors.cli.target import Target, add_target_arguments, run_on_target
from actors.errors import ActorsError, AudioFileError, FinishTimeout, OptionsError
from actors.protocol.apis import AGENT_V1
from actors.runtime import Connection, events

DEFAULT_LINES = ("Hello, can you hear me?", "What can you help me with today?")
SAMPLE_RATE = 16000
CHUNK_SECONDS = 0.05


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``agent`` sub-command."""
    parser = subparsers.add_parser(
        "agent", help="a scripted conversation with the Voice Agent API (no microphone)", description=__doc__
    )
    parser.add_argument("--say", action="append", default=[], metavar="TEXT", help="a user line, repeatable")
    parser.add_argument("--script", type=Path, help="a file with one user line per line")
    parser.add_argument(
        "--user-audio",
        action="append",
        default=[],
        type=Path,
        metavar="WAV",
        help="a mono WAV spoken as the user (after the text lines), repeatable",
    )
    parser.add_argument(
        "--prompt",
        default="You are a friendly call-center assistant. Answer briefly.",
        help="the agent's system prompt for the think step (default: a brief call-center assistant)",
    )
    parser.add_argument("--greeting", help="what the agent says first")
    parser.add_argument("--think-model", default="gpt-4o-mini", help="OpenAI model for the think step")
    parser.add_argument("--voice", default="aura-2-thalia-en", help="Deepgram voice for the agent")
    parser.add_argument("--audio-out", type=Path, help="save the agent's speech to this WAV file")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for each answer (default 30)"
    )
    add_target_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Hold the conversation; 0 when every line was answered, 1 on failure, 2 on bad usage."""
    try:
        speech = [read_mono(path) for path in args.user_audio]
        lines = user_lines(args.say, args.script, default=not speech)
    except (OptionsError, AudioFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    input_rate = speech[0].sample_rate if speech else SAMPLE_RATE
    settings = settings_dict(args.prompt, args.think_model, args.voice, args.greeting, input_rate)
    audio = run_on_target(args, lambda target: converse(target, settings, lines, args.timeout, speech))
    if audio is None:
        return 1
    if args.audio_out:
        write_wav(args.audio_out, audio, SAMPLE_RATE)
        print(
            f"wrote {args.audio_out} ({len(audio) / (2 * SAMPLE_RATE):.1f} s of agent speech)",
            file=sys.stderr,
        )
    return 0


def read_mono(path: Path) -> AudioFile:
    """Read a WAV for ``--user-audio``; the agent takes one channel, so it must be mono."""
    audio = read_audio(path, linear16=True)  # the Settings declare linear16 input
    if audio.channels != 1:
        raise AudioFileError(
            str(path), f"--user-audio needs a mono WAV, this one has {audio.channels} channels"
        )
    return audio


def user_lines(say: Sequence[str], script: Path | None, default: bool = True) -> list[str]:
    """The user's lines: ``--say`` values, then the non-blank lines of ``--script``.

    With none given and ``default`` true, a short built-in script.
    """
    lines = [s for s in say if s.strip()]
    if script is not None:
        try:
            lines += [x.strip() for x in script.read_text(encoding="utf-8").splitlines() if x.strip()]
        except OSError as exc:
            raise OptionsError(
                "--script", f"cannot read {script}: {exc.strerror or exc}", str(script)
            ) from None
    return lines or (list(DEFAULT_LINES) if default else [])


def settings_dict(
    prompt: str, think_model: str, voice: str, greeting: str | None, input_rate: int = SAMPLE_RATE
) -> dict[str, Any]:
    """The ``Settings`` message: linear16 in (at ``input_rate``) and out (16 kHz), Deepgram
    listen/speak, OpenAI think."""
    agent: dict[str, Any] = {
        "listen": {"provider": {"type": "deepgram", "model": "nova-3"}},
        "think": {"provider": {"type": "open_ai", "model": think_model}, "prompt": prompt},
        "speak": {"provider": {"type": "deepgram", "model": voice}},
    }
    if greeting:
        agent["greeting"] = greeting
    return {
        "type": "Settings",
        "audio": {
            "input": {"encoding": "linear16", "sample_rate": input_rate},
            "output": {"encoding": "linear16", "sample_rate": SAMPLE_RATE, "container": "none"},
        },
        "agent": agent,
    }


def converse(
    target: Target,
    settings: dict[str, Any],
    lines: Sequence[str],
    timeout: float,
    speech: Sequence[AudioFile] = (),
) -> bytes:
    """Run the conversation, printing both sides; return the agent's speech (linear16, 16 kHz)."""
    audio = bytearray()
    audio_turns = threading.Event()  # set once the user speaks audio: print what the agent heard

    def observe(event: Any) -> None:
        if isinstance(event, events.AudioChunk):
            audio.extend(event.data)
        elif getattr(event, "type", None) == "ConversationText" and event.role == "assistant":
            print(f"agent: {event.content}", flush=True)
        elif getattr(event, "type", None) == "ConversationText" and audio_turns.is_set():
            print(f"user:  {event.content}  (heard)", flush=True)
        elif getattr(event, "type", None) == "Error":
            raise_agent_error(event)
        elif getattr(event, "type", None) == "Warning":
            print(f"warning: {getattr(event, 'description', event)}", file=sys.stderr)

    inbox: queue.Queue[Any] = queue.Queue()
    conn = Connection.open(target.connection_config(AGENT_V1), subscribers=[inbox])
    try:
        reader = EventReader(inbox, observe)
        reader.until(is_type("Welcome"), timeout, "Welcome")
        conn.send(AGENT_V1.client_codec.from_dict(settings))
        reader.until(is_type("SettingsApplied"), timeout, "SettingsApplied")
        if "greeting" in settings["agent"]:
            reader.until(is_type("AgentAudioDone"), timeout, "greeting")
        for line in lines:
            print(f"user:  {line}", flush=True)
            conn.send(AGENT_V1.client_codec.from_dict({"type": "InjectUserMessage", "content": line}))
            reader.until(is_type("AgentAudioDone"), timeout, f"answer to {line!r}")
        audio_turns.set()
        for recording in speech:
            speak_as_user(conn, reader, recording, timeout)
    finally:
        conn.close()
    return bytes(audio)


def speak_as_user(conn: Connection, reader: EventReader, recording: AudioFile, timeout: float) -> None:
    """Stream ``recording`` at real time, then silence, until the agent has answered it.

    The agent expects a continuous audio stream, as from a microphone; the silence after the
    speech is what lets it detect the end of the user's turn. An answer that ends while the clip
    is still streaming (the clip's own pauses ended the turn) counts: the rest of the clip is sent,
    and no silence is waited for after it.
    """
    print(f"user:  <{recording.path}, {recording.duration:.1f} s of speech>", flush=True)
    pacer = Pacer(1.0)
    sent = 0.0
    answered = False
    for chunk, sent in recording.chunks(CHUNK_SECONDS):
        pacer.wait_until(sent)
        conn.send_audio(chunk)
        # take what is queued without waiting, noting an AgentAudioDone rather than dropping it
        while reader.poll(is_type("AgentAudioDone"), 0.0, "answer") is not None:
            answered = True
    if answered:
        return
    pause = bytes(recording.frame_bytes * round(CHUNK_SECONDS * recording.sample_rate))
    deadline = sent + timeout
    while sent < deadline:
        sent += CHUNK_SECONDS
        pacer.wait_until(sent)
        conn.send_audio(pause)
        if reader.poll(is_type("AgentAudioDone"), 0.0, "answer") is not None:
            return
    raise FinishTimeout(f"no answer to {recording.path} from the server within {timeout:.0f} s")


def raise_agent_error(event: Any) -> None:
    """Turn the agent's ``Error`` message into an exception carrying its description and code."""
    code = getattr(event, "code", None)
    description = getattr(event, "description", None) or "no description"
    raise ActorsError(f"the agent reported an error{f' {code}' if code else ''}: {description}")
