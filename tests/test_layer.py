"""The whole official layer as the bundled schema: classes made on first use, one family per
schema (foreign objects refused by name), subclasses that decode, pickling of run-time classes,
and the generator's packages for other layers (docs/SCHEMA.md)."""

from __future__ import annotations

import copy
import struct
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tlcodec
from tlcodec import Schema
from tlcodec.schema import DATA_DIR, bundled_definitions

from support import CodecBuild, reference_file

PACKAGE_DIR = Path(tlcodec.__file__).resolve().parent


def run_python(code: str, *paths: Path) -> str:
    """What `code` prints in a fresh interpreter, with `paths` first on sys.path."""
    prelude = f"import sys; sys.path[:0] = {[str(p) for p in paths]!r}\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code], check=True, capture_output=True, text=True
    ).stdout


def test_the_bundled_layer_is_the_whole_official_api_and_service_schema() -> None:
    definitions, layer = bundled_definitions()
    assert layer == 228
    classes = {
        d.name for d in definitions if d.is_function or d.result.name not in ("Bool", "True")
    }
    assert len(tlcodec.bundled.definitions) == len(definitions) - 3  # boolFalse, boolTrue, true
    assert {d.name for d in tlcodec.bundled.definitions} == classes
    assert Path(DATA_DIR, "api.tl").read_bytes() == reference_file("api.tl").read_bytes()
    assert tlcodec.types.messages.Messages.TL_NAME == "messages.messages"
    assert tlcodec.functions.messages.SendMessage.RESULT_TYPE == "Updates"
    assert tlcodec.bundled.by_id(0x629F1980) is tlcodec.types.auth.LoginToken


def test_import_makes_no_class_and_a_class_is_made_with_its_plan_on_first_use() -> None:
    out = run_python(
        "import tlcodec\n"
        "print(len(tlcodec.bundled._classes), len(tlcodec.bundled._plans))\n"
        "from tlcodec.types.messages import Messages\n"
        "print(len(tlcodec.bundled._classes), len(tlcodec.bundled._plans), Messages.__module__)"
    )
    # Nothing at import; then Messages and its plan, and no other: its fields' types (boxed)
    # are plans and classes made only when an object of them is met.
    assert out.splitlines() == ["0 0", "1 1 tlcodec.types.messages"]


def test_decoding_meets_ids_never_seen_and_makes_their_classes(tl: CodecBuild) -> None:
    # In a fresh process (nothing made yet) a message with nested objects decodes.
    types = tl.types
    message = types.Message(
        id=7, peer_id=types.PeerUser(user_id=5), date=1_700_000_000, message="hi",
        entities=[types.MessageEntityBold(offset=0, length=2)],
        media=types.MessageMediaContact(phone_number="1", first_name="a", last_name="b",
                                        vcard="", user_id=5),
    )
    data = tl.encode(message)
    out = run_python(
        "import tlcodec\n"
        f"obj = tlcodec.decode({data!r})\n"
        "print(type(obj).__module__, type(obj).__name__, type(obj.media).__name__, len(tlcodec.bundled._classes))"
    )
    assert out.split()[:3] == ["tlcodec.types", "Message", "MessageMediaContact"]
    assert tl.decode(data) == message


def test_a_class_documents_its_line_and_pickles_and_copies(tl: CodecBuild) -> None:
    user = tl.types.User(id=5, first_name="Ann", bot=True)
    assert tl.types.User.__doc__.startswith("`user#")
    assert copy.deepcopy(user) == user and copy.copy(user) == user
    assert pickle.loads(pickle.dumps(user)) == user


