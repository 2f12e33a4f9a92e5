"""The schema compiler: TL text -> definitions (ids checked) -> plans -> classes, and the bundle.

Covers the TL language features the parser must understand (PROTOCOL.md 2.1-2.2), constructor id
verification (2.3), the full official layer-228 schema loaded at run time, the bundled files (the
official api.tl byte for byte, mtproto.tl with its documented hand-edits, LAYER, generated
classes in sync) and the class surface promised by docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import tlcodec
from tlcodec import DecodeError, SchemaError
from tlcodec import functions as F
from tlcodec import types as T
from tlcodec.schema import Schema, compute_id, parse_schema
from tlcodec.schema.generate import generated_files

from support import VECTOR_ID, reference_file

PACKAGE_DIR = Path(tlcodec.__file__).resolve().parent
BUNDLED_DATA = PACKAGE_DIR / "schema" / "data"
HAND_ADDED = {"rpc_result", "gzip_packed"}
KNOWN_MISMATCHES = {"ipPortSecret", "accessPointRule", "help.configSimple"}  # PROTOCOL.md 2.3


def u32(value: int) -> bytes:
    return struct.pack("<I", value)


def declare(body: str) -> str:
    """`name fields = Type` as a schema line carrying its CRC32 id (for made-up constructors)."""
    name, rest = body.split(" ", 1)
    return f"{name}#{compute_id(body):x} {rest};"


# --------------------------------------------------------------------------------------------
# The TL language

FEATURES = "\n".join(
    [
        "// Comments and blank lines are ignored; so are the built-in pseudo-declarations.",
        "boolFalse#bc799737 = Bool;",
        "boolTrue#997275b5 = Bool;",
        "true#3fedd339 = True;",
        "vector#1cb5c415 {t:Type} # [ t ] = Vector t;",
        "int ? = Int;",
        "",
        "auth.loginTokenMigrateTo#68e9916 dc_id:int token:bytes = auth.LoginToken; // short id",
        "future_salt#0949d9dc valid_since:int valid_until:int salt:long = FutureSalt;",
        "future_salts#ae500895 req_msg_id:long now:int salts:vector<future_salt> = FutureSalts;",
        "msgs_ack#62d6b459 msg_ids:Vector<long> = MsgsAck;",
        declare("point x:int y:int = Point"),
        declare("segment a:%Point b:%Point = Segment"),
        declare(
            "profile flags:# verified:flags.0?true name:flags.1?string flags2:# "
            "tags:flags2.3?Vector<string> home:flags2.0?Point = Profile"
        ),
        "tlsClientHello blocks:vector<TlsBlock> = TlsClientHello;",  # no id: never on the wire
        "",
        "---functions---",
        "",
        "ping#7abe77ec ping_id:long = Pong;",
        "invokeWithLayer#da9b0d0d {X:Type} layer:int query:!X = X;",
        "",
        "---types---",
        "",
        "pong#347773c5 msg_id:long ping_id:long = Pong;",
        "",
        "// LAYER 7",
    ]
)


@pytest.fixture(scope="module")
def features(codec: ModuleType) -> Schema:
    """FEATURES over each codec in turn."""
    return Schema.from_tl(FEATURES, strict_ids=True, codec=codec)


def test_parser_reads_sections_and_skips_comments_builtins_and_id_less_lines() -> None:
    parsed = parse_schema(FEATURES)
    assert parsed.mismatches == []
    assert parsed.layer == 7
    kinds = {d.name: d.is_function for d in parsed.definitions}
    assert "vector" not in kinds and "int" not in kinds and "tlsClientHello" not in kinds
    assert kinds["ping"] is True and kinds["invokeWithLayer"] is True
    assert kinds["pong"] is False  # ---types--- switches back
    assert kinds["future_salts"] is False
    by_name = {d.name: d for d in parsed.definitions}
    assert by_name["future_salts"].line_number == FEATURES.splitlines().index(
        by_name["future_salts"].line
    ) + 1


def test_short_hex_id_is_an_integer(features: Schema) -> None:
    (definition,) = [d for d in parse_schema(FEATURES).definitions if d.name.startswith("auth.")]
    assert definition.id == definition.computed_id == 0x068E9916
    cls = features.get("auth.loginTokenMigrateTo")
    assert cls.CONSTRUCTOR_ID == 0x068E9916
    assert features.codec.encode(cls(dc_id=4, token=b""))[:4] == bytes.fromhex("16998e06")


def test_flags_flags2_and_flag_true_fields(features: Schema) -> None:
    (definition,) = [d for d in parse_schema(FEATURES).definitions if d.name == "profile"]
    params = {p.name: p for p in definition.params}
    assert params["flags"].is_flag_word and params["flags2"].is_flag_word
    assert (params["verified"].flag_word, params["verified"].flag_bit) == ("flags", 0)
    assert params["verified"].type.name == "true"
    assert (params["tags"].flag_word, params["tags"].flag_bit) == ("flags2", 3)
    assert (params["home"].flag_word, params["home"].flag_bit) == ("flags2", 0)
    assert str(params["tags"].type) == "Vector<string>"

    profile, point = features.get("profile"), features.get("point")
    assert profile.__slots__ == ("verified", "name", "tags", "home")  # no flag words
    kinds = {f[0]: f[1].kind for f in profile.__tl_plan__.fields}
    assert kinds["verified"] == features.codec.K_TRUE and kinds["flags2"] == features.codec.K_FLAGS
    obj = profile(verified=True, tags=["a"], home=point(x=1, y=2))
    data = features.codec.encode(obj)
    assert data == (
        u32(profile.CONSTRUCTOR_ID)
        + u32(1 << 0)  # flags: verified, name absent
        + u32((1 << 3) | (1 << 0))  # flags2: tags, home
        + u32(VECTOR_ID) + struct.pack("<i", 1) + b"\x01a\x00\x00"
        + u32(point.CONSTRUCTOR_ID) + struct.pack("<ii", 1, 2)
    )
    decoded = features.decode(data)
    assert decoded == obj
    assert decoded.name is None and decoded.verified is True
    assert features.decode(features.codec.encode(profile())) == profile(verified=False)


def test_boxed_vector_and_bare_vector_of_bare_constructors(features: Schema) -> None:
    salts = features.get("future_salts")
    salt = features.get("future_salt")
    (_, _, field) = [f for f in salts.__tl_plan__.fields]
    kinds = features.codec
    assert field[1].kind == kinds.K_BARE_VECTOR and field[1].elem.kind == kinds.K_BARE
    obj = salts(req_msg_id=1, now=2, salts=[salt(valid_since=3, valid_until=4, salt=5)])
    data = features.codec.encode(obj)
    # vector<future_salt>: no vector id, and no id before each element either.
    assert data == (
        u32(0xAE500895)
        + struct.pack("<qi", 1, 2)
        + struct.pack("<i", 1)
        + struct.pack("<iiq", 3, 4, 5)
    )
    assert features.decode(data) == obj
    ack = features.get("msgs_ack")
    assert ack.__tl_plan__.fields[0][1].kind == features.codec.K_VECTOR
    assert features.codec.encode(ack(msg_ids=[7]))[4:8] == u32(VECTOR_ID)


def test_percent_marks_a_bare_field(features: Schema) -> None:
    (definition,) = [d for d in parse_schema(FEATURES).definitions if d.name == "segment"]
    assert all(p.type.bare and p.type.name == "Point" for p in definition.params)
    segment, point = features.get("segment"), features.get("point")
    assert {f[1].kind for f in segment.__tl_plan__.fields} == {features.codec.K_BARE}
    obj = segment(a=point(x=1, y=2), b=point(x=3, y=4))
    data = features.codec.encode(obj)
    assert data == u32(segment.CONSTRUCTOR_ID) + struct.pack("<iiii", 1, 2, 3, 4)
    assert features.decode(data) == obj


def test_generic_query_and_its_result(features: Schema) -> None:
    (definition,) = [d for d in parse_schema(FEATURES).definitions if d.name == "invokeWithLayer"]
    assert definition.generics == ("X",)
    query = definition.params[-1]
    assert query.type.generic_query and query.type.name == "X"
    assert definition.result.name == "X"
    invoke, ping, pong = features.get("invokeWithLayer"), features.get("ping"), features.get("pong")
    assert invoke.RESULT_TYPE == "X"
    assert invoke.__tl_plan__.fields[-1][1].kind == features.codec.K_QUERY
    request = invoke(layer=7, query=ping(ping_id=9))
    data = features.codec.encode(request)
    assert data == u32(0xDA9B0D0D) + struct.pack("<i", 7) + u32(0x7ABE77EC) + struct.pack("<q", 9)
    assert features.decode(data) == request
    assert features.result_spec(request).name == "Pong"
    answer = pong(msg_id=1, ping_id=9)
    assert features.decode_result(request, features.codec.encode(answer)) == answer


def test_layer_comment_sets_the_layer(features: Schema) -> None:
    assert features.layer == 7
    assert parse_schema("// LAYER 228\n").layer == 228
    assert parse_schema("// just a comment\n").layer is None


@pytest.mark.parametrize(
    "line",
    [
        "broken#0a0b0c0d x:int = Broken",  # no `;`
        "broken#0a0b0c0d x:!Y = Broken;",  # !Y without {Y:Type}
        "broken#0a0b0c0d x:flags.0?int = Broken;",  # conditional on no flags word
        "broken#0a0b0c0d flags:# x:flags.32?int = Broken;",  # bit out of 0..31
        "broken#xyz x:int = Broken;",  # not a hex id
        "broken#0a0b0c0d x:Vector<int = Broken;",  # unbalanced <>
        "broken#0a0b0c0d x:int x:int = Broken;",  # duplicate field
        "---methods---",  # unknown section marker
    ],
)
def test_malformed_line_raises_schema_error_naming_its_line(line: str) -> None:
    text = f"// header\n\n{line}\nok#0a0b0c0e = Ok;\n"
    with pytest.raises(SchemaError, match=r"line 3\b"):
        parse_schema(text)


def test_reference_to_a_type_without_constructors_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="Missing"):
        Schema.from_tl(declare("holder x:Missing = Holder"))


def test_duplicate_declaration_is_a_schema_error() -> None:
    line = declare("point x:int y:int = Point")
    with pytest.raises(SchemaError, match="point"):
        Schema.from_tl(line + "\n" + line)


# --------------------------------------------------------------------------------------------
# Id verification

WRONG_ID = "// line 1\n\nauth.loginToken#629f1981 expires:int token:bytes = auth.LoginToken;\n"


def test_wrong_explicit_id_is_reported_with_its_line_number() -> None:
    (mismatch,) = parse_schema(WRONG_ID).mismatches
    assert mismatch.line_number == 3
    assert (mismatch.explicit, mismatch.computed) == (0x629F1981, 0x629F1980)
    assert "line 3" in str(mismatch) and "auth.loginToken" in str(mismatch)


def test_wrong_explicit_id_is_kept_and_used_when_not_strict() -> None:
    schema = Schema.from_tl(WRONG_ID)
    assert [m.line_number for m in schema.mismatches] == [3]
    cls = schema.get("auth.loginToken")
    assert cls.CONSTRUCTOR_ID == 0x629F1981  # the explicit id always wins
    assert tlcodec.encode(cls(expires=1, token=b""))[:4] == u32(0x629F1981)


def test_wrong_explicit_id_raises_with_strict_ids() -> None:
    with pytest.raises(SchemaError, match=r"line 3\b.*auth\.loginToken"):
        Schema.from_tl(WRONG_ID, strict_ids=True)


def test_correct_ids_pass_strict_ids() -> None:
    right = WRONG_ID.replace("629f1981", "629f1980")
    assert Schema.from_tl(right, strict_ids=True).mismatches == []


# --------------------------------------------------------------------------------------------
# The full official schema (tests/data/api.tl and mtproto.tl, layer 228)

ID_LINE = re.compile(r"^[A-Za-z][\w.]*#[0-9a-fA-F]+[\s;]")


@pytest.fixture(scope="module")
def official_texts() -> tuple[str, str]:
    api = reference_file("api.tl").read_text(encoding="utf-8")
    mtproto = reference_file("mtproto.tl").read_text(encoding="utf-8")
    return api, mtproto


@pytest.fixture(scope="module")
def official_definitions(official_texts: tuple[str, str]) -> list[Any]:
    return [d for text in official_texts for d in parse_schema(text).definitions]


@pytest.fixture(scope="module")
def full_schema(official_texts: tuple[str, str]) -> Schema:
    return Schema.from_tl(*official_texts)


def test_official_schema_every_id_is_checked(official_texts: tuple[str, str]) -> None:
    explicit = sum(
        1 for text in official_texts for line in text.splitlines() if ID_LINE.match(line)
    )
    assert explicit == 2499  # PROTOCOL.md 2.3
    parsed = [parse_schema(text) for text in official_texts]
    definitions = [d for p in parsed for d in p.definitions]
    # Every declaration with an id is parsed, except the built-in vector line (native).
    assert len(definitions) == explicit - 1
    wrong = {d.name for d in definitions if d.computed_id != d.id}
    assert wrong == KNOWN_MISMATCHES
    mismatches = [m for p in parsed for m in p.mismatches]
    assert {m.line.split("#")[0] for m in mismatches} == KNOWN_MISMATCHES
    assert sorted(m.line_number for m in mismatches) == [101, 102, 103]  # in mtproto.tl
    assert parsed[0].layer == 228


def test_ip_port_secret_matches_without_the_bytes_rewrite() -> None:
    # PROTOCOL.md 2.3: the one exception explained: its id hashes `secret:bytes` unrewritten.
    assert zlib.crc32(b"ipPortSecret ipv4:int port:int secret:bytes = IpPort") == 0x37982646


def test_official_schema_loads_at_run_time(
    full_schema: Schema, official_texts: tuple[str, str], official_definitions: list[Any]
) -> None:
    assert full_schema.layer == 228
    assert {m.line.split("#")[0] for m in full_schema.mismatches} == KNOWN_MISMATCHES
    builtin = {"boolFalse", "boolTrue", "true"}  # implemented by the codec, no classes
    assert len(full_schema.classes) == len(official_definitions) - len(builtin)
    ids = [cls.CONSTRUCTOR_ID for cls in full_schema.classes.values()]
    assert len(ids) == len(set(ids))
    cls = full_schema.get("auth.importLoginToken", function=True)
    assert (cls.TL_NAME, cls.RESULT_TYPE, cls.__name__) == (
        "auth.importLoginToken", "auth.LoginToken", "ImportLoginToken"
    )
    assert full_schema.types.auth.LoginToken is full_schema.get("auth.loginToken")
    assert full_schema.functions.auth.ImportLoginToken is cls
    with pytest.raises(SchemaError, match="line 101"):
        Schema.from_tl(*official_texts, strict_ids=True)


def test_official_schema_agrees_with_the_bundled_classes(full_schema: Schema) -> None:
    for key, bundled in tlcodec.bundled.classes.items():
        if key.split(":")[-1] in HAND_ADDED:
            continue  # commented out in tdesktop's mtproto.tl
        loaded = full_schema.classes[key]
        assert loaded.CONSTRUCTOR_ID == bundled.CONSTRUCTOR_ID, key
        assert loaded.__slots__ == bundled.__slots__, key
        assert loaded.__name__ == bundled.__name__, key


def test_python_keyword_field_gets_an_underscore(full_schema: Schema) -> None:
    # storyFwdHeader has `from:flags.0?Peer`.
    header = full_schema.get("storyFwdHeader")
    assert "from_" in header.__slots__ and "from" not in header.__slots__
    peer = full_schema.get("peerUser")(user_id=5)
    obj = header(from_=peer, story_id=3)
    assert full_schema.decode(tlcodec.encode(obj)) == obj
    assert obj.to_dict()["from_"] == {"_": "peerUser", "user_id": 5}


def test_bare_vector_of_boxed_elements(full_schema: Schema) -> None:
    # mtproto.tl accessPointRule: `ips:vector<IpPort>`: no vector id, each element boxed.
    rule, ip_port = full_schema.get("accessPointRule"), full_schema.get("ipPort")
    obj = rule(phone_prefix_rules="+7", dc_id=2, ips=[ip_port(ipv4=1, port=443)])
    data = tlcodec.encode(obj)
    assert data == (
        u32(0x4679B65F) + b"\x02+7\x00" + struct.pack("<i", 2)
        + struct.pack("<i", 1) + u32(0xD433AD73) + struct.pack("<ii", 1, 443)
    )
    assert full_schema.decode(data) == obj


# --------------------------------------------------------------------------------------------
# The bundled files


def tl_lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, declaration, section) for every non-comment line of a .tl text."""
    out, section = [], "types"
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line in ("---functions---", "---types---"):
            section = line.strip("-")
        elif line and not line.startswith("//"):
            out.append((number, line, section))
    return out


