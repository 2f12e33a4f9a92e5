"""Hostile bytes from a server against the client session: nothing crashes, hangs or exhausts
memory; a message that breaks a rule is dropped or skipped with a counted reason.

- gzip_packed: one level at most (a server never nests it; a gzip_packed inside one is
  refused, however deep the nesting goes, without recursion), and one inflation budget
  (`max_inflated`) per received message, shared by every gzip_packed in it.
- Memory is measured, not assumed: tracemalloc's peak over one `receive()` must stay within a
  small multiple of the payload plus the budget (the numbers are in the assertion message).
- The checks of a msg_container, each with a test that fails if the check is removed.

The plaintexts are built by hand (any header, any body) and sealed with the session's key; the
clock is fixed, so every msg_id is reproducible.
"""

from __future__ import annotations

import struct
import sys
import zlib
from typing import Any

import pytest

import tlcodec
from tlcodec import DecodeError
from tlcodec import functions as F
from tlcodec import types as T
from tlcodec.mtproto import events as E
from tlcodec.mtproto.errors import BadMessageError
from tlcodec.mtproto.session import (
    MAX_CLOCK_SECONDS,
    encrypt_payload,
    minimal_padding,
)

from support import (
    GZIP_PACKED_ID,
    MSG_CONTAINER_ID,
    RPC_ERROR_ID,
    RPC_RESULT_ID,
    SessionBuild,
    memory_use,
)

AUTH_KEY = bytes((i * 73 + 19) % 256 for i in range(256))
SALT = 0x0123456789ABCDEF
SESSION_ID = 0x1122334455667788
T0 = 1707425104.25


KiB = 1 << 10
MiB = 1 << 20


def server_id(offset: float = 0.0, residue: int = 1) -> int:
    """A server msg_id `offset` seconds from T0 (1: an answer, 3: a message of its own)."""
    return (int((T0 + offset) * 2**32) & ~3) | residue


def make_client(session_build: SessionBuild, **options: Any) -> Any:
    return session_build.ClientSession(AUTH_KEY, server_salt=SALT, session_id=SESSION_ID,
                                       now=lambda: T0, **options)


def sealed(body: bytes, msg_id: int | None = None, seq_no: int = 1,
           padding_size: int | None = None) -> bytes:
    """The encrypted payload of one server message with this body (any bytes)."""
    header = struct.pack("<qqqii", SALT, SESSION_ID, server_id(1.0) if msg_id is None else msg_id,
                         seq_no, len(body))
    if padding_size is None:
        padding_size = minimal_padding(32 + len(body), bytes)
    padding = bytes(padding_size)
    return encrypt_payload(AUTH_KEY, header + body + padding, from_client=False)


def tl_bytes(data: bytes) -> bytes:
    if len(data) <= 253:
        out = bytes((len(data),)) + data
    else:
        out = b"\xfe" + len(data).to_bytes(3, "little") + data
    return out + bytes(-len(out) % 4)


def gzip_stream(data: bytes, level: int = 6) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def gzip_packed(data: bytes, level: int = 6) -> bytes:
    return struct.pack("<I", GZIP_PACKED_ID) + tl_bytes(gzip_stream(data, level))


def container(items: list[tuple[int, int, bytes]]) -> bytes:
    return struct.pack("<Ii", MSG_CONTAINER_ID, len(items)) + b"".join(
        struct.pack("<qii", msg_id, seq_no, len(body)) + body for msg_id, seq_no, body in items
    )


def rpc_result(req_msg_id: int, result: bytes) -> bytes:
    return struct.pack("<Iq", RPC_RESULT_ID, req_msg_id) + result


def sent_requests(client: Any, count: int) -> list[Any]:
    pending = [client.send(F.auth.ImportLoginToken(token=bytes([i]) * 8)) for i in range(count)]
    assert client.pack() is not None
    return pending


UPDATE = T.UpdateShort(update=T.UpdateLoginToken(), date=1707425120)
UPDATE_BODY = tlcodec.encode(UPDATE)


# ----------------------------------------------------------------------------------------------
# gzip_packed: one level


