"""Realistic full-layer traffic (tests/realistic_payloads.py) against Telethon 1.45: both
libraries build it to the same bytes, and a decoded `message` keeps no more memory than
Telethon's (issue 12), measured by tracemalloc, whose byte counts are deterministic.

The timing of the same payloads beside Telethon is in benchmarks/test_bench_layer.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from telethon.extensions import BinaryReader
from telethon.tl import types as telethon_types
from telethon.tl.functions.messages import SendMessageRequest

import tlcodec
from tlcodec import types as tlcodec_types
from tlcodec.functions.messages import SendMessage

import realistic_payloads
from support import CodecBuild

PAYLOADS = {
    "messages.messages": realistic_payloads.messages_messages,
    "updates": realistic_payloads.updates_batch,
}


def telethon_decode(data: bytes) -> Any:
    return BinaryReader(data).tgread_object()


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_realistic_payload_is_the_same_bytes_in_both_libraries(name: str) -> None:
    data = tlcodec.encode(PAYLOADS[name](tlcodec_types))
    assert bytes(PAYLOADS[name](telethon_types)) == data
    # Each side reads the bytes back to what it built: nothing was lost on either side.
    assert tlcodec.decode(data) == PAYLOADS[name](tlcodec_types)
    assert bytes(telethon_decode(data)) == data


def test_send_message_is_the_same_bytes_in_both_libraries() -> None:
    ours = realistic_payloads.send_message_request(tlcodec_types, SendMessage)
    theirs = realistic_payloads.send_message_request(telethon_types, SendMessageRequest)
    assert tlcodec.encode(ours) == bytes(theirs)
    assert len(ours.entities) == 7


def test_a_decoded_message_keeps_no_more_memory_than_telethons(tl: CodecBuild) -> None:
    history = tlcodec.encode(realistic_payloads.messages_messages(tlcodec_types))
    ours = realistic_payloads.traced_bytes_per_message(tl.decode, history, copies=3)
    theirs = realistic_payloads.traced_bytes_per_message(telethon_decode, history, copies=3)
    assert 0 < ours <= theirs, f"{ours:.0f} B per message, Telethon {theirs:.0f} B"
