"""What `pip install` must give: the compiled module, `py.typed`, the stub, no build leftovers."""

from __future__ import annotations

import importlib.machinery
import os
from pathlib import Path

import pytest

import tlcodec

PACKAGE = Path(tlcodec.__file__).resolve().parent


def test_package_ships_py_typed_and_the_compiled_module_stub() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_codec.pyi").is_file()


def test_bundled_schema_files_ship_with_the_package() -> None:
    assert (PACKAGE / "schema" / "data" / "api.tl").is_file()
    assert (PACKAGE / "schema" / "data" / "mtproto.tl").is_file()


@pytest.mark.skipif(
    bool(os.environ.get("TLCODEC_NO_EXTENSIONS")), reason="this run uses the pure-Python twin"
)
def test_compiled_module_is_a_real_extension() -> None:
    from tlcodec import _codec

    assert Path(_codec.__file__).name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


@pytest.mark.skipif(
    not os.environ.get("TLCODEC_EXPECT_INSTALLED"),
    reason="only when testing an installed wheel (CI sets TLCODEC_EXPECT_INSTALLED=1)",
)
def test_installed_wheel_is_imported_from_site_packages_without_sources() -> None:
    assert "site-packages" in PACKAGE.parts
    leftovers = [p.name for p in PACKAGE.iterdir() if p.suffix in (".c", ".pyx")]
    assert leftovers == [], f"build leftovers in the wheel: {leftovers}"
