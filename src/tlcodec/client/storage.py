"""What a client remembers between runs: per-DC auth keys, the home DC, salts, the user id.

This module owns the session *data* and where it is kept; it does no networking. A `Session`
holds one `DcAuth` per data centre the client has talked to (address, 256-byte auth key, server
salt, clock offset), the home DC (where the account lives), the test/production flag and, once
logged in, the user id. Where it is kept:

- `Session.memory()`: nowhere (lost when the process ends).
- `Session.from_file(path)`: a JSON file, written with write-then-rename (a temporary file in
  the same directory, flushed and fsync'ed, then `os.replace`d over the old one, then the
  directory fsync'ed), so a process killed at any moment leaves either the old file or the new
  one, never a torn one. The file is created readable by its owner only (it holds auth keys).
- `Session.from_string(text)`: our own compact session string, `"tlc1:"` + base64url (no
  padding) of a versioned binary layout (see `_STRING_*` below); `session.to_string()` writes
  it. The prefix carries the format version, so a later layout gets `"tlc2:"`.

Exports, so that a login done here can be handed to other libraries (facts of their formats,
checked against their sources; no code of theirs is used):

- `to_telethon_string()`: Telethon 1.x `StringSession`: `"1"` + urlsafe base64 (with padding)
  of `struct ">B{4|16}sH256s"`: dc_id, the packed IPv4/IPv6 address, port, auth key
  (telethon/sessions/string.py, Telethon 1.45). Telethon reads the home DC only.
- `to_pyrogram_string(api_id)`: Pyrogram 2.x session string: urlsafe base64 without `=`
  padding of `struct ">BI?256sQ?"`: dc_id, api_id, test_mode, auth key, user_id, is_bot
  (pyrogram/storage/storage.py `Storage.SESSION_STRING_FORMAT` and `export_session_string`,
  github.com/pyrogram/pyrogram at commit 89b1a807; older Pyrogram versions used ">B?256sI?"
  and ">B?256sQ?" without the api_id).
- `from_telethon_string` / `from_pyrogram_string` read those formats back (the home DC's key
  only; Pyrogram strings carry no address, so the caller gives one or the client looks it up).

`save()` writes the whole session to its store (a no-op in memory); the client calls it when a
key is created or dropped, when the home DC, the salt or the user changes, and on close.

Reading is strict, since a session file may be damaged, edited by hand or not ours at all:
every field is checked (type and range) when a file or string is loaded, and anything wrong is
a `SessionFileError` that names the file and the field; nothing is loaded in part, and the file
is left as it is (a bad file is never replaced by a new session). Telethon's and Pyrogram's
session files (SQLite) and strings are recognized, and the error says how to carry them over.
`save()` makes the same checks before writing, so what it writes always reads back.
"""

from __future__ import annotations

import base64
import binascii
import collections
import ipaddress
import json
import logging
import os
import re
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SessionFileError

__all__ = [
    "STRING_PREFIX",
    "DcAuth",
    "Session",
    "SessionFileError",
]

logger = logging.getLogger("tlcodec.client")

STRING_PREFIX = "tlc1:"
"""The prefix of our session strings; the digit is the layout version."""

_FILE_FORMAT = "tlcodec-session"
_FILE_VERSION = 1

# Session string layout, version 1 (all big-endian):
#   header: flags (B: bit 0 test_mode, bit 1 is_bot, bit 2 user_id present), home_dc (B, 0 = none),
#           user_id (q), number of DC entries (B)
#   entry:  dc_id (B), host length (B), host (ASCII), port (H), flags (B: bit 0 has auth key),
#           auth key (256 bytes, only when present), server_salt (q), time_offset (d)
_STRING_HEADER = struct.Struct(">BBqB")
_STRING_ENTRY_HEAD = struct.Struct(">BB")
_STRING_ENTRY_TAIL = struct.Struct(">HB")
_STRING_ENTRY_STATE = struct.Struct(">qd")

