# cython: annotation_typing=False, wraparound=False
# (Compiled as tlcodec.mtproto._session_c: only _session_c.pxd gives C types; see the end.)
"""What both ends of an MTProto 2.0 encrypted session share, without I/O: the envelope,
msg_id and seq_no, salts, acks, containers, the received window, the inflation budget.

`EncryptedSession` is the base of `client_session.ClientSession` and
`server_session.ServerSession`, which add the messages each role sends and how it handles what
it receives. The API, the events and the choices where the protocol leaves room are in
docs/SESSION.md; the facts are PROTOCOL.md 3.4-3.8 and 6.
"""

from __future__ import annotations

import logging
import os
import struct
import time
from collections import Counter, deque
from typing import Any, Callable

from .. import types
from .._runtime import adopt_compiled_build, codec
from ..bundled import schema as _bundled_schema
from ..crypto import (
    MIN_PADDING,
    MessageCipher,
    aes_ige_encrypt,
    auth_key_id,
    message_aes_key_iv,
    message_key,
    minimal_padding_size,
)
from ..errors import DecodeError, InflateLimitError, SecurityError
from .events import Event, MessageDropped, MessageSkipped
from .wire import signed_long

__all__ = [
    "DROP_REASONS",
    "EncryptedSession",
    "PaddingPolicy",
    "decrypt_payload",
    "encrypt_payload",
    "minimal_padding",
    "open_payload",
    "peek_session_id",
    "random_padding",
]

logger = logging.getLogger("tlcodec.mtproto.session")  # both roles and builds log here

RandomBytes = Callable[[int], bytes]
Clock = Callable[[], float]
PaddingPolicy = Callable[[int, RandomBytes], int]
"""`policy(unpadded_length, random_bytes) -> padding length`: 12..1024 and making the plaintext
(32-byte header + body + padding) a multiple of 16."""

# Why a whole payload was dropped (`MessageDropped.reason`, `session.dropped` keys).
DROP_REASONS = (
    "length",  # payload shorter than 72 bytes or (len - 24) not a multiple of 16
    "auth_key_id",  # not our key
    "msg_key",  # msg_key recomputed from the plaintext differs (tampered or wrong key)
    "data_length",  # message_data_length negative, not a multiple of 4, or beyond the plaintext
    "padding",  # padding outside 12..1024 bytes
    "session_id",  # client: not our current session
    "msg_id_parity",  # client: even server msg_id; server: client msg_id not 0 mod 4
    "msg_id_replayed",  # seen already, or below every id of the window
    "msg_id_too_old",  # more than 300 s behind our (corrected) clock
    "msg_id_too_new",  # more than 30 s ahead
    "server_salt",  # server: neither the current nor the previous salt
)

# Time window of acceptable msg_ids (PROTOCOL.md 3.5, 6).
MAX_PAST_SECONDS = 300
MAX_FUTURE_SECONDS = 30
# A msg_id is unixtime * 2^32 in a signed 64-bit integer, which ends at 2^31 s (2038-01-19): a
# time correction (bad_msg_notification 16/17) to a clock past a day before that, or before
# 1970, is refused.
MAX_CLOCK_SECONDS = 2147483648 - 86400

MAX_PADDING = 1024
MAX_CONTAINER_MESSAGES = 1020  # the protocol's bound is 1024; stay clear of it
MAX_ACK_IDS = 8192  # per msgs_ack constructor
# Telethon's bound for a container's payload; a bigger message goes out on its own.
DEFAULT_MAX_CONTAINER_BYTES = 1044448

# Constructor ids of the MTProto service schema, from its generated classes. Dispatch is by id
# so that any schema a session is given works.
RPC_RESULT_ID = types.RpcResult.CONSTRUCTOR_ID
RPC_ERROR_ID = types.RpcError.CONSTRUCTOR_ID
GZIP_PACKED_ID = types.GzipPacked.CONSTRUCTOR_ID
MSGS_ACK_ID = types.MsgsAck.CONSTRUCTOR_ID
MSG_RESEND_REQ_ID = types.MsgResendReq.CONSTRUCTOR_ID
BAD_MSG_NOTIFICATION_ID = types.BadMsgNotification.CONSTRUCTOR_ID
BAD_SERVER_SALT_ID = types.BadServerSalt.CONSTRUCTOR_ID
HTTP_WAIT_ID = types.HttpWait.CONSTRUCTOR_ID
VECTOR_ID = codec.VECTOR_ID  # Vector's, which has no class
# msg_container and msg_copy are parsed by hand and have no class: api.tl's `message` and
# `Message` take the names their schema lines would need (docs/SESSION.md).
MSG_CONTAINER_ID = 0x73F1F8DC
MSG_COPY_ID = 0xE06046B2