def test_gzip_packed_inside_a_gzip_packed_message_is_skipped_with_a_counted_reason(
    session_build: SessionBuild
) -> None:
    client = make_client(session_build)
    (skipped,) = client.receive(sealed(gzip_packed(gzip_packed(UPDATE_BODY))))
    assert isinstance(skipped, E.MessageSkipped) and skipped.reason == "decode_error"
    assert "gzip_packed inside a gzip_packed" in str(skipped.error)
    assert client.skipped == {"decode_error": 1}
    assert list(client._pending_acks) == [skipped.msg_id]  # content-related: acknowledged


def test_one_level_of_gzip_packed_is_inflated_at_each_place_the_protocol_puts_it(
    session_build: SessionBuild
) -> None:
    client = make_client(session_build)
    (request,) = sent_requests(client, 1)
    answer = tlcodec.encode(T.auth.LoginToken(expires=7, token=b"ok"))
    (update,) = client.receive(sealed(gzip_packed(UPDATE_BODY)))
    assert update.update == UPDATE
    item = (server_id(1.5), 1, rpc_result(request.msg_id, gzip_packed(answer)))
    (result,) = client.receive(sealed(container([item]), server_id(2.0)))
    assert isinstance(result, E.RpcResult) and result.result.token == b"ok"


def test_gzip_packed_rpc_error_fails_its_request_with_the_error(
    session_build: SessionBuild
) -> None:
    client = make_client(session_build)
    (request,) = sent_requests(client, 1)
    error = struct.pack("<Ii", RPC_ERROR_ID, 420) + tl_bytes(b"FLOOD_WAIT_3")
    (failed,) = client.receive(sealed(rpc_result(request.msg_id, gzip_packed(error))))
    assert isinstance(failed, E.RpcFailed) and failed.error.seconds == 3


def test_gzip_packed_result_inside_a_gzip_packed_message_fails_its_request(
    session_build: SessionBuild
) -> None:
    client = make_client(session_build)
    (request,) = sent_requests(client, 1)
    token = tlcodec.encode(T.auth.LoginToken(expires=7, token=b"ok"))
    answer = rpc_result(request.msg_id, gzip_packed(token))
    (failed,) = client.receive(sealed(gzip_packed(answer)))
    assert isinstance(failed, E.RpcFailed) and failed.request is request
    assert "gzip_packed inside a gzip_packed" in str(failed.error)
    assert client.skipped == {"decode_error": 1}


def test_gzip_packed_item_of_a_gzip_packed_container_is_skipped(
    session_build: SessionBuild
) -> None:
    client = make_client(session_build)
    items = [(server_id(0.5), 1, gzip_packed(UPDATE_BODY)), (server_id(0.6), 1, UPDATE_BODY)]
    skipped, update = client.receive(sealed(gzip_packed(container(items))))
    assert skipped.reason == "decode_error" and "inside a gzip_packed" in str(skipped.error)
    assert update.update == UPDATE


def test_gzip_packed_inside_an_object_is_not_inflated(session_build: SessionBuild) -> None:
    """The protocol puts gzip_packed only in place of a message or of an rpc_result's result;
    anywhere else the codec is told to inflate nothing, so the session's budget counts every
    byte a message inflates."""
    client = make_client(session_build)
    inner = tlcodec.encode(T.UpdateLoginToken())
    body = UPDATE_BODY.replace(inner, gzip_packed(inner))
    (skipped,) = client.receive(sealed(body))
    assert skipped.reason == "decode_error" and "gzip_packed" in str(skipped.error)


def nested_gzip_packed(body: bytes, layers: int) -> bytes:
    """`body` in `layers` gzip_packed, each the stored (level 0) stream of the one inside: about
    30 bytes per layer, so a few kilobytes of nesting per hundred layers."""
    for _ in range(layers):
        body = gzip_packed(body, level=0)
    return body


