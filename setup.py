"""The compiled part of tlcodec: the Cython codec. Everything else is in pyproject.toml."""

import os

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        "tlcodec._codec",
        ["src/tlcodec/_codec.pyx"],
        extra_compile_args=["-O2"],
    )
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
