"""Faults on demand, for the tests of what a client does when a DC misbehaves: the test DCs' API
for breaking themselves. Kept apart from the serving code (server.py), which is a DC that
behaves; `DataCentres` has both.

`request_hook` (take a request over from the world: answer it late, never, or with a crafted
service message through `HeldRequest.session`) is called by the serving code; the rest is here:
`clock_offset` (the DCs' MTProto clock is off), `change_server_salt`, `forget_auth_keys` (the
next message gets -404), `send_transport_error`, `send_raw` (garbage, or a forged frame) and
`drop_connections`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .server import HeldRequest, _Connection, _DataCentre

__all__ = ["FaultInjection"]


class FaultInjection:
    """The faults of `DataCentres` (its base class), on the DCs it serves.

    `request_hook(held) -> bool` is called with a `HeldRequest` for every RPC request before
    the world answers it; True means the hook took it over (the world does not see it unless
    the hook calls `held.answer()`). `clock_offset`: seconds added to the real clock wherever
    MTProto keeps time on these DCs (msg_id windows, the DCs' own msg_ids, the handshake's
    server_time); the world's `clock` is separate.
    """

    # What `DataCentres` provides.
    _dcs: dict[int, _DataCentre]
    _random_bytes: Callable[[int], bytes]

    def __init__(self) -> None:
        self._clock_offset = 0.0
        self.request_hook: Callable[[HeldRequest], bool] | None = None

    def _dc(self, dc_id: int) -> _DataCentre:
        raise NotImplementedError

    @property
    def clock_offset(self) -> float:
        """Seconds the DCs' MTProto clock is ahead of the real one (negative: behind)."""
        return self._clock_offset

    @clock_offset.setter
    def clock_offset(self, seconds: float) -> None:
        # Every session of every key, at once: the DCs' clock jumped.
        self._clock_offset = float(seconds)
        for dc in self._dcs.values():
            for key in dc.keys.values():
                for session in key.sessions.values():
                    session.time_offset = self._clock_offset

    def mtproto_now(self) -> float:
        """The DCs' MTProto clock: the real time plus `clock_offset`."""
        return time.time() + self._clock_offset

    def change_server_salt(self, dc_id: int | None = None, *, keep_previous: bool = False) -> int:
        """A new server salt for every auth key of one DC (all DCs if None); returns it.

        `keep_previous=False`: the salt clients use now is refused at once (as once its
        validity has run out), so their next message gets `bad_server_salt`. True: it stays
        accepted beside the new one, as right after a scheduled change."""
        salt = int.from_bytes(self._random_bytes(8), "little", signed=True)
        dcs = self._dcs.values() if dc_id is None else [self._dc(dc_id)]
        for dc in dcs:
            for key in dc.keys.values():
                key.previous_salt = key.server_salt if keep_previous else salt
                key.server_salt = salt
                for session in key.sessions.values():
                    if not keep_previous:
                        # The session accepts the salt it replaces; replace a throwaway one.
                        session.server_salt = salt ^ 1
                    session.server_salt = salt
        return salt

    def forget_auth_keys(self, dc_id: int) -> int:
        """DC `dc_id` forgets every auth key it made (as after losing its key store): a client's
        next encrypted message gets transport error -404. Returns how many were forgotten."""
        dc = self._dc(dc_id)
        forgotten = len(dc.keys)
        dc.keys.clear()
        return forgotten

    def send_transport_error(self, code: int, dc_id: int | None = None) -> int:
        """Write the 4-byte transport error `code` (-404, -429, -444, ...) on every open
        connection of one DC (all if None) that has spoken, then close them. Returns how many."""
        sent = 0
        for connection in self._open_connections(dc_id):
            if connection.close_with_error(code):
                sent += 1
        return sent

    def send_raw(self, data: bytes, dc_id: int | None = None, *, framed: bool = False) -> int:
        """Write `data` on every open connection of one DC (all if None) that has spoken: as
        it is (`framed=False`: bytes that are no frame at all), or as one frame of the
        connection's transport (a payload that must fail the client's checks). The connection
        stays open. Returns on how many it was written."""
        written = 0
        for connection in self._open_connections(dc_id):
            if connection.write_raw(data, framed=framed):
                written += 1
        return written

    def drop_connections(self, dc_id: int | None = None) -> int:
        """Abort every open client connection of one DC (all DCs if None), as a network failure
        would; keys and sessions stay. Returns how many were dropped."""
        connections = self._open_connections(dc_id)
        for connection in connections:
            connection.abort()
        return len(connections)

    def _open_connections(self, dc_id: int | None) -> list[_Connection]:
        dcs = self._dcs.values() if dc_id is None else [self._dc(dc_id)]
        return [connection for dc in dcs for connection in list(dc.connections)]