_TELETHON_VERSION = "1"
_TELETHON_FORMAT = ">B{}sH256s"
_PYROGRAM_FORMAT = struct.Struct(">BI?256sQ?")
# Pyrogram's string layouts, newest first: 2.x (">BI?256sQ?"), then ">B?256sQ?" and ">B?256sI?".
_PYROGRAM_STRING_SIZES = (271, 267, 263)

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_DC_ID_MAX = 255  # the session string stores a DC id in one byte
# The seconds half of a msg_id is 32 bits, so no clock difference the server can tell us about
# is larger; 1e300 or NaN in a file is damage, not a clock.
_TIME_OFFSET_LIMIT = float(1 << 32)
_AUTH_KEY_SIZE = 256
# The largest session we write (255 DCs, each with a key and a 253-character host) is about
# 250 KB; reading more is reading something else (a video passed as the session, say).
_MAX_FILE_SIZE = 1 << 20
_SQLITE_MAGIC = b"SQLite format 3\0"
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
_URLSAFE_BASE64 = re.compile(r"[A-Za-z0-9_-]+=*")
_FILE_KEYS = frozenset({"format", "version", "test_mode", "home_dc", "user_id", "is_bot", "dcs"})
_FILE_OPTIONAL_KEYS = frozenset({"is_bot"})  # files written before it existed lack it
_FILE_DC_KEYS = frozenset({"dc_id", "host", "port", "auth_key", "server_salt", "time_offset"})


@dataclass
class DcAuth:
    """What the client knows about one data centre: where it is and the key it shares with it.

    `auth_key` is None until the auth-key exchange ran (or after the server forgot the key).
    `server_salt` and `time_offset` (server time minus local time, seconds) let a reopened
    session send its first message without a `bad_server_salt`/`bad_msg_notification` round.
    """

    dc_id: int
    host: str
    port: int
    auth_key: bytes | None = field(default=None, repr=False)
    server_salt: int = 0
    time_offset: float = 0.0

    def __post_init__(self) -> None:
        _check_int("dc_id", self.dc_id, 1, _DC_ID_MAX)
        _check_host("host", self.host)
        _check_int("port", self.port, 1, 65535)
        if self.auth_key is not None:
            if not isinstance(self.auth_key, bytes):
                raise ValueError(f"auth_key must be bytes, got {_shown(self.auth_key)}")
            if len(self.auth_key) != _AUTH_KEY_SIZE:
                raise ValueError(f"auth_key must be {_AUTH_KEY_SIZE} bytes, "
                                 f"got {len(self.auth_key)}")
        _check_int("server_salt", self.server_salt, _INT64_MIN, _INT64_MAX,
                   "a signed 64-bit integer")
        _check_time_offset("time_offset", self.time_offset)


