"""One error family: every error tlcodec raises on purpose is a `tlcodec.errors.Error`, says
whose fault it was (`RemoteError` or `LocalError`), keeps the built-in class code was written
against, lives in `tlcodec/errors.py` and nowhere else, and survives pickling (errors cross
process boundaries in executors and multiprocessing)."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path
from typing import Any

import pytest

import tlcodec
import tlcodec.client
import tlcodec.mtproto.errors
import tlcodec.schema
from tlcodec import errors
from tlcodec.client import Session
from tlcodec.errors import Error, LocalError, RemoteError

PACKAGE = Path(tlcodec.__file__).parent
FAMILY = [getattr(errors, name) for name in errors.__all__]
ROOTS = {Error, LocalError, RemoteError}

# What each class must still be for code that catches the built-in classes.
BUILTIN_BASES = {
    errors.DecodeError: ValueError,
    errors.SchemaError: ValueError,
    errors.SessionFileError: ValueError,
    errors.FrameError: ValueError,
    errors.ClientClosedError: ConnectionError,
    errors.ConnectTimeoutError: TimeoutError,
    errors.CallTimeoutError: TimeoutError,
    errors.LoginTimeoutError: TimeoutError,
    errors.MigrationLoopError: RuntimeError,
    errors.ProxyURLError: ValueError,
    errors.ProxyError: ConnectionError,
    errors.ProxyTimeoutError: TimeoutError,
}


def test_every_exported_name_is_an_error_of_the_family() -> None:
    for cls in FAMILY:
        assert isinstance(cls, type) and issubclass(cls, Error), cls


def test_every_error_says_whose_fault_it_was_except_a_login_nobody_accepted() -> None:
    for cls in set(FAMILY) - ROOTS:
        sides = [side for side in (LocalError, RemoteError) if issubclass(cls, side)]
        if cls is errors.LoginTimeoutError:
            assert sides == [], "nobody's fault: the user did not scan the code"
        else:
            assert len(sides) == 1, f"{cls.__name__} is {sides}"


@pytest.mark.parametrize("cls, builtin", BUILTIN_BASES.items(), ids=lambda v: v.__name__)
def test_the_builtin_classes_code_catches_are_kept(cls: type, builtin: type) -> None:
    assert issubclass(cls, builtin)


def test_the_errors_of_the_peer_and_of_the_caller() -> None:
    remote = {errors.DecodeError, errors.SecurityError, errors.TransportError,
              errors.FrameError, errors.BadMessageError, errors.RPCError,
              errors.FloodWaitError, errors.SignUpRequiredError, errors.ConnectTimeoutError,
              errors.CallTimeoutError,
              errors.MigrationLoopError, errors.ProxyError, errors.ProxyConnectionError,
              errors.ProxyAuthError, errors.ProxyRefusedError, errors.ProxyProtocolError,
              errors.ProxyTimeoutError}
    local = {errors.SchemaError, errors.SessionFileError, errors.ClientClosedError,
             errors.ProxyURLError}
    assert all(issubclass(cls, RemoteError) for cls in remote)
    assert all(issubclass(cls, LocalError) for cls in local)


def test_the_old_import_paths_give_the_same_classes() -> None:
    assert tlcodec.errors is errors
    for name in ("DecodeError", "SecurityError", "SchemaError"):
        assert getattr(tlcodec, name) is getattr(errors, name)
    assert tlcodec.schema.SchemaError is errors.SchemaError
    for name in tlcodec.mtproto.errors.__all__:
        assert getattr(tlcodec.mtproto.errors, name) is getattr(errors, name)
    for name in ("ClientClosedError", "SessionFileError", "SignUpRequiredError"):
        assert getattr(tlcodec.client, name) is getattr(errors, name)


def classes_defined(path: Path) -> list[tuple[str, list[str]]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.name, [ast.unparse(base) for base in node.bases])
            for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]


def test_no_error_class_is_defined_outside_the_errors_module() -> None:
    generated = {PACKAGE / "types", PACKAGE / "functions"}
    elsewhere = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "errors.py" or path.parent in generated:
            continue
        for name, bases in classes_defined(path):
            if name.endswith("Error") or any(base.endswith(("Error", "Exception")) for base in bases):
                elsewhere.append(f"{path.relative_to(PACKAGE)}: {name}({', '.join(bases)})")
    assert elsewhere == []


def _with_hint(error: errors.RPCError, hint: str) -> errors.RPCError:
    assert isinstance(error, errors.SessionPasswordNeededError)
    error.hint = hint
    return error


EXAMPLES: list[Exception] = [
    errors.DecodeError("truncated: int needs 4 bytes, 1 left", 7),
    errors.SecurityError("nonce", "the nonce does not match ours"),
    errors.TransportError(-404),
    errors.BadMessageError(32, 0x5F00000000000001),
    errors.RPCError.from_message(400, "AUTH_TOKEN_INVALID"),
    errors.RPCError.from_message(420, "FLOOD_WAIT_17"),
    errors.RPCError.from_message(303, "USER_MIGRATE_4"),
    errors.RPCError.from_message(400, "PASSWORD_HASH_INVALID"),
    errors.RPCError.from_message(400, "SRP_ID_INVALID"),
    errors.RPCError.from_message(400, "SRP_PASSWORD_CHANGED"),
    errors.RPCError.from_message(401, "SESSION_PASSWORD_NEEDED"),
    _with_hint(errors.RPCError.from_message(401, "SESSION_PASSWORD_NEEDED"), "my cat"),
    errors.FrameError("frame of 3 bytes"),
    errors.SchemaError("line 3: no type"),
    errors.SessionFileError("not JSON"),
    errors.ClientClosedError("closed"),
    errors.ConnectTimeoutError("no TCP connection"),
    errors.CallTimeoutError("no answer"),
    errors.SignUpRequiredError("no account"),
    errors.LoginTimeoutError("not accepted"),
    errors.MigrationLoopError("3 times"),
    errors.ProxyURLError("the proxy URL has no port"),
    errors.ProxyConnectionError("socks5://127.0.0.1:1080", "connection refused"),
    errors.ProxyAuthError("socks5://alice@127.0.0.1:1080", "wrong password"),
    errors.ProxyRefusedError("http://127.0.0.1:3128", "403 Forbidden", 403),
    errors.ProxyProtocolError("MTProxy 127.0.0.1:443 (obfuscated)", "garbage"),
    errors.ProxyTimeoutError("socks4://127.0.0.1:1080", "no answer within 10 s"),
]


def state(error: BaseException) -> tuple[Any, ...]:
    return type(error), str(error), {k: v for k, v in vars(error).items() if not k.startswith("_")}


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: type(e).__name__)
def test_every_error_survives_pickling_with_its_attributes(error: Exception) -> None:
    assert state(pickle.loads(pickle.dumps(error))) == state(error)


def test_what_the_library_raises_is_caught_by_the_base_class(tmp_path: Path) -> None:
    with pytest.raises(errors.RemoteError):
        tlcodec.decode(b"\x01\x02")
    with pytest.raises(errors.LocalError):
        tlcodec.Schema.from_tl("this is not a schema line;")
    damaged = tmp_path / "damaged.session"
    damaged.write_bytes(b"\xff\xfe not a session")
    with pytest.raises(errors.LocalError):
        Session.from_file(damaged)
