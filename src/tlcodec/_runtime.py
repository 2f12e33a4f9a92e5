"""Chooses the codec implementation: the compiled `_codec`, or the twin with TLCODEC_NO_EXTENSIONS=1.
Modules that Cython also builds from their own source (session.py, connection.py) take their
compiled definitions through `adopt_compiled_build`.

The twin has a different module name so that a failed build can never hide behind it: the
test suite checks `IS_COMPILED` unless the twin was asked for.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from typing import Any

NO_EXTENSIONS = bool(os.environ.get("TLCODEC_NO_EXTENSIONS"))

TYPE_CHECKING = False
if TYPE_CHECKING:  # both implementations have the API that _codec.pyi describes
    from . import _codec as codec
    from ._codec import TLObject, TLRequest
else:
    if NO_EXTENSIONS:
        from . import _codec_py as codec
    else:
        try:
            from . import _codec as codec
        except ImportError:  # pragma: no cover - a build without the extension
            from . import _codec_py as codec
    TLObject = codec.TLObject
    TLRequest = codec.TLRequest

IS_COMPILED: bool = codec.IS_COMPILED


def adopt_compiled_build(namespace: dict[str, Any], compiled_module: str,
                         names: Iterable[str]) -> None:
    """Replace `names` in a plain module's namespace by those of `compiled_module`, the same
    source compiled by Cython with the C types of its .pxd (setup.py), unless
    TLCODEC_NO_EXTENSIONS asks for the plain run: that run is the twin the tests also run.
    The caller checks that it is the plain module (its `__name__`), so that the compiled build,
    running the same lines, does not import itself."""
    if NO_EXTENSIONS:
        return
    try:
        compiled = importlib.import_module(compiled_module)
    except ImportError:  # pragma: no cover - a build without the extension
        return
    namespace.update((name, getattr(compiled, name)) for name in names)


__all__ = ["IS_COMPILED", "NO_EXTENSIONS", "TLObject", "TLRequest", "adopt_compiled_build", "codec"]
