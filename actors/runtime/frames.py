"""WebSocket frames (RFC 6455 section 5), pure: encoding client frames, parsing server frames.

No sockets and no threads here. :func:`encode_frame` builds one masked client frame (every
client frame must be masked); :class:`FrameParser` is fed whatever a socket read returned (any
split: several frames at once, or a frame in many pieces) and yields complete frames.
:class:`MessageAssembler` joins fragmented messages and checks that a text message is UTF-8;
:func:`parse_close_payload` checks a received close frame. They raise :class:`FrameError` for a
stream that breaks RFC 6455, with the close code a client must send: 1002 (protocol error),
1007 (a text message or a close reason that is not UTF-8), 1009 (too big).

Checks for a client (RFC 6455 sections 5 and 7.4): server frames unmasked, RSV bits clear (no
extension is ever negotiated), known opcodes, control frames final and <= 125 bytes, the most
significant bit of a 64-bit length clear, continuation frames only inside a fragmented message
and no new data frame inside one, text messages valid UTF-8 once assembled (a multi-byte
character split across fragments is fine), close payload empty or a valid code (+ UTF-8 reason).
Not checked: that the sender used the shortest length encoding (a MUST for the sender that
receivers commonly accept).

Masking uses wsaccel's C ``XorMaskerSimple`` (a core dependency: websocket-client's own optional
masking accelerator) when it is importable, else a pure-Python ``int`` XOR that gives the same
bytes, about 2.7x slower (``scripts/bench_frames.py`` prints both).
"""

from __future__ import annotations

import itertools
import os
import struct
from collections.abc import Callable, Iterable, Iterator

import attrs

from actors._lean_attrs import LeanFrozen

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

_DATA_OPCODES = frozenset({OP_CONT, OP_TEXT, OP_BINARY})
_CONTROL_OPCODES = frozenset({OP_CLOSE, OP_PING, OP_PONG})
#: A message larger than this is refused (close 1009): no Deepgram message comes near it.
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024

_pack_short = struct.Struct("!BBH").pack
_pack_long = struct.Struct("!BBQ").pack
_unpack_short = struct.Struct("!H").unpack_from
_unpack_long = struct.Struct("!Q").unpack_from


class FrameError(Exception):
    """The peer broke the WebSocket protocol; ``code`` is the close code to answer with (1002, 1007, 1009)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _xor_mask(data: bytes, mask: bytes) -> bytes:
    size = len(data)
    if not size:
        return b""
    repeated = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "little") ^ int.from_bytes(repeated, "little")).to_bytes(size, "little")


class _PyMasker:
    """The same interface as wsaccel's ``XorMaskerSimple`` (``Masker(mask).process(data)``), in Python."""

    __slots__ = ("_mask",)

    def __init__(self, mask: bytes) -> None:
        self._mask = mask

    def process(self, data: bytes) -> bytes:
        """``data`` XOR the mask repeated."""
        return _xor_mask(data, self._mask)


def _load_masker() -> type:
    try:
        from wsaccel.xormask import XorMaskerSimple  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:  # wsaccel missing (say, no wheel for this platform): the same bytes, in Python
        return _PyMasker
    masker: type = XorMaskerSimple
    return masker


# A masker keeps its position in the mask between calls: one fresh masker per payload.
_Masker = _load_masker()


def _load_apply_mask() -> Callable[[bytes, bytes], bytes]:
    if _Masker is _PyMasker:
        return _xor_mask

    def wsaccel_mask(data: bytes, mask: bytes) -> bytes:
        masked: bytes = _Masker(mask).process(data)
        return masked

    return wsaccel_mask


#: ``apply_mask(data, mask4) -> bytes``: XOR ``data`` with the 4-byte ``mask`` repeated.
apply_mask: Callable[[bytes, bytes], bytes] = _load_apply_mask()


# Masking keys come from os.urandom drawn in bulk: one system call per 1,024 frames instead of
# one per frame. Every key is still 4 fresh bytes of the system's strong entropy, used once
# (RFC 6455 5.3); a thread that reads a pool another thread just replaced gets the new pool.
_KEYS_PER_DRAW = 1024
_key_pool = os.urandom(4 * _KEYS_PER_DRAW)
_key_counter = itertools.count()


def new_mask_key() -> bytes:
    """4 unpredictable bytes for one frame's masking key (from the system's strong entropy)."""
    global _key_pool
    index = next(_key_counter) % _KEYS_PER_DRAW
    if index == 0:
        _key_pool = os.urandom(4 * _KEYS_PER_DRAW)
    start = index * 4
    return _key_pool[start : start + 4]


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = None) -> bytes:
    """One masked client frame; ``mask`` defaults to a fresh key (:func:`new_mask_key`; tests may fix it)."""
    key = new_mask_key() if mask is None else mask
    size = len(payload)
    first = (0x80 if fin else 0) | opcode
    if size < 126:
        header = bytes((first, 0x80 | size))
    elif size < 65536:
        header = _pack_short(first, 0x80 | 126, size)
    else:
        header = _pack_long(first, 0x80 | 127, size)
    return b"".join((header, key, _Masker(key).process(payload)))


