"""Schemas the codec cannot serve are refused at load, with a SchemaError naming the line.

Every case runs over both codecs (conftest's `codec`, given to `Schema(..., codec=...)`): a schema
loads in both builds or in neither, and one that loads round-trips.
The property test at the end throws random small schema texts at the loader.
"""

from __future__ import annotations

import random
import re
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlcodec import SchemaError, _codec_py
from tlcodec import functions as F
from tlcodec import types as T
from tlcodec.schema import MAX_FIELDS, MAX_FLAG_WORDS, Schema, compute_id

from support import codec_module
from tl_strategies import Builder, RandomSource, same_tl


def declare(body: str) -> str:
    """`name fields = Type` as a schema line carrying its CRC32 id."""
    name, rest = body.split(" ", 1)
    return f"{name}#{compute_id(body):x} {rest};"


def load(line: str, codec: Any) -> Schema:
    """`line` as line 2 of a schema (so that a message naming "line 2" names it)."""
    return Schema.from_tl(f"// made up\n{line}\n", codec=codec)


def refused(line: str, codec: Any, what: str) -> None:
    with pytest.raises(SchemaError, match=r"^line 2: .*" + re.escape(what)) as caught:
        load(line, codec)
    assert caught.value.args[0].endswith(line)


def round_trips(schema: Schema, tl_name: str, **fields: Any) -> None:
    obj = schema.get(tl_name)(**fields)
    assert schema.decode(bytes(obj)) == obj


# --------------------------------------------------------------------------------------------
# Field names


@pytest.mark.parametrize("name", ["a-b", "1a", "a\u00e9", "\u00b2"])
def test_a_field_name_that_is_no_identifier_is_refused(name: str, codec: Any) -> None:
    refused(f"holder#1 {name}:int = Holder;", codec, f"field name {name!r} is not an identifier")


def attributes_of(cls: type) -> list[str]:
    """What a generated class has besides its fields."""
    return sorted(set(dir(cls)) - set(cls.__tl_plan__.attrs))


# Found on generated classes of this run's build and of the twin, not listed by hand, so an
# attribute added to TLObject is covered.
TWIN = Schema.from_tl(
    "pong#347773c5 msg_id:long ping_id:long = Pong;\n"
    "---functions---\nping#7abe77ec ping_id:long = Pong;",
    codec=_codec_py,
)
CONSTRUCTOR_ATTRIBUTES = sorted(
    {"__dict__", "__weakref__", *attributes_of(T.Pong), *attributes_of(TWIN.get("pong"))}
)
FUNCTION_ATTRIBUTES = sorted(
    {*attributes_of(F.Ping), *attributes_of(TWIN.get("ping"))} - {*CONSTRUCTOR_ATTRIBUTES}
)


@pytest.mark.parametrize("name", CONSTRUCTOR_ATTRIBUTES)
def test_a_field_named_like_a_class_attribute_is_refused(name: str, codec: Any) -> None:
    line = declare(f"holder {name}:int = Holder")
    with pytest.raises(SchemaError, match=rf"^line 2: field name '{name}' ") as caught:
        load(line, codec)
    assert caught.value.args[0].endswith(line)


@pytest.mark.parametrize("name", FUNCTION_ATTRIBUTES)
def test_a_function_field_named_like_a_request_attribute_is_refused(name: str, codec: Any) -> None:
    line = declare(f"call {name}:int = Holder")
    with pytest.raises(SchemaError, match=rf"^line 3: field name '{name}' "):
        Schema.from_tl(f"holder#1 = Holder;\n---functions---\n{line}\n", codec=codec)
    # A constructor class has no such attribute (RESULT_TYPE), so its field may take the name.
    round_trips(load(declare(f"holder {name}:int = Holder"), codec), "holder", **{name: 7})


def test_a_mangled_name_is_refused(codec: Any) -> None:
    refused(declare("holder __secret:int = Holder"), codec, "starts with '__'")


def test_the_to_dict_key_is_refused_as_a_field_name(codec: Any) -> None:
    refused(declare("holder _:int = Holder"), codec, "where to_dict")


def test_a_keyword_field_still_gets_an_underscore(codec: Any) -> None:
    schema = load(declare("holder from:int class:string = Holder"), codec)
    round_trips(schema, "holder", from_=1, class_="x")


def test_a_keyword_field_beside_its_underscored_name_is_refused(codec: Any) -> None:
    refused(
        declare("holder from:int from_:int = Holder"), codec,
        "fields 'from' and 'from_' both become attribute 'from_'",
    )


def test_a_single_underscore_prefix_is_an_ordinary_name(codec: Any) -> None:
    round_trips(load(declare("holder _private:int = Holder"), codec), "holder", _private=3)