def retyped_only(bundled: str, official: str) -> bool:
    """True if `bundled` is `official` with some `name:string` fields declared `name:bytes`.

    Same wire format and, by the id rules (PROTOCOL.md 2.3 step 4), the same id: the bundle
    uses it for mtproto.tl fields that carry binary data (pq, encrypted blobs, gzip streams).
    """
    ours, theirs = bundled.split(), official.split()
    if len(ours) != len(theirs) or ours == theirs:
        return False
    return all(
        a == b or (a.endswith(":bytes") and b == a[: -len("bytes")] + "string")
        for a, b in zip(ours, theirs)
    )


def test_bundled_api_tl_is_the_official_file() -> None:
    assert (BUNDLED_DATA / "api.tl").read_bytes() == reference_file("api.tl").read_bytes()


@pytest.mark.parametrize("name", ["api.tl", "mtproto.tl"])
def test_bundled_lines_are_verbatim_official_lines(name: str) -> None:
    official_lines = tl_lines(reference_file(name).read_text("utf-8"))
    official = {(line, section) for _, line, section in official_lines}
    by_name = {(line.split("#")[0], section): line for _, line, section in official_lines}
    bundled = tl_lines((BUNDLED_DATA / name).read_text("utf-8"))
    assert bundled
    hand_added, retyped = set(), set()
    for number, line, section in bundled:
        if (line, section) in official:
            continue
        tl_name = line.split("#")[0]
        source = by_name.get((tl_name, section))
        if source is not None and retyped_only(line, source):
            retyped.add(tl_name)
        else:
            hand_added.add(tl_name)
    assert hand_added == (HAND_ADDED if name == "mtproto.tl" else set())
    if name == "api.tl":
        assert retyped == set()  # api.tl strings are text: every line is verbatim
    else:
        # Binary payloads only: rpc_error's message is text and must stay a `string`.
        assert "rpc_error" not in retyped


