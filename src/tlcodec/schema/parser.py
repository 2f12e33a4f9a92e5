"""TL schema text -> definitions, with every constructor id checked against its line.

Owns the TL *language* (PROTOCOL.md section 2, core.telegram.org/mtproto/TL): comments, the
`---functions---`/`---types---` sections, flag words and conditional fields, `Vector<T>`,
bare `vector<T>` and `%T`, generics `{X:Type}` with `!X`, and `// LAYER N`. It knows nothing of
the binary codec; `tlcodec.schema.plans` turns definitions into codec plans.
"""

from __future__ import annotations

import zlib

from ..errors import SchemaError

__all__ = [
    "BASE_TYPES",
    "Definition",
    "IdMismatch",
    "Param",
    "ParsedSchema",
    "SchemaError",
    "TypeExpr",
    "compute_id",
    "parse_schema",
    "parse_type",
]

# Types written bare on the wire and implemented natively by the codec.
BASE_TYPES = frozenset({"int", "long", "double", "string", "bytes", "int128", "int256"})

# Lines describing the built-in types themselves; the codec implements them, so they are skipped.
_BUILTIN_NAMES = frozenset({"int", "long", "double", "string", "vector", "int128", "int256"})

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

# This module is imported by `import tlcodec` (the bundled schema is parsed at import), so it
# avoids `re`, `dataclasses` and `typing`: plain tuples and slotted classes load in no time.


class TypeExpr(tuple):
    """A type as written in a field: `int`, `auth.Authorization`, `Vector<long>`, `%Message`, `!X`.

    A tuple `(name, arg, bare, generic_query)`, hashable and compared by value.
    """

    __slots__ = ()

    def __new__(
        cls,
        name: str,
        arg: TypeExpr | None = None,
        bare: bool = False,
        generic_query: bool = False,
    ) -> TypeExpr:
        return tuple.__new__(cls, (name, arg, bare, generic_query))

    @property
    def name(self) -> str:
        """ "int", "Vector", "vector", "User", "auth.Authorization", "message", "X", "#", "true"."""
        return self[0]

    @property
    def arg(self) -> TypeExpr | None:
        """The element type of Vector/vector."""
        return self[1]

    @property
    def bare(self) -> bool:
        """Written `%T`, or a lowercase constructor name used as a type."""
        return self[2]

    @property
    def generic_query(self) -> bool:
        """`!X`: a whole boxed function call."""
        return self[3]

    def __str__(self) -> str:
        if self.generic_query:
            return "!" + self.name
        if self.arg is not None:
            return f"{self.name}<{self.arg}>"
        return ("%" if self.bare and not self.name[:1].islower() else "") + self.name

    def __repr__(self) -> str:
        return f"TypeExpr({str(self)!r})"


class Param(tuple):
    """One field of a declaration, in wire order: `(name, type, flag_word, flag_bit)`."""

    __slots__ = ()

    def __new__(
        cls, name: str, type: TypeExpr, flag_word: str | None = None, flag_bit: int = -1
    ) -> Param:
        return tuple.__new__(cls, (name, type, flag_word, flag_bit))

    @property
    def name(self) -> str:
        return self[0]

    @property
    def type(self) -> TypeExpr:
        return self[1]

    @property
    def flag_word(self) -> str | None:
        """ "flags" or "flags2" for a conditional field, else None."""
        return self[2]

    @property
    def flag_bit(self) -> int:
        return self[3]

    @property
    def is_flag_word(self) -> bool:
        return self.type.name == "#"

    def __repr__(self) -> str:
        condition = f"{self.flag_word}.{self.flag_bit}?" if self.flag_word else ""
        return f"Param({self.name}:{condition}{self.type})"


