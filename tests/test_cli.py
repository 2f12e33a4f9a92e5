"""The command line (`python -m tlcodec`), run as a user runs it: a subprocess whose output is
read as it streams.

- `demo`: exits 0 with the steps of the login in order, a QR code that is exactly the code of
  the printed URL, the user, and session strings that `Session.from_string` and Telethon's
  `StringSession` accept; silent on stderr unless `-v`.
- `serve`: prints where its DCs are and their key; our client calls help.getConfig there;
  SIGINT and SIGTERM stop it with exit 0; non-loopback hosts are refused; a key file is
  created, then reused.
- `qr-login` against a `serve` process (`--server`, `--rsa-key-file`: the path a user of a
  private server takes): the test plays the phone with the logged-in device session `serve`
  prints, accepting the token read from `qr-login`'s output; the migration, the saved session,
  an expired code replaced, a 2FA account (the password from the environment; wrong: exit 3;
  no terminal: exit 3; typed in a real pseudo-terminal, not echoed, after a wrong one), nobody
  scanning (exit 1), no server.
- `decode` and `encode-example`; argument parsing.

Every process has a deadline and is killed if the test ends first. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import base64
import io
import os
import queue
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import segno

import tlcodec
from tlcodec import functions
from tlcodec.cli import build_parser, main
from tlcodec.cli.qr_login import load_public_keys, parse_server
from tlcodec.cli.serve import AccountSpec, check_host, parse_account, parse_port_base
from tlcodec.cli.terminal import QUIET_ZONE, draw_qr
from tlcodec.client import Client, Session
from tlcodec.crypto import RSAPrivateKey, RSAPublicKey

from support import API_HASH, API_ID, free_port, run_scenario

URL_LINE = re.compile(r"^tg://login\?token=([A-Za-z0-9_-]+)$")
# What a person sees when something went wrong inside: never expected on stderr.
TRACEBACK = "Traceback (most recent call last)"
# The half blocks of a drawn QR code (see tlcodec.cli.terminal).
QR_CHARS = frozenset("\u2588\u2580\u2584 ")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and pipes")


# ----------------------------------------------------------------------------------------------
# Running the command line


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONIOENCODING"] = "utf-8"  # the QR blocks, whatever this machine's locale
    env.pop("COLUMNS", None)
    env.pop("TLCODEC_PASSWORD", None)  # a test gives it when it means to
    return env


def run_cli(*args: str, timeout: float = 60.0, stdin: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tlcodec", *args], input=stdin, capture_output=True,
        text=True, encoding="utf-8", timeout=timeout, env=_env(),
    )


class CliProcess:
    """`python -m tlcodec ARGS` running; its stdout read line by line as it comes."""

    def __init__(self, *args: str, env: dict[str, str] | None = None,
                 no_terminal: bool = False) -> None:
        self.args = args
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tlcodec", *args], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
            env={**_env(), **(env or {})},
            start_new_session=no_terminal,  # no controlling terminal: /dev/tty cannot open
        )
        self.lines: list[str] = []
        self._new_lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._new_lines.put(line.rstrip("\n"))
        self._new_lines.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self._stderr.extend(self.process.stderr)

    def expect(self, pattern: str | re.Pattern[str], timeout: float = 30.0) -> re.Match[str]:
        """Wait for the next stdout line matching `pattern` (lines before it are kept)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._new_lines.get(timeout=max(remaining, 0))
            except queue.Empty:
                raise AssertionError(
                    f"no line matching {regex.pattern!r} within {timeout} s; so far:\n"
                    f"{self.stdout}\nstderr:\n{self.stderr}") from None
            if line is None:
                self._new_lines.put(None)  # stays at the end for the next caller
                raise AssertionError(
                    f"the process ended (exit {self.process.wait(5)}) before a line matching "
                    f"{regex.pattern!r}:\n{self.stdout}\nstderr:\n{self.stderr}")
            self.lines.append(line)
            match = regex.search(line)
            if match is not None:
                return match

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for the exit; every line of stdout is read by then."""
        code = self.process.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        while True:
            line = self._new_lines.get_nowait() if not self._new_lines.empty() else None
            if line is None:
                break
            self.lines.append(line)
        return code

    @property
    def stdout(self) -> str:
        return "\n".join(self.lines)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> CliProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# ----------------------------------------------------------------------------------------------
# Reading what the commands print


def token_of(url: str) -> bytes:
    encoded = url.removeprefix("tg://login?token=")
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def qr_blocks(lines: list[str]) -> list[list[str]]:
    """Every drawn QR code in `lines`: runs of lines made of half blocks only."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line and set(line) <= QR_CHARS and "\u2588" in line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def modules_of(block: list[str], invert: bool = False) -> list[list[bool]]:
    """The modules a drawn code shows (True: dark), two rows per text line."""
    dark_top = {" ": True, "\u2584": True, "\u2580": False, "\u2588": False}
    dark_bottom = {" ": True, "\u2580": True, "\u2584": False, "\u2588": False}
    rows: list[list[bool]] = []
    for line in block:
        rows.append([dark_top[c] != invert for c in line])
        rows.append([dark_bottom[c] != invert for c in line])
    return rows


