"""The test data centres' I/O: one asyncio listening socket per DC, and per TCP connection the
transport, the auth-key exchange and the encrypted sessions, all from `tlcodec.mtproto`.

This layer owns sockets and the routing between them and the sans-IO objects: which transport a
connection speaks (`detect_server_transport`: abridged, intermediate, padded intermediate, full,
each plain or obfuscated), the server side of the DH exchange for plain messages
(`ServerAuthKeyExchange`, one per `req_pq`), the auth keys each DC created, and one
`ServerSession` per (auth key, session_id), kept across connections so that a reconnecting
client keeps its session. Answers come from `tlcodec.testing.world.World`, which owns every API
semantic; this module only turns its results and `RPCError`s into `rpc_result`s, and its pushes
into messages on whichever connection each session last used.

What a client sees, as on Telegram: an unknown auth_key_id gets transport error -404 and the
connection closes; so does a handshake message that fails a check; a payload that fails the
envelope checks (msg_key, length, padding) closes the connection without a word; an unknown
method is answered `rpc_error(400, "INPUT_METHOD_INVALID_<constructor id>")`; session-level
problems (salt, msg_id window, seq_no) get the service notifications the session queues itself.
Quick acks are answered. Everything runs on the event loop that started the servers; nothing
here starts a task, so `close()` leaves none behind. The faults a test can ask of the DCs are
`DataCentres` methods too, from its base class in faults.py.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import struct
import time
from collections import OrderedDict
from typing import Any, Callable, Iterable, Mapping

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa as _rsa

from .. import encode
from ..errors import SecurityError
from ..bundled import schema as _bundled_schema
from ..crypto import MessageCipher, RSAPrivateKey, RSAPublicKey, sha256
from ..mtproto.authkey import TEST_DC_OFFSET, ServerAuthKeyExchange
from ..mtproto.errors import FrameError, RPCError
from ..mtproto.events import MessageDropped, MessageSkipped, PingReceived, RequestReceived
from ..mtproto.server_session import ServerSession
from ..mtproto.session import open_payload
from ..mtproto.transports import Frame, Transport, detect_server_transport
from .faults import FaultInjection
from .accounts import Account, Caller, KeyRef
from .world import DEFAULT_TOKEN_TTL, World

__all__ = ["DataCentres", "HeldRequest", "describe", "serve_forever"]

logger = logging.getLogger("tlcodec.testing")

# How many sessions one auth key keeps (least recently used ones are forgotten past this).
MAX_SESSIONS_PER_KEY = 64
# Drop reasons after which the connection is closed: the payload was not made with this key
# (the security guidelines' advice). The others (salt, msg_id window, replays) are answered by
# the session itself with service messages, or ignored, and the connection stays.
_FATAL_DROPS = frozenset({"length", "auth_key_id", "msg_key", "data_length", "padding"})
_PLAIN_KEY_ID = bytes(8)
_REQ_PQ_IDS = frozenset({
    struct.pack("<I", 0xBE7E8EF1),  # req_pq_multi
    struct.pack("<I", 0x60469778),  # req_pq (old clients)
})
_RPC_RESULT_HEAD = struct.Struct("<Iq")
_RPC_RESULT_ID = 0xF35C6D01
_VECTOR_HEAD = struct.Struct("<Ii")
_VECTOR_ID = 0x1CB5C415
_UNKNOWN_ID = re.compile(r"unknown constructor id 0x([0-9a-f]{8})")
_QUICK_ACK_BIT = 0x80000000
# Results Telegram sends gzip_packed (large, and it lets clients' gzip paths run).
_GZIPPED_RESULTS = frozenset({"config"})
_WILDCARD_HOSTS = {"", "0.0.0.0", "::"}


class _AuthKey:
    """One auth key of one DC: the key, its salt (and the one it replaced, still accepted), and
    its sessions with their last connection."""

    __slots__ = ("ref", "auth_key", "server_salt", "previous_salt", "sessions", "routes",
                 "cipher")

    def __init__(self, ref: KeyRef, auth_key: bytes, server_salt: int) -> None:
        self.ref = ref
        self.auth_key = auth_key
        # Opens the client's payloads (once: the session_id inside says which session gets them).
        self.cipher = MessageCipher(auth_key, from_client=True)
        self.server_salt = server_salt
        self.previous_salt = server_salt
        self.sessions: OrderedDict[int, ServerSession] = OrderedDict()
        self.routes: dict[int, _Connection] = {}  # session_id -> connection it last used

    def session(self, session_id: int, random_bytes: Callable[[int], bytes],
                time_offset: float = 0.0) -> ServerSession:
        session = self.sessions.get(session_id)
        if session is not None:
            self.sessions.move_to_end(session_id)
            return session
        if len(self.sessions) >= MAX_SESSIONS_PER_KEY:
            forgotten, _ = self.sessions.popitem(last=False)
            self.routes.pop(forgotten, None)
        # session_id=None: the session adopts the client's id and announces new_session_created.
        # Salts belong to the key: a new session accepts the previous one too.
        session = ServerSession(
            self.auth_key, server_salt=self.previous_salt,
            random_bytes=random_bytes, time_offset=time_offset,
        )
        session.server_salt = self.server_salt
        self.sessions[session_id] = session
        return session


class _DataCentre:
    """One DC: its number, listening socket, auth keys and open connections."""

    def __init__(self, dc_id: int) -> None:
        self.dc_id = dc_id
        self.server: asyncio.Server | None = None
        self.address: tuple[str, int] | None = None
        self.server_v6: asyncio.Server | None = None
        self.address_v6: tuple[str, int] | None = None
        self.keys: dict[bytes, _AuthKey] = {}
        self.connections: set[_Connection] = set()


class DataCentres(FaultInjection):
    """Several MTProto data centres on loopback sharing one world (accounts, logins, tokens).

        async with DataCentres(dc_ids=(1, 2, 3)) as dcs:
            account = dcs.create_account("Alice", "15550001111", dc_id=3)
            host, port = dcs.address(2)
            ...                               # a client connects to DC 2 with dcs.public_key

    `rsa_key`: the servers' RSA private key (generated now if None; `public_key` is what clients
    must be given). Ports are ephemeral unless `ports` maps DC ids to fixed ones. `token_ttl`:
    seconds a login token lives. `home_dc`: where accounts live by default (DC 2 if there is
    one, else the first). `test_mode`: what `config.test_mode` says, and whether the handshake
    expects Telegram's test-DC ids (10000 + n) in `p_q_inner_data_dc`. `ipv6_host` (e.g. "::1"):
    each DC also listens there, on the same port, and `help.getConfig` advertises both
    addresses (`address_v6(dc_id)`). `clock`: the world's time
    (token expiry, dates); MTProto itself always uses the real clock.

    Everything runs on the event loop that called `start()`; call the methods from it.
    `world` (a `tlcodec.testing.world.World`) is the shared state, for tests that look inside.

    The faults (for tests of what a client does when a DC misbehaves: `request_hook`,
    `clock_offset`, `drop_connections`, `send_raw`, ...) come from `faults.FaultInjection`.
    """

    def __init__(
        self,
        dc_ids: Iterable[int] = (1, 2, 3),
        host: str = "127.0.0.1",
        rsa_key: RSAPrivateKey | None = None,
        token_ttl: float = DEFAULT_TOKEN_TTL,
        home_dc: int | None = None,
        *,
        ports: Mapping[int, int] | None = None,
        ipv6_host: str | None = None,
        test_mode: bool = False,
        clock: Callable[[], float] = time.time,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        super().__init__()
        dc_ids = tuple(dc_ids)
        if home_dc is None:
            home_dc = 2 if 2 in dc_ids else (dc_ids[0] if dc_ids else None)
        self.world = World(
            dc_ids, home_dc=home_dc, token_ttl=token_ttl, test_mode=test_mode, clock=clock,
            random_bytes=random_bytes,
        )
        self.world.deliver = self._deliver
        self.host = host
        self.ipv6_host = ipv6_host
        self.ports = dict(ports or {})
        unknown = set(self.ports) - set(dc_ids)
        if unknown:
            raise ValueError(f"ports given for DCs {sorted(unknown)}, which are not in {dc_ids}")
        self.rsa_key = RSAPrivateKey.generate() if rsa_key is None else rsa_key
        self.test_mode = test_mode
        self._random_bytes = random_bytes
        self._dcs = {dc_id: _DataCentre(dc_id) for dc_id in dc_ids}
        self._started = False

    # ------------------------------------------------------------------------------------------
    # Life cycle

    async def __aenter__(self) -> DataCentres:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def started(self) -> bool:
        return self._started

    async def start(self) -> None:
        """Bind every DC's port and start accepting connections."""
        if self._started:
            return
        loop = asyncio.get_running_loop()
        try:
            for dc in self._dcs.values():
                # After a close(), the same port again: clients find the DC where it was.
                port = self.ports.get(dc.dc_id, dc.address[1] if dc.address else 0)
                dc.server = await loop.create_server(
                    functools.partial(_Connection, self, dc), self.host, port
                )
                bound = dc.server.sockets[0].getsockname()
                advertised = "127.0.0.1" if self.host in _WILDCARD_HOSTS else self.host
                dc.address = (advertised, bound[1])
                self.world.dc_addresses[dc.dc_id] = dc.address
                if self.ipv6_host is not None:
                    dc.server_v6 = await loop.create_server(
                        functools.partial(_Connection, self, dc), self.ipv6_host, bound[1])
                    dc.address_v6 = (self.ipv6_host, bound[1])
                    self.world.dc_addresses_v6[dc.dc_id] = dc.address_v6
        except BaseException:
            await self._shut_down()
            raise
        self._started = True
        logger.info("test DCs listening: %s", ", ".join(
            f"DC {dc.dc_id} on {dc.address[0]}:{dc.address[1]}"
            for dc in self._dcs.values() if dc.address is not None
        ))

    async def close(self) -> None:
        """Stop listening, drop every connection. Auth keys, sessions and accounts stay, and a
        later `start()` binds the same ports again, so a restarted `DataCentres` serves the same
        clients at the same addresses (as a restarted Telegram DC would)."""
        await self._shut_down()
        self._started = False

    async def _shut_down(self) -> None:
        for dc in self._dcs.values():
            for server in (dc.server, dc.server_v6):
                if server is not None:
                    server.close()
            for connection in list(dc.connections):
                connection.abort()
        for dc in self._dcs.values():
            for server in (dc.server, dc.server_v6):
                if server is not None:
                    await server.wait_closed()
            dc.server = dc.server_v6 = None
        # Let the aborted transports run connection_lost before the caller's loop moves on.
        await asyncio.sleep(0)

    async def serve_forever(self) -> None:
        """Serve until cancelled (Ctrl-C in `python -m tlcodec serve`), then close."""
        await self.start()
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            await self.close()

    # ------------------------------------------------------------------------------------------
    # What clients need to know

    @property
    def dc_ids(self) -> tuple[int, ...]:
        return self.world.dc_ids

    @property
    def home_dc(self) -> int:
        return self.world.home_dc

    @property
    def public_key(self) -> RSAPublicKey:
        return self.rsa_key.public_key

    @property
    def public_key_pem(self) -> str:
        """The public key as PKCS#1 PEM ("BEGIN RSA PUBLIC KEY"), the form Telegram publishes
        its keys in and Telethon's `crypto.rsa.add_key` reads."""
        key = _rsa.RSAPublicNumbers(self.rsa_key.e, self.rsa_key.n).public_key()
        return key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        ).decode("ascii")

    def address(self, dc_id: int) -> tuple[str, int]:
        """(host, port) of a DC; only known once started."""
        dc = self._dc(dc_id)
        if dc.address is None:
            raise RuntimeError(f"DC {dc_id} has no address yet: start() the data centres first")
        return dc.address

    def address_v6(self, dc_id: int) -> tuple[str, int]:
        """(host, port) of a DC on `ipv6_host`; only known once started with one."""
        dc = self._dc(dc_id)
        if dc.address_v6 is None:
            raise RuntimeError(f"DC {dc_id} has no IPv6 address: give ipv6_host and start()")
        return dc.address_v6

    def describe(self) -> str:
        """A few lines for a person: every DC's address, the RSA key (fingerprint and PEM),
        and the accounts."""
        return describe(self)

    # ------------------------------------------------------------------------------------------
    # The test API

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
        """A new account on `dc_id` (the home DC by default); `account.user` is what its owner
        gets from `users.getUsers([inputUserSelf])`. `password`: a two-step verification
        password (kept as an SRP verifier, with `password_hint`)."""
        return self.world.create_account(
            first_name, phone, dc_id=dc_id, password=password, username=username,
            last_name=last_name, password_hint=password_hint,
        )

    def accept_login_token(self, token: bytes, account: Account) -> Any:
        """What a logged-in second device of `account` does with a scanned QR code: the token's
        creator gets `updateShort(updateLoginToken)` on every session of its auth key. Returns
        the `authorization` row; raises the typed `RPCError` a client would get."""
        return self.world.accept_login_token(token, account)

    def authorize(self, auth_key_id: bytes | int, account: Account) -> None:
        """Log an existing auth key in as `account` on the DC that has the key (for a second
        device that is a real client). `auth_key_id`: the 8 bytes on the wire, or them read
        as a little-endian long, signed or not (Telethon's `AuthKey.key_id`)."""
        key_id = _key_id_bytes(auth_key_id)
        holders = [dc for dc in self._dcs.values() if key_id in dc.keys]
        if not holders:
            raise KeyError(
                f"auth key {key_id.hex()} is unknown to DCs {self.dc_ids}: a client creates it "
                "by connecting first"
            )
        for dc in holders:
            self.world.authorize(KeyRef(dc.dc_id, key_id), account)

    def auth_key_ids(self, dc_id: int) -> list[bytes]:
        """The auth_key_ids DC `dc_id` has created, oldest first."""
        return list(self._dc(dc_id).keys)

    def _dc(self, dc_id: int) -> _DataCentre:
        try:
            return self._dcs[dc_id]
        except KeyError:
            raise KeyError(f"DC {dc_id} is not one of {self.dc_ids}") from None

    # ------------------------------------------------------------------------------------------
    # Pushes from the world

    def _deliver(self, key_ref: KeyRef, update: Any) -> None:
        """Queue `update` on every session of the key; send it where the session is connected
        (a session whose client is away gets it when it comes back)."""
        key = self._dcs[key_ref.dc_id].keys.get(key_ref.auth_key_id)
        if key is None:
            logger.warning("test DC: update for %r, which no DC has", key_ref)
            return
        for session_id, session in key.sessions.items():
            session.push(update)
            connection = key.routes.get(session_id)
            if connection is not None:
                connection.flush(session)


