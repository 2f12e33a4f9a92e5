#!/usr/bin/env python3
"""Mutation testing of the checks: does a test fail when a check is changed or removed?

For each of five source files, every mutation point of the checks in the functions listed in
TARGETS (the receive, decode and verify paths; see docs/MUTATION.md for the rule) is turned
into one mutant: the module with that one change. Each mutant runs the target's test files over
the pure-Python build (TLCODEC_NO_EXTENSIONS=1, so the mutated .py is what runs) in a
subprocess with a timeout; a failing test kills it, a run past the timeout is a hang (killed
too, counted apart), a passing run is a survivor. Survivors that no test can kill, because the
mutant behaves exactly as the original, are listed with a reason in
tools/mutation_equivalents.toml.

The working tree is never touched: each worker runs in its own temporary copy of src/ and
tests/, into which the mutated module is written.

    .venv/bin/python tools/mutate.py list [TARGET...]          # the mutation points
    .venv/bin/python tools/mutate.py run [TARGET...] [--jobs 2] # run, then write the report
    .venv/bin/python tools/mutate.py run --only ID ... | --survivors
    .venv/bin/python tools/mutate.py report [--baseline OLD.json]

Results go to build/mutation/results.json (merged across runs of parts); the report to
docs/mutation-report.md. Needs Python 3.11+ (tomllib).
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import contextlib
import dataclasses
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "build" / "mutation" / "results.json"
REPORT = ROOT / "docs" / "mutation-report.md"
EQUIVALENTS = ROOT / "tools" / "mutation_equivalents.toml"
UNCOVERED = "no test runs this code"  # the detail of a survivor that ran no test at all


@dataclasses.dataclass(frozen=True)
class Target:
    """One source file: the functions whose checks are mutated, and the tests that guard them."""

    path: str
    functions: tuple[str, ...]  # qualified names (Class.method); every one must exist
    tests: tuple[str, ...]  # fastest-killing first: a run stops at the first failure (-x)


TARGETS: dict[str, Target] = {
    # The decoding half of the codec's twin: the Reader, and Registry.decode that drives it;
    # the registry's plans loaded on first use, and the one-family check of the encoder.
    "codec": Target(
        "src/tlcodec/_codec_py.py",
        (
            "Registry.decode", "Registry.to_spec", "Registry.add", "Registry.plan_for_id",
            "_same_family", "_checked_spec", "_inflate_limit", "inflate_gzip",
            "Reader.__init__", "Reader._need", "Reader.read_int", "Reader.read_uint",
            "Reader.read_long", "Reader.read_double", "Reader.read_raw", "Reader.read_bytes",
            "Reader.read_string", "Reader.read_bool", "Reader.read_object", "Reader.read",
            "Reader._read_from_start", "Reader._read", "Reader._read_boxed", "Reader._read_gzip",
            "Reader._read_fields",
        ),
        ("tests/test_strictness.py", "tests/test_objects.py", "tests/test_golden_vectors.py",
         "tests/test_hostile_codec.py", "tests/test_schema.py", "tests/test_layer.py"),
    ),
    # The receive side of the sessions, from the payload to the events: what both roles share
    # (the envelope, the header checks, containers, gzip_packed), then each role's own.
    "session": Target(
        "src/tlcodec/mtproto/session.py",
        (
            "open_payload", "_u32_at", "_i32_at", "_i64_at", "_parse_container",
            "EncryptedSession.receive", "EncryptedSession.receive_opened",
            "EncryptedSession._is_replay", "EncryptedSession._remember_received",
            "EncryptedSession._decode_body", "EncryptedSession._decode_known",
            "EncryptedSession._inflate",
        ),
        ("tests/test_mtproto_session_hostile.py", "tests/test_mtproto_session.py"),
    ),
    "client_session": Target(
        "src/tlcodec/mtproto/client_session.py",
        (
            "ClientSession._receive_message", "ClientSession._only_notifications_about_ours",
            "ClientSession._client_body", "ClientSession._client_container",
            "ClientSession._too_old_item", "ClientSession._on_rpc_result",
            "ClientSession._sent_items", "ClientSession._on_pong",
            "ClientSession._on_future_salts", "ClientSession._on_destroy_session",
            "ClientSession._on_bad_server_salt", "ClientSession._on_bad_msg_notification",
            "ClientSession._on_new_session_created", "ClientSession._on_msgs_ack",
            "ClientSession._on_detailed_info",
        ),
        ("tests/test_mtproto_session_hostile.py", "tests/test_mtproto_session.py"),
    ),
    "server_session": Target(
        "src/tlcodec/mtproto/server_session.py",
        (
            "ServerSession._receive_message", "ServerSession._time_check",
            "ServerSession._server_message",
        ),
        ("tests/test_mtproto_session_hostile.py", "tests/test_mtproto_session.py"),
    ),
    # What the handshake and the envelope check of numbers and bytes a peer chose.
    "crypto": Target(
        "src/tlcodec/crypto.py",
        (
            "PythonMessageCipher.decrypt", "PythonMessageCipher.decrypt_message",
            "RSAPublicKey.check_usable", "RSAPublicKey.encrypt_rsa_pad",
            "RSAPrivateKey._raw_decrypt", "RSAPrivateKey.decrypt_rsa_pad",
            "RSAPrivateKey.decrypt_legacy_parts", "factorize_pq", "is_probable_prime",
            "check_dh_prime", "check_g", "check_dh_value",
        ),
        ("tests/test_mtcrypto.py", "tests/test_authkey.py", "tests/test_client_hostile.py"),
    ),
    # Both sides of the auth-key exchange, as far as they read the peer's messages.
    "authkey": Target(
        "src/tlcodec/mtproto/authkey.py",
        (
            "unpack_plain_message", "_check_equal", "_check_hash", "_expect", "_read_hashed",
            "_check_padding", "_Exchange._check_receivable", "_Exchange._step_with",
            "_Exchange._open_hashed", "_Exchange._unpack",
            "ClientAuthKeyExchange.receive", "ClientAuthKeyExchange._handler",
            "ClientAuthKeyExchange._on_res_pq", "ClientAuthKeyExchange._on_server_dh_params",
            "ClientAuthKeyExchange._set_client_dh_params", "ClientAuthKeyExchange._on_dh_gen",
            "ServerAuthKeyExchange.receive", "ServerAuthKeyExchange._handler",
            "ServerAuthKeyExchange._on_req_pq", "ServerAuthKeyExchange._on_req_dh_params",
            "ServerAuthKeyExchange._check_factors", "ServerAuthKeyExchange._decrypt_inner_data",
            "ServerAuthKeyExchange._decrypt_legacy",
            "ServerAuthKeyExchange._on_set_client_dh_params",
        ),
        ("tests/test_authkey.py",),
    ),
    # The receiving half of the four framings, obfuscation and transport detection.
    "transports": Target(
        "src/tlcodec/mtproto/transports.py",
        (
            "Transport.feed", "Transport.feed_frames", "Transport._feed",
            "Transport._raise_if_failed", "Transport._consume_tag", "Transport._check_announced",
            "Transport._check_payload_length", "Transport._payload", "_take",
            "_read_length_word", "Abridged._parse", "Intermediate._parse",
            "PaddedIntermediate._parse", "PaddedIntermediate._short_frame",
            "_padded_payload_length", "Full._parse", "_crc32", "Obfuscated._feed",
            "Obfuscated._accept_init", "detect_server_transport",
        ),
        ("tests/test_transports.py",),
    ),
    # Two-step verification: what the client checks of the server's SRP parameters, and what
    # the test DCs check of a client's proof.
    "srp": Target(
        "src/tlcodec/mtproto/srp.py",
        (
            "_in_range", "_check_salt", "_checked_group", "checked_parameters",
            "client_proof", "server_verify",
        ),
        ("tests/test_two_step.py",),
    ),
}

# ----------------------------------------------------------------------------------------------
# Mutation points

_NEGATION: dict[type, type] = {
    ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
_BOUNDARY: dict[type, type] = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
_EXITS = (ast.Raise, ast.Return, ast.Continue, ast.Break)


@dataclasses.dataclass
class Point:
    """One mutation point, found in a parsed module; `apply` makes the change in that tree."""

    function: str
    operator: str
    ordinal: int
    line: int
    original: str
    mutated: str
    apply: Callable[[], None]
    lines: tuple[int, int]  # the source lines whose running means the mutation point runs

    @property
    def id(self) -> str:
        """Stable across edits elsewhere in the file: function, operator, rank among its kind."""
        return f"{self.function}:{self.operator}:{self.ordinal}"


def _snippet(node: ast.AST) -> str:
    text = ast.unparse(node).splitlines()[0]
    return text if len(text) <= 90 else text[:87] + "..."


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef]]:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{node.name}.{item.name}", item


def _children_in_order(node: ast.AST) -> Iterator[ast.AST]:
    for _, value in ast.iter_fields(node):
        if isinstance(value, list):
            yield from (item for item in value if isinstance(item, ast.AST))
        elif isinstance(value, ast.AST):
            yield value


def find_points(tree: ast.Module, functions: tuple[str, ...]) -> list[Point]:
    """Every mutation point in `functions`, in source order, with ordinals per operator."""
    found = dict(_functions(tree))
    missing = [name for name in functions if name not in found]
    if missing:
        raise SystemExit(f"mutate.py: functions not found (renamed? update TARGETS): {missing}")
    points: list[Point] = []
    for name in functions:
        counts: dict[str, int] = {}

        def add(operator: str, node: Any, mutated: str, apply: Callable[[], None],
                shown: str | None = None) -> None:
            ordinal = counts.get(operator, 0)
            counts[operator] = ordinal + 1
            # An if statement runs its mutation point (its test) in the lines of its header.
            last = node.test.end_lineno if isinstance(node, ast.If) else node.end_lineno
            points.append(Point(name, operator, ordinal, node.lineno, shown or _snippet(node),
                                mutated, apply, (node.lineno, last)))

        _walk(found[name], None, add, None)
    return points


def _walk(node: ast.AST, parent: ast.AST | None, add: Any, condition: ast.AST | None) -> None:
    """Pre-order over the function body; `condition`: the innermost comparison or test of an
    if/while/assert/conditional expression around `node` (integer constants there are
    mutation points, shown within it)."""
    if isinstance(node, ast.JoinedStr):
        return  # error messages are not checks
    # Statement lists: raise -> pass, a check (if ... raise/return/...) deleted, assert deleted.
    for field in ("body", "orelse", "finalbody"):
        statements = getattr(node, field, None)
        if not isinstance(statements, list):
            continue
        for index, statement in enumerate(statements):
            _statement_points(statements, index, statement, add)
    if isinstance(node, ast.Compare):
        for index, op in enumerate(node.ops):
            _compare_point(node, index, op, _NEGATION, "negate", add)
            if type(op) in _BOUNDARY:
                _compare_point(node, index, op, _BOUNDARY, "boundary", add)
    elif isinstance(node, ast.BoolOp):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()

        def swap(node: ast.BoolOp = node, other: ast.AST = other) -> None:
            node.op = other

        add("and_or", node, ast.unparse(ast.BoolOp(other, node.values)).splitlines()[0], swap)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        def unwrap(node: ast.UnaryOp = node, parent: ast.AST | None = parent) -> None:
            _replace_child(parent, node, node.operand)

        add("not_removed", node, _snippet(node.operand), unwrap)
    elif condition is not None and isinstance(node, ast.Constant) and type(node.value) is int:
        for operator, delta in (("int_plus_one", 1), ("int_minus_one", -1)):
            def shift(node: ast.Constant = node, delta: int = delta) -> None:
                node.value = node.value + delta

            shift()
            mutated = _snippet(condition)
            shift(delta=-delta)
            add(operator, node, mutated, shift, shown=_snippet(condition))
    for child in _children_in_order(node):
        inner = condition
        if isinstance(node, ast.Compare):
            inner = node
        elif isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)) and child is node.test:
            inner = child
        _walk(child, node, add, inner)


def _replace_child(parent: ast.AST | None, old: ast.AST, new: ast.AST) -> None:
    assert parent is not None  # a `not` is never a function itself
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return
        if isinstance(value, list):
            for index, item in enumerate(value):
                if item is old:
                    value[index] = new
                    return
    raise AssertionError("node not found in its parent")


def _compare_point(node: ast.Compare, index: int, op: ast.cmpop, table: dict[type, type],
                   operator: str, add: Any) -> None:
    replacement = table[type(op)]()
    ops = list(node.ops)
    ops[index] = replacement
    shown = ast.unparse(ast.Compare(node.left, ops, node.comparators))

    def flip(node: ast.Compare = node, index: int = index, replacement: ast.cmpop = replacement
             ) -> None:
        node.ops[index] = replacement

    add(operator, node, shown if len(shown) <= 90 else shown[:87] + "...", flip)


def _statement_points(statements: list[ast.stmt], index: int, statement: ast.stmt,
                      add: Any) -> None:
    if isinstance(statement, ast.Raise):
        def to_pass(statements: list[ast.stmt] = statements, index: int = index) -> None:
            statements[index] = ast.Pass()

        add("raise_to_pass", statement, "pass", to_pass)
    elif isinstance(statement, ast.Assert) or (
        isinstance(statement, ast.If) and statement.body
        and isinstance(statement.body[-1], _EXITS)
    ):
        def delete(statements: list[ast.stmt] = statements, index: int = index,
                   statement: ast.stmt = statement) -> None:
            orelse = getattr(statement, "orelse", None) or [ast.Pass()]
            statements[index : index + 1] = orelse

        add("check_deleted", statement, "(deleted)", delete)


def mutated_source(source: str, functions: tuple[str, ...], point_id: str | None) -> str:
    """The module with the one mutation `point_id` (None: unchanged, as the tool writes it)."""
    tree = ast.parse(source)
    if point_id is not None:
        by_id = {point.id: point for point in find_points(tree, functions)}
        by_id[point_id].apply()
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def points_of(name: str) -> list[Point]:
    target = TARGETS[name]
    return find_points(ast.parse((ROOT / target.path).read_text()), target.functions)


# ----------------------------------------------------------------------------------------------
# Running


class Workspace:
    """A temporary copy of src/ and tests/ for one worker; mutants are written into it. The
    compiled modules come along (tests that compare both builds import them by name), with
    their times kept so that they are not taken for stale; TLCODEC_NO_EXTENSIONS=1 keeps the
    package itself on the plain code, the mutated module included."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tlcodec-mutation-"))
        self.server: subprocess.Popen[str] | None = None  # mutation_pytest_plugin.serve()
        self.run_pid: int | None = None
        ignore = shutil.ignore_patterns("__pycache__", "*.c", "*.html", "*.egg-info",
                                        ".hypothesis")
        shutil.copytree(ROOT / "src", self.root / "src", ignore=ignore)
        shutil.copytree(ROOT / "tests", self.root / "tests", ignore=ignore)
        shutil.copy(ROOT / "pyproject.toml", self.root / "pyproject.toml")
        # In the directory pytest runs from, which `python -m pytest` puts on sys.path.
        shutil.copy(ROOT / "tools" / "mutation_pytest_plugin.py", self.root)

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.write_text(text)
        for stale in (path.parent / "__pycache__").glob(path.stem + ".*.pyc"):
            stale.unlink()

    def run_tests(self, tests: list[str], timeout: float, **plugin_env: str
                  ) -> tuple[str, float, str]:
        """("killed" | "survived" | "timeout" | "error", seconds, the first failed test).
        `plugin_env`: MUTATION_* settings of tools/mutation_pytest_plugin.py."""
        if self.server is None:
            env = dict(os.environ, TLCODEC_NO_EXTENSIONS="1",
                       PYTHONPATH=str(self.root / "src"))
            env.pop("TLCODEC_REQUIRE_EXTENSIONS", None)
            self.server = subprocess.Popen(
                [sys.executable, "mutation_pytest_plugin.py"], cwd=self.root, env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        output = self.root / "pytest-output.txt"
        args = ["-x", "-q", "-p", "no:cacheprovider", "-p", "no:benchmark",
                "-p", "mutation_pytest_plugin", *tests]
        started = time.monotonic()
        assert self.server.stdin is not None and self.server.stdout is not None
        self.server.stdin.write(json.dumps(
            {"args": args, "env": plugin_env, "output": str(output)}) + "\n")
        self.server.stdin.flush()
        self.run_pid = json.loads(self.server.stdout.readline())["pid"]
        timer = threading.Timer(timeout, self.kill)
        timer.start()
        try:
            code = json.loads(self.server.stdout.readline())["exit"]
        finally:
            timer.cancel()
            self.run_pid = None
        elapsed = time.monotonic() - started
        if elapsed >= timeout and code < 0:
            return "timeout", elapsed, ""
        text = output.read_text(errors="replace")
        failed = next((line.split(" ", 1)[1].split(" - ")[0] for line in text.splitlines()
                       if line.startswith(("FAILED ", "ERROR "))), "")
        if code == 0:
            return "survived", elapsed, ""
        if code == 1:
            return "killed", elapsed, failed
        if code == 5:  # no tests ran: the selected ones were not collected (ids changed)
            return "error", elapsed, "none of the selected tests was collected"
        return "error", elapsed, text[-2000:]

    def kill(self) -> None:
        """End the test run in progress, with everything it started (its own session)."""
        pid = self.run_pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)

    def remove(self) -> None:
        self.kill()
        if self.server is not None:
            assert self.server.stdin is not None
            self.server.stdin.close()  # the server's loop ends
            self.server.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def trace_tests(workspace: Workspace, target: Target) -> dict[str, list[int]]:
    """{test node id: the lines of the target file it runs}, in the order the tests ran, from
    one run of the target's tests over the unmutated file."""
    traced = workspace.root / target.path
    out = workspace.root / "traced-lines.json"
    outcome, _, detail = workspace.run_tests(
        list(target.tests), timeout=3600, MUTATION_TRACE_FILE=str(traced),
        MUTATION_TRACE_OUT=str(out))
    if outcome != "survived":
        raise SystemExit(f"mutate.py: {target.path}: the tests fail without any mutant "
                         f"({outcome}): {detail}")
    lines_by_test: dict[str, list[int]] = json.loads(out.read_text())
    return lines_by_test


