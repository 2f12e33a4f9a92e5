"""Type information for the compiled codec; the pure-Python twin `_codec_py` has the same API."""

from typing import Any, ClassVar

from typing_extensions import Self

IS_COMPILED: bool
K_INT: int
K_LONG: int
K_DOUBLE: int
K_INT128: int
K_INT256: int
K_STRING: int
K_BYTES: int
K_BOOL: int
K_TRUE: int
K_FLAGS: int
K_BOXED: int
K_QUERY: int
K_BARE: int
K_VECTOR: int
K_BARE_VECTOR: int
VECTOR_ID: int
BOOL_TRUE_ID: int
BOOL_FALSE_ID: int
GZIP_PACKED_ID: int
MAX_DEPTH: int
DEFAULT_MAX_INFLATED: int
MAX_BYTES_LENGTH: int

_Buffer = bytes | bytearray | memoryview
_Field = tuple[str, TypeSpec, int, int, int]

class TypeSpec:
    kind: int
    name: str
    type_id: int
    elem: TypeSpec | None
    plan: Plan | None
    def __init__(
        self,
        kind: int,
        name: str,
        type_id: int = -1,
        elem: TypeSpec | None = None,
        plan: Plan | None = None,
    ) -> None: ...
    def min_size(self) -> int: ...

class Plan:
    constructor_id: int
    tl_name: str
    type_id: int
    is_function: bool
    fields: list[_Field]
    attrs: tuple[str, ...]
    n_flag_words: int
    cls: type[TLObject] | None
    result: TypeSpec | None
    registry: Registry | None
    exact_spec: TypeSpec
    min_size: int
    descriptors: list[Any]
    factory: Any
    def __init__(
        self,
        constructor_id: int,
        tl_name: str,
        type_id: int,
        is_function: bool,
        fields: list[_Field],
    ) -> None: ...
    def set_fields(self, fields: list[_Field]) -> None: ...
    def bind(self, cls: type[TLObject]) -> None: ...

class Registry:
    type_names: list[str]
    by_id: dict[int, Plan]
    resolver: Any
    object_spec: TypeSpec
    def __init__(self, plans: list[Plan], type_names: list[str]) -> None: ...
    def plan_for_id(self, constructor_id: int) -> Plan | None: ...
    def decode(
        self,
        data: _Buffer,
        expected: Any = None,
        *,
        allow_trailing: bool = False,
        max_inflated: int = ...,
    ) -> Any: ...

class TLObject:
    __tl_plan__: ClassVar[Plan]
    CONSTRUCTOR_ID: ClassVar[int]
    TL_NAME: ClassVar[str]
    TL_TYPE: ClassVar[str]
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __bytes__(self) -> bytes: ...
    @classmethod
    def from_bytes(cls, data: _Buffer) -> Self: ...

class TLRequest(TLObject):
    RESULT_TYPE: ClassVar[str]

class Reader:
    def __init__(self, data: _Buffer, registry: Registry, max_inflated: int = ...) -> None: ...
    @property
    def position(self) -> int: ...
    @property
    def remaining(self) -> int: ...
    def read_int(self) -> int: ...
    def read_uint(self) -> int: ...
    def read_long(self) -> int: ...
    def read_double(self) -> float: ...
    def read_raw(self, n: int) -> bytes: ...
    def read_bytes(self) -> bytes: ...
    def read_string(self) -> str: ...
    def read_bool(self) -> bool: ...
    def read_object(self, expected: Any = None) -> Any: ...
    def read(self, spec: TypeSpec, depth: int = 0) -> Any: ...

def encode(obj: TLObject) -> bytes: ...
def encode_value(value: Any, spec: TypeSpec) -> bytes: ...
