"""`python -m tlcodec qr-login`: log in to Telegram by scanning a QR code with a logged-in app.

Connects to the given DC (Telegram's, or its test DCs with `--test-dc`, or any server with
`--server HOST:PORT --rsa-key-file PEM`, e.g. `python -m tlcodec serve`), shows the QR code of
the login token, redraws it when the token expires, follows the migration to the account's DC,
and saves the session (`--session PATH`; without it the session strings are printed, since
nothing else would keep the login). An account with a two-step verification password: the
password comes from the environment variable `--password-env` names (TLCODEC_PASSWORD by
default; one try, for scripts), or is asked for on the terminal without echo, with its hint,
up to three times. The steps are `tlcodec.client`'s (`Client.qr_login()`, `QRLogin.wait()`);
this module is the glue to a terminal, and owns the exit statuses:

    0 logged in (or the session already was), 1 the login failed, 2 bad arguments,
    3 the account's two-step verification password was wrong, or could not be asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import ipaddress
import os
import re
import threading
from pathlib import Path
from typing import Any, Callable

from ..errors import SecurityError
from ..client import BOOTSTRAP_DCS, ClientClosedError, SessionFileError, SignUpRequiredError
from ..crypto import RSAPrivateKey, RSAPublicKey
from ..mtproto.errors import (
    AuthKeyUnregisteredError,
    FloodWaitError,
    PasswordHashInvalidError,
    RPCError,
    SessionPasswordNeededError,
    TransportError,
)
from .login import NarratedClient, QRScreen
from .terminal import Output, describe_user

__all__ = [
    "DEFAULT_PASSWORD_ENV",
    "EXIT_PASSWORD_NEEDED",
    "load_public_keys",
    "parse_server",
    "password_source",
    "run_qr_login",
]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PASSWORD_NEEDED = 3

DEFAULT_PASSWORD_ENV = "TLCODEC_PASSWORD"

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


def password_source(env_name: str, output: Output,
                    prompt: Callable[[str], str] = getpass.getpass) -> Any:
    """What `QRLogin.wait(password=...)` gets: the value of `$env_name` if set (one try), else
    an async function asking on the terminal (`prompt`, no echo) with the hint. No password
    to be read (no terminal, end of input, an empty answer) is an EOFError: exit 3."""
    from_env = os.environ.get(env_name)
    if from_env:
        return from_env

    async def ask(hint: str | None) -> str:
        output.say("This account has a two-step verification password"
                   + (f" (hint: {hint})." if hint else " (no hint)."))
        password = await _in_a_thread(prompt, "Password (not shown as you type): ")
        if not password:
            raise EOFError("no password was given")
        return password

    return ask


async def _in_a_thread(function: Callable[[str], str], argument: str) -> str:
    """`function(argument)` in a daemon thread: the connections keep running while the user
    types, and Ctrl-C ends the program even though the thread still waits for the terminal
    (whose settings, echo off for a password, are put back then: the thread cannot)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str] = loop.create_future()
    answered = threading.Event()

    def run() -> None:
        try:
            result: Any = function(argument)
        except BaseException as exc:  # EOFError without a terminal, and the like
            outcome: tuple[Any, BaseException | None] = (None, exc)
        else:
            outcome = (result, None)
        answered.set()
        try:
            loop.call_soon_threadsafe(_settle, done, *outcome)
        except RuntimeError:  # the loop is gone: the program ended while the prompt waited
            pass

    terminal = _TerminalSettings.save()
    threading.Thread(target=run, name="tlcodec password prompt", daemon=True).start()
    try:
        return await done
    except (EOFError, OSError) as exc:
        raise EOFError(f"the password could not be read ({type(exc).__name__})") from None
    finally:
        if not answered.is_set():  # cancelled (Ctrl-C) while the prompt still waits
            terminal.restore()
        terminal.close()


class _TerminalSettings:
    """The controlling terminal's settings (termios), to put back after an abandoned prompt."""

    def __init__(self, fd: int | None, attributes: Any) -> None:
        self.fd = fd
        self.attributes = attributes

    @classmethod
    def save(cls) -> _TerminalSettings:
        try:
            import termios

            fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        except (ImportError, OSError):  # Windows, or no controlling terminal
            return cls(None, None)
        try:
            return cls(fd, termios.tcgetattr(fd))
        except termios.error:
            os.close(fd)
            return cls(None, None)

    def restore(self) -> None:
        if self.fd is not None:
            import termios

            try:
                termios.tcsetattr(self.fd, termios.TCSAFLUSH, self.attributes)
            except termios.error:
                pass

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _settle(future: asyncio.Future[str], result: str | None,
            error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]


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
        user = await qr.wait(timeout=args.timeout, on_refresh=screen.refresh,
                             password=password_source(args.password_env, output))
    except PasswordHashInvalidError:
        output.error("the two-step verification password was wrong (PASSWORD_HASH_INVALID). "
                     "The QR code was accepted, but this device is not logged in.")
        return EXIT_PASSWORD_NEEDED
    except EOFError as exc:
        output.error(f"this account has a two-step verification password and {exc}: run in a "
                     f"terminal, or set ${args.password_env}. The QR code was accepted, but "
                     "this device is not logged in.")
        return EXIT_PASSWORD_NEEDED
    except SessionPasswordNeededError:  # not expected: wait() asks for the password
        output.error("this account has a two-step verification password "
                     "(SESSION_PASSWORD_NEEDED) that was not checked.")
        return EXIT_PASSWORD_NEEDED
    except FloodWaitError as exc:
        output.error(f"too many attempts: the server asks to wait {exc.seconds} s "
                     f"({exc.message}) before trying again")
        return EXIT_FAILED
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
