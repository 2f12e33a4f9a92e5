"""What the client does when a test DC misbehaves: a connection dropped before or after the
server ran a call, answers that come late or never, `bad_server_salt`, a DC clock outside the
msg_id window (bad_msg_notification 16/17), other crafted bad_msg_notifications, garbage and
forged frames, and transport errors -404, -429 and -444 sent over the wire.

The faults come from the server, through the test DC's hooks (`DataCentres.request_hook`,
`clock_offset`, `change_server_salt`, `forget_auth_keys`, `send_transport_error`, `send_raw`,
`drop_connections`), so the client sees them as it would from a real DC. For every fault the
`Ledger` counts, per request, how often the server's world ran it (idempotency is not assumed)
and how many answers the client's connection let through to a caller; every call must end
exactly once (its result or a typed error), nothing may stay pending, and no task may be left.
tests/test_client.py has the faults injected on the client side (forged bytes fed to the
connection, transport errors parsed locally, a client that stops writing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import struct
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any, Callable

import pytest

import tlcodec
from tlcodec import functions, types
from tlcodec.client import Client
from tlcodec.mtproto.errors import (
    AuthKeyUnregisteredError,
    BadMessageError,
    TransportError,
)
from tlcodec.mtproto.events import (
    RpcFailed,
    RpcResult,
    ServerSaltChanged,
    SessionReset,
    TimeOffsetChanged,
)
from tlcodec.testing import DataCentres, HeldRequest

from support import authorize_new_account, client_for, cluster, run_scenario

TAG_BASE = 7_000_000_000  # user ids no account has: the tag rides in the request, not the answer
CLOCK_JUMP = 1000.0  # seconds: far outside the msg_id window (300 s back, 30 s ahead)


def _client(dcs: DataCentres, session: Any = None, **options: Any) -> Client:
    """A client of DC 2 that reconnects at once (the faults here close its connections)."""
    options.setdefault("reconnect_delay", 0.01)
    options.setdefault("max_reconnect_delay", 0.1)
    return client_for(dcs, 2, session, **options)


async def _log_in(dcs: DataCentres, client: Client) -> Any:
    """Log the client's DC 2 key in as a new account (test DC shortcut), and make one round
    trip: the connection's init call is answered and the DC has the session before a fault."""
    account = authorize_new_account(dcs, client)
    assert (await client.get_me()).id == account.user_id
    return account


def tagged(tag: int) -> Any:
    """`users.getUsers([inputUserSelf, inputUser(<tag>)])`: answered `[me]` (the unknown user is
    left out), and recognisable on both sides by its tag."""
    return functions.users.GetUsers(id=[
        types.InputUserSelf(), types.InputUser(user_id=TAG_BASE + tag, access_hash=0)])


def tag_of(request: Any) -> int | None:
    if request.TL_NAME == "users.getUsers" and len(request.id) == 2:
        return int(request.id[1].user_id - TAG_BASE)
    return None


class Ledger:
    """Per tagged request: how often the server ran it (`executed`), and how many answers
    (RpcResult or RpcFailed events) the client's connection dispatched (`answered`); also
    every session event kind the connection saw (`events`) and the requests the server was
    shown (`seen`, before any hook decides)."""

    def __init__(self, dcs: DataCentres) -> None:
        self.executed: Counter[int] = Counter()
        self.answered: Counter[int] = Counter()
        self.seen: Counter[int] = Counter()
        self.events: Counter[type] = Counter()
        real_invoke = dcs.world.invoke

        def counting_invoke(caller: Any, request: Any) -> Any:
            tag = tag_of(request)
            if tag is not None:
                self.executed[tag] += 1
            return real_invoke(caller, request)

        dcs.world.invoke = counting_invoke  # type: ignore[method-assign]
        self._dcs = dcs
        self._hook: Callable[[HeldRequest, int], bool] | None = None
        dcs.request_hook = self._on_request

    def hook(self, hook: Callable[[HeldRequest, int], bool]) -> None:
        """`hook(held, sighting)` for tagged requests (sighting 1 = first time the server sees
        that tag); True takes the request away from the world."""
        self._hook = hook

    def _on_request(self, held: HeldRequest) -> bool:
        tag = tag_of(held.request)
        if tag is None:
            return False
        self.seen[tag] += 1
        return self._hook is not None and self._hook(held, self.seen[tag])

    def watch(self, client: Client) -> Any:
        """Count what DC 2's connection of `client` dispatches; returns the connection."""
        connection = client.connection(2)
        assert connection is not None
        real_dispatch = connection._dispatch

        def counting_dispatch(event: Any) -> bool:
            self.events[type(event)] += 1
            if isinstance(event, (RpcResult, RpcFailed)):
                tag = tag_of(event.request.request)
                if tag is not None:
                    self.answered[tag] += 1
            return real_dispatch(event)

        connection._dispatch = counting_dispatch  # type: ignore[method-assign]
        return connection


