"""SIP session timers (RFC 4028), pure: what a request or 2xx asks for, and when to act.

A session timer keeps a dialog honest: one side (the refresher) sends a re-INVITE or UPDATE
every half interval, and the other ends the call with BYE when no refresh arrives in time (a
peer that vanished without a BYE no longer keeps a leg alive for hours). percl uses one only
where the peer asks (a Session-Expires in its INVITE or 2xx); it never asks itself, but says
`Supported: timer` so a proxy may.

The `refresher` parameter is relative to the transaction that carries it: "uac" is the side
that sent the request, "uas" the side that answers it.
"""

from __future__ import annotations

from dataclasses import dataclass

from percl.telephony.sip.message import Request, Response

MIN_SE = 90
"""The shortest session interval percl accepts, seconds (RFC 4028's own minimum): shorter gets 422."""


@dataclass(frozen=True, slots=True)
class SessionExpires:
    """A Session-Expires value: the interval and who refreshes ("uac", "uas" or None)."""

    interval: int
    refresher: str | None = None

    def __str__(self) -> str:
        return f"{self.interval};refresher={self.refresher}" if self.refresher else str(
            self.interval)


@dataclass(frozen=True, slots=True)
class SessionTimer:
    """A running session timer: its interval and whether percl is the refresher."""

    interval: int
    we_refresh: bool

    def deadline(self, now: float) -> float:
        """When to act: the refresher refreshes at half the interval; the other side sends BYE
        a little before the session expires (min(32 s, interval / 3) before, RFC 4028 10)."""
        if self.we_refresh:
            return now + self.interval / 2
        return now + self.interval - min(32.0, self.interval / 3)


def session_expires(message: Request | Response) -> SessionExpires | None:
    """The message's Session-Expires (compact form `x` too), or None when absent or garbled."""
    value = message.headers.get("Session-Expires")
    if value is None:
        return None
    head, *params = value.split(";")
    if not head.strip().isdigit():
        return None
    refresher = None
    for param in params:
        name, _, text = param.partition("=")
        if name.strip().lower() == "refresher" and text.strip().lower() in ("uac", "uas"):
            refresher = text.strip().lower()
    return SessionExpires(int(head.strip()), refresher)


def min_se(message: Request | Response) -> int:
    """The message's Min-SE (RFC 4028 5), or MIN_SE when absent or garbled."""
    value = (message.headers.get("Min-SE") or "").split(";")[0].strip()
    return int(value) if value.isdigit() else MIN_SE


def supports_timer(message: Request | Response) -> bool:
    """Whether the sender said it does session timers (Supported or Require: timer)."""
    return any(option.strip().lower() == "timer" for name in ("Supported", "Require")
               for option in message.headers.get_all(name))


def allows_update(message: Request | Response) -> bool:
    return any(method.strip().upper() == "UPDATE" for method in message.headers.get_all("Allow"))


def answer_request(request: Request) -> tuple[SessionTimer, list[tuple[str, str]]] | None:
    """For a request from the peer (INVITE, re-INVITE, UPDATE) with a Session-Expires percl
    accepts: the timer it starts and the headers of the 2xx. None when the request asks for no
    timer (a refresh without one turns it off, RFC 4028 9). Check `too_small` first."""
    asked = session_expires(request)
    if asked is None:
        return None
    peer_does = supports_timer(request)
    refresher = asked.refresher or ("uac" if peer_does else "uas")
    headers = [("Session-Expires", str(SessionExpires(asked.interval, refresher)))]
    if peer_does:
        headers.append(("Require", "timer"))
    return SessionTimer(asked.interval, we_refresh=refresher == "uas"), headers


def too_small(request: Request) -> bool:
    """Whether the request's Session-Expires is below percl's Min-SE: answer 422."""
    asked = session_expires(request)
    return asked is not None and asked.interval < MIN_SE


def from_answer(response: Response) -> SessionTimer | None:
    """The timer a 2xx to percl's INVITE or refresh sets (percl was the UAC), None for none."""
    given = session_expires(response)
    if given is None:
        return None
    return SessionTimer(given.interval, we_refresh=given.refresher != "uas")


def refresh_headers(timer: SessionTimer) -> tuple[tuple[str, str], ...]:
    """A refresh percl sends: it keeps the interval and stays the refresher (it is the UAC)."""
    return (("Session-Expires", str(SessionExpires(timer.interval, "uac"))),
            ("Min-SE", str(MIN_SE)), ("Supported", "timer"))
