"""`python -m tlcodec decode`: the object tree of a TL blob given in hex (argument or stdin).

Decodes with the bundled schema (or `--schema` files) and prints one field per line, nested
objects and lists indented below their field; absent optional fields are left out.
"""

from __future__ import annotations

import argparse
import sys

import tlcodec
from tlcodec import DecodeError, Schema

__all__ = ["render", "run_decode", "run_encode_example"]


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


def run_decode(args: argparse.Namespace) -> int:
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


def run_encode_example() -> int:
    from tlcodec.functions.auth import ImportLoginToken

    print(tlcodec.encode(ImportLoginToken(token=bytes(range(1, 33)))).hex())
    return 0
