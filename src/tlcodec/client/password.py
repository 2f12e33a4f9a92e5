"""Two-step verification after a login answered `SESSION_PASSWORD_NEEDED` (PROTOCOL.md 5.3).

The client's side of the exchange, over the sans-IO SRP code of `tlcodec.mtproto.srp`:
`account.getPassword` on the DC that asked for the password (the home DC by then), the proof
computed in a worker thread (its 100,000-round PBKDF2 would otherwise stop every connection of
the event loop for tens of milliseconds), then `auth.checkPassword`; a success is recorded as
the login. Nothing of the password is kept or logged: it lives in the caller's frames only.
The calls are made of the client's schema's classes; the SRP code works on the bundled layer's,
so with another schema `account.password` and the proof cross over as their bytes (those
constructors are the same in every layer that has them; one that differs is a DecodeError).

`PasswordSource` is what `QRLogin.wait(password=...)` takes: the password itself, or an async
function asked with the hint (`await source(hint) -> str`), asked again after a wrong password
up to `MAX_PASSWORD_ATTEMPTS` times in all.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Optional, Union

from .. import decode
from ..bundled import schema as _bundled_schema
from ..crypto import RandomBytes
from ..errors import PasswordHashInvalidError, SessionPasswordNeededError, SignUpRequiredError

if TYPE_CHECKING:
    from .. import types
from ..mtproto import srp

__all__ = [
    "MAX_PASSWORD_ATTEMPTS",
    "PasswordSource",
    "check_password",
    "check_password_from",
    "password_hint",
]

logger = logging.getLogger("tlcodec.client")

MAX_PASSWORD_ATTEMPTS = 3
PasswordSource = Union[str, Callable[[Optional[str]], Awaitable[str]]]


async def password_hint(client: Any, dc_id: int) -> str | None:
    """The hint of the account's password (`account.getPassword` on `dc_id`), None if none."""
    info = await client.invoke(client._function("account.getPassword")(), dc_id=dc_id)
    return info.hint if info.has_password else None


async def check_password(client: Any, password: str, *, dc_id: int | None = None,
                         random_bytes: RandomBytes = os.urandom) -> types.TypeUser:
    """Finish a login that needs the 2FA password; returns the logged-in user.

    Raises `PasswordHashInvalidError` for a wrong password (asking again is fine),
    `FloodWaitError` after too many, `SrpIdInvalidError` / `SrpPasswordChangedError` when the
    parameters went stale between the two calls, `SecurityError` when the server's parameters
    fail a check of the protocol.
    """
    if not isinstance(password, str):
        raise TypeError(f"the password is a str, got {type(password).__name__}")
    target = client.home_dc if dc_id is None else dc_id
    schema = client.schema
    info = await client.invoke(client._function("account.getPassword")(), dc_id=target)
    if info.has_password:
        if schema is not _bundled_schema:
            info = decode(bytes(info), expected="account.Password")
        proof = await asyncio.to_thread(srp.compute_check, info, password, random_bytes)
        if schema is not _bundled_schema:
            proof = schema.decode(bytes(proof), expected="InputCheckPasswordSRP")
    else:  # nothing to prove: the protocol's empty check (the server decides)
        proof = client._type("inputCheckPasswordEmpty")()
    authorization = await client.invoke(client._function("auth.checkPassword")(password=proof),
                                        dc_id=target)
    if not isinstance(authorization, client._type("auth.authorization")):
        raise SignUpRequiredError(f"DC {target} accepted the password but has no account for it "
                                  f"({type(authorization).TL_NAME})")
    client._record_login(target, authorization.user)
    return authorization.user


async def check_password_from(client: Any, source: PasswordSource,
                              needed: SessionPasswordNeededError) -> types.TypeUser:
    """`check_password` with the password from `source` (see the module doc)."""
    attempts = 1 if isinstance(source, str) else MAX_PASSWORD_ATTEMPTS
    for attempt in range(1, attempts + 1):
        password = source if isinstance(source, str) else await source(needed.hint)
        try:
            return await check_password(client, password)
        except PasswordHashInvalidError:
            if attempt == attempts:
                raise
            logger.info("2FA: wrong password (attempt %d of %d)", attempt, attempts)
    raise AssertionError("unreachable")
