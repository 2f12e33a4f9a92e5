"""Pure-Python twin of the compiled codec (`tlcodec._codec`): same API, same errors, same bytes.

It is the readable reference for the Cython interpreter and the fallback where the extension
cannot be built (`TLCODEC_NO_EXTENSIONS=1` selects it). The wire format is PROTOCOL.md section 1.

A constructor is compiled once into a `Plan`: its id, its class, and a list of field steps
`(attribute, TypeSpec, flag word index, bit mask, word slot)`. One interpreter runs plans in both
directions; dispatch on the 4-byte id goes through a `Registry`.
"""

from __future__ import annotations

import struct
import sys
import zlib
from typing import Any

from .errors import DecodeError, InflateLimitError

__all__ = [
    "DEFAULT_MAX_INFLATED",
    "MAX_DEPTH",
    "Plan",
    "Reader",
    "Registry",
    "TLObject",
    "TLRequest",
    "TypeSpec",
    "encode",
    "encode_value",
    "inflate_gzip",
]

IS_COMPILED = False

# Field and value kinds; the compiled module uses the same numbers.
K_INT = 1
K_LONG = 2
K_DOUBLE = 3
K_INT128 = 4
K_INT256 = 5
K_STRING = 6
K_BYTES = 7
K_BOOL = 8
K_TRUE = 9  # flags.N?true: the bit is the value
K_FLAGS = 10  # a `#` word, computed on encode
K_BOXED = 11  # id + fields; type_id -1 means any Object
K_QUERY = 12  # !X: a boxed function call
K_BARE = 13  # a constructor's fields without its id
K_VECTOR = 14  # Vector<T>: 0x1cb5c415, count, elements
K_BARE_VECTOR = 15  # vector<T>: count, elements

VECTOR_ID = 0x1CB5C415
BOOL_TRUE_ID = 0x997275B5
BOOL_FALSE_ID = 0xBC799737
GZIP_PACKED_ID = 0x3072CFA1

MAX_DEPTH = 64  # nesting bound: hostile input must not exhaust the C stack
DEFAULT_MAX_INFLATED = 16 * 1024 * 1024  # one decode inflates at most this much gzip_packed
MAX_BYTES_LENGTH = (1 << 24) - 1  # the longest length a 3-byte prefix can carry
MAX_STEPS = 255  # fields per constructor (the compiled plan's fixed bound)
MAX_FLAG_WORDS = 4  # flag words per constructor (likewise)

_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_FIXED_SIZE = {K_INT: 4, K_LONG: 8, K_DOUBLE: 8, K_INT128: 16, K_INT256: 32}
_KIND_NAMES = {
    K_INT: "int",
    K_LONG: "long",
    K_DOUBLE: "double",
    K_INT128: "int128",
    K_INT256: "int256",
    K_STRING: "string",
    K_BYTES: "bytes",
    K_BOOL: "Bool",
    K_TRUE: "true",
}

_u32 = struct.Struct("<I")
_i32 = struct.Struct("<i")
_i64 = struct.Struct("<q")
_f64 = struct.Struct("<d")


class TypeSpec:
    """How one value is laid out: a base type, a boxed type, a bare constructor or a vector.

    Immutable once made, and checked when made (the compiled interpreter follows `elem` and
    `plan` without looking): a spec not built by __init__, or lacking what its kind needs, is
    refused wherever one enters the codec."""

    __slots__ = ("kind", "type_id", "elem", "plan", "name", "complete")

    def __init__(
        self,
        kind: int,
        name: str,
        type_id: int = -1,
        elem: TypeSpec | None = None,
        plan: Plan | None = None,
    ) -> None:
        for value, expected_type in ((kind, int), (name, str), (type_id, int)):
            if not isinstance(value, expected_type):
                raise TypeError(f"expected {expected_type.__name__}, got {type(value).__name__}")
        if elem is not None and not isinstance(elem, TypeSpec):
            raise TypeError(f"expected TypeSpec, got {type(elem).__name__}")
        if plan is not None and not isinstance(plan, Plan):
            raise TypeError(f"expected Plan, got {type(plan).__name__}")
        if not K_INT <= kind <= K_BARE_VECTOR:
            raise ValueError(f"{name}: unknown TypeSpec kind {kind}")
        if kind == K_VECTOR or kind == K_BARE_VECTOR:
            if elem is None or not getattr(elem, "complete", False):
                raise ValueError(f"{name}: a vector TypeSpec needs a complete element TypeSpec")
            if elem.kind == K_FLAGS or elem.kind == K_TRUE:
                raise ValueError(f"{name}: a vector cannot hold {elem.name} values")
        if kind == K_BARE and plan is None:
            raise ValueError(f"{name}: a bare TypeSpec needs its constructor's Plan")
        set_slot = object.__setattr__
        set_slot(self, "kind", kind)
        set_slot(self, "name", name)  # the TL spelling, for error messages
        set_slot(self, "type_id", type_id)  # K_BOXED: index of the boxed type, -1 = Object
        set_slot(self, "elem", elem)  # vectors: the element spec
        set_slot(self, "plan", plan)  # K_BARE: the constructor; K_BOXED: the one ctor wanted
        set_slot(self, "complete", True)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"attribute {name!r} of TypeSpec objects is not writable")

    def min_size(self) -> int:
        """The fewest bytes a value of this spec can take on the wire (vector count checks)."""
        kind = self.kind
        if kind in _FIXED_SIZE:
            return _FIXED_SIZE[kind]
        if kind == K_VECTOR:
            return 8
        if kind == K_BARE:
            return self.plan.min_size
        return 4

    def __repr__(self) -> str:
        return f"<TypeSpec {self.name}>"


