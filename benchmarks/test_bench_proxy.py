"""Round trips through a SOCKS5 proxy: our `Client(proxy="socks5://...")` beside Telethon's
`TelegramClient(proxy=("socks5", ...))` (both on python-socks for the proxy handshake), through
the same pproxy process to the same test DC process, in the same run.

The call, the rounds and the figures are test_bench_client.py's (`importLoginToken` of a token
the client exported itself; sequential, and 200 in flight), and so are the test DC process and
the measuring: see that file. The proxy is pproxy, a pure-Python SOCKS5 server in its own
process; every byte of both clients crosses it twice, so its CPU is part of both columns alike
(on this 2-core machine the client, the proxy and the test DC share two cores).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bench_support import IMPLS
from test_bench_client import (
    PIPELINED_CALLS,
    SEQUENTIAL_CALLS,
    STARTUP_TIMEOUT,
    TestDcProcess,
    connect,
    loop,  # noqa: F401 - the module's event loop fixture, shared
    measure,
    pipelined,
    sequential,
    test_dc,  # noqa: F401 - the test DC process fixture, shared
)


@pytest.fixture(scope="module")
def socks5_port() -> Iterator[int]:
    """pproxy serving SOCKS5 on a loopback port, in its own process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "pproxy", "-l",
                                f"socks5://127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("pproxy did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.benchmark(group="client through SOCKS5 (pproxy): importLoginToken, sequential")
@pytest.mark.parametrize("impl", IMPLS)
def test_socks5_import_login_token_sequential(benchmark: Any, impl: str,
                                              test_dc: TestDcProcess,  # noqa: F811
                                              loop: asyncio.AbstractEventLoop,  # noqa: F811
                                              socks5_port: int) -> None:
    call, close = connect(loop, test_dc, impl, socks5_port)
    try:
        measure(benchmark, loop, test_dc, call, sequential, SEQUENTIAL_CALLS)
    finally:
        loop.run_until_complete(close())


@pytest.mark.benchmark(group="client through SOCKS5 (pproxy): importLoginToken, 200 in flight")
@pytest.mark.parametrize("impl", IMPLS)
def test_socks5_import_login_token_pipelined(benchmark: Any, impl: str,
                                             test_dc: TestDcProcess,  # noqa: F811
                                             loop: asyncio.AbstractEventLoop,  # noqa: F811
                                             socks5_port: int) -> None:
    call, close = connect(loop, test_dc, impl, socks5_port)
    try:
        measure(benchmark, loop, test_dc, call, pipelined, PIPELINED_CALLS)
    finally:
        loop.run_until_complete(close())
