"""Two-step verification: the client's SRP check, `account.password` -> `inputCheckPasswordSRP`.

[tlcodec]: `tlcodec.mtproto.srp.compute_check` (every client-side check, the 100,000-round
PBKDF2-HMAC-SHA512, a fresh `a`, three 2048-bit modular exponentiations with gmpy2).
[telethon]: Telethon 1.45's `telethon.password.compute_check` on the same `account.password`
and password (its own TL objects, same values). Both use real randomness (a fresh `a` each
round), Telegram's prime and g = 3, as Telegram sends them; each result is checked once by the
server half of the test DCs before timing, so both columns do the same, correct work.

Most of the time is the PBKDF2 (hashlib, the same C code on both sides); the rest is the
modexps, gmpy2's `powmod_sec` on our side, Python's `pow` on Telethon's. In the client the
check runs in a worker thread (client/password.py); this times the computation alone.
"""

from __future__ import annotations

from typing import Any

import pytest

from tlcodec import types
from tlcodec.crypto import KNOWN_DH_PRIME
from tlcodec.mtproto import srp

GROUP = "2FA: SRP check"
PASSWORD = "correct horse battery staple"

ALGO = srp.new_algorithm(KNOWN_DH_PRIME, 3)
VERIFIER = srp.verifier(ALGO, PASSWORD)
B_SECRET, SRP_B = srp.server_challenge(ALGO, VERIFIER)
INFO = types.account.Password(
    has_password=True, current_algo=ALGO, srp_B=SRP_B, srp_id=1,
    new_algo=types.PasswordKdfAlgoUnknown(), new_secure_algo=types.SecurePasswordKdfAlgoUnknown(),
    secure_random=b"",
)


def telethon_info() -> Any:
    tl = pytest.importorskip("telethon.tl.types", reason="needs Telethon")
    return tl.account.Password(
        new_algo=tl.PasswordKdfAlgoUnknown(), new_secure_algo=tl.SecurePasswordKdfAlgoUnknown(),
        secure_random=b"", has_password=True, srp_B=SRP_B, srp_id=1,
        current_algo=tl.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
            ALGO.salt1, ALGO.salt2, ALGO.g, ALGO.p),
    )


@pytest.mark.benchmark(group=GROUP)
@pytest.mark.parametrize("impl", ["tlcodec", "telethon"])
def test_srp_check(benchmark: Any, impl: str) -> None:
    if impl == "tlcodec":
        compute, args = srp.compute_check, (INFO, PASSWORD)
    else:
        telethon_password = pytest.importorskip("telethon.password", reason="needs Telethon")
        compute, args = telethon_password.compute_check, (telethon_info(), PASSWORD)
    check = compute(*args)
    assert srp.server_verify(ALGO, VERIFIER, B_SECRET, SRP_B, check.A, check.M1)
    check = benchmark.pedantic(compute, args=args, rounds=7, iterations=1, warmup_rounds=1)
    assert len(check.M1) == 32
