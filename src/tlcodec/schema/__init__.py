"""TL schemas: parse the text, compile each definition into a codec plan, bind classes.

`Schema.from_tl(text, ...)` loads any schema at run time and gives working classes and a codec
without generated files; the bundled schema (`tlcodec.bundled`) is the same thing bound to the
committed, generated classes of `tlcodec.types` and `tlcodec.functions`.
"""

from __future__ import annotations

import keyword
import os
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
    from typing import Any, Iterable, Mapping

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
    """The definitions of the bundled .tl files (layer 228 subset + MTProto service schema)."""
    definitions: list[Definition] = []
    layer = None
    for name in BUNDLED_FILES:
        with open(os.path.join(DATA_DIR, name), encoding="utf-8") as file:
            parsed = parse_schema(file.read())
        definitions.extend(parsed.definitions)
        layer = parsed.layer if parsed.layer is not None else layer
    return definitions, layer


class Schema:
    """A compiled schema: plans, a registry for decoding by id, and one class per definition."""

    def __init__(
        self,
        definitions: Iterable[Definition],
        layer: int | None = None,
        *,
        codec: ModuleType | None = None,
        classes: Mapping[str, type] | None = None,
        module: str = "tlcodec.dynamic",
    ) -> None:
        if codec is None:
            from .. import _runtime

            codec = _runtime.codec
        self.codec = codec
        self.layer = layer
        self.definitions: list[Definition] = []
        for definition in definitions:
            # Bool and true are built into the codec; the vector line never reaches here.
            if definition.result.name in ("Bool", "True") and not definition.is_function:
                continue
            self.definitions.append(definition)
        self._by_name: dict[str, Definition] = {}
        self._type_ids: dict[str, int] = {}
        self._type_constructors: dict[str, list[Definition]] = {}
        by_id: dict[int, Definition] = {}
        reserved = self._reserved_attributes()
        for definition in self.definitions:
            key = ("fn:" if definition.is_function else "") + definition.name
            if key in self._by_name:
                raise SchemaError(f"{definition.name} is declared twice")
            self._by_name[key] = definition
            other = by_id.setdefault(definition.id, definition)
            if other is not definition:
                raise _line_error(
                    definition, f"id {definition.id:#010x} is already {other.name}'s"
                    + (f" (line {other.line_number})" if other.line_number else "")
                )
            _check_fields(definition, reserved[definition.is_function])
            if not definition.is_function:
                result = definition.result.name
                if result not in self._type_ids:
                    self._type_ids[result] = len(self._type_ids)
                self._type_constructors.setdefault(result, []).append(definition)
        self._spec_cache: dict[Any, Any] = {}
        self._flags_spec = codec.TypeSpec(codec.K_FLAGS, "#")
        self._true_spec = codec.TypeSpec(codec.K_TRUE, "true")
        self._plans: dict[str, Any] = {}
        for definition in self.definitions:
            self._plans[self._key(definition)] = self._new_plan(definition)
        for definition in self.definitions:
            self._fill_plan(definition)
        # Classes: the generated ones are bound now; a schema loaded at run time creates each
        # class the first time it is needed (looked up, or met while decoding), because making
        # ~2,500 classes up front would be most of the time `Schema.from_tl` takes.
        self._module = module
        self._classes: dict[str, type] = {}
        self._by_class_name: dict[tuple[bool, str | None, str], str] = {}
        for definition in self.definitions:
            key = self._key(definition)
            plan = self._plans[key]
            self._by_class_name[
                definition.is_function, definition.namespace, class_name(definition.name)
            ] = key
            cls = None if classes is None else classes.get(key)
            if cls is not None:
                plan.bind(cls)
                self._classes[key] = cls
            else:
                # Run-time schemas, and a bundle whose generated classes are not written yet
                # (the generator itself imports the package).
                plan.factory = self._materialize
        self.types = _Namespace(self, False, None)
        self.functions = _Namespace(self, True, None)
        self.registry = codec.Registry(list(self._plans.values()), list(self._type_ids))
        self.registry.resolver = self.spec

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
        if function is not True and tl_name in self._plans:
            return self._class_for(tl_name)
        if function is not False and "fn:" + tl_name in self._plans:
            return self._class_for("fn:" + tl_name)
        raise KeyError(tl_name)

    def by_id(self, constructor_id: int) -> type:
        """The class of a constructor or function by its 4-byte id (made now if it was not
        yet); KeyError if the schema has none."""
        plan = self.registry.plan_for_id(constructor_id)
        if plan is None:
            raise KeyError(f"no constructor or function {constructor_id:#010x} in this schema")
        return self._class_for(("fn:" if plan.is_function else "") + plan.tl_name)

    def __contains__(self, tl_name: str) -> bool:
        return tl_name in self._plans or "fn:" + tl_name in self._plans

    @property
    def classes(self) -> dict[str, type]:
        """Every class, keyed by TL name (functions as "fn:name"); creates any not made yet."""
        return {key: self._class_for(key) for key in self._plans}

    def _class_for(self, key: str) -> type:
        cls = self._classes.get(key)
        if cls is None:
            self._materialize(self._plans[key])
            cls = self._classes[key]
        return cls

    def _materialize(self, plan: Any) -> None:
        """Create and bind the class of `plan` (the codec calls this for an unbound plan)."""
        key = ("fn:" if plan.is_function else "") + plan.tl_name
        if key not in self._classes:
            cls = self._make_class(self._by_name[key], self._module)
            plan.bind(cls)
            self._classes[key] = cls

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
            query_attr = self._generic_query_attr(plan.tl_name)
            request = getattr(request, query_attr)
            plan = type(request).__tl_plan__
        return plan.result

    def decode(
        self,
        data: Any,
        expected: Any = None,
        *,
        allow_trailing: bool = False,
        max_inflated: int | None = None,
    ) -> Any:
        """Decode one value from `data` (bytes, bytearray, memoryview)."""
        if max_inflated is None:
            max_inflated = self.codec.DEFAULT_MAX_INFLATED
        return self.registry.decode(
            data, expected, allow_trailing=allow_trailing, max_inflated=max_inflated
        )

    def encode_as(self, value: Any, expected: Any) -> bytes:
        """Serialize `value` as the TL type `expected` ("Vector<User>", "Bool", a class...)."""
        return self.codec.encode_value(value, self.spec(expected))

    def encode_result(self, request: Any, value: Any) -> bytes:
        """Serialize the answer to `request` (its result type, generics resolved)."""
        return self.codec.encode_value(value, self.result_spec(request))

    def decode_result(self, request: Any, data: Any, **options: Any) -> Any:
        """Decode the answer to `request` (its result type, generics resolved)."""
        return self.decode(data, self.result_spec(request), **options)

    def reader(self, data: Any, *, max_inflated: int | None = None) -> Any:
        """A streaming `Reader` over `data` for decoding several values in a row."""
        if max_inflated is None:
            max_inflated = self.codec.DEFAULT_MAX_INFLATED
        return self.codec.Reader(data, self.registry, max_inflated)

    # ----------------------------------------------------------------------------------------
    # Compiling

    @staticmethod
    def _key(definition: Definition) -> str:
        return ("fn:" if definition.is_function else "") + definition.name

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

    def _generic_query_attr(self, function_name: str) -> str:
        definition = self._by_name["fn:" + function_name]
        for param in definition.params:
            if param.type.generic_query:
                return attribute_name(param.name)
        raise SchemaError(f"{function_name} returns a generic type but takes no !X query")

    def _new_plan(self, definition: Definition) -> Any:
        type_id = -1 if definition.is_function else self._type_ids[definition.result.name]
        return self.codec.Plan(definition.id, definition.name, type_id, definition.is_function, [])

    def _fill_plan(self, definition: Definition) -> None:
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
        plan = self._plans[self._key(definition)]
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
        if name in self._plans:  # a lowercase constructor name
            return self._plans[name]
        constructors = self._type_constructors.get(name, [])
        if len(constructors) != 1:
            raise SchemaError(f"bare %{name} needs a type with exactly one constructor")
        return self._plans[constructors[0].name]

    def _make_class(self, definition: Definition, module: str) -> type:
        codec = self.codec
        base = codec.TLRequest if definition.is_function else codec.TLObject
        return type(class_name(definition.name), (base,), _class_namespace(definition, module))


def _class_namespace(definition: Definition, module: str) -> dict[str, Any]:
    """The class body of a generated class: its slots and what it tells about its TL line."""
    namespace: dict[str, Any] = {
        "__slots__": tuple(
            attribute_name(p.name) for p in definition.params if not p.is_flag_word
        ),
        "__module__": module + (f".{definition.namespace}" if definition.namespace else ""),
        "__qualname__": class_name(definition.name),
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
        key = schema._by_class_name.get((self._functions, self._namespace, name))
        if key is not None:
            return schema._class_for(key)
        if self._namespace is None and any(
            ns == name and fn == self._functions for fn, ns, _ in schema._by_class_name
        ):
            sub = _Namespace(schema, self._functions, name)
            setattr(self, name, sub)
            return sub
        raise AttributeError(name)

    def __dir__(self) -> list[str]:
        names = set()
        for functions, namespace, name in self._schema._by_class_name:
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
