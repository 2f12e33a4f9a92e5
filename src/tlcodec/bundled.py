"""The bundled schema (layer 228 subset + MTProto service schema) bound to the generated classes.

`tlcodec.encode`/`tlcodec.decode` use it; `schema` is a `tlcodec.Schema` like any loaded one.
"""

from __future__ import annotations

from . import functions, types
from .schema import Schema, bundled_definitions


def _generated_classes() -> dict[str, type]:
    classes: dict[str, type] = {}
    for root, prefix in ((types, ""), (functions, "fn:")):
        modules = [root] + [getattr(root, name) for name in dir(root) if _is_namespace(root, name)]
        for module in modules:
            for name in module.__all__:
                cls = getattr(module, name)
                classes[prefix + cls.TL_NAME] = cls
    return classes


def _is_namespace(root: object, name: str) -> bool:
    value = getattr(root, name)
    return getattr(value, "__name__", "").startswith(getattr(root, "__name__") + ".")


_definitions, LAYER = bundled_definitions()
schema = Schema(_definitions, LAYER, classes=_generated_classes(), module="tlcodec.types")
del _definitions
