"""What mypy and pyright make of the installed package (docs/SCHEMA.md, "Typed results").

Both checkers run once each, as subprocesses, over snippet files written here and over the
package's own stub tree (`tlcodec.types`, `tlcodec.functions`, the codec's stub), strict:
- `reveal_type` on representative calls gives the type each call is declared to return (a
  field, `decode(..., expected=Cls)`, `from_bytes`, `Client.invoke` of a function whose TL
  type has several constructors, a Vector, a Bool, a generic `invokeWithLayer` wrapper, the QR
  login's user), and the snippet has no error;
- user code with a wrong field name or a wrong field type is an error for both, on exactly the
  lines that have it;
- the stub tree itself has no error.
The checkers read the package the running interpreter imports (the installed wheel in CI), from
a directory outside the source tree; their caches go in pytest's temporary directory.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import tlcodec

PACKAGE = Path(tlcodec.__file__).resolve().parent

# Each entry: the expression revealed, then the members of the type mypy and pyright reveal
# (mypy names classes by their full path, pyright by their bare name).
REVEALED = [
    ("token.token", {"bytes"}, {"bytes"}),
    ("token.expires", {"int"}, {"int"}),
    ("tlcodec.decode(data)", {"tlcodec._codec.TLObject"}, {"TLObject"}),
    ("tlcodec.decode(data, expected=types.User)", {"tlcodec.types.User"}, {"User"}),
    ('tlcodec.decode(data, expected="Vector<long>")', {"Any"}, {"Any"}),
    ("types.User.from_bytes(data)", {"tlcodec.types.User"}, {"User"}),
    ("tlcodec.bundled.decode(data, types.auth.LoginToken)",
     {"tlcodec.types.auth.LoginToken"}, {"LoginToken"}),
    ("tlcodec.bundled.decode_result(functions.help.GetConfig(), data)",
     {"tlcodec.types.Config"}, {"Config"}),
    ('await client.invoke(functions.auth.ImportLoginToken(token=b""))',
     {"tlcodec.types.auth.LoginToken", "tlcodec.types.auth.LoginTokenMigrateTo",
      "tlcodec.types.auth.LoginTokenSuccess"},
     {"LoginToken", "LoginTokenMigrateTo", "LoginTokenSuccess"}),
    ("await client.invoke(functions.users.GetUsers(id=[types.InputUserSelf()]))",
     {"list[tlcodec.types.UserEmpty | tlcodec.types.User]"}, {"list[UserEmpty | User]"}),
    ("await client.invoke(functions.auth.ResetAuthorizations())", {"bool"}, {"bool"}),
    ("await client.invoke(functions.InvokeWithLayer("
     "layer=tlcodec.LAYER, query=functions.help.GetConfig()))",
     {"tlcodec.types.Config"}, {"Config"}),
    ("await client.invoke(functions.InvokeWithoutUpdates("
     "query=functions.InvokeWithLayer(layer=1, query=functions.auth.LogOut())))",
     {"tlcodec.types.auth.LoggedOut"}, {"LoggedOut"}),
    ("await qr.wait()", {"tlcodec.types.UserEmpty", "tlcodec.types.User"},
     {"UserEmpty", "User"}),
]

REVEAL_SNIPPET = '''
import tlcodec
from tlcodec import functions, types
from tlcodec.client import Client


async def main(client: Client, data: bytes) -> None:
    token = types.auth.LoginToken(expires=1, token=b"x")
    qr = await client.qr_login()
'''

# Every line marked `# error` must be an error for both checkers, and no other line.
WRONG_SNIPPET = '''
from tlcodec import functions, types
from tlcodec.client import Client


async def main(client: Client) -> None:
    types.auth.LoginToken(expires=1, tokn=b"x")  # error
    types.auth.LoginToken(expires="soon", token=b"x")  # error
    token = types.auth.LoginToken(expires=1, token=b"x")
    print(token.expire)  # error
    token.expires = "later"  # error
    functions.auth.ImportLoginToken(token="not bytes")  # error
    result = await client.invoke(functions.auth.ImportLoginToken(token=b""))
    print(result.user)  # error
    config: types.Config = await client.invoke(functions.auth.LogOut())  # error
    flag: bool = await client.invoke(functions.auth.ResetAuthorizations())
    print(config, flag)
'''


class Diagnostic(NamedTuple):
    file: str
    line: int
    severity: str  # "error", "note" (mypy) / "information" (pyright)
    message: str


class Checked(NamedTuple):
    diagnostics: list[Diagnostic]
    seconds: float
    output: str

    def of(self, name: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if Path(d.file).name == name]

    def errors(self, name: str) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for d in self.of(name):
            if d.severity == "error":
                found.setdefault(d.line, []).append(d.message)
        return found


def _reveal_snippet() -> tuple[str, dict[int, int]]:
    """The snippet and, for each entry of REVEALED, the line its reveal_type is on."""
    lines = textwrap.dedent(REVEAL_SNIPPET).strip("\n").splitlines()
    where = {}
    for index, (expression, _, _) in enumerate(REVEALED):
        lines.append(f"    reveal_type({expression})")
        where[len(lines)] = index
    return "\n".join(lines) + "\n", where


def _marked_lines(text: str) -> set[int]:
    return {n for n, line in enumerate(text.splitlines(), 1) if line.endswith("# error")}


def _members(revealed: str) -> set[str]:
    """`A | B | list[C | D]` -> {"A", "B", "list[C | D]"} (top-level members of a union)."""
    members, depth, current = set(), 0, ""
    for char in revealed:
        depth += char == "["
        depth -= char == "]"
        if char == "|" and depth == 0:
            members.add(current.strip())
            current = ""
        else:
            current += char
    members.add(current.strip())
    return members


def _environment(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Neither checker may see the source tree: they check the package this interpreter imports.
    env.pop("PYTHONPATH", None)
    env.pop("MYPYPATH", None)
    env["MYPY_CACHE_DIR"] = str(tmp / "mypy-cache")
    env["PYRIGHT_PYTHON_IGNORE_WARNINGS"] = "1"  # no look-up of a newer pyright on PyPI
    env["PYRIGHT_PYTHON_CACHE_DIR"] = str(tmp / "pyright-cache")
    return env


def _parse_mypy(stdout: str) -> list[Diagnostic]:
    found = []
    for line in stdout.splitlines():
        if line.startswith("{"):
            item = json.loads(line)
            found.append(Diagnostic(item["file"], item["line"], item["severity"],
                                    item["message"]))
    return found


def _parse_pyright(stdout: str) -> list[Diagnostic]:
    report: dict[str, Any] = json.loads(stdout)
    return [
        Diagnostic(item["file"], item["range"]["start"]["line"] + 1, item["severity"],
                   item["message"])
        for item in report["generalDiagnostics"]
    ]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Checked]:
    """Both checkers run at the same time (each is single-threaded), once for every test."""
    tmp = tmp_path_factory.mktemp("typing")
    snippet, _ = _reveal_snippet()
    (tmp / "reveal.py").write_text(snippet)
    (tmp / "wrong.py").write_text(textwrap.dedent(WRONG_SNIPPET).lstrip("\n"))
    stubs = [str(PACKAGE / "types"), str(PACKAGE / "functions"), str(PACKAGE / "_codec.pyi")]
    (tmp / "pyrightconfig.json").write_text(json.dumps({"typeCheckingMode": "strict"}))
    env = _environment(tmp)
    commands = {
        "mypy": [sys.executable, "-m", "mypy", "--strict", "--output", "json",
                 "--no-error-summary", "-m", "reveal", "-m", "wrong",
                 "-p", "tlcodec.types", "-p", "tlcodec.functions", "-m", "tlcodec._codec"],
        "pyright": [sys.executable, "-m", "pyright", "--outputjson",
                    "--pythonpath", sys.executable, "-p", "pyrightconfig.json",
                    "reveal.py", "wrong.py", *stubs],
    }
    started = time.perf_counter()
    running = {
        name: subprocess.Popen(command, cwd=tmp, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        for name, command in commands.items()
    }
    results = {}
    for name, process in running.items():
        stdout, stderr = process.communicate(timeout=600)
        seconds = time.perf_counter() - started
        # Both exit 1 when they found errors (wrong.py has some); 2 and up is a crash.
        assert process.returncode in (0, 1), f"{name} failed:\n{stdout}\n{stderr}"
        parse = _parse_mypy if name == "mypy" else _parse_pyright
        results[name] = Checked(parse(stdout), seconds, stdout + stderr)
    return results


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_calls_are_typed_by_what_they_return(checked: dict[str, Checked], checker: str) -> None:
    result = checked[checker]
    _, where = _reveal_snippet()
    revealed = {}
    for d in result.of("reveal.py"):
        match = re.fullmatch(r'Revealed type is "(.*)"|Type of ".*" is "(.*)"', d.message,
                             re.DOTALL)
        if match:
            revealed[d.line] = match.group(1) or match.group(2)
    assert result.errors("reveal.py") == {}, result.output
    for line, index in where.items():
        expression, for_mypy, for_pyright = REVEALED[index]
        expected = for_mypy if checker == "mypy" else for_pyright
        assert line in revealed, f"{checker} revealed nothing for {expression}"
        assert _members(revealed[line]) == expected, (expression, revealed[line])


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_a_wrong_field_name_or_type_is_an_error(checked: dict[str, Checked],
                                               checker: str) -> None:
    text = textwrap.dedent(WRONG_SNIPPET).lstrip("\n")
    errors = checked[checker].errors("wrong.py")
    assert set(errors) == _marked_lines(text), errors


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_the_stub_tree_has_no_error(checked: dict[str, Checked], checker: str) -> None:
    result = checked[checker]
    in_package = [d for d in result.diagnostics
                  if d.severity == "error" and Path(d.file).resolve().is_relative_to(PACKAGE)]
    assert in_package == [], result.output[:5000]
    print(f"{checker}: {result.seconds:.1f} s")


def test_every_generated_module_ships_its_stub() -> None:
    # What `pip install` gives a type checker: py.typed, and a .pyi beside each module of
    # tlcodec.types and tlcodec.functions (the modules themselves only name their classes).
    assert (PACKAGE / "py.typed").is_file()
    for root in ("types", "functions"):
        modules = sorted((PACKAGE / root).glob("*.py"))
        assert len(modules) > 10
        missing = [m.name for m in modules if not m.with_suffix(".pyi").is_file()]
        assert missing == [], f"{root}: no stub beside {missing}"