class _Connection(asyncio.Protocol):
    """One client TCP connection to one DC (see the module doc for what it does)."""

    def __init__(self, dcs: DataCentres, dc: _DataCentre) -> None:
        self._dcs = dcs
        self._dc = dc
        self._world = dcs.world
        self._random_bytes = dcs._random_bytes
        self._transport: asyncio.Transport | None = None
        self._codec: Transport | None = None
        self._head = b""  # bytes received before the transport was recognised
        self._exchange: ServerAuthKeyExchange | None = None
        self._closing = False
        self._ip = "127.0.0.1"
        self._idle_timer: asyncio.TimerHandle | None = None
        self._bound: set[tuple[_AuthKey, int]] = set()  # (key, session_id) routed here
        self._callers: dict[_AuthKey, Caller] = {}

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        if peer:
            self._ip = peer[0]
        self._dc.connections.add(self)
        logger.debug("DC %d: connection from %s", self._dc.dc_id, peer)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._dc.connections.discard(self)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        for key, session_id in self._bound:
            if key.routes.get(session_id) is self:
                del key.routes[session_id]
        self._bound.clear()
        self._exchange = None
        logger.debug("DC %d: connection closed (%s)", self._dc.dc_id, exc or "normally")

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        if self._codec is None:
            self._head += data
            try:
                codec = detect_server_transport(self._head, random_bytes=self._random_bytes)
            except FrameError as exc:
                logger.info("DC %d: not an MTProto transport: %s", self._dc.dc_id, exc)
                self.abort()
                return
            if codec is None:
                return
            self._codec, self._head, data = codec, b"", b""
        try:
            frames = self._codec.feed_frames(data)
        except FrameError as exc:
            logger.info("DC %d: bad frame, closing: %s", self._dc.dc_id, exc)
            self._close()
            return
        touched: dict[ServerSession, None] = {}
        for frame in frames:
            self._on_frame(frame, touched)
            if self._closing:
                break
        for session in touched:
            self.flush(session)

    # -- sending ------------------------------------------------------------------------------

    def flush(self, session: ServerSession) -> None:
        """Write everything the session has to send on this connection."""
        if self._closing or self._codec is None:
            return
        assert self._transport is not None
        pack = self._codec.pack
        while (payload := session.pack()) is not None:
            self._transport.write(pack(payload))

    def _close(self, transport_error: int | None = None) -> None:
        """Close after what was written (and the transport error code, if any) went out."""
        if self._closing or self._transport is None:
            return
        self._closing = True
        if transport_error is not None and self._codec is not None:
            self._transport.write(self._codec.pack_error(transport_error))
        self._transport.close()

    def abort(self) -> None:
        self._closing = True
        if self._transport is not None:
            self._transport.abort()

    def close_with_error(self, code: int) -> bool:
        """The transport error `code`, then close (False if the transport is not known yet)."""
        if self._closing or self._codec is None:
            return False
        self._close(code)
        return True

    def write_raw(self, data: bytes, *, framed: bool) -> bool:
        if self._closing or self._codec is None or self._transport is None:
            return False
        self._transport.write(self._codec.pack(data) if framed else data)
        return True

    # -- receiving ----------------------------------------------------------------------------

    def _on_frame(self, frame: Frame, touched: dict[ServerSession, None]) -> None:
        payload = frame.payload
        key_id = payload[:8]
        if key_id == _PLAIN_KEY_ID:
            self._on_plain(payload)
            return
        key = self._dc.keys.get(key_id)
        if key is None:
            logger.info("DC %d: unknown auth_key_id %s: -404", self._dc.dc_id, key_id.hex())
            self._close(-404)
            return
        # Routing needs the session_id, which is inside the ciphertext: the payload is opened
        # once, here, and the session gets the plaintext.
        try:
            plaintext = open_payload(key.cipher, payload)
        except SecurityError as exc:
            logger.warning("DC %d: undecryptable payload under key %s (%s): closing",
                           self._dc.dc_id, key_id.hex(), exc)
            self._close()
            return
        if frame.quick_ack_requested:
            self._quick_ack(key.auth_key, plaintext)
        session_id = int.from_bytes(plaintext[8:16], "little", signed=True)
        session = key.session(session_id, self._random_bytes, self._dcs.clock_offset)
        key.routes[session_id] = self
        self._bound.add((key, session_id))
        touched[session] = None
        self._handle(key, session, session.receive_opened(plaintext))
        if session.ack_deadline is not None:
            # Acknowledge at once what no answer acknowledged (a test DC has no reason to wait).
            session.flush_acks()

    def _quick_ack(self, auth_key: bytes, plaintext: bytes) -> None:
        # PROTOCOL.md 4.5: msg_key_large[0:4] as a little-endian uint32, top bit set.
        token = int.from_bytes(sha256(auth_key[88:120] + plaintext)[:4], "little")
        assert self._codec is not None and self._transport is not None
        try:
            self._transport.write(self._codec.pack_quick_ack(token | _QUICK_ACK_BIT))
        except ValueError as exc:  # a transport without quick acks: the client should not ask
            logger.info("DC %d: quick ack not possible: %s", self._dc.dc_id, exc)

    def _on_plain(self, payload: bytes) -> None:
        """A message of the DH exchange; a req_pq starts a new exchange (a client may retry on
        the same connection after a failed one, as Telethon does)."""
        assert self._codec is not None and self._transport is not None
        if payload[20:24] in _REQ_PQ_IDS or self._exchange is None:
            handshake_dc = self._dc.dc_id + (TEST_DC_OFFSET if self._dcs.test_mode else 0)
            keys = self._dc.keys
            self._exchange = ServerAuthKeyExchange(
                [self._dcs.rsa_key], handshake_dc, random_bytes=self._random_bytes,
                now=self._dcs.mtproto_now, auth_key_id_in_use=keys.__contains__,
            )
        exchange = self._exchange
        try:
            answer = exchange.receive(payload)
        except SecurityError as exc:
            logger.info("DC %d: auth key exchange failed (%s): -404", self._dc.dc_id, exc)
            self._exchange = None
            self._close(-404)
            return
        self._transport.write(self._codec.pack(answer))
        if exchange.done:
            result = exchange.result
            ref = KeyRef(self._dc.dc_id, result.auth_key_id)
            self._dc.keys[ref.auth_key_id] = _AuthKey(ref, result.auth_key, result.server_salt)
            self._exchange = None
            logger.info("DC %d: new auth key %s", self._dc.dc_id, ref.auth_key_id.hex())
        elif exchange.failed:
            self._exchange = None

    def _handle(self, key: _AuthKey, session: ServerSession, events: list[Any]) -> None:
        caller: Caller | None = None
        for event in events:
            kind = type(event)
            if kind is RequestReceived:
                hook = self._dcs.request_hook
                if hook is not None and hook(HeldRequest(
                    self._dcs, self._dc.dc_id, key, session, event.msg_id, event.request,
                    self._ip,
                )):
                    continue
                if caller is None:
                    caller = self._caller(key)
                _answer_from_world(self._world, caller, session, event.msg_id, event.request)
            elif kind is MessageSkipped:
                if event.reason in ("unknown_constructor", "decode_error"):
                    # The session cannot tell a request from other content here; a client
                    # only sends requests and known service messages, so this was a call.
                    session.answer_error(event.msg_id, 400, _undecodable_message(event.error))
            elif kind is MessageDropped:
                if event.reason in _FATAL_DROPS:
                    self._close()
                    return
            elif kind is PingReceived and event.disconnect_delay is not None:
                self._arm_idle_timer(event.disconnect_delay)

    def _caller(self, key: _AuthKey) -> Caller:
        """Who calls under `key` on this connection: one object for all its calls (a frozen
        dataclass costs about as much to build as the world takes to answer a call)."""
        caller = self._callers.get(key)
        if caller is None:
            caller = self._callers[key] = Caller(key.ref, self._ip)
        return caller

    def _arm_idle_timer(self, delay: int) -> None:
        # ping_delay_disconnect: close if no other such ping comes within `delay` seconds.
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        loop = asyncio.get_running_loop()
        self._idle_timer = loop.call_later(max(delay, 0), self._close)


