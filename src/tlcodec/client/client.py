"""`Client`: what a user runs. Which DC a call goes to, the session, the QR login entry point.

This layer owns the choices above one connection: the home DC, one `DcConnection` per DC in
use (each with its own auth key, never copied between DCs), where a DC is (an explicit address,
the `help.getConfig` of a connected DC, the session, or the built-in bootstrap list), following
`*_MIGRATE_X` errors, the `initConnection` fields, the update handlers, and keeping the
`Session` saved. Bytes, keys and retries per connection are `connection.py`'s.

    async with Client(api_id, api_hash, session="me.session", dc=2) as client:
        result = await client.invoke(functions.help.GetConfig())
        qr = await client.qr_login()
        print(qr.url)
        user = await qr.wait(timeout=120, password=ask_password)  # ask_password(hint)
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..bundled import schema as _bundled_schema
from ..crypto import RSAPublicKey
from ..errors import SchemaError
from ..mtproto.client_session import SERVICE_CONSTRUCTORS
from ..mtproto.errors import MigrateError, NetworkMigrateError, PhoneMigrateError, UserMigrateError
from ..schema import Schema
from .calls import request_error
from .connection import (
    CONNECTION_FUNCTIONS,
    ClientClosedError,
    ConnectionSettings,
    DcConnection,
    parse_transport,
    public_keys,
)
from .password import check_password
from .proxies import MTProxy, Proxy, parse_proxy
from .qr import QRLogin
from .storage import Session

if TYPE_CHECKING:
    from typing import TypeVar

    from .. import TLRequest, types

    _Result = TypeVar("_Result")

__all__ = ["BOOTSTRAP_DCS", "BOOTSTRAP_DCS_IPV6", "Client"]

logger = logging.getLogger("tlcodec.client")

# Where the DCs are before any help.getConfig (shared/schema/dc_options.txt: tdesktop's and
# tdlib's built-in lists). help.getConfig replaces them once connected.
BOOTSTRAP_DCS: dict[bool, dict[int, tuple[str, int]]] = {
    False: {
        1: ("149.154.175.50", 443),
        2: ("149.154.167.51", 443),
        3: ("149.154.175.100", 443),
        4: ("149.154.167.91", 443),
        5: ("149.154.171.5", 443),
    },
    True: {
        1: ("149.154.175.10", 443),
        2: ("149.154.167.40", 443),
        3: ("149.154.175.117", 443),
    },
}

BOOTSTRAP_DCS_IPV6: dict[bool, dict[int, tuple[str, int]]] = {
    False: {
        1: ("2001:b28:f23d:f001::a", 443),
        2: ("2001:67c:4e8:f002::a", 443),
        3: ("2001:b28:f23d:f003::a", 443),
        4: ("2001:67c:4e8:f004::a", 443),
        5: ("2001:b28:f23f:f005::a", 443),
    },
    True: {
        1: ("2001:b28:f23d:f001::e", 443),
        2: ("2001:67c:4e8:f002::e", 443),
        3: ("2001:b28:f23d:f003::e", 443),
    },
}

MAX_MIGRATIONS = 3  # *_MIGRATE_X hops followed for one call

# What a client's schema must have besides the connection's own calls: the wrappers of the
# first call of every connection (PROTOCOL.md 3.8).
INIT_FUNCTIONS = ("invokeWithLayer", "initConnection")

UpdateHandler = Callable[[Any, int], None]
ConnectedHandler = Callable[[int, bool], None]


class Client:
    """An MTProto client over asyncio (see the module doc and README).

    `session`: None (memory), a file path, one of our session strings (`"tlc1:..."`), or a
    `Session`. `dc`: the DC to start from when the session has no home DC yet: an id (its
    address from the bootstrap list) or `(id, host, port)` (a private or local server; other
    DCs' addresses then come from that server's `help.getConfig`). `test_mode`: Telegram's
    test DCs (dc id + 10000 in the handshake and the obfuscation header). `rsa_keys`: server
    keys trusted besides Telegram's, each an `RSAPublicKey` or PEM text or bytes (2048-bit RSA,
    as RSA_PAD needs; checked here). `transport`: "abridged", "intermediate", "padded" or
    "full", optionally prefixed "obfuscated-" (not "full"). `connect_timeout` bounds one
    connection attempt (TCP + auth key), `request_timeout` one call (per `invoke`, overridable
    with `timeout=`). `ping_interval`: seconds between keepalive pings (None: none).
    `proxy`: what every connection goes through (reconnections too): a URL (`socks5://user:
    pass@host:port`, `socks5h://`, `socks4://`, `http://`), an MTProxy link (`tg://proxy?...`,
    `https://t.me/proxy?...`), or a `tlcodec.client.proxies.Proxy` / `MTProxy`; the session
    keeps nothing of it. `ipv6`: prefer the DCs' IPv6 addresses (from `help.getConfig`, and
    the bootstrap list) to their IPv4 ones. `schema`: the `tlcodec.Schema` calls are made
    and answers decoded with (default: the bundled layer, `tlcodec.bundled`), e.g.
    `Schema.from_tl(api_tl, mtproto_tl)` of another layer: every connection then opens with
    `invokeWithLayer(schema.layer, initConnection(...))` made of that schema's classes, and
    `invoke` takes only that schema's function objects (`client.schema.get(...)`).
    """

    def __init__(
        self,
        api_id: int,
        api_hash: str,
        session: Session | str | os.PathLike[str] | None = None,
        *,
        dc: int | tuple[int, str, int] = 2,
        test_mode: bool = False,
        rsa_keys: Iterable[RSAPublicKey | str | bytes] = (),
        transport: str = "intermediate",
        connect_timeout: float = 10.0,
        request_timeout: float | None = 30.0,
        ping_interval: float | None = 60.0,
        reconnect_delay: float = 0.1,
        max_reconnect_delay: float = 10.0,
        proxy: str | Proxy | MTProxy | None = None,
        ipv6: bool = False,
        device_model: str | None = None,
        system_version: str | None = None,
        app_version: str | None = None,
        lang_code: str = "en",
        system_lang_code: str = "en",
        lang_pack: str = "",
        schema: Schema | None = None,
    ) -> None:
        if not isinstance(api_id, int) or api_id <= 0:
            raise ValueError(f"api_id is the positive number from my.telegram.org, got {api_id!r}")
        if not isinstance(api_hash, str) or not api_hash:
            raise ValueError("api_hash is the non-empty string from my.telegram.org")
        transport_cls, _ = parse_transport(transport)  # fail here, not at the first connection
        proxy_spec = None if proxy is None else parse_proxy(proxy)
        if isinstance(proxy_spec, MTProxy) and transport_cls.OBFUSCATED_TAG is None:
            raise ValueError(f"an MTProxy carries abridged, intermediate or padded framing, "
                             f"not {transport!r}")
        trusted_keys = _load_server_keys(rsa_keys)  # likewise
        self._schema = _client_schema(schema)  # likewise
        self._classes: dict[tuple[str, bool], type] = {}
        self.api_id = api_id
        self.api_hash = api_hash
        self._explicit: dict[int, tuple[str, int]] = {}
        if isinstance(dc, int):
            default_dc = dc
        else:
            default_dc, host, port = dc
            self._explicit[default_dc] = (host, int(port))
        if default_dc not in BOOTSTRAP_DCS[test_mode] and default_dc not in self._explicit:
            raise ValueError(f"no address is known for DC {default_dc}"
                             f"{' in test mode' if test_mode else ''}; give dc=(id, host, port)")
        self._custom_server = bool(self._explicit)
        self._session = Session.open(session)
        has_keys = any(auth.auth_key is not None for auth in self._session.dcs.values())
        if has_keys and self._session.test_mode != test_mode:
            raise ValueError(f"the session was made with test_mode={self._session.test_mode}, "
                             f"the client has test_mode={test_mode}")
        self._session.test_mode = test_mode
        if self._session.home_dc is None:
            self._session.home_dc = default_dc
        self.test_mode = test_mode
        self.ipv6 = ipv6
        self.lang_code = lang_code
        self.system_lang_code = system_lang_code
        self.lang_pack = lang_pack
        self.device_model = device_model or platform.machine() or "PC"
        self.system_version = system_version or (
            f"{platform.system()} {platform.release()}".strip() or "Unknown")
        self.app_version = app_version or f"tlcodec {__version__}"
        self._settings = ConnectionSettings(
            public_keys=public_keys(trusted_keys),
            schema=self._schema,
            wrap_init=self._wrap_init,
            test_mode=test_mode,
            transport=transport,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            ping_interval=ping_interval,
            reconnect_delay=reconnect_delay,
            max_reconnect_delay=max_reconnect_delay,
            proxy=proxy_spec,
        )
        self._connections: dict[int, DcConnection] = {}
        self._starting: dict[int, DcConnection] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._dc_options: list[Any] = []
        self._update_handlers: list[UpdateHandler] = []
        self._connected_handlers: list[ConnectedHandler] = []
        self._closed = False

    def __repr__(self) -> str:
        return (f"<Client api_id={self.api_id} home DC {self.home_dc} "
                f"connected to {sorted(self._connections)}{' closed' if self._closed else ''}>")

    # ------------------------------------------------------------------------------------------
    # State

    @property
    def session(self) -> Session:
        return self._session

    @property
    def schema(self) -> Schema:
        """The schema calls are made and answers decoded with (and its `layer`)."""
        return self._schema

    @property
    def home_dc(self) -> int:
        """The DC calls go to by default: where the account lives once logged in."""
        home = self._session.home_dc
        assert home is not None
        return home

    @property
    def user_id(self) -> int | None:
        """The logged-in user's id (from the session), or None."""
        return self._session.user_id

    @property
    def transport(self) -> str:
        return self._settings.transport

    @property
    def proxy(self) -> Proxy | MTProxy | None:
        """What the connections go through (parsed), or None."""
        return self._settings.proxy

    def connection(self, dc_id: int) -> DcConnection | None:
        """The open connection to `dc_id`, if any (for inspection and tests)."""
        return self._connections.get(dc_id)

    # ------------------------------------------------------------------------------------------
    # Life cycle

    async def connect(self) -> None:
        """Connect to the home DC (making an auth key there if the session has none)."""
        await self._connection(self.home_dc)

    async def close(self) -> None:
        """Close every connection (waiting calls fail with `ClientClosedError`) and save the
        session. Leaves no task behind."""
        if self._closed:
            return
        self._closed = True
        for dc_id, connection in self._connections.items():
            # The latest salt and clock offset, so that the next run starts without a
            # bad_server_salt round trip.
            auth = self._session.dc(dc_id)
            key = connection.auth_key
            if auth is not None and key is not None and auth.auth_key == key:
                auth.server_salt = connection.server_salt
                auth.time_offset = connection.time_offset
        connections = list(self._connections.values()) + list(self._starting.values())
        self._connections.clear()
        await asyncio.gather(*(conn.close() for conn in connections), return_exceptions=True)
        self._session.save()
        logger.info("client closed")

    async def __aenter__(self) -> Client:
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------------------------------------
    # Calls

    def invoke(self, request: TLRequest[_Result], *, dc_id: int | None = None,
               timeout: float | None = None) -> Awaitable[_Result]:
        """Send an RPC call (a `tlcodec.functions` object); awaiting what this returns gives the
        call's decoded result, typed by the request (`ImportLoginToken` gives an
        `auth.LoginToken`: `tlcodec.types.auth.TypeLoginToken`).

        Goes to the home DC, where `*_MIGRATE_X` errors are followed (the call is repeated
        on DC X, which becomes the home DC). With `dc_id`, it goes to exactly that DC and a
        `MigrateError` reaches the caller. Raises the typed `RPCError` subclass for an
        `rpc_error`, `CallTimeoutError` (a `TimeoutError`) after `timeout` (default: the
        client's `request_timeout`), `ClientClosedError` if the client is closed meanwhile.

        Returns a coroutine, as an `async def` would. With `dc_id` and an open connection it
        is that connection's own `invoke()`: no coroutine of the client's is stacked on it (one
        per call on the paths that pin a DC, such as `import_login_token`).

        `request` is any function object of the client's schema (`client.schema`; by default
        the bundled layer: `tlcodec.functions.<ns>.<Name>`), wrappers such as
        `invokeWithoutUpdates(query)` included; anything else, e.g. an object of another
        `Schema`, is a `TypeError` before anything is sent.
        """
        if dc_id is None:
            error = request_error(request, self._schema)  # before a connection is opened
            if error is not None:
                raise error
            return self._invoke_following_migrations(request, timeout)
        connection = self._connections.get(dc_id)
        if connection is not None:
            return connection.invoke(request, timeout)
        error = request_error(request, self._schema)
        if error is not None:
            raise error
        return self._connect_and_invoke(dc_id, request, timeout)

    async def _invoke_following_migrations(self, request: Any, timeout: float | None) -> Any:
        target = self.home_dc
        for hop in range(MAX_MIGRATIONS + 1):
            connection = self._connections.get(target) or await self._connection(target)
            try:
                return await connection.invoke(request, timeout)
            except MigrateError as exc:
                if hop == MAX_MIGRATIONS or exc.dc_id == target:
                    raise
                logger.info("%s: %s; repeating on DC %d", type(request).TL_NAME, exc.message,
                            exc.dc_id)
                if isinstance(exc, (UserMigrateError, PhoneMigrateError, NetworkMigrateError)):
                    self._set_home_dc(exc.dc_id)
                target = exc.dc_id
        raise AssertionError("unreachable")

    async def _connect_and_invoke(self, dc_id: int, request: Any, timeout: float | None) -> Any:
        connection = await self._connection(dc_id)
        return await connection.invoke(request, timeout)

    async def get_me(self) -> types.TypeUser:
        """The logged-in user (`users.getUsers([inputUserSelf])`)."""
        get_users = self._function("users.getUsers")
        users = await self.invoke(get_users(id=[self._type("inputUserSelf")()]))
        return users[0]

    async def get_config(self) -> types.TypeConfig:
        """`help.getConfig` on the home DC (its `dc_options` are remembered)."""
        config = await self.invoke(self._function("help.getConfig")())
        self._config_received(self.home_dc, config)
        return config

    async def export_login_token(
        self, except_ids: Iterable[int] = ()
    ) -> types.auth.TypeLoginToken:
        """`auth.exportLoginToken` on the home DC with this client's api_id/api_hash."""
        return await self.invoke(self._function("auth.exportLoginToken")(
            api_id=self.api_id, api_hash=self.api_hash, except_ids=list(except_ids)))

    async def import_login_token(
        self, token: bytes, *, dc_id: int | None = None
    ) -> types.auth.TypeLoginToken:
        """`auth.importLoginToken(token)` (on the home DC unless `dc_id`); returns the
        `auth.LoginToken` the server answers. A `loginTokenSuccess` is recorded as a login
        (the DC that answered becomes the home DC, the session is saved)."""
        target = self.home_dc if dc_id is None else dc_id
        result = await self.invoke(self._function("auth.importLoginToken")(token=token),
                                   dc_id=target)
        if isinstance(result, self._type("auth.loginTokenSuccess")):
            authorization = result.authorization
            if isinstance(authorization, self._type("auth.authorization")):
                self._record_login(target, authorization.user)
        return result

    async def check_password(self, password: str) -> types.TypeUser:
        """Finish a login that raised `SessionPasswordNeededError` with the account's two-step
        verification password (SRP, client/password.py); returns the logged-in user. A wrong
        password raises `PasswordHashInvalidError` and can be tried again."""
        return await check_password(self, password)

    async def qr_login(self, except_ids: Iterable[int] = ()) -> QRLogin:
        """Start a QR-code login: exports a login token on the home DC and returns a
        `QRLogin` (`.url`, `.token`, `.expires`, `await .wait(timeout=...)`). `except_ids`:
        user ids already logged in on this device."""
        qr = QRLogin(self, except_ids)
        await qr.recreate()
        return qr

    # ------------------------------------------------------------------------------------------
    # Updates

    def add_update_handler(self, handler: UpdateHandler) -> None:
        """Call `handler(update, dc_id)` for every object the server sends on its own
        (`updateShort`, `updatesTooLong`, ...), synchronously, from the event loop."""
        self._update_handlers.append(handler)

    def remove_update_handler(self, handler: UpdateHandler) -> None:
        try:
            self._update_handlers.remove(handler)
        except ValueError:
            pass

    def add_connected_handler(self, handler: ConnectedHandler) -> None:
        """Call `handler(dc_id, reconnected)` whenever a connection (re)starts its session."""
        self._connected_handlers.append(handler)

    def remove_connected_handler(self, handler: ConnectedHandler) -> None:
        try:
            self._connected_handlers.remove(handler)
        except ValueError:
            pass

    # ------------------------------------------------------------------------------------------
    # Session exports

    def export_session_string(self) -> str:
        """Our session string (every DC's key): `Client(..., session=that_string)`."""
        return self._session.to_string()

    def export_telethon_session(self) -> str:
        """A Telethon 1.x `StringSession` string for the home DC."""
        return self._session.to_telethon_string()

    def export_pyrogram_session(self) -> str:
        """A Pyrogram 2.x session string for the home DC (needs a login)."""
        return self._session.to_pyrogram_string(self.api_id)

    # ------------------------------------------------------------------------------------------
    # Connections

    async def _connection(self, dc_id: int) -> DcConnection:
        connection = self._connections.get(dc_id)
        if connection is not None:
            return connection
        if self._closed:
            raise ClientClosedError("the client is closed")
        lock = self._locks.get(dc_id)
        if lock is None:
            lock = self._locks[dc_id] = asyncio.Lock()
        async with lock:
            connection = self._connections.get(dc_id)
            if connection is not None:
                return connection
            if self._closed:
                raise ClientClosedError("the client is closed")
            host, port = await self._address(dc_id)
            auth = self._session.set_address(dc_id, host, port)
            connection = DcConnection(
                dc_id, host, port, self._settings,
                auth_key=auth.auth_key, server_salt=auth.server_salt,
                time_offset=auth.time_offset,
                on_update=self._dispatch_update,
                on_auth_key=self._auth_key_changed,
                on_session_state=self._session_state_changed,
                on_config=self._config_received,
                on_connected=self._connection_started,
            )
            self._starting[dc_id] = connection
            try:
                await connection.start()
            finally:
                del self._starting[dc_id]
            if self._closed:
                await connection.close()
                raise ClientClosedError("the client was closed while connecting")
            self._connections[dc_id] = connection
            self._session.save()
            return connection

    async def _address(self, dc_id: int) -> tuple[str, int]:
        """Where DC `dc_id` is: the explicit address, a known config, the session, a connected
        DC's config, then (Telegram only) the bootstrap list."""
        explicit = self._explicit.get(dc_id)
        if explicit is not None:
            return explicit
        found = self._address_from_options(dc_id)
        if found is not None:
            return found
        stored = self._session.dc(dc_id)
        if stored is not None and (":" in stored.host) == self.ipv6:
            return stored.host, stored.port
        for connection in list(self._connections.values()):
            try:
                config = await connection.wait_config(self._settings.connect_timeout)
            except (asyncio.TimeoutError, TimeoutError):
                continue
            self._config_received(connection.dc_id, config)
            found = self._address_from_options(dc_id)
            if found is not None:
                return found
        if not self._custom_server:
            bootstrap = (BOOTSTRAP_DCS_IPV6 if self.ipv6 else BOOTSTRAP_DCS)[self.test_mode].get(dc_id)
            if bootstrap is not None:
                return bootstrap
        if stored is not None:  # of the other family, but all there is
            return stored.host, stored.port
        raise ValueError(f"no address is known for DC {dc_id}: not in help.getConfig's "
                         "dc_options, the session or the bootstrap list")

    def _address_from_options(self, dc_id: int) -> tuple[str, int] | None:
        candidates = [
            option for option in self._dc_options
            if option.id == dc_id and not option.media_only and not option.cdn
            and not option.tcpo_only
        ]
        # The family asked for first (IPv4 unless ipv6=True), the other if it is all there is.
        candidates.sort(key=lambda option: option.ipv6 != self.ipv6)
        if not candidates:
            return None
        return candidates[0].ip_address, candidates[0].port

    def _set_home_dc(self, dc_id: int) -> None:
        if self._session.home_dc != dc_id:
            logger.info("home DC is now %d", dc_id)
            self._session.home_dc = dc_id
            self._session.save()

    def _record_login(self, dc_id: int, user: Any) -> None:
        """A login succeeded on `dc_id`: it becomes the home DC; the user id is stored."""
        self._session.home_dc = dc_id
        self._session.user_id = user.id
        self._session.is_bot = bool(getattr(user, "bot", False))
        self._session.save()
        logger.info("logged in as user %d on DC %d", user.id, dc_id)

    def _function(self, tl_name: str) -> type:
        """The class of function `tl_name` in the client's schema (looked up once)."""
        return self._class(tl_name, True)

    def _type(self, tl_name: str) -> type:
        """The class of constructor `tl_name` in the client's schema (looked up once)."""
        return self._class(tl_name, False)

    def _class(self, tl_name: str, function: bool) -> type:
        cls = self._classes.get((tl_name, function))
        if cls is None:
            try:
                cls = self._schema.get(tl_name, function=function)
            except KeyError:
                kind = "function" if function else "constructor"
                raise SchemaError(f"the client's schema (layer {self._schema.layer}) has no "
                                  f"{kind} {tl_name}") from None
            self._classes[tl_name, function] = cls
        return cls

    def _wrap_init(self, query: Any) -> Any:
        return self._function("invokeWithLayer")(
            layer=self._schema.layer, query=self._function("initConnection")(
            api_id=self.api_id,
            device_model=self.device_model,
            system_version=self.system_version,
            app_version=self.app_version,
            system_lang_code=self.system_lang_code,
            lang_pack=self.lang_pack,
            lang_code=self.lang_code,
            query=query,
        ))

    # Connection callbacks (synchronous, from the event loop)

    def _dispatch_update(self, dc_id: int, update: Any) -> None:
        for handler in list(self._update_handlers):
            try:
                handler(update, dc_id)
            except Exception:  # noqa: BLE001 - one handler's bug must not hide the update
                logger.exception("update handler %r failed", handler)

    def _connection_started(self, dc_id: int, reconnected: bool) -> None:
        for handler in list(self._connected_handlers):
            try:
                handler(dc_id, reconnected)
            except Exception:  # noqa: BLE001
                logger.exception("connection handler %r failed", handler)

    def _auth_key_changed(self, dc_id: int, auth_key: bytes | None, server_salt: int,
                          time_offset: float) -> None:
        self._session.set_auth_key(dc_id, auth_key, server_salt, time_offset)
        self._session.save()

    def _session_state_changed(self, dc_id: int, server_salt: int, time_offset: float) -> None:
        auth = self._session.dc(dc_id)
        if auth is not None and auth.auth_key is not None:
            auth.server_salt, auth.time_offset = server_salt, time_offset
            self._session.save()

    def _config_received(self, dc_id: int, config: Any) -> None:
        options = getattr(config, "dc_options", None)
        if options:
            self._dc_options = list(options)


