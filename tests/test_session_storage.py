"""Session storage (tlcodec.client.storage): the file written by write-then-rename, our session
string, and the Telethon and Pyrogram exports, the Telethon one checked end to end (Telethon's
own client logs in with it against the local test DC and its get_me() works).

Atomicity is tested twice: a crash simulated between the write and the rename (the old file
must stay whole, no temporary file may be left), and a writer process killed with SIGKILL at
random moments while it rewrites the file (every survivor must parse).
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tlcodec.client import Client, DcAuth, Session, SessionFileError
from tlcodec.client import storage as storage_module

from support import API_HASH, API_ID, rsa_key, run_scenario


def _key(seed: int) -> bytes:
    return random.Random(seed).randbytes(256)


def _sample_session(path: Path | None = None) -> Session:
    session = Session(path=path)
    session.home_dc = 4
    session.test_mode = True
    session.user_id = 5_123_456_789
    session.dcs[2] = DcAuth(2, "149.154.167.51", 443, _key(2), server_salt=-7, time_offset=1.5)
    session.dcs[4] = DcAuth(4, "2001:67c:4e8:f004::a", 443, _key(4), server_salt=2**62,
                            time_offset=-3.0)
    session.dcs[5] = DcAuth(5, "dc5.example", 8443)  # an address without a key yet
    return session


def _state(session: Session) -> tuple:
    return (session.home_dc, session.test_mode, session.user_id, session.is_bot,
            {dc: (a.host, a.port, a.auth_key, a.server_salt, a.time_offset)
             for dc, a in session.dcs.items()})


# ----------------------------------------------------------------------------------------------
# File sessions


def test_file_session_round_trips_every_field(tmp_path: Path) -> None:
    path = tmp_path / "me.session"
    session = _sample_session(path)
    session.save()
    assert _state(Session.from_file(path)) == _state(session)


def test_missing_file_opens_an_empty_session_that_save_creates(tmp_path: Path) -> None:
    path = tmp_path / "new.session"
    session = Session.from_file(path)
    assert (session.home_dc, session.user_id, session.dcs) == (None, None, {})
    assert not path.exists()
    session.save()
    assert path.exists()


def test_session_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "me.session"
    _sample_session(path).save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_crash_between_write_and_rename_keeps_the_old_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "me.session"
    old = _sample_session(path)
    old.save()
    old_bytes = path.read_bytes()

    changed = _sample_session(path)
    changed.user_id = 42
    changed.dcs[2].auth_key = _key(99)

    def crash(src: str, dst: str) -> None:
        # The temporary file is complete and fsync'ed at this point; the process dies before
        # the rename.
        assert Path(src).read_bytes() != old_bytes
        raise KeyboardInterrupt("killed between write and rename")

    monkeypatch.setattr(storage_module.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        changed.save()
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert _state(Session.from_file(path)) == _state(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.session"]  # no temporary left


def test_failed_write_leaves_neither_a_torn_file_nor_a_temporary(tmp_path: Path,
                                                                 monkeypatch) -> None:
    path = tmp_path / "me.session"
    _sample_session(path).save()
    old_bytes = path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_module.os, "fsync", disk_full)
    with pytest.raises(OSError):
        _sample_session(path).save()
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.session"]


# The writer says "ready" once imported: the kills land in its save loop, not in its start.
_WRITER = """
import random, sys
from tlcodec.client.storage import DcAuth, Session
path = sys.argv[1]
rng = random.Random(int(sys.argv[2]))
print("ready", flush=True)
n = 0
while True:
    n += 1
    session = Session(path=path)
    session.home_dc = 2
    session.user_id = n
    for dc in range(1, 1 + rng.randint(1, 5)):
        session.dcs[dc] = DcAuth(dc, "127.0.0.1", 1000 + dc, rng.randbytes(256), n, 0.0)
    session.save()