@contextlib.asynccontextmanager
async def _watched(**client_options: Any) -> AsyncIterator[tuple[Any, ...]]:
    """The stage of most scenarios here: DC 2 started, a client of it logged in with one round
    trip done, then a ledger on both sides; yields (dcs, client, account, ledger, connection)."""
    async with cluster(dc_ids=(2,)) as dcs, _client(dcs, **client_options) as client:
        account = await _log_in(dcs, client)
        ledger = Ledger(dcs)
        yield dcs, client, account, ledger, ledger.watch(client)


def _assert_settled(connection: Any) -> None:
    """Nothing in flight on the client, nothing left in its session's pending table."""
    assert connection.in_flight == 0
    assert connection.session.pending_requests == []


async def _eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (bounded) until `condition()` holds: for what the server does after a call ended."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.005)


# ----------------------------------------------------------------------------------------------
# Dropped connections


@pytest.mark.parametrize("when", ["before-running-it", "after-running-it"])
def test_connection_dropped_mid_request_resends_it_and_answers_it_once(when: str) -> None:
    async def scenario() -> None:
        async with _watched() as (dcs, client, account, ledger, connection):

            def drop(held: HeldRequest, sighting: int) -> bool:
                if sighting > 1:
                    return False
                dcs.drop_connections(2)
                if when == "after-running-it":
                    held.answer()  # run, answer queued in the session: the wire is gone
                return True

            ledger.hook(drop)
            users = await client.invoke(tagged(1))
            assert [user.id for user in users] == [account.user_id]
            assert connection.connections_made == 2
            assert ledger.seen[1] == 2  # the first time, and the resend
            assert ledger.answered[1] == 1
            if when == "before-running-it":
                assert ledger.executed[1] == 1
            else:
                # No idempotency assumed: the server ran it twice (the resend is a new message)
                # and sent both answers when the client came back in the same session; the
                # client delivered the first and skipped the other.
                assert ledger.executed[1] == 2
                await _eventually(lambda: connection.session.skipped["unmatched_answer"] == 1)
            _assert_settled(connection)

    run_scenario(scenario)


def test_connection_dropped_three_times_before_the_server_runs_the_call() -> None:
    async def scenario() -> None:
        async with _watched() as (dcs, client, account, ledger, connection):

            def drop_thrice(held: HeldRequest, sighting: int) -> bool:
                if sighting <= 3:
                    dcs.drop_connections(2)
                    return True
                return False

            ledger.hook(drop_thrice)
            users = await client.invoke(tagged(1))
            assert [user.id for user in users] == [account.user_id]
            assert (ledger.seen[1], ledger.executed[1], ledger.answered[1]) == (4, 1, 1)
            assert connection.connections_made == 4
            _assert_settled(connection)

    run_scenario(scenario)