# Service objects a session hands over as `ServiceMessage` instead of acting on them.
PASSTHROUGH_IDS = frozenset(cls.CONSTRUCTOR_ID for cls in (
    types.MsgsStateReq, types.MsgsStateInfo, types.MsgsAllInfo, types.MsgResendReq,
    types.RpcAnswerUnknown, types.RpcAnswerDroppedRunning, types.RpcAnswerDropped,
    types.DestroySessionOk, types.DestroySessionNone,
    types.DestroyAuthKeyOk, types.DestroyAuthKeyNone, types.DestroyAuthKeyFail,
    types.HttpWait,
))

_HEADER = struct.Struct("<qqqii")  # salt, session_id, msg_id, seq_no, message_data_length
_INNER = struct.Struct("<qii")  # a container item: msg_id, seqno, bytes
_UINT = struct.Struct("<I")
_LONG = struct.Struct("<q")
_ID_COUNT = struct.Struct("<Ii")

_TWO_31 = 2147483648
_TWO_32 = 4294967296
_LOW_HALF = 0xFFFFFFFF  # of a msg_id: the fraction of a second


def _long_vector_body(constructor_id: int, ids: list[int]) -> bytes:
    """`msgs_ack` / `msg_resend_req`: the constructor, then a boxed Vector<long>."""
    return struct.pack(f"<IIi{len(ids)}q", constructor_id, VECTOR_ID, len(ids), *ids)


# ----------------------------------------------------------------------------------------------
# Padding


def minimal_padding(unpadded_length: int, random_bytes: RandomBytes) -> int:
    """12..27 bytes: the least that makes the plaintext a multiple of 16 (PROTOCOL.md 3.4)."""
    return minimal_padding_size(unpadded_length)


def random_padding(max_padding: int = 256) -> PaddingPolicy:
    """Minimal padding plus a random number of 16-byte blocks, up to `max_padding` bytes in all
    (hides message lengths; costs bandwidth)."""
    if not MIN_PADDING + 15 <= max_padding <= MAX_PADDING:
        raise ValueError(f"max_padding must be in {MIN_PADDING + 15}..{MAX_PADDING}, got {max_padding}")

    def policy(unpadded_length: int, random_bytes: RandomBytes) -> int:
        least = minimal_padding(unpadded_length, random_bytes)
        extra_blocks = (max_padding - least) // 16
        return least + 16 * (int.from_bytes(random_bytes(2), "little") % (extra_blocks + 1))

    return policy


# ----------------------------------------------------------------------------------------------
# The bare envelope


def encrypt_payload(auth_key: bytes, plaintext: bytes, *, from_client: bool) -> bytes:
    """`auth_key_id + msg_key + AES-256-IGE(plaintext)` for a plaintext that already carries its
    header and padding (a multiple of 16 bytes). No check of what the plaintext says."""
    msg_key = message_key(auth_key, plaintext, from_client)
    aes_key, aes_iv = message_aes_key_iv(auth_key, msg_key, from_client)
    return auth_key_id(auth_key) + msg_key + aes_ige_encrypt(plaintext, aes_key, aes_iv)


def open_payload(cipher: MessageCipher, payload: bytes) -> bytes:
    """The plaintext of an encrypted payload through `cipher` (a `MessageCipher` of the key, for
    the direction the payload travels), after the envelope checks in their order: length,
    auth_key_id, msg_key. Raises `SecurityError` naming the failed check; the plaintext is not
    parsed. A server serving several sessions of one key opens each payload with this once, to
    route it by session_id, and hands the plaintext to that session (`receive_opened`)."""
    size = len(payload)
    if size < 24 + 48 or (size - 24) & 15:
        raise SecurityError("length", f"payload of {size} bytes cannot be an encrypted message")
    if payload[:8] != cipher.auth_key_id:
        raise SecurityError("auth_key_id", f"auth_key_id {payload[:8].hex()} is not ours")
    plaintext = cipher.decrypt_message(payload)
    if plaintext is None:
        raise SecurityError("msg_key", "msg_key does not match the decrypted message")
    return plaintext


