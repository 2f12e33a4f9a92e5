"""What a session's `receive` returns: one plain event object per thing that happened.

Events are frozen dataclasses; a driver dispatches on their class and ignores the ones it does not
care about. Which role sees which event is said on each class; `session.py` documents the flows.
The spec pages are core.telegram.org/mtproto/service_messages and
/mtproto/service_messages_about_messages (PROTOCOL.md 3.6-3.7).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client_session import PendingRequest

__all__ = [
    "ClientSessionStarted",
    "Event",
    "MessageDropped",
    "MessageSkipped",
    "MessagesAcked",
    "NewSessionCreated",
    "PingReceived",
    "RequestReceived",
    "RequestsResent",
    "RpcFailed",
    "RpcResult",
    "ServerSaltChanged",
    "ServiceMessage",
    "SessionReset",
    "TimeOffsetChanged",
    "Update",
]


class Event:
    """Base class of every session event (for `isinstance` and type hints only)."""

    __slots__ = ()


def _init_through_slots(cls: type) -> None:
    """Give a frozen, slotted dataclass made in the hot path an `__init__` that sets each field
    through its slot descriptor: the dataclass's own goes through `object.__setattr__` for each
    field, which costs about twice as much. Same fields, same order, still frozen. Written as
    source and compiled, as `dataclasses` makes its own `__init__`, so that a call loops over
    nothing."""
    names = [field.name for field in fields(cls)]
    namespace = {f"set_{name}": getattr(cls, name).__set__ for name in names}
    source = (f"def __init__(self, {', '.join(names)}):\n"
              + "".join(f"    set_{name}(self, {name})\n" for name in names))
    exec(source, namespace)  # noqa: S102 (our own field names, nothing from outside)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init  # type: ignore[misc]


# ----------------------------------------------------------------------------------------------
# Both roles


@dataclass(frozen=True, slots=True)
class MessageDropped(Event):
    """A whole encrypted message failed a check and was discarded; nothing in it was used.

    `reason` is one of `session.DROP_REASONS` ("msg_key", "auth_key_id", "msg_id_replayed", ...).
    It is also counted in `session.dropped[reason]` and logged. The security guidelines advise
    closing the connection on such a failure; that decision is the driver's.
    """

    reason: str


@dataclass(frozen=True, slots=True)
class MessageSkipped(Event):
    """One message (possibly inside a container) was authentic but could not be used.

    `reason`: "unknown_constructor", "decode_error", "unmatched_answer" (an answer or a
    notification about no msg_id of ours), "unexpected_object", "bad_container" (malformed or
    nested: the whole container is skipped), "duplicate" (an inner msg_id seen already). The
    rest of the container is still processed, and a content-related message is still
    acknowledged (so the peer does not resend it forever). Counted in `session.skipped[reason]`.
    A damaged `rpc_result` for a pending request is reported as `RpcFailed` instead (and
    counted as "decode_error").
    """

    msg_id: int
    reason: str
    error: Exception | None = None


@dataclass(frozen=True, slots=True)
class MessagesAcked(Event):
    """The peer's `msgs_ack`: it received these msg_ids of ours (received, not answered)."""

    msg_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ServiceMessage(Event):
    """A service message the session does not act on itself (`msgs_state_req`,
    `msg_resend_req`, `msgs_state_info`, `msgs_all_info`, `destroy_*` without a matching
    request, ...): handed over as the decoded object."""

    msg_id: int
    message: Any


# ----------------------------------------------------------------------------------------------
# Client role


@dataclass(frozen=True, slots=True)
class RpcResult(Event):
    """The answer to `request`: `result` decoded with the request's result type.

    Also used for the answers that do not come inside `rpc_result` but still answer one request:
    `pong` (to a `ping`/`ping_delay_disconnect`), `future_salts` (to `get_future_salts`),
    `destroy_session_ok/none` (to `destroy_session`). `msg_id` is the server message carrying it.
    """

    request: PendingRequest
    result: Any
    msg_id: int


# One RpcResult per answered call: set through the slots (see _init_through_slots).
_init_through_slots(RpcResult)


@dataclass(frozen=True, slots=True)
class RpcFailed(Event):
    """`request` will get no result: `error` is an `RPCError` subclass (the server's
    `rpc_error`), a `BadMessageError` (a `bad_msg_notification` that cannot be recovered, or too
    many resends), or a `DecodeError` (the result arrived damaged or of the wrong type).
    `msg_id` is the server message that said so, None for a failure decided locally."""

    request: PendingRequest
    error: Exception
    msg_id: int | None = None


@dataclass(frozen=True, slots=True)
class Update(Event):
    """A non-service object the server sent on its own (`updates`, `updateShort`, ...)."""

    msg_id: int
    update: Any


@dataclass(frozen=True, slots=True)
class NewSessionCreated(Event):
    """The server's `new_session_created`: its session state was reset, so updates may have a
    gap (a client should fetch the difference). The salt is already stored, and requests the
    server never saw (sent before `first_msg_id`) are already queued again."""

    msg_id: int
    first_msg_id: int
    unique_id: int
    server_salt: int


@dataclass(frozen=True, slots=True)
class ServerSaltChanged(Event):
    """The session now uses `new_salt` (from `bad_server_salt` or `new_session_created`); a
    client that persists its session should store it."""

    old_salt: int
    new_salt: int


@dataclass(frozen=True, slots=True)
class TimeOffsetChanged(Event):
    """`bad_msg_notification` 16/17 corrected the clock: msg_ids now use `now() + new_offset`."""

    old_offset: float
    new_offset: float


@dataclass(frozen=True, slots=True)
class SessionReset(Event):
    """The session moved to a new session_id (seq_no from 0); `reason` says why
    ("bad_msg_notification 32", "requested", ...). Pending requests are queued again."""

    old_session_id: int
    new_session_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class RequestsResent(Event):
    """These requests are back in the outgoing queue (same `PendingRequest`, new msg_id on the
    next `pack()`); `reason` is e.g. "bad_server_salt", "bad_msg_notification 16"."""

    requests: tuple[PendingRequest, ...]
    reason: str


# ----------------------------------------------------------------------------------------------
# Server role


@dataclass(frozen=True, slots=True)
class RequestReceived(Event):
    """A client's RPC call (a decoded function object, wrappers such as `invokeWithLayer`
    included). Answer it with `session.answer(msg_id, result)` or `session.answer_error(...)`."""

    msg_id: int
    request: Any


# One RequestReceived per request a server receives.
_init_through_slots(RequestReceived)


@dataclass(frozen=True, slots=True)
class PingReceived(Event):
    """A `ping` or `ping_delay_disconnect`; the `pong` is already queued. `disconnect_delay` is
    the seconds after which the server should close the connection if nothing else arrives
    (None for a plain `ping`)."""

    msg_id: int
    ping_id: int
    disconnect_delay: int | None


@dataclass(frozen=True, slots=True)
class ClientSessionStarted(Event):
    """The first accepted message of a session_id this session had not seen; a
    `new_session_created` is queued for it."""

    session_id: int
    first_msg_id: int