class Session:
    """The client's persistent state and the store it is saved to (file, string or memory)."""

    def __init__(self, *, path: str | os.PathLike[str] | None = None) -> None:
        self.path: Path | None = None if path is None else Path(path)
        self.home_dc: int | None = None
        self.test_mode: bool = False
        self.user_id: int | None = None
        self.is_bot: bool = False
        self.dcs: dict[int, DcAuth] = {}

    def __repr__(self) -> str:
        where = f"file {str(self.path)!r}" if self.path is not None else "memory"
        keys = sorted(dc for dc, auth in self.dcs.items() if auth.auth_key is not None)
        return (f"<Session {where} home_dc={self.home_dc} user_id={self.user_id} "
                f"keys for DCs {keys}>")

    # ------------------------------------------------------------------------------------------
    # Opening

    @classmethod
    def memory(cls) -> Session:
        """A session kept in memory only."""
        return cls()

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Session:
        """The session stored in `path`, or an empty one that `save()` will create there.

        A file that is not a session we can read raises `SessionFileError` (saying what the
        file is and what to do about it) and is left untouched: nothing is created or replaced.
        """
        session = cls(path=path)
        assert session.path is not None
        try:
            with open(session.path, "rb") as file:
                data = file.read(_MAX_FILE_SIZE + 1)
        except FileNotFoundError:
            return session
        where = f"session file {str(session.path)!r}"
        foreign = _foreign_file(session.path, data)
        if foreign is not None:
            raise SessionFileError(f"{where} {foreign}")
        if len(data) > _MAX_FILE_SIZE:
            raise SessionFileError(f"{where} cannot be read: it is larger than {_MAX_FILE_SIZE} "
                                   "bytes, so it is not a tlcodec session file")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SessionFileError(
                f"{where} cannot be read: byte {exc.start} is not UTF-8 text, so it is not a "
                "tlcodec session file") from None
        try:
            document = json.loads(text, object_pairs_hook=_object_without_repeated_keys)
        except RecursionError:
            raise SessionFileError(
                f"{where} cannot be read: its JSON is nested too deeply") from None
        except ValueError as exc:  # JSONDecodeError, a repeated key, an integer too long
            raise SessionFileError(f"{where} cannot be read: not valid JSON: {exc}") from None
        try:
            session._load_dict(document)
        except ValueError as exc:
            raise SessionFileError(f"{where} cannot be read: {exc}") from None
        return session

    @classmethod
    def from_string(cls, text: str) -> Session:
        """A memory session from a string made by `to_string()`."""
        session = cls()
        session._load_string(text)
        return session

    @classmethod
    def open(cls, value: Session | str | os.PathLike[str] | None) -> Session:
        """What the client's `session=` argument means: None (memory), a `Session`, one of our
        session strings (it starts with `"tlc"` + version + `":"`), or else a file path.
        A Telethon or Pyrogram session string is refused (SessionFileError, saying how to open
        it), not taken for a file name."""
        if value is None:
            return cls.memory()
        if isinstance(value, Session):
            return value
        if isinstance(value, str) and _looks_like_session_string(value):
            return cls.from_string(value)
        if isinstance(value, str):
            # Without this, another library's string would be taken for a file name and a new,
            # empty session created under it.
            foreign = _foreign_string(value)
            if foreign is not None:
                what, advice = foreign
                raise SessionFileError(f"the session given is {what}, not a tlcodec session "
                                       f"string or a file name: {advice}")
        if isinstance(value, (str, os.PathLike)):
            return cls.from_file(value)
        raise TypeError("session must be None, a Session, a session string or a path, "
                        f"got {type(value).__name__}")

    @classmethod
    def from_telethon_string(cls, text: str) -> Session:
        """A memory session holding the home DC of a Telethon 1.x `StringSession` string."""
        if not text or text[0] != _TELETHON_VERSION:
            raise SessionFileError(f"a Telethon session string starts with {_TELETHON_VERSION!r}")
        try:
            data = base64.urlsafe_b64decode(text[1:])
        except (binascii.Error, ValueError) as exc:
            raise SessionFileError(f"not a Telethon session string: {exc}") from exc
        ip_length = len(data) - struct.calcsize(_TELETHON_FORMAT.format(0))
        if ip_length not in (4, 16):
            raise SessionFileError(
                f"a Telethon session string holds {struct.calcsize(_TELETHON_FORMAT.format(4))} or "
                f"{struct.calcsize(_TELETHON_FORMAT.format(16))} bytes, got {len(data)}")
        dc_id, ip, port, auth_key = struct.unpack(_TELETHON_FORMAT.format(ip_length), data)
        session = cls()
        try:
            auth = DcAuth(dc_id, ipaddress.ip_address(ip).compressed, port,
                          auth_key if any(auth_key) else None)
        except ValueError as exc:
            raise SessionFileError(f"damaged Telethon session string: {exc}") from None
        session.home_dc = dc_id
        session.dcs[dc_id] = auth
        return session

    @classmethod
    def from_pyrogram_string(cls, text: str, host: str, port: int) -> Session:
        """A memory session from a Pyrogram 2.x session string; it carries no address, so the
        home DC's `host` and `port` are given."""
        try:
            data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError) as exc:
            raise SessionFileError(f"not a Pyrogram session string: {exc}") from exc
        if len(data) != _PYROGRAM_FORMAT.size:
            raise SessionFileError(
                f"a Pyrogram session string holds {_PYROGRAM_FORMAT.size} bytes, got {len(data)}")
        dc_id, _api_id, test_mode, auth_key, user_id, is_bot = _PYROGRAM_FORMAT.unpack(data)
        session = cls()
        try:
            session.user_id = _check_user_id("user_id", user_id or None)
            session.dcs[dc_id] = DcAuth(dc_id, host, port, auth_key)
        except ValueError as exc:
            raise SessionFileError(f"damaged Pyrogram session string: {exc}") from None
        session.home_dc = dc_id
        session.test_mode = test_mode
        session.is_bot = is_bot
        return session

    # ------------------------------------------------------------------------------------------
    # State the client changes

    def dc(self, dc_id: int) -> DcAuth | None:
        return self.dcs.get(dc_id)

    def set_address(self, dc_id: int, host: str, port: int) -> DcAuth:
        """Record where DC `dc_id` is; a different address keeps the key (keys are per DC)."""
        auth = self.dcs.get(dc_id)
        if auth is None:
            auth = self.dcs[dc_id] = DcAuth(dc_id, host, port)
        else:
            auth.host, auth.port = host, port
        return auth

    def set_auth_key(self, dc_id: int, auth_key: bytes | None, server_salt: int = 0,
                     time_offset: float = 0.0) -> None:
        """A new key for `dc_id` (None: the server forgot ours). Losing the home DC's key
        loses the login too."""
        auth = self.dcs[dc_id]
        auth.auth_key = None if auth_key is None else bytes(auth_key)
        auth.server_salt = server_salt
        auth.time_offset = time_offset
        if auth_key is None and dc_id == self.home_dc:
            self.user_id = None
        auth.__post_init__()

    @property
    def home(self) -> DcAuth | None:
        return None if self.home_dc is None else self.dcs.get(self.home_dc)

    # ------------------------------------------------------------------------------------------
    # Saving

    def save(self) -> None:
        """Write the session to its file (atomically); a memory session keeps it in memory."""
        if self.path is None:
            return
        document = self._to_dict()
        # What is written must read back: a bad value (set by hand, say) stops here, with the
        # old file intact, instead of making a file that the next run refuses.
        try:
            Session()._load_dict(document)
        except ValueError as exc:
            raise ValueError(f"session not saved to {str(self.path)!r}: {exc}") from None
        data = json.dumps(document, indent=1, sort_keys=True).encode("utf-8")
        write_atomically(self.path, data)
        logger.debug("session saved to %s", self.path)

    def _to_dict(self) -> dict[str, Any]:
        return {
            "format": _FILE_FORMAT,
            "version": _FILE_VERSION,
            "test_mode": self.test_mode,
            "home_dc": self.home_dc,
            "user_id": self.user_id,
            "is_bot": self.is_bot,
            "dcs": [
                {
                    "dc_id": auth.dc_id,
                    "host": auth.host,
                    "port": auth.port,
                    "auth_key": None if auth.auth_key is None
                    else base64.b64encode(auth.auth_key).decode("ascii"),
                    "server_salt": auth.server_salt,
                    "time_offset": auth.time_offset,
                }
                for auth in sorted(self.dcs.values(), key=lambda a: a.dc_id)
            ],
        }

    def _load_dict(self, data: Any) -> None:
        """Take the fields of a session file's JSON `data`, each checked; a ValueError names the
        field and what is wrong with it, and leaves the session unchanged."""
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        if found != _FILE_FORMAT:
            raise ValueError(f"not a tlcodec session (format {_shown(found)}, "
                             f"expected {_FILE_FORMAT!r})")
        version = data.get("version")
        if isinstance(version, bool) or version != _FILE_VERSION:
            raise ValueError(
                f"session file version {_shown(version)}, this tlcodec reads {_FILE_VERSION}")
        _check_keys("the session", data, _FILE_KEYS, _FILE_OPTIONAL_KEYS)
        test_mode = _check_bool("test_mode", data["test_mode"])
        home_dc = _check_home_dc("home_dc", data["home_dc"])
        user_id = _check_user_id("user_id", data["user_id"])
        is_bot = _check_bool("is_bot", data.get("is_bot", False))
        entries = data["dcs"]
        if not isinstance(entries, list):
            raise ValueError(f"dcs must be a list, got {_shown(entries)}")
        dcs: dict[int, DcAuth] = {}
        for index, entry in enumerate(entries):
            where = f"dcs[{index}]"
            if not isinstance(entry, dict):
                raise ValueError(f"{where} must be an object, got {_shown(entry)}")
            _check_keys(where, entry, _FILE_DC_KEYS)
            try:
                auth = DcAuth(entry["dc_id"], entry["host"], entry["port"],
                              _auth_key_from_text(entry["auth_key"]), entry["server_salt"],
                              entry["time_offset"])
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
            if auth.dc_id in dcs:
                raise ValueError(f"{where}: DC {auth.dc_id} is listed twice")
            dcs[auth.dc_id] = auth
        self.test_mode, self.home_dc, self.user_id, self.is_bot = (
            test_mode, home_dc, user_id, is_bot)
        self.dcs = dcs

    # ------------------------------------------------------------------------------------------
    # Strings

    def to_string(self) -> str:
        """Our compact session string (every DC's key, the home DC, the user id)."""
        flags = (self.test_mode << 0) | (self.is_bot << 1) | ((self.user_id is not None) << 2)
        if len(self.dcs) > 255:
            raise ValueError(f"a session string holds at most 255 DCs, got {len(self.dcs)}")
        parts = [_STRING_HEADER.pack(flags, self.home_dc or 0, self.user_id or 0, len(self.dcs))]
        for auth in sorted(self.dcs.values(), key=lambda a: a.dc_id):
            host = auth.host.encode("ascii")
            if len(host) > 255:
                raise ValueError(f"host name of DC {auth.dc_id} is longer than 255 bytes")
            parts.append(_STRING_ENTRY_HEAD.pack(auth.dc_id, len(host)) + host)
            parts.append(_STRING_ENTRY_TAIL.pack(auth.port, auth.auth_key is not None))
            if auth.auth_key is not None:
                parts.append(auth.auth_key)
            parts.append(_STRING_ENTRY_STATE.pack(auth.server_salt, auth.time_offset))
        encoded = base64.urlsafe_b64encode(b"".join(parts)).decode("ascii").rstrip("=")
        return STRING_PREFIX + encoded

    def _load_string(self, text: str) -> None:
        if not _looks_like_session_string(text):
            raise SessionFileError(f"a tlcodec session string starts with {STRING_PREFIX!r}")
        version = text[3 : text.index(":")]
        if f"tlc{version}:" != STRING_PREFIX:
            raise SessionFileError(f"session string version {version}; this tlcodec reads "
                                   f"{STRING_PREFIX[3:-1]}")
        body = text[len(STRING_PREFIX) :]
        try:
            data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            flags, home_dc, user_id, count = _STRING_HEADER.unpack_from(data)
            position = _STRING_HEADER.size
            dcs: dict[int, DcAuth] = {}
            for _ in range(count):
                dc_id, host_length = _STRING_ENTRY_HEAD.unpack_from(data, position)
                position += _STRING_ENTRY_HEAD.size
                host = data[position : position + host_length].decode("ascii")
                position += host_length
                port, entry_flags = _STRING_ENTRY_TAIL.unpack_from(data, position)
                position += _STRING_ENTRY_TAIL.size
                auth_key = None
                if entry_flags & 1:
                    auth_key = data[position : position + 256]
                    position += 256
                salt, time_offset = _STRING_ENTRY_STATE.unpack_from(data, position)
                position += _STRING_ENTRY_STATE.size
                if dc_id in dcs:
                    raise ValueError(f"DC {dc_id} is listed twice")
                dcs[dc_id] = DcAuth(dc_id, host, port, auth_key, salt, time_offset)
            checked_user_id = _check_user_id("user_id", user_id if flags & 4 else None)
        except (binascii.Error, struct.error, UnicodeDecodeError, ValueError) as exc:
            raise SessionFileError(f"damaged session string: {exc}") from exc
        if position != len(data):
            raise SessionFileError(
                f"damaged session string: {len(data) - position} bytes after the last DC")
        self.test_mode = bool(flags & 1)
        self.is_bot = bool(flags & 2)
        self.user_id = checked_user_id
        self.home_dc = home_dc or None
        self.dcs = dcs

    def to_telethon_string(self) -> str:
        """Telethon 1.x `StringSession` string for the home DC (an IP address is required:
        Telethon stores the packed address, not a host name)."""
        auth = self._home_with_key("Telethon")
        try:
            ip = ipaddress.ip_address(auth.host).packed
        except ValueError:
            raise ValueError(f"Telethon's session string needs an IP address; DC {auth.dc_id} "
                             f"is at {auth.host!r}") from None
        packed = struct.pack(_TELETHON_FORMAT.format(len(ip)), auth.dc_id, ip, auth.port,
                             auth.auth_key)
        return _TELETHON_VERSION + base64.urlsafe_b64encode(packed).decode("ascii")

    def to_pyrogram_string(self, api_id: int) -> str:
        """Pyrogram 2.x session string for the home DC; needs the logged-in user id."""
        auth = self._home_with_key("Pyrogram")
        if self.user_id is None:
            raise ValueError("a Pyrogram session string carries the user id: log in first")
        packed = _PYROGRAM_FORMAT.pack(auth.dc_id, api_id, self.test_mode, auth.auth_key,
                                       self.user_id, self.is_bot)
        return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")

    def _home_with_key(self, what: str) -> DcAuth:
        auth = self.home
        if auth is None or auth.auth_key is None:
            raise ValueError(f"nothing to export to {what}: the session has no auth key for its "
                             f"home DC ({self.home_dc})")
        return auth


