"""Proxy URLs and MTProxy links (tlcodec.client.proxies, no I/O): what users paste parses to
the proxy it names, every secret encoding links carry gives the same secret, and anything else,
hostile input included, is a `ProxyURLError` naming the part at fault, never another exception
and never an echo of a password or secret."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlcodec.client import Client, MTProxy, Proxy, parse_proxy
from tlcodec.errors import LocalError, ProxyURLError

KEY = bytes(range(0xA0, 0xB0))
DOMAIN = "www.example.org"


@pytest.mark.parametrize("url, expected", [
    ("socks5://127.0.0.1:1080", Proxy("socks5", "127.0.0.1", 1080)),
    ("SOCKS5://proxy.example:1080/", Proxy("socks5", "proxy.example", 1080)),
    ("socks5h://proxy.example:1080", Proxy("socks5", "proxy.example", 1080, remote_dns=True)),
    ("socks5://alice:p%40ss%3Aword@10.0.0.1:9050",
     Proxy("socks5", "10.0.0.1", 9050, "alice", "p@ss:word")),
    ("socks5://alice@10.0.0.1:9050", Proxy("socks5", "10.0.0.1", 9050, "alice")),
    ("socks5://alice:@10.0.0.1:9050", Proxy("socks5", "10.0.0.1", 9050, "alice", "")),
    ("socks4://[::1]:1080", Proxy("socks4", "::1", 1080)),
    ("socks4a://bob@proxy.example:1080", Proxy("socks4", "proxy.example", 1080, "bob",
                                                remote_dns=True)),
    ("http://user:pw@[2001:db8::1]:3128", Proxy("http", "2001:db8::1", 3128, "user", "pw",
                                                 remote_dns=True)),
    ("  http://proxy.example:8080  ", Proxy("http", "proxy.example", 8080, remote_dns=True)),
    ("tg://socks?server=1.2.3.4&port=1080&user=u&pass=p", Proxy("socks5", "1.2.3.4", 1080,
                                                                "u", "p")),
    ("https://t.me/socks?server=1.2.3.4&port=1080", Proxy("socks5", "1.2.3.4", 1080)),
])
def test_proxy_urls(url: str, expected: Proxy) -> None:
    assert parse_proxy(url) == expected


def encodings(raw: bytes) -> list[str]:
    return [raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode(),
            base64.b64encode(raw).decode().rstrip("="),
            base64.urlsafe_b64encode(raw).decode().rstrip("=")]


@pytest.mark.parametrize("prefix", ["tg://proxy?", "https://t.me/proxy?", "http://t.me/proxy?",
                                    "t.me/proxy?", "https://telegram.me/proxy/?",
                                    "tg://proxy/?"])
@pytest.mark.parametrize("kind, raw, expected", [
    ("plain", KEY, MTProxy("149.154.167.51", 443, KEY, "obfuscated")),
    ("dd", b"\xdd" + KEY, MTProxy("149.154.167.51", 443, KEY, "padded")),
    ("ee", b"\xee" + KEY + DOMAIN.encode(), MTProxy("149.154.167.51", 443, KEY, "faketls",
                                                     DOMAIN)),
])
def test_mtproxy_links_in_every_encoding(prefix: str, kind: str, raw: bytes,
                                         expected: MTProxy) -> None:
    for secret in encodings(raw):
        link = f"{prefix}server=149.154.167.51&port=443&secret={secret}"
        assert parse_proxy(link) == expected, link


def test_base64_made_of_hex_digits_only_is_read_as_base64() -> None:
    text = "4C283fefEc63f0cdD0e87A"  # 22 hex digits: 11 bytes as hex, 16 as base64
    link = f"tg://proxy?server=h.example&port=443&secret={text}"
    assert parse_proxy(link).secret == bytes.fromhex("e02dbcddf79f11ceb77f471d0f47bcec")


def test_the_order_of_a_links_fields_and_unknown_fields_do_not_matter() -> None:
    link = f"tg://proxy?secret=dd{KEY.hex()}&bot=@mtproxybot&port=8443&server=mt.example"
    assert parse_proxy(link) == MTProxy("mt.example", 8443, KEY, "padded")


def test_parsed_proxies_and_their_descriptions_hide_secrets() -> None:
    proxy = parse_proxy("socks5://alice:hunter2@127.0.0.1:1080")
    assert proxy.describe() == "socks5://alice@127.0.0.1:1080"
    assert "hunter2" not in repr(proxy)
    mtproxy = parse_proxy(f"tg://proxy?server=::1&port=443&secret=ee{KEY.hex()}"
                          f"{DOMAIN.encode().hex()}")
    assert mtproxy.describe() == f"MTProxy [::1]:443 (ee, fake TLS as {DOMAIN})"
    assert KEY.hex() not in repr(mtproxy) and KEY.hex() not in mtproxy.describe()
    assert parse_proxy(proxy) is proxy  # a parsed proxy is taken as it is


@pytest.mark.parametrize("url, part", [
    ("", "empty"),
    ("127.0.0.1:1080", "no scheme"),
    ("socks6://127.0.0.1:1080", "unsupported proxy scheme"),
    ("https://proxy.example:443", "unsupported proxy scheme"),
    ("socks5://127.0.0.1", "no port"),
    ("socks5://127.0.0.1:0", "port is 0"),
    ("socks5://127.0.0.1:65536", "port is 65536"),
    ("socks5://127.0.0.1:-1", "port is not a number"),
    ("socks5://127.0.0.1:１０８０", "port is not a number"),
    ("socks5://::1:1080", "IPv6 proxy host is written in brackets"),
    ("socks5://[::1:1080", "no closing ]"),
    ("socks5://[not-v6]:1080", "not an IPv6 address"),
    ("socks5://bad_host!:1080", "neither an IP address nor a host name"),
    ("socks5://127.0.0.1:1080/path", "no path, query or fragment"),
    ("socks5://127.0.0.1:1080?x=1", "no path, query or fragment"),
    ("socks5://:secret@127.0.0.1:1080", "empty user name"),
    ("socks4://bob:secret@127.0.0.1:1080", "SOCKS4 has a user id but no password"),
    ("socks5://a%ffb@127.0.0.1:1080", "not UTF-8"),
    ("socks5://127.0.0.1:1080\n", None),  # trailing whitespace is stripped: valid
    ("socks5://127.0.\n0.1:1080", "whitespace or control characters"),
    ("tg://resolve?domain=x", "unsupported link"),
    ("tg://proxy?port=443&secret=" + KEY.hex(), "no server"),
    ("tg://proxy?server=h&secret=" + KEY.hex(), "no port"),
    ("tg://proxy?server=h&port=443", "no secret"),
    ("tg://proxy?server=h&port=443&secret=", "secret is empty"),
    ("tg://proxy?server=h&port=443&port=444&secret=" + KEY.hex(), "'port' twice"),
    ("tg://proxy?server=h&port=443&secret=" + KEY.hex()[:-2], "15 bytes starting a0"),
    ("tg://proxy?server=h&port=443&secret=dd" + KEY.hex() + "00", "18 bytes starting dd"),
    ("tg://proxy?server=h&port=443&secret=ee" + KEY.hex(), "17 bytes starting ee"),
    ("tg://proxy?server=h&port=443&secret=ee" + KEY.hex() + "ff", "domain is not ASCII"),
    ("tg://proxy?server=h&port=443&secret=ee" + KEY.hex() + b"a b".hex(), "not a host name"),
    ("tg://proxy?server=h&port=443&secret=ee" + KEY.hex() + (b"a" * 200).hex(),
     "at most 180 fit"),
    ("tg://proxy?server=h&port=443&secret=z!z", "neither hex nor base64"),
    ("tg://proxy?server=h&port=443&secret=abcde", "wrong length"),
    ("tg://proxy?server=h&port=443&secret=a=bc", "neither hex nor base64"),
    ("tg://proxy?server=h&port=443&secret=%ff", "not UTF-8"),
    ("https://t.me/joinchat/abc", "unsupported link"),
    ("https://t.me", "t.me/proxy?"),
])
def test_what_cannot_be_used_is_named(url: str, part: str | None) -> None:
    if part is None:
        assert parse_proxy(url).port == 1080
        return
    with pytest.raises(ProxyURLError) as caught:
        parse_proxy(url)
    assert part in str(caught.value)
    assert "secret" not in url or KEY.hex() not in str(caught.value)
    assert isinstance(caught.value, LocalError) and isinstance(caught.value, ValueError)


def test_a_proxy_of_another_type_is_refused() -> None:
    with pytest.raises(ProxyURLError, match="not tuple"):
        parse_proxy(("socks5", "127.0.0.1", 1080))  # type: ignore[arg-type]


def test_the_client_checks_its_proxy_when_made() -> None:
    with pytest.raises(ProxyURLError):
        Client(1, "hash", proxy="socks5://127.0.0.1")
    with pytest.raises(ValueError, match="not 'full'"):
        Client(1, "hash", transport="full", proxy=f"tg://proxy?server=h&port=1&secret={KEY.hex()}")
    client = Client(1, "hash", proxy="socks5h://127.0.0.1:1080", ipv6=True)
    assert client.proxy == Proxy("socks5", "127.0.0.1", 1080, remote_dns=True)


# ----------------------------------------------------------------------------------------------
# Hostile input: only ever a ProxyURLError

URL_ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs",))
PIECES = st.sampled_from([
    "socks5://", "socks5h://", "socks4://", "http://", "tg://proxy?", "tg://socks?",
    "https://t.me/proxy?", "t.me/socks?", "server=", "port=", "secret=", "user=", "pass=", "&",
    "@", ":", "[", "]", "::1", "127.0.0.1", "%", "%ff", "ee", "dd", KEY.hex(), "=", "/", "?",
    "#", "65535", "99999", "0", "-_", "+/", base64.b64encode(b"\xee" + KEY + b"x.io").decode(),
])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(URL_ALPHABET, max_size=120),
                 st.lists(st.one_of(PIECES, st.text(URL_ALPHABET, max_size=6)), max_size=14)
                 .map("".join)))
def test_hostile_urls_give_only_the_typed_error(url: str) -> None:
    try:
        proxy = parse_proxy(url)
    except ProxyURLError:
        return
    assert isinstance(proxy, (Proxy, MTProxy))
    assert 1 <= proxy.port <= 65535 and proxy.host
    if isinstance(proxy, MTProxy):
        assert len(proxy.secret) == 16


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["hex", "b64", "urlsafe"]))
def test_any_secret_bytes_give_an_mtproxy_or_the_typed_error(raw: bytes, encoding: str) -> None:
    text = {"hex": raw.hex(), "b64": base64.b64encode(raw).decode(),
            "urlsafe": base64.urlsafe_b64encode(raw).decode().rstrip("=")}[encoding]
    valid = (len(raw) == 16 or (len(raw) == 17 and raw[0] == 0xDD)
             or (len(raw) > 17 and raw[0] == 0xEE and raw[17:].isascii()
                 and raw[17:].decode().replace(".", "").replace("-", "").isalnum()
                 and len(raw) - 17 <= 180))
    try:
        proxy = parse_proxy(f"tg://proxy?server=h.example&port=443&secret={text}")
    except ProxyURLError:
        assert not valid or (raw[0] == 0xEE and ".." in raw[17:].decode())
        return
    assert isinstance(proxy, MTProxy) and len(proxy.secret) == 16
    if valid:  # the secret it carries, whichever encoding (hex digits may also be base64)
        assert proxy.secret == (raw if len(raw) == 16 else raw[1:17])
