"""The client and the test DCs under load, checked for correctness (not speed: the figures are
in benchmarks/test_bench_client.py): 1,000 concurrent `invoke()` calls on one connection, and
50 clients doing the whole QR-code login at once against one `DataCentres`, each migrating to
its account's DC.

Each scenario runs under `asyncio.run` with a deadline and checks that no task survives it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import tlcodec
from tlcodec import functions, types
from tlcodec.testing import KeyRef

from support import authorize_new_account, client_for, cluster, run_scenario

TAG_BASE = 7_000_000_000
CONCURRENT_CALLS = 1000
CLIENTS = 50
LOAD_TIMEOUT = 60.0  # seconds for a whole load scenario


def test_a_thousand_concurrent_invokes_on_one_connection_are_all_answered_right() -> None:
    async def scenario() -> None:
        async with cluster(dc_ids=(2,)) as dcs, client_for(dcs) as client:
            account = authorize_new_account(dcs, client)
            connection = client.connection(2)
            executed: Counter[int] = Counter()
            real_invoke = dcs.world.invoke

            def counting_invoke(caller: Any, request: Any) -> Any:
                if request.TL_NAME == "users.getUsers":
                    executed[request.id[1].user_id - TAG_BASE] += 1
                return real_invoke(caller, request)

            dcs.world.invoke = counting_invoke  # type: ignore[method-assign]

            # Every caller asks about "itself" plus a user id of its own: the answer is `[me]`
            # for each, and the server-side count tells the calls apart.
            def call(i: int) -> Any:
                return client.invoke(functions.users.GetUsers(id=[
                    types.InputUserSelf(), types.InputUser(user_id=TAG_BASE + i, access_hash=0)]))

            results = await asyncio.gather(*(call(i) for i in range(CONCURRENT_CALLS)))
            assert len(results) == CONCURRENT_CALLS
            for users in results:
                assert len(users) == 1 and isinstance(users[0], types.User)
                assert users[0].id == account.user_id and users[0].self
            assert executed == Counter(range(CONCURRENT_CALLS))  # each exactly once
            assert connection.connections_made == 1
            assert connection.in_flight == 0 and connection.session.pending_requests == []
            assert connection.session.dropped == {}

    run_scenario(scenario, LOAD_TIMEOUT)


def test_fifty_clients_log_in_by_qr_code_at_once_each_migrating_to_its_dc() -> None:
    async def scenario() -> None:
        async with cluster() as dcs:
            # Every account lives away from DC 2, where every client starts.
            accounts = [
                dcs.create_account(f"User{i}", f"1555{i:07d}", dc_id=1 if i % 2 else 3,
                                   username=f"load_user_{i}")
                for i in range(CLIENTS)
            ]

            async def log_in(account: Any) -> tuple[Any, bytes, bytes]:
                async with client_for(dcs) as client:
                    qr = await client.qr_login()
                    assert qr.url.startswith("tg://login?token=") and qr.dc_id == 2
                    waiting = asyncio.ensure_future(qr.wait(timeout=30))
                    await asyncio.sleep(0)  # wait() has registered for updateLoginToken
                    dcs.accept_login_token(qr.token, account)  # the second device scans it
                    user = await waiting
                    me = await client.get_me()  # on the account's DC, now the home DC
                    assert client.home_dc == account.dc_id
                    home_key = client.connection(account.dc_id).auth_key
                    first_key = client.connection(2).auth_key
                    return (user, me), home_key, first_key

            outcomes = await asyncio.gather(*(log_in(account) for account in accounts))
            home_keys = set()
            for account, ((user, me), home_key, first_key) in zip(accounts, outcomes):
                assert (user.id, me.id) == (account.user_id, account.user_id)
                assert (user.first_name, user.username) == (account.first_name, account.username)
                assert me.self and me.phone == account.phone
                assert home_key != first_key  # its own key on the account's DC
                home_keys.add(home_key)
                ref = KeyRef(account.dc_id, tlcodec.crypto.auth_key_id(home_key))
                assert dcs.world.logged_in_as(ref) is account
                # The key the QR code was shown with is not logged in: only the migrated one.
                assert dcs.world.logged_in_as(
                    KeyRef(2, tlcodec.crypto.auth_key_id(first_key))) is None
            assert len(home_keys) == CLIENTS
            assert len(dcs.auth_key_ids(2)) == CLIENTS
            assert len(dcs.auth_key_ids(1)) + len(dcs.auth_key_ids(3)) == CLIENTS

    run_scenario(scenario, LOAD_TIMEOUT)
