"""MTProto transports (tlcodec.mtproto.transports): framing, quick acks, errors, obfuscation.

Sources: PROTOCOL.md section 4 (facts), test_vectors.json "transport_framing_examples" and
"obfuscation_example" (self-computed: regression values for our own code, re-checked against
Telethon 1.45 by the vectors' authors), and Telethon 1.45's connection codecs as an independent
peer in both directions. Telethon's padded intermediate reader strips only `len % 4` bytes
(PROTOCOL.md 4.3 and 8); where it reads our padded frames the tests expect exactly that and
nothing more, and our reader never copies it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import struct
import zlib
from typing import Any, Callable, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telethon.crypto import AESModeCTR
from telethon.network.connection.tcpabridged import AbridgedPacketCodec
from telethon.network.connection.tcpfull import FullPacketCodec
from telethon.network.connection.tcpintermediate import (
    IntermediatePacketCodec,
    RandomizedIntermediatePacketCodec,
)
from telethon.network.connection.tcpobfuscated import ObfuscatedIO

from tlcodec.crypto import AesCtr
from tlcodec.mtproto.errors import FrameError, TransportError
from tlcodec.mtproto.transports import (
    DEFAULT_MAX_FRAME,
    Abridged,
    Frame,
    Full,
    Intermediate,
    Obfuscated,
    PaddedIntermediate,
    Transport,
    detect_server_transport,
)

from support import reference_vectors

# ---------------------------------------------------------------------------------------------
# Transports under test, payloads, helpers

BASES: dict[str, type[Transport]] = {
    "abridged": Abridged,
    "intermediate": Intermediate,
    "padded intermediate": PaddedIntermediate,
    "full": Full,
}
PLAIN_KINDS = list(BASES)
OBFUSCATED_KINDS = [f"obfuscated {name}" for name in BASES if name != "full"]
KINDS = PLAIN_KINDS + OBFUSCATED_KINDS
QUICK_ACK_KINDS = [kind for kind in KINDS if not kind.endswith("full")]
# Bytes a server needs before it can tell the transport (PROTOCOL.md 4.1-4.4, 4.7).
DETECTION_BYTES = {
    "abridged": 1, "intermediate": 4, "padded intermediate": 4, "full": 8,
    **{kind: 64 for kind in OBFUSCATED_KINDS},
}
# PROTOCOL.md 4.5's self-computed example token.
QUICK_ACK_TOKEN = 0x90B27A1D
TRANSPORT_CODES = [-404, -429, -444, -403]


def base_name(kind: str) -> str:
    return kind.removeprefix("obfuscated ")


def make(
    kind: str,
    role: str,
    *,
    seed: int = 0,
    padding: Callable[[int], bytes] | None = None,
    max_frame: int = DEFAULT_MAX_FRAME,
    dc_id: int | None = None,
    secret: bytes | None = None,
) -> Transport:
    """A transport of `kind`; the same seed gives a client the same obfuscation init."""
    rng = random.Random(seed)
    inner = BASES[base_name(kind)](
        role, max_frame=max_frame, random_bytes=padding or rng.randbytes  # type: ignore[arg-type]
    )
    if not kind.startswith("obfuscated"):
        return inner
    return Obfuscated(inner, dc_id=dc_id, secret=secret, random_bytes=rng.randbytes)


def unencrypted_message(body: bytes, msg_id: int = 0x51E57AC42770964A) -> bytes:
    """auth_key_id 0, msg_id, message_data_length, body (PROTOCOL.md 3.2)."""
    return bytes(8) + struct.pack("<qI", msg_id, len(body)) + body


def encrypted_message(blocks: int, seed: int = 7) -> bytes:
    """The shape of an encrypted message: auth_key_id, msg_key, 16 * blocks bytes."""
    rng = random.Random(seed)
    return b"\x11" * 8 + rng.randbytes(16) + rng.randbytes(16 * blocks)


def vectors(group: str) -> dict[str, Any]:
    data = reference_vectors(group)
    assert data["_source"].startswith("self-computed"), "regression values, not official ones"
    return data


REQ_PQ = bytes.fromhex(
    "0000000000000000D4720600503DC56514000000F18E7EBE406709F612FADFBEC3F0289D0AA67EEF"
)
FOUR_BYTES = b"\x01\x02\x03\x04"  # positive as an int32: a payload, not a transport error
# 24 (shortest encrypted), 40 (req_pq_multi), 504 (abridged: 126 words, one length byte),
# 520 (130 words: the 4-byte header), 1048 (about 1 KiB).
MESSAGES = [encrypted_message(0), REQ_PQ, encrypted_message(30), encrypted_message(31),
            encrypted_message(64)]
BIG = encrypted_message(65536)  # 1 MiB + 24


def small_payloads(kind: str) -> list[bytes]:
    # Padded intermediate carries MTProto messages only (its reader finds their end).
    return MESSAGES if base_name(kind) == "padded intermediate" else [FOUR_BYTES, *MESSAGES]


def chunked(data: bytes, size: int) -> Iterable[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


def feed_all(transport: Transport, pieces: Iterable[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for piece in pieces:
        out += transport.feed(piece)
    return out


def big_splits(stream: bytes) -> dict[str, list[bytes]]:
    """Ways to cut a 1 MiB stream without feeding it a byte at a time."""
    return {
        "whole": [stream],
        "64 KiB": list(chunked(stream, 65536)),
        "4093 B": list(chunked(stream, 4093)),
        "all but the last byte": [stream[:-1], stream[-1:]],
        "first 80 bytes one by one": [stream[i : i + 1] for i in range(80)] + [stream[80:]],
    }


class PaddingScript:
    """random_bytes for padded intermediate, which draws a count byte, then that many bytes:
    the counts come from `counts`, the padding is 0xA5 bytes so that it is recognisable."""

    def __init__(self, counts: Iterable[int]) -> None:
        self._counts = iter(counts)
        self._count_next = True

    def __call__(self, n: int) -> bytes:
        self._count_next = not self._count_next
        if not self._count_next:
            assert n == 1, f"expected the 1-byte count draw, got random_bytes({n})"
            return bytes((next(self._counts),))
        return b"\xa5" * n


# ---------------------------------------------------------------------------------------------
# Golden vectors


def test_abridged_first_packet_matches_the_framing_vector() -> None:
    group = vectors("transport_framing_examples")
    assert Abridged().pack(bytes.fromhex(group["payload"])) == bytes.fromhex(
        group["abridged_first_packet_with_tag"]
    )


def test_intermediate_first_packet_matches_the_framing_vector() -> None:
    group = vectors("transport_framing_examples")
    assert Intermediate().pack(bytes.fromhex(group["payload"])) == bytes.fromhex(
        group["intermediate_first_packet_with_tag"]
    )


def test_padded_intermediate_first_packet_matches_the_framing_vector() -> None:
    group = vectors("transport_framing_examples")
    script = iter([b"\x03", bytes.fromhex("AABBCC")])  # 3 padding bytes: AA BB CC
    transport = PaddedIntermediate(random_bytes=lambda n: next(script))
    assert transport.pack(bytes.fromhex(group["payload"])) == bytes.fromhex(
        group["padded_intermediate_first_packet_with_tag_padding_AABBCC"]
    )


def test_full_first_packet_matches_the_framing_vector_and_its_crc() -> None:
    group = vectors("transport_framing_examples")
    packet = Full().pack(bytes.fromhex(group["payload"]))
    assert packet == bytes.fromhex(group["full_seq0_packet"])
    assert struct.unpack("<I", packet[-4:])[0] == int(group["full_seq0_crc32"], 16)


def test_abridged_508_byte_payload_takes_the_long_header() -> None:
    group = vectors("transport_framing_examples")
    assert Abridged("server").pack(bytes(508))[:4] == bytes.fromhex(
        group["abridged_header_for_508_byte_payload"]
    )
    assert Abridged("server").pack(bytes(504))[:1] == b"\x7e"  # 126 words: one byte


def test_obfuscated_client_sends_the_obfuscation_vector() -> None:
    group = vectors("obfuscation_example")
    framing = vectors("transport_framing_examples")
    init = bytes.fromhex(group["init_plain"])
    client = Obfuscated(Intermediate(), dc_id=2, random_bytes=lambda n: bytes(range(64)))
    sent = client.pack(bytes.fromhex(framing["payload"]))
    assert init[:56] == bytes(range(56)) and sent[:64] == bytes.fromhex(group["init_as_sent"])
    assert sent[64:] == bytes.fromhex(group["next_bytes_sent_intermediate_req_pq_multi"])


def test_obfuscated_server_reads_the_vector_and_answers_with_the_reverse_keys() -> None:
    group = vectors("obfuscation_example")
    payload = bytes.fromhex(vectors("transport_framing_examples")["payload"])
    server = Obfuscated(Intermediate("server"))
    sent = bytes.fromhex(group["init_as_sent"] + group["next_bytes_sent_intermediate_req_pq_multi"])
    assert server.feed(sent) == [payload]
    assert server.dc_id == 2
    # The server's stream is the client's decrypt stream: key/iv from the reversed init.
    client_decrypt = AesCtr(bytes.fromhex(group["decrypt_key"]), bytes.fromhex(group["decrypt_iv"]))
    assert client_decrypt.update(server.pack(payload)) == struct.pack("<I", 40) + payload


def test_transport_error_frames_match_protocol_examples() -> None:
    # PROTOCOL.md 4.6: -404 framed by abridged and by intermediate.
    assert Abridged("server").pack_error(-404) == bytes.fromhex("016cfeffff")
    assert Intermediate("server").pack_error(-404) == bytes.fromhex("040000006cfeffff")


# ---------------------------------------------------------------------------------------------
# Round trips at every chunk size


@pytest.mark.parametrize("kind", KINDS)
def test_client_to_server_round_trip_at_every_chunk_size(kind: str) -> None:
    payloads = small_payloads(kind)
    client = make(kind, "client")
    stream = b"".join(client.pack(p) for p in payloads)
    for size in range(1, len(stream) + 1):
        server = make(kind, "server")
        assert feed_all(server, chunked(stream, size)) == payloads, f"chunk size {size}"
        assert server.buffered == 0


@pytest.mark.parametrize("kind", KINDS)
def test_server_to_client_round_trip_at_every_chunk_size(kind: str) -> None:
    payloads = small_payloads(kind)
    server = make(kind, "server", seed=5)
    assert server.feed(make(kind, "client", seed=1).pack(REQ_PQ)) == [REQ_PQ]
    stream = b"".join(server.pack(p) for p in payloads)
    for size in range(1, len(stream) + 1):
        client = make(kind, "client", seed=1)  # the same init, so the same keys
        assert feed_all(client, chunked(stream, size)) == payloads, f"chunk size {size}"
        assert client.buffered == 0 and client.quick_acks == []


@pytest.mark.parametrize("kind", KINDS)
def test_one_mebibyte_payload_round_trips_both_ways(kind: str) -> None:
    client = make(kind, "client", seed=2)
    upstream = client.pack(REQ_PQ) + client.pack(BIG)
    server = make(kind, "server")
    assert server.feed(upstream) == [REQ_PQ, BIG]
    downstream = server.pack(BIG) + server.pack(REQ_PQ)
    for how, pieces in big_splits(upstream).items():
        assert feed_all(make(kind, "server"), pieces) == [REQ_PQ, BIG], how
    for how, pieces in big_splits(downstream).items():
        assert feed_all(make(kind, "client", seed=2), pieces) == [BIG, REQ_PQ], how


def test_abridged_one_mebibyte_frame_has_the_long_header() -> None:
    frame = Abridged("server").pack(BIG)
    assert frame[:4] == b"\x7f" + (len(BIG) // 4).to_bytes(3, "little")
    assert frame[4:] == BIG


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    picks=st.lists(st.integers(0, len(MESSAGES) - 1), min_size=1, max_size=6),
    cuts=st.lists(st.integers(0, 4000), max_size=12),
    seed=st.integers(0, 2**32),
)
def test_any_cut_of_any_stream_gives_back_the_payloads(
    kind: str, picks: list[int], cuts: list[int], seed: int
) -> None:
    payloads = [MESSAGES[i] for i in picks]
    client = make(kind, "client", seed=seed)
    stream = b"".join(client.pack(p) for p in payloads)
    bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    pieces = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    assert feed_all(make(kind, "server", seed=seed), pieces) == payloads


# ---------------------------------------------------------------------------------------------
# Padded intermediate: the real padding rule


@pytest.mark.parametrize("padding", range(16))
@pytest.mark.parametrize(
    "message", [REQ_PQ, encrypted_message(3)], ids=["unencrypted", "encrypted"]
)
def test_padded_intermediate_strips_every_padding_length(padding: int, message: bytes) -> None:
    # 16 * 5 + padding: the count is taken modulo 16.
    client = PaddedIntermediate(random_bytes=PaddingScript([80 + padding]))
    packet = client.pack(message)
    assert len(packet) == 4 + 4 + len(message) + padding
    assert struct.unpack_from("<I", packet, 4)[0] == len(message) + padding
    assert packet.endswith(message + b"\xa5" * padding)
    assert PaddedIntermediate("server").feed(packet) == [message]
    server = PaddedIntermediate("server", random_bytes=PaddingScript([padding]))
    assert PaddedIntermediate().feed(server.pack(message)) == [message]


@pytest.mark.parametrize(
    "payload, why",
    [
        (FOUR_BYTES, "shorter than an MTProto message"),
        (encrypted_message(1) + bytes(4), "encrypted: not 24 + 16k"),
        (REQ_PQ + bytes(4), "unencrypted: states 40 bytes, has 44"),
    ],
)
def test_padded_intermediate_refuses_payloads_a_reader_could_not_cut_out(
    payload: bytes, why: str
) -> None:
    with pytest.raises(ValueError):
        PaddedIntermediate().pack(payload)


def test_padded_intermediate_rejects_an_unencrypted_length_that_does_not_fit() -> None:
    too_long = struct.pack("<I", len(REQ_PQ)) + REQ_PQ[:16] + struct.pack("<I", 24) + REQ_PQ[20:]
    with pytest.raises(FrameError, match="0..15 bytes of padding"):
        PaddedIntermediate("server").feed(b"\xdd" * 4 + too_long)
    padded_16 = REQ_PQ + bytes(16)
    with pytest.raises(FrameError, match="0..15 bytes of padding"):
        PaddedIntermediate("server").feed(b"\xdd" * 4 + struct.pack("<I", 56) + padded_16)


def test_padded_intermediate_client_ignores_a_no_op_frame() -> None:
    client = PaddedIntermediate()
    assert client.feed(struct.pack("<I", 8) + bytes(8)) == []
    assert client.quick_acks == [] and client.buffered == 0


def test_padded_intermediate_short_frame_that_is_nothing_known_is_an_error() -> None:
    with pytest.raises(FrameError, match="quick ack"):
        PaddedIntermediate().feed(struct.pack("<I", 8) + struct.pack("<ii", 5, 0))
    with pytest.raises(FrameError, match="from a client"):
        PaddedIntermediate("server").feed(b"\xdd" * 4 + struct.pack("<I", 8) + bytes(8))


# ---------------------------------------------------------------------------------------------
# Quick acks


@pytest.mark.parametrize("kind", QUICK_ACK_KINDS)
def test_server_sees_the_quick_ack_request_and_the_payload_without_the_bit(kind: str) -> None:
    client = make(kind, "client")
    stream = b"".join(
        client.pack(p, quick_ack=q) for p, q in [(REQ_PQ, True), (BIG, True), (REQ_PQ, False)]
    )
    for how, pieces in [("whole", [stream]), ("4093 B", list(chunked(stream, 4093)))]:
        server = make(kind, "server")
        frames = [f for piece in pieces for f in server.feed_frames(piece)]
        assert frames == [Frame(REQ_PQ, True), Frame(BIG, True), Frame(REQ_PQ, False)], how


@pytest.mark.parametrize(
    "transport, payload, header",
    [
        (Abridged("server"), bytes(40), b"\x8a"),  # 10 words | 0x80
        (Abridged("server"), bytes(508), b"\xff\x7f\x00\x00"),  # long form: ff instead of 7f
        (Intermediate("server"), bytes(40), bytes.fromhex("28000080")),
    ],
    ids=["abridged short", "abridged long", "intermediate"],
)
def test_quick_ack_request_sets_the_top_bit_of_the_length(
    transport: Transport, payload: bytes, header: bytes
) -> None:
    client = type(transport)()
    packet = client.pack(payload, quick_ack=True)[len(client.TAG) :]
    assert packet[: len(header)] == header
    assert transport.feed_frames(client.TAG + packet) == [Frame(payload, True)]


def test_padded_quick_ack_request_sets_the_top_bit_of_the_total_length() -> None:
    packet = PaddedIntermediate(random_bytes=PaddingScript([2])).pack(REQ_PQ, quick_ack=True)
    assert packet[4:8] == struct.pack("<I", 0x80000000 | 42)


@pytest.mark.parametrize(
    "transport, wire",
    [
        (Abridged("server"), bytes.fromhex("90b27a1d")),  # byte-swapped
        (Intermediate("server"), bytes.fromhex("1d7ab290")),
        (PaddedIntermediate("server", random_bytes=PaddingScript([3])),
         bytes.fromhex("0b000000ffffffff1d7ab290a5a5a5")),
    ],
    ids=["abridged", "intermediate", "padded intermediate"],
)
def test_server_quick_ack_wire_forms(transport: Transport, wire: bytes) -> None:
    assert transport.pack_quick_ack(QUICK_ACK_TOKEN) == wire
    client = type(transport)()
    assert client.feed(wire) == [] and client.quick_acks == [QUICK_ACK_TOKEN]


@pytest.mark.parametrize("padding", range(9))
def test_padded_quick_ack_carries_zero_to_eight_padding_bytes(padding: int) -> None:
    server = PaddedIntermediate("server", random_bytes=PaddingScript([9 * 7 + padding]))
    assert len(server.pack_quick_ack(QUICK_ACK_TOKEN)) == 4 + 8 + padding


@pytest.mark.parametrize("kind", QUICK_ACK_KINDS)
def test_client_collects_quick_acks_between_payloads_at_every_chunk_size(kind: str) -> None:
    server = make(kind, "server")
    server.feed(make(kind, "client", seed=3).pack(REQ_PQ))
    stream = (
        server.pack_quick_ack(QUICK_ACK_TOKEN)
        + server.pack(REQ_PQ)
        + server.pack_quick_ack(0xFFFFFFFF)
        + server.pack(encrypted_message(2))
    )
    for size in range(1, len(stream) + 1):
        client = make(kind, "client", seed=3)
        assert feed_all(client, chunked(stream, size)) == [REQ_PQ, encrypted_message(2)]
        assert client.quick_acks == [QUICK_ACK_TOKEN, 0xFFFFFFFF], f"chunk size {size}"


def test_padded_client_takes_a_bare_top_bit_word_as_a_quick_ack() -> None:
    # tdlib reads both intermediate framings the same way; a server may do the same.
    client = PaddedIntermediate()
    assert client.feed(struct.pack("<I", QUICK_ACK_TOKEN) + struct.pack("<I", 40) + REQ_PQ) == [
        REQ_PQ
    ]
    assert client.quick_acks == [QUICK_ACK_TOKEN]


def test_full_transport_has_no_quick_acks() -> None:
    with pytest.raises(ValueError, match="no quick ack"):
        Full().pack(REQ_PQ, quick_ack=True)
    with pytest.raises(ValueError, match="no quick ack"):
        Full("server").pack_quick_ack(QUICK_ACK_TOKEN)


def test_quick_acks_go_one_way_only() -> None:
    with pytest.raises(ValueError, match="only a client"):
        Intermediate("server").pack(REQ_PQ, quick_ack=True)
    with pytest.raises(ValueError, match="only a server"):
        Intermediate().pack_quick_ack(QUICK_ACK_TOKEN)
    with pytest.raises(ValueError, match="top bit"):
        Intermediate("server").pack_quick_ack(0x1234)


# ---------------------------------------------------------------------------------------------
# Transport errors


@pytest.mark.parametrize("code", TRANSPORT_CODES)
@pytest.mark.parametrize("kind", KINDS)
def test_transport_error_code_reaches_the_client_whole_and_only_whole(kind: str, code: int) -> None:
    server = make(kind, "server")
    server.feed(make(kind, "client", seed=4).pack(REQ_PQ))
    wire = server.pack_error(code)
    for size in range(1, len(wire) + 1):
        client = make(kind, "client", seed=4)
        pieces = list(chunked(wire, size))
        assert feed_all(client, pieces[:-1]) == []  # a truncated frame stays buffered
        with pytest.raises(TransportError) as caught:
            client.feed(pieces[-1])
        assert caught.value.code == code


@pytest.mark.parametrize("kind", KINDS)
def test_payloads_before_a_transport_error_come_first_then_the_error_sticks(kind: str) -> None:
    server = make(kind, "server")
    server.feed(make(kind, "client", seed=4).pack(REQ_PQ))
    client = make(kind, "client", seed=4)
    assert client.feed(server.pack(REQ_PQ) + server.pack_error(-429)) == [REQ_PQ]
    for _ in range(2):
        with pytest.raises(TransportError) as caught:
            client.feed(b"")
        assert caught.value.code == -429
    with pytest.raises(TransportError):
        client.feed(server.pack(REQ_PQ))


def test_full_client_takes_a_code_in_the_length_field_as_a_transport_error() -> None:
    # Telethon issue #4042 (PROTOCOL.md 4.4): -429 as length, seq and body.
    wire = struct.pack("<iii", -429, -429, -429)
    with pytest.raises(TransportError) as caught:
        Full().feed(wire)
    assert caught.value.code == -429
    with pytest.raises(FrameError):
        Full("server").feed(wire)


def test_a_clients_four_byte_payload_is_no_transport_error_on_the_server() -> None:
    negative = struct.pack("<i", -404)
    assert Intermediate("server").feed(Intermediate().pack(negative)) == [negative]


def test_transport_error_codes_are_sent_by_servers_and_negative() -> None:
    with pytest.raises(ValueError, match="only a server"):
        Intermediate().pack_error(-404)
    with pytest.raises(ValueError, match="negative int32"):
        Intermediate("server").pack_error(404)


# ---------------------------------------------------------------------------------------------
# Full: CRC and seq_no, per direction


def test_full_rejects_any_damaged_byte_after_the_length() -> None:
    packet = Full().pack(REQ_PQ)
    for position in range(4, len(packet)):
        damaged = bytearray(packet)
        damaged[position] ^= 0x01
        with pytest.raises(FrameError, match=r"CRC32 is 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}"):
            Full("server").feed(bytes(damaged))


def test_full_rejects_a_skipped_or_replayed_seq_no() -> None:
    client = Full()
    first, second = client.pack(REQ_PQ), client.pack(REQ_PQ)
    with pytest.raises(FrameError, match="seq_no is 1, expected 0"):
        Full("server").feed(second)
    server = Full("server")
    assert server.feed(first) == [REQ_PQ]
    with pytest.raises(FrameError, match="seq_no is 0, expected 1"):
        server.feed(first)


def test_full_counts_each_direction_from_zero() -> None:
    client, server = Full(), Full("server")
    for _ in range(3):
        assert server.feed(client.pack(REQ_PQ)) == [REQ_PQ]
    reply = server.pack(REQ_PQ)
    assert struct.unpack_from("<i", reply, 4)[0] == 0
    assert client.feed(reply) == [REQ_PQ]
    assert (client.send_seq_no, client.receive_seq_no) == (3, 1)
    assert (server.send_seq_no, server.receive_seq_no) == (1, 3)


def test_frames_before_a_bad_one_are_returned_then_the_error_sticks() -> None:
    client = Full()
    good, bad = client.pack(REQ_PQ), bytearray(client.pack(REQ_PQ))
    bad[-1] ^= 0xFF
    server = Full("server")
    assert server.feed(good + bytes(bad)) == [REQ_PQ]
    with pytest.raises(FrameError, match="CRC32"):
        server.feed(b"")
    with pytest.raises(FrameError, match="CRC32"):
        server.feed(Full().pack(REQ_PQ))
    assert server.buffered == 0


# ---------------------------------------------------------------------------------------------
# Frame size bound and malformed frames


def announced(kind: str, payload: bytes) -> int:
    """The frame length a transport announces for `payload` (padding 0)."""
    return len(payload) + 12 if base_name(kind) == "full" else len(payload)


@pytest.mark.parametrize("role", ["server", "client"])
@pytest.mark.parametrize("kind", KINDS)
def test_oversize_frame_is_rejected_from_its_header_and_nothing_is_buffered(
    kind: str, role: str
) -> None:
    limit = 1024
    message = encrypted_message(64)  # 1048 bytes: over the limit
    sender_role = "client" if role == "server" else "server"
    sender = make(kind, sender_role, seed=8, padding=PaddingScript(itertools.repeat(0)))
    if role == "server":
        stream = sender.pack(message)
    else:
        sender.feed(make(kind, "client", seed=8).pack(REQ_PQ))
        stream = sender.pack(message)
    receiver = make(kind, role, seed=8, max_frame=limit)
    fed = 0
    with pytest.raises(FrameError, match=f"announces {announced(kind, message)} bytes, the limit"):
        for byte in chunked(stream, 1):
            receiver.feed(byte)
            fed += 1
    opening = 64 if kind.startswith("obfuscated") else len(BASES[base_name(kind)].TAG)
    header = 4 + (opening if role == "server" else 0)
    assert fed == header - 1  # raised on the header's last byte: no body byte was taken
    assert receiver.buffered == 0
    with pytest.raises(FrameError):
        receiver.feed(bytes(1 << 20))
    assert receiver.buffered == 0


@pytest.mark.parametrize("kind", KINDS)
def test_frame_exactly_at_the_limit_is_accepted(kind: str) -> None:
    message = encrypted_message(64)
    client = make(kind, "client", padding=PaddingScript(itertools.repeat(0)))
    stream = client.pack(message)
    assert make(kind, "server", max_frame=announced(kind, message)).feed(stream) == [message]
    with pytest.raises(FrameError, match="the limit"):
        make(kind, "server", max_frame=announced(kind, message) - 1).feed(stream)


@pytest.mark.parametrize("kind", KINDS)
def test_truncated_frame_stays_buffered_until_its_last_byte(kind: str) -> None:
    client = make(kind, "client")
    stream = client.pack(REQ_PQ)
    server = make(kind, "server")
    assert server.feed(stream[:-1]) == []
    assert server.buffered > 0
    assert server.feed(stream[-1:]) == [REQ_PQ]
    assert server.buffered == 0


@pytest.mark.parametrize(
    "transport, wire, message",
    [
        (Intermediate("server"), b"\xef\x0a", "expected its tag eeeeeeee"),
        (Abridged("server"), b"\xee", "expected its tag ef"),
        (Intermediate(), struct.pack("<I", 6) + bytes(6), "positive multiple of 4"),
        (Intermediate(), struct.pack("<I", 0), "positive multiple of 4"),
        (Abridged(), b"\x00", "positive multiple of 4"),
        (Full("server"), struct.pack("<ii", 8, 0), "expected 12 \\+ a positive multiple of 4"),
        (Full("server"), struct.pack("<ii", 18, 0), "expected 12 \\+ a positive multiple of 4"),
        (PaddedIntermediate(), struct.pack("<I", 2), "at least 4"),
    ],
    ids=["wrong tag", "wrong abridged tag", "length not /4", "empty", "abridged empty",
         "full too short", "full length not /4", "padded too short"],
)
def test_impossible_frames_raise_frame_error(
    transport: Transport, wire: bytes, message: str
) -> None:
    with pytest.raises(FrameError, match=message):
        transport.feed(wire)


@pytest.mark.parametrize("payload", [b"", b"abc", b"abcdefg"])
@pytest.mark.parametrize("kind", KINDS)
def test_payloads_that_are_no_multiple_of_4_are_refused(kind: str, payload: bytes) -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        make(kind, "client").pack(payload)


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="role"):
        Intermediate("proxy")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Obfuscation


FORBIDDEN_FIRST_INTS = [b"HEAD", b"POST", b"GET ", b"OPTI", bytes.fromhex("16030102"),
                        b"\xdd" * 4, b"\xee" * 4]  # PROTOCOL.md 4.7, step 1


def forbidden(init: bytes) -> bool:
    """PROTOCOL.md 4.7 step 1, written out independently of the implementation."""
    return init[0] == 0xEF or init[:4] in FORBIDDEN_FIRST_INTS or init[4:8] == bytes(4)


SAFE_INIT = bytes(range(64))
_candidate = st.one_of(
    st.binary(min_size=64, max_size=64),
    st.tuples(
        st.sampled_from([*FORBIDDEN_FIRST_INTS, b"\xef"]), st.binary(min_size=64, max_size=64)
    ).map(lambda t: (t[0] + t[1])[:64]),
    st.binary(min_size=4, max_size=4).map(lambda head: head + bytes(60)),  # init[4:8] zero
)


@settings(max_examples=150, deadline=None)
@given(candidates=st.lists(_candidate, max_size=12), kind=st.sampled_from(OBFUSCATED_KINDS))
def test_obfuscation_init_is_never_one_of_the_forbidden_starts(
    candidates: list[bytes], kind: str
) -> None:
    draws = iter([*candidates, SAFE_INIT])
    calls = []

    def random_bytes(n: int) -> bytes:
        calls.append(n)
        return next(draws)

    inner = BASES[base_name(kind)]()
    header = Obfuscated(inner, random_bytes=random_bytes).pack(REQ_PQ)[:64]
    chosen = next(c for c in [*candidates, SAFE_INIT] if not forbidden(c))
    assert not forbidden(header)
    assert header[:56] == chosen[:56]  # the first acceptable draw, as drawn
    assert len(calls) == [*candidates, SAFE_INIT].index(chosen) + 1


def test_obfuscation_gives_up_on_a_source_of_only_forbidden_inits() -> None:
    with pytest.raises(RuntimeError, match="forbidden"):
        Obfuscated(Intermediate(), random_bytes=lambda n: b"\xef" * n)


def test_full_transport_is_not_allowed_inside_obfuscation() -> None:
    # PROTOCOL.md 4.7: init[56:60] holds the abridged, intermediate or padded tag; full has none.
    with pytest.raises(ValueError, match="full transport has no obfuscation tag"):
        Obfuscated(Full())


def test_obfuscation_wraps_only_a_fresh_transport() -> None:
    used = Intermediate()
    used.pack(REQ_PQ)
    with pytest.raises(ValueError, match="fresh"):
        Obfuscated(used)


def test_obfuscated_client_sends_its_init_once_and_never_the_plain_tag() -> None:
    client = make("obfuscated intermediate", "client")
    first, second = client.pack(REQ_PQ), client.pack(REQ_PQ)
    assert len(first) == 64 + 4 + len(REQ_PQ) and len(second) == 4 + len(REQ_PQ)


@pytest.mark.parametrize("dc_id", [2, -2, 10004, -10005])
def test_obfuscated_server_reads_the_dc_id_from_the_init(dc_id: int) -> None:
    client = make("obfuscated padded intermediate", "client", dc_id=dc_id)
    server = make("obfuscated padded intermediate", "server")
    assert isinstance(server, Obfuscated) and server.dc_id is None
    assert server.feed(client.pack(REQ_PQ)) == [REQ_PQ]
    assert server.dc_id == dc_id


def test_obfuscated_server_rejects_an_init_for_another_framing() -> None:
    client = make("obfuscated abridged", "client")
    server = make("obfuscated intermediate", "server")
    with pytest.raises(FrameError, match="carries the tag efefefef, expected eeeeeeee"):
        server.feed(client.pack(REQ_PQ))
    with pytest.raises(FrameError):
        server.feed(b"")


def test_obfuscated_server_cannot_send_before_the_init() -> None:
    with pytest.raises(ValueError, match="init"):
        make("obfuscated intermediate", "server").pack(REQ_PQ)


def test_mtproxy_secret_changes_the_keys_on_both_ends() -> None:
    secret = bytes(range(100, 116))
    client = make("obfuscated padded intermediate", "client", secret=b"\xdd" + secret)
    stream = client.pack(REQ_PQ)
    server = detect_server_transport(stream, secret=secret)
    assert server is not None and server.feed(b"") == [REQ_PQ]
    assert client.feed(server.pack(REQ_PQ)) == [REQ_PQ]
    with pytest.raises(FrameError, match="unrecognised transport"):
        detect_server_transport(stream)  # the plain keys decrypt to no tag


# ---------------------------------------------------------------------------------------------
# Server-side detection


@pytest.mark.parametrize("kind", KINDS)
def test_detect_server_transport_needs_only_its_first_bytes_and_keeps_the_rest(kind: str) -> None:
    client = make(kind, "client", dc_id=2 if kind.startswith("obfuscated") else None)
    payloads = [REQ_PQ, encrypted_message(2)]
    stream = b"".join(client.pack(p) for p in payloads)
    for length in range(len(stream) + 1):
        server = detect_server_transport(stream[:length])
        if length < DETECTION_BYTES[kind]:
            assert server is None, f"decided on {length} bytes"
            continue
        assert server is not None and server.role == "server"
        if kind.startswith("obfuscated"):
            assert isinstance(server, Obfuscated)
            assert type(server.inner) is BASES[base_name(kind)]
        else:
            assert type(server) is BASES[kind]
        assert server.feed(b"") + server.feed(stream[length:]) == payloads, f"{length} bytes"
        assert client.feed(server.pack(REQ_PQ)) == [REQ_PQ]
        client = make(kind, "client", dc_id=2 if kind.startswith("obfuscated") else None)


@pytest.mark.parametrize(
    "first_bytes",
    [b"POST /api HTTP/1.1\r\nHost: 149.154.167.50\r\n", b"GET / HTTP/1.1\r\n",
     bytes.fromhex("160301020001fc03") + bytes(56)],
    ids=["http post", "http get", "tls client hello"],
)
def test_detect_server_transport_rejects_what_is_no_mtproto_transport(first_bytes: bytes) -> None:
    stream = (first_bytes * 4)[:64]
    with pytest.raises(FrameError, match="unrecognised transport"):
        detect_server_transport(stream)


def test_detected_transport_takes_the_limit_and_errors_surface_on_feed() -> None:
    stream = Intermediate().pack(encrypted_message(64))
    server = detect_server_transport(stream, max_frame=1024)
    assert server is not None
    with pytest.raises(FrameError, match="the limit"):
        server.feed(b"")


# ---------------------------------------------------------------------------------------------
# Telethon 1.45 as the independent peer


class _BytesReader:
    """What Telethon's codecs read from: `readexactly(n)` over fixed bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0

    async def readexactly(self, n: int) -> bytes:
        chunk = self._data[self._position : self._position + n]
        if len(chunk) < n:
            raise asyncio.IncompleteReadError(chunk, n)
        self._position += n
        return chunk

    @property
    def remaining(self) -> int:
        return len(self._data) - self._position