def test_classes_of_a_schema_loaded_at_run_time_pickle_by_its_fingerprint(codec: Any) -> None:
    # Names of this test's own: a schema loaded earlier in the process with the same
    # definitions would keep the plain pickle name (docs/SCHEMA.md).
    text = ("pickledPoint#11223344 x:int y:int = Point;\n---functions---\n"
            "movePickled#55667788 to:Point = Point;\n")
    schema = Schema.from_tl(text, codec=codec)
    point = schema.types.PickledPoint(x=1, y=2)
    again = pickle.loads(pickle.dumps(schema.functions.MovePickled(to=point)))
    assert again == schema.functions.MovePickled(to=point)
    assert type(again) is schema.functions.MovePickled
    # Another process has not loaded the schema: the error says what to do.
    data = pickle.dumps(point)
    failed = subprocess.run([sys.executable, "-c", f"import pickle; pickle.loads({data!r})"],
                            capture_output=True, text=True)
    assert failed.returncode != 0 and "Can't get attribute 'schema_" in failed.stderr
    # ...and once it has, the object unpickles there.
    out = run_python(
        "import pickle, tlcodec\n"
        f"schema = tlcodec.Schema.from_tl({text!r})\n"
        f"print(pickle.loads({data!r}))"
    )
    assert out.strip() == "PickledPoint(x=1, y=2)"


def test_an_object_of_another_schema_in_a_field_is_a_type_error_naming_both(codec: Any) -> None:
    definitions, layer = bundled_definitions()
    own = Schema(definitions, layer, codec=codec, name="own layer")
    foreign = Schema.from_tl(reference_file("api.tl").read_text("utf-8"), codec=codec)
    update = foreign.types.UpdateLoginToken()
    with pytest.raises(TypeError) as refused:
        codec.encode(own.types.UpdateShort(update=update, date=1))
    assert str(refused.value) == (
        f"UpdateShort.update: UpdateLoginToken is of {foreign.name}, not of own layer"
    )
    with pytest.raises(TypeError, match=r"^Updates.updates: UpdateLoginToken is of "):  # in a list
        codec.encode(own.types.Updates(updates=[update], users=[], chats=[], date=1, seq=0))
    # Alone, each schema's object encodes, to the same bytes.
    assert codec.encode(update) == codec.encode(own.types.UpdateLoginToken())


def test_subclasses_decode_and_encode_through_a_derived_schema(tl: CodecBuild) -> None:
    class Message(tl.types.Message):
        __slots__ = ()

        def is_reply(self) -> bool:
            return self.reply_to is not None

    class User(tl.types.User):
        def name(self) -> str:
            return f"{self.first_name} {self.last_name}"

    mine = tl.bundled.with_classes(Message, User)
    reply = tl.types.MessageReplyHeader(reply_to_msg_id=3)
    sent = Message(id=9, peer_id=tl.types.PeerUser(user_id=1), date=1, message="x", reply_to=reply)
    assert sent.is_reply()
    data = tl.encode(sent)
    assert data == tl.encode(tl.types.Message(id=9, peer_id=tl.types.PeerUser(user_id=1), date=1,
                                              message="x", reply_to=reply))
    decoded = mine.decode(data)
    assert type(decoded) is Message and decoded == sent and decoded.is_reply()
    assert type(decoded.peer_id) is tl.types.PeerUser  # the rest stays the base schema's
    # The base schema is untouched.
    assert type(tl.decode(data)) is tl.types.Message
    # Nested, and mixed with the base schema's objects in both directions.
    user = User(id=1, first_name="A", last_name="B")
    users = tl.types.messages.Messages(messages=[sent], chats=[], users=[user], topics=[])
    again = mine.decode(tl.encode(users))
    assert type(again.users[0]) is User and again.users[0].name() == "A B"
    assert type(again) is tl.types.messages.Messages
    assert mine.by_id(tl.types.User.CONSTRUCTOR_ID) is User
    assert mine.get("message") is Message and mine.get("messageEmpty") is tl.types.MessageEmpty


