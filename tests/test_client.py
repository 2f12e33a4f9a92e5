"""The asyncio client (tlcodec.client.Client, DcConnection) against the local test DCs: round
trips over every transport, the initConnection wrapper, pipelining, typed errors, DC migration,
reconnects that resend what was not answered (dropped by the server mid-request, or cut on the
client side), a key the server forgot (-404), timeouts, close() with calls in flight, and that
nothing is left running afterwards.

Each scenario runs under `asyncio.run` with a deadline and checks that no task survives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from typing import Any

import pytest

import tlcodec
from tlcodec import errors, functions, types
from tlcodec.client import Client, ClientClosedError, Session
from tlcodec.client._plumbing import DEADLINE_SLOT, Call, Deadlines, Reply
from tlcodec.client.calls import FLUSH_BATCH
from tlcodec.client.connection import parse_transport
from tlcodec.client.storage import DcAuth
from tlcodec.mtproto.transports import Intermediate
from tlcodec.mtproto.errors import (
    AuthKeyUnregisteredError,
    AuthTokenInvalidError,
    RPCError,
    TransportError,
    UserMigrateError,
)
from tlcodec.testing import DataCentres, KeyRef

from support import (
    API_HASH,
    API_ID,
    authorize_new_account,
    client_for,
    cluster,
    free_port,
    run_scenario,
)


ALL_TRANSPORTS = [
    "abridged", "intermediate", "padded", "full",
    "obfuscated-abridged", "obfuscated-intermediate", "obfuscated-padded",
]


async def _logged_in(dcs: DataCentres, client: Client, dc_id: int = 2) -> Any:
    """Log the client's key on `dc_id` in as a new account (test DC shortcut, no QR)."""
    account = authorize_new_account(dcs, client, dc_id)
    client.session.user_id = account.user_id
    return account


def _drop_server_connections(dcs: DataCentres, dc_id: int) -> None:
    """The server side cuts every connection of DC `dc_id` (no goodbye)."""
    for connection in list(dcs._dc(dc_id).connections):
        connection.abort()


@contextlib.asynccontextmanager
async def _silent_server() -> Any:
    """A listener that accepts connections and never says a word; yields its port."""
    writers: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()
        await asyncio.sleep(0)


# ----------------------------------------------------------------------------------------------
# Construction


def test_transport_names() -> None:
    assert parse_transport("padded")[1] is False
    assert parse_transport("obfuscated-padded")[1] is True
    with pytest.raises(ValueError, match="cannot be obfuscated"):
        parse_transport("obfuscated-full")
    with pytest.raises(ValueError, match="transport must be one of"):
        Client(API_ID, API_HASH, transport="http")


def test_client_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="api_id"):
        Client(0, API_HASH)
    with pytest.raises(ValueError, match="api_hash"):
        Client(API_ID, "")
    with pytest.raises(ValueError, match="no address is known for DC 9"):
        Client(API_ID, API_HASH, dc=9)
    session = Session()
    session.test_mode = True
    session.home_dc = 2
    session.dcs[2] = DcAuth(2, "127.0.0.1", 443, bytes(256))
    with pytest.raises(ValueError, match="test_mode"):
        Client(API_ID, API_HASH, session, test_mode=False)


def test_tlcodec_exports_the_client_lazily_and_every_error() -> None:
    import subprocess

    code = ("import sys, tlcodec; assert 'asyncio' not in sys.modules; "
            "from tlcodec import Client, functions, types, errors; "
            "assert errors.SessionPasswordNeededError.__module__ == 'tlcodec.errors'; "
            "assert Client.__module__ == 'tlcodec.client.client'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ----------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("transport", ALL_TRANSPORTS)
def test_invoke_round_trip_over_each_transport(transport: str) -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, transport=transport) as client:
            config = await client.invoke(functions.help.GetConfig())
            assert isinstance(config, types.Config) and config.this_dc == 2
            assert {(o.id, o.port) for o in config.dc_options} == {
                (dc, dcs.address(dc)[1]) for dc in (1, 2, 3)}
            with pytest.raises(AuthKeyUnregisteredError):
                await client.get_me()
            account = await _logged_in(dcs, client)
            assert (await client.get_me()).id == account.user_id

    run_scenario(scenario)