def test_deep_gzip_nesting_is_refused_without_recursion_or_quadratic_memory(
    session_build: SessionBuild
) -> None:
    """Before the one-level rule, every layer was inflated by a recursive call that kept the
    layer's buffer alive: memory grew with the square of the nesting, and the pure-Python
    build raised RecursionError out of receive() past the recursion limit."""
    budget = MiB
    client = make_client(session_build, max_inflated=budget)
    layers = sys.getrecursionlimit() + 500
    payload = sealed(nested_gzip_packed(UPDATE_BODY, layers))
    peak, _, events, _ = memory_use(lambda: client.receive(payload))
    assert [(type(e), e.reason) for e in events] == [(E.MessageSkipped, "decode_error")]
    assert "inside a gzip_packed" in str(events[0].error)
    bound = 8 * len(payload)
    assert peak <= bound, (
        f"{layers} layers of gzip_packed in a {len(payload)}-byte payload: receive() peaked "
        f"at {peak} bytes, above {bound} (8x the payload)")


# ----------------------------------------------------------------------------------------------
# gzip_packed: one inflation budget per received message


def big_token_update(size: int) -> bytes:
    """An object that keeps `size` bytes alive after decoding (received as an Update)."""
    return tlcodec.encode(T.auth.LoginToken(expires=1, token=bytes(size)))


def test_gzip_packed_messages_of_a_container_share_one_inflation_budget(
    session_build: SessionBuild
) -> None:
    budget = MiB
    count = 16
    client = make_client(session_build, max_inflated=budget)
    body = gzip_packed(big_token_update(budget - 16))
    items = [(server_id(0.5 + i / 1000), 1, body) for i in range(count)]
    payload = sealed(container(items), server_id(1.0))
    peak, _, events, _ = memory_use(lambda: client.receive(payload))
    assert [type(e) for e in events] == [E.Update] + [E.MessageSkipped] * (count - 1)
    assert all("budget" in str(e.error) for e in events[1:])
    assert client.skipped == {"decode_error": count - 1}
    bound = 3 * (len(payload) + budget)
    assert peak <= bound, (
        f"{count} gzip_packed of {budget - 16 + 8} bytes each in a {len(payload)}-byte payload, "
        f"budget {budget}: receive() peaked at {peak} bytes, above {bound}")


def test_gzip_packed_results_of_a_container_share_one_inflation_budget(
    session_build: SessionBuild
) -> None:
    budget = MiB
    count = 8
    client = make_client(session_build, max_inflated=budget)
    requests = sent_requests(client, count)
    answer = gzip_packed(big_token_update(budget - 16))
    items = [(server_id(0.5 + i / 1000), 1, rpc_result(request.msg_id, answer))
             for i, request in enumerate(requests)]
    payload = sealed(container(items), server_id(1.0))
    peak, _, events, _ = memory_use(lambda: client.receive(payload))
    assert [type(e) for e in events] == [E.RpcResult] + [E.RpcFailed] * (count - 1)
    assert all("budget" in str(e.error) for e in events[1:])
    bound = 3 * (len(payload) + budget)
    assert peak <= bound, (
        f"{count} gzip_packed results of {budget - 16 + 8} bytes each in a {len(payload)}-byte "
        f"payload, budget {budget}: receive() peaked at {peak} bytes, above {bound}")


def test_the_budget_is_per_message_and_refused_before_it_is_spent(
    session_build: SessionBuild
) -> None:
    budget = MiB
    client = make_client(session_build, max_inflated=budget)
    body = gzip_packed(big_token_update(budget - 16))
    for second in (1.0, 2.0):  # each message has the whole budget
        (update,) = client.receive(sealed(body, server_id(second)))
        assert isinstance(update, E.Update)
    bomb = sealed(gzip_packed(bytes(64 * budget)), server_id(3.0))  # 64 MiB of zeros
    peak, _, (skipped,), _ = memory_use(lambda: client.receive(bomb))
    assert skipped.reason == "decode_error" and "budget" in str(skipped.error)
    bound = 2 * budget + 8 * len(bomb)
    assert peak <= bound, (
        f"a {len(bomb)}-byte payload inflating to {64 * budget} bytes, budget {budget}: "
        f"receive() peaked at {peak} bytes, above {bound}")


