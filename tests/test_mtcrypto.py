"""The compiled MTProto message cipher (tlcodec._mtcrypto) against its Python twin
(tlcodec.crypto.PythonMessageCipher: hashlib + AES-ECB chained in Python): the same bytes for any
input, the golden vectors through both, tampering rejected by both, and the fallback when the
compiled one is switched off; likewise its AES-IGE and pq factorization against the portable
ones (the same bytes, the same rho steps), and hostile pq values refused in bounded time.

`crypto.MessageCipher` is the compiled class unless TLCODEC_NO_EXTENSIONS=1 (the twin run of
CI, which so runs the whole suite over the Python cipher) or TLCODEC_NO_EXTENSIONS=cipher. The
comparison tests use `tlcodec._mtcrypto` directly, in both runs, wherever it is built and found
a libcrypto.
"""

from __future__ import annotations

import os
import random
import struct
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlcodec import _runtime, crypto
from tlcodec import types as T
from tlcodec.crypto import PythonMessageCipher, SecurityError
from tlcodec.functions.auth import ImportLoginToken
from tlcodec.mtproto import session as session_module
from tlcodec.mtproto.events import MessageDropped, RequestReceived, RpcResult
from tlcodec.mtproto.client_session import ClientSession
from tlcodec.mtproto.server_session import ServerSession
from tlcodec.mtproto.session import EncryptedSession

from support import reference_vectors
from support import rsa_key

SWITCHED_OFF = "cipher" in _runtime.PLAIN_REQUESTED
GRAMMERS_KEY = bytes(range(256))
HEADER = struct.Struct("<qqqii")


def _compiled_module() -> tuple[Any, str | None]:
    """The compiled module, and why it cannot be used (None when it can)."""
    try:
        from tlcodec import _mtcrypto
    except ImportError as error:  # pragma: no cover - a build without the extension
        return None, f"tlcodec._mtcrypto is not built ({error})"
    return _mtcrypto, _mtcrypto.LOAD_ERROR


_MODULE, _UNAVAILABLE = _compiled_module()
needs_compiled = pytest.mark.skipif(
    _UNAVAILABLE is not None, reason=f"compiled cipher unavailable: {_UNAVAILABLE}"
)


def both(auth_key: bytes, from_client: bool, random_bytes: Any = os.urandom,
         pool_size: int = 2048) -> tuple[Any, PythonMessageCipher]:
    assert _MODULE is not None
    return (_MODULE.MessageCipher(auth_key, from_client, random_bytes, pool_size),
            PythonMessageCipher(auth_key, from_client, random_bytes, pool_size))


def pool_of(first: bytes) -> Any:
    """A `random_bytes` whose every answer starts with `first` (then zeros)."""
    return lambda n: (first + bytes(n))[:n]


# ----------------------------------------------------------------------------------------------
# Which one runs


def test_compiled_cipher_is_the_one_in_use_unless_switched_off() -> None:
    """Fails when the compiled cipher did not load on this machine (a silent fallback would
    cost ~2.5 us per message). Its only skips: the variables that switch it off on purpose,
    and Windows, where the module has no dlopen and the Python cipher is the design."""
    if SWITCHED_OFF:
        pytest.skip("switched off by TLCODEC_NO_EXTENSIONS")
    if sys.platform == "win32":  # pragma: no cover
        pytest.skip("no dlopen on Windows: the Python cipher is used there")
    assert crypto.FAST_CRYPTO, f"compiled cipher not loaded: {crypto.FAST_CRYPTO_ERROR}"
    assert crypto.FAST_CRYPTO_ERROR is None
    assert _MODULE is not None and crypto.MessageCipher is _MODULE.MessageCipher
    assert _MODULE.LIBRARY and "crypto" in os.path.basename(_MODULE.LIBRARY)


def test_switched_off_run_uses_the_python_cipher_and_says_why() -> None:
    if not SWITCHED_OFF:
        pytest.skip("the compiled cipher is on in this run (the subprocess test covers off)")
    assert not crypto.FAST_CRYPTO
    assert crypto.MessageCipher is PythonMessageCipher
    assert "TLCODEC_NO_EXTENSIONS" in (crypto.FAST_CRYPTO_ERROR or "")


