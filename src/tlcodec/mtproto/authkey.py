"""Creating a permanent auth key: plain messages and the DH exchange, client and server side.

This layer owns the unencrypted ("plain") messages that carry the handshake and the two state
machines that run it: `ClientAuthKeyExchange` (what a client does against Telegram) and
`ServerAuthKeyExchange` (what the local test data centre does). Neither does I/O: feed one the
peer's payload (a transport payload, framing removed), send what it returns, and read
`.result` (an `AuthKeyResult`) when `.done` is true. Randomness and time are parameters, so a whole
exchange replays byte for byte from a seed.

    exchange = ClientAuthKeyExchange(crypto.telegram_public_keys().values(), dc_id=2)
    send(exchange.start())
    while (message := exchange.receive(recv())) is not None:
        send(message)
    auth_key, server_salt, time_offset = exchange.result

Spec: https://core.telegram.org/mtproto/auth_key, /mtproto/description#unencrypted-messages and
/mtproto/security_guidelines; the digest with the exact formulas is PROTOCOL.md 3.2, 3.3 and 6.

Errors: anything a peer forged or damaged raises `SecurityError(check, message)`, `check` naming
what failed ("nonce", "server_nonce", "fingerprint", "pq", "rsa", "answer_hash", "dh_prime", "g",
"g_a", "g_b", "new_nonce_hash", "msg_id", "length", ...). The exchange is then over: its secrets
are dropped, `.result` raises, further `receive` calls raise `SecurityError("state", ...)`, and the
caller starts a new exchange on a new connection. The server's refusals the protocol defines
(`server_DH_params_fail`, `dh_gen_fail`) end a client exchange the same way, with the checks
"server_dh_params_fail" and "dh_gen_fail", after their hashes were verified.
"""

from __future__ import annotations

import enum
import hmac
import math
import os
import struct
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .. import Reader, crypto, encode, functions, types
from .. import decode as _decode
from ..errors import DecodeError, SecurityError
from ..crypto import RandomBytes, RSAPrivateKey, RSAPublicKey, is_probable_prime, modexp
from .wire import signed_long

__all__ = [
    "MAX_DH_GEN_RETRIES",
    "AuthKeyResult",
    "ClientAuthKeyExchange",
    "ServerAuthKeyExchange",
    "new_plain_msg_id",
    "pack_plain_message",
    "unpack_plain_message",
]

Now = Callable[[], float]

# How many dh_gen_retry answers one exchange goes through before giving up. The server sends
# one only when the new key's id collides with a key it already has, so more than a couple in
# a row means a broken or hostile peer (each retry costs two 2048-bit exponentiations).
MAX_DH_GEN_RETRIES = 5

# The test DCs' ids in p_q_inner_data_dc are the production ids plus this (PROTOCOL.md 3.3).
TEST_DC_OFFSET = 10000

_PLAIN_HEADER = struct.Struct("<QQi")  # auth_key_id (0), msg_id, message_data_length
_TWO_32 = 1 << 32


# ----------------------------------------------------------------------------------------------
# Plain (unencrypted) messages, PROTOCOL.md 3.2


def pack_plain_message(msg_id: int, body: bytes) -> bytes:
    """auth_key_id 0, msg_id, length, body: the payload a transport then frames."""
    return _PLAIN_HEADER.pack(0, msg_id, len(body)) + body


def unpack_plain_message(payload: bytes | bytearray | memoryview) -> tuple[int, bytes]:
    """(msg_id, body) of a plain message; raises `SecurityError` unless it is exactly one.

    Checks: a 20-byte header, auth_key_id 0 ("auth_key_id"), a length field equal to the bytes
    that follow, a multiple of 4 and not zero ("length"; no trailing garbage is accepted), and
    a non-zero msg_id ("msg_id"). Parity and order of msg_ids are the exchanges' business.
    """
    if len(payload) < _PLAIN_HEADER.size:
        raise SecurityError(
            "length", f"a plain message has a 20-byte header, got {len(payload)} bytes in all"
        )
    auth_key_id, msg_id, length = _PLAIN_HEADER.unpack_from(payload)
    if auth_key_id != 0:
        raise SecurityError(
            "auth_key_id", f"a plain message has auth_key_id 0, got {auth_key_id:#018x}"
        )
    body_size = len(payload) - _PLAIN_HEADER.size
    if length != body_size:
        raise SecurityError(
            "length", f"the header says {length} bytes of message data, got {body_size}"
        )
    if length == 0 or length % 4:
        raise SecurityError(
            "length", f"message data is a boxed TL object (a non-zero multiple of 4 bytes), "
            f"got {length} bytes"
        )
    if msg_id == 0:
        raise SecurityError("msg_id", "a plain message's msg_id is never 0")
    return msg_id, bytes(payload[_PLAIN_HEADER.size :])