def test_drop_in_the_middle_of_a_pipelined_batch_answers_each_call_once() -> None:
    async def scenario() -> None:
        async with _watched() as (dcs, client, account, ledger, connection):

            def drop_at_the_tenth(held: HeldRequest, sighting: int) -> bool:
                if tag_of(held.request) == 10 and sighting == 1:
                    dcs.drop_connections(2)
                return False  # the world runs every call; answers after the drop are lost

            ledger.hook(drop_at_the_tenth)
            results = await asyncio.gather(*(client.invoke(tagged(i)) for i in range(30)))
            assert all([user.id for user in users] == [account.user_id] for users in results)
            tags = range(30)
            assert all(ledger.answered[t] == 1 for t in tags), ledger.answered
            # The batch was one container: the server ran all of it, lost every answer with the
            # connection, and ran it all again when the client resent it.
            assert all(1 <= ledger.executed[t] <= 2 for t in tags), ledger.executed
            assert connection.connections_made == 2
            _assert_settled(connection)

    run_scenario(scenario)


# ----------------------------------------------------------------------------------------------
# Late answers and no answers


def test_late_answer_within_the_timeout_is_delivered_once() -> None:
    async def scenario() -> None:
        async with _watched() as (dcs, client, account, ledger, connection):
            loop = asyncio.get_running_loop()
            ledger.hook(lambda held, sighting: loop.call_later(0.2, held.answer) is not None)
            users = await client.invoke(tagged(1), timeout=5)
            assert [user.id for user in users] == [account.user_id]
            assert (ledger.executed[1], ledger.answered[1]) == (1, 1)
            assert connection.connections_made == 1
            _assert_settled(connection)

    run_scenario(scenario)


def test_late_answer_after_the_timeout_is_skipped_not_delivered() -> None:
    async def scenario() -> None:
        async with _watched() as (dcs, client, account, ledger, connection):
            loop = asyncio.get_running_loop()
            late = loop.create_future()

            def answer_late(held: HeldRequest, sighting: int) -> bool:
                def answer() -> None:
                    held.answer()
                    late.set_result(None)

                loop.call_later(0.3, answer)
                return True

            ledger.hook(answer_late)
            with pytest.raises(TimeoutError, match="users.getUsers got no answer"):
                await client.invoke(tagged(1), timeout=0.1)
            _assert_settled(connection)
            await asyncio.wait_for(late, 5)
            await _eventually(lambda: connection.session.skipped["unmatched_answer"] == 1)
            assert (ledger.executed[1], ledger.answered[1]) == (1, 0)
            # The connection carries on.
            ledger.hook(lambda held, sighting: False)
            assert [u.id for u in await client.invoke(tagged(2))] == [account.user_id]
            assert connection.connections_made == 1
            _assert_settled(connection)

    run_scenario(scenario)


def test_server_that_never_answers_times_out_at_the_clients_timeout_and_keeps_nothing() -> None:
    async def scenario() -> None:
        async with _watched(request_timeout=0.5) as (dcs, client, account, ledger, connection):
            ledger.hook(lambda held, sighting: tag_of(held.request) == 1)  # 1: never answered
            with pytest.raises(TimeoutError, match="within 0.5 s"):
                await client.invoke(tagged(1))
            _assert_settled(connection)
            # A reconnect does not bring the abandoned call back.
            dcs.drop_connections(2)
            assert [u.id for u in await client.invoke(tagged(2))] == [account.user_id]
            assert connection.connections_made == 2
            assert (ledger.seen[1], ledger.executed[1], ledger.answered[1]) == (1, 0, 0)
            assert (ledger.executed[2], ledger.answered[2]) == (1, 1)
            _assert_settled(connection)

    run_scenario(scenario)


# ----------------------------------------------------------------------------------------------
# Salt and clock


