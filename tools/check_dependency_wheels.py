#!/usr/bin/env python3
"""Check that tlcodec's dependencies install from binary wheels on every platform we ship for.

Why: tlcodec ships compiled wheels for CPython 3.10-3.13 on Linux (glibc and musl, x86_64 and
aarch64), macOS (x86_64 and arm64) and Windows (amd64). Installing one of our wheels must never
fall back to building a dependency from source (no compiler, no Rust toolchain, no GMP headers on
the user's machine), so every runtime dependency, and everything they pull in, must have a
wheel (or be pure Python) for each of those 28 (platform, Python) combinations, at a platform
level no newer than our own wheels': glibc 2.17 (manylinux2014), musl 1.2, macOS 10.13 on x86_64
and 11.0 on arm64.

What: for each combination the script asks pip to resolve the requirements without installing
anything:

    pip install --dry-run --ignore-installed --report - --only-binary=:all:
                --platform TAG [--platform TAG ...] --python-version 3.X --implementation cp
                --target TMPDIR --index-url https://pypi.org/simple REQUIREMENTS...

`--platform` gets every tag such a system accepts at or below the levels above (for example
manylinux_2_17_x86_64 ... manylinux_2_5_x86_64 and the manylinux2014/2010/1 aliases), so a
dependency wheel is only accepted if it would install wherever our wheel installs. With
`--dry-run` pip downloads only wheel metadata where PyPI provides it (PEP 658), so a full run
takes a minute or two. Transitive dependencies (e.g. cryptography -> cffi -> pycparser) are
checked too.

The requirements are [project].dependencies from pyproject.toml (or the --requirement options,
which replace that list). The [project.optional-dependencies] "test" extra is checked apart:
it only has to install where the test suite runs (Linux x86_64 in CI), and it may contain
sdist-only pure-Python packages (telethon needs pyaes, which has no wheel). So it is resolved
together with the runtime requirements for the machine running the script, with each Python
version's own interpreter, wheels preferred but sdists allowed; sdists are named in the output.

Environment markers: pip evaluates markers with the interpreter that runs pip, not with
--platform/--python-version (pypa/pip#11664). The script therefore evaluates the markers of our
own requirements (`; platform_system == "Darwin"`) itself for each target and passes only the
requirements that apply, without their markers. For the markers inside dependencies' metadata
(`cffi; python_version < "3.11"`) it looks for an interpreter of each Python version
(--interpreter, pythonX.Y on PATH, pyenv, the Windows py launcher) and runs that interpreter's
own pip (or this pip with `pip --python` if it has none); when none is found it falls back to
the running interpreter and marks the line with "*". Platform markers inside dependencies'
metadata are still evaluated for the machine running the script; none of our current
dependencies has one that matters.

Isolation: pip configuration files and PIP_* variables that add package sources or constraints
(find-links, extra index URLs, constraints) are ignored, so the answer is about PyPI itself.
Certificate, proxy, timeout and cache settings from PIP_* variables are kept; pass
--use-pip-config to use your pip configuration unchanged (e.g. behind a mirror).

Prints one line per combination and a summary; exits with status 1 if any combination fails,
2 on a usage or setup error. Needs Python 3.11+ (tomllib) unless every requirement is given with
--requirement and --no-extras is used, and pip 22.2+ (for `pip install --report`).

Usage:
    python tools/check_dependency_wheels.py
    python tools/check_dependency_wheels.py --requirement "cryptg>=0.5,<0.6" --requirement ...
    python tools/check_dependency_wheels.py --python-version 3.13 --platform musllinux-aarch64
"""
from __future__ import annotations

import argparse
import concurrent.futures
import glob
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"

PYTHON_VERSIONS = ["3.10", "3.11", "3.12", "3.13"]
TEST_EXTRAS = ["test"]

# Oldest systems our own wheels support; dependency wheels must not need anything newer.
GLIBC = (2, 17)  # manylinux2014 / manylinux_2_17
MUSL = (1, 2)  # musllinux_1_2
MACOS_X86_64 = (10, 13)  # cibuildwheel's default deployment target for x86_64
MACOS_ARM64 = (11, 0)  # the first macOS on Apple silicon

