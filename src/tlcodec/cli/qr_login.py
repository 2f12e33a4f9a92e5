"""`python -m tlcodec qr-login`: log in to Telegram by scanning a QR code with a logged-in app.

Connects to the given DC (Telegram's, or its test DCs with `--test-dc`, or any server with
`--server HOST:PORT --rsa-key-file PEM`, e.g. `python -m tlcodec serve`), shows the QR code of
the login token, redraws it when the token expires, follows the migration to the account's DC,
and saves the session (`--session PATH`; without it the session strings are printed, since
nothing else would keep the login). The steps are `tlcodec.client`'s (`Client.qr_login()`,
`QRLogin.wait()`); this module is the glue to a terminal, and owns the exit statuses:

    0 logged in (or the session already was), 1 the login failed, 2 bad arguments,
    3 the account has a two-step verification password (not supported yet).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import re
from pathlib import Path
from typing import Any

from ..errors import SecurityError
from ..client import BOOTSTRAP_DCS, ClientClosedError, SessionFileError, SignUpRequiredError
from ..crypto import RSAPrivateKey, RSAPublicKey
from ..mtproto.errors import (
    AuthKeyUnregisteredError,
    RPCError,
    SessionPasswordNeededError,
    TransportError,
)
from .login import NarratedClient, QRScreen
from .terminal import Output, describe_user

__all__ = ["EXIT_PASSWORD_NEEDED", "load_public_keys", "parse_server", "run_qr_login"]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PASSWORD_NEEDED = 3

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)


def parse_server(text: str) -> tuple[str, int]:
    """`HOST:PORT` or `[IPV6]:PORT` -> (host, port); raises ValueError with what was wrong."""
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d+)|([^:\[\]]+):(\d+)", text.strip())
    if match is None:
        raise ValueError(f"expected HOST:PORT (or [IPV6]:PORT), got {text!r}")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not 0 < port < 65536:
        raise ValueError(f"the port must be 1..65535, got {port}")
    if match.group(1):
        ipaddress.IPv6Address(host)  # raises ValueError for a malformed one
    return host, port


def load_public_keys(path: str | Path) -> list[RSAPublicKey]:
    """Every RSA key in a PEM file, as public keys: public keys (PKCS#1 "RSA PUBLIC KEY", as
    `serve` prints it, or "PUBLIC KEY"), or private keys (a server's key file: its public
    half is taken)."""
    text = Path(path).read_text(encoding="ascii", errors="replace")
    keys: list[RSAPublicKey] = []
    for match in _PEM_BLOCK.finditer(text):
        block, kind = match.group(0), match.group(1)
        if "PRIVATE" in kind:
            keys.append(RSAPrivateKey.from_pem(block).public_key)
        else:
            keys.append(RSAPublicKey.from_pem(block))
    if not keys:
        raise ValueError(f"{path}: no PEM-encoded RSA key in it")
    return keys


async def run_qr_login(args: argparse.Namespace, output: Output) -> int:
    """Log in as `args` say (see the `qr-login` parser); returns the exit status."""
    say = output.say
    try:
        if args.session is not None and not Path(args.session).resolve().parent.is_dir():
            raise ValueError(f"--session {args.session}: its directory does not exist")
        rsa_keys = [key for path in args.rsa_key_file for key in load_public_keys(path)]
        server = parse_server(args.server) if args.server else None
        dc: Any = (args.dc, *server) if server else args.dc
        client = NarratedClient(
            args.api_id, args.api_hash, session=args.session, dc=dc, test_mode=args.test_dc,
            rsa_keys=rsa_keys, transport=args.transport, connect_timeout=args.connect_timeout,
            proxy=args.proxy, ipv6=args.ipv6, output=output,
        )
    except (OSError, ValueError, SessionFileError) as exc:
        output.error(str(exc))
        return EXIT_USAGE

    home = client.home_dc
    via = f" through {client.proxy.describe()}" if client.proxy is not None else ""
    say(f"Connecting to DC {home} ({_where(client, server, args)}, {client.transport} "
        f"transport){via} ...")
    try:
        try:
            await client.connect()
        except (OSError, asyncio.TimeoutError, TransportError, SecurityError) as exc:
            auth = client.session.dc(home)
            address = f" at {auth.host}:{auth.port}" if auth is not None else ""
            reason = str(exc) or f"no answer within {args.connect_timeout:g} s"
            output.error(f"connecting to DC {home}{address} failed: {reason}")
            return EXIT_FAILED
        status = await _log_in(client, args, output)
    finally:
        await client.close()  # also on Ctrl-C; saves the session (with the latest salt)
    if status == 0 and args.session is not None:
        say(f"Session saved to {args.session} (it is the login: keep it private). "
            f"Use it with Client(api_id, api_hash, session={str(args.session)!r}).")
    return status


def _where(client: NarratedClient, server: tuple[str, int] | None,
           args: argparse.Namespace) -> str:
    """Where the first connection goes, for a person: the address, and whose it is."""
    home = client.home_dc
    stored = client.session.dc(home)
    if stored is not None:
        host, port = stored.host, stored.port
    elif server is not None and home == args.dc:
        host, port = server
    else:
        host, port = BOOTSTRAP_DCS[args.test_dc].get(home, ("?", 0))
    owner = "" if server else "Telegram's test DCs, " if args.test_dc else "Telegram, "
    return f"{owner}{host}:{port}"


async def _log_in(client: NarratedClient, args: argparse.Namespace, output: Output) -> int:
    say = output.say
    say(f"  connected to DC {client.home_dc}")
    try:
        if client.user_id is not None and await _still_logged_in(client, output):
            return 0
        say("Calling auth.exportLoginToken ...")
        qr = await client.qr_login()
        screen = QRScreen(output, invert=args.invert_qr)
        screen.show(qr)
        say(f"Waiting for a device to accept it (up to {args.timeout:g} s; Ctrl-C stops) ...")
        user = await qr.wait(timeout=args.timeout, on_refresh=screen.refresh)
    except SessionPasswordNeededError:
        output.error("this account has a two-step verification password "
                     "(SESSION_PASSWORD_NEEDED); logging in with a password is not supported "
                     "yet (2FA is a later step of tlcodec). The QR code was accepted, but this "
                     "device is not logged in.")
        return EXIT_PASSWORD_NEEDED
    except (TimeoutError, asyncio.TimeoutError) as exc:
        output.error(str(exc) or "the server did not answer in time")
        return EXIT_FAILED
    except SignUpRequiredError as exc:
        output.error(str(exc))
        return EXIT_FAILED
    except RPCError as exc:
        output.error(f"the server answered {exc.code} {exc.message}")
        return EXIT_FAILED
    except (OSError, TransportError, SecurityError, ClientClosedError) as exc:
        output.error(f"the connection failed: {exc or type(exc).__name__}")
        return EXIT_FAILED
    say()
    say(f"Logged in as {describe_user(user)}; the account lives on DC {client.home_dc}.")
    if args.session is None or args.print_session_string:
        say("Session string (tlcodec: Client(api_id, api_hash, session=...)):")
        say(f"  {client.export_session_string()}")
        say(f"Telethon StringSession (DC {client.home_dc} only):")
        say(f"  {client.export_telethon_session()}")
    return 0


async def _still_logged_in(client: NarratedClient, output: Output) -> bool:
    """The session says it is logged in: check (`users.getUsers`), and say so if it is."""
    try:
        me = await client.get_me()
    except AuthKeyUnregisteredError:
        output.say("The session's login has ended on the server; logging in again.")
        client.session.user_id = None
        return False
    output.say(f"This session is already logged in as {describe_user(me)} on DC "
               f"{client.home_dc}; nothing to do.")
    return True
