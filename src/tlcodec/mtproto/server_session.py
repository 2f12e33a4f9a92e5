# cython: annotation_typing=False, wraparound=False
# (Compiled as tlcodec.mtproto._server_session_c: only _server_session_c.pxd gives C types.)
"""The server's end of an MTProto 2.0 encrypted session, without I/O (what the test data
centres run): the checks on a client's messages and the notifications they earn (bad salt,
bad msg_id, seq_no parity, malformed containers), pings and future salts, and the answers and
pushes the driver queues. docs/SESSION.md has the API; the shared core is session.py.
"""

from __future__ import annotations

import logging
import struct
import zlib
from typing import Any, Callable

from .. import functions, types
from . import session as core
from .._runtime import adopt_compiled_build
from ..errors import DecodeError
from .events import (
    ClientSessionStarted,
    Event,
    MessagesAcked,
    PingReceived,
    RequestReceived,
    ServiceMessage,
)
from .session import (
    _UINT,
    BAD_MSG_NOTIFICATION_ID,
    BAD_SERVER_SALT_ID,
    GZIP_PACKED_ID,
    HTTP_WAIT_ID,
    MAX_FUTURE_SECONDS,
    MAX_PAST_SECONDS,
    MSG_CONTAINER_ID,
    MSG_COPY_ID,
    MSGS_ACK_ID,
    PASSTHROUGH_IDS,
    RPC_RESULT_ID,
    _nested_gzip_error,
)

__all__ = ["ServerSession"]

logger = logging.getLogger("tlcodec.mtproto.session")

PONG_ID = types.Pong.CONSTRUCTOR_ID
FUTURE_SALTS_ID = types.FutureSalts.CONSTRUCTOR_ID
NEW_SESSION_CREATED_ID = types.NewSessionCreated.CONSTRUCTOR_ID
# Never content-related, so a client must send them with an even seq_no (code 34 otherwise).
NOT_CONTENT_RELATED_IDS = frozenset({MSGS_ACK_ID, MSG_CONTAINER_ID, MSG_COPY_ID, HTTP_WAIT_ID})

_ID_LONG = struct.Struct("<Iq")  # an rpc_result's head: constructor, req_msg_id
_PONG = struct.Struct("<Iqq")
_BAD_MSG = struct.Struct("<Iqii")
_BAD_SALT = struct.Struct("<Iqiiq")
_NEW_SESSION = struct.Struct("<Iqqq")
_FUTURE_SALTS_HEAD = struct.Struct("<Iqii")  # id, req_msg_id, now, count of the bare vector
_FUTURE_SALT = struct.Struct("<iiq")