def test_bundled_ids_all_match_their_lines() -> None:
    for name in ("api.tl", "mtproto.tl"):
        assert parse_schema((BUNDLED_DATA / name).read_text("utf-8")).mismatches == []


def test_bundled_layer_is_228() -> None:
    assert tlcodec.LAYER == 228
    assert tlcodec.bundled.layer == 228
    bundled = (BUNDLED_DATA / "api.tl").read_text("utf-8").splitlines()
    last = [ln for ln in bundled if ln.strip()][-1]
    assert last == "// LAYER 228"
    official = reference_file("api.tl").read_text("utf-8").splitlines()
    assert [ln for ln in official if ln.strip()][-1] == last


FAMILY = [
    "auth.loginToken",
    "auth.loginTokenMigrateTo",
    "auth.loginTokenSuccess",
    "auth.authorization",
    "auth.authorizationSignUpRequired",
]
NATIVE = {"int", "long", "double", "string", "bytes", "int128", "int256", "true", "#", "Object"}


def family_closure() -> set[str]:
    """Constructors reachable from the auth.LoginToken family through field types, taking every
    constructor of each boxed type (as tools/check_bundle.py does, on parsed definitions)."""
    definitions = parse_schema((BUNDLED_DATA / "api.tl").read_text("utf-8")).definitions
    constructors = {d.name: d for d in definitions if not d.is_function}
    by_type: dict[str, list[str]] = {}
    for d in constructors.values():
        by_type.setdefault(d.result.name, []).append(d.name)
    seen: set[str] = set()
    todo = list(FAMILY)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        definition = constructors[name]
        for param in definition.params:
            expr = param.type
            while expr.arg is not None:  # Vector<T> -> T
                expr = expr.arg
            if expr.name in NATIVE or expr.name in definition.generics:
                continue
            todo += by_type.get(expr.name, [expr.name] if expr.name in constructors else [])
    return seen


