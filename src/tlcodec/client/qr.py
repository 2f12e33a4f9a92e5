"""The QR-code login (PROTOCOL.md 5): a token to show, and waiting until another device accepts it.

This module owns the flow's state: the current token and the DC it was exported on, when it
expires, and what to do with each answer of `auth.exportLoginToken`:

- `auth.loginToken`: a (new) token to show; refreshed by itself when the server's `expires`
  passes (compared with the server clock: local time + the connection's time offset).
- `updateShort(updateLoginToken)` (pushed when the other device accepted, before we are logged
  in): export again, which then answers
- `auth.loginTokenSuccess`: logged in on that DC, or
- `auth.loginTokenMigrateTo(dc_id, token)`: the account lives on `dc_id`: the client connects
  there (its own auth key) and calls `auth.importLoginToken(token)`; if that token expired in
  between (`AUTH_TOKEN_EXPIRED`) it exports again there.
- `SESSION_PASSWORD_NEEDED` (401) from either call: the DC that said so becomes the home DC
  (the password check happens there) and the QR flow is over: `wait(password=...)` goes on
  with the two-step verification (client/password.py), else `SessionPasswordNeededError`
  reaches the caller with the password's `hint`, for `Client.check_password`.

A reconnect of the DC holding the token also triggers an export (an update pushed while the
connection was down would otherwise be missed). Calls and connections are the client's.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import inspect
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..errors import (
    AuthTokenExpiredError,
    LoginTimeoutError,
    MigrationLoopError,
    RPCError,
    SessionPasswordNeededError,
    SignUpRequiredError,
)
from .password import PasswordSource, check_password_from, password_hint

if TYPE_CHECKING:
    from .. import types

__all__ = ["QRLogin", "SignUpRequiredError"]

logger = logging.getLogger("tlcodec.client")

URL_PREFIX = "tg://login?token="
# Wake this long after the server's `expires` (a whole second) so the server agrees the
# token expired, and never refresh more often than this.
_EXPIRY_MARGIN = 0.5
_MAX_IMPORT_HOPS = 3

RefreshHandler = Callable[["QRLogin"], Any]


def login_url(token: bytes) -> str:
    """`tg://login?token=` + base64url(token) without padding (PROTOCOL.md 5.1 step 3)."""
    return URL_PREFIX + base64.urlsafe_b64encode(token).decode("ascii").rstrip("=")


class QRLogin:
    """One QR-code login in progress (made by `Client.qr_login()`).

    `token` (bytes), `url` (what the QR code encodes), `expires` (aware UTC datetime of the
    server's expiry), `dc_id` (where the token was exported), `user` (once logged in).
    """

    def __init__(self, client: Any, except_ids: Iterable[int] = ()) -> None:
        self._client = client
        self.except_ids = list(except_ids)
        self.token = b""
        self.expires_at = 0  # server unix time
        self.dc_id: int = client.home_dc
        self.user: types.TypeUser | None = None
        self._accepted = asyncio.Event()  # an updateLoginToken (or a reconnect) since the export
        # Listen from the start, not only inside wait(): a code scanned while the caller is busy
        # between qr_login() and wait() must not wait for the token to expire to be noticed.
        client.add_update_handler(self._on_update)
        client.add_connected_handler(self._on_connected)

    def close(self) -> None:
        """Stop listening for the login (done by itself once logged in)."""
        self._client.remove_update_handler(self._on_update)
        self._client.remove_connected_handler(self._on_connected)

    def __repr__(self) -> str:
        state = f"user {self.user.id}" if self.user is not None else f"expires {self.expires}"
        return f"<QRLogin DC {self.dc_id} {state}>"

    @property
    def url(self) -> str:
        return login_url(self.token)

    @property
    def expires(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.expires_at, datetime.timezone.utc)

    @property
    def expires_in(self) -> float:
        """Seconds until the token expires, by the server's clock (negative once expired)."""
        return self.expires_at - self._server_now()

    def _server_now(self) -> float:
        connection = self._client.connection(self.dc_id)
        offset = connection.time_offset if connection is not None else 0.0
        return time.time() + offset

    async def recreate(self) -> types.TypeUser | None:
        """Export a login token now (a fresh QR code); returns the logged-in user if the
        answer already was a success, else None."""
        self._accepted.clear()
        result = await self._export(self.dc_id)
        return await self._handle(result, self.dc_id, None)

    async def wait(self, timeout: float | None = None, *,
                   on_refresh: RefreshHandler | None = None,
                   password: PasswordSource | None = None) -> types.TypeUser:
        """Wait until another device accepts the token; return the logged-in `User`.

        The token is refreshed by itself when it expires; `on_refresh(qr)` (a function or a
        coroutine function) is called each time `token`/`url` change, e.g. to redraw the QR.
        `timeout` bounds the wait for the other device (None: no limit); a call already under
        way when it passes finishes first (each call is bounded by the client's
        `request_timeout`). Raises `LoginTimeoutError` (a `TimeoutError`),
        `SessionPasswordNeededError` (with `.hint`) for an account with a password when no
        `password` is given, the typed `RPCError` of a failing call, or `SignUpRequiredError`
        if there is no account. After a `LoginTimeoutError` the same object can be waited on
        again.

        `password`: the two-step verification password, or an async function asked with the
        hint (`await password(hint) -> str`, asked again after a wrong password, three times
        in all); a wrong one raises `PasswordHashInvalidError`.
        """
        if self.user is not None:
            return self.user
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            return await self._wait(on_refresh, deadline, timeout)
        except SessionPasswordNeededError as needed:
            if password is None:
                raise
            self.user = await check_password_from(self._client, password, needed)
            return self.user

    async def _wait(self, on_refresh: RefreshHandler | None, deadline: float | None,
                    timeout: float | None) -> types.TypeUser:
        loop = asyncio.get_running_loop()
        while self.user is None:
            if not self._accepted.is_set():
                delay = max(self.expires_in + _EXPIRY_MARGIN, _EXPIRY_MARGIN)
                expiry = True  # whether waking up without news means "the token expired"
                if deadline is not None:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        raise LoginTimeoutError(
                            f"the QR login was not accepted within {timeout} s")
                    if remaining < delay:
                        delay, expiry = remaining, False
                try:
                    await asyncio.wait_for(self._accepted.wait(), delay)
                    logger.info("QR login: the token was accepted (or the connection came "
                                "back); exporting again")
                except asyncio.TimeoutError:
                    if not expiry:
                        raise LoginTimeoutError(
                            f"the QR login was not accepted within {timeout} s") from None
                    logger.info("QR login: the token expired; exporting a new one")
            self._accepted.clear()
            result = await self._export(self.dc_id)
            user = await self._handle(result, self.dc_id, on_refresh)
            if user is not None:
                return user
        return self.user

    def _on_update(self, update: Any, dc_id: int) -> None:
        client = self._client
        if isinstance(update, client._type("updateShort")) and isinstance(
                update.update, client._type("updateLoginToken")):
            self._accepted.set()

    def _on_connected(self, dc_id: int, reconnected: bool) -> None:
        if reconnected and dc_id == self.dc_id:
            self._accepted.set()

    async def _export(self, dc_id: int) -> types.auth.TypeLoginToken:
        try:
            return await self._client.invoke(self._client._function("auth.exportLoginToken")(
                api_id=self._client.api_id, api_hash=self._client.api_hash,
                except_ids=self.except_ids), dc_id=dc_id)
        except SessionPasswordNeededError as needed:
            await self._password_needed(needed, dc_id)
            raise

    async def _import(self, dc_id: int, token: bytes) -> types.auth.TypeLoginToken:
        try:
            import_login_token = self._client._function("auth.importLoginToken")
            return await self._client.invoke(import_login_token(token=token), dc_id=dc_id)
        except SessionPasswordNeededError as needed:
            await self._password_needed(needed, dc_id)
            raise

    async def _password_needed(self, needed: SessionPasswordNeededError, dc_id: int) -> None:
        """The token was accepted by an account with a password: the login goes on on `dc_id`
        with the password; the QR flow is over. The error learns the password's hint."""
        self._client._set_home_dc(dc_id)
        self.close()
        try:
            needed.hint = await password_hint(self._client, dc_id)
        except RPCError as exc:  # the hint is a courtesy: the login can go on without it
            logger.info("QR login: account.getPassword failed (%s); no hint", exc)

    async def _handle(self, result: types.auth.TypeLoginToken, dc_id: int,
                      on_refresh: RefreshHandler | None, hops: int = 0) -> types.TypeUser | None:
        """Act on an `auth.LoginToken` from `dc_id`; the user once logged in, else None."""
        client = self._client
        if isinstance(result, client._type("auth.loginToken")):
            changed = result.token != self.token
            self.token, self.expires_at, self.dc_id = result.token, result.expires, dc_id
            if changed and on_refresh is not None:
                outcome = on_refresh(self)
                if inspect.isawaitable(outcome):
                    await outcome
            return None
        if isinstance(result, client._type("auth.loginTokenSuccess")):
            authorization = result.authorization
            if not isinstance(authorization, client._type("auth.authorization")):
                raise SignUpRequiredError(
                    f"DC {dc_id} accepted the login but has no account for it "
                    f"({type(authorization).TL_NAME})")
            self.user = authorization.user
            self._client._record_login(dc_id, self.user)
            self.close()
            return self.user
        if isinstance(result, client._type("auth.loginTokenMigrateTo")):
            if hops >= _MAX_IMPORT_HOPS:
                raise MigrationLoopError(
                    f"the QR login was sent to another DC {hops} times in a row")
            target = result.dc_id
            logger.info("QR login: the account lives on DC %d; importing the token there", target)
            try:
                imported = await self._import(target, result.token)
            except AuthTokenExpiredError:
                logger.info("QR login: the token expired before the import; exporting on DC %d",
                            target)
                imported = await self._export(target)
            return await self._handle(imported, target, on_refresh, hops + 1)
        raise TypeError(f"expected an auth.LoginToken, got {type(result).__name__}")
