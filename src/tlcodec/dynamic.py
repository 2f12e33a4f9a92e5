"""Where the classes of schemas loaded at run time (`Schema.from_tl`) are found by name.

Such a class has no module of its own. Its `__module__` is this module and its `__qualname__`
starts with its schema's name here, `schema_<fingerprint>` (a hash of the schema's definitions:
their names, ids and field counts), so that pickle, copy and multiprocessing can find it:
unpickling works in any process that has loaded a schema with the same definitions (the first
such schema a process loads; later ones with the same definitions get `_2`, `_3`... after the
name).
"""

from __future__ import annotations

import hashlib
import weakref
from typing import Any

_schemas: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
_names: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def register(schema: Any) -> str:
    """The name under which `schema` is found here (registered on first call)."""
    name = _names.get(schema)
    if name is None:
        # Ids are CRC32s of whole declarations: with the names, they tell definitions apart
        # (the params' texts too would cost a whole repr of the schema on every load).
        identity = ",".join(f"{key}#{record[0]:x}/{len(record[5])}"
                            for key, record in schema._records.items())
        fingerprint = hashlib.sha256(identity.encode()).hexdigest()
        name = f"schema_{fingerprint[:24]}"
        # The same definitions loaded again in this process: a name of its own, so that each
        # schema's classes stay distinct (the first one loaded keeps the plain name).
        copies = 1
        while _schemas.setdefault(name, schema) is not schema:
            copies += 1
            name = f"schema_{fingerprint[:24]}_{copies}"
        _names[schema] = name
    return name


def __getattr__(name: str) -> Any:
    schema = _schemas.get(name)
    if schema is None:
        raise AttributeError(
            f"no schema {name} is loaded in this process: load the same .tl files with "
            "Schema.from_tl before unpickling its objects"
        )
    return _PackageView(schema)


class _PackageView:
    """`schema_….types.auth.LoginToken`: a run-time schema seen as a generated package."""

    def __init__(self, schema: Any) -> None:
        self.types = schema.types
        self.functions = schema.functions