# ----------------------------------------------------------------------------------------------
# msg_container: every check of its layout, each one load-bearing


def skipped_container(client: Any, body: bytes) -> E.MessageSkipped:
    """The one event of a container the client must skip as a whole (nothing in it used)."""
    events = client.receive(sealed(body, server_id(1.0), seq_no=2))
    assert [(type(e), e.reason) for e in events] == [(E.MessageSkipped, "bad_container")], events
    assert client.skipped == {"bad_container": 1}
    assert not client._pending_acks  # no item was taken: none is acknowledged
    return events[0]


UNKNOWN_4 = struct.pack("<I", 0x5E2AD36E)  # rpc_answer_unknown: a whole object in 4 bytes
ITEM_ID = server_id(0.5)


def test_container_body_without_a_count_is_skipped(session_build: SessionBuild) -> None:
    error = skipped_container(make_client(session_build), struct.pack("<I", MSG_CONTAINER_ID)).error
    assert "without a count" in str(error)


def test_container_count_outside_0_to_1024_is_skipped(session_build: SessionBuild) -> None:
    negative = struct.pack("<Ii", MSG_CONTAINER_ID, -1)
    assert "outside" in str(skipped_container(make_client(session_build), negative).error)
    items = [(server_id(0.5 - i / 4096), 1, UNKNOWN_4) for i in range(1025)]
    assert "outside" in str(skipped_container(make_client(session_build), container(items)).error)
    client = make_client(session_build)
    events = client.receive(sealed(container(items[:1024]), server_id(1.0)))
    assert len(events) == 1024 and all(isinstance(e, E.ServiceMessage) for e in events)


def test_container_item_not_below_the_container_id_is_skipped(session_build: SessionBuild) -> None:
    body = container([(server_id(1.0), 1, UPDATE_BODY)])  # the container's own id
    assert "not below" in str(skipped_container(make_client(session_build), body).error)


def test_container_nested_in_a_container_skips_the_whole_outer_one(
    session_build: SessionBuild
) -> None:
    nested = container([(server_id(0.4), 1, UPDATE_BODY)])
    body = container([(server_id(0.3), 1, UPDATE_BODY), (ITEM_ID, 0, nested)])
    assert "nested" in str(skipped_container(make_client(session_build), body).error)


def test_container_with_bytes_after_its_items_is_skipped(session_build: SessionBuild) -> None:
    body = container([(ITEM_ID, 1, UPDATE_BODY)]) + bytes(4)
    skipped = skipped_container(make_client(session_build), body)
    assert "after the msg_container items" in str(skipped.error)


def test_container_item_header_cut_short_is_skipped(session_build: SessionBuild) -> None:
    body = container([(ITEM_ID, 1, UPDATE_BODY)])[: 8 + 12]
    assert "truncated" in str(skipped_container(make_client(session_build), body).error)


def test_container_item_length_that_is_no_message_is_skipped(session_build: SessionBuild) -> None:
    for length in (0, -4, 5, 6, 7, len(UPDATE_BODY) + 4):
        body = struct.pack("<Iiqii", MSG_CONTAINER_ID, 1, ITEM_ID, 1, length) + UPDATE_BODY
        skipped = skipped_container(make_client(session_build), body)
        assert "bytes with" in str(skipped.error), length


# ----------------------------------------------------------------------------------------------
# The time-window exemption of notifications about our own messages


def bad_server_salt(bad_msg_id: int) -> bytes:
    return struct.pack("<Iqiiq", 0xEDAB447B, bad_msg_id, 0, 48, SALT + 1)


def test_a_late_container_is_exempt_only_if_every_item_is_a_notification_about_ours(
    session_build: SessionBuild
) -> None:
    """400 s behind our clock: processed only as a container of notifications about msg_ids
    we sent (how a wrong clock gets corrected); a mixed or an empty one is dropped."""
    late = server_id(-400.0)
    client = make_client(session_build)
    (request,) = sent_requests(client, 1)
    notice = (server_id(-400.6), 0, bad_server_salt(request.msg_id))
    mixed = container([notice, (server_id(-400.5), 1, UPDATE_BODY)])
    assert client.receive(sealed(mixed, late, seq_no=0)) == [E.MessageDropped("msg_id_too_old")]
    assert client.receive(sealed(container([]), late, seq_no=0)) == [
        E.MessageDropped("msg_id_too_old")]
    events = client.receive(sealed(container([notice]), late, seq_no=0))
    assert [type(e) for e in events] == [E.ServerSaltChanged, E.RequestsResent]


