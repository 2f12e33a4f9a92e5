"""Round trips per second on one connection: our `Client` beside Telethon's `TelegramClient`,
against the same test DC, in the same run.

What is measured. The call is `auth.importLoginToken(token)` where `token` is one the client
exported itself a moment before (`auth.exportLoginToken`): the test DC answers that with a real
`auth.loginToken` (the "creator polls its own QR token" path, PROTOCOL.md 5.1), a cheap lookup
on the server, so every call is a full round trip with a decoded result, not an error. Ours is
`client.import_login_token(token)`, Telethon's `client(ImportLoginTokenRequest(token))`: each
library's own way of making the call, with its defaults otherwise (every call of ours has a
timeout, 30 s by default; Telethon's have none).

- sequential: one call at a time, awaited before the next; gives the unloaded latency.
- pipelined: 200 worker tasks, each awaiting one call after another, so 200 calls are always in
  flight; both libraries pack what is queued into containers by themselves (ours sends every
  `FLUSH_BATCH` calls made in one event-loop turn at once, so that the DC starts on them
  while the client makes the rest: with the DC in its own process, the two overlap).
  Round trips per second = calls in a round / the round's wall time; the table uses the median
  round. Latency p50/p99: every call of every round, timed around its `await`.
- interleaved: the pipelined rounds again, ours and Telethon's alternating (A B, B A, ...),
  so that the machine's drifting speed (this VM's varies by 2x from minute to minute) hits
  both alike; the figure is the median of the per-pair throughput ratios. The issue's target
  (>= 3x Telethon's pipelined throughput) is judged on it.
- The test DC's ceiling: its CPU per call (below), for `importLoginToken`, and for `ping` (our
  client, 200 in flight), which the server's session layer answers without any API method:
  the least a round trip costs the server.
- The harness row times the same 200-worker loop around a bare future set by `call_soon` (no
  I/O): the asyncio cost every figure above includes for both libraries alike.

Fairness. The test DCs run in a separate process (`SERVER`, started once for the module), so
the server has its own core on this 2-core machine and both clients talk to the very same
server, one client after the other, over the same transport (intermediate) on loopback. The
server's CPU time per call is read from that process before and after each benchmark
(`server_cpu_seconds_per_request`): its inverse is the most the single-threaded test DC could
answer on one core, and `server_busy` (its CPU seconds over the wall seconds) says whether it was
near its limit; the client process's CPU per call is recorded the same way. Both clients are
warmed up with one untimed round before timing.

Garbage collection: the benchmark process holds pytest's and both libraries' objects, and a
full collection walks all of them (about 75 ms here). Everything alive before the clients
connect is frozen out of the collector (`gc.freeze()`, undone afterwards), so that a full
collection costs what it would in a small application; the collections each client still
triggers are recorded (`gc_collections_per_1000_requests`): they come from its own allocations.
"""

from __future__ import annotations

import asyncio
import gc
import json
import select
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from tlcodec import functions
from tlcodec import types as ours_types
from tlcodec.client import Client
from tlcodec.crypto import RSAPublicKey

from bench_support import IMPLS

API_ID = 12345
API_HASH = "0123456789abcdef0123456789abcdef"
IN_FLIGHT = 200
SEQUENTIAL_CALLS = 400  # per round
PIPELINED_CALLS = 4000  # per round
ROUNDS = 5
PAIRS = 6  # interleaved rounds of each client
STARTUP_TIMEOUT = 60.0

# The test DCs in their own process: one JSON line describing them, then serve until stdin
# closes; each "cpu" line on stdin is answered with the process's CPU seconds so far.
SERVER = r"""
import asyncio, json, sys, time
from tlcodec.testing import DataCentres

async def main():
    async with DataCentres(dc_ids=(2,), token_ttl=3600) as dcs:
        loop = asyncio.get_running_loop()
        stop = loop.create_future()

        def command():
            line = sys.stdin.readline()
            if not line:
                if not stop.done():
                    stop.set_result(None)
            elif line.strip() == "cpu":
                print(json.dumps({"cpu": time.process_time()}), flush=True)

        loop.add_reader(sys.stdin.fileno(), command)
        host, port = dcs.address(2)
        key = dcs.public_key
        print(json.dumps({"host": host, "port": port, "n": key.n, "e": key.e,
                          "pem": dcs.public_key_pem}), flush=True)
        await stop
        loop.remove_reader(sys.stdin.fileno())

asyncio.run(main())
"""