# --------------------------------------------------------------------------------------------
# Flag words and limits


@pytest.mark.parametrize("word_type", ["#", "%#"])
def test_a_conditional_flag_word_is_refused(word_type: str, codec: Any) -> None:
    refused(
        declare(f"holder flags:# flags2:flags.0?{word_type} x:flags2.0?int = Holder"), codec,
        "flag word flags2 cannot itself be conditional",
    )


def test_a_flag_bit_in_other_digits_is_refused(codec: Any) -> None:
    refused("holder#1 flags:# x:flags.\u00b2?int = Holder;", codec, "is not flags.N")


def words(count: int) -> str:
    return " ".join(f"w{i}:# x{i}:w{i}.0?int" for i in range(count))


def test_flag_words_up_to_the_limit_load_in_both_builds(codec: Any) -> None:
    schema = load(declare(f"holder {words(MAX_FLAG_WORDS)} = Holder"), codec)
    round_trips(schema, "holder", **{f"x{i}": i for i in range(MAX_FLAG_WORDS)})


def test_one_flag_word_too_many_is_refused_in_both_builds(codec: Any) -> None:
    refused(
        declare(f"holder {words(MAX_FLAG_WORDS + 1)} = Holder"), codec,
        f"{MAX_FLAG_WORDS + 1} flag words, more than the {MAX_FLAG_WORDS} supported",
    )


def ints(count: int) -> str:
    return " ".join(f"f{i}:int" for i in range(count))


def test_fields_up_to_the_limit_load_in_both_builds(codec: Any) -> None:
    # Flag words count as fields: the compiled codec gives each a step.
    schema = load(declare(f"holder flags:# {ints(MAX_FIELDS - 1)} = Holder"), codec)
    round_trips(schema, "holder", **{f"f{i}": i for i in range(MAX_FIELDS - 1)})


def test_one_field_too_many_is_refused_in_both_builds(codec: Any) -> None:
    refused(
        declare(f"holder flags:# {ints(MAX_FIELDS)} = Holder"), codec,
        f"{MAX_FIELDS + 1} fields, more than the {MAX_FIELDS} supported",
    )


def test_the_limits_are_exactly_the_compiled_codecs() -> None:
    """Plan.set_fields of the compiled build refuses one past each limit; the twin never does."""
    codec = codec_module("compiled")
    int_spec, flags_spec = codec.TypeSpec(codec.K_INT, "int"), codec.TypeSpec(codec.K_FLAGS, "#")
    fields = [(f"f{i}", int_spec, -1, 0, 0) for i in range(MAX_FIELDS)]
    codec.Plan(1, "holder", 0, False, fields)
    with pytest.raises(ValueError, match=f"more than {MAX_FIELDS} fields"):
        codec.Plan(1, "holder", 0, False, fields + [("one_more", int_spec, -1, 0, 0)])
    flag_words = [(f"w{i}", flags_spec, -1, 0, i) for i in range(MAX_FLAG_WORDS)]
    codec.Plan(1, "holder", 0, False, flag_words)
    with pytest.raises(ValueError, match=f"more than {MAX_FLAG_WORDS} flag words"):
        codec.Plan(1, "holder", 0, False, flag_words + [("w9", flags_spec, -1, 0, 4)])


# --------------------------------------------------------------------------------------------
# Types, ids, generics and the layer


def test_a_vector_without_element_type_is_refused(codec: Any) -> None:
    refused(declare("holder x:Vector = Holder"), codec, "Vector needs an element type")


def test_two_declarations_sharing_an_id_are_refused(codec: Any) -> None:
    with pytest.raises(SchemaError, match=r"^line 3: id 0x00000001 is already a's \(line 2\)"):
        Schema.from_tl("// made up\na#1 = A;\nb#1 = B;\n", codec=codec)


def test_a_generic_name_that_is_no_identifier_is_refused(codec: Any) -> None:
    refused("holder#1 {a-b:Type} x:a-b = Holder;", codec, "generic name 'a-b' is not an identifier")


@pytest.mark.parametrize("query", ["", "flags:# query:flags.0?!X"])
def test_a_generic_result_needs_a_query_that_is_always_there(query: str, codec: Any) -> None:
    line = declare(f"call {{X:Type}} {query} = X".replace("  ", " "))
    with pytest.raises(SchemaError, match=r"^line 2: returns X but has no !X query that is always present"):
        Schema.from_tl(f"---functions---\n{line}\n", codec=codec)


def test_a_layer_in_other_digits_is_an_ordinary_comment(codec: Any) -> None:
    assert load("// LAYER \u00b2", codec).layer is None


