"""Small messages, tlcodec vs Telethon side by side: one pytest-benchmark group per operation.

Most of these take well under a microsecond for tlcodec, so each timed call runs a batch of
OPS_PER_CALL operations (bench_support.py) and records `ops_per_call`; the report divides by it.
Each callable is warmed first. `test_loop_overhead` measures what one step of the batch loop
costs by itself (included in both columns alike).
"""

from __future__ import annotations

from typing import Any

import pytest

from bench_support import (
    BUILD_ENCODE,
    DECODE,
    ENCODE,
    IMPLS,
    OPS_PER_CALL,
    TOKEN_32,
    loop_overhead,
    warm,
)


@pytest.mark.benchmark(group="build + encode ImportLoginToken(32 B)")
@pytest.mark.parametrize("impl", IMPLS)
def test_build_encode_import_login_token(
    benchmark: Any, impl: str, import_login_token: Any
) -> None:
    fn = BUILD_ENCODE[impl]
    warm(fn, TOKEN_32)
    benchmark.extra_info["ops_per_call"] = OPS_PER_CALL
    data = benchmark(fn, TOKEN_32)
    assert data == bytes(import_login_token["telethon"])


@pytest.mark.benchmark(group="encode prebuilt ImportLoginToken(32 B)")
@pytest.mark.parametrize("impl", IMPLS)
def test_encode_import_login_token(benchmark: Any, impl: str, import_login_token: Any) -> None:
    fn = ENCODE[impl]
    warm(fn, import_login_token[impl])
    benchmark.extra_info["ops_per_call"] = OPS_PER_CALL
    data = benchmark(fn, import_login_token[impl])
    assert len(data) == 4 + 36


@pytest.mark.benchmark(group="decode auth.loginToken(32 B)")
@pytest.mark.parametrize("impl", IMPLS)
def test_decode_login_token(benchmark: Any, impl: str, login_token_bytes: bytes) -> None:
    fn = DECODE[impl]
    warm(fn, login_token_bytes)
    benchmark.extra_info["ops_per_call"] = OPS_PER_CALL
    obj = benchmark(fn, login_token_bytes)
    assert obj.token == TOKEN_32


@pytest.mark.benchmark(group="decode auth.loginTokenSuccess(user)")
@pytest.mark.parametrize("impl", IMPLS)
def test_decode_login_token_success(
    benchmark: Any, impl: str, login_token_success_bytes: bytes
) -> None:
    fn = DECODE[impl]
    warm(fn, login_token_success_bytes)
    benchmark.extra_info["ops_per_call"] = OPS_PER_CALL
    obj = benchmark(fn, login_token_success_bytes)
    assert obj.authorization.user.username == "alice_in_wonderland"


@pytest.mark.benchmark(group="harness overhead")
@pytest.mark.parametrize("impl", ["baseline"])
def test_harness_overhead(benchmark: Any, impl: str) -> None:
    # One step of the batch loop around the cheapest call, `id(x)`: it is inside both columns of
    # every batched row above.
    warm(loop_overhead, TOKEN_32)
    benchmark.extra_info["ops_per_call"] = OPS_PER_CALL
    benchmark(loop_overhead, TOKEN_32)
