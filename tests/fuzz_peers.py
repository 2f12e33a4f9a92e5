"""Hostile servers against the client: the auth-key exchange and the encrypted session.

    nice -n 10 .venv/bin/python tests/fuzz_peers.py authkey --minutes 10 [--seed N]
    nice -n 10 .venv/bin/python tests/fuzz_peers.py session --minutes 10 [--seed N]
    TLCODEC_NO_EXTENSIONS=1 nice -n 10 .venv/bin/python tests/fuzz_peers.py session --minutes 10

Each scenario is one conversation with a hostile server, its choices drawn from a `Source`
(tl_strategies.py): a seeded `random.Random` here, Hypothesis in the short versions that pytest
collects (tests/test_fuzz_peers.py). docs/FUZZING.md says how the campaigns are run.

- authkey: a `ClientAuthKeyExchange` is taken to one of its three waiting states by the seeded
  exchange of test_authkey.py, then every server message it gets may be hostile: random bytes,
  a damaged plain-message header, a damaged body, another TL object, or a well-formed message
  with hostile fields (pq, fingerprints, nonces), re-encrypted with the real temporary key when
  the field is inside server_DH_inner_data (g, dh_prime, g_a, server_time, hash, padding), and
  dh_gen answers with right or wrong hashes (retries until the client's bound). The client may
  only answer, finish, or raise `SecurityError` (then it is failed for good).
- session: client `ClientSession`s of every build there is (the compiled `_client_session_c` and
  client_session.py run as Python when the compiled one is in use; the plain one alone
  otherwise) get the same hostile payloads: service messages with hostile ids and codes, rpc_results, nested
  and bombed gzip_packed, containers with hostile items, random objects and bytes, hostile
  headers and padding, and ciphertext-level garbage. `receive()` may raise nothing: every bad
  message is a counted `MessageDropped` or `MessageSkipped`; the builds must agree event for
  event and byte for byte on what they send back; afterwards each session must still take a
  valid update and send a request.

A step that takes longer than STEP_SECONDS ends the process with every thread's stack (a hang:
nothing in C returns to Python to be interrupted).
"""

from __future__ import annotations

import argparse
import copy
import faulthandler
import logging
import random
import struct
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import tlcodec  # noqa: E402
from tlcodec import SecurityError, _runtime, crypto  # noqa: E402
from tlcodec import functions as F  # noqa: E402
from tlcodec import types as T  # noqa: E402
from tlcodec.mtproto import events as E  # noqa: E402
from tlcodec.mtproto.authkey import pack_plain_message, unpack_plain_message  # noqa: E402
from tlcodec.mtproto.client_session import ClientSession  # noqa: E402
from tlcodec.mtproto.session import encrypt_payload  # noqa: E402

from fuzz_inputs import nested_gzip, rpc_result  # noqa: E402
from test_authkey import (  # noqa: E402
    SMALL_SAFE_PRIME,
    UNSAFE_PRIME,
    Transcript,
    body_of,
    client_awaiting_dh_gen,
    client_awaiting_dh_params,
    reseal,
    rewrite,
    seeded_client,
    seeded_transcript,
)
from test_mtproto_session_hostile import gzip_packed, tl_bytes  # noqa: E402
from test_mtproto_session_builds import (  # noqa: E402
    AUTH_KEY,
    SALT,
    _client,
    _outcome,
    _server_id,
)
from support import session_build  # noqa: E402
from tl_strategies import LONG_MAX, LONG_MIN, INT_MAX, INT_MIN, Builder, RandomSource  # noqa: E402

STEP_SECONDS = 60.0
BUNDLED = Builder(tlcodec.bundled.classes.values(), max_depth=2)
INTERESTING_LONGS = [0, 1, -1, 3, LONG_MAX, LONG_MIN, 1 << 32, (1 << 32) - 1, 1 << 31]
INTERESTING_INTS = [0, 1, -1, 2, 3, 7, 8, INT_MAX, INT_MIN, 255, 256, 65536]


def one_in(source: Any, chances: int) -> bool:
    """True once in `chances` (the sources' integers favour their bounds: no odds there)."""
    return source.pick(range(chances)) == 0


def some_long(source: Any, *favourites: int) -> int:
    """A long: one of `favourites` or of the boundary values, or any."""
    options = [*favourites, *INTERESTING_LONGS]
    return source.pick(options) if source.boolean() else source.integer(LONG_MIN, LONG_MAX)


