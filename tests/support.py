"""What the tests that run a real client against the test DCs share: the app credentials, one
RSA key for the test DCs, a scenario runner that fails on leftover tasks, and the factories."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from tlcodec.client import Client
from tlcodec.crypto import RSAPrivateKey
from tlcodec.testing import DataCentres

API_ID = 12345
API_HASH = "0123456789abcdef0123456789abcdef"


@functools.lru_cache(maxsize=1)
def rsa_key() -> RSAPrivateKey:
    """The test DCs' key, generated once per process (a generation takes a noticeable moment)."""
    return RSAPrivateKey.generate()


def run_scenario(coroutine_function: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    """Run a scenario with a deadline; fail if it leaves any task behind. Returns its result."""

    async def main() -> Any:
        result = await asyncio.wait_for(coroutine_function(), timeout)
        await asyncio.sleep(0)
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not leftover, f"tasks left behind: {leftover}"
        return result

    return asyncio.run(main())


def cluster(dc_ids: tuple[int, ...] = (1, 2, 3), **options: Any) -> DataCentres:
    """Test DCs on loopback with the shared key (not started: `async with` them)."""
    return DataCentres(dc_ids=dc_ids, rsa_key=rsa_key(), **options)


def client_for(dcs: DataCentres, dc_id: int = 2, session: Any = None, **options: Any) -> Client:
    """A client whose home is `dc_id` of `dcs`, trusting their key (not connected)."""
    host, port = dcs.address(dc_id)
    return Client(API_ID, API_HASH, session, dc=(dc_id, host, port), rsa_keys=[dcs.public_key],
                  **options)