def test_with_classes_refuses_what_is_no_subclass_of_its_classes(tl: CodecBuild) -> None:
    other = Schema.from_tl("point#11223344 x:int = Point;", codec=tl.codec)

    class Alien(other.types.Point):
        pass

    class Chat(tl.types.Chat):
        pass

    class Chat2(tl.types.Chat):
        pass

    with pytest.raises(TypeError, match="is not a subclass of a class of"):
        tl.bundled.with_classes(Alien)
    with pytest.raises(TypeError, match="is not a subclass of a class of"):
        tl.bundled.with_classes(tl.types.Chat)  # the class itself
    with pytest.raises(ValueError, match="both subclass chat"):
        tl.bundled.with_classes(Chat, Chat2)


def test_by_id_and_namespaces_on_the_bundled_layer_and_a_loaded_schema(codec: Any) -> None:
    schema = Schema.from_tl(reference_file("api.tl").read_text("utf-8"), codec=codec)
    for layer in (tlcodec.bundled, schema):
        cls = layer.by_id(0x2EA2C0D4)
        assert cls.TL_NAME == "auth.authorization" and layer.types.auth.Authorization is cls
        with pytest.raises(KeyError):
            layer.by_id(0x12345678)
    assert "Authorization" in dir(tlcodec.types.auth) and "auth" in dir(tlcodec.types)
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        tlcodec.types.auth.Nope  # noqa: B018


def test_the_generator_writes_a_working_typed_package_for_another_layer(tmp_path: Path) -> None:
    api = reference_file("api.tl").read_text("utf-8").replace("// LAYER 228", "// LAYER 229")
    (tmp_path / "api.tl").write_text(api, encoding="utf-8")
    mtproto = Path(DATA_DIR, "mtproto.tl")
    out = tmp_path / "src"
    command = [sys.executable, "-m", "tlcodec.schema.generate", "--tl", str(tmp_path / "api.tl"),
               "--tl", str(mtproto), "--out", str(out), "--package", "acme.layer229"]
    subprocess.run(command, check=True, capture_output=True)
    package = out / "acme" / "layer229"
    assert (package / "types" / "messages.pyi").is_file() and (package / "_layer_data.py").is_file()
    (out / "acme" / "__init__.py").write_text("", encoding="utf-8")
    printed = run_python(
        "import tlcodec\n"
        "from acme.layer229 import LAYER, schema, types, functions\n"
        "user = types.User(id=5, first_name='x')\n"
        "data = tlcodec.encode(user)\n"
        "assert data == tlcodec.encode(tlcodec.types.User(id=5, first_name='x'))\n"
        "assert schema.decode(data) == user and type(schema.decode(data)) is types.User\n"
        "assert functions.auth.ImportLoginToken.__module__ == 'acme.layer229.functions.auth'\n"
        "print(LAYER, schema.name, type(user).__module__)",
        out,
    )
    assert printed.split() == ["229", "acme.layer229", "(layer", "229)", "acme.layer229.types"]
    # Run again: nothing to write; --check agrees.
    again = subprocess.run(command + ["--check"], capture_output=True, text=True)
    assert again.returncode == 0 and "nothing" in again.stdout
    (package / "types" / "auth.py").write_text("# edited\n", encoding="utf-8")
    stale = subprocess.run(command + ["--check"], capture_output=True, text=True)
    assert stale.returncode == 1 and "types/auth.py" in stale.stderr


@pytest.mark.parametrize("argv", [
    ["--tl", "api.tl"],
    ["--tl", "api.tl", "--out", "x", "--package", "not-a-name"],
])
def test_the_generator_refuses_incomplete_or_bad_options(argv: list[str]) -> None:
    failed = subprocess.run([sys.executable, "-m", "tlcodec.schema.generate", *argv],
                            capture_output=True, text=True)
    assert failed.returncode == 2 and "error:" in failed.stderr