def _answer_from_world(world: World, caller: Caller, session: ServerSession, msg_id: int,
                       request: Any) -> None:
    """Run the call in the world and queue its answer (result or rpc_error) in the session."""
    try:
        result = world.invoke(caller, request)
    except RPCError as exc:
        session.answer_error(msg_id, exc.code, exc.message)
        return
    except Exception:  # a bug of the test DC: the client still gets an answer
        logger.exception("DC %d: handler of %s failed", caller.key.dc_id, request.TL_NAME)
        session.answer_error(msg_id, 500, "INTERNAL_SERVER_ERROR")
        return
    if isinstance(result, list):
        # Vector<T> results: ServerSession.answer takes TL objects only.
        body = _VECTOR_HEAD.pack(_VECTOR_ID, len(result)) + b"".join(map(encode, result))
        session.enqueue(_RPC_RESULT_HEAD.pack(_RPC_RESULT_ID, msg_id) + body, content_related=True)
    else:
        session.answer(msg_id, result, gzip=result.TL_NAME in _GZIPPED_RESULTS)


class HeldRequest:
    """One RPC request that `DataCentres.request_hook` was shown (fault tests).

    `dc_id`, `msg_id` (the message it came in), `request` (the decoded call; the first call of
    a connection is wrapped in invokeWithLayer/initConnection), `session` (the server-role
    `ServerSession` it came in: `enqueue` a crafted service message there). If the hook
    returns True, the request is the hook's: `answer()` lets the world run and answer it, now
    or later (e.g. from `loop.call_later`), or nobody ever does. What is queued goes out at
    once if the session's client is connected, else when it comes back.
    """

    __slots__ = ("dc_id", "msg_id", "request", "session", "_dcs", "_key", "_session_id", "_ip")

    def __init__(self, dcs: DataCentres, dc_id: int, key: _AuthKey, session: ServerSession,
                 msg_id: int, request: Any, ip: str) -> None:
        self.dc_id = dc_id
        self.msg_id = msg_id
        self.request = request
        self.session = session
        self._dcs = dcs
        self._key = key
        self._session_id = session.session_id
        self._ip = ip

    def __repr__(self) -> str:
        return f"<HeldRequest DC {self.dc_id} {self.request.TL_NAME} msg_id {self.msg_id:#x}>"

    def answer(self) -> None:
        """Run the call in the world now and send its answer (result or rpc_error)."""
        _answer_from_world(self._dcs.world, Caller(self._key.ref, self._ip), self.session,
                           self.msg_id, self.request)
        self.flush()

    def flush(self) -> None:
        """Send what the session has queued, on the connection its client last used (if it is
        still open; otherwise it waits for the client's next message)."""
        connection = (None if self._session_id is None
                      else self._key.routes.get(self._session_id))
        if connection is not None:
            connection.flush(self.session)


