"""The asyncio client: the only place (besides `tlcodec.testing`) where MTProto meets sockets.

- `Client` (client.py): calls, DCs, migrations, the session, `qr_login()`.
- `DcConnection` (connection.py): one DC's socket, framing, auth key, encrypted session and
  reconnects; the calls in flight come from its base class `DcCalls` (calls.py), their futures
  and timeouts from _plumbing.py.
- `Session` (storage.py): what is kept between runs (file, string or memory) and the
  Telethon/Pyrogram exports.
- `QRLogin` (qr.py): the QR-code login flow.
- `parse_proxy`, `Proxy`, `MTProxy` (proxies.py): proxy URLs and MTProxy links; proxy_stream.py
  connects through them.

Everything below this package is sans-IO (`tlcodec.mtproto`, `tlcodec.crypto`).
"""

from __future__ import annotations

from .client import BOOTSTRAP_DCS, Client
from .connection import TRANSPORTS, ClientClosedError, DcConnection
from .proxies import MTProxy, Proxy, parse_proxy
from .qr import QRLogin, SignUpRequiredError, login_url
from .storage import DcAuth, Session, SessionFileError

__all__ = [
    "BOOTSTRAP_DCS",
    "TRANSPORTS",
    "Client",
    "ClientClosedError",
    "DcAuth",
    "DcConnection",
    "MTProxy",
    "Proxy",
    "QRLogin",
    "Session",
    "SessionFileError",
    "SignUpRequiredError",
    "login_url",
    "parse_proxy",
]