PYPI_INDEX = "https://pypi.org/simple"
# PIP_* variables passed on to pip in isolated mode: transport settings, not package sources.
KEPT_PIP_VARIABLES = {
    "PIP_CERT", "PIP_CLIENT_CERT", "PIP_PROXY", "PIP_TRUSTED_HOST", "PIP_TIMEOUT",
    "PIP_DEFAULT_TIMEOUT", "PIP_RETRIES", "PIP_CACHE_DIR", "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_KEYRING_PROVIDER",
}


# ----------------------------------------------------------------------------------------------
# Platform tags


def manylinux_tags(arch: str, glibc: tuple[int, int]) -> list[str]:
    """manylinux tags a glibc `glibc` system accepts, newest first, with the legacy aliases."""
    major, newest = glibc
    oldest = 17 if arch in ("aarch64", "ppc64le", "s390x", "armv7l") else 5  # first glibc per arch
    aliases = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
    tags = []
    for minor in range(newest, oldest - 1, -1):
        tags.append(f"manylinux_{major}_{minor}_{arch}")
        alias = aliases.get((major, minor))
        if alias and (alias == "manylinux2014" or arch in ("x86_64", "i686")):
            tags.append(f"{alias}_{arch}")
    return tags


def musllinux_tags(arch: str, musl: tuple[int, int]) -> list[str]:
    major, newest = musl
    return [f"musllinux_{major}_{minor}_{arch}" for minor in range(newest, -1, -1)]


def macos_tags(arch: str, version: tuple[int, int]) -> list[str]:
    """macOS tags a `version` system accepts, like packaging.tags.mac_platforms."""
    formats = [arch, "universal2"]
    if arch == "x86_64":
        formats = ["x86_64", "intel", "fat64", "fat32", "universal2", "universal"]
    versions = []
    if version[0] >= 11:
        versions += [(major, 0) for major in range(version[0], 10, -1)]
        if arch == "arm64":  # 10.x universal2 wheels carry an arm64 slice too
            return [f"macosx_{a}_{b}_{fmt}" for a, b in versions for fmt in formats] + [
                f"macosx_10_{minor}_universal2" for minor in range(16, 3, -1)]
        versions += [(10, minor) for minor in range(16, 3, -1)]
    else:
        versions += [(10, minor) for minor in range(version[1], 3, -1)]
    return [f"macosx_{a}_{b}_{fmt}" for a, b in versions for fmt in formats]


def platforms(glibc, musl, macos_x86_64, macos_arm64) -> dict[str, list[str]]:
    """Our wheel targets: name -> the --platform tags a dependency wheel may have there."""
    return {
        "manylinux-x86_64": manylinux_tags("x86_64", glibc),
        "manylinux-aarch64": manylinux_tags("aarch64", glibc),
        "musllinux-x86_64": musllinux_tags("x86_64", musl),
        "musllinux-aarch64": musllinux_tags("aarch64", musl),
        "macos-x86_64": macos_tags("x86_64", macos_x86_64),
        "macos-arm64": macos_tags("arm64", macos_arm64),
        "windows-amd64": ["win_amd64"],
    }


# ----------------------------------------------------------------------------------------------
# Requirements and interpreters


def read_pyproject() -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            fail_setup("reading pyproject.toml needs Python 3.11+ (tomllib) or tomli; "
                     "or pass --requirement for every requirement and --no-extras")
    with open(PYPROJECT, "rb") as f:
        return tomllib.load(f)["project"]


def marker_environment(target: str, python: str) -> dict[str, str]:
    """PEP 508 marker values of CPython `python` on target `target` (e.g. 'macos-arm64')."""
    system, _, machine = target.partition("-")
    system = {"manylinux": "linux", "musllinux": "linux"}.get(system, system)
    values = {
        "linux": ("linux", "Linux", "posix"),
        "macos": ("darwin", "Darwin", "posix"),
        "windows": ("win32", "Windows", "nt"),
    }[system]
    return {
        "sys_platform": values[0], "platform_system": values[1], "os_name": values[2],
        "platform_machine": {"amd64": "AMD64"}.get(machine, machine),
        "python_version": python, "python_full_version": f"{python}.0",
        "implementation_name": "cpython", "implementation_version": f"{python}.0",
        "platform_python_implementation": "CPython", "platform_release": "",
        "platform_version": "",
    }


