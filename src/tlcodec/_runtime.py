"""Chooses the codec implementation: the compiled `_codec`, or the twin with TLCODEC_NO_EXTENSIONS=1.

The twin has a different module name so that a failed build can never hide behind it: the
test suite checks `codec.IS_COMPILED` unless the twin was asked for.
"""

from __future__ import annotations

import os
from types import ModuleType

NO_EXTENSIONS = bool(os.environ.get("TLCODEC_NO_EXTENSIONS"))

codec: ModuleType
if NO_EXTENSIONS:
    from . import _codec_py as codec
else:
    try:
        from . import _codec as codec  # type: ignore[no-redef]
    except ImportError:  # pragma: no cover - a build without the extension
        from . import _codec_py as codec  # type: ignore[no-redef]

TLObject = codec.TLObject
TLRequest = codec.TLRequest
IS_COMPILED: bool = codec.IS_COMPILED