def test_bad_server_salt_updates_the_salt_and_resends_each_call_once() -> None:
    async def scenario() -> None:
        async with _watched() as (dcs, client, account, ledger, connection):
            old_salt = connection.server_salt
            new_salt = dcs.change_server_salt(2)  # the old one is refused from now on
            results = await asyncio.gather(*(client.invoke(tagged(i)) for i in range(20)))
            assert all([user.id for user in users] == [account.user_id] for users in results)
            assert all((ledger.executed[t], ledger.answered[t]) == (1, 1) for t in range(20))
            assert ledger.events[ServerSaltChanged] == 1
            assert connection.server_salt == new_salt != old_salt
            assert client.session.dc(2).server_salt == new_salt  # kept for the next run
            assert connection.connections_made == 1
            _assert_settled(connection)

    run_scenario(scenario)


def test_stored_salt_refused_on_reconnect_lets_no_call_overtake_the_init() -> None:
    # A session saved with a salt the DC no longer accepts: the init message of the next run
    # gets bad_server_salt and is resent; calls made right after connect() must still reach
    # the DC after initConnection (the test DC refuses calls before it, as Telegram may).
    async def scenario() -> None:
        async with cluster(dc_ids=(2,)) as dcs:
            async with _client(dcs) as first:
                account = await _log_in(dcs, first)
            session = first.session
            dcs.change_server_salt(2)
            ledger = Ledger(dcs)
            order: list[str] = []
            real_invoke = dcs.world.invoke

            def recording_invoke(caller: Any, request: Any) -> Any:
                order.append(request.TL_NAME)
                return real_invoke(caller, request)

            dcs.world.invoke = recording_invoke  # type: ignore[method-assign]
            async with _client(dcs, session=session) as client:
                connection = ledger.watch(client)
                results = await asyncio.gather(*(client.invoke(tagged(i)) for i in range(20)))
                assert all([u.id for u in users] == [account.user_id] for users in results)
                assert order[0] == "invokeWithLayer" and order.count("invokeWithLayer") == 1
                assert all((ledger.executed[t], ledger.answered[t]) == (1, 1) for t in range(20))
                assert ledger.events[ServerSaltChanged] == 1
                assert connection.connections_made == 1
                _assert_settled(connection)

    run_scenario(scenario)


def test_salt_changed_with_the_old_one_still_valid_needs_no_resend() -> None:
    async def scenario() -> None:
        async with _watched() as (dcs, client, account, ledger, connection):
            old_salt = connection.server_salt
            dcs.change_server_salt(2, keep_previous=True)
            await client.invoke(tagged(1))
            assert (ledger.executed[1], ledger.answered[1]) == (1, 1)
            assert ledger.events[ServerSaltChanged] == 0 and connection.server_salt == old_salt

    run_scenario(scenario)


def test_dc_clock_ahead_mid_session_gives_16_and_the_client_corrects_its_offset() -> None:
    async def scenario() -> None:
        async with _watched() as (dcs, client, account, ledger, connection):
            dcs.clock_offset = CLOCK_JUMP  # our msg_ids are now 1000 s too old for the DC
            users = await client.invoke(tagged(1))
            assert [user.id for user in users] == [account.user_id]
            assert (ledger.executed[1], ledger.answered[1]) == (1, 1)
            assert ledger.events[TimeOffsetChanged] == 1
            assert abs(connection.time_offset - CLOCK_JUMP) < 5
            assert abs(client.session.dc(2).time_offset - CLOCK_JUMP) < 5
            assert connection.connections_made == 1
            _assert_settled(connection)

    run_scenario(scenario)


def test_dc_clock_going_back_mid_session_fails_the_call_typed_after_the_resends() -> None:
    # The DC's own msg_ids may not go back within the session, so its bad_msg_notification 17
    # carries its old time: the client has nothing to correct with. It resends up to its
    # limit, then the call fails with a typed error; nothing hangs, nothing runs.
    async def scenario() -> None:
        async with _watched() as (dcs, client, account, ledger, connection):
            dcs.clock_offset = -CLOCK_JUMP
            with pytest.raises(BadMessageError) as caught:
                await client.invoke(tagged(1))
            assert caught.value.code == 17
            assert (ledger.seen[1], ledger.executed[1], ledger.answered[1]) == (0, 0, 1)
            assert abs(connection.time_offset) < 5
            _assert_settled(connection)

    run_scenario(scenario)