def encode_binary_frame(payload: bytes) -> bytes:
    """``encode_frame(OP_BINARY, payload)`` in one call: the audio hot path (a fresh key per frame)."""
    global _key_pool
    index = next(_key_counter) % _KEYS_PER_DRAW
    if index == 0:
        _key_pool = os.urandom(4 * _KEYS_PER_DRAW)
    key = _key_pool[index * 4 : index * 4 + 4]
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | OP_BINARY, 0x80 | size))
    elif size < 65536:
        header = _pack_short(0x80 | OP_BINARY, 0x80 | 126, size)
    else:
        header = _pack_long(0x80 | OP_BINARY, 0x80 | 127, size)
    masked: bytes = _Masker(key).process(payload)
    return b"".join((header, key, masked))


@attrs.frozen(slots=True, repr=False, eq=False)
class EncodedBatch(LeanFrozen):
    """Queued outgoing items encoded as consecutive frames: ``data`` and what it holds."""

    data: bytes
    audio_bytes: int
    audio_frames: int
    control_frames: int


def encode_batch(items: Iterable[bytes | str], coalesce: bool, max_frame_bytes: int) -> EncodedBatch:
    """Encode queued items in order: audio (bytes) as binary frames, control messages (str) as text.

    With ``coalesce``, consecutive audio items are joined into frames of at most
    ``max_frame_bytes`` (a single larger item stays whole). The frames are concatenated so the
    whole batch can go to the socket in one write.
    """
    out: list[bytes] = []
    audio_bytes = audio_frames = control_frames = 0
    pending: list[bytes] = []
    pending_size = 0
    for item in items:
        if type(item) is bytes:
            size = len(item)
            if pending and (not coalesce or pending_size + size > max_frame_bytes):
                out.append(encode_binary_frame(pending[0] if len(pending) == 1 else b"".join(pending)))
                audio_frames += 1
                pending, pending_size = [], 0
            pending.append(item)
            pending_size += size
            audio_bytes += size
            continue
        if pending:
            out.append(encode_binary_frame(pending[0] if len(pending) == 1 else b"".join(pending)))
            audio_frames += 1
            pending, pending_size = [], 0
        out.append(encode_frame(OP_TEXT, str(item).encode("utf-8")))
        control_frames += 1
    if pending:
        out.append(encode_binary_frame(pending[0] if len(pending) == 1 else b"".join(pending)))
        audio_frames += 1
    data = out[0] if len(out) == 1 else b"".join(out)
    return EncodedBatch(data, audio_bytes, audio_frames, control_frames)


