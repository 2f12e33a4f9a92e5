"""Local test data centres: a real MTProto server on loopback, for clients to log in against
with no internet (the QR-code login with DC migration included).

    from tlcodec.testing import DataCentres

    async with DataCentres(dc_ids=(1, 2, 3)) as dcs:
        alice = dcs.create_account("Alice", "15550001111", dc_id=3)
        host, port = dcs.address(2)          # connect here, trusting dcs.public_key
        ...                                  # the client exports a login token (QR code)
        dcs.accept_login_token(token, alice) # a logged-in device of Alice scans it

`server` owns the sockets and the MTProto plumbing (`tlcodec.mtproto` objects driven by asyncio);
`faults` the API for making the DCs misbehave; `accounts` who the DCs know; `world` what they
keep (accounts, logins, login tokens) and the RPC handlers; `passwords` the server's half of
two-step verification; `thumbnails` the accounts' profile pictures. Use only on addresses
of this machine.
"""

from __future__ import annotations

from .server import DataCentres, HeldRequest, describe, serve_forever
from .accounts import Account, KeyRef
from .world import DEFAULT_TOKEN_TTL, UNSUPPORTED_METHOD, World

__all__ = [
    "DEFAULT_TOKEN_TTL",
    "UNSUPPORTED_METHOD",
    "Account",
    "DataCentres",
    "HeldRequest",
    "KeyRef",
    "World",
    "describe",
    "serve_forever",
]
