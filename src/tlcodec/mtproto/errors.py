"""The errors of the MTProto layer (transport codes, malformed frames, rejected messages, RPC
errors from the server), as `tlcodec.mtproto` has always exported them: they are defined, with
every other error of the package, in `tlcodec.errors`."""

from __future__ import annotations

from ..errors import (
    AuthKeyUnregisteredError,
    AuthTokenAlreadyAcceptedError,
    AuthTokenExpiredError,
    AuthTokenInvalidError,
    BadMessageError,
    FloodWaitError,
    FrameError,
    MigrateError,
    NetworkMigrateError,
    PasswordHashInvalidError,
    PhoneMigrateError,
    RPCError,
    SecurityError,
    SessionPasswordNeededError,
    SrpIdInvalidError,
    SrpPasswordChangedError,
    TransportError,
    UserMigrateError,
)

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
    "PasswordHashInvalidError",
    "PhoneMigrateError",
    "RPCError",
    "SecurityError",
    "SessionPasswordNeededError",
    "SrpIdInvalidError",
    "SrpPasswordChangedError",
    "TransportError",
    "UserMigrateError",
]
