"""What `pip install` must give: the compiled modules, `py.typed`, the stubs, the data, the
license and one version; no build leftovers (no C, Cython sources or .pxd in an installed wheel).
tools/check_dist.py checks the archives themselves before they are installed."""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import os
from pathlib import Path

import pytest

import tlcodec
from tlcodec import _runtime

PACKAGE = Path(tlcodec.__file__).resolve().parent
INSTALLED_WHEEL = pytest.mark.skipif(
    not os.environ.get("TLCODEC_EXPECT_INSTALLED"),
    reason="only when testing an installed wheel (CI sets TLCODEC_EXPECT_INSTALLED=1)",
)


def test_package_ships_py_typed_and_the_compiled_module_stubs() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_codec.pyi").is_file()
    assert (PACKAGE / "_mtcrypto.pyi").is_file()


def test_bundled_schema_files_ship_with_the_package() -> None:
    assert (PACKAGE / "schema" / "data" / "api.tl").is_file()
    assert (PACKAGE / "schema" / "data" / "mtproto.tl").is_file()
    assert (PACKAGE / "data" / "telegram_rsa_keys.pem").is_file()


def test_the_version_is_written_once() -> None:
    # pyproject.toml takes it from tlcodec.__version__; the installed metadata must agree.
    assert importlib.metadata.version("tlcodec") == tlcodec.__version__


def test_the_license_is_in_the_installed_metadata() -> None:
    distribution = importlib.metadata.distribution("tlcodec")
    assert distribution.metadata["License-Expression"] == "MIT"
    licenses = [f for f in distribution.files or [] if f.name == "LICENSE"]
    assert licenses and "MIT License" in licenses[0].read_text()


@pytest.mark.parametrize("part", list(_runtime.PARTS))
def test_each_compiled_part_in_use_is_a_real_extension(part: str) -> None:
    module = _runtime.compiled_module(part)
    if module is None:
        pytest.skip(f"{part} runs plain here: {tlcodec.ACCELERATED[part].why_not}")
    assert Path(module.__file__ or "").name.endswith(
        tuple(importlib.machinery.EXTENSION_SUFFIXES))


@INSTALLED_WHEEL
def test_installed_wheel_is_imported_from_site_packages_without_sources() -> None:
    assert "site-packages" in PACKAGE.parts
    leftovers = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*")
                 if p.suffix in (".c", ".pyx", ".pxd", ".html")]
    assert leftovers == [], f"build leftovers in the wheel: {leftovers}"
