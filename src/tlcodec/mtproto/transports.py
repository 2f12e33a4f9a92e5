"""MTProto transports: how MTProto payloads are framed on a TCP stream, plain or obfuscated.

This layer owns the bytes between the socket and the MTProto message: the tag a client sends once
before anything else, each frame's length header (plus full's seq_no and CRC32, and padded
intermediate's random padding), the server's quick acks and 4-byte transport error codes, and the
obfuscated wrapper's 64-byte init and AES-256-CTR streams. It does not look inside payloads,
except where padded intermediate makes the reader find the payload's end (PROTOCOL.md 4.3).

Spec: PROTOCOL.md section 4; https://core.telegram.org/mtproto/mtproto-transports

No I/O. Every transport has the same surface, for both ends of a connection:

- `pack(payload, *, quick_ack=False) -> bytes`: the bytes to write for one payload. A client's
  first `pack` also carries the tag (or the obfuscation init). `quick_ack=True` (client only;
  abridged, intermediate and padded intermediate) asks the server for a quick ack.
- `feed(data) -> list[bytes]`: give it whatever arrived, in chunks of any size (one byte at a
  time included); it returns every payload completed so far and keeps the rest. `feed_frames` is
  the same with `Frame(payload, quick_ack_requested)` items, for a server that answers quick
  ack requests.
- Client side, a frame holding a 4-byte negative int32 raises `TransportError(code)` from `feed`;
  quick ack tokens the server sends are appended to `transport.quick_acks` (a list of ints, in
  arrival order, each with its top bit set as the client computed it; the caller drains it).
- Server side, `pack_error(code)` and `pack_quick_ack(token)` write those two; the client's
  quick ack request bit is stripped from the length and reported as `Frame.quick_ack_requested`.
- A frame that cannot be valid raises `FrameError`; one announcing more than `max_frame` bytes
  (the count its length field gives) does so as soon as that field has arrived, and nothing of
  it stays buffered. Errors are final: every later `feed` raises the same one again, buffering
  nothing. If whole payloads preceded the bad frame in the same `feed`, they are returned first
  and the error comes from the next `feed` (`feed(b"")` is enough).

`detect_server_transport(first_bytes)` lets a server find which of these a client speaks.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import Callable, ClassVar, Literal, NamedTuple

from ..crypto import AesCtr, sha256
from .errors import FrameError, TransportError

__all__ = [
    "DEFAULT_MAX_FRAME",
    "Abridged",
    "Frame",
    "FrameError",
    "Full",
    "Intermediate",
    "Obfuscated",
    "PaddedIntermediate",
    "Transport",
    "TransportError",
    "detect_server_transport",
]

Role = Literal["client", "server"]
RandomBytes = Callable[[int], bytes]

# Telegram caps a payload well below this (upload parts are 512 KiB); the margin covers the
# headers, CRC and padding a frame adds around a 16 MiB payload.
DEFAULT_MAX_FRAME = 16 * 1024 * 1024 + 64

_QUICK_ACK_BIT = 0x80000000
_UNENCRYPTED_KEY_ID = bytes(8)
# auth_key_id (8) + msg_key (16): an encrypted payload is this plus a multiple of 16 bytes.
_ENCRYPTED_HEADER = 24
# auth_key_id (8) + msg_id (8) + message_data_length (4), then the body.
_UNENCRYPTED_HEADER = 20
# The smallest real payload (an unencrypted message with a 4-byte body); padded intermediate
# frames shorter than this are quick acks, no-ops or transport errors (PROTOCOL.md 4.3).
_SHORTEST_MESSAGE = 24

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_FULL_HEADER = struct.Struct("<ii")


class Frame(NamedTuple):
    """One payload taken off the stream, and whether the client asked for a quick ack of it."""

    payload: bytes
    quick_ack_requested: bool = False


class Transport:
    """The framing machinery shared by the four transports; use one of the subclasses."""

    NAME: ClassVar[str] = "transport"
    # Sent once by the client before its first frame; b"" for full, which has no tag.
    TAG: ClassVar[bytes] = b""
    # What init[56:60] holds when this framing runs inside obfuscation; None: not allowed there.
    OBFUSCATED_TAG: ClassVar[bytes | None] = None
    SUPPORTS_QUICK_ACK: ClassVar[bool] = True

    def __init__(
        self,
        role: Role = "client",
        *,
        max_frame: int = DEFAULT_MAX_FRAME,
        random_bytes: RandomBytes = os.urandom,
    ) -> None:
        if role not in ("client", "server"):
            raise ValueError(f"role must be 'client' or 'server', got {role!r}")
        if max_frame < 4:
            raise ValueError(f"max_frame must be at least 4 bytes, got {max_frame}")
        self.role: Role = role
        self.max_frame = max_frame
        self.quick_acks: list[int] = []
        self._random_bytes = random_bytes
        self._tag_to_send = self.TAG if role == "client" else b""
        self._tag_to_check = self.TAG if role == "server" else b""
        self._buffer = bytearray()
        # The buffer length below which parsing cannot make progress: skipping the parse until
        # then keeps a large frame fed in small chunks linear instead of quadratic.
        self._needed = 1
        self._failure: Exception | None = None
        self._deferred_failure: Exception | None = None
        self._pending_input = b""  # bytes detect_server_transport already read

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.role}>"

    @property
    def is_client(self) -> bool:
        return self.role == "client"

    @property
    def buffered(self) -> int:
        """How many received bytes are held, waiting for the rest of their frame."""
        return len(self._pending_input) + len(self._buffer)

    # -- sending ------------------------------------------------------------------------------

    def pack(self, payload: bytes, *, quick_ack: bool = False) -> bytes:
        """The bytes to write for one payload (the tag too, on a client's first call)."""
        size = len(payload)
        if not size or size & 3:
            raise ValueError(
                f"an MTProto payload is a positive multiple of 4 bytes, got {size} bytes"
            )
        if quick_ack:
            if not self.is_client:
                raise ValueError("only a client requests quick acks")
            if not self.SUPPORTS_QUICK_ACK:
                raise ValueError(f"the {self.NAME} transport has no quick ack (PROTOCOL.md 4.4)")
        frame = self._encode(payload, quick_ack)
        if self._tag_to_send:
            frame, self._tag_to_send = self._tag_to_send + frame, b""
        return frame

    def pack_error(self, code: int) -> bytes:
        """A server's transport error frame: the 4-byte negative `code` (e.g. -404, -429)."""
        self._require_server("transport error codes")
        if not -(1 << 31) <= code < 0:
            raise ValueError(f"a transport error code is a negative int32, got {code}")
        return self._with_tag(self._encode_error(code))

    def pack_quick_ack(self, token: int) -> bytes:
        """A server's quick ack of a payload: `token` as the client computed it (top bit set)."""
        self._require_server("quick acks")
        if not self.SUPPORTS_QUICK_ACK:
            raise ValueError(f"the {self.NAME} transport has no quick ack (PROTOCOL.md 4.4)")
        if not _QUICK_ACK_BIT <= token <= 0xFFFFFFFF:
            raise ValueError(f"a quick ack token is a uint32 with its top bit set, got {token:#x}")
        return self._with_tag(self._encode_quick_ack(token))

    def _require_server(self, what: str) -> None:
        if self.is_client:
            raise ValueError(f"only a server sends {what}")

    def _with_tag(self, frame: bytes) -> bytes:
        if self._tag_to_send:
            frame, self._tag_to_send = self._tag_to_send + frame, b""
        return frame

    def _encode(self, payload: bytes, quick_ack: bool) -> bytes:
        raise NotImplementedError

    def _encode_error(self, code: int) -> bytes:
        return self._encode(_I32.pack(code), False)

    def _encode_quick_ack(self, token: int) -> bytes:
        raise NotImplementedError

    # -- receiving ----------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[bytes]:
        """Take received bytes; return every payload they complete, in order."""
        if self._pending_input:
            data, self._pending_input = self._pending_input + bytes(data), b""
        return self._feed(data)[0]

    def feed_frames(self, data: bytes) -> list[Frame]:
        """`feed`, with each payload's quick ack request flag (always False on a client)."""
        if self._pending_input:
            data, self._pending_input = self._pending_input + bytes(data), b""
        payloads, requested = self._feed(data)
        return [Frame(payload, i in requested) for i, payload in enumerate(payloads)]

    def _feed(self, data: bytes) -> tuple[list[bytes], set[int]]:
        """The payloads completed by `data`, and the indexes of those with a quick ack request."""
        if self._failure is not None or self._deferred_failure is not None:
            self._raise_if_failed()
        payloads: list[bytes] = []
        requested: set[int] = set()
        buffer = self._buffer
        try:
            if self._tag_to_check:
                data = self._consume_tag(data)
            if buffer:
                buffer += data
                if len(buffer) < self._needed:
                    return payloads, requested
                source: bytes | bytearray = buffer
            else:
                # Whole frames are cut straight out of the chunk, without a detour through the
                # buffer; only an incomplete tail is kept.
                source = data if type(data) is bytes else bytes(data)
            at = 0
            while at < len(source):
                parsed = self._parse(source, at)
                if parsed is None:
                    break
                at, payload, quick_ack_requested = parsed
                self._needed = 1
                if payload is not None:
                    if quick_ack_requested:
                        requested.add(len(payloads))
                    payloads.append(payload)
        except (FrameError, TransportError) as error:
            if payloads:
                self._deferred_failure = error
                return payloads, requested
            self._fail(error)
            raise
        if source is buffer:
            del buffer[:at]
        elif at < len(source):
            self._buffer = bytearray(source[at:])
        return payloads, requested

    def _raise_if_failed(self) -> None:
        if self._deferred_failure is not None:
            self._fail(self._deferred_failure)
        if self._failure is not None:
            raise self._failure

    def _fail(self, error: Exception) -> None:
        # The stream is out of step for good: drop what is buffered and refuse everything after.
        self._failure, self._deferred_failure = error, None
        self._buffer = bytearray()
        self._needed = 1

    def _consume_tag(self, data: bytes) -> bytes:
        expected = self._tag_to_check
        n = min(len(expected), len(data))
        if data[:n] != expected[:n]:
            raise FrameError(
                f"{self.NAME} connection starts with {bytes(data[:n]).hex()}, "
                f"expected its tag {expected.hex()}"
            )
        self._tag_to_check = expected[n:]
        return data[n:]

    def _parse(self, src: bytes | bytearray, at: int) -> _Parsed | None:
        """The frame starting at src[at]: (where the next frame starts, its payload or None if
        it carries none, whether a quick ack was requested), or None while it is incomplete,
        with `_needed` set to how many bytes from `at` it takes to go on."""
        raise NotImplementedError

    def _check_announced(self, length: int) -> None:
        if length > self.max_frame:
            raise FrameError(
                f"{self.NAME} frame announces {length} bytes, the limit (max_frame) is "
                f"{self.max_frame}"
            )

    def _check_payload_length(self, length: int) -> None:
        if length == 0 or length % 4:
            raise FrameError(
                f"{self.NAME} frame announces a {length}-byte payload, expected a positive "
                "multiple of 4"
            )

    def _payload(self, src: bytes | bytearray, start: int, end: int) -> bytes:
        if end - start == 4 and self.is_client and src[start + 3] & 0x80:
            # Only servers send these; a client's 4-byte payload is passed on as it is.
            raise TransportError(_I32.unpack_from(src, start)[0])
        return _take(src, start, end)


_Parsed = tuple[int, "bytes | None", bool]
_BIG_SLICE = 1 << 16


def _take(src: bytes | bytearray, start: int, end: int) -> bytes:
    """src[start:end] as bytes, copied once (a large bytearray slice would be copied twice)."""
    if type(src) is bytes or end - start < _BIG_SLICE:
        return bytes(src[start:end])
    with memoryview(src) as view:
        return bytes(view[start:end])


# ----------------------------------------------------------------------------------------------
# The four framings (PROTOCOL.md 4.1-4.4)


def _read_length_word(transport: Transport, src: bytes | bytearray, at: int
                      ) -> tuple[int, bool] | None:
    """The uint32 LE word that starts a frame of both intermediate framings: (length, whether
    its top bit asks for a quick ack), or None until 4 bytes are here. To a client, a word with
    the top bit is a quick ack on its own (tdlib's reader takes it so on both framings): it is
    recorded and (-1, False) is returned, the frame being just those 4 bytes."""
    if len(src) - at < 4:
        transport._needed = 4
        return None
    word = _U32.unpack_from(src, at)[0]
    if not word & _QUICK_ACK_BIT:
        return word, False
    if transport.is_client:
        transport.quick_acks.append(word)
        return -1, False
    return word ^ _QUICK_ACK_BIT, True


class Abridged(Transport):
    """Tag `ef`; length/4 in one byte, or `7f` + length/4 in 3 bytes LE (PROTOCOL.md 4.1)."""

    NAME = "abridged"
    TAG = b"\xef"
    OBFUSCATED_TAG = b"\xef\xef\xef\xef"

    def _encode(self, payload: bytes, quick_ack: bool) -> bytes:
        words = len(payload) >> 2
        flag = 0x80 if quick_ack else 0
        if words < 0x7F:
            return bytes((words | flag,)) + payload
        if words >= 1 << 24:
            raise ValueError(
                f"abridged frames hold at most {4 * ((1 << 24) - 1)} bytes, got {len(payload)}"
            )
        return bytes((0x7F | flag,)) + words.to_bytes(3, "little") + payload

    def _encode_quick_ack(self, token: int) -> bytes:
        # Byte-swapped, so that the first byte on the wire has the top bit no length byte has.
        return token.to_bytes(4, "big")

    def _parse(self, src: bytes | bytearray, at: int) -> _Parsed | None:
        available = len(src) - at
        first = src[at]
        quick_ack_requested = False
        if first & 0x80:
            if self.is_client:
                if available < 4:
                    self._needed = 4
                    return None
                self.quick_acks.append(int.from_bytes(src[at : at + 4], "big"))
                return at + 4, None, False
            quick_ack_requested = True
            first &= 0x7F
        if first == 0x7F:
            if available < 4:
                self._needed = 4
                return None
            header, words = 4, int.from_bytes(src[at + 1 : at + 4], "little")
        else:
            header, words = 1, first
        length = words * 4
        self._check_payload_length(length)
        self._check_announced(length)
        if available < header + length:
            self._needed = header + length
            return None
        end = at + header + length
        return end, self._payload(src, at + header, end), quick_ack_requested


class Intermediate(Transport):
    """Tag `ee ee ee ee`; uint32 LE length, then the payload (PROTOCOL.md 4.2)."""

    NAME = "intermediate"
    TAG = b"\xee\xee\xee\xee"
    OBFUSCATED_TAG = TAG

    def _encode(self, payload: bytes, quick_ack: bool) -> bytes:
        return _U32.pack(len(payload) | (_QUICK_ACK_BIT if quick_ack else 0)) + payload

    def _encode_quick_ack(self, token: int) -> bytes:
        # A bare 4-byte word; the top bit tells it from a length.
        return _U32.pack(token)

    def _parse(self, src: bytes | bytearray, at: int) -> _Parsed | None:
        header = _read_length_word(self, src, at)
        if header is None:
            return None
        length, quick_ack_requested = header
        if length < 0:
            return at + 4, None, False  # a quick ack (recorded)
        available = len(src) - at
        self._check_payload_length(length)
        self._check_announced(length)
        if available < 4 + length:
            self._needed = 4 + length
            return None
        end = at + 4 + length
        return end, self._payload(src, at + 4, end), quick_ack_requested


class PaddedIntermediate(Transport):
    """Tag `dd dd dd dd`; uint32 LE length of payload + 0..15 random bytes (PROTOCOL.md 4.3).

    The length covers the padding, so the reader finds the payload's end from the MTProto
    message itself: an encrypted one is 24 + 16k bytes (drop `(total - 24) % 16` bytes), an
    unencrypted one states its length (`20 + message_data_length`). Payloads must therefore be
    MTProto messages; `pack` refuses anything a reader could not cut back out. Frames shorter
    than an MTProto message are read by their first int32: -1 = quick ack (the token follows),
    0 = no-op, other negative values = transport error.
    """

    NAME = "padded intermediate"
    TAG = b"\xdd\xdd\xdd\xdd"
    OBFUSCATED_TAG = TAG

    def _padding(self, limit: int) -> bytes:
        # 0..limit-1 bytes (`limit` 16 for payloads, 9 for quick acks); a byte of randomness
        # for the count, as tdlib's `random % 16`.
        return self._random_bytes(self._random_bytes(1)[0] % limit)

    def _encode(self, payload: bytes, quick_ack: bool) -> bytes:
        _check_message_shape(payload)
        padding = self._padding(16)
        length = len(payload) + len(padding)
        return _U32.pack(length | (_QUICK_ACK_BIT if quick_ack else 0)) + payload + padding

    def _encode_error(self, code: int) -> bytes:
        body = _I32.pack(code) + self._padding(16)  # at most 19 bytes: still a short frame
        return _U32.pack(len(body)) + body

    def _encode_quick_ack(self, token: int) -> bytes:
        # The documented form: ff ff ff ff, the token, 0..8 random bytes.
        body = b"\xff\xff\xff\xff" + _U32.pack(token) + self._padding(9)
        return _U32.pack(len(body)) + body

    def _parse(self, src: bytes | bytearray, at: int) -> _Parsed | None:
        header = _read_length_word(self, src, at)
        if header is None:
            return None
        total, quick_ack_requested = header
        if total < 0:
            return at + 4, None, False  # a quick ack (recorded)
        available = len(src) - at
        self._check_announced(total)
        if total < 4:
            raise FrameError(f"padded intermediate frame of {total} bytes, expected at least 4")
        if available < 4 + total:
            self._needed = 4 + total
            return None
        start, end = at + 4, at + 4 + total
        if total < _SHORTEST_MESSAGE:
            self._short_frame(bytes(src[start:end]))
            return end, None, False
        length = _padded_payload_length(src, start, end)
        return end, _take(src, start, start + length), quick_ack_requested

    def _short_frame(self, body: bytes) -> None:
        """A frame too short for an MTProto message: a quick ack, a no-op or an error code."""
        first = _I32.unpack_from(body)[0]
        if not self.is_client:
            raise FrameError(
                f"padded intermediate frame of {len(body)} bytes from a client, expected an "
                f"MTProto message of at least {_SHORTEST_MESSAGE}"
            )
        if first == -1 and len(body) >= 8:
            self.quick_acks.append(_U32.unpack_from(body, 4)[0])
            return
        if first == 0:
            return  # a no-op frame (tdlib ignores these)
        if first < 0 and first != -1:
            raise TransportError(first)
        raise FrameError(
            f"padded intermediate frame of {len(body)} bytes starting {body[:4].hex()}: expected "
            f"a quick ack (ffffffff + token), a transport error (negative int32) or an MTProto "
            f"message of at least {_SHORTEST_MESSAGE} bytes"
        )


def _check_message_shape(payload: bytes) -> None:
    """What padded intermediate can carry: a payload whose length the reader can recover."""
    if len(payload) < _SHORTEST_MESSAGE:
        raise ValueError(
            f"padded intermediate carries MTProto messages of at least {_SHORTEST_MESSAGE} bytes, "
            f"got {len(payload)} bytes"
        )
    if payload[:8] == _UNENCRYPTED_KEY_ID:
        stated = _UNENCRYPTED_HEADER + _U32.unpack_from(payload, 16)[0]
        if stated != len(payload):
            raise ValueError(
                f"unencrypted message of {len(payload)} bytes states {stated} "
                "(20 + message_data_length): a padded intermediate reader could not find its end"
            )
    elif (len(payload) - _ENCRYPTED_HEADER) % 16:
        raise ValueError(
            f"encrypted message of {len(payload)} bytes, expected 24 + a multiple of 16: a padded "
            "intermediate reader could not find its end"
        )


def _padded_payload_length(src: bytes | bytearray, start: int, end: int) -> int:
    total = end - start
    if src[start : start + 8] == _UNENCRYPTED_KEY_ID:
        length = _UNENCRYPTED_HEADER + _U32.unpack_from(src, start + 16)[0]
        if not 0 <= total - length < 16:
            raise FrameError(
                f"unencrypted message states {length} bytes (20 + message_data_length) in a "
                f"padded intermediate frame of {total} bytes: expected 0..15 bytes of padding"
            )
        return length
    return total - (total - _ENCRYPTED_HEADER) % 16


class Full(Transport):
    """No tag; len (counts itself) + seq_no + payload + CRC32 (PROTOCOL.md 4.4).

    seq_no counts the frames of one direction from 0; both it and the CRC are checked on
    receipt. There are no quick acks, and full cannot run inside obfuscation (it has no tag).
    """

    NAME = "full"
    SUPPORTS_QUICK_ACK = False

    def __init__(
        self,
        role: Role = "client",
        *,
        max_frame: int = DEFAULT_MAX_FRAME,
        random_bytes: RandomBytes = os.urandom,
    ) -> None:
        super().__init__(role, max_frame=max_frame, random_bytes=random_bytes)
        self.send_seq_no = 0
        self.receive_seq_no = 0

    def _encode(self, payload: bytes, quick_ack: bool) -> bytes:
        head = _FULL_HEADER.pack(len(payload) + 12, self.send_seq_no)
        self.send_seq_no += 1
        crc = zlib.crc32(payload, zlib.crc32(head))
        return b"".join((head, payload, _U32.pack(crc)))

    def _parse(self, src: bytes | bytearray, at: int) -> _Parsed | None:
        available = len(src) - at
        if available < 4:
            self._needed = 4
            return None
        length = _I32.unpack_from(src, at)[0]
        if length < 0 and self.is_client:
            # Servers were seen sending -429 in the length (and seq) field itself
            # (Telethon issue #4042): the code is right there, no frame follows.
            raise TransportError(length)
        if length < 16 or length % 4:
            raise FrameError(
                f"full frame announces {length} bytes, expected 12 + a positive multiple of 4"
            )
        self._check_announced(length)
        if available < length:
            self._needed = length
            return None
        end = at + length
        computed = _crc32(src, at, end - 4)
        received = _U32.unpack_from(src, end - 4)[0]
        if received != computed:
            raise FrameError(f"full frame CRC32 is {received:#010x}, computed {computed:#010x}")
        seq_no = _I32.unpack_from(src, at + 4)[0]
        if seq_no != self.receive_seq_no:
            raise FrameError(f"full frame seq_no is {seq_no}, expected {self.receive_seq_no}")
        self.receive_seq_no += 1
        return end, self._payload(src, at + 8, end - 4), False


def _crc32(src: bytes | bytearray, start: int, end: int) -> int:
    if end - start < _BIG_SLICE:
        return zlib.crc32(src[start:end])
    with memoryview(src) as view:  # no copy of a large frame; released before the buffer moves
        return zlib.crc32(view[start:end])


# ----------------------------------------------------------------------------------------------
# Obfuscation (PROTOCOL.md 4.7)

_INIT_SIZE = 64
# First int32 values (LE) an init must not start with: they would read as a plain tag, as HTTP,
# or as a TLS record. Plus init[0] == 0xef and init[4:8] == 0 (a full frame's seq_no 0).
_FORBIDDEN_FIRST_INTS = frozenset(
    (0x44414548, 0x54534F50, 0x20544547, 0x4954504F, 0x02010316, 0xDDDDDDDD, 0xEEEEEEEE)
)
_MAX_INIT_ATTEMPTS = 1000  # a forbidden init comes about once in 256: this is a broken source


def _is_forbidden_init(init: bytes | bytearray) -> bool:
    return (
        init[0] == 0xEF
        or _U32.unpack_from(init)[0] in _FORBIDDEN_FIRST_INTS
        or init[4:8] == b"\0\0\0\0"
    )


def _normalize_secret(secret: bytes | None) -> bytes | None:
    if secret is None:
        return None
    if len(secret) == 17:  # a leading mode byte (dd: padded intermediate) is not key material
        secret = secret[1:]
    if len(secret) != 16:
        raise ValueError(
            f"an MTProxy secret is 16 bytes (17 with its mode byte), got {len(secret)}"
        )
    return bytes(secret)


def _client_streams(init: bytes | bytearray, secret: bytes | None) -> tuple[AesCtr, AesCtr]:
    """(client -> server cipher, server -> client cipher) from the 64-byte init."""
    init = bytes(init)
    reverse = init[::-1]
    out_key, out_iv = init[8:40], init[40:56]
    in_key, in_iv = reverse[8:40], reverse[40:56]
    if secret is not None:
        out_key, in_key = sha256(out_key + secret), sha256(in_key + secret)
    return AesCtr(out_key, out_iv), AesCtr(in_key, in_iv)


class Obfuscated(Transport):
    """An abridged, intermediate or padded intermediate transport inside AES-256-CTR.

    `Obfuscated(Intermediate("client"), dc_id=2)`: the wrapper takes the inner transport's role,
    `max_frame` and padding source; the inner sends and expects no plain tag (init[56:60] carries
    it instead). A client generates the 64-byte init when constructed (with `random_bytes`,
    regenerating until none of the forbidden starts of PROTOCOL.md 4.7 appears) and sends it
    before its first frame; `dc_id` (int16, +10000 on test DCs, negative for media) goes to
    init[60:62], which otherwise stays random. A server reads the client's init first and exposes
    the init's `dc_id`. `secret` is an MTProxy secret (each key becomes SHA256(key + secret)).
    """

    NAME = "obfuscated"

    def __init__(
        self,
        inner: Transport,
        *,
        dc_id: int | None = None,
        secret: bytes | None = None,
        random_bytes: RandomBytes = os.urandom,
    ) -> None:
        tag = None if isinstance(inner, Obfuscated) else inner.OBFUSCATED_TAG
        if tag is None:
            raise ValueError(
                f"the {inner.NAME} transport has no obfuscation tag; obfuscation carries "
                "abridged, intermediate or padded intermediate (PROTOCOL.md 4.7)"
            )
        untouched = (inner.TAG, b"") if inner.is_client else (b"", inner.TAG)
        if inner.buffered or (inner._tag_to_send, inner._tag_to_check) != untouched:
            raise ValueError("wrap a fresh transport: this one has already sent or received")
        super().__init__(inner.role, max_frame=inner.max_frame, random_bytes=random_bytes)
        inner._tag_to_send = inner._tag_to_check = b""
        self.inner = inner
        self.tag: bytes = tag  # init[56:60]
        self.quick_acks = inner.quick_acks  # the same list: tokens land in it
        self._secret = _normalize_secret(secret)
        self._init_received = bytearray()
        self._header_to_send = b""
        self._encryptor: AesCtr | None = None
        self._decryptor: AesCtr | None = None
        self.dc_id = dc_id
        if self.is_client:
            self._make_init(random_bytes)
        elif dc_id is not None:
            raise ValueError("a server reads dc_id from the client's init")

    def __repr__(self) -> str:
        return f"<Obfuscated {type(self.inner).__name__} {self.role}>"

    @property
    def buffered(self) -> int:
        return len(self._pending_input) + len(self._init_received) + self.inner.buffered

    def _make_init(self, random_bytes: RandomBytes) -> None:
        for _ in range(_MAX_INIT_ATTEMPTS):
            init = bytearray(random_bytes(_INIT_SIZE))
            if len(init) != _INIT_SIZE:
                raise ValueError(f"random_bytes(64) returned {len(init)} bytes")
            if not _is_forbidden_init(init):
                break
        else:
            raise RuntimeError(f"random_bytes gave {_MAX_INIT_ATTEMPTS} forbidden inits in a row")
        init[56:60] = self.tag
        if self.dc_id is not None:
            init[60:62] = self.dc_id.to_bytes(2, "little", signed=True)
        self._encryptor, self._decryptor = _client_streams(init, self._secret)
        # Only the tag and dc id are hidden: init[:56] goes out as generated (the peer needs it
        # for the keys), the rest as encrypted.
        self._header_to_send = bytes(init[:56]) + self._encryptor.update(bytes(init))[56:]

    # -- sending ------------------------------------------------------------------------------

    def pack(self, payload: bytes, *, quick_ack: bool = False) -> bytes:
        return self._send(self.inner.pack(payload, quick_ack=quick_ack))

    def pack_error(self, code: int) -> bytes:
        return self._send(self.inner.pack_error(code))

    def pack_quick_ack(self, token: int) -> bytes:
        return self._send(self.inner.pack_quick_ack(token))

    def _send(self, frame: bytes) -> bytes:
        if self._encryptor is None:
            raise ValueError("a server cannot send before the client's init has arrived")
        data = self._encryptor.update(frame)
        if self._header_to_send:
            data, self._header_to_send = self._header_to_send + data, b""
        return data

    # -- receiving ----------------------------------------------------------------------------

    def _feed(self, data: bytes) -> tuple[list[bytes], set[int]]:
        self._raise_if_failed()
        if self._decryptor is None:
            missing = _INIT_SIZE - len(self._init_received)
            self._init_received += data[:missing]
            data = data[missing:]
            if len(self._init_received) < _INIT_SIZE:
                return [], set()
            try:
                self._accept_init(bytes(self._init_received))
            except FrameError as error:
                self._fail(error)
                raise
            self._init_received = bytearray()
        assert self._decryptor is not None
        return self.inner._feed(self._decryptor.update(data))

    def _accept_init(self, init: bytes) -> None:
        client_out, client_in = _client_streams(init, self._secret)
        plain = client_out.update(init)  # the client's outgoing stream is our incoming one
        tag = plain[56:60]
        if tag != self.tag:
            raise FrameError(
                f"obfuscation init carries the tag {tag.hex()}, expected {self.tag.hex()} "
                f"({self.inner.NAME})"
            )
        self.dc_id = int.from_bytes(plain[60:62], "little", signed=True)
        self._decryptor, self._encryptor = client_out, client_in


# ----------------------------------------------------------------------------------------------
# Server side: which transport does this client speak?

_PLAIN_BY_TAG: dict[bytes, type[Transport]] = {
    Intermediate.TAG: Intermediate,
    PaddedIntermediate.TAG: PaddedIntermediate,
}
_OBFUSCATED_BY_TAG: dict[bytes, type[Transport]] = {
    b"\xef\xef\xef\xef": Abridged,
    Intermediate.TAG: Intermediate,
    PaddedIntermediate.TAG: PaddedIntermediate,
}


def detect_server_transport(
    initial: bytes,
    *,
    max_frame: int = DEFAULT_MAX_FRAME,
    random_bytes: RandomBytes = os.urandom,
    secret: bytes | None = None,
) -> Transport | None:
    """The server-role transport a client's first bytes select, or None if more are needed.

    `initial` is everything received on the connection so far. Recognised: `ef` (abridged),
    `ee ee ee ee` (intermediate), `dd dd dd dd` (padded intermediate), a full frame (no tag; its
    seq_no 0 makes bytes 4..8 zero, which an obfuscation init never has), and a 64-byte
    obfuscation init whose decrypted init[56:60] is one of the three obfuscation tags. Needs at
    most 1, 4, 4, 8 and 64 bytes respectively. The transport returned holds `initial` unread:
    the next `feed` (`feed(b"")` will do) returns the payloads that came with it.
    Raises FrameError when the bytes match none of these (HTTP, TLS, garbage).
    """
    data = bytes(initial)
    transport: Transport
    secret = _normalize_secret(secret)
    if not data:
        return None
    if data[0] == Abridged.TAG[0]:
        transport = Abridged("server", max_frame=max_frame, random_bytes=random_bytes)
    elif len(data) < 4:
        return None
    elif data[:4] in _PLAIN_BY_TAG:
        plain_cls = _PLAIN_BY_TAG[data[:4]]
        transport = plain_cls("server", max_frame=max_frame, random_bytes=random_bytes)
    elif len(data) < 8:
        return None
    elif data[4:8] == b"\0\0\0\0":
        transport = Full("server", max_frame=max_frame, random_bytes=random_bytes)
    elif len(data) < _INIT_SIZE:
        return None
    else:
        tag = _client_streams(data[:_INIT_SIZE], secret)[0].update(data[:_INIT_SIZE])[56:60]
        inner_cls = _OBFUSCATED_BY_TAG.get(tag)
        if inner_cls is None:
            raise FrameError(
                f"unrecognised transport: the connection starts {data[:8].hex()}, which is no "
                f"tag, no full frame, and no obfuscation init (its decrypted tag is {tag.hex()})"
            )
        inner = inner_cls("server", max_frame=max_frame, random_bytes=random_bytes)
        transport = Obfuscated(inner, secret=secret, random_bytes=random_bytes)
    transport._pending_input = data
    return transport