class Definition:
    """One constructor or function declaration."""

    __slots__ = (
        "name", "id", "params", "result", "is_function", "generics", "computed_id", "line",
        "line_number",
    )

    def __init__(
        self,
        name: str,
        id: int,
        params: tuple[Param, ...],
        result: TypeExpr,
        is_function: bool,
        generics: tuple[str, ...] = (),
        computed_id: int = 0,
        line: str = "",
        line_number: int = 0,
    ) -> None:
        self.name = name  # "auth.loginToken"
        self.id = id  # the explicit #id from the line (always trusted over the computed one)
        self.params = params
        self.result = result  # "auth.LoginToken", "X", "Vector<User>"
        self.is_function = is_function
        self.generics = generics  # names bound by {X:Type}
        self.computed_id = computed_id  # CRC32 of the normalized line
        self.line = line
        self.line_number = line_number

    @property
    def namespace(self) -> str | None:
        return self.name.rsplit(".", 1)[0] if "." in self.name else None

    def _key(self) -> tuple:
        return (self.name, self.id, self.params, self.result, self.is_function, self.generics)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Definition):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"<Definition {self.line or self.name}>"


class IdMismatch:
    """An explicit id that differs from the CRC32 of its line."""

    __slots__ = ("line_number", "line", "explicit", "computed")

    def __init__(self, line_number: int, line: str, explicit: int, computed: int) -> None:
        self.line_number = line_number
        self.line = line
        self.explicit = explicit
        self.computed = computed

    def __str__(self) -> str:
        return (
            f"line {self.line_number}: explicit id {self.explicit:#010x} but the line hashes to "
            f"{self.computed:#010x}: {self.line}"
        )

    __repr__ = __str__


class ParsedSchema:
    """What one .tl text holds: its definitions, the id mismatches found, its `// LAYER N`."""

    __slots__ = ("definitions", "mismatches", "layer")

    def __init__(
        self, definitions: list[Definition], mismatches: list[IdMismatch], layer: int | None
    ) -> None:
        self.definitions = definitions
        self.mismatches = mismatches
        self.layer = layer


def _split_header(head: str) -> tuple[str, str | None]:
    """`auth.loginToken#629f1980` -> ("auth.loginToken", "629f1980"); no id -> (name, None)."""
    name, hash_sign, hex_id = head.partition("#")
    if not _is_identifier(name, dotted=True):
        raise SchemaError(f"not a constructor name: {head!r}")
    if not hash_sign:
        return name, None
    if not 1 <= len(hex_id) <= 8 or not set(hex_id) <= _HEX_DIGITS:
        raise SchemaError(f"not a hex id: {head!r}")
    return name, hex_id


def _is_identifier(text: str, dotted: bool = False) -> bool:
    parts = text.split(".") if dotted else [text]
    if not 1 <= len(parts) <= 2:
        return False
    return all(part.isidentifier() and part.isascii() for part in parts)


_normalized_cache: dict[str, str | None] = {}


def _normalized_token(token: str) -> str | None:
    """One lexeme of a declaration as the id's CRC32 sees it (PROTOCOL.md 2.3 steps 3-5)."""
    try:
        return _normalized_cache[token]
    except KeyError:
        lexeme = _normalized_cache[token] = _normalize_token(token)
        return lexeme


def _normalize_token(token: str) -> str | None:
    if token.endswith("?true"):
        return None  # flag-only booleans do not count towards the id
    if token.endswith(":bytes") or token.endswith("?bytes"):
        return token[:-5] + "string"  # but `Vector<bytes>` stays as it is
    return token.replace("<", " ").replace(">", "").replace("{", "").replace("}", "")


def compute_id(line: str) -> int:
    """CRC32 of the normalized declaration (PROTOCOL.md section 2.3, steps 1-7)."""
    text = line.split("//", 1)[0].strip()
    if text.endswith(";"):
        text = text[:-1]
    lhs, _, rhs = text.partition("=")
    tokens = lhs.split()
    normalized = [tokens[0].split("#", 1)[0]] if tokens else []
    normalized += [t for t in map(_normalized_token, tokens[1:]) if t is not None]
    normalized += ["=", rhs.strip().replace("<", " ").replace(">", "")]
    return zlib.crc32(" ".join(" ".join(normalized).split()).encode("ascii"))