# --------------------------------------------------------------------------------------------
# Random schemas: they load and round-trip in both codecs, or raise SchemaError in both


# Mostly what a schema may hold, now and then what it may not (or what only looks wrong).
FIELD_NAMES = ["a", "b_c", "x1", "from", "class", "self", "_x", "flags2", "RESULT_TYPE"]
ODD_FIELD_NAMES = [
    "from_", "_", "__x", "__dict__", "to_dict", "TL_NAME", "CONSTRUCTOR_ID", "a-b", "1a",
    "\u00e9", "a.b", "flags",
]
FIELD_TYPES = [
    "int", "long", "double", "string", "bytes", "int128", "int256", "Bool", "Vector<int>",
    "vector<long>", "%int", "Object",
]
ODD_FIELD_TYPES = [
    "true", "#", "%#", "Vector", "Vector<>", "Missing", "!X", "X", "Vector<string", "int<long>",
]
CONSTRUCTOR_NAMES = ["c", "d.e", "f_g"]
ODD_CONSTRUCTOR_NAMES = ["Bad", "x-y", "vector", "a.b.c", "from"]
ODD_TEXT = st.text(alphabet="aZ_0.:?#%!<>{}-; \n/\u00b2\u00e9", max_size=6)


def usually(draw: Any, usual: list[str], odd: list[str]) -> str:
    """One of `usual`; one time in six one of `odd`, or a few odd characters."""
    if draw(st.integers(0, 5)):
        return draw(st.sampled_from(usual))
    return draw(st.sampled_from(odd) | ODD_TEXT)


@st.composite
def field(draw: Any, earlier_types: list[str]) -> str:
    name = usually(draw, FIELD_NAMES, ODD_FIELD_NAMES)
    # Types declared above can be used, boxed or bare; none declared below, so no cycles.
    kinds = FIELD_TYPES + earlier_types + [f"%{t}" for t in earlier_types]
    type_text = usually(draw, kinds, ODD_FIELD_TYPES)
    if draw(st.booleans()):
        word = usually(draw, ["flags"], ["flags2", "nope"])
        bit = usually(draw, ["0", "1", "31"], ["32", "\u00b2", ""])
        type_text = f"{word}.{bit}?{type_text}"
    return f"{name}:{type_text}"


@st.composite
def schema_text(draw: Any) -> str:
    lines = []
    types: list[str] = []
    for index in range(draw(st.integers(1, 4))):
        name = usually(draw, CONSTRUCTOR_NAMES, ODD_CONSTRUCTOR_NAMES)
        result = usually(draw, ["T", "U", *types], ["t", "Vector<int>", "True"])
        fields = []
        if draw(st.integers(0, 5)) == 0:
            fields.append(usually(draw, ["{X:Type}"], ["{X-Y:Type}", "{X}"]))
        if draw(st.integers(0, 5)):
            fields.append("flags:#")
        fields += draw(st.lists(field(types), max_size=4))
        body = " ".join([f"{name}{index}", *fields, "=", result])
        # Mostly the line's own CRC32; sometimes an id another line may share.
        explicit = draw(st.sampled_from([None, None, None, 1, 2]))
        crc = zlib.crc32(body.encode("utf-8", "surrogatepass"))
        lines.append(f"{name}{index}#{explicit or crc:x} {body.split(' ', 1)[1]};")
        if result.isidentifier():
            types.append(result)
    # A function, so that a `!X` field has a call to hold.
    lines += ["---functions---", declare("call = Vector<int>")]
    return "\n".join(lines)


def load_or_refusal(text: str, codec: Any) -> Schema | str:
    try:
        return Schema.from_tl(text, codec=codec)
    except SchemaError as exc:
        return str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=schema_text(), seed=st.integers(0, 2**32))
def test_a_random_schema_loads_and_round_trips_or_is_refused(text: str, seed: int) -> None:
    codecs = [codec_module("plain"), codec_module("compiled")]
    outcomes = [load_or_refusal(text, codec) for codec in codecs]
    if isinstance(outcomes[0], str) or isinstance(outcomes[1], str):
        assert outcomes[0] == outcomes[1]  # the same refusal from both builds
        return
    for schema in outcomes:
        builder = Builder(schema.classes.values(), max_depth=2)
        for plan in builder.objects:
            if builder._depth_needed[id(plan)] == float("inf"):
                continue  # every instance would hold another (`x:Object` and nothing else)
            obj = builder.object(plan, RandomSource(random.Random(seed), optional_present=True))
            assert same_tl(schema.decode(bytes(obj)), obj)
