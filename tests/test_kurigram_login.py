"""Kurigram 2.2 (a maintained Pyrogram fork) as an independent client of the test DCs: its own
QR login (`pyrogram.qrlogin.QRLogin`) stops at `SESSION_PASSWORD_NEEDED`, and its own
`check_password` (its SRP code, `pyrogram.utils.compute_password_check`, shares nothing with
ours) finishes the login, after a wrong password that is its typed error; and what a Kurigram
app does after its QR login (`start()`: updates.getState and `get_me`, which is
users.getFullUser; then `log_out`) works against them.

Kurigram is pointed at the test DCs the way its storage allows: a session file in its own
format saying where DC 2 is, with an auth key made by Kurigram's own `Auth` (the test DCs' RSA
key added to its key table for the test). It never connects anywhere else.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tlcodec.testing import DataCentres

from support import API_HASH, API_ID, cluster, record_calls, run_scenario

pyrogram = pytest.importorskip("pyrogram")
from pyrogram import errors as kurigram_errors  # noqa: E402
from pyrogram.crypto import rsa as kurigram_rsa  # noqa: E402
from pyrogram.qrlogin import QRLogin as KurigramQRLogin  # noqa: E402
from pyrogram.session.auth import Auth as KurigramAuth  # noqa: E402

TIMEOUT = 60.0


async def kurigram_client(dcs: DataCentres, dc_id: int, workdir: Path) -> Any:
    """A Kurigram client whose session (its own SQLite file) lives on `dc_id` of `dcs`, with a
    fresh auth key from Kurigram's own key exchange; connected, not logged in."""
    host, port = dcs.address(dc_id)
    client = pyrogram.Client("kurigram", api_id=API_ID, api_hash=API_HASH, workdir=str(workdir),
                             device_model="Kurigram oracle", app_version="2.2",
                             system_version="Linux")
    storage = client.storage
    await storage.open()
    await storage.dc_id(dc_id)
    await storage.server_address(host)
    await storage.port(port)
    await storage.test_mode(False)
    await storage.api_id(API_ID)
    await storage.date(0)
    await storage.auth_key(await KurigramAuth(client, dc_id, host, port, False).create())
    # Kurigram's storage takes a session without a user id for an empty one (and would then
    # start over on Telegram's addresses); 0 is "not logged in yet" without that.
    await storage.user_id(0)
    await storage.is_bot(False)
    await storage.save()
    await storage.close()
    assert await client.connect() is False  # connected, not logged in
    return client


@pytest.fixture()
def kurigram_trusts_the_test_dcs(monkeypatch: pytest.MonkeyPatch) -> Any:
    def trust(dcs: DataCentres) -> None:
        key = dcs.public_key
        fingerprint = key.fingerprint
        signed = fingerprint - (1 << 64) if fingerprint >= 1 << 63 else fingerprint
        monkeypatch.setitem(kurigram_rsa.server_public_keys, signed,
                            kurigram_rsa.PublicKey(key.n, key.e))

    return trust


@pytest.mark.parametrize("account_dc", [2, 3], ids=["same-dc", "other-dc"])
def test_kurigram_check_password_finishes_its_qr_login_against_the_test_dcs(
        account_dc: int, tmp_path: Path, kurigram_trusts_the_test_dcs: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # Kurigram writes unknown_errors.txt where it runs
    async def scenario() -> None:
        async with cluster(dc_ids=(2, 3)) as dcs:
            kurigram_trusts_the_test_dcs(dcs)
            carol = dcs.create_account("Carol", "15550003333", dc_id=account_dc,
                                       password="kuri pw",
                                       password_hint="the oracle")
            client = await kurigram_client(dcs, 2, tmp_path)
            try:
                qr = KurigramQRLogin(client)
                await qr.recreate()
                waiting = asyncio.create_task(qr.wait(timeout=10))
                await asyncio.sleep(0.05)
                dcs.accept_login_token(qr.r.token, carol)
                with pytest.raises(kurigram_errors.SessionPasswordNeeded):
                    await waiting
                assert await client.get_password_hint() == "the oracle"
                with pytest.raises(kurigram_errors.PasswordHashInvalid):
                    await client.check_password("not kuri pw")
                user = await client.check_password("kuri pw")
                assert user.id == carol.user_id
                assert (await client.get_me()).id == carol.user_id  # users.getFullUser
                assert dcs.world.logged_in_as(
                    _key_ref(dcs, account_dc, client.session.auth_key)) is carol
            finally:
                await client.disconnect()

    run_scenario(scenario, TIMEOUT)


def _key_ref(dcs: DataCentres, dc_id: int, auth_key: bytes) -> Any:
    from tlcodec.crypto import auth_key_id
    from tlcodec.testing.accounts import KeyRef

    return KeyRef(dc_id, auth_key_id(auth_key))


def test_kurigram_starts_after_its_qr_login_gets_its_own_profile_and_logs_out(
        tmp_path: Path, kurigram_trusts_the_test_dcs: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What a Kurigram app does after the QR login, by Kurigram's own code: the next start()
    finds the session authorized and asks updates.getState (its update state) and get_me
    (users.getFullUser on inputUserSelf, parsed by its own `User._parse_full`); log_out sends
    auth.logOut, after which the key is logged in as nobody."""
    monkeypatch.chdir(tmp_path)

    async def scenario() -> None:
        async with cluster(dc_ids=(2, 3)) as dcs:
            kurigram_trusts_the_test_dcs(dcs)
            erin = dcs.create_account("Erin", "15550005555", dc_id=3, username="erin_k",
                                      last_name="Kuri")
            client = await kurigram_client(dcs, 2, tmp_path)
            try:
                qr = KurigramQRLogin(client)
                await qr.recreate()
                waiting = asyncio.create_task(qr.wait(timeout=10))
                await asyncio.sleep(0.05)
                dcs.accept_login_token(qr.r.token, erin)
                assert (await waiting).id == erin.user_id
            finally:
                await client.disconnect()
            seen = record_calls(dcs)
            await client.start()  # the app's next run: its session is authorized on DC 3
            try:
                assert client.me.id == erin.user_id and client.me.is_self
                assert (client.me.first_name, client.me.last_name, client.me.username) == (
                    "Erin", "Kuri", "erin_k")
                assert client.me.phone_number == "15550005555"
                assert "updates.getState" in seen and "users.getFullUser" in seen
                [state] = await client.storage.get_update_states(0)  # getState's answer
                assert (state.pts, state.qts, state.seq) == (erin.pts, 0, erin.seq)
                me = await client.get_me()
                assert me.id == erin.user_id and me.bio is None and me.common_chats == 0
                key = _key_ref(dcs, 3, client.session.auth_key)
                assert dcs.world.logged_in_as(key) is erin
                assert await client.log_out() is True
                assert "auth.logOut" in seen
                assert dcs.world.logged_in_as(key) is None
            finally:
                if client.is_connected:
                    await client.stop()

    run_scenario(scenario, TIMEOUT)