def decrypt_payload(auth_key: bytes, payload: bytes, *, from_client: bool) -> bytes:
    """`open_payload` with the key itself (a cipher made for the one call: tests, tools)."""
    return open_payload(MessageCipher(bytes(auth_key), from_client), bytes(payload))


def peek_session_id(auth_key: bytes, payload: bytes, *, from_client: bool = True) -> int:
    """The session_id inside an encrypted payload, after the envelope checks (`SecurityError`
    otherwise), for a look at one payload. A server routing every payload opens it with
    `open_payload` and a cipher kept per key, and hands the plaintext on (docs/SESSION.md)."""
    return _LONG.unpack_from(decrypt_payload(auth_key, payload, from_client=from_client), 8)[0]


def _u32_at(data: bytes, at: int) -> int:
    """The little-endian uint32 at `at`. Indexing rather than struct: in the compiled build
    (_session_c.pxd) this is C, with Cython's bounds check on every index."""
    b0 = data[at]
    b1 = data[at + 1]
    b2 = data[at + 2]
    b3 = data[at + 3]
    return b0 | b1 << 8 | b2 << 16 | b3 << 24


def _i32_at(data: bytes, at: int) -> int:
    """The little-endian int32 at `at` (see `_u32_at`)."""
    value = _u32_at(data, at)
    return value - _TWO_32 if value >= _TWO_31 else value  # typed constants (see the .pxd)


def _i64_at(data: bytes, at: int) -> int:
    """The little-endian int64 at `at` (see `_u32_at`)."""
    return _i32_at(data, at + 4) * _TWO_32 + _u32_at(data, at)  # an int64 at every step


def _nested_gzip_error() -> DecodeError:
    return DecodeError("gzip_packed inside a gzip_packed (a server never nests them)", 0)


def _parse_container(container_id: int, body: bytes, from_server: bool = False,
                     earlier: list[tuple[int, int, bytes]] | None = None
                     ) -> list[tuple[int, int, bytes]]:
    """The (msg_id, seq_no, body) items of a msg_container; DecodeError if malformed.

    `from_server`: the items must have the odd msg_ids of a server's messages, and those of a
    second before the container's are also put in `earlier`, for the caller's time check.
    Both are checked here, in C in the compiled build, where each msg_id is read anyway."""
    if len(body) < 8:
        raise DecodeError("msg_container without a count", 0)
    count = _i32_at(body, 4)
    if not 0 <= count <= 1024:
        raise DecodeError(f"msg_container count {count} is outside 0..1024", 4)
    items = []
    position = 8
    end = len(body)
    container_second = container_id >> 32
    for _ in range(count):
        if position + 16 > end:
            raise DecodeError("msg_container item header truncated", position)
        msg_id = _i64_at(body, position)
        seq_no = _i32_at(body, position + 8)
        length = _i32_at(body, position + 12)
        position += 16
        if length < 4 or length & 3 or position + length > end:
            raise DecodeError(
                f"msg_container item of {length} bytes with {end - position} left", position - 4
            )
        if msg_id >= container_id:
            raise DecodeError(
                f"msg_container item id {msg_id:#x} is not below the container's "
                f"{container_id:#x}",
                position - 16,
            )
        if _u32_at(body, position) == MSG_CONTAINER_ID:
            raise DecodeError("msg_container nested in a msg_container", position)
        item = (msg_id, seq_no, body[position : position + length])
        if from_server:
            if not msg_id & 1:
                raise DecodeError(f"msg_container item id {msg_id:#x} is even (msg_id_parity)",
                                  position - 16)
            if msg_id >> 32 < container_second:
                earlier.append(item)
        items.append(item)
        position += length
    if position != end:
        raise DecodeError(f"{end - position} bytes after the msg_container items", position)
    return items