def requirement_parser():
    """packaging.requirements.Requirement: pip's vendored copy, else packaging, else None."""
    try:
        from pip._vendor.packaging.requirements import Requirement
    except ImportError:
        try:
            from packaging.requirements import Requirement
        except ImportError:
            return None
    return Requirement


def requirements_for(requirements: list[str], target: str, python: str, parser) -> list[str]:
    """The requirements whose markers hold on (target, python), with the markers removed."""
    if parser is None:
        return list(requirements)
    kept = []
    for text in requirements:
        requirement = parser(text)
        if requirement.marker is not None:
            if not requirement.marker.evaluate(marker_environment(target, python)):
                continue
            requirement.marker = None
        kept.append(str(requirement))
    return kept


def fail_setup(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def run_quiet(command: list[str], timeout: float = 60) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def interpreter_version(path: str) -> str | None:
    """'3.X' for a working CPython at `path` (pyenv shims of inactive versions fail here)."""
    out = run_quiet([path, "-c", "import sys, platform; "
                     "print(platform.python_implementation(), *sys.version_info[:2])"])
    if out and out.startswith("CPython "):
        return ".".join(out.split()[1:3])
    return None


def find_interpreters(versions: list[str], given: list[str]) -> dict[str, str]:
    """Python version -> interpreter path, for the versions we can find."""
    found: dict[str, str] = {}
    for path in given:
        version = interpreter_version(path)
        if version is None:
            fail_setup(f"--interpreter {path} is not a working CPython")
        found.setdefault(version, path)
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for version in versions:
        if version in found:
            continue
        candidates = [shutil.which(f"python{version}")]
        candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", f"{version}.*",
                                                    "bin", "python")), reverse=True)
        if os.name == "nt" and shutil.which("py"):
            candidates.append(run_quiet(["py", f"-{version}", "-c",
                                         "import sys; print(sys.executable)"]))
        for path in filter(None, candidates):
            if interpreter_version(path) == version:
                found[version] = path
                break
    return found


def pip_version(python: str) -> tuple[int, ...]:
    """pip's (major, minor) for interpreter `python`; (0,) if it has no pip."""
    out = run_quiet([python, "-m", "pip", "--version"])
    if not out:
        return (0,)
    return tuple(int(part) for part in re.findall(r"\d+", out.split()[1])[:2])


def pip_launcher(interpreter: str | None, own_pip: tuple[int, ...]) -> list[str] | None:
    """How to run pip so that `interpreter` evaluates the markers; None if we cannot."""
    if interpreter is None:
        return None
    if pip_version(interpreter) >= (22, 2):  # its own pip surely runs on it
        return [interpreter, "-m", "pip"]
    if own_pip >= (22, 3):  # pip --python: this pip's code, run by that interpreter
        return [sys.executable, "-m", "pip", "--python", interpreter]
    return None


def pip_environment(use_pip_config: bool) -> dict[str, str]:
    env = dict(os.environ)
    if not use_pip_config:
        env = {k: v for k, v in env.items()
               if not k.startswith("PIP_") or k in KEPT_PIP_VARIABLES}
        env["PIP_CONFIG_FILE"] = os.devnull  # no pip.conf: no extra indexes, find-links, constraints
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


# ----------------------------------------------------------------------------------------------
# One check


@dataclass
class Check:
    platform: str
    python: str
    requirements: list[str]
    label: str = "runtime"
    pip: list[str] | None = None  # pip run by an interpreter of this version; None: ours
    tags: list[str] | None = None  # None: resolve for this machine (sdists allowed)
    ok: bool = False
    skipped: bool = False
    detail: str = ""
    installed: list[tuple[str, str, str]] = field(default_factory=list)  # name, version, file
    seconds: float = 0.0


def pip_command(check: Check, target: str, index_url: str | None) -> list[str]:
    command = list(check.pip or [sys.executable, "-m", "pip"])
    command += ["install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-",
                "--target", target]
    if check.tags is None:
        command += ["--prefer-binary"]
    else:
        command += ["--only-binary=:all:", "--python-version", check.python,
                    "--implementation", "cp"]
        for tag in check.tags:
            command += ["--platform", tag]
    if index_url:
        command += ["--index-url", index_url]
    return command + check.requirements


