"""Opening a DC's TCP stream through a proxy, and the framing an MTProxy needs.

SOCKS5, SOCKS4 and HTTP CONNECT go through python-socks (the handshake with the proxy, the
proxy's answers as its errors), and the socket it returns is handed to the event loop like a
direct connection: what flows over it afterwards is the usual MTProto transport. An MTProxy is
a plain TCP connection to the proxy carrying the obfuscated transport keyed with the secret
(inside fake TLS for an `ee` secret): `mtproxy_framing` makes it.

Every failure is a `ProxyError` subclass naming the proxy (never its password or secret) and
what failed; `blame_proxy` turns what goes wrong behind an MTProxy during the first exchange
(the proxy swallowing a connection it does not take, closing it, answering garbage) into one.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from typing import Any

from ..errors import (
    ConnectTimeoutError,
    FrameError,
    ProxyAuthError,
    ProxyConnectionError,
    ProxyError,
    ProxyProtocolError,
    ProxyRefusedError,
    ProxyTimeoutError,
)
from ..mtproto.faketls import FakeTls
from ..mtproto.transports import Obfuscated, PaddedIntermediate, Transport
from .proxies import MTProxy, Proxy, ProxySpec

__all__ = ["blame_proxy", "mtproxy_framing", "open_stream"]

# SOCKS4 reply codes that are about who we are (identd), not about the destination.
_SOCKS4_IDENT_CODES = (0x5C, 0x5D)
_HTTP_PROXY_AUTH_REQUIRED = 407


async def open_stream(
    loop: asyncio.AbstractEventLoop,
    protocol_factory: Callable[[], asyncio.Protocol],
    proxy: ProxySpec,
    host: str,
    port: int,
    timeout: float,
) -> asyncio.Transport:
    """A connected transport to the DC at host:port through `proxy`, within `timeout`
    seconds; raises a `ProxyError`."""
    if isinstance(proxy, MTProxy):
        return await _connect_tcp(loop, protocol_factory, proxy, timeout)
    sock = await _socks_connect(loop, proxy, host, port, timeout)
    try:
        # As on a direct connection: asyncio sets TCP_NODELAY only on sockets whose protocol
        # number says TCP, and python-socks makes its socket with protocol 0. Without it, a
        # request written while the previous one is unacknowledged waits for a delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport, _ = await loop.create_connection(protocol_factory, sock=sock)
    except BaseException:
        sock.close()
        raise
    assert isinstance(transport, asyncio.Transport)
    return transport


async def _connect_tcp(loop: asyncio.AbstractEventLoop,
                       protocol_factory: Callable[[], asyncio.Protocol],
                       proxy: MTProxy, timeout: float) -> asyncio.Transport:
    name = proxy.describe()
    try:
        transport, _ = await asyncio.wait_for(
            loop.create_connection(protocol_factory, proxy.host, proxy.port), timeout)
    except asyncio.TimeoutError:
        raise ProxyTimeoutError(name, f"no TCP connection within {timeout} s") from None
    except OSError as exc:
        raise ProxyConnectionError(name, f"cannot connect: {_os_reason(exc)}") from exc
    assert isinstance(transport, asyncio.Transport)
    return transport


async def _socks_connect(loop: asyncio.AbstractEventLoop, proxy: Proxy, host: str, port: int,
                         timeout: float) -> Any:
    # Imported here: `import tlcodec` stays free of it for the many who use no proxy.
    import python_socks
    from python_socks.async_.asyncio import Proxy as SocksClient

    kind = {"socks5": python_socks.ProxyType.SOCKS5, "socks4": python_socks.ProxyType.SOCKS4,
            "http": python_socks.ProxyType.HTTP}[proxy.kind]
    client = SocksClient(kind, proxy.host, proxy.port, username=proxy.username,
                         password=proxy.password, rdns=proxy.remote_dns, loop=loop)
    name = proxy.describe()
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        return await client.connect(host, port, timeout=timeout)
    except python_socks.ProxyTimeoutError:
        raise ProxyTimeoutError(name, f"no answer within {timeout} s") from None
    except python_socks.ProxyConnectionError as exc:
        cause = exc.__cause__
        reason = _os_reason(cause) if isinstance(cause, OSError) else str(exc)
        raise ProxyConnectionError(name, f"cannot connect: {reason}") from exc
    except python_socks.ProxyError as exc:
        # The proxy closed halfway (python-socks has a class for it since 2.x; () before).
        closed = getattr(python_socks._errors, "IncompleteReadError", ())
        if closed and isinstance(exc.__cause__, closed):
            if proxy.kind == "socks5":
                # A SOCKS5 server names a refused destination in its reply; closing during the
                # handshake is about us: servers such as pproxy answer wrong credentials, or
                # none where they want some, that way.
                raise ProxyAuthError(name, "it closed the connection during the handshake "
                                     + (f"instead of accepting the user {proxy.username!r} and "
                                        "password" if proxy.username is not None else
                                        "(it wants a user and password)")) from exc
            raise ProxyRefusedError(name, f"it closed the connection instead of answering "
                                    f"(it refuses us or {target})") from exc
        raise _classify_reply(name, proxy, target, exc) from exc
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - the library's parsers fail in their own ways on garbage
        raise ProxyProtocolError(name, f"its answer is not {proxy.kind.upper()}: "
                                 f"{type(exc).__name__}: {exc}") from exc


def _classify_reply(name: str, proxy: Proxy, target: str, exc: Exception) -> ProxyError:
    """python-socks' ProxyError: the proxy's reply, sorted into whose fault it was."""
    code = getattr(exc, "error_code", None)
    message = str(exc)
    lowered = message.lower()
    if code is None:
        if proxy.kind == "http" and "invalid proxy response" in lowered:
            # python-socks' words for an empty answer: the proxy closed the connection.
            return ProxyRefusedError(name, f"it closed the connection instead of answering "
                                     f"(it refuses us or {target})")
        if "authentication" in lowered or "auth " in lowered:
            return ProxyAuthError(name, f"{message} (user {proxy.username!r})"
                                  if proxy.username else f"{message} (it wants credentials)")
        return ProxyProtocolError(name, f"its answer is not {proxy.kind.upper()}: {message}")
    if (proxy.kind == "http" and code == _HTTP_PROXY_AUTH_REQUIRED) or (
            proxy.kind == "socks4" and code in _SOCKS4_IDENT_CODES):
        return ProxyAuthError(name, f"{message} (user {proxy.username!r})" if proxy.username
                              else f"{message} (it wants credentials)")
    return ProxyRefusedError(name, f"it would not connect to {target}: {message}", code)


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return exc.strerror or str(exc) or type(exc).__name__


# ----------------------------------------------------------------------------------------------
# MTProxy framing and errors


def mtproxy_framing(proxy: MTProxy, inner: Transport, dc_id: int, *,
                    random_bytes: Callable[[int], bytes] = os.urandom) -> Transport:
    """The client's framing through `proxy`: `inner` (fresh, client role) obfuscated with the
    secret and `dc_id` in the init; padded intermediate for `dd` and `ee` secrets (which is
    what those secrets promise the proxy), inside fake TLS for `ee`."""
    if proxy.mode != "obfuscated" and not isinstance(inner, PaddedIntermediate):
        inner = PaddedIntermediate("client", max_frame=inner.max_frame, random_bytes=random_bytes)
    if inner.OBFUSCATED_TAG is None:
        raise ValueError(f"an MTProxy carries abridged, intermediate or padded framing, "
                         f"not {inner.NAME}")
    obfuscated = Obfuscated(inner, dc_id=dc_id, secret=proxy.secret, random_bytes=random_bytes)
    if proxy.mode != "faketls":
        return obfuscated
    assert proxy.domain is not None
    return FakeTls(obfuscated, secret=proxy.secret, domain=proxy.domain,
                   random_bytes=random_bytes)


def blame_proxy(proxy: ProxySpec, dc_id: int, exc: BaseException) -> BaseException:
    """What failed in the first exchange with a DC through `proxy` (after the proxy's own
    handshake, if it has one), as a `ProxyError` naming it; other errors as they are. Silence,
    garbage and a connection closed before the DC said a word are what a proxy that cannot or
    will not relay produces (an MTProxy holds a client it does not accept silently; a SOCKS
    proxy may report success, then fail to reach the DC), so the proxy is named first."""
    if isinstance(exc, ProxyError):
        return exc
    name = proxy.describe()
    if isinstance(exc, ConnectTimeoutError):
        hint = (" an MTProxy keeps a connection it does not accept open and silent: is the "
                "secret right?" if isinstance(proxy, MTProxy) else
                " the proxy relays nothing, or the DC is silent")
        return ProxyTimeoutError(name, f"no answer from DC {dc_id} through it ({exc});{hint}")
    if isinstance(exc, FrameError):
        return ProxyProtocolError(name, f"what came back through it is not MTProto: {exc}")
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, EOFError)):
        return ProxyRefusedError(name, f"the connection through it closed before DC {dc_id} "
                                 "answered (the proxy cannot reach that DC, or refuses to)")
    return exc
