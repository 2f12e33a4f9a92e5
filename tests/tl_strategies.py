"""Build TL objects of any constructor generically, by walking its compiled plan.

Shared by the property, fuzz and full-schema tests. The walk is written once against a small
`Source` interface (where the values come from): `HypothesisSource` draws them from Hypothesis
(so failures shrink), `RandomSource` takes them from a seeded `random.Random` (one deterministic
object per constructor for the ~2,500 of the full schema).

Plans are read through their public attributes only (`fields`, `type_id`, `is_function`, `cls`),
so the same code builds objects for the compiled codec and for the twin.
"""

from __future__ import annotations

import math
import random
import struct
from typing import Any, Iterable, Sequence

from hypothesis import strategies as st

from tlcodec._runtime import codec as kinds  # the K_* numbers (the same in both implementations)

from support import GZIP_PACKED_ID

K_INT, K_LONG, K_DOUBLE = kinds.K_INT, kinds.K_LONG, kinds.K_DOUBLE
K_INT128, K_INT256 = kinds.K_INT128, kinds.K_INT256
K_STRING, K_BYTES, K_BOOL, K_TRUE, K_FLAGS = (
    kinds.K_STRING,
    kinds.K_BYTES,
    kinds.K_BOOL,
    kinds.K_TRUE,
    kinds.K_FLAGS,
)
K_BOXED, K_QUERY, K_BARE = kinds.K_BOXED, kinds.K_QUERY, kinds.K_BARE
K_VECTOR, K_BARE_VECTOR = kinds.K_VECTOR, kinds.K_BARE_VECTOR

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1
LONG_MIN, LONG_MAX = -(1 << 63), (1 << 63) - 1
_INFINITE = float("inf")


# --------------------------------------------------------------------------------------------
# Where values come from