def test_switching_the_cipher_off_alone_selects_the_python_cipher_and_a_session_still_works(
) -> None:
    """A fresh interpreter with TLCODEC_NO_EXTENSIONS=cipher: the Python cipher beside the other
    compiled parts, and a client and a server session exchange a request and its answer."""
    program = textwrap.dedent(
        """
        from tlcodec import crypto, types
        from tlcodec.functions.auth import ImportLoginToken
        from tlcodec.mtproto.events import RequestReceived, RpcResult
        from tlcodec.mtproto.client_session import ClientSession
        from tlcodec.mtproto.server_session import ServerSession
        assert not crypto.FAST_CRYPTO, crypto.FAST_CRYPTO_ERROR
        assert crypto.MessageCipher is crypto.PythonMessageCipher
        print(crypto.FAST_CRYPTO_ERROR)
        key = bytes(range(256))
        client = ClientSession(key, server_salt=1)
        server = ServerSession(key, server_salt=1)
        assert type(client._out_cipher) is crypto.PythonMessageCipher
        client.send(ImportLoginToken(token=b"t" * 32))
        events = server.receive(client.pack())
        (received,) = [e for e in events if isinstance(e, RequestReceived)]
        answer = types.auth.LoginTokenMigrateTo(dc_id=2, token=b"m")
        server.answer(received.msg_id, answer)
        events = []
        while (payload := server.pack()) is not None:
            events += client.receive(payload)
        assert [e.result for e in events if isinstance(e, RpcResult)] == [answer], events
        print("ok")
        """
    )
    env = {**os.environ, "TLCODEC_NO_EXTENSIONS": "cipher"}
    result = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["TLCODEC_NO_EXTENSIONS", "asks", "for", "it", "ok"]


def _libc() -> str:
    import ctypes.util

    return ctypes.util.find_library("c") or "libc.so.6"


@needs_compiled
@pytest.mark.skipif(sys.platform == "win32", reason="no dlopen on Windows")
@pytest.mark.parametrize("library, reason", [
    (_libc(), "libcrypto lacks SHA256_Init"),
    ("/nonexistent/libcrypto.so.3", "/nonexistent/libcrypto.so.3: "),
], ids=["without_the_symbols", "missing"])
def test_an_unusable_libcrypto_falls_back_to_the_python_cipher_and_says_why(
    library: str, reason: str
) -> None:
    """TLCODEC_LIBCRYPTO names the only library to try: one without OpenSSL's symbols, or none
    at all, leaves the import working, the Python cipher in use, and the reason readable."""
    program = textwrap.dedent(
        """
        import pytest
        from tlcodec import _mtcrypto, crypto
        from tlcodec.mtproto.client_session import ClientSession
        from tlcodec.mtproto.server_session import ServerSession
        assert not crypto.FAST_CRYPTO and crypto.MessageCipher is crypto.PythonMessageCipher
        assert _mtcrypto.LIBRARY is None and _mtcrypto.LOAD_ERROR in crypto.FAST_CRYPTO_ERROR
        with pytest.raises(RuntimeError, match="unavailable: no usable libcrypto"):
            _mtcrypto.MessageCipher(bytes(256), True)
        client = ClientSession(bytes(range(256)), server_salt=1)
        server = ServerSession(bytes(range(256)), server_salt=1)
        client.enqueue(b"\\x00" * 8, content_related=False)
        assert [type(e).__name__ for e in server.receive(client.pack())] == [
            "ClientSessionStarted", "MessageSkipped"]  # decrypted; its body is no TL object
        print(crypto.FAST_CRYPTO_ERROR)
        """
    )
    env = {**os.environ, "TLCODEC_LIBCRYPTO": library}
    for variable in ("TLCODEC_NO_EXTENSIONS", "TLCODEC_REQUIRE_EXTENSIONS"):
        env.pop(variable, None)
    result = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert reason in result.stdout


# ----------------------------------------------------------------------------------------------
# Same bytes as the Python cipher