def _checked_spec(spec: Any, expected: Any) -> TypeSpec:
    """`spec` if the decoder may follow it; a TypeError for anything else."""
    if not isinstance(spec, TypeSpec) or not getattr(spec, "complete", False):
        what = "a TypeSpec not made by TypeSpec()" if isinstance(expected, TypeSpec) else repr(expected)
        raise TypeError(f"expected {what} does not give a complete TypeSpec")
    if spec.kind == K_FLAGS or spec.kind == K_TRUE:
        raise TypeError(f"{spec.name} is part of a constructor, not a value")
    return spec


class Plan:
    """One constructor or function compiled for the interpreter."""

    __slots__ = (
        "constructor_id",
        "tl_name",
        "type_id",
        "is_function",
        "fields",
        "n_flag_words",
        "cls",
        "attrs",
        "descriptors",
        "min_size",
        "result",
        "registry",
        "exact_spec",
        "factory",
    )

    def __init__(
        self,
        constructor_id: int,
        tl_name: str,
        type_id: int,
        is_function: bool,
        fields: list[tuple[str, TypeSpec, int, int, int]],
    ) -> None:
        if getattr(self, "fields", None) is not None:
            raise RuntimeError(f"{self.tl_name}: Plan is already initialised")
        self.constructor_id = constructor_id
        self.tl_name = tl_name
        self.type_id = type_id
        self.is_function = is_function
        self.cls: type | None = None
        self.descriptors: list[Any] = []
        self.result: TypeSpec | None = None  # functions: what the call returns
        self.registry: Registry | None = None  # set by the Registry that holds this plan
        self.factory: Any = None  # makes and binds the class on first use (lazy schemas)
        # Accepts exactly this constructor (Cls.from_bytes).
        self.exact_spec = TypeSpec(K_BOXED, tl_name, type_id, plan=self)
        self.set_fields(fields)

    def set_fields(self, fields: list[tuple[str, TypeSpec, int, int, int]]) -> None:
        """(attribute, spec, flag word index or -1, bit mask, word slot of a K_FLAGS field)."""
        if getattr(self, "cls", None) is not None:
            raise ValueError(f"{self.tl_name}: the fields of a bound plan cannot change")
        self.fields = _checked_fields(self.tl_name, fields)
        self.n_flag_words = sum(1 for f in self.fields if f[1].kind == K_FLAGS)
        self.attrs = tuple(f[0] for f in self.fields if f[1].kind != K_FLAGS)
        # A lower bound of the encoded size (bare sub-constructors count as 0).
        self.min_size = sum(
            f[1].min_size() for f in self.fields if f[2] < 0 and f[1].kind not in (K_TRUE, K_BARE)
        )

    def bind(self, cls: type) -> None:
        """Attach the class whose instances this plan encodes and decodes."""
        if self.cls is not None and self.cls is not cls:
            raise ValueError(f"{self.tl_name} is already bound to {self.cls.__name__}")
        descriptors = []
        for attr in self.attrs:
            # The slot may be the class's own or a base's (a subclass of a generated class).
            descriptor = next((k.__dict__[attr] for k in cls.__mro__ if attr in k.__dict__), None)
            owner = getattr(descriptor, "__objclass__", cls)
            if descriptor is None or not hasattr(descriptor, "__set__") or not issubclass(cls, owner):
                raise TypeError(f"{cls.__name__} has no slot for field {attr!r}")
            descriptors.append(descriptor)
        self.cls = cls
        self.descriptors = descriptors
        cls.__tl_plan__ = self

    def __repr__(self) -> str:
        return f"<Plan {self.tl_name}#{self.constructor_id:08x}>"


def _checked_fields(tl_name: str, fields: list[Any]) -> list[tuple[str, TypeSpec, int, int, int]]:
    """The fields as tuples, or a ValueError/TypeError for what the interpreter cannot run:
    a spec not made by TypeSpec(), a flag word read before it is declared, too many fields or
    flag words, a `true` field no flag bit guards. The same rules as the compiled plan's."""
    checked = []
    n_flag_words = 0
    if len(fields) > MAX_STEPS:
        raise ValueError(f"{tl_name}: more than {MAX_STEPS} fields")
    for field in fields:
        attr, spec, flag_index, mask, word_slot = field
        if not isinstance(attr, str):
            raise TypeError(f"{tl_name}: field name {attr!r} is not a str")
        if not isinstance(spec, TypeSpec) or not getattr(spec, "complete", False):
            raise TypeError(f"{tl_name}.{attr}: spec must be a TypeSpec")
        if not -1 <= flag_index < n_flag_words:
            raise ValueError(f"{tl_name}.{attr}: flag word {flag_index} is not declared before it")
        if not 0 <= mask <= 0xFFFFFFFF:
            raise ValueError(f"{tl_name}.{attr}: flag mask {mask} is not a 32-bit value")
        if spec.kind == K_FLAGS:
            if word_slot != n_flag_words:
                raise ValueError(f"{tl_name}.{attr}: flag word slot {word_slot} is not {n_flag_words}")
            n_flag_words += 1
            if n_flag_words > MAX_FLAG_WORDS:
                raise ValueError(f"{tl_name}: more than {MAX_FLAG_WORDS} flag words")
        elif spec.kind == K_TRUE and flag_index < 0:
            raise ValueError(f"{tl_name}.{attr}: a true field needs a flag bit")
        checked.append((attr, spec, flag_index, mask, word_slot))
    return checked


