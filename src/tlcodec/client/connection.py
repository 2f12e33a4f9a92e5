# cython: annotation_typing=False, wraparound=False
# (Compiled as tlcodec.client._connection_c: only _connection_c.pxd gives C types; see the end.)
"""One data centre over TCP: the socket, its framing, the auth key, and the life of the
connection (connect, reconnect with backoff, a new key when the DC forgets ours, close).

The I/O the sans-IO pieces leave out, for one DC: an `asyncio.Protocol` moves bytes between the
socket and a `tlcodec.mtproto.transports` framing; payloads go to the plain auth-key exchange
(`ClientAuthKeyExchange`) until the DC has a key, then to one `ClientSession` that lives as
long as the key (across reconnects). `DcConnection` owns that lifecycle; the calls it carries
are its base class's, `calls.DcCalls`. What to call and on which DC is the `Client`'s business.

Why it behaves as it does:
- Every TCP connection starts (after the auth key, if one had to be made) with
  `invokeWithLayer(LAYER, initConnection(..., help.getConfig()))` (PROTOCOL.md 3.8); calls made
  meanwhile follow it in the same container. Calls made after that container left wait until
  the init call is answered (or times out): if the DC rejects the init message
  (`bad_server_salt`, `bad_msg_notification`), its resend would otherwise go out behind them
  and they would reach the DC before `initConnection`.
- A lost connection is reopened with exponential backoff; the session is kept, and every call
  that was not answered goes out again (`requeue_unanswered`; an answer under the old msg_id
  still counts).
- `MessageDropped` (an incoming message failed a check): the connection is closed and
  reopened, as the security guidelines advise (PROTOCOL.md 6).
- Transport error -404 (the DC does not know our key): the key is dropped, a new one is made,
  and the unanswered calls are sent again in the new session. A DC that answers -404 to
  `MAX_REFUSED_NEW_KEYS` new keys in a row, each before it answered anything under it,
  refuses every key we make: that is fatal, as -444 (test DC id on production or the reverse)
  is: every call fails with the `TransportError`, at once rather than at its timeout. -429: a
  longer backoff.
- Keepalive: `ping_delay_disconnect` every `ping_interval` seconds; no pong within the request
  timeout closes the connection (then reconnect).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .._runtime import adopt_compiled_build
from ..errors import CallTimeoutError, ClientClosedError, ConnectTimeoutError
from ..crypto import RSAPublicKey
from ..mtproto.authkey import ClientAuthKeyExchange
from ..mtproto.errors import FrameError, TransportError
from ..mtproto.client_session import ClientSession
from ..mtproto.transports import (
    Abridged,
    Full,
    Intermediate,
    Obfuscated,
    PaddedIntermediate,
    Transport,
)
from . import _plumbing, calls, proxy_stream
from .proxies import MTProxy

__all__ = [
    "CONNECTION_FUNCTIONS",
    "TRANSPORTS",
    "ClientClosedError",
    "ConnectionSettings",
    "DcConnection",
    "parse_transport",
]

logger = logging.getLogger("tlcodec.client")

TRANSPORTS: dict[str, type[Transport]] = {
    "abridged": Abridged,
    "intermediate": Intermediate,
    "padded": PaddedIntermediate,
    "full": Full,
}
OBFUSCATED_PREFIX = "obfuscated-"
TEST_DC_OFFSET = 10000  # test DC ids in the obfuscation init, as in the handshake

_TRANSPORT_FLOOD_DELAY = 1.0  # at least this long before reconnecting after -429
# New keys refused with -404 in a row before giving up. One refusal can be a DC whose key
# store has not caught up with the key it just made; several in a row are a DC that refuses
# our keys (the key made for another DC, a server that keeps none), and new keys never help.
MAX_REFUSED_NEW_KEYS = 3
_CLOSE_WAIT = 1.0  # how long close() waits for the socket to report itself closed
# The calls a connection makes itself (the init call's query, the keepalive ping), made of the
# classes of the client's schema.
CONNECTION_FUNCTIONS = ("help.getConfig", "ping_delay_disconnect")


def parse_transport(name: str) -> tuple[type[Transport], bool]:
    """`"intermediate"` -> (Intermediate, False); `"obfuscated-padded"` -> (PaddedIntermediate,
    True). Full cannot be obfuscated (it has no tag, PROTOCOL.md 4.7)."""
    obfuscated = name.startswith(OBFUSCATED_PREFIX)
    base = name[len(OBFUSCATED_PREFIX) :] if obfuscated else name
    transport_cls = TRANSPORTS.get(base)
    if transport_cls is None:
        choices = ", ".join(sorted(TRANSPORTS))
        raise ValueError(f"transport must be one of {choices}, each optionally prefixed "
                         f"{OBFUSCATED_PREFIX!r}; got {name!r}")
    if obfuscated and transport_cls.OBFUSCATED_TAG is None:
        raise ValueError(f"the {base} transport cannot be obfuscated (it has no tag)")
    return transport_cls, obfuscated


@dataclass(frozen=True)
class ConnectionSettings:
    """What every DC connection of one client shares."""

    public_keys: tuple[RSAPublicKey, ...]
    wrap_init: Callable[[Any], Any]  # query -> invokeWithLayer(layer, initConnection(query))
    # The tlcodec.Schema calls are encoded and answers decoded with (None: the bundled one);
    # it has CONNECTION_FUNCTIONS and the session's service constructors (Client checks).
    schema: Any = None
    test_mode: bool = False
    transport: str = "intermediate"
    connect_timeout: float = 10.0
    request_timeout: float | None = 30.0
    ping_interval: float | None = 60.0
    reconnect_delay: float = 0.1
    max_reconnect_delay: float = 10.0
    # What every connection goes through (tlcodec.client.proxies.Proxy or MTProxy), or None.
    proxy: Any = None


class _Protocol(asyncio.Protocol):
    """Hands the socket's callbacks to its `DcConnection`; nothing else."""

    def __init__(self, owner: DcConnection) -> None:
        self._owner = owner

    def data_received(self, data: bytes) -> None:
        self._owner._data_received(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._connection_lost(self, exc)


class DcConnection(calls.DcCalls):
    """The client's link to one data centre (see the module doc): its lifecycle here, its
    calls (`invoke`, `in_flight`) from `calls.DcCalls`."""

    def __init__(
        self,
        dc_id: int,
        host: str,
        port: int,
        settings: ConnectionSettings,
        *,
        auth_key: bytes | None = None,
        server_salt: int = 0,
        time_offset: float = 0.0,
        on_update: Callable[[int, Any], None] | None = None,
        on_auth_key: Callable[[int, bytes | None, int, float], None] | None = None,
        on_session_state: Callable[[int, int, float], None] | None = None,
        on_config: Callable[[int, Any], None] | None = None,
        on_connected: Callable[[int, bool], None] | None = None,
    ) -> None:
        calls.DcCalls.__init__(self, dc_id, settings, on_update, on_session_state)
        self.host = host
        self.port = port
        self._transport_cls, self._obfuscated = parse_transport(settings.transport)
        self._on_auth_key = on_auth_key
        self._on_config = on_config
        self._on_connected = on_connected
        schema = self._schema
        self._get_config = schema.get(CONNECTION_FUNCTIONS[0], function=True)
        self._ping_delay_disconnect = schema.get(CONNECTION_FUNCTIONS[1], function=True)

        self._auth_key = auth_key
        if auth_key is not None:
            self._session = ClientSession(auth_key, server_salt=server_salt,
                                          time_offset=time_offset, schema=schema)

        self._protocol: _Protocol | None = None
        self._plain: asyncio.Queue[bytes | BaseException] | None = None
        self._lost: asyncio.Future[BaseException | None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._first: asyncio.Future[None] | None = None
        self.connections_made = 0
        self._init_call: _plumbing.Call | None = None
        self._init_timer: asyncio.TimerHandle | None = None
        self.config: Any = None
        self._config_waiters: list[asyncio.Future[Any]] = []

    def __repr__(self) -> str:
        state = ("closed" if self._closed else "connected" if self._in_session
                 else "connecting")
        return f"<DcConnection DC {self.dc_id} {self.host}:{self.port} {state}>"

    # ------------------------------------------------------------------------------------------
    # State the client reads

    @property
    def connected(self) -> bool:
        return self._in_session

    @property
    def auth_key(self) -> bytes | None:
        return self._auth_key

    @property
    def time_offset(self) -> float:
        """Server time minus local time, seconds (0 before the first key)."""
        return 0.0 if self._session is None else self._session.time_offset

    @property
    def server_salt(self) -> int:
        return 0 if self._session is None else self._session.server_salt

    @property
    def session(self) -> ClientSession | None:
        return self._session

    # ------------------------------------------------------------------------------------------
    # Life cycle

    async def start(self) -> None:
        """Connect (and make an auth key if there is none); raises if the first attempt fails
        (`OSError`, `ConnectTimeoutError`, `SecurityError`, `TransportError`). Later losses of the
        connection are repaired in the background until `close()`."""
        if self._supervisor is not None:
            raise RuntimeError("start() is called once")
        loop = asyncio.get_running_loop()
        self._bind_loop(loop)
        first: asyncio.Future[None] = loop.create_future()
        self._first = first
        self._supervisor = loop.create_task(self._run(first), name=f"tlcodec DC {self.dc_id}")
        try:
            await first
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop reconnecting, close the socket, fail every waiting call with
        `ClientClosedError`; leaves no task or timer behind."""
        if self._closed:
            return
        self._closed = True
        self._cancel_timers()
        if self._init_timer is not None:
            self._init_timer.cancel()
            self._init_timer = None
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None and supervisor is not asyncio.current_task():
            supervisor.cancel()
            try:
                await supervisor
            except asyncio.CancelledError:
                pass
        tcp, lost = self._tcp, self._lost
        if tcp is not None:
            tcp.close()
            if lost is not None and not lost.done():
                try:
                    await asyncio.wait_for(asyncio.shield(lost), _CLOSE_WAIT)
                except asyncio.TimeoutError:
                    tcp.abort()
        def closed() -> ClientClosedError:
            return ClientClosedError(f"the connection to DC {self.dc_id} was closed")

        if self._first is not None and not self._first.done():
            self._first.set_exception(closed())  # a start() still waiting returns
        self._fail_all(closed)
        for waiter in self._config_waiters:
            if not waiter.done():
                waiter.cancel()
        self._config_waiters.clear()

    async def _run(self, first: asyncio.Future[None]) -> None:
        """Connect, serve until the connection is lost, back off, connect again.

        The backoff doubles with each attempt that failed and each connection that was lost
        before it answered anything (a server that accepts and drops at once must not be
        hammered), up to `max_reconnect_delay`; an answered call resets it."""
        failures = 0
        refused_new_keys = 0  # in a row (see MAX_REFUSED_NEW_KEYS)
        new_key_unanswered = False  # the key in use was made here and nothing answered under it
        while not self._closed:
            if self._auth_key is None:
                new_key_unanswered = True  # _connect_once makes one
            try:
                await self._connect_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every cause of a failed attempt
                if not first.done():
                    first.set_exception(exc)
                    return
                if self._is_fatal(exc):
                    self._break(exc)
                    return
                delay = self._backoff(failures, exc)
                failures += 1
                logger.warning("DC %d: connecting to %s:%d failed (%s); again in %.2f s",
                               self.dc_id, self.host, self.port, _describe(exc), delay)
                await asyncio.sleep(delay)
                continue
            if not first.done():
                first.set_result(None)
            reason = await self._serve()
            if self._closed:
                return
            if reason is not None and self._is_fatal(reason):
                self._break(reason)
                return
            if self._answered:
                new_key_unanswered = False
                refused_new_keys = 0
                failures = 0
            if isinstance(reason, TransportError) and reason.code == -404:
                self._forget_key()  # also when giving up: the session must not keep it
                if new_key_unanswered:
                    refused_new_keys += 1
                    if refused_new_keys >= MAX_REFUSED_NEW_KEYS:
                        logger.warning("DC %d: %d new auth keys in a row refused with -404",
                                       self.dc_id, refused_new_keys)
                        self._break(reason)
                        return
            delay = self._backoff(failures, reason)
            failures += 1
            logger.info("DC %d: connection lost (%s); reconnecting in %.2f s", self.dc_id,
                        _describe(reason), delay)
            await asyncio.sleep(delay)

    def _backoff(self, failures: int, reason: BaseException | None) -> float:
        settings = self.settings
        delay: float = min(settings.reconnect_delay * float(1 << min(failures, 30)),
                    settings.max_reconnect_delay)
        if isinstance(reason, TransportError) and reason.code == -429:
            delay = max(delay, min(_TRANSPORT_FLOOD_DELAY, settings.max_reconnect_delay))
        return delay

    @staticmethod
    def _is_fatal(exc: BaseException) -> bool:
        return isinstance(exc, TransportError) and exc.code == -444

    def _refusal(self) -> BaseException:
        if self._broken is not None:
            return _fresh(self._broken)
        if self._closed:
            return ClientClosedError(f"the connection to DC {self.dc_id} is closed")
        return RuntimeError(f"DC {self.dc_id}: start() the connection first")

    def _break(self, exc: BaseException) -> None:
        logger.error("DC %d: giving up: %s", self.dc_id, _describe(exc))
        self._broken = exc
        self._fail_all(lambda: _fresh(exc))

    async def _connect_once(self) -> None:
        """Open the socket, make a key if needed, start the session on this connection."""
        loop = self._loop
        assert loop is not None
        self._framing = self._new_framing()
        self._plain = asyncio.Queue()
        self._lost = loop.create_future()
        self._lost.add_done_callback(calls.consume_result)
        protocol = _Protocol(self)
        self._protocol = protocol
        timeout = self.settings.connect_timeout
        proxy = self.settings.proxy
        if proxy is not None:
            tcp = await proxy_stream.open_stream(loop, lambda: protocol, proxy, self.host,
                                                 self.port, timeout)
        else:
            try:
                tcp, _ = await asyncio.wait_for(
                    loop.create_connection(lambda: protocol, self.host, self.port), timeout)
            except asyncio.TimeoutError:
                raise ConnectTimeoutError(f"DC {self.dc_id}: no TCP connection to "
                                          f"{self.host}:{self.port} within {timeout} s") from None
        assert isinstance(tcp, asyncio.Transport)
        self._tcp = tcp
        try:
            if self._auth_key is None:
                try:
                    await asyncio.wait_for(self._create_auth_key(), timeout)
                except asyncio.TimeoutError:
                    raise ConnectTimeoutError(f"DC {self.dc_id}: the auth-key exchange did not finish "
                                       f"within {timeout} s") from None
            self._begin_session()
        except BaseException as exc:
            tcp.abort()
            if proxy is not None:
                blamed = proxy_stream.blame_proxy(proxy, self.dc_id, exc)
                if blamed is not exc:
                    raise blamed from exc
            raise
        self.connections_made += 1
        self._answered = False
        logger.info("DC %d: connected to %s:%d (%s)", self.dc_id, self.host, self.port,
                    self.settings.transport)
        if self._on_connected is not None:
            self._on_connected(self.dc_id, self.connections_made > 1)

    def _new_framing(self) -> Transport:
        inner = self._transport_cls("client")
        dc = self.dc_id + TEST_DC_OFFSET if self.settings.test_mode else self.dc_id
        if isinstance(self.settings.proxy, MTProxy):
            return proxy_stream.mtproxy_framing(self.settings.proxy, inner, dc)
        if not self._obfuscated:
            return inner
        return Obfuscated(inner, dc_id=dc)

    async def _create_auth_key(self) -> None:
        """The plain DH exchange (PROTOCOL.md 3.3) on the fresh connection."""
        exchange = ClientAuthKeyExchange(self.settings.public_keys, self.dc_id,
                                         test_mode=self.settings.test_mode)
        self._write(exchange.start())
        while True:
            reply = exchange.receive(await self._next_plain())
            if reply is None:
                break
            self._write(reply)
        auth_key, server_salt, time_offset = exchange.result
        logger.info("DC %d: created an auth key (id %s)", self.dc_id,
                    exchange.result.auth_key_id.hex())
        self._install_key(auth_key, server_salt, float(time_offset))

    async def _next_plain(self) -> bytes:
        assert self._plain is not None
        item = await self._plain.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def _install_key(self, auth_key: bytes, server_salt: int, time_offset: float) -> None:
        """A new key means a new session: calls of the old one are sent again in the new one."""
        self._take_calls_from_session()
        self._auth_key = auth_key
        self._session = ClientSession(auth_key, server_salt=server_salt, time_offset=time_offset,
                                      schema=self._schema)
        if self._on_auth_key is not None:
            self._on_auth_key(self.dc_id, auth_key, server_salt, time_offset)

    def _forget_key(self) -> None:
        logger.warning("DC %d: the server does not know our auth key; dropping it", self.dc_id)
        self._auth_key = None
        if self._on_auth_key is not None:
            self._on_auth_key(self.dc_id, None, 0, 0.0)

    def _begin_session(self) -> None:
        """The connection is ready for encrypted messages: the init call first, then the calls
        that were not answered, then those that waited."""
        session = self._session
        assert session is not None
        self._in_session = True
        if self._init_call is not None:
            self._forget_call(self._init_call)  # the last connection's, if still unanswered
        init = self._init_call = self._new_call(
            self.settings.wrap_init(self._get_config()))
        init.future.add_done_callback(self._config_received)
        init.future.add_done_callback(self._init_done)
        self._ready = False
        if self._init_timer is not None:
            self._init_timer.cancel()
        timeout = self.settings.request_timeout
        assert self._loop is not None
        # A DC that never answers the init must not hold the calls back for ever.
        self._init_timer = None if timeout is None else self._loop.call_later(
            timeout, self._call_timed_out, init, timeout)
        self._send_call(init)
        session.requeue_unanswered()
        self._send_waiting()
        self._flush()

    def _init_done(self, future: asyncio.Future[Any]) -> None:
        """The init call ended (answered, failed or given up): the calls that waited go out."""
        init = self._init_call
        if init is None or future is not init.future:
            return  # an earlier connection's
        if self._init_timer is not None:
            self._init_timer.cancel()
            self._init_timer = None
        self._ready = True
        if not self._in_session:
            return  # lost meanwhile: the next connection sends them after its own init
        self._send_waiting()
        self._schedule_flush()

    async def _serve(self) -> BaseException | None:
        """Wait until the connection is lost, pinging it; returns why it was lost."""
        lost = self._lost
        assert lost is not None
        interval = self.settings.ping_interval
        while not lost.done():
            if interval is None:
                await asyncio.shield(lost)
                break
            try:
                await asyncio.wait_for(asyncio.shield(lost), interval)
            except asyncio.TimeoutError:
                await self._ping(lost)
        return lost.result()

    async def _ping(self, lost: asyncio.Future[Any]) -> None:
        if lost.done():
            return
        ping_id = int.from_bytes(os.urandom(8), "little", signed=True)
        # The server closes the connection if it hears nothing for this long (a dead client).
        disconnect_delay = int((self.settings.ping_interval or 60) + 15)
        call = self._new_call(self._ping_delay_disconnect(ping_id=ping_id,
                                                          disconnect_delay=disconnect_delay))
        self._send_call(call)
        self._schedule_flush()
        assert isinstance(call.future, asyncio.Future)  # internal calls use the loop's futures
        done, _ = await asyncio.wait({call.future, lost}, timeout=self.settings.request_timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if not done:
            logger.warning("DC %d: no pong within %s s; reconnecting", self.dc_id,
                           self.settings.request_timeout)
            self._forget_call(call)
            self._abort(CallTimeoutError(f"DC {self.dc_id}: no pong"))
        elif not call.future.done():
            self._forget_call(call)

    def _config_received(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            return  # replaced by a later connection's init call
        error = future.exception()
        if error is not None:
            logger.warning("DC %d: the init call failed: %s", self.dc_id, _describe(error))
            return
        self.config = future.result()
        for waiter in self._config_waiters:
            if not waiter.done():
                waiter.set_result(self.config)
        self._config_waiters.clear()
        if self._on_config is not None:
            self._on_config(self.dc_id, self.config)

    async def wait_config(self, timeout: float | None) -> Any:
        """The `config` this DC sent for the init call of the current connection."""
        if self.config is not None:
            return self.config
        assert self._loop is not None
        waiter = self._loop.create_future()
        self._config_waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout)
        finally:
            if waiter in self._config_waiters:
                self._config_waiters.remove(waiter)

    def _data_received(self, protocol: _Protocol, data: bytes) -> None:
        if protocol is not self._protocol:
            return  # a connection already given up
        framing = self._framing
        assert framing is not None
        try:
            payloads = framing.feed(data)
        except (TransportError, FrameError) as exc:
            self._abort(exc)
            return
        error = None
        if payloads:
            try:
                framing.feed(b"")  # a bad frame right after good ones is reported by the next feed
            except (TransportError, FrameError) as exc:
                error = exc
            if self._in_session:
                self._receive(payloads)
            else:
                assert self._plain is not None
                for payload in payloads:
                    self._plain.put_nowait(payload)  # to the auth-key exchange
        if error is not None:
            self._abort(error)

    def _abort(self, reason: BaseException) -> None:
        """Close the socket now; the supervisor reconnects (or not) according to `reason`."""
        if not self._in_session and self._plain is not None:
            self._plain.put_nowait(reason)  # the handshake, if one runs, fails with it
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(reason)
        tcp = self._tcp
        if tcp is not None:
            tcp.abort()

    def _connection_lost(self, protocol: _Protocol, exc: Exception | None) -> None:
        if protocol is not self._protocol:
            return
        self._protocol = None
        self._tcp = None
        was_in_session = self._in_session
        self._in_session = False
        self._ready = False
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
        reason: BaseException = exc if exc is not None else ConnectionResetError(
            f"DC {self.dc_id} closed the connection")
        if self._plain is not None:
            self._plain.put_nowait(reason)
        if was_in_session and self._session is not None:
            self._take_back_unwritten_calls()
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(reason)


def _fresh(error: BaseException) -> BaseException:
    """The same error as a new object (for raising it in several tasks)."""
    if isinstance(error, TransportError):
        return TransportError(error.code)
    return error


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "closed"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def public_keys(extra: Iterable[RSAPublicKey]) -> tuple[RSAPublicKey, ...]:
    """Telegram's keys (production and test) and the given extra ones."""
    from ..crypto import telegram_public_keys

    return tuple(telegram_public_keys().values()) + tuple(extra)


# ----------------------------------------------------------------------------------------------
# The compiled builds (setup.py: each of connection.py, calls.py and _plumbing.py with the C
# types of its .pxd). All three are taken here, once the plain modules are all imported: the
# compiled ones import them (for their plain functions and constants) while they load.

if __name__ == "tlcodec.client.connection":  # the plain module, not the compiled build itself
    adopt_compiled_build(vars(_plumbing), "connection", ("Call", "Deadlines", "Reply", "Wakeups"),
                         from_module="tlcodec.client._plumbing_c")
    adopt_compiled_build(vars(calls), "connection", ("DcCalls", "consume_result"),
                         from_module="tlcodec.client._calls_c")
    adopt_compiled_build(globals(), "connection", __all__)