def run(coroutine: Any) -> Any:
    """Telethon's read_packet awaits only our reader, which never suspends."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the codec waited for something other than the reader")


TELETHON_CODECS: dict[str, Any] = {
    "abridged": AbridgedPacketCodec,
    "intermediate": IntermediatePacketCodec,
    "padded intermediate": RandomizedIntermediatePacketCodec,
    "full": FullPacketCodec,
}


def cycling_padding() -> PaddingScript:
    """Padding counts cycling through 0..15, so that Telethon's `len % 4` rule meets each."""
    return PaddingScript(itertools.cycle(range(16)))


def telethon_reads(codec: Any, data: bytes, count: int) -> list[bytes]:
    reader = _BytesReader(data)
    packets = [run(codec.read_packet(reader)) for _ in range(count)]
    assert reader.remaining == 0
    return packets


def assert_telethon_got(kind: str, got: list[bytes], sent_frames: list[bytes],
                        payloads: list[bytes]) -> None:
    """Telethon's view of our frames: exact, except padded intermediate, where it keeps the
    padding beyond the last multiple of 4 (its departure; PROTOCOL.md 4.3)."""
    if base_name(kind) != "padded intermediate":
        assert got == payloads
        return
    for received, frame, payload in zip(got, sent_frames, payloads, strict=True):
        body = frame[4:]
        assert received == body[: len(body) - len(body) % 4]
        assert received[: len(payload)] == payload