def test_first_request_of_each_connection_carries_init_connection() -> None:
    async def scenario() -> None:
        async with cluster() as dcs:
            received: list[str] = []
            real_invoke = dcs.world.invoke

            def spy(caller: Any, request: Any) -> Any:
                received.append(request.TL_NAME)
                return real_invoke(caller, request)

            dcs.world.invoke = spy  # type: ignore[method-assign]
            async with client_for(dcs, device_model="Test rig", app_version="9.9",
                               reconnect_delay=0.01) as client:
                await client.invoke(functions.help.GetConfig())
                key = KeyRef(2, tlcodec.crypto.auth_key_id(client.connection(2).auth_key))
                info = dcs.world.client_info(key)
                assert (info.layer, info.api_id, info.device_model, info.app_version) == (
                    tlcodec.LAYER, API_ID, "Test rig", "9.9")
                assert received == ["invokeWithLayer", "help.getConfig"]

                _drop_server_connections(dcs, 2)
                await client.invoke(functions.help.GetConfig())
                assert received[2] == "invokeWithLayer"  # a new connection: wrapped again
                assert received[3:] == ["help.getConfig"]

    run_scenario(scenario)


def test_concurrent_invokes_are_pipelined_on_one_connection() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs) as client:
            account = await _logged_in(dcs, client)
            connection = client.connection(2)
            framing = connection._framing
            packed = 0
            real_pack = framing.pack

            def counting_pack(payload: bytes, **options: Any) -> bytes:
                nonlocal packed
                packed += 1
                return real_pack(payload, **options)

            framing.pack = counting_pack
            # Made before the init call is answered: they wait, then leave together in one
            # container (plus at most an ack or two).
            assert not connection._ready
            users = await asyncio.gather(*(client.get_me() for _ in range(200)))
            assert [user.id for user in users] == [account.user_id] * 200
            assert packed <= 3
            # Made on a ready connection in one event-loop turn: they leave in containers of
            # FLUSH_BATCH as they are made, so that the DC starts on the first ones at once.
            assert connection._ready
            packed = 0
            users = await asyncio.gather(*(client.get_me() for _ in range(200)))
            assert [user.id for user in users] == [account.user_id] * 200
            batches = -(-200 // FLUSH_BATCH)
            assert batches <= packed <= batches + 2  # an ack may go out on its own
            assert connection.connections_made == 1 and connection.in_flight == 0

    run_scenario(scenario)


def test_each_concurrent_caller_gets_its_own_answer() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs) as client:
            await _logged_in(dcs, client)
            calls = []
            for i in range(60):
                if i % 3 == 0:
                    calls.append(client.get_me())
                elif i % 3 == 1:
                    calls.append(client.import_login_token(bytes([i]) * 32))
                else:
                    calls.append(client.invoke(functions.help.GetConfig()))
            results = await asyncio.gather(*calls, return_exceptions=True)
            for i, result in enumerate(results):
                expected = (types.User, AuthTokenInvalidError, types.Config)[i % 3]
                assert isinstance(result, expected), (i, result)

    run_scenario(scenario)


def test_user_migrate_error_moves_the_call_and_the_home_dc() -> None:
    async def scenario() -> None:
        async with cluster() as dcs:
            real_invoke = dcs.world.invoke

            def dc2_sends_users_to_dc3(caller: Any, request: Any) -> Any:
                if caller.key.dc_id == 2 and request.TL_NAME == "help.getConfig":
                    raise RPCError.from_message(303, "USER_MIGRATE_3")
                return real_invoke(caller, request)

            dcs.world.invoke = dc2_sends_users_to_dc3  # type: ignore[method-assign]
            async with client_for(dcs) as client:
                config = await client.invoke(functions.help.GetConfig())
                assert config.this_dc == 3 and client.home_dc == 3
                with pytest.raises(UserMigrateError) as caught:
                    await client.invoke(functions.help.GetConfig(), dc_id=2)
                assert caught.value.dc_id == 3  # an explicit DC that says "elsewhere": typed

    run_scenario(scenario)


# ----------------------------------------------------------------------------------------------
# Reconnecting


def test_server_dropping_the_connection_mid_request_gets_every_call_answered_once() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, reconnect_delay=0.01) as client:
            account = await _logged_in(dcs, client)
            real_invoke = dcs.world.invoke
            handled = 0

            def drop_after_the_fifth(caller: Any, request: Any) -> Any:
                nonlocal handled
                result = real_invoke(caller, request)
                if request.TL_NAME == "users.getUsers":
                    handled += 1
                    if handled == 5:
                        # Answered by the world, never by the wire: the connection goes first.
                        _drop_server_connections(dcs, 2)
                return result

            dcs.world.invoke = drop_after_the_fifth  # type: ignore[method-assign]
            users = await asyncio.gather(*(client.get_me() for _ in range(20)))
            assert [user.id for user in users] == [account.user_id] * 20
            connection = client.connection(2)
            assert connection.connections_made == 2
            assert connection.in_flight == 0
            assert handled >= 20  # what was not answered went out again

    run_scenario(scenario)


