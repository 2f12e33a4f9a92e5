"""Logging in through real proxies on loopback, started here (tests/proxy_servers.py): pproxy
for SOCKS5 (with and without a user and password, DNS resolved here or by the proxy), SOCKS4
and HTTP CONNECT; mtprotoproxy for MTProxy with a plain, a `dd` and an `ee` (fake TLS) secret,
given as the links users paste. Telethon's MTProxy connection classes go through the same
mtprotoproxy to the same test DCs, as an independent client of that front.

Every login is the QR login with the migration: the account lives on DC 3, the client starts on
DC 2, so two DCs are reached through the proxy. The errors: a refused port, bad or missing
credentials, a proxy refusing the destination, an MTProxy with the wrong secret or for a DC it
does not know; and proxies that answer garbage or nothing, which must end in a typed error
within the connect timeout, never a hang.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tlcodec import errors
from tlcodec.client import Client, MTProxy, Session
from tlcodec.testing import DataCentres

from proxy_servers import free_port, mtprotoproxy, pproxy
from support import API_HASH, API_ID, cluster, run_scenario

SECRET = bytes.fromhex("3c0fd1d3a8e2b4f6071829304a5b6c7d")
DOMAIN = "cdn.example.com"
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def dc_ports() -> dict[int, int]:
    """Fixed ports for the test DCs, so the MTProxies (started once) know where they are."""
    return {dc: free_port() for dc in (1, 2, 3)}


@pytest.fixture(scope="module")
def mtproxies(dc_ports: dict[int, int]) -> Iterator[dict[str, int]]:
    """mtprotoproxy in each mode, in front of the test DCs at `dc_ports`: mode -> port."""
    dcs = {dc: ("127.0.0.1", port) for dc, port in dc_ports.items()}
    with contextlib.ExitStack() as stack:
        yield {mode: stack.enter_context(mtprotoproxy(mode, SECRET.hex(), dcs, DOMAIN))
               for mode in ("plain", "dd", "ee")}


@pytest.fixture(scope="module")
def socks_proxies() -> Iterator[dict[str, int]]:
    with contextlib.ExitStack() as stack:
        yield {
            "socks5": stack.enter_context(pproxy("socks5")),
            "socks5-auth": stack.enter_context(pproxy("socks5", "alice:s3cret")),
            "socks4": stack.enter_context(pproxy("socks4")),
            "http": stack.enter_context(pproxy("http")),
            "http-auth": stack.enter_context(pproxy("http", "alice:s3cret")),
        }


def mtproxy_link(mode: str, port: int, encoding: str = "hex",
                 link: str = "tg://proxy?") -> str:
    raw = {"plain": SECRET, "dd": b"\xdd" + SECRET,
           "ee": b"\xee" + SECRET + DOMAIN.encode()}[mode]
    text = {"hex": raw.hex(), "base64": base64.b64encode(raw).decode(),
            "urlsafe": base64.urlsafe_b64encode(raw).decode().rstrip("=")}[encoding]
    return f"{link}server=127.0.0.1&port={port}&secret={text}"


async def qr_login_through(dcs: DataCentres, proxy: Any, *, dc_host: str = "127.0.0.1",
                           session: Session | None = None) -> Client:
    """The QR login with the migration (DC 2 -> DC 3) through `proxy`; returns the client,
    closed, with the logged-in session."""
    alice = dcs.create_account("Alice", "15550001111", dc_id=3, username="alice_p")
    client = Client(API_ID, API_HASH, session, dc=(2, dc_host, dcs.address(2)[1]),
                    rsa_keys=[dcs.public_key], proxy=proxy, connect_timeout=10)
    async with client:
        qr = await client.qr_login()
        waiting = asyncio.create_task(qr.wait(timeout=20))
        await asyncio.sleep(0.01)
        dcs.accept_login_token(qr.token, alice)
        user = await waiting
        assert (user.id, user.first_name, user.username) == (alice.user_id, "Alice", "alice_p")
        assert client.home_dc == 3
        me = await client.get_me()
        assert me.id == alice.user_id
    return client


def assert_session_knows_no_proxy(client: Client, dcs: DataCentres, *secrets: str) -> None:
    """The session keeps the DCs' own addresses and nothing of the proxy."""
    session = client.session
    for dc_id in (2, 3):
        stored = session.dc(dc_id)
        assert stored is not None and stored.port == dcs.address(dc_id)[1]
    exported = Session.from_string(client.export_session_string())
    assert exported.home_dc == 3
    text = client.export_session_string() + repr(vars(session))
    for secret in secrets:
        assert secret not in text