def check_workspace(workspace: Workspace) -> None:
    """The tests must import the copy, not the working tree, or no mutant would take effect."""
    env = dict(os.environ, TLCODEC_NO_EXTENSIONS="1", PYTHONPATH=str(workspace.root / "src"))
    where = subprocess.run(
        [sys.executable, "-c", "import tlcodec.mtproto.session as m; print(m.__file__)"],
        cwd=workspace.root, env=env, capture_output=True, text=True, check=True).stdout.strip()
    if not where.startswith(str(workspace.root)):
        raise SystemExit(f"mutate.py: the tests import {where}, not the workspace copy")


def load_results() -> dict[str, dict[str, Any]]:
    if RESULTS.exists():
        return json.loads(RESULTS.read_text())["mutants"]
    return {}


def save_results(mutants: dict[str, dict[str, Any]]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tests = {name: list(target.tests) for name, target in TARGETS.items()}
    RESULTS.write_text(json.dumps({"commit": _commit(), "tests": tests, "mutants": mutants},
                                  indent=1, sort_keys=True) + "\n")


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run(names: list[str], jobs: int, only: set[str] | None, timeout_factor: float) -> None:
    results = load_results()
    workspaces = [Workspace() for _ in range(jobs)]
    free: list[Workspace] = list(workspaces)
    lock = threading.Lock()
    try:
        check_workspace(workspaces[0])
        for name in names:
            target = TARGETS[name]
            source = (ROOT / target.path).read_text()
            points = [p for p in points_of(name) if only is None or f"{name}/{p.id}" in only]
            if not points:
                continue
            baseline = workspaces[0]
            lines_by_test = trace_tests(baseline, target)
            # The unmutated module as the tool writes it (ast.unparse) must pass too; its run
            # time is what every mutant's timeout is measured from.
            baseline.write(target.path, mutated_source(source, target.functions, None))
            outcome, seconds, detail = baseline.run_tests(list(target.tests), timeout=1800)
            baseline.write(target.path, source)
            if outcome != "survived":
                raise SystemExit(f"mutate.py: {name}: the tests fail on the unparsed module "
                                 f"({outcome}): {detail}")
            timeout = max(60.0, seconds * timeout_factor)
            print(f"{name}: {len(points)} mutants; {len(lines_by_test)} tests pass unmutated "
                  f"in {seconds:.0f} s, timeout {timeout:.0f} s", flush=True)

            def one(point: Point, target: Target = target, source: str = source,
                    timeout: float = timeout, name: str = name) -> None:
                first, last = point.lines
                covering = [test for test, lines in lines_by_test.items()
                            if any(first <= line <= last for line in lines)]
                if not covering:
                    outcome, seconds, detail = "survived", 0.0, UNCOVERED
                else:
                    with lock:
                        workspace = free.pop()
                    try:
                        workspace.write(target.path,
                                        mutated_source(source, target.functions, point.id))
                        selection = workspace.root / "selected-tests.txt"
                        selection.write_text("\n".join(covering) + "\n")
                        files = list(dict.fromkeys(test.split("::")[0] for test in covering))
                        outcome, seconds, detail = workspace.run_tests(
                            files, timeout, MUTATION_SELECT=str(selection))
                    finally:
                        workspace.write(target.path, source)
                        with lock:
                            free.append(workspace)
                record = {"target": name, "file": target.path, "line": point.line,
                          "function": point.function, "operator": point.operator,
                          "original": point.original, "mutated": point.mutated,
                          "outcome": outcome, "seconds": round(seconds, 1), "detail": detail}
                with lock:
                    results[f"{name}/{point.id}"] = record
                    print(f"  {outcome:8} {seconds:5.1f} s  {target.path}:{point.line} "
                          f"{point.id}  {point.original}  ->  {point.mutated}", flush=True)
                    save_results(results)

            pool = concurrent.futures.ThreadPoolExecutor(jobs)
            try:
                for future in [pool.submit(one, point) for point in points]:
                    future.result()
            finally:  # on an error or a signal too: no test run outlives the tool
                pool.shutdown(wait=False, cancel_futures=True)
                for workspace in workspaces:
                    workspace.kill()
                pool.shutdown(wait=True)
            # Points that no longer exist (the code changed) leave the results.
            current = {f"{name}/{p.id}" for p in points_of(name)}
            for key in [k for k, v in results.items() if v["target"] == name and k not in current]:
                del results[key]
            save_results(results)
    finally:
        for workspace in workspaces:
            workspace.remove()


# ----------------------------------------------------------------------------------------------
# Report


def load_equivalents() -> dict[str, str]:
    """{"target/id": reason} from tools/mutation_equivalents.toml (tables per target)."""
    data = tomllib.loads(EQUIVALENTS.read_text()) if EQUIVALENTS.exists() else {}
    equivalents = {}
    for name, table in data.items():
        if name not in TARGETS:
            raise SystemExit(f"mutate.py: {EQUIVALENTS.name}: unknown target [{name}]")
        for point_id, reason in table.items():
            if not isinstance(reason, str) or not reason.strip():
                raise SystemExit(f"mutate.py: {EQUIVALENTS.name}: {name}/{point_id} needs a reason")
            equivalents[f"{name}/{point_id}"] = reason
    return equivalents


def summarize(mutants: dict[str, dict[str, Any]], equivalents: dict[str, str]
              ) -> dict[str, dict[str, int]]:
    table = {name: dict.fromkeys(("mutants", "killed", "timeout", "survived", "equivalent",
                                  "error"), 0) for name in TARGETS}
    for key, record in mutants.items():
        row = table[record["target"]]
        row["mutants"] += 1
        if record["outcome"] == "survived" and key in equivalents:
            row["equivalent"] += 1
        else:
            row[record["outcome"]] += 1
    return table


def _score(row: dict[str, int]) -> str:
    counted = row["mutants"] - row["equivalent"]
    if not counted:
        return "-"
    return f"{100 * (row['killed'] + row['timeout']) / counted:.1f}%"


def _table(summary: dict[str, dict[str, int]]) -> list[str]:
    lines = ["| file | mutants | killed | timeout | survived | equivalent | score |",
             "| --- | --: | --: | --: | --: | --: | --: |"]
    for name, row in summary.items():
        if row["mutants"]:
            errors = f" ({row['error']} errors)" if row["error"] else ""
            lines.append(f"| `{TARGETS[name].path}` | {row['mutants']} | {row['killed']} | "
                         f"{row['timeout']} | {row['survived']}{errors} | {row['equivalent']} | "
                         f"{_score(row)} |")
    return lines


def _where(record: dict[str, Any]) -> str:
    return f"`{record['file'].removeprefix('src/')}:{record['line']}`"


def _mutation(record: dict[str, Any]) -> str:
    original = record["original"].replace("|", "\\|")
    mutated = record["mutated"].replace("|", "\\|")
    return f"`{original}` → `{mutated}`"


def write_report(baseline_path: Path | None) -> None:
    mutants = load_results()
    equivalents = load_equivalents()
    stale = sorted(set(equivalents) - set(mutants))
    summary = summarize(mutants, equivalents)
    lines = [
        "# Mutation report",
        "",
        "Written by `tools/mutate.py` (see [MUTATION.md](MUTATION.md)) from the results of "
        f"commit {_commit_of_results()}. Score = (killed + timeout) / (mutants − equivalent).",
        "",
        *_table(summary),
        "",
    ]
    survivors = [(k, r) for k, r in sorted(mutants.items(), key=_order)
                 if r["outcome"] in ("survived", "error") and k not in equivalents]
    lines += ["## Surviving mutants", ""]
    if survivors:
        lines += [f"- {_where(r)} `{k}`: {_mutation(r)}"
                  + (" (no test runs this code)" if r["detail"] == UNCOVERED else "")
                  + (" (error: the test run did not end normally)" if r["outcome"] == "error"
                     else "") for k, r in survivors]
    else:
        lines.append("None: every mutant that is not equivalent is killed.")
    lines += ["", "## Equivalent mutants", "",
              "Listed with their reason in `tools/mutation_equivalents.toml`.", ""]
    for key, record in sorted(mutants.items(), key=_order):
        if key in equivalents and record["outcome"] == "survived":
            lines.append(f"- {_where(record)} `{key}`: {_mutation(record)}. "
                         f"{equivalents[key]}")
    killed_anyway = sorted(k for k in equivalents if k in mutants
                           and mutants[k]["outcome"] != "survived")
    if killed_anyway or stale:
        lines += ["", "Entries of `tools/mutation_equivalents.toml` that do not apply: "
                  + ", ".join(f"`{k}` ({'killed' if k in mutants else 'no such point'})"
                              for k in killed_anyway + stale) + "."]
    if baseline_path is not None:
        before = json.loads(baseline_path.read_text())
        lines += ["", "## An earlier run, for comparison", "",
                  f"The same mutation points over commit {before['commit']} (equivalents as "
                  "above):", "", *_table(summarize(before["mutants"], equivalents)), ""]
        for name, tests in before.get("tests", {}).items():
            if name in TARGETS and list(TARGETS[name].tests) != tests:
                lines.append(f"Its `{name}` tests were " + ", ".join(
                    f"`{test}`" for test in tests) + ".")
        lines += ["", "Its survivors, and what became of each:", ""]
        for key, record in sorted(before["mutants"].items(), key=_order):
            if record["outcome"] not in ("survived", "error") or key in equivalents:
                continue
            now = mutants.get(key)
            if now is None:
                fate = "the code changed: no such point now"
            elif key in equivalents and now["outcome"] == "survived":
                fate = f"equivalent: {equivalents[key]}"
            elif now["outcome"] in ("killed", "timeout"):
                fate = f"killed by `{now['detail'] or 'a hang'}`" if now["outcome"] == "killed" \
                    else "killed (the tests hang)"
            else:
                fate = "still survives"
            lines.append(f"- {_where(record)} `{key}`: {_mutation(record)}: {fate}")
    REPORT.write_text("\n".join(lines) + "\n")
    print(f"wrote {REPORT.relative_to(ROOT)}")
    for line in _table(summary):
        print(line)


def _order(item: tuple[str, dict[str, Any]]) -> tuple[int, int, str]:
    key, record = item
    return list(TARGETS).index(record["target"]), record["line"], key


def _commit_of_results() -> str:
    return json.loads(RESULTS.read_text())["commit"] if RESULTS.exists() else "none"


# ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="print the mutation points")
    listing.add_argument("targets", nargs="*", metavar="TARGET", help=", ".join(TARGETS))
    running = commands.add_parser("run", help="run the mutants, then write the report")
    running.add_argument("targets", nargs="*", metavar="TARGET", help=", ".join(TARGETS))
    running.add_argument("--jobs", type=int, default=2, help="mutants at once (default 2)")
    running.add_argument("--only", nargs="+", metavar="TARGET/ID", help="just these mutants")
    running.add_argument("--survivors", action="store_true",
                         help="just the mutants that survived the last run")
    running.add_argument("--timeout-factor", type=float, default=3.0,
                         help="timeout = this times the unmutated run (at least 60 s)")
    reporting = commands.add_parser("report", help="write docs/mutation-report.md")
    reporting.add_argument("--baseline", type=Path, help="an earlier results.json to compare")
    args = parser.parse_args(argv)
    wanted = getattr(args, "targets", None) or list(TARGETS)
    unknown = [name for name in wanted if name not in TARGETS]
    if unknown:
        parser.error(f"unknown targets {unknown}; the targets are {', '.join(TARGETS)}")
    names = [name for name in TARGETS if name in wanted]
    if args.command == "list":
        for name in names:
            for point in points_of(name):
                print(f"{name}/{point.id}  {TARGETS[name].path}:{point.line}  "
                      f"{point.original}  ->  {point.mutated}")
        return
    if args.command == "run":
        only = set(args.only) if args.only else None
        if args.survivors:
            only = {k for k, r in load_results().items() if r["outcome"] in ("survived", "error")}
        if not 1 <= args.jobs <= 8:
            parser.error("--jobs must be 1..8")
        started = time.monotonic()
        # SIGTERM (kill PID) ends the run as Ctrl-C does: test runs killed, workspaces removed.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
        run(names, args.jobs, only, args.timeout_factor)
        print(f"ran in {datetime.timedelta(seconds=round(time.monotonic() - started))}")
    write_report(getattr(args, "baseline", None))


if __name__ == "__main__":
    main()
