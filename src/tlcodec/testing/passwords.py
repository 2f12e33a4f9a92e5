"""Two-step verification on the test data centres: the server's half of SRP (PROTOCOL.md 5.3).

An account's password is kept the way a server keeps it, as an SRP verifier
(`StoredPassword`: the algorithm with its salts, v = g^x mod p, the hint), never as the
password. `PasswordChecks` is the state behind `account.getPassword` and `auth.checkPassword`:

- which auth keys wait for a password (their QR login answered `SESSION_PASSWORD_NEEDED`);
- one challenge per key: each `account.getPassword` draws a new secret b, srp_B and srp_id (the
  previous srp_id of that key stops working); a check uses its srp_id up, right or wrong;
- the answers: `SRP_ID_INVALID` (unknown, used or another key's srp_id), `SRP_PASSWORD_CHANGED`
  (the password changed after the challenge), `PASSWORD_HASH_INVALID` (a wrong proof, an empty
  check for an account with a password, a malformed A), and `FLOOD_WAIT_X` once an account has
  had `FLOOD_LIMIT` wrong passwords within `FLOOD_WINDOW` seconds;
- the proof itself is checked by `tlcodec.mtproto.srp.server_verify` (A's range, u != 0, M1
  compared in constant time).

The group is Telegram's 2048-bit prime with g = 3, what Telegram's servers send.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import types
from ..crypto import KNOWN_DH_PRIME
from ..mtproto import srp
from ..mtproto.errors import RPCError

__all__ = ["FLOOD_LIMIT", "FLOOD_WINDOW", "PasswordChecks", "StoredPassword"]

SRP_G = 3
FLOOD_LIMIT = 5  # wrong passwords of one account ...
FLOOD_WINDOW = 300.0  # ... within this many seconds bring a FLOOD_WAIT_X

RandomBytes = Callable[[int], bytes]


@dataclass(frozen=True, slots=True, eq=False)
class StoredPassword:
    """What the test DCs keep of a password: salts and group (`algo`), verifier, hint."""

    algo: Any
    verifier: int
    hint: str | None

    @classmethod
    def create(cls, password: str, hint: str | None = None,
               random_bytes: RandomBytes = os.urandom) -> StoredPassword:
        if not isinstance(password, str) or not password:
            raise ValueError("a password is a non-empty string")
        algo = srp.new_algorithm(KNOWN_DH_PRIME, SRP_G, random_bytes)
        return cls(algo, srp.verifier(algo, password), hint or None)

    def __repr__(self) -> str:
        return f"StoredPassword(hint={self.hint!r})"


@dataclass(slots=True, eq=False)
class _Challenge:
    key: Any  # the KeyRef that asked
    account: Any
    password: StoredPassword  # the password it was made for (a change makes it stale)
    b: int
    srp_B: bytes


@dataclass(slots=True)
class PasswordChecks:
    """The 2FA state of all test DCs (see the module doc)."""

    clock: Callable[[], float] = time.time
    random_bytes: RandomBytes = os.urandom
    pending: dict[Any, Any] = field(default_factory=dict)  # KeyRef -> Account
    _challenges: dict[int, _Challenge] = field(default_factory=dict)
    _by_key: dict[Any, int] = field(default_factory=dict)
    _failures: dict[int, list[float]] = field(default_factory=dict)  # user_id -> times

    def password_needed(self, key: Any, account: Any) -> RPCError:
        """`key` logged in as `account`, which has a password: remember, and the error to send."""
        self.pending[key] = account
        return RPCError.from_message(401, "SESSION_PASSWORD_NEEDED")

    def get_password(self, key: Any, account: Any) -> Any:
        """The `account.password` for `key` (a fresh challenge if the account has a password)."""
        new_algo = srp.ALGORITHM(salt1=self.random_bytes(8), salt2=self.random_bytes(16),
                                 g=SRP_G, p=KNOWN_DH_PRIME.to_bytes(256, "big"))
        common = dict(
            new_algo=new_algo,
            new_secure_algo=types.SecurePasswordKdfAlgoPBKDF2HMACSHA512iter100000(
                salt=self.random_bytes(8)),
            secure_random=self.random_bytes(32),
        )
        stored = account.password
        if stored is None:
            return types.account.Password(**common)
        self._forget(key)
        b, srp_B = srp.server_challenge(stored.algo, stored.verifier, self.random_bytes)
        srp_id = self._new_srp_id()
        self._challenges[srp_id] = _Challenge(key, account, stored, b, srp_B)
        self._by_key[key] = srp_id
        return types.account.Password(
            has_password=True, current_algo=stored.algo, srp_B=srp_B, srp_id=srp_id,
            hint=stored.hint, **common,
        )

    def check(self, key: Any, check: Any) -> Any:
        """`auth.checkPassword(check)` from `key`: the account it logs in, or raise the
        `RPCError` to send."""
        account = self.pending.get(key)
        if account is None:
            raise RPCError.from_message(401, "AUTH_KEY_UNREGISTERED")
        self._refuse_if_flooded(account)
        if isinstance(check, types.InputCheckPasswordEmpty):
            if account.password is None:
                return self._passed(key)
            self._wrong(account)
        challenge = self._challenges.get(check.srp_id)
        if challenge is None or challenge.key != key:
            raise RPCError.from_message(400, "SRP_ID_INVALID")
        self._forget(key)  # an srp_id is good for one check
        if challenge.password is not account.password:
            raise RPCError.from_message(400, "SRP_PASSWORD_CHANGED")
        stored = challenge.password
        if not srp.server_verify(stored.algo, stored.verifier, challenge.b, challenge.srp_B,
                                 check.A, check.M1):
            self._wrong(account)
        return self._passed(key)

    def _passed(self, key: Any) -> Any:
        account = self.pending.pop(key)
        self._failures.pop(account.user_id, None)
        return account

    def _wrong(self, account: Any) -> None:
        self._failures.setdefault(account.user_id, []).append(self.clock())
        raise RPCError.from_message(400, "PASSWORD_HASH_INVALID")

    def _refuse_if_flooded(self, account: Any) -> None:
        now = self.clock()
        recent = [t for t in self._failures.get(account.user_id, ()) if t > now - FLOOD_WINDOW]
        self._failures[account.user_id] = recent
        if len(recent) >= FLOOD_LIMIT:
            wait = max(1, int(recent[0] + FLOOD_WINDOW - now + 0.999))
            raise RPCError.from_message(420, f"FLOOD_WAIT_{wait}")

    def _forget(self, key: Any) -> None:
        srp_id = self._by_key.pop(key, None)
        if srp_id is not None:
            self._challenges.pop(srp_id, None)

    def _new_srp_id(self) -> int:
        while True:
            srp_id = int.from_bytes(self.random_bytes(8), "little", signed=True)
            if srp_id not in self._challenges:
                return srp_id
