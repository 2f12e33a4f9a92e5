"""Wire-format helpers that the auth-key exchange and the sessions share."""

from __future__ import annotations


def signed_long(value: int, name: str) -> int:
    """A TL long as the wire reads it back (signed), from either spelling (a key fingerprint
    or a salt is often written unsigned); ValueError naming `name` if it does not fit 64 bits."""
    if not -(1 << 63) <= value < (1 << 64):
        raise ValueError(f"{name} must fit in 64 bits, got {value}")
    return value - (1 << 64) if value >= (1 << 63) else value