"""


def test_writer_killed_at_random_moments_never_leaves_a_torn_file(tmp_path: Path) -> None:
    path = tmp_path / "me.session"
    rng = random.Random(7)
    kills = 0
    for round_number in range(12):
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), str(round_number)],
            stdout=subprocess.PIPE, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        try:
            assert writer.stdout is not None
            assert writer.stdout.readline().strip() == b"ready"
            time.sleep(rng.uniform(0.005, 0.05))  # somewhere in the middle of some save()
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait(timeout=10)
            writer.stdout.close()  # type: ignore[union-attr]
        kills += 1
        if path.exists():
            session = Session.from_file(path)  # raises SessionFileError if torn
            assert session.home_dc == 2 and session.user_id >= 1
            assert all(len(auth.auth_key) == 256 for auth in session.dcs.values())
    assert kills == 12
    assert path.exists()


def test_damaged_file_is_reported_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "me.session"
    _sample_session(path).save()
    path.write_bytes(path.read_bytes()[:50])  # what a non-atomic writer could leave
    with pytest.raises(SessionFileError, match="cannot be read"):
        Session.from_file(path)


def test_file_of_a_later_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "me.session"
    _sample_session(path).save()
    data = json.loads(path.read_text())
    data["version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(SessionFileError, match="version 99"):
        Session.from_file(path)


# ----------------------------------------------------------------------------------------------
# Session strings


def test_session_string_round_trips_every_field() -> None:
    session = _sample_session()
    text = session.to_string()
    assert text.startswith("tlc1:")
    assert "=" not in text
    assert _state(Session.from_string(text)) == _state(session)


def test_session_string_of_an_empty_session_round_trips() -> None:
    session = Session()
    assert _state(Session.from_string(session.to_string())) == _state(session)


def test_session_string_of_another_version_is_refused() -> None:
    text = _sample_session().to_string().replace("tlc1:", "tlc2:", 1)
    with pytest.raises(SessionFileError, match="version 2"):
        Session.from_string(text)


@pytest.mark.parametrize("cut", [1, 100, 300])
def test_truncated_session_string_is_refused(cut: int) -> None:
    text = _sample_session().to_string()
    with pytest.raises(SessionFileError, match="damaged"):
        Session.from_string(text[:-cut])


def test_session_string_with_trailing_bytes_is_refused() -> None:
    body = _sample_session().to_string()[5:]
    data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)) + b"\0\0\0"
    text = "tlc1:" + base64.urlsafe_b64encode(data).decode().rstrip("=")
    with pytest.raises(SessionFileError, match="after the last DC"):
        Session.from_string(text)


def test_open_tells_memory_string_and_file_apart(tmp_path: Path) -> None:
    assert Session.open(None).path is None
    string_session = Session.open(_sample_session().to_string())
    assert string_session.path is None and string_session.home_dc == 4
    file_session = Session.open(str(tmp_path / "x.session"))
    assert file_session.path == tmp_path / "x.session"
    assert Session.open(tmp_path / "y.session").path == tmp_path / "y.session"
    existing = Session()
    assert Session.open(existing) is existing
    with pytest.raises(TypeError):
        Session.open(42)  # type: ignore[arg-type]


def test_dc_auth_refuses_a_key_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="256 bytes"):
        DcAuth(2, "127.0.0.1", 443, b"short")


def test_losing_the_home_dcs_key_loses_the_login() -> None:
    session = _sample_session()
    session.set_auth_key(2, None)
    assert session.user_id == 5_123_456_789  # DC 2 is not home
    session.set_auth_key(4, None)
    assert session.user_id is None and session.dcs[4].auth_key is None


# ----------------------------------------------------------------------------------------------
# Telethon and Pyrogram formats


def test_telethon_string_is_what_telethon_string_session_reads() -> None:
    from telethon.sessions import StringSession

    session = _sample_session()
    session.home_dc = 2
    text = session.to_telethon_string()
    telethon_session = StringSession(text)
    assert telethon_session.dc_id == 2
    assert telethon_session.server_address == "149.154.167.51"
    assert telethon_session.port == 443
    assert telethon_session.auth_key.key == _key(2)
    # ... and Telethon writes the same string back.
    assert telethon_session.save() == text


def test_telethon_string_carries_an_ipv6_address() -> None:
    from telethon.sessions import StringSession

    session = _sample_session()  # home DC 4 is on IPv6
    telethon_session = StringSession(session.to_telethon_string())
    assert telethon_session.server_address == "2001:67c:4e8:f004::a"
    assert telethon_session.auth_key.key == _key(4)


def test_telethon_string_reads_back_into_a_session() -> None:
    session = _sample_session()
    back = Session.from_telethon_string(session.to_telethon_string())
    assert back.home_dc == 4
    assert back.dcs[4].auth_key == _key(4) and back.dcs[4].port == 443


def test_telethon_export_needs_an_ip_address_and_a_key() -> None:
    session = _sample_session()
    session.home_dc = 5
    with pytest.raises(ValueError, match="no auth key"):
        session.to_telethon_string()
    session.dcs[5].auth_key = _key(5)
    with pytest.raises(ValueError, match="IP address"):
        session.to_telethon_string()


def test_pyrogram_string_has_pyrograms_layout() -> None:
    session = _sample_session()
    text = session.to_pyrogram_string(API_ID)
    assert "=" not in text
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Pyrogram 2.x Storage.SESSION_STRING_FORMAT: dc_id, api_id, test_mode, auth_key, user_id,
    # is_bot, big-endian (pyrogram/storage/storage.py).
    assert struct.unpack(">BI?256sQ?", data) == (4, API_ID, True, _key(4), 5_123_456_789, False)


def test_pyrogram_string_reads_back_into_a_session() -> None:
    session = _sample_session()
    back = Session.from_pyrogram_string(session.to_pyrogram_string(API_ID), "127.0.0.1", 4430)
    assert (back.home_dc, back.test_mode, back.user_id, back.is_bot) == (
        4, True, 5_123_456_789, False)
    assert back.dcs[4] == DcAuth(4, "127.0.0.1", 4430, _key(4))


def test_pyrogram_export_needs_a_login() -> None:
    session = _sample_session()
    session.user_id = None
    with pytest.raises(ValueError, match="log in first"):
        session.to_pyrogram_string(API_ID)


# ----------------------------------------------------------------------------------------------
# End to end: the exports work for the libraries that read them


async def _log_in(dcs, account, session) -> Client:
    """A client logged in on the account's DC by QR code (accepted by the test DC itself)."""
    host, port = dcs.address(account.dc_id)
    client = Client(API_ID, API_HASH, session, dc=(account.dc_id, host, port),
                    rsa_keys=[dcs.public_key])
    await client.connect()
    qr = await client.qr_login()
    dcs.accept_login_token(qr.token, account)
    await qr.wait(timeout=10)
    return client


