"""Who the test data centres know: the accounts (`Account`, with the `user` objects their owner
and others see), the auth keys that call (`KeyRef`, one key of one DC), and what a call carries
about its sender (`Caller`, `ClientInfo`). `World` (world.py) keeps them and answers the calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .. import types
from .passwords import StoredPassword

__all__ = ["Account", "Caller", "ClientInfo", "KeyRef"]

Clock = Callable[[], float]

ONLINE_FOR = 300  # the owner's userStatusOnline lasts this long after each request


@dataclass(frozen=True, slots=True)
class KeyRef:
    """One auth key of one DC (keys are never shared between DCs)."""

    dc_id: int
    auth_key_id: bytes

    def __hash__(self) -> int:
        # Every call looks its key up (logins, clients): the id's own hash is cached by bytes,
        # where the generated one hashes a new (dc_id, auth_key_id) tuple each time.
        return hash(self.auth_key_id)

    def __repr__(self) -> str:
        return f"KeyRef(dc_id={self.dc_id}, auth_key_id={self.auth_key_id.hex()})"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request: the auth key it came under, and the client's address (for the
    `authorization` rows the QR flow shows on the accepting device)."""

    key: KeyRef
    ip: str = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """What an auth key said in `invokeWithLayer(layer, initConnection(...))`."""

    layer: int
    api_id: int
    device_model: str
    system_version: str
    app_version: str
    system_lang_code: str
    lang_pack: str
    lang_code: str


class Account:
    """A user of the test DCs. `user` is the `user` object its owner sees (self=True);
    `password` is the two-step verification password as the DCs keep it (a `StoredPassword`:
    an SRP verifier, never the password) or None."""

    __slots__ = (
        "user_id", "access_hash", "dc_id", "first_name", "last_name", "username", "phone",
        "password", "photo_id", "stripped_thumb", "pts", "seq", "_clock",
    )

    def __init__(self, *, user_id: int, access_hash: int, dc_id: int, first_name: str,
                 last_name: str | None, username: str | None, phone: str,
                 password: StoredPassword | None,
                 photo_id: int, stripped_thumb: bytes, clock: Clock) -> None:
        self.user_id = user_id
        self.access_hash = access_hash
        self.dc_id = dc_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.phone = phone
        self.password = password
        self.photo_id = photo_id
        self.stripped_thumb = stripped_thumb
        self.pts = 1  # update state (updates.getState); nothing here ever changes it
        self.seq = 1
        self._clock = clock

    @property
    def user(self) -> types.User:
        """The account as its owner sees it: every field, `self`, online."""
        return self._user(owner=True)

    @property
    def user_for_others(self) -> types.User:
        """The account as another user sees it (no phone, not `self`, seen recently)."""
        return self._user(owner=False)

    @property
    def full_user(self) -> types.UserFull:
        """The account's profile as its owner sees it (`users.getFullUser` on inputUserSelf)."""
        return self._full_user(owner=True)

    @property
    def full_user_for_others(self) -> types.UserFull:
        """The account's profile as another user sees it."""
        return self._full_user(owner=False)

    def _full_user(self, owner: bool) -> types.UserFull:
        # What Telegram sends for a new account with default privacy settings: no bio, no
        # common chats, default notifications, no contact actions to suggest; anyone may call
        # it, and messages can be pinned in any private chat (Saved Messages included).
        # `profile_photo` is left out: the DCs keep no photo files whose sizes a `photo` would
        # have to list (the `user` object's `photo` still carries the stripped thumbnail).
        return types.UserFull(
            id=self.user_id,
            can_pin_message=True,
            phone_calls_available=not owner,
            video_calls_available=not owner,
            settings=types.PeerSettings(),
            notify_settings=types.PeerNotifySettings(),
            common_chats_count=0,
        )

    def _user(self, owner: bool) -> types.User:
        return types.User(
            self=owner,
            id=self.user_id,
            access_hash=self.access_hash,
            first_name=self.first_name,
            last_name=self.last_name,
            username=self.username,
            phone=self.phone if owner else None,
            photo=types.UserProfilePhoto(
                photo_id=self.photo_id, stripped_thumb=self.stripped_thumb, dc_id=self.dc_id
            ),
            status=(
                types.UserStatusOnline(expires=int(self._clock()) + ONLINE_FOR)
                if owner else types.UserStatusRecently()
            ),
        )

    def __repr__(self) -> str:
        return (f"Account(user_id={self.user_id}, dc_id={self.dc_id}, "
                f"first_name={self.first_name!r}, phone={self.phone!r}, "
                f"password={'set' if self.password else None})")
