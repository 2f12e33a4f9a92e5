"""Every error tlcodec raises on purpose, in one place and under one base class.

`except tlcodec.errors.Error` catches all of them. Each is either a `RemoteError` (the other
side sent or answered something wrong) or a `LocalError` (this side asked for something the
library cannot do), so a handler can tell whose fault it was; the built-in classes they also
derive from (`ValueError`, `ConnectionError`, `TimeoutError`, ...) are kept so that code
written against those still works. Wrong arguments stay plain `TypeError`/`ValueError`, as
everywhere in Python.

This module imports nothing of the package: every layer (codec, MTProto, client) takes its
errors from here, and `tlcodec.mtproto.errors` re-exports the MTProto ones.
"""

from __future__ import annotations

__all__ = [
    "AuthKeyUnregisteredError",
    "AuthTokenAlreadyAcceptedError",
    "AuthTokenExpiredError",
    "AuthTokenInvalidError",
    "BadMessageError",
    "CallTimeoutError",
    "ClientClosedError",
    "ConnectTimeoutError",
    "DecodeError",
    "Error",
    "FloodWaitError",
    "FrameError",
    "InflateLimitError",
    "LocalError",
    "LoginTimeoutError",
    "MigrateError",
    "MigrationLoopError",
    "NetworkMigrateError",
    "PasswordHashInvalidError",
    "PhoneMigrateError",
    "ProxyAuthError",
    "ProxyConnectionError",
    "ProxyError",
    "ProxyProtocolError",
    "ProxyRefusedError",
    "ProxyTimeoutError",
    "ProxyURLError",
    "RPCError",
    "RemoteError",
    "SchemaError",
    "SecurityError",
    "SessionFileError",
    "SessionPasswordNeededError",
    "SignUpRequiredError",
    "SrpIdInvalidError",
    "SrpPasswordChangedError",
    "TransportError",
    "UserMigrateError",
]


class Error(Exception):
    """The base of every error tlcodec raises on purpose."""


class RemoteError(Error):
    """The other side's fault: bytes that are not valid TL, a message that fails a security
    check, a transport error code, a rejected message, an `rpc_error`, no answer in time."""


class LocalError(Error):
    """This side's: a schema or session file the library cannot use, a call on a closed
    client."""


# ----------------------------------------------------------------------------------------------
# The codec and the schema


class DecodeError(RemoteError, ValueError):
    """Bytes that are not a valid TL value of the expected type.

    `offset` is where in the input the problem was found; the message says what was expected
    there and what was found.
    """

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at offset {offset})")
        self.offset = offset
        self._message = message

    def __reduce__(self):  # type: ignore[override]
        return type(self), (self._message, self.offset)


class InflateLimitError(DecodeError):
    """gzip_packed bodies that inflate past what one decode (or one received message) may
    inflate: refused before that memory is spent."""


class SchemaError(LocalError, ValueError):
    """A schema line that cannot be understood or served; the message names the line."""


# ----------------------------------------------------------------------------------------------
# MTProto


class SecurityError(RemoteError):
    """A peer's message failed a check of the MTProto security guidelines.

    `check` names the check (e.g. "nonce", "g_a", "msg_key"); nothing derived from the
    offending message is kept.
    """

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self._message = message

    def __reduce__(self):  # type: ignore[override]
        return type(self), (self.check, self._message)


class TransportError(RemoteError):
    """The server answered with a 4-byte negative code instead of a frame (e.g. -404, -429)."""

    def __init__(self, code: int) -> None:
        meanings = {
            -404: "no such auth key, or a malformed request",
            -429: "too many connections or requests",
            -444: "test DC id sent to production or the reverse",
        }
        super().__init__(f"transport error {code}: {meanings.get(code, 'unknown code')}")
        self.code = code

    def __reduce__(self):  # type: ignore[override]
        return type(self), (self.code,)


class FrameError(RemoteError, ValueError):
    """A transport frame that cannot be valid: bad length, bad CRC, bad sequence, too large."""


class BadMessageError(RemoteError):
    """The server rejected one of our messages with a bad_msg_notification it cannot recover."""

    def __init__(self, code: int, msg_id: int) -> None:
        super().__init__(f"bad_msg_notification {code} for msg_id {msg_id:#x}")
        self.code = code
        self.msg_id = msg_id

    def __reduce__(self):  # type: ignore[override]
        return type(self), (self.code, self.msg_id)


