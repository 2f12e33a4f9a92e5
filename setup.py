"""The compiled parts of tlcodec: the Cython codec, the message cipher, and the Cython builds of
the MTProto sessions (session.py, the core that client_session.py and server_session.py
cimport) and of connection.py (with calls.py and _plumbing.py, which it cimports). Everything
else is in pyproject.toml.

Each compiled part is optional, as in aiohttp, msgpack or yarl: where a part cannot be built (no C
compiler, a compiler error) or TLCODEC_NO_EXTENSIONS=1 is set at build time, the build goes on
without it, warns once, and the package runs that part's pure-Python code (tlcodec.ACCELERATED
reports what runs).
"""

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# Generated C stays in build/, out of the source tree and so out of every sdist and wheel.
CYTHON_BUILD_DIR = os.path.join("build", "cython")

if sys.platform == "win32":
    compile_args = ["/O2"]
else:
    # -g0 after Python's own CFLAGS (which carry -g): no debug info, the wheel's .so files are
    # a fifth of their size with it.
    compile_args = ["-O2", "-g0"]

extensions = [
    Extension("tlcodec._codec", ["src/tlcodec/_codec.pyx"], extra_compile_args=compile_args),
    # The Cython build of session.py: the same file compiled with the C types of
    # _session_c.pxd (Cython's pure-Python mode; the .pxd is found by the module's name), and
    # those of the two roles on top of it, which cimport it.
    Extension("tlcodec.mtproto._session_c", ["src/tlcodec/mtproto/session.py"],
              extra_compile_args=compile_args),
    Extension("tlcodec.mtproto._client_session_c", ["src/tlcodec/mtproto/client_session.py"],
              extra_compile_args=compile_args),
    Extension("tlcodec.mtproto._server_session_c", ["src/tlcodec/mtproto/server_session.py"],
              extra_compile_args=compile_args),
    # The DC connection (client side), built the same way from connection.py and
    # _connection_c.pxd, and its base class and plumbing, which it cimports.
    Extension("tlcodec.client._connection_c", ["src/tlcodec/client/connection.py"],
              extra_compile_args=compile_args),
    Extension("tlcodec.client._calls_c", ["src/tlcodec/client/calls.py"],
              extra_compile_args=compile_args),
    Extension("tlcodec.client._plumbing_c", ["src/tlcodec/client/_plumbing.py"],
              extra_compile_args=compile_args),
]
if sys.platform != "win32":
    # The MTProto message cipher over the libcrypto CPython already uses, found at import with
    # dlopen (no OpenSSL headers needed). Windows has no dlopen: there tlcodec.crypto runs the
    # Python cipher, as it does wherever this module cannot find a usable libcrypto.
    extensions.append(Extension(
        "tlcodec._mtcrypto", ["src/tlcodec/_mtcrypto.pyx"], extra_compile_args=compile_args,
        libraries=["dl"] if sys.platform.startswith("linux") else [],
    ))

# Cython rebuilds a C file when its source or a .pxd the source cimports changes, and for a .py
# source it watches the .pxd named after the file (session.pxd); these modules read the .pxd
# named after the module instead (_session_c.pxd), and the .pxd files that one cimports, which
# Cython's dependency scan does not see. A C file older than one of them is dropped here, so an
# edit of the C types rebuilds it.
MODULE_NAMED_PXD = {
    "src/tlcodec/mtproto/session.py": ("src/tlcodec/mtproto/_session_c.pxd",),
    "src/tlcodec/mtproto/client_session.py": ("src/tlcodec/mtproto/_client_session_c.pxd",
                                              "src/tlcodec/mtproto/_session_c.pxd"),
    "src/tlcodec/mtproto/server_session.py": ("src/tlcodec/mtproto/_server_session_c.pxd",
                                              "src/tlcodec/mtproto/_session_c.pxd"),
    "src/tlcodec/client/connection.py": ("src/tlcodec/client/_connection_c.pxd",
                                         "src/tlcodec/client/_calls_c.pxd",
                                         "src/tlcodec/client/_plumbing_c.pxd"),
    "src/tlcodec/client/calls.py": ("src/tlcodec/client/_calls_c.pxd",
                                    "src/tlcodec/client/_plumbing_c.pxd"),
    "src/tlcodec/client/_plumbing.py": ("src/tlcodec/client/_plumbing_c.pxd",),
}


def drop_c_files_older_than_their_pxd() -> None:
    for source, pxds in MODULE_NAMED_PXD.items():
        c_file = os.path.join(CYTHON_BUILD_DIR, os.path.splitext(source)[0] + ".c")
        if os.path.exists(c_file) and any(os.path.getmtime(c_file) < os.path.getmtime(pxd)
                                          for pxd in pxds):
            os.remove(c_file)


def cythonized(modules: list) -> list:
    from Cython.Build import cythonize

    drop_c_files_older_than_their_pxd()
    return cythonize(
        modules,
        build_dir=CYTHON_BUILD_DIR,
        compiler_directives={
            "language_level": "3",
            # Explicit length checks guard every read; these only drop Python-level list
            # index checks inside the interpreter, never checks on input bytes.
            "wraparound": False,
            "embedsignature": True,
        },
        include_path=["src"],  # where _session_c.pxd is found, by its module's name
        annotate=bool(os.environ.get("TLCODEC_ANNOTATE")),
    )


def brief(error: Exception) -> str:
    """A compiler error in one line: its command line is long, its end says what happened."""
    text = " ".join(str(error).split())
    return text if len(text) <= 160 else text[:60] + " ... " + text[-90:]


class OptionalBuildExt(build_ext):
    """build_ext that goes on without a part it cannot build, and says so once at the end."""

    def initialize_options(self) -> None:
        super().initialize_options()
        self.parts_not_built: list[str] = []

    def finalize_options(self) -> None:
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def run(self) -> None:
        if os.environ.get("TLCODEC_NO_EXTENSIONS"):
            self.parts_not_built = [f"{ext.name}: TLCODEC_NO_EXTENSIONS is set"
                                    for ext in self.extensions]
        else:
            try:
                super().run()
            except Exception as error:  # no compiler at all: nothing was built
                self.parts_not_built = [f"{ext.name}: {brief(error)}" for ext in self.extensions]
        self.warn_about_parts_not_built()

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as error:  # CompileError, LinkError, a missing compiler (OSError)
            self.parts_not_built.append(f"{ext.name}: {type(error).__name__}: {brief(error)}")

    def warn_about_parts_not_built(self) -> None:
        if not self.parts_not_built:
            return
        lines = "\n".join(f"  - {part}" for part in sorted(self.parts_not_built))
        message = (
            "\n" + "*" * 78 + "\n"
            "WARNING: tlcodec is installed without these compiled parts; their pure-Python code\n"
            "runs instead, several times slower (README, Install; tlcodec.ACCELERATED says what\n"
            "runs):\n"
            f"{lines}\n" + "*" * 78 + "\n"
        )
        print(message, file=sys.stderr)


building_extensions = not os.environ.get("TLCODEC_NO_EXTENSIONS")
setup(
    ext_modules=cythonized(extensions) if building_extensions else extensions,
    cmdclass={"build_ext": OptionalBuildExt},
)
