# cython: annotation_typing=False, wraparound=False
# (Compiled as tlcodec.client._calls_c with the C types of _calls_c.pxd, as connection.py is.)
"""The calls on one DC connection: what `invoke()` sends, which answer ends which call, and
what the session's other events mean for the connection.

`DcCalls` is the base of `connection.DcConnection`, which owns the socket and its lifecycle
(connect, auth key, reconnect, close) and tells these calls when a session can take them. Kept
apart so that the per-call path reads on its own, and the reconnect policy does too.

- A call is a `Call` keyed by its `PendingRequest` (the request's identity across resends; its
  msg_id changes) and returns exactly once: the result, the typed error from the session
  (`RPCError` subclasses, `BadMessageError`, `DecodeError`), `CallTimeoutError`, or whatever the
  lifecycle fails it with (`ClientClosedError`, a fatal `TransportError`).
- Calls made in one event-loop turn leave together in one `msg_container` (one flush per turn);
  when many are made in one turn, every `FLUSH_BATCH` of them go out at once, so that the DC
  works on the first while the rest are being made.
- A call made while no session can take it waits (`_waiting`) and goes out after the next
  connection's init call.
- A request is a function object of the connection's schema (`settings.schema`), wrapped
  queries included; anything else is a `TypeError` from `invoke()` before it is queued
  (`request_error`): an object of another schema would be encoded, but its answer decoded
  against classes that are not its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..bundled import schema as _bundled_schema
from ..errors import CallTimeoutError, SecurityError
from ..mtproto.events import (
    MessageDropped,
    NewSessionCreated,
    RpcFailed,
    RpcResult,
    ServerSaltChanged,
    TimeOffsetChanged,
    Update,
)
from ..mtproto.client_session import ClientSession, PendingRequest
from ..mtproto.transports import Transport
from . import _plumbing

if TYPE_CHECKING:
    from typing import TypeVar

    from .. import TLRequest

    _Result = TypeVar("_Result")

__all__ = ["FLUSH_BATCH", "DcCalls", "consume_result", "request_error"]

logger = logging.getLogger("tlcodec.client")

FLUSH_BATCH = 32  # calls queued in one event-loop turn that go out at once (see `invoke`)


class DcCalls:
    """The calls in flight on one DC, and the session traffic that carries them (see the module
    doc). The subclass owns the connection: it sets `_session`, `_tcp`, `_framing`,
    `_in_session` and `_ready`, and implements `_refusal` and `_abort`."""

    def __init__(self, dc_id: int, settings: Any,
                 on_update: Callable[[int, Any], None] | None,
                 on_session_state: Callable[[int, int, float], None] | None) -> None:
        self.dc_id = dc_id
        self.settings = settings
        schema = getattr(settings, "schema", None)
        self._schema = _bundled_schema if schema is None else schema
        self._registry = self._schema.registry  # which plans are the schema's (`invoke`)
        self._on_update = on_update
        self._on_session_state = on_session_state
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeups: _plumbing.Wakeups | None = None  # None: invoke() uses the loop's futures
        self._deadlines: _plumbing.Deadlines | None = None
        self._session: ClientSession | None = None
        self._calls: dict[PendingRequest, _plumbing.Call] = {}
        self._waiting: list[_plumbing.Call] = []  # calls made while no session could take them
        self._tcp: asyncio.Transport | None = None
        self._framing: Transport | None = None
        self._in_session = False  # payloads go to the session (else to the handshake)
        self._ready = False  # the current connection's init call was answered
        self._closed = False
        self._broken: BaseException | None = None  # a fatal error: every call fails with it
        self._answered = False  # whether the current connection answered a call yet
        self._flush_handle: asyncio.Handle | None = None
        self._unflushed = 0  # calls queued since the last flush
        self._ack_timer: asyncio.TimerHandle | None = None

    @property
    def in_flight(self) -> int:
        """Calls not answered yet (sent or waiting)."""
        return len(self._calls) + len(self._waiting)

    def _bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # On a stock loop, invoke() awaits a `Reply` (its wakeups are batched); a loop with
        # futures of its own (create_future overridden) keeps them.
        if type(loop).create_future is asyncio.BaseEventLoop.create_future:
            self._wakeups = _plumbing.Wakeups(loop)
        self._deadlines = _plumbing.Deadlines(loop, self._call_timed_out)

    def _cancel_timers(self) -> None:
        """Disarm the flush, the ack timer and every call's timeout (the connection closes)."""
        for handle in (self._flush_handle, self._ack_timer):
            if handle is not None:
                handle.cancel()
        self._flush_handle = self._ack_timer = None
        if self._deadlines is not None:
            self._deadlines.cancel()

    # ------------------------------------------------------------------------------------------
    # What the subclass decides

    def _refusal(self) -> BaseException:
        """Why a call cannot be made now (closed, broken, not started)."""
        raise NotImplementedError

    def _abort(self, reason: BaseException) -> None:
        """Close the socket now, for `reason`."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------
    # Calls

    async def invoke(self, request: TLRequest[_Result], timeout: float | None = None) -> _Result:
        """Send one RPC call and return its result (see the module doc for the errors)."""
        if self._broken is not None or self._closed or self._loop is None:
            raise self._refusal()
        # The one check per call: a plan of this schema with a fixed result type; anything
        # else (a generic wrapper, another schema's object, not a call) is looked at closely.
        plan = getattr(type(request), "__tl_plan__", None)
        if plan is None or plan.registry is not self._registry or plan.result is None:
            error = request_error(request, self._schema)
            if error is not None:
                raise error
        call = self._awaited_call(request)
        if self._in_session and self._ready:
            self._send_call(call)
            # Many calls made in one turn go out in containers of FLUSH_BATCH as they come,
            # not all at the end of the turn: the DC starts on the first ones while the rest
            # are being made (on two cores, client and server then work at the same time).
            self._unflushed += 1
            if self._unflushed >= FLUSH_BATCH:
                self._flush()
            else:
                self._schedule_flush()
        else:
            self._waiting.append(call)
        if timeout is None:
            timeout = self.settings.request_timeout
        assert self._deadlines is not None
        if timeout is not None:
            self._deadlines.add(call, timeout)
        try:
            return await call.future
        except asyncio.CancelledError:
            self._forget_call(call)  # the caller gave up: a late answer is skipped
            raise
        finally:
            if call.slot is not None:
                self._deadlines.discard(call)

    def _awaited_call(self, request: Any) -> _plumbing.Call:
        """A call its caller awaits: on a stock loop it awaits a `Reply`, else a loop future.
        (A method, not inline in `invoke`, so that the compiled build knows the call's C type:
        Cython infers it from a method's declared result, not from `module.Class(...)`.)"""
        wakeups = self._wakeups
        assert self._loop is not None
        return _plumbing.Call(request, _plumbing.Reply(wakeups) if wakeups is not None
                              else self._loop.create_future())

    def _call_timed_out(self, call: _plumbing.Call, timeout: float) -> None:
        if call.future.done():
            return
        call.future.set_exception(CallTimeoutError(
            f"{type(call.request).TL_NAME} got no answer from DC {self.dc_id} within {timeout} s"))
        self._forget_call(call)

    def _new_call(self, request: Any) -> _plumbing.Call:
        """A call the connection makes itself (init, ping): a loop future nobody awaits."""
        assert self._loop is not None
        call = _plumbing.Call(request, self._loop.create_future())
        call.future.add_done_callback(consume_result)
        return call

    def _send_call(self, call: _plumbing.Call) -> None:
        assert self._session is not None
        call.pending = self._session.send(call.request)
        self._calls[call.pending] = call

    def _send_waiting(self) -> None:
        """The calls that waited for a session go out in it (flushed by the caller)."""
        waiting, self._waiting = self._waiting, []
        for call in waiting:
            if not call.future.done():
                self._send_call(call)

    def _forget_call(self, call: _plumbing.Call) -> None:
        """A call given up (timeout, cancellation): a late answer is then skipped; its future
        is cancelled unless it is already done."""
        if call.pending is not None:
            self._calls.pop(call.pending, None)
            if self._session is not None:
                self._session.cancel(call.pending)
            call.pending = None
        else:
            try:
                self._waiting.remove(call)
            except ValueError:
                pass
        if not call.future.done():
            call.future.cancel()

    def _fail_all(self, make_error: Callable[[], BaseException]) -> None:
        """Every call in flight fails, each with its own exception object (an exception raised
        in several tasks would collect all their tracebacks)."""
        calls = list(self._calls.values()) + self._waiting
        self._calls.clear()
        self._waiting = []
        for call in calls:
            if call.pending is not None and self._session is not None:
                self._session.cancel(call.pending)  # the session keeps no failed call either
                call.pending = None
            if not call.future.done():
                call.future.set_exception(make_error())

    def _take_calls_from_session(self) -> None:
        """The session is about to be replaced (a new key): its calls wait, ahead of the others,
        to be sent again in the new one."""
        carried = list(self._calls.values())
        if self._session is not None:
            for call in carried:
                assert call.pending is not None
                self._session.cancel(call.pending)
                call.pending = None
        self._calls.clear()
        self._waiting[:0] = carried

    def _take_back_unwritten_calls(self) -> None:
        """The connection was lost: calls queued but never written go back to waiting, so that
        on the next connection they follow its init call."""
        session = self._session
        assert session is not None
        for pending, call in list(self._calls.items()):
            if pending.state == "queued":
                del self._calls[pending]
                session.cancel(pending)
                call.pending = None
                self._waiting.append(call)

    # ------------------------------------------------------------------------------------------
    # Session traffic

    def _write(self, payload: bytes) -> None:
        assert self._framing is not None and self._tcp is not None
        self._tcp.write(self._framing.pack(payload))

    def _schedule_flush(self) -> None:
        if self._flush_handle is None and self._loop is not None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Send everything the session has due (one write), and arm the ack timer."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()  # an early flush (see `invoke`) does the turn's work
            self._flush_handle = None
        self._unflushed = 0
        tcp, session, framing = self._tcp, self._session, self._framing
        if not self._in_session or tcp is None or tcp.is_closing():
            return
        assert session is not None and framing is not None
        frames = []
        while (payload := session.pack()) is not None:
            frames.append(framing.pack(payload))
        if frames:
            tcp.write(b"".join(frames))
        deadline = session.ack_deadline
        if deadline is not None and self._ack_timer is None and self._loop is not None:
            self._ack_timer = self._loop.call_later(max(0.0, deadline - time.time()),
                                                    self._ack_due)

    def _ack_due(self) -> None:
        self._ack_timer = None
        if self._session is not None:
            self._session.flush_acks()
        self._flush()

    def _receive(self, payloads: list[bytes]) -> None:
        """Encrypted payloads from the socket: their events, then one flush of what they made
        due (acks, answers to service messages, calls that can go now)."""
        session = self._session
        assert session is not None
        for payload in payloads:
            for event in session.receive(payload):
                if self._dispatch(event):
                    return  # the connection is being closed
        self._flush()

    def _dispatch(self, event: Any) -> bool:
        """Act on one session event; True when the connection must be closed."""
        kind = type(event)
        if kind is RpcResult:
            self._answered = True
            call = self._calls.pop(event.request, None)
            if call is not None and not call.future.done():
                call.future.set_result(event.result)
        elif kind is RpcFailed:
            self._answered = True
            call = self._calls.pop(event.request, None)
            if call is not None and not call.future.done():
                call.future.set_exception(event.error)
        elif kind is Update:
            if self._on_update is not None:
                try:
                    self._on_update(self.dc_id, event.update)
                except Exception:  # noqa: BLE001 - a handler's bug must not kill the connection
                    logger.exception("DC %d: an update handler failed", self.dc_id)
        elif kind is MessageDropped:
            self._abort(SecurityError(event.reason, "an incoming message failed a check"))
            return True
        elif kind is ServerSaltChanged or kind is TimeOffsetChanged:
            if self._on_session_state is not None and self._session is not None:
                self._on_session_state(self.dc_id, self._session.server_salt,
                                       self._session.time_offset)
        elif kind is NewSessionCreated:
            logger.info("DC %d: the server created a new session", self.dc_id)
        return False


def request_error(request: Any, schema: Any) -> TypeError | None:
    """Why `request` cannot be sent with `schema`, or None: it must be a function object of
    `schema`, and so must the query of each generic wrapper (`invokeWithLayer`,
    `invokeAfterMsg`, ...) around it, since its answer is decoded as that query's result."""
    registry = schema.registry
    while True:
        plan = getattr(type(request), "__tl_plan__", None)
        if plan is None or not plan.is_function:
            return TypeError(f"invoke() takes a TL function call (a function class of "
                             f"the client's schema), got {type(request).__name__}")
        if plan.registry is None or plan.registry.family is not registry.family:
            return TypeError(
                f"{type(request).__module__}.{type(request).__qualname__} ({plan.tl_name}) "
                f"is a class of another schema than the client's (layer {schema.layer}): "
                f"make the call with the client's schema's classes "
                f"(client.schema.get({plan.tl_name!r}))")
        if plan.result is not None:
            return None
        request = schema.wrapped_query(request)


def consume_result(future: asyncio.Future[Any]) -> None:
    """Mark a future's exception as retrieved (futures nobody awaits)."""
    if not future.cancelled():
        future.exception()