def _undecodable_message(error: Exception | None) -> str:
    match = _UNKNOWN_ID.search(str(error)) if error is not None else None
    if match is not None:
        return f"INPUT_METHOD_INVALID_{int(match.group(1), 16)}"
    return "INPUT_FETCH_ERROR"


def _key_id_bytes(auth_key_id: bytes | int) -> bytes:
    if isinstance(auth_key_id, int):
        if not -(1 << 63) <= auth_key_id < 1 << 64:
            raise ValueError(f"an auth_key_id is a 64-bit number, got {auth_key_id}")
        return (auth_key_id % (1 << 64)).to_bytes(8, "little")
    key_id = bytes(auth_key_id)
    if len(key_id) != 8:
        raise ValueError(f"an auth_key_id is 8 bytes, got {len(key_id)}")
    return key_id


def describe(dcs: DataCentres) -> str:
    """The cluster as text: DC addresses, the RSA public key (fingerprint and PEM), accounts."""
    lines = [f"tlcodec test data centres (layer {_bundled_schema.layer}"
             f"{', test mode' if dcs.test_mode else ''}; login tokens live "
             f"{dcs.world.token_ttl:g} s)"]
    for dc_id in dcs.dc_ids:
        dc = dcs._dc(dc_id)
        where = f"{dc.address[0]}:{dc.address[1]}" if dc.address else "not started"
        home = "  (home DC: new accounts live here)" if dc_id == dcs.home_dc else ""
        lines.append(f"  DC {dc_id}: {where}{home}")
    fingerprint = dcs.public_key.fingerprint
    signed = fingerprint - (1 << 64) if fingerprint >= 1 << 63 else fingerprint
    lines.append(f"RSA public key fingerprint: {fingerprint:016x} (as a signed long: {signed})")
    lines.extend(dcs.public_key_pem.rstrip("\n").splitlines())
    accounts = list(dcs.world.accounts.values())
    if accounts:
        lines.append("Accounts:")
        for account in accounts:
            name = " ".join(filter(None, (account.first_name, account.last_name)))
            extra = f", @{account.username}" if account.username else ""
            extra += ", 2FA password set" if account.password else ""
            lines.append(f"  {name}: user {account.user_id}, phone +{account.phone}, "
                         f"DC {account.dc_id}{extra}")
    return "\n".join(lines)


async def serve_forever(dcs: DataCentres) -> None:
    """Start `dcs` if needed and serve until cancelled; then close it."""
    await dcs.serve_forever()