def our_frames(transport: Transport, payloads: list[bytes]) -> list[bytes]:
    """Each payload's frame, as written (the client's tag split off the first one)."""
    frames = [transport.pack(p) for p in payloads]
    tag = transport.TAG if transport.is_client else b""
    assert frames[0].startswith(tag)
    frames[0] = frames[0][len(tag) :]
    return frames


@pytest.mark.parametrize("kind", PLAIN_KINDS)
def test_telethon_reads_what_our_client_packs(kind: str) -> None:
    payloads = small_payloads(kind) * 4
    ours = BASES[kind](random_bytes=cycling_padding())
    frames = our_frames(ours, payloads)
    got = telethon_reads(TELETHON_CODECS[kind](None), b"".join(frames), len(payloads))
    assert_telethon_got(kind, got, frames, payloads)


@pytest.mark.parametrize("kind", PLAIN_KINDS)
def test_telethon_reads_what_our_server_packs(kind: str) -> None:
    payloads = [*small_payloads(kind), BIG] * 2
    ours = BASES[kind]("server", random_bytes=cycling_padding())
    frames = our_frames(ours, payloads) + [ours.pack_error(-404)]
    got = telethon_reads(TELETHON_CODECS[kind](None), b"".join(frames), len(payloads) + 1)
    assert_telethon_got(kind, got[:-1], frames[:-1], payloads)
    # Telethon sees the code as a 4-byte packet (its sender turns it into InvalidBufferError).
    assert got[-1][:4] == struct.pack("<i", -404)


