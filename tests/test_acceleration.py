"""Compiled or plain, decided in one place (tlcodec._runtime) and never lost silently.

Each test runs a fresh interpreter over a copy of the installed package in which a compiled
module is broken the way real installs break it: a file that is not a loadable library (a build
for another interpreter or platform, a truncated download), a build older than its source in a
source tree, a cipher with no usable libcrypto. The oracle is the contract in _runtime's
docstring: the part runs its plain code, `import` warns with the reason, `tlcodec.ACCELERATED`
says why, and TLCODEC_REQUIRE_EXTENSIONS=1 makes it an ImportError.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tlcodec
from tlcodec import _runtime

PACKAGE = Path(tlcodec.__file__).resolve().parent
SWITCHES = ("TLCODEC_NO_EXTENSIONS", "TLCODEC_REQUIRE_EXTENSIONS", "TLCODEC_LIBCRYPTO")

# Prints what a fresh interpreter decided for every part, and the warnings import raised.
REPORT = """
import json, sys, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    try:
        import tlcodec
        report = {part: [bool(runs), runs.module, runs.why_not]
                  for part, runs in tlcodec.ACCELERATED.items()}
        import tlcodec.mtproto.session, tlcodec.client.connection
        modules = [tlcodec.mtproto.session.EncryptedSession.__module__,
                   tlcodec.client.connection.DcConnection.__module__]
        error = None
    except ImportError as exc:
        report, modules, error = None, None, str(exc)
print(json.dumps({"report": report, "modules": modules, "error": error,
                  "warnings": [str(w.message) for w in caught
                               if issubclass(w.category, RuntimeWarning)]}))
