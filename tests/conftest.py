"""Shared fixtures (the helpers they use are in support.py).

Both builds in one run: `codec`, `tl` and `session_build` are parametrized over the compiled
build and the plain code (test ids `compiled` and `plain`), so one `pytest` run shows where the
two disagree. The `compiled` case is skipped, with the reason, where the compiled build does not
run (an install without a compiler, a stale build), and fails where TLCODEC_REQUIRE_EXTENSIONS=1
asks for it. A run with TLCODEC_NO_EXTENSIONS=1 skips it too: that run (CI's second one) exists
for the modules that run whichever build the process selected (the client, the connection, the
test DCs).

- `codec`: each codec module in turn (`tlcodec._codec`, `tlcodec._codec_py`).
- `tl`: the bundled schema over each codec, used like `tlcodec` (`tl.encode`, `tl.decode`,
  `tl.Reader`, `tl.types`, `tl.functions`): support.CodecBuild.
- `other_tl`: the codec build this run did not select, beside `tlcodec` itself.
- `session_build`: the MTProto sessions in each build, their classes and functions as attributes
  (support.SessionBuild: `session_build.ClientSession`, `.ServerSession`, `.encrypt_payload`...;
  the plain ones from `tlcodec._runtime.plain_build` where the compiled ones run).

The header of every run says which parts the library runs compiled.
"""

from __future__ import annotations

from types import ModuleType

import pytest

import tlcodec

import support
from support import BUILDS, CodecBuild, SessionBuild, codec_build, codec_module


def pytest_report_header() -> list[str]:
    return ["tlcodec " + tlcodec.__version__ + ": " + ", ".join(
        f"{part} {'compiled' if runs else 'plain (' + str(runs.why_not) + ')'}"
        for part, runs in tlcodec.ACCELERATED.items())]


@pytest.fixture(scope="session", params=BUILDS)
def codec(request: pytest.FixtureRequest) -> ModuleType:
    """Each codec module in turn: the compiled `_codec`, the plain `_codec_py`."""
    return codec_module(request.param)


@pytest.fixture(scope="session", params=BUILDS)
def tl(request: pytest.FixtureRequest) -> CodecBuild:
    """The bundled schema over each codec in turn, used like `tlcodec` itself."""
    return codec_build(request.param)


@pytest.fixture(scope="session")
def other_tl() -> CodecBuild:
    """The codec build this run did not select (`tlcodec` itself is the selected one), for
    tests that compare the two byte for byte."""
    return codec_build("plain" if tlcodec.IS_COMPILED else "compiled")


@pytest.fixture(scope="session", params=BUILDS)
def session_build(request: pytest.FixtureRequest) -> SessionBuild:
    """The MTProto sessions in each build: their classes and functions, all of that build."""
    return support.session_build(request.param)