# ----------------------------------------------------------------------------------------------
# Checks of the fields, shared by the file, the strings and DcAuth. Each raises a ValueError
# that names the field.


def _shown(value: object) -> str:
    """`value` for an error message: its repr and type, short even for a huge value."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _check_int(name: str, value: object, low: int, high: int, range_name: str = "") -> int:
    # bool is an int subclass, but True is no port, DC or salt: a file saying so is damaged.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {_shown(value)}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be {range_name or f'{low}..{high}'}, got {_shown(value)}")
    return value


def _check_home_dc(name: str, value: object) -> int | None:
    return None if value is None else _check_int(name, value, 1, _DC_ID_MAX)


def _check_user_id(name: str, value: object) -> int | None:
    """A user id is positive and travels as a signed 64-bit integer (our string, MTProto)."""
    return None if value is None else _check_int(name, value, 1, _INT64_MAX,
                                                 "a positive 64-bit integer")


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):  # bool("false") is True: no guessing
        raise ValueError(f"{name} must be true or false, got {_shown(value)}")
    return value


def _check_time_offset(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number of seconds, got {_shown(value)}")
    if not abs(value) <= _TIME_OFFSET_LIMIT:  # written so that NaN fails too
        raise ValueError(f"{name} must be a finite number of seconds within "
                         f"±{_TIME_OFFSET_LIMIT:.0f}, got {_shown(value)}")
    return value


def _check_host(name: str, value: object) -> str:
    """An IP address or a DNS name (ASCII letters, digits, '-' and '_' in dot-separated labels
    of 1 to 63 characters, at most 253 in all): what a connection and our string can carry."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {_shown(value)}")
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    name_part = value[:-1] if value.endswith(".") else value
    if not 0 < len(name_part) <= 253 or not all(
            _HOST_LABEL.fullmatch(label) for label in name_part.split(".")):
        raise ValueError(f"{name} must be an IP address or a host name, got {_shown(value)}")
    return value


