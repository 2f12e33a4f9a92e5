"""Coverage-guided fuzzing of the decoder with atheris (run by hand; pytest does not collect it).

    .venv/bin/pip install atheris
    .venv/bin/python tests/fuzz_decode.py --write-seeds corpus/   # valid encodings to start
    nice -n 10 .venv/bin/python tests/fuzz_decode.py -max_total_time=1200 corpus/
    .venv/bin/python tests/fuzz_decode.py crash-<hash>             # replay one input

Each input is decoded by the pure-Python twin and by the compiled codec (when built). atheris
instruments Python bytecode only, so the coverage that guides the fuzzer comes from the twin
(`tlcodec._codec_py`, the readable reference of the same interpreter); the compiled codec rides
along differentially: it must reach the same outcome on every input. The first input byte picks
what the decoder is asked for (a type name, hostile ones included, a TypeSpec of the same
schema, of the full official schema or of the other build, or a class), the second the
`max_inflated` budget and whether trailing bytes are allowed. Only `DecodeError` may come out,
or for a bad `expected` a refusal that does not depend on the bytes (see fuzz_inputs.py);
anything else (another exception, a disagreement, a value that does not survive re-encoding, a
streaming reader that stalls) is reported by atheris as a crash with the input saved to a file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import atheris

with atheris.instrument_imports(include=["tlcodec"]):
    from tlcodec import DecodeError, _codec_py
    from tlcodec.schema import Schema
    from tlcodec.schema.generate import bundled_definitions

try:
    from tlcodec import _codec
except ImportError:  # the twin alone is still worth fuzzing
    _codec = None

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
from fuzz_inputs import HOSTILE_EXPECTED, outcome, structural_inputs  # noqa: E402

CODECS = [_codec_py] if _codec is None else [_codec_py, _codec]
DEFINITIONS, LAYER = bundled_definitions()
SCHEMAS = [Schema(DEFINITIONS, LAYER, codec=codec) for codec in CODECS]
# The official full layer over the same codecs: its TypeSpecs and classes are foreign to the
# bundled registry (other type ids, plans the registry does not hold).
FULL_TEXTS = [(TESTS / "data" / name).read_text(encoding="utf-8")
              for name in ("api.tl", "mtproto.tl")]
FULL_SCHEMAS = [Schema.from_tl(*FULL_TEXTS, codec=codec) for codec in CODECS]

NAMES: list[Any] = [
    None,
    "auth.LoginToken",
    "User",
    "Bool",
    "Vector<long>",
    "Vector<User>",
    "Vector<%future_salt>",
    "vector<long>",
    "msgs_ack",
    "JSONValue",
    "Vector<JSONValue>",
    "Object",
    "string",
    *HOSTILE_EXPECTED,
]
SPEC_NAMES = ["User", "Vector<Vector<%inputPeerEmpty>>", "JSONValue", "%user", "Object",
              "Vector<%future_salt>", "InputPeer", "Vector<Vector<inputPeerEmpty>>"]

# Each choice maps (this build's index) to what that build's decoder is asked for.
Choice = Callable[[int], Any]


def _spec(schemas: list[Schema], name: str, other_build: bool = False) -> Choice:
    def choose(build: int) -> Any:
        schema = schemas[(build + 1) % len(schemas) if other_build else build]
        return schema.spec(name)  # a SchemaError here is the fuzzer's own bug: names are fixed
    return choose


def _class(schemas: list[Schema], key: str) -> Choice:
    return lambda build: schemas[build].classes[key]


EXPECTED: list[Choice] = [(lambda build, name=name: name) for name in NAMES]
EXPECTED += [_spec(SCHEMAS, name) for name in SPEC_NAMES]
EXPECTED += [_spec(FULL_SCHEMAS, name) for name in [*SPEC_NAMES, "messages.Messages"]]
EXPECTED += [_class(SCHEMAS, "auth.loginTokenSuccess"), _class(SCHEMAS, "msgs_ack"),
             _class(FULL_SCHEMAS, "user"), _class(FULL_SCHEMAS, "inputPeerEmpty")]
if len(SCHEMAS) > 1:  # each build given the other's TypeSpecs (refused, the same way)
    EXPECTED += [_spec(SCHEMAS, name, other_build=True) for name in ("User", "Vector<int>")]

# The second input byte: max_inflated (its low bits) and allow_trailing (bit 7).
BUDGETS = [0, 64, 1 << 12, 1 << 16, 1 << 20]


def comparable(schema: Schema, value: Any) -> Any:
    """TL objects replaced by their encodings (checked to decode back to the same bytes, by the
    schema of their class: a foreign spec gives objects of the full schema)."""
    if isinstance(value, list):
        return [comparable(schema, v) for v in value]
    if isinstance(value, float):
        return value.hex()
    if hasattr(type(value), "__tl_plan__"):
        encoded = schema.codec.encode(value)
        again = schema.codec.encode(type(value).from_bytes(encoded))
        if again != encoded:
            raise AssertionError(f"unstable re-encoding of {value!r}")
        return ("tl", encoded)
    return value


def stream(schema: Schema, data: bytes, budget: int) -> list[Any]:
    """The streaming reader's outcomes: objects back to back until the end or a rejection."""
    reader = schema.reader(data, max_inflated=budget)
    steps: list[Any] = []
    while reader.remaining:
        before = reader.position
        try:
            steps.append(comparable(schema, reader.read_object()))
        except DecodeError as exc:
            if reader.position != before:
                raise AssertionError("a failed read_object moved the reader") from exc
            steps.append(("error", exc.offset))
            break
        if reader.position <= before:
            raise AssertionError("Reader.read_object did not advance")
        steps.append(reader.position)
    return steps