# ----------------------------------------------------------------------------------------------
# Logging in through each kind of proxy

SOCKS_CASES = {
    "socks5": ("socks5://127.0.0.1:{port}", "socks5", "127.0.0.1"),
    "socks5-host-name-resolved-here": ("socks5://127.0.0.1:{port}", "socks5", "localhost"),
    "socks5h-host-name-resolved-by-the-proxy": ("socks5h://127.0.0.1:{port}", "socks5",
                                                "localhost"),
    "socks5-user-password": ("socks5://alice:s3cret@127.0.0.1:{port}", "socks5-auth",
                             "127.0.0.1"),
    "socks4": ("socks4://127.0.0.1:{port}", "socks4", "127.0.0.1"),
    "http-connect": ("http://127.0.0.1:{port}", "http", "127.0.0.1"),
    "http-connect-user-password": ("http://alice:s3cret@127.0.0.1:{port}", "http-auth",
                                   "127.0.0.1"),
    "tg-socks-link": ("tg://socks?server=127.0.0.1&port={port}&user=alice&pass=s3cret",
                      "socks5-auth", "127.0.0.1"),
}


@pytest.mark.parametrize("case", list(SOCKS_CASES))
def test_qr_login_through_a_socks_or_http_proxy(case: str, socks_proxies: dict[str, int],
                                                dc_ports: dict[int, int]) -> None:
    template, server, dc_host = SOCKS_CASES[case]
    url = template.format(port=socks_proxies[server])

    async def scenario() -> None:
        async with cluster(ports=dc_ports) as dcs:
            client = await qr_login_through(dcs, url, dc_host=dc_host)
            assert_session_knows_no_proxy(client, dcs, "s3cret", str(socks_proxies[server]))

    run_scenario(scenario, TIMEOUT)


MTPROXY_CASES = {
    "plain-hex-tg-link": ("plain", "hex", "tg://proxy?"),
    "plain-base64-t.me-link": ("plain", "urlsafe", "https://t.me/proxy?"),
    "dd-hex-tg-link": ("dd", "hex", "tg://proxy?"),
    "dd-base64-t.me-link": ("dd", "base64", "https://t.me/proxy?"),
    "ee-hex-tg-link": ("ee", "hex", "tg://proxy?"),
    "ee-urlsafe-base64-t.me-link": ("ee", "urlsafe", "t.me/proxy?"),
}


@pytest.mark.parametrize("case", list(MTPROXY_CASES))
def test_qr_login_through_mtprotoproxy(case: str, mtproxies: dict[str, int],
                                       dc_ports: dict[int, int]) -> None:
    mode, encoding, prefix = MTPROXY_CASES[case]
    link = mtproxy_link(mode, mtproxies[mode], encoding, prefix)

    async def scenario() -> None:
        async with cluster(ports=dc_ports) as dcs:
            client = await qr_login_through(dcs, link)
            proxy = client.proxy
            assert isinstance(proxy, MTProxy)
            assert proxy.mode == {"plain": "obfuscated", "dd": "padded", "ee": "faketls"}[mode]
            assert proxy.secret == SECRET
            assert_session_knows_no_proxy(client, dcs, SECRET.hex())

    run_scenario(scenario, TIMEOUT)


