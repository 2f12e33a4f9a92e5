"""`Schema.from_tl` on the whole official layer (tests/data/api.tl and mtproto.tl).

The bundled layer is the same definitions (api.tl verbatim, mtproto.tl with its documented
hand-edits), and test_properties.py and test_telethon_differential.py round-trip every one of
its classes in both builds. What is left here is what belongs to `Schema.from_tl` itself: it
loads the official text, it compiles the same plans as the bundled layer (so those tests speak
for it too), it makes classes while decoding, and the definitions only the official files hold
(the ones the bundled mtproto.tl leaves out) round-trip in both builds.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Iterator

import pytest

import tlcodec
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
def builder(full: Schema) -> Builder:
    return Builder(full.classes.values(), max_depth=3)


@pytest.fixture(scope="module")
def objects(full: Schema, builder: Builder) -> dict[tuple[str, str], Any]:
    """One object per (definition, optional-field policy), built once for the module."""
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
    assert full.layer == 228
    assert "auth.loginTokenSuccess" in full and "fn:auth.importLoginToken" in full.classes


def layout(cls: type) -> list[tuple[Any, ...]]:
    """What decides a class's bytes: its id and, per field, name, kind, type and flag bit."""
    plan: Any = cls.__tl_plan__
    return [plan.constructor_id, plan.is_function] + [
        (attr, spec.kind, spec.name, flag_index, mask)
        for attr, spec, flag_index, mask, _slot in plan.fields
    ]


def test_from_tl_compiles_the_plans_of_the_bundled_layer(full: Schema) -> None:
    # Same definitions, same plans: the bundled layer's round trips speak for Schema.from_tl.
    # The differences are exactly the bundled mtproto.tl's documented hand-edits.
    bundled: dict[str, Any] = tlcodec.bundled.classes
    official: dict[str, Any] = full.classes
    assert sorted(set(bundled) - set(official)) == ["gzip_packed", "rpc_result"]
    assert sorted(set(official) - set(bundled)) == [
        "accessPointRule", "bind_auth_key_inner", "help.configSimple", "ipPort", "ipPortSecret"
    ]
    retyped: dict[str, list[str]] = {}
    for key in sorted(set(bundled) & set(official)):
        ours, theirs = layout(bundled[key]), layout(official[key])
        if ours == theirs:
            continue
        # Only a binary field the official file declares `string`, declared `bytes` here.
        assert len(ours) == len(theirs), key
        for mine, official_field in zip(ours, theirs):
            if mine != official_field:
                assert (mine[2], official_field[2]) == ("bytes", "string"), (key, mine)
                assert (mine[0], mine[3:]) == (official_field[0], official_field[3:]), key
                retyped.setdefault(key, []).append(mine[0])
    assert retyped == {  # the big-endian numbers, encrypted blobs and state bytes of mtproto.tl
        "resPQ": ["pq"],
        "p_q_inner_data": ["pq", "p", "q"],
        "p_q_inner_data_dc": ["pq", "p", "q"],
        "p_q_inner_data_temp": ["pq", "p", "q"],
        "p_q_inner_data_temp_dc": ["pq", "p", "q"],
        "server_DH_params_ok": ["encrypted_answer"],
        "server_DH_inner_data": ["dh_prime", "g_a"],
        "client_DH_inner_data": ["g_b"],
        "fn:req_DH_params": ["p", "q", "encrypted_data"],
        "fn:set_client_DH_params": ["encrypted_data"],
        "msgs_state_info": ["info"],
        "msgs_all_info": ["info"],
    }


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


def official_only(objects: dict[tuple[str, str], Any]) -> list[tuple[tuple[str, str], Any]]:
    """The objects of the definitions the bundled layer leaves out (five, two objects each)."""
    items = [(k, o) for k, o in objects.items() if k[0] not in tlcodec.bundled.classes]
    assert len(items) == 10
    return items


def test_definitions_only_the_official_files_hold_round_trip(
    full: Schema, objects: dict[tuple[str, str], Any]
) -> None:
    def check(obj: Any) -> None:
        encoded = full.codec.encode(obj)
        assert len(encoded) % 4 == 0, f"{len(encoded)} bytes is not whole words"
        decoded = full.decode(encoded)
        assert type(decoded) is type(obj) and decoded == obj and same_tl(decoded, obj)
        assert same_tl(type(obj).from_bytes(encoded), obj)
        assert full.codec.encode(decoded) == encoded

    items = official_only(objects)
    failed = failures_of(iter(items), check)
    assert not failed, report(failed, len(items))


def test_definitions_only_the_official_files_hold_agree_in_both_builds(
    full: Schema, full_other: Schema, objects: dict[tuple[str, str], Any]
) -> None:
    def check(obj: Any) -> None:
        encoded = full.codec.encode(obj)
        theirs = full_other.codec.encode(convert(obj, full_other))
        assert theirs == encoded, "the two implementations wrote different bytes"
        assert same_tl(convert(full_other.decode(encoded), full), obj)
        assert same_tl(full.decode(theirs), obj)

    items = official_only(objects)
    failed = failures_of(iter(items), check)
    assert not failed, report(failed, len(items))
