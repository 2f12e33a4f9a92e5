"""Proxy URLs and MTProxy links, parsed into what the client connects through (no I/O here).

    parse_proxy("socks5://user:pass@127.0.0.1:1080")       -> Proxy("socks5", ...)
    parse_proxy("socks5h://proxy.example:1080")            -> Proxy(..., remote_dns=True)
    parse_proxy("socks4://127.0.0.1:1080"), "http://..."   -> Proxy("socks4" / "http", ...)
    parse_proxy("tg://proxy?server=h&port=443&secret=...") -> MTProxy(...)
    parse_proxy("https://t.me/proxy?server=...")           -> MTProxy(...)
    parse_proxy("tg://socks?server=h&port=1080&user=u&pass=p") -> Proxy("socks5", ...)

An MTProxy secret comes in three kinds, told apart by its first byte (PROTOCOL.md's transports;
the links carry it as hex, or as base64 with either alphabet, padded or not):

- 16 bytes: the obfuscated transport keyed with the secret (any obfuscatable framing);
- `dd` + 16 bytes: the same with the padded intermediate framing;
- `ee` + 16 bytes + a domain: fake TLS (a TLS 1.3 handshake naming the domain, then the
  obfuscated padded intermediate stream inside TLS application-data records).

Anything that cannot be used is a `ProxyURLError` naming the part at fault; no message repeats
a password or a secret.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal, Union
from urllib.parse import parse_qsl, unquote

from ..errors import ProxyURLError

__all__ = ["MTProxy", "Proxy", "ProxySpec", "parse_proxy"]

ProxyKind = Literal["socks5", "socks4", "http"]
MTProxyMode = Literal["obfuscated", "padded", "faketls"]

# URL scheme -> (kind, DNS resolved by the proxy)
_SCHEMES: dict[str, tuple[ProxyKind, bool]] = {
    "socks5": ("socks5", False),
    "socks5h": ("socks5", True),
    "socks4": ("socks4", False),
    "socks4a": ("socks4", True),
    "http": ("http", True),
}
_LINK_HOSTS = ("t.me", "telegram.me", "telegram.dog")
_SECRET_SIZE = 16
_PADDED_MARK = 0xDD
_FAKE_TLS_MARK = 0xEE
# The fake-TLS ClientHello is a fixed 517 bytes; the domain (in the SNI) must leave room for
# the rest of it (PROTOCOL.md's transports; tlcodec.mtproto.faketls builds it).
MAX_FAKE_TLS_DOMAIN = 180
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)\Z")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+\Z")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}\Z")


@dataclass(frozen=True)
class Proxy:
    """A SOCKS5, SOCKS4 or HTTP CONNECT proxy. `remote_dns`: the proxy resolves the DC's host
    name (socks5h, socks4a; always for HTTP). DCs are addressed by IP, so it only matters for
    a host name given with `dc=`."""

    kind: ProxyKind
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    remote_dns: bool = False

    def describe(self) -> str:
        """The proxy as error messages and logs name it: no credentials."""
        scheme = {"socks5": "socks5h" if self.remote_dns else "socks5",
                  "socks4": "socks4a" if self.remote_dns else "socks4",
                  "http": "http"}[self.kind]
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{_authority(self.host, self.port)}"


@dataclass(frozen=True)
class MTProxy:
    """An MTProxy: `secret` is the 16 bytes of key material, `mode` the kind of secret, `domain`
    the fake-TLS domain (only for mode "faketls")."""

    host: str
    port: int
    secret: bytes = field(repr=False)
    mode: MTProxyMode = "obfuscated"
    domain: str | None = None

    def __post_init__(self) -> None:
        if len(self.secret) != _SECRET_SIZE:
            raise ProxyURLError(f"an MTProxy secret is {_SECRET_SIZE} bytes of key material, "
                                f"got {len(self.secret)}")
        if (self.mode == "faketls") != (self.domain is not None):
            raise ProxyURLError("a fake-TLS MTProxy (and only one) has a domain")

    def describe(self) -> str:
        kind = {"obfuscated": "obfuscated", "padded": "dd, padded",
                "faketls": f"ee, fake TLS as {self.domain}"}[self.mode]
        return f"MTProxy {_authority(self.host, self.port)} ({kind})"


ProxySpec = Union[Proxy, MTProxy]


def parse_proxy(value: str | Proxy | MTProxy) -> ProxySpec:
    """A proxy URL or MTProxy link (see the module doc) -> `Proxy` or `MTProxy`; a `Proxy` or
    `MTProxy` is returned as it is. Raises `ProxyURLError`."""
    if isinstance(value, (Proxy, MTProxy)):
        return value
    if not isinstance(value, str):
        raise ProxyURLError(f"a proxy is a URL string, a Proxy or an MTProxy, "
                            f"not {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ProxyURLError("the proxy URL is empty")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in text):
        raise ProxyURLError("the proxy URL contains whitespace or control characters")
    scheme, sep, rest = text.partition("://")
    if not sep:
        if text.lower().startswith(tuple(f"{host}/" for host in _LINK_HOSTS)):
            scheme, rest = "https", text  # a link pasted without its scheme
        else:
            raise ProxyURLError("the proxy URL has no scheme (socks5://, socks5h://, "
                                "socks4://, http://, tg://proxy?, https://t.me/proxy?)")
    scheme = scheme.lower()
    if scheme == "tg":
        return _parse_link(rest, "tg://")
    if scheme in ("https", "http"):
        host_part = rest.split("/", 1)[0].split("?", 1)[0].lower()
        if host_part in _LINK_HOSTS:
            path = rest[len(host_part):]
            if not path.startswith("/"):
                raise ProxyURLError(f"a {host_part} link is {host_part}/proxy?... or "
                                    f"{host_part}/socks?...")
            return _parse_link(path[1:], f"{scheme}://{host_part}/")
    if scheme not in _SCHEMES:
        raise ProxyURLError(f"unsupported proxy scheme {scheme!r}: use socks5, socks5h, socks4, "
                            f"socks4a, http, or an MTProxy link (tg://proxy?, "
                            f"https://t.me/proxy?)")
    kind, remote_dns = _SCHEMES[scheme]
    authority, _, tail = rest.partition("/")
    if tail or "?" in authority or "#" in authority:
        raise ProxyURLError(f"a {scheme} proxy URL is {scheme}://[user[:password]@]host:port, "
                            "with no path, query or fragment")
    userinfo, at, hostport = authority.rpartition("@")
    username = password = None
    if at:
        user_text, colon, password_text = userinfo.partition(":")
        username = _unquote(user_text, "user name")
        password = _unquote(password_text, "password") if colon else None
        if not username:
            raise ProxyURLError("the proxy URL has credentials with an empty user name")
        if kind == "socks4" and password is not None:
            raise ProxyURLError("SOCKS4 has a user id but no password")
    host, port = _split_host_port(hostport)
    return Proxy(kind, host, port, username, password, remote_dns)


def _parse_link(rest: str, prefix: str) -> ProxySpec:
    """tg://proxy?..., tg://socks?..., t.me/proxy?..., t.me/socks?... (after the prefix)."""
    path, _, query = rest.partition("?")
    path = path.rstrip("/").lower()
    if path not in ("proxy", "socks"):
        raise ProxyURLError(f"unsupported link {prefix}{path}: an MTProxy link is "
                            f"{prefix}proxy?server=...&port=...&secret=..., a SOCKS5 one "
                            f"{prefix}socks?server=...&port=...")
    query = query.split("#", 1)[0]
    params: dict[str, str] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query),
                          errors="strict", max_num_fields=32)
    except (ValueError, UnicodeDecodeError):
        raise ProxyURLError(f"the {prefix}{path} link's query is not name=value pairs "
                            "(or is not UTF-8)") from None
    for name, value in pairs:
        if name in params:
            raise ProxyURLError(f"the {prefix}{path} link gives {name!r} twice")
        params[name] = value
    server = params.get("server")
    if not server:
        raise ProxyURLError(f"the {prefix}{path} link has no server")
    if "port" not in params:
        raise ProxyURLError(f"the {prefix}{path} link has no port")
    host = _check_host(server)
    port = _check_port(params["port"])
    if path == "socks":
        username = params.get("user") or None
        password = params.get("pass") if username else None
        return Proxy("socks5", host, port, username, password, remote_dns=False)
    if "secret" not in params:
        raise ProxyURLError(f"the {prefix}proxy link has no secret")
    # A query turns a base64 "+" into a space (links rarely escape it); the URL itself has
    # no spaces (refused above), so every space here was a "+".
    text = params["secret"].replace(" ", "+")
    secret = _decode_secret(text)
    if _HEX.match(text) and not _is_secret_shape(secret) and _BASE64.match(text):
        # Hex digits only, yet not a secret as hex: base64 can be made of hex digits too.
        try:
            return _mtproxy(host, port, _decode_base64_secret(text))
        except ProxyURLError:
            pass
    return _mtproxy(host, port, secret)


