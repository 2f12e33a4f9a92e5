"""The two builds of the client's encrypted session: client_session.py (with the core under it,
session.py) run as Python (the twin), and the same files compiled by Cython with the C types of
their .pxd (tlcodec.mtproto._client_session_c on _session_c).

- (test_smoke checks that the compiled build is the one in use unless TLCODEC_NO_EXTENSIONS
  asks for the twin; the other session tests run over both builds through conftest's
  `session_build`.)
- Differential: both builds get the same client session history and the same server messages,
  well-formed or hostile (random containers, damaged lengths and counts, truncated answers,
  extreme ids, random bytes), and must give the same events, counters, acks and replay window.
  The compiled build reads integers by indexing bytes (C) where the twin does the same in Python.
- Hostile input never raises out of `receive_opened`, in whichever build is in use.
"""

from __future__ import annotations

import random
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tlcodec
from tlcodec import functions, types
from tlcodec.mtproto.client_session import ClientSession
from tlcodec.mtproto.session import minimal_padding

from support import (
    GZIP_PACKED_ID,
    MSG_CONTAINER_ID,
    MSGS_ACK_ID,
    RPC_ERROR_ID,
    RPC_RESULT_ID,
    SAMPLE_TIME,
    VECTOR_ID,
    ManualClock,
    both_session_builds,
)

AUTH_KEY = bytes(range(256))
SALT = 0x0123456789ABCDEF
SESSION_ID = 0x1122334455667788
T0 = SAMPLE_TIME
REQUESTS = 6


# ----------------------------------------------------------------------------------------------
# One client history, replayed in each build


def _client(session_class: type) -> tuple[Any, list[int]]:
    """A client session that sent REQUESTS calls in one container; their msg_ids."""
    clock = ManualClock(T0)
    client = session_class(AUTH_KEY, server_salt=SALT, session_id=SESSION_ID, now=clock,
                           random_bytes=random.Random(7).randbytes, received_window=8)
    sent = [client.send(functions.auth.ImportLoginToken(token=bytes([i]) * 8))
            for i in range(REQUESTS)]
    assert client.pack() is not None
    clock.t += 0.5
    return client, [pending.msg_id for pending in sent]


def _server_id(offset: float, residue: int = 1) -> int:
    return (int((T0 + offset) * 2**32) & ~3) | residue


def _plaintext(msg_id: int, seq_no: int, body: bytes) -> bytes:
    header = struct.pack("<Qqqii", SALT, SESSION_ID, msg_id, seq_no, len(body))
    return header + body + bytes(minimal_padding(32 + len(body), bytes))


def _normal(value: Any) -> Any:
    """A build-independent picture of an event field."""
    if type(value).__name__ == "PendingRequest":
        return ("request", value.msg_id, value.state)
    if isinstance(value, BaseException):
        return (type(value).__name__, str(value))
    if isinstance(value, (list, tuple)):
        return tuple(_normal(item) for item in value)
    if isinstance(value, tlcodec.TLObject):
        return tlcodec.encode(value)
    return value


def _outcome(client: Any, events: list[Any]) -> Any:
    pictures = [
        (type(event).__name__, tuple(_normal(getattr(event, field)) for field in event.__slots__))
        for event in events
    ]
    return (
        pictures, dict(client.dropped), dict(client.skipped), list(client._pending_acks),
        sorted(client._received), client._highest_received,
        sorted((msg_id, pending.state) for msg_id, pending in client._sent.items()),
    )


# ----------------------------------------------------------------------------------------------
# Server messages, well-formed and hostile

_LONGS = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, 1, -1, 2**63 - 1, -(2**63), 2**31, 2**32 - 1, 2**32]),
)
_INTS = st.one_of(st.integers(-(2**31), 2**31 - 1), st.sampled_from([0, 1, -1, 2**31 - 1]))


