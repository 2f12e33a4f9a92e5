"""Real proxy servers on loopback, started by the tests as subprocesses: pproxy (SOCKS5 with and
without a user and password, SOCKS4, HTTP CONNECT) and mtprotoproxy (MTProxy with a plain, `dd`
or `ee` secret, through tests/mtprotoproxy_runner.py); plus a hostile proxy that answers
garbage, in-process. Each is stopped by its context manager."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

RUNNER = Path(__file__).resolve().parent / "mtprotoproxy_runner.py"
STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_listening(process: subprocess.Popen[bytes], port: int, what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"{what} exited with {process.returncode}: {output}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} is not listening on port {port} after {STARTUP_TIMEOUT} s")


@contextlib.contextmanager
def _running(command: list[str], port: int, what: str) -> Iterator[int]:
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        _wait_listening(process, port, what)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@contextlib.contextmanager
def pproxy(scheme: str, credentials: str | None = None,
           block_rules: str | None = None) -> Iterator[int]:
    """pproxy listening for `scheme` (socks5, socks4, http) on a loopback port (yielded);
    `credentials` "user:password" makes it require them; `block_rules` is a file of regular
    expressions of destinations it refuses."""
    port = free_port()
    uri = f"{scheme}://127.0.0.1:{port}" + (f"#{credentials}" if credentials else "")
    # --auth 0: pproxy otherwise trusts an address for 30 days once it authenticated.
    command = [sys.executable, "-m", "pproxy", "-l", uri, "--auth", "0"]
    if block_rules is not None:
        command += ["-b", block_rules]
    with _running(command, port, f"pproxy {scheme}") as bound:
        yield bound


@contextlib.contextmanager
def mtprotoproxy(mode: str, secret_hex: str, dcs: Mapping[int, tuple[str, int]],
                 domain: str = "example.com") -> Iterator[int]:
    """mtprotoproxy on a loopback port (yielded) in front of the DCs at `dcs`; `mode` is
    "plain" (any obfuscated client), "dd" (padded intermediate only) or "ee" (fake TLS only)."""
    port = free_port()
    options = {"port": port, "secret": secret_hex, "mode": mode, "domain": domain,
               "dcs": {str(dc): list(address) for dc, address in dcs.items()}}
    command = [sys.executable, str(RUNNER), json.dumps(options)]
    with _running(command, port, f"mtprotoproxy ({mode})") as bound:
        yield bound