def some_int(source: Any, *favourites: int) -> int:
    options = [*favourites, *INTERESTING_INTS]
    return source.pick(options) if source.boolean() else source.integer(INT_MIN, INT_MAX)


def some_blob(source: Any) -> bytes:
    return source.blob(source.pick([None, 0, 16, 32, 256, 257, 1024]))


def damage(data: bytes, source: Any) -> bytes:
    """`data` with a few bytes flipped, inserted, deleted or cut (maybe none)."""
    out = bytearray(data)
    for _ in range(source.integer(0, 3)):
        at = source.integer(0, len(out))
        operation = source.pick(["flip", "insert", "delete", "cut"])
        if operation == "flip" and at < len(out):
            out[at] ^= source.integer(1, 255)
        elif operation == "insert":
            out[at:at] = source.blob(source.integer(1, 8))
        elif operation == "delete":
            del out[at:at + source.integer(1, 8)]
        elif operation == "cut":
            del out[at:]
    return bytes(out)


def some_object(source: Any) -> bytes:
    """The encoding of any bundled constructor or function."""
    plan = source.pick(BUNDLED.objects + BUNDLED.functions)
    return tlcodec.encode(BUNDLED.object(plan, source))


class Watchdog:
    """Ends the process with every thread's stack when a step runs past its time, and keeps
    the slowest step's duration."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.slowest = 0.0

    def run(self, step: Callable[[], Any]) -> Any:
        faulthandler.dump_traceback_later(self.seconds, exit=True)
        started = time.perf_counter()
        try:
            return step()
        finally:
            faulthandler.cancel_dump_traceback_later()
            self.slowest = max(self.slowest, time.perf_counter() - started)


# ----------------------------------------------------------------------------------------------
# The auth-key exchange

# pq values a protocol server never sends (a prime, squares, a factor past 2^32, small ones
# that froze or crashed factorizers) and the edges of the range.
HOSTILE_PQ = [0, 1, 9, 15, 21, 33, 35, 91, (1 << 32) - 5, 1 << 32, (1 << 32) + 1,
              (1 << 64) - 59, (1 << 64) - 1, 4294967291 ** 2, 3 * 6148914691236517199,
              2 * 4294967291, 65537 * 65539 * 65543, 2147483647 * 2147483629]
HOSTILE_G = [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, INT_MAX, INT_MIN]
# The client's states that wait for a server message, in the order of the exchange.
WAITING_STEPS = ["AWAIT_RES_PQ", "AWAIT_DH_PARAMS", "AWAIT_DH_GEN"]


class AuthKeyCampaign:
    """Hostile servers against `ClientAuthKeyExchange` (see the module doc)."""

    def __init__(self) -> None:
        self.transcript: Transcript = seeded_transcript()
        start = seeded_client()
        start.start()
        # A client waiting for each server message in turn (copied for every scenario).
        self.waiting = [start, client_awaiting_dh_params(self.transcript),
                        client_awaiting_dh_gen(self.transcript)]
        self.genuine = [self.transcript.res_pq, self.transcript.dh_params_ok,
                        self.transcript.dh_gen_ok]
        self.watchdog = Watchdog(STEP_SECONDS)
        self.outcomes: Counter[str] = Counter()
        self.messages = 0  # hostile server messages (payloads) delivered

    def scenario(self, source: Any) -> None:
        """One exchange against a hostile server, from a state the source picks."""
        client = copy.deepcopy(source.pick(self.waiting))
        retry_storm = one_in(source, 8)  # dh_gen_retry with the right hash, again and again
        for _ in range(12):  # three messages, and the retries a dh_gen_retry asks for
            step = WAITING_STEPS.index(client._step.name)
            if retry_storm and step == 2:
                payload = self._dh_gen_retry(client)
            else:
                payload = self._server_message(client, step, source)
            self.messages += 1
            try:
                answer = self.watchdog.run(lambda: client.receive(payload))
            except SecurityError as refused:
                assert client.failed and client.error is refused and not client.done
                try:
                    client.receive(self.genuine[step])
                except SecurityError as again:
                    assert again.check == "state", again
                else:
                    raise AssertionError("a failed exchange took another message")
                self.outcomes["refused: " + refused.check] += 1
                return
            if answer is None:
                assert client.done and len(client.result.auth_key) == 256
                self.outcomes["key agreed"] += 1
                return
            assert isinstance(answer, bytes) and not client.failed
            unpack_plain_message(answer)  # what the client sends is a well-formed message
        raise AssertionError("the exchange neither ended nor failed after 12 server messages")

    def _server_message(self, client: Any, step: int, source: Any) -> bytes:
        kind = source.pick(["genuine", "fields", "fields", "fields", "header", "damaged",
                            "object", "bytes"])
        if kind == "bytes":
            return source.blob(None)
        if kind == "object":
            return pack_plain_message(self._next_msg_id(client), some_object(source))
        if kind == "genuine":
            return self.genuine[step]
        message = [self._res_pq, self._dh_params, self._dh_gen][step](client, source)
        if kind == "header":
            return self._damaged_header(message, source)
        if kind == "damaged":
            return damage(message, source)
        return message

    @staticmethod
    def _next_msg_id(client: Any) -> int:
        """Above the last msg_id the client took (as far as 64 bits go: one at the top leaves
        no room above it)."""
        last = client._last_received_msg_id
        return min(last + 4, (1 << 64) - 1) if last else (1 << 62) + 1

    def _damaged_header(self, message: bytes, source: Any) -> bytes:
        auth_key_id, msg_id, length = struct.unpack_from("<QQi", message)
        field = source.pick(["auth_key_id", "msg_id", "length"])
        if field == "auth_key_id":
            auth_key_id = source.integer(0, (1 << 64) - 1)
        elif field == "msg_id":
            msg_id = some_long(source, msg_id - 4, msg_id + 1, msg_id + 2, msg_id - 1) % (1 << 64)
        else:
            length = some_int(source, length - 4, length + 4, length + 1)
        return struct.pack("<QQi", auth_key_id, msg_id, length) + message[20:]

    def _res_pq(self, client: Any, source: Any) -> bytes:
        genuine = body_of(self.transcript.res_pq)
        changes: dict[str, Any] = {}
        field = source.pick(["pq", "pq", "fingerprints", "nonce", "server_nonce"])
        if field == "pq":
            value = source.pick(HOSTILE_PQ) if source.boolean() else source.integer(0, 2**64 - 1)
            minimal = value.to_bytes((value.bit_length() + 7) // 8, "big")
            changes["pq"] = source.pick([minimal, minimal.rjust(8, b"\0"), minimal.rjust(9, b"\0"),
                                         minimal[1:], b""])
        elif field == "fingerprints":
            ours = genuine.server_public_key_fingerprints[0]
            count = source.pick([0, 1, 2, 3, 300])
            changes["server_public_key_fingerprints"] = [some_long(source, ours)
                                                         for _ in range(count)]
        else:
            changes[field] = source.pick([bytes(16), source.blob(16), genuine.nonce,
                                          genuine.server_nonce])
        return rewrite(self.transcript.res_pq, **changes)

    def _dh_params(self, client: Any, source: Any) -> bytes:
        genuine = body_of(self.transcript.dh_params_ok)
        nonces = {"nonce": client._nonce, "server_nonce": client._server_nonce}
        if source.boolean():  # the outer message
            field = source.pick(["nonce", "server_nonce", "encrypted_answer", "fail"])
            if field == "fail":
                expected = crypto.sha1(client._new_nonce)[4:20]
                body = T.ServerDHParamsFail(
                    new_nonce_hash=expected if source.boolean() else source.blob(16), **nonces)
                return pack_plain_message(self._next_msg_id(client), tlcodec.encode(body))
            if field == "encrypted_answer":
                value = damage(genuine.encrypted_answer, source) if source.boolean() else \
                    some_blob(source)
                return rewrite(self.transcript.dh_params_ok, encrypted_answer=value, **nonces)
            nonces[field] = source.blob(16)
            return rewrite(self.transcript.dh_params_ok, **nonces)
        # server_DH_inner_data with hostile fields, sealed with the client's temporary key.
        inner: dict[str, Any] = dict(nonces)
        dh_prime = crypto.KNOWN_DH_PRIME
        for _ in range(source.integer(1, 3)):
            field = source.pick(["g", "dh_prime", "g_a", "g_a", "server_time", "nonce",
                                 "server_nonce", "hash_of", "padding"])
            if field == "g":
                inner["g"] = some_int(source, *HOSTILE_G)
            elif field == "dh_prime":
                dh_prime = source.pick([crypto.KNOWN_DH_PRIME + 2, SMALL_SAFE_PRIME, UNSAFE_PRIME,
                                        0, 1, (1 << 2048) - 1, 3 * crypto.KNOWN_DH_PRIME,
                                        int.from_bytes(source.blob(256), "big") | 1])
                size = max(1, (dh_prime.bit_length() + 7) // 8)
                inner["dh_prime"] = dh_prime.to_bytes(size, "big")
            elif field == "g_a":
                bound = 1 << 1984
                g_a = abs(source.pick([0, 1, 2, dh_prime - 1, dh_prime, dh_prime + 1, bound - 1,
                                       bound, dh_prime - bound, dh_prime - bound + 1,
                                       int.from_bytes(source.blob(256), "big")]))
                size = (g_a.bit_length() + 7) // 8
                inner["g_a"] = g_a.to_bytes(max(size, source.pick([size, 256, 257])), "big")
            elif field == "server_time":
                inner["server_time"] = some_int(source)
            elif field in ("nonce", "server_nonce"):
                inner[field] = source.blob(16)
            elif field == "hash_of":
                inner["hash_of"] = source.blob(None)
            else:
                inner["padding"] = None  # whole blocks more than the minimum, filled below
        key_iv = crypto.tmp_aes_key_iv(client._new_nonce, client._server_nonce)
        # The genuine answer, decrypted with the seeded exchange's key and encrypted with this
        # client's (they differ when an earlier hostile resPQ was accepted).
        plain = crypto.aes_ige_decrypt(genuine.encrypted_answer, *self.transcript.tmp_key_iv)
        if "padding" in inner:
            changed = tlcodec.decode(plain[20:], allow_trailing=True)
            for name, value in inner.items():
                if name not in ("hash_of", "padding"):
                    setattr(changed, name, value)
            size = 20 + len(tlcodec.encode(changed))
            inner["padding"] = source.blob(-size % 16 + 16 * source.integer(1, 3))
        answer = reseal(crypto.aes_ige_encrypt(plain, *key_iv), key_iv, **inner)
        return rewrite(self.transcript.dh_params_ok, encrypted_answer=answer, **nonces)

    def _dh_gen(self, client: Any, source: Any) -> bytes:
        number = source.pick([1, 2, 2, 3])
        cls = {1: T.DhGenOk, 2: T.DhGenRetry, 3: T.DhGenFail}[number]
        hash_number = number if source.boolean() else source.pick([1, 2, 3])
        right = crypto.new_nonce_hash(client._new_nonce, client._auth_key, hash_number)
        fields = {"nonce": client._nonce, "server_nonce": client._server_nonce,
                  f"new_nonce_hash{number}": right if source.boolean() else source.blob(16)}
        if one_in(source, 5):
            fields[source.pick(["nonce", "server_nonce"])] = source.blob(16)
        return pack_plain_message(self._next_msg_id(client), tlcodec.encode(cls(**fields)))

    def _dh_gen_retry(self, client: Any) -> bytes:
        right = crypto.new_nonce_hash(client._new_nonce, client._auth_key, 2)
        retry = T.DhGenRetry(nonce=client._nonce, server_nonce=client._server_nonce,
                             new_nonce_hash2=right)
        return pack_plain_message(self._next_msg_id(client), tlcodec.encode(retry))


# ----------------------------------------------------------------------------------------------
# The encrypted session

# gzip_packed that inflate to more than the session's default budget (16 MiB): a token of
# 16 MiB, and zeros that are no TL object at all; and one that inflates within it.
GZIP_BOMBS = [gzip_packed(tlcodec.encode(T.auth.LoginToken(expires=1, token=bytes((1 << 24) - 1)))),
              gzip_packed(bytes(20 << 20)), gzip_packed(bytes(1 << 20))]
BAD_MSG_CODES = [16, 17, 18, 19, 20, 32, 33, 34, 35, 48, 64, 0, -1, INT_MAX]


class SessionCampaign:
    """Hostile servers against client `ClientSession`s of every build (see the module doc)."""

    def __init__(self) -> None:
        self.session_classes = [ClientSession]
        if _runtime.acceleration("session"):  # the plain build beside it
            self.session_classes.append(session_build("plain").ClientSession)
        self.watchdog = Watchdog(STEP_SECONDS)
        self.outcomes: Counter[str] = Counter()
        self.messages = 0  # hostile server messages (payloads) delivered

    def scenario(self, source: Any) -> None:
        pairs = [_client(cls) for cls in self.session_classes]
        clients = [client for client, _ in pairs]
        request_ids = pairs[0][1]
        seen: list[int] = []
        for _ in range(source.integer(1, 4)):
            payload = self._payload(clients[0], request_ids, seen, source)
            self.messages += 1
            results = []
            for client in clients:
                client._now.t += 0.25  # time passes: acks fall due, a corrected clock moves on
                before = (sum(client.dropped.values()), sum(client.skipped.values()))
                events = self.watchdog.run(lambda: client.receive(payload))
                assert isinstance(events, list) and all(isinstance(e, E.Event) for e in events)
                dropped = sum(isinstance(e, E.MessageDropped) for e in events)
                # A damaged rpc_result of a pending request fails it, counted as a skip.
                skipped = sum(isinstance(e, E.MessageSkipped) or (
                    isinstance(e, E.RpcFailed) and isinstance(e.error, tlcodec.DecodeError))
                    for e in events)
                assert dropped in (0, 1) and (not dropped or len(events) == 1), events
                counted = (sum(client.dropped.values()), sum(client.skipped.values()))
                assert counted == (before[0] + dropped, before[1] + skipped), (events, counted)
                results.append((_outcome(client, events), self.watchdog.run(client.pack)))
                for event in events:
                    self.outcomes[type(event).__name__ + (
                        ": " + event.reason if hasattr(event, "reason") else "")] += 1
            assert all(result == results[0] for result in results[1:]), "the builds disagree"
        for client in clients:
            self._still_usable(client)

    def _still_usable(self, client: Any) -> None:
        """A valid update after the hostile messages is taken; a new request goes out."""
        for _ in range(100):  # what the hostile messages left to send
            if client.pack() is None:
                break
        # A server message by the session's corrected clock, not below the ids it has seen
        # (those are replays) and not one of them. Notifications about our messages are taken
        # from any time, so the ids seen may all be too far ahead for a message to follow.
        clock = client._now() + client.time_offset
        msg_id = max(int(clock * 2**32) & ~3 | 1, min(client._received, default=0) | 1)
        while msg_id in client._received:
            msg_id += 4
        if (msg_id >> 32) > clock + 29:
            self.outcomes["probe: every id seen is ahead of the clock"] += 1
        else:
            update = T.UpdateShort(update=T.UpdateLoginToken(), date=1)
            body = tlcodec.encode(update)
            events = client.receive(self._seal(client.session_id, msg_id, 1, body))
            assert [type(e) for e in events] == [E.Update], (events, client.dropped)
        client.send(F.auth.ImportLoginToken(token=b"again"))
        assert client.pack() is not None

    @staticmethod
    def _seal(session_id: int, msg_id: int, seq_no: int, body: bytes, padding: int | None = None,
              length: int | None = None, salt: int = SALT) -> bytes:
        if padding is None:
            padding = 12
        padding += -(32 + len(body) + padding) % 16  # the envelope is whole AES blocks
        header = struct.pack("<qqqii", salt, session_id, msg_id, seq_no,
                             len(body) if length is None else length)
        return encrypt_payload(AUTH_KEY, header + body + bytes(padding), from_client=False)

    def _payload(self, client: Any, request_ids: list[int], seen: list[int], source: Any) -> bytes:
        body = self._body(client, request_ids, source, depth=0)
        session_id = client.session_id if not one_in(source, 20) else some_long(source)
        msg_id = self._msg_id(source, seen)
        seen.append(msg_id)
        seq_no = some_int(source, 1, 2, 3) if one_in(source, 5) else source.pick([0, 1, 3])
        padding = length = None
        if one_in(source, 16):
            padding = source.pick([0, 4, 8, 1024, 1028, 1040])
        if one_in(source, 16):
            length = some_int(source, len(body) + 4, len(body) - 4, len(body) + 1, len(body) + 1000)
        payload = self._seal(session_id, msg_id, seq_no, body, padding, length,
                             salt=some_long(source, SALT))
        garbage = source.pick(["damaged", "random"] + ["sealed"] * 18)
        if garbage == "damaged":
            return damage(payload, source)
        if garbage == "random":
            return source.blob(source.pick([None, 0, 8, 71, 72, 88, 1000]))
        return payload

    @staticmethod
    def _msg_id(source: Any, seen: list[int]) -> int:
        if seen and one_in(source, 12):
            return source.pick(seen)  # a replay
        if one_in(source, 16):  # from any time: a clock a msg_id can hardly or not carry
            return source.pick([LONG_MAX, LONG_MAX - 2, (1 << 62) + 1, 5, LONG_MIN + 1,
                                some_long(source)])
        if one_in(source, 8):  # just inside or outside the time window
            return _server_id(source.pick([-299.0, -301.0, 29.0, 31.0, -400.0, 3600.0]))
        offset = 0.2 + 0.5 * len(seen) + source.pick([0.0, 0.1, -0.3])  # mostly rising
        return _server_id(offset, source.pick([1, 1, 1, 1, 1, 3, 3, 3, 0, 2]))

    def _body(self, client: Any, request_ids: list[int], source: Any, depth: int) -> bytes:
        ours = [*request_ids, *client._sent]
        kinds = ["rpc_result", "rpc_result", "container", "gzip", "bad_server_salt",
                 "bad_msg_notification", "future_salts", "new_session_created", "msgs_ack", "pong",
                 "detailed_info", "new_detailed_info", "destroy_session", "msg_copy",
                 "passthrough", "object", "bytes"]
        if depth >= 2:
            kinds.remove("container")
            kinds.remove("gzip")
        kind = source.pick(kinds)
        any_of_ours = source.pick(ours) if ours and not one_in(source, 5) else some_long(source)
        if kind == "rpc_result":
            return rpc_result(any_of_ours, self._result(source))
        if kind == "container":
            items = []
            for index in range(source.pick([0, 1, 2, 3, 5])):
                item = self._body(client, request_ids, source, depth + 1)
                length = len(item) if not one_in(source, 8) else some_int(source, len(item) + 4)
                item_id = (_server_id(0.1 + index / 100) if not one_in(source, 3)
                           else self._msg_id(source, []))
                seq_no = some_int(source, 2 * index + 1)
                items.append(struct.pack("<qii", item_id, seq_no, length) + item)
            count = len(items) if not one_in(source, 8) else some_int(source, len(items) + 1, 1025)
            return struct.pack("<Ii", 0x73F1F8DC, count) + b"".join(items)
        if kind == "gzip":
            if one_in(source, 5):
                return source.pick(GZIP_BOMBS)
            inner = self._body(client, request_ids, source, depth + 1)
            return nested_gzip(inner, source.pick([1, 1, 2, 3]))
        if kind == "bad_server_salt":
            return tlcodec.encode(T.BadServerSalt(
                bad_msg_id=any_of_ours, bad_msg_seqno=some_int(source),
                error_code=some_int(source, 48),
                new_server_salt=some_long(source)))
        if kind == "bad_msg_notification":
            return tlcodec.encode(T.BadMsgNotification(
                bad_msg_id=any_of_ours, bad_msg_seqno=some_int(source),
                error_code=(source.pick(BAD_MSG_CODES) if not one_in(source, 5)
                            else some_int(source))))
        if kind == "future_salts":
            salts = [T.FutureSalt(valid_since=some_int(source), valid_until=some_int(source),
                                  salt=some_long(source))
                     for _ in range(source.pick([0, 1, 3, 64]))]
            return tlcodec.encode(T.FutureSalts(req_msg_id=any_of_ours, now=some_int(source),
                                                salts=salts))
        if kind == "new_session_created":
            return tlcodec.encode(T.NewSessionCreated(
                first_msg_id=any_of_ours, unique_id=some_long(source),
                server_salt=some_long(source)))
        if kind == "msgs_ack":
            count = source.pick([0, 1, 3, 100, 9000])
            return tlcodec.encode(T.MsgsAck(msg_ids=[some_long(source, *ours) if ours else 0
                                                     for _ in range(count)]))
        if kind == "pong":
            return tlcodec.encode(T.Pong(msg_id=any_of_ours, ping_id=some_long(source)))
        if kind == "detailed_info":
            return tlcodec.encode(T.MsgDetailedInfo(
                msg_id=any_of_ours, answer_msg_id=some_long(source), bytes=some_int(source),
                status=some_int(source)))
        if kind == "new_detailed_info":
            return tlcodec.encode(T.MsgNewDetailedInfo(
                answer_msg_id=some_long(source), bytes=some_int(source), status=some_int(source)))
        if kind == "destroy_session":
            cls = source.pick([T.DestroySessionOk, T.DestroySessionNone])
            return tlcodec.encode(cls(session_id=some_long(source, client.session_id)))
        if kind == "msg_copy":
            inner = self._body(client, request_ids, source, depth + 2)
            copied = struct.pack("<qii", some_long(source), some_int(source), len(inner)) + inner
            return struct.pack("<I", 0xE06046B2) + copied
        if kind == "passthrough":
            return tlcodec.encode(source.pick([
                T.MsgsStateReq(msg_ids=[any_of_ours]), T.MsgResendReq(msg_ids=[any_of_ours]),
                T.RpcAnswerUnknown(),
                T.HttpWait(max_delay=some_int(source), wait_after=0, max_wait=0),
                T.MsgsStateInfo(req_msg_id=any_of_ours, info=source.blob(None))]))
        if kind == "object":
            return damage(some_object(source), source) if one_in(source, 4) else some_object(source)
        data = source.blob(None)
        return data if not one_in(source, 4) else data + bytes(-len(data) % 4)

    def _result(self, source: Any) -> bytes:
        kind = source.pick(["token", "error", "gzip", "nested_gzip", "bomb", "truncated", "object"])
        token = tlcodec.encode(T.auth.LoginToken(expires=some_int(source), token=source.blob(None)))
        if kind == "token":
            return token
        if kind == "error":
            message = source.pick([b"FLOOD_WAIT_" + b"9" * source.pick([1, 10, 400]),
                                   b"USER_MIGRATE_" + b"9" * source.pick([1, 30]),
                                   b"AUTH_KEY_UNREGISTERED", b"\xff\xfe", b"", source.blob(None)])
            code = some_int(source, 303, 401, 420, 500)
            return struct.pack("<Ii", 0x2144CA19, code) + tl_bytes(message)
        if kind == "gzip":
            return gzip_packed(token)
        if kind == "nested_gzip":
            return nested_gzip(token, source.pick([2, 3, 50]))
        if kind == "bomb":
            return source.pick(GZIP_BOMBS)
        if kind == "truncated":
            return token[:source.integer(0, len(token))]
        return some_object(source)


# ----------------------------------------------------------------------------------------------
# Running a campaign by hand


CAMPAIGNS: dict[str, Callable[[], Any]] = {"authkey": AuthKeyCampaign, "session": SessionCampaign}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("campaign", choices=sorted(CAMPAIGNS))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=None, help="default: from the clock")
    args = parser.parse_args()
    logging.getLogger("tlcodec").setLevel(logging.ERROR)  # every drop and skip is logged
    seed = int(time.time()) if args.seed is None else args.seed
    campaign = CAMPAIGNS[args.campaign]()
    builds = ", ".join(f"{part} {'compiled' if runs else 'plain'}"
                       for part, runs in tlcodec.ACCELERATED.items())
    print(f"{args.campaign} campaign, seed {seed}, {args.minutes} minutes ({builds})", flush=True)
    started = time.monotonic()
    deadline = started + 60 * args.minutes
    scenarios = 0
    while time.monotonic() < deadline:
        scenario_seed = seed * 1_000_003 + scenarios
        try:
            campaign.scenario(RandomSource(random.Random(scenario_seed), optional_present=False))
        except Exception:
            print(f"FINDING in scenario seed {scenario_seed} (replay: --seed {seed}, scenario "
                  f"{scenarios})", flush=True)
            raise
        scenarios += 1
        if scenarios % 1000 == 0:
            print(f"{scenarios} scenarios, {time.monotonic() - started:.0f} s", flush=True)
    elapsed = time.monotonic() - started
    print(f"done: {scenarios} scenarios ({campaign.messages} server messages) in {elapsed:.0f} s,"
          f" slowest step {campaign.watchdog.slowest * 1000:.1f} ms, no finding")
    for outcome, count in campaign.outcomes.most_common():
        print(f"  {count:9d}  {outcome}")


if __name__ == "__main__":
    main()
