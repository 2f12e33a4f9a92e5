"""Shared fixtures. The suite runs twice in CI: compiled, and with TLCODEC_NO_EXTENSIONS=1 (twin).

`tlcodec` below is whichever implementation this run selected; `other_codec` is the other one,
for tests that compare the two implementations byte for byte inside one process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import tlcodec
from tlcodec import _codec_py, _runtime
from tlcodec.schema import Schema
from tlcodec.schema.generate import bundled_definitions

SHARED = Path(os.environ.get("TLCODEC_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SHARED_SCHEMA = SHARED / "schema"
TEST_VECTORS = SHARED / "docs" / "test_vectors.json"


def shared_file(path: Path) -> Path:
    """A file from ../shared, or a skip saying why the test cannot run without it."""
    if not path.exists():
        pytest.skip(f"{path} is absent: this test needs the shared reference data")
    return path


@pytest.fixture(scope="session")
def codec() -> Any:
    """The codec module this run uses (compiled, or the twin)."""
    return _runtime.codec


@pytest.fixture(scope="session")
def twin_schema() -> Schema:
    """The bundled definitions compiled with the pure-Python twin, beside the main codec."""
    definitions, layer = bundled_definitions()
    return Schema(definitions, layer, codec=_codec_py)


@pytest.fixture(scope="session")
def compiled_schema() -> Schema:
    """The bundled definitions compiled with the Cython codec (skips where it is not built)."""
    try:
        from tlcodec import _codec
    except ImportError:
        pytest.skip("the compiled module is not built")
    definitions, layer = bundled_definitions()
    return Schema(definitions, layer, codec=_codec)


def convert(value: Any, schema: Schema) -> Any:
    """Rebuild a TL object (from any schema) as an instance of `schema`'s classes."""
    if isinstance(value, (_codec_py.TLObject, _runtime.TLObject)) or hasattr(value, "__tl_plan__"):
        plan = type(value).__tl_plan__
        cls = schema.get(plan.tl_name, function=plan.is_function)
        return cls(**{a: convert(getattr(value, a), schema) for a in plan.attrs})
    if isinstance(value, list):
        return [convert(v, schema) for v in value]
    return value


__all__ = ["SHARED", "SHARED_SCHEMA", "TEST_VECTORS", "convert", "shared_file", "tlcodec"]