"""


def compiled_file(package: Path, part: str) -> Path | None:
    module = _runtime.PARTS[part].compiled_module.split(".")[1:]
    folder = package.joinpath(*module[:-1])
    found = [p for p in folder.glob(module[-1] + ".*") if p.suffix in (".so", ".pyd")]
    return found[0] if found else None


def needs_compiled(*parts: str) -> pytest.MarkDecorator:
    missing = [p for p in parts if compiled_file(PACKAGE, p) is None]
    return pytest.mark.skipif(bool(missing), reason=f"no compiled {missing} in this install")


@pytest.fixture()
def package_copy(tmp_path: Path) -> Path:
    """A copy of the installed package, imported in place of it through PYTHONPATH."""
    shutil.copytree(PACKAGE, tmp_path / "tlcodec",
                    ignore=shutil.ignore_patterns("__pycache__", "*.c", "*.html"))
    return tmp_path / "tlcodec"


def run_report(package: Path, **switches: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SWITCHES and k != "PYTHONPATH"}
    env.update(switches, PYTHONPATH=str(package.parent))
    result = subprocess.run([sys.executable, "-c", REPORT], env=env, capture_output=True,
                            text=True, timeout=120, cwd=package.parent)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@needs_compiled("codec", "session", "connection")
def test_an_intact_install_runs_every_compiled_part_without_a_warning(package_copy: Path) -> None:
    outcome = run_report(package_copy, TLCODEC_REQUIRE_EXTENSIONS="1")
    assert outcome["error"] is None and outcome["warnings"] == []
    expected = [p for p, part in _runtime.PARTS.items() if part.built_on_this_platform]
    assert [p for p, (compiled, _, _) in outcome["report"].items() if compiled] == expected
    assert outcome["modules"] == ["tlcodec.mtproto._session_c", "tlcodec.client._connection_c"]


@pytest.mark.parametrize("part", ["codec", "session", "connection", "cipher"])
def test_a_compiled_module_that_cannot_load_warns_and_runs_the_plain_code(
        package_copy: Path, part: str) -> None:
    built = compiled_file(package_copy, part)
    if built is None:
        pytest.skip(f"no compiled {part} in this install")
    built.write_bytes(b"\x7fELF this is not a loadable library")

    outcome = run_report(package_copy)
    assert outcome["error"] is None
    compiled, module, why_not = outcome["report"][part]
    assert not compiled and module == _runtime.PARTS[part].plain_module
    assert built.name in why_not or _runtime.PARTS[part].compiled_module in why_not
    assert [w for w in outcome["warnings"] if f"pure-Python {part}" in w and why_not in w]
    # The other parts are not dragged down with it.
    others = {p: r[0] for p, r in outcome["report"].items() if p != part}
    assert all(compiled_file(package_copy, p) is None or others[p] for p in others)

    required = run_report(package_copy, TLCODEC_REQUIRE_EXTENSIONS="1")
    assert required["error"] is not None and "TLCODEC_REQUIRE_EXTENSIONS" in required["error"]
    assert f"compiled {part}" in required["error"]


@needs_compiled("session")
def test_a_build_older_than_its_source_in_a_source_tree_is_not_used(package_copy: Path) -> None:
    # A source tree has the .pxd beside the .py (a wheel has not): make this copy one, and edit
    # the source after the build, as a developer does before rebuilding.
    pxd = package_copy / "mtproto" / "_session_c.pxd"
    if not pxd.exists():
        pxd.write_text("# the C types of session.py\n")
    built = compiled_file(package_copy, "session")
    assert built is not None
    past = time.time() - 3600
    os.utime(built, (past, past))
    os.utime(pxd, (past - 10, past - 10))
    (package_copy / "mtproto" / "session.py").touch()

    outcome = run_report(package_copy)
    compiled, module, why_not = outcome["report"]["session"]
    assert not compiled and module == "tlcodec.mtproto.session"
    assert "older than session.py" in why_not
    assert outcome["modules"][0] == "tlcodec.mtproto.session"
    assert any("older than session.py" in w for w in outcome["warnings"])
    assert run_report(package_copy, TLCODEC_REQUIRE_EXTENSIONS="1")["error"] is not None


@needs_compiled("session")
def test_a_build_in_an_installed_package_is_used_whatever_the_file_times(
        package_copy: Path) -> None:
    # An installed wheel has no .pxd or .pyx beside its modules: the order in which an installer
    # wrote the files says nothing about staleness.
    for source in package_copy.rglob("*"):
        if source.suffix in (".pyx", ".pxd"):
            source.unlink()
    built = compiled_file(package_copy, "session")
    assert built is not None
    os.utime(built, (time.time() - 3600, time.time() - 3600))
    outcome = run_report(package_copy)
    assert outcome["report"]["session"][0] and outcome["warnings"] == []


@pytest.mark.skipif(not _runtime.PARTS["cipher"].built_on_this_platform,
                    reason="the compiled cipher is not built on this platform")
@needs_compiled("cipher")
def test_a_cipher_without_a_usable_libcrypto_warns_and_runs_the_python_cipher(
        package_copy: Path) -> None:
    outcome = run_report(package_copy, TLCODEC_LIBCRYPTO="/nonexistent/libcrypto.so.3")
    compiled, module, why_not = outcome["report"]["cipher"]
    assert not compiled and module == "tlcodec.crypto" and "libcrypto" in why_not
    assert any("pure-Python cipher" in w for w in outcome["warnings"])
    required = run_report(package_copy, TLCODEC_LIBCRYPTO="/nonexistent/libcrypto.so.3",
                          TLCODEC_REQUIRE_EXTENSIONS="1")
    assert "compiled cipher" in required["error"]


def test_a_missing_compiled_module_is_reported_without_a_warning(package_copy: Path) -> None:
    # What a build without a compiler installs: no compiled module at all, and nothing broken.
    for part in _runtime.PARTS:
        built = compiled_file(package_copy, part)
        if built is not None:
            built.unlink()
    outcome = run_report(package_copy)
    assert outcome["warnings"] == []
    for part, (compiled, module, why_not) in outcome["report"].items():
        assert not compiled and module == _runtime.PARTS[part].plain_module
        assert "not built" in why_not
    required = run_report(package_copy, TLCODEC_REQUIRE_EXTENSIONS="1")
    assert "compiled codec" in required["error"]


def test_one_switch_runs_all_or_named_parts_plain(package_copy: Path) -> None:
    everything = run_report(package_copy, TLCODEC_NO_EXTENSIONS="1",
                            TLCODEC_REQUIRE_EXTENSIONS="1")
    assert everything["error"] is None and everything["warnings"] == []
    assert all(not r[0] and "TLCODEC_NO_EXTENSIONS" in r[2] for r in everything["report"].values())

    named = run_report(package_copy, TLCODEC_NO_EXTENSIONS="cipher, session,bogus")
    assert named["report"]["cipher"][0] is False and named["report"]["session"][0] is False
    assert "TLCODEC_NO_EXTENSIONS" in named["report"]["session"][2]
    assert any("bogus" in w for w in named["warnings"])
    for part in ("codec", "connection"):
        assert named["report"][part][0] == (compiled_file(package_copy, part) is not None)


def test_the_report_of_this_process_matches_the_classes_in_use() -> None:
    from tlcodec import crypto
    from tlcodec.client.connection import DcConnection
    from tlcodec.mtproto.session import EncryptedSession

    report = tlcodec.ACCELERATED
    assert set(report) == {"codec", "cipher", "session", "connection"}
    assert bool(report["codec"]) == tlcodec.IS_COMPILED
    assert report["codec"].module == tlcodec._runtime.codec.__name__
    assert report["session"].module == EncryptedSession.__module__
    assert report["connection"].module == DcConnection.__module__
    assert bool(report["cipher"]) == crypto.FAST_CRYPTO
    assert report["cipher"].why_not == crypto.FAST_CRYPTO_ERROR
    for runs in report.values():
        assert (runs.why_not is None) == bool(runs)
