# cython: annotation_typing=False, wraparound=False
# (Compiled as tlcodec.mtproto._session_c: only _session_c.pxd gives C types; see the end.)
"""MTProto 2.0 encrypted sessions without I/O: msg_id, seq_no, salts, acks, containers, the
checks on every incoming message, and the service messages, for a client and for a server.

This layer owns everything between "an RPC call object" and "the payload bytes a transport
frames": `auth_key_id + msg_key + AES-256-IGE(salt, session_id, msg_id, seq_no, length, body,
padding)`. It owns no socket, no clock and no randomness (`now` and `random_bytes` are
parameters), and no transport framing. The facts are PROTOCOL.md 3.4-3.8 and 6
(core.telegram.org/mtproto/description, /mtproto/service_messages,
/mtproto/service_messages_about_messages, /mtproto/security_guidelines); the crypto is
`tlcodec.crypto`.

API
---
`EncryptedSession(auth_key, *, role="client", server_salt, session_id=None, time_offset=0, ...)`
is the whole engine for one session of one auth key. A driver loops::

    pending = session.send(request)        # client: queue an RPC call -> PendingRequest
    while (payload := session.pack()) is not None:
        transport.write(payload)           # one encrypted message (maybe a msg_container)
    for event in session.receive(payload): # one payload from the transport
        ...                                # events: tlcodec.mtproto.events
    # then call pack() again: receive() may have queued acks, resends or service answers

- `send(request) -> PendingRequest` (client): encodes the call now, queues it. The
  `PendingRequest` is the request's identity for its whole life: `.request`, `.msg_id` (the
  current one; None before the first `pack()`), `.result_spec`, `.acked`, `.state`. A resend
  (bad salt, bad time, new session) keeps the same object and gives it a new msg_id.
- `pack() -> bytes | None`: the next payload to send, or None when nothing is due. Everything
  queued together goes out as one `msg_container` (acks first; container msg_id above every
  inner id; at most 1020 messages / `max_container_bytes`); a lone message goes out bare.
  Pending acks ride along with the next message; alone only when `ack_threshold` of them wait,
  when the oldest is `ack_delay` seconds old (see `ack_deadline`), or after `flush_acks()`.
- `receive(payload) -> list[Event]`: checks, decrypts and dispatches one payload. A payload
  that fails a check (PROTOCOL.md 6) gives exactly `[MessageDropped(reason)]`: nothing in it is
  decoded or used; the reason is logged and counted in `session.dropped`. Client events:
  `RpcResult(request, result, msg_id)`, `RpcFailed(request, error, msg_id)` (`RPCError`
  subclasses via `RPCError.from_message`, `BadMessageError`, `DecodeError`), `Update`,
  `NewSessionCreated`, `MessagesAcked`, `ServerSaltChanged`, `TimeOffsetChanged`,
  `SessionReset`, `RequestsResent`, `ServiceMessage`, `MessageSkipped`.
- `cancel(pending)`: forget a request (a late answer is then skipped as "unmatched_answer").
  `requeue_unanswered()`: after a reconnect, send every unanswered request again (new msg_ids;
  an answer to the old id still resolves it). `new_session()`: new session_id, seq_no from 0,
  unanswered requests queued again. `flush_acks()`, `ack_deadline`, `has_outgoing`.
- Server role (`role="server"`, the test data centre): `receive` checks client messages
  (client msg_ids are 0 mod 4) and gives `RequestReceived(msg_id, request)`, `PingReceived`
  (the pong is already queued), `MessagesAcked`, `ClientSessionStarted`, `ServiceMessage`,
  `MessageSkipped`, `MessageDropped`. It queues by itself `new_session_created` (first accepted
  message of an unknown session_id; `session_id=None` means "adopt the client's"),
  `bad_server_salt` (salt neither the current nor the previous one), `bad_msg_notification`
  16/17 (msg_id outside 300 s back / 30 s ahead), 18 (parity), 34/35 (seq_no parity against
  content), 64 (malformed container), `pong`, `future_salts`, and acks. The driver answers with
  `answer(req_msg_id, result, gzip=False)`, `answer_error(req_msg_id, code, message)`,
  `push(update)`. One server object serves one session at a time (a new session_id resets it):
  keep it across connections so that a reconnecting client keeps its session. To serve
  several sessions of one key at once, open each payload once with `open_payload(cipher,
  payload)` (a `MessageCipher` of the key, client to server), route it by the session_id at
  plaintext[8:16], and give the plaintext to that session's `receive_opened(plaintext)`.
- `enqueue(body, content_related=..., is_reply=True)`: queue any other TL object or raw body
  (e.g. a test data centre sending a crafted `bad_msg_notification`).
- Counters: `dropped[reason]` (whole payloads, reasons in `DROP_REASONS`), `skipped[reason]`
  (single messages: unknown constructor, damaged body, unmatched answer, ...).
- State a driver persists or sets: `server_salt` (settable; a server keeps accepting the
  previous one), `session_id`, `time_offset` (seconds added to `now()`), `future_salts` (from
  `get_future_salts`), `pending_requests`. Padding: `padding=minimal_padding` (12..27 bytes,
  the default) or `random_padding(max_padding)`, or any `(unpadded_length, random_bytes) ->
  int` policy.
- `encrypt_payload(auth_key, plaintext, from_client=...)` / `decrypt_payload(...)`: the bare
  MTProto 2.0 envelope for an already padded plaintext (tests, tools); `peek_session_id`;
  `open_payload(cipher, payload)`: the envelope checks through a cipher made once per key.

Choices where the protocol leaves room:
- A dropped payload yields a `MessageDropped` event (reason only) so that the driver can
  apply the guidelines' "close the connection"; the session itself keeps going.
- `msg_detailed_info`/`msg_new_detailed_info`: ack `answer_msg_id` if that message already
  arrived, else ask for it with `msg_resend_req` (sent as not content-related, like msgs_ack).
- `bad_msg_notification` 32/33: a new session (PROTOCOL.md 3.7, 8); 16/17: the offset comes
  from the notification's own msg_id, and after 17 the msg_id floor is reset so that ids can
  go back down (a notification dated before 1970 or within a day of 2038-01-19, where msg_ids
  end, fails the request(s) instead); 20 and a plain 48: resend; anything else fails the
  request(s) with `BadMessageError(code, msg_id)`. A request resent more than `max_resends`
  times fails too.
- `new_session_created`: unanswered requests whose message (their container's, if any) is
  older than `first_msg_id` are queued again, as tdlib does.
- Answers outside `rpc_result` (`pong`, `future_salts`, `destroy_session_ok/none`) resolve
  their request as an `RpcResult` too.
- Received content-related messages are acknowledged even when their body cannot be decoded,
  so the peer does not resend them forever.
- gzip_packed is inflated where the protocol puts it, in place of a message (alone or in a
  container) or of an rpc_result's result, and one level deep: a gzip_packed inside one, or
  inside any object, is refused (the message is skipped, or its request fails, with a
  DecodeError counted as "decode_error"). `max_inflated` (default: the codec's limit) is what
  one received message may inflate in all, however many gzip_packed it holds.
"""

