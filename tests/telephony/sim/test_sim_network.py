"""SimNetwork: media timing and barge-in, inbound calls, transcripts, lifecycle."""

from __future__ import annotations

import asyncio

import pytest
from sim_helpers import RecordingHandler, RecordingListener, running

from percl.domain.ids import SequentialIds
from percl.engine.ports import File, Silence, Source, Tts
from percl.telephony.sim.model import PhoneStep
from percl.telephony.sim.network import SimNetwork
from percl.testing.clock import FakeClock

TO = "+13125550142"
FROM = "+18475550100"
CALL = "CA" + "1" * 40


async def answered_leg(net: SimNetwork, clock: FakeClock) -> RecordingListener:
    ln = RecordingListener(clock)
    await net.dial(CALL, FROM, TO, ln, detect_machine=False)
    await clock.advance(1)
    return ln


async def time_of(clock: FakeClock, coro: object) -> float:
    """Run `coro` as a task, advancing the clock until it finishes; return the time it took."""
    start = clock.now()
    task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
    assert await clock.run_until(task.done, limit_s=60)
    await task
    return round(clock.now() - start, 3)


@pytest.mark.parametrize(
    ("media", "seconds"),
    [
        (Tts("one two three"), 1.5),  # 3 words @150 wpm + 0.3
        (Tts("   "), 0.3),
        (Silence(2500), 2.5),
        (File("http://x/a.wav"), 3.0),
    ],
)
async def test_media_lasts_as_modelled_in_real_time(
    clock: FakeClock, media: Source, seconds: float
) -> None:
    async with running(clock) as net:
        await answered_leg(net, clock)
        assert await time_of(clock, net.play(CALL, media)) == seconds


async def test_media_time_scale_and_words_per_minute(clock: FakeClock) -> None:
    async with running(clock, media_time_scale=0.5, words_per_minute=60) as net:
        await answered_leg(net, clock)
        assert await time_of(clock, net.play(CALL, Tts("a b"))) == 1.15


async def test_scale_zero_is_instant_and_still_recorded(clock: FakeClock) -> None:
    async with running(clock, media_time_scale=0) as net:
        await answered_leg(net, clock)
        before = clock.now()
        await net.play(CALL, Tts("hello world", "en-US"))
        await net.send_digits(CALL, "12{3}", 500)
        assert clock.now() == before
        t = net.transcript(CALL)
        assert t is not None
        say, sent = t.entries[2], t.entries[3]
        assert (say.type, say.text, say.language, say.interrupted) == (
            "say",
            "hello world",
            "en-US",
            None,
        )
        assert (sent.type, sent.digits) == ("digitsSent", "12")


async def test_play_uses_probed_duration_and_falls_back_to_default(clock: FakeClock) -> None:
    async def probe(url: str) -> float | None:
        return 7.5 if url.endswith("long.wav") else None

    async with running(clock, media_duration=probe) as net:
        await answered_leg(net, clock)
        long, other = File("u/long.wav"), File("u/x")
        assert await time_of(clock, net.play(CALL, long)) == 7.5
        assert await time_of(clock, net.play(CALL, other)) == 3.0


async def test_send_digits_takes_100ms_a_tone_plus_pause_units(clock: FakeClock) -> None:
    async with running(clock) as net:
        await answered_leg(net, clock)
        assert await time_of(clock, net.send_digits(CALL, "12{2}3", 500)) == 1.3
        with pytest.raises(ValueError):
            await net.send_digits(CALL, "12x", 100)


async def test_barge_in_marks_entry_interrupted_and_reraises(clock: FakeClock) -> None:
    async with running(clock) as net:
        await answered_leg(net, clock)
        task = asyncio.ensure_future(net.play(CALL, Tts("a b c d e f")))
        await clock.advance(0.4)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        t = net.transcript(CALL)
        assert t is not None
        entry = t.entries[-1]
        assert (entry.type, entry.at_ms, entry.interrupted, entry.heard_ms) == (
            "say",
            1000,
            True,
            400,
        )
        assert net.is_live(CALL)