def test_login_token_family_closure_has_63_constructors() -> None:
    closure = family_closure()
    assert len(closure) == 63
    assert {"user", "userProfilePhoto", "username", "help.termsOfService"} <= closure
    # Every constructor of the closure has a class in the bundled schema.
    assert all(name in tlcodec.bundled.classes for name in closure)


def test_generated_classes_are_not_stale() -> None:
    expected = generated_files()
    committed = {
        str(path.relative_to(PACKAGE_DIR)): path.read_text("utf-8")
        for root in ("types", "functions")
        for path in sorted((PACKAGE_DIR / root).rglob("*.py*"))
        if path.suffix in (".py", ".pyi")
    }
    committed["_layer_data.py"] = (PACKAGE_DIR / "_layer_data.py").read_text("utf-8")
    assert sorted(committed) == sorted(expected)
    stale = [name for name in expected if committed[name] != expected[name]]
    assert stale == [], "run `python -m tlcodec.schema.generate`"


# --------------------------------------------------------------------------------------------
# The generated classes


@pytest.mark.parametrize(
    ("cls", "module", "name", "constructor_id", "tl_name", "tl_type", "slots"),
    [
        (F.auth.ImportLoginToken, "tlcodec.functions.auth", "ImportLoginToken", 0x95AC5CE4,
         "auth.importLoginToken", "auth.LoginToken", ("token",)),
        (T.auth.LoginToken, "tlcodec.types.auth", "LoginToken", 0x629F1980,
         "auth.loginToken", "auth.LoginToken", ("expires", "token")),
        (T.auth.LoginTokenMigrateTo, "tlcodec.types.auth", "LoginTokenMigrateTo", 0x068E9916,
         "auth.loginTokenMigrateTo", "auth.LoginToken", ("dc_id", "token")),
        (T.auth.LoginTokenSuccess, "tlcodec.types.auth", "LoginTokenSuccess", 0x390D5C5E,
         "auth.loginTokenSuccess", "auth.LoginToken", ("authorization",)),
        (T.UpdateShort, "tlcodec.types", "UpdateShort", 0x78D4DEC1,
         "updateShort", "Updates", ("update", "date")),
        (T.PQInnerDataDc, "tlcodec.types", "PQInnerDataDc", 0xA9F55F95,
         "p_q_inner_data_dc", "P_Q_inner_data",
         ("pq", "p", "q", "nonce", "server_nonce", "new_nonce", "dc")),
        (T.RpcResult, "tlcodec.types", "RpcResult", 0xF35C6D01,
         "rpc_result", "RpcResult", ("req_msg_id", "result")),
    ],
)
def test_class_names_and_attributes(
    cls: Any, module: str, name: str, constructor_id: int, tl_name: str, tl_type: str,
    slots: tuple[str, ...],
) -> None:
    assert cls.__module__ == module and cls.__name__ == name
    assert (cls.CONSTRUCTOR_ID, cls.TL_NAME, cls.TL_TYPE) == (constructor_id, tl_name, tl_type)
    assert cls.__slots__ == slots
    plan = cls.__tl_plan__
    assert plan.attrs == slots and plan.tl_name == tl_name
    assert plan.is_function == issubclass(cls, tlcodec.TLRequest)
    assert issubclass(cls, tlcodec.TLObject)