def segno_modules(url: str) -> list[list[bool]]:
    code = segno.make(url, micro=False)
    return [[bool(m) for m in row] for row in code.matrix_iter(scale=1, border=QUIET_ZONE)]


def session_string_after(lines: list[str], label: str) -> str:
    """The indented line after the first line starting with `label`."""
    for index, line in enumerate(lines):
        if line.startswith(label):
            return lines[index + 1].strip()
    raise AssertionError(f"no {label!r} line in:\n" + "\n".join(lines))


class ServeInfo:
    """What `serve` printed: DC addresses, the public key, the accounts' device sessions."""

    def __init__(self, text: str) -> None:
        self.addresses = {
            int(dc): (host, int(port))
            for dc, host, port in re.findall(r"^  DC (\d+): ([0-9.]+):(\d+)", text, re.M)
        }
        pem = re.search(r"-----BEGIN RSA PUBLIC KEY-----.+?-----END RSA PUBLIC KEY-----", text,
                        re.S)
        assert pem is not None, text
        self.public_key_pem = pem.group(0)
        self.public_key = RSAPublicKey.from_pem(self.public_key_pem)
        fingerprint = re.search(r"fingerprint: ([0-9a-f]{16})", text)
        assert fingerprint is not None, text
        self.fingerprint = int(fingerprint.group(1), 16)
        self.devices = {
            name: (int(user_id), int(dc_id), session)
            for name, user_id, dc_id, session in re.findall(
                r"^  (\w+), user (\d+) on DC (\d+):\n    tlcodec:  (tlc1:\S+)$", text, re.M)
        }


def start_serve(*args: str) -> tuple[CliProcess, ServeInfo]:
    process = CliProcess("serve", "--port-base", "ephemeral", *args)
    try:
        process.expect(r"^Serving until Ctrl-C", timeout=30)
    except BaseException:
        process.close()
        raise
    return process, ServeInfo(process.stdout)


def accept_login(info: ServeInfo, account: str, url: str) -> Any:
    """The account's phone (the device session `serve` printed) accepts the token in `url`."""
    _user_id, dc_id, session = info.devices[account]
    host, port = info.addresses[dc_id]

    async def scenario() -> Any:
        phone = Client(API_ID, API_HASH, session, dc=(dc_id, host, port),
                       rsa_keys=[info.public_key], ping_interval=None)
        async with phone:
            return await phone.invoke(functions.auth.AcceptLoginToken(token=token_of(url)))

    return run_scenario(scenario)


# ----------------------------------------------------------------------------------------------
# demo


@pytest.fixture(scope="module")
def demo_run() -> subprocess.CompletedProcess[str]:
    return run_cli("demo", timeout=60)


def test_demo_exits_0_and_prints_nothing_on_stderr(demo_run: Any) -> None:
    assert demo_run.returncode == 0, demo_run.stderr
    assert demo_run.stderr == ""  # the library's log stays quiet without -v


