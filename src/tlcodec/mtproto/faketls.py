"""Fake TLS: the client side of an `ee` MTProxy secret's framing (sans-IO).

What goes on the wire (the MTProxy fake-TLS protocol, as MTProxy servers check it):

1. The client's TLS 1.3 ClientHello, one record of exactly 517 bytes (`16 03 01 02 00`, a
   handshake of 508 bytes), naming the secret's domain in its SNI. Its 32-byte `random` is
   HMAC-SHA256(secret, the hello with `random` zeroed), whose last 4 bytes are XORed with the
   client's Unix time (little-endian): the proxy knows the client has the secret, and refuses a
   replay or a clock far off.
2. The server answers a ServerHello record, a ChangeCipherSpec record and one application-data
   record; the ServerHello's `random` is HMAC-SHA256(secret, the client's random + those three
   records with that `random` zeroed), which the client checks: a server without the secret
   (or anything that is not the proxy) is found out before a byte of MTProto is trusted.
3. After a ChangeCipherSpec record of its own, each side sends its obfuscated MTProto stream
   (the 64-byte init first) in TLS application-data records (`17 03 03` + a 2-byte length).

`FakeTls(Obfuscated(PaddedIntermediate("client"), dc_id=2, secret=key), secret=key,
domain="example.com")` is a `Transport`: `pack` gives the bytes to write (the hello, the
ChangeCipherSpec and the first record on the first call; the client does not wait for the
server's hello), `feed` checks the server's handshake, then unwraps records and hands their
contents to the inner transport. Anything else than the records above is a `FrameError`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import FrameError
from .transports import Obfuscated, RandomBytes, Transport

__all__ = ["CLIENT_HELLO_SIZE", "FakeTls", "client_hello"]

CLIENT_HELLO_SIZE = 517
_RANDOM_AT = 11  # record header (5) + handshake header (4) + client version (2)
_RANDOM_SIZE = 32
_RECORD_HEADER = 5
_HANDSHAKE, _CHANGE_CIPHER_SPEC, _ALERT, _APPLICATION_DATA = 0x16, 0x14, 0x15, 0x17
_TLS12 = b"\x03\x03"
_CHANGE_CIPHER_SPEC_RECORD = bytes([_CHANGE_CIPHER_SPEC]) + _TLS12 + b"\x00\x01\x01"
_MAX_RECORD_OUT = 1 << 14  # TLSPlaintext's limit
# What a peer may send in one record: TLS's ciphertext limit, which fake-TLS servers keep to
# (a little over 2**14); a longer announced record is not TLS.
_MAX_RECORD_IN = (1 << 14) + 2048
# The server's three handshake records: its ServerHello is small; the application-data record
# imitates a certificate (a few kilobytes).
_MAX_SERVER_HELLO = 4096

# A browser-like offer: TLS 1.3 and 1.2 suites, x25519 and the NIST curves, h2 and http/1.1.
_CIPHER_SUITES = (0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
                  0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035)
_SIGNATURE_ALGORITHMS = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)
_GROUPS = (0x001D, 0x0017, 0x0018)
_ALPN = (b"h2", b"http/1.1")


def _u16(value: int) -> bytes:
    return struct.pack(">H", value)


def _vector16(body: bytes) -> bytes:
    return _u16(len(body)) + body


def _extension(kind: int, body: bytes) -> bytes:
    return _u16(kind) + _vector16(body)


def client_hello(secret: bytes, domain: str, *, random_bytes: RandomBytes = os.urandom,
                 now: Callable[[], float] = time.time) -> bytes:
    """The signed 517-byte ClientHello record for `domain` (see the module doc, step 1)."""
    if len(secret) != 16:
        raise ValueError(f"the fake-TLS key is 16 bytes, got {len(secret)}")
    name = domain.encode("ascii")
    session_id = random_bytes(32)
    share = X25519PrivateKey.from_private_bytes(random_bytes(32)).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)
    extensions = b"".join((
        _extension(0x0000, _vector16(b"\x00" + _vector16(name))),  # server_name
        _extension(0x0017, b""),  # extended_master_secret
        _extension(0xFF01, b"\x00"),  # renegotiation_info
        _extension(0x000A, _vector16(b"".join(map(_u16, _GROUPS)))),  # supported_groups
        _extension(0x000B, b"\x01\x00"),  # ec_point_formats: uncompressed
        _extension(0x0023, b""),  # session_ticket
        _extension(0x0010, _vector16(b"".join(bytes([len(p)]) + p for p in _ALPN))),
        _extension(0x0005, b"\x01\x00\x00\x00\x00"),  # status_request (OCSP)
        _extension(0x000D, _vector16(b"".join(map(_u16, _SIGNATURE_ALGORITHMS)))),
        _extension(0x0012, b""),  # signed_certificate_timestamp
        _extension(0x0033, _vector16(_u16(0x001D) + _vector16(share))),  # key_share: x25519
        _extension(0x002D, b"\x01\x01"),  # psk_key_exchange_modes: psk_dhe_ke
        _extension(0x002B, b"\x04\x03\x04\x03\x03"),  # supported_versions: 1.3, 1.2
    ))
    body = (_TLS12 + bytes(_RANDOM_SIZE) + bytes([len(session_id)]) + session_id
            + _vector16(b"".join(map(_u16, _CIPHER_SUITES))) + b"\x01\x00")
    # Padding (extension 21) brings the record to the fixed size MTProxy servers look for.
    fixed = _RECORD_HEADER + 4 + len(body) + 2 + len(extensions) + 4
    padding = CLIENT_HELLO_SIZE - fixed
    if padding < 0:
        raise ValueError(f"the domain is too long for the fake-TLS hello ({len(name)} bytes)")
    extensions += _extension(0x0015, bytes(padding))
    body += _vector16(extensions)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    record = bytearray(bytes([_HANDSHAKE]) + b"\x03\x01" + _u16(len(handshake)) + handshake)
    assert len(record) == CLIENT_HELLO_SIZE
    digest = bytearray(hmac.new(secret, record, hashlib.sha256).digest())
    stamp = struct.pack("<I", int(now()) & 0xFFFFFFFF)
    for i in range(4):
        digest[28 + i] ^= stamp[i]
    record[_RANDOM_AT:_RANDOM_AT + _RANDOM_SIZE] = digest
    return bytes(record)


class FakeTls(Transport):
    """The client's fake-TLS layer around an obfuscated transport keyed with the same secret
    (see the module doc). Client role only: servers are the MTProxy's business."""

    NAME = "fake-tls"

    def __init__(self, inner: Obfuscated, *, secret: bytes, domain: str,
                 random_bytes: RandomBytes = os.urandom,
                 now: Callable[[], float] = time.time) -> None:
        if not isinstance(inner, Obfuscated) or not inner.is_client:
            raise ValueError("fake TLS carries a client's obfuscated transport")
        super().__init__("client", max_frame=inner.max_frame, random_bytes=random_bytes)
        self.inner = inner
        self.quick_acks = inner.quick_acks
        self._secret = bytes(secret)
        self._hello = client_hello(self._secret, domain, random_bytes=random_bytes, now=now)
        self._hello_to_send = self._hello + _CHANGE_CIPHER_SPEC_RECORD
        self._records = bytearray()  # received bytes not yet a whole record
        self._server_hello: bytearray | None = bytearray()  # None once checked
        self._server_records = 0

    @property
    def buffered(self) -> int:
        return len(self._records) + self.inner.buffered

    # -- sending ------------------------------------------------------------------------------

    def pack(self, payload: bytes, *, quick_ack: bool = False) -> bytes:
        return self._wrap(self.inner.pack(payload, quick_ack=quick_ack))

    def _wrap(self, data: bytes) -> bytes:
        out = [self._hello_to_send] if self._hello_to_send else []
        self._hello_to_send = b""
        for start in range(0, len(data), _MAX_RECORD_OUT):
            chunk = data[start:start + _MAX_RECORD_OUT]
            out.append(bytes([_APPLICATION_DATA]) + _TLS12 + _u16(len(chunk)) + chunk)
        return b"".join(out)

    # -- receiving ----------------------------------------------------------------------------

    def _feed(self, data: bytes) -> tuple[list[bytes], set[int]]:
        self._raise_if_failed()
        self._records += data
        contents = []
        try:
            while len(self._records) >= _RECORD_HEADER:
                kind = self._records[0]
                length = int.from_bytes(self._records[3:5], "big")
                self._check_header(kind, length)
                end = _RECORD_HEADER + length
                if len(self._records) < end:
                    break
                record = bytes(self._records[:end])
                del self._records[:end]
                if self._server_hello is not None:
                    self._take_handshake_record(kind, record)
                elif kind == _APPLICATION_DATA:
                    contents.append(record[_RECORD_HEADER:])
        except FrameError as error:
            self._fail(error)
            raise
        return self.inner._feed(b"".join(contents))

    def _check_header(self, kind: int, length: int) -> None:
        if kind == _ALERT:
            raise FrameError("the fake-TLS server sent a TLS alert: it does not take this "
                             "secret or domain")
        if kind not in (_HANDSHAKE, _CHANGE_CIPHER_SPEC, _APPLICATION_DATA):
            raise FrameError(f"not a TLS record: it starts {self._records[:5].hex()}")
        if self._records[1:3] != _TLS12:
            raise FrameError(f"a TLS record of version {self._records[1:3].hex()}, not 0303")
        limit = _MAX_SERVER_HELLO if self._server_hello is not None else _MAX_RECORD_IN
        if length == 0 or length > limit:
            raise FrameError(f"a TLS record of {length} bytes (at most {limit} expected here)")

    def _take_handshake_record(self, kind: int, record: bytes) -> None:
        """The server's ServerHello, ChangeCipherSpec and first application-data records."""
        assert self._server_hello is not None
        expected = (_HANDSHAKE, _CHANGE_CIPHER_SPEC, _APPLICATION_DATA)[self._server_records]
        if kind != expected:
            raise FrameError(f"the fake-TLS server's record {self._server_records + 1} is of "
                             f"type {kind:#04x}, expected {expected:#04x}")
        if kind == _HANDSHAKE and len(record) < _RANDOM_AT + _RANDOM_SIZE:
            raise FrameError(f"the fake-TLS ServerHello is {len(record)} bytes, too short")
        self._server_hello += record
        self._server_records += 1
        if self._server_records < 3:
            return
        hello = self._server_hello
        received = bytes(hello[_RANDOM_AT:_RANDOM_AT + _RANDOM_SIZE])
        hello[_RANDOM_AT:_RANDOM_AT + _RANDOM_SIZE] = bytes(_RANDOM_SIZE)
        client_random = self._hello[_RANDOM_AT:_RANDOM_AT + _RANDOM_SIZE]
        expected_digest = hmac.new(self._secret, client_random + hello, hashlib.sha256).digest()
        if not hmac.compare_digest(received, expected_digest):
            raise FrameError("the fake-TLS server's hello is not signed with the proxy's "
                             "secret: this is not the MTProxy the link names")
        self._server_hello = None