def test_functions_carry_their_result_type() -> None:
    assert F.auth.ImportLoginToken.RESULT_TYPE == "auth.LoginToken"
    assert F.auth.ExportLoginToken.RESULT_TYPE == "auth.LoginToken"
    assert F.auth.AcceptLoginToken.RESULT_TYPE == "Authorization"
    assert F.users.GetUsers.RESULT_TYPE == "Vector<User>"
    assert F.InvokeWithLayer.RESULT_TYPE == "X" and F.InitConnection.RESULT_TYPE == "X"
    assert F.ReqPqMulti.RESULT_TYPE == "ResPQ"
    assert not hasattr(T.auth.LoginToken, "RESULT_TYPE")


def test_user_class_follows_its_schema_line() -> None:
    (line,) = [ln for ln in (BUNDLED_DATA / "api.tl").read_text("utf-8").splitlines()
               if ln.startswith("user#")]
    (definition,) = parse_schema(line).definitions
    fields = tuple(p.name for p in definition.params if not p.is_flag_word)
    assert T.User.__slots__ == fields
    assert "flags" not in fields and "flags2" not in fields
    assert (T.User.CONSTRUCTOR_ID, T.User.TL_NAME, T.User.TL_TYPE) == (0xB1B8CC83, "user", "User")
    user = T.User(id=1)
    assert user.self is False and user.first_name is None and user.usernames is None


