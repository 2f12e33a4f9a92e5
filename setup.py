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
]

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
        annotate=bool(os.environ.get("TLCODEC_ANNOTATE")),
    ),
)
