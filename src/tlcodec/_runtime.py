"""The one place that decides, for each accelerated part, whether its compiled module or its
pure-Python code runs, and remembers why (docs/ARCHITECTURE.md, "Compiled or plain").

Parts: the codec (`_codec`, twin `_codec_py`), the message cipher (`_mtcrypto`, plain
`crypto.PythonMessageCipher`), and the Cython builds of the sessions and of connection.py
(`_session_c`, `_connection_c`, whose plain code is the .py file itself; the builds of
mtproto/client_session.py and server_session.py cimport `_session_c`, and `_connection_c`
cimports the builds of client/calls.py and client/_plumbing.py).

- TLCODEC_NO_EXTENSIONS=1 runs every part's plain code; a comma-separated list of part names
  (`TLCODEC_NO_EXTENSIONS=cipher,session`) runs only those plain.
- A compiled module that exists but cannot be loaded (an import error, a stale build in a source
  tree, a cipher with no usable libcrypto) is not used, with a RuntimeWarning saying why.
- TLCODEC_REQUIRE_EXTENSIONS=1 turns every part that should be compiled and is not into an
  ImportError: a build that lost its extensions fails loudly (CI sets it).

The twin has a different module name so that a failed build can never hide behind it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import warnings
from collections.abc import Iterable
from types import ModuleType

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: `import tlcodec` should not import typing
if TYPE_CHECKING:
    from typing import Any

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class Part:
    """One accelerated part: its compiled module, its plain code, what it is built from."""

    __slots__ = ("compiled_module", "plain_module", "sources", "not_built_on", "cimported",
                 "plain_companions")

    def __init__(
        self,
        compiled_module: str,
        plain_module: str,
        sources: tuple[str, ...],  # what the compiled module is built from (package-relative)
        not_built_on: tuple[str, ...] = (),  # the values of sys.platform where setup.py skips it
        # The part's other compiled modules, which the compiled module cimports (and so loads):
        # (module, its sources) each. They run exactly when the compiled module does.
        cimported: tuple[tuple[str, tuple[str, ...]], ...] = (),
        # The plain modules whose classes the compiled modules replace, besides `plain_module`.
        plain_companions: tuple[str, ...] = (),
    ) -> None:
        self.compiled_module = compiled_module
        self.plain_module = plain_module
        self.sources = sources
        self.not_built_on = not_built_on
        self.cimported = cimported
        self.plain_companions = plain_companions

    @property
    def built_on_this_platform(self) -> bool:
        return sys.platform not in self.not_built_on


# Literal data: tools/check_dist.py reads this table from the file to check wheels.
PARTS: dict[str, Part] = {
    "codec": Part("tlcodec._codec", "tlcodec._codec_py", ("_codec.pyx",)),
    # Windows has no dlopen, which the compiled cipher finds libcrypto with (setup.py).
    "cipher": Part("tlcodec._mtcrypto", "tlcodec.crypto", ("_mtcrypto.pyx",), ("win32",)),
    # The sessions' compiled build is three modules: the shared core (session.py) and the two
    # roles on top of it, which cimport it.
    "session": Part("tlcodec.mtproto._session_c", "tlcodec.mtproto.session",
                    ("mtproto/session.py", "mtproto/_session_c.pxd"),
                    cimported=(
                        ("tlcodec.mtproto._client_session_c",
                         ("mtproto/client_session.py", "mtproto/_client_session_c.pxd",
                          "mtproto/_session_c.pxd")),
                        ("tlcodec.mtproto._server_session_c",
                         ("mtproto/server_session.py", "mtproto/_server_session_c.pxd",
                          "mtproto/_session_c.pxd")),
                    ),
                    plain_companions=("tlcodec.mtproto.client_session",
                                      "tlcodec.mtproto.server_session")),
    # DcConnection's compiled build is three modules: its base class (calls.py) and the loop
    # plumbing (_plumbing.py) are cimported, so their calls to each other stay C calls.
    "connection": Part("tlcodec.client._connection_c", "tlcodec.client.connection",
                       ("client/connection.py", "client/_connection_c.pxd",
                        "client/_calls_c.pxd", "client/_plumbing_c.pxd"),
                       cimported=(
                           ("tlcodec.client._calls_c",
                            ("client/calls.py", "client/_calls_c.pxd", "client/_plumbing_c.pxd")),
                           ("tlcodec.client._plumbing_c",
                            ("client/_plumbing.py", "client/_plumbing_c.pxd")),
                       ),
                       plain_companions=("tlcodec.client.calls", "tlcodec.client._plumbing")),
}


class Acceleration:
    """What runs for one part: `compiled` (also the truth value), `module` (the module whose code
    runs) and `why_not` (None when compiled)."""

    __slots__ = ("compiled", "module", "part", "why_not")

    def __init__(self, part: str, compiled: bool, module: str, why_not: str | None) -> None:
        self.part = part
        self.compiled = compiled
        self.module = module
        self.why_not = why_not

    def __bool__(self) -> bool:
        return self.compiled

    def __repr__(self) -> str:
        if self.compiled:
            return f"<{self.part}: compiled ({self.module})>"
        return f"<{self.part}: plain ({self.module}): {self.why_not}>"


def _switch(name: str) -> str:
    value = os.environ.get(name, "").strip().lower()
    return "" if value in ("", "0", "false", "no") else value


def _plain_parts() -> frozenset[str]:
    value = _switch("TLCODEC_NO_EXTENSIONS")
    if not value:
        return frozenset()
    if value in ("1", "true", "yes", "all"):
        return frozenset(PARTS)
    names = {name.strip() for name in value.split(",") if name.strip()}
    unknown = names - PARTS.keys()
    if unknown:
        warnings.warn(f"TLCODEC_NO_EXTENSIONS names no part {sorted(unknown)} (the parts: "
                      f"{', '.join(PARTS)}); ignored", RuntimeWarning, stacklevel=3)
    return frozenset(names & PARTS.keys())


PLAIN_REQUESTED: frozenset[str] = _plain_parts()
"""The parts TLCODEC_NO_EXTENSIONS asks to run plain."""
REQUIRE_EXTENSIONS: bool = bool(_switch("TLCODEC_REQUIRE_EXTENSIONS"))

_decided: dict[str, tuple[Acceleration, ModuleType | None]] = {}


def _stale_build(part: Part, spec: Any) -> str | None:
    """In a source tree (the sources beside the built modules; wheels carry no .pyx or .pxd), a
    built module older than one of its sources was built from other code: why, or None."""
    builds = [(spec.origin, part.sources)]
    for module, sources in part.cimported:
        cimported = importlib.util.find_spec(module)
        if cimported is not None:  # absent: importing the compiled module says so
            builds.append((cimported.origin, sources))
    for built, sources in builds:
        stale = _stale_module(built, sources)
        if stale is not None:
            return stale
    return None


def _stale_module(built: str | None, module_sources: tuple[str, ...]) -> str | None:
    sources = [os.path.join(_PACKAGE_DIR, *source.split("/")) for source in module_sources]
    markers = [source for source in sources if source.endswith((".pyx", ".pxd"))]
    if not built or not all(os.path.exists(marker) for marker in markers):
        return None
    built_time = os.stat(built).st_mtime
    newer = [os.path.basename(source) for source in sources
             if os.path.exists(source) and os.stat(source).st_mtime > built_time]
    if newer:
        return (f"{os.path.basename(built)} is older than {', '.join(newer)} "
                f"(rebuild it: pip install -e .)")
    return None


def _load(name: str) -> tuple[Acceleration, ModuleType | None]:
    part = PARTS[name]
    if name in PLAIN_REQUESTED:
        return Acceleration(name, False, part.plain_module, "TLCODEC_NO_EXTENSIONS asks for it"), None
    spec = importlib.util.find_spec(part.compiled_module)
    if spec is None:  # absent: an install without a compiler, or a platform it is not built on
        if not part.built_on_this_platform:
            return Acceleration(name, False, part.plain_module, f"not built on {sys.platform}"), None
        absent = f"{part.compiled_module} is not built (installed without it)"
        if REQUIRE_EXTENSIONS:
            raise ImportError(_required(name, absent))
        return Acceleration(name, False, part.plain_module, absent), None
    module, failure = _usable(part, spec)
    if module is not None:
        return Acceleration(name, True, part.compiled_module, None), module
    # There but unusable: never silently.
    if REQUIRE_EXTENSIONS:
        raise ImportError(_required(name, failure))
    warnings.warn(f"tlcodec runs its pure-Python {name}, several times slower: {failure}",
                  RuntimeWarning, stacklevel=4)
    return Acceleration(name, False, part.plain_module, failure), None


def _usable(part: Part, spec: Any) -> tuple[ModuleType | None, str]:
    """The compiled module, or None and why it cannot be used."""
    stale = _stale_build(part, spec)
    if stale is not None:
        return None, stale
    try:
        module = importlib.import_module(part.compiled_module)
    except ImportError as error:
        return None, f"{part.compiled_module} cannot be loaded: {error}"
    # A module that loads but cannot work here says why in LOAD_ERROR (the cipher without a
    # usable libcrypto).
    load_error = getattr(module, "LOAD_ERROR", None)
    if load_error is not None:
        return None, f"{part.compiled_module}: {load_error}"
    return module, ""


def _required(name: str, why_not: str) -> str:
    return (f"tlcodec's compiled {name} is required (TLCODEC_REQUIRE_EXTENSIONS=1) but does not "
            f"run: {why_not}")


def compiled_module(name: str) -> ModuleType | None:
    """The compiled module of part `name` if it is the one to run, else None (decided once)."""
    if name in _loading_plain:
        return None
    if name not in _decided:
        _decided[name] = _load(name)
    return _decided[name][1]


def acceleration(name: str) -> Acceleration:
    """What runs for part `name` (deciding it now if no module asked yet)."""
    compiled_module(name)
    return _decided[name][0]


def adopt_compiled_build(namespace: dict[str, Any], part: str, names: Iterable[str],
                         from_module: str | None = None) -> None:
    """Replace `names` in a plain module's namespace by those of the part's compiled build (the
    same source compiled by Cython with the C types of its .pxd), when that build runs:
    the compiled module's, or `from_module`'s (one the part cimports).
    The caller checks that it is the plain module (its `__name__`), so that the compiled build,
    running the same lines, does not import itself."""
    compiled = compiled_module(part)
    if compiled is not None:
        if from_module is not None:
            compiled = importlib.import_module(from_module)
        namespace.update((name, getattr(compiled, name)) for name in names)


_loading_plain: set[str] = set()


def plain_build(name: str) -> dict[str, ModuleType]:
    """Part `name`'s pure-Python modules by name, loaded afresh with their own classes even where
    the compiled build runs (the twin that tests and fuzzers compare the compiled build with).
    The package's own modules are left as they were."""
    part = PARTS[name]
    names = (part.plain_module, *part.plain_companions)
    kept = {module: sys.modules.pop(module) for module in names if module in sys.modules}
    for module in kept:  # else `from . import session` would find the package's own
        package, _, attribute = module.rpartition(".")
        vars(sys.modules[package]).pop(attribute, None)
    _loading_plain.add(name)
    try:
        return {module: importlib.import_module(module) for module in names}
    finally:
        _loading_plain.discard(name)
        for module in names:
            sys.modules.pop(module, None)
        sys.modules.update(kept)
        # An import also binds the module in its package: bind the package's own again.
        for module, kept_module in kept.items():
            package, _, attribute = module.rpartition(".")
            setattr(sys.modules[package], attribute, kept_module)


if TYPE_CHECKING:  # both implementations have the API that _codec.pyi describes
    from . import _codec as codec
    from ._codec import TLObject, TLRequest
else:
    codec = compiled_module("codec") or importlib.import_module("tlcodec._codec_py")
    TLObject = codec.TLObject
    TLRequest = codec.TLRequest

IS_COMPILED: bool = codec.IS_COMPILED


__all__ = ["IS_COMPILED", "PARTS", "PLAIN_REQUESTED", "REQUIRE_EXTENSIONS", "Acceleration",
           "TLObject", "TLRequest", "acceleration", "adopt_compiled_build", "codec",
           "compiled_module", "plain_build"]
