"""Transport framing, tlcodec vs Telethon 1.45's connection codecs, side by side.

The payload is the size of an encrypted importLoginToken message (120 bytes: auth_key_id,
msg_key, 96 encrypted bytes), plus one 1 MiB frame read in 64 KiB chunks. Telethon's codecs are
called the way its connection calls them: `encode_packet(data)` to frame, `read_packet(reader)`
to read (driven here over an in-memory reader that never suspends and hands out one slice: its
real asyncio StreamReader also gathers the socket's chunks, as our `feed` does), and for obfuscation
`AESModeCTR.encrypt` (pyaes: Telethon has no faster CTR) over the framed bytes. The sub-microsecond
rows run OPS_PER_CALL operations per timed call (see bench_support.py). Full's reader checks
seq_no, so our side rewinds its counter before each frame (one attribute store).
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from telethon.network.connection.tcpfull import FullPacketCodec
from telethon.network.connection.tcpintermediate import IntermediatePacketCodec
from telethon.network.connection.tcpobfuscated import ObfuscatedIO

from tlcodec.mtproto.transports import Full, Intermediate, Obfuscated

from bench_support import IMPLS, ONE_MIB, OPS_PER_CALL, warm

_BATCH = range(OPS_PER_CALL)
PAYLOAD = b"\x11" * 8 + bytes((i * 29 + 3) % 256 for i in range(112))  # 120 bytes
BIG = b"\x11" * 8 + bytes((i * 31 + 5) % 256 for i in range(ONE_MIB + 16))


class _Reader:
    """`readexactly` over fixed bytes, for Telethon's `read_packet`."""

    __slots__ = ("_data", "_position")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0

    async def readexactly(self, n: int) -> bytes:
        start = self._position
        self._position = start + n
        return self._data[start : start + n]


def _run(coroutine: Any) -> Any:
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("read_packet suspended")


def _batched_pack(pack: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    def run(payload: bytes) -> bytes:
        for _ in _BATCH:
            frame = pack(payload)
        return frame

    return run


def _ours_intermediate_feed() -> Callable[[bytes], list[bytes]]:
    client = Intermediate()
    feed = client.feed

    def run(frame: bytes) -> list[bytes]:
        for _ in _BATCH:
            payloads = feed(frame)
        return payloads

    return run


def _telethon_read(codec: Any) -> Callable[[bytes], bytes]:
    read_packet = codec.read_packet

    def run(frame: bytes) -> bytes:
        for _ in _BATCH:
            payload = _run(read_packet(_Reader(frame)))
        return payload

    return run


def _ours_full_feed() -> Callable[[bytes], list[bytes]]:
    client = Full()
    feed = client.feed

    def run(frame: bytes) -> list[bytes]:
        for _ in _BATCH:
            client.receive_seq_no = 0
            payloads = feed(frame)
        return payloads

    return run


def _batched(impl: str, ours: Callable[[], Any], theirs: Callable[[], Any]) -> Any:
    return ours() if impl == "tlcodec" else theirs()


@pytest.mark.benchmark(group="transport: intermediate pack (120 B)")
@pytest.mark.parametrize("impl", IMPLS)
def test_intermediate_pack(benchmark: Any, impl: str) -> None:
    fn = _batched(
        impl,
        lambda: _batched_pack(Intermediate("server").pack),
        lambda: _batched_pack(IntermediatePacketCodec(None).encode_packet),
    )
    warm(fn, PAYLOAD)
    benchmark.extra_info["ops_per_call"] = OPS_PER_CALL
    assert benchmark(fn, PAYLOAD) == len(PAYLOAD).to_bytes(4, "little") + PAYLOAD


@pytest.mark.benchmark(group="transport: intermediate read one frame (120 B)")
@pytest.mark.parametrize("impl", IMPLS)
def test_intermediate_read(benchmark: Any, impl: str) -> None:
    frame = Intermediate("server").pack(PAYLOAD)
    fn = _batched(
        impl, _ours_intermediate_feed, lambda: _telethon_read(IntermediatePacketCodec(None))
    )
    warm(fn, frame)
    benchmark.extra_info["ops_per_call"] = OPS_PER_CALL
    result = benchmark(fn, frame)
    assert (result if impl == "telethon" else result[0]) == PAYLOAD


@pytest.mark.benchmark(group="transport: full pack (120 B)")
@pytest.mark.parametrize("impl", IMPLS)
def test_full_pack(benchmark: Any, impl: str) -> None:
    fn = _batched(
        impl,
        lambda: _batched_pack(Full("server").pack),
        lambda: _batched_pack(FullPacketCodec(None).encode_packet),
    )
    warm(fn, PAYLOAD)
    benchmark.extra_info["ops_per_call"] = OPS_PER_CALL
    assert len(benchmark(fn, PAYLOAD)) == len(PAYLOAD) + 12


@pytest.mark.benchmark(group="transport: full read one frame, CRC checked (120 B)")
@pytest.mark.parametrize("impl", IMPLS)
def test_full_read(benchmark: Any, impl: str) -> None:
    frame = Full("server").pack(PAYLOAD)
    fn = _batched(impl, _ours_full_feed, lambda: _telethon_read(FullPacketCodec(None)))
    warm(fn, frame)
    benchmark.extra_info["ops_per_call"] = OPS_PER_CALL
    result = benchmark(fn, frame)
    assert (result if impl == "telethon" else result[0]) == PAYLOAD


@pytest.mark.benchmark(group="transport: obfuscated intermediate pack (120 B)")
@pytest.mark.parametrize("impl", IMPLS)
def test_obfuscated_pack(benchmark: Any, impl: str) -> None:
    if impl == "tlcodec":
        transport = Obfuscated(Intermediate())
        transport.pack(PAYLOAD)  # the init goes out once, with the first frame
        fn: Callable[[bytes], bytes] = transport.pack
    else:
        codec = IntermediatePacketCodec(None)
        encryptor = ObfuscatedIO.init_header(IntermediatePacketCodec)[1]

        def fn(payload: bytes) -> bytes:
            return encryptor.encrypt(codec.encode_packet(payload))

    warm(fn, PAYLOAD)
    assert len(benchmark(fn, PAYLOAD)) == 4 + len(PAYLOAD)


@pytest.mark.benchmark(group="transport: intermediate read 1 MiB frame in 64 KiB chunks")
@pytest.mark.parametrize("impl", IMPLS)
def test_intermediate_read_1mib(benchmark: Any, impl: str) -> None:
    frame = Intermediate("server").pack(BIG)
    if impl == "tlcodec":
        chunks = [frame[i : i + 65536] for i in range(0, len(frame), 65536)]

        def fn(_: bytes) -> bytes:
            client = Intermediate()
            for chunk in chunks:
                payloads = client.feed(chunk)
            return payloads[0]
    else:
        codec = IntermediatePacketCodec(None)

        def fn(_: bytes) -> bytes:
            return _run(codec.read_packet(_Reader(frame)))

    assert benchmark(fn, frame) == BIG