def pip_failure(stderr: str, returncode: int) -> str:
    """The useful part of pip's error output: what was missing and which versions did fit."""
    errors = [line.strip() for line in stderr.splitlines() if line.startswith("ERROR:")]
    errors = [line for line in errors if not line.startswith("ERROR: ResolutionImpossible")]
    if not errors:
        tail = [line.strip() for line in stderr.splitlines() if line.strip()]
        return tail[-1] if tail else f"pip exited with status {returncode}"
    message = errors[-1].removeprefix("ERROR: ")
    for line in errors:
        match = re.search(r"\(from versions: ([^)]*)\)", line)
        if match:
            usable = match.group(1).strip() or "none"
            message += f" [versions with a usable wheel: {usable}]"
            break
    return message


def run_check(check: Check, index_url: str | None, env: dict[str, str],
              timeout: float) -> Check:
    if check.skipped:
        return check
    if not check.requirements:
        check.ok, check.detail = True, "(no requirement applies here)"
        return check
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wheelcheck-") as target:
        command = pip_command(check, target, index_url)
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            check.detail = f"pip did not finish within {timeout:.0f} s"
            check.seconds = time.monotonic() - start
            return check
    check.seconds = time.monotonic() - start
    if done.returncode != 0:
        check.detail = pip_failure(done.stderr, done.returncode)
        return check
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        check.detail = "pip succeeded but printed no JSON report"
        return check
    for item in report.get("install", []):
        url = item.get("download_info", {}).get("url", "")
        filename = url.rsplit("/", 1)[-1]
        check.installed.append((item["metadata"]["name"], item["metadata"]["version"], filename))
    not_wheels = [f for _, _, f in check.installed if not f.endswith(".whl")]
    if not_wheels and check.tags is not None:  # cannot happen with --only-binary=:all:
        check.detail = "not a wheel: " + ", ".join(not_wheels)
        return check
    check.ok = True
    check.detail = " ".join(f"{name}=={version}{kind(f)}" for name, version, f in check.installed)
    return check


def kind(filename: str) -> str:
    """'' for a pure-Python wheel, '+' for a compiled one, ' (sdist)' for a source archive."""
    if not filename.endswith(".whl"):
        return " (sdist)"
    return "" if filename.endswith("-none-any.whl") else "+"


# ----------------------------------------------------------------------------------------------


