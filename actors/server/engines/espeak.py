"""Real text-to-speech: espeak-ng (the library bundled in the espeakng-loader wheel) via ctypes.

libespeak-ng is a process-wide singleton (one callback, one voice), so every synthesis holds
:data:`_LOCK` and sets the callback and voice again. It produces 22050 Hz linear16, resampled
to the requested rate with ``audioop.ratecv``. Voice ``en-us+klatt4`` (measured: the espeak
voice pocketsphinx recognizes best).
"""

from __future__ import annotations

import audioop  # stdlib up to 3.12; the audioop-lts wheel provides it from 3.13
import ctypes
import threading
from typing import Any

from actors.errors import ActorsError

VOICE = b"en-us+klatt4"
WORDS_PER_MINUTE = 175
NATIVE_RATE = 22050
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_RATE_PARAMETER = 1
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

_LOCK = threading.Lock()
_library: Any = None
_native_rate = NATIVE_RATE


def _load() -> Any:
    """Load and initialize libespeak-ng once per process (call with ``_LOCK`` held)."""
    global _library, _native_rate
    if _library is None:
        try:
            import espeakng_loader
        except ImportError as exc:
            raise ActorsError(
                "the real TTS engine needs espeakng-loader; "
                "install the server extra: pip install 'actors-deepgram[server]'"
            ) from exc
        library = ctypes.CDLL(espeakng_loader.get_library_path())
        data_path = espeakng_loader.get_data_path().encode()
        rate = library.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 50, data_path, _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise ActorsError(
                f"espeak-ng failed to initialize (code {rate}) with data at {data_path.decode()}"
            )
        _native_rate = rate
        _library = library
    return _library


class EspeakSynthesizer:
    """Thread-safe espeak-ng synthesizer: text -> linear16 mono at any sample rate."""

    def synthesize(self, text: str, sample_rate: int) -> bytes:
        """Return speech for ``text`` (empty bytes for blank text) at ``sample_rate``."""
        if sample_rate < 1000:
            raise ActorsError(f"sample_rate must be at least 1000 Hz, got {sample_rate}")
        if not text.strip():
            return b""
        chunks: list[bytes] = []

        def collect(wav: Any, count: int, _events: Any) -> int:
            if count > 0:
                chunks.append(ctypes.string_at(wav, count * 2))
            return 0

        callback = _CALLBACK(collect)
        encoded = text.encode("utf-8") + b"\0"
        with _LOCK:
            library = _load()
            library.espeak_SetSynthCallback(callback)
            if library.espeak_SetVoiceByName(VOICE) != 0:
                raise ActorsError(f"espeak-ng has no voice {VOICE.decode()}")
            library.espeak_SetParameter(_RATE_PARAMETER, WORDS_PER_MINUTE, 0)
            library.espeak_Synth(encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            native_rate = _native_rate
        pcm = b"".join(chunks)
        if sample_rate != native_rate:
            pcm, _ = audioop.ratecv(pcm, 2, 1, native_rate, sample_rate, None)
        return pcm