class Registry:
    """The constructors of one schema, found by id; `decode` and `Reader` start here.

    A schema may hold most of its plans back until they are needed: then `loader` is called
    with an id the table lacks, and either returns None or `add`s the plan and returns it."""

    def __init__(self, plans: list[Plan], type_names: list[str]) -> None:
        if getattr(self, "by_id", None) is not None:
            raise RuntimeError("Registry is already initialised")
        for candidate in plans:
            if not isinstance(candidate, Plan) or getattr(candidate, "fields", None) is None:
                raise TypeError(f"{type(candidate).__name__} object is not an initialised Plan")
        self.type_names = list(type_names)
        self.by_id: dict[int, Plan] = {}
        # Turns `expected` (a TL type name, a class) into a TypeSpec; set by the Schema.
        self.resolver: Any = None
        self.loader: Any = None  # id -> the plan, added now, or None (lazy schemas)
        self.family: Any = self  # registries whose objects may nest in each other's
        self.name = "a schema"  # the schema, as error messages name it
        self.object_spec = TypeSpec(K_BOXED, "Object", -1)
        for plan in plans:
            other = self.by_id.get(plan.constructor_id)
            if other is not None:
                raise ValueError(
                    f"{plan.tl_name} and {other.tl_name} share id {plan.constructor_id:#010x}"
                )
            self.by_id[plan.constructor_id] = plan
            if plan.registry is None:  # a plan shared with a derived schema keeps its first
                plan.registry = self

    def add(self, plan: Plan) -> Plan:
        """Put one more plan in the table (a lazy schema's loader does, on first use); the plan
        already there if another took its id first (made twice by two threads)."""
        if not isinstance(plan, Plan) or getattr(plan, "fields", None) is None:
            raise TypeError(f"{type(plan).__name__} object is not an initialised Plan")
        found = self.by_id.get(plan.constructor_id)
        if found is not None:
            if found.tl_name != plan.tl_name or found.is_function != plan.is_function:
                raise ValueError(
                    f"{plan.tl_name} and {found.tl_name} share id {plan.constructor_id:#010x}"
                )
            return found
        if plan.registry is None:
            plan.registry = self
        self.by_id[plan.constructor_id] = plan
        return plan

    def to_spec(self, expected: Any) -> TypeSpec:
        if expected is None:
            return self.object_spec
        if type(expected) is TypeSpec and getattr(expected, "complete", False):
            return _checked_spec(expected, expected)
        if self.resolver is not None:
            return _checked_spec(self.resolver(expected), expected)
        raise TypeError(f"expected must be a TypeSpec, got {expected!r}")

    def _type_name(self, type_id: int) -> str:
        """The name of a boxed type for an error message, whatever the plan says its id is."""
        if 0 <= type_id < len(self.type_names):
            return str(self.type_names[type_id])
        return "a function" if type_id < 0 else f"type #{type_id}"

    def plan_for_id(self, constructor_id: int) -> Plan | None:
        plan = self.by_id.get(constructor_id)
        if plan is None and self.loader is not None:
            plan = self.loader(constructor_id)
            if plan is not None and self.by_id.get(constructor_id) is not plan:
                raise TypeError(
                    f"the loader gave {plan!r} for id {constructor_id:#010x} without adding it"
                )
        return plan

    def decode(
        self,
        data: Any,
        expected: Any = None,
        *,
        allow_trailing: bool = False,
        max_inflated: int = DEFAULT_MAX_INFLATED,
    ) -> Any:
        """Decode one value of `expected` (None: any boxed object) from a whole buffer."""
        spec = self.to_spec(expected)
        reader = Reader(data, self, max_inflated)
        value = reader._read(spec, 0)
        if not allow_trailing and reader.remaining:
            raise DecodeError(
                f"{reader.remaining} trailing bytes after a complete {spec.name}",
                reader.position,
            )
        return value


# --------------------------------------------------------------------------------------------
# Objects


def _plan_of(obj: object) -> Plan | None:
    return getattr(type(obj), "__tl_plan__", None)