@st.composite
def _body(draw: Any, request_ids: list[int]) -> bytes:
    kind = draw(st.sampled_from(
        ["result", "result", "error", "truncated", "unmatched", "damaged", "ack", "nested",
         "gzip", "unknown", "random"]))
    req_msg_id = draw(st.sampled_from(request_ids)) if request_ids else 0
    if kind == "result":
        result = types.auth.LoginToken(expires=draw(_INTS), token=draw(st.binary(max_size=40)))
        return struct.pack("<Iq", RPC_RESULT_ID, req_msg_id) + tlcodec.encode(result)
    if kind == "error":
        message = draw(st.sampled_from([b"AUTH_TOKEN_EXPIRED", b"FLOOD_WAIT_7", b"X"]))
        tl_message = bytes([len(message)]) + message
        tl_message += bytes(-len(tl_message) % 4)
        head = struct.pack("<Iqii", RPC_RESULT_ID, req_msg_id, RPC_ERROR_ID, draw(_INTS))
        return head + tl_message
    if kind == "truncated":
        return struct.pack("<Iq", RPC_RESULT_ID, req_msg_id)[: draw(st.sampled_from([4, 8]))]
    if kind == "unmatched":
        return struct.pack("<Iq", RPC_RESULT_ID, draw(_LONGS)) + tlcodec.encode(
            types.auth.LoginToken(expires=1, token=b""))
    if kind == "damaged":
        return struct.pack("<IqI", RPC_RESULT_ID, req_msg_id, draw(st.integers(0, 2**32 - 1)))
    if kind == "ack":
        ids = draw(st.lists(_LONGS, max_size=3))
        return struct.pack(f"<IIi{len(ids)}q", MSGS_ACK_ID, VECTOR_ID, len(ids), *ids)
    if kind == "nested":
        return struct.pack("<Ii", MSG_CONTAINER_ID, 0)
    if kind == "gzip":
        data = draw(st.binary(max_size=12))
        tl_data = bytes([len(data)]) + data
        return struct.pack("<I", GZIP_PACKED_ID) + tl_data + bytes(-len(tl_data) % 4)
    if kind == "unknown":
        return struct.pack("<I", draw(st.integers(0, 2**32 - 1))) + bytes(4)
    data = draw(st.binary(min_size=4, max_size=24))
    return data + bytes(-len(data) % 4)


@st.composite
def _container(draw: Any, request_ids: list[int]) -> bytes:
    """A msg_container body: items well-formed or not, then maybe a damaged header field."""
    count = draw(st.integers(0, 6))
    parts = []
    for index in range(count):
        body = draw(_body(request_ids))
        msg_id = draw(st.one_of(st.just(_server_id(index * 0.001)), _LONGS))
        seq_no = draw(st.one_of(st.just(2 * index + 1), _INTS))
        length = draw(st.one_of(st.just(len(body)), _INTS))
        parts.append(struct.pack("<qii", msg_id, seq_no, length) + body)
    declared = draw(st.one_of(st.just(count), _INTS))
    data = struct.pack("<Ii", MSG_CONTAINER_ID, declared) + b"".join(parts)
    if draw(st.booleans()):  # a cut or a flipped byte somewhere
        at = draw(st.integers(0, len(data)))
        if draw(st.booleans()):
            data = data[:at]
        elif at < len(data):
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    return data + bytes(-len(data) % 4)


def _messages(data: Any, request_ids: list[int]) -> list[bytes]:
    """One to four server plaintexts: containers mostly, lone messages too."""
    shapes = data.draw(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=4))
    plaintexts = []
    for index, (in_container, content_related) in enumerate(shapes):
        body = data.draw(_container(request_ids) if in_container else _body(request_ids))
        msg_id = _server_id(0.1 + index * 0.01)
        plaintexts.append(_plaintext(msg_id, 2 * index + content_related, body))
    return plaintexts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_both_builds_give_the_same_outcome_for_any_server_messages(data: Any) -> None:
    compiled, twin = both_session_builds()
    compiled_client, request_ids = _client(compiled.ClientSession)
    twin_client, twin_request_ids = _client(twin.ClientSession)
    assert request_ids == twin_request_ids  # one clock, one rng: one history
    for payload in _messages(data, request_ids):
        compiled_events = compiled_client.receive_opened(payload)
        twin_events = twin_client.receive_opened(payload)
        assert _outcome(compiled_client, compiled_events) == _outcome(twin_client, twin_events)
        assert compiled_client.pack() == twin_client.pack()  # acks and resends alike, byte for byte


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_server_messages_never_raise(data: Any) -> None:
    # In the build this run uses; where both run, the test above runs both on the same input.
    client, request_ids = _client(ClientSession)
    for payload in _messages(data, request_ids):
        events = client.receive_opened(payload)
        assert isinstance(events, list)
        client.pack()


def test_integers_are_read_alike_at_every_boundary() -> None:
    """Container item headers with the int32/int64 boundary values, in both builds."""
    compiled, twin = both_session_builds()
    for msg_id in (-(2**63), -1, 0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1):
        for seq_no in (-(2**31), -1, 0, 1, 2**31 - 1):
            for length in (-(2**31), -4, 0, 4, 12, 2**31 - 4):
                body = struct.pack("<Iiqii", MSG_CONTAINER_ID, 1, msg_id, seq_no, length)
                body += struct.pack("<Iq", RPC_RESULT_ID, msg_id)
                payload = _plaintext(_server_id(1.0), 0, body)
                outcomes = []
                for session_class in (compiled.ClientSession, twin.ClientSession):
                    client, _ = _client(session_class)
                    outcomes.append(_outcome(client, client.receive_opened(payload)))
                assert outcomes[0] == outcomes[1], (msg_id, seq_no, length)