def test_demo_prints_the_steps_of_the_login_in_order(demo_run: Any) -> None:
    out = demo_run.stdout
    steps = [
        "Starting 3 test DCs on 127.0.0.1: ",
        "Created a test account living on DC 3:",
        "Alice's phone: a second client",
        "The new device: connecting to DC 2 (127.0.0.1:",
        "Calling auth.exportLoginToken ...",
        "Scan this QR code with a logged-in Telegram app:",
        "tg://login?token=",
        "Alice's phone scans the code: auth.acceptLoginToken on DC 3",
        "Token accepted; the account lives on DC 3: migrating ...",
        "Connecting to DC 3 (a new auth key there",
        "Calling auth.importLoginToken on DC 3 ...",
        "The account has a two-step verification password (hint: what Alice went through)",
        "Calling auth.checkPassword on DC 3 (an SRP proof: the password itself is not sent)",
        "DC 3 accepted the password: logged in.",
        "Logged in as Alice Liddell (@alice), phone +15550001111, user id ",
        "Session string for tlcodec",
        "Telethon StringSession (DC 3 only):",
        "Done in ",
    ]
    positions = [out.find(step) for step in steps]
    missing = [step for step, position in zip(steps, positions) if position < 0]
    assert not missing, f"missing {missing} in:\n{out}"
    assert positions == sorted(positions), out
    assert "DC 2 pushed updateLoginToken" in out


def test_demo_draws_exactly_the_qr_code_of_the_printed_url(demo_run: Any) -> None:
    lines = demo_run.stdout.splitlines()
    urls = [line for line in lines if URL_LINE.match(line)]
    blocks = qr_blocks(lines)
    assert len(urls) == 1 and len(blocks) == 1, demo_run.stdout
    block = blocks[0]
    # Fits an 80x24 terminal: a version 4 code with its quiet zone, two module rows a line.
    assert len(block) <= 21 and all(len(line) <= 41 for line in block)
    assert lines.index(block[0]) < lines.index(urls[0])
    drawn = modules_of(block)
    expected = segno_modules(urls[0])
    assert drawn[:len(expected)] == expected
    assert all(not any(row) for row in drawn[len(expected):])  # the odd half row is light


def test_demo_prints_the_logged_in_user(demo_run: Any) -> None:
    match = re.search(r"^Logged in as Alice Liddell \(@alice\), phone \+15550001111, "
                      r"user id (\d+)\.$", demo_run.stdout, re.M)
    assert match is not None, demo_run.stdout
    assert f"on DC 3, the home DC now: user id {match.group(1)}" in demo_run.stdout


def test_demo_session_string_is_accepted_by_session_from_string(demo_run: Any) -> None:
    lines = demo_run.stdout.splitlines()
    text = session_string_after(lines, "Session string for tlcodec")
    session = Session.from_string(text)
    user_id = int(re.search(r"user id (\d+)\.$", demo_run.stdout, re.M).group(1))  # type: ignore[union-attr]
    assert session.home_dc == 3 and session.user_id == user_id
    assert sorted(dc for dc, auth in session.dcs.items() if auth.auth_key) == [2, 3]
    assert session.dcs[3].host == "127.0.0.1"


def test_demo_telethon_string_is_accepted_by_telethons_string_session(demo_run: Any) -> None:
    from telethon.sessions import StringSession

    lines = demo_run.stdout.splitlines()
    ours = Session.from_string(session_string_after(lines, "Session string for tlcodec"))
    telethon = StringSession(session_string_after(lines, "Telethon StringSession"))
    assert telethon.dc_id == 3
    assert telethon.server_address == "127.0.0.1" and telethon.port == ours.dcs[3].port
    assert telethon.auth_key.key == ours.dcs[3].auth_key


