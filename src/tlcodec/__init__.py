"""tlcodec: a strict, fast Telegram TL codec (Cython core, pure-Python twin).

    >>> import tlcodec
    >>> from tlcodec.functions.auth import ImportLoginToken
    >>> data = tlcodec.encode(ImportLoginToken(token=b"\\x01" * 32))
    >>> tlcodec.decode(data)
    ImportLoginToken(token=b'\\x01\\x01...')

`encode`/`decode`/`Reader` use the bundled schema (the auth.LoginToken family, the functions the
client needs, the MTProto service schema); `Schema.from_tl(text)` loads any other schema.
"""

from __future__ import annotations

from . import errors
from .errors import DecodeError, SchemaError, SecurityError
from ._runtime import IS_COMPILED, TLObject, TLRequest, codec as _codec
from .schema import Schema
from . import functions, types  # noqa: E402  (the generated classes)
from .bundled import LAYER, schema as bundled

__all__ = [
    "ACCELERATED",
    "DEFAULT_MAX_INFLATED",
    "Client",
    "IS_COMPILED",
    "LAYER",
    "DecodeError",
    "Reader",
    "Schema",
    "SchemaError",
    "SecurityError",
    "TLObject",
    "TLRequest",
    "bundled",
    "decode",
    "encode",
    "errors",
    "functions",
    "types",
]

__version__ = "0.1.0"

DEFAULT_MAX_INFLATED: int = _codec.DEFAULT_MAX_INFLATED

encode = _codec.encode


# The registry's own (compiled) method: no Python frame between the caller and the decoder.
decode = bundled.registry.decode
"""Decode one boxed TL value from bytes, bytearray or memoryview with the bundled schema.

`decode(data, expected=None, *, allow_trailing=False, max_inflated=DEFAULT_MAX_INFLATED)`:
`expected` narrows what is accepted: a TL type (`"auth.LoginToken"`, `"Vector<long>"`) or a
class (exactly that constructor). Trailing bytes are an error unless `allow_trailing`.
Raises `DecodeError` (a `ValueError`) naming the offset and what was expected.
"""


def Reader(data: bytes | bytearray | memoryview, *, max_inflated: int = DEFAULT_MAX_INFLATED) -> _codec.Reader:  # noqa: N802
    """A streaming reader over `data` for decoding several values in a row (bundled schema)."""
    return _codec.Reader(data, bundled.registry, max_inflated)

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs time
if TYPE_CHECKING:
    from .client import Client
    from collections.abc import Mapping

    from ._runtime import Acceleration

    ACCELERATED: Mapping[str, Acceleration]


def __getattr__(name: str) -> object:
    """`tlcodec.Client` and `tlcodec.ACCELERATED`, made on first use: the client
    pulls in asyncio, which a codec-only `import tlcodec` should not pay for.

    `ACCELERATED` maps each accelerated part ("codec", "cipher", "session", "connection") to
    what runs for it: true when compiled, with `.module` and `.why_not`."""
    if name == "Client":
        from .client import Client

        return Client
    if name == "ACCELERATED":
        from types import MappingProxyType

        from ._runtime import PARTS, acceleration

        report = MappingProxyType({part: acceleration(part) for part in PARTS})
        globals()["ACCELERATED"] = report
        return report
    raise AttributeError(f"module 'tlcodec' has no attribute {name!r}")
