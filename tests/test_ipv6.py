"""IPv6 where the user asks for it: `Client(ipv6=True)` takes the DCs' IPv6 addresses from
`help.getConfig` (the test DCs listen on 127.0.0.1 and ::1 and advertise both) and from the
bootstrap list; without it, IPv4. Also through a SOCKS5 proxy (an IPv6 destination)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tlcodec.client import Client
from tlcodec.client.client import BOOTSTRAP_DCS, BOOTSTRAP_DCS_IPV6

from proxy_servers import pproxy
from support import API_HASH, API_ID, cluster, run_scenario


def test_the_loopback_interface_has_ipv6() -> None:
    """Everything below needs ::1 (it is there on this machine and CI's); fail plainly if not."""
    with socket.socket(socket.AF_INET6) as probe:
        probe.bind(("::1", 0))


@pytest.mark.parametrize("ipv6", [True, False], ids=["ipv6", "ipv4"])
@pytest.mark.parametrize("proxied", [False, True], ids=["direct", "socks5"])
def test_the_login_migrates_to_the_address_family_asked_for(ipv6: bool, proxied: bool) -> None:
    async def scenario(proxy: str | None) -> None:
        async with cluster(ipv6_host="::1") as dcs:
            alice = dcs.create_account("Alice", "15550001111", dc_id=3)
            start = dcs.address_v6(2) if ipv6 else dcs.address(2)
            async with Client(API_ID, API_HASH, dc=(2, *start), rsa_keys=[dcs.public_key],
                              ipv6=ipv6, proxy=proxy) as client:
                qr = await client.qr_login()
                waiting = asyncio.create_task(qr.wait(timeout=20))
                await asyncio.sleep(0.01)
                dcs.accept_login_token(qr.token, alice)
                assert (await waiting).id == alice.user_id
                expected = dcs.address_v6(3) if ipv6 else dcs.address(3)
                connection = client.connection(3)
                assert connection is not None and (connection.host, connection.port) == expected
                stored = client.session.dc(3)
                assert stored is not None and (stored.host, stored.port) == expected

    if proxied:
        with pproxy("socks5") as port:
            run_scenario(lambda: scenario(f"socks5://127.0.0.1:{port}"), 60)
    else:
        run_scenario(lambda: scenario(None), 60)


def test_the_bootstrap_list_of_the_family_asked_for() -> None:
    async def addresses(ipv6: bool, test_mode: bool) -> tuple[str, int]:
        client = Client(API_ID, API_HASH, dc=2, ipv6=ipv6, test_mode=test_mode)
        return await client._address(2)

    for test_mode in (False, True):
        assert asyncio.run(addresses(True, test_mode)) == BOOTSTRAP_DCS_IPV6[test_mode][2]
        assert asyncio.run(addresses(False, test_mode)) == BOOTSTRAP_DCS[test_mode][2]
    assert all(":" in host for table in BOOTSTRAP_DCS_IPV6.values()
               for host, _ in table.values())