def test_demo_verbose_shows_the_library_log_on_stderr() -> None:
    result = run_cli("demo", "-v", "--scan-delay", "0", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "tlcodec.client INFO" in result.stderr
    assert "tlcodec.testing INFO" in result.stderr
    assert TRACEBACK not in result.stderr
    assert "Logged in as Alice Liddell" in result.stdout


# ----------------------------------------------------------------------------------------------
# Drawing QR codes


@pytest.mark.parametrize("invert", [False, True])
def test_draw_qr_draws_the_modules_of_the_code_with_half_blocks(invert: bool) -> None:
    url = "tg://login?token=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"
    out = io.StringIO()
    draw_qr(url, out, invert=invert)
    block = out.getvalue().splitlines()
    assert len(block) == 21 and {len(line) for line in block} == {41}  # version 4, zone 4
    assert set("".join(block)) <= QR_CHARS
    expected = segno_modules(url)
    assert modules_of(block, invert=invert)[:len(expected)] == expected


def test_draw_qr_falls_back_to_ansi_where_the_blocks_cannot_be_encoded() -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    draw_qr("tg://login?token=AQID", out)
    text = raw.getvalue().decode("ascii")
    assert "\x1b[7m" in text and "\x1b[0m" in text  # reverse video blocks, no Unicode


# ----------------------------------------------------------------------------------------------
# serve


def test_serve_prints_its_dcs_and_key_answers_help_get_config_and_stops_on_sigint() -> None:
    process, info = start_serve("--account", "Alice:15550001111:3")
    with process:
        assert sorted(info.addresses) == [1, 2, 3]
        assert all(host == "127.0.0.1" for host, _ in info.addresses.values())
        assert info.public_key.fingerprint == info.fingerprint
        assert "Alice" in info.devices and info.devices["Alice"][1] == 3
        host, port = info.addresses[2]

        async def scenario() -> Any:
            async with Client(API_ID, API_HASH, dc=(2, host, port), rsa_keys=[info.public_key],
                              ping_interval=None) as client:
                return await client.get_config()

        config = run_scenario(scenario)
        assert config.this_dc == 2
        assert {option.id: (option.ip_address, option.port)
                for option in config.dc_options} == info.addresses
        process.process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
        assert process.lines[-1] == "Stopped."
        assert "SIGINT: stopping the test DCs" in process.stdout
        assert TRACEBACK not in process.stderr


def test_serve_stops_cleanly_on_sigterm() -> None:
    process, _info = start_serve("--dcs", "1,2")
    with process:
        process.process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        assert "SIGTERM: stopping the test DCs" in process.stdout
        assert TRACEBACK not in process.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.invalid"])
def test_serve_refuses_a_non_loopback_host_without_binding(host: str) -> None:
    # Refused before any socket is made: nothing listens on these addresses in the test.
    with pytest.raises(ValueError, match="loopback"):
        check_host(host, allow_non_loopback=False)


def test_serve_with_a_non_loopback_host_exits_2_and_says_why() -> None:
    result = run_cli("serve", "--host", "0.0.0.0", "--port-base", "ephemeral", timeout=30)
    assert result.returncode == 2
    assert "not a loopback address" in result.stderr and "--allow-non-loopback" in result.stderr
    assert TRACEBACK not in result.stderr and result.stdout == ""


def test_loopback_hosts_are_accepted() -> None:
    assert check_host("127.0.0.1", False) == "127.0.0.1"
    assert check_host("127.0.0.2", False) == "127.0.0.2"
    assert check_host("::1", False) == "::1"
    assert check_host("localhost", False) == "127.0.0.1"


def test_serve_creates_its_key_file_then_reuses_it(tmp_path: Path) -> None:
    key_file = tmp_path / "dc.pem"
    fingerprints = []
    for _ in range(2):
        process, info = start_serve("--dcs", "2", "--rsa-key-file", str(key_file))
        with process:
            fingerprints.append(info.fingerprint)
            process.process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0
    assert fingerprints[0] == fingerprints[1]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert RSAPrivateKey.from_pem(key_file.read_bytes()).public_key.fingerprint == fingerprints[0]


# ----------------------------------------------------------------------------------------------
# qr-login against a serve process


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeInfo, Path]]:
    """A `serve` for the qr-login tests; yields what it printed and its public key in a file
    (the PEM as printed, which is what a user copies)."""
    process, info = start_serve("--account", "Alice:15550001111:3",
                                "--account", "Bob:15550002222:3:hunter2")
    key_file = tmp_path_factory.mktemp("serve") / "public.pem"
    key_file.write_text(info.public_key_pem + "\n", encoding="ascii")
    with process:
        yield info, key_file
        process.process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0


