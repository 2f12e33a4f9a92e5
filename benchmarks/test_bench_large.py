"""1 MiB tokens: encode and decode should cost one copy of the payload.

Each call is one operation (no batching: a 1 MiB copy dwarfs any per-call overhead). The
reference is `bytes(memoryview(buf))` on a 1 MiB buffer: one allocation plus one memcpy of
1 MiB, which is the least any codec that returns a fresh `bytes` can do.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench_support import DECODE_ONCE, ENCODE_ONCE, IMPLS, ONE_MIB, TOKEN_1MIB, warm


@pytest.mark.benchmark(group="copy 1 MiB (baseline)")
@pytest.mark.parametrize("impl", ["bytes(memoryview)"])
def test_copy_1mib(benchmark: Any, impl: str) -> None:
    view = memoryview(TOKEN_1MIB)
    warm(bytes, view)
    copy = benchmark(bytes, view)
    assert len(copy) == ONE_MIB


@pytest.mark.benchmark(group="encode ImportLoginToken(1 MiB)")
@pytest.mark.parametrize("impl", IMPLS)
def test_encode_1mib_token(benchmark: Any, impl: str, import_login_token_1mib: Any) -> None:
    fn = ENCODE_ONCE[impl]
    warm(fn, import_login_token_1mib[impl])
    data = benchmark(fn, import_login_token_1mib[impl])
    assert len(data) == 4 + 4 + ONE_MIB


@pytest.mark.benchmark(group="decode auth.loginToken(1 MiB)")
@pytest.mark.parametrize("impl", IMPLS)
def test_decode_1mib_token(benchmark: Any, impl: str, login_token_1mib_bytes: bytes) -> None:
    fn = DECODE_ONCE[impl]
    warm(fn, login_token_1mib_bytes)
    obj = benchmark(fn, login_token_1mib_bytes)
    assert len(obj.token) == ONE_MIB