class TestDcProcess:
    """The server process: its address and key, and its CPU time on demand."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True,
        )
        try:
            self.description = json.loads(self._line(STARTUP_TIMEOUT))
        except BaseException:
            self.close()
            raise
        self.host: str = self.description["host"]
        self.port: int = self.description["port"]

    def _line(self, timeout: float) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"the test DC process said nothing within {timeout} s")
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the test DC process ended (exit code {self.process.poll()})")
        return line

    def cpu_seconds(self) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write("cpu\n")
        self.process.stdin.flush()
        return float(json.loads(self._line(10.0))["cpu"])

    def close(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()  # end of input: the server closes and exits
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def test_dc() -> Iterator[TestDcProcess]:
    server = TestDcProcess()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(event_loop)
    gc.collect()
    gc.freeze()  # see the module doc: what was alive before is not walked again
    try:
        yield event_loop
    finally:
        gc.unfreeze()
        pending = [t for t in asyncio.all_tasks(event_loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            event_loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        event_loop.close()
        asyncio.set_event_loop(None)


Call = Callable[[], Awaitable[Any]]


async def _ours_client(test_dc: TestDcProcess, socks5_port: int | None = None) -> Client:
    proxy = None if socks5_port is None else f"socks5://127.0.0.1:{socks5_port}"
    client = Client(API_ID, API_HASH, dc=(2, test_dc.host, test_dc.port),
                    rsa_keys=[RSAPublicKey(test_dc.description["n"], test_dc.description["e"])],
                    transport="intermediate", ping_interval=None, proxy=proxy)
    await client.connect()
    return client


async def _ours(test_dc: TestDcProcess, socks5_port: int | None = None
                ) -> tuple[Call, Callable[[], Awaitable[None]]]:
    """Our client logged in to `test_dc` (through a SOCKS5 proxy on `socks5_port`, if given),
    and its importLoginToken call."""
    client = await _ours_client(test_dc, socks5_port)
    token = (await client.export_login_token()).token

    async def call() -> Any:
        return await client.import_login_token(token)

    result = await call()
    assert isinstance(result, ours_types.auth.LoginToken) and result.token == token
    return call, client.close


async def _telethon(test_dc: TestDcProcess, socks5_port: int | None = None
                    ) -> tuple[Call, Callable[[], Awaitable[None]]]:
    """`_ours` for Telethon's TelegramClient (its proxy through python-socks too)."""
    from telethon import TelegramClient, connection
    from telethon.crypto import rsa as telethon_rsa
    from telethon.sessions import MemorySession
    from telethon.tl import types as tl_types
    from telethon.tl.functions.auth import ExportLoginTokenRequest, ImportLoginTokenRequest

    telethon_rsa.add_key(test_dc.description["pem"], old=False)
    session = MemorySession()
    session.set_dc(2, test_dc.host, test_dc.port)
    proxy = None if socks5_port is None else ("socks5", "127.0.0.1", socks5_port)
    client = TelegramClient(session, API_ID, API_HASH,
                            connection=connection.ConnectionTcpIntermediate, proxy=proxy)
    await client.connect()
    token = (await client(ExportLoginTokenRequest(API_ID, API_HASH, except_ids=[]))).token

    async def call() -> Any:
        return await client(ImportLoginTokenRequest(token=token))

    result = await call()
    assert isinstance(result, tl_types.auth.LoginToken) and result.token == token

    async def close() -> None:
        await client.disconnect()

    return call, close


async def sequential(call: Call, count: int, latencies: list[float]) -> None:
    clock = time.perf_counter
    for _ in range(count):
        start = clock()
        await call()
        latencies.append(clock() - start)


async def pipelined(call: Call, count: int, latencies: list[float]) -> None:
    clock = time.perf_counter
    left = count

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            start = clock()
            await call()
            latencies.append(clock() - start)

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def measure(benchmark: Any, loop: asyncio.AbstractEventLoop, test_dc: TestDcProcess | None,
            call: Call, drive: Callable[[Call, int, list[float]], Awaitable[None]],
            count: int) -> dict[str, Any]:
    """Time ROUNDS rounds of `count` calls after one untimed round; record the figures."""
    loop.run_until_complete(drive(call, count, []))  # warm-up
    latencies: list[float] = []
    round_seconds: list[float] = []

    def one_round() -> None:
        start = time.perf_counter()
        loop.run_until_complete(drive(call, count, latencies))
        round_seconds.append(time.perf_counter() - start)

    server_before = test_dc.cpu_seconds() if test_dc is not None else 0.0
    collections_before = [g["collections"] for g in gc.get_stats()]
    client_before = time.process_time()
    wall_before = time.perf_counter()
    benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1)
    wall = time.perf_counter() - wall_before
    client_cpu = time.process_time() - client_before
    collections = [g["collections"] - before
                   for g, before in zip(gc.get_stats(), collections_before)]
    server_cpu = test_dc.cpu_seconds() - server_before if test_dc is not None else 0.0
    requests = count * len(round_seconds)
    latencies.sort()
    info: dict[str, Any] = {
        "ops_per_call": count,  # report.py: per-call figures are per round trip
        "requests": requests,
        "requests_per_second_median": count / statistics.median(round_seconds),
        "requests_per_second_best": count / min(round_seconds),
        "latency_p50_seconds": percentile(latencies, 0.50),
        "latency_p99_seconds": percentile(latencies, 0.99),
        "client_cpu_seconds_per_request": client_cpu / requests,
        "gc_collections_per_1000_requests": [1000 * n / requests for n in collections],
    }
    if test_dc is not None:
        info["server_cpu_seconds_per_request"] = server_cpu / requests
        info["server_ceiling_requests_per_second"] = requests / server_cpu if server_cpu else None
        info["server_busy"] = server_cpu / wall
    benchmark.extra_info.update(info)
    assert len(latencies) == requests
    return info