def qr_login_args(info: ServeInfo, key_file: Path, *args: str, dc: int = 2) -> list[str]:
    host, port = info.addresses[dc]
    return ["qr-login", "--api-id", str(API_ID), "--api-hash", API_HASH,
            "--server", f"{host}:{port}", "--dc", str(dc), "--rsa-key-file", str(key_file),
            *args]


def qr_login_to(info: ServeInfo, key_file: Path, *args: str, dc: int = 2,
                **options: Any) -> CliProcess:
    return CliProcess(*qr_login_args(info, key_file, *args, dc=dc), **options)


def test_qr_login_against_serve_migrates_to_the_accounts_dc_and_saves_the_session(
        served: Any, tmp_path: Path) -> None:
    info, key_file = served
    session_file = tmp_path / "me.session"
    with qr_login_to(info, key_file, "--session", str(session_file), "--timeout", "30") as login:
        url = login.expect(URL_LINE).group(0)
        authorization = accept_login(info, "Alice", url)
        assert authorization.device_model  # the phone now lists the new device
        assert login.wait(30) == 0, login.stderr
        out = login.stdout
        assert "Scan this QR code with a logged-in Telegram app:" in out
        assert len(qr_blocks(login.lines)) == 1
        assert "Token accepted; the account lives on DC 3: migrating ..." in out
        assert "Calling auth.importLoginToken on DC 3 ..." in out
        user_id = info.devices["Alice"][0]
        assert f"Logged in as Alice, phone +15550001111, user id {user_id}; the account " \
               "lives on DC 3." in out
        assert f"Session saved to {session_file}" in out
        assert "tlc1:" not in out  # with --session, no secrets on the terminal
        assert login.stderr == ""
    session = Session.from_file(session_file)
    assert session.home_dc == 3 and session.user_id == user_id
    assert session.dcs[3].auth_key is not None

    # Run again with the same session: it is logged in already, nothing to scan.
    with qr_login_to(info, key_file, "--session", str(session_file)) as again:
        assert again.wait(30) == 0, again.stderr
        assert f"already logged in as Alice, phone +15550001111, user id {user_id}" in \
            again.stdout
        assert "tg://login" not in again.stdout


def test_qr_login_of_an_account_with_a_password_takes_it_from_the_environment(
        served: Any) -> None:
    info, key_file = served
    with qr_login_to(info, key_file, "--timeout", "30",
                     env={"TLCODEC_PASSWORD": "hunter2"}) as login:
        url = login.expect(URL_LINE).group(0)
        accept_login(info, "Bob", url)
        assert login.wait(30) == 0, login.stderr
        out = login.stdout
        assert "Calling auth.checkPassword on DC 3 (an SRP proof" in out
        assert "DC 3 accepted the password: logged in." in out
        user_id = info.devices["Bob"][0]
        assert f"Logged in as Bob, phone +15550002222, user id {user_id}" in out
        assert "hunter2" not in out and "hunter2" not in login.stderr
        assert login.stderr == ""


def test_qr_login_with_a_wrong_password_in_the_environment_exits_3(served: Any) -> None:
    info, key_file = served
    with qr_login_to(info, key_file, "--timeout", "30", "--password-env", "BOBS_PASSWORD",
                     env={"BOBS_PASSWORD": "hunter3"}) as login:
        url = login.expect(URL_LINE).group(0)
        accept_login(info, "Bob", url)
        assert login.wait(30) == 3
        assert "password was wrong (PASSWORD_HASH_INVALID)" in login.stderr
        assert TRACEBACK not in login.stderr
        assert "Logged in" not in login.stdout


