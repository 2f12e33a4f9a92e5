"""Type information for the compiled codec; the pure-Python twin `_codec_py` has the same API."""

from typing import Any, ClassVar, Generic, TypeVar, overload

from typing_extensions import Self

# What a function returns (covariant: a request for a `User` is a request for a `TLObject`).
_Result = TypeVar("_Result", covariant=True)
_Object = TypeVar("_Object", bound=TLObject)

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
    """Immutable; checked when made (a vector needs `elem`, a bare spec its `plan`)."""
    @property
    def kind(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def type_id(self) -> int: ...
    @property
    def elem(self) -> TypeSpec | None: ...
    @property
    def plan(self) -> Plan | None: ...
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
    result: TypeSpec | None
    exact_spec: TypeSpec
    factory: Any
    # Set by set_fields, bind and the Registry; read-only in the compiled module.
    @property
    def fields(self) -> list[_Field]: ...
    @property
    def attrs(self) -> tuple[str, ...]: ...
    @property
    def n_flag_words(self) -> int: ...
    @property
    def cls(self) -> type[TLObject] | None: ...
    @property
    def registry(self) -> Registry | None: ...
    @property
    def min_size(self) -> int: ...
    @property
    def descriptors(self) -> list[Any]: ...
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
    resolver: Any
    loader: Any
    family: Any
    name: str
    @property
    def type_names(self) -> list[str]: ...
    @property
    def by_id(self) -> dict[int, Plan]: ...
    @property
    def object_spec(self) -> TypeSpec: ...
    def __init__(self, plans: list[Plan], type_names: list[str]) -> None: ...
    def plan_for_id(self, constructor_id: int) -> Plan | None: ...
    def add(self, plan: Plan) -> Plan: ...
    # `expected`: nothing (any boxed object), a class (exactly that constructor: an instance
    # of it), a TL type name or a TypeSpec (whatever that type is in Python: Any).
    @overload
    def decode(
        self,
        data: _Buffer,
        expected: None = None,
        *,
        allow_trailing: bool = False,
        max_inflated: int = ...,
    ) -> TLObject: ...
    @overload
    def decode(
        self,
        data: _Buffer,
        expected: type[_Object],
        *,
        allow_trailing: bool = False,
        max_inflated: int = ...,
    ) -> _Object: ...
    @overload
    def decode(
        self,
        data: _Buffer,
        expected: str | TypeSpec,
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

class TLRequest(TLObject, Generic[_Result]):
    """A TL function; `_Result` is what calling it returns (`Client.invoke`,
    `Schema.decode_result`). Only for type checkers: the class itself is not subscriptable."""

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
    @overload
    def read_object(self, expected: None = None) -> TLObject: ...
    @overload
    def read_object(self, expected: type[_Object]) -> _Object: ...
    @overload
    def read_object(self, expected: str | TypeSpec) -> Any: ...
    def read(self, spec: TypeSpec, depth: int = 0) -> Any: ...

def encode(obj: TLObject) -> bytes: ...
def encode_value(value: Any, spec: TypeSpec) -> bytes: ...
def inflate_gzip(
    packed: bytes | memoryview, left: int, limit: int, scope: str = ..., at: int = ...
) -> bytes: ...
