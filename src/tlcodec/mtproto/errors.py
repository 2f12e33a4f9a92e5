"""Errors of the MTProto layer: transport codes, malformed frames, RPC errors from the server.

`RPCError(code, message)` is what an `rpc_error` becomes; `RPCError.from_message` picks the
typed subclass (`FloodWaitError.seconds`, `*_MIGRATE_X` errors with `.dc_id`, ...) from the
message text, following core.telegram.org/api/errors.
"""

from __future__ import annotations

from .._errors import SecurityError

__all__ = [
    "AuthKeyUnregisteredError",
    "AuthTokenAlreadyAcceptedError",
    "AuthTokenExpiredError",
    "AuthTokenInvalidError",
    "BadMessageError",
    "FloodWaitError",
    "FrameError",
    "MigrateError",
    "NetworkMigrateError",
    "PhoneMigrateError",
    "RPCError",
    "SecurityError",
    "SessionPasswordNeededError",
    "TransportError",
    "UserMigrateError",
]


class TransportError(Exception):
    """The server answered with a 4-byte negative code instead of a frame (e.g. -404, -429)."""

    def __init__(self, code: int) -> None:
        meanings = {
            -404: "no such auth key, or a malformed request",
            -429: "too many connections or requests",
            -444: "test DC id sent to production or the reverse",
        }
        super().__init__(f"transport error {code}: {meanings.get(code, 'unknown code')}")
        self.code = code


class FrameError(ValueError):
    """A transport frame that cannot be valid: bad length, bad CRC, bad sequence, too large."""


class BadMessageError(Exception):
    """The server rejected one of our messages with a bad_msg_notification it cannot recover."""

    def __init__(self, code: int, msg_id: int) -> None:
        super().__init__(f"bad_msg_notification {code} for msg_id {msg_id:#x}")
        self.code = code
        self.msg_id = msg_id


class RPCError(Exception):
    """An `rpc_error` answer: `code` (400, 401, 420, 500, 303, ...) and `message`."""

    def __init__(self, code: int, message: str, request: object | None = None) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.request = request

    @classmethod
    def from_message(cls, code: int, message: str, request: object | None = None) -> RPCError:
        """The most specific subclass for this error text."""
        for prefix, migrate_cls in _MIGRATE_PREFIXES.items():
            if message.startswith(prefix) and message[len(prefix) :].isdigit():
                return migrate_cls(code, message, request, dc_id=int(message[len(prefix) :]))
        if message.startswith("FLOOD_WAIT_") and message[11:].isdigit():
            return FloodWaitError(code, message, request, seconds=int(message[11:]))
        error_cls = _BY_MESSAGE.get(message, cls)
        return error_cls(code, message, request)

    def __reduce__(self):  # type: ignore[override]
        return RPCError.from_message, (self.code, self.message)


class FloodWaitError(RPCError):
    """420 FLOOD_WAIT_X: wait `seconds` before repeating the request."""

    def __init__(self, code: int, message: str, request: object | None = None, *,
                 seconds: int) -> None:
        super().__init__(code, message, request)
        self.seconds = seconds


class MigrateError(RPCError):
    """303 *_MIGRATE_X: repeat the request on DC `dc_id`."""

    def __init__(self, code: int, message: str, request: object | None = None, *,
                 dc_id: int) -> None:
        super().__init__(code, message, request)
        self.dc_id = dc_id


class UserMigrateError(MigrateError):
    """USER_MIGRATE_X: the account lives on DC X."""


class PhoneMigrateError(MigrateError):
    """PHONE_MIGRATE_X."""


class NetworkMigrateError(MigrateError):
    """NETWORK_MIGRATE_X."""


class AuthTokenExpiredError(RPCError):
    """AUTH_TOKEN_EXPIRED: the login token is too old; export a new one."""


class AuthTokenInvalidError(RPCError):
    """AUTH_TOKEN_INVALID: the login token is not valid."""


class AuthTokenAlreadyAcceptedError(RPCError):
    """AUTH_TOKEN_ALREADY_ACCEPTED: the login token was already accepted."""


class SessionPasswordNeededError(RPCError):
    """SESSION_PASSWORD_NEEDED: the account has a 2FA password (auth.checkPassword next)."""


class AuthKeyUnregisteredError(RPCError):
    """AUTH_KEY_UNREGISTERED: the key is not logged in on this DC."""


_MIGRATE_PREFIXES: dict[str, type[MigrateError]] = {
    "USER_MIGRATE_": UserMigrateError,
    "PHONE_MIGRATE_": PhoneMigrateError,
    "NETWORK_MIGRATE_": NetworkMigrateError,
}

_BY_MESSAGE: dict[str, type[RPCError]] = {
    "AUTH_TOKEN_EXPIRED": AuthTokenExpiredError,
    "AUTH_TOKEN_INVALID": AuthTokenInvalidError,
    "AUTH_TOKEN_ALREADY_ACCEPTED": AuthTokenAlreadyAcceptedError,
    "SESSION_PASSWORD_NEEDED": SessionPasswordNeededError,
    "AUTH_KEY_UNREGISTERED": AuthKeyUnregisteredError,
}
