"""`Reply`, the future an `invoke()` awaits on a stock loop, against `asyncio.Future`.

asyncio's own Future is the oracle: the same operations, in the same order, on a `Reply` and on
a Future must give the same answers, run the same done callbacks in the same order and context,
and end the task that awaits each the same way. (One deliberate difference: `set_exception`
takes only an exception instance, as the connection only gives those.) Runs on the build in use:
the compiled class, or the plain one with TLCODEC_NO_EXTENSIONS=1.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlcodec.client._plumbing import Reply, Wakeups

LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("LABEL", default="unset")

# One operation: (name, argument).
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add_callback"), st.integers(0, 3)),
        st.tuples(st.just("remove_callback"), st.integers(0, 3)),
        st.tuples(st.just("set_result"), st.one_of(st.none(), st.integers(), st.text(max_size=3))),
        st.tuples(st.just("set_exception"), st.sampled_from(["value", "key", "timeout"])),
        st.tuples(st.just("cancel"), st.one_of(st.none(), st.text(max_size=3))),
        st.tuples(st.just("cancel_task"), st.one_of(st.none(), st.text(max_size=3))),
        st.tuples(st.just("run_loop"), st.integers(1, 3)),
    ),
    max_size=12,
)

EXCEPTIONS = {"value": ValueError, "key": KeyError, "timeout": TimeoutError}


def _outcome(action: Any) -> tuple[Any, ...]:
    """What calling `action()` gives: its value, or the type and args of what it raises."""
    try:
        value = action()
    except BaseException as exc:  # noqa: BLE001 - the raised exception is the outcome
        if isinstance(exc, asyncio.InvalidStateError):
            return ("raises", "InvalidStateError")  # its wording differs between Futures too
        return ("raises", type(exc).__name__, exc.args)
    if isinstance(value, BaseException):  # a new object in each run: compared by content
        return ("exception object", type(value).__name__, value.args)
    return ("value", value)


def _run(kind: str, ops: list[tuple[str, Any]]) -> list[Any]:
    """Apply `ops` to a fresh future of `kind` awaited by a task; everything observed, in order."""
    loop = asyncio.new_event_loop()
    log: list[Any] = []
    try:
        future: Any = (Reply(Wakeups(loop)) if kind == "reply"
                       else loop.create_future())
        callbacks = {}
        for number in range(4):
            def callback(done: Any, number: int = number) -> None:
                log.append(("callback", number, LABEL.get(), done is future, done.done()))
            callbacks[number] = callback

        async def awaiter() -> Any:
            return await future

        task = loop.create_task(awaiter())
        loop.run_until_complete(asyncio.sleep(0))  # the task now waits on the future
        for name, argument in ops:
            if name == "add_callback":
                context = contextvars.copy_context()
                context.run(LABEL.set, f"context {argument}")
                future.add_done_callback(callbacks[argument], context=context)
                log.append(name)
            elif name == "remove_callback":
                log.append((name, future.remove_done_callback(callbacks[argument])))
            elif name == "set_result":
                log.append((name, _outcome(lambda: future.set_result(argument))))
            elif name == "set_exception":
                error = EXCEPTIONS[argument](argument)
                log.append((name, _outcome(lambda: future.set_exception(error))))
            elif name == "cancel":
                log.append((name, future.cancel(argument)))
            elif name == "cancel_task":
                log.append((name, task.cancel(argument)))
            else:
                for _ in range(argument):
                    loop.run_until_complete(asyncio.sleep(0))
            log.append(("state", future.done(), future.cancelled()))
        if not future.done():
            future.set_result("last")
        loop.run_until_complete(asyncio.wait([task]))
        log.append(("result", _outcome(future.result)))
        log.append(("exception", _outcome(future.exception)))
        log.append(("task", task.cancelled(), _outcome(task.result)))
    finally:
        loop.close()
    return log


@settings(max_examples=300, deadline=None)
@given(operations)
def test_reply_behaves_as_an_asyncio_future(ops: list[tuple[str, Any]]) -> None:
    assert _run("reply", ops) == _run("future", ops)


@pytest.mark.parametrize("ops", [
    [],
    [("set_result", 7), ("run_loop", 1)],
    [("add_callback", 1), ("add_callback", 2), ("add_callback", 1), ("remove_callback", 1),
     ("set_exception", "key"), ("run_loop", 2)],
    [("add_callback", 0), ("cancel", "why"), ("cancel", None), ("set_result", 1)],
    [("cancel_task", "stop"), ("run_loop", 1), ("add_callback", 3), ("run_loop", 1)],
    [("set_result", 1), ("add_callback", 0), ("set_exception", "value"), ("cancel_task", None)],
], ids=["unused", "result", "callbacks-and-error", "cancel-twice", "task-cancelled",
        "settled-then-more"])
def test_reply_cases_against_asyncio_future(ops: list[tuple[str, Any]]) -> None:
    # Each case also checks the run saw something (a broken _run would compare two empty logs).
    observed = _run("reply", ops)
    assert observed == _run("future", ops)
    assert observed[-1][0] == "task" and len(observed) >= 3 + len(ops)


def test_reply_is_a_future_to_asyncio() -> None:
    loop = asyncio.new_event_loop()
    try:
        reply = Reply(Wakeups(loop))
        assert asyncio.isfuture(reply) and reply.get_loop() is loop
        with pytest.raises(asyncio.InvalidStateError):
            reply.result()
        with pytest.raises(TypeError):
            reply.set_exception(ValueError)  # a class, not an instance: the one difference
        loop.call_soon(reply.set_result, "answer")
        assert loop.run_until_complete(asyncio.wait_for(reply, 5)) == "answer"
    finally:
        loop.close()


def test_wakeups_run_in_one_loop_callback_and_an_error_reaches_the_handler() -> None:
    loop = asyncio.new_event_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        wakeups = Wakeups(loop)
        replies = [Reply(wakeups) for _ in range(3)]
        ran: list[int] = []

        def broken(reply: Any) -> None:
            raise RuntimeError("a broken callback")

        def record(number: int) -> Callable[[Any], None]:
            return lambda reply: ran.append(number)

        for number, reply in enumerate(replies):
            reply.add_done_callback(record(number))
        replies[1].add_done_callback(broken)
        for reply in replies:
            reply.set_result(None)
        assert len(loop._ready) == 1  # type: ignore[attr-defined]  # one handle for all three
        loop.run_until_complete(asyncio.sleep(0))
        assert ran == [0, 1, 2]
        assert len(errors) == 1 and isinstance(errors[0]["exception"], RuntimeError)
        assert errors[0]["future"] is replies[1]
    finally:
        loop.close()


def test_wakeups_left_by_an_interrupt_still_run() -> None:
    loop = asyncio.new_event_loop()
    try:
        wakeups = Wakeups(loop)
        replies = [Reply(wakeups) for _ in range(3)]
        ran: list[int] = []

        def interrupt(reply: Any) -> None:
            raise KeyboardInterrupt

        replies[0].add_done_callback(interrupt)
        def record(number: int) -> Callable[[Any], None]:
            return lambda reply: ran.append(number)

        for number, reply in enumerate(replies[1:], 1):
            reply.add_done_callback(record(number))
        for reply in replies:
            reply.set_result(None)
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(asyncio.sleep(0))
        loop.run_until_complete(asyncio.sleep(0))
        assert ran == [1, 2]
    finally:
        loop.close()