def test_local_clock_jumping_ahead_mid_session_gives_17_and_the_client_corrects_it() -> None:
    async def scenario() -> None:
        async with _watched() as (dcs, client, account, ledger, connection):
            connection.session.time_offset += CLOCK_JUMP  # as if our clock jumped 1000 s ahead
            users = await client.invoke(tagged(1))
            assert [user.id for user in users] == [account.user_id]
            assert (ledger.executed[1], ledger.answered[1]) == (1, 1)
            assert ledger.events[TimeOffsetChanged] == 1
            assert abs(connection.time_offset) < 5
            assert connection.connections_made == 1
            _assert_settled(connection)

    run_scenario(scenario)


@pytest.mark.parametrize("offset", [CLOCK_JUMP, -CLOCK_JUMP], ids=["dc-ahead-16", "dc-behind-17"])
def test_new_session_on_a_dc_whose_clock_moved_corrects_the_offset(offset: float) -> None:
    async def scenario() -> None:
        async with cluster(dc_ids=(2,)) as dcs:
            async with _client(dcs) as first:  # makes the key while the clocks agree
                account = await _log_in(dcs, first)
            session = first.session
            assert abs(session.dc(2).time_offset) < 5
            dcs.clock_offset = offset
            ledger = Ledger(dcs)
            async with _client(dcs, session=session) as client:
                connection = ledger.watch(client)
                users = await client.invoke(tagged(1))
                assert [user.id for user in users] == [account.user_id]
                assert (ledger.executed[1], ledger.answered[1]) == (1, 1)
                assert abs(connection.time_offset - offset) < 5
                assert connection.connections_made == 1
                _assert_settled(connection)
            assert abs(session.dc(2).time_offset - offset) < 5

    run_scenario(scenario)


def test_new_key_on_a_dc_with_a_wrong_clock_takes_the_offset_from_the_handshake() -> None:
    async def scenario() -> None:
        async with cluster(dc_ids=(2,)) as dcs:
            dcs.clock_offset = -5 * CLOCK_JUMP
            ledger = Ledger(dcs)
            async with _client(dcs) as client:
                connection = ledger.watch(client)
                assert abs(connection.time_offset + 5 * CLOCK_JUMP) < 5  # from server_time
                with pytest.raises(AuthKeyUnregisteredError):
                    await client.invoke(tagged(1))
                assert (ledger.executed[1], ledger.answered[1]) == (1, 1)
                assert ledger.events[TimeOffsetChanged] == 0  # never needed a 16/17

    run_scenario(scenario)


# ----------------------------------------------------------------------------------------------
# Crafted bad_msg_notification


@pytest.mark.parametrize("code, outcome", [
    (20, "resent"),        # message too old to know about: send it again
    (32, "new session"),   # msg_seqno too low
    (33, "new session"),   # msg_seqno too high
    (18, "fails"),         # msg_id parity: nothing to retry, a typed error
    (64, "fails"),         # invalid container
])
def test_crafted_bad_msg_notification(code: int, outcome: str) -> None:
    async def scenario() -> None:
        async with _watched() as (dcs, client, account, ledger, connection):

            def reject_first(held: HeldRequest, sighting: int) -> bool:
                if sighting > 1:
                    return False
                # bad_msg_seqno: the test DC's session does not tell its driver the seq_no;
                # the client does not read it.
                held.session.enqueue(types.BadMsgNotification(
                    bad_msg_id=held.msg_id, bad_msg_seqno=0, error_code=code),
                    content_related=False)
                return True

            ledger.hook(reject_first)
            if outcome == "fails":
                with pytest.raises(BadMessageError) as caught:
                    await client.invoke(tagged(1))
                assert caught.value.code == code
                assert (ledger.seen[1], ledger.executed[1], ledger.answered[1]) == (1, 0, 1)
            else:
                users = await client.invoke(tagged(1))
                assert [user.id for user in users] == [account.user_id]
                assert (ledger.seen[1], ledger.executed[1], ledger.answered[1]) == (2, 1, 1)
                assert ledger.events[SessionReset] == (outcome == "new session")
            assert connection.connections_made == 1
            _assert_settled(connection)

    run_scenario(scenario)


