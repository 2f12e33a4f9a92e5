"""The full layer's realistic traffic, tlcodec vs Telethon side by side (issue 12).

Payloads (tests/realistic_payloads.py, seeded, built alike by both libraries and checked in
conftest.py to encode to the same bytes and decode to equivalent objects):

- decode a chat history page, `messages.messages` with 100 messages (entities, photos,
  documents, link previews, replies, forwards, reactions), 20 users and 5 chats (~39 KB);
- decode an `updates` batch (~40 updates of a busy account, 8 users, 5 chats, ~11 KB);
- encode a prebuilt `messages.sendMessage` with seven entities (batches of OPS_PER_CALL), and
  build + encode it (the same builder function on both sides, given each library's classes).

Decoding a large result allocates thousands of objects, so the cyclic garbage collector runs
during the timed calls (as it does in an application): its share is in both columns. The
`gc paused` rows time the same decode with the collector disabled, to show that share. The
collector's full (generation 2) passes are rare but long (they walk every object of the
process), so the medians mostly miss them: the decode rows also record in `extra_info` the
collector's time per decode, amortized over a second of decodes (`gc.callbacks`).

Memory: the history row also records the traced bytes one decoded `message` keeps alive
(tracemalloc, tests/realistic_payloads.py::traced_bytes_per_message), for each library.
"""

from __future__ import annotations

import gc
import time
from typing import Any, Callable

import pytest

import realistic_payloads
from bench_support import (
    BUILD_ENCODE_SEND_MESSAGE,
    DECODE_ONCE,
    ENCODE,
    IMPLS,
    OPS_PER_CALL,
    warm,
)


GC_ACCOUNTING_SECONDS = 1.0


def gc_seconds_per_decode(decode: Callable[[bytes], Any], data: bytes) -> float:
    """The cyclic collector's time per `decode(data)`, amortized over about a second of
    decodes, each result dropped before the next as in the timed rounds."""
    spent = 0.0
    started = 0.0

    def on_collection(phase: str, info: dict[str, int]) -> None:
        nonlocal spent, started
        if phase == "start":
            started = time.perf_counter()
        else:
            spent += time.perf_counter() - started

    decodes = 0
    gc.callbacks.append(on_collection)
    try:
        deadline = time.perf_counter() + GC_ACCOUNTING_SECONDS
        while decodes < 20 or time.perf_counter() < deadline:
            decode(data)
            decodes += 1
    finally:
        gc.callbacks.remove(on_collection)
    return spent / decodes


@pytest.mark.benchmark(group="decode messages.messages (100 messages, 20 users, 5 chats)")
@pytest.mark.parametrize("impl", IMPLS)
def test_decode_history(benchmark: Any, impl: str, history_bytes: bytes) -> None:
    fn = DECODE_ONCE[impl]
    benchmark.extra_info["traced_bytes_per_message"] = (
        realistic_payloads.traced_bytes_per_message(fn, history_bytes))
    benchmark.extra_info["gc_seconds_per_decode"] = gc_seconds_per_decode(fn, history_bytes)
    warm(fn, history_bytes)
    history = benchmark(fn, history_bytes)
    assert len(history.messages) == realistic_payloads.HISTORY_MESSAGES


@pytest.mark.benchmark(group="decode messages.messages, gc paused")
@pytest.mark.parametrize("impl", IMPLS)
def test_decode_history_gc_paused(benchmark: Any, impl: str, history_bytes: bytes) -> None:
    fn = DECODE_ONCE[impl]
    gc.collect()
    gc.disable()
    try:
        warm(fn, history_bytes)
        history = benchmark(fn, history_bytes)
    finally:
        gc.enable()
    assert len(history.messages) == realistic_payloads.HISTORY_MESSAGES


@pytest.mark.benchmark(group="decode updates (a batch of ~40 updates)")
@pytest.mark.parametrize("impl", IMPLS)
def test_decode_updates(benchmark: Any, impl: str, updates_bytes: bytes) -> None:
    fn = DECODE_ONCE[impl]
    benchmark.extra_info["gc_seconds_per_decode"] = gc_seconds_per_decode(fn, updates_bytes)
    warm(fn, updates_bytes)
    updates = benchmark(fn, updates_bytes)
    assert len(updates.users) == 8


@pytest.mark.benchmark(group="decode updates, gc paused")
@pytest.mark.parametrize("impl", IMPLS)
def test_decode_updates_gc_paused(benchmark: Any, impl: str, updates_bytes: bytes) -> None:
    fn = DECODE_ONCE[impl]
    gc.collect()
    gc.disable()
    try:
        warm(fn, updates_bytes)
        updates = benchmark(fn, updates_bytes)
    finally:
        gc.enable()
    assert len(updates.users) == 8


@pytest.mark.benchmark(group="encode prebuilt messages.sendMessage (7 entities)")
@pytest.mark.parametrize("impl", IMPLS)
def test_encode_send_message(benchmark: Any, impl: str, send_message: Any) -> None:
    fn = ENCODE[impl]
    warm(fn, send_message[impl])
    benchmark.extra_info["ops_per_call"] = OPS_PER_CALL
    data = benchmark(fn, send_message[impl])
    assert data == bytes(send_message["telethon"])


@pytest.mark.benchmark(group="build + encode messages.sendMessage (7 entities)")
@pytest.mark.parametrize("impl", IMPLS)
def test_build_encode_send_message(benchmark: Any, impl: str, send_message: Any) -> None:
    fn = BUILD_ENCODE_SEND_MESSAGE[impl]
    build = realistic_payloads.send_message_request
    warm(fn, build)
    data = benchmark(fn, build)
    assert data == bytes(send_message["telethon"])