def test_the_generator_names_a_bad_schema_line(tmp_path: Path) -> None:
    (tmp_path / "bad.tl").write_text("point#11223344 x:Nowhere = Point;\n", encoding="utf-8")
    failed = subprocess.run(
        [sys.executable, "-m", "tlcodec.schema.generate", "--tl", str(tmp_path / "bad.tl"),
         "--out", str(tmp_path), "--package", "bad"], capture_output=True, text=True,
    )
    assert failed.returncode == 1 and "point.x: type Nowhere has no constructor" in failed.stderr
    assert not (tmp_path / "bad").exists()


# --------------------------------------------------------------------------------------------
# The registry's side of first use: the loader and `add`, in both builds


def _point_plans(codec: Any, count: int) -> list[Any]:
    """`count` one-field constructors of one type, ids 0x10000001..., bound to classes."""
    plans = []
    for index in range(count):
        plan = codec.Plan(0x10000001 + index, f"point{index}", 0, False,
                          [("x", codec.TypeSpec(codec.K_INT, "int"), -1, 0, 0)])
        plan.bind(type(f"Point{index}", (codec.TLObject,), {"__slots__": ("x",)}))
        plans.append(plan)
    return plans


def test_a_registry_loads_plans_it_lacks_through_its_loader_and_grows(codec: Any) -> None:
    plans = _point_plans(codec, 100)
    registry = codec.Registry(plans[:1], ["Point"])
    asked: list[int] = []

    def loader(constructor_id: int) -> Any:
        asked.append(constructor_id)
        index = constructor_id - 0x10000001
        return registry.add(plans[index]) if 0 <= index < len(plans) else None

    registry.loader = loader
    # Past the first table's 16 slots: every plan is found again after the table grows.
    for plan in plans:
        data = codec.encode(plan.cls(x=7))
        assert type(registry.decode(data)) is plan.cls
    assert len(asked) == 99 and all(registry.plan_for_id(p.constructor_id) is p for p in plans)
    assert registry.by_id[0x10000001 + 50] is plans[50]
    with pytest.raises(tlcodec.DecodeError, match="unknown constructor id 0x20000000"):
        registry.decode(struct.pack("<I", 0x20000000))
    assert asked[-1] == 0x20000000 and registry.plan_for_id(0x20000000) is None


def test_add_keeps_the_first_plan_of_an_id_and_refuses_a_clash(codec: Any) -> None:
    first, other = _point_plans(codec, 2)
    registry = codec.Registry([first], ["Point"])
    assert registry.add(first) is first
    twin = codec.Plan(first.constructor_id, first.tl_name, 0, False, [])
    assert registry.add(twin) is first  # made twice (two threads): the first one stays
    clash = codec.Plan(first.constructor_id, "notPoint", 0, False, [])
    with pytest.raises(ValueError, match="share id 0x10000001"):
        registry.add(clash)
    with pytest.raises(TypeError, match="not an initialised Plan"):
        registry.add(codec.Plan.__new__(codec.Plan))
    assert registry.add(other) is other and other.registry is registry


def test_a_loader_that_does_not_add_what_it_gives_is_a_type_error(codec: Any) -> None:
    (plan,) = _point_plans(codec, 1)
    registry = codec.Registry([], ["Point"])
    registry.loader = lambda constructor_id: plan
    with pytest.raises(TypeError, match="without adding it"):
        registry.decode(codec.encode(plan.cls(x=1)))
    with pytest.raises(TypeError, match="without adding it"):
        registry.plan_for_id(plan.constructor_id)


def test_an_object_whose_plan_no_registry_holds_nests_in_any_schema(codec: Any) -> None:
    # A plan made and bound by hand belongs to no schema: nothing to tell it apart from.
    (point,) = _point_plans(codec, 1)
    schema = Schema.from_tl("holder#20000001 p:Object = Holder;", codec=codec)
    data = codec.encode(schema.types.Holder(p=point.cls(x=5)))
    assert data == struct.pack("<IIi", 0x20000001, 0x10000001, 5)