def _check_keys(where: str, data: dict[str, Any], expected: frozenset[str],
                optional: frozenset[str] = frozenset()) -> None:
    # save() writes back only the keys it knows: an unknown one would be lost silently.
    unknown = sorted(set(data) - expected)
    if unknown:
        raise ValueError(f"{where} has unknown keys {', '.join(map(repr, unknown))}")
    missing = sorted(expected - optional - set(data))
    if missing:
        raise ValueError(f"{where} lacks {', '.join(map(repr, missing))}")


def _auth_key_from_text(value: object) -> bytes | None:
    """The auth key as a session file holds it: null or standard base64 (DcAuth checks the
    length)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"auth_key must be base64 text or null, got {_shown(value)}")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise ValueError(f"auth_key is not valid base64: {exc}") from None


def _object_without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads keeps the last of repeated keys; in a session file either could be meant."""
    data = dict(pairs)
    if len(data) != len(pairs):
        counts = collections.Counter(key for key, _ in pairs)
        repeated = sorted(key for key, count in counts.items() if count > 1)
        raise ValueError(f"key {', '.join(map(repr, repeated))} appears more than once")
    return data


# ----------------------------------------------------------------------------------------------
# Other libraries' sessions, recognized so that the error says what they are and what to do.

_LOG_IN_AGAIN = "log in again with tlcodec (python -m tlcodec qr-login --session NEW_PATH)"