def test_the_dcs_cannot_read_an_mtproxy_client_directly(dc_ports: dict[int, int]) -> None:
    """The framing is keyed with the secret: without the proxy in between the DC reads no
    valid init, so the logins above did go through mtprotoproxy."""

    async def scenario() -> None:
        async with cluster(ports=dc_ports) as dcs:
            link = mtproxy_link("plain", dcs.address(2)[1])  # the DC itself as the "proxy"
            client = Client(API_ID, API_HASH, dc=(2, *dcs.address(2)),
                            rsa_keys=[dcs.public_key], proxy=link, connect_timeout=2)
            with pytest.raises(errors.ProxyError):
                await client.connect()
            await client.close()

    run_scenario(scenario, TIMEOUT)


def test_reconnections_go_through_the_proxy_again(mtproxies: dict[str, int],
                                                  dc_ports: dict[int, int]) -> None:
    """The DC drops the connection: the client's next connection is made through the MTProxy
    again (a direct one could not be read by the DC, see above) and the call succeeds."""
    link = mtproxy_link("ee", mtproxies["ee"])

    async def scenario() -> None:
        async with cluster(ports=dc_ports) as dcs:
            client = Client(API_ID, API_HASH, dc=(2, *dcs.address(2)),
                            rsa_keys=[dcs.public_key], proxy=link, reconnect_delay=0.01)
            async with client:
                first = await client.export_login_token()
                connection = client.connection(2)
                assert connection is not None and connection.connections_made == 1
                dcs.drop_connections(2)
                second = await client.export_login_token()
                assert connection.connections_made == 2
                assert second.token != first.token

    run_scenario(scenario, TIMEOUT)


# ----------------------------------------------------------------------------------------------
# Telethon's MTProxy classes through the same front

TELETHON_MTPROXY = {
    "ConnectionTcpMTProxyIntermediate": ("plain", SECRET.hex()),
    "ConnectionTcpMTProxyAbridged": ("plain", SECRET.hex()),
    "ConnectionTcpMTProxyRandomizedIntermediate": ("dd", "dd" + SECRET.hex()),
}


def padding_telethon_reads(n: int) -> bytes:
    return bytes([os.urandom(1)[0] % 4]) if n == 1 else os.urandom(n)


@pytest.mark.parametrize("connection_name", list(TELETHON_MTPROXY))
def test_telethon_logs_in_through_the_same_mtprotoproxy(connection_name: str,
                                                        mtproxies: dict[str, int],
                                                        dc_ports: dict[int, int]) -> None:
    from telethon import TelegramClient, connection
    from telethon.crypto import rsa as telethon_rsa
    from telethon.sessions import MemorySession

    mode, secret = TELETHON_MTPROXY[connection_name]
    # Telethon's padded reader strips only `length % 4` bytes (PROTOCOL.md 4.3 and 8): the test
    # DCs pad 0..3 bytes for it (their only 1-byte random draw is the padding's length).
    options = {"random_bytes": padding_telethon_reads} if mode == "dd" else {}

    async def scenario() -> None:
        async with cluster(ports=dc_ports, **options) as dcs:
            alice = dcs.create_account("Alice", "15550001111", dc_id=3)
            saved_keys, saved_config = dict(telethon_rsa._server_keys), TelegramClient._config
            TelegramClient._config = None
            telethon_rsa.add_key(dcs.public_key_pem, old=False)
            session = MemorySession()
            session.set_dc(2, *dcs.address(2))
            client = TelegramClient(session, API_ID, API_HASH,
                                    connection=getattr(connection, connection_name),
                                    proxy=("127.0.0.1", mtproxies[mode], secret),
                                    retry_delay=0.05, timeout=10)
            try:
                await client.connect()
                qr = await client.qr_login()
                waiting = asyncio.create_task(qr.wait(timeout=20))
                await asyncio.sleep(0.01)
                dcs.accept_login_token(qr.token, alice)
                user = await waiting
                assert user.id == alice.user_id
                assert client.session.dc_id == 3
            finally:
                await client.disconnect()
                telethon_rsa._server_keys.clear()
                telethon_rsa._server_keys.update(saved_keys)
                TelegramClient._config = saved_config

    run_scenario(scenario, TIMEOUT)


