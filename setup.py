"""The compiled part of tlcodec: the Cython codec. Everything else is in pyproject.toml."""

import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        "tlcodec._codec",
        ["src/tlcodec/_codec.pyx"],
        extra_compile_args=["-O2"],
    ),
    # The MTProto message cipher over the libcrypto CPython already uses (found at import with
    # dlopen; no OpenSSL headers needed). tlcodec.crypto falls back to Python without it.
    Extension(
        "tlcodec._mtcrypto",
        ["src/tlcodec/_mtcrypto.pyx"],
        extra_compile_args=["-O2"],
        libraries=["dl"] if sys.platform.startswith("linux") else [],
    ),
    # The encrypted session: session.py itself, compiled with the C types of _session_c.pxd
    # (Cython's pure-Python mode). session.py loads this build in place of its own classes.
    Extension(
        "tlcodec.mtproto._session_c",
        ["src/tlcodec/mtproto/session.py"],
        extra_compile_args=["-O2"],
    ),
]

# Cython watches a .py source's own-named .pxd (session.pxd), not the module-named one that it
# reads: drop a C file older than _session_c.pxd so that an edit of the types rebuilds it.
_SESSION_C = "src/tlcodec/mtproto/session.c"
_SESSION_PXD = "src/tlcodec/mtproto/_session_c.pxd"
if os.path.exists(_SESSION_C) and os.path.getmtime(_SESSION_C) < os.path.getmtime(_SESSION_PXD):
    os.remove(_SESSION_C)

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": "3",
            # Explicit length checks guard every read; these only drop Python-level list
            # index checks inside the interpreter, never checks on input bytes.
            "wraparound": False,
            "embedsignature": True,
        },
        include_path=["src"],  # where _session_c.pxd is found, by its module's name
        annotate=bool(os.environ.get("TLCODEC_ANNOTATE")),
    ),
)
