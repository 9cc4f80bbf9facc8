"""How a leg ends: asked from outside (a REST update, the parent leg ending, the maximum call
duration), and what every end does once the session has stopped the leg's work.

The order of a leg's end is FreeClimb's and percl's promise: hang the network leg up, store the
final record (status, callEndedReason, endTime), log "Call ended", release the service holding the
leg (a conference, a queue, a park), and only then send the notifications -- what a command the
end cut short still owes its actionUrl (GetSpeech `hangup`), the connect webhook of an outbound leg
that was never answered (its PerCL is ignored), and the statusCallback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from percl.domain import payloads as p
from percl.domain.enums import CallDirection, CallEndedReason, CallStatus, LogLevel
from percl.engine.session.dialing import connect_payload, parent_started
from percl.engine.session.events import MaxDuration
from percl.engine.state import CallEvent, apply
from percl.percl import actions as a
from percl.percl import events as e

if TYPE_CHECKING:
    from percl.engine.session.session import CallSession

# ----------------------------------------------------------------- asked from outside


async def api_update(session: CallSession, status: str) -> None:
    """POST /Calls/{id} `canceled` / `completed` (and a parent's end): a leg that has not been
    answered is canceled (a ringing inbound leg `completed` is answered, then hung up); an
    answered one ends with appHangup through its interpreter."""
    s = session
    if s.done:
        return
    if s.call.status in (CallStatus.QUEUED, CallStatus.RINGING):
        if s.call.direction is CallDirection.INBOUND and status == "completed":
            await s.answer()  # "completed" answers a ringing inbound call, then hangs up
            await s.finish(CallEndedReason.APP_HANGUP)
        else:
            await s.finish(CallEndedReason.CALL_CANCELED, CallEvent.CANCEL)
        return
    if s.interp is not None:
        await s.perform(s.interp.handle(e.Terminate(CallEndedReason.APP_HANGUP)))
    else:
        await s.finish(CallEndedReason.APP_HANGUP)


async def duration_limit(session: CallSession, limit_s: float) -> None:
    """The leg's maximum-duration timer (a child task): posts MaxDuration when it runs out."""
    clock = session.ctx.clock
    await clock.sleep(max(0.0, session.call.date_created + limit_s - clock.now()))
    session.post(MaxDuration())


async def max_duration(session: CallSession) -> None:
    """The leg reached the maximum call duration: a warning, then the end (maxCallDuration)."""
    s = session
    limit = s.ctx.settings.max_call_duration_s
    await s.log(LogLevel.WARNING, f"Call reached the maximum call duration of {limit:g} s",
                {"maxCallDurationS": limit})
    if s.interp is not None and not s.interp.ended:
        await s.perform(s.interp.handle(e.Terminate(CallEndedReason.MAX_DURATION)))
    else:
        await s.finish(CallEndedReason.MAX_DURATION)


# ----------------------------------------------------------------- every end


async def close_leg(
    session: CallSession,
    reason: CallEndedReason,
    event: CallEvent | None,
    *,
    hang_up: bool,
    notices: tuple[a.PostWebhook, ...],
) -> None:
    """Hang up, store the final record, release the holder, then notify (see the module doc).
    Call once, from CallSession.finish, after the leg's work has been stopped."""
    s = session
    was_answered = s.call.status is CallStatus.IN_PROGRESS
    status = apply(s.call.status, event or end_event(s.call.status, reason))
    if hang_up and reason is not CallEndedReason.FAR_END_HANGUP:
        await s.ctx.telephony.hangup(s.call.call_id)
    await s.update(status=status, call_ended_reason=reason, end_time=s.ctx.clock.now())
    await s.log(LogLevel.INFO, f"Call ended: {status.value} ({reason.value})",
                {"status": status.value, "callEndedReason": reason.value})
    await _release_membership(s)
    for notice in notices:  # e.g. the getSpeech `hangup` of a GetSpeech the end cut short
        await s.send_webhook(notice.url, notice.payload,
                             privacy_mode=notice.privacy_mode)
    if not was_answered and s.call.direction is not CallDirection.INBOUND:
        await _notify_connect_failure(s)
    if s.call.status_callback_url:  # callEndedReason and callDuration come from the record
        await s.send_webhook(s.call.status_callback_url, p.CallStatus())


def end_event(status: CallStatus, reason: CallEndedReason) -> CallEvent:
    """How a leg in `status` moves when it ends for `reason` without a more precise event."""
    if status is CallStatus.IN_PROGRESS:
        return CallEvent.COMPLETE
    if reason in (CallEndedReason.FAR_END_HANGUP, CallEndedReason.CALL_CANCELED):
        return CallEvent.CANCEL
    return CallEvent.FAIL


async def _release_membership(session: CallSession) -> None:
    membership = session.membership
    session.leave()
    if membership is None:
        return
    try:
        await membership.on_leg_ended(session)
    except Exception as exc:  # the leg is over either way; the service's bug is logged
        await session.log(LogLevel.ERROR, f"Internal error releasing the ended leg: {exc!r}")


async def _notify_connect_failure(session: CallSession) -> None:
    """An unanswered outbound leg still gets its connect webhook; its PerCL is ignored."""
    url = session.call.call_connect_url
    if url is None:
        return
    await parent_started(session)  # an OutDial child: after its parent's outDialStart
    await session.send_webhook(url, connect_payload(session.call))  # dialCallStatus mirrors callStatus
