"""Command line: `python -m tlcodec decode HEX` prints the object tree of a TL blob.

    python -m tlcodec decode e45cac9520010203...
    echo e45cac95... | python -m tlcodec decode
    python -m tlcodec decode --schema api.tl --schema mtproto.tl HEX   # any loaded schema
    python -m tlcodec encode-example                                   # a blob to try it on
"""

from __future__ import annotations

import argparse
import sys

import tlcodec
from tlcodec import DecodeError, Schema


def render(value: object, indent: int = 0) -> str:
    """An indented tree: one field per line, nested objects and lists below their field."""
    pad = "  " * indent
    if isinstance(value, tlcodec.TLObject):
        plan = type(value).__tl_plan__
        lines = [f"{plan.tl_name}#{plan.constructor_id:08x}"]
        for attr in plan.attrs:
            field = getattr(value, attr)
            if field is None or field is False and _is_flag_only(plan, attr):
                continue  # absent optional fields would only add noise
            lines.append(f"{pad}  {attr}: {render(field, indent + 1)}")
        return "\n".join(lines)
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [f"{pad}  - {render(item, indent + 2)}" for item in value]
        return f"[{len(value)}]\n" + "\n".join(items)
    if isinstance(value, bytes):
        return f"bytes[{len(value)}] {value.hex()}" if len(value) <= 64 else (
            f"bytes[{len(value)}] {value[:32].hex()}..."
        )
    return repr(value)


def _is_flag_only(plan: object, attr: str) -> bool:
    for field in plan.fields:  # type: ignore[attr-defined]
        if field[0] == attr:
            return field[2] >= 0
    return False


def _read_hex(argument: str | None) -> bytes:
    text = argument if argument is not None else sys.stdin.read()
    cleaned = "".join(text.split()).removeprefix("0x")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise SystemExit(f"error: not hex: {cleaned[:40]!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tlcodec", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
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
    args = parser.parse_args(argv)

    if args.command == "encode-example":
        from tlcodec.functions.auth import ImportLoginToken

        print(tlcodec.encode(ImportLoginToken(token=bytes(range(1, 33)))).hex())
        return 0

    schema = tlcodec.bundled
    if args.schema:
        texts = []
        for path in args.schema:
            with open(path, encoding="utf-8") as file:
                texts.append(file.read())
        schema = Schema.from_tl(*texts)
    data = _read_hex(args.hex)
    try:
        value = schema.decode(data, args.expected, allow_trailing=args.allow_trailing)
    except DecodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(render(value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
