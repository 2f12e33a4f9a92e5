"""Coverage-guided fuzzing of the decoder with atheris (run by hand; pytest does not collect it).

    /opt/venv/bin/pip install atheris
    /opt/venv/bin/python tests/fuzz_decode.py --write-seeds corpus/  # valid encodings to start
    /opt/venv/bin/python tests/fuzz_decode.py -max_total_time=300 corpus/
    /opt/venv/bin/python tests/fuzz_decode.py crash-<hash>             # replay one input

Each input is decoded by the pure-Python twin and by the compiled codec (when built) with several
expected types. atheris instruments Python bytecode only, so the coverage that guides the fuzzer
comes from the twin (`tlcodec._codec_py`, the readable reference of the same interpreter); the
compiled codec rides along differentially: it must reach the same outcome on every input. Only
`DecodeError` may come out; anything else (another exception, a disagreement, a value that does
not survive re-encoding) is reported by atheris as a crash with the input saved to a file.
"""

from __future__ import annotations

import sys
from typing import Any

import atheris

with atheris.instrument_imports(include=["tlcodec"]):
    from tlcodec import DecodeError, _codec_py
    from tlcodec.schema import Schema
    from tlcodec.schema.generate import bundled_definitions

try:
    from tlcodec import _codec
except ImportError:  # the twin alone is still worth fuzzing
    _codec = None

DEFINITIONS, LAYER = bundled_definitions()
SCHEMAS = [Schema(DEFINITIONS, LAYER, codec=_codec_py)]
if _codec is not None:
    SCHEMAS.append(Schema(DEFINITIONS, LAYER, codec=_codec))

# The first input byte picks what the decoder is asked for; the rest is the data.
EXPECTED: list[Any] = [
    None,
    "auth.LoginToken",
    "User",
    "Bool",
    "Vector<long>",
    "Vector<User>",
    "Vector<%message>",
    "vector<long>",
    "msg_container",
    "JSONValue",
    "Object",
    "string",
]


def outcome(schema: Schema, data: bytes, expected: Any) -> tuple[str, Any]:
    try:
        value = schema.decode(data, expected, max_inflated=1 << 16)
    except DecodeError as exc:
        return "error", exc.offset
    return "ok", comparable(schema, value)


def comparable(schema: Schema, value: Any) -> Any:
    """TL objects replaced by their encodings (checked to decode back to the same bytes)."""
    if isinstance(value, list):
        return [comparable(schema, v) for v in value]
    if isinstance(value, float):
        return value.hex()
    if hasattr(type(value), "__tl_plan__"):
        encoded = schema.codec.encode(value)
        again = schema.codec.encode(schema.decode(encoded, type(value)))
        if again != encoded:
            raise AssertionError(f"unstable re-encoding of {value!r}")
        return ("tl", encoded)
    return value


def TestOneInput(raw: bytes) -> None:  # noqa: N802 - the name atheris looks for
    if not raw:
        return
    expected = EXPECTED[raw[0] % len(EXPECTED)]
    data = raw[1:]
    results = [outcome(schema, data, expected) for schema in SCHEMAS]
    if len(set(map(repr, results))) != 1:
        raise AssertionError(f"implementations disagree on {data.hex()} as {expected!r}: {results}")
    # The streaming reader: objects back to back until the end or the first rejection.
    reader = SCHEMAS[0].reader(data)
    while reader.remaining:
        before = reader.position
        try:
            reader.read_object()
        except DecodeError:
            break
        if reader.position <= before:
            raise AssertionError("Reader.read_object did not advance")


def write_seeds(directory: str) -> None:
    """Two valid encodings of every bundled definition (optional fields present / absent),
    each behind a selector byte that asks for any object: ids are hard to guess byte by byte."""
    import random
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tl_strategies import Builder, RandomSource

    schema = SCHEMAS[0]
    builder = Builder(schema.classes.values())
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for key, cls in schema.classes.items():
        for present in (True, False):
            source = RandomSource(random.Random(key), optional_present=present)
            data = schema.codec.encode(builder.object(cls.__tl_plan__, source))
            name = key.replace(":", "_") + ("-full" if present else "-bare")
            (out / name).write_bytes(bytes([EXPECTED.index(None)]) + data)
    print(f"wrote {2 * len(schema.classes)} seeds to {out}")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--write-seeds":
        write_seeds(sys.argv[2])
        return
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