# ----------------------------------------------------------------------------------------------
# Lengths at their limits: gzip_packed, rpc_result, a message body


def test_gzip_packed_message_must_be_one_whole_stream_of_whole_words(
    session_build: SessionBuild
) -> None:
    stream = gzip_stream(UPDATE_BODY)
    cases = {
        "truncated": struct.pack("<I", GZIP_PACKED_ID) + tl_bytes(stream[:-6]),
        "bytes after its gzip stream":
            struct.pack("<I", GZIP_PACKED_ID) + tl_bytes(stream + stream),
        "inflates to 6 bytes": gzip_packed(UPDATE_BODY[:6]),
        "inflates to 0 bytes": gzip_packed(b""),
    }
    for expected, body in cases.items():
        client = make_client(session_build)
        (skipped,) = client.receive(sealed(body))
        assert skipped.reason == "decode_error" and expected in str(skipped.error), expected
        assert client.skipped == {"decode_error": 1}


def test_four_byte_bodies_are_whole_messages(session_build: SessionBuild) -> None:
    client = make_client(session_build)
    (alone,) = client.receive(sealed(UNKNOWN_4, server_id(1.0)))
    (inflated,) = client.receive(sealed(gzip_packed(UNKNOWN_4), server_id(2.0)))
    assert alone.message == inflated.message == T.RpcAnswerUnknown()
    (empty,) = client.receive(sealed(b"", server_id(3.0)))
    assert empty.reason == "decode_error" and "empty" in str(empty.error)
    assert client.skipped == {"decode_error": 1}


def test_rpc_result_with_a_four_byte_result_resolves_its_request(
    session_build: SessionBuild
) -> None:
    client = make_client(session_build)
    request = client.send(F.RpcDropAnswer(req_msg_id=42))
    assert client.pack() is not None
    body = rpc_result(request.msg_id, UNKNOWN_4)
    assert len(body) == 16
    (truncated,) = client.receive(sealed(body[:12], server_id(1.0)))
    assert truncated.reason == "decode_error" and request.state == "sent"
    (result,) = client.receive(sealed(body, server_id(2.0)))
    assert isinstance(result, E.RpcResult) and result.result == T.RpcAnswerUnknown()


# ----------------------------------------------------------------------------------------------
# future_salts: only as the answer to our get_future_salts


def future_salts(req_msg_id: int) -> bytes:
    return tlcodec.encode(T.FutureSalts(req_msg_id=req_msg_id, now=int(T0), salts=[
        T.FutureSalt(valid_since=int(T0), valid_until=int(T0) + 1800, salt=SALT + 5)]))


def test_future_salts_answering_nothing_of_ours_is_skipped(session_build: SessionBuild) -> None:
    client = make_client(session_build)
    (skipped,) = client.receive(sealed(future_salts(12345)))
    assert skipped.reason == "unmatched_answer" and client.future_salts == []


def test_future_salts_answering_another_request_is_skipped(session_build: SessionBuild) -> None:
    client = make_client(session_build)
    (request,) = sent_requests(client, 1)
    (skipped,) = client.receive(sealed(future_salts(request.msg_id)))
    assert skipped.reason == "unmatched_answer"
    assert client.future_salts == [] and request.state == "sent"
    salts_request = client.send(F.GetFutureSalts(num=1))
    assert client.pack() is not None
    (result,) = client.receive(sealed(future_salts(salts_request.msg_id), server_id(2.0)))
    assert result.request is salts_request and client.future_salts[0].salt == SALT + 5


# ----------------------------------------------------------------------------------------------
# The messages of a container pass the msg_id checks of a message alone


