"""Chooses the codec implementation: the compiled `_codec`, or the twin with TLCODEC_NO_EXTENSIONS=1.

The twin has a different module name so that a failed build can never hide behind it: the
test suite checks `IS_COMPILED` unless the twin was asked for.
"""

from __future__ import annotations

import os

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

__all__ = ["IS_COMPILED", "NO_EXTENSIONS", "TLObject", "TLRequest", "codec"]