auth_keys = st.binary(min_size=256, max_size=256)
plaintexts = st.integers(0, 64).flatmap(lambda blocks: st.binary(min_size=16 * blocks,
                                                                 max_size=16 * blocks))


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(auth_key=auth_keys, from_client=st.booleans(), plaintext=plaintexts)
def test_encrypt_and_decrypt_give_the_python_ciphers_bytes(
    auth_key: bytes, from_client: bool, plaintext: bytes
) -> None:
    compiled, python = both(auth_key, from_client)
    sealed = compiled.encrypt(plaintext)
    assert sealed == python.encrypt(plaintext)
    assert compiled.decrypt(sealed[:16], sealed[16:]) == plaintext
    assert python.decrypt(sealed[:16], sealed[16:]) == plaintext
    assert compiled.auth_key_id == python.auth_key_id == crypto.auth_key_id(auth_key)


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(
    auth_key=auth_keys,
    from_client=st.booleans(),
    header=st.tuples(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**63), 2**63 - 1),
                     st.integers(0, 2**63 - 1), st.integers(0, 2**31 - 1)),
    body_words=st.integers(1, 100),
    data=st.data(),
)
def test_encrypt_message_gives_the_python_ciphers_payload(
    auth_key: bytes, from_client: bool, header: tuple[int, int, int, int], body_words: int,
    data: st.DataObject,
) -> None:
    body = data.draw(st.binary(min_size=4 * body_words, max_size=4 * body_words))
    least = 12 + (-(32 + len(body) + 12) % 16)
    padding_size = data.draw(st.sampled_from([least + 16 * k for k in range(4)]))
    padding = data.draw(st.binary(min_size=padding_size, max_size=padding_size))
    compiled, python = both(auth_key, from_client, pool_of(padding))
    payload = compiled.encrypt_message(*header, body, padding_size)
    assert payload == python.encrypt_message(*header, body, padding_size)
    plaintext = HEADER.pack(*header, len(body)) + body + padding
    assert payload == crypto.auth_key_id(auth_key) + python.encrypt(plaintext)
    assert compiled.decrypt_message(payload) == plaintext == python.decrypt_message(payload)


@needs_compiled
@settings(max_examples=100, deadline=None)
@given(auth_key=auth_keys, from_client=st.booleans(), msg_key=st.binary(min_size=16, max_size=16))
def test_message_key_derivation_matches_the_crypto_functions(
    auth_key: bytes, from_client: bool, msg_key: bytes
) -> None:
    compiled, python = both(auth_key, from_client)
    expected = crypto.message_aes_key_iv(auth_key, msg_key, from_client)
    assert compiled.message_aes_key_iv(msg_key) == expected == python.message_aes_key_iv(msg_key)


@needs_compiled
def test_a_one_mebibyte_message_gives_the_same_bytes() -> None:
    auth_key = bytes((i * 73 + 19) % 256 for i in range(256))
    plaintext = bytes(range(256)) * 4096
    compiled, python = both(auth_key, True)
    sealed = compiled.encrypt(plaintext)
    assert sealed == python.encrypt(plaintext)
    assert compiled.decrypt(sealed[:16], sealed[16:]) == plaintext


@needs_compiled
def test_bytes_like_inputs_are_accepted_like_bytes() -> None:
    compiled, python = both(GRAMMERS_KEY, True)
    plaintext = bytes(range(64))
    sealed = compiled.encrypt(plaintext)
    for cipher in (compiled, python):
        assert cipher.encrypt(bytearray(plaintext)) == sealed
        assert cipher.encrypt(memoryview(plaintext)) == sealed
        assert cipher.decrypt(bytearray(sealed[:16]), memoryview(sealed[16:])) == plaintext
        payload = cipher.auth_key_id + sealed
        assert cipher.decrypt_message(bytearray(payload)) == plaintext


@needs_compiled
def test_default_padding_is_the_least_for_every_body_length() -> None:
    for cipher in both(GRAMMERS_KEY, True):
        for words in range(1, 41):
            body = bytes(4 * words)
            expected = session_module.minimal_padding(32 + len(body), os.urandom)
            payload = cipher.encrypt_message(1, 2, 3, 4, body)
            assert len(payload) == 24 + 32 + len(body) + expected, words