def _client_schema(schema: Any) -> Schema:
    """The `schema` argument, checked: what every connection needs of it is there, so that a
    schema the client cannot use fails when the Client is made, not at its first connection."""
    if schema is None:
        return _bundled_schema
    if not isinstance(schema, Schema):
        raise TypeError(f"schema is a tlcodec.Schema (e.g. Schema.from_tl(api_tl, mtproto_tl)), "
                        f"not {type(schema).__name__}")
    if schema.layer is None:
        raise SchemaError("the schema states no layer (its api.tl has no '// LAYER N' line): "
                          "the client could not send invokeWithLayer")
    missing = [name for name in INIT_FUNCTIONS + CONNECTION_FUNCTIONS
               if not _has(schema, name, function=True)]
    service = [name for name in SERVICE_CONSTRUCTORS if not _has(schema, name, function=False)]
    if missing or service:
        hint = " (the MTProto service schema: load mtproto.tl beside api.tl)" if service else ""
        raise SchemaError(f"the schema (layer {schema.layer}) lacks what the client needs: "
                          f"{', '.join(missing + service)}{hint}")
    for name, constructor_id in SERVICE_CONSTRUCTORS.items():
        found = schema.get(name, function=False).CONSTRUCTOR_ID
        if found != constructor_id:
            raise SchemaError(f"the schema's {name} is #{found:08x}; the MTProto session "
                              f"speaks #{constructor_id:08x}")
    return schema


def _has(schema: Schema, tl_name: str, *, function: bool) -> bool:
    try:
        schema.get(tl_name, function=function)
    except KeyError:
        return False
    return True


def _load_server_keys(rsa_keys: Iterable[RSAPublicKey | str | bytes]) -> list[RSAPublicKey]:
    """The `rsa_keys` argument as keys, each checked: a wrong one fails when the Client is
    made, naming its place, not deep inside the first key exchange."""
    if isinstance(rsa_keys, (str, bytes, bytearray, RSAPublicKey)):
        raise TypeError("rsa_keys is a list of keys; put a single key in a list")
    try:
        given = list(rsa_keys)
    except TypeError:
        raise TypeError(f"rsa_keys is a list of keys, not {type(rsa_keys).__name__}") from None
    keys = []
    for index, key in enumerate(given):
        try:
            keys.append(RSAPublicKey.load(key))
        except TypeError as exc:
            raise TypeError(f"rsa_keys[{index}]: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"rsa_keys[{index}]: {exc}") from None
    return keys