def _is_secret_shape(secret: bytes) -> bool:
    return (len(secret) == _SECRET_SIZE
            or (len(secret) == _SECRET_SIZE + 1 and secret[0] == _PADDED_MARK)
            or (len(secret) > _SECRET_SIZE + 1 and secret[0] == _FAKE_TLS_MARK))


def _mtproxy(host: str, port: int, secret: bytes) -> MTProxy:
    if len(secret) == _SECRET_SIZE:
        return MTProxy(host, port, secret, "obfuscated")
    mark = secret[0]
    if mark == _PADDED_MARK and len(secret) == _SECRET_SIZE + 1:
        return MTProxy(host, port, secret[1:], "padded")
    if mark == _FAKE_TLS_MARK and len(secret) > _SECRET_SIZE + 1:
        raw_domain = secret[1 + _SECRET_SIZE:]
        try:
            domain = raw_domain.decode("ascii")
        except UnicodeDecodeError:
            raise ProxyURLError("the fake-TLS secret's domain is not ASCII") from None
        if len(domain) > MAX_FAKE_TLS_DOMAIN:
            raise ProxyURLError(f"the fake-TLS secret's domain is {len(domain)} characters, "
                                f"at most {MAX_FAKE_TLS_DOMAIN} fit in the handshake")
        if not _is_host_name(domain):
            raise ProxyURLError("the fake-TLS secret's domain is not a host name")
        return MTProxy(host, port, secret[1:1 + _SECRET_SIZE], "faketls", domain)
    raise ProxyURLError(
        f"an MTProxy secret is 16 bytes, dd + 16 bytes or ee + 16 bytes + a domain; this one "
        f"is {len(secret)} bytes starting {mark:02x}")