async def test_far_end_hangup_during_play_returns_and_marks_interrupted(clock: FakeClock) -> None:
    async with running(clock) as net:
        await answered_leg(net, clock)
        task = asyncio.ensure_future(net.play(CALL, Silence(10_000)))
        await clock.advance(2)
        net.far_end_hangup(CALL)
        await clock.settle()
        assert task.done() and task.result() is None
        t = net.transcript(CALL)
        assert t is not None
        assert [(str(e.type), e.heard_ms) for e in t.entries[2:]] == [
            ("pause", 2000),
            ("hangup", None),
        ]
        await net.play(CALL, Tts("too late"))  # dropped, no entry
        assert len(net.transcript(CALL).entries) == 4  # type: ignore[union-attr]


async def test_inbound_call_offered_answered_and_scripted(clock: FakeClock) -> None:
    async with running(clock) as net:
        handler = RecordingHandler(net, clock)
        net.set_inbound_handler(handler)
        script = [PhoneStep(after_ms=300, digits="7"), PhoneStep(after_ms=1000, hangup=True)]
        call_id = await net.place_call(FROM, TO, script)
        assert handler.calls == [(call_id, FROM, TO)]
        assert call_id.startswith("CA") and len(call_id) == 42
        await clock.advance(2)  # the script waits for the platform's answer
        ln = handler.listeners[call_id]
        assert ln.events == []
        with pytest.raises(ValueError):
            net.press(call_id, "1")  # nobody can press keys before the answer
        await net.answer(call_id)
        await clock.advance(5)
        assert ln.events == [(2.3, "digits", "7"), (3.0, "hangup", None)]
        t = net.transcript(call_id)
        assert t is not None
        assert [(e.at_ms, str(e.type)) for e in t.entries] == [
            (0, "ringing"),
            (2000, "answered"),
            (2300, "digitsPressed"),
            (3000, "hangup"),
        ]


async def test_inbound_reject_and_caller_giving_up(clock: FakeClock) -> None:
    async with running(clock) as net:
        handler = RecordingHandler(net, clock)
        net.set_inbound_handler(handler)
        first = await net.place_call(FROM, TO)
        await net.reject(first)
        assert not net.is_live(first)
        assert [str(e.type) for e in net.transcript(first).entries] == ["ringing", "rejected"]  # type: ignore[union-attr]
        second = await net.place_call(FROM, TO)
        await clock.advance(4)
        net.far_end_hangup(second)
        await clock.settle()
        assert handler.listeners[second].events == [(4.0, "hangup", None)]
        with pytest.raises(KeyError):
            net.far_end_hangup(second)
        with pytest.raises(KeyError):
            net.press(second, "1")


async def test_place_call_checks_numbers_and_handler(clock: FakeClock) -> None:
    async with running(clock) as net:
        with pytest.raises(RuntimeError):
            await net.place_call(FROM, TO)
        net.set_inbound_handler(RecordingHandler(net, clock))
        with pytest.raises(ValueError):
            await net.place_call("12345", TO)


async def test_unknown_legs(clock: FakeClock) -> None:
    async with running(clock) as net:
        assert net.transcript("CAnope") is None and not net.is_live("CAnope")
        await net.hangup("CAnope")  # ignored
        for action in (lambda: net.press("CAnope", "1"), lambda: net.far_end_hangup("CAnope")):
            with pytest.raises(KeyError):
                action()
        with pytest.raises(KeyError):
            await net.answer("CAnope")
        with pytest.raises(ValueError):
            net.press("CAnope", "12a")


async def test_transcripts_are_bounded_keeping_the_newest_ended_legs(clock: FakeClock) -> None:
    async with running(clock, max_transcripts=3) as net:
        live = "CA" + "f" * 40
        await net.dial(live, FROM, TO, RecordingListener(clock), detect_machine=False)
        ids = [f"CA{i:040d}" for i in range(5)]
        for call_id in ids:
            await net.dial(call_id, FROM, TO, RecordingListener(clock), detect_machine=False)
            await net.hangup(call_id)
        kept = [cid for cid in ids if net.transcript(cid) is not None]
        assert kept == ids[-2:]
        assert net.is_live(live)  # a live leg is never forgotten


