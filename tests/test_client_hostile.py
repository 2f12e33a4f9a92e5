"""The client against input an outside audit found it mishandled: server keys given in the
wrong form or of the wrong size (refused when the `Client` is made, not deep in the first key
exchange), RSA_PAD with a key or a `random_bytes` that can never satisfy it (bounded, not an
endless loop), and a DC that refuses every new auth key with transport error -404 (the calls
fail with that error, not with a timeout).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tlcodec import crypto, functions
from tlcodec.client import Client, Session
from tlcodec.client.connection import MAX_REFUSED_NEW_KEYS
from tlcodec.client.storage import DcAuth
from tlcodec.mtproto.errors import TransportError
from tlcodec.testing import DataCentres, HeldRequest

from support import API_HASH, API_ID, client_for, cluster, rsa_key, run_scenario


def _public_pem(key: Any, form: serialization.PublicFormat) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, form)


def _test_dcs_private_key() -> Any:
    """The test DCs' key as a `cryptography` key, to write its public half in any PEM form."""
    return serialization.load_pem_private_key(rsa_key().to_pem(), password=None)


# ----------------------------------------------------------------------------------------------
# Server keys: what rsa_keys takes


@pytest.mark.parametrize("form", [serialization.PublicFormat.PKCS1,
                                  serialization.PublicFormat.SubjectPublicKeyInfo])
@pytest.mark.parametrize("as_text", [True, False])
def test_a_pem_server_key_is_used_for_the_key_exchange(
        form: serialization.PublicFormat, as_text: bool) -> None:
    pem = _public_pem(_test_dcs_private_key(), form)
    given = pem.decode("ascii") if as_text else pem

    async def scenario() -> None:
        async with cluster(dc_ids=(2,)) as dcs:
            host, port = dcs.address(2)
            async with Client(API_ID, API_HASH, dc=(2, host, port), rsa_keys=[given]) as client:
                assert (await client.invoke(functions.help.GetConfig())).this_dc == 2

    run_scenario(scenario)


def test_server_keys_are_taken_as_objects_and_pem_alike() -> None:
    public = rsa_key().public_key
    pkcs1 = _public_pem(_test_dcs_private_key(), serialization.PublicFormat.PKCS1)
    any_iterable = (key for key in [public, pkcs1.decode(), pkcs1])
    client = Client(API_ID, API_HASH, rsa_keys=any_iterable)
    trusted = client._settings.public_keys
    assert trusted[-3:] == (public, public, public)
    assert set(crypto.telegram_public_keys().values()) <= set(trusted)


def _small_key_pem() -> str:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return _public_pem(small, serialization.PublicFormat.PKCS1).decode()