def test_a_field_named_self_can_be_passed_by_keyword() -> None:
    # user#b1b8cc83 has `self:flags.10?true`: it must not collide with the method's own self.
    user = T.User(self=True, id=1)
    assert user.self is True
    assert tlcodec.decode(tlcodec.encode(user)) == user


@pytest.mark.parametrize(
    "obj",
    [
        T.auth.LoginToken(expires=1, token=b"t"),
        F.auth.ImportLoginToken(token=b"t"),
        T.User(id=1),
        T.UpdateLoginToken(),
    ],
    ids=lambda o: type(o).__name__,
)
def test_instances_have_no_dict(obj: Any) -> None:
    for instance in (obj, tlcodec.decode(tlcodec.encode(obj))):
        assert not hasattr(instance, "__dict__")
        with pytest.raises(AttributeError):
            instance.not_a_field = 1


def test_to_dict_names_the_constructor() -> None:
    obj = T.auth.LoginTokenSuccess(
        authorization=T.auth.Authorization(user=T.UserEmpty(id=3))
    )
    assert obj.to_dict() == {
        "_": "auth.loginTokenSuccess",
        "authorization": {
            "_": "auth.authorization",
            "setup_password_required": False,
            "otherwise_relogin_days": None,
            "tmp_sessions": None,
            "future_auth_token": None,
            "user": {"_": "userEmpty", "id": 3},
        },
    }