from __future__ import annotations

import logging
import os
import struct
import time
import zlib
from collections import Counter, OrderedDict, deque
from typing import Any, Callable

from ..errors import DecodeError
from .._runtime import adopt_compiled_build
from ..bundled import schema as _bundled_schema
from ..crypto import (
    MIN_PADDING,
    MessageCipher,
    SecurityError,
    aes_ige_encrypt,
    auth_key_id,
    message_aes_key_iv,
    message_key,
    minimal_padding_size,
)
from .errors import BadMessageError, RPCError
from .events import (
    ClientSessionStarted,
    Event,
    MessageDropped,
    MessagesAcked,
    MessageSkipped,
    NewSessionCreated,
    PingReceived,
    RequestReceived,
    RequestsResent,
    RpcFailed,
    RpcResult,
    ServerSaltChanged,
    ServiceMessage,
    SessionReset,
    TimeOffsetChanged,
    Update,
)

__all__ = [
    "DROP_REASONS",
    "EncryptedSession",
    "PaddingPolicy",
    "PendingRequest",
    "decrypt_payload",
    "encrypt_payload",
    "minimal_padding",
    "open_payload",
    "peek_session_id",
    "random_padding",
]

logger = logging.getLogger("tlcodec.mtproto.session")  # the compiled build logs here too

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
# Containers and service messages remembered for bad_msg notifications about them. A record
# holds the msg_ids of the requests in it, not the requests: an answered one is gone from
# `_sent`, and with it every reference the session held to it (and to its body).
SENT_RECORDS = 1024

# Constructor ids of the MTProto service schema (fixed by the protocol; dispatch is by id so
# that any schema the session is given works).
RPC_RESULT_ID = 0xF35C6D01
RPC_ERROR_ID = 0x2144CA19
MSG_CONTAINER_ID = 0x73F1F8DC
GZIP_PACKED_ID = 0x3072CFA1
MSGS_ACK_ID = 0x62D6B459
MSG_RESEND_REQ_ID = 0x7D861A08
BAD_MSG_NOTIFICATION_ID = 0xA7EFF811
BAD_SERVER_SALT_ID = 0xEDAB447B
NEW_SESSION_CREATED_ID = 0x9EC20908
PONG_ID = 0x347773C5
PING_ID = 0x7ABE77EC
PING_DELAY_DISCONNECT_ID = 0xF3427B8C
GET_FUTURE_SALTS_ID = 0xB921BD04
FUTURE_SALTS_ID = 0xAE500895
MSG_DETAILED_INFO_ID = 0x276D3EC6
MSG_NEW_DETAILED_INFO_ID = 0x809DB6DF
DESTROY_SESSION_ID = 0xE7512126
DESTROY_SESSION_OK_ID = 0xE22045FC
DESTROY_SESSION_NONE_ID = 0x62D350C9
MSG_COPY_ID = 0xE06046B2
HTTP_WAIT_ID = 0x9299359F
VECTOR_ID = 0x1CB5C415

# Service objects a session hands over as `ServiceMessage` instead of acting on them.
_PASSTHROUGH_IDS = frozenset({
    0xDA69FB52,  # msgs_state_req
    0x04DEB57D,  # msgs_state_info
    0x8CC0D131,  # msgs_all_info
    MSG_RESEND_REQ_ID,
    0x5E2AD36E, 0xCD78E586, 0xA43AD8B7,  # rpc_answer_unknown / _dropped_running / _dropped
    DESTROY_SESSION_OK_ID, DESTROY_SESSION_NONE_ID,
    0xF660E1D4, 0x0A9F2259, 0xEA109B13,  # destroy_auth_key_ok / _none / _fail
    HTTP_WAIT_ID,
    MSG_COPY_ID,
})
# Never content-related, so a client must send them with an even seq_no (code 34 otherwise).
_NOT_CONTENT_RELATED_IDS = frozenset({MSGS_ACK_ID, MSG_CONTAINER_ID, MSG_COPY_ID, HTTP_WAIT_ID})

_HEADER = struct.Struct("<qqqii")  # salt, session_id, msg_id, seq_no, message_data_length
_INNER = struct.Struct("<qii")  # a container item: msg_id, seqno, bytes
_UINT = struct.Struct("<I")
_LONG = struct.Struct("<q")
_ID_COUNT = struct.Struct("<Ii")
_ID_LONG = struct.Struct("<Iq")
_PONG = struct.Struct("<Iqq")
_BAD_MSG = struct.Struct("<Iqii")
_BAD_SALT = struct.Struct("<Iqiiq")
_NEW_SESSION = struct.Struct("<Iqqq")
_FUTURE_SALTS_HEAD = struct.Struct("<Iqii")  # id, req_msg_id, now, count of the bare vector
_FUTURE_SALT = struct.Struct("<iiq")
_RPC_ERROR_HEAD = struct.Struct("<Ii")

_TWO_31 = 2147483648
_TWO_32 = 4294967296
_LOW_HALF = 0xFFFFFFFF  # of a msg_id: the fraction of a second


def _signed64(value: int, name: str) -> int:
    """A long as the wire reads it back (signed); accepts the unsigned spelling too."""
    if not -(1 << 63) <= value < (1 << 64):
        raise ValueError(f"{name} must fit in 64 bits, got {value}")
    return value - (1 << 64) if value >= (1 << 63) else value


def _tl_bytes(data: bytes) -> bytes:
    if len(data) <= 253:
        out = bytes((len(data),)) + data
    else:
        out = b"\xfe" + len(data).to_bytes(3, "little") + data
    return out + b"\0" * (-len(out) % 4)


def _gzip(data: bytes) -> bytes:
    """A gzip stream (what gzip_packed carries), at a fast compression level."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


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
    `open_payload` and a cipher kept per key, and hands the plaintext on (see the module doc)."""
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


# ----------------------------------------------------------------------------------------------
# Outgoing items


