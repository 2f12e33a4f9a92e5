"""The compiled parts of tlcodec: the Cython codec, the message cipher, and the Cython builds of
session.py and connection.py. Everything else is in pyproject.toml."""

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
    # The DC connection (client side), built the same way from connection.py and
    # _connection_c.pxd.
    Extension(
        "tlcodec.client._connection_c",
        ["src/tlcodec/client/connection.py"],
        extra_compile_args=["-O2"],
    ),
]

# Cython watches a .py source's own-named .pxd (session.pxd), not the module-named one that it
# reads: drop a C file older than its .pxd so that an edit of the types rebuilds it.
for _c_file, _pxd_file in (
    ("src/tlcodec/mtproto/session.c", "src/tlcodec/mtproto/_session_c.pxd"),
    ("src/tlcodec/client/connection.c", "src/tlcodec/client/_connection_c.pxd"),
):
    if os.path.exists(_c_file) and os.path.getmtime(_c_file) < os.path.getmtime(_pxd_file):
        os.remove(_c_file)

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