def test_client_side_cut_with_calls_queued_and_in_flight_loses_none() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, reconnect_delay=0.01) as client:
            account = await _logged_in(dcs, client)
            connection = client.connection(2)
            first = [asyncio.ensure_future(client.get_me()) for _ in range(10)]
            await asyncio.sleep(0)
            await asyncio.sleep(0)  # the first batch is written, not answered yet
            assert connection.in_flight == 10
            assert all(call.pending.state == "sent" for call in connection._calls.values())
            connection._abort(ConnectionResetError("test: line cut"))
            second = [asyncio.ensure_future(client.get_me()) for _ in range(10)]  # while down
            users = await asyncio.gather(*first, *second)
            assert [user.id for user in users] == [account.user_id] * 20
            assert connection.connections_made == 2 and connection.in_flight == 0

    run_scenario(scenario)


def test_message_failing_a_check_closes_and_reopens_the_connection() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, reconnect_delay=0.01) as client:
            account = await _logged_in(dcs, client)
            connection = client.connection(2)
            _silence(client)
            calls = [asyncio.ensure_future(client.get_me()) for _ in range(3)]
            await asyncio.sleep(0.01)
            # Our auth_key_id, then a msg_key and a body that were not made with our key.
            forged = connection.session.auth_key_id + bytes(16) + bytes(range(64))
            connection._data_received(connection._protocol, Intermediate("server").pack(forged))
            users = await asyncio.gather(*calls)  # resent on the new connection
            assert [user.id for user in users] == [account.user_id] * 3
            assert connection.connections_made == 2
            assert connection.session.dropped["msg_key"] == 1

    run_scenario(scenario)


def test_server_restart_is_survived() -> None:
    async def scenario() -> None:
        async with cluster() as dcs:
            async with client_for(dcs, reconnect_delay=0.01, max_reconnect_delay=0.05) as client:
                account = await _logged_in(dcs, client)
                ports = {dc: dcs.address(dc)[1] for dc in dcs.dc_ids}
                await dcs.close()
                pending = asyncio.ensure_future(client.get_me())
                await asyncio.sleep(0.1)  # a few refused reconnects
                assert not pending.done()
                dcs.ports.update(ports)  # the same addresses again
                await dcs.start()
                assert (await pending).id == account.user_id

    run_scenario(scenario)


def test_unknown_auth_key_is_replaced_by_a_new_one() -> None:
    async def scenario() -> None:
        async with cluster() as dcs:
            host, port = dcs.address(2)
            session = Session()
            session.home_dc = 2
            session.dcs[2] = DcAuth(2, host, port, b"\x07" * 256, server_salt=1)
            async with client_for(dcs, session=session, reconnect_delay=0.01) as client:
                config = await client.invoke(functions.help.GetConfig())  # after -404, a new key
                assert config.this_dc == 2
                new_key = session.dcs[2].auth_key
                assert new_key is not None and new_key != b"\x07" * 256
                assert dcs.auth_key_ids(2) == [tlcodec.crypto.auth_key_id(new_key)]

    run_scenario(scenario)


# ----------------------------------------------------------------------------------------------
# Timeouts, closing, failures to connect


def _silence(client: Client, dc_id: int = 2) -> None:
    """Nothing the client writes on `dc_id` reaches the server any more."""
    connection = client.connection(dc_id)
    connection._tcp.write = lambda data: None


def test_request_timeout_raises_and_forgets_the_call() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs) as client:
            _silence(client)
            with pytest.raises(errors.CallTimeoutError, match="help.getConfig got no answer"):
                await client.invoke(functions.help.GetConfig(), timeout=0.1)
            connection = client.connection(2)
            assert connection.in_flight == 0
            assert connection.session.pending_requests == []

    run_scenario(scenario)