# --------------------------------------------------------------------------------------------
# Result types


def export_request() -> Any:
    return F.InvokeWithLayer(
        layer=tlcodec.LAYER,
        query=F.InitConnection(
            api_id=1, device_model="d", system_version="s", app_version="a",
            system_lang_code="en", lang_pack="", lang_code="en",
            query=F.auth.ExportLoginToken(api_id=1, api_hash="h", except_ids=[]),
        ),
    )


def test_result_spec_sees_through_generic_wrappers() -> None:
    spec = tlcodec.bundled.result_spec(export_request())
    assert spec.name == "auth.LoginToken"
    assert spec.kind == tlcodec.bundled.codec.K_BOXED
    assert tlcodec.bundled.result_spec(F.auth.ImportLoginToken(token=b"")).name == "auth.LoginToken"
    assert tlcodec.bundled.result_spec(F.users.GetUsers(id=[])).name == "Vector<User>"
    with pytest.raises(TypeError):
        tlcodec.bundled.result_spec(T.auth.LoginToken(expires=1, token=b""))


def test_decode_result_decodes_the_innermost_result_type() -> None:
    answer = T.auth.LoginTokenMigrateTo(dc_id=4, token=b"tok")
    assert tlcodec.bundled.decode_result(export_request(), tlcodec.encode(answer)) == answer
    # An object of another type is not an answer to this request.
    with pytest.raises(DecodeError, match="auth.LoginToken"):
        tlcodec.bundled.decode_result(export_request(), tlcodec.encode(T.UserEmpty(id=1)))
    users = u32(VECTOR_ID) + struct.pack("<i", 1) + tlcodec.encode(T.UserEmpty(id=9))
    assert tlcodec.bundled.decode_result(F.users.GetUsers(id=[T.InputUserSelf()]), users) == [
        T.UserEmpty(id=9)
    ]


