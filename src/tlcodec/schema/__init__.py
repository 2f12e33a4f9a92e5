"""TL schemas: parse the text, compile each definition into a codec plan, bind classes.

`Schema.from_tl(text, ...)` loads any schema at run time and gives working classes and a codec
without generated files; the bundled schema (`tlcodec.bundled`) is the same thing bound to the
committed, generated classes of `tlcodec.types` and `tlcodec.functions`.
"""

from __future__ import annotations

import keyword
import os
import sys
from _thread import RLock
from types import ModuleType

from .parser import (
    BASE_TYPES,
    Definition,
    IdMismatch,
    Param,
    ParsedSchema,
    SchemaError,
    TypeExpr,
    compute_id,
    parse_schema,
    parse_type,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` costs import time that `import tlcodec` does not need to pay
    from typing import Any, Iterable, Mapping, TypeAlias, TypeVar, overload

    from .._codec import Registry, TLObject, TLRequest, TypeSpec

    _Buffer: TypeAlias = bytes | bytearray | memoryview

    _Object = TypeVar("_Object", bound=TLObject)
    _Result = TypeVar("_Result")

DYNAMIC_MODULE = "tlcodec.dynamic"  # where the classes of a schema loaded at run time live
DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
BUNDLED_FILES = ("api.tl", "mtproto.tl")

__all__ = [
    "BUNDLED_FILES",
    "DATA_DIR",
    "Definition",
    "IdMismatch",
    "MAX_FIELDS",
    "MAX_FLAG_WORDS",
    "Param",
    "ParsedSchema",
    "Schema",
    "SchemaError",
    "TypeExpr",
    "attribute_name",
    "bundled_definitions",
    "class_name",
    "compute_id",
    "parse_schema",
    "parse_type",
]


def class_name(tl_name: str) -> str:
    """`auth.loginTokenSuccess` -> `LoginTokenSuccess`; `p_q_inner_data_dc` -> `PQInnerDataDc`."""
    short = tl_name.rsplit(".", 1)[-1]
    return "".join(part[:1].upper() + part[1:] for part in short.split("_"))


def attribute_name(field_name: str) -> str:
    """The Python attribute for a TL field: the TL name, with `_` after a Python keyword."""
    return field_name + "_" if field_name in _KEYWORDS else field_name


_KEYWORDS = frozenset(keyword.kwlist)

# The compiled codec's own limits (MAX_FLAG_WORDS and MAX_STEPS in _codec.pyx; a flag word
# counts as a field). The twin has none, so they are enforced here, at load, where a schema
# then loads in both builds or in neither (and the twin never meets a fifth word mid-decode).
MAX_FLAG_WORDS = 4
MAX_FIELDS = 255


def bundled_definitions() -> tuple[list[Definition], int | None]:
    """The definitions of the bundled .tl files (layer 228 api.tl + the MTProto service schema)."""
    definitions: list[Definition] = []
    layer = None
    for name in BUNDLED_FILES:
        with open(os.path.join(DATA_DIR, name), encoding="utf-8") as file:
            parsed = parse_schema(file.read())
        definitions.extend(parsed.definitions)
        layer = parsed.layer if parsed.layer is not None else layer
    return definitions, layer


class Schema:
    """A compiled schema: plans, a registry for decoding by id, and one class per definition.

    Plans and classes are made on first use (looked up, met while decoding, or bound to a
    class): a whole layer is ~2,500 of each, and a program touches a few hundred at most."""

    def __init__(
        self,
        definitions: Iterable[Definition],
        layer: int | None = None,
        *,
        codec: ModuleType | None = None,
        classes: Mapping[str, type] | None = None,
        module: str = DYNAMIC_MODULE,
        name: str | None = None,
    ) -> None:
        kept: list[Definition] = []
        for definition in definitions:
            # Bool and true are built into the codec; the vector line never reaches here.
            if definition.result.name in ("Bool", "True") and not definition.is_function:
                continue
            kept.append(definition)
        self._start(codec, layer, module, name or f"Schema.from_tl (layer {layer})")
        reserved = self._reserved_attributes()
        by_id: dict[int, Definition] = {}
        for definition in kept:
            key = self._key(definition)
            if key in self._records:
                raise SchemaError(f"{definition.name} is declared twice")
            other = by_id.setdefault(definition.id, definition)
            if other is not definition:
                raise _line_error(
                    definition, f"id {definition.id:#010x} is already {other.name}'s"
                    + (f" (line {other.line_number})" if other.line_number else "")
                )
            _check_fields(definition, reserved[definition.is_function])
            self._records[key] = _record(definition)
            self._definitions[key] = definition
            if not definition.is_function and definition.result.name not in self._type_ids:
                self._type_ids[definition.result.name] = len(self._type_ids)
        self._finish(classes)
        if module == DYNAMIC_MODULE:
            self._dynamic_name()  # findable by pickle before any of its classes is made
        # Loaded at run time: every plan is compiled now, so that a schema that loads is one
        # whose every definition works (errors name their line here, not at first use).
        for key in self._records:
            self._plan(key)

    @classmethod
    def precompiled(
        cls,
        layer: int | None,
        type_names: Iterable[str],
        records: Iterable[tuple],
        *,
        module: str,
        name: str,
        codec: ModuleType | None = None,
        classes: Mapping[str, type] | None = None,
    ) -> Schema:
        """A schema from a generated package's records (`python -m tlcodec.schema.generate`):
        definitions already parsed and checked when the package was generated, each compiled
        into a plan the first time it is used. Nothing is parsed or checked here."""
        schema = cls.__new__(cls)
        schema._start(codec, layer, module, name)
        for record in records:
            schema._records[_key_of(record[1], record[2])] = record
        for index, type_name in enumerate(type_names):
            schema._type_ids[type_name] = index
        schema._finish(classes)
        return schema

    def with_classes(self, *classes: type) -> Schema:
        """A schema that decodes the constructors of `classes`, subclasses of this schema's
        classes, as those subclasses (and encodes them); every other class stays this schema's.

            class Message(tlcodec.types.Message):
                def is_reply(self) -> bool:
                    return self.reply_to is not None

            mine = tlcodec.bundled.with_classes(Message)
            mine.decode(data)  # message#… objects are Message, the rest tlcodec.types

        Objects of the two schemas nest in each other's fields. Only where a constructor is
        boxed: a bare field (`%Message`, `vector<message>`) keeps the base schema's class."""
        overrides: dict[str, type] = {}
        for cls in classes:
            plan = getattr(cls, "__tl_plan__", None)
            key = None if plan is None else _key_of(plan.tl_name, plan.is_function)
            base = None if key is None else self._classes.get(key)
            if not isinstance(cls, type) or base is None or base not in cls.__mro__[1:]:
                raise TypeError(f"{cls!r} is not a subclass of a class of {self.name}")
            if key in overrides:
                raise ValueError(f"{cls.__name__} and {overrides[key].__name__} both subclass "
                                 f"{plan.tl_name}")
            overrides[key] = cls
        derived = Schema.__new__(Schema)
        names = ", ".join(cls.__name__ for cls in classes)
        derived._start(self.codec, self.layer, self._module, f"{self.name} with {names}")
        derived._base = self
        derived._records = self._records
        derived._definitions = self._definitions
        derived._type_ids = self._type_ids
        derived._finish(overrides)
        derived.registry.family = self.registry.family
        for key in overrides:
            derived._plan(key)
        return derived

    _base: Schema | None = None  # the schema this one was derived from (with_classes)
    registry: Registry  # made by _finish: the codec's table of this schema's plans

    def _start(self, codec: ModuleType | None, layer: int | None, module: str, name: str) -> None:
        if codec is None:
            from .. import _runtime

            codec = _runtime.codec
        self.codec = codec
        self.layer = layer
        self.name = name
        self._module = module
        # key ("auth.loginToken", functions "fn:auth.importLoginToken") -> record, in file order
        self._records: dict[str, tuple] = {}
        self._definitions: dict[str, Definition] = {}  # made from the records when asked for
        self._type_ids: dict[str, int] = {}
        self._plans: dict[str, Any] = {}
        self._classes: dict[str, type] = {}
        self._given_classes: Mapping[str, type] = {}
        self._keys_by_id: dict[int, str] | None = None
        self._keys_by_class_name: dict[tuple[bool, str | None, str], str] | None = None
        self._constructors_by_type: dict[str, list[str]] | None = None
        self._spec_cache: dict[Any, Any] = {}
        self._flags_spec = codec.TypeSpec(codec.K_FLAGS, "#")
        self._true_spec = codec.TypeSpec(codec.K_TRUE, "true")
        # Materialising runs Python code that another thread may enter for the same plan.
        self._lock = RLock()

    def _finish(self, classes: Mapping[str, type] | None) -> None:
        self._given_classes = classes or {}
        self.types = _Namespace(self, False, None)
        self.functions = _Namespace(self, True, None)
        self.registry = self.codec.Registry([], list(self._type_ids))
        self.registry.resolver = self.spec
        self.registry.loader = self._plan_for_id
        self.registry.name = self.name

    # ----------------------------------------------------------------------------------------
    # Loading

    @classmethod
    def from_tl(cls, *texts: str, codec: ModuleType | None = None, strict_ids: bool = False) -> Schema:
        """Load one or more .tl texts (e.g. api.tl and mtproto.tl) into a working schema.

        Id mismatches (an explicit `#id` that is not the CRC32 of its line) are kept in
        `schema.mismatches`; with `strict_ids=True` they raise `SchemaError` naming the line.
        """
        definitions: list[Definition] = []
        mismatches: list[IdMismatch] = []
        layer = None
        for text in texts:
            parsed = parse_schema(text)
            definitions.extend(parsed.definitions)
            mismatches.extend(parsed.mismatches)
            layer = parsed.layer if parsed.layer is not None else layer
        if strict_ids and mismatches:
            raise SchemaError("; ".join(str(m) for m in mismatches))
        schema = cls(definitions, layer, codec=codec)
        schema.mismatches = mismatches
        return schema

    mismatches: list[IdMismatch] = []

    # ----------------------------------------------------------------------------------------
    # Lookup and decoding

    def get(self, tl_name: str, *, function: bool | None = None) -> type:
        """The class of a constructor or function by its TL name (`auth.loginToken`)."""
        if function is not True and tl_name in self._records:
            return self._class_for(tl_name)
        if function is not False and "fn:" + tl_name in self._records:
            return self._class_for("fn:" + tl_name)
        raise KeyError(tl_name)

    def by_id(self, constructor_id: int) -> type:
        """The class of a constructor or function by its 4-byte id (made now if it was not
        yet); KeyError if the schema has none."""
        key = self._ids().get(constructor_id)
        if key is None:
            raise KeyError(f"no constructor or function {constructor_id:#010x} in this schema")
        return self._class_for(key)

    def __contains__(self, tl_name: str) -> bool:
        return tl_name in self._records or "fn:" + tl_name in self._records

    def __repr__(self) -> str:
        return f"<Schema {self.name}: {len(self._records)} definitions>"

    @property
    def classes(self) -> dict[str, type]:
        """Every class, keyed by TL name (functions as "fn:name"); creates any not made yet."""
        return {key: self._class_for(key) for key in self._records}

    @property
    def definitions(self) -> list[Definition]:
        """Every definition, in schema order (Bool and true, built into the codec, left out)."""
        return [self._definition(key) for key in self._records]

    def _class_for(self, key: str) -> type:
        if self._base is not None and key not in self._given_classes:
            return self._base._class_for(key)
        cls = self._classes.get(key)
        if cls is None:
            self._materialize(self._plan(key))
            cls = self._classes[key]
        return cls

    def _materialize(self, plan: Any) -> None:
        """Create and bind the class of `plan` (the codec calls this for an unbound plan)."""
        key = _key_of(plan.tl_name, plan.is_function)
        with self._lock:
            if key not in self._classes:
                cls = self._given_classes.get(key)
                if cls is None:
                    cls = self._make_class(self._definition(key), self._module)
                plan.bind(cls)
                self._classes[key] = cls

    def _ids(self) -> dict[int, str]:
        if self._keys_by_id is None:
            self._keys_by_id = {record[0]: key for key, record in self._records.items()}
        return self._keys_by_id

    def _class_names(self) -> dict[tuple[bool, str | None, str], str]:
        if self._keys_by_class_name is None:
            self._keys_by_class_name = {
                (record[2], _namespace_of(record[1]), class_name(record[1])): key
                for key, record in self._records.items()
            }
        return self._keys_by_class_name

    def _plan_for_id(self, constructor_id: int) -> Any:
        """The registry's loader: the plan of an id it has not met yet, or None."""
        key = self._ids().get(constructor_id)
        return None if key is None else self._plan(key)

    def spec(self, expected: Any) -> Any:
        """A codec TypeSpec for `expected`: None (any object), a TL type such as
        `"auth.LoginToken"` or `"Vector<long>"`, or a class (exactly that constructor)."""
        if expected is None:
            return self.registry.object_spec
        if isinstance(expected, str):
            cached = self._spec_cache.get(expected)
            if cached is None:
                cached = self._spec_cache[expected] = self._spec_of(parse_type(expected), None)
            return cached
        plan = getattr(expected, "__tl_plan__", None)
        if plan is not None:
            return plan.exact_spec
        if isinstance(expected, self.codec.TypeSpec):
            return expected
        raise TypeError(f"expected must be None, a TL type name or a TL class, got {expected!r}")

    def result_spec(self, request: Any) -> Any:
        """What a function call returns: for `invokeWithLayer(…, query)` that of the query."""
        plan = getattr(type(request), "__tl_plan__", None)
        if plan is None or not plan.is_function:
            raise TypeError(f"{type(request).__name__} is not a TL function")
        while plan.result is None:  # generic `= X`: the result of the wrapped !X query
            request = self.wrapped_query(request)
            plan = type(request).__tl_plan__
        return plan.result

    def wrapped_query(self, request: Any) -> Any:
        """The call a generic wrapper carries (`query` of `invokeWithLayer(layer, query)`),
        whose result is the wrapper's; None for any other call."""
        plan = getattr(type(request), "__tl_plan__", None)
        if plan is None or not plan.is_function:
            raise TypeError(f"{type(request).__name__} is not a TL function")
        if plan.result is not None:
            return None
        return getattr(request, self._generic_query_attr(plan))

    if TYPE_CHECKING:  # what `expected` makes of the result (as for `tlcodec.decode`)
        @overload
        def decode(
            self,
            data: _Buffer,
            expected: None = None,
            *,
            allow_trailing: bool = False,
            max_inflated: int | None = None,
        ) -> TLObject: ...
        @overload
        def decode(
            self,
            data: _Buffer,
            expected: type[_Object],
            *,
            allow_trailing: bool = False,
            max_inflated: int | None = None,
        ) -> _Object: ...
        @overload
        def decode(
            self,
            data: _Buffer,
            expected: str | TypeSpec,
            *,
            allow_trailing: bool = False,
            max_inflated: int | None = None,
        ) -> Any: ...

    def decode(
        self,
        data: Any,
        expected: Any = None,
        *,
        allow_trailing: bool = False,
        max_inflated: int | None = None,
    ) -> Any:
        """Decode one value from `data` (bytes, bytearray, memoryview)."""
        limit = self.codec.DEFAULT_MAX_INFLATED if max_inflated is None else max_inflated
        return self.registry.decode(
            data, expected, allow_trailing=allow_trailing, max_inflated=limit
        )

    def encode_as(self, value: Any, expected: Any) -> bytes:
        """Serialize `value` as the TL type `expected` ("Vector<User>", "Bool", a class...)."""
        return self.codec.encode_value(value, self.spec(expected))

    def encode_result(self, request: TLRequest[_Result], value: _Result) -> bytes:
        """Serialize the answer to `request` (its result type, generics resolved)."""
        return self.codec.encode_value(value, self.result_spec(request))

    def decode_result(
        self,
        request: TLRequest[_Result],
        data: _Buffer,
        *,
        allow_trailing: bool = False,
        max_inflated: int | None = None,
    ) -> _Result:
        """Decode the answer to `request` (its result type, generics resolved)."""
        # What the spec decodes to is the request's R: the stubs say which R that is.
        result: Any = self.decode(
            data, self.result_spec(request), allow_trailing=allow_trailing,
            max_inflated=max_inflated,
        )
        return result  # type: ignore[no-any-return]

    def reader(self, data: Any, *, max_inflated: int | None = None) -> Any:
        """A streaming `Reader` over `data` for decoding several values in a row."""
        if max_inflated is None:
            max_inflated = self.codec.DEFAULT_MAX_INFLATED
        return self.codec.Reader(data, self.registry, max_inflated)

    # ----------------------------------------------------------------------------------------
    # Compiling

    @staticmethod
    def _key(definition: Definition) -> str:
        return _key_of(definition.name, definition.is_function)

    def _definition(self, key: str) -> Definition:
        definition = self._definitions.get(key)
        if definition is None:
            definition = self._definitions[key] = _definition_of(self._records[key])
        return definition

    def _reserved_attributes(self) -> dict[bool, frozenset[str]]:
        """What a generated class has besides its fields, for constructors (False) and
        functions (True): its base class's methods and the attributes `_make_class` sets.
        A field of the same name would hide one of them or make the class impossible to
        create, so such names are asked of the classes themselves rather than listed."""
        reserved = {}
        for is_function, base in ((False, self.codec.TLObject), (True, self.codec.TLRequest)):
            probe = Definition("probe", 0, (), TypeExpr("Probe"), is_function)
            reserved[is_function] = frozenset(dir(base)) | frozenset(_class_namespace(probe, ""))
        return reserved

    def _generic_query_attr(self, plan: Any) -> str:
        for attr, spec, _flag_index, _mask, _slot in plan.fields:
            if spec.kind == self.codec.K_QUERY:
                return attr
        raise SchemaError(f"{plan.tl_name} returns a generic type but takes no !X query")

    def _plan(self, key: str) -> Any:
        """The plan of `key`, compiled now if it was not yet (and those of its bare fields)."""
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                return plan
            if self._base is not None and key not in self._given_classes:
                # Shared with the base schema: the same plan, the same class.
                plan = self._plans[key] = self.registry.add(self._base._plan(key))
                return plan
            definition = self._definition(key)
            type_id = -1 if definition.is_function else self._type_ids[definition.result.name]
            plan = self.codec.Plan(definition.id, definition.name, type_id, definition.is_function, [])
            # In the table before its fields: a bare field may lead back to this constructor.
            self._plans[key] = plan
            try:
                self._fill_plan(definition, plan)
            except BaseException:
                del self._plans[key]
                raise
            plan.factory = self._materialize
            added = self.registry.add(plan)
            if added is not plan:  # pragma: no cover - the lock makes this the only maker
                self._plans[key] = plan = added
            if key in self._given_classes:
                self._materialize(plan)
        return plan

    def _fill_plan(self, definition: Definition, plan: Any) -> None:
        fields = []
        flag_words: dict[str, int] = {}
        for name, expr, flag_word, flag_bit in definition.params:
            if expr[0] == "#":  # a flag word: computed on encode, not an attribute
                flag_words[name] = len(flag_words)
                fields.append((attribute_name(name), self._flags_spec, -1, 0, flag_words[name]))
                continue
            if flag_word is not None and expr[0] == "true":
                spec = self._true_spec
            else:
                try:
                    spec = self._spec_of(expr, definition)
                except SchemaError as exc:
                    raise SchemaError(f"{definition.name}.{name}: {exc}") from None
            if flag_word is None:
                fields.append((attribute_name(name), spec, -1, 0, 0))
            else:
                fields.append(
                    (attribute_name(name), spec, flag_words[flag_word], 1 << flag_bit, 0)
                )
        plan.set_fields(fields)
        if definition.is_function and definition.result.name in definition.generics:
            # `= X`: the result is that of the wrapped query, so there must always be one.
            if not any(
                p.type.generic_query and p.type.name == definition.result.name
                and p.flag_word is None
                for p in definition.params
            ):
                raise _line_error(
                    definition, f"returns {definition.result.name} but has no "
                    f"!{definition.result.name} query that is always present"
                )
        elif definition.is_function:
            try:
                plan.result = self._spec_of(definition.result, definition)
            except SchemaError as exc:
                raise SchemaError(f"{definition.name} result: {exc}") from None

    def _spec_of(self, expr: TypeExpr, definition: Definition | None) -> Any:
        generics = definition.generics if definition is not None else ()
        key = (expr, expr.name in generics)
        cached = self._spec_cache.get(key)
        if cached is not None:
            return cached
        codec = self.codec
        name = expr.name
        if expr.generic_query:
            spec = codec.TypeSpec(codec.K_QUERY, "!" + name)
        elif name in generics or name == "Object":
            spec = codec.TypeSpec(codec.K_BOXED, "Object", -1)
        elif name in ("Vector", "vector"):
            elem = self._spec_of(expr.arg, definition)
            kind = codec.K_VECTOR if name == "Vector" else codec.K_BARE_VECTOR
            spec = codec.TypeSpec(kind, str(expr), elem=elem)
        elif name in BASE_TYPES or name == "Bool":
            spec = codec.TypeSpec(_BASE_KINDS[name](codec), name)
        elif expr.bare:
            spec = codec.TypeSpec(codec.K_BARE, name, plan=self._bare_plan(name))
        elif name in self._type_ids:
            spec = codec.TypeSpec(codec.K_BOXED, name, self._type_ids[name])
        else:
            raise SchemaError(f"type {name} has no constructor in this schema")
        self._spec_cache[key] = spec
        return spec

    def _bare_plan(self, name: str) -> Any:
        if name in self._records:  # a lowercase constructor name
            return self._plan(name)
        if self._constructors_by_type is None:
            self._constructors_by_type = {}
            for key, record in self._records.items():
                if not record[2]:
                    self._constructors_by_type.setdefault(record[3], []).append(key)
        constructors = self._constructors_by_type.get(name, [])
        if len(constructors) != 1:
            raise SchemaError(f"bare %{name} needs a type with exactly one constructor")
        return self._plan(constructors[0])

    def _make_class(self, definition: Definition, module: str) -> type:
        codec = self.codec
        base = codec.TLRequest if definition.is_function else codec.TLObject
        namespace = _class_namespace(definition, module)
        namespace["__doc__"] = _LineDoc(definition)
        if module == DYNAMIC_MODULE:
            # No module holds a run-time schema's classes: pickle finds them through
            # tlcodec.dynamic, where this schema is registered under its fingerprint.
            namespace["__module__"] = DYNAMIC_MODULE
            namespace["__qualname__"] = f"{self._dynamic_name()}.{'.'.join(_qualified_path(definition))}"
        return type(namespace["__qualname__"].rsplit(".", 1)[-1], (base,), namespace)

    def _dynamic_name(self) -> str:
        from .. import dynamic

        return dynamic.register(self)

    # ----------------------------------------------------------------------------------------
    # Generated packages

    def fill_module(
        self, namespace: dict[str, Any], functions: bool, classes: Mapping[str, str],
        submodules: tuple[str, ...],
    ) -> None:
        """Make a generated module (`tlcodec.types.auth`) give its classes on first use:
        `classes` maps each class name to its TL name; `submodules` are the namespaces a root
        module (`tlcodec.types`) imports when they are first asked for."""
        module_name = namespace["__name__"]

        def __getattr__(name: str) -> Any:  # noqa: N807 (PEP 562)
            tl_name = classes.get(name)
            if tl_name is not None:
                value = self.get(tl_name, function=functions)
            elif name in submodules:
                __import__(f"{module_name}.{name}")
                value = sys.modules[f"{module_name}.{name}"]
            else:
                raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
            namespace[name] = value
            return value

        def __dir__() -> list[str]:  # noqa: N807
            return sorted({*namespace, *classes, *submodules})

        namespace["__all__"] = sorted(classes)
        namespace["__getattr__"] = __getattr__
        namespace["__dir__"] = __dir__


def _key_of(tl_name: str, is_function: bool) -> str:
    """A definition's key in a schema: its TL name, "fn:"-prefixed for a function (a function
    and a constructor may share a name)."""
    return ("fn:" if is_function else "") + tl_name


def _namespace_of(tl_name: str) -> str | None:
    return tl_name.rsplit(".", 1)[0] if "." in tl_name else None


def _record(definition: Definition) -> tuple:
    """A definition as the plain tuple a generated package stores (and `precompiled` loads):
    (id, name, is_function, result, generics, params), every type as its TL text."""
    return (
        definition.id,
        definition.name,
        definition.is_function,
        str(definition.result),
        definition.generics,
        tuple((p.name, str(p.type), p.flag_word, p.flag_bit) for p in definition.params),
    )


def _definition_of(record: tuple) -> Definition:
    """The Definition a record was made from (its line written back in canonical form)."""
    constructor_id, name, is_function, result, generics, params = record
    definition = Definition(
        name,
        constructor_id,
        tuple(Param(p[0], parse_type(p[1], generics), p[2], p[3]) for p in params),
        parse_type(result, generics),
        is_function,
        generics,
        constructor_id,
    )
    return definition


class _LineDoc:
    """A class's `__doc__`, its TL line, written out when first read (most never are)."""

    __slots__ = ("definition",)

    def __init__(self, definition: Definition) -> None:
        self.definition = definition

    def __get__(self, instance: object, owner: type | None = None) -> str:
        return f"`{self.definition.line or _line_of(self.definition)}`"


def _line_of(definition: Definition) -> str:
    parts = [f"{definition.name}#{definition.id:08x}"]
    parts += [f"{{{generic}:Type}}" for generic in definition.generics]
    for param in definition.params:
        condition = f"{param.flag_word}.{param.flag_bit}?" if param.flag_word else ""
        parts.append(f"{param.name}:{condition}{param.type}")
    return " ".join(parts) + f" = {definition.result};"


def _qualified_path(definition: Definition) -> tuple[str, str]:
    """("types.auth", "LoginToken"): where a class sits below its package."""
    root = "functions" if definition.is_function else "types"
    namespace = f".{definition.namespace}" if definition.namespace else ""
    return root + namespace, class_name(definition.name)


def _class_namespace(definition: Definition, module: str) -> dict[str, Any]:
    """The class body of a generated class: its slots and what it tells about its TL line."""
    where, name = _qualified_path(definition)
    namespace: dict[str, Any] = {
        "__slots__": tuple(
            attribute_name(p.name) for p in definition.params if not p.is_flag_word
        ),
        "__module__": f"{module}.{where}",
        "__qualname__": name,
        "CONSTRUCTOR_ID": definition.id,
        "TL_NAME": definition.name,
        "TL_TYPE": str(definition.result),
    }
    if definition.is_function:
        namespace["RESULT_TYPE"] = str(definition.result)
    return namespace


def _line_error(definition: Definition, what: str) -> SchemaError:
    if not definition.line_number:  # built in code rather than parsed
        return SchemaError(f"{definition.name}: {what}")
    return SchemaError(f"line {definition.line_number}: {what}: {definition.line}")


def _check_fields(definition: Definition, reserved: frozenset[str]) -> None:
    """Refuse fields that no generated class or codec plan can hold, naming the line."""
    if len(definition.params) > MAX_FIELDS:
        raise _line_error(
            definition, f"{len(definition.params)} fields, more than the {MAX_FIELDS} supported"
        )
    flag_words = sum(1 for p in definition.params if p.is_flag_word)
    if flag_words > MAX_FLAG_WORDS:
        raise _line_error(
            definition, f"{flag_words} flag words, more than the {MAX_FLAG_WORDS} supported"
        )
    fields_by_attribute: dict[str, str] = {}
    for param in definition.params:
        if param.is_flag_word:
            continue  # computed on encode: never an attribute of the class
        attribute = attribute_name(param.name)
        if attribute.startswith("__"):
            # Python mangles `__x` in __slots__ and reserves `__x__` for itself.
            raise _line_error(definition, f"field name {param.name!r} starts with '__'")
        if attribute in reserved:
            raise _line_error(
                definition, f"field name {param.name!r} is taken by the generated class's "
                f"own {attribute}"
            )
        if attribute == "_":
            raise _line_error(definition, "field name '_' is where to_dict() puts the TL name")
        other = fields_by_attribute.setdefault(attribute, param.name)
        if other != param.name:
            raise _line_error(
                definition, f"fields {other!r} and {param.name!r} both become attribute "
                f"{attribute!r}"
            )


class _Namespace:
    """`schema.types.auth.LoginToken`: classes (and sub-namespaces) found by attribute."""

    def __init__(self, schema: Schema, functions: bool, namespace: str | None) -> None:
        self._schema = schema
        self._functions = functions
        self._namespace = namespace

    def __getattr__(self, name: str) -> Any:
        schema = self._schema
        names = schema._class_names()
        key = names.get((self._functions, self._namespace, name))
        if key is not None:
            return schema._class_for(key)
        if self._namespace is None and any(
            ns == name and fn == self._functions for fn, ns, _ in names
        ):
            sub = _Namespace(schema, self._functions, name)
            setattr(self, name, sub)
            return sub
        raise AttributeError(name)

    def __dir__(self) -> list[str]:
        names = set()
        for functions, namespace, name in self._schema._class_names():
            if functions != self._functions:
                continue
            if namespace == self._namespace:
                names.add(name)
            elif self._namespace is None and namespace is not None:
                names.add(namespace)
        return sorted(names)


def _base_kind(attr: str) -> Any:
    return lambda codec: getattr(codec, attr)


_BASE_KINDS = {
    "int": _base_kind("K_INT"),
    "long": _base_kind("K_LONG"),
    "double": _base_kind("K_DOUBLE"),
    "int128": _base_kind("K_INT128"),
    "int256": _base_kind("K_INT256"),
    "string": _base_kind("K_STRING"),
    "bytes": _base_kind("K_BYTES"),
    "Bool": _base_kind("K_BOOL"),
}