# ----------------------------------------------------------------------------------------------
# What fails, and how it is reported


async def connect_error(url: Any, dcs: DataCentres, *, dc_id: int = 2,
                        connect_timeout: float = 5.0) -> errors.ProxyError:
    client = Client(API_ID, API_HASH, dc=(dc_id, *dcs.address(dc_id)),
                    rsa_keys=[dcs.public_key], proxy=url, connect_timeout=connect_timeout)
    try:
        with pytest.raises(errors.ProxyError) as caught:
            await client.connect()
    finally:
        await client.close()
    error = caught.value
    assert error.proxy in str(error) and error.reason in str(error)
    assert "s3cret" not in str(error) and SECRET.hex() not in str(error)
    return error


@pytest.mark.parametrize("url", [
    "socks5://alice:s3cret@127.0.0.1:{port}",
    "socks4://127.0.0.1:{port}",
    "http://127.0.0.1:{port}",
    "tg://proxy?server=127.0.0.1&port={port}&secret=dd" + SECRET.hex(),
])
def test_a_refused_proxy_port_is_a_proxy_connection_error(url: str,
                                                          dc_ports: dict[int, int]) -> None:
    closed = free_port()

    async def scenario() -> None:
        async with cluster(ports=dc_ports) as dcs:
            error = await connect_error(url.format(port=closed), dcs)
            assert type(error) is errors.ProxyConnectionError
            assert f"127.0.0.1:{closed}" in error.proxy and "refused" in error.reason

    run_scenario(scenario, TIMEOUT)


@pytest.mark.parametrize("url, server", [
    ("socks5://alice:wrong@127.0.0.1:{port}", "socks5-auth"),
    ("socks5://127.0.0.1:{port}", "socks5-auth"),  # no credentials for a proxy that wants them
    ("http://alice:wrong@127.0.0.1:{port}", "http-auth"),
], ids=["socks5-wrong-password", "socks5-no-credentials", "http-wrong-password"])
def test_bad_credentials_are_a_proxy_auth_error(url: str, server: str,
                                                socks_proxies: dict[str, int],
                                                dc_ports: dict[int, int]) -> None:
    async def scenario() -> None:
        async with cluster(ports=dc_ports) as dcs:
            error = await connect_error(url.format(port=socks_proxies[server]), dcs)
            assert type(error) is errors.ProxyAuthError, error
            assert "wrong" not in str(error)  # the password is never repeated

    run_scenario(scenario, TIMEOUT)


@pytest.fixture(scope="module")
def blocking_proxies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """pproxy with a rule that blocks every loopback destination (the test DCs)."""
    rules = tmp_path_factory.mktemp("pproxy") / "block.rules"
    rules.write_text("127\\.0\\.0\\.1\n")
    with contextlib.ExitStack() as stack:
        yield {scheme: stack.enter_context(pproxy(scheme, block_rules=str(rules)))
               for scheme in ("socks5", "http")}


@pytest.mark.parametrize("scheme", ["socks5", "http"])
def test_a_proxy_refusing_the_destination_is_a_proxy_refused_error(
        scheme: str, blocking_proxies: dict[str, int], dc_ports: dict[int, int]) -> None:
    async def scenario() -> None:
        async with cluster(ports=dc_ports) as dcs:
            error = await connect_error(f"{scheme}://127.0.0.1:{blocking_proxies[scheme]}", dcs)
            assert type(error) is errors.ProxyRefusedError, error

    run_scenario(scenario, TIMEOUT)