def test_container_item_with_an_even_msg_id_skips_the_container(
    session_build: SessionBuild
) -> None:
    for residue in (0, 2):
        body = container([(server_id(0.4), 1, UPDATE_BODY),
                          (server_id(0.5, residue), 1, UPDATE_BODY)])
        error = skipped_container(make_client(session_build), body).error
        assert "even" in str(error) and "msg_id_parity" in str(error)


def test_container_item_older_than_the_time_window_skips_the_container(
    session_build: SessionBuild
) -> None:
    body = container([(server_id(-300.5), 1, UPDATE_BODY), (server_id(0.5), 1, UPDATE_BODY)])
    assert "msg_id_too_old" in str(skipped_container(make_client(session_build), body).error)
    # The bound is the one of a message alone: 300 s is not too old.
    client = make_client(session_build)
    events = client.receive(sealed(container([(server_id(-299.0), 1, UPDATE_BODY)]), seq_no=2))
    assert [type(e) for e in events] == [E.Update]


def test_a_late_notification_about_ours_in_a_fresh_container_is_processed(
    session_build: SessionBuild
) -> None:
    client = make_client(session_build)
    (request,) = sent_requests(client, 1)
    items = [(server_id(-400.0), 0, bad_server_salt(request.msg_id)),
             (server_id(0.5), 1, UPDATE_BODY)]
    events = client.receive(sealed(container(items), seq_no=2))
    assert [type(e) for e in events] == [E.ServerSaltChanged, E.RequestsResent, E.Update]


# ----------------------------------------------------------------------------------------------
# A repeated notification about one container


def test_repeated_bad_server_salt_about_a_container_requeues_its_other_messages_once(
    session_build: SessionBuild
) -> None:
    client = make_client(session_build)
    state_request = tlcodec.encode(T.MsgsStateReq(msg_ids=[5]))
    client.enqueue(state_request, content_related=False)
    request = client.send(F.auth.ImportLoginToken(token=b"t"))
    assert client.pack() is not None
    container_id = request.container_msg_id
    assert container_id is not None
    events = client.receive(sealed(bad_server_salt(container_id), server_id(1.0), seq_no=0))
    assert [type(e) for e in events] == [E.ServerSaltChanged, E.RequestsResent]
    assert [item.body for item in client._queue] == [state_request, request.body]
    assert client.pack() is not None  # both go out again, in a new container
    client.receive(sealed(bad_server_salt(container_id), server_id(2.0), seq_no=0))
    assert not client._queue and client.pack() is None


# ----------------------------------------------------------------------------------------------
# Every bound of the receive side at its limit: the last value accepted, the first refused


def test_a_payload_of_an_odd_length_is_dropped_before_decryption(
    session_build: SessionBuild
) -> None:
    client = make_client(session_build)
    assert client.receive(sealed(UPDATE_BODY) + b"\0") == [E.MessageDropped("length")]


def test_container_count_reads_as_a_signed_int(session_build: SessionBuild) -> None:
    body = struct.pack("<II", MSG_CONTAINER_ID, 0x80000000)
    skipped = skipped_container(make_client(session_build), body)
    assert "count -2147483648 is outside" in str(skipped.error)


def test_an_empty_container_is_no_error(session_build: SessionBuild) -> None:
    client = make_client(session_build)
    assert client.receive(sealed(container([]), seq_no=2)) == []
    assert client.skipped == {} and client.dropped == {}


def test_container_item_header_ending_the_body_is_read_before_its_missing_body(
    session_build: SessionBuild
) -> None:
    body = container([(ITEM_ID, 1, UPDATE_BODY)])
    head = struct.pack("<Ii", MSG_CONTAINER_ID, 2)
    body = head + body[8:] + struct.pack("<qii", ITEM_ID + 4, 1, 4)
    error = skipped_container(make_client(session_build), body).error
    assert "item of 4 bytes with 0 left" in str(error)


