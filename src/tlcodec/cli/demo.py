"""`python -m tlcodec demo`: the whole QR-code login on this machine, as a user would see it.

Starts the test data centres in this process (`tlcodec.testing.DataCentres`, loopback only),
makes an account living on DC 3 with a two-step verification password, logs a second client
("the phone") in to it, and then runs the login of a new device connecting to DC 2 with the
same code as `qr-login` (`NarratedClient`, `QRScreen`): the QR code, the phone scanning it
(`auth.acceptLoginToken`), the migration to DC 3, `auth.importLoginToken` there, the password
asked for with its hint and checked by SRP (`auth.checkPassword`), the user, and the session
strings. Needs no network and
no account; everything it made is gone when it ends.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

from .. import functions
from ..client import Client, QRLogin
from ..client.qr import URL_PREFIX
from ..crypto import auth_key_id
from ..testing import DataCentres
from .login import NarratedClient, QRScreen
from .terminal import Output, describe_user

__all__ = ["run_demo"]

# The test DCs accept any api_id/api_hash; these only fill in initConnection.
DEMO_API_ID = 12345
DEMO_API_HASH = "0123456789abcdef0123456789abcdef"
DEMO_DCS = (1, 2, 3)
NEW_DEVICE_DC = 2  # where the new device connects first
ACCOUNT_DC = 3  # where the account lives: the login has to migrate there
# Shown on purpose: it is the demo's test account, gone when the demo ends.
DEMO_PASSWORD = "through the looking-glass"
DEMO_PASSWORD_HINT = "what Alice went through"


async def run_demo(output: Output, *, scan_delay: float = 1.0, invert_qr: bool = False,
                   timeout: float = 60.0) -> int:
    """Run the demo; returns the exit status."""
    try:
        return await asyncio.wait_for(_demo(output, scan_delay, invert_qr), timeout)
    except asyncio.TimeoutError:
        output.error(f"the demo did not finish within {timeout:g} s")
        return 1


async def _demo(output: Output, scan_delay: float, invert_qr: bool) -> int:
    say = output.say
    started = time.perf_counter()
    say("tlcodec demo: a QR-code login against test data centres on this machine")
    say()
    numbers = ", ".join(map(str, DEMO_DCS[:-1])) + f" and {DEMO_DCS[-1]}"
    say(f"Starting {len(DEMO_DCS)} test DCs on 127.0.0.1: DC {numbers} "
        "(a new 2048-bit RSA key) ...")
    async with DataCentres(dc_ids=DEMO_DCS, host="127.0.0.1") as dcs:
        say("  " + "   ".join(f"DC {dc_id}: {host}:{port}"
                               for dc_id in dcs.dc_ids for host, port in [dcs.address(dc_id)]))
        say(f"  RSA key fingerprint {dcs.public_key.fingerprint:016x} (given to the clients)")
        account = dcs.create_account("Alice", "15550001111", dc_id=ACCOUNT_DC,
                                     username="alice", last_name="Liddell",
                                     password=DEMO_PASSWORD, password_hint=DEMO_PASSWORD_HINT)
        say(f"Created a test account living on DC {ACCOUNT_DC}:")
        say(f"  {describe_user(account.user)}")
        say(f"  with a two-step verification password, {DEMO_PASSWORD!r} (the DCs keep only "
            "its SRP verifier)")

        phone = _client(Client, dcs, ACCOUNT_DC, device_model="Alice's phone",
                        app_version="tlcodec demo (phone)")
        async with phone:
            key = phone.connection(ACCOUNT_DC).auth_key  # type: ignore[union-attr]
            assert key is not None
            dcs.authorize(auth_key_id(key), account)
            phone.session.user_id = account.user_id
            say(f"Alice's phone: a second client, own auth key on DC {ACCOUNT_DC}, logged in.")
            say()

            host, port = dcs.address(NEW_DEVICE_DC)
            say(f"The new device: connecting to DC {NEW_DEVICE_DC} ({host}:{port}) ...")
            client = _client(NarratedClient, dcs, NEW_DEVICE_DC, output=output,
                             device_model="tlcodec demo (new device)")
            async with client:
                say("  connected: a new auth key (DH exchange), then initConnection")
                say("Calling auth.exportLoginToken ...")
                qr = await client.qr_login()
                screen = QRScreen(output, invert=invert_qr)
                screen.show(qr)
                scanning = asyncio.create_task(_scan(phone, qr, output, scan_delay))
                try:
                    user = await qr.wait(timeout=30.0, on_refresh=screen.refresh,
                                         password=_type_password(output))
                except BaseException:
                    scanning.cancel()
                    await asyncio.gather(scanning, return_exceptions=True)
                    raise
                await scanning  # the phone's answer (its failure would be the demo's)
                say()
                say(f"Logged in as {describe_user(user)}.")
                me = await client.get_me()
                say(f"  users.getUsers([inputUserSelf]) on DC {client.home_dc}, the home DC "
                    f"now: user id {me.id}")
                say()
                dcs_with_keys = ", ".join(map(str, sorted(client.session.dcs)))
                say(f"Session string for tlcodec (auth keys of DCs {dcs_with_keys}; "
                    "Client(..., session=...)):")
                say(f"  {client.export_session_string()}")
                say(f"Telethon StringSession (DC {client.home_dc} only):")
                say(f"  {client.export_telethon_session()}")
                say("(Both point at this demo's test DCs, which stop now.)")
    say()
    say(f"Done in {time.perf_counter() - started:.1f} s.")
    return 0


async def _scan(phone: Client, qr: QRLogin, output: Output, delay: float) -> None:
    """Alice's phone reads the QR code (the URL in it) and accepts the login."""
    await asyncio.sleep(delay)
    url = qr.url
    encoded = url.removeprefix(URL_PREFIX)
    token = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    output.say(f"Alice's phone scans the code: auth.acceptLoginToken on DC {phone.home_dc} ...")
    authorization = await phone.invoke(functions.auth.AcceptLoginToken(token=token))
    output.say(f"  the phone now lists the new device: \"{authorization.device_model}\", "
               f"{authorization.app_version}")


def _type_password(output: Output) -> Any:
    """Alice types her password where `qr-login` would ask for it."""

    async def ask(hint: str | None) -> str:
        output.say(f"The account has a two-step verification password (hint: {hint}); "
                   "Alice types it ...")
        return DEMO_PASSWORD

    return ask


def _client(cls: type[Any], dcs: DataCentres, dc_id: int, **options: Any) -> Any:
    host, port = dcs.address(dc_id)
    return cls(DEMO_API_ID, DEMO_API_HASH, dc=(dc_id, host, port), rsa_keys=[dcs.public_key],
               **options)