@pytest.mark.parametrize("kind", PLAIN_KINDS)
def test_our_server_reads_what_telethon_sends(kind: str) -> None:
    codec = TELETHON_CODECS[kind](None)
    payloads = [*small_payloads(kind), BIG] * 2
    # Telethon sends its codec's tag on connect; its padded codec has none outside obfuscation.
    tag = b"\xdd" * 4 if kind == "padded intermediate" else codec.tag or b""
    stream = tag + b"".join(codec.encode_packet(p) for p in payloads)
    server = detect_server_transport(stream)
    assert type(server) is BASES[kind]
    assert server.feed(b"") == payloads
    for size in (1, 7, 4096):
        # One byte at a time only as far as the first 1 MiB payload (keeps the test quick).
        pieces = list(chunked(stream[64:4000], size)) + [stream[4000:]]
        detected = detect_server_transport(stream[:64])
        assert detected is not None and feed_all(detected, pieces) == payloads


@pytest.mark.parametrize("kind", PLAIN_KINDS)
def test_our_client_reads_what_telethon_frames(kind: str) -> None:
    codec = TELETHON_CODECS[kind](None)
    payloads = [*small_payloads(kind), BIG] * 2
    stream = b"".join(codec.encode_packet(p) for p in payloads)  # a server frames the same way
    assert BASES[kind]().feed(stream) == payloads
    assert feed_all(BASES[kind](), chunked(stream, 1000)) == payloads


