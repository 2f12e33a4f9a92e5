"""The QR-code login (tlcodec.client.qr) end to end against the local test DCs: the URL, the
login on the same DC and with the migration to the account's DC, the token refreshed on expiry,
a migration token that expires before the import, the typed token errors, 2FA accounts, and the
wait's timeout. The second device is the test DC's own `accept_login_token`.

Token expiry without waiting: the test DCs take a `clock`; the tests shift it forward (MTProto
itself keeps the real clock). The one test that needs a real expiry uses a one-second token.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from tlcodec import errors, functions, types
from tlcodec.client import Client, QRLogin, login_url
from tlcodec.mtproto.errors import (
    AuthKeyUnregisteredError,
    AuthTokenAlreadyAcceptedError,
    AuthTokenExpiredError,
    AuthTokenInvalidError,
    SessionPasswordNeededError,
)
from tlcodec.testing import DataCentres

from support import API_HASH, API_ID, ShiftedClock, client_for, cluster, run_scenario


def _accept_soon(dcs: DataCentres, qr: QRLogin, account: Any, delay: float = 0.05) -> asyncio.Task:
    """The second device scans the QR code a moment after it is shown."""

    async def accept() -> None:
        await asyncio.sleep(delay)
        dcs.accept_login_token(qr.token, account)

    return asyncio.create_task(accept())


# ----------------------------------------------------------------------------------------------
# The URL


def test_login_url_is_base64url_without_padding() -> None:
    # PROTOCOL.md 5.1 step 3: token 01..20 (32 bytes).
    assert login_url(bytes(range(1, 33))) == (
        "tg://login?token=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA")
    assert login_url(b"\xfb\xff") == "tg://login?token=-_8"  # the URL-safe alphabet


def test_qr_login_object_carries_token_url_and_expiry() -> None:
    async def scenario() -> None:
        async with cluster(token_ttl=30.0) as dcs, client_for(dcs, 2) as client:
            qr = await client.qr_login()
            assert len(qr.token) == 32
            assert qr.url == login_url(qr.token)
            encoded = qr.url.removeprefix("tg://login?token=")
            assert base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)) == qr.token
            assert 25 < qr.expires_in <= 31
            assert qr.expires.tzinfo is not None
            assert abs(qr.expires.timestamp() - qr.expires_at) < 1e-6
            assert qr.dc_id == 2 and qr.user is None

    run_scenario(scenario)


# ----------------------------------------------------------------------------------------------
# Logging in


def test_qr_login_on_the_accounts_own_dc() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, 2) as client:
            alice = dcs.create_account(first_name="Alice", phone="15550001111", dc_id=2)
            qr = await client.qr_login()
            accepting = _accept_soon(dcs, qr, alice)
            user = await qr.wait(timeout=10)
            await accepting
            assert isinstance(user, types.User)
            assert (user.id, user.first_name, user.self) == (alice.user_id, "Alice", True)
            assert client.user_id == alice.user_id and client.home_dc == 2
            assert (await client.get_me()).id == alice.user_id
            assert sorted(client.session.dcs) == [2]

    run_scenario(scenario)


def test_a_code_scanned_before_wait_is_noticed_without_waiting_for_expiry() -> None:
    # The update arrives while the caller is still busy between qr_login() and wait().
    async def scenario() -> None:
        async with cluster(token_ttl=30.0) as dcs, client_for(dcs, 2) as client:
            alice = dcs.create_account(first_name="Alice", phone="15550001111", dc_id=2)
            qr = await client.qr_login()
            dcs.accept_login_token(qr.token, alice)
            await asyncio.sleep(0.5)  # the push reaches the client before wait() starts
            user = await qr.wait(timeout=5)  # far below the 30 s token lifetime
            assert user.id == alice.user_id

    run_scenario(scenario)


def test_qr_login_migrates_to_the_accounts_dc_with_its_own_key() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, 1) as client:
            bob = dcs.create_account(first_name="Bob", phone="15550002222", dc_id=3)
            qr = await client.qr_login()
            assert qr.dc_id == 1
            accepting = _accept_soon(dcs, qr, bob)
            user = await qr.wait(timeout=10)
            await accepting
            assert user.id == bob.user_id
            assert client.home_dc == 3 and client.user_id == bob.user_id
            keys = {dc: auth.auth_key for dc, auth in client.session.dcs.items()}
            assert sorted(keys) == [1, 3] and keys[1] != keys[3]  # keys are per DC
            assert len(dcs.auth_key_ids(3)) == 1
            # The login lives on DC 3: calls now go there.
            assert (await client.get_me()).first_name == "Bob"
            with pytest.raises(AuthKeyUnregisteredError) as refused:
                await client.invoke(functions.users.GetUsers(id=[types.InputUserSelf()]),
                                    dc_id=1)
            assert (refused.value.code, refused.value.message) == (401, "AUTH_KEY_UNREGISTERED")

    run_scenario(scenario)


def test_token_is_refreshed_by_itself_when_it_expires() -> None:
    async def scenario() -> None:
        async with cluster(token_ttl=1.0) as dcs, client_for(dcs, 2) as client:
            alice = dcs.create_account(first_name="Alice", phone="15550001111", dc_id=2)
            qr = await client.qr_login()
            shown = [qr.token]
            accepted = asyncio.get_running_loop().create_future()

            async def redraw(login: QRLogin) -> None:  # a coroutine function is awaited
                await asyncio.sleep(0)
                shown.append(login.token)
                if len(shown) == 2:  # scan the second code, not the first
                    dcs.accept_login_token(login.token, alice)
                    accepted.set_result(None)

            user = await qr.wait(timeout=10, on_refresh=redraw)
            assert accepted.done()
            assert user.id == alice.user_id
            assert len(shown) == 2 and shown[0] != shown[1]

    run_scenario(scenario)


def test_migration_token_expired_before_the_import_is_exported_again_there() -> None:
    async def scenario() -> None:
        clock = ShiftedClock()
        async with cluster(token_ttl=30.0, clock=clock) as dcs, client_for(dcs, 1) as client:
            bob = dcs.create_account(first_name="Bob", phone="15550002222", dc_id=3)
            real_invoke = client.invoke
            imports: list[int] = []

            async def invoke(request: Any, **options: Any) -> Any:
                if isinstance(request, functions.auth.ImportLoginToken):
                    imports.append(options.get("dc_id"))
                    clock.shift += 100.0  # the migration token dies on the way
                return await real_invoke(request, **options)

            client.invoke = invoke  # type: ignore[method-assign]
            qr = await client.qr_login()
            shown = [qr.token]

            def redraw(login: QRLogin) -> None:
                shown.append(login.token)
                if login.dc_id == 3:  # the new code, exported on the account's DC
                    dcs.accept_login_token(login.token, bob)

            accepting = _accept_soon(dcs, qr, bob)
            user = await qr.wait(timeout=10, on_refresh=redraw)
            await accepting
            assert imports == [3]
            assert user.id == bob.user_id and client.home_dc == 3
            assert len(shown) == 2 and qr.dc_id == 3

    run_scenario(scenario)


def test_account_with_a_password_raises_session_password_needed_on_its_dc() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, 1) as client:
            carol = dcs.create_account(first_name="Carol", phone="15550003333", dc_id=2,
                                       password="hunter2")
            qr = await client.qr_login()
            accepting = _accept_soon(dcs, qr, carol)
            with pytest.raises(SessionPasswordNeededError) as caught:
                await qr.wait(timeout=10)
            await accepting
            assert caught.value.code == 401
            assert client.home_dc == 2  # where auth.checkPassword will have to go
            assert client.user_id is None

    run_scenario(scenario)


def test_wait_times_out_and_can_be_waited_again() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, 2) as client:
            alice = dcs.create_account(first_name="Alice", phone="15550001111", dc_id=2)
            qr = await client.qr_login()
            with pytest.raises(errors.LoginTimeoutError):
                await qr.wait(timeout=0.2)
            accepting = _accept_soon(dcs, qr, alice)
            user = await qr.wait(timeout=10)
            await accepting
            assert user.id == alice.user_id
            assert await qr.wait() is user  # already done

    run_scenario(scenario)


def test_update_pushed_while_disconnected_is_not_missed() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, 2, reconnect_delay=0.01) as client:
            alice = dcs.create_account(first_name="Alice", phone="15550001111", dc_id=2)
            qr = await client.qr_login()
            waiting = asyncio.create_task(qr.wait(timeout=10))
            await asyncio.sleep(0.05)
            connection = client.connection(2)
            assert connection is not None
            connection._abort(ConnectionResetError("test: line cut"))
            dcs.accept_login_token(qr.token, alice)  # the update has no connection to go to
            user = await waiting
            assert user.id == alice.user_id
            assert connection.connections_made == 2

    run_scenario(scenario)


# ----------------------------------------------------------------------------------------------
# Token errors reach the caller typed


def test_invalid_token_is_a_typed_error() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, 2) as client:
            with pytest.raises(AuthTokenInvalidError) as caught:
                await client.import_login_token(b"\x01" * 32)
            assert (caught.value.code, caught.value.message) == (400, "AUTH_TOKEN_INVALID")

    run_scenario(scenario)


def test_import_login_token_on_a_dc_not_connected_yet_connects_there_first() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, 2) as client:
            assert client.connection(3) is None
            with pytest.raises(AuthTokenInvalidError):
                await client.import_login_token(b"\x01" * 32, dc_id=3)
            assert client.connection(3) is not None and client.home_dc == 2
            with pytest.raises(AuthTokenInvalidError):  # over the connection it made
                await client.import_login_token(b"\x02" * 32, dc_id=3)
            assert client.connection(3).connections_made == 1

    run_scenario(scenario)


def test_import_login_token_goes_through_invoke_which_a_subclass_can_wrap() -> None:
    class Recording(Client):
        seen: list[tuple[str, int | None]]

        def invoke(self, request: Any, **options: Any) -> Any:
            self.seen.append((type(request).TL_NAME, options.get("dc_id")))
            return super().invoke(request, **options)

    async def scenario() -> None:
        async with cluster() as dcs:
            host, port = dcs.address(2)
            client = Recording(API_ID, API_HASH, dc=(2, host, port), rsa_keys=[dcs.public_key])
            client.seen = []
            async with client:
                token = await client.export_login_token()
                # Pinned to a connected DC, invoke() hands out the connection's own coroutine
                # (DcConnection's invoke comes from its base class, DcCalls).
                call = client.invoke(functions.auth.ImportLoginToken(token=token.token), dc_id=2)
                assert call.__qualname__ == "DcCalls.invoke"
                assert isinstance(await call, types.auth.LoginToken)
                assert isinstance(await client.import_login_token(token.token), types.auth.LoginToken)
            assert client.seen == [("auth.exportLoginToken", None),
                                   ("auth.importLoginToken", 2), ("auth.importLoginToken", 2)]

    run_scenario(scenario)


def test_expired_token_is_a_typed_error() -> None:
    async def scenario() -> None:
        clock = ShiftedClock()
        async with cluster(clock=clock) as dcs, client_for(dcs, 2) as client:
            token = await client.export_login_token()
            assert isinstance(token, types.auth.LoginToken)
            clock.shift = 3600.0
            with pytest.raises(AuthTokenExpiredError) as caught:
                await client.import_login_token(token.token)
            assert (caught.value.code, caught.value.message) == (400, "AUTH_TOKEN_EXPIRED")

    run_scenario(scenario)


def test_already_accepted_token_is_a_typed_error() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, 2) as client:
            alice = dcs.create_account(first_name="Alice", phone="15550001111", dc_id=2)
            qr = await client.qr_login()
            dcs.accept_login_token(qr.token, alice)
            await qr.wait(timeout=10)
            with pytest.raises(AuthTokenAlreadyAcceptedError):
                await client.import_login_token(qr.token)

    run_scenario(scenario)


def test_import_login_token_records_a_successful_login() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, 2) as client:
            alice = dcs.create_account(first_name="Alice", phone="15550001111", dc_id=2)
            token = await client.export_login_token()
            dcs.accept_login_token(token.token, alice)
            result = await client.import_login_token(token.token)
            assert isinstance(result, types.auth.LoginTokenSuccess)
            assert client.user_id == alice.user_id

    run_scenario(scenario)


# ----------------------------------------------------------------------------------------------
# The first calls after the login, through Client.invoke


def test_first_calls_after_a_qr_login_then_log_out() -> None:
    """What a client asks right after logging in, decoded by our Client into the layer's own
    classes; after auth.logOut the key's calls are AUTH_KEY_UNREGISTERED."""

    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, 1) as client:
            bob = dcs.create_account(first_name="Bob", phone="15550002222", dc_id=3)
            qr = await client.qr_login()
            accepting = _accept_soon(dcs, qr, bob)
            await qr.wait(timeout=10)
            await accepting

            full = await client.invoke(functions.users.GetFullUser(id=types.InputUserSelf()))
            assert isinstance(full, types.users.UserFull)
            assert isinstance(full.full_user, types.UserFull)
            assert full.full_user.id == bob.user_id and full.users[0].self
            state = await client.invoke(functions.updates.GetState())
            assert isinstance(state, types.updates.State)
            assert (state.pts, state.qts, state.seq) == (bob.pts, 0, bob.seq)
            nearest = await client.invoke(functions.help.GetNearestDc())
            assert (nearest.this_dc, nearest.nearest_dc) == (3, dcs.home_dc)
            config = await client.invoke(functions.help.GetConfig())
            assert isinstance(config, types.Config) and config.this_dc == 3
            password = await client.invoke(functions.account.GetPassword())
            assert isinstance(password, types.account.Password) and not password.has_password

            assert await client.invoke(functions.auth.LogOut()) == types.auth.LoggedOut()
            for request in (functions.updates.GetState(),
                            functions.users.GetFullUser(id=types.InputUserSelf())):
                with pytest.raises(AuthKeyUnregisteredError):
                    await client.invoke(request)

    run_scenario(scenario)
