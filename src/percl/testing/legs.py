"""A call leg seen from the virtual phone at its far end: what it heard, what it does, and the
waits that advance the FakeClock until something shows up (the async API; sync.PhoneCall wraps it).

Expectations read the *phone's* transcript and move a cursor: each `expect_*` looks only at what
was heard after the entry the previous one matched, so a sequence of expectations asserts order.
A wait advances the FakeClock from timer to timer until the entry shows up, the leg ends, `within`
seconds of clock time pass or nothing is left to happen; then it fails with an AssertionError that
prints the whole transcript and the call's webhooks. `expect_say` / `expect_play` return once the
prompt has been heard to its end (or cut short) unless `barge_in=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from percl.domain.enums import CallEndedReason, CallStatus
from percl.domain.records import Call
from percl.telephony.sim.model import TranscriptEntry, TranscriptEvent
from percl.telephony.sim.network import SimNetwork
from percl.testing.audio import LegAudio, read_leg_wav
from percl.testing.capture import CapturedWebhook
from percl.testing.transcripts import (
    Matcher,
    TranscriptView,
    empty_transcript,
    field_matcher,
    media_seconds,
    text_matcher,
)

if TYPE_CHECKING:
    from percl.testing.harness import Harness


class AsyncPhoneCall:
    """One call leg seen from the virtual phone at its far end. Get it from `AsyncPhone.calls`,
    `AsyncPhone.last_call` / `expect_ring`, or `Harness.leg(call_id)`."""

    def __init__(self, harness: Harness, call_id: str) -> None:
        self._h = harness
        self.call_id = call_id
        self._cursor = 0  # transcript entries before this index are consumed by expectations

    def __repr__(self) -> str:
        return f"<call {self.call_id} {self.status}>"

    # ------------------------------------------------------------------ reading

    @property
    def transcript(self) -> TranscriptView:
        found = self._h.platform.sim.transcript(self.call_id)
        return TranscriptView(found or empty_transcript(self.call_id))

    @property
    def record(self) -> Call | None:
        """The call as percl stored it last (None before the engine wrote it)."""
        return self._h.book.call(self.call_id)

    @property
    def status(self) -> CallStatus | None:
        record = self.record
        return None if record is None else record.status

    @property
    def webhooks(self) -> list[CapturedWebhook]:
        """Every webhook percl sent about this call (callId equal to it)."""
        return self._h.webhooks(call_id=self.call_id)

    @property
    def ended(self) -> bool:
        """True once percl holds the call as final (completed, busy, failed, ...)."""
        record = self.record
        return record is not None and record.status.is_final

    async def audio(self) -> LegAudio:
        """What the phone heard and sent so far, as numpy arrays (GET /calls/{callId}/audio).
        Raises AssertionError for a leg of symbolic fidelity (use `Harness(media="audio")` or
        `@pytest.mark.percl_media("audio")`) or an unknown one."""
        __tracebackhide__ = True
        await self._h.clock.settle()
        response = await self._h.sim_rest.get(f"/calls/{self.call_id}/audio")
        if response.status_code != 200:
            hint = (' (make the kit with media="audio", or mark the test '
                    '@pytest.mark.percl_media("audio"))' if response.status_code == 409 else "")
            raise AssertionError(f"no audio for call {self.call_id}: "
                                 f"{response.json().get('message')}{hint}")
        return read_leg_wav(response.content)

    # ------------------------------------------------------------------ acting

    async def press(self, digits: str) -> None:
        """The phone presses `digits` now (100 ms apart as the clock advances). Fails when the
        call is ringing or over."""
        __tracebackhide__ = True
        self._act(lambda sim: sim.press(self.call_id, digits), f"press {digits!r}")
        await self._h.clock.settle()

    async def say(self, text: str) -> None:
        """The phone says `text` (caller speech: a `said` entry, heard by GetSpeech)."""
        __tracebackhide__ = True
        self._act(lambda sim: sim.say(self.call_id, text), f"say {text!r}")
        await self._h.clock.settle()

    async def hang_up(self) -> None:
        """The phone hangs up now (a ringing outbound leg is declined, heard as busy)."""
        __tracebackhide__ = True
        self._act(lambda sim: sim.far_end_hangup(self.call_id), "hang up")
        await self._h.clock.settle()

    async def answer(self) -> None:
        """Pick up a ringing call to this phone now (any answer mode; `manual` waits for it)."""
        __tracebackhide__ = True
        self._act(lambda sim: sim.pick_up(self.call_id), "answer")
        await self._h.clock.settle()

    async def decline(self) -> None:
        """Decline a ringing call to this phone now; percl hears busy."""
        __tracebackhide__ = True
        self._act(lambda sim: sim.decline(self.call_id), "decline")
        await self._h.clock.settle()

    def _act(self, action: Callable[[SimNetwork], None], what: str) -> None:
        __tracebackhide__ = True  # a failing expectation points at the test, not the kit
        try:
            action(self._h.platform.sim)
        except KeyError:
            raise AssertionError(self.explain(f"cannot {what}: the call is over")) from None
        except ValueError as exc:
            raise AssertionError(self.explain(f"cannot {what}: {exc}")) from None

    # ------------------------------------------------------------------ expectations

    async def expect_say(self, text: str | None = None, *, contains: str | None = None,
                         regex: str | None = None, within: float = 30.0,
                         barge_in: bool = False) -> TranscriptEntry:
        """Wait until the phone has heard a Say: exactly `text` (whitespace collapsed), or one
        `contains`-ing a string (case-insensitive), or matching `regex`; no argument = any Say.

        Returns when the prompt has been heard to its end (or was cut short), as a person would
        answer a menu; `barge_in=True` returns as soon as it starts, so a `press` interrupts it.
        """
        __tracebackhide__ = True
        matcher = text_matcher(TranscriptEvent.SAY, "hear", text, contains, regex)
        return await self.expect(matcher, within=within, barge_in=barge_in)

    async def expect_play(self, url: str | None = None, *, contains: str | None = None,
                          within: float = 30.0, barge_in: bool = False) -> TranscriptEntry:
        """Wait until the phone has heard a Play of `url` (or of a URL containing `contains`);
        `barge_in` as for expect_say."""
        __tracebackhide__ = True
        if contains is not None:
            needle = contains
            matcher = Matcher(lambda e: e.type is TranscriptEvent.PLAY and needle in (e.url or ""),
                              f'hear audio whose URL contains "{contains}"')
        else:
            matcher = field_matcher(TranscriptEvent.PLAY, f"hear audio {url or ''}".strip(),
                                    url=url)
        return await self.expect(matcher, within=within, barge_in=barge_in)

    async def expect_tones(self, digits: str | None = None, *,
                           within: float = 30.0) -> TranscriptEntry:
        """Wait until percl plays DTMF tones to the phone (OutDial sendDigits, SendDigits)."""
        __tracebackhide__ = True
        matcher = field_matcher(TranscriptEvent.DIGITS_SENT, f"hear tones {digits or ''}".strip(),
                                digits=digits)
        return await self.expect(matcher, within=within)

    async def expect(self, matcher: Matcher, *, within: float = 30.0,
                     barge_in: bool = True) -> TranscriptEntry:
        """Wait until an entry after the cursor satisfies `matcher`; move the cursor past it.
        Without `barge_in`, a media entry (say, play, pause, tones) is also waited out to its
        end. Raises AssertionError (with the transcript) when the leg ends, `within` seconds of
        clock time pass, or nothing is left to happen first."""
        __tracebackhide__ = True
        started = self._h.clock.now()

        def settled() -> bool:
            return matcher.find(self.transcript.entries, self._cursor) is not None or self._over()

        await self._h.run_until(settled, within)
        index = matcher.find(self.transcript.entries, self._cursor)
        if index is None:
            raise AssertionError(self.explain(
                f"expected to {matcher.description} within {within:g} s"
                f"{self._why_not(started, within)}"))
        self._cursor = index + 1
        if not barge_in:
            await self._until_heard(index)
        return self.transcript.entries[index]

    async def _until_heard(self, index: int) -> None:
        """Advance the clock until media entry `index` has played out, been cut short, or
        something after it happened. Its end is the leg's start (the call's startTime, set at
        the clock instant the network created the leg) + its offset + its modelled length."""
        entry = self.transcript.entries[index]
        length = self._media_seconds(entry)
        record = self.record
        if length <= 0 or record is None or record.start_time is None:
            return
        end = record.start_time + entry.at_ms / 1000 + length

        def heard() -> bool:
            entries = self.transcript.entries
            return (self._h.clock.now() >= end - 1e-6 or len(entries) > index + 1
                    or bool(entries[index].interrupted) or self._over())

        await self._h.clock.run_until(heard, limit_s=max(0.0, end - self._h.clock.now()) + 1)

    def _media_seconds(self, entry: TranscriptEntry) -> float:
        """How long the entry's media plays: in audio fidelity a Say lasts its TTS audio, not the
        symbolic model's words at 150 a minute (Play files keep the model's default: the kit
        does not fetch them; "something after it happened" ends the wait)."""
        if entry.type is TranscriptEvent.SAY and self._h.media == "audio":
            return self._h.say_ms(entry.text or "", entry.language) / 1000
        return media_seconds(entry, self._h.settings.media_time_scale)

    async def expect_status(self, status: CallStatus | str, *, within: float = 60.0) -> Call:
        """Wait until the call has *reached* `status` ("ringing", CallStatus.IN_PROGRESS ...),
        even if it has moved on since; returns the call as stored now."""
        __tracebackhide__ = True
        wanted = CallStatus(status)
        started = self._h.clock.now()
        reached = await self._h.run_until(
            lambda: wanted in self._h.book.statuses(self.call_id) or self.ended, within)
        if not (reached and wanted in self._h.book.statuses(self.call_id)):
            seen = ", ".join(str(s) for s in self._h.book.statuses(self.call_id)) or "none"
            raise AssertionError(self.explain(
                f"expected the call to reach status {wanted} within {within:g} s"
                f" (statuses so far: {seen}){self._why_not(started, within)}"))
        record = self.record
        assert record is not None
        return record

    async def expect_hangup(self, *, reason: CallEndedReason | str | None = None,
                            within: float = 60.0) -> Call:
        """Wait until percl holds the call as over; with `reason`, also check callEndedReason.
        Returns the final call record."""
        __tracebackhide__ = True
        started = self._h.clock.now()
        await self._h.run_until(lambda: self.ended, within)
        record = self.record
        if record is None or not record.status.is_final:
            raise AssertionError(self.explain(
                f"expected the call to end within {within:g} s{self._why_not(started, within)}"))
        if reason is not None and record.call_ended_reason != CallEndedReason(reason):
            raise AssertionError(self.explain(
                f"expected the call to end with {CallEndedReason(reason)}, "
                f"it ended with {record.call_ended_reason}"))
        return record

    # ------------------------------------------------------------------ failure messages

    def _over(self) -> bool:
        """The phone's leg has ended (or, before the network knows the leg, percl ended it)."""
        known = self._h.platform.sim.transcript(self.call_id)
        return self.ended if known is None else not known.live

    def _why_not(self, started: float, within: float) -> str:
        waited = self._h.clock.now() - started
        if self._over():
            return f", but the call ended (after waiting {waited:.2f} s)"
        if waited + 1e-9 < within:
            return f", but nothing was left to happen after {waited:.2f} s"
        return ""

    def explain(self, headline: str) -> str:
        """`headline`, then the call's state, transcript and webhooks: a failure message."""
        record = self.record
        view = self.transcript
        who = (f"{record.direction} {record.from_} -> {record.to}, status {record.status}"
               + (f" ({record.call_ended_reason})" if record.call_ended_reason else "")
               if record is not None else "not known to percl yet")
        lines = [f"call {self.call_id} [{who}]: {headline}.",
                 f"Transcript of the phone at the far end ({view.transcript.from_} -> "
                 f"{view.transcript.to}):"]
        lines += ["  " + line for line in view.lines(mark=self._cursor)]
        lines.append("Webhooks of this call:")
        lines += [f"  {w.describe()}" for w in self.webhooks] or ["  (none)"]
        return "\n".join(lines)
