"""Hostile and foreign session files and strings (tlcodec.client.storage).

Every bad input is a `SessionFileError` that names the file and the field, and the file is left
as it was (nothing is written over it). Each class of bad input has its own test:

- files that are not text or not JSON: binary bytes, deeply nested JSON, an oversized file,
  repeated JSON keys;
- every field of a session file with a wrong type or out of range (NaN and 1e300 time offsets,
  a 2^70 salt, a string home_dc or user_id, a float or bool port, ...), unknown or missing
  keys, a DC listed twice;
- the same checks in our session strings and in Telethon's and Pyrogram's strings;
- other libraries' sessions, recognized and explained: Telethon's SQLite file and
  StringSession string (made by Telethon itself), Pyrogram's string and SQLite file, our own
  string saved in a file; a foreign string given as `session=` is not taken for a file name;
- `save()` refuses values that the next load would refuse, keeping the old file;
- a property: any bytes in a session file give a valid session or a SessionFileError.
"""

from __future__ import annotations

import base64
import json
import math
import os
import random
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlcodec.client import Client, DcAuth, Session, SessionFileError

from support import API_HASH, API_ID


def _key(seed: int) -> bytes:
    return random.Random(seed).randbytes(256)


def _sample_session(path: Path | None = None) -> Session:
    session = Session(path=path)
    session.home_dc = 2
    session.user_id = 5_123_456_789
    session.dcs[2] = DcAuth(2, "149.154.167.51", 443, _key(2), server_salt=-7, time_offset=1.5)
    session.dcs[4] = DcAuth(4, "dc4.example", 8443)
    return session


def _sample_document() -> dict[str, Any]:
    return _sample_session()._to_dict()


def _write_json(path: Path, document: Any) -> bytes:
    data = json.dumps(document).encode()
    path.write_bytes(data)
    return data


