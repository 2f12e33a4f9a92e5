"""Loading the full official schema at run time (Telethon has no runtime loader: tlcodec only)."""

from __future__ import annotations

from typing import Any

import pytest

import tlcodec
from bench_support import reference_file


@pytest.mark.benchmark(group="Schema.from_tl(full api.tl + mtproto.tl)")
@pytest.mark.parametrize("impl", ["tlcodec"])
def test_schema_from_tl_full(benchmark: Any, impl: str) -> None:
    api = reference_file("api.tl").read_text(encoding="utf-8")
    mtproto = reference_file("mtproto.tl").read_text(encoding="utf-8")
    schema = benchmark(tlcodec.Schema.from_tl, api, mtproto)
    # The whole thing was loaded, not a cached or truncated result.
    assert "auth.loginToken" in schema and "fn:auth.importLoginToken" in schema.classes
    assert len(schema.classes) > 2000