def new_plain_msg_id(now: float, last: int = 0, *, from_server: bool = False) -> int:
    """A msg_id for the time `now` (seconds, server-corrected if known), above `last`.

    About `now * 2**32`: clients' ids are divisible by 4 with a non-zero low half, servers'
    are 1 mod 4 (answers to the client's messages). If that is not above `last`, `last + 4`.
    `now` may be any real number; a `fractions.Fraction` gives exact ids (a float near
    1.7e9 has only about 22 bits below the point).
    """
    msg_id = math.floor(now * _TWO_32) & ~3
    if from_server:
        msg_id |= 1
    elif msg_id % _TWO_32 == 0:
        msg_id |= 4  # the low half must not be zero (PROTOCOL.md 3.5)
    if msg_id <= last:
        msg_id = last + 4
    return msg_id


# ----------------------------------------------------------------------------------------------
# Results and shared helpers


@dataclass(frozen=True)
class AuthKeyResult:
    """What a finished exchange gives the encrypted session.

    `auth_key`: 256 bytes (left-padded with zeros, as the protocol defines it).
    `server_salt`: the first salt, `new_nonce[0:8] XOR server_nonce[0:8]`, as the signed
    little-endian long those 8 bytes are on the wire (how every TL long is read), so that
    `server_salt.to_bytes(8, "little", signed=True)` gives the wire bytes back.
    `time_offset`: server time minus local time in whole seconds, for msg_ids (0 on the server).
    `expires_in`: None for a permanent key; the lifetime a client asked for with
    `p_q_inner_data_temp*` (server side only: our client creates permanent keys).
    """

    auth_key: bytes = field(repr=False)
    server_salt: int
    time_offset: int
    expires_in: int | None = None

    @property
    def auth_key_id(self) -> bytes:
        """SHA1(auth_key)[12:20], the 8 bytes written on the wire."""
        return crypto.auth_key_id(self.auth_key)

    def __iter__(self) -> Any:
        """Unpacks as `(auth_key, server_salt, time_offset)`."""
        return iter((self.auth_key, self.server_salt, self.time_offset))


class _Step(enum.Enum):
    START = "start"
    AWAIT_RES_PQ = "waiting for resPQ"
    AWAIT_DH_PARAMS = "waiting for server_DH_params_ok/fail"
    AWAIT_DH_GEN = "waiting for dh_gen_ok/retry/fail"
    AWAIT_REQ_PQ = "waiting for req_pq_multi"
    AWAIT_REQ_DH_PARAMS = "waiting for req_DH_params"
    AWAIT_CLIENT_DH_PARAMS = "waiting for set_client_DH_params"
    DONE = "done"
    FAILED = "failed"


def _long_le(data: bytes) -> int:
    return int.from_bytes(data, "little", signed=True)


