"""MTProto 2.0 cryptography: AES-256-IGE and -CTR, RSA_PAD, the key derivation, the DH checks.

The formulas are PROTOCOL.md sections 3.3, 3.4 and 6 (core.telegram.org/mtproto/description,
/mtproto/auth_key, /mtproto/security_guidelines). AES comes from OpenSSL's libcrypto, SHA from
hashlib; RSA is textbook RSA on Python ints (the padding scheme, RSA_PAD, is the protocol's own).

The compiled part `tlcodec._mtcrypto`, over the libcrypto CPython already uses, does the
per-message envelope of an encrypted session (`MessageCipher`: three SHA-256 and one AES-IGE per
message, in C rather than through Python; benchmarks/test_bench_session.py measures it),
AES-IGE on its own and the pq factorization. Its portable twins are here:
`PythonMessageCipher`, `python_aes_ige` (`cryptography`'s AES-ECB, chained in Python) and
`python_pollard_brent`, used where the extension or a usable libcrypto is missing (Windows),
or with TLCODEC_NO_EXTENSIONS=1 (or =cipher); the choice is `_runtime`'s, and `FAST_CRYPTO` /
`FAST_CRYPTO_ERROR` say which one runs and why.

Nothing here keeps state between calls or does I/O. Randomness is always a parameter
(`random_bytes(n) -> bytes`, default `os.urandom`), so every step can be a golden test.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import struct
from dataclasses import dataclass
from importlib import resources
from typing import Callable

import gmpy2
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from . import _runtime
from .errors import SecurityError

__all__ = [
    "FAST_CRYPTO",
    "FAST_CRYPTO_ERROR",
    "KNOWN_DH_PRIME",
    "MIN_PADDING",
    "AesCtr",
    "MessageCipher",
    "PythonMessageCipher",
    "RSAPrivateKey",
    "RSAPublicKey",
    "RandomBytes",
    "SecurityError",
    "aes_ige_decrypt",
    "aes_ige_encrypt",
    "auth_key_aux_hash",
    "auth_key_id",
    "check_dh_prime",
    "check_dh_value",
    "check_g",
    "factorize_pq",
    "is_probable_prime",
    "message_aes_key_iv",
    "message_key",
    "minimal_padding_size",
    "modexp",
    "new_nonce_hash",
    "sha1",
    "sha256",
    "telegram_public_keys",
    "tmp_aes_key_iv",
]

RandomBytes = Callable[[int], bytes]

MIN_PADDING = 12  # bytes of padding at least in an encrypted message (PROTOCOL.md 3.4)
PADDING_POOL_BYTES = 2048  # random bytes fetched at once for padding (one call, many messages)

# The 2048-bit safe prime every Telegram DC sends (security guidelines); any other prime gets
# the full primality test.
KNOWN_DH_PRIME = int(
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F"
    "48198A0AA7C14058229493D22530F4DBFA336F6E0AC925139543AED44CCE7C37"
    "20FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F64"
    "2477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4"
    "A4A695811051907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754"
    "FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4"
    "E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F"
    "0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B",
    16,
)


def modexp(base: int, exponent: int, modulus: int) -> int:
    """base ** exponent mod an odd modulus, in constant time for the (secret) exponent.

    The DH and RSA private-key steps are 2048-bit exponentiations: GMP's mpz_powm_sec (through
    gmpy2) runs them several times faster than Python's `pow`, and in constant time, which
    keeps a whole handshake inside its budget (benchmarks/test_bench_authkey.py measures it).
    """
    return int(gmpy2.powmod_sec(base, exponent, modulus))


def sha1(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# ----------------------------------------------------------------------------------------------
# Ciphers


def aes_ige_encrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    """AES-256-IGE; `iv` is 32 bytes (c_0 = iv[:16], p_0 = iv[16:]), `data` a multiple of 16."""
    _check_ige(data, key, iv)
    return _ige(bytes(data), key, iv, True)


def aes_ige_decrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    _check_ige(data, key, iv)
    return _ige(bytes(data), key, iv, False)


def python_aes_ige(data: bytes, key: bytes, iv: bytes, encrypting: bool) -> bytes:
    """AES-256-IGE with `cryptography`'s AES-ECB, chained here a block at a time: the portable
    implementation (the compiled one is `tlcodec._mtcrypto.aes_ige`, same bytes).

    Both directions are one chain: out_i = AES(in_i ^ before) ^ after, then before = out_i and
    after = in_i, where encrypting starts with (before, after) = (c_0, p_0) and decrypting with
    (p_0, c_0)."""
    ecb = Cipher(algorithms.AES(key), modes.ECB())
    block_cipher = (ecb.encryptor() if encrypting else ecb.decryptor()).update
    first, second = (iv[:16], iv[16:]) if encrypting else (iv[16:], iv[:16])
    before, after = int.from_bytes(first, "little"), int.from_bytes(second, "little")
    out = bytearray(len(data))
    for offset in range(0, len(data), 16):
        current = int.from_bytes(data[offset : offset + 16], "little")
        result = int.from_bytes(block_cipher((current ^ before).to_bytes(16, "little")), "little")
        result ^= after
        out[offset : offset + 16] = result.to_bytes(16, "little")
        before, after = result, current
    return bytes(out)


def _check_ige(data: bytes, key: bytes, iv: bytes) -> None:
    if len(key) != 32 or len(iv) != 32:
        raise ValueError("AES-256-IGE needs a 32-byte key and a 32-byte iv")
    if len(data) % 16:
        raise ValueError(f"AES-IGE data must be a multiple of 16 bytes, got {len(data)}")


class AesCtr:
    """AES-256-CTR keystream for one direction of an obfuscated connection."""

    __slots__ = ("_context",)

    def __init__(self, key: bytes, iv: bytes) -> None:
        if len(key) != 32 or len(iv) != 16:
            raise ValueError("AES-256-CTR needs a 32-byte key and a 16-byte iv")
        self._context = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()

    def update(self, data: bytes) -> bytes:
        """Encrypt or decrypt (the same operation) the next bytes of the stream."""
        return self._context.update(data)


# ----------------------------------------------------------------------------------------------
# MTProto 2.0 message keys (PROTOCOL.md 3.4)


def message_key(auth_key: bytes, plaintext: bytes, from_client: bool) -> bytes:
    """msg_key = the middle 128 bits of SHA256(auth_key[88+x : 120+x] + plaintext)."""
    x = 0 if from_client else 8
    return sha256(auth_key[88 + x : 120 + x] + plaintext)[8:24]


def message_aes_key_iv(auth_key: bytes, msg_key: bytes, from_client: bool) -> tuple[bytes, bytes]:
    """The AES-256-IGE key and iv of one message, derived from its msg_key."""
    x = 0 if from_client else 8
    a = sha256(msg_key + auth_key[x : x + 36])
    b = sha256(auth_key[40 + x : 76 + x] + msg_key)
    return a[:8] + b[8:24] + a[24:32], b[:8] + a[8:24] + b[24:32]


class PythonMessageCipher:
    """One auth_key's message envelope in one direction, for an encrypted session's per-message
    path: `message_key`, `message_aes_key_iv` and AES-256-IGE with the auth_key slices cut once.

    Same formulas as those two functions (tests pin them equal); it exists because slicing the
    key and the extra calls cost as much as one of the three SHA-256 per message. This is the
    portable implementation (hashlib + `python_aes_ige`); `MessageCipher` is the compiled twin
    (`tlcodec._mtcrypto`, same API and bytes) when it loads, else this class.

    `from_client` is the direction of the messages it encrypts and decrypts. Plaintexts and
    ciphertexts are multiples of 16 bytes (ValueError otherwise). `encrypt_message` pads from a
    pool of `random_bytes(pool_size)` bytes, refilled when it runs short (one call for many
    messages: `os.urandom` is a system call).
    """

    __slots__ = ("_msg_key_part", "_a_part", "_b_part", "auth_key_id", "_random_bytes",
                 "_pool_size", "_pool", "_pool_position")

    def __init__(self, auth_key: bytes, from_client: bool,
                 random_bytes: RandomBytes = os.urandom,
                 pool_size: int = PADDING_POOL_BYTES) -> None:
        if len(auth_key) != 256:
            raise ValueError(f"auth_key must be 256 bytes, got {len(auth_key)}")
        x = 0 if from_client else 8
        self._msg_key_part = bytes(auth_key[88 + x : 120 + x])
        self._a_part = bytes(auth_key[x : x + 36])
        self._b_part = bytes(auth_key[40 + x : 76 + x])
        self.auth_key_id = auth_key_id(bytes(auth_key))
        self._random_bytes = random_bytes
        self._pool_size = pool_size
        self._pool = b""
        self._pool_position = 0

    def encrypt(self, plaintext: bytes) -> bytes:
        """`msg_key + AES-IGE(plaintext)` (everything of the payload but the auth_key_id)."""
        plaintext = bytes(plaintext)
        if len(plaintext) & 15:
            raise ValueError(f"the plaintext must be a multiple of 16 bytes, got {len(plaintext)}")
        msg_key = hashlib.sha256(self._msg_key_part + plaintext).digest()[8:24]
        a = hashlib.sha256(msg_key + self._a_part).digest()
        b = hashlib.sha256(self._b_part + msg_key).digest()
        aes_key = a[:8] + b[8:24] + a[24:32]
        aes_iv = b[:8] + a[8:24] + b[24:32]
        return msg_key + python_aes_ige(plaintext, aes_key, aes_iv, True)

    def message_aes_key_iv(self, msg_key: bytes) -> tuple[bytes, bytes]:
        """The AES-256-IGE key and iv of a message with this msg_key (for tests and tools)."""
        msg_key = bytes(msg_key)
        if len(msg_key) != 16:
            raise ValueError(f"msg_key must be 16 bytes, got {len(msg_key)}")
        a = hashlib.sha256(msg_key + self._a_part).digest()
        b = hashlib.sha256(self._b_part + msg_key).digest()
        return a[:8] + b[8:24] + a[24:32], b[:8] + a[8:24] + b[24:32]

    def decrypt(self, msg_key: bytes, ciphertext: bytes) -> bytes | None:
        """The plaintext, or None when the msg_key recomputed from it differs (compared in
        constant time, after decrypting, as the security guidelines ask)."""
        msg_key, ciphertext = bytes(msg_key), bytes(ciphertext)
        if len(ciphertext) & 15:
            raise ValueError(f"the ciphertext must be a multiple of 16 bytes, got {len(ciphertext)}")
        a = hashlib.sha256(msg_key + self._a_part).digest()
        b = hashlib.sha256(self._b_part + msg_key).digest()
        aes_key = a[:8] + b[8:24] + a[24:32]
        aes_iv = b[:8] + a[8:24] + b[24:32]
        plaintext = python_aes_ige(ciphertext, aes_key, aes_iv, False)
        expected = hashlib.sha256(self._msg_key_part + plaintext).digest()[8:24]
        return plaintext if hmac.compare_digest(expected, msg_key) else None

    def encrypt_message(self, salt: int, session_id: int, msg_id: int, seq_no: int,
                        body: bytes, padding_size: int = -1) -> bytes:
        """The whole payload of one message: `auth_key_id + msg_key + AES-IGE(plaintext)`, the
        plaintext being salt, session_id, msg_id, seq_no, len(body) (little-endian, signed),
        `body`, then `padding_size` random bytes (default, or negative: the least, 12..27) from
        the padding pool (PROTOCOL.md 3.4). The plaintext's length must come out a multiple of
        16.

        (The header is the session layer's format; it is built here so that the compiled twin
        can write the whole payload into one buffer.)"""
        if padding_size < 0:
            padding_size = minimal_padding_size(32 + len(body))
        if (32 + len(body) + padding_size) & 15:
            raise ValueError(f"header, body and padding make {32 + len(body) + padding_size} "
                             "bytes, not a multiple of 16")
        start = self._pool_position
        end = start + padding_size
        if end > len(self._pool):
            # A new pool, the rest of the old one dropped (the compiled twin does the same).
            wanted = max(self._pool_size, padding_size)
            self._pool = bytes(self._random_bytes(wanted))
            if len(self._pool) < padding_size:
                raise ValueError(f"random_bytes({wanted}) returned {len(self._pool)} bytes")
            start, end = 0, padding_size
        self._pool_position = end
        header = _MESSAGE_HEADER.pack(salt, session_id, msg_id, seq_no, len(body))
        return self.auth_key_id + self.encrypt(b"".join((header, body, self._pool[start:end])))

    def decrypt_message(self, payload: bytes) -> bytes | None:
        """The plaintext of a whole payload (`auth_key_id + msg_key + ciphertext`; checking the
        auth_key_id is the caller's job), or None when the msg_key does not match."""
        size = len(payload) - 24
        if size < 0 or size & 15:
            raise ValueError(f"a payload of {size + 24} bytes cannot be an encrypted message")
        return self.decrypt(payload[8:24], payload[24:])


# salt, session_id, msg_id, seq_no, message_data_length
_MESSAGE_HEADER = struct.Struct("<qqqii")


def minimal_padding_size(unpadded_length: int) -> int:
    """12..27 bytes: the least padding that makes a plaintext of `unpadded_length` bytes a
    multiple of 16 (PROTOCOL.md 3.4)."""
    return MIN_PADDING + (-(unpadded_length + MIN_PADDING) & 15)


_compiled = _runtime.compiled_module("cipher")
FAST_CRYPTO: bool = _compiled is not None
"""Whether `MessageCipher` is the compiled one; when not, `FAST_CRYPTO_ERROR` says why."""
FAST_CRYPTO_ERROR: str | None = _runtime.acceleration("cipher").why_not
MessageCipher: type[PythonMessageCipher] = (
    _compiled.MessageCipher if _compiled is not None else PythonMessageCipher
)
_ige: Callable[[bytes, bytes, bytes, bool], bytes] = (
    _compiled.aes_ige if _compiled is not None else python_aes_ige
)
del _compiled


def auth_key_id(auth_key: bytes) -> bytes:
    """The lower 64 bits of SHA1(auth_key), as the 8 bytes written on the wire."""
    return sha1(auth_key)[12:20]


def auth_key_aux_hash(auth_key: bytes) -> bytes:
    """The higher 64 bits of SHA1(auth_key)."""
    return sha1(auth_key)[:8]


def tmp_aes_key_iv(new_nonce: bytes, server_nonce: bytes) -> tuple[bytes, bytes]:
    """The handshake's temporary AES key and iv (PROTOCOL.md 3.3 step 6)."""
    new_server = sha1(new_nonce + server_nonce)
    server_new = sha1(server_nonce + new_nonce)
    new_new = sha1(new_nonce + new_nonce)
    return new_server + server_new[:12], server_new[12:20] + new_new + new_nonce[:4]


def new_nonce_hash(new_nonce: bytes, auth_key: bytes, number: int) -> bytes:
    """new_nonce_hash1/2/3 of dh_gen_ok/retry/fail: SHA1(new_nonce + N + aux_hash)[4:20]."""
    return sha1(new_nonce + bytes((number,)) + auth_key_aux_hash(auth_key))[4:20]


def constant_time_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


# ----------------------------------------------------------------------------------------------
# RSA


def _tl_bytes(data: bytes) -> bytes:
    """TL `bytes` serialization, for the key fingerprint only (keeps this module codec-free)."""
    if len(data) <= 253:
        out = bytes((len(data),)) + data
    else:
        out = bytes((254,)) + len(data).to_bytes(3, "little") + data
    return out + b"\0" * (-len(out) % 4)


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")


# The only modulus size RSA_PAD (PROTOCOL.md 3.3) is made for: its result is exactly 256 bytes,
# which a larger modulus does not fit, and its step 8 redraws until a 2048-bit number is below
# the modulus, which for a much smaller one (1024 bits) all but never happens.
RSA_KEY_BITS = 2048
# Temp keys RSA_PAD draws at most. Each passes the "below n" test with probability
# n / 2^2048 > 1/2 for a 2048-bit n: running out means random_bytes is not random.
RSA_PAD_ATTEMPTS = 64


@dataclass(frozen=True)
class RSAPublicKey:
    """A server's public key, as the client uses it for RSA_PAD."""

    n: int
    e: int

    @property
    def fingerprint(self) -> int:
        """Lower 64 bits of SHA1(TL bytes(n) + TL bytes(e)), as an unsigned little-endian long."""
        digest = sha1(_tl_bytes(_int_bytes(self.n)) + _tl_bytes(_int_bytes(self.e)))
        return int.from_bytes(digest[12:20], "little")

    @classmethod
    def from_pem(cls, pem: bytes | str) -> RSAPublicKey:
        data = pem.encode() if isinstance(pem, str) else pem
        key = serialization.load_pem_public_key(data)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("not an RSA public key")
        numbers = key.public_numbers()
        return cls(numbers.n, numbers.e)

    @classmethod
    def load(cls, key: RSAPublicKey | str | bytes) -> RSAPublicKey:
        """A server key given as an `RSAPublicKey` or as PEM text or bytes ("RSA PUBLIC KEY"
        or "PUBLIC KEY"), checked to be one RSA_PAD can encrypt to. TypeError for anything
        else, ValueError for a PEM that holds no usable RSA public key."""
        if isinstance(key, (str, bytes, bytearray)):
            try:
                loaded = cls.from_pem(bytes(key) if isinstance(key, bytearray) else key)
            except (ValueError, UnsupportedAlgorithm) as exc:
                raise ValueError(f"not a PEM-encoded RSA public key ({exc})") from None
        elif isinstance(key, RSAPublicKey):
            loaded = key
        else:
            raise TypeError(f"a server key is an RSAPublicKey or PEM text or bytes, "
                            f"not {type(key).__name__}")
        loaded.check_usable()
        return loaded

    def check_usable(self) -> None:
        """ValueError unless RSA_PAD can encrypt to this key (see RSA_KEY_BITS)."""
        if self.n.bit_length() != RSA_KEY_BITS:
            raise ValueError(f"an MTProto server key has a {RSA_KEY_BITS}-bit modulus (RSA_PAD "
                             f"encrypts exactly 256 bytes); this one has {self.n.bit_length()}")
        if not 3 <= self.e < self.n or not self.e & 1:
            raise ValueError(f"the public exponent {self.e} is not an odd number from 3 to the "
                             "modulus")

    def encrypt_rsa_pad(self, data: bytes, random_bytes: RandomBytes = os.urandom) -> bytes:
        """RSA_PAD (PROTOCOL.md 3.3 step 4): the only form a client of ours sends."""
        if len(data) > 144:
            raise ValueError(f"RSA_PAD takes at most 144 bytes, got {len(data)}")
        self.check_usable()
        data_with_padding = data + random_bytes(192 - len(data))
        data_pad_reversed = data_with_padding[::-1]
        for _ in range(RSA_PAD_ATTEMPTS):
            temp_key = random_bytes(32)
            data_with_hash = data_pad_reversed + sha256(temp_key + data_with_padding)
            aes_encrypted = aes_ige_encrypt(data_with_hash, temp_key, bytes(32))
            temp_key_xor = bytes(a ^ b for a, b in zip(temp_key, sha256(aes_encrypted)))
            key_aes_encrypted = int.from_bytes(temp_key_xor + aes_encrypted, "big")
            if key_aes_encrypted < self.n:  # else: a new temp_key (step 8)
                return pow(key_aes_encrypted, self.e, self.n).to_bytes(256, "big")
        raise RuntimeError(f"RSA_PAD: none of {RSA_PAD_ATTEMPTS} temp keys from random_bytes "
                           "was below the modulus; random_bytes does not look random")


@dataclass(frozen=True)
class RSAPrivateKey:
    """A test data centre's private key: decrypts what clients encrypted to its public key."""

    n: int
    e: int
    d: int

    @property
    def public_key(self) -> RSAPublicKey:
        return RSAPublicKey(self.n, self.e)

    @classmethod
    def generate(cls, bits: int = 2048) -> RSAPrivateKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        numbers = key.private_numbers()
        return cls(numbers.public_numbers.n, numbers.public_numbers.e, numbers.d)

    @classmethod
    def from_pem(cls, pem: bytes | str) -> RSAPrivateKey:
        data = pem.encode() if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("not an RSA private key")
        numbers = key.private_numbers()
        return cls(numbers.public_numbers.n, numbers.public_numbers.e, numbers.d)

    def to_pem(self) -> bytes:
        p, q = rsa.rsa_recover_prime_factors(self.n, self.e, self.d)
        numbers = rsa.RSAPrivateNumbers(
            p, q, self.d, rsa.rsa_crt_dmp1(self.d, p), rsa.rsa_crt_dmq1(self.d, q),
            rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(self.e, self.n),
        )
        return numbers.private_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )

    def _raw_decrypt(self, encrypted: bytes) -> bytes:
        if len(encrypted) > 256 or int.from_bytes(encrypted, "big") >= self.n:
            raise SecurityError("rsa", "the RSA payload is not below the key's modulus")
        return modexp(int.from_bytes(encrypted, "big"), self.d, self.n).to_bytes(256, "big")

    def decrypt_rsa_pad(self, encrypted: bytes) -> bytes:
        """Undo RSA_PAD; returns `data_with_padding` (192 bytes: the TL object, then padding)."""
        plain = self._raw_decrypt(encrypted)
        temp_key_xor, aes_encrypted = plain[:32], plain[32:]
        temp_key = bytes(a ^ b for a, b in zip(temp_key_xor, sha256(aes_encrypted)))
        data_with_hash = aes_ige_decrypt(aes_encrypted, temp_key, bytes(32))
        data_with_padding = data_with_hash[:192][::-1]
        if not constant_time_equal(data_with_hash[192:], sha256(temp_key + data_with_padding)):
            raise SecurityError("rsa_pad_hash", "RSA_PAD hash check failed")
        return data_with_padding

    def decrypt_legacy_parts(self, encrypted: bytes) -> tuple[bytes, bytes]:
        """The pre-RSA_PAD form Telethon 1.x and Pyrogram still send: SHA1(data) + data + random.

        Split as (the SHA1 digest it carries, everything after it): only the caller knows, by
        parsing the TL object, how many of the following bytes the digest covers. Only the
        server side ever reads this form.
        """
        plain = self._raw_decrypt(encrypted)
        if plain[0] != 0:
            raise SecurityError("rsa_legacy", "legacy RSA payload does not start with a zero byte")
        return plain[1:21], plain[21:]


