"""What the test data centres know and do, apart from any byte on a socket: accounts, which auth
keys are logged in as whom, login tokens and their expiry, and the RPC handlers over that state.

This layer owns the API semantics of the local test DCs (PROTOCOL.md 3.8 and 5): the
`invokeWithLayer`/`initConnection` wrappers, `help.getConfig`, the QR-login methods
(`auth.exportLoginToken`, `auth.acceptLoginToken`, `auth.importLoginToken`, with
`loginTokenMigrateTo` when the account lives on another DC), two-step verification
(`account.getPassword`, `auth.checkPassword`: the server's half of SRP in
`tlcodec.testing.passwords`), and what clients ask right after a login: `users.getUsers`,
`users.getFullUser` (the account's own profile, and another account's given its access hash),
`updates.getState` and `updates.getDifference`, `help.getNearestDc`, and `auth.logOut` (the key
is a stranger again afterwards). Every other method is answered `UNSUPPORTED_METHOD`, a 400 that
says so. It owns no socket, no auth key bytes and no
MTProto session: the server (`tlcodec.testing.server`) decrypts a request, hands the decoded
object to `World.invoke(caller, request)` and sends back what it returns, or the `RPCError` it
raises, as an `rpc_error`. Pushes (the `updateLoginToken` a token's creator gets when another
device accepts it) leave through the `deliver(key, update)` callback the server installs.

An auth key is named by `KeyRef(dc_id, auth_key_id)`: keys are per DC, and so are the logins on
them (a key logged in on DC 2 is a stranger on DC 3), as on Telegram. Time (`clock`) and
randomness (`random_bytes`) are parameters, so token expiry is tested without waiting.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .. import types
from ..mtproto.errors import RPCError
from .accounts import Account, Caller, ClientInfo, KeyRef
from .passwords import PasswordChecks, StoredPassword
from .thumbnails import stripped_thumb

__all__ = [
    "DEFAULT_TOKEN_TTL",
    "UNSUPPORTED_METHOD",
    "World",
]

logger = logging.getLogger("tlcodec.testing")

DEFAULT_TOKEN_TTL = 30.0
"""Seconds a login token stays valid (Telegram's are about 30 s, PROTOCOL.md 5.1)."""

UNSUPPORTED_METHOD = "METHOD_NOT_SUPPORTED_BY_TEST_DC"
"""The 400 error message for a method the schema knows but the test DCs do not implement."""

TOKEN_BYTES = 32
# help.getNearestDc's country: an ISO 3166 code in Telegram's answer, but a loopback address has
# no country, and ZZ is the code CLDR reserves for an unknown region.
LOOPBACK_COUNTRY = "ZZ"
CONFIG_LIFETIME = 3600  # config.expires - config.date, as Telegram sends it (about an hour)
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
# initConnection.lang_pack: empty for third-party apps, else one of the official packs
_LANG_PACKS = {"", "android", "ios", "tdesktop", "macos", "webk", "weba"}

RandomBytes = Callable[[int], bytes]
Clock = Callable[[], float]


@dataclass(slots=True, eq=False)
class _Login:
    """An auth key logged in as an account: one row of the account's active sessions."""

    account: Account
    hash: int
    date_created: int


@dataclass(slots=True, eq=False)
class _LoginToken:
    """A token of the QR flow. "export" tokens are what a QR code shows; a "migrate" token is
    what `loginTokenMigrateTo` hands over for `auth.importLoginToken` on the account's DC."""

    token: bytes
    kind: str  # "export" | "migrate"
    creator: KeyRef | None  # export: the key that asked for it
    expires_at: float
    account: Account | None = None  # export: who accepted it; migrate: whom it logs in
    accepted_at: float | None = None
    used: bool = False  # the login it carried has been handed out (success or migrate)


class World:
    """The shared state of all test DCs, and the RPC handlers (see the module doc).

    `dc_addresses` ({dc_id: (host, port)}) is what `help.getConfig` advertises, with the IPv6
    addresses of `dc_addresses_v6` beside them; the server fills both in when it has bound its
    ports. `deliver(key, update)` sends an update to every session of
    an auth key (the server installs it; until then pushes are dropped with a log line).
    """

    def __init__(
        self,
        dc_ids: Iterable[int],
        *,
        home_dc: int | None = None,
        token_ttl: float = DEFAULT_TOKEN_TTL,
        test_mode: bool = False,
        clock: Clock = time.time,
        random_bytes: RandomBytes = os.urandom,
    ) -> None:
        self.dc_ids = tuple(dc_ids)
        if not self.dc_ids or len(set(self.dc_ids)) != len(self.dc_ids):
            raise ValueError(f"dc_ids must be distinct DC numbers, got {self.dc_ids!r}")
        if any(not isinstance(dc, int) or dc <= 0 for dc in self.dc_ids):
            raise ValueError(f"DC ids are positive integers, got {self.dc_ids!r}")
        self.home_dc = self.dc_ids[0] if home_dc is None else home_dc
        if self.home_dc not in self.dc_ids:
            raise ValueError(f"home_dc {self.home_dc} is not one of the DCs {self.dc_ids}")
        if not token_ttl > 0:
            raise ValueError(f"token_ttl must be a positive number of seconds, got {token_ttl!r}")
        self.token_ttl = float(token_ttl)
        self.test_mode = test_mode
        self.clock = clock
        self.random_bytes = random_bytes
        self.dc_addresses: dict[int, tuple[str, int]] = {}
        self.dc_addresses_v6: dict[int, tuple[str, int]] = {}
        self.deliver: Callable[[KeyRef, Any], None] | None = None

        self.accounts: dict[int, Account] = {}
        self._by_phone: dict[str, Account] = {}
        self._by_username: dict[str, Account] = {}
        self._logins: dict[KeyRef, _Login] = {}
        self._clients: dict[KeyRef, ClientInfo] = {}
        self._tokens: dict[bytes, _LoginToken] = {}
        self._tokens_by_creator: dict[KeyRef, list[_LoginToken]] = {}
        self._passwords = PasswordChecks(clock, random_bytes)

        self._handlers: dict[str, Callable[[Caller, Any], Any]] = {
            "help.getConfig": self._get_config,
            "auth.exportLoginToken": self._export_login_token,
            "auth.acceptLoginToken": self._accept_login_token,
            "auth.importLoginToken": self._import_login_token,
            "account.getPassword": self._get_password,
            "auth.checkPassword": self._check_password,
            "users.getUsers": self._get_users,
            "users.getFullUser": self._get_full_user,
            "help.getNearestDc": self._get_nearest_dc,
            "auth.logOut": self._log_out,
            "updates.getState": self._get_state,
            "updates.getDifference": self._get_difference,
        }

    # ------------------------------------------------------------------------------------------
    # The test API: accounts and logins made without a client

    def create_account(
        self,
        first_name: str,
        phone: str,
        dc_id: int | None = None,
        password: str | None = None,
        username: str | None = None,
        last_name: str | None = None,
        password_hint: str | None = None,
    ) -> Account:
        """A new account living on `dc_id` (the home DC by default); with `password` (and its
        `password_hint`), a two-step verification password, kept as an SRP verifier."""
        dc_id = self.home_dc if dc_id is None else dc_id
        if dc_id not in self.dc_ids:
            raise ValueError(f"dc_id {dc_id} is not one of the DCs {self.dc_ids}")
        if not first_name:
            raise ValueError("first_name must not be empty")
        digits = phone.removeprefix("+")
        if not digits.isdigit() or not 5 <= len(digits) <= 15 or not digits.isascii():
            raise ValueError(f"phone is 5 to 15 digits (an optional '+' first), got {phone!r}")
        if digits in self._by_phone:
            raise ValueError(f"phone {digits} already belongs to {self._by_phone[digits]!r}")
        if username is not None:
            if not _USERNAME.fullmatch(username):
                raise ValueError(
                    f"username is a letter then 3..31 letters, digits or '_', got {username!r}"
                )
            if username.lower() in self._by_username:
                raise ValueError(f"username {username!r} is taken")
        if password is not None and not password:
            raise ValueError("password must be None (no 2FA) or a non-empty string")
        user_id = self._new_user_id()
        account = Account(
            user_id=user_id,
            access_hash=self._random_long(),
            dc_id=dc_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            phone=digits,
            password=None if password is None else StoredPassword.create(
                password, password_hint, self.random_bytes),
            photo_id=self._random_long(positive=True),
            stripped_thumb=stripped_thumb(user_id),
            clock=self.clock,
        )
        self.accounts[user_id] = account
        self._by_phone[digits] = account
        if username is not None:
            self._by_username[username.lower()] = account
        logger.info("test DC: created %r", account)
        return account

    def authorize(self, key: KeyRef, account: Account) -> None:
        """Log `key` in as `account` (what a finished sign-in does)."""
        self._check_account(account)
        self._logins[key] = _Login(
            account, self._random_long(positive=True), int(self.clock())
        )
        logger.info("test DC: %r logged in as user %d", key, account.user_id)

    def set_password(self, account: Account, password: str | None,
                     hint: str | None = None) -> None:
        """Set, change or (None) remove `account`'s two-step verification password, as its
        owner would from a logged-in device: challenges handed out before answer
        `SRP_PASSWORD_CHANGED`."""
        self._check_account(account)
        account.password = (
            None if password is None
            else StoredPassword.create(password, hint, self.random_bytes)
        )

    def logged_in_as(self, key: KeyRef) -> Account | None:
        login = self._logins.get(key)
        return None if login is None else login.account

    def client_info(self, key: KeyRef) -> ClientInfo | None:
        """The initConnection fields this key sent, or None before its first initConnection."""
        return self._clients.get(key)

    def accept_login_token(self, token: bytes, account: Account) -> types.Authorization:
        """What a logged-in device of `account` does when it scans a QR code (no client needed):
        the token's creator is told with `updateLoginToken`. Raises the typed `RPCError` a
        client would get (`AuthTokenInvalidError`, `AuthTokenExpiredError`,
        `AuthTokenAlreadyAcceptedError`)."""
        self._check_account(account)
        return self._accept(bytes(token), account)

    # ------------------------------------------------------------------------------------------
    # RPC entry point

    def invoke(self, caller: Caller, request: Any) -> Any:
        """The result of one RPC call (wrappers included), or raise the `RPCError` to send."""
        handler = self._handlers.get(request.TL_NAME)
        if handler is None:  # a wrapper (none is a handler), or a method the DC lacks
            request = self._unwrap(caller, request)
            handler = self._handlers.get(request.TL_NAME)
        if caller.key not in self._clients:
            raise _error(400, "CONNECTION_NOT_INITED")
        if handler is None:
            logger.info("test DC: %s is not implemented", request.TL_NAME)
            raise _error(400, UNSUPPORTED_METHOD)
        return handler(caller, request)

    def _unwrap(self, caller: Caller, request: Any) -> Any:
        """The call inside invokeWithLayer / initConnection / invoke* wrappers, recording what
        initConnection says."""
        wrapped_layer: int | None = None
        while True:
            name = request.TL_NAME
            if name == "invokeWithLayer":
                if request.layer <= 0:
                    raise _error(400, "CONNECTION_LAYER_INVALID")
                wrapped_layer = request.layer
                request = request.query
            elif name == "initConnection":
                if wrapped_layer is None:
                    # The layer comes with the first call; initConnection alone cannot set it.
                    raise _error(400, "CONNECTION_LAYER_INVALID")
                self._init_connection(caller, wrapped_layer, request)
                request = request.query
            elif name.startswith("invoke") and hasattr(request, "query"):
                # invokeWithoutUpdates, invokeAfterMsg(s), ...: nothing to do on a test DC
                # (requests are answered in order anyway), so the inner query is the call.
                request = request.query
            else:
                return request

    def _init_connection(self, caller: Caller, layer: int, init: Any) -> None:
        if init.api_id <= 0:
            raise _error(400, "CONNECTION_API_ID_INVALID")
        for value, message in (
            (init.device_model, "CONNECTION_DEVICE_MODEL_EMPTY"),
            (init.system_version, "CONNECTION_SYSTEM_EMPTY"),
            (init.app_version, "CONNECTION_APP_VERSION_EMPTY"),
            (init.system_lang_code, "CONNECTION_SYSTEM_LANG_CODE_EMPTY"),
        ):
            if not value:
                raise _error(400, message)
        if init.lang_pack not in _LANG_PACKS:
            raise _error(400, "CONNECTION_LANG_PACK_INVALID")
        self._clients[caller.key] = ClientInfo(
            layer, init.api_id, init.device_model, init.system_version, init.app_version,
            init.system_lang_code, init.lang_pack, init.lang_code,
        )

    # ------------------------------------------------------------------------------------------
    # Handlers

    def _get_config(self, caller: Caller, request: Any) -> types.Config:
        now = int(self.clock())
        return types.Config(
            revoke_pm_inbox=True,
            date=now,
            expires=now + CONFIG_LIFETIME,
            test_mode=self.test_mode,
            this_dc=caller.key.dc_id,
            dc_options=[
                types.DcOption(ipv6=":" in host, id=dc_id, ip_address=host, port=port)
                for addresses in (self.dc_addresses, self.dc_addresses_v6)
                for dc_id, (host, port) in sorted(addresses.items())
            ],
            dc_txt_domain_name="tlcodec-test-dc.invalid",
            chat_size_max=200,
            megagroup_size_max=200000,
            forwarded_count_max=100,
            online_update_period_ms=210000,
            offline_blur_timeout_ms=5000,
            offline_idle_timeout_ms=30000,
            online_cloud_timeout_ms=300000,
            notify_cloud_delay_ms=30000,
            notify_default_delay_ms=1500,
            push_chat_period_ms=60000,
            push_chat_limit=2,
            edit_time_limit=172800,
            revoke_time_limit=2147483647,
            revoke_pm_time_limit=2147483647,
            rating_e_decay=2419200,
            stickers_recent_limit=200,
            channels_read_media_period=604800,
            call_receive_timeout_ms=20000,
            call_ring_timeout_ms=90000,
            call_connect_timeout_ms=30000,
            call_packet_timeout_ms=10000,
            me_url_prefix="https://t.me/",
            gif_search_username="gif",
            venue_search_username="foursquare",
            img_search_username="bing",
            caption_length_max=1024,
            message_length_max=4096,
            webfile_dc_id=self.home_dc,
            suggested_lang_code="en",
            lang_pack_version=0,
            base_lang_pack_version=0,
            reactions_default=types.ReactionEmoji(emoticon="\N{THUMBS UP SIGN}"),
        )

    def _export_login_token(self, caller: Caller, request: Any) -> Any:
        if request.api_id <= 0 or not request.api_hash:
            raise _error(400, "API_ID_INVALID")
        self._forget_old_tokens()
        # A token of this key that another device accepted meanwhile: hand the login out.
        for token in self._tokens_by_creator.get(caller.key, ()):
            if token.account is not None and not token.used:
                return self._hand_out(caller, token)
        now = self.clock()
        token = _LoginToken(
            self._new_token(), "export", caller.key, now + self.token_ttl
        )
        self._tokens[token.token] = token
        self._tokens_by_creator.setdefault(caller.key, []).append(token)
        return types.auth.LoginToken(expires=int(token.expires_at), token=token.token)

    def _accept_login_token(self, caller: Caller, request: Any) -> types.Authorization:
        return self._accept(request.token, self._require_login(caller))

    def _import_login_token(self, caller: Caller, request: Any) -> Any:
        token = self._tokens.get(request.token)
        if token is None:
            raise _error(400, "AUTH_TOKEN_INVALID")
        if token.kind == "export":
            # The creator asking about its own QR token: the same answers as exporting again.
            # (`is` first: a key's calls all carry the one KeyRef its exports were made with.)
            if token.creator is not caller.key and token.creator != caller.key:
                raise _error(400, "AUTH_TOKEN_INVALID")
            if token.used:
                raise _error(400, "AUTH_TOKEN_ALREADY_ACCEPTED")
            if token.account is not None:
                return self._hand_out(caller, token)
            if self.clock() >= token.expires_at:
                raise _error(400, "AUTH_TOKEN_EXPIRED")
            return types.auth.LoginToken(expires=int(token.expires_at), token=token.token)
        account = token.account
        assert account is not None  # a migrate token always names its account
        if token.used:
            raise _error(400, "AUTH_TOKEN_ALREADY_ACCEPTED")
        if self.clock() >= token.expires_at:
            raise _error(400, "AUTH_TOKEN_EXPIRED")
        if caller.key.dc_id != account.dc_id:
            # Imported on the wrong DC: point at the right one again, as export did.
            return types.auth.LoginTokenMigrateTo(dc_id=account.dc_id, token=token.token)
        token.used = True
        return self._log_in(caller, account)

    def _get_users(self, caller: Caller, request: Any) -> list[Any]:
        me = self._require_login(caller)
        users = []
        for input_user in request.id:
            account = self._resolve_user(me, input_user)
            # Users it cannot resolve (inputUserEmpty, unknown ids, wrong hashes) are left
            # out, as Telegram leaves them out.
            if account is not None:
                users.append(me.user if account is me else account.user_for_others)
        return users

    def _get_full_user(self, caller: Caller, request: Any) -> types.users.UserFull:
        me = self._require_login(caller)
        account = self._resolve_user(me, request.id)
        if account is None:
            raise _error(400, "USER_ID_INVALID")
        if account is me:
            return types.users.UserFull(full_user=me.full_user, chats=[], users=[me.user])
        return types.users.UserFull(
            full_user=account.full_user_for_others, chats=[], users=[account.user_for_others]
        )

    def _get_nearest_dc(self, caller: Caller, request: Any) -> types.NearestDc:
        # Asked before a login too (clients pick the DC to sign up on with it): every address
        # is as near as another on loopback, and the DC new accounts live on is the one to use.
        return types.NearestDc(
            country=LOOPBACK_COUNTRY, this_dc=caller.key.dc_id, nearest_dc=self.home_dc
        )

    def _log_out(self, caller: Caller, request: Any) -> types.auth.LoggedOut:
        me = self._require_login(caller)
        # The auth key stays (its sessions go on), logged in as nobody: its next call that
        # needs a login gets AUTH_KEY_UNREGISTERED, as on Telegram.
        del self._logins[caller.key]
        logger.info("test DC: %r logged out of user %d", caller.key, me.user_id)
        return types.auth.LoggedOut()

    def _get_password(self, caller: Caller, request: Any) -> Any:
        login = self._logins.get(caller.key)
        account = login.account if login is not None else self._passwords.pending.get(caller.key)
        if account is None:
            raise _error(401, "AUTH_KEY_UNREGISTERED")
        return self._passwords.get_password(caller.key, account)

    def _check_password(self, caller: Caller, request: Any) -> types.auth.Authorization:
        account = self._passwords.check(caller.key, request.password)
        self.authorize(caller.key, account)
        return types.auth.Authorization(user=account.user)

    def _get_state(self, caller: Caller, request: Any) -> types.updates.State:
        me = self._require_login(caller)
        return types.updates.State(
            pts=me.pts, qts=0, date=int(self.clock()), seq=me.seq, unread_count=0
        )

    def _get_difference(self, caller: Caller, request: Any) -> types.updates.DifferenceEmpty:
        me = self._require_login(caller)
        # Nothing ever happens on the test DCs, so there is never a difference.
        return types.updates.DifferenceEmpty(date=int(self.clock()), seq=me.seq)

    # ------------------------------------------------------------------------------------------
    # The QR flow

    def _accept(self, raw: bytes, account: Account) -> types.Authorization:
        token = self._tokens.get(raw)
        if token is None or token.kind != "export":
            raise _error(400, "AUTH_TOKEN_INVALID")
        if token.account is not None:
            raise _error(400, "AUTH_TOKEN_ALREADY_ACCEPTED")
        now = self.clock()
        if now >= token.expires_at:
            raise _error(400, "AUTH_TOKEN_EXPIRED")
        token.account = account
        token.accepted_at = now
        creator = token.creator
        assert creator is not None
        logger.info("test DC: user %d accepted a login token of %r", account.user_id, creator)
        self._push(creator, types.UpdateShort(update=types.UpdateLoginToken(), date=int(now)))
        client = self._clients.get(creator)
        return types.Authorization(
            password_pending=account.password is not None,
            hash=self._random_long(positive=True),
            device_model=client.device_model if client else "Unknown device",
            platform=_platform_of(client),
            system_version=client.system_version if client else "",
            api_id=client.api_id if client else 0,
            app_name="tlcodec test client" if client else "Unknown app",
            app_version=client.app_version if client else "",
            date_created=int(now),
            date_active=int(now),
            ip="127.0.0.1",
            country="Localhost",
            region="",
        )

    def _hand_out(self, caller: Caller, token: _LoginToken) -> Any:
        """An accepted token's creator asks again: log in here, or point to the account's DC."""
        account = token.account
        assert account is not None
        token.used = True
        if account.dc_id == caller.key.dc_id:
            return self._log_in(caller, account)
        migrate = _LoginToken(
            self._new_token(), "migrate", None, self.clock() + self.token_ttl, account
        )
        self._tokens[migrate.token] = migrate
        logger.info("test DC: %r must import its login on DC %d", caller.key, account.dc_id)
        return types.auth.LoginTokenMigrateTo(dc_id=account.dc_id, token=migrate.token)

    def _log_in(self, caller: Caller, account: Account) -> types.auth.LoginTokenSuccess:
        if account.password is not None:
            # 2FA: the key stays logged out until auth.checkPassword proves the password.
            raise self._passwords.password_needed(caller.key, account)
        self.authorize(caller.key, account)
        return types.auth.LoginTokenSuccess(
            authorization=types.auth.Authorization(user=account.user)
        )

    def _push(self, key: KeyRef, update: Any) -> None:
        if self.deliver is None:
            logger.warning("test DC: no server to deliver an update to %r", key)
            return
        self.deliver(key, update)

    def _forget_old_tokens(self) -> None:
        """Drop tokens nobody can use any more (expired for a whole lifetime, or handed out)."""
        horizon = self.clock() - self.token_ttl
        stale = [
            raw for raw, token in self._tokens.items()
            if token.expires_at < horizon and (token.account is None or token.used)
        ]
        for raw in stale:
            token = self._tokens.pop(raw)
            if token.creator is not None:
                mine = self._tokens_by_creator.get(token.creator)
                if mine is not None:
                    mine.remove(token)
                    if not mine:
                        del self._tokens_by_creator[token.creator]

    # ------------------------------------------------------------------------------------------
    # Helpers

    def _require_login(self, caller: Caller) -> Account:
        login = self._logins.get(caller.key)
        if login is None:
            raise _error(401, "AUTH_KEY_UNREGISTERED")
        return login.account

    def _resolve_user(self, me: Account, input_user: Any) -> Account | None:
        """The account an InputUser names for `me`, or None if it names none `me` may see."""
        name = input_user.TL_NAME
        if name == "inputUserSelf":
            return me
        if name == "inputUser":
            account = self.accounts.get(input_user.user_id)
            if account is me or (
                account is not None and account.access_hash == input_user.access_hash
            ):
                return account
        return None

    def _check_account(self, account: Account) -> None:
        if not isinstance(account, Account) or self.accounts.get(account.user_id) is not account:
            raise ValueError(f"not an account of these test DCs: {account!r}")

    def _new_token(self) -> bytes:
        while True:
            raw = self.random_bytes(TOKEN_BYTES)
            if raw not in self._tokens:
                return raw

    def _new_user_id(self) -> int:
        # Ids in the range recent Telegram accounts get (above 2^32 since 2021).
        while True:
            user_id = 5_000_000_000 + int.from_bytes(self.random_bytes(4), "little")
            if user_id not in self.accounts:
                return user_id

    def _random_long(self, positive: bool = False) -> int:
        value = int.from_bytes(self.random_bytes(8), "little", signed=True)
        if positive:
            value = (value & (2**63 - 1)) or 1
        return value


def _error(code: int, message: str) -> RPCError:
    return RPCError.from_message(code, message)


def _platform_of(client: ClientInfo | None) -> str:
    """The `authorization.platform` Telegram would show, guessed from initConnection."""
    if client is None:
        return "Unknown"
    system = client.system_version.lower()
    for needle, platform in _PLATFORMS:
        if needle in system:
            return platform
    return client.system_version.split(" ")[0] or "Unknown"


_PLATFORMS = (("android", "Android"), ("ios", "iOS"), ("windows", "Windows"),
              ("macos", "macOS"), ("mac os", "macOS"), ("linux", "Linux"))