class RPCError(RemoteError):
    """An `rpc_error` answer: `code` (400, 401, 420, 500, 303, ...) and `message`.

    `RPCError.from_message` picks the typed subclass (`FloodWaitError.seconds`, `*_MIGRATE_X`
    errors with `.dc_id`, ...) from the message text, following core.telegram.org/api/errors.
    """

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
    """SESSION_PASSWORD_NEEDED: the account has a 2FA password (`Client.check_password` next).

    `hint` is the password's hint as the server gave it (None when it has none, or before the
    client asked `account.getPassword`).
    """

    def __init__(self, code: int, message: str, request: object | None = None, *,
                 hint: str | None = None) -> None:
        super().__init__(code, message, request)
        self.hint = hint

    def __reduce__(self):  # type: ignore[override]
        return RPCError.from_message, (self.code, self.message), {"hint": self.hint}


class PasswordHashInvalidError(RPCError):
    """PASSWORD_HASH_INVALID: the 2FA password is wrong; asking again is fine (a few times:
    repeated wrong passwords bring a FLOOD_WAIT_X)."""


class SrpIdInvalidError(RPCError):
    """SRP_ID_INVALID: the srp_id of the check is unknown or used; get the password
    parameters again (`account.getPassword`)."""


class SrpPasswordChangedError(RPCError):
    """SRP_PASSWORD_CHANGED: the password changed after `account.getPassword`; get the
    parameters again."""


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
    "PASSWORD_HASH_INVALID": PasswordHashInvalidError,
    "SRP_ID_INVALID": SrpIdInvalidError,
    "SRP_PASSWORD_CHANGED": SrpPasswordChangedError,
}


# ----------------------------------------------------------------------------------------------
# The client


class ConnectTimeoutError(RemoteError, TimeoutError):
    """A data centre gave no TCP connection, or did not finish the auth-key exchange, within
    the client's `connect_timeout`."""


class CallTimeoutError(RemoteError, TimeoutError):
    """A call got no answer within its timeout (the client's `request_timeout` by default), or
    a ping no pong, which makes the client reconnect."""


class ClientClosedError(LocalError, ConnectionError):
    """The client (or this DC's connection) was closed while the call waited."""


class SessionFileError(LocalError, ValueError):
    """A session file or string that cannot be read (damaged, foreign or of a later version)."""


class SignUpRequiredError(RemoteError):
    """The token was accepted, but the server answered `auth.authorizationSignUpRequired`:
    there is no account for this login (QR login cannot create one)."""


class LoginTimeoutError(Error, TimeoutError):
    """The QR code was not accepted within the time given to `QRLogin.wait`; the same login can
    be waited on again. Nobody's fault: the user did not scan it."""


class MigrationLoopError(RemoteError, RuntimeError):
    """The servers sent the same login to another data centre too many times in a row."""


# ----------------------------------------------------------------------------------------------
# Proxies (tlcodec.client.proxies parses them, tlcodec.client.proxy_stream connects through them)


class ProxyURLError(LocalError, ValueError):
    """A proxy URL or MTProxy link that cannot be used: the message names the part at fault
    (scheme, host, port, credentials, secret) and never repeats a password or secret."""


class ProxyError(RemoteError, ConnectionError):
    """Connecting through a proxy failed. `proxy` names the proxy (scheme, host and port, no
    credentials), `reason` says what failed; the subclasses say whose answer it was."""

    def __init__(self, proxy: str, reason: str) -> None:
        super().__init__(f"proxy {proxy}: {reason}")
        self.proxy = proxy
        self.reason = reason

    def __reduce__(self):  # type: ignore[override]
        return type(self), (self.proxy, self.reason)


class ProxyConnectionError(ProxyError):
    """The proxy itself could not be reached (connection refused, no route, unknown host)."""


class ProxyAuthError(ProxyError):
    """The proxy refused our credentials, or wants some and none were given."""


class ProxyRefusedError(ProxyError):
    """The proxy answered with its own error: it would not or could not reach the data centre
    (`code`: the SOCKS reply code or HTTP status, None when the proxy gave none)."""

    def __init__(self, proxy: str, reason: str, code: int | None = None) -> None:
        super().__init__(proxy, reason)
        self.code = code

    def __reduce__(self):  # type: ignore[override]
        return type(self), (self.proxy, self.reason, self.code)


class ProxyProtocolError(ProxyError):
    """The proxy answered something that is not its protocol (garbage, a wrong fake-TLS
    handshake, a connection closed halfway through the handshake)."""


class ProxyTimeoutError(ProxyError, TimeoutError):
    """The proxy did not finish its handshake within the client's `connect_timeout`."""