_type_cache: dict[tuple[str, tuple[str, ...]], TypeExpr] = {}


def parse_type(text: str, generics: tuple[str, ...] = ()) -> TypeExpr:
    """Parse a field or result type such as `Vector<User>`, `vector<%Message>`, `!X`."""
    key = (text, generics)
    cached = _type_cache.get(key)
    if cached is None:
        cached = _type_cache[key] = _parse_type_uncached(text.strip(), generics)
    return cached


def _parse_type_uncached(text: str, generics: tuple[str, ...]) -> TypeExpr:
    if text.startswith("!"):
        name = text[1:]
        if name not in generics:
            raise SchemaError(f"!{name} refers to no {{{name}:Type}} parameter")
        return TypeExpr(name, generic_query=True)
    if text.startswith("%"):
        inner = parse_type(text[1:], generics)
        return TypeExpr(inner.name, inner.arg, bare=True)
    if "<" in text:
        if not text.endswith(">"):
            raise SchemaError(f"unbalanced <> in type {text!r}")
        outer, inner = text[:-1].split("<", 1)
        if outer not in ("Vector", "vector"):
            raise SchemaError(f"only Vector<T> and vector<T> take a parameter, got {text!r}")
        return TypeExpr(outer, parse_type(inner, generics), bare=outer == "vector")
    if text in ("Vector", "vector"):
        raise SchemaError(f"{text} needs an element type: {text}<T>")
    if text == "#" or text in generics or text in BASE_TYPES:
        return TypeExpr(text)
    if not _is_identifier(text, dotted=True):
        raise SchemaError(f"not a type: {text!r}")
    short = text.rsplit(".", 1)[-1]
    # A lowercase name other than the base types names a constructor: a bare type.
    return TypeExpr(text, bare=short[:1].islower() and text != "true")


_param_cache: dict[tuple[str, tuple[str, ...]], Param] = {}


def _parse_param(token: str, generics: tuple[str, ...], flag_words: set[str]) -> Param:
    # The same field text recurs hundreds of times in api.tl (`flags:#`, `id:long`, ...).
    param = _param_cache.get((token, generics))
    if param is None:
        param = _param_cache[token, generics] = _parse_param_uncached(token, generics)
    word = param[2]
    if word is not None and word not in flag_words:
        raise SchemaError(
            f"{param[0]} is conditional on {word!r}, which is not an earlier # field"
        )
    if param[1][0] == "#":
        flag_words.add(param[0])
    return param


def _parse_param_uncached(token: str, generics: tuple[str, ...]) -> Param:
    name, sep, type_text = token.partition(":")
    if not sep or not name or not type_text:
        raise SchemaError(f"field {token!r} is not name:type")
    # The name becomes a Python attribute and keyword argument of the generated class.
    if not _is_identifier(name):
        raise SchemaError(f"field name {name!r} is not an identifier")
    if "?" in type_text:
        condition, type_text = type_text.split("?", 1)
        word, dot, bit = condition.partition(".")
        # isdigit() alone would let "²" through to int().
        if not dot or not (bit.isascii() and bit.isdigit()):
            raise SchemaError(f"condition {condition!r} is not flags.N")
        if not 0 <= int(bit) <= 31:
            raise SchemaError(f"flag bit {bit} is out of 0..31")
        type_expr = parse_type(type_text, generics)
        if type_expr.name == "#":
            # A flag word is read before the fields it guards; one that may be absent would
            # leave those fields without a word to test.
            raise SchemaError(f"flag word {name} cannot itself be conditional")
        return Param(name, type_expr, word, int(bit))
    return Param(name, parse_type(type_text, generics))