class _Outgoing:
    """A message that is not an RPC call of the client's: acks, answers, service messages,
    pushes. (The client's calls, `PendingRequest`, have the same four attributes.)"""

    __slots__ = ("body", "content_related", "is_reply", "ack_ids")

    def __init__(self, body: bytes, content_related: bool, is_reply: bool,
                 ack_ids: list[int] | None = None) -> None:
        self.body = body
        self.content_related = content_related
        self.is_reply = is_reply  # server: msg_id 1 mod 4 (answers) rather than 3 (pushes)
        self.ack_ids = ack_ids  # a msgs_ack: the ids, so a rejected one can be acked again


_Item = Any  # client_session.PendingRequest | _Outgoing


# ----------------------------------------------------------------------------------------------
# The shared core


class EncryptedSession:
    """One MTProto 2.0 session of one auth key: what the client and the server sessions share.
    Not made directly: `ClientSession` and `ServerSession` are its two roles, and take its
    arguments (docs/SESSION.md)."""

    ROLE = ""  # each role names its own: "client" or "server"
    # The low two bits of the msg_ids this end sends: answers, and messages of its own
    # (a client: 0 for both; a server: 1 and 3; PROTOCOL.md 3.5).
    REPLY_RESIDUE = 0
    OWN_RESIDUE = 0

    def __init__(
        self,
        auth_key: bytes,
        *,
        server_salt: int,
        session_id: int | None = None,
        time_offset: float = 0,
        schema: Any = None,
        random_bytes: RandomBytes = os.urandom,
        now: Clock = time.time,
        padding: PaddingPolicy = minimal_padding,
        ack_threshold: int = 16,
        ack_delay: float = 15.0,
        received_window: int = 1000,
        max_container_bytes: int = DEFAULT_MAX_CONTAINER_BYTES,
        max_inflated: int | None = None,
    ) -> None:
        if type(self) is EncryptedSession:
            raise TypeError("EncryptedSession is the shared core: make a ClientSession or a "
                            "ServerSession")
        if len(auth_key) != 256:
            raise ValueError(f"auth_key must be 256 bytes, got {len(auth_key)}")
        if received_window < 1 or ack_threshold < 1:
            raise ValueError("received_window and ack_threshold must be at least 1")
        if max_inflated is not None and max_inflated < 0:
            raise ValueError(f"max_inflated must not be negative, got {max_inflated}")
        self.role = self.ROLE
        self.auth_key = bytes(auth_key)
        self.auth_key_id = auth_key_id(self.auth_key)
        from_client = self.role == "client"
        # The outgoing cipher also keeps the padding pool (random_bytes called for many
        # messages at once).
        self._out_cipher = MessageCipher(self.auth_key, from_client, random_bytes)
        self._in_cipher = MessageCipher(self.auth_key, from_client=not from_client)
        self._use_schema(_bundled_schema if schema is None else schema, max_inflated)
        self._random_bytes = random_bytes
        self._now = now
        self._padding = padding
        self._minimal_padding = padding is minimal_padding
        self.ack_threshold = ack_threshold
        self.ack_delay = ack_delay
        self.max_container_bytes = max_container_bytes
        self.time_offset = time_offset
        self._salt = signed_long(server_salt, "server_salt")
        self._previous_salt = self._salt
        self._session_id = None if session_id is None else signed_long(session_id, "session_id")
        self._reply_residue = self.REPLY_RESIDUE
        self._own_residue = self.OWN_RESIDUE

        self._content_count = 0  # content-related messages sent in this session (seq_no)
        self._last_msg_id = 0
        self._queue: deque[_Item] = deque()
        self._pending_acks: dict[int, None] = {}  # received content-related ids, in order
        self._acks_since: float | None = None
        self._force_acks = False
        # The window of the latest received ids: a ring once full, `_received_next` its oldest.
        self._received: list[int] = []
        self._received_next = 0
        self._received_set: set[int] = set()
        self._received_window = received_window
        self._highest_received = 0
        self._last_now = 0.0

        self.dropped: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self._start_role()

    def _start_role(self) -> None:
        """The role's own state, made once the shared state is."""
        raise NotImplementedError

    def _use_schema(self, schema: Any, max_inflated: int | None) -> None:
        """What the session decodes and encodes with, bound once: it runs for every message."""
        self._schema = schema
        self._registry = schema.registry
        self._decode = self._registry.decode
        self._object_spec = schema.spec(None)
        self._rpc_error_spec = schema.spec(schema.get("rpc_error", function=False))
        self._gzip_spec = schema.spec(schema.get("gzip_packed", function=False))
        self._encode = schema.codec.encode
        self._inflate_gzip = schema.codec.inflate_gzip
        self._max_inflated = (
            schema.codec.DEFAULT_MAX_INFLATED if max_inflated is None else max_inflated
        )
        # What the message being received may still inflate: every gzip_packed in it draws on
        # this (`_inflate`), and each received message starts again from `_max_inflated`.
        self._inflate_budget = self._max_inflated

    # ------------------------------------------------------------------------------------------
    # State a driver reads or sets

    @property
    def session_id(self) -> int | None:
        return self._session_id

    @property
    def server_salt(self) -> int:
        """The salt written into outgoing messages (a server: the one it expects). Setting it,
        a server keeps accepting the one it replaces (old salts stay valid for a while after
        the switch, PROTOCOL.md 3.5)."""
        return self._salt

    @server_salt.setter
    def server_salt(self, salt: int) -> None:
        salt = signed_long(salt, "server_salt")
        if salt != self._salt:
            self._previous_salt = self._salt
            self._salt = salt

    @property
    def has_outgoing(self) -> bool:
        """Whether `pack()` has a message to send now (acks that are not due yet do not count)."""
        return bool(self._queue) or (bool(self._pending_acks) and self._acks_due())

    @property
    def ack_deadline(self) -> float | None:
        """When (in `now()` time) the pending acks must go out even alone; None if none wait."""
        if not self._pending_acks or self._acks_since is None:
            return None
        return self._acks_since + self.ack_delay

    # ------------------------------------------------------------------------------------------
    # Outgoing

    def enqueue(self, body: Any, *, content_related: bool, is_reply: bool = True) -> None:
        """Queue any other message: a TL object or its encoded bytes. `is_reply` (server only)
        picks the msg_id residue: 1 mod 4 for answers, 3 mod 4 for messages of its own."""
        data = body if isinstance(body, (bytes, bytearray)) else self._encode(body)
        if len(data) % 4 or len(data) < 4:
            raise ValueError(f"a message body is a multiple of 4 bytes, got {len(data)}")
        self._queue.append(_Outgoing(bytes(data), content_related, is_reply))

    def flush_acks(self) -> None:
        """Send the pending acks with the next `pack()` even if nothing else goes out."""
        if self._pending_acks:
            self._force_acks = True

    def pack(self) -> bytes | None:
        """The next encrypted payload to send, or None when nothing is due (a server: also
        before the client's first message, which tells it the session_id)."""
        queue = self._queue
        if self._session_id is None:
            return None
        if not self._pending_acks and len(queue) == 1:
            item = queue.popleft()  # the common case: one message, no acks waiting
        else:
            if not self._pending_acks:
                if not queue:
                    return None
                items: list[_Item] = []
            else:
                if not queue and not self._acks_due():
                    return None
                items = self._take_acks()
            size = sum(len(item.body) + 16 for item in items)
            while queue and len(items) < MAX_CONTAINER_MESSAGES:
                body_size = len(queue[0].body) + 16
                if items and size + body_size > self.max_container_bytes:
                    break
                items.append(queue.popleft())
                size += body_size
            if len(items) != 1:
                return self._pack_container(items)
            item = items[0]
        # One message on its own.
        msg_id = self._new_msg_id(item.is_reply)
        seq_no = self._next_seq_no(item.content_related)
        self._sent_alone(msg_id, seq_no, item)
        return self._encrypt(msg_id, seq_no, item.body)

    def _sent_alone(self, msg_id: int, seq_no: int, item: _Item) -> None:
        """`item` goes out on its own under `msg_id`: what the role remembers of it."""

    def _sent_in_container(self, container_id: int, items: list[_Item], msg_ids: list[int],
                           seq_nos: list[int]) -> None:
        """`items` go out in the container `container_id`, each under its msg_id and seq_no."""

    def _acks_due(self) -> bool:
        if self._force_acks or len(self._pending_acks) >= self.ack_threshold:
            return True
        return self._acks_since is not None and self._now() >= self._acks_since + self.ack_delay

    def _take_acks(self) -> list[_Item]:
        ids = list(self._pending_acks)
        self._pending_acks.clear()
        self._acks_since = None
        self._force_acks = False
        items: list[_Item] = []
        for start in range(0, len(ids), MAX_ACK_IDS):
            chunk = ids[start : start + MAX_ACK_IDS]
            items.append(_Outgoing(_long_vector_body(MSGS_ACK_ID, chunk), False, True, chunk))
        return items

    def _pack_container(self, items: list[_Item]) -> bytes:
        parts = [_ID_COUNT.pack(MSG_CONTAINER_ID, len(items))]
        msg_ids: list[int] = []
        seq_nos: list[int] = []
        any_reply = False
        # One clock reading for the whole container: each id is the next after the one before.
        clock_msg_id = self._clock_msg_id()
        for item in items:
            msg_id = self._next_msg_id(clock_msg_id, item.is_reply)
            seq_no = self._next_seq_no(item.content_related)
            body = item.body
            parts.append(_INNER.pack(msg_id, seq_no, len(body)))
            parts.append(body)
            msg_ids.append(msg_id)
            seq_nos.append(seq_no)
            any_reply = any_reply or item.is_reply
        # Numbered after its contents: a higher msg_id, and not content-related.
        container_id = self._new_msg_id(any_reply)
        container_seq_no = self._next_seq_no(False)
        self._sent_in_container(container_id, items, msg_ids, seq_nos)
        return self._encrypt(container_id, container_seq_no, b"".join(parts))

    def _new_msg_id(self, is_reply: bool) -> int:
        """The next msg_id by the clock now (see `_next_msg_id`)."""
        return self._next_msg_id(self._clock_msg_id(), is_reply)

    def _clock_msg_id(self) -> int:
        """unixtime * 2^32, a multiple of 4: the fractional second in the low half (exact when
        `now` returns a Fraction; a float keeps about 10 bits less, which only matters for
        messages less than a microsecond apart)."""
        return int((self._now() + self.time_offset) * _TWO_32) & -4

    def _next_msg_id(self, clock_msg_id: int, is_reply: bool) -> int:
        """Time-based, strictly increasing, never an all-zero low half, with the role's residue
        mod 4 (REPLY_RESIDUE, OWN_RESIDUE)."""
        last = self._last_msg_id
        msg_id = clock_msg_id if clock_msg_id > last else (last & ~3) + 4
        if not msg_id & _LOW_HALF:
            msg_id += 4
        msg_id |= self._reply_residue if is_reply else self._own_residue
        self._last_msg_id = msg_id
        return msg_id

    def _next_seq_no(self, content_related: bool) -> int:
        if content_related:
            self._content_count += 1
            return self._content_count * 2 - 1
        return self._content_count * 2

    def _encrypt(self, msg_id: int, seq_no: int, body: bytes) -> bytes:
        """Pad (from the cipher's pool of `random_bytes`) and encrypt: the whole payload."""
        if self._minimal_padding:  # the cipher's own default: the least (12..27 bytes)
            return self._out_cipher.encrypt_message(
                self._salt, self._session_id, msg_id, seq_no, body
            )
        unpadded = 32 + len(body)
        padding = self._padding(unpadded, self._random_bytes)
        if not MIN_PADDING <= padding <= MAX_PADDING or (unpadded + padding) % 16:
            raise ValueError(
                f"padding policy gave {padding} bytes for {unpadded}; expected 12..1024 "
                "making a multiple of 16"
            )
        return self._out_cipher.encrypt_message(
            self._salt, self._session_id, msg_id, seq_no, body, padding
        )

    # ------------------------------------------------------------------------------------------
    # Incoming: the envelope and header checks of PROTOCOL.md 6; the role does the rest

    def receive(self, payload: bytes | bytearray | memoryview) -> list[Event]:
        """Check, decrypt and dispatch one payload; see docs/SESSION.md for the events."""
        if type(payload) is not bytes:
            payload = bytes(payload)
        try:
            plaintext = open_payload(self._in_cipher, payload)
        except SecurityError as failed:
            return self._drop(failed.check)
        return self.receive_opened(plaintext)

    def receive_opened(self, plaintext: bytes) -> list[Event]:
        """`receive` for a payload already opened by `open_payload` with this key's cipher for
        the incoming direction: the checks of the plaintext, then the role's."""
        salt, session_id, msg_id, seq_no, length = _HEADER.unpack_from(plaintext)
        padding = len(plaintext) - 32 - length
        if length < 0 or length & 3 or padding < 0:
            return self._drop("data_length")
        if padding < MIN_PADDING or padding > MAX_PADDING:
            return self._drop("padding")
        return self._receive_message(salt, session_id, msg_id, seq_no,
                                     plaintext[32 : 32 + length])

    def _receive_message(self, salt: int, session_id: int, msg_id: int, seq_no: int,
                         body: bytes) -> list[Event]:
        """The role's checks and dispatch of one message whose envelope and length passed."""
        raise NotImplementedError

    def _drop(self, reason: str) -> list[Event]:
        self.dropped[reason] += 1
        # A server sees a wrong salt on every new client's first message: routine, not alarming.
        level = logging.INFO if reason == "server_salt" else logging.WARNING
        logger.log(level, "%s session: dropped an incoming message (%s)", self.role, reason)
        return [MessageDropped(reason)]

    def _is_replay(self, msg_id: int) -> bool:
        """Seen in the window of recent ids, or below every id in it."""
        return msg_id in self._received_set or (
            bool(self._received) and msg_id < min(self._received)
        )

    def _remember_received(self, msg_id: int) -> None:
        received = self._received
        if len(received) < self._received_window:
            received.append(msg_id)
        else:  # the window is full: the oldest id makes room
            oldest = self._received_next
            self._received_set.discard(received[oldest])
            received[oldest] = msg_id
            self._received_next = (oldest + 1) % self._received_window
        self._received_set.add(msg_id)
        if msg_id > self._highest_received:
            self._highest_received = msg_id

    def _forget_received(self) -> None:
        self._received.clear()
        self._received_next = 0
        self._received_set.clear()
        self._highest_received = 0

    def _queue_ack(self, msg_id: int) -> None:
        if not self._pending_acks:
            self._acks_since = self._last_now
        self._pending_acks[msg_id] = None

    def _skip(self, msg_id: int, reason: str, error: Exception | None, events: list[Event]) -> None:
        self.skipped[reason] += 1
        logger.info("%s session: skipped message %#x (%s): %s", self.role, msg_id, reason, error)
        events.append(MessageSkipped(msg_id, reason, error))

    def _decode_body(self, msg_id: int, body: bytes, events: list[Event]) -> Any:
        """The object of a message body, or None after reporting why it cannot be had."""
        constructor_id = _UINT.unpack_from(body)[0]
        if self._registry.plan_for_id(constructor_id) is None:
            error = DecodeError(f"unknown constructor id {constructor_id:#010x}", 0)
            self._skip(msg_id, "unknown_constructor", error, events)
            return None
        return self._decode_known(msg_id, body, events)

    def _decode_known(self, msg_id: int, body: bytes, events: list[Event]) -> Any:
        """`_decode_body` for a body whose constructor id the schema has. The codec inflates
        nothing (`max_inflated=0`): gzip_packed belongs in place of a message or of an
        rpc_result's result, where the session inflates it within the message's budget."""
        try:
            return self._decode(body, self._object_spec, max_inflated=0)
        except DecodeError as exc:
            self._skip(msg_id, "decode_error", exc, events)
            return None

    def _inflate(self, body: bytes) -> bytes:
        """The inflated bytes of a `gzip_packed` body, paid from the inflation budget of the
        message being received: one `max_inflated` for the whole message, however many
        gzip_packed it holds. One that overflows spends the rest of the budget, so that a
        container of bombs inflates no more than one."""
        packed = self._decode(body, self._gzip_spec).packed_data
        budget = self._inflate_budget
        try:
            inflated = self._inflate_gzip(packed, budget, self._max_inflated, "received message")
        except InflateLimitError:
            self._inflate_budget = 0
            raise
        self._inflate_budget = budget - len(inflated)
        if len(inflated) < 4 or len(inflated) % 4:
            raise DecodeError(f"gzip_packed body inflates to {len(inflated)} bytes", 0)
        return inflated


# ----------------------------------------------------------------------------------------------
# The compiled build of this file (setup.py: this source with the C types of _session_c.pxd)

if __name__ == "tlcodec.mtproto.session":  # the plain module, not the compiled build itself
    adopt_compiled_build(globals(), "session", __all__)