def _foreign_string(text: str) -> tuple[str, str] | None:
    """If `text` is another library's session string: what it is, and how to use it."""
    text = text.strip()
    telethon_sizes = {struct.calcsize(_TELETHON_FORMAT.format(n)) for n in (4, 16)}
    if text.startswith(_TELETHON_VERSION) and _base64_size(text[1:]) in telethon_sizes:
        return ("a Telethon StringSession string",
                "open it with Session.from_telethon_string(text) and pass that Session to "
                f"the client, or {_LOG_IN_AGAIN}")
    if "=" not in text and _base64_size(text) in _PYROGRAM_STRING_SIZES:
        return ("a Pyrogram session string",
                "open it with Session.from_pyrogram_string(text, host, port) (the home DC's "
                f"address) and pass that Session to the client, or {_LOG_IN_AGAIN}")
    return None


def _base64_size(text: str) -> int | None:
    """How many bytes urlsafe base64 `text` (padded or not) decodes to; None if it is not."""
    if not _URLSAFE_BASE64.fullmatch(text):
        return None
    try:
        return len(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except binascii.Error:
        return None


def _foreign_file(path: Path, head: bytes) -> str | None:
    """What to tell a user whose session file starts with `head` but is another library's
    session (or a session string saved to a file), or None."""
    if head.startswith(_SQLITE_MAGIC):
        return _describe_sqlite_session(path)
    if len(head) > 2000:  # session strings are a few hundred characters
        return None
    try:
        text = head.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    if _looks_like_session_string(text):
        return ("holds a tlcodec session string, not a session file: pass the string itself "
                "as the session (Client(..., session=text) or Session.from_string(text))")
    foreign = _foreign_string(text) if text else None
    if foreign is None:
        return None
    what, advice = foreign
    return f"holds {what}, not a tlcodec session file: {advice}"


def _describe_sqlite_session(path: Path) -> str:
    """Telethon and Pyrogram both keep sessions in SQLite, with a `sessions` table whose
    columns tell them apart (Telethon: server_address, port; Pyrogram: api_id, user_id)."""
    columns: set[str] = set()
    try:
        import sqlite3  # noqa: PLC0415 - only for this message; some Pythons are built without
    except ImportError:
        sqlite3 = None  # type: ignore[assignment]
    if sqlite3 is not None:
        # Read-only and immutable: the file is neither changed nor given a journal.
        uri = f"{path.absolute().as_uri()}?mode=ro&immutable=1"
        try:
            connection = sqlite3.connect(uri, uri=True)
            try:
                columns = {row[1] for row in connection.execute("PRAGMA table_info(sessions)")}
            finally:
                connection.close()
        except sqlite3.Error:  # a damaged database: the generic message below
            pass
    if {"server_address", "port", "auth_key"} <= columns:
        return ("is a Telethon session file (SQLite); tlcodec cannot read it: "
                f"{_LOG_IN_AGAIN}, or in Telethon print StringSession.save(client.session) "
                "and open that string with Session.from_telethon_string(text)")
    if {"api_id", "auth_key", "user_id"} <= columns:
        return ("is a Pyrogram session file (SQLite); tlcodec cannot read it: "
                f"{_LOG_IN_AGAIN}, or in Pyrogram print await client.export_session_string() "
                "and open that string with Session.from_pyrogram_string(text, host, port)")
    return ("is an SQLite database, not a tlcodec session file (ours are JSON): "
            f"{_LOG_IN_AGAIN}")


def _looks_like_session_string(text: str) -> bool:
    colon = text.find(":")
    return text.startswith("tlc") and 3 < colon <= 8 and text[3:colon].isdigit()


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` by `data` so that a crash at any point leaves the old or the new file.

    The bytes go to a temporary file in the same directory (same file system, so the rename is
    atomic), are fsync'ed, and the file is renamed over `path`; the directory is fsync'ed so
    that the rename itself survives a power loss. The temporary file is removed on failure.
    """
    directory = path.parent if str(path.parent) else Path(".")
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:  # mkstemp: mode 0600, the key stays private
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows, where directories cannot be opened
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