def _ec_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return _public_pem(key, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


# id: (what rsa_keys is, the error, what its message says)
WRONG_SERVER_KEYS: dict[str, tuple[Callable[[], Any], type[Exception], str]] = {
    "1024-bit": (lambda: [_small_key_pem()], ValueError,
                 r"rsa_keys\[0\]: .*2048-bit modulus.* has 1024"),
    "4096-bit": (lambda: [crypto.RSAPublicKey((1 << 4095) | 1, 65537)], ValueError,
                 r"rsa_keys\[0\]: .*2048-bit modulus.* has 4096"),
    "exponent-1": (lambda: [crypto.RSAPublicKey((1 << 2047) | 1, 1)], ValueError,
                   r"rsa_keys\[0\]: the public exponent 1 is not"),
    "not-pem": (lambda: [crypto.telegram_public_keys()["production"], "not a key"], ValueError,
                r"rsa_keys\[1\]: not a PEM-encoded RSA public key"),
    "ec-key": (lambda: [_ec_key_pem()], ValueError,
               r"rsa_keys\[0\]: not a PEM-encoded RSA public key"),
    # The server's private key: never something a client should hold.
    "private-key": (lambda: [rsa_key().to_pem()], ValueError,
                    r"rsa_keys\[0\]: not a PEM-encoded RSA public key"),
    "int": (lambda: [42], TypeError,
            r"rsa_keys\[0\]: a server key is an RSAPublicKey or PEM text or bytes, not int"),
    "none": (lambda: [None], TypeError, r"rsa_keys\[0\]: .* not NoneType"),
    "one-pem": (lambda: _small_key_pem(), TypeError,
                "rsa_keys is a list of keys; put a single key in a list"),
    "one-key": (lambda: crypto.telegram_public_keys()["production"], TypeError,
                "rsa_keys is a list of keys; put a single key in a list"),
    "not-iterable": (lambda: 7, TypeError, "rsa_keys is a list of keys, not int"),
}


@pytest.mark.parametrize("kind", list(WRONG_SERVER_KEYS))
def test_a_wrong_server_key_is_refused_when_the_client_is_made(kind: str) -> None:
    make_rsa_keys, error, message = WRONG_SERVER_KEYS[kind]
    with pytest.raises(error, match=message):
        Client(API_ID, API_HASH, rsa_keys=make_rsa_keys())


# ----------------------------------------------------------------------------------------------
# RSA_PAD: bounded whatever the key and the randomness


class CountingRandom:
    """os.urandom that fails the test past `limit` calls: a loop that would never end does."""

    def __init__(self, limit: int = 10_000, constant: int | None = None) -> None:
        self.calls = 0
        self.limit = limit
        self.constant = constant

    def __call__(self, n: int) -> bytes:
        self.calls += 1
        if self.calls > self.limit:
            raise AssertionError(f"random_bytes called {self.calls} times: an endless loop")
        return bytes([self.constant]) * n if self.constant is not None else os.urandom(n)


def test_rsa_pad_refuses_a_key_below_2048_bits_instead_of_looping() -> None:
    small = crypto.RSAPrivateKey.generate(bits=1024).public_key
    with pytest.raises(ValueError, match="2048-bit modulus"):
        small.encrypt_rsa_pad(b"inner data", CountingRandom())


def test_rsa_pad_gives_up_when_random_bytes_is_not_random() -> None:
    # A random_bytes of constant bytes draws the same temp_key every time, so step 8's "below
    # n" test gives the same answer on every draw. With n just above 2^2047 that answer is "no"
    # for about half the inputs: for those, RSA_PAD must give up, not draw for ever.
    key = crypto.RSAPublicKey((1 << 2047) | 1, 65537)
    for counter in range(64):
        random_bytes = CountingRandom(constant=0xFF)
        try:
            key.encrypt_rsa_pad(counter.to_bytes(4, "big"), random_bytes)
        except RuntimeError as exc:
            assert "random_bytes does not look random" in str(exc)
            assert random_bytes.calls == 1 + crypto.RSA_PAD_ATTEMPTS  # padding, then temp keys
            return
    pytest.fail("no input made the constant temp_key fail step 8 (chance 2^-64)")


def test_rsa_pad_still_round_trips() -> None:
    private = rsa_key()
    encrypted = private.public_key.encrypt_rsa_pad(b"inner data")
    assert private.decrypt_rsa_pad(encrypted)[:10] == b"inner data"


# ----------------------------------------------------------------------------------------------
# A DC that refuses every new key


def _refuse_keys(dcs: DataCentres, how_many: int | None) -> list[bytes]:
    """DC 2 answers the first message under each new key with -404 after forgetting the key
    (a DC that keeps none), `how_many` times (None: always). Returns the refused key ids."""
    refused: list[bytes] = []

    def refuse(held: HeldRequest) -> bool:
        if how_many is not None and len(refused) >= how_many:
            return False
        # The rest of a container after the first refused request finds the key gone already.
        refused.extend(dcs.auth_key_ids(2))
        dcs.forget_auth_keys(2)
        dcs.send_transport_error(-404, 2)
        return True

    dcs.request_hook = refuse
    return refused


def test_a_dc_refusing_every_new_key_fails_the_calls_with_its_transport_error() -> None:
    timeout = 20.0

    async def scenario() -> None:
        async with cluster(dc_ids=(2,)) as dcs:
            refused = _refuse_keys(dcs, None)
            async with client_for(dcs, reconnect_delay=0.01, max_reconnect_delay=0.1) as client:
                started = time.monotonic()
                calls = [asyncio.ensure_future(client.invoke(functions.help.GetConfig(),
                                                             timeout=timeout))
                         for _ in range(3)]
                results = await asyncio.gather(*calls, return_exceptions=True)
                elapsed = time.monotonic() - started
                assert all(isinstance(result, TransportError) and result.code == -404
                           for result in results), results
                assert "no such auth key" in str(results[0])
                assert elapsed < timeout / 4, elapsed  # the refusals, not the timeout
                assert len(refused) == MAX_REFUSED_NEW_KEYS
                connection = client.connection(2)
                assert connection.in_flight == 0
                assert connection.auth_key is None and client.session.dc(2).auth_key is None
                with pytest.raises(TransportError) as caught:  # and later calls at once
                    await client.invoke(functions.help.GetConfig())
                assert caught.value.code == -404

    run_scenario(scenario)


@pytest.mark.parametrize("stored_key", [False, True], ids=["no-key", "stored-key-unknown"])
def test_new_keys_refused_fewer_times_in_a_row_are_retried(stored_key: bool) -> None:
    # A stored key the DC does not know (-404 too) is no new key refused: it does not count.
    async def scenario() -> None:
        async with cluster(dc_ids=(2,)) as dcs:
            session = Session()
            if stored_key:
                host, port = dcs.address(2)
                session.home_dc = 2
                session.dcs[2] = DcAuth(2, host, port, b"\x07" * 256, server_salt=1)
            refused = _refuse_keys(dcs, MAX_REFUSED_NEW_KEYS - 1)
            async with client_for(dcs, session=session, reconnect_delay=0.01,
                                  max_reconnect_delay=0.1) as client:
                config = await client.invoke(functions.help.GetConfig(), timeout=20)
                assert config.this_dc == 2
                assert len(refused) == MAX_REFUSED_NEW_KEYS - 1
                connection = client.connection(2)
                assert dcs.auth_key_ids(2) == [crypto.auth_key_id(connection.auth_key)]
                assert connection.connections_made == MAX_REFUSED_NEW_KEYS + stored_key

    run_scenario(scenario)