def test_qr_login_with_no_terminal_and_no_password_variable_exits_3_saying_so(
        served: Any) -> None:
    info, key_file = served
    with qr_login_to(info, key_file, "--timeout", "30", no_terminal=True) as login:
        url = login.expect(URL_LINE).group(0)
        accept_login(info, "Bob", url)
        assert login.wait(30) == 3
        assert "This account has a two-step verification password (no hint)." in login.stdout
        assert "the password could not be read" in login.stderr
        assert "set $TLCODEC_PASSWORD" in login.stderr
        assert TRACEBACK not in login.stderr


def test_qr_login_asks_for_the_password_on_the_terminal_without_echo(served: Any) -> None:
    """A real terminal (a pseudo-terminal the command runs in): the hint line, the prompt, a
    wrong password then the right one, typed as a person would; neither is echoed."""
    info, key_file = served
    with PtyScreen.run(*qr_login_args(info, key_file, "--timeout", "30")) as screen:
        url = screen.expect(r"tg://login\?token=[A-Za-z0-9_-]+").group(0)
        accept_login(info, "Bob", url)
        screen.expect(r"two-step verification password \(no hint\)")
        screen.expect(r"Password \(not shown as you type\): ")
        screen.press(b"not-bobs-password\n")
        screen.expect(r"Password \(not shown as you type\): ")
        screen.press(b"hunter2\n")
        screen.expect(r"Logged in as Bob, phone \+15550002222")
        assert screen.wait() == 0, screen.text
    assert "not-bobs-password" not in screen.text and "hunter2" not in screen.text
    assert TRACEBACK not in screen.text


def test_ctrl_c_at_the_password_prompt_exits_130_and_gives_the_terminal_its_echo_back(
        served: Any) -> None:
    import termios

    info, key_file = served
    with PtyScreen.run(*qr_login_args(info, key_file, "--timeout", "30")) as screen:
        url = screen.expect(r"tg://login\?token=[A-Za-z0-9_-]+").group(0)
        accept_login(info, "Bob", url)
        screen.expect(r"Password \(not shown as you type\): ")
        assert not screen.local_flags() & termios.ECHO  # getpass turned it off
        screen.press(b"\x03")  # Ctrl-C, as the terminal sends it
        screen.expect(r"interrupted")
        assert screen.wait() == 130, screen.text
        assert screen.local_flags() & termios.ECHO, "the terminal was left without echo"


class PtyScreen:
    """`python -m tlcodec ARGS` in a pseudo-terminal (its controlling terminal, as a person's
    shell gives it): what it writes, read as it comes, and keys typed to it."""

    def __init__(self, pid: int, terminal: int) -> None:
        self.pid = pid
        self.terminal = terminal
        self.text = ""
        self._searched = 0

    @classmethod
    def run(cls, *args: str) -> PtyScreen:
        import pty

        pid, terminal = pty.fork()
        if pid == 0:  # the child: the command, in the terminal
            try:
                os.execve(sys.executable, [sys.executable, "-m", "tlcodec", *args], _env())
            finally:
                os._exit(127)
        return cls(pid, terminal)

    def press(self, keys: bytes) -> None:
        os.write(self.terminal, keys)

    def local_flags(self) -> int:
        """The terminal's lflag word (ECHO, ICANON, ...) as the command left it."""
        import termios

        return int(termios.tcgetattr(self.terminal)[3])

    def wait(self) -> int:
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        return os.waitstatus_to_exitcode(status)

    def __enter__(self) -> PtyScreen:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.terminal)

    def expect(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        import select

        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.text, self._searched)
            if match is not None:
                self._searched = match.end()
                return match
            remaining = deadline - time.monotonic()
            readable, _, _ = select.select([self.terminal], [], [], max(remaining, 0))
            if not readable:
                raise AssertionError(f"no {pattern!r} within {timeout} s in:\n{self.text}")
            try:
                chunk = os.read(self.terminal, 65536)
            except OSError:  # the command ended: the terminal is closed
                chunk = b""
            if not chunk:
                raise AssertionError(f"the command ended before {pattern!r}:\n{self.text}")
            self.text += chunk.decode("utf-8", "replace").replace("\r\n", "\n")