def test_timeouts_fire_on_time_and_answered_calls_leave_no_deadline_behind() -> None:
    async def scenario() -> None:
        async with cluster() as dcs:
            client = client_for(dcs)
            await client.connect()
            connection = client.connection(2)
            deadlines = connection._deadlines
            await asyncio.gather(*(client.invoke(functions.help.GetConfig()) for _ in range(50)))
            # Every call had the default timeout; answered, none is still held for it.
            assert sum(len(calls) for calls in deadlines._slots.values()) == 0
            _silence(client)
            loop = asyncio.get_running_loop()
            started = loop.time()
            results = await asyncio.gather(
                *(client.invoke(functions.help.GetConfig(), timeout=timeout)
                  for timeout in (0.2, 0.1, 0.3)),
                return_exceptions=True)
            elapsed = loop.time() - started
            assert all(isinstance(result, TimeoutError) for result in results), results
            assert "within 0.2 s" in str(results[0]) and "within 0.3 s" in str(results[2])
            assert 0.3 <= elapsed <= 0.3 + DEADLINE_SLOT + 0.5  # never early, one slot late
            assert connection.in_flight == 0
            await client.close()
            assert not deadlines._timers and not deadlines._slots  # close leaves no timer

    run_scenario(scenario)


class _OwnClockAndFuturesLoop(asyncio.SelectorEventLoop):  # type: ignore[misc,valid-type]
    """A loop with a time() of its own, 1000 s ahead of time.monotonic(), and its own futures."""

    class Marked(asyncio.Future):  # type: ignore[type-arg]
        pass

    def time(self) -> float:
        return super().time() + 1000.0

    def create_future(self) -> asyncio.Future[Any]:
        return self.Marked(loop=self)


def test_a_loop_with_its_own_clock_and_futures_is_used_for_both() -> None:
    # The connection reads the clock and makes futures directly only on stock loops. Here a
    # timeout measured on time.monotonic() would fire at once: its slot is 1000 s in the past
    # of the loop's clock.
    async def scenario() -> None:
        async with cluster(dc_ids=(2,)) as dcs, client_for(dcs) as client:
            await client.invoke(functions.help.GetConfig())
            connection = client.connection(2)
            _silence(client)
            loop = asyncio.get_running_loop()
            started = loop.time()
            waiting = asyncio.ensure_future(
                client.invoke(functions.help.GetConfig(), timeout=0.2))
            await asyncio.sleep(0)
            calls = list(connection._calls.values())
            assert calls and all(type(call.future) is _OwnClockAndFuturesLoop.Marked
                                 for call in calls)
            with pytest.raises(TimeoutError):
                await waiting
            assert loop.time() - started >= 0.2

    loop = _OwnClockAndFuturesLoop()
    try:
        loop.run_until_complete(asyncio.wait_for(scenario(), 30))
    finally:
        loop.close()


def test_deadlines_expire_each_call_after_its_timeout_and_never_a_discarded_one() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        expired: dict[int, tuple[float, float]] = {}  # call number -> (when, timeout)
        calls = {}

        def expire(call: Call, timeout: float) -> None:
            expired[call.request] = (loop.time(), timeout)

        deadlines = Deadlines(loop, expire)
        started = loop.time()
        for number, timeout in enumerate((0.05, 0.01, 0.12, 0.05, 0.08)):
            calls[number] = Call(number, loop.create_future())
            deadlines.add(calls[number], timeout)
        deadlines.discard(calls[3])
        assert calls[3].slot is None
        await asyncio.sleep(0.12 + 2 * DEADLINE_SLOT + 0.2)
        assert sorted(expired) == [0, 1, 2, 4]
        for when, timeout in expired.values():
            assert started + timeout <= when <= started + timeout + DEADLINE_SLOT + 0.2
        assert not deadlines._timers and not deadlines._slots
        deadlines.add(calls[3], 10.0)
        deadlines.cancel()
        assert not deadlines._timers and not deadlines._slots

    run_scenario(scenario)


def test_cancelled_invoke_is_forgotten() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs) as client:
            _silence(client)
            call = asyncio.ensure_future(client.invoke(functions.help.GetConfig()))
            await asyncio.sleep(0.01)
            # On a stock loop a call awaits a Reply: the task's cancel() reaches it.
            assert [type(c.future) for c in client.connection(2)._calls.values()] == [Reply]
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            assert client.connection(2).in_flight == 0

    run_scenario(scenario)


def test_close_fails_waiting_calls_and_leaves_no_task() -> None:
    async def scenario() -> None:
        async with cluster() as dcs:
            client = client_for(dcs)
            await client.connect()
            _silence(client)
            calls = [asyncio.ensure_future(client.invoke(functions.help.GetConfig()))
                     for _ in range(5)]
            await asyncio.sleep(0.01)
            await client.close()
            results = await asyncio.gather(*calls, return_exceptions=True)
            assert all(isinstance(r, ClientClosedError) for r in results), results
            with pytest.raises(ClientClosedError):
                await client.invoke(functions.help.GetConfig())
            await client.close()  # twice is fine

    run_scenario(scenario)


