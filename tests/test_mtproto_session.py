"""The encrypted session (tlcodec.mtproto.session): golden vectors, a client/server exchange in
memory, one negative test per check of PROTOCOL.md 6, the service-message flows of 3.6-3.7, and
Telethon 1.45's MTProtoState as an independent peer.

Time and randomness are injected everywhere (a `ManualClock`, `random.Random(seed).randbytes`),
so every byte is reproducible; `now` returns a `Fraction` where a vector pins an exact msg_id.
The Telethon tests use the real clock, because Telethon reads `time.time()` itself; their
windows (300 s back, 30 s ahead) are far wider than a test run.
"""

from __future__ import annotations

import gc
import gzip
import io
import logging
import random
import struct
from fractions import Fraction
from typing import Any

import pytest

import tlcodec
from tlcodec import crypto
from tlcodec import functions as F
from tlcodec import types as T
from tlcodec.mtproto import events as E
from tlcodec.mtproto.errors import (
    AuthTokenExpiredError,
    BadMessageError,
    FloodWaitError,
    RPCError,
)
from tlcodec.mtproto.session import decrypt_payload, encrypt_payload, minimal_padding

from support import (
    MSG_CONTAINER_ID,
    MSGS_ACK_ID,
    RPC_RESULT_ID,
    SAMPLE_TIME,
    VECTOR_ID,
    ManualClock,
    SessionBuild,
    reference_vectors,
)

# ----------------------------------------------------------------------------------------------
# Fixtures and helpers


# The official sample's auth key and its derived salt (test_vectors.json auth_key_creation_sample;
# the salt's wire bytes are 49a6747298503dce). Any fixed 256-byte key would do for the flow
# tests.
AUTH_KEY = bytes.fromhex(reference_vectors("auth_key_creation_sample")["auth_key"])
SALT = 0xCE3D50987274A649
SALT_AS_READ = SALT - 2**64  # a long reads back signed
SESSION_ID = 0x1122334455667788
T0 = SAMPLE_TIME  # the sample's unixtime, and a quarter second
TOKEN = bytes(range(1, 33))


def make_pair(
    session_build: SessionBuild, clock: ManualClock | None = None,
    *,
    client_salt: int = SALT,
    server_salt: int = SALT,
    server_knows_session: bool = True,
    seed: int = 1,
    client_clock: ManualClock | None = None,
    **client_options: Any,
) -> Any:
    """A client and a server session over AUTH_KEY, deterministic."""
    clock = clock or ManualClock()
    rng = random.Random(seed)
    client = session_build.ClientSession(
        AUTH_KEY, server_salt=client_salt, session_id=SESSION_ID, random_bytes=rng.randbytes,
        now=client_clock or clock, **client_options,
    )
    server = session_build.ServerSession(
        AUTH_KEY, server_salt=server_salt,
        session_id=SESSION_ID if server_knows_session else None,
        random_bytes=rng.randbytes, now=clock,
    )
    return client, server, clock


def deliver(source: Any, target: Any) -> list[E.Event]:
    """Everything `source` has to send, received by `target`."""
    events: list[E.Event] = []
    while (payload := source.pack()) is not None:
        events.extend(target.receive(payload))
    return events


def of_type(events: list[E.Event], cls: type) -> list[Any]:
    return [event for event in events if isinstance(event, cls)]


def plaintext(
    *,
    salt: int = SALT,
    session_id: int = SESSION_ID,
    msg_id: int,
    seq_no: int = 1,
    body: bytes,
    length: int | None = None,
    padding: int | None = None,
) -> bytes:
    """An MTProto plaintext with any header values, even impossible ones (for negative tests)."""
    header = struct.pack(
        "<QQqii", salt & (2**64 - 1), session_id & (2**64 - 1), msg_id, seq_no,
        len(body) if length is None else length,
    )
    if padding is None:
        padding = minimal_padding(32 + len(body), bytes)
    return header + body + bytes((0x5A + i) % 256 for i in range(padding))


def seal(data: bytes, *, from_client: bool) -> bytes:
    """Encrypt an arbitrary plaintext with AUTH_KEY for one direction (no checks)."""
    return encrypt_payload(AUTH_KEY, data, from_client=from_client)


def server_msg_id(t: float, residue: int = 1) -> int:
    return (int(t * 2**32) & ~3) | residue


class SpySchema:
    """The bundled schema, recording every decode: proves a dropped message is never decoded."""

    def __init__(self) -> None:
        self.decoded: list[bytes] = []
        self.registry = _SpyRegistry(tlcodec.bundled.registry, self.decoded)

    def __getattr__(self, name: str) -> Any:
        return getattr(tlcodec.bundled, name)