# --------------------------------------------------------------------------------------------
# Updates inside updateShort


def test_unknown_update_inside_update_short_names_its_id() -> None:
    unknown_id = 0x1F2B0AFE  # updateNewMessage's id plus one: no constructor of the layer
    with pytest.raises(KeyError):
        tlcodec.bundled.by_id(unknown_id)
    data = u32(T.UpdateShort.CONSTRUCTOR_ID) + u32(unknown_id) + bytes(32)
    with pytest.raises(DecodeError) as info:
        tlcodec.decode(data)
    assert info.value.offset == 4
    assert "0x1f2b0afe" in str(info.value) and "Update" in str(info.value)


def test_full_schema_decodes_update_short_with_another_update(full_schema: Schema) -> None:
    update_short = full_schema.get("updateShort")
    update_user_name = full_schema.get("updateUserName")
    username = full_schema.get("username")
    obj = update_short(
        update=update_user_name(
            user_id=5,
            first_name="Ann",
            last_name="",
            usernames=[username(active=True, username="ann")],
        ),
        date=1707425120,
    )
    data = tlcodec.encode(obj)
    assert data[:8] == u32(0x78D4DEC1) + u32(0xA7848924)
    decoded = full_schema.decode(data, "Updates")
    assert decoded == obj
    assert decoded.update.usernames[0].username == "ann"
    # The bundled layer reads the same bytes as its own classes.
    bundled = tlcodec.decode(data)
    assert type(bundled) is T.UpdateShort and type(bundled.update) is T.UpdateUserName
    assert bundled.to_dict() == obj.to_dict()


def test_by_id_finds_the_class_of_a_constructor_or_function() -> None:
    from tlcodec import bundled

    assert bundled.by_id(0x629F1980) is T.auth.LoginToken
    assert bundled.by_id(F.auth.ImportLoginToken.CONSTRUCTOR_ID) is F.auth.ImportLoginToken
    with pytest.raises(KeyError, match="0x12345678"):
        bundled.by_id(0x12345678)


def test_by_id_makes_a_class_of_a_loaded_schema_not_made_yet() -> None:
    schema = Schema.from_tl("boolTrue#997275b5 = Bool;\n"
                            "point#11223344 x:int y:int = Point;\n"
                            "---functions---\nmove#55667788 to:Point = Point;\n")
    assert schema.registry.plan_for_id(0x11223344).cls is None  # classes are made on first use
    point = schema.by_id(0x11223344)
    assert point is schema.get("point") and point(x=1, y=2).y == 2
    assert schema.by_id(0x55667788) is schema.get("move", function=True)