async def test_programs_per_number_and_reset(clock: FakeClock) -> None:
    from percl.telephony.sim.model import PhoneProgram

    async with running(clock) as net:
        assert net.get_program(TO) == PhoneProgram()
        net.program(TO, PhoneProgram(answer_after_ms=5))
        assert net.get_program(TO).answer_after_ms == 5
        net.reset(TO)
        assert net.get_program(TO) == PhoneProgram()
        with pytest.raises(ValueError):
            net.program("not-a-number", PhoneProgram())


async def test_an_accounts_program_covers_its_calls_only(clock: FakeClock) -> None:
    """Issue 17.7: programs set for an account apply to that account's legs; the network's own
    program covers the rest."""
    from percl.domain.enums import PhoneAnswer
    from percl.telephony.sim.model import PhoneProgram

    owners = {"CA" + "a" * 40: "ACalice", "CA" + "b" * 40: "ACbob"}

    async def owner_of(call_id: str) -> str | None:
        return owners.get(call_id)

    async with running(clock, call_owner=owner_of) as net:
        net.program(TO, PhoneProgram(answer=PhoneAnswer.BUSY), account_id="ACalice")
        net.program(TO, PhoneProgram(answer_after_ms=5))  # the network's own
        assert net.programmed_by("ACalice") == [TO] and net.programmed_by("ACbob") == []
        assert net.get_program(TO, account_id="ACbob").answer_after_ms == 5
        listeners = {cid: RecordingListener(clock) for cid in owners}
        for call_id, listener in listeners.items():
            await net.dial(call_id, FROM, TO, listener, detect_machine=False)
        await clock.advance(2)
        assert listeners["CA" + "a" * 40].names()[-1] == "failed"  # busy: Alice's program
        assert listeners["CA" + "b" * 40].names()[-1] == "answered"  # Bob: the network's
        net.reset(TO, account_id="ACalice")
        assert net.get_program(TO, account_id="ACalice").answer_after_ms == 5


async def test_leaving_the_block_cancels_every_phone_task(clock: FakeClock) -> None:
    net = SimNetwork(clock, SequentialIds())
    with pytest.raises(RuntimeError):
        await net.dial(CALL, FROM, TO, RecordingListener(clock), detect_machine=False)
    async with net:
        await net.dial(CALL, FROM, TO, RecordingListener(clock), detect_machine=False)
        await clock.settle()
        assert clock.next_deadline() is not None  # the ring timer
    await clock.settle()
    assert clock.next_deadline() is None
    assert not net.is_live(CALL)


async def test_dial_rejects_a_call_id_in_use(clock: FakeClock) -> None:
    async with running(clock) as net:
        await net.dial(CALL, FROM, TO, RecordingListener(clock), detect_machine=False)
        with pytest.raises(ValueError):
            await net.dial(CALL, FROM, TO, RecordingListener(clock), detect_machine=False)


async def test_a_caller_who_hangs_up_before_the_engine_attaches_is_still_heard(clock: FakeClock) -> None:
    async with running(clock) as net:

        class SlowHandler(RecordingHandler):
            async def incoming_call(
                self, call_id: str, from_: str, to: str, number: object = None, *,
                web_rtc: bool = False,
            ) -> None:
                # The caller gives up while the engine is still storing the call.
                net.far_end_hangup(call_id)
                await clock.settle()
                await super().incoming_call(call_id, from_, to, number)

        handler = SlowHandler(net, clock)
        net.set_inbound_handler(handler)
        call_id = await net.place_call(FROM, TO)
        ln = handler.listeners[call_id]
        assert ln.names() == ["hangup"]
        assert net._legs.leg(call_id).listener is None  # an ended leg holds no listener