def _decode_secret(text: str) -> bytes:
    if not text:
        raise ProxyURLError("the MTProxy secret is empty")
    if _HEX.match(text):
        return bytes.fromhex(text)
    if not _BASE64.match(text):
        raise ProxyURLError("the MTProxy secret is neither hex nor base64")
    return _decode_base64_secret(text)


def _decode_base64_secret(text: str) -> bytes:
    body = text.rstrip("=").replace("-", "+").replace("_", "/")
    if len(body) % 4 == 1:
        raise ProxyURLError("the MTProxy secret is not valid base64 (wrong length)")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ProxyURLError("the MTProxy secret is not valid base64") from None


def _split_host_port(hostport: str) -> tuple[str, int]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise ProxyURLError("the proxy host has an opening [ with no closing ]")
        host, rest = hostport[1:end], hostport[end + 1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ProxyURLError("the proxy host in brackets is not an IPv6 address") from None
        if not rest.startswith(":"):
            raise ProxyURLError("the proxy URL has no port (host:port)")
        return host, _check_port(rest[1:])
    host, colon, port_text = hostport.rpartition(":")
    if not colon:
        raise ProxyURLError("the proxy URL has no port (host:port)")
    if ":" in host:
        raise ProxyURLError("an IPv6 proxy host is written in brackets: [::1]:1080")
    return _check_host(host), _check_port(port_text)


def _check_host(host: str) -> str:
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not _is_host_name(host):
        raise ProxyURLError("the proxy host is neither an IP address nor a host name")
    return host


def _is_host_name(name: str) -> bool:
    if not name or len(name) > 253:
        return False
    labels = name[:-1].split(".") if name.endswith(".") else name.split(".")
    return all(_HOST_LABEL.match(label) for label in labels)


def _check_port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 5:
        raise ProxyURLError("the proxy port is not a number from 1 to 65535")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ProxyURLError(f"the proxy port is {port}, not from 1 to 65535")
    return port


def _unquote(text: str, what: str) -> str:
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise ProxyURLError(f"the proxy URL's {what} is not UTF-8 once %-decoded") from None


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