@needs_compiled
def test_padding_comes_from_one_pool_refilled_when_short_the_same_way_in_both() -> None:
    """Consecutive slices of one `random_bytes(pool_size)` answer; when the rest is too short,
    a new answer (the rest dropped) and one of `padding_size` when that is bigger than the
    pool: the same calls, the same bytes, in both."""
    calls: dict[str, list[int]] = {"compiled": [], "python": []}
    plaintexts: dict[str, list[bytes]] = {"compiled": [], "python": []}

    def recorder(name: str) -> Any:
        def random_bytes(n: int) -> bytes:
            calls[name].append(n)
            return bytes((len(calls[name]) * 16 + i) % 256 for i in range(n))
        return random_bytes

    assert _MODULE is not None
    for name, cls in (("compiled", _MODULE.MessageCipher), ("python", PythonMessageCipher)):
        cipher = cls(GRAMMERS_KEY, True, recorder(name), 64)
        for padding_size in (12, 28, 12, 28, 92, 12):
            payload = cipher.encrypt_message(1, 2, 3, 4, bytes(4), padding_size)
            plaintexts[name].append(cipher.decrypt_message(payload)[36:])
    assert calls["compiled"] == calls["python"] == [64, 64, 92, 64]
    assert plaintexts["compiled"] == plaintexts["python"]
    first, second, third, fourth = (bytes((k * 16 + i) % 256 for i in range(n))
                                    for k, n in ((1, 64), (2, 64), (3, 92), (4, 64)))
    assert plaintexts["python"] == [first[:12], first[12:40], first[40:52], second[:28],
                                    third, fourth[:12]]


@needs_compiled
def test_a_random_bytes_that_returns_too_little_is_an_error_in_both() -> None:
    for cipher in both(GRAMMERS_KEY, True, lambda n: bytes(8)):
        with pytest.raises(ValueError, match="returned"):
            cipher.encrypt_message(1, 2, 3, 4, bytes(4), 92)


# ----------------------------------------------------------------------------------------------
# Golden vectors, through both


@needs_compiled
def test_key_derivation_reproduces_grammers_vectors() -> None:
    group = reference_vectors("mtproto2_key_derivation")
    for name, from_client in (("client_to_server_x0", True), ("server_to_client_x8", False)):
        for cipher in both(GRAMMERS_KEY, from_client):
            key, iv = cipher.message_aes_key_iv(bytes(range(16)))
            assert key.hex().upper() == group[name]["aes_key"]
            assert iv.hex().upper() == group[name]["aes_iv"]


@needs_compiled
def test_client_message_reproduces_grammers_vector() -> None:
    group = reference_vectors("encrypted_client_message_grammers")
    plaintext = group["plaintext_ascii"].encode() + bytes.fromhex(group["padding_hex"])
    output = bytes.fromhex(group["output"])
    for cipher in both(GRAMMERS_KEY, True):
        assert cipher.auth_key_id.hex().upper() == group["auth_key_id"]
        assert (cipher.auth_key_id + cipher.encrypt(plaintext)).hex().upper() == group["output"]
        assert cipher.decrypt_message(output) == plaintext
    for cipher in both(GRAMMERS_KEY, False):  # the other direction's keys do not open it
        assert cipher.decrypt_message(output) is None


@needs_compiled
def test_server_message_reproduces_grammers_vector() -> None:
    group = reference_vectors("encrypted_server_message_grammers")
    auth_key = bytes.fromhex(group["auth_key"])
    payload = bytes.fromhex(group["encrypted_message"])
    plaintext = bytes.fromhex(group["plaintext"])
    salt, session_id, msg_id, seq_no, length = HEADER.unpack_from(plaintext)
    body, padding = plaintext[32 : 32 + length], plaintext[32 + length :]
    for cipher in both(auth_key, False, pool_of(padding)):
        assert cipher.decrypt_message(payload) == plaintext
        assert cipher.encrypt_message(salt, session_id, msg_id, seq_no, body) == payload
    for cipher in both(auth_key, True):
        assert cipher.decrypt_message(payload) is None


# ----------------------------------------------------------------------------------------------
# Tampering


