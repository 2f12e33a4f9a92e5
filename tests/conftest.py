"""Shared fixtures. The suite runs twice in CI: compiled, and with TLCODEC_NO_EXTENSIONS=1 (twin).

`codec` is whichever codec this run selected; `twin_schema` and `compiled_schema` are the bundled
definitions over each implementation, for tests that compare the two byte for byte inside one
process. The header of every run says which parts run compiled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tlcodec
from tlcodec import _codec_py, _runtime
from tlcodec.schema import Schema
from tlcodec.schema.generate import bundled_definitions

# The official layer-228 schema and the labelled protocol test vectors, verbatim (see its README).
REFERENCE_DATA = Path(__file__).resolve().parent / "data"
TEST_VECTORS = "test_vectors.json"


def reference_file(name: str) -> Path:
    """tests/data/`name`. It ships with the tests (source tree and sdist alike), so a missing
    file is a packaging error: the test fails, it does not skip."""
    path = REFERENCE_DATA / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: tests/data must ship with the tests "
                    "(see tests/data/README.md)", pytrace=False)
    return path


def pytest_report_header() -> list[str]:
    return ["tlcodec " + tlcodec.__version__ + ": " + ", ".join(
        f"{part} {'compiled' if runs else 'plain (' + str(runs.why_not) + ')'}"
        for part, runs in tlcodec.ACCELERATED.items())]


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


__all__ = ["REFERENCE_DATA", "TEST_VECTORS", "convert", "reference_file", "tlcodec"]
