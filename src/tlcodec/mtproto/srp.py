"""Two-step verification: the SRP exchange of core.telegram.org/api/srp, both halves, no I/O.

A password-protected account logs in with `auth.checkPassword(inputCheckPasswordSRP)` after
`account.getPassword` gave the SRP parameters (`account.password`: the algorithm
`passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow` with salt1, salt2, g, p;
the server's ephemeral `srp_B` and the `srp_id` naming it). The client proves it knows the
password without sending it, or anything a listener could test guesses against.

Client half: `compute_check(password_info, password)` = `checked_parameters` (every check the
protocol asks of the client: p a 2048-bit safe prime, g a generator of its prime-order subgroup,
srp_B and g^b inside (2^1984, p - 2^1984), sane salts) + `password_hash` (the 100,000-round
PBKDF2, the slow part: run it off an event loop) + `client_proof` (a fresh random `a` per
attempt, `u != 0`, M1).

Server half (what the test DCs run): `new_algorithm` (salts for a new password), `verifier`
(v = g^x: what a server stores instead of the password), `server_challenge` (b, srp_B) and
`server_verify` (checks A and u, recomputes M1, compares in constant time).

Randomness is a parameter (`random_bytes(n) -> bytes`), so tests replay a proof exactly.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Any

from .. import types
from ..crypto import RandomBytes, check_dh_prime, check_dh_value, check_g, modexp
from ..errors import SecurityError

__all__ = [
    "ALGORITHM",
    "PBKDF2_ITERATIONS",
    "SrpParameters",
    "checked_parameters",
    "client_proof",
    "compute_check",
    "new_algorithm",
    "password_hash",
    "server_challenge",
    "server_verify",
    "verifier",
]

ALGORITHM = types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow
PBKDF2_ITERATIONS = 100_000
SIZE = 256  # every number that is hashed is padded to 2048 bits, big-endian
MAX_SALT = 1024  # Telegram's salts are 40 and 16 bytes; a megabyte "salt" is not one
# A fresh `a` whose g^a or u fails a check is drawn again; only a broken random source fails
# this many times in a row (each draw fails with probability about 2^-63).
_MAX_DRAWS = 16


@dataclass(frozen=True, slots=True)
class SrpParameters:
    """The server's SRP parameters after every client-side check (`checked_parameters`)."""

    p: int
    g: int
    salt1: bytes
    salt2: bytes
    srp_B: int
    srp_id: int

    def __repr__(self) -> str:  # the numbers are public, but 600 digits help nobody
        return f"SrpParameters(g={self.g}, srp_id={self.srp_id})"