@needs_compiled
@settings(max_examples=200, deadline=None)
@given(from_client=st.booleans(), blocks=st.integers(1, 8), data=st.data())
def test_any_flipped_bit_of_msg_key_or_ciphertext_is_rejected_by_both(
    from_client: bool, blocks: int, data: st.DataObject
) -> None:
    plaintext = data.draw(st.binary(min_size=16 * blocks, max_size=16 * blocks))
    compiled, python = both(GRAMMERS_KEY, from_client)
    payload = bytearray(compiled.auth_key_id + compiled.encrypt(plaintext))
    bit = data.draw(st.integers(8 * 8, 8 * len(payload) - 1))  # past the auth_key_id
    payload[bit // 8] ^= 1 << (bit % 8)
    assert compiled.decrypt_message(bytes(payload)) is None
    assert python.decrypt_message(bytes(payload)) is None
    assert compiled.decrypt(payload[8:24], payload[24:]) is None
    assert python.decrypt(payload[8:24], payload[24:]) is None


@needs_compiled
@pytest.mark.parametrize("from_client", [True, False])
def test_every_byte_of_msg_key_and_of_each_ciphertext_block_is_checked_by_both(
    from_client: bool,
) -> None:
    """Each msg_key byte, and the first and last byte of each ciphertext block, flipped in
    turn: deterministic coverage of every position class the random-bit test may miss."""
    compiled, python = both(GRAMMERS_KEY, from_client)
    payload = compiled.auth_key_id + compiled.encrypt(bytes(range(64)))
    positions = list(range(8, 24)) + [p for b in range(24, len(payload), 16) for p in (b, b + 15)]
    for position in positions:
        tampered = bytearray(payload)
        tampered[position] ^= 0x80
        for cipher in (compiled, python):
            assert cipher.decrypt_message(bytes(tampered)) is None, (type(cipher), position)


@needs_compiled
def test_another_auth_key_or_a_short_msg_key_is_rejected_by_both() -> None:
    plaintext = bytes(range(48))
    compiled, _ = both(GRAMMERS_KEY, True)
    sealed = compiled.encrypt(plaintext)
    other_key = bytes((i + 1) % 256 for i in range(256))
    for cipher in both(other_key, True):
        assert cipher.decrypt(sealed[:16], sealed[16:]) is None
    for cipher in both(GRAMMERS_KEY, True):
        assert cipher.decrypt(sealed[:15], sealed[16:]) is None
        assert cipher.decrypt(sealed[:16] + b"\0", sealed[16:]) is None


@needs_compiled
@pytest.mark.parametrize("call", [
    lambda c: c.encrypt(bytes(17)),
    lambda c: c.decrypt(bytes(16), bytes(31)),
    lambda c: c.decrypt_message(bytes(23)),
    lambda c: c.decrypt_message(bytes(24 + 40)),
    lambda c: c.encrypt_message(1, 2, 3, 4, bytes(8), 12),  # 52 bytes
    lambda c: c.message_aes_key_iv(bytes(15)),
], ids=["plaintext", "ciphertext", "payload_short", "payload_unaligned", "message", "msg_key"])
def test_lengths_that_cannot_be_right_raise_in_both(call: Any) -> None:
    for cipher in both(GRAMMERS_KEY, True):
        with pytest.raises(ValueError):
            call(cipher)


@needs_compiled
def test_an_auth_key_of_the_wrong_size_is_refused_by_both() -> None:
    assert _MODULE is not None
    for cls in (_MODULE.MessageCipher, PythonMessageCipher):
        with pytest.raises(ValueError, match="256 bytes, got 255"):
            cls(bytes(255), True)


# ----------------------------------------------------------------------------------------------
# Sessions with one cipher on each side


@needs_compiled
@pytest.mark.parametrize("client_cipher", ["compiled", "python"])
def test_a_session_on_one_cipher_talks_to_a_session_on_the_other(
    monkeypatch: pytest.MonkeyPatch, client_cipher: str
) -> None:
    assert _MODULE is not None
    classes = {"compiled": _MODULE.MessageCipher, "python": PythonMessageCipher}
    server_cipher = "python" if client_cipher == "compiled" else "compiled"
    # The module whose globals the sessions' shared core reads (the compiled build, where there
    # is one): it makes their ciphers.
    class_module = sys.modules[EncryptedSession.__module__]
    monkeypatch.setattr(class_module, "MessageCipher", classes[client_cipher])
    client = ClientSession(GRAMMERS_KEY, server_salt=7)
    monkeypatch.setattr(class_module, "MessageCipher", classes[server_cipher])
    server = ServerSession(GRAMMERS_KEY, server_salt=7)
    assert type(client._out_cipher) is classes[client_cipher]
    assert type(server._in_cipher) is classes[server_cipher]

    request = ImportLoginToken(token=bytes(range(32)))
    pending = client.send(request)
    received = [e for e in server.receive(client.pack()) if isinstance(e, RequestReceived)]
    assert [e.request for e in received] == [request]
    answer = T.auth.LoginTokenMigrateTo(dc_id=2, token=b"migrate")
    server.answer(received[0].msg_id, answer)
    events = []
    while (payload := server.pack()) is not None:
        events += client.receive(payload)
    assert [e.result for e in events if isinstance(e, RpcResult)] == [answer]
    assert pending.state == "done"

    client.send(request)
    tampered = bytearray(client.pack())
    tampered[-1] ^= 1
    assert server.receive(bytes(tampered)) == [MessageDropped("msg_key")]


# ----------------------------------------------------------------------------------------------
# AES-IGE on its own and the pq factorization: the compiled twins against the portable ones


@needs_compiled
@settings(max_examples=200, deadline=None)
@given(blocks=st.integers(0, 40), key=st.binary(min_size=32, max_size=32),
       iv=st.binary(min_size=32, max_size=32), seed=st.integers(0, 2**32))
def test_compiled_aes_ige_gives_the_bytes_of_the_portable_one(
        blocks: int, key: bytes, iv: bytes, seed: int) -> None:
    data = random.Random(seed).randbytes(16 * blocks)
    encrypted = crypto.python_aes_ige(data, key, iv, True)
    assert _MODULE.aes_ige(data, key, iv, True) == encrypted
    assert _MODULE.aes_ige(encrypted, key, iv, False) == data
    assert crypto.python_aes_ige(encrypted, key, iv, False) == data


def test_both_aes_ige_match_the_labelled_vectors_and_refuse_partial_blocks() -> None:
    vectors = reference_vectors("aes_ige")
    cases = vectors["vectors"]
    assert any(len(case["key"]) == 64 for case in cases)
    for case in cases:
        key, iv = bytes.fromhex(case["key"]), bytes.fromhex(case["iv"])
        plain, cipher = bytes.fromhex(case["plaintext"]), bytes.fromhex(case["ciphertext"])
        assert crypto.python_aes_ige(plain, key, iv, True) == cipher
        assert crypto.python_aes_ige(cipher, key, iv, False) == plain
        if len(key) == 32:  # the MTProto functions are AES-256 only (some vectors are AES-128)
            assert crypto.aes_ige_encrypt(plain, key, iv) == cipher
            assert crypto.aes_ige_decrypt(cipher, key, iv) == plain
    with pytest.raises(ValueError):
        crypto.aes_ige_encrypt(b"x" * 17, bytes(32), bytes(32))


def _primes_below_2_32(rng: random.Random, count: int) -> list[int]:
    primes: list[int] = []
    while len(primes) < count:
        candidate = rng.getrandbits(32) | 1 << 31 | 1
        if crypto.is_probable_prime(candidate) and candidate not in primes:
            primes.append(candidate)
    return primes


@needs_compiled
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), rho_seed=st.integers(1, 8),
       max_steps=st.sampled_from([0, 100, 5000, 1 << 20]))