def telethon_obfuscated_header(codec_cls: Any) -> tuple[bytes, Any, Any]:
    """Telethon's init, encryptor and decryptor. Its filter lets `dd dd dd dd` starts through
    (PROTOCOL.md 4.7), which any server reads as plain padded intermediate: draw again."""
    while True:
        header, encryptor, decryptor = ObfuscatedIO.init_header(codec_cls)
        if bytes(header[:4]) != b"\xdd" * 4:
            return bytes(header), encryptor, decryptor


@pytest.mark.parametrize("kind", OBFUSCATED_KINDS)
def test_our_server_and_telethons_obfuscated_client_talk_both_ways(kind: str) -> None:
    codec_cls = TELETHON_CODECS[base_name(kind)]
    codec = codec_cls(None)
    payloads = small_payloads(kind) * 2
    header, encryptor, decryptor = telethon_obfuscated_header(codec_cls)
    stream = header + encryptor.encrypt(b"".join(codec.encode_packet(p) for p in payloads))
    server = detect_server_transport(stream[:64], random_bytes=cycling_padding())
    assert isinstance(server, Obfuscated) and type(server.inner) is BASES[base_name(kind)]
    assert feed_all(server, [b"", *chunked(stream[64:], 5)]) == payloads
    # The frames inside the server's stream: the same framing with the same padding counts.
    reference = BASES[base_name(kind)]("server", random_bytes=cycling_padding())
    frames = our_frames(reference, payloads)
    plain = decryptor.encrypt(b"".join(server.pack(p) for p in payloads))
    assert plain == b"".join(frames)
    got = telethon_reads(codec, plain, len(payloads))
    assert_telethon_got(kind, got, frames, payloads)


