"""Runs mtprotoproxy (the MTProxy server from the package index, installed as a script) on
loopback in front of the test DCs; started as a subprocess by tests/proxy_servers.py.

    python tests/mtprotoproxy_runner.py '{"port": ..., "secret": "hex", "mode": "plain",
                                          "domain": "example.com", "dcs": {"1": ["127.0.0.1", 4001]}}'

mtprotoproxy is a script written for the Python of its day: its own main() passes `loop=` to
asyncio.start_server (gone since Python 3.10) and looks up the machine's public address on the
internet. So this runner loads the script as a module, gives it its configuration the way its
own command line does (a config file), and serves its real connection handler
(`handle_client_wrapper`: the obfuscation, the fake-TLS handshake, the secret checks, the
relaying) with today's asyncio. What is changed, and only that: the DC table. Its table is one
IPv4 address per DC on one port (443); the test DCs are on loopback, each on its own port, so
the table holds "host:port" entries and the dialling function the handler calls splits them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path


def script_path() -> Path:
    """The installed mtprotoproxy.py: in this interpreter's scripts directory or on PATH."""
    candidate = Path(sysconfig.get_path("scripts")) / "mtprotoproxy.py"
    if candidate.exists():
        return candidate
    found = shutil.which("mtprotoproxy.py")
    if found is None:
        raise SystemExit("mtprotoproxy is not installed (pip install mtprotoproxy)")
    return Path(found)


def main() -> None:
    options = json.loads(sys.argv[1])
    config = {
        "PORT": options["port"],
        "USERS": {"tlcodec": options["secret"]},
        "TLS_DOMAIN": options.get("domain", "example.com"),
        "SECURE_ONLY": options["mode"] == "dd",
        "TLS_ONLY": options["mode"] == "ee",
        "MASK": False,  # a client it does not accept is held silently, never sent elsewhere
        "PREFER_IPV6": False,
        "REPLAY_CHECK_LEN": 0 if options.get("allow_replays") else 32768,
        "CLIENT_HANDSHAKE_TIMEOUT": 30,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as config_file:
        for name, value in config.items():
            config_file.write(f"{name} = {value!r}\n")
    sys.argv = ["mtprotoproxy", config_file.name]  # its command line: one config file
    spec = importlib.util.spec_from_file_location("mtprotoproxy", script_path())
    assert spec is not None and spec.loader is not None
    proxy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(proxy)
    proxy.init_config()
    proxy.init_stats()
    proxy.my_ip_info = {"ipv4": "127.0.0.1", "ipv6": None}  # no public-address lookup

    dcs = {int(dc): (host, int(port)) for dc, (host, port) in options["dcs"].items()}
    proxy.TG_DATACENTERS_V4 = [f"{dcs[dc][0]}:{dcs[dc][1]}" if dc in dcs else "0.0.0.0:9"
                               for dc in range(1, max(dcs) + 1)]
    dial = proxy.open_connection_tryer

    async def dial_test_dc(address: str, port: int, *args, **kwargs):  # noqa: ANN002, ANN003
        host, _, dc_port = address.rpartition(":")
        return await dial(host, int(dc_port), *args, **kwargs)

    proxy.open_connection_tryer = dial_test_dc

    async def serve() -> None:
        server = await asyncio.start_server(proxy.handle_client_wrapper, "127.0.0.1",
                                            options["port"], limit=proxy.get_to_tg_bufsize())
        print("listening", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
