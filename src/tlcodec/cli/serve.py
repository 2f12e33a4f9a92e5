"""`python -m tlcodec serve`: the test data centres (`tlcodec.testing`) until Ctrl-C, for other
clients to test against.

Prints `tlcodec.testing.describe(dcs)` (every DC's address, the RSA public key PEM and its
fingerprint, the accounts) and, for each `--account`, the session of a device already logged in
to it: the "phone" that accepts QR codes (`auth.acceptLoginToken`) for a client under test.
SIGINT and SIGTERM stop it cleanly (exit 0). It binds to loopback only unless
`--allow-non-loopback` says otherwise: the test DCs hand out logins to anyone who asks.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from ..client import Client
from ..crypto import RSAPrivateKey, auth_key_id
from ..testing import Account, DataCentres, describe
from .terminal import Output

__all__ = ["AccountSpec", "check_host", "parse_account", "parse_dc_ids", "parse_port_base",
           "run_serve"]

DEFAULT_PORT_BASE = 4430  # DC n listens on 4430 + n
# The logged-in devices made for --account connect with these (the test DCs accept any).
DEVICE_API_ID = 12345
DEVICE_API_HASH = "0123456789abcdef0123456789abcdef"
EXIT_FAILED = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class AccountSpec:
    """An `--account "First:phone:dc[:password]"` (dc None: the home DC)."""

    first_name: str
    phone: str
    dc_id: int | None = None
    password: str | None = None


def parse_account(text: str) -> AccountSpec:
    """`First:phone:dc[:password]` (dc may be left empty: the home DC; the password may hold
    colons)."""
    parts = text.split(":", 3)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise argparse.ArgumentTypeError(
            f"expected First:phone:dc[:password] (e.g. Alice:15550001111:3), got {text!r}")
    dc_text = parts[2] if len(parts) > 2 else ""
    try:
        dc_id = int(dc_text) if dc_text else None
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"the DC of an account is a number, got {dc_text!r} in {text!r}") from None
    password = parts[3] if len(parts) > 3 else None
    return AccountSpec(parts[0], parts[1], dc_id, password or None)


def parse_dc_ids(text: str) -> tuple[int, ...]:
    """`1,2,3` -> (1, 2, 3): distinct DC numbers 1..255."""
    try:
        dc_ids = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected DC numbers separated by commas (e.g. 1,2,3), got {text!r}") from None
    if not dc_ids or len(set(dc_ids)) != len(dc_ids) or not all(0 < d < 256 for d in dc_ids):
        raise argparse.ArgumentTypeError(f"expected distinct DC numbers 1..255, got {text!r}")
    return dc_ids


def parse_port_base(text: str) -> int | None:
    """A port base (DC n on base + n), or `0`/`ephemeral`: ports chosen by the system (None)."""
    if text.strip().lower() in ("0", "ephemeral"):
        return None
    try:
        base = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a port number or 'ephemeral', got {text!r}") from None
    if not 0 < base < 65535:
        raise argparse.ArgumentTypeError(f"the port base must be 1..65534, got {base}")
    return base


def check_host(host: str, allow_non_loopback: bool) -> str:
    """The address to bind: `localhost` is 127.0.0.1; anything but a loopback IP address is
    refused (ValueError) unless `allow_non_loopback`. Names other than localhost are refused
    too, rather than resolved: what they point at can change."""
    if host.lower() == "localhost":
        return "127.0.0.1"
    if allow_non_loopback:
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"--host must be a loopback IP address (127.0.0.1, ::1) or localhost, "
                         f"got {host!r}; --allow-non-loopback binds anywhere else") from None
    if not address.is_loopback:
        raise ValueError(f"--host {host} is not a loopback address: the test DCs log anyone "
                         "in who asks, so they listen on this machine only unless "
                         "--allow-non-loopback is given")
    return host


def load_or_create_private_key(path: Path, output: Output) -> RSAPrivateKey:
    """The servers' RSA key from `path`, or a new one written there (readable by its owner
    only), so that a restarted `serve` keeps the key its clients trust."""
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        key = RSAPrivateKey.generate()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(key.to_pem())
        output.say(f"Wrote a new RSA private key to {path} (clients need only the public key "
                   "printed below).")
        return key
    try:
        return RSAPrivateKey.from_pem(pem)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not an unencrypted RSA private key in PEM form ({exc})") \
            from None


def run_serve(args: argparse.Namespace, output: Output) -> int:
    """Serve as `args` say (see the `serve` parser) until SIGINT/SIGTERM; the exit status."""
    try:
        host = check_host(args.host, args.allow_non_loopback)
        ports = None
        if args.port_base is not None:
            ports = {dc_id: args.port_base + dc_id for dc_id in args.dcs}
            too_high = [port for port in ports.values() if port > 65535]
            if too_high:
                raise ValueError(f"--port-base {args.port_base} puts DC ports past 65535")
        rsa_key = (load_or_create_private_key(Path(args.rsa_key_file), output)
                   if args.rsa_key_file else None)
        dcs = DataCentres(dc_ids=args.dcs, host=host, rsa_key=rsa_key, token_ttl=args.token_ttl,
                          ports=ports, test_mode=args.test_mode)
        accounts = [
            dcs.create_account(spec.first_name, spec.phone, dc_id=spec.dc_id,
                               password=spec.password)
            for spec in args.account
        ]
    except (OSError, ValueError) as exc:
        output.error(str(exc))
        return EXIT_USAGE
    return asyncio.run(_serve(dcs, accounts, output, args.rsa_key_file))


async def _serve(dcs: DataCentres, accounts: list[Account], output: Output,
                 key_file: str | None) -> int:
    say = output.say
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[str] = []

    def on_signal(signum: signal.Signals) -> None:
        received.append(signum.name)
        stop.set()

    handled = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal, signum)
            handled.append(signum)
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl-C is a KeyboardInterrupt
            pass
    try:
        try:
            await dcs.start()
        except OSError as exc:
            output.error(f"cannot listen on {dcs.host}: {exc} (another server on these "
                         "ports? --port-base ephemeral picks free ones)")
            return EXIT_FAILED
        try:
            devices = [await _logged_in_device(dcs, account) for account in accounts]
            say(describe(dcs))
            if devices:
                say("Logged-in devices, one per account (a second device that accepts QR "
                    "codes: auth.acceptLoginToken):")
                for account, (ours, telethon) in zip(accounts, devices):
                    say(f"  {account.first_name}, user {account.user_id} on DC "
                        f"{account.dc_id}:")
                    say(f"    tlcodec:  {ours}")
                    say(f"    Telethon: {telethon}")
            host, port = dcs.address(dcs.home_dc)
            key = key_file or "FILE"
            say("Log in against it" + ("" if key_file else
                                       " (FILE: the public key above, in a file)") + ":")
            say(f"  python -m tlcodec qr-login --api-id 1 --api-hash any "
                f"--server {_host_port(host, port)} --dc {dcs.home_dc} --rsa-key-file {key}")
            say("Serving until Ctrl-C (SIGINT) or SIGTERM.")
            await stop.wait()
            say(f"{received[0] if received else 'Stop'}: stopping the test DCs ...")
        finally:
            await dcs.close()
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
    say("Stopped.")
    return 0


async def _logged_in_device(dcs: DataCentres, account: Account) -> tuple[str, str]:
    """A client of `account` on its DC, logged in with the test API; its session strings
    (ours, Telethon's). The DC keeps the key and the login after the client closes."""
    host, port = dcs.address(account.dc_id)
    device = Client(DEVICE_API_ID, DEVICE_API_HASH, dc=(account.dc_id, host, port),
                    rsa_keys=[dcs.public_key], test_mode=dcs.test_mode,
                    device_model=f"{account.first_name}'s phone (tlcodec serve)",
                    app_version="tlcodec serve", ping_interval=None)
    async with device:
        connection = device.connection(account.dc_id)
        assert connection is not None and connection.auth_key is not None
        dcs.authorize(auth_key_id(connection.auth_key), account)
        device.session.user_id = account.user_id
        return device.export_session_string(), device.export_telethon_session()


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
