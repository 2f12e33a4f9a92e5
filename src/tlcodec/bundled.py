"""The bundled layer (the official layer-228 api.tl + the MTProto service schema) as a Schema.

`tlcodec.encode`/`tlcodec.decode` use it; `schema` is a `tlcodec.Schema` like any loaded one,
made from the definitions the generator stored in `_layer_data.py`, and its classes are those of
`tlcodec.types` and `tlcodec.functions`, made on first use.
"""

from __future__ import annotations

from .schema import Schema

try:
    from ._layer_data import DEFINITIONS, LAYER, TYPES
except ModuleNotFoundError:  # a source tree whose generated files were deleted: the generator
    # imports this package to write them again, so the schema is parsed from the .tl files.
    from .schema import bundled_definitions

    _definitions, LAYER = bundled_definitions()
    schema = Schema(_definitions, LAYER, module="tlcodec", name=f"tlcodec.bundled (layer {LAYER})")
    del _definitions
else:
    schema = Schema.precompiled(
        LAYER, TYPES, DEFINITIONS,
        module="tlcodec", name=f"tlcodec.bundled (layer {LAYER})",
    )
    del DEFINITIONS, TYPES
