"""What the command line shows a person: progress lines, QR codes drawn with text, users.

This module owns the look of the output (and the logging switch `-v`); it knows nothing of
MTProto. Every line is flushed at once, so a program reading the output through a pipe sees
each step as it happens (the tests do, and so would a script driving `qr-login`).
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import segno

__all__ = ["Output", "draw_qr", "describe_user", "set_up_logging"]

# A QR code's quiet zone, in modules. The standard asks for 4; it is drawn, so it also keeps
# the code readable where the terminal's background is dark.
QUIET_ZONE = 4
# Half blocks: one character cell shows two module rows (top, bottom), so the code stays
# about square and a version 4 code (a login URL) needs 41 columns and 21 lines.
_HALF_BLOCKS = {
    (False, False): "\u2588",  # both light: full block
    (False, True): "\u2580",  # top light, bottom dark: upper half block
    (True, False): "\u2584",  # top dark, bottom light: lower half block
    (True, True): " ",
}


class Output:
    """Progress lines for a person, on `stream` (stdout by default), each flushed at once."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout

    def say(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def error(self, text: str) -> None:
        """A failure, on stderr (where a script expects it), prefixed like argparse's."""
        self.stream.flush()
        print(f"error: {text}", file=sys.stderr, flush=True)


def draw_qr(text: str, stream: TextIO, *, invert: bool = False) -> None:
    """Draw the QR code of `text` with Unicode half blocks, its quiet zone included.

    Light modules are drawn as blocks (the terminal's text colour) and dark ones as blanks
    (its background): right for the usual light-on-dark terminal. `invert` swaps them, for
    dark text on a light background. A stream that cannot encode the blocks gets segno's ANSI
    drawing (spaces in reverse video) instead.
    """
    code = segno.make(text, micro=False)  # Telegram's scanner reads full QR codes only
    if not _can_encode(stream, "\u2580\u2584\u2588"):
        code.terminal(out=stream, border=QUIET_ZONE)
        stream.flush()
        return
    rows = [[bool(module) != invert for module in row]
            for row in code.matrix_iter(scale=1, border=QUIET_ZONE)]
    if len(rows) % 2:
        rows.append([invert] * len(rows[0]))  # a light half row under an odd-height code
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2]):
        lines.append("".join(_HALF_BLOCKS[pair] for pair in zip(top, bottom)))
    stream.write("\n".join(lines) + "\n")
    stream.flush()


def _can_encode(stream: TextIO, text: str) -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def describe_user(user: Any) -> str:
    """`Alice Liddell (@alice), phone +15550001111, user id 5012345678` from a `user`."""
    name = " ".join(filter(None, (getattr(user, "first_name", None),
                                  getattr(user, "last_name", None)))) or "(no name)"
    parts = [name]
    if getattr(user, "username", None):
        parts[0] += f" (@{user.username})"
    if getattr(user, "phone", None):
        parts.append(f"phone +{user.phone}")
    parts.append(f"user id {user.id}")
    return ", ".join(parts)


def set_up_logging(verbosity: int, *, quiet_level: int | None = logging.WARNING) -> None:
    """The library's log on stderr: `quiet_level` and up by default (None: nothing at all),
    INFO with `-v`, DEBUG with `-vv`."""
    library = logging.getLogger("tlcodec")
    if verbosity <= 0:
        if quiet_level is None:
            # A handler of our own, so that logging's last-resort handler prints nothing.
            library.addHandler(logging.NullHandler())
            library.propagate = False
            return
        level = quiet_level
    else:
        level = logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s",
                                           "%H:%M:%S"))
    library.addHandler(handler)
    library.setLevel(level)
    library.propagate = False