class PendingRequest:
    """One RPC call of ours, from `send()` until its answer; a resend keeps this identity.

    `state` is "queued" (waiting for `pack()`), "sent" (waiting for its answer) or "done"
    (answered, failed or cancelled). `msg_id`/`seq_no` are those of its latest sending;
    `container_msg_id` the container it went in (None when sent alone); `acked` whether the
    server acknowledged that it received it; `resends` how often the session resent it;
    `result_spec` the codec TypeSpec its answer is decoded with (`schema.result_spec(request)`).
    """

    __slots__ = (
        "request", "body", "msg_id", "seq_no", "container_msg_id", "old_msg_ids", "acked",
        "resends", "state", "result_spec",
    )
    # Shared with `_Outgoing`, so that the queue can hold both.
    content_related = True
    is_reply = False
    ack_ids = None

    def __init__(self, request: Any, body: bytes, schema: Any) -> None:
        self.request = request
        self.body = body
        self.msg_id: int | None = None
        self.seq_no: int | None = None
        self.container_msg_id: int | None = None
        self.old_msg_ids: tuple[int, ...] = ()  # earlier ids whose answer still counts
        self.acked = False
        self.resends = 0
        self.state = "queued"
        spec = type(request).__tl_plan__.result  # a fixed result type: no lookup needed
        if spec is None:  # a generic wrapper (invokeWithLayer, initConnection, ...)
            spec = schema.result_spec(request)
        self.result_spec: Any = spec

    @property
    def sent_as(self) -> int | None:
        """The msg_id of the outer message it last went in (its container's, if any)."""
        return self.container_msg_id if self.container_msg_id is not None else self.msg_id

    def __repr__(self) -> str:
        msg_id = "None" if self.msg_id is None else f"{self.msg_id:#x}"
        return f"<PendingRequest {type(self.request).TL_NAME} msg_id={msg_id} {self.state}>"


class _Outgoing:
    """A message that is not an RPC call of ours: acks, answers, service messages, pushes."""

    __slots__ = ("body", "content_related", "is_reply", "ack_ids")

    def __init__(self, body: bytes, content_related: bool, is_reply: bool,
                 ack_ids: list[int] | None = None) -> None:
        self.body = body
        self.content_related = content_related
        self.is_reply = is_reply  # server: msg_id 1 mod 4 (answers) rather than 3 (pushes)
        self.ack_ids = ack_ids  # a msgs_ack: the ids, so a rejected one can be acked again


_Item = Any  # PendingRequest | _Outgoing


# ----------------------------------------------------------------------------------------------
# The session