def _parse_declaration(line: str, line_number: int, is_function: bool) -> Definition | None:
    body = line.split("//", 1)[0].strip()
    if not body.endswith(";"):
        raise SchemaError(f"line {line_number}: declaration does not end with ';': {line}")
    body = body[:-1].strip()
    lhs, eq, rhs = body.partition("=")
    if not eq or not rhs.strip():
        raise SchemaError(f"line {line_number}: no '= Type' in: {line}")
    tokens = lhs.split()
    if not tokens:
        raise SchemaError(f"line {line_number}: no constructor name in: {line}")
    try:
        name, hex_id = _split_header(tokens[0])
    except SchemaError as exc:
        raise SchemaError(f"line {line_number}: {exc}: {line}") from None
    if hex_id is None:
        # Built-in pseudo-declarations and tdesktop-internal lines never travel on the wire.
        return None
    generics: list[str] = []
    params: list[Param] = []
    flag_words: set[str] = set()
    normalized = [name]  # the line as the id's CRC32 sees it (PROTOCOL.md 2.3)
    for token in tokens[1:]:
        lexeme = _normalized_token(token)
        if lexeme is not None:
            normalized.append(lexeme)
        if token.startswith("{"):
            generic = token[1:-1].split(":", 1)[0]
            if not token.endswith("}") or token[1:-1] != generic + ":Type":
                raise SchemaError(f"line {line_number}: bad generic {token!r}: {line}")
            if not _is_identifier(generic):
                raise SchemaError(
                    f"line {line_number}: generic name {generic!r} is not an identifier: {line}"
                )
            generics.append(generic)
            continue
        try:
            params.append(_parse_param(token, tuple(generics), flag_words))
        except SchemaError as exc:
            raise SchemaError(f"line {line_number}: {exc}: {line}") from None
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise SchemaError(f"line {line_number}: duplicate field name in: {line}")
    try:
        result = parse_type(rhs.strip(), tuple(generics))
    except SchemaError as exc:
        raise SchemaError(f"line {line_number}: {exc}: {line}") from None
    return Definition(
        name=name,
        id=int(hex_id, 16),
        params=tuple(params),
        result=TypeExpr(result.name, result.arg) if result.generic_query else result,
        is_function=is_function,
        generics=tuple(generics),
        computed_id=zlib.crc32(
            " ".join(normalized + ["=", rhs.strip().replace("<", " ").replace(">", "")]).encode()
        ),
        line=line.strip(),
        line_number=line_number,
    )


def parse_schema(text: str) -> ParsedSchema:
    """Parse a whole .tl file. Id mismatches are collected, not raised: the explicit id wins."""
    definitions: list[Definition] = []
    mismatches: list[IdMismatch] = []
    layer = None
    is_function = False
    pending = ""  # a declaration may span several lines
    pending_start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending:
            words = stripped.split()
            if (
                len(words) == 3
                and words[:2] == ["//", "LAYER"]
                and words[2].isascii()
                and words[2].isdigit()
            ):
                layer = int(words[2])
                continue
            if not stripped or stripped.startswith("//"):
                continue
            if stripped == "---functions---":
                is_function = True
                continue
            if stripped == "---types---":
                is_function = False
                continue
            if stripped.startswith("---"):
                raise SchemaError(f"line {number}: unknown section marker {stripped!r}")
            pending_start = number
        pending = f"{pending} {stripped}".strip() if pending else stripped
        if not pending.split("//", 1)[0].rstrip().endswith(";"):
            continue
        declaration, pending = pending, ""
        if declaration.split(None, 1)[0].split("#", 1)[0] in _BUILTIN_NAMES:
            continue
        definition = _parse_declaration(declaration, pending_start, is_function)
        if definition is None:
            continue
        if definition.computed_id != definition.id:
            mismatches.append(
                IdMismatch(pending_start, definition.line, definition.id, definition.computed_id)
            )
        definitions.append(definition)
    if pending:
        raise SchemaError(f"line {pending_start}: unterminated declaration: {pending}")
    return ParsedSchema(definitions, mismatches, layer)