def TestOneInput(raw: bytes) -> None:  # noqa: N802 - the name atheris looks for
    if len(raw) < 2:
        return
    choice = EXPECTED[raw[0] % len(EXPECTED)]
    budget = BUDGETS[(raw[1] & 0x7F) % len(BUDGETS)]
    allow_trailing = bool(raw[1] & 0x80)
    data = raw[2:]
    results = []
    for build, schema in enumerate(SCHEMAS):
        expected = choice(build)
        results.append(outcome(
            lambda blob: schema.decode(blob, expected, max_inflated=budget,
                                       allow_trailing=allow_trailing),
            data, lambda value: comparable(schema, value)))
    if len({repr(result) for result in results}) != 1:
        raise AssertionError(
            f"implementations disagree on {data.hex()} as {choice(0)!r}: {results}")
    streams = [stream(schema, data, budget) for schema in SCHEMAS]
    if len({repr(steps) for steps in streams}) != 1:
        raise AssertionError(f"streaming readers disagree on {data.hex()}: {streams}")


def write_seeds(directory: str) -> None:
    """Two valid encodings of every bundled definition (optional fields present / absent),
    each asking for any object (ids are hard to guess byte by byte), and the structural
    inputs of fuzz_inputs.py (containers, gzip, deep nesting, zero-size vectors) each asking
    for the type it was built for; all with a 64 KiB budget."""
    import random

    from tl_strategies import Builder, RandomSource

    schema = SCHEMAS[0]
    builder = Builder(schema.classes.values())
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    options = BUDGETS.index(1 << 16)
    encodings = []
    for key, cls in schema.classes.items():
        for present in (True, False):
            source = RandomSource(random.Random(key), optional_present=present)
            data = schema.codec.encode(builder.object(cls.__tl_plan__, source))
            encodings.append(data)
            name = key.replace(":", "_") + ("-full" if present else "-bare")
            (out / name).write_bytes(bytes([NAMES.index(None), options]) + data)
    small = sorted(encodings, key=len)[len(encodings) // 4:][:16]
    structural = structural_inputs(small)
    for name, data, expected in structural:
        (out / f"shape-{name}").write_bytes(bytes([NAMES.index(expected), options]) + data)
    print(f"wrote {len(encodings)} encodings and {len(structural)} structural seeds to {out}")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--write-seeds":
        write_seeds(sys.argv[2])
        return
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