class TLObject:
    """Base of every generated constructor class: fields in `__slots__`, built from its plan."""

    __slots__ = ()
    __tl_plan__: Plan | None = None

    # Positional-only `self`: a TL field may itself be called `self` (user#b1b8cc83).
    def __init__(self, /, *args: Any, **kwargs: Any) -> None:
        plan = type(self).__tl_plan__
        if plan is None:
            raise TypeError(f"{type(self).__name__} is not bound to a TL schema")
        attrs = plan.attrs
        if len(args) > len(attrs):
            raise TypeError(
                f"{type(self).__name__}() takes {len(attrs)} positional arguments "
                f"but {len(args)} were given"
            )
        index = 0
        for field in plan.fields:
            attr, spec, flag_index = field[0], field[1], field[2]
            if spec.kind == K_FLAGS:
                continue
            if index < len(args):
                value = args[index]
                if attr in kwargs:
                    raise TypeError(f"{type(self).__name__}() got multiple values for {attr!r}")
            elif attr in kwargs:
                value = kwargs[attr]
            elif spec.kind == K_TRUE:
                value = False
            elif flag_index >= 0:
                value = None
            else:
                raise TypeError(f"{type(self).__name__}() missing required argument {attr!r}")
            plan.descriptors[index].__set__(self, value)
            index += 1
        if kwargs:
            unknown = [k for k in kwargs if k not in attrs]
            if unknown:
                raise TypeError(
                    f"{type(self).__name__}() got an unexpected keyword argument {unknown[0]!r}"
                )

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        plan = type(self).__tl_plan__
        return all(getattr(self, a, None) == getattr(other, a, None) for a in plan.attrs)

    __hash__ = None  # type: ignore[assignment]  # mutable, like any record with __eq__

    def __repr__(self) -> str:
        # The fields that carry something: flags that are false and optional fields that are
        # absent are left out (a user of the full layer has some 50 of them).
        plan = type(self).__tl_plan__
        parts = []
        for attr, spec, flag_index, _mask, _word_slot in plan.fields:
            if spec.kind == K_FLAGS:
                continue
            value = getattr(self, attr, None)
            if flag_index >= 0 and (value is None or value is False):
                continue
            parts.append(f"{attr}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of the fields, nested objects included; `_` holds the TL name."""
        return _object_dict(self, 0)

    def __bytes__(self) -> bytes:
        return encode(self)

    def __reduce__(self) -> tuple[Any, ...]:
        # copy, deepcopy and pickle rebuild the object from its fields in order.
        plan = type(self).__tl_plan__
        return type(self), tuple(getattr(self, attr) for attr in plan.attrs)

    @classmethod
    def from_bytes(cls, data: Any) -> Any:
        """Decode one boxed value that must be exactly this constructor."""
        plan = cls.__tl_plan__
        return plan.registry.decode(data, plan.exact_spec)


class TLRequest(TLObject):
    """Base of generated function (RPC method) classes."""

    __slots__ = ()


def _object_dict(obj: Any, depth: int) -> dict[str, Any]:
    plan = type(obj).__tl_plan__
    if plan is None:
        raise TypeError(f"{type(obj).__name__} is not bound to a TL schema")
    out: dict[str, Any] = {"_": plan.tl_name}
    for attr in plan.attrs:
        out[attr] = _plain_value(getattr(obj, attr, None), plan, attr, depth + 1)
    return out


def _plain_value(value: Any, plan: Plan, attr: str, depth: int) -> Any:
    """Nested objects and lists walked with the encoder's depth bound, as the compiled codec
    must (its calls do not count against the recursion limit)."""
    if not isinstance(value, (TLObject, list)):
        return value
    if depth > MAX_DEPTH:
        raise _field_error(plan, attr, f"nesting deeper than {MAX_DEPTH}", ValueError)
    if isinstance(value, TLObject):
        return _object_dict(value, depth)
    return [_plain_value(item, plan, attr, depth + 1) for item in value]


# --------------------------------------------------------------------------------------------
# Encoding


def encode(obj: Any) -> bytes:
    """Serialize a TL object (boxed: id then fields)."""
    plan = _plan_of(obj)
    if plan is None:
        raise TypeError(f"cannot encode {type(obj).__name__}: not a TL object")
    writer = _Writer()
    _write_object(writer, obj, plan, True, 0)
    return writer.finish()


def encode_value(value: Any, spec: TypeSpec) -> bytes:
    """Serialize any value as `spec` says: a vector, a Bool, an int, a boxed object...

    What a server needs to answer functions whose result is not an object
    (`users.getUsers -> Vector<User>`); `encode` covers the common case of one object.
    """
    spec = _checked_spec(spec, spec)
    writer = _Writer()
    _write_value(writer, value, spec, None, spec.name, 0)
    return writer.finish()


class _Writer(bytearray):
    """The output, and the vector elements in it that take no bytes (see Reader._read)."""

    zero_size_elements = 0
    zero_size_field: tuple[Plan | None, str] = (None, "")

    def finish(self) -> bytes:
        if self.zero_size_elements > len(self):
            # The decoder allows one zero-size element per input byte; refuse what it would.
            raise _field_error(
                *self.zero_size_field,
                f"{self.zero_size_elements} vector elements that take no bytes in {len(self)} "
                "bytes of output: a decoder accepts at most one per byte",
                ValueError,
            )
        return bytes(self)


def _field_error(plan: Plan | None, attr: str, message: str, exc: type = TypeError) -> Exception:
    if plan is None:  # encode_value: `attr` is the TL type being written
        return exc(f"{attr}: {message}")
    return exc(f"{type_name(plan)}.{attr}: {message}")


def _int_text(value: int) -> str:
    """An int for an error message; a huge one by its size (str() of it may itself refuse)."""
    if value.bit_length() <= 256:
        return str(int(value))
    return f"an int of {value.bit_length()} bits"


def _byte_buffer(value: Any, plan: Plan | None, attr: str, expected: str) -> Any:
    """`value` as an object with one contiguous run of bytes, or the field's TypeError.

    A memoryview must be one-dimensional bytes (format 'B'), the only kind that compares equal
    to the bytes the decoder gives back; a strided one is copied."""
    if isinstance(value, (bytes, bytearray)):
        return value
    if not isinstance(value, memoryview):
        raise _field_error(plan, attr, f"expected {expected}, got {type(value).__name__}")
    try:
        layout = (value.format, value.ndim, value.c_contiguous)
    except ValueError:  # released
        raise _field_error(plan, attr, "the memoryview is released", ValueError) from None
    if layout[0] != "B" or layout[1] != 1:
        raise _field_error(
            plan, attr,
            f"expected {expected}, got a memoryview of format {layout[0]!r} in {layout[1]} dimensions",
        )
    return value if layout[2] else value.tobytes()


def type_name(plan: Plan | None) -> str:
    if plan is None:
        return "value"  # encode_value: a bare value has no class to name
    return plan.cls.__name__ if plan.cls is not None else plan.tl_name


def _present(plan: Plan, attr: str, spec: TypeSpec, value: Any) -> bool:
    if spec.kind == K_TRUE:
        if value is None or value is False:
            return False
        if value is True:
            return True
        raise _field_error(plan, attr, f"expected bool, got {type(value).__name__}")
    return value is not None


def _compute_flags(obj: Any, plan: Plan) -> list[int]:
    words = [0] * plan.n_flag_words
    absent = [0] * plan.n_flag_words
    for attr, spec, flag_index, mask, _ in plan.fields:
        if flag_index < 0:
            continue
        if _present(plan, attr, spec, _get(obj, plan, attr)):
            words[flag_index] |= mask
        else:
            absent[flag_index] |= mask
    for i in range(plan.n_flag_words):
        if words[i] & absent[i]:
            _raise_flag_conflict(obj, plan, i, words[i] & absent[i])
    return words


def _raise_flag_conflict(obj: Any, plan: Plan, word: int, conflict: int) -> None:
    bit = (conflict & -conflict).bit_length() - 1
    sharing = [f for f in plan.fields if f[2] == word and f[3] == 1 << bit]
    states = ", ".join(
        f"{f[0]}={'set' if _present(plan, f[0], f[1], _get(obj, plan, f[0])) else 'unset'}"
        for f in sharing
    )
    raise ValueError(
        f"{type_name(plan)}: fields sharing flag bit {bit} must be all set or all unset ({states})"
    )


def _get(obj: Any, plan: Plan, attr: str) -> Any:
    try:
        return getattr(obj, attr)
    except AttributeError:
        raise _field_error(plan, attr, "field was never set", AttributeError) from None


def _write_object(out: _Writer, obj: Any, plan: Plan, boxed: bool, depth: int) -> None:
    if boxed:
        out += _u32.pack(plan.constructor_id)
    words = _compute_flags(obj, plan) if plan.n_flag_words else ()
    for attr, spec, flag_index, mask, word_slot in plan.fields:
        kind = spec.kind
        if kind == K_FLAGS:
            out += _u32.pack(words[word_slot])
            continue
        if kind == K_TRUE:
            continue
        value = _get(obj, plan, attr)
        if flag_index >= 0:
            if not words[flag_index] & mask:
                continue
        elif value is None:
            raise _field_error(plan, attr, f"required {spec.name} is None")
        _write_value(out, value, spec, plan, attr, depth + 1)


def _write_value(
    out: _Writer, value: Any, spec: TypeSpec, plan: Plan | None, attr: str, depth: int
) -> None:
    """`depth` counts as the decoder's does, so what is written here it reads back."""
    kind = spec.kind
    if kind == K_INT or kind == K_LONG:
        if type(value) is not int and not (isinstance(value, int) and not isinstance(value, bool)):
            raise _field_error(plan, attr, f"expected int, got {type(value).__name__}")
        if kind == K_INT:
            if not _INT_MIN <= value <= _INT_MAX:
                raise _field_error(plan, attr, f"{_int_text(value)} is out of range for int", ValueError)
            out += _i32.pack(value)
        else:
            if not _LONG_MIN <= value <= _LONG_MAX:
                raise _field_error(plan, attr, f"{_int_text(value)} is out of range for long", ValueError)
            out += _i64.pack(value)
    elif kind == K_DOUBLE:
        if isinstance(value, bool) or not isinstance(value, (float, int)):
            raise _field_error(plan, attr, f"expected float, got {type(value).__name__}")
        try:
            out += _f64.pack(float(value))
        except OverflowError:
            raise _field_error(
                plan, attr, f"{_int_text(value)} is out of range for double", ValueError
            ) from None
    elif kind == K_STRING:
        if not isinstance(value, str):
            raise _field_error(plan, attr, f"expected str, got {type(value).__name__}")
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError:
            raise _field_error(plan, attr, "string is not encodable as UTF-8", ValueError) from None
        _write_bytes(out, data, plan, attr)
    elif kind == K_BYTES:
        _write_bytes(out, _byte_buffer(value, plan, attr, "bytes"), plan, attr)
    elif kind == K_BOOL:
        if value is True:
            out += _u32.pack(BOOL_TRUE_ID)
        elif value is False:
            out += _u32.pack(BOOL_FALSE_ID)
        else:
            raise _field_error(plan, attr, f"expected bool, got {type(value).__name__}")
    elif kind == K_INT128 or kind == K_INT256:
        size = _FIXED_SIZE[kind]
        value = _byte_buffer(value, plan, attr, f"{size} bytes")
        if memoryview(value).nbytes != size:
            raise _field_error(
                plan, attr, f"expected {size} bytes, got {memoryview(value).nbytes}", ValueError
            )
        out += value
    elif depth > MAX_DEPTH:
        raise _field_error(plan, attr, f"nesting deeper than {MAX_DEPTH}", ValueError)
    elif kind == K_VECTOR or kind == K_BARE_VECTOR:
        if not isinstance(value, (list, tuple)):
            raise _field_error(plan, attr, f"expected list, got {type(value).__name__}")
        count = len(value)
        if count > _INT_MAX:
            raise _field_error(plan, attr, "vector too long", ValueError)
        if kind == K_VECTOR:
            out += _u32.pack(VECTOR_ID)
        out += _i32.pack(count)
        if spec.elem.min_size() == 0:
            out.zero_size_elements += count
            out.zero_size_field = (plan, attr)
        # The count is written first, from len(): a list whose iteration disagrees (a subclass,
        # or one changed while its items are encoded) must not leave a wrong count behind.
        written = 0
        for item in value:
            if written == count:
                raise _field_error(
                    plan, attr, f"the list yields more items than its len() of {count}", ValueError
                )
            if item is None:
                raise _field_error(plan, attr, "None inside a vector")
            _write_value(out, item, spec.elem, plan, attr, depth + 1)
            written += 1
        if written != count:
            raise _field_error(
                plan, attr, f"the list yields {written} items, its len() says {count}", ValueError
            )
    elif kind == K_BOXED or kind == K_QUERY or kind == K_BARE:
        inner = _plan_of(value)
        if inner is None:
            raise _field_error(plan, attr, f"expected {spec.name}, got {type(value).__name__}")
        if plan is not None and not _same_family(inner, plan):
            raise _field_error(plan, attr, f"{type(value).__name__} is of {inner.registry.name}, "
                                           f"not of {plan.registry.name}")
        if kind == K_QUERY:
            if not inner.is_function:
                raise _field_error(plan, attr, f"expected a function call, got {type(value).__name__}")
        elif kind == K_BARE:
            if inner is not spec.plan:
                raise _field_error(plan, attr, f"expected {spec.name}, got {type(value).__name__}")
        elif spec.type_id >= 0 and (inner.type_id != spec.type_id or inner.is_function):
            raise _field_error(plan, attr, f"expected {spec.name}, got {type(value).__name__}")
        _write_object(out, value, inner, kind != K_BARE, depth)
    else:  # pragma: no cover - plans are built by the schema compiler
        raise AssertionError(f"unknown kind {kind}")


def _same_family(inner: Plan, outer: Plan) -> bool:
    """Whether an object of `inner` may sit in a field of `outer`: both of one schema, or of
    schemas derived from one another (the same definitions, other classes)."""
    if inner.registry is None or outer.registry is None or inner.registry is outer.registry:
        return True
    return inner.registry.family is outer.registry.family


def _write_bytes(out: _Writer, data: Any, plan: Plan | None, attr: str) -> None:
    length = memoryview(data).nbytes
    if length <= 253:
        out.append(length)
        out += data
        pad = -(1 + length) & 3
    elif length <= MAX_BYTES_LENGTH:
        out += bytes((254, length & 0xFF, (length >> 8) & 0xFF, length >> 16))
        out += data
        pad = -length & 3
    else:
        raise _field_error(
            plan, attr, f"{length} bytes do not fit a TL length prefix (max 2**24 - 1)", ValueError
        )
    out += b"\0" * pad


# --------------------------------------------------------------------------------------------
# Decoding


def inflate_gzip(packed: Any, left: int, limit: int, scope: str = "decode", at: int = 0) -> bytes:
    """What a gzip_packed body's stream inflates to, at most `left` bytes: what is left of the
    `limit` that one `scope` ("decode", "received message") may inflate. DecodeError at offset
    `at` for a stream that is not gzip, is truncated or has bytes after it; InflateLimitError
    for one that inflates past `left`, refused before that memory is spent (zlib grows its
    output in steps up to the cap, so past it it stops one byte over)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(packed, left + 1 if left < sys.maxsize else left)
    except zlib.error as exc:
        raise DecodeError(f"gzip_packed body is not valid gzip ({exc})", at) from None
    if len(inflated) > left:
        raise InflateLimitError(
            f"gzip_packed bodies inflate past the limit of {limit} bytes for one {scope} "
            f"({left} bytes of that budget were left)", at)
    if not inflater.eof:
        raise DecodeError("gzip_packed body is a truncated gzip stream", at)
    if inflater.unused_data:
        raise DecodeError(
            f"gzip_packed body has {len(inflater.unused_data)} bytes after its gzip stream", at)
    return inflated


def _inflate_limit(max_inflated: Any) -> int:
    """max_inflated as a byte count: a ValueError below zero; beyond what fits, no limit."""
    if not isinstance(max_inflated, int):
        raise TypeError(f"max_inflated must be an int, got {type(max_inflated).__name__}")
    if max_inflated < 0:
        raise ValueError(f"max_inflated must not be negative, got {max_inflated}")
    return min(max_inflated, sys.maxsize)


class _Budget:
    """What one decode call (one Reader) may still spend, shared by the readers of the
    gzip_packed bodies inside it: the work and memory a decode costs stay proportional to its
    input plus max_inflated, however the input nests."""

    __slots__ = ("max_inflated", "inflate_left", "zero_size_left")

    def __init__(self, max_inflated: int, input_length: int) -> None:
        self.max_inflated = max_inflated  # as given, for error messages
        self.inflate_left = max_inflated  # gzip_packed bytes that may still be inflated
        self.zero_size_left = input_length  # vector elements that take no bytes: one per byte


class Reader:
    """Reads TL values one after another from a buffer; every read checks the bytes left.

    A read that fails leaves the reader where that read began (position and budget), so a
    caller can report the error, or try again over a longer buffer, from there."""

    def __init__(
        self,
        data: Any,
        registry: Registry,
        max_inflated: int = DEFAULT_MAX_INFLATED,
    ) -> None:
        limit = _inflate_limit(max_inflated)
        self._view = memoryview(data).cast("B")
        self._data = self._view.tobytes() if not isinstance(data, bytes) else data
        self._pos = 0
        self._end = len(self._data)
        self._registry = registry
        self._budget = _Budget(limit, self._end)

    @classmethod
    def _inside(cls, data: bytes, outer: Reader) -> Reader:
        """A reader over an inflated gzip_packed body, spending the outer reader's budget."""
        reader = cls.__new__(cls)
        reader._data = data
        reader._pos = 0
        reader._end = len(data)
        reader._registry = outer._registry
        reader._budget = outer._budget
        return reader

    @property
    def position(self) -> int:
        return self._pos

    @property
    def remaining(self) -> int:
        return self._end - self._pos

    def _need(self, n: int, what: str) -> None:
        if self._end - self._pos < n:
            raise DecodeError(
                f"truncated: {what} needs {n} bytes, {self._end - self._pos} left", self._pos
            )

    def read_int(self) -> int:
        self._need(4, "int")
        (value,) = _i32.unpack_from(self._data, self._pos)
        self._pos += 4
        return value

    def read_uint(self) -> int:
        self._need(4, "#")
        (value,) = _u32.unpack_from(self._data, self._pos)
        self._pos += 4
        return value

    def read_long(self) -> int:
        self._need(8, "long")
        (value,) = _i64.unpack_from(self._data, self._pos)
        self._pos += 8
        return value

    def read_double(self) -> float:
        self._need(8, "double")
        (value,) = _f64.unpack_from(self._data, self._pos)
        self._pos += 8
        return value

    def read_raw(self, n: int) -> bytes:
        if n < 0:
            raise ValueError("n must not be negative")
        self._need(n, f"{n} raw bytes")
        value = self._data[self._pos : self._pos + n]
        self._pos += n
        return value

    def read_bytes(self) -> bytes:
        start = self._pos
        self._need(1, "bytes length")
        first = self._data[start]
        if first <= 253:
            length, header = first, 1
        elif first == 254:
            self._need(4, "bytes length")
            length = int.from_bytes(self._data[start + 1 : start + 4], "little")
            header = 4
            if length < 254:
                raise DecodeError(
                    f"long-form bytes length {length} is below 254 (must use the short form)",
                    start,
                )
        else:
            raise DecodeError("bytes length byte 0xff is not defined by TL", start)
        total = header + length
        total += -total & 3
        if self._end - start < total:
            raise DecodeError(
                f"truncated: bytes of length {length} need {total} bytes, {self._end - start} left",
                start,
            )
        self._pos = start + total
        return self._data[start + header : start + header + length]

    def read_string(self) -> str:
        start = self._pos
        data = self.read_bytes()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._pos = start
            raise DecodeError(f"string is not valid UTF-8 ({exc.reason})", start) from None

    def read_bool(self) -> bool:
        start = self._pos
        constructor_id = self.read_uint()
        if constructor_id == BOOL_TRUE_ID:
            return True
        if constructor_id == BOOL_FALSE_ID:
            return False
        self._pos = start
        raise DecodeError(f"expected Bool, got id {constructor_id:#010x}", start)

    def read_object(self, expected: Any = None) -> Any:
        """Read one boxed value; `expected` narrows which constructors are accepted."""
        return self._read_from_start(self._registry.to_spec(expected), 0)

    def read(self, spec: TypeSpec, depth: int = 0) -> Any:
        if not 0 <= depth <= MAX_DEPTH:
            raise ValueError(f"depth must be between 0 and {MAX_DEPTH}, got {depth}")
        return self._read_from_start(_checked_spec(spec, spec), depth)

    def _read_from_start(self, spec: TypeSpec, depth: int) -> Any:
        start = self._pos
        budget = self._budget
        before = (budget.inflate_left, budget.zero_size_left)
        try:
            return self._read(spec, depth)
        except BaseException:
            self._pos = start
            budget.inflate_left, budget.zero_size_left = before  # the failed read's spending
            raise

    def _read(self, spec: TypeSpec, depth: int) -> Any:
        kind = spec.kind
        if kind == K_INT:
            return self.read_int()
        if kind == K_LONG:
            return self.read_long()
        if kind == K_DOUBLE:
            return self.read_double()
        if kind == K_STRING:
            return self.read_string()
        if kind == K_BYTES:
            return self.read_bytes()
        if kind == K_BOOL:
            return self.read_bool()
        if kind == K_INT128:
            return self.read_raw(16)
        if kind == K_INT256:
            return self.read_raw(32)
        if depth > MAX_DEPTH:
            raise DecodeError(f"nesting deeper than {MAX_DEPTH}", self._pos)
        if kind == K_VECTOR or kind == K_BARE_VECTOR:
            start = self._pos
            if kind == K_VECTOR:
                constructor_id = self.read_uint()
                if constructor_id != VECTOR_ID:
                    raise DecodeError(
                        f"expected {spec.name} (id 0x1cb5c415), got id {constructor_id:#010x}",
                        start,
                    )
            count_at = self._pos
            count = self.read_int()
            elem = spec.elem
            min_size = elem.min_size()
            if count < 0 or count * min_size > self._end - self._pos:
                raise DecodeError(
                    f"vector count {count} cannot fit in the {self._end - self._pos} bytes left",
                    count_at,
                )
            if min_size == 0:
                # Elements that take no bytes (a bare constructor without fields) are not
                # bounded by the bytes left, and nested vectors of them would multiply: they
                # spend the budget.
                budget = self._budget
                if count > budget.zero_size_left:
                    raise DecodeError(
                        f"vector of {count} {elem.name} elements, which take no bytes, exceeds "
                        f"the {budget.zero_size_left} this input may still hold (one per byte)",
                        count_at,
                    )
                budget.zero_size_left -= count
            return [self._read(elem, depth + 1) for _ in range(count)]
        if kind == K_BARE:
            return self._read_fields(spec.plan, depth)
        if kind == K_BOXED or kind == K_QUERY:
            return self._read_boxed(spec, depth)
        raise AssertionError(f"unknown kind {kind}")  # pragma: no cover

    def _read_boxed(self, spec: TypeSpec, depth: int) -> Any:
        start = self._pos
        self._need(4, f"the constructor id of {spec.name}")
        constructor_id = self.read_uint()
        if constructor_id == GZIP_PACKED_ID and (
            spec.plan is None or spec.plan.constructor_id != GZIP_PACKED_ID
        ):
            return self._read_gzip(spec, depth, start)
        plan = self._registry.plan_for_id(constructor_id)
        if plan is None:
            raise DecodeError(
                f"unknown constructor id {constructor_id:#010x} where {spec.name} was expected",
                start,
            )
        if spec.kind == K_QUERY:
            if not plan.is_function:
                raise DecodeError(
                    f"expected a function call, got {plan.tl_name}#{constructor_id:08x}", start
                )
        elif spec.plan is not None:
            if plan is not spec.plan:
                raise DecodeError(
                    f"expected {spec.name}, got {plan.tl_name}#{constructor_id:08x}", start
                )
        elif spec.type_id >= 0 and (plan.type_id != spec.type_id or plan.is_function):
            raise DecodeError(
                f"expected {spec.name}, got {plan.tl_name}#{constructor_id:08x} "
                f"of type {self._registry._type_name(plan.type_id)}",
                start,
            )
        return self._read_fields(plan, depth)

    def _read_gzip(self, spec: TypeSpec, depth: int, start: int) -> Any:
        packed = self.read_bytes()
        budget = self._budget
        inflated = inflate_gzip(packed, budget.inflate_left, budget.max_inflated, "decode", start)
        budget.inflate_left -= len(inflated)
        budget.zero_size_left += len(inflated)
        inner = Reader._inside(inflated, self)
        try:
            value = inner._read(spec, depth + 1)
        except DecodeError as exc:
            raise DecodeError(f"inside gzip_packed: {exc}", start) from None
        if inner.remaining:
            raise DecodeError(
                f"gzip_packed body has {inner.remaining} trailing bytes after {spec.name}", start
            )
        return value

    def _read_fields(self, plan: Plan, depth: int) -> Any:
        if plan.cls is None:
            if plan.factory is not None:
                plan.factory(plan)
            if plan.cls is None:
                raise TypeError(f"{plan.tl_name} is not bound to a class")
        cls = plan.cls
        obj = cls.__new__(cls)
        words = [0, 0, 0, 0][: plan.n_flag_words]
        descriptors = plan.descriptors
        index = 0
        for attr, spec, flag_index, mask, word_slot in plan.fields:
            kind = spec.kind
            if kind == K_FLAGS:
                words[word_slot] = self.read_uint()
                continue
            if flag_index >= 0 and not words[flag_index] & mask:
                value = False if kind == K_TRUE else None
            elif kind == K_TRUE:
                value = True
            else:
                value = self._read(spec, depth + 1)
            descriptors[index].__set__(obj, value)
            index += 1
        return obj