def _gzip(data: bytes) -> bytes:
    """A gzip stream (what gzip_packed carries), at a fast compression level."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


class ServerSession(core.EncryptedSession):
    """The server's session of one auth key, serving one session of a client at a time: a new
    session_id resets it, so keeping it across connections keeps a reconnecting client's
    session (docs/SESSION.md). `session_id=None` adopts the client's."""

    ROLE = "server"
    REPLY_RESIDUE = 1
    OWN_RESIDUE = 3

    def _start_role(self) -> None:
        # Announce (new_session_created) the first accepted message of a session that this
        # object adopted rather than was told about.
        self._announce_session = False
        self._handlers: dict[int, Callable[[int, Any, list[Event]], None]] = {
            functions.Ping.CONSTRUCTOR_ID: self._on_ping,
            functions.PingDelayDisconnect.CONSTRUCTOR_ID: self._on_ping,
            functions.GetFutureSalts.CONSTRUCTOR_ID: self._on_get_future_salts,
            MSGS_ACK_ID: self._on_msgs_ack,
        }

    # ------------------------------------------------------------------------------------------
    # Outgoing: what the driver answers and pushes

    def answer(
        self, req_msg_id: int, result: Any, *, request: Any = None, gzip: bool = False
    ) -> None:
        """Queue `rpc_result(req_msg_id, result)` (gzip_packed if `gzip`).

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
            data = self._encode(types.GzipPacked(packed_data=_gzip(data)))
        self._queue_answer(req_msg_id, data)

    def answer_error(self, req_msg_id: int, code: int, message: str) -> None:
        """Queue `rpc_result(req_msg_id, rpc_error(code, message))`."""
        self._queue_answer(req_msg_id, self._encode(
            types.RpcError(error_code=code, error_message=message)))

    def push(self, update: Any) -> None:
        """Queue a message of its own (an update), content-related, msg_id 3 mod 4."""
        self._queue.append(core._Outgoing(self._encode(update), True, False))

    def _queue_answer(self, req_msg_id: int, result: bytes) -> None:
        # An rpc_result acknowledges the request it answers: no separate ack needed.
        self._pending_acks.pop(req_msg_id, None)
        self._queue.append(core._Outgoing(_ID_LONG.pack(RPC_RESULT_ID, req_msg_id) + result,
                                     True, True))

    # ------------------------------------------------------------------------------------------
    # Incoming: a client's messages

    def _receive_message(self, salt: int, session_id: int, msg_id: int, seq_no: int,
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
            self._queue.append(core._Outgoing(
                _BAD_SALT.pack(BAD_SERVER_SALT_ID, msg_id, seq_no, 48, self._salt), False, True
            ))
            return self._drop("server_salt")
        self._remember_received(msg_id)
        events: list[Event] = []
        if self._announce_session:
            self._announce_session = False
            unique_id = int.from_bytes(self._random_bytes(8), "little", signed=True)
            self._queue.appendleft(core._Outgoing(
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
                items = core._parse_container(msg_id, body)
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
        self._queue.append(core._Outgoing(
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
            if constructor_id in NOT_CONTENT_RELATED_IDS:
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
        elif constructor_id in PASSTHROUGH_IDS:
            events.append(ServiceMessage(msg_id, obj))
        else:
            self._skip(msg_id, "unexpected_object", None, events)

    def _on_ping(self, msg_id: int, ping: Any, events: list[Event]) -> None:
        # The pong answers (and so acknowledges) the ping; it is a message of its own, not an
        # rpc_result, and not content-related (PROTOCOL.md 3.6).
        self._pending_acks.pop(msg_id, None)
        self._queue.append(core._Outgoing(_PONG.pack(PONG_ID, msg_id, ping.ping_id), False, True))
        events.append(PingReceived(msg_id, ping.ping_id, getattr(ping, "disconnect_delay", None)))

    def _on_get_future_salts(self, msg_id: int, request: Any, events: list[Event]) -> None:
        self._pending_acks.pop(msg_id, None)
        now = int(self._last_now + self.time_offset)
        # One future_salt: the current one (a test data centre does not rotate salts by itself).
        body = _FUTURE_SALTS_HEAD.pack(FUTURE_SALTS_ID, msg_id, now, 1) + _FUTURE_SALT.pack(
            now, now + 1800, self._salt
        )
        # Like pong, an answer of its own rather than an rpc_result (PROTOCOL.md 3.6).
        self._queue.append(core._Outgoing(body, False, True))

    def _time_check(self, msg_id: int) -> str | None:
        now = self._last_now = self._now()
        age = now + self.time_offset - (msg_id >> 32)
        if age > MAX_PAST_SECONDS:
            return "msg_id_too_old"
        if age < -MAX_FUTURE_SECONDS:
            return "msg_id_too_new"
        return None

    def _on_msgs_ack(self, msg_id: int, ack: Any, events: list[Event]) -> None:
        events.append(MessagesAcked(tuple(ack.msg_ids)))


# ----------------------------------------------------------------------------------------------
# The compiled build of this file (setup.py: this source with the C types of
# _server_session_c.pxd)

if __name__ == "tlcodec.mtproto.server_session":  # the plain module, not the compiled build
    adopt_compiled_build(globals(), "session", __all__,
                         from_module="tlcodec.mtproto._server_session_c")