def test_qr_login_nobody_scans_exits_1_after_its_timeout(served: Any) -> None:
    info, key_file = served
    with qr_login_to(info, key_file, "--timeout", "0.5") as login:
        login.expect(URL_LINE)
        assert login.wait(30) == 1
        assert "not accepted within 0.5 s" in login.stderr
        assert TRACEBACK not in login.stderr


def test_qr_login_stops_on_ctrl_c_with_exit_130(served: Any) -> None:
    info, key_file = served
    with qr_login_to(info, key_file) as login:
        login.expect(r"^Waiting for a device to accept it")
        login.process.send_signal(signal.SIGINT)
        assert login.wait(30) == 130
        assert login.stderr.strip() == "interrupted"


def test_qr_login_shows_a_new_code_when_the_token_expires(tmp_path: Path) -> None:
    key_file = tmp_path / "dc.pem"  # the server's private key file: qr-login takes its public half
    process, info = start_serve("--token-ttl", "1", "--rsa-key-file", str(key_file),
                                "--account", "Carol:15550003333:2")
    with process, qr_login_to(info, key_file, "--timeout", "30") as login:
        first = login.expect(URL_LINE).group(0)
        login.expect(r"^The code expired; a new one replaces it\.$")
        second = login.expect(URL_LINE).group(0)
        assert second != first
        accept_login(info, "Carol", second)
        assert login.wait(30) == 0, login.stderr
        assert "Logged in as Carol" in login.stdout
        assert len(qr_blocks(login.lines)) >= 2
        # Without --session the login would be lost: the session strings are printed.
        ours = Session.from_string(session_string_after(login.lines, "Session string"))
        assert ours.home_dc == 2 and ours.user_id == info.devices["Carol"][0]
        process.process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0


def test_qr_login_where_nothing_listens_exits_1_saying_where_it_tried() -> None:
    port = free_port()
    result = run_cli("qr-login", "--api-id", "1", "--api-hash", "x",
                     "--server", f"127.0.0.1:{port}", "--connect-timeout", "5", timeout=30)
    assert result.returncode == 1
    assert f"connecting to DC 2 at 127.0.0.1:{port} failed" in result.stderr
    assert TRACEBACK not in result.stderr


# ----------------------------------------------------------------------------------------------
# decode, encode-example


def test_encode_example_then_decode_prints_the_object_tree() -> None:
    blob = run_cli("encode-example", timeout=30).stdout.strip()
    assert blob.startswith("e45cac95")  # auth.importLoginToken, little-endian
    result = run_cli("decode", blob, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "auth.importLoginToken#95ac5ce4",
        "  token: bytes[32] " + bytes(range(1, 33)).hex(),
    ]


