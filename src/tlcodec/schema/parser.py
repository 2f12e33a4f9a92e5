"""TL schema text -> definitions, with every constructor id checked against its line.

Owns the TL *language* (PROTOCOL.md section 2, core.telegram.org/mtproto/TL): comments, the
`---functions---`/`---types---` sections, flag words and conditional fields, `Vector<T>`,
bare `vector<T>` and `%T`, generics `{X:Type}` with `!X`, and `// LAYER N`. It knows nothing of
the binary codec; `tlcodec.schema.plans` turns definitions into codec plans.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from typing import NamedTuple

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


class SchemaError(ValueError):
    """A schema line that cannot be understood; the message names the line."""


class TypeExpr(NamedTuple):
    """A type as written in a field: `int`, `auth.Authorization`, `Vector<long>`, `%Message`, `!X`."""

    name: str  # "int", "Vector", "vector", "User", "auth.Authorization", "message", "X", "#", "true"
    arg: TypeExpr | None = None  # the element type of Vector/vector
    bare: bool = False  # written `%T`, or a lowercase constructor name used as a type
    generic_query: bool = False  # `!X`: a whole boxed function call

    def __str__(self) -> str:
        if self.generic_query:
            return "!" + self.name
        if self.arg is not None:
            return f"{self.name}<{self.arg}>"
        return ("%" if self.bare and not self.name[:1].islower() else "") + self.name


class Param(NamedTuple):
    """One field of a declaration, in wire order."""

    name: str
    type: TypeExpr
    flag_word: str | None = None  # "flags" or "flags2" for a conditional field
    flag_bit: int = -1

    @property
    def is_flag_word(self) -> bool:
        return self.type.name == "#"


@dataclass(frozen=True)
class Definition:
    """One constructor or function declaration."""

    name: str  # "auth.loginToken"
    id: int  # the explicit #id from the line (always trusted over the computed one)
    params: tuple[Param, ...]
    result: TypeExpr  # "auth.LoginToken", "X", "Vector<User>"
    is_function: bool
    generics: tuple[str, ...] = ()  # names bound by {X:Type}
    computed_id: int = 0  # CRC32 of the normalized line
    line: str = field(default="", compare=False)
    line_number: int = field(default=0, compare=False)

    @property
    def namespace(self) -> str | None:
        return self.name.rsplit(".", 1)[0] if "." in self.name else None

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class IdMismatch:
    """An explicit id that differs from the CRC32 of its line."""

    line_number: int
    line: str
    explicit: int
    computed: int

    def __str__(self) -> str:
        return (
            f"line {self.line_number}: explicit id {self.explicit:#010x} but the line hashes to "
            f"{self.computed:#010x}: {self.line}"
        )


@dataclass
class ParsedSchema:
    definitions: list[Definition]
    mismatches: list[IdMismatch]
    layer: int | None


_TRUE_FLAG_FIELD = re.compile(r" [A-Za-z_][\w]*:[A-Za-z_]\w*\.\d+\?true(?=\s|$)")
_BYTES_FIELD = re.compile(r"(:|\?)bytes(?=\s|$)")
_LAYER = re.compile(r"^//\s*LAYER\s+(\d+)\s*$")
_HEADER = re.compile(r"^([A-Za-z_][\w.]*)(?:#([0-9a-fA-F]{1,8}))?(?=\s|$)")
_TYPE_NAME = re.compile(r"^(?:[A-Za-z_]\w*\.)?[A-Za-z_]\w*$")


def compute_id(line: str) -> int:
    """CRC32 of the normalized declaration (PROTOCOL.md section 2.3, steps 1-7)."""
    text = line.split("//", 1)[0].strip().rstrip(";").strip()
    text = re.sub(r"^([\w.]+)#[0-9a-fA-F]+", r"\1", text)
    text = _TRUE_FLAG_FIELD.sub("", text)
    text = _BYTES_FIELD.sub(r"\1string", text)
    text = text.replace("<", " ").replace(">", "").replace("{", "").replace("}", "")
    text = " ".join(text.split())
    return zlib.crc32(text.encode("ascii"))


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
    if text == "#" or text in generics or text in BASE_TYPES:
        return TypeExpr(text)
    if not _TYPE_NAME.match(text):
        raise SchemaError(f"not a type: {text!r}")
    short = text.rsplit(".", 1)[-1]
    # A lowercase name other than the base types names a constructor: a bare type.
    return TypeExpr(text, bare=short[:1].islower() and text != "true")


def _parse_param(token: str, generics: tuple[str, ...], flag_words: set[str]) -> Param:
    name, sep, type_text = token.partition(":")
    if not sep or not name or not type_text:
        raise SchemaError(f"field {token!r} is not name:type")
    if "?" in type_text:
        condition, type_text = type_text.split("?", 1)
        word, dot, bit = condition.partition(".")
        if not dot or not bit.isdigit():
            raise SchemaError(f"condition {condition!r} is not flags.N")
        if word not in flag_words:
            raise SchemaError(f"{name} is conditional on {word!r}, which is not an earlier # field")
        if not 0 <= int(bit) <= 31:
            raise SchemaError(f"flag bit {bit} is out of 0..31")
        return Param(name, parse_type(type_text, generics), word, int(bit))
    param = Param(name, parse_type(type_text, generics))
    if param.is_flag_word:
        flag_words.add(name)
    return param


def _parse_declaration(line: str, line_number: int, is_function: bool) -> Definition | None:
    body = line.split("//", 1)[0].strip()
    if not body.endswith(";"):
        raise SchemaError(f"line {line_number}: declaration does not end with ';': {line}")
    body = body[:-1].strip()
    lhs, eq, rhs = body.partition("=")
    if not eq or not rhs.strip():
        raise SchemaError(f"line {line_number}: no '= Type' in: {line}")
    header = _HEADER.match(lhs.strip())
    if header is None:
        raise SchemaError(f"line {line_number}: no constructor name in: {line}")
    name, hex_id = header.group(1), header.group(2)
    if hex_id is None:
        # Built-in pseudo-declarations and tdesktop-internal lines never travel on the wire.
        return None
    generics: list[str] = []
    params: list[Param] = []
    flag_words: set[str] = set()
    normalized = [name]  # the line as the id's CRC32 sees it (PROTOCOL.md 2.3)
    for token in lhs.strip()[header.end():].split():
        if token.endswith("?true"):
            pass  # flag-only booleans do not count towards the id
        elif token.endswith(":bytes") or token.endswith("?bytes"):
            normalized.append(token[:-5] + "string")
        else:
            normalized.append(token.replace("<", " ").replace(">", "").strip("{}"))
        if token.startswith("{"):
            if not token.endswith("}") or not token[1:-1].endswith(":Type"):
                raise SchemaError(f"line {line_number}: bad generic {token!r}")
            generics.append(token[1:-1].split(":", 1)[0])
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
            " ".join(normalized + ["=", rhs.strip().replace("<", " ").replace(">", "")]).encode("ascii")
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
            match = _LAYER.match(stripped)
            if match:
                layer = int(match.group(1))
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
