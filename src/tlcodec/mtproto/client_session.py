# cython: annotation_typing=False, wraparound=False
# (Compiled as tlcodec.mtproto._client_session_c: only _client_session_c.pxd gives C types.)
"""The client's end of an MTProto 2.0 encrypted session, without I/O: the calls it sends
(`PendingRequest`, from `send()` to its answer), the server's messages it accepts, and what it
does about each service message (resends, salts, time, new sessions). docs/SESSION.md has the
API and the choices; the shared core is session.py.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Callable

from .. import functions, types
from . import session as core
from .._runtime import adopt_compiled_build
from ..errors import BadMessageError, DecodeError, RPCError
from .events import (
    Event,
    MessagesAcked,
    NewSessionCreated,
    RequestsResent,
    RpcFailed,
    RpcResult,
    ServerSaltChanged,
    ServiceMessage,
    SessionReset,
    TimeOffsetChanged,
    Update,
)
from .session import (
    _LONG,
    _UINT,
    BAD_MSG_NOTIFICATION_ID,
    BAD_SERVER_SALT_ID,
    GZIP_PACKED_ID,
    MAX_CLOCK_SECONDS,
    MAX_FUTURE_SECONDS,
    MAX_PAST_SECONDS,
    MSG_CONTAINER_ID,
    MSG_RESEND_REQ_ID,
    MSGS_ACK_ID,
    PASSTHROUGH_IDS,
    RPC_ERROR_ID,
    RPC_RESULT_ID,
    _TWO_32,
    _Item,
    _long_vector_body,
    _nested_gzip_error,
)
from .wire import signed_long

__all__ = ["SERVICE_CONSTRUCTORS", "ClientSession", "PendingRequest"]

logger = logging.getLogger("tlcodec.mtproto.session")

# Containers and service messages remembered for bad_msg notifications about them. A record
# holds the msg_ids of the requests in it, not the requests: an answered one is gone from
# `_sent`, and with it every reference the session held to it (and to its body).
SENT_RECORDS = 1024
DEFAULT_MAX_RESENDS = 5

PING_IDS = (functions.Ping.CONSTRUCTOR_ID, functions.PingDelayDisconnect.CONSTRUCTOR_ID)
GET_FUTURE_SALTS_ID = functions.GetFutureSalts.CONSTRUCTOR_ID
DESTROY_SESSION_ID = functions.DestroySession.CONSTRUCTOR_ID

# The service constructors this session decodes with its schema, and the ids it dispatches
# them on: a schema given to it must have each of them, with that id (Client checks a schema
# it is given against this).
SERVICE_CONSTRUCTORS: dict[str, int] = {cls.TL_NAME: cls.CONSTRUCTOR_ID for cls in (
    types.RpcResult, types.RpcError, types.GzipPacked, types.MsgsAck, types.BadServerSalt,
    types.BadMsgNotification, types.NewSessionCreated, types.Pong, types.FutureSalts,
    types.MsgDetailedInfo, types.MsgNewDetailedInfo, types.DestroySessionOk,
    types.DestroySessionNone,
)}


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


class ClientSession(core.EncryptedSession):
    """The client's session of one auth key: `send()` calls, `pack()` payloads, `receive()` the
    server's (docs/SESSION.md). A new session_id is drawn unless one is given; `max_resends`
    (settable) is how often a request is resent before it fails."""

    ROLE = "client"

    def _start_role(self) -> None:
        if self._session_id is None:
            self._session_id = int.from_bytes(self._random_bytes(8), "little", signed=True)
        self.max_resends = DEFAULT_MAX_RESENDS  # a request resent more often fails
        self.future_salts: list[Any] = []
        self._sent: dict[int, PendingRequest] = {}  # requests by the ids they went under
        # Containers and service messages sent, by msg_id -> (the msg_ids of the requests in
        # it, the other messages with their msg_ids); see SENT_RECORDS.
        self._sent_other: OrderedDict[int, tuple[list[int], list[tuple[int, _Item]]]] = (
            OrderedDict())
        self._handlers: dict[int, Callable[[int, Any, list[Event]], None]] = {
            types.Pong.CONSTRUCTOR_ID: self._on_pong,
            types.FutureSalts.CONSTRUCTOR_ID: self._on_future_salts,
            BAD_SERVER_SALT_ID: self._on_bad_server_salt,
            BAD_MSG_NOTIFICATION_ID: self._on_bad_msg_notification,
            types.NewSessionCreated.CONSTRUCTOR_ID: self._on_new_session_created,
            MSGS_ACK_ID: self._on_msgs_ack,
            types.MsgDetailedInfo.CONSTRUCTOR_ID: self._on_detailed_info,
            types.MsgNewDetailedInfo.CONSTRUCTOR_ID: self._on_detailed_info,
            types.DestroySessionOk.CONSTRUCTOR_ID: self._on_destroy_session,
            types.DestroySessionNone.CONSTRUCTOR_ID: self._on_destroy_session,
        }

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
        try:
            is_function = type(request).__tl_plan__.is_function
        except AttributeError:
            is_function = False
        if not is_function:
            raise TypeError(f"send() takes a TL function call, got {type(request).__name__}")
        pending = PendingRequest(request, self._encode(request), self._schema)
        self._queue.append(pending)
        return pending

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
        """Move to a new session_id (seq_no from 0) and queue unanswered requests again."""
        events: list[Event] = []
        self._reset_session(reason, events)
        return events

    def _sent_alone(self, msg_id: int, seq_no: int, item: _Item) -> None:
        if type(item) is PendingRequest:
            pending = item  # a PendingRequest by type in the compiled build (the .pxd)
            pending.msg_id = msg_id
            pending.seq_no = seq_no
            pending.container_msg_id = None
            pending.state = "sent"
            self._sent[msg_id] = pending
        else:
            self._remember_sent(msg_id, [], [(msg_id, item)])

    def _sent_in_container(self, container_id: int, items: list[_Item], msg_ids: list[int],
                           seq_nos: list[int]) -> None:
        sent = self._sent
        request_ids: list[int] = []
        others: list[tuple[int, _Item]] = []
        for index in range(len(items)):
            item = items[index]
            msg_id = msg_ids[index]
            if type(item) is PendingRequest:
                pending = item  # a PendingRequest by type in the compiled build (the .pxd)
                pending.msg_id = msg_id
                pending.seq_no = seq_nos[index]
                pending.container_msg_id = container_id
                pending.state = "sent"
                sent[msg_id] = pending
                request_ids.append(msg_id)
            else:
                others.append((msg_id, item))
        self._remember_sent(container_id, request_ids, others)

    def _remember_sent(self, msg_id: int, request_ids: list[int],
                       others: list[tuple[int, _Item]]) -> None:
        records = self._sent_other
        records[msg_id] = (request_ids, others)
        if len(records) > SENT_RECORDS:
            records.popitem(last=False)

    # ------------------------------------------------------------------------------------------
    # Incoming: the server's messages

    def _receive_message(self, salt: int, session_id: int, msg_id: int, seq_no: int,
                         body: bytes) -> list[Event]:
        # The per-message path, inline: session, parity, replay, time (PROTOCOL.md 6).
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
        if len(body) < 4:
            self._skip(msg_id, "decode_error", DecodeError("empty message body", 0), events)
        else:
            self._inflate_budget = self._max_inflated
            self._client_body(msg_id, body, events, True, False)
        return events

    def _only_notifications_about_ours(self, msg_id: int, body: bytes) -> bool:
        if len(body) < 12:
            return False
        constructor_id = _UINT.unpack_from(body)[0]
        if constructor_id in (BAD_SERVER_SALT_ID, BAD_MSG_NOTIFICATION_ID):
            return self._sent_items(_LONG.unpack_from(body, 4)[0]) is not None
        if constructor_id == MSG_CONTAINER_ID:
            try:
                items = core._parse_container(msg_id, body)
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
        elif constructor_id in PASSTHROUGH_IDS:
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
            items = core._parse_container(container_id, body, True, earlier)
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
            if core._u32_at(inner, 0) == RPC_RESULT_ID:  # most items: straight to their handler
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
        req_msg_id = core._i64_at(body, 4)
        result_id = core._u32_at(body, 12)
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
                result_id = core._u32_at(data, 0)
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
        if pending is None or type(pending.request).CONSTRUCTOR_ID not in PING_IDS:
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
                    and signed_long(request.session_id, "session_id") == answer.session_id):
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
            self._queue.append(core._Outgoing(body, False, False))


# ----------------------------------------------------------------------------------------------
# The compiled build of this file (setup.py: this source with the C types of
# _client_session_c.pxd)

if __name__ == "tlcodec.mtproto.client_session":  # the plain module, not the compiled build
    adopt_compiled_build(globals(), "session", __all__,
                         from_module="tlcodec.mtproto._client_session_c")
