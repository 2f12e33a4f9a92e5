"""The errors the codec raises; shared by the compiled module and its pure-Python twin."""

from __future__ import annotations

__all__ = ["DecodeError", "SecurityError"]


class DecodeError(ValueError):
    """Bytes that are not a valid TL value of the expected type.

    `offset` is where in the input the problem was found; the message says what was expected
    there and what was found.
    """

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at offset {offset})")
        self.offset = offset


class SecurityError(Exception):
    """A peer's message failed a check of the MTProto security guidelines.

    `check` names the check (e.g. "nonce", "g_a", "msg_key"); nothing derived from the
    offending message is kept.
    """

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