def test_compiled_pollard_brent_takes_the_same_steps_as_the_portable_one(
        seed: int, rho_seed: int, max_steps: int) -> None:
    rng = random.Random(seed)
    p, q = _primes_below_2_32(rng, 2)
    for n in (p * q, p * q * 0 + rng.getrandbits(64) | 1, p * p):
        if n < 4 or rho_seed >= n:
            continue
        found = crypto.python_pollard_brent(n, rho_seed, max_steps)
        assert _MODULE.pollard_brent(n, rho_seed, max_steps) == found
        assert found == n or n % found == 0


def test_factorize_pq_splits_what_the_protocol_sends() -> None:
    rng = random.Random(20261203)
    for _ in range(20):
        p, q = sorted(_primes_below_2_32(rng, 2))
        assert crypto.factorize_pq(p * q) == (p, q)
        assert crypto.python_pollard_brent(p * q, 1, 1 << 20) in (p, q)
    # PROTOCOL.md 6's example.
    assert crypto.factorize_pq(0x17ED48941A08F981) == (0x494C553B, 0x53911073)


@pytest.mark.parametrize("pq", [0, 9, 15, 21, 91, (1 << 32), (1 << 61) - 1, (1 << 64) - 1,
                                1 << 64, 3 * 4_294_967_311, 7 * 7 * 104_729 * 104_729,
                                (1 << 63) + 1])
