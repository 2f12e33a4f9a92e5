"""The encrypted session's per-message paths, tlcodec vs Telethon 1.45 (with cryptg, its fastest
AES).

"pack + encrypt one importLoginToken message" (issue target: <= 5 us, >= 2.5x Telethon):
- [tlcodec] `session.send(ImportLoginToken(...))`, `session.pack()` (msg_id, seq_no, header,
  padding, msg_key, AES-IGE), then the intermediate framing `Intermediate.pack(payload)`.
- [telethon] what its sender does for one request: `bytes(request)` (RequestState),
  `MTProtoState.write_data_as_message` into a BytesIO (MessagePacker), `encrypt_message_data`,
  then `IntermediatePacketCodec.encode_packet`.
Both sides include the 4-byte intermediate length prefix, each with its own transport code.

"decrypt + unpack + decode an rpc_result carrying loginTokenSuccess" (<= 8 us, >= 3x):
- [tlcodec] `session.receive(payload)`: every check of PROTOCOL.md 6, the rpc_result matched
  to its PendingRequest, the result decoded with the request's result type, the ack queued.
- [telethon] `MTProtoState.decrypt_message_data(payload)` (its checks, its whole-message
  decode, which leaves the rpc_result body as bytes), then what `MTProtoSender` does with it:
  queue the ack, pop the request state, `request.read_result(BinaryReader(body))`.
Both decrypt the very same payload (one server message of ours, sent to the session id both
clients use). No transport framing on this side: Telethon reads frames from an asyncio stream,
which has no synchronous equivalent to time.

Each round is one call with `benchmark.pedantic`: a setup outside the timing puts the state
back (the replay window forgets the msg_id, the request is pending again, the previous request
is cancelled), so every timed call does the full work and nothing accumulates. The timer's own
cost (~0.1 us here) is in every round of both columns. Payload checks run before timing.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest

import tlcodec
from tlcodec.functions.auth import ImportLoginToken
from tlcodec.mtproto.events import RpcResult
from tlcodec.mtproto.client_session import ClientSession
from tlcodec.mtproto.server_session import ServerSession
from tlcodec.mtproto.transports import Intermediate

from bench_support import IMPLS, TOKEN_32

PACK_GROUP = "mtproto: pack+encrypt importLoginToken"
RECEIVE_GROUP = "mtproto: decrypt+unpack+decode rpc_result(loginTokenSuccess)"
ROUNDS = 3000
WARMUP_ROUNDS = 300

AUTH_KEY = bytes((i * 73 + 19) % 256 for i in range(256))
SALT = 0x1234_5678_9ABC_DEF0


class _Loggers(dict):
    def __missing__(self, key: str) -> logging.Logger:
        return logging.getLogger(key)


def telethon_state() -> Any:
    from telethon.crypto import AuthKey
    from telethon.network.mtprotostate import MTProtoState

    state = MTProtoState(AuthKey(AUTH_KEY), _Loggers())
    state.salt = SALT
    return state


# ---------------------------------------------------------------------------------------------
# pack + encrypt


class OursPack:
    def __init__(self) -> None:
        self.session = ClientSession(AUTH_KEY, server_salt=SALT)
        self.transport = Intermediate("client")
        self.transport.pack(b"\0" * 4)  # the one-time tag is out of the way
        self.request = ImportLoginToken(token=TOKEN_32)
        self.last: Any = None

    def setup(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if self.last is not None:
            self.session.cancel(self.last)  # keep the pending table at one entry
        return (), {}

    def run(self) -> bytes:
        session = self.session
        self.last = session.send(self.request)
        return self.transport.pack(session.pack())


class TelethonPack:
    def __init__(self) -> None:
        from telethon.network.connection.tcpintermediate import IntermediatePacketCodec
        from telethon.tl.functions.auth import ImportLoginTokenRequest

        self.state = telethon_state()
        self.codec = IntermediatePacketCodec(None)
        self.request = ImportLoginTokenRequest(token=TOKEN_32)

    def setup(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (), {}

    def run(self) -> bytes:
        state = self.state
        data = bytes(self.request)
        buffer = io.BytesIO()
        state.write_data_as_message(buffer, data, True)
        return self.codec.encode_packet(state.encrypt_message_data(buffer.getvalue()))


def check_pack_outputs(ours: OursPack, theirs: TelethonPack) -> None:
    """Both frames are a length prefix and a client message that our server reads as the same
    request, of the same size (both pad minimally: 12..27 bytes)."""
    ours_frame, their_frame = ours.run(), theirs.run()
    assert len(ours_frame) == len(their_frame)
    for frame, session_id in ((ours_frame, ours.session.session_id),
                              (their_frame, theirs.state.id)):
        assert int.from_bytes(frame[:4], "little") == len(frame) - 4
        server = ServerSession(AUTH_KEY, server_salt=SALT, session_id=session_id)
        events = server.receive(frame[4:])
        assert [type(e).__name__ for e in events] == ["RequestReceived"], events
        assert events[0].request == ImportLoginToken(token=TOKEN_32)
    ours.setup()


@pytest.mark.benchmark(group=PACK_GROUP)
@pytest.mark.parametrize("impl", IMPLS)
def test_pack_encrypt_import_login_token(benchmark: Any, impl: str) -> None:
    pytest.importorskip("telethon")
    sides = {"tlcodec": OursPack(), "telethon": TelethonPack()}
    check_pack_outputs(sides["tlcodec"], sides["telethon"])
    side = sides[impl]
    frame = benchmark.pedantic(side.run, setup=side.setup, rounds=ROUNDS,
                               warmup_rounds=WARMUP_ROUNDS, iterations=1)
    # length prefix + auth_key_id and msg_key + (32-byte header, 40-byte body, 24 of padding)
    assert len(frame) == 4 + 24 + 96


# ---------------------------------------------------------------------------------------------
# decrypt + unpack + decode


class OursReceive:
    """A client session with one ImportLoginToken pending, and the server's answer to it."""

    def __init__(self, result_bytes: bytes) -> None:
        self.session = ClientSession(AUTH_KEY, server_salt=SALT)
        self.pending = self.session.send(ImportLoginToken(token=TOKEN_32))
        request_payload = self.session.pack()
        server = ServerSession(AUTH_KEY, server_salt=SALT,
                                  session_id=self.session.session_id)
        (received,) = server.receive(request_payload)
        server.answer(received.msg_id, tlcodec.decode(result_bytes))
        self.payload = server.pack()
        self.req_msg_id = self.pending.msg_id

    def setup(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        session = self.session
        session._forget_received()  # the same msg_id is fresh again
        session._pending_acks.clear()
        session._sent[self.req_msg_id] = self.pending  # pending again
        self.pending.state = "sent"
        return (self.payload,), {}

    def run(self, payload: bytes) -> Any:
        return self.session.receive(payload)


class TelethonReceive:
    """Telethon's state for the same session id, and a RequestState-like pending entry."""

    def __init__(self, ours: OursReceive) -> None:
        from telethon.tl.functions.auth import ImportLoginTokenRequest

        self.state = telethon_state()
        self.state.id = ours.session.session_id
        self.request = ImportLoginTokenRequest(token=TOKEN_32)
        self.req_msg_id = ours.req_msg_id
        self.payload = ours.payload
        self.pending_state: dict[int, Any] = {}
        self.pending_ack: set[int] = set()

    def setup(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        self.state._recent_remote_ids.clear()
        self.state._highest_remote_id = 0
        self.pending_ack.clear()
        self.pending_state[self.req_msg_id] = self.request
        return (self.payload,), {}

    def run(self, payload: bytes) -> Any:
        from telethon.extensions import BinaryReader

        # MTProtoSender._recv_loop -> _process_message -> _handle_rpc_result, minus asyncio.
        message = self.state.decrypt_message_data(payload)
        self.pending_ack.add(message.msg_id)
        rpc_result = message.obj
        request = self.pending_state.pop(rpc_result.req_msg_id)
        return request.read_result(BinaryReader(rpc_result.body))


def check_receive_outputs(ours: OursReceive, theirs: TelethonReceive, result_bytes: bytes) -> None:
    """Both sides get the answer out of the same payload: objects that encode back to the
    bytes the server put in (conftest checked those bytes with both codecs)."""
    (event,) = ours.run(*ours.setup()[0])
    assert isinstance(event, RpcResult) and event.request is ours.pending
    theirs_result = theirs.run(*theirs.setup()[0])
    assert tlcodec.encode(event.result) == result_bytes == bytes(theirs_result)


@pytest.mark.benchmark(group=RECEIVE_GROUP)
@pytest.mark.parametrize("impl", IMPLS)
def test_receive_rpc_result_login_token_success(
    benchmark: Any, impl: str, login_token_success_bytes: bytes
) -> None:
    pytest.importorskip("telethon")
    ours = OursReceive(login_token_success_bytes)
    theirs = TelethonReceive(ours)
    check_receive_outputs(ours, theirs, login_token_success_bytes)
    side = ours if impl == "tlcodec" else theirs
    result = benchmark.pedantic(side.run, setup=side.setup, rounds=ROUNDS,
                                warmup_rounds=WARMUP_ROUNDS, iterations=1)
    if impl == "tlcodec":
        (event,) = result
        result = event.result
    assert result.authorization.user.username == "alice_in_wonderland"