def test_padding_of_1024_bytes_is_the_most_accepted(session_build: SessionBuild) -> None:
    client = make_client(session_build)
    request = client.send(F.RpcDropAnswer(req_msg_id=42))
    assert client.pack() is not None
    body = rpc_result(request.msg_id, UNKNOWN_4)  # 16 bytes: 32 + 16 + 1024 is whole blocks
    assert client.receive(sealed(body, server_id(1.0), padding_size=1024 + 16)) == [
        E.MessageDropped("padding")]
    (result,) = client.receive(sealed(body, server_id(2.0), padding_size=1024))
    assert isinstance(result, E.RpcResult) and result.request is request


WHOLE_SECOND = 1707425104.0  # a clock on a whole second: ages come out exact


def whole_second_client(session_build: SessionBuild) -> Any:
    return session_build.ClientSession(AUTH_KEY, server_salt=SALT, session_id=SESSION_ID,
                                       now=lambda: WHOLE_SECOND)


def id_at_second(offset: int, fraction: int = 4) -> int:
    """A server msg_id in the second `offset` from WHOLE_SECOND (`fraction`: its low half)."""
    return (int(WHOLE_SECOND) + offset) << 32 | fraction | 1


def test_a_message_exactly_300_s_old_or_30_s_ahead_is_in_the_window(
    session_build: SessionBuild
) -> None:
    for offset in (-300, 30):
        client = whole_second_client(session_build)
        (event,) = client.receive(sealed(UPDATE_BODY, id_at_second(offset)))
        assert isinstance(event, E.Update), offset
    assert whole_second_client(session_build).receive(sealed(UPDATE_BODY, id_at_second(-301))) == [
        E.MessageDropped("msg_id_too_old")]
    assert whole_second_client(session_build).receive(sealed(UPDATE_BODY, id_at_second(31))) == [
        E.MessageDropped("msg_id_too_new")]


def test_a_container_item_exactly_300_s_old_is_in_the_window(session_build: SessionBuild) -> None:
    client = whole_second_client(session_build)
    items = [(id_at_second(-300), 1, UPDATE_BODY), (id_at_second(0), 1, UPDATE_BODY)]
    events = client.receive(sealed(container(items), id_at_second(0, 8), seq_no=2))
    assert [type(e) for e in events] == [E.Update, E.Update]


def test_a_late_message_too_short_to_name_a_msg_id_is_dropped_as_late(
    session_build: SessionBuild
) -> None:
    client = make_client(session_build)
    sent_requests(client, 1)
    assert client.receive(sealed(b"", server_id(-400.0))) == [E.MessageDropped("msg_id_too_old")]


def test_a_late_message_naming_a_msg_id_of_ours_passes_the_time_check_then_is_judged_whole(
    session_build: SessionBuild
) -> None:
    # Its first 12 bytes (a notification's constructor and bad_msg_id) decide the exemption;
    # a notification cut there is then skipped as damaged, not dropped as late.
    client = make_client(session_build)
    (request,) = sent_requests(client, 1)
    cut = struct.pack("<Iq", 0xEDAB447B, request.msg_id)
    (skipped,) = client.receive(sealed(cut, server_id(-400.0), seq_no=0))
    assert skipped.reason == "decode_error" and client.dropped == {}


def test_gzip_packed_that_is_not_gzip_is_skipped(session_build: SessionBuild) -> None:
    client = make_client(session_build)
    body = struct.pack("<I", GZIP_PACKED_ID) + tl_bytes(b"not a gzip stream at all")
    (skipped,) = client.receive(sealed(body))
    assert skipped.reason == "decode_error" and "not valid gzip" in str(skipped.error)


def test_gzip_packed_may_inflate_to_exactly_the_budget(session_build: SessionBuild) -> None:
    exact = make_client(session_build, max_inflated=len(UPDATE_BODY))
    (event,) = exact.receive(sealed(gzip_packed(UPDATE_BODY)))
    assert isinstance(event, E.Update)
    short = make_client(session_build, max_inflated=len(UPDATE_BODY) - 1)
    (skipped,) = short.receive(sealed(gzip_packed(UPDATE_BODY)))
    assert skipped.reason == "decode_error" and "inflate past" in str(skipped.error)


