"""The command line, `python -m tlcodec COMMAND`: glue between a terminal and the library.

    demo          the QR-code login end to end against test DCs started in-process
    qr-login      log in to Telegram by scanning a QR code; saves the session
    serve         run the test DCs until Ctrl-C, for other clients to test against
    decode        print the object tree of a TL blob (hex, or stdin)
    encode-example  the hex of an auth.importLoginToken call (something to decode)
    version       the version, the Python, and which parts run compiled (and why not)

This package owns the arguments, what is printed, and the exit statuses; the work is the
library's (`tlcodec.client`, `tlcodec.testing`, the codec). One module per command
(`demo`, `qr_login`, `serve`, `decode`); `login` holds what `demo` and `qr-login` share (the
narrated login and the QR screen), `terminal` the output (QR drawing, logging switch).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Callable

__all__ = ["build_parser", "main"]

TRANSPORT_CHOICES = (
    "abridged", "intermediate", "padded", "full",
    "obfuscated-abridged", "obfuscated-intermediate", "obfuscated-padded",
)
EXIT_INTERRUPTED = 130  # as a shell reports a process stopped by SIGINT


def _seconds(text: str, *, zero_allowed: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if zero_allowed and not value >= 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more seconds, got {text!r}")
    if not zero_allowed and not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    return _seconds(text, zero_allowed=False)


def _non_negative_float(text: str) -> float:
    return _seconds(text, zero_allowed=True)


def _api_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(
            f"the api_id is the positive number from my.telegram.org, got {text!r}")
    return value


def _add_verbose(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "-v", "--verbose", action="count", default=0,
        help=f"show the library's log on stderr: -v INFO, -vv DEBUG (default: {default})",
    )


def build_parser() -> argparse.ArgumentParser:
    from .serve import DEFAULT_PORT_BASE, parse_account, parse_dc_ids, parse_port_base

    parser = argparse.ArgumentParser(
        prog="python -m tlcodec",
        description="tlcodec: Telegram's TL codec, an MTProto client, and a test data centre.",
        epilog="Start with: python -m tlcodec demo",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter

    demo = commands.add_parser(
        "demo", formatter_class=raw,
        help="a QR-code login end to end, against test DCs started in-process",
        description=(
            "Starts three test data centres on 127.0.0.1 in this process, makes an account\n"
            "living on DC 3 with a phone logged in to it, and logs a new device in from DC 2\n"
            "by QR code, as `qr-login` does: the code drawn here, the phone accepting it, the\n"
            "migration to DC 3, auth.importLoginToken, the user and the session strings.\n"
            "Needs no network and no Telegram account; takes a few seconds."),
    )
    demo.add_argument("--scan-delay", type=_non_negative_float, default=1.0, metavar="SECONDS",
                      help="how long the phone takes to scan the code (default: 1)")
    demo.add_argument("--invert-qr", action="store_true",
                      help="draw the QR code for dark text on a light background")
    _add_verbose(demo, "nothing")

    qr_login = commands.add_parser(
        "qr-login", formatter_class=raw,
        help="log in to Telegram by scanning a QR code with a logged-in app",
        description=(
            "Shows a QR code to scan with a logged-in Telegram app (Settings > Devices >\n"
            "Link Desktop Device), redraws it when it expires, follows the account to its DC,\n"
            "and saves the session (--session), or prints it.\n\n"
            "An account with a two-step verification password: the password is asked for\n"
            "(not shown, with its hint, three tries), or read from $TLCODEC_PASSWORD\n"
            "(--password-env) for scripts.\n\n"
            "exit status: 0 logged in (or already was), 1 failed, 2 bad arguments,\n"
            "3 the two-step verification password was wrong or could not be read"),
        epilog=(
            "examples:\n"
            "  python -m tlcodec qr-login --api-id 12345 --api-hash 0123abcd... --session me.session\n"
            "  python -m tlcodec qr-login --api-id 12345 --api-hash 0123abcd... \\\n"
            "      --proxy 'tg://proxy?server=proxy.example&port=443&secret=ee...'\n"
            "  python -m tlcodec serve --account Alice:15550001111:3 --rsa-key-file dc.pem &\n"
            "  python -m tlcodec qr-login --api-id 1 --api-hash any --server 127.0.0.1:4432 \\\n"
            "      --rsa-key-file dc.pem"),
    )
    qr_login.add_argument("--api-id", type=_api_id, required=True, metavar="N",
                          help="your api_id (my.telegram.org)")
    qr_login.add_argument("--api-hash", required=True, metavar="HASH",
                          help="your api_hash (my.telegram.org)")
    qr_login.add_argument("--test-dc", action="store_true",
                          help="Telegram's test DCs instead of the production ones")
    qr_login.add_argument("--dc", type=int, default=2, metavar="N",
                          help="the DC to connect to first (default: 2)")
    qr_login.add_argument("--session", metavar="PATH",
                          help="the session file to use and save (default: none; the session "
                               "strings are printed)")
    qr_login.add_argument("--print-session-string", action="store_true",
                          help="print the session strings even with --session")
    qr_login.add_argument("--transport", choices=TRANSPORT_CHOICES, default="intermediate",
                          metavar="NAME",
                          help="the MTProto transport: abridged, intermediate (default), "
                               "padded, full, or obfuscated-abridged, -intermediate, -padded")
    qr_login.add_argument("--timeout", type=_positive_float, default=300.0, metavar="SECONDS",
                          help="give up if no device accepts the code in time (default: 300)")
    qr_login.add_argument("--connect-timeout", type=_positive_float, default=10.0,
                          metavar="SECONDS", help="for connecting to a DC (default: 10)")
    qr_login.add_argument("--invert-qr", action="store_true",
                          help="draw the QR code for dark text on a light background")
    qr_login.add_argument("--proxy", metavar="URL",
                          help="connect through a proxy: socks5://[user:pass@]host:port, "
                               "socks5h://, socks4://, http://, or an MTProxy link "
                               "(tg://proxy?server=...&port=...&secret=..., "
                               "https://t.me/proxy?...)")
    qr_login.add_argument("--ipv6", action="store_true",
                          help="prefer the DCs' IPv6 addresses")
    qr_login.add_argument("--password-env", default="TLCODEC_PASSWORD", metavar="VAR",
                          help="the environment variable holding the two-step verification "
                               "password, if any (default: TLCODEC_PASSWORD; else it is "
                               "asked for)")
    advanced = qr_login.add_argument_group(
        "another server (e.g. `python -m tlcodec serve`)")
    advanced.add_argument("--server", metavar="HOST:PORT",
                          help="the address of DC --dc; the other DCs' come from its "
                               "help.getConfig")
    advanced.add_argument("--rsa-key-file", action="append", default=[], metavar="PEM",
                          help="trust this server key besides Telegram's: a public key (as "
                               "`serve` prints it) or the server's private key file "
                               "(repeatable)")
    _add_verbose(qr_login, "warnings")

    serve = commands.add_parser(
        "serve", formatter_class=raw,
        help="run the test DCs until Ctrl-C, for other clients to test against",
        description=(
            "Runs test data centres (a real MTProto server: auth keys, every transport, the\n"
            "QR-login methods) until Ctrl-C or SIGTERM, and prints their addresses, their RSA\n"
            "public key (PEM and fingerprint), and a logged-in device for each --account, to\n"
            "accept QR codes with. Listens on loopback only unless --allow-non-loopback."),
    )
    serve.add_argument("--host", default="127.0.0.1",
                       help="the address to listen on (default: 127.0.0.1)")
    serve.add_argument("--allow-non-loopback", action="store_true",
                       help="allow a --host other than loopback (anyone who reaches it can "
                            "log in to the test accounts)")
    serve.add_argument("--dcs", type=parse_dc_ids, default=(1, 2, 3), metavar="1,2,3",
                       help="the DC numbers (default: 1,2,3)")
    serve.add_argument("--port-base", type=parse_port_base, default=DEFAULT_PORT_BASE,
                       metavar="N|ephemeral",
                       help=f"DC n listens on N + n (default: {DEFAULT_PORT_BASE}); 0 or "
                            "'ephemeral': ports the system picks")
    serve.add_argument("--rsa-key-file", metavar="PEM",
                       help="the servers' RSA private key; created there if missing "
                            "(default: a new key each run)")
    serve.add_argument("--token-ttl", type=_positive_float, default=30.0, metavar="SECONDS",
                       help="how long a login token lives (default: 30)")
    serve.add_argument("--test-mode", action="store_true",
                       help="behave as Telegram's test DCs (clients connect with test_mode)")
    serve.add_argument("--account", type=parse_account, action="append", default=[],
                       metavar="First:phone:dc[:password]",
                       help="create an account living on DC dc (empty: the home DC), with a "
                            "2FA password if given (repeatable)")
    _add_verbose(serve, "warnings")

    decode = commands.add_parser("decode", help="print the object tree of a TL blob (hex)")
    decode.add_argument("hex", nargs="?", help="the blob in hex; read from stdin if omitted")
    decode.add_argument("--expected", help='a TL type the blob must be, e.g. "auth.LoginToken"')
    decode.add_argument(
        "--schema", action="append", metavar="FILE.tl",
        help="decode with this schema instead of the bundled one (repeatable)",
    )
    decode.add_argument(
        "--allow-trailing", action="store_true", help="ignore bytes after the first value"
    )
    commands.add_parser("encode-example", help="print the hex of an auth.importLoginToken call")
    commands.add_parser("version", help="print the version and which parts run compiled")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo
    from .terminal import Output, set_up_logging

    set_up_logging(args.verbose, quiet_level=None)
    return asyncio.run(run_demo(Output(), scan_delay=args.scan_delay, invert_qr=args.invert_qr))


def _qr_login(args: argparse.Namespace) -> int:
    from .qr_login import run_qr_login
    from .terminal import Output, set_up_logging

    set_up_logging(args.verbose)
    return asyncio.run(run_qr_login(args, Output()))


def _serve(args: argparse.Namespace) -> int:
    from .serve import run_serve
    from .terminal import Output, set_up_logging

    set_up_logging(args.verbose)
    return run_serve(args, Output())


def _decode(args: argparse.Namespace) -> int:
    from .decode import run_decode

    return run_decode(args)


def _encode_example(args: argparse.Namespace) -> int:
    from .decode import run_encode_example

    return run_encode_example()


def _version(args: argparse.Namespace) -> int:
    import platform

    import tlcodec

    print(f"tlcodec {tlcodec.__version__} (layer {tlcodec.LAYER}) on "
          f"{platform.python_implementation()} {platform.python_version()}, {sys.platform}")
    for part, runs in tlcodec.ACCELERATED.items():
        print(f"  {part:<11} {'compiled' if runs else 'plain   '} {runs.module}"
              + ("" if runs else f"  ({runs.why_not})"))
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": _demo,
    "qr-login": _qr_login,
    "serve": _serve,
    "decode": _decode,
    "encode-example": _encode_example,
    "version": _version,
}