# ----------------------------------------------------------------------------------------------
# Garbage and forged frames


# The keepalive's reason: a TimeoutError (or a subclass of it) saying that no pong came.
NO_PONG = r"\w*TimeoutError: (.*: )?no pong$"
# kind: (sent as a frame of the connection's transport, the bytes, a pattern of why the client
# closes the connection when the bytes reach it as sent, the session's drop counts)
GARBAGE: dict[str, tuple[bool, Callable[[HeldRequest], bytes], str, dict[str, int]]] = {
    # A length field of 2 GiB: the framing refuses it at once.
    "oversized-length": (False, lambda held: struct.pack("<I", 0x7FFFFFF0) + os.urandom(60),
                         r"FrameError: intermediate frame announces 2147483632 bytes", {}),
    # A well-formed frame of random bytes: not our auth_key_id.
    "random-frame": (True, lambda held: os.urandom(24 + 64),
                     r"SecurityError: auth_key_id: ", {"auth_key_id": 1}),
    # Our auth_key_id, a msg_key and a body that were not made with our key.
    "forged-msg-key": (True, lambda held: held.session.auth_key_id + os.urandom(16 + 64),
                       r"SecurityError: msg_key: ", {"msg_key": 1}),
    # A frame that announces 1 KiB and never completes: only the keepalive can tell.
    "truncated-frame": (False, lambda held: struct.pack("<I", 1024) + os.urandom(12),
                        NO_PONG, {}),
}
# Unframed bytes reach a client of an obfuscated transport through its cipher, as random bytes,
# and the stream is out of step after them: the framing may read an impossible frame, a
# 4-byte negative code, a frame that never completes (the keepalive notices), or a payload
# that fails the envelope's checks.
GARBLED_BY_OBFUSCATION = "|".join((
    r"FrameError: abridged frame announces", r"TransportError: ", NO_PONG,
    r"SecurityError: (length|auth_key_id|msg_key): "))


