"""Telethon 1.45's own client half of the auth-key exchange, run in memory against our
`ServerAuthKeyExchange`: used by the tests (an implementation nobody here wrote, as the peer)
and by the benchmarks (the Telethon column). Importing this needs Telethon."""

from __future__ import annotations

import collections
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa as crypto_rsa
from telethon.crypto import rsa as telethon_rsa
from telethon.errors import SecurityError as TelethonSecurityError
from telethon.network import authenticator
from telethon.network.mtprotoplainsender import MTProtoPlainSender

from tlcodec.crypto import RSAPublicKey
from tlcodec.mtproto.authkey import ServerAuthKeyExchange

__all__ = ["TelethonSecurityError", "authenticator", "telethon_authenticate", "telethon_trusting"]


class InMemoryConnection:
    """What Telethon's MTProtoPlainSender talks to: each sent payload goes to our server."""

    def __init__(self, server: ServerAuthKeyExchange) -> None:
        self.server = server
        self._answer = b""

    async def send(self, payload: bytes) -> None:
        self._answer = self.server.receive(payload)

    async def recv(self) -> bytes:
        return self._answer


def _run_to_completion(coroutine: Any) -> Any:
    """Run a coroutine that never really waits (everything here is in memory), without a loop."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise AssertionError("the coroutine waited for something")


def telethon_authenticate(server: ServerAuthKeyExchange) -> bytes:
    """Telethon's do_authentication over its own plain sender, against `server`; the key it
    made, as Telethon holds it (unpadded: ~1 in 256 keys start with a zero byte). Raises
    Telethon's SecurityError where Telethon's own checks refuse the exchange."""
    loggers = collections.defaultdict(lambda: logging.getLogger("telethon-peer"))
    sender = MTProtoPlainSender(InMemoryConnection(server), loggers=loggers)
    auth_key, _time_offset = _run_to_completion(authenticator.do_authentication(sender))
    return auth_key.key


@contextlib.contextmanager
def telethon_trusting(key: RSAPublicKey) -> Iterator[None]:
    """Telethon trusts only its built-in keys: add `key` meanwhile, then restore its table."""
    saved = dict(telethon_rsa._server_keys)
    public = crypto_rsa.RSAPublicNumbers(key.e, key.n).public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    telethon_rsa.add_key(pem.decode(), old=False)
    try:
        yield
    finally:
        telethon_rsa._server_keys.clear()
        telethon_rsa._server_keys.update(saved)
