# cython: annotation_typing=False, wraparound=False
# (Compiled as tlcodec.client._plumbing_c with the C types of _plumbing_c.pxd, as connection.py is.)
"""The loop and timer plumbing of the calls in flight on a DC connection: a `Call`, the `Reply`
an `invoke()` awaits on a stock loop, the `Wakeups` that run the replies' callbacks of one socket
read together, and the `Deadlines` that time calls out with one timer per slot, not per call.

None of it knows MTProto: `calls.DcCalls` decides what a call is sent as and when it ends.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable
from typing import Any

from ..mtproto.client_session import PendingRequest

__all__ = ["DEADLINE_SLOT", "Call", "Deadlines", "Reply", "Wakeups"]

DEADLINE_SLOT = 1 / 32  # seconds: the granularity of call timeouts (see `Deadlines`)
_PENDING, _FINISHED, _FAILED, _CANCELLED = 0, 1, 2, 3  # the states of a `Reply`


class Call:
    """One `invoke()` in flight: its future, its `PendingRequest` in the current session
    (None while it waits for a connection), and its slot in `Deadlines` (None: no timeout)."""

    __slots__ = ("request", "future", "pending", "slot")

    def __init__(self, request: Any, future: asyncio.Future[Any] | Reply) -> None:
        self.request = request
        self.future = future
        self.pending: PendingRequest | None = None
        self.slot: int | None = None


class Reply:
    """What an `invoke()` awaits on a stock asyncio loop: a future for one answer.

    An `asyncio.Future` wakes its task through `loop.call_soon`: a Python-level Handle for every
    answer, a tenth of the client's work per pipelined call. A `Reply` hands its done
    callbacks to its connection's `Wakeups` instead, which runs those of every answer that came
    in one read of the socket from one loop callback. Otherwise it behaves as a Future: asyncio's
    Task awaits and cancels any object with `_asyncio_future_blocking`, `get_loop()`,
    `add_done_callback()` and `result()` (the protocol `asyncio.isfuture` recognises), and the
    connection sets it as it would a Future.
    """

    __slots__ = ("_wakeups", "_state", "_value", "_callbacks", "_asyncio_future_blocking")

    def __init__(self, wakeups: Wakeups) -> None:
        self._wakeups = wakeups  # and through it, the loop
        self._state = _PENDING
        self._value: Any = None  # the result, the exception, or the cancel message
        self._callbacks: list[tuple[Callable[[Any], None], contextvars.Context]] | None = None
        self._asyncio_future_blocking = False

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._wakeups._loop

    def done(self) -> bool:
        return self._state != _PENDING

    def cancelled(self) -> bool:
        return self._state == _CANCELLED

    def result(self) -> Any:
        if self._state == _FINISHED:
            return self._value
        raise self._error()

    def exception(self) -> BaseException | None:
        if self._state == _FINISHED:
            return None
        if self._state == _FAILED:
            return self._value  # type: ignore[no-any-return]
        raise self._error()

    def _error(self) -> BaseException:
        """What result() raises when there is no result."""
        if self._state == _FAILED:
            return self._value  # type: ignore[no-any-return]
        if self._state == _CANCELLED:
            return asyncio.CancelledError() if self._value is None else asyncio.CancelledError(
                self._value)
        return asyncio.InvalidStateError("the result is not set yet")

    def add_done_callback(self, callback: Callable[[Any], None], *,
                          context: contextvars.Context | None = None) -> None:
        if context is None:
            context = contextvars.copy_context()
        if self._state != _PENDING:
            self._wakeups._loop.call_soon(callback, self, context=context)
        elif self._callbacks is None:
            self._callbacks = [(callback, context)]
        else:
            self._callbacks.append((callback, context))

    def remove_done_callback(self, callback: Callable[[Any], None]) -> int:
        if self._callbacks is None:
            return 0
        kept = [entry for entry in self._callbacks if entry[0] != callback]
        removed = len(self._callbacks) - len(kept)
        self._callbacks = kept or None
        return removed

    def set_result(self, result: Any) -> None:
        self._settle(_FINISHED, result)

    def set_exception(self, exception: BaseException) -> None:
        if not isinstance(exception, BaseException):
            raise TypeError(f"{exception!r} is not an exception instance")
        self._settle(_FAILED, exception)

    def cancel(self, msg: Any = None) -> bool:
        if self._state != _PENDING:
            return False
        self._settle(_CANCELLED, msg)
        return True

    def _settle(self, state: int, value: Any) -> None:
        if self._state != _PENDING:
            raise asyncio.InvalidStateError("the reply is already settled")
        self._state = state
        self._value = value
        callbacks = self._callbacks
        if callbacks is not None:
            self._callbacks = None
            self._wakeups.schedule(self, callbacks)

    def __await__(self) -> Any:
        if self._state == _PENDING:
            self._asyncio_future_blocking = True
            yield self  # to the task, which calls back add_done_callback
        if self._state == _FINISHED:
            return self._value
        raise self._error()

    __iter__ = __await__


class Wakeups:
    """The done callbacks of the `Reply`s settled since the loop last ran them, run together
    by one loop callback (as the loop would run them, each in its context, an error in one
    reported to the loop's exception handler)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due: list[tuple[Callable[[Any], None], contextvars.Context, Reply]] = []

    def schedule(self, reply: Reply,
                 callbacks: list[tuple[Callable[[Any], None], contextvars.Context]]) -> None:
        if not self._due:
            self._loop.call_soon(self._run)
        for callback, context in callbacks:
            self._due.append((callback, context, reply))

    def _run(self) -> None:
        due = self._due
        self._due = []
        for index, (callback, context, reply) in enumerate(due):
            try:
                context.run(callback, reply)
            except (SystemExit, KeyboardInterrupt):
                rest = due[index + 1 :]  # still run, if the loop goes on
                if rest:
                    if not self._due:
                        self._loop.call_soon(self._run)
                    self._due[:0] = rest
                raise
            except BaseException as exc:  # noqa: BLE001 - as the loop treats a callback's error
                self._loop.call_exception_handler({
                    "message": f"Exception in callback {callback!r}",
                    "exception": exc,
                    "future": reply,
                })


class Deadlines:
    """The timeouts of the calls in flight, grouped in slots of `DEADLINE_SLOT` seconds: one
    event-loop timer per slot that holds calls rather than one per call, because arming and
    cancelling a timer per call was a tenth of a pipelined round trip. A call times out at most
    one slot late, never early."""

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 expire: Callable[[Call, float], None]) -> None:
        self._loop = loop
        # A stock loop's time() is time.monotonic() behind a Python method: one clock reading
        # per call is cheaper straight from the clock (other loops keep their own method).
        self._clock = (time.monotonic if type(loop).time is asyncio.BaseEventLoop.time
                       else loop.time)
        self._expire = expire
        self._slots: dict[int, dict[Call, float]] = {}  # slot -> calls (and their timeouts)
        self._timers: dict[int, asyncio.TimerHandle] = {}

    def add(self, call: Call, timeout: float) -> None:
        now = self._clock()
        slot = -int(-(now + timeout) // DEADLINE_SLOT)  # the deadline, rounded up
        calls = self._slots.get(slot)
        if calls is None:
            calls = self._slots[slot] = {}
            self._timers[slot] = self._loop.call_at(slot * DEADLINE_SLOT, self._slot_due, slot)
        calls[call] = timeout
        call.slot = slot

    def discard(self, call: Call) -> None:
        calls = self._slots.get(call.slot)  # type: ignore[arg-type]
        if calls is not None:
            calls.pop(call, None)  # an empty slot stays until its timer fires: no cancel
        call.slot = None

    def _slot_due(self, slot: int) -> None:
        del self._timers[slot]
        calls = self._slots.pop(slot)
        for call, timeout in calls.items():
            call.slot = None
            self._expire(call, timeout)

    def cancel(self) -> None:
        """Disarm every timer (the connection is closing); the calls fail by other means."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._slots.clear()
