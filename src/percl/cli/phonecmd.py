"""`percl sim phone NUMBER`: a softphone at the terminal for one virtual number.

It programs NUMBER to answer `manual`ly, so calls to it (REST calls, OutDial) ring until the
user answers (`a`) or declines (`d`, heard as busy), and watches `GET /phones/{number}/calls`.
An answered call is followed like `sim call` (prompts as text; keys, speech, hang up). After a
call it waits for the next. Ctrl-C (SIGTERM, SIGHUP) hangs up a call in progress, puts the number back to the
default program and quits (exit 0).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import click
from rich.console import Console

from percl.cli import keyboard as kb
from percl.cli.connection import HttpError, PerclClient, client_from, connection_options, runtime
from percl.cli.live import POLL_S, LiveCall
from percl.cli.render import STYLE, live_console
from percl.cli.signals import Stopped, stop_on_signals


@dataclass(frozen=True, slots=True)
class Offer:
    """A call ringing the softphone."""

    call_id: str
    from_: str
    direction: str


class Softphone:
    """Waits for calls to `number`, offers them to the user, follows the answered one."""

    def __init__(self, client: PerclClient, console: Console, number: str,
                 auto_answer: bool) -> None:
        self.client, self.console, self.number = client, console, number
        self.auto_answer = auto_answer
        self.offers: dict[str, Offer] = {}
        self.seen: set[str] = set()
        self.call: LiveCall | None = None

    def start(self) -> None:
        """Program the number; calls already under way are not offered."""
        self.client.sim("PUT", f"/phones/{self.number}", json={"answer": "manual"})
        self.seen = {str(c["callId"]) for c in self._legs()}
        self._waiting()

    def run(self, keyboard: kb.Keyboard) -> None:
        """Until Ctrl-C (KeyboardInterrupt propagates)."""
        while True:
            line = keyboard.next_line(POLL_S)
            if self.call is not None:
                self._in_call(line)
            else:
                self._ringing(line)

    def stop(self) -> None:
        """Hang up a call in progress and put the number back to the default program."""
        if self.call is not None and not self.call.ended:
            self.call.hang_up()
            self.console.print("hung up", style="red")
        self.client.sim("DELETE", f"/phones/{self.number}")
        self.console.print(f"{self.number} is back to the default program", style="dim")

    def _in_call(self, line: str | None) -> None:
        assert self.call is not None
        if line is not None:
            self.call.type(line)
        self.call.refresh()
        if self.call.ended:
            self.console.print("call ended", style=STYLE["state"])
            self.call = None
            self._waiting()

    def _ringing(self, line: str | None) -> None:
        self._look_for_calls()
        command = kb.parse_line(line) if line is not None else None
        if command is None:
            return
        oldest = next(iter(self.offers.values()), None)
        if isinstance(command, kb.Answer | kb.Decline) and oldest is None:
            self.console.print("nothing is ringing", style="dim")
        elif isinstance(command, kb.Answer) and oldest is not None:
            self._answer(oldest)
        elif isinstance(command, kb.Decline) and oldest is not None:
            self._decline(oldest)
        elif isinstance(command, kb.Help):
            self.console.print(kb.PHONE_HELP, style="dim", highlight=False)
        else:
            self.console.print("no call in progress: a answers, d declines", style="dim")

    def _look_for_calls(self) -> None:
        ringing = set()
        for leg in self._legs():
            call_id = str(leg["callId"])
            if leg.get("to") != self.number or leg.get("direction") != "outbound":
                continue
            if leg.get("state") == "ringing":
                ringing.add(call_id)
                if call_id not in self.seen:
                    self.seen.add(call_id)
                    self._offer(leg)
        for call_id in [c for c in self.offers if c not in ringing]:
            gone = self.offers.pop(call_id)
            self.console.print(f"missed call from {gone.from_}", style="yellow", highlight=False)

    def _offer(self, leg: dict[str, Any]) -> None:
        call_id = str(leg["callId"])
        direction = "call"
        try:
            record = self.client.rest("GET", f"/Calls/{call_id}")
            direction = str(record.get("direction") or "call")
        except HttpError:
            pass  # another account's call, or not recorded yet: the leg alone says enough
        offer = Offer(call_id, str(leg.get("from")), direction)
        self.offers[call_id] = offer
        self.console.print(f"RING  {offer.from_} is calling {self.number} ({direction}) {call_id}",
                           style="bold yellow", highlight=False)
        if self.auto_answer:
            self._answer(offer)
        else:
            self.console.print("a answers, d declines", style="dim")

    def _answer(self, offer: Offer) -> None:
        self.offers.pop(offer.call_id, None)
        try:
            self.client.sim("POST", f"/calls/{offer.call_id}/answer")
        except HttpError as exc:
            self.console.print(f"could not answer: {exc.message}", style="yellow", highlight=False)
            return
        self.console.print(f"answered {offer.from_}", style=STYLE["state"], highlight=False)
        self.call = LiveCall(self.client, self.console, offer.call_id, kb.PHONE_HELP)
        self.call.refresh()

    def _decline(self, offer: Offer) -> None:
        self.offers.pop(offer.call_id, None)
        try:
            self.client.sim("POST", f"/calls/{offer.call_id}/decline")
        except HttpError as exc:
            self.console.print(f"could not decline: {exc.message}", style="yellow",
                               highlight=False)
            return
        self.console.print(f"declined {offer.from_}", style="red", highlight=False)

    def _legs(self) -> list[dict[str, Any]]:
        data = self.client.sim("GET", f"/phones/{self.number}/calls")
        return list(data.get("calls", []))

    def _waiting(self) -> None:
        self.console.print(f"softphone {self.number}: waiting for calls (Ctrl-C to quit)",
                           style="dim", highlight=False)


@click.command("phone")
@click.argument("number")
@click.option("--auto-answer", is_flag=True, help="Pick up every call at once.")
@connection_options
def phone_cmd(number: str, auto_answer: bool, url: str | None, account: str | None,
              key: str | None) -> None:
    """A softphone for the virtual number NUMBER: it rings, you answer (a) or decline (d), hear
    the prompts as text, press keys, speak, hang up (h). Ctrl-C (or SIGTERM, SIGHUP) hangs up a
    call in progress, resets NUMBER and quits."""
    console = live_console()
    with client_from(url, account, key) as client:
        phone = Softphone(client, console, number, auto_answer)
        phone.start()
        try:
            with stop_on_signals():
                phone.run(runtime().keyboard(True))
        except (KeyboardInterrupt, Stopped):
            phone.stop()
    sys.exit(0)