@pytest.mark.parametrize("kind", OBFUSCATED_KINDS)
def test_telethon_ciphers_read_what_our_obfuscated_client_sends(kind: str) -> None:
    codec_cls = TELETHON_CODECS[base_name(kind)]
    payloads = small_payloads(kind) * 2
    client = make(kind, "client", padding=cycling_padding())
    stream = b"".join(client.pack(p) for p in payloads)
    # Decrypt as a server would, with Telethon's AES-CTR and the keys in the clear init[8:56].
    plain = AESModeCTR(stream[8:40], stream[40:56]).encrypt(stream)
    assert plain[56:60] == codec_cls.obfuscate_tag
    reference = BASES[base_name(kind)](random_bytes=cycling_padding())
    inner_frames = our_frames(reference, payloads)
    assert plain[64:] == b"".join(inner_frames)  # the same framing inside, padding included
    got = telethon_reads(codec_cls(None), plain[64:], len(payloads))
    assert_telethon_got(kind, got, inner_frames, payloads)


# ---------------------------------------------------------------------------------------------
# Each bound of the readers at its limit


def test_padded_intermediate_client_takes_a_bare_four_byte_transport_error() -> None:
    # pack_error adds 0..15 random bytes; a server may send none.
    with pytest.raises(TransportError) as caught:
        PaddedIntermediate().feed(struct.pack("<Ii", 4, -404))
    assert caught.value.code == -404


