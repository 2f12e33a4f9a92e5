#!/usr/bin/env python3
"""Check what an sdist or a wheel of tlcodec carries before it is published.

    python tools/check_dist.py dist/tlcodec-0.1.0.tar.gz dist/tlcodec-0.1.0-cp311-...whl

An sdist must hold everything a build needs (the Cython sources and their .pxd, setup.py,
pyproject.toml, LICENSE) and everything the tests need (tests/ with tests/data), and nothing
generated (.c, .so). A wheel must hold only the compiled modules, .py, .pyi, py.typed and data
(no .c, .pyx, .pxd), the LICENSE in its metadata, a compiled module for every part built on its
platform (the PARTS table of src/tlcodec/_runtime.py), and stay under the size
limit of issue 10: 2.5 MB for one interpreter. Prints what it found; exits 1 on any problem.
"""

from __future__ import annotations

import ast
import re
import sys
import tarfile
import zipfile
from pathlib import Path

WHEEL_SIZE_LIMIT = 2_500_000
ROOT = Path(__file__).resolve().parents[1]

SDIST_REQUIRED = [
    "setup.py", "pyproject.toml", "LICENSE", "README.md", "CHANGELOG.md", "MANIFEST.in",
    "src/tlcodec/_codec.pyx", "src/tlcodec/_mtcrypto.pyx",
    "src/tlcodec/mtproto/_session_c.pxd", "src/tlcodec/mtproto/_client_session_c.pxd",
    "src/tlcodec/mtproto/_server_session_c.pxd", "src/tlcodec/client/_connection_c.pxd",
    "src/tlcodec/client/_calls_c.pxd", "src/tlcodec/client/_plumbing_c.pxd",
    "src/tlcodec/py.typed", "src/tlcodec/_codec.pyi",
    "src/tlcodec/schema/data/api.tl", "src/tlcodec/schema/data/mtproto.tl",
    "tests/conftest.py", "tests/data/README.md",
]
WHEEL_ALLOWED_SUFFIXES = {".py", ".pyi", ".so", ".pyd", ".tl", ".pem", ".typed", ""}
GENERATED = {".c", ".so", ".pyd", ".o", ".html"}
SOURCES_ONLY = {".c", ".pyx", ".pxd"}


def compiled_parts() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """part -> (its compiled modules, the platforms it is not built on), from the literal PARTS
    table of src/tlcodec/_runtime.py (read, not imported: the package need not be installed
    here)."""
    tree = ast.parse((ROOT / "src" / "tlcodec" / "_runtime.py").read_text(encoding="utf-8"))
    (table,) = [node.value for node in ast.walk(tree) if isinstance(node, ast.AnnAssign)
                and getattr(node.target, "id", "") == "PARTS"]
    assert isinstance(table, ast.Dict)
    parts = {}
    for key, call in zip(table.keys, table.values):
        assert isinstance(key, ast.Constant) and isinstance(call, ast.Call)
        arguments = [ast.literal_eval(argument) for argument in call.args]
        keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
        modules = (arguments[0], *(module for module, _ in keywords.get("cimported", ())))
        parts[key.value] = (modules, tuple(arguments[3]) if len(arguments) > 3 else ())
    return parts


def check_sdist(path: Path) -> list[str]:
    with tarfile.open(path) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    problems = [f"missing {name}" for name in SDIST_REQUIRED if name not in names]
    problems += [f"generated file {name}" for name in names if Path(name).suffix in GENERATED]
    if not any(name.startswith("tests/data/") and name.endswith(".json") for name in names):
        problems.append("tests/data carries no test vectors")
    print(f"{path.name}: {len(names)} entries, {path.stat().st_size:,} bytes")
    return problems


def check_wheel(path: Path) -> list[str]:
    problems = []
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    unpacked = sum(info.file_size for info in infos)
    package = [n for n in names if n.startswith("tlcodec/")]
    for name in package:
        suffix = Path(name).suffix
        if suffix in SOURCES_ONLY or suffix not in WHEEL_ALLOWED_SUFFIXES:
            problems.append(f"does not belong in a wheel: {name}")
    if not any(re.fullmatch(r"tlcodec-[^/]+\.dist-info/licenses/LICENSE", n) for n in names):
        problems.append("no LICENSE in the .dist-info")
    platform = "win32" if "-win" in path.name else "darwin" if "-macosx" in path.name else "linux"
    for part, (modules, not_built_on) in compiled_parts().items():
        if platform not in not_built_on:
            for module in modules:
                stem = module.replace(".", "/")
                if not any(n.startswith(stem + ".") and n.endswith((".so", ".pyd"))
                           for n in names):
                    problems.append(f"no compiled {part} ({module})")
    size = path.stat().st_size
    if size > WHEEL_SIZE_LIMIT:
        problems.append(f"{size:,} bytes, over the {WHEEL_SIZE_LIMIT:,}-byte limit")
    if not re.search(r"-(manylinux|musllinux)_\d+_\d+_|-macosx_|-win", path.name):
        problems.append("not tagged for a package index (linux_* is refused: auditwheel repair)")
    print(f"{path.name}: {len(names)} files, {size:,} bytes ({unpacked:,} unpacked)")
    return problems


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    failed = False
    for name in paths:
        path = Path(name)
        problems = check_wheel(path) if path.suffix == ".whl" else check_sdist(path)
        for problem in problems:
            print(f"  problem: {problem}")
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
