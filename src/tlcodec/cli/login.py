"""The QR-code login as a person follows it: the library's own flow (`Client.qr_login()` and
`QRLogin.wait()`), with a line for each step it takes and the QR code drawn again whenever the
token changes.

`NarratedClient` is a `Client` whose `invoke` also reports the steps of the login it carries
(the answer of each `auth.exportLoginToken`, each `auth.importLoginToken`, the pushed
`updateLoginToken`, the two-step verification's `account.getPassword` and
`auth.checkPassword`); it changes nothing in what is sent. `QRScreen` draws the code and its URL.
`demo` and `qr-login` share both, so the demo shows exactly what a user of `qr-login` sees.
"""

from __future__ import annotations

from typing import Any

from .. import functions, types
from ..client import Client, QRLogin
from .terminal import Output, draw_qr

__all__ = ["NarratedClient", "QRScreen"]


class NarratedClient(Client):
    """A `Client` that tells `output` what the QR login is doing (see the module doc)."""

    def __init__(self, *args: Any, output: Output, **options: Any) -> None:
        super().__init__(*args, **options)
        self.output = output
        self.add_update_handler(self._on_update)

    async def invoke(self, request: Any, *, dc_id: int | None = None,
                     timeout: float | None = None) -> Any:
        say = self.output.say
        if isinstance(request, functions.auth.ImportLoginToken):
            target = self.home_dc if dc_id is None else dc_id
            if self.connection(target) is None:
                known = self.session.dc(target)
                why = ("with the auth key of the session" if known and known.auth_key
                       else "a new auth key there: keys are per DC")
                say(f"Connecting to DC {target} ({why}) ...")
            say(f"Calling auth.importLoginToken on DC {target} ...")
        elif isinstance(request, functions.auth.CheckPassword):
            say(f"Calling auth.checkPassword on DC {dc_id or self.home_dc} (an SRP proof: the "
                "password itself is not sent) ...")
        # Any: which result this is depends on the request, told apart below.
        result: Any = await super().invoke(request, dc_id=dc_id, timeout=timeout)
        if isinstance(request, functions.auth.ExportLoginToken):
            if isinstance(result, types.auth.LoginTokenMigrateTo):
                say(f"Token accepted; the account lives on DC {result.dc_id}: migrating ...")
            elif isinstance(result, types.auth.LoginTokenSuccess):
                say(f"Token accepted; the account lives on DC {dc_id or self.home_dc}: "
                    "logged in there.")
        elif isinstance(request, functions.auth.ImportLoginToken):
            if isinstance(result, types.auth.LoginTokenSuccess):
                say(f"DC {dc_id or self.home_dc} accepted the import: logged in.")
        elif isinstance(request, functions.account.GetPassword) and result.has_password:
            say(f"account.getPassword on DC {dc_id or self.home_dc}: SRP parameters "
                f"(srp_id {result.srp_id})")
        elif isinstance(request, functions.auth.CheckPassword):
            say(f"DC {dc_id or self.home_dc} accepted the password: logged in.")
        return result

    def _on_update(self, update: Any, dc_id: int) -> None:
        if isinstance(update, types.UpdateShort) and isinstance(update.update,
                                                                types.UpdateLoginToken):
            self.output.say(f"DC {dc_id} pushed updateLoginToken: calling "
                            "auth.exportLoginToken again ...")


class QRScreen:
    """Draws a login token's QR code and URL; `qr.wait(on_refresh=screen.refresh)` redraws it
    when the token is replaced (it expired)."""

    def __init__(self, output: Output, *, invert: bool = False) -> None:
        self.output = output
        self.invert = invert
        self.shown = 0

    def show(self, qr: QRLogin) -> None:
        say = self.output.say
        if self.shown:
            say("The code expired; a new one replaces it.")
        say("Scan this QR code with a logged-in Telegram app:")
        draw_qr(qr.url, self.output.stream, invert=self.invert)
        say(qr.url)
        say("(in the app: Settings > Devices > Link Desktop Device)")
        expires = qr.expires.astimezone().strftime("%H:%M:%S")
        say(f"(exported on DC {qr.dc_id}; valid {max(qr.expires_in, 0):.0f} s, "
            f"until {expires}; a new code is shown then)")
        say()
        self.shown += 1

    def refresh(self, qr: QRLogin) -> None:
        self.show(qr)