def test_telethon_logs_in_with_the_exported_string_against_the_test_dc() -> None:
    from telethon import TelegramClient
    from telethon.sessions import StringSession

    from tlcodec.testing import DataCentres

    async def scenario() -> None:
        async with DataCentres(dc_ids=(1, 2), rsa_key=rsa_key()) as dcs:
            alice = dcs.create_account(first_name="Alice", phone="15550001111", dc_id=2)
            client = await _log_in(dcs, alice, None)
            text = client.export_telethon_session()
            await client.close()

            telethon = TelegramClient(StringSession(text), API_ID, API_HASH)
            await telethon.connect()
            try:
                assert await telethon.is_user_authorized()
                me = await telethon.get_me()
            finally:
                await telethon.disconnect()
            assert me.id == alice.user_id and me.first_name == "Alice"

    run_scenario(scenario)


def test_pyrogram_export_after_a_login_carries_the_key_and_the_user() -> None:
    from tlcodec.testing import DataCentres

    async def scenario() -> None:
        async with DataCentres(dc_ids=(1, 2), rsa_key=rsa_key()) as dcs:
            alice = dcs.create_account(first_name="Alice", phone="15550001111", dc_id=2)
            client = await _log_in(dcs, alice, None)
            text = client.export_pyrogram_session()
            key = client.export_session_string()
            await client.close()

            host, port = dcs.address(2)
            back = Session.from_pyrogram_string(text, host, port)
            ours = Session.from_string(key)
            assert (back.home_dc, back.user_id, back.is_bot) == (2, alice.user_id, False)
            assert back.dcs[2].auth_key == ours.dcs[2].auth_key is not None
            # Pyrogram 2.x SESSION_STRING_FORMAT: the api_id is the client's.
            data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            assert struct.unpack_from(">BI", data) == (2, API_ID)

    run_scenario(scenario)


def test_session_string_and_file_reopen_the_login(tmp_path: Path) -> None:
    from tlcodec.testing import DataCentres

    async def scenario() -> None:
        async with DataCentres(dc_ids=(1, 2), rsa_key=rsa_key()) as dcs:
            alice = dcs.create_account(first_name="Alice", phone="15550001111", dc_id=2)
            path = tmp_path / "alice.session"
            client = await _log_in(dcs, alice, path)
            string = client.export_session_string()
            await client.close()
            keys_before = dcs.auth_key_ids(2)

            for session in (path, string):
                host, port = dcs.address(1)  # the dc argument only matters for a new session
                async with Client(API_ID, API_HASH, session, dc=(1, host, port),
                                  rsa_keys=[dcs.public_key]) as again:
                    assert again.home_dc == 2 and again.user_id == alice.user_id
                    me = await again.get_me()
                    assert me.id == alice.user_id
            assert dcs.auth_key_ids(2) == keys_before  # no new key: the stored one was used

    run_scenario(scenario)
