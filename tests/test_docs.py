"""The docs match the tree: every file they name exists, and docs/ARCHITECTURE.md names every
module of the package, so that a newcomer can find anything from it and a move or a rename
that forgets the docs fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The docs are checked in a source tree (a checkout or the sdist); CI also runs the test files
# against installed wheels from a folder that holds the tests alone.
pytestmark = pytest.mark.skipif(not (ROOT / "src" / "tlcodec").is_dir(),
                                reason="not in a source tree: no docs beside the tests")
DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md")),
        ROOT / "benchmarks" / "README.md", ROOT / "tests" / "data" / "README.md"]
PACKAGE = ROOT / "src" / "tlcodec"
SKIPPED_DIRS = {".git", ".venv", "build", "dist", "__pycache__", ".mypy_cache", ".pytest_cache",
                ".hypothesis", ".benchmarks", "benchmark-results"}

# A file name as docs write one: a path of word characters, dots, dashes and slashes with a
# known extension; `_codec.pyx/.pyi` names two files.
FILE_NAME = re.compile(
    r"(?<![\w./-])((?:\.{0,2}/)?[\w.-]+(?:/[\w.-]+)*\.(?:py|pyx|pxd|pyi|md|tl|json|toml|pem|yml|in))"
    r"((?:/\.(?:py|pyx|pxd|pyi))*)(?![\w-])"
)

# Named in the docs but not files of this repository, each with why.
NOT_OURS = {
    "Telegram/SourceFiles/mtproto/scheme/api.tl": "Telegram Desktop's repository, the source",
    "Telegram/SourceFiles/mtproto/scheme/mtproto.tl": "Telegram Desktop's repository",
    "FILE.tl": "a placeholder in a command line",
    "PROTOCOL.md": "the team's protocol digest beside the repository (../shared/docs/)",
    "benchmark-results/bench.json": "what a benchmark run writes",
}


def repository_files() -> list[str]:
    files = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if path.is_file() and not SKIPPED_DIRS.intersection(relative.parts[:-1]):
            files.append(relative.as_posix())
    return files


FILES = repository_files()


def named_files(text: str) -> set[str]:
    names = set()
    for match in FILE_NAME.finditer(text):
        first, others = match.group(1), match.group(2)
        names.add(first)
        stem = first.rsplit(".", 1)[0]
        names.update(stem + extension for extension in others.split("/")[1:])
    return names


def exists(name: str) -> bool:
    if name.startswith("../"):  # beside the repository (the team's shared folder): not shipped
        return True
    return any(path == name or path.endswith("/" + name) for path in FILES)


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_file_a_doc_names_exists(doc: Path) -> None:
    names = named_files(doc.read_text(encoding="utf-8"))
    missing = sorted(name for name in names - NOT_OURS.keys() if not exists(name))
    assert missing == [], f"{doc.relative_to(ROOT)} names files that do not exist: {missing}"


def test_the_architecture_names_every_module_of_the_package() -> None:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    names = named_files(text)
    basenames = {name.rsplit("/", 1)[-1] for name in names}
    generated = {PACKAGE / "types", PACKAGE / "functions"}
    unnamed = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in {".py", ".pyx", ".pxd"} or path.parent in generated:
            continue
        if path.name == "__init__.py" and path.parent != PACKAGE:
            continue  # a subpackage is named by its modules
        if path.name not in basenames:
            unnamed.append(path.relative_to(PACKAGE).as_posix())
    assert unnamed == [], f"docs/ARCHITECTURE.md does not name {unnamed}"


def test_the_pattern_reads_names_as_the_docs_write_them() -> None:
    assert named_files("`_codec.pyx/.pyi` and mtproto/session.py, (tests/test_docs.py)") == {
        "_codec.pyx", "_codec.pyi", "mtproto/session.py", "tests/test_docs.py"}
    assert not exists("src/tlcodec/no_such_module.py")