def test_an_mtproxy_with_the_wrong_secret_times_out_as_the_proxys_error(
        mtproxies: dict[str, int], dc_ports: dict[int, int]) -> None:
    """An MTProxy holds a client it does not accept silently (so as not to be found out):
    the connect timeout ends it, as the proxy's error, hinting at the secret."""
    wrong = bytes(16).hex()

    async def scenario() -> None:
        async with cluster(ports=dc_ports) as dcs:
            for mode, secret in (("plain", wrong), ("dd", "dd" + wrong),
                                 ("ee", "ee" + wrong + DOMAIN.encode().hex())):
                link = f"tg://proxy?server=127.0.0.1&port={mtproxies[mode]}&secret={secret}"
                error = await connect_error(link, dcs, connect_timeout=1.0)
                assert type(error) is errors.ProxyTimeoutError, error
                assert "secret" in error.reason

    run_scenario(scenario, TIMEOUT)


def test_an_mtproxy_without_the_dc_is_a_proxy_refused_error(
        mtproxies: dict[str, int], dc_ports: dict[int, int]) -> None:
    async def scenario() -> None:
        async with cluster(dc_ids=(1, 2, 3, 4), ports=dc_ports) as dcs:
            # DC 4 exists, but the MTProxy's table (DCs 1-3) has no address for it.
            error = await connect_error(mtproxy_link("dd", mtproxies["dd"]), dcs, dc_id=4)
            assert type(error) is errors.ProxyRefusedError, error
            assert "DC 4" in error.reason

    run_scenario(scenario, TIMEOUT)


# ----------------------------------------------------------------------------------------------
# Hostile proxies: garbage or silence, never a hang


class HostileProxy:
    """A loopback server that answers every connection with `answer` (after reading what the
    client sends first), then stays silent; or never answers when `answer` is empty."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    async def __aenter__(self) -> HostileProxy:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.read(1)
                if self.answer:
                    writer.write(self.answer)
                await reader.read()  # until the client gives up
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


HOSTILE_URLS = {
    "socks5": "socks5://127.0.0.1:{port}",
    "socks5-auth": "socks5://alice:s3cret@127.0.0.1:{port}",
    "socks4": "socks4://127.0.0.1:{port}",
    "http": "http://127.0.0.1:{port}",
    "mtproxy-plain": "tg://proxy?server=127.0.0.1&port={port}&secret=" + SECRET.hex(),
    "mtproxy-dd": "tg://proxy?server=127.0.0.1&port={port}&secret=dd" + SECRET.hex(),
    "mtproxy-ee": ("tg://proxy?server=127.0.0.1&port={port}&secret=ee" + SECRET.hex()
                   + DOMAIN.encode().hex()),
}
ANSWERS = {
    "silence": b"",
    "random": os.urandom(64),
    "ones": b"\xff" * 600,
    "http-page": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "tls-alert": b"\x15\x03\x03\x00\x02\x02\x28",
    "huge-tls-record": b"\x16\x03\x03\xff\xff" + bytes(100),
    "socks5-success-then-garbage": b"\x05\x00\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x09" + b"\xab" * 80,
}


@pytest.mark.parametrize("answer", list(ANSWERS))
@pytest.mark.parametrize("kind", list(HOSTILE_URLS))
def test_a_hostile_proxy_gives_a_typed_error_within_the_timeout(kind: str, answer: str) -> None:
    async def scenario() -> None:
        async with cluster(dc_ids=(2,)) as dcs, HostileProxy(ANSWERS[answer]) as hostile:
            url = HOSTILE_URLS[kind].format(port=hostile.port)
            client = Client(API_ID, API_HASH, dc=(2, *dcs.address(2)),
                            rsa_keys=[dcs.public_key], proxy=url, connect_timeout=1.0)
            try:
                with pytest.raises(errors.Error) as caught:
                    await client.connect()
            finally:
                await client.close()
            # Also where the proxy's own handshake "succeeded" (a SOCKS5 success reply, an HTTP
            # 200) and garbage or silence followed: the proxy is named.
            assert isinstance(caught.value, errors.ProxyError), repr(caught.value)

    run_scenario(scenario, 20.0)