def _refused(path: Path, *fragments: str) -> str:
    """Opens `path`, expecting a SessionFileError naming the file and saying `fragments`; the
    file must be unchanged. Returns the message."""
    before = path.read_bytes()
    with pytest.raises(SessionFileError) as error:
        Session.from_file(path)
    message = str(error.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    assert path.read_bytes() == before
    return message


# ----------------------------------------------------------------------------------------------
# Files that are not JSON


def test_binary_file_is_a_session_file_error(tmp_path: Path) -> None:
    path = tmp_path / "me.session"
    path.write_bytes(bytes(range(256)) * 4)
    _refused(path, "not UTF-8 text")


def test_deeply_nested_json_is_a_session_file_error(tmp_path: Path) -> None:
    path = tmp_path / "me.session"
    path.write_text("[" * 200_000 + "]" * 200_000)
    _refused(path, "nested too deeply")


def test_a_file_too_large_to_be_a_session_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "video.mp4"
    path.write_text(json.dumps(_sample_document()) + " " * (2 << 20))
    _refused(path, "larger than")


def test_repeated_json_keys_are_refused(tmp_path: Path) -> None:
    # json.loads would keep the last user_id; the file says two things.
    path = tmp_path / "me.session"
    text = json.dumps(_sample_document())
    path.write_text(text.replace('"user_id":', '"user_id": 1, "user_id":', 1))
    _refused(path, "'user_id' appears more than once")


# ----------------------------------------------------------------------------------------------
# Each field of a session file


def _set(*keys: str | int, to: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target: Any = document
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = to
    return change


def _delete(*keys: str | int) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target: Any = document
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return change


BAD_FIELDS = {
    "time_offset NaN": (_set("dcs", 0, "time_offset", to=math.nan), "dcs[0]: time_offset"),
    "time_offset infinite": (_set("dcs", 0, "time_offset", to=math.inf), "dcs[0]: time_offset"),
    "time_offset 1e300": (_set("dcs", 0, "time_offset", to=1e300), "dcs[0]: time_offset"),
    "time_offset a string": (_set("dcs", 0, "time_offset", to="1.5"), "dcs[0]: time_offset"),
    "time_offset a bool": (_set("dcs", 0, "time_offset", to=True), "dcs[0]: time_offset"),
    "server_salt 2^70": (_set("dcs", 0, "server_salt", to=2**70), "dcs[0]: server_salt"),
    "server_salt 2^63": (_set("dcs", 0, "server_salt", to=2**63), "dcs[0]: server_salt"),
    "server_salt a float": (_set("dcs", 0, "server_salt", to=7.5), "dcs[0]: server_salt"),
    "server_salt a string": (_set("dcs", 0, "server_salt", to="7"), "dcs[0]: server_salt"),
    "home_dc a string": (_set("home_dc", to="2"), "home_dc"),
    "home_dc 0": (_set("home_dc", to=0), "home_dc"),
    "home_dc 256": (_set("home_dc", to=256), "home_dc"),
    "home_dc a bool": (_set("home_dc", to=True), "home_dc"),
    "user_id a string": (_set("user_id", to="5123456789"), "user_id"),
    "user_id 0": (_set("user_id", to=0), "user_id"),
    "user_id negative": (_set("user_id", to=-5), "user_id"),
    "user_id 2^64": (_set("user_id", to=2**64), "user_id"),
    "user_id a float": (_set("user_id", to=5.0), "user_id"),
    "test_mode a string": (_set("test_mode", to="false"), "test_mode"),
    "test_mode an int": (_set("test_mode", to=0), "test_mode"),
    "is_bot null": (_set("is_bot", to=None), "is_bot"),
    "version true": (_set("version", to=True), "version"),
    "dcs an object": (_set("dcs", to={"2": {}}), "dcs must be a list"),
    "a dcs entry a list": (_set("dcs", 0, to=[2, "h", 443]), "dcs[0] must be an object"),
    "dc_id 0": (_set("dcs", 0, "dc_id", to=0), "dcs[0]: dc_id"),
    "dc_id a string": (_set("dcs", 0, "dc_id", to="2"), "dcs[0]: dc_id"),
    "port a float": (_set("dcs", 0, "port", to=443.0), "dcs[0]: port"),
    "port a bool": (_set("dcs", 0, "port", to=True), "dcs[0]: port"),
    "port 0": (_set("dcs", 0, "port", to=0), "dcs[0]: port"),
    "port 65536": (_set("dcs", 0, "port", to=65536), "dcs[0]: port"),
    "port a string": (_set("dcs", 0, "port", to="443"), "dcs[0]: port"),
    "host a number": (_set("dcs", 0, "host", to=5), "dcs[0]: host"),
    "host empty": (_set("dcs", 0, "host", to=""), "dcs[0]: host"),
    "host with a space": (_set("dcs", 0, "host", to="evil host"), "dcs[0]: host"),
    "host with a slash": (_set("dcs", 0, "host", to="a/b"), "dcs[0]: host"),
    "host not ASCII": (_set("dcs", 0, "host", to="d\u00e9.example"), "dcs[0]: host"),
    "host too long": (_set("dcs", 0, "host", to="a." * 130 + "b"), "dcs[0]: host"),
    "auth_key short": (_set("dcs", 0, "auth_key", to=base64.b64encode(b"k" * 255).decode()),
                       "dcs[0]: auth_key must be 256 bytes"),
    "auth_key not base64": (_set("dcs", 0, "auth_key", to="not base64!"),
                            "dcs[0]: auth_key is not valid base64"),
    "auth_key a number": (_set("dcs", 0, "auth_key", to=12), "dcs[0]: auth_key"),
    "auth_key a list": (_set("dcs", 0, "auth_key", to=[1, 2]), "dcs[0]: auth_key"),
    "an unknown key": (_set("user_name", to="alice"), "unknown keys 'user_name'"),
    "an unknown key in a DC": (_set("dcs", 0, "ipv6", to=True), "dcs[0] has unknown keys"),
    "a missing key": (_delete("home_dc"), "lacks 'home_dc'"),
    "a missing key in a DC": (_delete("dcs", 1, "port"), "dcs[1] lacks 'port'"),
}


@pytest.mark.parametrize("change,fragment", BAD_FIELDS.values(), ids=list(BAD_FIELDS))
def test_every_field_is_checked_at_load(tmp_path: Path,
                                        change: Callable[[dict[str, Any]], None],
                                        fragment: str) -> None:
    path = tmp_path / "me.session"
    document = _sample_document()
    change(document)
    _write_json(path, document)
    _refused(path, "cannot be read", fragment)


def test_a_dc_listed_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "me.session"
    document = _sample_document()
    document["dcs"].append(dict(document["dcs"][0], port=80))  # which DC 2 is meant?
    _write_json(path, document)
    _refused(path, "dcs[2]: DC 2 is listed twice")


def test_a_session_file_without_is_bot_still_loads(tmp_path: Path) -> None:
    # Files written before is_bot existed.
    path = tmp_path / "me.session"
    document = _sample_document()
    del document["is_bot"]
    _write_json(path, document)
    assert Session.from_file(path).is_bot is False


def test_the_extremes_of_each_range_load(tmp_path: Path) -> None:
    path = tmp_path / "me.session"
    document = _sample_document()
    document["home_dc"] = 255
    document["user_id"] = 2**63 - 1
    document["dcs"][0].update(dc_id=1, port=65535, server_salt=-2**63, time_offset=-2.0**32)
    document["dcs"][1].update(dc_id=255, port=1, server_salt=2**63 - 1, time_offset=2**32,
                              host="::1")
    _write_json(path, document)
    session = Session.from_file(path)
    assert session.dcs[1].server_salt == -2**63 and session.dcs[255].time_offset == 2**32


def test_a_client_on_a_bad_file_raises_and_does_not_replace_it(tmp_path: Path) -> None:
    path = tmp_path / "me.session"
    document = _sample_document()
    document["dcs"][0]["port"] = True
    before = _write_json(path, document)
    with pytest.raises(SessionFileError, match="port"):
        Client(API_ID, API_HASH, path)
    assert path.read_bytes() == before


# ----------------------------------------------------------------------------------------------
# DcAuth and save(): a bad value never reaches the file


@pytest.mark.parametrize("arguments,fragment", [
    ((2, "127.0.0.1", True), "port"),
    ((2, "127.0.0.1", 443.0), "port"),
    ((True, "127.0.0.1", 443), "dc_id"),
    ((2, None, 443), "host"),
    ((2, "127.0.0.1", 443, bytearray(256)), "auth_key must be bytes"),
    ((2, "127.0.0.1", 443, None, 2**64), "server_salt"),
    ((2, "127.0.0.1", 443, None, 0, math.nan), "time_offset"),
])
def test_dc_auth_checks_types_and_ranges(arguments: tuple, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        DcAuth(*arguments)


def test_save_refuses_what_the_next_load_would_refuse_and_keeps_the_old_file(
        tmp_path: Path) -> None:
    path = tmp_path / "me.session"
    session = _sample_session(path)
    session.save()
    before = path.read_bytes()
    session.user_id = "5123456789"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="not saved.*user_id"):
        session.save()
    session.user_id = 42
    session.dcs[2].time_offset = math.nan  # assigned after DcAuth checked it
    with pytest.raises(ValueError, match="not saved.*time_offset"):
        session.save()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.session"]


# ----------------------------------------------------------------------------------------------
# Session strings: ours, Telethon's, Pyrogram's


def _our_string(header: tuple[int, int, int, int], *entries: bytes) -> str:
    data = struct.pack(">BBqB", *header) + b"".join(entries)
    return "tlc1:" + base64.urlsafe_b64encode(data).decode().rstrip("=")


def _our_entry(dc_id: int, host: bytes, port: int, salt: int, time_offset: float) -> bytes:
    return (struct.pack(">BB", dc_id, len(host)) + host + struct.pack(">HB", port, 0)
            + struct.pack(">qd", salt, time_offset))


@pytest.mark.parametrize("text,fragment", [
    (_our_string((0, 2, 0, 1), _our_entry(2, b"127.0.0.1", 443, 0, math.nan)), "time_offset"),
    (_our_string((0, 2, 0, 1), _our_entry(2, b"127.0.0.1", 443, 0, 1e300)), "time_offset"),
    (_our_string((0, 2, 0, 1), _our_entry(2, b"bad host", 443, 0, 0.0)), "host"),
    (_our_string((4, 2, 0, 0)), "user_id"),  # "user id present", and it is 0
    (_our_string((4, 2, -5, 0)), "user_id"),
    (_our_string((0, 2, 0, 2), _our_entry(2, b"127.0.0.1", 443, 0, 0.0),
                 _our_entry(2, b"127.0.0.2", 443, 0, 0.0)), "listed twice"),
], ids=["NaN time_offset", "1e300 time_offset", "bad host", "user id 0", "negative user id",
        "a DC twice"])
def test_session_string_fields_are_checked(text: str, fragment: str) -> None:
    with pytest.raises(SessionFileError, match=f"damaged session string.*{fragment}"):
        Session.from_string(text)


def test_telethon_string_with_a_bad_dc_or_port_is_a_session_file_error() -> None:
    for dc_id, port in ((0, 443), (2, 0)):
        packed = struct.pack(">B4sH256s", dc_id, bytes([127, 0, 0, 1]), port, _key(1))
        text = "1" + base64.urlsafe_b64encode(packed).decode()
        with pytest.raises(SessionFileError, match="damaged Telethon session string"):
            Session.from_telethon_string(text)


def test_pyrogram_string_with_a_bad_dc_or_user_id_is_a_session_file_error() -> None:
    for dc_id, user_id in ((0, 5), (2, 2**64 - 1)):
        packed = struct.pack(">BI?256sQ?", dc_id, API_ID, False, _key(1), user_id, False)
        text = base64.urlsafe_b64encode(packed).decode().rstrip("=")
        with pytest.raises(SessionFileError, match="damaged Pyrogram session string"):
            Session.from_pyrogram_string(text, "127.0.0.1", 443)


# ----------------------------------------------------------------------------------------------
# Other libraries' sessions


def _telethon_sqlite_session(path: Path) -> None:
    """A session file written by Telethon itself (SQLiteSession, Telethon 1.x)."""
    from telethon.crypto import AuthKey
    from telethon.sessions import SQLiteSession

    telethon_session = SQLiteSession(str(path))
    telethon_session.set_dc(2, "149.154.167.51", 443)
    telethon_session.auth_key = AuthKey(_key(2))
    telethon_session.save()
    telethon_session.close()


def _telethon_string() -> str:
    from telethon.crypto import AuthKey
    from telethon.sessions import StringSession

    telethon_session = StringSession()
    telethon_session.set_dc(2, "149.154.167.51", 443)
    telethon_session.auth_key = AuthKey(_key(2))
    return telethon_session.save()


def test_a_telethon_session_file_is_recognized_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "telethon.session"
    _telethon_sqlite_session(path)
    assert path.read_bytes().startswith(b"SQLite format 3\0")
    _refused(path, "is a Telethon session file", "tlcodec cannot read it", "log in again",
             "Session.from_telethon_string")
    before = path.read_bytes()
    with pytest.raises(SessionFileError, match="Telethon session file"):
        Client(API_ID, API_HASH, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["telethon.session"]  # no journal


def test_the_way_out_offered_for_a_telethon_file_works(tmp_path: Path) -> None:
    # The message says: print StringSession.save(client.session) in Telethon, then open it
    # with Session.from_telethon_string. Done here with the file Telethon made.
    from telethon.sessions import SQLiteSession, StringSession

    path = tmp_path / "telethon.session"
    _telethon_sqlite_session(path)
    telethon_session = SQLiteSession(str(path))
    text = StringSession.save(telethon_session)
    telethon_session.close()
    session = Session.from_telethon_string(text)
    assert session.home_dc == 2 and session.dcs[2].auth_key == _key(2)


def test_a_pyrogram_session_file_is_recognized(tmp_path: Path) -> None:
    # Pyrogram is not installed: the database gets its `sessions` table as Pyrogram 2.x makes
    # it (pyrogram/storage/sqlite_storage.py, SCHEMA).
    path = tmp_path / "pyrogram.session"
    connection = sqlite3.connect(path)
    connection.executescript("""
        CREATE TABLE sessions (dc_id INTEGER PRIMARY KEY, api_id INTEGER, test_mode INTEGER,
                               auth_key BLOB, date INTEGER NOT NULL, user_id INTEGER,
                               is_bot INTEGER);
        CREATE TABLE version (number INTEGER PRIMARY KEY);
    """)
    connection.execute("INSERT INTO sessions VALUES (2, ?, 0, ?, 0, 5, 0)", (API_ID, _key(2)))
    connection.commit()
    connection.close()
    _refused(path, "is a Pyrogram session file", "log in again", "Session.from_pyrogram_string")


def test_another_sqlite_database_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (text TEXT)")
    connection.commit()
    connection.close()
    _refused(path, "is an SQLite database, not a tlcodec session file")


def test_a_damaged_sqlite_file_is_still_a_session_file_error(tmp_path: Path) -> None:
    path = tmp_path / "telethon.session"
    _telethon_sqlite_session(path)
    path.write_bytes(path.read_bytes()[:200])
    _refused(path, "SQLite")


def test_session_strings_saved_in_a_file_are_recognized(tmp_path: Path) -> None:
    path = tmp_path / "me.session"
    path.write_text(_telethon_string() + "\n")
    _refused(path, "holds a Telethon StringSession string", "Session.from_telethon_string")
    path.write_text(_sample_session().to_pyrogram_string(API_ID))
    _refused(path, "holds a Pyrogram session string", "Session.from_pyrogram_string")
    path.write_text(_sample_session().to_string())
    _refused(path, "holds a tlcodec session string", "Session.from_string")


def test_a_foreign_string_as_the_session_is_not_taken_for_a_file_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SessionFileError, match="is a Telethon StringSession string"):
        Session.open(_telethon_string())
    with pytest.raises(SessionFileError, match="is a Pyrogram session string"):
        Client(API_ID, API_HASH, _sample_session().to_pyrogram_string(API_ID))
    assert list(tmp_path.iterdir()) == []


def test_the_command_line_says_what_a_telethon_file_is(tmp_path: Path) -> None:
    path = tmp_path / "telethon.session"
    _telethon_sqlite_session(path)
    before = path.read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "tlcodec", "qr-login", "--api-id", "7", "--api-hash", "h",
         "--session", str(path)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert result.returncode == 2
    assert "is a Telethon session file" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before


# ----------------------------------------------------------------------------------------------
# Any bytes: a valid session or a SessionFileError


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                        st.integers(min_value=-2**80, max_value=2**80), st.text(max_size=20))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
        max_leaves=8)