def test_decode_reads_hex_from_stdin() -> None:
    blob = "e45cac95" + "20" + bytes(range(1, 33)).hex() + "000000"
    result = run_cli("decode", stdin=f"0x{blob[:20]}\n{blob[20:]}\n", timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("auth.importLoginToken#95ac5ce4")


def test_decode_of_bytes_that_are_no_tl_object_exits_1_with_the_error() -> None:
    result = run_cli("decode", "deadbeef", timeout=30)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and TRACEBACK not in result.stderr


def test_decode_of_text_that_is_not_hex_exits_1() -> None:
    result = run_cli("decode", "not-hex", timeout=30)
    assert result.returncode == 1 and "not hex" in result.stderr


# ----------------------------------------------------------------------------------------------
# Arguments


def test_help_lists_every_command() -> None:
    result = run_cli("--help", timeout=30)
    assert result.returncode == 0
    for command in ("demo", "qr-login", "serve", "decode", "encode-example", "version"):
        assert command in result.stdout


def test_version_says_which_parts_run_compiled_as_tlcodec_accelerated_does() -> None:
    result = run_cli("version", timeout=30)
    assert result.returncode == 0, result.stderr
    first, *parts = result.stdout.splitlines()
    assert first.startswith(f"tlcodec {tlcodec.__version__} (layer {tlcodec.LAYER}) on ")
    assert [line.split()[:3] for line in parts] == [
        [part, "compiled" if runs else "plain", runs.module]
        for part, runs in tlcodec.ACCELERATED.items()]


def test_qr_login_needs_api_id_and_api_hash(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["qr-login"])
    assert exit_info.value.code == 2
    assert "--api-id" in capsys.readouterr().err


@pytest.mark.parametrize("api_id", ["0", "-5", "abc"])
def test_qr_login_refuses_an_api_id_that_is_not_a_positive_number(
        api_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["qr-login", "--api-id", api_id, "--api-hash", "h"])
    assert exit_info.value.code == 2
    assert "my.telegram.org" in capsys.readouterr().err


def test_qr_login_defaults_and_options() -> None:
    parser = build_parser()
    args = parser.parse_args(["qr-login", "--api-id", "7", "--api-hash", "h"])
    assert (args.api_id, args.api_hash, args.dc, args.test_dc, args.session) == (
        7, "h", 2, False, None)
    assert (args.transport, args.timeout, args.server, args.rsa_key_file) == (
        "intermediate", 300.0, None, [])
    args = parser.parse_args([
        "qr-login", "--api-id", "7", "--api-hash", "h", "--test-dc", "--dc", "1",
        "--session", "me.session", "--transport", "obfuscated-padded", "--timeout", "60",
    ])
    assert (args.test_dc, args.dc, args.session, args.transport, args.timeout) == (
        True, 1, "me.session", "obfuscated-padded", 60.0)


@pytest.mark.parametrize(("argv", "message"), [
    (["qr-login", "--api-id", "7", "--api-hash", "h", "--timeout", "0"], "a positive number"),
    (["qr-login", "--api-id", "7", "--api-hash", "h", "--timeout", "nan"], "a positive number"),
    (["serve", "--token-ttl", "soon"], "expected a number of seconds"),
    (["demo", "--scan-delay", "-1"], "0 or more seconds"),
])
def test_durations_are_checked(argv: list[str], message: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_zero_scan_delay_is_allowed() -> None:
    assert build_parser().parse_args(["demo", "--scan-delay", "0"]).scan_delay == 0.0


def test_qr_login_refuses_an_unknown_transport(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["qr-login", "--api-id", "7", "--api-hash", "h", "--transport", "obfuscated-full"])
    assert "invalid choice" in capsys.readouterr().err


def test_server_addresses() -> None:
    assert parse_server("127.0.0.1:4432") == ("127.0.0.1", 4432)
    assert parse_server("[::1]:4432") == ("::1", 4432)
    assert parse_server("localhost:1") == ("localhost", 1)
    for bad in ("127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "::1:4432", "[zz]:1", ":4432"):
        with pytest.raises(ValueError):
            parse_server(bad)


def test_rsa_key_files_give_public_keys_from_public_or_private_pem(tmp_path: Path) -> None:
    private = RSAPrivateKey.generate(bits=1024)
    private_file = tmp_path / "private.pem"
    private_file.write_bytes(private.to_pem())
    assert load_public_keys(private_file) == [private.public_key]
    empty = tmp_path / "empty.pem"
    empty.write_text("nothing here\n")
    with pytest.raises(ValueError, match="no PEM-encoded RSA key"):
        load_public_keys(empty)


def test_serve_account_specs() -> None:
    assert parse_account("Alice:15550001111:3") == AccountSpec("Alice", "15550001111", 3)
    assert parse_account("Bob:+15550002222") == AccountSpec("Bob", "+15550002222")
    assert parse_account("Eve:15550004444::pass:with:colons") == AccountSpec(
        "Eve", "15550004444", None, "pass:with:colons")
    for bad in ("Alice", ":15550001111:3", "Alice:15550001111:three"):
        with pytest.raises(Exception, match="First:phone|a number"):
            parse_account(bad)


def test_serve_port_base() -> None:
    assert parse_port_base("ephemeral") is None and parse_port_base("0") is None
    assert parse_port_base("4430") == 4430
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.dcs, args.port_base, args.token_ttl) == (
        "127.0.0.1", (1, 2, 3), 4430, 30.0)
    with pytest.raises(Exception):
        parse_port_base("70000")