def test_factorize_pq_refuses_anything_else_in_bounded_time(pq: int) -> None:
    with pytest.raises(SecurityError) as refused:
        crypto.factorize_pq(pq)
    assert refused.value.check == "pq"


# ----------------------------------------------------------------------------------------------
# Every bound of the envelope, RSA and pq checks at its limit


def ciphers(from_client: bool) -> list[Any]:
    """The portable message cipher, and the compiled one where it is built."""
    built = [PythonMessageCipher(GRAMMERS_KEY, from_client)]
    if _MODULE is not None:
        built.append(_MODULE.MessageCipher(GRAMMERS_KEY, from_client))
    return built


def test_message_cipher_takes_only_whole_blocks() -> None:
    for cipher in ciphers(True):
        with pytest.raises(ValueError, match="multiple of 16 bytes, got 17"):
            cipher.decrypt(bytes(16), bytes(17))
        # No ciphertext at all is whole blocks: nothing decrypts, and no msg_key matches it.
        assert cipher.decrypt_message(bytes(24)) is None
        for size in (8, 23, 24 + 17):
            with pytest.raises(ValueError, match=f"a payload of {size} bytes cannot be"):
                cipher.decrypt_message(bytes(size))


def test_rsa_pad_takes_at_most_144_bytes() -> None:
    public = rsa_key().public_key
    assert rsa_key().decrypt_rsa_pad(public.encrypt_rsa_pad(bytes(144)))[:144] == bytes(144)
    with pytest.raises(ValueError, match="at most 144 bytes, got 145"):
        public.encrypt_rsa_pad(bytes(145))


def test_a_server_key_has_an_odd_exponent_from_3_to_below_the_modulus() -> None:
    n = rsa_key().n
    crypto.RSAPublicKey(n, 3).check_usable()
    crypto.RSAPublicKey(n, n - 2).check_usable()
    for e in (1, 65536, n):
        with pytest.raises(ValueError, match=f"the public exponent {e} is not"):
            crypto.RSAPublicKey(n, e).check_usable()


def test_rsa_decryption_refuses_what_is_not_below_the_modulus() -> None:
    key = rsa_key()
    for encrypted, why in ((bytes(1) + (1).to_bytes(256, "big"), "257 bytes, the value below n"),
                           (key.n.to_bytes(256, "big"), "n itself"),
                           (((1 << 2048) - 1).to_bytes(256, "big"), "above n")):
        with pytest.raises(SecurityError) as refused:
            key.decrypt_rsa_pad(encrypted)
        assert refused.value.check == "rsa", why


def test_legacy_rsa_data_starts_with_a_zero_byte() -> None:
    key = rsa_key()
    data = bytes(21) + b"legacy data"
    good = pow(int.from_bytes(data.rjust(256, b"\0"), "big"), key.e, key.n).to_bytes(256, "big")
    assert key.decrypt_legacy_parts(good) == (bytes(20), data[21:].rjust(256 - 21, b"\0"))
    nonzero = pow(1 << 2040 | 5, key.e, key.n).to_bytes(256, "big")
    with pytest.raises(SecurityError) as refused:
        key.decrypt_legacy_parts(nonzero)
    assert refused.value.check == "rsa_legacy"


def test_pq_just_above_2_32_is_split_and_the_bounds_themselves_are_refused() -> None:
    assert 1 << 32 < 65537 * 65539 < 1 << 33
    assert crypto.factorize_pq(65537 * 65539) == (65537, 65539)
    for pq in (1 << 32, 1 << 64):
        with pytest.raises(SecurityError, match="is not between 2\\^32 and 2\\^64"):
            crypto.factorize_pq(pq)


def test_a_prime_pq_is_refused_as_prime_without_a_search() -> None:
    with pytest.raises(SecurityError, match="is prime, not a product of two primes"):
        crypto.factorize_pq((1 << 61) - 1)


def test_pq_whose_first_rho_seed_closes_its_cycle_is_split_by_the_next() -> None:
    # Found by search: with f(x) = x^2 + 1 the walk closes its cycle modulo both factors in
    # the same batch, so seed 1 gives pq itself, not a factor.
    p, q = 268_592_069, 1_375_204_549
    assert crypto.python_pollard_brent(p * q, 1, 1 << 20) == p * q
    assert crypto.factorize_pq(p * q) == (p, q)


