"""The fake-TLS framing of `ee` MTProxy secrets (tlcodec.mtproto.faketls), sans-IO.

The real server is mtprotoproxy (tests/test_proxies.py logs in through it). Here: the
ClientHello checked the way an MTProxy server checks it (written out below from the protocol,
not from our code), a round trip with the server's half of the handshake done by the test, the
server's signature and record rules enforced, and hostile bytes that only ever give a
FrameError."""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlcodec.errors import FrameError
from tlcodec.mtproto.faketls import CLIENT_HELLO_SIZE, FakeTls, client_hello
from tlcodec.mtproto.transports import (
    Obfuscated,
    PaddedIntermediate,
    detect_server_transport,
)

KEY = bytes(range(16))
DOMAIN = "www.example.com"
NOW = 1_790_000_000
MESSAGE = bytes(8) + struct.pack("<qi", 0x51E57AC42770964A, 20) + bytes(20)  # a plain message


def fixed_clock() -> float:
    return float(NOW)


def server_check(hello: bytes, secret: bytes) -> int:
    """What an MTProxy server does with a ClientHello: its timestamp, or AssertionError."""
    assert len(hello) == 517
    assert hello[:11] == b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
    random = hello[11:43]
    zeroed = hello[:11] + bytes(32) + hello[43:]
    expected = hmac.new(secret, zeroed, hashlib.sha256).digest()
    xored = bytes(a ^ b for a, b in zip(random, expected))
    assert xored[:28] == bytes(28), "not signed with the secret"
    return int.from_bytes(xored[28:], "little")


def server_answer(client_random: bytes, secret: bytes, *, cert_size: int = 2500) -> bytes:
    """The server's ServerHello, ChangeCipherSpec and first application-data records, signed."""
    server_hello = (b"\x03\x03" + bytes(32) + b"\x20" + os.urandom(32) + b"\x13\x01\x00"
                    + b"\x00\x2e\x00\x33\x00\x24\x00\x1d\x00\x20" + os.urandom(32)
                    + b"\x00\x2b\x00\x02\x03\x04")
    handshake = b"\x02" + len(server_hello).to_bytes(3, "big") + server_hello
    records = (b"\x16\x03\x03" + len(handshake).to_bytes(2, "big") + handshake
               + b"\x14\x03\x03\x00\x01\x01"
               + b"\x17\x03\x03" + cert_size.to_bytes(2, "big") + os.urandom(cert_size))
    digest = hmac.new(secret, client_random + records, hashlib.sha256).digest()
    return records[:11] + digest + records[43:]


def split_records(data: bytes) -> list[tuple[int, bytes]]:
    records = []
    while data:
        length = int.from_bytes(data[3:5], "big")
        records.append((data[0], data[5:5 + length]))
        data = data[5 + length:]
    return records


def new_client(**options: object) -> FakeTls:
    inner = Obfuscated(PaddedIntermediate("client"), dc_id=2, secret=KEY)
    return FakeTls(inner, secret=KEY, domain=DOMAIN, now=fixed_clock, **options)


def test_the_client_hello_is_what_an_mtproxy_server_accepts() -> None:
    hello = client_hello(KEY, DOMAIN, now=fixed_clock)
    assert len(hello) == CLIENT_HELLO_SIZE
    assert server_check(hello, KEY) == NOW
    assert DOMAIN.encode() in hello  # the SNI
    with pytest.raises(AssertionError):
        server_check(hello, bytes(16))  # another secret does not verify it
    assert client_hello(KEY, DOMAIN)[11:43] != client_hello(KEY, DOMAIN)[11:43]  # fresh


def test_the_longest_domain_still_fits_and_a_longer_one_is_refused() -> None:
    assert len(client_hello(KEY, "a" * 180)) == CLIENT_HELLO_SIZE
    with pytest.raises(ValueError, match="too long"):
        client_hello(KEY, "a" * 400)


def test_a_round_trip_through_the_fake_tls_records() -> None:
    client = new_client()
    sent = client.pack(MESSAGE)
    hello, rest = sent[:CLIENT_HELLO_SIZE], sent[CLIENT_HELLO_SIZE:]
    assert server_check(hello, KEY) == NOW
    records = split_records(rest)
    assert records[0] == (0x14, b"\x01")  # the client's ChangeCipherSpec
    assert all(kind == 0x17 for kind, _ in records[1:])
    server = detect_server_transport(b"".join(body for _, body in records[1:]), secret=KEY)
    assert server is not None and server.feed(b"") == [MESSAGE]

    reply_message = bytes(8) + struct.pack("<qi", 0x51E57AC42770A001, 24) + os.urandom(24)
    reply = server.pack(reply_message)
    answer = server_answer(hello[11:43], KEY) + b"\x17\x03\x03" + len(reply).to_bytes(2, "big") + reply
    received = []
    for i in range(len(answer)):  # one byte at a time: records cut anywhere
        received += client.feed(answer[i:i + 1])
    assert received == [reply_message]
    # Later messages need no new hello; a large one is cut into 16 KiB records.
    big = bytes(8) + struct.pack("<qi", 0x51E57AC42770964A, 40000) + bytes(40000)
    records = split_records(client.pack(big))
    assert [kind for kind, _ in records] == [0x17, 0x17, 0x17]
    assert max(len(body) for _, body in records) == 1 << 14
    assert server.feed(b"".join(body for _, body in records)) == [big]


def test_a_server_hello_not_signed_with_the_secret_is_refused() -> None:
    client = new_client()
    hello = client.pack(MESSAGE)[:CLIENT_HELLO_SIZE]
    with pytest.raises(FrameError, match="not signed with the proxy's secret"):
        client.feed(server_answer(hello[11:43], bytes(16)))
    with pytest.raises(FrameError):  # the failure stays
        client.feed(b"")


@pytest.mark.parametrize("answer, words", [
    (b"\x15\x03\x03\x00\x02\x02\x28", "TLS alert"),
    (b"HTTP/1.1 400 Bad Request\r\n", "not a TLS record"),
    (b"\x16\x03\x01\x00\x10" + bytes(16), "version 0301"),
    (b"\x16\x03\x03\x20\x00", "at most 4096"),
    (b"\x16\x03\x03\x00\x00", "a TLS record of 0 bytes"),
    (b"\x17\x03\x03\x00\x04abcd", "type 0x17, expected 0x16"),
    (b"\x16\x03\x03\x00\x04abcd", "too short"),
])
def test_what_is_not_the_servers_handshake_is_a_frame_error(answer: bytes, words: str) -> None:
    client = new_client()
    client.pack(MESSAGE)
    with pytest.raises(FrameError, match=words):
        client.feed(answer)


def test_fake_tls_carries_only_a_clients_obfuscated_transport() -> None:
    with pytest.raises(ValueError):
        FakeTls(PaddedIntermediate("client"), secret=KEY, domain=DOMAIN)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=700), max_size=6), st.booleans())
def test_hostile_bytes_give_a_frame_error_or_nothing(chunks: list[bytes], signed: bool) -> None:
    client = new_client()
    hello = client.pack(MESSAGE)[:CLIENT_HELLO_SIZE]
    if signed:  # past a valid handshake: the garbage is in the records that follow
        assert client.feed(server_answer(hello[11:43], KEY)) == []
    try:
        for chunk in chunks:
            payloads = client.feed(chunk)
            assert all(isinstance(p, bytes) for p in payloads)
    except FrameError:
        with pytest.raises(FrameError):
            client.feed(b"")
