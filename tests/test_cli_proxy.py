"""`python -m tlcodec qr-login --proxy`, run as a user runs it (a subprocess, against a `serve`
process, through a real pproxy and a real mtprotoproxy started here); the helpers are
test_cli.py's."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from proxy_servers import free_port, mtprotoproxy, pproxy
from test_cli import (
    API_HASH,
    API_ID,
    TRACEBACK,
    URL_LINE,
    CliProcess,
    accept_login,
    run_cli,
    start_serve,
)

SECRET = "7e8d9cab0123456789abcdef01234567"


@pytest.fixture(scope="module")
def served_dcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    process, info = start_serve("--account", "Alice:15550001111:3")
    key_file = tmp_path_factory.mktemp("serve") / "public.pem"
    key_file.write_text(info.public_key_pem + "\n", encoding="ascii")
    with process:
        yield info, key_file
        process.process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0


def qr_login_through(info: Any, key_file: Path, proxy: str) -> CliProcess:
    host, port = info.addresses[2]
    return CliProcess("qr-login", "--api-id", str(API_ID), "--api-hash", API_HASH,
                      "--server", f"{host}:{port}", "--rsa-key-file", str(key_file),
                      "--timeout", "30", "--proxy", proxy)


@pytest.mark.parametrize("kind", ["socks5", "mtproxy-ee"])
def test_qr_login_through_a_proxy(kind: str, served_dcs: Any) -> None:
    info, key_file = served_dcs
    if kind == "socks5":
        server = pproxy("socks5", "alice:s3cret")
        url, shown = "socks5://alice:s3cret@127.0.0.1:{port}", "socks5://alice@127.0.0.1:{port}"
    else:
        server = mtprotoproxy("ee", SECRET, info.addresses, "example.com")
        url = ("tg://proxy?server=127.0.0.1&port={port}&secret=ee" + SECRET
               + b"example.com".hex())
        shown = "MTProxy 127.0.0.1:{port} (ee, fake TLS as example.com)"
    with server as port, qr_login_through(info, key_file, url.format(port=port)) as login:
        login_url = login.expect(URL_LINE).group(0)
        accept_login(info, "Alice", login_url)
        assert login.wait(30) == 0, login.stderr
        assert f"through {shown.format(port=port)} ..." in login.stdout
        assert "Logged in as Alice" in login.stdout
        assert "s3cret" not in login.stdout and SECRET not in login.stdout


def test_qr_login_with_a_proxy_that_refuses_exits_1_naming_it() -> None:
    port = free_port()
    result = run_cli("qr-login", "--api-id", "1", "--api-hash", "x", "--server",
                     "127.0.0.1:9", "--proxy", f"socks5://bob:pw@127.0.0.1:{port}",
                     "--connect-timeout", "5", timeout=30)
    assert result.returncode == 1
    assert f"proxy socks5://bob@127.0.0.1:{port}: cannot connect: connection refused" in \
        result.stderr
    assert TRACEBACK not in result.stderr and ":pw@" not in result.stderr


def test_qr_login_with_a_proxy_url_it_cannot_use_exits_2_saying_why() -> None:
    result = run_cli("qr-login", "--api-id", "1", "--api-hash", "x",
                     "--proxy", "tg://proxy?server=h&port=443&secret=ee00", timeout=30)
    assert result.returncode == 2
    assert "an MTProxy secret is 16 bytes" in result.stderr
    assert TRACEBACK not in result.stderr