class HypothesisSource:
    """Values drawn from Hypothesis inside an `st.composite` (failures shrink field by field)."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def double(self) -> float:
        # inf and nan included: nan != nan, so tests compare encodings (see `same_tl`).
        return self.draw(st.floats())

    def blob(self, size: int | None = None) -> bytes:
        if size is not None:
            return self.draw(st.binary(min_size=size, max_size=size))
        # Both length forms: short (<= 253) and, now and then, the 0xfe long form just past the
        # boundary (rarely: long values make every other check on the object slower).
        if self.draw(st.integers(0, 7)) == 0:
            return self.draw(st.binary(min_size=250, max_size=262))
        return self.draw(st.binary(max_size=12))

    def text(self) -> str:
        # Any code point that UTF-8 can encode (no lone surrogates); long ones cross 253 bytes.
        if self.draw(st.integers(0, 7)) == 0:
            return self.draw(st.text(min_size=250, max_size=260))
        return self.draw(st.text(max_size=10))

    def boolean(self) -> bool:
        return self.draw(st.booleans())

    def present(self) -> bool:
        return self.draw(st.booleans())

    def length(self) -> int:
        return self.draw(st.integers(0, 3))

    def pick(self, options: Sequence[Any]) -> Any:
        return self.draw(st.sampled_from(options))


class RandomSource:
    """Deterministic values from a seeded generator; optional fields all present or all absent."""

    def __init__(self, rng: random.Random, optional_present: bool) -> None:
        self.rng = rng
        self.optional_present = optional_present

    def integer(self, lo: int, hi: int) -> int:
        # Mostly the edges, where sign and width mistakes show.
        return self.rng.choice((lo, hi, 0, -1 if lo < 0 else 1, self.rng.randint(lo, hi)))

    def double(self) -> float:
        return self.rng.choice((0.0, -0.0, 1.5, -2.25e300, 5e-324, _INFINITE, self.rng.random()))

    def blob(self, size: int | None = None) -> bytes:
        if size is None:
            size = self.rng.choice((0, 1, 3, 4, 253, 254, 255, 300))
        return self.rng.randbytes(size)

    def text(self) -> str:
        return self.rng.choice(("", "a", "héllo", "日本語テキスト", "😀" * 64, "x" * 254))

    def boolean(self) -> bool:
        return self.rng.random() < 0.5

    def present(self) -> bool:
        return self.optional_present

    def length(self) -> int:
        return self.rng.randint(1, 2)

    def pick(self, options: Sequence[Any]) -> Any:
        return self.rng.choice(options)


# --------------------------------------------------------------------------------------------
# The walk


class Builder:
    """Builds objects of a schema's classes from their plans, nesting bounded by `max_depth`.

    Past `max_depth` every nested value takes its cheapest form (optional fields absent, vectors
    empty, the constructor that needs the fewest nested levels), so the walk always ends.
    """

    def __init__(self, classes: Iterable[type], max_depth: int = 3) -> None:
        self.max_depth = max_depth
        self.plans = [cls.__tl_plan__ for cls in classes]
        self.strategies: dict[int, Any] = {}  # objects_of(), by id of the plan (kept alive here)
        self.functions = [p for p in self.plans if p.is_function]
        # gzip_packed in an Object position is inflated on decode, and random bytes are no gzip
        # stream: nested Objects never pick it (its own round trip decodes it exactly).
        self.objects = [
            p for p in self.plans if not p.is_function and p.constructor_id != GZIP_PACKED_ID
        ]
        self.by_type: dict[int, list[Any]] = {}
        for plan in self.plans:
            if not plan.is_function:
                self.by_type.setdefault(plan.type_id, []).append(plan)
        self._depth_needed = self._cheapest_depths()
        # Constructors that cannot be built from this builder's classes (a field of a type none
        # of whose constructors it has, as where the classes are those an oracle shares with a
        # schema): never chosen, and fields of types left with no constructor stay empty.
        self.unbuildable = [p for p in self.plans if self._depth_needed[id(p)] == _INFINITE]
        if self.unbuildable:
            self.functions = [p for p in self.functions if p not in self.unbuildable]
            self.objects = [p for p in self.objects if p not in self.unbuildable]
            for type_id, candidates in list(self.by_type.items()):
                self.by_type[type_id] = [p for p in candidates if p not in self.unbuildable]
        self._blocked_flags: dict[int, set[tuple[int, int]]] = {}
        # Cheapest first: Hypothesis shrinks a choice towards the first option, so the smallest
        # example of a `query:!X` or `Object` field is a flat object, not a nested call.
        for candidates in (self.functions, self.objects, *self.by_type.values()):
            candidates.sort(key=lambda p: self._depth_needed[id(p)])

    # How many nested levels each constructor needs at least: a fixed point over the schema.
    def _cheapest_depths(self) -> dict[int, float]:
        needed: dict[int, float] = {id(p): _INFINITE for p in self.plans}
        changed = True
        while changed:
            changed = False
            for plan in self.plans:
                cost = 0.0
                for _attr, spec, flag_index, _mask, _slot in plan.fields:
                    if flag_index < 0:
                        cost = max(cost, self._spec_depth(spec, needed))
                if cost < needed[id(plan)]:
                    needed[id(plan)] = cost
                    changed = True
        return needed

    def _spec_depth(self, spec: Any, needed: dict[int, float]) -> float:
        kind = spec.kind
        if kind in (K_VECTOR, K_BARE_VECTOR) or kind < K_BOXED:
            return 0.0  # base values, and vectors (which may be empty)
        if kind == K_BARE:
            return needed[id(spec.plan)]
        # A type none of whose constructors this builder has (not in the oracle) never fits.
        return 1 + min((needed[id(p)] for p in self._candidates(spec)), default=_INFINITE)

    def _candidates(self, spec: Any) -> list[Any]:
        if spec.kind == K_QUERY:
            return self.functions
        if spec.kind == K_BOXED and spec.type_id >= 0:
            return self.by_type.get(spec.type_id, [])
        return self.objects

    def can_make(self, spec: Any) -> bool:
        """Whether a value of `spec` can be made (a vector always can: it may be empty)."""
        if spec.kind in (K_VECTOR, K_BARE_VECTOR) or spec.kind < K_BOXED:
            return True
        if spec.kind == K_BARE:
            return self._depth_needed[id(spec.plan)] < _INFINITE
        return bool(self._candidates(spec))

    def _blocked(self, plan: Any) -> set[tuple[int, int]]:
        """The flag bits of `plan` that must stay unset: one of their fields cannot be made."""
        blocked = self._blocked_flags.get(id(plan))
        if blocked is None:
            blocked = self._blocked_flags[id(plan)] = {
                (flag_index, mask)
                for _attr, spec, flag_index, mask, _slot in plan.fields
                if flag_index >= 0 and not self.can_make(spec)
            }
        return blocked

    def _choose(self, candidates: list[Any], source: Any, depth: int) -> Any:
        if depth >= self.max_depth:
            cheapest = min(self._depth_needed[id(p)] for p in candidates)
            candidates = [p for p in candidates if self._depth_needed[id(p)] == cheapest]
        return source.pick(candidates)

    def object(self, plan: Any, source: Any, depth: int = 0) -> Any:
        """An instance of `plan.cls` with every field filled from `source`."""
        shallow = depth >= self.max_depth
        # Fields sharing a flag bit must be set together: presence is decided per bit.
        groups: dict[tuple[int, int], bool] = dict.fromkeys(self._blocked(plan), False)
        values: dict[str, Any] = {}
        for attr, spec, flag_index, mask, _slot in plan.fields:
            if spec.kind == K_FLAGS:
                continue
            if flag_index >= 0:
                key = (flag_index, mask)
                if key not in groups:
                    groups[key] = False if shallow else source.present()
                if spec.kind == K_TRUE:
                    values[attr] = groups[key]
                    continue
                if not groups[key]:
                    values[attr] = None
                    continue
            values[attr] = self.value(spec, source, depth + 1)
        return plan.cls(**values)

    def value(self, spec: Any, source: Any, depth: int) -> Any:
        kind = spec.kind
        if kind == K_INT:
            return source.integer(INT_MIN, INT_MAX)
        if kind == K_LONG:
            return source.integer(LONG_MIN, LONG_MAX)
        if kind == K_DOUBLE:
            return source.double()
        if kind == K_INT128:
            return source.blob(16)
        if kind == K_INT256:
            return source.blob(32)
        if kind == K_STRING:
            return source.text()
        if kind == K_BYTES:
            return source.blob()
        if kind == K_BOOL:
            return source.boolean()
        if kind in (K_VECTOR, K_BARE_VECTOR):
            shallow = depth >= self.max_depth or not self.can_make(spec.elem)
            count = 0 if shallow else source.length()
            return [self.value(spec.elem, source, depth + 1) for _ in range(count)]
        if kind == K_BARE:
            return self.object(spec.plan, source, depth)
        if kind in (K_BOXED, K_QUERY):
            return self.object(self._choose(self._candidates(spec), source, depth), source, depth)
        raise AssertionError(f"no generator for kind {kind} ({spec.name})")


def objects_of(builder: Builder, plan: Any) -> st.SearchStrategy[Any]:
    """A Hypothesis strategy for instances of one constructor or function (made once: Hypothesis
    inspects the source of every new composite strategy, which costs more than drawing)."""
    strategy = builder.strategies.get(id(plan))
    if strategy is None:

        @st.composite
        def build(draw: Any) -> Any:
            return builder.object(plan, HypothesisSource(draw))

        strategy = builder.strategies[id(plan)] = build()
    return strategy


def any_object(builder: Builder) -> st.SearchStrategy[Any]:
    """A Hypothesis strategy for an instance of any constructor or function of the schema
    except gzip_packed (whose random body would be inflated wherever an object is decoded)."""
    plans = builder.objects + builder.functions  # the buildable ones
    return st.one_of([objects_of(builder, plan) for plan in plans])


# --------------------------------------------------------------------------------------------
# Comparing decoded values


def same_tl(a: Any, b: Any) -> bool:
    """Deep equality that also checks exact Python types and compares floats bit for bit.

    `==` would call nan unequal to itself and -0.0 equal to 0.0; the wire tells them apart.
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_tl(x, y) for x, y in zip(a, b))
    plan = getattr(type(a), "__tl_plan__", None)
    if plan is not None:
        return all(same_tl(getattr(a, attr), getattr(b, attr)) for attr in plan.attrs)
    return a == b


def has_nan(value: Any) -> bool:
    """Whether a nan hides anywhere in a value (where `==` cannot be used)."""
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, list):
        return any(has_nan(v) for v in value)
    plan = getattr(type(value), "__tl_plan__", None)
    if plan is not None:
        return any(has_nan(getattr(value, attr)) for attr in plan.attrs)
    return False