class EncryptedSession:
    """One MTProto 2.0 session of one auth key, client or server side (see the module doc)."""

    def __init__(
        self,
        auth_key: bytes,
        *,
        role: str = "client",
        server_salt: int,
        session_id: int | None = None,
        time_offset: float = 0,
        schema: Any = None,
        random_bytes: RandomBytes = os.urandom,
        now: Clock = time.time,
        padding: PaddingPolicy = minimal_padding,
        ack_threshold: int = 16,
        ack_delay: float = 15.0,
        max_resends: int = 5,
        received_window: int = 1000,
        max_container_bytes: int = DEFAULT_MAX_CONTAINER_BYTES,
        max_inflated: int | None = None,
    ) -> None:
        if len(auth_key) != 256:
            raise ValueError(f"auth_key must be 256 bytes, got {len(auth_key)}")
        if role not in ("client", "server"):
            raise ValueError(f"role must be 'client' or 'server', got {role!r}")
        if received_window < 1 or ack_threshold < 1:
            raise ValueError("received_window and ack_threshold must be at least 1")
        if max_inflated is not None and max_inflated < 0:
            raise ValueError(f"max_inflated must not be negative, got {max_inflated}")
        self.auth_key = bytes(auth_key)
        self.auth_key_id = auth_key_id(self.auth_key)
        self.role = role
        self._is_client = role == "client"
        # It also keeps the padding pool (random_bytes called for many messages at once).
        self._out_cipher = MessageCipher(self.auth_key, self._is_client, random_bytes)
        self._in_cipher = MessageCipher(self.auth_key, from_client=not self._is_client)
        self._schema = _bundled_schema if schema is None else schema
        self._registry = self._schema.registry
        self._decode = self._registry.decode  # bound once: it runs for every message
        self._object_spec = self._schema.spec(None)
        self._rpc_error_spec = self._schema.spec(self._schema.get("rpc_error", function=False))
        self._gzip_spec = self._schema.spec(self._schema.get("gzip_packed", function=False))
        self._encode = self._schema.codec.encode
        self._max_inflated = (
            self._schema.codec.DEFAULT_MAX_INFLATED if max_inflated is None else max_inflated
        )
        # What the message being received may still inflate: every gzip_packed in it draws on
        # this (`_inflate`), and each received message starts again from `_max_inflated`.
        self._inflate_budget = self._max_inflated
        self._random_bytes = random_bytes
        self._now = now
        self._padding = padding
        self._minimal_padding = padding is minimal_padding
        self.ack_threshold = ack_threshold
        self.ack_delay = ack_delay
        self.max_resends = max_resends
        self.max_container_bytes = max_container_bytes
        self.time_offset = time_offset

        self._salt = _signed64(server_salt, "server_salt")
        self._previous_salt = self._salt
        if session_id is None and self._is_client:
            session_id = int.from_bytes(random_bytes(8), "little", signed=True)
        self._session_id = None if session_id is None else _signed64(session_id, "session_id")
        # server: announce (new_session_created) the first accepted message of a session that
        # this object adopted rather than was told about.
        self._announce_session = False
        self.future_salts: list[Any] = []

        self._content_count = 0  # content-related messages sent in this session (seq_no)
        self._last_msg_id = 0
        self._queue: deque[_Item] = deque()
        self._pending_acks: dict[int, None] = {}  # received content-related ids, in order
        self._acks_since: float | None = None
        self._force_acks = False
        self._sent: dict[int, PendingRequest] = {}  # client: requests by the ids they went under
        # client: containers and service messages sent, by msg_id -> (the msg_ids of the
        # requests in it, the other messages with their msg_ids); see SENT_RECORDS
        self._sent_other: OrderedDict[int, tuple[list[int], list[tuple[int, _Item]]]] = (
            OrderedDict())
        # The window of the latest received ids: a ring once full, `_received_next` its oldest.
        self._received: list[int] = []
        self._received_next = 0
        self._received_set: set[int] = set()
        self._received_window = received_window
        self._highest_received = 0
        self._last_now = 0.0

        self.dropped: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()

        if self._is_client:
            self._handlers: dict[int, Callable[[int, Any, list[Event]], None]] = {
                PONG_ID: self._on_pong,
                FUTURE_SALTS_ID: self._on_future_salts,
                BAD_SERVER_SALT_ID: self._on_bad_server_salt,
                BAD_MSG_NOTIFICATION_ID: self._on_bad_msg_notification,
                NEW_SESSION_CREATED_ID: self._on_new_session_created,
                MSGS_ACK_ID: self._on_msgs_ack,
                MSG_DETAILED_INFO_ID: self._on_detailed_info,
                MSG_NEW_DETAILED_INFO_ID: self._on_detailed_info,
                DESTROY_SESSION_OK_ID: self._on_destroy_session,
                DESTROY_SESSION_NONE_ID: self._on_destroy_session,
            }
        else:
            self._handlers = {
                PING_ID: self._on_ping,
                PING_DELAY_DISCONNECT_ID: self._on_ping,
                GET_FUTURE_SALTS_ID: self._on_get_future_salts,
                MSGS_ACK_ID: self._on_msgs_ack,
            }

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
        salt = _signed64(salt, "server_salt")
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

    @property
    def pending_requests(self) -> list[PendingRequest]:
        """Requests not answered yet: the queued ones, then the sent ones."""
        seen: dict[int, PendingRequest] = {}
        for item in self._queue:
            if type(item) is PendingRequest:
                seen[id(item)] = item
        for item in self._sent.values():
            seen[id(item)] = item
        return list(seen.values())

    # ------------------------------------------------------------------------------------------
    # Outgoing

    def send(self, request: Any) -> PendingRequest:
        """Queue an RPC call (a TL function object); it goes out with the next `pack()`."""
        if not self._is_client:
            raise ValueError("send() is for the client role; a server uses answer()/push()")
        try:
            is_function = type(request).__tl_plan__.is_function
        except AttributeError:
            is_function = False
        if not is_function:
            raise TypeError(f"send() takes a TL function call, got {type(request).__name__}")
        pending = PendingRequest(request, self._encode(request), self._schema)
        self._queue.append(pending)
        return pending

    def enqueue(self, body: Any, *, content_related: bool, is_reply: bool = True) -> None:
        """Queue any other message: a TL object or its encoded bytes. `is_reply` (server only)
        picks the msg_id residue: 1 mod 4 for answers, 3 mod 4 for messages of its own."""
        data = body if isinstance(body, (bytes, bytearray)) else self._encode(body)
        if len(data) % 4 or len(data) < 4:
            raise ValueError(f"a message body is a multiple of 4 bytes, got {len(data)}")
        self._queue.append(_Outgoing(bytes(data), content_related, is_reply))

    def answer(
        self, req_msg_id: int, result: Any, *, request: Any = None, gzip: bool = False
    ) -> None:
        """Server: queue `rpc_result(req_msg_id, result)` (gzip_packed if `gzip`).

        `result` is a TL object, or, given the `request` it answers, any value of the request's
        result type (`Vector<User>`, `Bool`, ...), or bytes already encoded.
        """
        if isinstance(result, (bytes, bytearray)):
            data = bytes(result)
        elif request is not None:
            data = self._schema.encode_result(request, result)
        else:
            data = self._encode(result)
        if gzip:
            data = _UINT.pack(GZIP_PACKED_ID) + _tl_bytes(_gzip(data))
        self._queue_answer(req_msg_id, _ID_LONG.pack(RPC_RESULT_ID, req_msg_id) + data)

    def answer_error(self, req_msg_id: int, code: int, message: str) -> None:
        """Server: queue `rpc_result(req_msg_id, rpc_error(code, message))`."""
        error = _RPC_ERROR_HEAD.pack(RPC_ERROR_ID, code) + _tl_bytes(message.encode("utf-8"))
        self._queue_answer(req_msg_id, _ID_LONG.pack(RPC_RESULT_ID, req_msg_id) + error)

    def push(self, update: Any) -> None:
        """Server: queue a message of its own (an update), content-related, msg_id 3 mod 4."""
        if self._is_client:
            raise ValueError("push() is for the server role")
        self._queue.append(_Outgoing(self._encode(update), True, False))

    def _queue_answer(self, req_msg_id: int, body: bytes) -> None:
        if self._is_client:
            raise ValueError("answer()/answer_error() are for the server role")
        # An rpc_result acknowledges the request it answers: no separate ack needed.
        self._pending_acks.pop(req_msg_id, None)
        self._queue.append(_Outgoing(body, True, True))

    def flush_acks(self) -> None:
        """Send the pending acks with the next `pack()` even if nothing else goes out."""
        if self._pending_acks:
            self._force_acks = True

    def cancel(self, pending: PendingRequest) -> None:
        """Forget a request: it is not sent (again), and a late answer is skipped."""
        self._finish(pending)

    def requeue_unanswered(self) -> list[PendingRequest]:
        """Queue every sent, unanswered request again (e.g. after a reconnect). The old msg_ids
        stay known, so whichever answer comes first resolves the request."""
        requests = self._unanswered()
        for pending in requests:
            assert pending.msg_id is not None  # sent
            pending.old_msg_ids += (pending.msg_id,)
            pending.state = "queued"
            self._queue.append(pending)
        return requests

    def new_session(self, reason: str = "requested") -> list[Event]:
        """Client: move to a new session_id (seq_no from 0) and queue unanswered requests again."""
        if not self._is_client:
            raise ValueError("new_session() is for the client role")
        events: list[Event] = []
        self._reset_session(reason, events)
        return events

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
        if self._is_client:
            if type(item) is PendingRequest:
                item.msg_id = msg_id
                item.seq_no = seq_no
                item.container_msg_id = None
                item.state = "sent"
                self._sent[msg_id] = item
            else:
                self._remember_sent(msg_id, [], [(msg_id, item)])
        return self._encrypt(msg_id, seq_no, item.body)

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
        others: list[tuple[int, _Item]] = []
        requests: list[PendingRequest] = []
        request_ids: list[int] = []
        any_reply = False
        # One clock reading for the whole container: each id is the next after the one before.
        is_client = self._is_client
        sent = self._sent
        clock_msg_id = self._clock_msg_id()
        for item in items:
            msg_id = self._next_msg_id(clock_msg_id, item.is_reply)
            seq_no = self._next_seq_no(item.content_related)
            body = item.body
            parts.append(_INNER.pack(msg_id, seq_no, len(body)))
            parts.append(body)
            if is_client:
                if type(item) is PendingRequest:
                    pending = item  # a PendingRequest by type in the compiled build (the .pxd)
                    pending.msg_id = msg_id
                    pending.seq_no = seq_no
                    pending.state = "sent"
                    sent[msg_id] = pending
                    requests.append(pending)
                    request_ids.append(msg_id)
                else:
                    others.append((msg_id, item))
            any_reply = any_reply or item.is_reply
        # Numbered after its contents: a higher msg_id, and not content-related.
        container_id = self._new_msg_id(any_reply)
        container_seq_no = self._next_seq_no(False)
        if is_client:
            for item in requests:
                item.container_msg_id = container_id
            self._remember_sent(container_id, request_ids, others)
        return self._encrypt(container_id, container_seq_no, b"".join(parts))

    def _remember_sent(self, msg_id: int, request_ids: list[int],
                       others: list[tuple[int, _Item]]) -> None:
        records = self._sent_other
        records[msg_id] = (request_ids, others)
        if len(records) > SENT_RECORDS:
            records.popitem(last=False)

    def _new_msg_id(self, is_reply: bool) -> int:
        """The next msg_id by the clock now (see `_next_msg_id`)."""
        return self._next_msg_id(self._clock_msg_id(), is_reply)

    def _clock_msg_id(self) -> int:
        """unixtime * 2^32, a multiple of 4: the fractional second in the low half (exact when
        `now` returns a Fraction; a float keeps about 10 bits less, which only matters below
        1 us)."""
        return int((self._now() + self.time_offset) * _TWO_32) & -4

    def _next_msg_id(self, clock_msg_id: int, is_reply: bool) -> int:
        """Time-based, strictly increasing, never an all-zero low half; 0 mod 4 from a client,
        1 (answers) or 3 (own messages) mod 4 from a server (PROTOCOL.md 3.5)."""
        last = self._last_msg_id
        msg_id = clock_msg_id if clock_msg_id > last else (last & ~3) + 4
        if not msg_id & _LOW_HALF:
            msg_id += 4
        if not self._is_client:
            msg_id |= 1 if is_reply else 3
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
    # Incoming: the checks of PROTOCOL.md 6

    def receive(self, payload: bytes | bytearray | memoryview) -> list[Event]:
        """Check, decrypt and dispatch one payload; see the module doc for the events."""
        if type(payload) is not bytes:
            payload = bytes(payload)
        try:
            plaintext = open_payload(self._in_cipher, payload)
        except SecurityError as failed:
            return self._drop(failed.check)
        return self.receive_opened(plaintext)

    def receive_opened(self, plaintext: bytes) -> list[Event]:
        """`receive` for a payload already opened by `open_payload` with this key's cipher for
        the incoming direction: the checks of the plaintext, then the dispatch."""
        salt, session_id, msg_id, seq_no, length = _HEADER.unpack_from(plaintext)
        padding = len(plaintext) - 32 - length
        if length < 0 or length & 3 or padding < 0:
            return self._drop("data_length")
        if padding < MIN_PADDING or padding > MAX_PADDING:
            return self._drop("padding")
        body = plaintext[32 : 32 + length]
        if not self._is_client:
            return self._receive_as_server(salt, session_id, msg_id, seq_no, body)
        # Client side, inline (the per-message path): session, parity, replay, time.
        if session_id != self._session_id:
            return self._drop("session_id")
        if not msg_id & 1:
            return self._drop("msg_id_parity")
        if msg_id <= self._highest_received and self._is_replay(msg_id):
            return self._drop("msg_id_replayed")
        now = self._last_now = self._now()
        age = now + self.time_offset - (msg_id >> 32)
        if (age > MAX_PAST_SECONDS or age < -MAX_FUTURE_SECONDS) and not (
            # Notifications about a msg_id we really sent are processed even when the time
            # looks wrong: they are how a wrong clock gets corrected (PROTOCOL.md 6).
            self._only_notifications_about_ours(msg_id, body)
        ):
            return self._drop("msg_id_too_old" if age > 0 else "msg_id_too_new")
        self._remember_received(msg_id)
        events: list[Event] = []
        if seq_no & 1:
            self._queue_ack(msg_id)
        if length < 4:
            self._skip(msg_id, "decode_error", DecodeError("empty message body", 0), events)
        else:
            self._inflate_budget = self._max_inflated
            self._client_body(msg_id, body, events, True, False)
        return events

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

    def _time_check(self, msg_id: int) -> str | None:
        now = self._last_now = self._now()
        age = now + self.time_offset - (msg_id >> 32)
        if age > MAX_PAST_SECONDS:
            return "msg_id_too_old"
        if age < -MAX_FUTURE_SECONDS:
            return "msg_id_too_new"
        return None

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
        gzip_packed it holds. The output is capped at what is left (plus one byte, to see an
        overflow), so a bomb is refused before its memory is spent; one that overflows spends
        the rest of the budget, so that a container of bombs inflates no more than one."""
        packed = self._decode(body, self._gzip_spec).packed_data
        budget = self._inflate_budget
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            inflated = inflater.decompress(packed, budget + 1)
        except zlib.error as exc:
            raise DecodeError(f"gzip_packed body is not valid gzip ({exc})", 0) from None
        if len(inflated) > budget:
            self._inflate_budget = 0
            raise DecodeError(
                f"gzip_packed body inflates past the {budget} bytes left of the message's "
                f"inflation budget ({self._max_inflated} bytes)", 0)
        self._inflate_budget = budget - len(inflated)
        if not inflater.eof or inflater.unused_data:
            raise DecodeError("gzip_packed body is a truncated or over-long gzip stream", 0)
        if len(inflated) < 4 or len(inflated) % 4:
            raise DecodeError(f"gzip_packed body inflates to {len(inflated)} bytes", 0)
        return inflated

    # ------------------------------------------------------------------------------------------
    # Client side

    def _only_notifications_about_ours(self, msg_id: int, body: bytes) -> bool:
        if len(body) < 12:
            return False
        constructor_id = _UINT.unpack_from(body)[0]
        if constructor_id in (BAD_SERVER_SALT_ID, BAD_MSG_NOTIFICATION_ID):
            return self._sent_items(_LONG.unpack_from(body, 4)[0]) is not None
        if constructor_id == MSG_CONTAINER_ID:
            try:
                items = _parse_container(msg_id, body)
            except DecodeError:
                return False
            return bool(items) and all(
                self._only_notifications_about_ours(inner_id, inner)
                for inner_id, _, inner in items
            )
        return False

    def _client_body(self, msg_id: int, body: bytes, events: list[Event], top: bool,
                     inflated: bool) -> None:
        """One message: `top` if it may be a container (not inside one), `inflated` if it came
        out of a gzip_packed (which then may hold no other: a server never nests them, and
        one level keeps the recursion and the memory of a nested bomb bounded)."""
        constructor_id = _UINT.unpack_from(body)[0]
        if constructor_id == RPC_RESULT_ID:
            self._on_rpc_result(msg_id, body, events, inflated)
            return
        if constructor_id == MSG_CONTAINER_ID:
            if not top:
                error = DecodeError("msg_container where a message was expected", 0)
                self._skip(msg_id, "bad_container", error, events)
                return
            self._client_container(msg_id, body, events, inflated)
            return
        if constructor_id == GZIP_PACKED_ID:
            if inflated:
                self._skip(msg_id, "decode_error", _nested_gzip_error(), events)
                return
            try:
                body = self._inflate(body)
            except DecodeError as exc:
                self._skip(msg_id, "decode_error", exc, events)
                return
            self._client_body(msg_id, body, events, top, True)
            return
        obj = self._decode_body(msg_id, body, events)
        if obj is None:
            return
        handler = self._handlers.get(constructor_id)
        if handler is not None:
            handler(msg_id, obj, events)
        elif constructor_id in _PASSTHROUGH_IDS:
            events.append(ServiceMessage(msg_id, obj))
        elif type(obj).__tl_plan__.is_function:
            self._skip(msg_id, "unexpected_object", None, events)
        else:
            events.append(Update(msg_id, obj))

    def _client_container(self, container_id: int, body: bytes, events: list[Event],
                          inflated: bool) -> None:
        # Its messages pass the msg_id checks of a message alone before any is used (a replay
        # is a "duplicate" below; the parity is checked by the parser). Every item is below the
        # container's id, which passed the time check (or was exempt, holding only
        # notifications about ours): none can be too new, and one of the container's second
        # is no older than it; only one of an earlier second (`earlier`) needs the clock.
        earlier: list[tuple[int, int, bytes]] = []
        try:
            items = _parse_container(container_id, body, True, earlier)
        except DecodeError as exc:
            self._skip(container_id, "bad_container", exc, events)
            return
        for msg_id, _, inner in earlier:
            if self._too_old_item(msg_id, inner):
                error = DecodeError(f"msg_container item id {msg_id:#x} is more than "
                                    f"{MAX_PAST_SECONDS} s old (msg_id_too_old)", 0)
                self._skip(container_id, "bad_container", error, events)
                return
        received_set = self._received_set
        for msg_id, seq_no, inner in items:
            if seq_no & 1:
                self._queue_ack(msg_id)  # again if a duplicate: the server wants to hear it
            if msg_id in received_set:
                self._skip(msg_id, "duplicate", None, events)
                continue
            self._remember_received(msg_id)
            if _u32_at(inner, 0) == RPC_RESULT_ID:  # most items: straight to their handler
                self._on_rpc_result(msg_id, inner, events, inflated)
            else:
                self._client_body(msg_id, inner, events, False, inflated)

    def _too_old_item(self, msg_id: int, body: bytes) -> bool:
        """The time check of `receive_opened` for a message in a container (in C doubles in the
        compiled build)."""
        now = self._last_now
        offset = self.time_offset
        age = now + offset - (msg_id >> 32)
        return age > MAX_PAST_SECONDS and not self._only_notifications_about_ours(msg_id, body)

    def _on_rpc_result(self, msg_id: int, body: bytes, events: list[Event],
                       inflated: bool) -> None:
        """`inflated`: the rpc_result came out of a gzip_packed, so its result may not be one."""
        if len(body) < 16:
            self._skip(msg_id, "decode_error", DecodeError("rpc_result truncated", 0), events)
            return
        req_msg_id = _i64_at(body, 4)
        result_id = _u32_at(body, 12)
        pending = self._sent.get(req_msg_id)
        if pending is None:
            self._skip(msg_id, "unmatched_answer", None, events)
            return
        self._finish(pending)
        data = body[12:]
        try:
            if result_id == GZIP_PACKED_ID:  # the result (or an rpc_error) inflated here
                if inflated:
                    raise _nested_gzip_error()
                data = self._inflate(data)
                result_id = _u32_at(data, 0)
            if result_id == RPC_ERROR_ID:
                error = self._decode(data, self._rpc_error_spec)
                events.append(RpcFailed(pending, RPCError.from_message(
                    error.error_code, error.error_message, pending.request), msg_id))
                return
            # The codec inflates nothing inside the result (see _decode_known).
            result = self._decode(data, pending.result_spec, max_inflated=0)
        except DecodeError as exc:
            self.skipped["decode_error"] += 1
            logger.info("client session: the answer to %r is damaged: %s", pending, exc)
            events.append(RpcFailed(pending, exc, msg_id))
            return
        events.append(RpcResult(pending, result, msg_id))

    def _finish(self, pending: PendingRequest) -> None:
        """Answered, failed or cancelled: out of the queue and of the pending table."""
        if pending.state == "queued":  # e.g. requeued, then answered under an old msg_id
            try:
                self._queue.remove(pending)
            except ValueError:
                pass
        pending.state = "done"
        sent = self._sent
        msg_id = pending.msg_id
        if msg_id is not None and sent.get(msg_id) is pending:
            del sent[msg_id]
        for old in pending.old_msg_ids:
            if sent.get(old) is pending:
                del sent[old]

    def _sent_items(self, msg_id: int) -> list[tuple[int, _Item]] | None:
        """What we sent under `msg_id` (a message or a container), or None if it is not ours."""
        sent = self._sent
        pending = sent.get(msg_id)
        if pending is not None:
            return [(msg_id, pending)]
        record = self._sent_other.get(msg_id)
        if record is None:
            return None
        request_ids, others = record
        # The requests not answered (nor resent) yet; the others as they were.
        return others + [(request_id, sent[request_id]) for request_id in request_ids
                         if request_id in sent]

    def _unanswered(self) -> list[PendingRequest]:
        return [p for msg_id, p in self._sent.items() if p.msg_id == msg_id and p.state == "sent"]

    def _resend_sent(self, bad_msg_id: int, items: list[tuple[int, _Item]], reason: str,
                     code: int, events: list[Event]) -> None:
        """`_resend` what went out under `bad_msg_id` (`items`, from `_sent_items`). Its
        messages other than requests go back in the queue this once: its record keeps only the
        requests (resent only while they still wait under their ids there), so a repeated
        notification about the same id queues nothing twice."""
        record = self._sent_other.get(bad_msg_id)
        if record is not None:
            self._sent_other[bad_msg_id] = (record[0], [])
        self._resend(items, reason, code, events)

    def _resend(self, items: list[tuple[int, _Item]], reason: str, code: int,
                events: list[Event]) -> None:
        """Put what went out under a rejected msg_id back in the queue."""
        requests = []
        for msg_id, item in items:
            if type(item) is PendingRequest:
                if item.msg_id != msg_id or self._sent.get(msg_id) is not item:
                    continue  # answered, cancelled or already resent
                del self._sent[msg_id]  # rejected: no answer will come under this id
                if item.state != "sent":
                    continue  # already waiting in the queue (requeue_unanswered)
                item.resends += 1
                if item.resends > self.max_resends:
                    self._finish(item)
                    events.append(RpcFailed(item, BadMessageError(code, msg_id)))
                    continue
                item.state = "queued"
                self._queue.append(item)
                requests.append(item)
            elif item.ack_ids is not None:
                for acked in item.ack_ids:
                    self._queue_ack(acked)
            else:
                self._queue.append(item)
        if requests:
            events.append(RequestsResent(tuple(requests), reason))

    def _fail(self, items: list[tuple[int, _Item]], code: int, events: list[Event]) -> None:
        for msg_id, item in items:
            if type(item) is PendingRequest and item.msg_id == msg_id and item.state == "sent":
                self._finish(item)
                events.append(RpcFailed(item, BadMessageError(code, msg_id)))

    def _reset_session(self, reason: str, events: list[Event]) -> None:
        old = self._session_id
        assert old is not None  # a client always has one
        self._session_id = int.from_bytes(self._random_bytes(8), "little", signed=True)
        self._content_count = 0
        self._forget_received()
        # Acks and service messages belong to the old session; messages of one session must
        # never be sent in another.
        self._pending_acks.clear()
        self._acks_since = None
        self._force_acks = False
        requests_queued = [item for item in self._queue if type(item) is PendingRequest]
        self._queue.clear()
        self._queue.extend(requests_queued)
        self._sent_other.clear()
        # Answers to the old session's ids can no longer arrive (they would fail the
        # session_id check), so every unanswered request goes out again in the new one.
        requests = self._unanswered()
        self._sent.clear()
        for pending in requests:
            pending.old_msg_ids = ()
            pending.state = "queued"
            self._queue.append(pending)
        logger.info("client session: new session %#x (%s)", self._session_id & (2**64 - 1), reason)
        events.append(SessionReset(old, self._session_id, reason))
        if requests:
            events.append(RequestsResent(tuple(requests), reason))

    def _change_salt(self, salt: int, events: list[Event]) -> None:
        old = self._salt
        self.server_salt = salt
        if self._salt != old:
            events.append(ServerSaltChanged(old, self._salt))

    def _on_pong(self, msg_id: int, pong: Any, events: list[Event]) -> None:
        pending = self._sent.get(pong.msg_id)
        if pending is None or type(pending.request).CONSTRUCTOR_ID not in (
            PING_ID, PING_DELAY_DISCONNECT_ID
        ):
            self._skip(msg_id, "unmatched_answer", None, events)
            return
        self._finish(pending)
        events.append(RpcResult(pending, pong, msg_id))

    def _on_future_salts(self, msg_id: int, salts: Any, events: list[Event]) -> None:
        pending = self._sent.get(salts.req_msg_id)
        if pending is None or type(pending.request).CONSTRUCTOR_ID != GET_FUTURE_SALTS_ID:
            self._skip(msg_id, "unmatched_answer", None, events)
            return
        self._finish(pending)
        self.future_salts = list(salts.salts)
        events.append(RpcResult(pending, salts, msg_id))

    def _on_destroy_session(self, msg_id: int, answer: Any, events: list[Event]) -> None:
        for pending in self._unanswered():
            request = pending.request
            if (type(request).CONSTRUCTOR_ID == DESTROY_SESSION_ID
                    and _signed64(request.session_id, "session_id") == answer.session_id):
                self._finish(pending)
                events.append(RpcResult(pending, answer, msg_id))
                return
        events.append(ServiceMessage(msg_id, answer))

    def _on_bad_server_salt(self, msg_id: int, notice: Any, events: list[Event]) -> None:
        items = self._sent_items(notice.bad_msg_id)
        if items is None:
            self._skip(msg_id, "unmatched_answer", None, events)
            return
        self._change_salt(notice.new_server_salt, events)
        self._resend_sent(notice.bad_msg_id, items, "bad_server_salt", notice.error_code, events)

    def _on_bad_msg_notification(self, msg_id: int, notice: Any, events: list[Event]) -> None:
        items = self._sent_items(notice.bad_msg_id)
        if items is None:
            self._skip(msg_id, "unmatched_answer", None, events)
            return
        code = notice.error_code
        reason = f"bad_msg_notification {code}"
        logger.info("client session: %s for %#x", reason, notice.bad_msg_id)
        if code in (16, 17):
            server_time = (msg_id >> 32) + (msg_id & 0xFFFFFFFF) / _TWO_32
            if not 0 < server_time < MAX_CLOCK_SECONDS:
                # A clock our msg_ids cannot carry: the message cannot be sent at any time the
                # server would take.
                self._fail(items, code, events)
                return
            old = self.time_offset
            self.time_offset = server_time - self._now()
            if code == 17:
                # Our ids ran ahead of the server's clock: let the next ones go back down.
                self._last_msg_id = 0
            events.append(TimeOffsetChanged(old, self.time_offset))
            self._resend_sent(notice.bad_msg_id, items, reason, code, events)
        elif code in (20, 48):
            self._resend_sent(notice.bad_msg_id, items, reason, code, events)
        elif code in (32, 33):
            self._reset_session(reason, events)
        else:
            self._fail(items, code, events)

    def _on_new_session_created(self, msg_id: int, notice: Any, events: list[Event]) -> None:
        self._change_salt(notice.server_salt, events)
        events.append(NewSessionCreated(msg_id, notice.first_msg_id, notice.unique_id,
                                        notice.server_salt))
        # The server did not see what we sent before first_msg_id (compared as tdlib does:
        # by the outer message, the container when there was one).
        first = notice.first_msg_id
        first_pending = self._sent.get(first)
        if first_pending is not None and first_pending.container_msg_id is not None:
            first = first_pending.container_msg_id
        lost = []
        for sent_id, pending in self._sent.items():
            outer = sent_id if pending.container_msg_id is None else pending.container_msg_id
            if pending.msg_id == sent_id and pending.state == "sent" and outer < first:
                lost.append((sent_id, pending))
        if lost:
            self._resend(lost, "new_session_created", 0, events)

    def _on_msgs_ack(self, msg_id: int, ack: Any, events: list[Event]) -> None:
        if self._is_client:
            for acked in ack.msg_ids:
                pending = self._sent.get(acked)
                if pending is not None:
                    pending.acked = True
        events.append(MessagesAcked(tuple(ack.msg_ids)))

    def _on_detailed_info(self, msg_id: int, info: Any, events: list[Event]) -> None:
        answer_msg_id = info.answer_msg_id
        if answer_msg_id in self._received_set:
            self._queue_ack(answer_msg_id)
        else:
            body = _long_vector_body(MSG_RESEND_REQ_ID, [answer_msg_id])
            self._queue.append(_Outgoing(body, False, False))

    # ------------------------------------------------------------------------------------------
    # Server side

    def _receive_as_server(self, salt: int, session_id: int, msg_id: int, seq_no: int,
                           body: bytes) -> list[Event]:
        if session_id != self._session_id:
            self._start_client_session(session_id)
        if msg_id & 3:
            self._notify(msg_id, seq_no, 18)
            return self._drop("msg_id_parity")
        if msg_id <= self._highest_received and self._is_replay(msg_id):
            return self._drop("msg_id_replayed")
        late = self._time_check(msg_id)
        if late is not None:
            self._notify(msg_id, seq_no, 16 if late == "msg_id_too_old" else 17)
            return self._drop(late)
        if salt != self._salt and salt != self._previous_salt:
            self._queue.append(_Outgoing(
                _BAD_SALT.pack(BAD_SERVER_SALT_ID, msg_id, seq_no, 48, self._salt), False, True
            ))
            return self._drop("server_salt")
        self._remember_received(msg_id)
        events: list[Event] = []
        if self._announce_session:
            self._announce_session = False
            unique_id = int.from_bytes(self._random_bytes(8), "little", signed=True)
            self._queue.appendleft(_Outgoing(
                _NEW_SESSION.pack(NEW_SESSION_CREATED_ID, msg_id, unique_id, self._salt),
                True, True,
            ))
            events.append(ClientSessionStarted(session_id, msg_id))
        self._inflate_budget = self._max_inflated
        if len(body) < 4:
            self._skip(msg_id, "decode_error", DecodeError("empty message body", 0), events)
            return events
        if _UINT.unpack_from(body)[0] == MSG_CONTAINER_ID:
            if seq_no & 1:
                self._notify(msg_id, seq_no, 34)
                return events
            try:
                items = _parse_container(msg_id, body)
            except DecodeError as exc:
                self._notify(msg_id, seq_no, 64)
                self._skip(msg_id, "bad_container", exc, events)
                return events
            received_set = self._received_set
            for inner_id, inner_seq_no, inner in items:
                if inner_id & 3:
                    self._notify(inner_id, inner_seq_no, 18)
                    continue
                if inner_id in received_set:
                    self._skip(inner_id, "duplicate", None, events)
                    continue
                self._remember_received(inner_id)
                self._server_message(inner_id, inner_seq_no, inner, events)
        else:
            self._server_message(msg_id, seq_no, body, events)
        return events

    def _start_client_session(self, session_id: int) -> None:
        """A session_id we have not served: its own seq_no, window, acks and queue."""
        if self._session_id is not None:
            logger.info("server session: client moved to session %#x", session_id & (2**64 - 1))
            # What was queued belongs to the old session (answers to its requests).
            self._queue.clear()
        self._session_id = session_id
        self._announce_session = True
        self._content_count = 0
        self._forget_received()
        self._pending_acks.clear()
        self._acks_since = None

    def _notify(self, bad_msg_id: int, bad_seq_no: int, code: int) -> None:
        logger.info("server session: bad_msg_notification %d for %#x", code, bad_msg_id)
        self._queue.append(_Outgoing(
            _BAD_MSG.pack(BAD_MSG_NOTIFICATION_ID, bad_msg_id, bad_seq_no, code), False, True
        ))

    def _server_message(self, msg_id: int, seq_no: int, body: bytes, events: list[Event]) -> None:
        constructor_id = _UINT.unpack_from(body)[0]
        if constructor_id == GZIP_PACKED_ID:
            try:
                body = self._inflate(body)
                constructor_id = _UINT.unpack_from(body)[0]
                if constructor_id == GZIP_PACKED_ID:
                    raise _nested_gzip_error()
            except DecodeError as exc:
                if seq_no & 1:
                    self._queue_ack(msg_id)
                self._skip(msg_id, "decode_error", exc, events)
                return
        plan = self._registry.plan_for_id(constructor_id)
        if plan is None:
            # Acknowledged if content-related, then skipped as "unknown_constructor".
            if seq_no & 1:
                self._queue_ack(msg_id)
            self._decode_body(msg_id, body, events)
            return
        is_function = plan.is_function
        # seq_no parity must match the content (PROTOCOL.md 3.5; codes 34/35).
        if seq_no & 1:
            if constructor_id in _NOT_CONTENT_RELATED_IDS:
                self._notify(msg_id, seq_no, 34)
                return
            self._queue_ack(msg_id)
        elif is_function:
            self._notify(msg_id, seq_no, 35)
            return
        obj = self._decode_known(msg_id, body, events)
        if obj is None:
            return
        handler = self._handlers.get(constructor_id)
        if handler is not None:
            handler(msg_id, obj, events)
        elif is_function:
            events.append(RequestReceived(msg_id, obj))
        elif constructor_id in _PASSTHROUGH_IDS:
            events.append(ServiceMessage(msg_id, obj))
        else:
            self._skip(msg_id, "unexpected_object", None, events)

    def _on_ping(self, msg_id: int, ping: Any, events: list[Event]) -> None:
        # The pong answers (and so acknowledges) the ping; it is a message of its own, not an
        # rpc_result, and not content-related (PROTOCOL.md 3.6).
        self._pending_acks.pop(msg_id, None)
        self._queue.append(_Outgoing(_PONG.pack(PONG_ID, msg_id, ping.ping_id), False, True))
        events.append(PingReceived(msg_id, ping.ping_id, getattr(ping, "disconnect_delay", None)))

    def _on_get_future_salts(self, msg_id: int, request: Any, events: list[Event]) -> None:
        self._pending_acks.pop(msg_id, None)
        now = int(self._last_now + self.time_offset)
        # One future_salt: the current one (a test data centre does not rotate salts by itself).
        body = _FUTURE_SALTS_HEAD.pack(FUTURE_SALTS_ID, msg_id, now, 1) + _FUTURE_SALT.pack(
            now, now + 1800, self._salt
        )
        # Like pong, an answer of its own rather than an rpc_result (PROTOCOL.md 3.6).
        self._queue.append(_Outgoing(body, False, True))


# ----------------------------------------------------------------------------------------------
# The compiled build of this file (setup.py: this source with the C types of _session_c.pxd)

if __name__ == "tlcodec.mtproto.session":  # the plain module, not the compiled build itself
    adopt_compiled_build(globals(), "session", __all__)
