"""ParkService: the Park and Unpark commands (a call on hold, looping its waitUrl until resumed).

How a parked leg lives (FreeClimb's Park reference; what it leaves open is decided here and listed
in docs/DECISIONS.md):

* Park holds the leg (`Hold(Idle.NOTIFY)`): notificationUrl, if given, is told first (PerCL
  ignored), then waitUrl is asked for a script; whenever that script runs out, waitUrl is asked
  again, at least `min_wait_interval_s` of clock time after the previous request (an empty or
  instant wait script must not become a hot loop).
* While parked, the leg's scripts (the waitUrl answers and the action scripts of their GetDigits,
  GetSpeech and Redirect) may use only PARK_COMMANDS; another command ends the leg with
  perclProcessingError.
* Unpark, from one of those scripts, resumes the call: the leg leaves the park and actionUrl is
  asked for the PerCL that continues it. Unpark on a leg that is not parked ends it with
  perclProcessingError.
* A leg that ends while parked (the caller hangs up, REST `completed`, the maximum duration) is
  released, and actionUrl is told (PerCL ignored: the call is over), as FreeClimb says.
* FreeClimb documents no requestType for any of these webhooks and the SDK's discriminator has no
  Park type, so every Park webhook is a `redirect` (standard call fields only), which every SDK
  parses. FreeClimb also mentions a REST resume that its API does not define (UpdateCallRequest
  knows only canceled and completed): percl has none.

Parked legs are kept in memory only (the call record has no park field): after a restart every
leg is gone anyway.
"""

from __future__ import annotations

from percl.domain import payloads as p
from percl.domain.enums import CallEndedReason, LogLevel, RequestType
from percl.engine.context import EngineContext
from percl.engine.runners import Leg
from percl.percl import events as e
from percl.percl.commands import Command, Park

#: What a parked leg's scripts may run: prompts, input, Redirect, SendDigits, Sms, Unpark, Hangup.
PARK_COMMANDS = frozenset({"Say", "Play", "Pause", "GetDigits", "GetSpeech", "SendDigits", "Sms",
                           "Redirect", "Unpark", "Hangup"})
#: Least clock time between two waitUrl requests of one parked leg (see the module docstring).
MIN_WAIT_INTERVAL_S = 1.0
#: The requestType of every Park webhook (waitUrl, actionUrl, notificationUrl).
PARK_REQUEST_TYPE = RequestType.REDIRECT


class Parking:
    """One parked leg, from Park until it resumes or ends (engine.runners.Membership)."""

    def __init__(self, service: ParkService, command: Park, call_id: str) -> None:
        self.service = service
        self.call_id = call_id
        self.wait_url = command.wait_url
        self.action_url = command.action_url
        self.notification_url = command.notification_url
        self.resumed = False
        self.last_wait_at: float | None = None

    def holds(self, session: Leg) -> bool:
        return session.membership is self and not self.resumed and not session.done

    def on_digits(self, session: Leg, digits: str) -> bool:
        return False  # keys go to the wait script's GetDigits

    def on_speech(self, session: Leg, text: str) -> bool:
        return False  # speech goes to the wait script's GetSpeech

    async def on_idle(self, session: Leg) -> None:
        await self.service.wait_again(self, session)

    async def on_leg_ended(self, session: Leg) -> None:
        await self.service.leg_ended(self, session)


class ParkService:
    """Parked calls of every account. Construct once in app.py; it registers the Park and Unpark
    runners in `ctx.runners`."""

    def __init__(self, ctx: EngineContext, *, min_wait_interval_s: float = MIN_WAIT_INTERVAL_S) -> None:
        self.ctx = ctx
        self.min_wait_interval_s = min_wait_interval_s
        self.parked: dict[str, Parking] = {}  # call id -> its parking, while parked
        ctx.runners.register("Park", self.run_park)
        ctx.runners.register("Unpark", self.run_unpark)

    async def run_park(self, session: Leg, command: Command) -> e.Outcome:
        """Park: hold the leg; notificationUrl hears of it; the waitUrl loop starts on idle."""
        assert isinstance(command, Park)
        parking = Parking(self, command, session.call.call_id)
        session.join(parking)  # before the first await: a hangup from now on reaches leg_ended
        self.parked[parking.call_id] = parking
        await session.log(LogLevel.INFO, "Call parked", {"waitUrl": parking.wait_url,
                                                         "actionUrl": parking.action_url})
        if parking.notification_url:
            await session.send_webhook(parking.notification_url, p.Redirect())
        return e.Hold(e.Idle.NOTIFY, PARK_COMMANDS)

    async def run_unpark(self, session: Leg, command: Command) -> e.Outcome:
        """Unpark: leave the park; the Park actionUrl is asked for the PerCL that continues."""
        parking = session.membership
        if not isinstance(parking, Parking) or not parking.holds(session):
            return e.Finish(CallEndedReason.PERCL_PROCESSING_ERROR,
                            "Unpark is only allowed while the call is parked; the call ends with "
                            "perclProcessingError")
        await session.log(LogLevel.INFO, "Call unparked", {"actionUrl": parking.action_url})
        # No await from here on: a hangup until now still reached leg_ended.
        parking.resumed = True
        self.parked.pop(parking.call_id, None)
        session.leave()
        return e.Fetch(parking.action_url, p.Redirect(), release=True)

    async def wait_again(self, parking: Parking, session: Leg) -> None:
        """The wait script ran out: ask waitUrl again, no sooner than `min_wait_interval_s` after
        the previous request."""
        clock = self.ctx.clock
        if parking.last_wait_at is not None:
            delay = parking.last_wait_at + self.min_wait_interval_s - clock.now()
            if delay > 0:
                await clock.sleep(delay)
        if not parking.holds(session):
            return
        parking.last_wait_at = clock.now()
        session.post(e.Interrupt(parking.wait_url, p.Redirect()))

    async def leg_ended(self, parking: Parking, session: Leg) -> None:
        """The parked leg ended: forget it and tell actionUrl (its PerCL is ignored)."""
        self.parked.pop(parking.call_id, None)
        if parking.resumed:
            return
        parking.resumed = True
        await session.send_webhook(parking.action_url, p.Redirect())