@pytest.mark.parametrize("total", [0, 1, 2, 3])
def test_padded_intermediate_frame_shorter_than_4_bytes_is_refused(total: int) -> None:
    with pytest.raises(FrameError, match=f"frame of {total} bytes, expected at least 4"):
        PaddedIntermediate().feed(struct.pack("<I", total) + bytes(total))


@pytest.mark.parametrize("payload", [b"\x00\x00\x80\x00", b"\x00\x00\x00\x01"])
def test_a_four_byte_payload_of_a_positive_int_is_no_transport_error(payload: bytes) -> None:
    # Only a negative int32 (the top bit of its last byte) is a server's error code.
    assert Intermediate().feed(Intermediate("server").pack(payload)) == [payload]


def test_abridged_long_header_is_read_whole_when_it_arrives_in_pieces() -> None:
    # 0x010000 words: the low two bytes of the length are zero, the third is not.
    payload = bytes(range(256)) * 1024
    wire = Abridged("server").pack(payload)
    assert wire[:4] == b"\x7f\x00\x00\x01"
    client = Abridged()
    assert client.feed(wire[:3]) == []
    assert client.feed(wire[3:]) == [payload]


def test_a_large_frame_fed_in_small_pieces_is_parsed_once_complete() -> None:
    # Parsing waits until the buffer holds the bytes the frame announced: a frame fed in
    # n pieces costs a few parses, not n (n parses of a growing buffer would be quadratic).
    parses = []

    class CountingIntermediate(Intermediate):
        def _parse(self, src: bytes | bytearray, at: int) -> Any:
            parses.append(len(src))
            return super()._parse(src, at)

    payload = bytes(64 * 1024)
    client = CountingIntermediate()
    pieces = list(chunked(Intermediate("server").pack(payload), 1024))
    assert feed_all(client, pieces) == [payload]
    assert len(parses) <= 3, len(parses)