class _SpyRegistry:
    def __init__(self, registry: Any, log: list[bytes]) -> None:
        self._registry = registry
        self._log = log

    def decode(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        self._log.append(bytes(data))
        return self._registry.decode(data, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._registry, name)


def login_token_success() -> Any:
    user = T.User(
        id=5_912_345_678, access_hash=-6_148_914_691_236_517_206, first_name="Alice",
        last_name="Liddell", username="alice_in_wonderland", phone="447700900123",
        photo=T.UserProfilePhoto(photo_id=5_334_512_345_678_901_234, stripped_thumb=b"\x01" * 40,
                                 dc_id=4),
        status=T.UserStatusOnline(expires=1_767_225_900),
    )
    return T.auth.LoginTokenSuccess(authorization=T.auth.Authorization(user=user))


# ----------------------------------------------------------------------------------------------
# Golden vectors


def test_key_derivation_matches_grammers_vectors() -> None:
    group = reference_vectors("mtproto2_key_derivation")
    auth_key, msg_key = bytes(range(256)), bytes(range(16))
    for name, from_client in (("client_to_server_x0", True), ("server_to_client_x8", False)):
        key, iv = crypto.message_aes_key_iv(auth_key, msg_key, from_client)
        assert key.hex().upper() == group[name]["aes_key"]
        assert iv.hex().upper() == group[name]["aes_iv"]


def test_message_cipher_computes_what_the_crypto_functions_compute(
    session_build: SessionBuild
) -> None:
    rng = random.Random(7)
    for from_client in (True, False):
        cipher = crypto.MessageCipher(AUTH_KEY, from_client)
        for size in (48, 64, 1040):
            data = rng.randbytes(size)
            payload = session_build.encrypt_payload(AUTH_KEY, data, from_client=from_client)
            assert crypto.auth_key_id(AUTH_KEY) + cipher.encrypt(data) == payload
            assert cipher.decrypt(payload[8:24], payload[24:]) == data
            assert cipher.decrypt(bytes(16), payload[24:]) is None


def test_encrypt_payload_reproduces_grammers_client_message(session_build: SessionBuild) -> None:
    group = reference_vectors("encrypted_client_message_grammers")
    data = group["plaintext_ascii"].encode() + bytes.fromhex(group["padding_hex"])
    payload = session_build.encrypt_payload(bytes(range(256)), data, from_client=True)
    assert payload.hex().upper() == group["output"]
    assert payload[:8].hex().upper() == group["auth_key_id"]
    assert payload[8:24].hex().upper() == group["msg_key"]
    assert session_build.decrypt_payload(bytes(range(256)), payload, from_client=True) == data


def test_open_payload_checks_length_then_key_id_then_msg_key(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    client.send(F.Ping(ping_id=5))
    payload = client.pack()
    cipher = crypto.MessageCipher(AUTH_KEY, from_client=True)
    cases = {
        "length": payload[:-1],
        "auth_key_id": bytes(8) + payload[8:],
        "msg_key": payload[:24] + bytes([payload[24] ^ 1]) + payload[25:],
    }
    for check, bad in cases.items():
        with pytest.raises(crypto.SecurityError) as failed:
            session_build.open_payload(cipher, bad)
        assert failed.value.check == check
    # Opened once outside (a server routing by session_id), the session gets the same events.
    plaintext = session_build.open_payload(cipher, payload)
    session_id = session_build.peek_session_id(AUTH_KEY, payload)
    assert struct.unpack_from("<q", plaintext, 8)[0] == session_id
    events = server.receive_opened(plaintext)
    assert [e.ping_id for e in of_type(events, E.PingReceived)] == [5]
    assert server.receive(payload) == [E.MessageDropped("msg_id_replayed")]


def test_decrypt_payload_rejects_a_client_message_read_as_a_server_one(
    session_build: SessionBuild,
) -> None:
    payload = bytes.fromhex(reference_vectors("encrypted_client_message_grammers")["output"])
    with pytest.raises(crypto.SecurityError) as info:
        session_build.decrypt_payload(bytes(range(256)), payload, from_client=False)
    assert info.value.check == "msg_key"


def test_client_session_decrypts_real_server_container(session_build: SessionBuild) -> None:
    """grammers' real server message: msg_container(new_session_created, pong)."""
    group = reference_vectors("encrypted_server_message_grammers")
    auth_key = bytes.fromhex(group["auth_key"])
    ping_msg_id = 0x5E308B91AD33FDC4  # the pong's msg_id (and new_session_created.first_msg_id)
    session = session_build.ClientSession(
        auth_key, server_salt=0, session_id=0x68AD432482C4F260,
        now=ManualClock(Fraction(ping_msg_id, 2**32)), random_bytes=random.Random(1).randbytes,
    )
    ping = session.send(F.Ping(ping_id=0x300864))
    session.pack()
    assert ping.msg_id == ping_msg_id

    events = session.receive(bytes.fromhex(group["encrypted_message"]))

    assert [type(e) for e in events] == [E.ServerSaltChanged, E.NewSessionCreated, E.RpcResult]
    created = events[1]
    assert created.first_msg_id == ping_msg_id
    assert created.msg_id == 0x5E308B91C2C1A801
    # the plaintext's first 8 bytes (fc826a02248b28fd), a signed little-endian long
    assert created.server_salt == int.from_bytes(bytes.fromhex("fc826a02248b28fd"), "little",
                                                 signed=True)
    assert session.server_salt == created.server_salt
    result = events[2]
    assert result.request is ping
    assert result.result == T.Pong(msg_id=ping_msg_id, ping_id=0x300864)
    assert result.msg_id == 0x5E308B91C2C1CC01
    # Only new_session_created is content-related (seqno 1); pong (2) and the container (2) not.
    assert list(session._pending_acks) == [0x5E308B91C2C1A801]


def test_client_session_reproduces_self_computed_ping_message(session_build: SessionBuild) -> None:
    group = reference_vectors("encrypted_client_message_example")
    session = session_build.ClientSession(
        bytes.fromhex(reference_vectors("auth_key_creation_sample")["auth_key"]),
        server_salt=SALT, session_id=0x1122334455667788,
        now=ManualClock(Fraction(0x65C53D5100000004, 2**32)),
        random_bytes=lambda n: bytes((0xA0 + i) % 256 for i in range(n)),  # padding A0..B3
    )
    pending = session.send(F.Ping(ping_id=0x0102030405060708))
    payload = session.pack()
    assert payload.hex().upper() == group["encrypted_message"]
    assert (pending.msg_id, pending.seq_no) == (0x65C53D5100000004, 1)
    opened = session_build.decrypt_payload(session.auth_key, payload, from_client=True)
    assert opened.hex().upper() == group["plaintext"]


def test_container_matches_protocol_example(session_build: SessionBuild) -> None:
    """PROTOCOL.md 3.6: msgs_ack + the 100-byte invokeWithLayer request in one container."""
    examples = reference_vectors("tl_serialization_examples")
    request_bytes = bytes.fromhex(
        examples["invokeWithLayer228_initConnection_PC_Linux_1.0_en_empty_en_exportLoginToken"]
    )
    clock = ManualClock(Fraction(0x65C53D5100000004, 2**32))
    client, server, _ = make_pair(session_build, clock)
    export = F.auth.ExportLoginToken(
        api_id=12345, api_hash="0123456789abcdef0123456789abcdef", except_ids=[]
    )
    first = client.send(export)  # the one content-related message sent before
    server.receive(client.pack())
    clock.t = Fraction(0x65C53D511E6E4C01, 2**32)
    server.answer(first.msg_id, T.auth.LoginToken(expires=1707425135, token=TOKEN))
    answer_events = deliver(server, client)
    assert of_type(answer_events, E.RpcResult)[0].request is first

    request = F.InvokeWithLayer(layer=228, query=F.InitConnection(
        api_id=12345, device_model="PC", system_version="Linux", app_version="1.0",
        system_lang_code="en", lang_pack="", lang_code="en", query=export,
    ))
    assert tlcodec.encode(request) == request_bytes
    clock.t = Fraction(0x65C53D5100000004, 2**32)  # the ids go on from ...04 by +4
    client.send(request)
    payload = client.pack()

    data = session_build.decrypt_payload(AUTH_KEY, payload, from_client=True)
    _, _, msg_id, seq_no, length = struct.unpack_from("<qqqii", data)
    assert (msg_id, seq_no, length) == (0x65C53D5100000010, 4, 160)
    assert data[32:92] == bytes.fromhex(
        "dcf8f173 02000000"
        "08000000513dc565 02000000 14000000"
        "59b4d662 15c4b51c 01000000 014c6e1e513dc565"
        "0c000000513dc565 03000000 64000000"
    )
    assert data[92:192] == request_bytes


# ----------------------------------------------------------------------------------------------
# An exchange in memory


def run_import_login_token_exchange(
    session_build: SessionBuild
) -> tuple[list[bytes], list[E.Event], list[E.Event]]:
    client, server, clock = make_pair(session_build, server_knows_session=False)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    request_payload = client.pack()
    server_events = server.receive(request_payload)
    received = of_type(server_events, E.RequestReceived)[0]
    clock.advance(0.05)
    server.answer(received.msg_id, login_token_success())
    answer_payload = server.pack()
    client_events = client.receive(answer_payload)
    assert of_type(client_events, E.RpcResult)[0].request is pending
    return [request_payload, answer_payload], server_events, client_events


def test_import_login_token_exchange_between_client_and_server(session_build: SessionBuild) -> None:
    payloads, server_events, client_events = run_import_login_token_exchange(session_build)
    started, received = server_events
    assert isinstance(started, E.ClientSessionStarted) and started.session_id == SESSION_ID
    assert received.request == F.auth.ImportLoginToken(token=TOKEN)
    assert started.first_msg_id == received.msg_id
    created, result = client_events
    assert isinstance(created, E.NewSessionCreated) and created.first_msg_id == received.msg_id
    assert result.result == login_token_success()
    assert result.result.authorization.user.username == "alice_in_wonderland"
    # Deterministic: the same seed and clock give the same bytes.
    assert run_import_login_token_exchange(session_build)[0] == payloads


def test_server_msg_ids_are_1_mod_4_for_answers_and_3_for_pushes(
    session_build: SessionBuild
) -> None:
    client, server, clock = make_pair(session_build)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    server.answer(pending.msg_id, T.auth.LoginToken(expires=1, token=b"t"))
    answer = client.receive(server.pack())[0]
    assert answer.msg_id % 4 == 1
    server.push(T.UpdateShort(update=T.UpdateLoginToken(), date=1707425120))
    update = client.receive(server.pack())[0]
    assert isinstance(update, E.Update) and update.msg_id % 4 == 3
    assert update.update == T.UpdateShort(update=T.UpdateLoginToken(), date=1707425120)
    assert pending.msg_id % 4 == 0 and update.msg_id > answer.msg_id


def test_gzip_packed_result_is_inflated_and_decoded_with_the_result_type(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    server.answer(pending.msg_id, login_token_success(), gzip=True)
    (result,) = deliver(server, client)
    assert result.result == login_token_success()


def test_gzip_packed_top_level_update_is_inflated(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    update = tlcodec.encode(T.UpdateShort(update=T.UpdateLoginToken(), date=5))
    packed = tlcodec.encode(T.GzipPacked(packed_data=gzip.compress(update)))
    server.enqueue(packed, content_related=True, is_reply=False)
    (event,) = deliver(server, client)
    assert isinstance(event, E.Update) and event.update.date == 5


def test_gzip_bomb_in_a_result_fails_only_that_request(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build, max_inflated=1000)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    server.answer(pending.msg_id, T.auth.LoginToken(expires=1, token=bytes(5000)), gzip=True)
    (failed,) = deliver(server, client)
    assert isinstance(failed, E.RpcFailed) and isinstance(failed.error, tlcodec.DecodeError)
    assert "limit" in str(failed.error) or "past" in str(failed.error)


@pytest.mark.parametrize(
    ("code", "message", "error_type", "attribute"),
    [
        (401, "AUTH_TOKEN_EXPIRED", AuthTokenExpiredError, None),
        (420, "FLOOD_WAIT_31", FloodWaitError, ("seconds", 31)),
        (400, "SOMETHING_NEW", RPCError, None),
    ],
)
def test_rpc_error_fails_its_request_with_the_typed_error(
    session_build: SessionBuild, code: int, message: str, error_type: type,
    attribute: tuple[str, int] | None,
) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    server.answer_error(pending.msg_id, code, message)
    (failed,) = deliver(server, client)
    assert isinstance(failed, E.RpcFailed) and failed.request is pending
    assert type(failed.error) is error_type
    assert (failed.error.code, failed.error.message) == (code, message)
    assert failed.error.request is pending.request
    if attribute is not None:
        assert getattr(failed.error, attribute[0]) == attribute[1]
    assert pending.state == "done"


def test_rpc_error_matches_the_protocol_vector(session_build: SessionBuild) -> None:
    """The self-computed rpc_result(rpc_error 400 AUTH_TOKEN_EXPIRED) body, as a server sends it."""
    clock = ManualClock(Fraction(0x65C53D5000000004, 2**32))
    client, server, _ = make_pair(session_build, clock)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    assert pending.msg_id == 0x65C53D5000000004
    server.answer_error(pending.msg_id, 400, "AUTH_TOKEN_EXPIRED")
    data = session_build.decrypt_payload(AUTH_KEY, server.pack(), from_client=False)
    body = data[32 : 32 + struct.unpack_from("<i", data, 28)[0]]
    key = "rpc_result_req_0x65c53d5000000004_rpc_error_400_AUTH_TOKEN_EXPIRED"
    assert body == bytes.fromhex(reference_vectors("tl_serialization_examples")[key])


# ----------------------------------------------------------------------------------------------
# Every check of PROTOCOL.md 6, client side: dropped, counted, never decoded


def _client_with_spy(session_build: SessionBuild, clock: ManualClock | None = None) -> Any:
    spy = SpySchema()
    session = session_build.ClientSession(
        AUTH_KEY, server_salt=SALT, session_id=SESSION_ID, schema=spy,
        now=clock or ManualClock(), random_bytes=random.Random(3).randbytes,
    )
    return session, spy


UPDATE_BODY = tlcodec.encode(T.UpdateShort(update=T.UpdateLoginToken(), date=1707425120))
GOOD_MSG_ID = server_msg_id(T0, 3)


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes((data[index] ^ 0x01,)) + data[index + 1 :]


def _good() -> bytes:
    return seal(plaintext(msg_id=GOOD_MSG_ID, body=UPDATE_BODY), from_client=False)


CLIENT_SIDE_CHECKS = {
    # name: (payload builder, reason)
    "payload_too_short": (lambda: _good()[:56], "length"),
    "payload_not_24_plus_16k": (lambda: _good() + b"\0" * 8, "length"),
    "auth_key_id_byte": (lambda: _flip(_good(), 3), "auth_key_id"),
    "msg_key_byte": (lambda: _flip(_good(), 12), "msg_key"),
    "encrypted_data_first_byte": (lambda: _flip(_good(), 24), "msg_key"),
    "encrypted_data_last_byte": (lambda: _flip(_good(), len(_good()) - 1), "msg_key"),
    "client_direction_keys": (
        lambda: seal(plaintext(msg_id=GOOD_MSG_ID, body=UPDATE_BODY), from_client=True), "msg_key"
    ),
    "session_id": (
        lambda: seal(plaintext(msg_id=GOOD_MSG_ID, body=UPDATE_BODY, session_id=SESSION_ID + 1),
                     from_client=False),
        "session_id",
    ),
    "length_not_multiple_of_4": (
        lambda: seal(plaintext(msg_id=GOOD_MSG_ID, body=UPDATE_BODY, length=len(UPDATE_BODY) - 2),
                     from_client=False),
        "data_length",
    ),
    "length_one_past_a_multiple_of_4": (
        lambda: seal(plaintext(msg_id=GOOD_MSG_ID, body=UPDATE_BODY, length=len(UPDATE_BODY) + 1),
                     from_client=False),
        "data_length",
    ),
    "length_negative": (
        lambda: seal(plaintext(msg_id=GOOD_MSG_ID, body=UPDATE_BODY, length=-4),
                     from_client=False),
        "data_length",
    ),
    "length_beyond_plaintext": (
        lambda: seal(plaintext(msg_id=GOOD_MSG_ID, body=UPDATE_BODY, length=len(UPDATE_BODY) + 64),
                     from_client=False),
        "data_length",
    ),
    "padding_below_12": (
        # 12-byte body + 4 bytes of padding: a 48-byte plaintext, padding 4.
        lambda: seal(plaintext(msg_id=GOOD_MSG_ID, body=UPDATE_BODY, padding=4),
                     from_client=False),
        "padding",
    ),
    "padding_none": (
        # The length field covers the padding too: the plaintext holds no padding at all.
        lambda: seal(plaintext(msg_id=GOOD_MSG_ID, body=UPDATE_BODY, padding=20,
                               length=len(UPDATE_BODY) + 20), from_client=False),
        "padding",
    ),
    "padding_above_1024": (
        lambda: seal(plaintext(msg_id=GOOD_MSG_ID, body=UPDATE_BODY, padding=1028 + 16),
                     from_client=False),
        "padding",
    ),
    "msg_id_even": (
        lambda: seal(plaintext(msg_id=server_msg_id(T0, 0) + 4, body=UPDATE_BODY),
                     from_client=False),
        "msg_id_parity",
    ),
    "msg_id_too_old": (
        lambda: seal(plaintext(msg_id=server_msg_id(T0 - 301), body=UPDATE_BODY),
                     from_client=False),
        "msg_id_too_old",
    ),
    "msg_id_too_new": (
        lambda: seal(plaintext(msg_id=server_msg_id(T0 + 31), body=UPDATE_BODY),
                     from_client=False),
        "msg_id_too_new",
    ),
}


def test_every_drop_reason_has_a_negative_test(session_build: SessionBuild) -> None:
    tested = {reason for _, reason in CLIENT_SIDE_CHECKS.values()}
    server_only = {"server_salt"}
    replay = {"msg_id_replayed"}  # below, needs two messages
    assert tested | server_only | replay == set(session_build.DROP_REASONS)


def test_the_untampered_message_is_accepted(session_build: SessionBuild) -> None:
    session, spy = _client_with_spy(session_build)
    (event,) = session.receive(_good())
    assert isinstance(event, E.Update) and spy.decoded == [UPDATE_BODY]


@pytest.mark.parametrize("name", sorted(CLIENT_SIDE_CHECKS))
def test_client_drops_a_message_failing_a_check(
    session_build: SessionBuild, name: str, caplog: Any
) -> None:
    build, reason = CLIENT_SIDE_CHECKS[name]
    session, spy = _client_with_spy(session_build)
    with caplog.at_level(logging.WARNING, logger="tlcodec.mtproto.session"):
        events = session.receive(build())
    assert events == [E.MessageDropped(reason)]
    assert session.dropped == {reason: 1}
    assert spy.decoded == []  # nothing in it was decoded
    assert not session._pending_acks and not session.has_outgoing  # nor acknowledged
    assert reason in caplog.text


def test_time_window_bounds_are_inclusive(session_build: SessionBuild) -> None:
    session, _ = _client_with_spy(session_build)
    for t in (T0 - 299, T0 + 29):
        payload = seal(plaintext(msg_id=server_msg_id(t), body=UPDATE_BODY), from_client=False)
        assert isinstance(session.receive(payload)[0], E.Update)


def test_time_window_follows_the_time_offset(session_build: SessionBuild) -> None:
    session, _ = _client_with_spy(session_build)
    session.time_offset = 1000
    payload = seal(plaintext(msg_id=server_msg_id(T0 + 1000), body=UPDATE_BODY), from_client=False)
    assert isinstance(session.receive(payload)[0], E.Update)


def test_replayed_msg_id_is_dropped_the_second_time(session_build: SessionBuild) -> None:
    session, spy = _client_with_spy(session_build)
    payload = _good()
    assert isinstance(session.receive(payload)[0], E.Update)
    assert session.receive(payload) == [E.MessageDropped("msg_id_replayed")]
    # the same msg_id in a fresh encryption (other padding) is a replay too
    again = seal(plaintext(msg_id=GOOD_MSG_ID, body=UPDATE_BODY, padding=36), from_client=False)
    assert session.receive(again) == [E.MessageDropped("msg_id_replayed")]
    assert session.dropped == {"msg_id_replayed": 2}
    assert len(spy.decoded) == 1
    assert list(session._pending_acks) == [GOOD_MSG_ID]  # acked once, for the first copy


def test_msg_id_below_the_whole_window_is_dropped_but_reordering_inside_it_is_not(
    session_build: SessionBuild
) -> None:
    session, _ = _client_with_spy(session_build)
    ids = [server_msg_id(T0 + i * 0.001) for i in range(1, 4)]
    for msg_id in (ids[0], ids[2]):
        session.receive(seal(plaintext(msg_id=msg_id, body=UPDATE_BODY), from_client=False))
    late = session.receive(seal(plaintext(msg_id=ids[1], body=UPDATE_BODY), from_client=False))
    assert isinstance(late[0], E.Update)  # inside the window, unseen: accepted
    older = server_msg_id(T0)
    assert session.receive(seal(plaintext(msg_id=older, body=UPDATE_BODY), from_client=False)) == [
        E.MessageDropped("msg_id_replayed")
    ]


def test_replay_window_is_bounded(session_build: SessionBuild) -> None:
    session = session_build.ClientSession(AUTH_KEY, server_salt=SALT, session_id=SESSION_ID,
                                          now=ManualClock(), received_window=4)
    for i in range(10):
        payload = seal(plaintext(msg_id=server_msg_id(T0 + i * 0.01), body=UPDATE_BODY),
                       from_client=False)
        session.receive(payload)
    assert len(session._received) == 4 and len(session._received_set) == 4


# ----------------------------------------------------------------------------------------------
# Server-side checks


@pytest.mark.parametrize("residue", [1, 2, 3])
def test_server_answers_wrong_parity_with_bad_msg_notification_18(
    session_build: SessionBuild, residue: int
) -> None:
    client, server, _ = make_pair(session_build)
    bad = seal(plaintext(msg_id=CLIENT_MSG_ID | residue, body=PING_BODY), from_client=True)
    assert server.receive(bad) == [E.MessageDropped("msg_id_parity")]
    notice = session_build.decrypt_payload(AUTH_KEY, server.pack(), from_client=False)
    assert notice[32:36] == struct.pack("<I", 0xA7EFF811)
    assert struct.unpack_from("<qii", notice, 36)[2] == 18


CLIENT_MSG_ID = int(T0 * 2**32) & ~3
PING_BODY = tlcodec.encode(F.Ping(ping_id=1))


def from_client(body: bytes, msg_id: int = CLIENT_MSG_ID, seq_no: int = 1) -> bytes:
    """A client message as the server receives it (any body, any header)."""
    return seal(plaintext(msg_id=msg_id, seq_no=seq_no, body=body), from_client=True)


def client_container(items: list[tuple[int, int, bytes]]) -> bytes:
    return struct.pack("<Ii", MSG_CONTAINER_ID, len(items)) + b"".join(
        struct.pack("<qii", msg_id, seq_no, len(body)) + body for msg_id, seq_no, body in items)


def server_output(server: Any) -> tuple[list[int], list[int]]:
    """The bad_msg_notification codes and the acknowledged msg_ids of all the server sends."""
    server.flush_acks()
    codes, acked = [], []
    while (payload := server.pack()) is not None:
        data = decrypt_payload(AUTH_KEY, payload, from_client=False)
        codes += _notification_codes(data)
        body = data[32 : 32 + struct.unpack_from("<i", data, 28)[0]]
        items = [item.body for item in _container_items(body)] if body[:4] == struct.pack(
            "<I", MSG_CONTAINER_ID) else [body]
        for item in items:
            if item[:4] == struct.pack("<I", MSGS_ACK_ID):
                count = struct.unpack_from("<i", item, 8)[0]
                acked += struct.unpack_from(f"<{count}q", item, 12)
    return codes, acked


def test_server_window_bounds_are_inclusive(session_build: SessionBuild) -> None:
    clock = ManualClock(1707425104)  # a whole second: the ages below are exact
    for seconds in (-300, 30):
        _, server, _ = make_pair(session_build, clock)
        msg_id = (1707425104 + seconds) << 32 | 4
        assert [type(e) for e in server.receive(from_client(PING_BODY, msg_id))] == [
            E.PingReceived], seconds


def test_server_accepts_a_client_message_reordered_inside_the_window(
    session_build: SessionBuild
) -> None:
    _, server, _ = make_pair(session_build)
    first, second, third = (CLIENT_MSG_ID + 4 * i for i in (1, 2, 3))
    for msg_id in (first, third, second):
        assert [type(e) for e in server.receive(from_client(PING_BODY, msg_id))] == [
            E.PingReceived], msg_id
    assert server.receive(from_client(PING_BODY, first)) == [E.MessageDropped("msg_id_replayed")]


def test_server_skips_an_empty_client_message(session_build: SessionBuild) -> None:
    _, server, _ = make_pair(session_build)
    (skipped,) = server.receive(from_client(b""))
    assert (skipped.msg_id, skipped.reason) == (CLIENT_MSG_ID, "decode_error")
    assert "empty message body" in str(skipped.error)


@pytest.mark.parametrize(("seq_no", "acked"), [(1, True), (2, False)])
def test_server_acknowledges_an_unknown_content_related_message_and_skips_it(
        session_build: SessionBuild, seq_no: int, acked: bool) -> None:
    _, server, _ = make_pair(session_build)
    (skipped,) = server.receive(from_client(struct.pack("<I", 0x12345678), seq_no=seq_no))
    assert (skipped.msg_id, skipped.reason) == (CLIENT_MSG_ID, "unknown_constructor")
    assert server_output(server) == ([], [CLIENT_MSG_ID] if acked else [])


def test_server_acknowledges_a_damaged_request_and_skips_it(session_build: SessionBuild) -> None:
    _, server, _ = make_pair(session_build)
    (skipped,) = server.receive(from_client(PING_BODY[:8]))
    assert (skipped.msg_id, skipped.reason) == (CLIENT_MSG_ID, "decode_error")
    assert server_output(server) == ([], [CLIENT_MSG_ID])


def test_server_refuses_a_container_with_an_odd_seq_no_with_34(session_build: SessionBuild) -> None:
    _, server, _ = make_pair(session_build)
    body = client_container([(CLIENT_MSG_ID, 1, PING_BODY)])
    assert server.receive(from_client(body, CLIENT_MSG_ID + 4, seq_no=3)) == []
    assert server_output(server) == ([34], [])


@pytest.mark.parametrize("residue", [1, 2])
def test_server_answers_a_container_item_of_wrong_parity_with_18_and_runs_the_others(
        session_build: SessionBuild, residue: int) -> None:
    _, server, _ = make_pair(session_build)
    items = [(CLIENT_MSG_ID | residue, 1, PING_BODY), (CLIENT_MSG_ID + 4, 3, PING_BODY)]
    events = server.receive(from_client(client_container(items), CLIENT_MSG_ID + 8, seq_no=4))
    assert [(type(e), e.msg_id) for e in events] == [(E.PingReceived, CLIENT_MSG_ID + 4)]
    assert server_output(server)[0] == [18]


def test_server_skips_a_container_item_it_has_received_already(session_build: SessionBuild) -> None:
    _, server, _ = make_pair(session_build)
    assert [type(e) for e in server.receive(from_client(PING_BODY))] == [E.PingReceived]
    items = [(CLIENT_MSG_ID, 1, PING_BODY), (CLIENT_MSG_ID + 4, 3, PING_BODY)]
    events = server.receive(from_client(client_container(items), CLIENT_MSG_ID + 8, seq_no=4))
    assert [(type(e), e.msg_id) for e in events] == [
        (E.MessageSkipped, CLIENT_MSG_ID), (E.PingReceived, CLIENT_MSG_ID + 4)]
    assert events[0].reason == "duplicate"


def _gzip_packed(data: bytes) -> bytes:
    return tlcodec.encode(T.GzipPacked(packed_data=gzip.compress(data)))


def test_server_inflates_a_gzip_packed_client_message(session_build: SessionBuild) -> None:
    _, server, _ = make_pair(session_build)
    (ping,) = server.receive(from_client(_gzip_packed(PING_BODY)))
    assert isinstance(ping, E.PingReceived) and ping.ping_id == 1


@pytest.mark.parametrize(("seq_no", "acked"), [(1, True), (2, False)])
def test_server_skips_gzip_packed_inside_gzip_packed(
    session_build: SessionBuild, seq_no: int, acked: bool
) -> None:
    _, server, _ = make_pair(session_build)
    (skipped,) = server.receive(from_client(_gzip_packed(_gzip_packed(PING_BODY)), seq_no=seq_no))
    assert skipped.reason == "decode_error"
    assert "gzip_packed inside a gzip_packed" in str(skipped.error)
    assert server_output(server)[1] == ([CLIENT_MSG_ID] if acked else [])


def test_server_hands_over_a_client_service_message(session_build: SessionBuild) -> None:
    _, server, _ = make_pair(session_build)
    state_request = T.MsgsStateReq(msg_ids=[5, 9])
    (event,) = server.receive(from_client(tlcodec.encode(state_request)))
    assert event == E.ServiceMessage(CLIENT_MSG_ID, state_request)


@pytest.mark.parametrize(("skew", "code", "reason"), [(-301, 16, "msg_id_too_old"),
                                                       (31, 17, "msg_id_too_new")])
def test_server_answers_msg_id_out_of_window_with_16_or_17(
    session_build: SessionBuild, skew: int, code: int, reason: str
) -> None:
    clock = ManualClock()
    client, server, _ = make_pair(session_build, clock, client_clock=ManualClock(T0 + skew))
    pending = client.send(F.Ping(ping_id=1))
    assert server.receive(client.pack()) == [E.MessageDropped(reason)]
    notice = session_build.decrypt_payload(AUTH_KEY, server.pack(), from_client=False)
    bad_msg_id, _, error_code = struct.unpack_from("<qii", notice, 36)
    assert (bad_msg_id, error_code) == (pending.msg_id, code)


def test_server_answers_wrong_salt_with_bad_server_salt_and_keeps_the_previous_salt(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build, client_salt=1234)
    client.send(F.Ping(ping_id=1))
    assert server.receive(client.pack()) == [E.MessageDropped("server_salt")]
    assert server.dropped == {"server_salt": 1}
    server.server_salt = 999  # rotation: the previous salt stays accepted
    client.server_salt = SALT
    client.send(F.Ping(ping_id=2))
    events = deliver(client, server)
    assert of_type(events, E.PingReceived)


def test_server_checks_seq_no_parity_against_content(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    msg_id = int(T0 * 2**32) & ~3
    request = tlcodec.encode(F.Ping(ping_id=1))
    even = seal(plaintext(msg_id=msg_id, seq_no=2, body=request), from_client=True)
    assert server.receive(even) == []
    ack = struct.pack("<IIiq", MSGS_ACK_ID, VECTOR_ID, 1, 5)
    odd_ack = seal(plaintext(msg_id=msg_id + 4, seq_no=3, body=ack), from_client=True)
    assert server.receive(odd_ack) == []
    codes = []
    while (payload := server.pack()) is not None:
        data = session_build.decrypt_payload(AUTH_KEY, payload, from_client=False)
        codes += [c for c in _notification_codes(data)]
    assert codes == [35, 34]


def _notification_codes(data: bytes) -> list[int]:
    body = data[32 : 32 + struct.unpack_from("<i", data, 28)[0]]
    items = [body]
    if body[:4] == struct.pack("<I", MSG_CONTAINER_ID):
        items = [item.body for item in _container_items(body)]
    return [struct.unpack_from("<qii", item, 4)[2] for item in items
            if item[:4] == struct.pack("<I", 0xA7EFF811)]


class _Item:
    def __init__(self, msg_id: int, seq_no: int, body: bytes) -> None:
        self.msg_id, self.seq_no, self.body = msg_id, seq_no, body


def _container_items(body: bytes) -> list[_Item]:
    count = struct.unpack_from("<i", body, 4)[0]
    items, position = [], 8
    for _ in range(count):
        msg_id, seq_no, length = struct.unpack_from("<qii", body, position)
        items.append(_Item(msg_id, seq_no, body[position + 16 : position + 16 + length]))
        position += 16 + length
    return items


def test_server_rejects_a_container_whose_items_are_not_below_its_id(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    msg_id = int(T0 * 2**32) & ~3
    ping = tlcodec.encode(F.Ping(ping_id=1))
    item = struct.pack("<qii", msg_id + 8, 1, len(ping)) + ping
    body = struct.pack("<Ii", MSG_CONTAINER_ID, 1) + item
    events = server.receive(seal(plaintext(msg_id=msg_id, seq_no=2, body=body), from_client=True))
    assert [e.reason for e in events] == ["bad_container"]
    sent = session_build.decrypt_payload(AUTH_KEY, server.pack(), from_client=False)
    assert _notification_codes(sent) == [64]


def test_server_announces_a_new_session_once_and_answers_ping_with_pong(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build, server_knows_session=False)
    ping = client.send(F.PingDelayDisconnect(ping_id=9, disconnect_delay=75))
    events = deliver(client, server)
    assert [type(e) for e in events] == [E.ClientSessionStarted, E.PingReceived]
    assert events[1] == E.PingReceived(ping.msg_id, 9, 75)
    client_events = deliver(server, client)
    assert [type(e) for e in client_events] == [E.NewSessionCreated, E.RpcResult]
    assert client_events[1].request is ping and client_events[1].result.ping_id == 9
    assert ping.msg_id not in server._pending_acks  # the pong answered it
    again = client.send(F.Ping(ping_id=10))
    # new_session_created was content-related: its ack rides along with the next ping
    assert [type(e) for e in deliver(client, server)] == [E.MessagesAcked, E.PingReceived]
    assert deliver(server, client)[-1].request is again


def test_server_answers_get_future_salts_and_the_client_stores_them(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.GetFutureSalts(num=1))
    deliver(client, server)
    (result,) = deliver(server, client)
    assert result.request is pending
    assert [salt.salt for salt in result.result.salts] == [server.server_salt]
    assert client.future_salts == result.result.salts


# ----------------------------------------------------------------------------------------------
# Service-message flows on the client


def test_bad_server_salt_updates_the_salt_and_resends_the_same_request(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build, client_salt=1234)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    assert server.receive(client.pack()) == [E.MessageDropped("server_salt")]
    first_msg_id = pending.msg_id
    events = deliver(server, client)
    assert [type(e) for e in events] == [E.ServerSaltChanged, E.RequestsResent]
    assert events[0] == E.ServerSaltChanged(1234, server.server_salt)
    assert events[1].requests == (pending,) and events[1].reason == "bad_server_salt"
    assert client.server_salt == server.server_salt
    assert pending.state == "queued" and pending.resends == 1

    request_events = deliver(client, server)
    assert pending.msg_id > first_msg_id
    (received,) = of_type(request_events, E.RequestReceived)
    assert received.msg_id == pending.msg_id
    server.answer(received.msg_id, T.auth.LoginToken(expires=1, token=b"t"))
    (result,) = deliver(server, client)
    assert result.request is pending and pending.state == "done"


def test_bad_server_salt_for_a_container_resends_everything_in_it(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build, client_salt=1234)
    first = client.send(F.Ping(ping_id=1))
    second = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    events = deliver(server, client)
    assert of_type(events, E.RequestsResent)[0].requests == (first, second)
    events = deliver(client, server)
    assert {e.msg_id for e in events if isinstance(e, (E.RequestReceived, E.PingReceived))} == {
        first.msg_id, second.msg_id
    }


def test_a_notification_about_a_partly_answered_container_resends_only_the_rest(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    requests = [client.send(F.auth.ImportLoginToken(token=bytes([n]) * 8)) for n in range(3)]
    received = of_type(deliver(client, server), E.RequestReceived)
    container_id = requests[0].container_msg_id
    assert container_id is not None and len(received) == 3
    server.answer(received[1].msg_id, T.auth.LoginToken(expires=1, token=b"t"))
    _send_notice(server, container_id, 48)
    events = deliver(server, client)
    assert [e.request for e in of_type(events, E.RpcResult)] == [requests[1]]
    assert of_type(events, E.RequestsResent)[0].requests == (requests[0], requests[2])
    resent = of_type(deliver(client, server), E.RequestReceived)
    assert [e.msg_id for e in resent] == [requests[0].msg_id, requests[2].msg_id]


def test_the_session_keeps_no_answered_request(session_build: SessionBuild) -> None:
    # A container's record, kept for notifications about it, names its requests by msg_id: an
    # answered request (and its body) is held by the caller alone.
    client, server, _ = make_pair(session_build)
    requests = [client.send(F.Ping(ping_id=n)) for n in range(40)]
    received = deliver(client, server)
    assert len(of_type(received, E.PingReceived)) == 40 and requests[0].container_msg_id
    events = deliver(server, client)
    assert len(of_type(events, E.RpcResult)) == 40
    del received, events
    gc.collect()
    for request in requests:
        holders = [r for r in gc.get_referrers(request) if r is not requests]
        assert holders == [], f"{request!r} is still held by {holders!r:.200}"
    client.send(F.Ping(ping_id=99))
    assert client.pack() is not None  # the session goes on without them


def test_notification_about_a_msg_id_we_never_sent_is_ignored(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.Ping(ping_id=1))
    client.pack()
    notice = struct.pack("<Iqiiq", 0xEDAB447B, pending.msg_id + 4, 1, 48, 777)
    server.enqueue(notice, content_related=False)
    (skipped,) = deliver(server, client)
    assert skipped.reason == "unmatched_answer"
    assert client.server_salt == SALT_AS_READ and pending.state == "sent"


def _send_notice(server: Any, bad_msg_id: int, code: int) -> None:
    server.enqueue(struct.pack("<Iqii", 0xA7EFF811, bad_msg_id, 1, code), content_related=False)


@pytest.mark.parametrize("skew", [-400, 100])
def test_bad_msg_notification_16_17_corrects_the_clock_and_resends(
    session_build: SessionBuild, skew: int
) -> None:
    server_clock = ManualClock()
    client_clock = ManualClock(T0 + skew)
    client, server, _ = make_pair(session_build, server_clock, client_clock=client_clock)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    server_events = deliver(client, server)
    bad_msg_id = pending.msg_id
    assert server_events == [E.MessageDropped("msg_id_too_old" if skew < 0 else "msg_id_too_new")]
    # The notification is outside the client's own window, but about our msg_id: processed.
    events = deliver(server, client)
    assert [type(e) for e in events] == [E.TimeOffsetChanged, E.RequestsResent]
    assert abs(client.time_offset + skew) < 1
    accepted = deliver(client, server)
    assert of_type(accepted, E.RequestReceived)[0].msg_id == pending.msg_id != bad_msg_id
    assert abs((pending.msg_id >> 32) - T0) <= 1


def test_a_notification_about_someone_elses_msg_id_gets_no_time_exemption(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    late_id = server_msg_id(T0 + 100)
    body = struct.pack("<Iqii", 0xA7EFF811, 0x1234 << 32, 1, 16)
    payload = seal(plaintext(msg_id=late_id, body=body, seq_no=0), from_client=False)
    assert client.receive(payload) == [E.MessageDropped("msg_id_too_new")]
    assert client.time_offset == 0


@pytest.mark.parametrize("code", [20, 48])
def test_bad_msg_notification_20_and_48_resend(session_build: SessionBuild, code: int) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    old = pending.msg_id
    _send_notice(server, old, code)
    events = deliver(server, client)
    assert of_type(events, E.RequestsResent)[0].requests == (pending,)
    client.pack()
    assert pending.msg_id > old


@pytest.mark.parametrize("code", [32, 33])
def test_bad_msg_notification_32_33_starts_a_new_session_and_resends_pending(
    session_build: SessionBuild, code: int
) -> None:
    client, server, _ = make_pair(session_build)
    answered = client.send(F.Ping(ping_id=1))
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    deliver(server, client)  # the pong
    assert answered.state == "done"
    _send_notice(server, pending.msg_id, code)
    events = deliver(server, client)
    assert [type(e) for e in events] == [E.SessionReset, E.RequestsResent]
    assert events[0].old_session_id == SESSION_ID != client.session_id
    assert events[1].requests == (pending,)
    server_events = deliver(client, server)
    assert pending.seq_no == 1  # the counter restarted
    assert [type(e) for e in server_events] == [E.ClientSessionStarted, E.RequestReceived]
    assert server.session_id == client.session_id


@pytest.mark.parametrize("code", [18, 19, 34, 35, 64])
def test_other_bad_msg_notification_codes_fail_the_request(
    session_build: SessionBuild, code: int
) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    _send_notice(server, pending.msg_id, code)
    (failed,) = of_type(deliver(server, client), E.RpcFailed)
    assert failed.request is pending and isinstance(failed.error, BadMessageError)
    assert (failed.error.code, failed.error.msg_id) == (code, pending.msg_id)
    assert pending.state == "done"


def test_a_request_resent_too_often_fails(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    client.max_resends = 2
    pending = client.send(F.Ping(ping_id=1))
    failures = []
    for _ in range(3):
        client.pack()
        _send_notice(server, pending.msg_id, 48)
        failures += of_type(deliver(server, client), E.RpcFailed)
    assert [f.request for f in failures] == [pending]
    assert failures[0].error.code == 48 and pending.state == "done"
    assert client.pack() is None


def test_new_session_created_resends_requests_the_server_never_saw(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build, server_knows_session=False)
    lost = client.send(F.Ping(ping_id=1))
    client.pack()  # never delivered
    seen = client.send(F.Ping(ping_id=2))
    events = deliver(client, server)
    assert of_type(events, E.ClientSessionStarted)[0].first_msg_id == seen.msg_id
    client_events = deliver(server, client)
    assert of_type(client_events, E.RequestsResent)[0].requests == (lost,)
    assert of_type(client_events, E.RpcResult)[0].request is seen
    assert lost.state == "queued"


def test_new_session_created_compares_by_container_like_tdlib(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build, server_knows_session=False)
    first = client.send(F.Ping(ping_id=1))
    second = client.send(F.Ping(ping_id=2))
    deliver(client, server)  # one container; first_msg_id is the container's id
    events = deliver(server, client)
    assert not of_type(events, E.RequestsResent)
    assert {e.request for e in of_type(events, E.RpcResult)} == {first, second}


def test_msgs_ack_marks_requests_acked(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    server.flush_acks()
    (acked,) = deliver(server, client)
    assert acked == E.MessagesAcked((pending.msg_id,))
    assert pending.acked and pending.state == "sent"


def test_detailed_info_acks_an_answer_we_have_and_asks_for_one_we_lack(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    server._pending_acks.clear()
    have = server_msg_id(T0 - 1)
    client.receive(seal(plaintext(msg_id=have, body=UPDATE_BODY, seq_no=1), from_client=False))
    client._pending_acks.clear()
    missing = server_msg_id(T0 - 0.5)
    for answer_msg_id in (have, missing):
        info = struct.pack("<Iqqii", 0x276D3EC6, pending.msg_id, answer_msg_id, 100, 0)
        server.enqueue(info, content_related=False)
        assert deliver(server, client) == []
    assert list(client._pending_acks) == [have]
    data = session_build.decrypt_payload(AUTH_KEY, client.pack(), from_client=True)
    items = _container_items(data[32:])
    resend = [i for i in items if i.body[:4] == struct.pack("<I", 0x7D861A08)]
    assert len(resend) == 1 and struct.unpack_from("<q", resend[0].body, 12)[0] == missing
    assert resend[0].seq_no % 2 == 0


def test_pong_is_matched_to_its_ping_and_not_acknowledged(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    other = client.send(F.Ping(ping_id=1))
    ping = client.send(F.Ping(ping_id=2))
    deliver(client, server)
    results = deliver(server, client)
    assert [r.request for r in results] == [other, ping]
    assert [r.result.ping_id for r in results] == [1, 2]
    assert not client._pending_acks


def test_a_pong_for_no_ping_of_ours_is_skipped(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    server.enqueue(T.Pong(msg_id=123456, ping_id=1), content_related=False)
    (skipped,) = deliver(server, client)
    assert skipped.reason == "unmatched_answer" and client.skipped == {"unmatched_answer": 1}


# ----------------------------------------------------------------------------------------------
# Acks and containers on the way out


def _push_updates(server: Any, client: Any, count: int) -> None:
    for i in range(count):
        server.push(T.UpdateShort(update=T.UpdateLoginToken(), date=i))
        client.receive(server.pack())


def test_acks_wait_for_a_batch_of_16(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    _push_updates(server, client, 15)
    assert client.pack() is None and not client.has_outgoing
    _push_updates(server, client, 1)
    data = session_build.decrypt_payload(AUTH_KEY, client.pack(), from_client=True)
    body = data[32 : 32 + struct.unpack_from("<i", data, 28)[0]]
    ack = tlcodec.decode(body)
    assert isinstance(ack, T.MsgsAck) and len(ack.msg_ids) == 16
    assert struct.unpack_from("<i", data, 24)[0] % 2 == 0  # not content-related
    assert client.pack() is None


def test_acks_go_out_alone_after_the_ack_delay(session_build: SessionBuild) -> None:
    client, server, clock = make_pair(session_build, ack_delay=10.0)
    _push_updates(server, client, 1)
    assert client.ack_deadline == clock.t + 10.0
    assert client.pack() is None
    clock.advance(10.0)
    assert client.has_outgoing
    assert isinstance(tlcodec.decode(_body(client.pack())), T.MsgsAck)
    assert client.ack_deadline is None


def test_flush_acks_sends_them_on_demand(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    _push_updates(server, client, 2)
    client.flush_acks()
    assert len(tlcodec.decode(_body(client.pack())).msg_ids) == 2


def _body(payload: bytes, from_client: bool = True) -> bytes:
    data = decrypt_payload(AUTH_KEY, payload, from_client=from_client)
    return data[32 : 32 + struct.unpack_from("<i", data, 28)[0]]


def test_acks_ride_with_the_next_request_in_one_container(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    _push_updates(server, client, 2)
    acked_ids = list(client._pending_acks)
    pending = client.send(F.Ping(ping_id=1))
    payload = client.pack()
    data = session_build.decrypt_payload(AUTH_KEY, payload, from_client=True)
    container_id = struct.unpack_from("<q", data, 16)[0]
    items = _container_items(_body(payload))
    assert [tlcodec.decode(i.body).msg_ids for i in items[:1]] == [acked_ids]
    assert items[1].msg_id == pending.msg_id == pending.sent_as - 4
    assert pending.container_msg_id == container_id > max(i.msg_id for i in items)
    events = server.receive(payload)
    assert [type(e) for e in events] == [E.MessagesAcked, E.PingReceived]


def test_requests_queued_together_share_a_container_with_counted_seq_nos(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    requests = [client.send(F.Ping(ping_id=i)) for i in range(3)]
    payload = client.pack()
    assert client.pack() is None
    data = session_build.decrypt_payload(AUTH_KEY, payload, from_client=True)
    container_seq_no = struct.unpack_from("<i", data, 24)[0]
    assert [r.seq_no for r in requests] == [1, 3, 5] and container_seq_no == 6
    ids = [r.msg_id for r in requests]
    assert ids == sorted(ids) and all(i % 4 == 0 for i in ids)
    events = server.receive(payload)
    assert [e.ping_id for e in of_type(events, E.PingReceived)] == [0, 1, 2]


def test_container_size_bound_splits_the_batch(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build, max_container_bytes=300)  # two of the three fit
    big = [client.send(F.auth.ImportLoginToken(token=bytes(100))) for _ in range(3)]
    payloads = []
    while (payload := client.pack()) is not None:
        payloads.append(payload)
    assert len(payloads) == 2
    assert sum(len(of_type(server.receive(p), E.RequestReceived)) for p in payloads) == 3
    assert all(p.state == "sent" for p in big)


def test_answered_requests_are_not_acked_separately_by_the_server(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    server.answer(pending.msg_id, T.auth.LoginToken(expires=1, token=b"t"))
    server.flush_acks()
    assert [type(e) for e in deliver(server, client)] == [E.RpcResult]


def test_padding_policy_is_chosen_by_the_caller(session_build: SessionBuild) -> None:
    lengths = set()
    for seed in range(8):
        session = session_build.ClientSession(AUTH_KEY, server_salt=SALT, now=ManualClock(),
                                              random_bytes=random.Random(seed).randbytes,
                                              padding=session_build.random_padding(300))
        session.send(F.Ping(ping_id=1))
        payload = session.pack()
        data = session_build.decrypt_payload(AUTH_KEY, payload, from_client=True)
        padding = len(data) - 32 - struct.unpack_from("<i", data, 28)[0]
        assert 12 <= padding <= 300 and len(data) % 16 == 0
        lengths.add(len(payload))
    assert len(lengths) > 1
    bad = session_build.ClientSession(AUTH_KEY, server_salt=SALT, now=ManualClock(),
                                      padding=lambda n, r: 8)
    bad.send(F.Ping(ping_id=1))
    with pytest.raises(ValueError, match="12..1024"):
        bad.pack()


# ----------------------------------------------------------------------------------------------
# Identity, msg_id and seq_no rules


def test_client_msg_ids_increase_strictly_and_never_have_a_zero_low_half(
    session_build: SessionBuild
) -> None:
    clock = ManualClock(Fraction(1707425104))  # exactly on a second: the low half would be 0
    session = session_build.ClientSession(AUTH_KEY, server_salt=SALT, now=clock)
    ids = []
    for _ in range(5):
        session.send(F.Ping(ping_id=1))
        session.pack()
        ids.append(session._last_msg_id)
    assert ids[0] == (1707425104 << 32) | 4
    assert all(b > a for a, b in zip(ids, ids[1:])) and all(i % 4 == 0 for i in ids)
    assert all(i & 0xFFFFFFFF for i in ids)


def test_msg_ids_of_lone_messages_and_containers_follow_one_rule_in_both_roles(
    session_build: SessionBuild
) -> None:
    """A lone message, and the items of a container under one clock reading: strictly
    increasing ids, never a zero low half, the role's residue, also when the clock stands
    still exactly on a second."""
    clock = ManualClock(Fraction(1707425104))
    client, server, _ = make_pair(session_build, clock)
    ids: list[int] = []
    for batch in (4, 1, 3, 1):  # a container first: its first item meets the zero low half
        requests = [client.send(F.Ping(ping_id=i)) for i in range(batch)]
        payload = client.pack()
        request_ids = [r.msg_id for r in requests]
        ids += request_ids + ([] if batch == 1 else [requests[0].container_msg_id])
        events = server.receive(payload)
        assert [e.ping_id for e in of_type(events, E.PingReceived)] == list(range(batch))
        for request_id in request_ids:
            server.answer(request_id, T.Pong(msg_id=request_id, ping_id=0))
        server.push(T.UpdatesTooLong())
        client.receive(server.pack())
    assert ids[0] == (1707425104 << 32) | 4
    assert all(b > a for a, b in zip(ids, ids[1:])) and all(i % 4 == 0 for i in ids)
    assert all(i & 0xFFFFFFFF for i in ids)
    # The server's: answers 1 mod 4, its pushes 3 mod 4, each once (a container's id comes
    # before, and is above, those of its items).
    received = list(client._received)
    assert len(received) >= sum((4, 1, 3, 1)) + 4  # the answers and pushes at least
    assert len(set(received)) == len(received)
    assert all(i & 0xFFFFFFFF and i % 4 in (1, 3) for i in received)
    assert sum(i % 4 == 3 for i in received) == 4


def test_a_resend_keeps_the_pending_request_identity(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.Ping(ping_id=1))
    client.pack()
    old = pending.msg_id
    _send_notice(server, old, 48)
    deliver(server, client)
    client.pack()
    assert isinstance(pending, session_build.PendingRequest) and pending.msg_id != old
    assert pending.result_spec is tlcodec.bundled.result_spec(F.Ping(ping_id=1))
    assert client.pending_requests == [pending]


def test_cancelled_request_is_not_sent_and_its_late_answer_is_skipped(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    queued = client.send(F.Ping(ping_id=1))
    client.cancel(queued)
    assert client.pack() is None
    sent = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    client.cancel(sent)
    server.answer(sent.msg_id, T.auth.LoginToken(expires=1, token=b"t"))
    (skipped,) = deliver(server, client)
    assert skipped.reason == "unmatched_answer"


def test_requeue_unanswered_resends_and_an_answer_to_the_old_id_still_resolves(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    old = pending.msg_id
    assert client.requeue_unanswered() == [pending]
    client.pack()
    assert pending.msg_id != old
    server.answer(old, T.auth.LoginToken(expires=1, token=b"t"))
    (result,) = deliver(server, client)
    assert result.request is pending and client.pending_requests == []


def test_new_session_on_request_restarts_seq_no(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    first = client.send(F.Ping(ping_id=1))
    client.pack()
    events = client.new_session()
    assert isinstance(events[0], E.SessionReset) and client.session_id != SESSION_ID
    client.pack()
    assert first.seq_no == 1


# ----------------------------------------------------------------------------------------------
# What cannot be decoded fails only itself


UNKNOWN_BODY = struct.pack("<Iq", 0xDEADBEEF, 42)


def test_unknown_constructor_is_skipped_and_the_rest_of_the_container_processed(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    server.enqueue(UNKNOWN_BODY, content_related=True, is_reply=False)
    server.push(T.UpdateShort(update=T.UpdateLoginToken(), date=7))
    events = deliver(server, client)
    assert [type(e) for e in events] == [E.MessageSkipped, E.Update]
    assert events[0].reason == "unknown_constructor" and "0xdeadbeef" in str(events[0].error)
    assert client.skipped == {"unknown_constructor": 1}
    assert len(client._pending_acks) == 2  # both acknowledged: the server need not resend


def test_unknown_constructor_alone_at_the_top_is_skipped_without_breaking_the_session(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    server.enqueue(UNKNOWN_BODY, content_related=True, is_reply=False)
    (skipped,) = deliver(server, client)
    assert skipped.reason == "unknown_constructor"
    server.push(T.UpdateShort(update=T.UpdateLoginToken(), date=8))
    assert isinstance(deliver(server, client)[0], E.Update)


def test_damaged_rpc_result_fails_only_its_request(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    damaged = client.send(F.auth.ImportLoginToken(token=TOKEN))
    healthy = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    truncated = tlcodec.encode(T.auth.LoginToken(expires=1, token=bytes(40)))[:-8]
    server.enqueue(struct.pack("<Iq", RPC_RESULT_ID, damaged.msg_id) + truncated,
                   content_related=True)
    server.answer(healthy.msg_id, T.auth.LoginToken(expires=2, token=b"ok"))
    acked, failed, result = deliver(server, client)
    assert acked == E.MessagesAcked((damaged.msg_id,))  # the server's ack of the other one
    assert isinstance(failed, E.RpcFailed) and failed.request is damaged
    assert isinstance(failed.error, tlcodec.DecodeError)
    assert result.request is healthy and result.result.token == b"ok"
    assert damaged.state == healthy.state == "done"


def test_result_of_the_wrong_type_fails_the_request(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    server.answer(pending.msg_id, T.Pong(msg_id=1, ping_id=2))
    (failed,) = deliver(server, client)
    assert isinstance(failed.error, tlcodec.DecodeError) and "auth.LoginToken" in str(failed.error)


def test_damaged_container_is_skipped_as_a_whole(session_build: SessionBuild) -> None:
    client, _, _ = make_pair(session_build)
    body = struct.pack("<Ii", MSG_CONTAINER_ID, 1) + struct.pack("<qii", 1, 1, 400) + UPDATE_BODY
    payload = seal(plaintext(msg_id=GOOD_MSG_ID, seq_no=2, body=body), from_client=False)
    (skipped,) = client.receive(payload)
    assert skipped.reason == "bad_container"


def test_service_messages_the_session_does_not_handle_are_handed_over(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    state_req = T.MsgsStateReq(msg_ids=[1, 2])
    server.enqueue(state_req, content_related=False)
    (event,) = deliver(server, client)
    assert event == E.ServiceMessage(event.msg_id, state_req)


# ----------------------------------------------------------------------------------------------
# Telethon 1.45 as the independent peer


class _Loggers(dict):
    def __missing__(self, key: str) -> logging.Logger:
        return logging.getLogger(key)


@pytest.fixture
def telethon_state() -> Any:
    pytest.importorskip("telethon")
    from telethon.crypto import AuthKey
    from telethon.network.mtprotostate import MTProtoState

    state = MTProtoState(AuthKey(AUTH_KEY), _Loggers())
    state.salt = SALT - 2**64  # Telethon packs the salt as a signed long
    return state


def _telethon_encrypt(state: Any, request: Any) -> bytes:
    buffer = io.BytesIO()
    state.write_data_as_message(buffer, bytes(request), True)
    return state.encrypt_message_data(buffer.getvalue())


def test_telethon_client_message_is_decrypted_by_our_server(
    session_build: SessionBuild, telethon_state: Any
) -> None:
    from telethon.tl.functions.auth import ImportLoginTokenRequest

    server = session_build.ServerSession(AUTH_KEY, server_salt=SALT)  # real clock
    events = server.receive(_telethon_encrypt(telethon_state,
                                              ImportLoginTokenRequest(token=TOKEN)))
    started, received = events
    assert started.session_id == telethon_state.id
    assert received.request == F.auth.ImportLoginToken(token=TOKEN)


def test_telethon_gzipped_request_is_inflated_by_our_server(
    session_build: SessionBuild, telethon_state: Any
) -> None:
    from telethon.tl.functions.auth import ImportLoginTokenRequest

    server = session_build.ServerSession(AUTH_KEY, server_salt=SALT)
    token = bytes(600)  # Telethon gzips content-related data over 512 bytes
    events = server.receive(_telethon_encrypt(telethon_state, ImportLoginTokenRequest(token=token)))
    assert of_type(events, E.RequestReceived)[0].request.token == token


def test_our_server_answer_passes_telethons_checks(
    session_build: SessionBuild, telethon_state: Any
) -> None:
    from telethon.extensions import BinaryReader
    from telethon.tl.functions.auth import ImportLoginTokenRequest

    server = session_build.ServerSession(AUTH_KEY, server_salt=SALT)
    events = server.receive(_telethon_encrypt(telethon_state, ImportLoginTokenRequest(token=TOKEN)))
    request_msg_id = of_type(events, E.RequestReceived)[0].msg_id
    server.answer(request_msg_id, login_token_success())
    message = telethon_state.decrypt_message_data(server.pack())
    assert message is not None and message.msg_id % 4 == 1
    created, answer = [inner.obj for inner in message.obj.messages]
    assert created.first_msg_id == request_msg_id and created.server_salt == SALT - 2**64
    assert answer.req_msg_id == request_msg_id and answer.error is None
    success = BinaryReader(answer.body).tgread_object()
    assert success.authorization.user.username == "alice_in_wonderland"
    assert tlcodec.encode(login_token_success()) == bytes(success)
    # Telethon's replay check agrees with ours: the same payload again is ignored.
    server.push(T.UpdateShort(update=T.UpdateLoginToken(), date=1))
    update = server.pack()
    assert telethon_state.decrypt_message_data(update).obj.date.timestamp() == 1
    assert telethon_state.decrypt_message_data(update) is None


def test_our_client_message_decrypts_with_telethons_primitives(session_build: SessionBuild) -> None:
    """Telethon has no server role; its key derivation, IGE and reader still check the
    client->server direction (x = 0) independently of our code."""
    pytest.importorskip("telethon")
    from hashlib import sha256

    from telethon.crypto import AES
    from telethon.extensions import BinaryReader
    from telethon.network.mtprotostate import MTProtoState
    from telethon.tl.functions.auth import ImportLoginTokenRequest

    client = session_build.ClientSession(AUTH_KEY, server_salt=SALT, session_id=SESSION_ID,
                                         now=ManualClock(), random_bytes=random.Random(5).randbytes)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    payload = client.pack()
    msg_key = payload[8:24]
    aes_key, aes_iv = MTProtoState._calc_key(AUTH_KEY, msg_key, True)
    plain = AES.decrypt_ige(payload[24:], aes_key, aes_iv)
    assert sha256(AUTH_KEY[88:120] + plain).digest()[8:24] == msg_key
    reader = BinaryReader(plain)
    assert reader.read_long(signed=False) == SALT
    assert reader.read_long() == SESSION_ID
    assert reader.read_long() == pending.msg_id
    assert reader.read_int() == 1
    assert reader.read_int() == len(bytes(ImportLoginTokenRequest(token=TOKEN)))
    request = reader.tgread_object()
    assert isinstance(request, ImportLoginTokenRequest) and request.token == TOKEN


def test_server_message_built_with_telethons_primitives_is_read_by_our_client(
    session_build: SessionBuild
) -> None:
    pytest.importorskip("telethon")
    from hashlib import sha256

    from telethon.crypto import AES, AuthKey
    from telethon.network.mtprotostate import MTProtoState
    from telethon.tl.types import UpdateLoginToken, UpdateShort
    import datetime

    update = bytes(UpdateShort(UpdateLoginToken(), datetime.datetime.fromtimestamp(
        1707425120, tz=datetime.timezone.utc)))
    data = plaintext(msg_id=GOOD_MSG_ID, body=update)
    msg_key = sha256(AUTH_KEY[96:128] + data).digest()[8:24]
    aes_key, aes_iv = MTProtoState._calc_key(AUTH_KEY, msg_key, False)
    key_id = struct.pack("<Q", AuthKey(AUTH_KEY).key_id)
    payload = key_id + msg_key + AES.encrypt_ige(data, aes_key, aes_iv)
    client, _ = _client_with_spy(session_build)
    (event,) = client.receive(payload)
    assert event.update == T.UpdateShort(update=T.UpdateLoginToken(), date=1707425120)


# ----------------------------------------------------------------------------------------------
# Edges of the API


def test_an_answer_to_the_old_id_of_a_requeued_request_takes_it_out_of_the_queue(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    old = pending.msg_id
    client.requeue_unanswered()
    server.answer(old, T.auth.LoginToken(expires=1, token=b"t"))
    (result,) = deliver(server, client)
    assert result.request is pending
    assert client.pack() is None  # not sent again


def test_a_bad_salt_for_a_requeued_request_does_not_queue_it_twice(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.auth.ImportLoginToken(token=TOKEN))
    client.pack()
    old = pending.msg_id
    client.requeue_unanswered()
    server.enqueue(struct.pack("<Iqiiq", 0xEDAB447B, old, 1, 48, 777), content_related=False)
    deliver(server, client)
    assert client.server_salt == 777
    assert list(client._queue) == [pending]


def test_each_role_has_only_its_own_methods(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    for client_only in ("send", "cancel", "requeue_unanswered", "new_session", "pending_requests"):
        assert hasattr(client, client_only) and not hasattr(server, client_only)
    for server_only in ("answer", "answer_error", "push"):
        assert hasattr(server, server_only) and not hasattr(client, server_only)
    with pytest.raises(TypeError, match="function call"):
        client.send(T.Pong(msg_id=1, ping_id=1))
    with pytest.raises(ValueError, match="256 bytes, got 255"):
        session_build.ClientSession(AUTH_KEY[:255], server_salt=1)
    with pytest.raises(ValueError, match="256 bytes, got 255"):
        session_build.ServerSession(AUTH_KEY[:255], server_salt=1)


def test_the_shared_core_is_not_a_session_of_its_own(session_build: SessionBuild) -> None:
    with pytest.raises(TypeError, match="ClientSession or a ServerSession"):
        session_build.EncryptedSession(AUTH_KEY, server_salt=1)


def test_server_without_a_session_sends_nothing_until_the_client_speaks(
    session_build: SessionBuild
) -> None:
    client, server, _ = make_pair(session_build, server_knows_session=False)
    server.push(T.UpdateShort(update=T.UpdateLoginToken(), date=1))
    assert server.pack() is None
    client.send(F.auth.ImportLoginToken(token=TOKEN))
    deliver(client, server)
    kinds = [type(e) for e in deliver(server, client)]
    assert kinds == [E.MessagesAcked, E.NewSessionCreated, E.Update]  # acks go first


def test_destroy_session_answer_resolves_its_request(session_build: SessionBuild) -> None:
    client, server, _ = make_pair(session_build)
    pending = client.send(F.DestroySession(session_id=0x55))
    deliver(client, server)
    server.enqueue(T.DestroySessionOk(session_id=0x55), content_related=False)
    (result,) = of_type(deliver(server, client), E.RpcResult)
    assert result.request is pending and result.result == T.DestroySessionOk(session_id=0x55)


def test_client_rejects_a_container_whose_items_are_not_below_its_id(
    session_build: SessionBuild
) -> None:
    client, _, _ = make_pair(session_build)
    body = (struct.pack("<Ii", MSG_CONTAINER_ID, 1)
            + struct.pack("<qii", GOOD_MSG_ID + 4, 1, len(UPDATE_BODY)) + UPDATE_BODY)
    payload = seal(plaintext(msg_id=GOOD_MSG_ID, seq_no=2, body=body), from_client=False)
    (skipped,) = client.receive(payload)
    assert skipped.reason == "bad_container" and "not below" in str(skipped.error)


def test_duplicate_inner_message_is_acked_again_but_processed_once(
    session_build: SessionBuild
) -> None:
    client, _, _ = make_pair(session_build)
    inner_id = GOOD_MSG_ID - 8
    item = struct.pack("<qii", inner_id, 1, len(UPDATE_BODY)) + UPDATE_BODY
    for outer in (GOOD_MSG_ID, GOOD_MSG_ID + 4):
        body = struct.pack("<Ii", MSG_CONTAINER_ID, 1) + item
        events = client.receive(seal(plaintext(msg_id=outer, seq_no=2, body=body),
                                     from_client=False))
    assert [e.reason for e in events] == ["duplicate"]
    assert list(client._pending_acks) == [inner_id]


def test_memoryview_and_bytearray_payloads_are_accepted(session_build: SessionBuild) -> None:
    session, _ = _client_with_spy(session_build)
    assert isinstance(session.receive(bytearray(_good()))[0], E.Update)
    session, _ = _client_with_spy(session_build)
    assert isinstance(session.receive(memoryview(_good()))[0], E.Update)


def test_peek_session_id_routes_a_client_payload(session_build: SessionBuild) -> None:
    client, _, _ = make_pair(session_build)
    client.send(F.Ping(ping_id=1))
    payload = client.pack()
    assert session_build.peek_session_id(AUTH_KEY, payload) == SESSION_ID
    with pytest.raises(crypto.SecurityError) as info:
        session_build.peek_session_id(AUTH_KEY, _flip(payload, 30))
    assert info.value.check == "msg_key"


@pytest.mark.parametrize(("cls", "values"), [(E.RpcResult, (1, 2, 3)),
                                              (E.RequestReceived, (1, 2))])
def test_events_built_per_message_stay_frozen_dataclasses(cls: type, values: tuple) -> None:
    """RpcResult and RequestReceived set their slots directly (speed); as dataclasses they must
    behave exactly like the other, generated, events."""
    import dataclasses

    names = [field.name for field in dataclasses.fields(cls)]
    positional, by_keyword = cls(*values), cls(**dict(zip(names, values)))
    assert positional == by_keyword and hash(positional) == hash(by_keyword)
    assert dataclasses.astuple(positional) == values
    assert repr(positional).startswith(f"{cls.__name__}({names[0]}=1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(positional, names[0], 9)
    with pytest.raises(TypeError):
        cls(*values, 4)
    with pytest.raises(TypeError):
        cls(*values[:-1])