def _h(*parts: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.digest()


def _pad(value: int) -> bytes:
    return value.to_bytes(SIZE, "big")


def _k(p: int, g: int) -> int:
    return int.from_bytes(_h(_pad(p), _pad(g)), "big")


def _u(g_a: int, g_b: int) -> int:
    return int.from_bytes(_h(_pad(g_a), _pad(g_b)), "big")


def _in_range(value: int, p: int) -> bool:
    try:
        check_dh_value(value, p, "value")
    except SecurityError:
        return False
    return True


def _check_salt(salt: bytes, name: str) -> bytes:
    if not 1 <= len(salt) <= MAX_SALT:
        raise SecurityError(name, f"{name} must be 1..{MAX_SALT} bytes, got {len(salt)}")
    return salt


def _checked_group(algo: Any) -> tuple[int, int]:
    """p and g of a password algorithm, refused unless p is a 2048-bit safe prime and g one of
    2..7 generating its subgroup of prime order (p-1)/2 (the conditions of the DH guidelines)."""
    p_bytes, g = algo.p, algo.g
    if not isinstance(p_bytes, bytes) or len(p_bytes) != SIZE:
        raise SecurityError("srp_p", f"p must be {SIZE} bytes, got {len(p_bytes)}")
    p = int.from_bytes(p_bytes, "big")
    try:
        check_dh_prime(p)
        check_g(g, p)
    except SecurityError as exc:
        check = {"dh_prime": "srp_p", "g": "srp_g"}[exc.check]
        raise SecurityError(check, exc._message) from None
    return p, g


def checked_parameters(password_info: Any) -> SrpParameters:
    """The parameters of an `account.password`, after every check the client owes the protocol.

    Raises `SecurityError` (`.check`: "current_algo", "srp_p", "srp_g", "salt1", "salt2",
    "srp_B", "srp_id") for an account without a password, an algorithm this version does not
    know, or any value outside what the protocol allows.
    """
    algo = password_info.current_algo
    if algo is None:  # has_password and current_algo share one flag bit on the wire
        raise SecurityError("current_algo", "the account has no password to check")
    if not isinstance(algo, ALGORITHM):
        raise SecurityError("current_algo", f"unsupported password algorithm {algo.TL_NAME} "
                                            f"(a newer tlcodec may know it)")
    salt1 = _check_salt(algo.salt1, "salt1")
    salt2 = _check_salt(algo.salt2, "salt2")
    p, g = _checked_group(algo)
    srp_b_bytes = password_info.srp_B
    if len(srp_b_bytes) > SIZE:  # it is hashed padded to 256 bytes: more cannot be right
        raise SecurityError("srp_B", f"srp_B has {len(srp_b_bytes)} bytes, more than {SIZE}")
    srp_B = int.from_bytes(srp_b_bytes, "big")
    check_dh_value(srp_B, p, "srp_B")  # the empty one too: it is 0
    if password_info.srp_id is None:
        raise SecurityError("srp_id", "the server sent SRP parameters without an srp_id")
    return SrpParameters(p, g, salt1, salt2, srp_B, password_info.srp_id)


def password_hash(password: str, salt1: bytes, salt2: bytes) -> int:
    """x = PH2(password, salt1, salt2), the exponent of the verifier: two salted SHA-256, the
    100,000-round PBKDF2-HMAC-SHA512, a last salted SHA-256. Takes tens of milliseconds: call it
    off the event loop (asyncio.to_thread)."""
    if not isinstance(password, str):
        raise TypeError(f"the password is a str, got {type(password).__name__}")
    ph1 = _h(salt2, _h(salt1, password.encode("utf-8"), salt1), salt2)
    stretched = hashlib.pbkdf2_hmac("sha512", ph1, salt1, PBKDF2_ITERATIONS)
    return int.from_bytes(_h(salt2, stretched, salt2), "big")


def _m1(params_p: int, g: int, salt1: bytes, salt2: bytes, g_a: int, g_b: int,
        k_a: bytes) -> bytes:
    h_p, h_g = _h(_pad(params_p)), _h(_pad(g))
    return _h(bytes(x ^ y for x, y in zip(h_p, h_g)), _h(salt1), _h(salt2), _pad(g_a),
              _pad(g_b), k_a)


def client_proof(params: SrpParameters, x: int,
                 random_bytes: RandomBytes = os.urandom) -> Any:
    """`inputCheckPasswordSRP(srp_id, A, M1)` for checked `params` and x = `password_hash(...)`.

    A fresh 2048-bit `a` is drawn for each call (again if g^a is outside (2^1984, p - 2^1984)
    or u = H(A | B) is 0). Raises `SecurityError("srp_B")` if g^b = B - k*v is outside that
    range too (a server's B that hides no usable g^b).
    """
    p, g = params.p, params.g
    g_b = params.srp_B
    t = (g_b - _k(p, g) * modexp(g, x, p)) % p  # g^b, the server's ephemeral
    check_dh_value(t, p, "srp_B")
    for _ in range(_MAX_DRAWS):
        a = int.from_bytes(random_bytes(SIZE), "big")
        if a < 2:  # g^0 and g^1 are no secrets (and modexp wants a positive exponent)
            continue
        g_a = modexp(g, a, p)
        if not _in_range(g_a, p):
            continue
        u = _u(g_a, g_b)
        if u == 0:
            continue
        s_a = modexp(t, a + u * x, p)
        m1 = _m1(p, g, params.salt1, params.salt2, g_a, g_b, _h(_pad(s_a)))
        return types.InputCheckPasswordSRP(srp_id=params.srp_id, A=_pad(g_a), M1=m1)
    raise RuntimeError(f"the random source gave {_MAX_DRAWS} unusable values of a in a row")


def compute_check(password_info: Any, password: str,
                  random_bytes: RandomBytes = os.urandom) -> Any:
    """The whole client half: check the parameters, hash the password, make the proof."""
    params = checked_parameters(password_info)
    return client_proof(params, password_hash(password, params.salt1, params.salt2),
                        random_bytes)


# ------------------------------------------------------------------------------------------------
# The server's half (the test DCs)


def new_algorithm(p: int, g: int, random_bytes: RandomBytes = os.urandom) -> Any:
    """A password algorithm with fresh salts (40 and 16 bytes, as Telegram's) over p and g."""
    return ALGORITHM(salt1=random_bytes(40), salt2=random_bytes(16), g=g, p=_pad(p))


def verifier(algo: Any, password: str) -> int:
    """v = g^x mod p: what a server keeps of a password (it cannot give the password back)."""
    p = int.from_bytes(algo.p, "big")
    return modexp(algo.g, password_hash(password, algo.salt1, algo.salt2), p)


def server_challenge(algo: Any, v: int, random_bytes: RandomBytes = os.urandom) -> tuple[int, bytes]:
    """(b, srp_B): a fresh secret b and B = k*v + g^b mod p, drawn again until both g^b and B
    pass the checks the client makes."""
    p, g = int.from_bytes(algo.p, "big"), algo.g
    k_v = _k(p, g) * v % p
    for _ in range(_MAX_DRAWS):
        b = int.from_bytes(random_bytes(SIZE), "big")
        if b < 2:
            continue
        g_b = modexp(g, b, p)
        srp_B = (k_v + g_b) % p
        if _in_range(g_b, p) and _in_range(srp_B, p):
            return b, _pad(srp_B)
    raise RuntimeError(f"the random source gave {_MAX_DRAWS} unusable values of b in a row")


def server_verify(algo: Any, v: int, b: int, srp_B: bytes, A: bytes, M1: bytes) -> bool:
    """Whether (A, M1) proves knowledge of the password behind `v` for the challenge (b, srp_B).

    A of another size than 256 bytes or outside (2^1984, p - 2^1984) (0 and p in particular,
    which would make the key predictable), u = 0 or an M1 of the wrong size are refusals like a
    wrong proof; M1 is compared in constant time.
    """
    p = int.from_bytes(algo.p, "big")
    if len(A) != SIZE:  # clients send A padded to 256 bytes, as it is hashed
        return False
    g_a = int.from_bytes(A, "big")
    if not _in_range(g_a, p):
        return False
    g_b = int.from_bytes(srp_B, "big")
    u = _u(g_a, g_b)
    if u == 0:
        return False
    s_b = modexp(g_a * modexp(v, u, p) % p, b, p)
    expected = _m1(p, algo.g, algo.salt1, algo.salt2, g_a, g_b, _h(_pad(s_b)))
    return hmac.compare_digest(expected, M1)