def _reasons_for_lost_connections(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What each `connection lost (...)` line of the client's log gives as the reason."""
    return [record.args[1] for record in caplog.records
            if record.name == "tlcodec.client" and record.msg.startswith("DC %d: connection lost")]


@pytest.mark.parametrize("transport", ["intermediate", "obfuscated-abridged"])
@pytest.mark.parametrize("kind", list(GARBAGE))
def test_garbage_instead_of_an_answer_reconnects_and_resends(
        kind: str, transport: str, caplog: pytest.LogCaptureFixture) -> None:
    # A frame that never completes is only noticed by a keepalive ping that gets no pong: a
    # quick one. Unframed bytes may be that too: through an obfuscated transport's cipher they
    # are random, and a random length header may well announce a few hundred bytes.
    framed, make_garbage, reason, drops = GARBAGE[kind]
    keepalive = {} if framed else {"ping_interval": 0.1, "request_timeout": 1.0}

    async def scenario() -> None:
        async with _watched(transport=transport, **keepalive) as (
                dcs, client, account, ledger, connection):

            def garbage_first(held: HeldRequest, sighting: int) -> bool:
                if sighting > 1:
                    return False
                assert dcs.send_raw(make_garbage(held), 2, framed=framed) == 1
                return True

            ledger.hook(garbage_first)
            users = await client.invoke(tagged(1), timeout=10)
            assert [user.id for user in users] == [account.user_id]
            assert (ledger.seen[1], ledger.executed[1], ledger.answered[1]) == (2, 1, 1)
            assert connection.connections_made == 2
            if framed or transport == "intermediate":
                assert dict(connection.session.dropped) == drops
            _assert_settled(connection)

    with caplog.at_level(logging.INFO, logger="tlcodec.client"):
        run_scenario(scenario)
    [lost] = _reasons_for_lost_connections(caplog)
    if framed or transport == "intermediate":
        assert re.match(reason, lost), lost
    else:
        assert re.match(GARBLED_BY_OBFUSCATION, lost), lost


# ----------------------------------------------------------------------------------------------
# Transport errors from the server


def test_transport_error_404_mid_session_makes_a_new_key_and_resends() -> None:
    async def scenario() -> None:
        async with _watched() as (dcs, client, account, ledger, connection):
            old_key = connection.auth_key
            in_flight = asyncio.get_running_loop().create_future()

            def lose_the_keys(held: HeldRequest, sighting: int) -> bool:
                if sighting > 1:
                    return False
                # The call arrived; then the DC loses its key store and every connection.
                dcs.forget_auth_keys(2)
                dcs.drop_connections(2)
                in_flight.set_result(None)
                return True

            ledger.hook(lose_the_keys)
            # Reconnected with the old key: -404; a new key, the call resent in its session.
            # A new key is a logged-out key: the typed 401 is the right answer.
            with pytest.raises(AuthKeyUnregisteredError):
                await client.invoke(tagged(1))
            assert in_flight.done()
            assert (ledger.seen[1], ledger.executed[1], ledger.answered[1]) == (2, 1, 1)
            assert connection.auth_key is not None and connection.auth_key != old_key
            assert dcs.auth_key_ids(2) == [tlcodec.crypto.auth_key_id(connection.auth_key)]
            assert client.session.dc(2).auth_key == connection.auth_key
            assert client.session.user_id is None  # the login went with the old key
            assert connection.connections_made == 3  # dropped, then -404, then the new key
            _assert_settled(connection)

    run_scenario(scenario)


def test_transport_error_429_backs_off_then_the_call_succeeds_once() -> None:
    async def scenario() -> None:
        backoff = 0.3  # with -429 the client waits at least min(1 s, max_reconnect_delay)
        async with _watched(max_reconnect_delay=backoff) as (
                dcs, client, account, ledger, connection):
            loop = asyncio.get_running_loop()
            moments: dict[str, float] = {}

            def flood(held: HeldRequest, sighting: int) -> bool:
                if sighting > 1:
                    return False
                moments["error"] = loop.time()
                assert dcs.send_transport_error(-429, 2) == 1
                return True

            client.add_connected_handler(
                lambda dc_id, reconnected: moments.setdefault("reconnected", loop.time()))
            ledger.hook(flood)
            users = await client.invoke(tagged(1))
            assert [user.id for user in users] == [account.user_id]
            assert (ledger.seen[1], ledger.executed[1], ledger.answered[1]) == (2, 1, 1)
            assert connection.connections_made == 2
            # A lower bound only: the reconnect waited for the flood backoff, not the usual one.
            assert moments["reconnected"] - moments["error"] >= backoff - 0.01
            _assert_settled(connection)

    run_scenario(scenario)


def test_transport_error_444_is_fatal_typed_and_never_retried() -> None:
    async def scenario() -> None:
        async with _watched() as (dcs, client, account, ledger, connection):

            def wrong_environment(held: HeldRequest, sighting: int) -> bool:
                dcs.send_transport_error(-444, 2)  # at the first call; the others are too late
                return True

            ledger.hook(wrong_environment)
            calls = [asyncio.ensure_future(client.invoke(tagged(i))) for i in range(3)]
            results = await asyncio.gather(*calls, return_exceptions=True)
            assert all(isinstance(r, TransportError) and r.code == -444 for r in results), results
            with pytest.raises(TransportError) as caught:
                await client.invoke(tagged(9))
            assert caught.value.code == -444
            assert sum(ledger.seen.values()) == 3  # the later call never left
            assert sum(ledger.executed.values()) == 0
            assert connection.connections_made == 1
            _assert_settled(connection)

    run_scenario(scenario)