def test_a_gzip_packed_container_item_holding_a_container_is_skipped(
    session_build: SessionBuild
) -> None:
    inner = container([(server_id(0.2), 1, UPDATE_BODY)])
    body = container([(server_id(0.4), 1, gzip_packed(inner)), (ITEM_ID, 1, UPDATE_BODY)])
    client = make_client(session_build)
    events = client.receive(sealed(body, seq_no=2))
    assert [(type(e), getattr(e, "reason", None)) for e in events] == [
        (E.MessageSkipped, "bad_container"), (E.Update, None)]
    assert "msg_container where a message was expected" in str(events[0].error)


def test_destroy_session_ok_resolves_its_request_beside_other_requests(
    session_build: SessionBuild
) -> None:
    client = make_client(session_build)
    (other,) = sent_requests(client, 1)
    destroy = client.send(F.DestroySession(session_id=SESSION_ID + 1))
    assert client.pack() is not None
    answer = tlcodec.encode(T.DestroySessionOk(session_id=SESSION_ID + 1))
    (result,) = client.receive(sealed(answer))
    assert isinstance(result, E.RpcResult) and result.request is destroy
    assert other.state == "sent"


def test_bad_msg_notification_about_a_msg_id_not_ours_is_skipped(
    session_build: SessionBuild
) -> None:
    client = make_client(session_build)
    (request,) = sent_requests(client, 1)
    for code in (16, 20, 32, 64):
        notice = struct.pack("<Iqii", 0xA7EFF811, request.msg_id + 4, 0, code)
        (skipped,) = client.receive(sealed(notice, server_id(1.0 + code / 100), seq_no=0))
        assert skipped.reason == "unmatched_answer", code
    assert request.state == "sent" and client.time_offset == 0


def test_a_container_item_is_an_rpc_result_by_its_first_four_bytes_only(
    session_build: SessionBuild
) -> None:
    # An unknown constructor whose bytes, read from the last one round, would spell rpc_result.
    lookalike = bytes([0x6D, 0x5C, 0xF3, 0x00]) + bytes(11) + b"\x01"
    client = make_client(session_build)
    events = client.receive(sealed(container([(ITEM_ID, 1, lookalike)]), seq_no=2))
    assert [(e.msg_id, e.reason) for e in events] == [(ITEM_ID, "unknown_constructor")]


def clock_correction(client: Any, server_msg_id: int) -> list[Any]:
    """The events of a bad_msg_notification 16 (msg_id too low) about our one request, sent
    under `server_msg_id`, whose time the client would take as the server's clock."""
    (request,) = sent_requests(client, 1)
    notice = tlcodec.encode(T.BadMsgNotification(bad_msg_id=request.msg_id, bad_msg_seqno=1,
                                                 error_code=16))
    return client.receive(sealed(notice, server_msg_id, seq_no=0))


@pytest.mark.parametrize("server_msg_id, seconds", [
    (1, "just after 1970-01-01"),
    ((MAX_CLOCK_SECONDS - 1) << 32 | 1, "a day before 2038-01-19"),
])
def test_a_time_correction_inside_what_msg_ids_carry_moves_the_clock(
        session_build: SessionBuild, server_msg_id: int, seconds: str) -> None:
    client = make_client(session_build)
    events = clock_correction(client, server_msg_id)
    assert [type(event) for event in events] == [E.TimeOffsetChanged, E.RequestsResent], seconds
    assert client.time_offset == pytest.approx((server_msg_id >> 32) - T0, abs=1.0)


@pytest.mark.parametrize("server_msg_id, seconds", [
    (-(1 << 32) | 1, "less than a second before 1970"),
    (MAX_CLOCK_SECONDS << 32 | 1, "just past the last day msg_ids carry"),
])
def test_a_time_correction_outside_what_msg_ids_carry_fails_the_request(
        session_build: SessionBuild, server_msg_id: int, seconds: str) -> None:
    client = make_client(session_build)
    (failed,) = clock_correction(client, server_msg_id)
    assert isinstance(failed, E.RpcFailed), seconds
    assert isinstance(failed.error, BadMessageError) and failed.error.code == 16
    assert client.time_offset == 0
