"""The whole official layer: every constructor and function of tests/data/*.tl round-trips.

The bundle holds a small subset of api.tl; `Schema.from_tl` must handle all of it. One
deterministic object is built per definition and per optional-field policy (all optional fields
present, all absent), from a generator seeded by the definition's name, so a failure names a
definition and reproduces exactly. Each test walks all ~2,500 definitions and reports every
failure at once rather than stopping at the first.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Iterator

import pytest

from tlcodec.schema import Schema

from support import CodecBuild, convert, reference_file
from tl_strategies import Builder, RandomSource, same_tl

POLICIES = {"optional-present": True, "optional-absent": False}


@pytest.fixture(scope="module")
def texts() -> tuple[str, str]:
    api = reference_file("api.tl").read_text(encoding="utf-8")
    mtproto = reference_file("mtproto.tl").read_text(encoding="utf-8")
    return api, mtproto


@pytest.fixture(scope="module")
def full(texts: tuple[str, str]) -> Schema:
    """The official schema compiled by the implementation this run uses."""
    return Schema.from_tl(*texts)


@pytest.fixture(scope="module")
def full_other(texts: tuple[str, str], other_tl: CodecBuild) -> Schema:
    """The official schema compiled by the other implementation (twin, or compiled)."""
    return Schema.from_tl(*texts, codec=other_tl.codec)


@pytest.fixture(scope="module")
def objects(full: Schema) -> dict[tuple[str, str], Any]:
    """One object per (definition, optional-field policy), built once for the module."""
    builder = Builder(full.classes.values(), max_depth=3)
    built = {}
    classes: dict[str, Any] = full.classes
    for key, cls in sorted(classes.items()):
        for policy, present in POLICIES.items():
            source = RandomSource(random.Random(f"{key}/{policy}"), optional_present=present)
            built[key, policy] = builder.object(cls.__tl_plan__, source)
    return built


def failures_of(
    items: Iterator[tuple[tuple[str, str], Any]], check: Callable[[Any], None]
) -> list[str]:
    """Runs `check` on every item; the failures, each named by definition and policy."""
    failed = []
    for (key, policy), obj in items:
        try:
            check(obj)
        except Exception as exc:  # noqa: BLE001 - every failure is collected and reported
            failed.append(f"{key} [{policy}]: {type(exc).__name__}: {exc}"[:400])
    return failed


def report(failed: list[str], total: int) -> str:
    return f"{len(failed)} of {total} failed:\n" + "\n".join(failed[:40])


def test_the_whole_layer_loads(full: Schema) -> None:
    functions = [key for key in full.classes if key.startswith("fn:")]
    assert len(full.classes) > 2000
    assert len(functions) > 500
    assert full.layer is not None
    assert "auth.loginTokenSuccess" in full and "fn:auth.importLoginToken" in full.classes


@pytest.mark.parametrize("functions", [False, True], ids=["constructors", "functions"])
def test_every_definition_round_trips(
    full: Schema, objects: dict[tuple[str, str], Any], functions: bool
) -> None:
    def check(obj: Any) -> None:
        encoded = full.codec.encode(obj)
        assert len(encoded) % 4 == 0, f"{len(encoded)} bytes is not whole words"
        decoded = full.decode(encoded)
        assert type(decoded) is type(obj)
        assert decoded == obj
        assert same_tl(decoded, obj)
        assert full.codec.encode(decoded) == encoded
        assert same_tl(type(obj).from_bytes(encoded), obj)

    items = [(k, o) for k, o in objects.items() if k[0].startswith("fn:") == functions]
    assert len(items) > 1000
    failed = failures_of(iter(items), check)
    assert not failed, report(failed, len(items))


def test_a_fresh_schema_creates_classes_while_decoding(
    texts: tuple[str, str], full: Schema, objects: dict[tuple[str, str], Any]
) -> None:
    # A schema loaded at run time makes each class the first time it is needed; here that is
    # in the middle of a decode, for the outer object and every nested one.
    fresh = Schema.from_tl(*texts, codec=full.codec)

    def check(obj: Any) -> None:
        encoded = full.codec.encode(obj)
        decoded = fresh.decode(encoded)
        plan = type(decoded).__tl_plan__
        assert type(decoded) is fresh.get(plan.tl_name, function=plan.is_function)
        assert fresh.codec.encode(decoded) == encoded

    failed = failures_of(iter(objects.items()), check)
    assert not failed, report(failed, len(objects))


def test_both_implementations_write_identical_bytes(
    full: Schema, full_other: Schema, objects: dict[tuple[str, str], Any]
) -> None:
    def check(obj: Any) -> None:
        ours = full.codec.encode(obj)
        theirs_obj = convert(obj, full_other)
        theirs = full_other.codec.encode(theirs_obj)
        assert theirs == ours, "the two implementations wrote different bytes"
        # And each reads the other's bytes back to the same value.
        assert full_other.codec.encode(full_other.decode(ours)) == ours
        assert same_tl(convert(full_other.decode(ours), full), obj)
        assert same_tl(full.decode(theirs), obj)

    failed = failures_of(iter(objects.items()), check)
    assert not failed, report(failed, len(objects))