def test_padded_intermediate_unencrypted_message_one_byte_longer_than_its_frame() -> None:
    cut = struct.pack("<I", len(REQ_PQ) - 1) + REQ_PQ[:-1]
    with pytest.raises(FrameError, match="0..15 bytes of padding"):
        PaddedIntermediate("server").feed(b"\xdd" * 4 + cut)


@pytest.mark.parametrize("body", [b"\xff\xff\xff\xff", b"\xff\xff\xff\xff\x01\x02\x03"])
def test_padded_intermediate_minus_one_without_a_whole_token_is_no_quick_ack(body: bytes) -> None:
    with pytest.raises(FrameError, match="expected a quick ack"):
        PaddedIntermediate().feed(struct.pack("<I", len(body)) + body)


@pytest.mark.parametrize("code", [-2, -404])
def test_padded_intermediate_short_frame_of_another_negative_int_is_a_transport_error(
        code: int) -> None:
    with pytest.raises(TransportError) as caught:
        PaddedIntermediate().feed(struct.pack("<Ii", 8, code) + bytes(4))
    assert caught.value.code == code


def test_full_client_takes_any_negative_length_as_a_code_and_zero_as_no_frame() -> None:
    with pytest.raises(TransportError) as caught:
        Full().feed(struct.pack("<ii", -1, 0))
    assert caught.value.code == -1
    with pytest.raises(FrameError, match="full frame announces 0 bytes"):
        Full().feed(struct.pack("<ii", 0, 0))