def parse_version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Output: OK lines list the resolved distributions; '+' marks a compiled wheel, "
               "no mark a pure-Python one; '*' marks markers evaluated by the running Python. "
               "SKIP lines (no interpreter for a test-extra check) do not fail the run.")
    parser.add_argument("--requirement", "-r", action="append", metavar="REQ",
                        help="requirement to check (repeatable); replaces [project].dependencies")
    parser.add_argument("--extra", action="append", metavar="NAME",
                        help="optional-dependency group that must install on this machine "
                             f"(repeatable; default: {', '.join(TEST_EXTRAS)})")
    parser.add_argument("--no-extras", action="store_true", help="check the runtime set only")
    parser.add_argument("--python-version", action="append", metavar="3.X",
                        help=f"Python version (repeatable; default: {' '.join(PYTHON_VERSIONS)})")
    parser.add_argument("--platform", action="append", metavar="NAME",
                        help="target name (repeatable; default: all); see --list-platforms")
    parser.add_argument("--list-platforms", action="store_true",
                        help="print the targets and their tags and exit")
    parser.add_argument("--glibc", default="%d.%d" % GLIBC,
                        help="oldest glibc of our manylinux wheels (default: %(default)s)")
    parser.add_argument("--musl", default="%d.%d" % MUSL,
                        help="oldest musl of our musllinux wheels (default: %(default)s)")
    parser.add_argument("--macos-x86-64", default="%d.%d" % MACOS_X86_64,
                        help="oldest macOS of our x86_64 wheels (default: %(default)s)")
    parser.add_argument("--macos-arm64", default="%d.%d" % MACOS_ARM64,
                        help="oldest macOS of our arm64 wheels (default: %(default)s)")
    parser.add_argument("--interpreter", action="append", default=[], metavar="PATH",
                        help="a CPython to evaluate markers for its version (repeatable)")
    parser.add_argument("--index-url", default=PYPI_INDEX,
                        help="package index (default: %(default)s)")
    parser.add_argument("--use-pip-config", action="store_true",
                        help="keep pip's configuration files and PIP_* variables")
    parser.add_argument("--jobs", "-j", type=int, default=4, help="pip processes at once")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per pip run")
    args = parser.parse_args()

    targets = platforms(parse_version(args.glibc), parse_version(args.musl),
                        parse_version(args.macos_x86_64), parse_version(args.macos_arm64))
    if args.list_platforms:
        for name, tags in targets.items():
            print(f"{name}: {' '.join(tags)}")
        return 0
    chosen = args.platform or list(targets)
    unknown = [name for name in chosen if name not in targets]
    if unknown:
        parser.error(f"unknown platform {', '.join(unknown)}; known: {', '.join(targets)}")
    versions = args.python_version or PYTHON_VERSIONS
    extras = [] if args.no_extras else (args.extra or TEST_EXTRAS)

    project = read_pyproject() if (not args.requirement or extras) else {}
    runtime = args.requirement or list(project.get("dependencies", []))
    extra_requirements = []
    for extra in extras:
        group = project.get("optional-dependencies", {}).get(extra)
        if group is None:
            parser.error(f"pyproject.toml has no optional-dependencies group {extra!r}")
        extra_requirements += group

    own_pip = pip_version(sys.executable)
    if own_pip < (22, 2):
        fail_setup(f"needs pip 22.2 or newer (pip install --report) for {sys.executable}")
    interpreters = find_interpreters(versions, args.interpreter)
    launchers = {v: pip_launcher(interpreters.get(v), own_pip) for v in versions}
    env = pip_environment(args.use_pip_config)
    index_url = None if args.use_pip_config and args.index_url == PYPI_INDEX else args.index_url

    parse = requirement_parser()
    if parse is None and any(";" in r for r in runtime):
        print("warning: no packaging module: requirement markers are evaluated for this machine")
    checks = [Check(p, v, requirements_for(runtime, p, v, parse), "runtime", launchers[v],
                    targets[p]) for p in chosen for v in versions]
    host = f"host-{platform.system().lower()}-{platform.machine().lower()}"  # this machine
    for v in versions if extra_requirements else []:
        check = Check(host, v, runtime + extra_requirements, "+".join(extras), launchers[v])
        if check.pip is None:
            check.skipped, check.detail = True, f"no Python {v} interpreter found"
        checks.append(check)

    print(f"runtime requirements: {' | '.join(runtime)}")
    if extra_requirements:
        print(f"{'+'.join(extras)} extra: {' | '.join(extra_requirements)}")
    print(f"index: {index_url or 'from pip configuration'}; "
          f"glibc {args.glibc}, musl {args.musl}, "
          f"macOS x86_64 {args.macos_x86_64}, arm64 {args.macos_arm64}")
    for v in versions:
        print(f"markers for {v}: " + (" ".join(launchers[v]) if launchers[v] else
                                      f"* no usable Python {v}, using {sys.executable}"))
    print()

    start = time.monotonic()
    width = max(len(c.platform) for c in checks)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_check, c, index_url, env, args.timeout) for c in checks]
        for future in futures:  # submission order: a stable table
            c = future.result()
            status = "SKIP" if c.skipped else "OK  " if c.ok else "FAIL"
            mark = " " if c.pip else "*"
            print(f"{status} {c.platform:<{width}} cp{c.python.replace('.', '')}{mark} "
                  f"{c.label:<7} {c.detail}", flush=True)
    elapsed = time.monotonic() - start

    failed = [c for c in checks if not (c.ok or c.skipped)]
    skipped = [c for c in checks if c.skipped]
    counted = len(checks) - len(skipped)
    print(f"\n{counted - len(failed)}/{counted} combinations OK in {elapsed:.0f} s"
          + (f"; {len(failed)} failed" if failed else "")
          + (f"; {len(skipped)} skipped" if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