@st.composite
def _altered_documents(draw: st.DrawFn) -> bytes:
    """A valid session file with one value replaced by any JSON value: near misses."""
    document = _sample_document()
    entry = draw(st.sampled_from([None, 0, 1]))
    target = document if entry is None else document["dcs"][entry]
    target[draw(st.sampled_from(sorted(target)))] = draw(_json_values())
    return json.dumps(document).encode()


@st.composite
def _damaged_files(draw: st.DrawFn) -> bytes:
    """A valid session file with some bytes changed, cut or inserted."""
    data = bytearray(json.dumps(_sample_document(), indent=1).encode())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        data[at:at + draw(st.integers(0, 3))] = draw(st.binary(max_size=3))
    return bytes(data)


def _must_be_valid(session: Session) -> None:
    # What save() checks before writing: the loaded session holds only valid values.
    Session()._load_dict(session._to_dict())


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=600), _altered_documents(), _damaged_files(),
                      _json_values().map(lambda value: json.dumps(value).encode()),
                      st.binary(max_size=100).map(lambda tail: b"SQLite format 3\0" + tail)))
def test_any_bytes_give_a_valid_session_or_a_session_file_error(tmp_path: Path,
                                                                data: bytes) -> None:
    path = tmp_path / "any.session"
    path.write_bytes(data)
    try:
        session = Session.from_file(path)
    except SessionFileError as error:
        assert str(path) in str(error)
    else:
        _must_be_valid(session)
    assert path.read_bytes() == data