def close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a close frame: the code, then the reason cut to fit 125 bytes (valid UTF-8)."""
    raw = reason.encode("utf-8")[:123].decode("utf-8", "ignore").encode("utf-8")
    return struct.pack("!H", code) + raw


#: Close codes a peer may send in a close frame (RFC 6455 7.4.1 plus the IANA registry's 1012-1014).
#: 1004 is reserved; 1005, 1006 and 1015 are never put on the wire; 3000-4999 are for
#: libraries, frameworks and applications; everything else (0-999, 1016-2999, 5000+) is invalid.
SENDABLE_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


def is_valid_close_code(code: int) -> bool:
    """True when ``code`` may appear in a close frame on the wire (RFC 6455 7.4)."""
    return code in SENDABLE_CLOSE_CODES or 3000 <= code <= 4999


def parse_close_payload(data: bytes) -> tuple[int, str]:
    """Close frame payload -> (code, reason); an empty payload is 1005 ("no status received").

    Raises :class:`FrameError` with 1002 for a 1-byte payload or a code that may not be sent
    (:func:`is_valid_close_code`, RFC 6455 7.4), and with 1007 for a reason that is not valid
    UTF-8 (RFC 6455 5.5.1 and 8.1; 1007 is "data not consistent with its type", as websockets
    and Autobahn's testsuite treat it).
    """
    size = len(data)
    if size == 0:
        return 1005, ""
    if size == 1:
        raise FrameError(1002, "close frame payload of 1 byte (a close code takes 2)")
    (code,) = _unpack_short(data, 0)
    if not is_valid_close_code(code):
        raise FrameError(1002, f"close frame with invalid close code {code} (RFC 6455 7.4)")
    try:
        reason = bytes(data[2:]).decode("utf-8")
    except UnicodeDecodeError as error:
        raise FrameError(
            1007, f"close frame reason is not valid UTF-8 ({error.reason} at byte {error.start})"
        ) from None
    return code, reason


def check_text(payload: bytes) -> None:
    """Raise :class:`FrameError` (1007) unless ``payload`` is valid UTF-8 (RFC 6455 5.6, 8.1).

    C-level: ``bytes.isascii`` (~0.1 us per KiB) and, for non-ASCII text, ``bytes.decode``.
    """
    if payload.isascii():
        return
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FrameError(
            1007, f"text message is not valid UTF-8 ({error.reason} at byte {error.start} of {len(payload)})"
        ) from None


@attrs.frozen(slots=True, repr=False, eq=False)
class Frame(LeanFrozen):
    """One frame as received: ``fin`` flag, ``opcode`` and the (unmasked) payload."""

    fin: bool
    opcode: int
    payload: bytes


class FrameParser:
    """Incremental parser of the frames a server sends; feed bytes, iterate complete frames.

    Keeps at most one incomplete frame between feeds. Server frames must not be masked
    (RFC 6455 5.1) and may not set RSV bits (no extension is negotiated); control frames must be
    final and at most 125 bytes. Violations raise :class:`FrameError` (code 1002); a frame
    larger than ``max_message_bytes`` raises it with code 1009.
    """

    __slots__ = ("_buf", "max_message_bytes")

    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self._buf = bytearray()
        self.max_message_bytes = max_message_bytes

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> Iterator[Frame]:
        """Add ``data`` and yield every frame it completes, in order."""
        buf = self._buf
        if buf:
            buf += data
            view: bytes | bytearray = buf
        else:
            view = data
        pos = 0
        end = len(view)
        try:
            while end - pos >= 2:
                first, second = view[pos], view[pos + 1]
                if first & 0x70:
                    raise FrameError(1002, "server frame has RSV bits set but no extension was negotiated")
                if second & 0x80:
                    raise FrameError(1002, "server frame is masked (RFC 6455 5.1 forbids it)")
                opcode = first & 0x0F
                size = second & 0x7F
                start = pos + 2
                if size == 126:
                    if end - start < 2:
                        break
                    (size,) = _unpack_short(view, start)
                    start += 2
                elif size == 127:
                    if end - start < 8:
                        break
                    (size,) = _unpack_long(view, start)
                    if size >> 63:
                        raise FrameError(1002, "64-bit frame length with its most significant bit set")
                    start += 8
                fin = bool(first & 0x80)
                self._check(opcode, fin, size)
                if end - start < size:
                    break
                pos = start + size
                yield Frame(fin, opcode, bytes(view[start:pos]))
        finally:
            if view is buf:
                del buf[:pos]
            elif pos < end:
                buf += view[pos:]

    def _check(self, opcode: int, fin: bool, size: int) -> None:
        if opcode in _CONTROL_OPCODES:
            if not fin:
                raise FrameError(1002, f"control frame (opcode {opcode:#x}) is fragmented")
            if size > 125:
                raise FrameError(1002, f"control frame (opcode {opcode:#x}) carries {size} bytes (max 125)")
        elif opcode not in _DATA_OPCODES:
            raise FrameError(1002, f"unknown frame opcode {opcode:#x}")
        elif size > self.max_message_bytes:
            raise FrameError(1009, f"frame of {size} bytes is larger than {self.max_message_bytes}")


class MessageAssembler:
    """Joins data frames into messages: returns ``(opcode, payload)`` once a message is complete.

    Raises :class:`FrameError` (1002) for a continuation without a start or a new message while
    one is in progress, (1007) for a text message that is not valid UTF-8 (checked once whole, so
    a character split across fragments is fine), and (1009) when a message grows past
    ``max_message_bytes``.
    """

    __slots__ = ("_opcode", "_parts", "_size", "max_message_bytes")

    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self._opcode: int | None = None
        self._parts: list[bytes] = []
        self._size = 0
        self.max_message_bytes = max_message_bytes

    def add(self, frame: Frame) -> tuple[int, bytes] | None:
        """Account one data frame; the whole message when ``frame`` ends it, else None."""
        if frame.opcode == OP_CONT:
            if self._opcode is None:
                raise FrameError(1002, "continuation frame without a message to continue")
        elif self._opcode is not None:
            raise FrameError(1002, "new data frame while a fragmented message is still in progress")
        elif frame.fin:
            if frame.opcode == OP_TEXT:
                check_text(frame.payload)
            return frame.opcode, frame.payload
        else:
            self._opcode = frame.opcode
        self._parts.append(frame.payload)
        self._size += len(frame.payload)
        if self._size > self.max_message_bytes:
            raise FrameError(1009, f"message larger than {self.max_message_bytes} bytes")
        if not frame.fin:
            return None
        opcode, payload = self._opcode, b"".join(self._parts)
        self._opcode, self._parts, self._size = None, [], 0
        if opcode == OP_TEXT:
            check_text(payload)
        return opcode, payload


__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONT",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "SENDABLE_CLOSE_CODES",
    "EncodedBatch",
    "Frame",
    "FrameError",
    "FrameParser",
    "MessageAssembler",
    "apply_mask",
    "check_text",
    "close_payload",
    "encode_batch",
    "encode_binary_frame",
    "encode_frame",
    "is_valid_close_code",
    "new_mask_key",
    "parse_close_payload",
]