def connect(loop: asyncio.AbstractEventLoop, test_dc: TestDcProcess, impl: str,
            socks5_port: int | None = None) -> tuple[Call, Callable[[], Awaitable[None]]]:
    if impl == "telethon":
        pytest.importorskip("telethon")
        return loop.run_until_complete(_telethon(test_dc, socks5_port))
    return loop.run_until_complete(_ours(test_dc, socks5_port))


@pytest.mark.benchmark(group="client: importLoginToken round trips, sequential")
@pytest.mark.parametrize("impl", IMPLS)
def test_client_import_login_token_sequential(benchmark: Any, impl: str, test_dc: TestDcProcess,
                                              loop: asyncio.AbstractEventLoop) -> None:
    call, close = connect(loop, test_dc, impl)
    try:
        measure(benchmark, loop, test_dc, call, sequential, SEQUENTIAL_CALLS)
    finally:
        loop.run_until_complete(close())


@pytest.mark.benchmark(group="client: importLoginToken round trips, 200 in flight")
@pytest.mark.parametrize("impl", IMPLS)
def test_client_import_login_token_pipelined(benchmark: Any, impl: str, test_dc: TestDcProcess,
                                             loop: asyncio.AbstractEventLoop) -> None:
    call, close = connect(loop, test_dc, impl)
    try:
        measure(benchmark, loop, test_dc, call, pipelined, PIPELINED_CALLS)
    finally:
        loop.run_until_complete(close())


@pytest.mark.benchmark(group="test DC: ping round trips, 200 in flight")
@pytest.mark.parametrize("impl", ["tlcodec"])
def test_client_ping_pipelined(benchmark: Any, impl: str, test_dc: TestDcProcess,
                               loop: asyncio.AbstractEventLoop) -> None:
    """`ping` from our client: the server's session answers it (no world, no API method)."""
    client = loop.run_until_complete(_ours_client(test_dc))

    async def call() -> Any:
        return await client.invoke(functions.Ping(ping_id=7))

    try:
        assert loop.run_until_complete(call()).ping_id == 7
        measure(benchmark, loop, test_dc, call, pipelined, PIPELINED_CALLS)
    finally:
        loop.run_until_complete(client.close())


@pytest.mark.benchmark(group="client: importLoginToken round trips, 200 in flight")
@pytest.mark.parametrize("impl", ["baseline"])
def test_client_harness_floor(benchmark: Any, impl: str, loop: asyncio.AbstractEventLoop) -> None:
    """The pipelined loop around a future that `call_soon` resolves: no client, no I/O."""

    async def call() -> None:
        future = loop.create_future()
        loop.call_soon(future.set_result, None)
        await future

    benchmark.extra_info["measures"] = "200 workers awaiting a future set by call_soon"
    measure(benchmark, loop, None, call, pipelined, PIPELINED_CALLS)


@pytest.mark.benchmark(group="client: importLoginToken round trips, 200 in flight, interleaved")
@pytest.mark.parametrize("impl", ["tlcodec"])  # named after ours, as the other rows; both run
def test_client_import_login_token_pipelined_interleaved(
        benchmark: Any, impl: str, test_dc: TestDcProcess,
        loop: asyncio.AbstractEventLoop) -> None:
    """Pipelined rounds of both clients, alternating; each timed round is one pair."""
    pytest.importorskip("telethon")
    sides: dict[str, tuple[Call, Callable[[], Awaitable[None]]]] = {}
    try:
        for impl in IMPLS:
            sides[impl] = connect(loop, test_dc, impl)
            loop.run_until_complete(pipelined(sides[impl][0], PIPELINED_CALLS, []))  # warm-up
        rates: dict[str, list[float]] = {impl: [] for impl in IMPLS}

        def one_pair() -> None:
            order = IMPLS if len(rates[IMPLS[0]]) % 2 == 0 else IMPLS[::-1]
            for impl in order:
                start = time.perf_counter()
                loop.run_until_complete(pipelined(sides[impl][0], PIPELINED_CALLS, []))
                rates[impl].append(PIPELINED_CALLS / (time.perf_counter() - start))

        benchmark.pedantic(one_pair, rounds=PAIRS, iterations=1)
        ratios = [ours / theirs for ours, theirs in zip(rates["tlcodec"], rates["telethon"])]
        benchmark.extra_info.update(
            measures="pipelined rounds of both clients alternating; ratio = ours / Telethon's "
                     "throughput within each pair",
            tlcodec_requests_per_second_median=statistics.median(rates["tlcodec"]),
            telethon_requests_per_second_median=statistics.median(rates["telethon"]),
            tlcodec_requests_per_second=rates["tlcodec"],
            telethon_requests_per_second=rates["telethon"],
            throughput_ratios=ratios,
            throughput_ratio_median=statistics.median(ratios),
        )
    finally:
        for _, close in sides.values():
            loop.run_until_complete(close())