def test_factorize_pq_tries_each_seed_then_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # No pq below 2^64 makes every seed fail within the step bound (a factor below 2^32
    # takes about 2^17 steps of the 2^20): the search is replaced by one that fails for the
    # first seeds, or for all of them.
    real_search = crypto._pollard_brent
    seeds: list[int] = []

    def failing_until_seed_3(n: int, seed: int, max_steps: int) -> int:
        seeds.append(seed)
        return 1 if seed < 3 else real_search(n, seed, max_steps)

    monkeypatch.setattr(crypto, "_pollard_brent", failing_until_seed_3)
    assert crypto.factorize_pq(65537 * 65539) == (65537, 65539)
    assert seeds == [1, 2, 3]
    monkeypatch.setattr(crypto, "_pollard_brent", lambda n, seed, max_steps: 1)
    with pytest.raises(SecurityError, match="no factor found within the search bound"):
        crypto.factorize_pq(65537 * 65539)


def test_is_probable_prime_at_the_small_end() -> None:
    assert [n for n in range(-3, 12) if crypto.is_probable_prime(n)] == [2, 3, 5, 7, 11]
    assert crypto.is_probable_prime(73) and not crypto.is_probable_prime(73 * 79)


def test_is_probable_prime_is_miller_rabin_not_fermat() -> None:
    # 73 * 379 * 523, a Carmichael number: every base coprime to it passes Fermat's test, so
    # only the strong test (n - 1 = d * 2^s with d odd) tells it is composite.
    carmichael = 73 * 379 * 523
    assert all(pow(a, carmichael - 1, carmichael) == 1 for a in (2, 3, 5, 7))
    assert not crypto.is_probable_prime(carmichael, witnesses=(2, 3, 5, 7))
    assert not crypto.is_probable_prime(carmichael)


# RFC 3526's 2048-bit MODP group prime: a safe prime that is not Telegram's.
RFC_3526_PRIME = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA4836"
    "1C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804"
    "F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6"
    "955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)


def test_another_2048_bit_safe_prime_is_accepted_and_each_flaw_refused_by_name() -> None:
    crypto.check_dh_prime(RFC_3526_PRIME)
    # Not prime (the cheap refusal: even), and numbers of other sizes.
    flawed = {RFC_3526_PRIME - 1: "not a safe prime", RFC_3526_PRIME >> 1: "has 2047 bits",
              (RFC_3526_PRIME << 1) + 1: "has 2049 bits"}
    for dh_prime, message in flawed.items():
        with pytest.raises(SecurityError, match=message) as refused:
            crypto.check_dh_prime(dh_prime)
        assert refused.value.check == "dh_prime"


def test_check_g_accepts_exactly_the_quadratic_residues_of_a_safe_prime() -> None:
    # For a prime p = 3 mod 4 (every safe prime above 7), g generates the subgroup of order
    # (p - 1) / 2 when it is a quadratic residue: Euler's criterion is the reference, over
    # every residue class of 8, 3, 5, 24 and 7 that such primes fall in below 20000.
    primes = [p for p in range(11, 20000, 4) if crypto.is_probable_prime(p)]
    for g in range(2, 8):
        for p in primes:
            residue = pow(g, (p - 1) // 2, p) == 1
            try:
                crypto.check_g(g, p)
                accepted = True
            except SecurityError as exc:
                assert exc.check == "g"
                accepted = False
            assert accepted == residue, (g, p)
    for g in (-1, 0, 1, 8):
        with pytest.raises(SecurityError, match=f"g = {g} is not"):
            crypto.check_g(g, RFC_3526_PRIME)


def test_dh_values_are_accepted_up_to_2_1984_from_either_end() -> None:
    p, bound = RFC_3526_PRIME, 1 << (2048 - 64)
    for value in (bound, p - bound):
        crypto.check_dh_value(value, p, "g_a")
    for value in (bound - 1, p - bound + 1, 1, 0, p - 1, p, p + bound):
        with pytest.raises(SecurityError) as refused:
            crypto.check_dh_value(value, p, "g_b")
        assert refused.value.check == "g_b", value


def test_pq_that_is_the_square_of_a_prime_is_refused() -> None:
    p = 4_294_967_291  # the largest prime below 2^32
    with pytest.raises(SecurityError, match="not a product of two distinct primes below 2\\^32"):
        crypto.factorize_pq(p * p)