def _big_endian(value: int, size: int = 0) -> bytes:
    """Big-endian bytes: minimal (`size` 0, as pq, p and q are sent) or left-padded to `size`."""
    return value.to_bytes(size or (value.bit_length() + 7) // 8 or 1, "big")


def _check_equal(check: str, got: bytes, expected: bytes) -> None:
    """A nonce compared in constant time; nonces are public, so the error shows both."""
    if not hmac.compare_digest(got, expected):
        raise SecurityError(check, f"got {got.hex()}, expected {expected.hex()}")


def _check_hash(check: str, got: bytes, expected: bytes, what: str) -> None:
    """A hash compared in constant time; the expected value is not shown (it is secret-derived)."""
    if not hmac.compare_digest(got, expected):
        raise SecurityError(check, f"{what} does not match (got {got.hex()})")


def _expect(obj: Any, *classes: type) -> None:
    if not isinstance(obj, classes):
        wanted = " or ".join(getattr(cls, "TL_NAME", cls.__name__) for cls in classes)
        got = getattr(type(obj), "TL_NAME", type(obj).__name__)
        raise SecurityError("message_type", f"expected {wanted}, got {got}")


def _server_salt(new_nonce: bytes, server_nonce: bytes) -> int:
    return _long_le(bytes(a ^ b for a, b in zip(new_nonce[:8], server_nonce[:8])))


def _read_hashed(plain: bytes, check: str, what: str) -> tuple[Any, int]:
    """Parse SHA1(data) + data + padding; returns the object and the padding length.

    The hash covers exactly the parsed object, so the object is parsed first to learn its
    length. Bytes that do not parse fail the same check as a wrong hash: both mean the
    encrypted blob was not made with our nonces.
    """
    reader = Reader(plain[20:])
    try:
        obj = reader.read_object()
    except DecodeError as exc:
        raise SecurityError(check, f"{what} does not decrypt to a TL object: {exc}") from exc
    length = reader.position
    _check_hash(check, plain[:20], crypto.sha1(plain[20 : 20 + length]), f"SHA1 of {what}")
    return obj, len(plain) - 20 - length


def _check_padding(check: str, padding: int, what: str) -> None:
    if padding > 15:
        raise SecurityError(check, f"{what} is followed by {padding} bytes of padding, at most 15")


class _Exchange:
    """The parts both sides share: the step, msg_ids in both directions, failing cleanly."""

    _step: _Step
    _error: BaseException | None
    _result: AuthKeyResult | None
    _secret_attrs: tuple[str, ...] = ()

    def __init__(self, random_bytes: RandomBytes, now: Now, step: _Step) -> None:
        self._random_bytes = random_bytes
        self._now = now
        self._step = step
        self._error = None
        self._result = None
        self._last_sent_msg_id = 0
        self._last_received_msg_id = 0
        self._clear_secrets()

    @property
    def done(self) -> bool:
        """True once the auth key is agreed and `.result` is available."""
        return self._step is _Step.DONE

    @property
    def failed(self) -> bool:
        return self._step is _Step.FAILED

    @property
    def error(self) -> BaseException | None:
        """The error that ended the exchange (a `SecurityError` for anything the peer sent)."""
        return self._error

    @property
    def result(self) -> AuthKeyResult:
        if self._result is None:
            if self._error is not None:
                raise RuntimeError(f"the auth-key exchange failed: {self._error}")
            raise RuntimeError(f"the auth-key exchange is not finished ({self._step.value})")
        return self._result

    def _clear_secrets(self) -> None:
        for name in self._secret_attrs:
            setattr(self, name, None)

    def _fail(self, error: BaseException) -> None:
        self._clear_secrets()
        self._step = _Step.FAILED
        self._error = error

    def _check_receivable(self) -> None:
        if self._step is _Step.FAILED:
            raise SecurityError("state", f"the exchange already failed ({self._error})")
        if self._step is _Step.DONE:
            raise SecurityError("state", "the exchange is finished: no further message expected")

    def _handler(self, step: _Step) -> Callable[[Any], bytes | None]:
        """The method that takes the peer's message expected in `step`."""
        raise NotImplementedError

    def _step_with(
        self, payload: bytes | bytearray | memoryview, from_server: bool
    ) -> bytes | None:
        """Run one step on the peer's message; any error ends the exchange for good."""
        self._check_receivable()
        try:
            return self._handler(self._step)(self._unpack(payload, from_server))
        except BaseException as exc:
            self._fail(exc)
            raise

    def _open_hashed(self, encrypted: bytes, field: str, checks: str, cls: type) -> Any:
        """Decrypt SHA1(data) + data + padding with the temporary key (both directions of the
        DH step), checking length, hash, padding, type and both nonces. `checks` prefixes the
        check names ("answer" -> "answer_hash", "answer_padding")."""
        if not encrypted or len(encrypted) % 16:
            raise SecurityError(
                field, f"{field} is a non-zero multiple of 16 bytes, got {len(encrypted)}"
            )
        plain = crypto.aes_ige_decrypt(encrypted, self._tmp_aes_key, self._tmp_aes_iv)
        inner, padding = _read_hashed(plain, f"{checks}_hash", cls.TL_NAME)
        _expect(inner, cls)
        _check_padding(f"{checks}_padding", padding, cls.TL_NAME)
        _check_equal("nonce", inner.nonce, self._nonce)
        _check_equal("server_nonce", inner.server_nonce, self._server_nonce)
        return inner

    def _unpack(self, payload: bytes | bytearray | memoryview, from_server: bool) -> Any:
        """The boxed object of a plain message from the peer, with its msg_id checked."""
        msg_id, body = unpack_plain_message(payload)
        if from_server and msg_id % 4 not in (1, 3):
            raise SecurityError("msg_id", f"a server msg_id is 1 or 3 mod 4, got {msg_id:#x}")
        if not from_server and msg_id % 4:
            raise SecurityError("msg_id", f"a client msg_id is divisible by 4, got {msg_id:#x}")
        if msg_id <= self._last_received_msg_id:
            raise SecurityError(
                "msg_id", f"msg_id {msg_id:#x} is not above the previous one "
                f"({self._last_received_msg_id:#x}): replayed or out of order"
            )
        self._last_received_msg_id = msg_id
        try:
            return _decode(body)
        except DecodeError as exc:
            raise SecurityError("decode", f"message data is not a TL object: {exc}") from exc

    def _pack(self, obj: Any, now: float, from_server: bool) -> bytes:
        msg_id = new_plain_msg_id(now, self._last_sent_msg_id, from_server=from_server)
        self._last_sent_msg_id = msg_id
        return pack_plain_message(msg_id, encode(obj))


# ----------------------------------------------------------------------------------------------
# Client


class ClientAuthKeyExchange(_Exchange):
    """The client side: req_pq_multi -> req_DH_params -> set_client_DH_params -> dh_gen_ok.

    `public_keys`: the server keys we trust (e.g. `crypto.telegram_public_keys().values()`);
    the server's resPQ must list one of their fingerprints. `dc_id`: the DC's number (1..5 on
    Telegram); `test_mode` adds 10000 to it and `media` makes it negative, as
    `p_q_inner_data_dc.dc` wants. Only RSA_PAD is ever sent. `random_bytes(n)` and `now()`
    (seconds) are the only sources of randomness and time.
    """

    _secret_attrs = (
        "_nonce", "_server_nonce", "_new_nonce", "_tmp_aes_key", "_tmp_aes_iv", "_dh_prime",
        "_g", "_g_a", "_auth_key", "_time_offset",
    )

    def __init__(
        self,
        public_keys: Iterable[RSAPublicKey],
        dc_id: int,
        *,
        test_mode: bool = False,
        media: bool = False,
        random_bytes: RandomBytes = os.urandom,
        now: Now = time.time,
    ) -> None:
        self._public_keys = {signed_long(key.fingerprint, "fingerprint"): key for key in public_keys}
        if not self._public_keys:
            raise ValueError("at least one server public key is needed")
        if dc_id <= 0:
            raise ValueError(f"dc_id is a DC's positive number, got {dc_id}")
        dc = dc_id + TEST_DC_OFFSET if test_mode else dc_id
        self.dc = -dc if media else dc
        self._retries = 0
        super().__init__(random_bytes, now, _Step.START)

    def start(self) -> bytes:
        """The first message to send: req_pq_multi with a fresh nonce."""
        if self._step is not _Step.START:
            raise RuntimeError(f"start() is called once, at the beginning ({self._step.value})")
        self._nonce = self._random_bytes(16)
        self._step = _Step.AWAIT_RES_PQ
        return self._pack(functions.ReqPqMulti(nonce=self._nonce), self._now(), False)

    def receive(self, payload: bytes | bytearray | memoryview) -> bytes | None:
        """Take the server's next message; return ours to send, or None once `.done`."""
        if self._step is _Step.START:
            raise RuntimeError("call start() and send its message first")
        return self._step_with(payload, from_server=True)

    def _handler(self, step: _Step) -> Callable[[Any], bytes | None]:
        if step is _Step.AWAIT_RES_PQ:
            return self._on_res_pq
        if step is _Step.AWAIT_DH_PARAMS:
            return self._on_server_dh_params
        return self._on_dh_gen

    def _on_res_pq(self, res_pq: Any) -> bytes:
        _expect(res_pq, types.ResPQ)
        _check_equal("nonce", res_pq.nonce, self._nonce)
        for fingerprint in res_pq.server_public_key_fingerprints:
            key = self._public_keys.get(fingerprint)
            if key is not None:
                break
        else:
            offered = ", ".join(
                f"{f % (1 << 64):#018x}" for f in res_pq.server_public_key_fingerprints
            )
            ours = ", ".join(f"{f % (1 << 64):#018x}" for f in self._public_keys)
            raise SecurityError(
                "fingerprint", f"the server offers keys [{offered}], we know only [{ours}]"
            )
        if not 1 <= len(res_pq.pq) <= 8:
            raise SecurityError("pq", f"pq is at most 8 bytes, got {len(res_pq.pq)}")
        p, q = crypto.factorize_pq(int.from_bytes(res_pq.pq, "big"))
        server_nonce = res_pq.server_nonce
        new_nonce = self._random_bytes(32)
        inner_data = encode(
            types.PQInnerDataDc(
                pq=res_pq.pq, p=_big_endian(p), q=_big_endian(q), nonce=self._nonce,
                server_nonce=server_nonce, new_nonce=new_nonce, dc=self.dc,
            )
        )
        encrypted_data = key.encrypt_rsa_pad(inner_data, self._random_bytes)
        self._server_nonce, self._new_nonce = server_nonce, new_nonce
        self._tmp_aes_key, self._tmp_aes_iv = crypto.tmp_aes_key_iv(new_nonce, server_nonce)
        self._step = _Step.AWAIT_DH_PARAMS
        request = functions.ReqDHParams(
            nonce=self._nonce, server_nonce=server_nonce, p=_big_endian(p), q=_big_endian(q),
            public_key_fingerprint=fingerprint, encrypted_data=encrypted_data,
        )
        return self._pack(request, self._now(), False)

    def _on_server_dh_params(self, params: Any) -> bytes:
        _expect(params, types.ServerDHParamsOk, types.ServerDHParamsFail)
        _check_equal("nonce", params.nonce, self._nonce)
        _check_equal("server_nonce", params.server_nonce, self._server_nonce)
        if isinstance(params, types.ServerDHParamsFail):
            expected = crypto.sha1(self._new_nonce)[4:20]
            _check_hash("new_nonce_hash", params.new_nonce_hash, expected,
                        "server_DH_params_fail.new_nonce_hash")
            raise SecurityError(
                "server_dh_params_fail", "the server refused req_DH_params; start again"
            )
        inner = self._open_hashed(
            params.encrypted_answer, "encrypted_answer", "answer", types.ServerDHInnerData
        )
        dh_prime = int.from_bytes(inner.dh_prime, "big")
        crypto.check_dh_prime(dh_prime)
        crypto.check_g(inner.g, dh_prime)
        g_a = int.from_bytes(inner.g_a, "big")
        crypto.check_dh_value(g_a, dh_prime, "g_a")
        now = self._now()
        self._time_offset = inner.server_time - math.floor(now)
        self._dh_prime, self._g, self._g_a = dh_prime, inner.g, g_a
        return self._set_client_dh_params(0, now)

    def _set_client_dh_params(self, retry_id: int, now: float) -> bytes:
        """Draw b, remember the key it gives, and send g_b (PROTOCOL.md 3.3 step 7)."""
        dh_prime = self._dh_prime
        for _ in range(8):
            b = int.from_bytes(self._random_bytes(256), "big")
            g_b = modexp(self._g, b, dh_prime)
            try:
                crypto.check_dh_value(g_b, dh_prime, "g_b")
                break
            except SecurityError:
                continue  # our own draw fell outside the safe range (p ~ 2^-62): draw again
        else:
            raise SecurityError("g_b", "random_bytes keeps giving b whose g_b is out of range")
        self._auth_key = _big_endian(modexp(self._g_a, b, dh_prime), 256)
        inner_data = encode(
            types.ClientDHInnerData(
                nonce=self._nonce, server_nonce=self._server_nonce, retry_id=retry_id,
                g_b=_big_endian(g_b, 256),
            )
        )
        data_with_hash = crypto.sha1(inner_data) + inner_data
        data_with_hash += self._random_bytes(-len(data_with_hash) % 16)
        encrypted = crypto.aes_ige_encrypt(data_with_hash, self._tmp_aes_key, self._tmp_aes_iv)
        self._step = _Step.AWAIT_DH_GEN
        request = functions.SetClientDHParams(
            nonce=self._nonce, server_nonce=self._server_nonce, encrypted_data=encrypted
        )
        return self._pack(request, now, False)

    def _on_dh_gen(self, answer: Any) -> bytes | None:
        _expect(answer, types.DhGenOk, types.DhGenRetry, types.DhGenFail)
        _check_equal("nonce", answer.nonce, self._nonce)
        _check_equal("server_nonce", answer.server_nonce, self._server_nonce)
        if isinstance(answer, types.DhGenOk):
            number, got = 1, answer.new_nonce_hash1
        elif isinstance(answer, types.DhGenRetry):
            number, got = 2, answer.new_nonce_hash2
        else:
            number, got = 3, answer.new_nonce_hash3
        expected = crypto.new_nonce_hash(self._new_nonce, self._auth_key, number)
        _check_hash("new_nonce_hash", got, expected, f"{answer.TL_NAME}.new_nonce_hash{number}")
        if number == 3:
            raise SecurityError("dh_gen_fail", "the server refused the key; start again")
        if number == 2:
            if self._retries >= MAX_DH_GEN_RETRIES:
                raise SecurityError(
                    "dh_gen_retry", f"more than {MAX_DH_GEN_RETRIES} dh_gen_retry in a row"
                )
            self._retries += 1
            retry_id = _long_le(crypto.auth_key_aux_hash(self._auth_key))
            return self._set_client_dh_params(retry_id, self._now())
        self._result = AuthKeyResult(
            self._auth_key, _server_salt(self._new_nonce, self._server_nonce), self._time_offset
        )
        self._clear_secrets()
        self._step = _Step.DONE
        return None


# ----------------------------------------------------------------------------------------------
# Server


def _is_prime_below_2_31(n: int) -> bool:
    """Deterministic primality below 2**31: the pq primes must come out of `random_bytes`
    alone (so an exchange replays from a seed), so no random witnesses here."""
    return is_probable_prime(n, witnesses=(2, 3, 5, 7))


_PQ_INNER_DATA = (
    types.PQInnerData, types.PQInnerDataDc, types.PQInnerDataTemp, types.PQInnerDataTempDc
)


class ServerAuthKeyExchange(_Exchange):
    """The server side, for the local test DC: answers req_pq_multi, req_DH_params and
    set_client_DH_params; every answer is a plain message to send back.

    `private_keys`: the keys whose fingerprints resPQ lists. `dc_id`: the value clients put in
    `p_q_inner_data_dc.dc` for this DC (10000 + n for a test DC); its negative (the media form)
    is accepted too, anything else is `SecurityError("dc")` (Telegram answers -444 there).
    `accept_legacy_rsa`: also accept the pre-RSA_PAD form `SHA1(data) + data + padding` that
    Telethon 1.x and Pyrogram send (RSA_PAD is tried first; PROTOCOL.md 3.3 step 4).
    `auth_key_id_in_use(auth_key_id) -> bool`: the keys this DC already has; a new key whose id
    collides is answered with dh_gen_retry (MAX_DH_GEN_RETRIES times, then dh_gen_fail).
    On a `SecurityError` nothing is answered: the caller closes the connection (Telegram
    answers a transport -404).
    """

    _secret_attrs = (
        "_nonce", "_server_nonce", "_new_nonce", "_tmp_aes_key", "_tmp_aes_iv", "_pq", "_p",
        "_q", "_a", "_expected_retry_id", "_expires_in",
    )

    def __init__(
        self,
        private_keys: Iterable[RSAPrivateKey],
        dc_id: int,
        *,
        dh_prime: int = crypto.KNOWN_DH_PRIME,
        g: int = 3,
        random_bytes: RandomBytes = os.urandom,
        now: Now = time.time,
        accept_legacy_rsa: bool = True,
        auth_key_id_in_use: Callable[[bytes], bool] | None = None,
    ) -> None:
        self._private_keys = {signed_long(key.public_key.fingerprint, "fingerprint"): key for key in private_keys}
        if not self._private_keys:
            raise ValueError("at least one private key is needed")
        if dc_id == 0:
            raise ValueError("dc_id 0 is not a DC")
        try:
            crypto.check_dh_prime(dh_prime)
            crypto.check_g(g, dh_prime)
        except SecurityError as exc:
            raise ValueError(f"unsafe DH parameters for a server: {exc}") from exc
        self.dc_id = dc_id
        self._dh_prime = dh_prime
        self._g = g
        self._accept_legacy_rsa = accept_legacy_rsa
        self._auth_key_id_in_use = auth_key_id_in_use
        self._retries = 0
        super().__init__(random_bytes, now, _Step.AWAIT_REQ_PQ)

    def receive(self, payload: bytes | bytearray | memoryview) -> bytes:
        """Take the client's next message; return the answer to send.

        After the answer to set_client_DH_params, `.done` is true (dh_gen_ok), or still false
        (dh_gen_retry: another set_client_DH_params follows), or `.failed` (dh_gen_fail).
        """
        answer = self._step_with(payload, from_server=False)
        assert answer is not None  # the server answers every client message
        return answer

    def _handler(self, step: _Step) -> Callable[[Any], bytes | None]:
        if step is _Step.AWAIT_REQ_PQ:
            return self._on_req_pq
        if step is _Step.AWAIT_REQ_DH_PARAMS:
            return self._on_req_dh_params
        return self._on_set_client_dh_params

    def _answer(self, obj: Any) -> bytes:
        return self._pack(obj, self._now(), True)

    def _on_req_pq(self, request: Any) -> bytes:
        _expect(request, functions.ReqPqMulti, functions.ReqPq)
        self._nonce = request.nonce
        self._server_nonce = self._random_bytes(16)
        self._p, self._q = self._new_pq_factors()
        self._pq = _big_endian(self._p * self._q)
        self._step = _Step.AWAIT_REQ_DH_PARAMS
        return self._answer(
            types.ResPQ(
                nonce=self._nonce, server_nonce=self._server_nonce, pq=self._pq,
                server_public_key_fingerprints=list(self._private_keys),
            )
        )

    def _new_pq_factors(self) -> tuple[int, int]:
        """Two distinct random primes in [2^30, 2^31): pq < 2^62, as Telegram's are."""
        p = self._random_prime()
        q = self._random_prime()
        while q == p:
            q = self._random_prime()
        return min(p, q), max(p, q)

    def _random_prime(self) -> int:
        while True:
            candidate = int.from_bytes(self._random_bytes(4), "big") % (1 << 30) | 1 << 30 | 1
            while candidate < 1 << 31:
                if _is_prime_below_2_31(candidate):
                    return candidate
                candidate += 2

    def _on_req_dh_params(self, request: Any) -> bytes:
        _expect(request, functions.ReqDHParams)
        _check_equal("nonce", request.nonce, self._nonce)
        _check_equal("server_nonce", request.server_nonce, self._server_nonce)
        self._check_factors(request.p, request.q, "req_DH_params")
        key = self._private_keys.get(request.public_key_fingerprint)
        if key is None:
            raise SecurityError(
                "fingerprint",
                f"key {request.public_key_fingerprint % (1 << 64):#018x} is not one resPQ offered",
            )
        inner = self._decrypt_inner_data(key, request.encrypted_data)
        _expect(inner, *_PQ_INNER_DATA)
        if inner.pq != self._pq:
            raise SecurityError("pq", f"inner pq {inner.pq.hex()}, resPQ sent {self._pq.hex()}")
        self._check_factors(inner.p, inner.q, inner.TL_NAME)
        _check_equal("nonce", inner.nonce, self._nonce)
        _check_equal("server_nonce", inner.server_nonce, self._server_nonce)
        dc = getattr(inner, "dc", None)
        if dc is not None and abs(dc) != abs(self.dc_id):
            raise SecurityError("dc", f"the client asks for DC {dc}, this is DC {self.dc_id}")
        self._expires_in = getattr(inner, "expires_in", None)
        self._new_nonce = inner.new_nonce
        self._tmp_aes_key, self._tmp_aes_iv = crypto.tmp_aes_key_iv(
            self._new_nonce, self._server_nonce
        )
        for _ in range(8):
            a = int.from_bytes(self._random_bytes(256), "big")
            g_a = modexp(self._g, a, self._dh_prime)
            try:
                crypto.check_dh_value(g_a, self._dh_prime, "g_a")
                break
            except SecurityError:
                continue  # a draw outside the safe range (p ~ 2^-62): clients reject it
        else:
            raise SecurityError("g_a", "random_bytes keeps giving a whose g_a is out of range")
        self._a = a
        now = self._now()
        answer = encode(
            types.ServerDHInnerData(
                nonce=self._nonce, server_nonce=self._server_nonce, g=self._g,
                dh_prime=_big_endian(self._dh_prime, 256), g_a=_big_endian(g_a, 256),
                server_time=math.floor(now),
            )
        )
        answer_with_hash = crypto.sha1(answer) + answer
        answer_with_hash += self._random_bytes(-len(answer_with_hash) % 16)
        encrypted = crypto.aes_ige_encrypt(answer_with_hash, self._tmp_aes_key, self._tmp_aes_iv)
        self._expected_retry_id = 0
        self._step = _Step.AWAIT_CLIENT_DH_PARAMS
        return self._pack(
            types.ServerDHParamsOk(
                nonce=self._nonce, server_nonce=self._server_nonce, encrypted_answer=encrypted
            ),
            now,
            True,
        )

    def _check_factors(self, p: bytes, q: bytes, where: str) -> None:
        if p != _big_endian(self._p) or q != _big_endian(self._q):
            raise SecurityError(
                "pq", f"{where} has p={p.hex()} q={q.hex()}, "
                f"the factors of pq are {self._p:#x} and {self._q:#x}"
            )

    def _decrypt_inner_data(self, key: RSAPrivateKey, encrypted: bytes) -> Any:
        """p_q_inner_data* from RSA_PAD, else (if accepted) from the legacy SHA1 form."""
        if len(encrypted) != 256:
            raise SecurityError("rsa", f"encrypted_data is 256 bytes, got {len(encrypted)}")
        try:
            data_with_padding = key.decrypt_rsa_pad(encrypted)
        except SecurityError as rsa_pad_error:
            if not self._accept_legacy_rsa:
                raise SecurityError("rsa", f"not RSA_PAD ({rsa_pad_error})") from rsa_pad_error
            return self._decrypt_legacy(key, encrypted, rsa_pad_error)
        # The RSA_PAD hash held: the object is at the start, random padding after it.
        try:
            return Reader(data_with_padding).read_object()
        except DecodeError as exc:
            raise SecurityError(
                "p_q_inner_data", f"RSA_PAD data is not a TL object: {exc}"
            ) from exc

    @staticmethod
    def _decrypt_legacy(key: RSAPrivateKey, encrypted: bytes, rsa_pad_error: SecurityError) -> Any:
        """Byte 0 zero, then SHA1 of exactly the TL object that follows, then padding."""
        neither = f"neither RSA_PAD ({rsa_pad_error}) nor the legacy form"
        try:
            digest, rest = key.decrypt_legacy_parts(encrypted)
            reader = Reader(rest)
            inner = reader.read_object()
        except (SecurityError, DecodeError) as exc:
            raise SecurityError("rsa", f"{neither} ({exc})") from exc
        if not hmac.compare_digest(digest, crypto.sha1(rest[: reader.position])):
            raise SecurityError("rsa", f"{neither} (legacy SHA1 does not match)")
        return inner

    def _on_set_client_dh_params(self, request: Any) -> bytes:
        _expect(request, functions.SetClientDHParams)
        _check_equal("nonce", request.nonce, self._nonce)
        _check_equal("server_nonce", request.server_nonce, self._server_nonce)
        inner = self._open_hashed(
            request.encrypted_data, "encrypted_data", "data", types.ClientDHInnerData
        )
        if inner.retry_id != self._expected_retry_id:
            raise SecurityError(
                "retry_id", f"got {inner.retry_id}, expected {self._expected_retry_id} "
                "(0 first, then the aux hash of the key dh_gen_retry rejected)"
            )
        if len(inner.g_b) > 256:
            raise SecurityError("g_b", f"g_b has {len(inner.g_b)} bytes, at most 256")
        g_b = int.from_bytes(inner.g_b, "big")
        crypto.check_dh_value(g_b, self._dh_prime, "g_b")
        auth_key = _big_endian(modexp(g_b, self._a, self._dh_prime), 256)
        nonces = {"nonce": self._nonce, "server_nonce": self._server_nonce}
        if self._auth_key_id_in_use is not None and self._auth_key_id_in_use(
            crypto.auth_key_id(auth_key)
        ):
            if self._retries >= MAX_DH_GEN_RETRIES:
                answer = self._answer(
                    types.DhGenFail(
                        **nonces,
                        new_nonce_hash3=crypto.new_nonce_hash(self._new_nonce, auth_key, 3),
                    )
                )
                self._fail(SecurityError(
                    "dh_gen_fail", f"every key id collided ({MAX_DH_GEN_RETRIES} retries)"
                ))
                return answer
            self._retries += 1
            self._expected_retry_id = _long_le(crypto.auth_key_aux_hash(auth_key))
            return self._answer(
                types.DhGenRetry(
                    **nonces, new_nonce_hash2=crypto.new_nonce_hash(self._new_nonce, auth_key, 2)
                )
            )
        answer = self._answer(
            types.DhGenOk(
                **nonces, new_nonce_hash1=crypto.new_nonce_hash(self._new_nonce, auth_key, 1)
            )
        )
        self._result = AuthKeyResult(
            auth_key, _server_salt(self._new_nonce, self._server_nonce), 0, self._expires_in
        )
        self._clear_secrets()
        self._step = _Step.DONE
        return answer