def test_close_while_connecting_returns() -> None:
    async def scenario() -> None:
        async with _silent_server() as port:  # the handshake waits for ever
            client = Client(API_ID, API_HASH, dc=(2, "127.0.0.1", port), connect_timeout=5.0)
            connecting = asyncio.ensure_future(client.connect())
            await asyncio.sleep(0.05)
            await client.close()
            with pytest.raises(ClientClosedError):
                await connecting

    run_scenario(scenario)


def test_refused_connection_raises_at_once_and_leaves_no_task() -> None:
    async def scenario() -> None:
        client = Client(API_ID, API_HASH, dc=(2, "127.0.0.1", free_port()))
        with pytest.raises(OSError):
            async with client:
                pass

    run_scenario(scenario)


def test_handshake_that_never_finishes_times_out() -> None:
    async def scenario() -> None:
        async with _silent_server() as port:
            client = Client(API_ID, API_HASH, dc=(2, "127.0.0.1", port), connect_timeout=0.2)
            started = time.monotonic()
            with pytest.raises(errors.ConnectTimeoutError, match="auth-key exchange did not finish"):
                await client.connect()
            assert time.monotonic() - started < 5
            await client.close()

    run_scenario(scenario)


def test_wrong_server_key_fails_the_handshake() -> None:
    async def scenario() -> None:
        async with cluster() as dcs:
            host, port = dcs.address(2)
            client = Client(API_ID, API_HASH, dc=(2, host, port))  # Telegram's keys only
            with pytest.raises(tlcodec.SecurityError) as caught:
                await client.connect()
            assert caught.value.check == "fingerprint"
            await client.close()

    run_scenario(scenario)


def test_keepalive_pings_keep_one_connection() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, ping_interval=0.02) as client:
            await asyncio.sleep(0.15)
            connection = client.connection(2)
            assert connection.session.dropped == {}
            assert (await client.invoke(functions.help.GetConfig())).this_dc == 2
            assert connection.connections_made == 1

    run_scenario(scenario)


def test_update_handlers_see_pushed_updates(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs) as client:
            alice = dcs.create_account(first_name="Alice", phone="15550001111", dc_id=2)
            seen: list[tuple[Any, int]] = []
            arrived = asyncio.Event()

            def broken(update: Any, dc_id: int) -> None:
                raise RuntimeError("a handler's bug")

            def handler(update: Any, dc_id: int) -> None:
                seen.append((update, dc_id))
                arrived.set()

            client.add_update_handler(broken)
            client.add_update_handler(handler)
            token = await client.export_login_token()
            dcs.accept_login_token(token.token, alice)
            await asyncio.wait_for(arrived.wait(), 5)
            update, dc_id = seen[0]
            assert isinstance(update, types.UpdateShort) and dc_id == 2
            assert isinstance(update.update, types.UpdateLoginToken)
            client.remove_update_handler(handler)
            client.remove_update_handler(handler)  # twice is fine

    with caplog.at_level(logging.ERROR, logger="tlcodec.client"):
        run_scenario(scenario)
    assert "update handler" in caplog.text


def test_transport_error_444_is_fatal_and_typed() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, reconnect_delay=0.01) as client:
            connection = client.connection(2)
            _silence(client)
            call = asyncio.ensure_future(client.invoke(functions.help.GetConfig()))
            await asyncio.sleep(0.01)
            _receive_transport_error(connection, -444)
            with pytest.raises(TransportError) as caught:
                await call
            assert caught.value.code == -444
            with pytest.raises(TransportError):
                await client.invoke(functions.help.GetConfig())

    run_scenario(scenario)


def test_transport_error_429_backs_off_and_reconnects() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, reconnect_delay=0.01,
                                              max_reconnect_delay=0.05) as client:
            connection = client.connection(2)
            _receive_transport_error(connection, -429)
            config = await client.invoke(functions.help.GetConfig())
            assert config.this_dc == 2 and connection.connections_made == 2

    run_scenario(scenario)


def _receive_transport_error(connection: Any, code: int) -> None:
    """As if the server had sent the 4-byte transport error `code` on this connection."""
    connection._data_received(connection._protocol, Intermediate("server").pack_error(code))