def telegram_public_keys() -> dict[str, RSAPublicKey]:
    """Telegram's production and test keys from package data, each fingerprint verified."""
    text = (resources.files("tlcodec") / "data" / "telegram_rsa_keys.pem").read_text("ascii")
    keys: dict[str, RSAPublicKey] = {}
    label = fingerprint = None
    for block in text.split("-----END RSA PUBLIC KEY-----"):
        for line in block.splitlines():
            if line.startswith("# production ") or line.startswith("# test "):
                label, hex_fingerprint = line[2:].split()
                fingerprint = int(hex_fingerprint, 16)
        if "-----BEGIN RSA PUBLIC KEY-----" not in block:
            continue
        pem = block[block.index("-----BEGIN") :] + "-----END RSA PUBLIC KEY-----\n"
        key = RSAPublicKey.from_pem(pem)
        if label is None or key.fingerprint != fingerprint:
            raise ValueError(f"bundled RSA key {label}: fingerprint does not match its label")
        keys[label] = key
    return keys


# ----------------------------------------------------------------------------------------------
# pq and DH (PROTOCOL.md 3.3 and 6)


def factorize_pq(pq: int) -> tuple[int, int]:
    """Split the server's pq into its two prime factors p < q, in bounded time whatever pq is.

    The protocol's pq is the product of two distinct primes below 2^32, above 2^32 itself and
    below 2^64 (PROTOCOL.md 6); anything else is refused with SecurityError("pq"). resPQ is
    plaintext: anyone on the path can send any pq, so the search is Pollard-Brent rho with a
    bounded number of steps for each of a few seeds (a factor below 2^32 takes about 2^17 steps;
    the bound is several times that), never an unbounded loop."""
    if not 1 << 32 < pq < 1 << 64:
        raise SecurityError("pq", f"pq {pq} is not between 2^32 and 2^64")
    if pq & 1:
        if is_probable_prime(pq):
            raise SecurityError("pq", f"pq {pq} is prime, not a product of two primes")
        factor = 1
        for seed in range(1, _RHO_SEEDS + 1):
            factor = _pollard_brent(pq, seed, _RHO_MAX_STEPS)
            if 1 < factor < pq:
                break
        else:
            raise SecurityError("pq", f"pq {pq}: no factor found within the search bound")
    else:
        factor = 2
    p, q = sorted((factor, pq // factor))
    if p * q != pq or p == q or q >= 1 << 32 or not is_probable_prime(p) or not is_probable_prime(q):
        raise SecurityError("pq", f"pq {pq} is not a product of two distinct primes below 2^32")
    return p, q


_RHO_SEEDS = 8  # f(x) = x^2 + seed for seed = 1..8: a seed fails (a cycle) with small odds
_RHO_MAX_STEPS = 1 << 20  # per seed; a factor below 2^32 takes about 2^17


def python_pollard_brent(n: int, seed: int, max_steps: int) -> int:
    """A divisor of odd n found by Brent's variant of Pollard's rho with f(x) = x^2 + seed mod n
    from x = 2: a proper factor, or 1 (none within about `max_steps` steps of f) or n (the walk
    closed its cycle first): then try another seed. Differences are multiplied together in
    batches of 128 before each gcd. `tlcodec._mtcrypto.pollard_brent` is the compiled twin: the
    same steps and the same answer for the same arguments."""
    if n < 4 or not 0 < seed < n:
        raise ValueError("pollard_brent needs n >= 4 and 0 < seed < n")
    y = x = ys = 2
    q = g = r = 1
    steps = 0
    while g == 1:
        x = y
        for _ in range(r):
            y = (y * y + seed) % n
        steps += r
        k = 0
        while k < r and g == 1:
            ys = y
            batch = min(_RHO_BATCH, r - k)
            for _ in range(batch):
                y = (y * y + seed) % n
                q = q * abs(x - y) % n
            steps += batch
            g = math.gcd(q, n)
            k += _RHO_BATCH
        r *= 2
        if g == 1 and steps > max_steps:
            break
    if g == n:  # the last batch overshot: walk it again one step at a time
        for _ in range(_RHO_BATCH):
            ys = (ys * ys + seed) % n
            g = math.gcd(abs(x - ys), n)
            if g != 1:
                break
    return g


_RHO_BATCH = 128
_pollard_brent: Callable[[int, int, int], int] = getattr(
    _runtime.compiled_module("cipher"), "pollard_brent", python_pollard_brent)


_SMALL_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71)


def is_probable_prime(
    n: int,
    rounds: int = 20,
    random_bytes: RandomBytes = os.urandom,
    witnesses: tuple[int, ...] | None = None,
) -> bool:
    """Miller-Rabin; 20 random rounds leave an error below 4**-20 (the guidelines ask for
    <= 1e-9). Fixed `witnesses` make it deterministic (2, 3, 5, 7 are exact below 3.2e9)."""
    if n < 2:
        return False
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    size = (n.bit_length() + 7) // 8 + 8
    if witnesses is None:
        witnesses = tuple(
            2 + int.from_bytes(random_bytes(size), "big") % (n - 3) for _ in range(rounds)
        )
    for a in witnesses:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


_checked_primes: set[int] = {KNOWN_DH_PRIME}


def check_dh_prime(dh_prime: int) -> None:
    """A 2048-bit safe prime: (dh_prime - 1) / 2 prime too. The known prime skips the test."""
    if dh_prime in _checked_primes:
        return
    if dh_prime.bit_length() != 2048:
        raise SecurityError("dh_prime", f"dh_prime has {dh_prime.bit_length()} bits, not 2048")
    if not is_probable_prime(dh_prime) or not is_probable_prime((dh_prime - 1) // 2):
        raise SecurityError("dh_prime", "dh_prime is not a safe prime")
    _checked_primes.add(dh_prime)


def check_g(g: int, dh_prime: int) -> None:
    """g in 2..7 and a quadratic residue modulo dh_prime (the conditions of the guidelines)."""
    conditions = {
        2: dh_prime % 8 == 7,
        3: dh_prime % 3 == 2,
        4: True,
        5: dh_prime % 5 in (1, 4),
        6: dh_prime % 24 in (19, 23),
        7: dh_prime % 7 in (3, 5, 6),
    }
    if not conditions.get(g, False):
        raise SecurityError("g", f"g = {g} is not a generator of the safe subgroup of dh_prime")


def check_dh_value(value: int, dh_prime: int, name: str) -> None:
    """g_a, g_b (and g^b itself) in (2^(2048-64), dh_prime - 2^(2048-64))."""
    bound = 1 << (2048 - 64)
    if not 1 < value < dh_prime - 1 or not bound <= value <= dh_prime - bound:
        raise SecurityError(name, f"{name} is outside (2^1984, dh_prime - 2^1984)")
