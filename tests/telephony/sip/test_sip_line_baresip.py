"""baresip, a real SIP user agent, calls percl and is called by it (127.0.0.1, bounded in time).

baresip sends a tone as its microphone and records what it hears; the tests compare that
recording with the audio the platform played to the leg (percl's TTS), and the platform's
recording of the leg with baresip's tone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from baresip_ua import Baresip
from sip_platform import FAR, LOOPBACK, NUMBER, need, sip_platform

RATE = 8000


@pytest.fixture(scope="module")
def baresip() -> str:
    return need("baresip", "ensure_baresip.sh")


def _tone(hz: float, seconds: float) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (np.sin(2 * np.pi * hz * t) * 6000).astype(np.int16)


def _best_correlation(haystack: np.ndarray, needle: np.ndarray) -> float:
    h, n = haystack.astype(np.float64), needle.astype(np.float64)
    if len(h) < len(n):
        return 0.0
    size = 1 << (len(h) + len(n)).bit_length()
    corr = np.fft.irfft(np.fft.rfft(h, size) * np.conj(np.fft.rfft(n, size)), size)
    corr = corr[: len(h) - len(n) + 1]
    energy = np.convolve(h * h, np.ones(len(n)), "valid")
    return float(np.max(corr / np.sqrt(np.maximum(energy, 1e-9) * float(n @ n))))


def _speech(pcm: np.ndarray, seconds: float = 0.8) -> np.ndarray:
    """`seconds` of `pcm` from its first loud sample."""
    loud = np.flatnonzero(np.abs(pcm) > 500)
    assert len(loud), "no audio at all"
    return pcm[loud[0]: loud[0] + int(RATE * seconds)]


async def test_baresip_calls_a_number_and_hears_the_apps_say(baresip: str,
                                                              tmp_path: Path) -> None:
    ua = Baresip(tmp_path / "baresip", _tone(600, 4))
    try:
        await ua.start()
        async with sip_platform() as sp:
            sp.app.on("/voice", [{"Say": {"text": "Welcome to percl, you are on a real line"}},
                                 {"Pause": {"length": 500}}, {"Hangup": {}}])
            await ua.command("dial", f"sip:{NUMBER}@{LOOPBACK}:{sp.sip_port}")
            assert await ua.event("CALL_ESTABLISHED", 10), ua.events
            assert await ua.event("CALL_CLOSED", 20), ua.events
            (call,) = await sp.calls()
            assert await sp.wait(lambda: sp.platform.sim.leg_audio(call.call_id) is not None, 5)
            audio = sp.platform.sim.leg_audio(call.call_id)
            assert audio is not None
            played, sent = audio
    finally:
        await ua.stop()
    # baresip's recording holds percl's TTS as the platform played it to the leg ...
    assert _best_correlation(ua.heard(), _speech(played)) > 0.8
    # ... and the platform got baresip's 600 Hz microphone.
    assert _best_correlation(sent, _tone(600, 0.5)) > 0.8


async def test_an_outdial_reaches_baresip_and_it_answers(baresip: str, tmp_path: Path) -> None:
    ua = Baresip(tmp_path / "baresip", _tone(450, 4), user=FAR)
    try:
        await ua.start()
        async with sip_platform(trunk_port=ua.sip_port) as sp:
            sp.app.on("/connect", [{"Say": {"text": "This is percl calling you"}},
                                   {"Hangup": {}}])
            made = await sp.make_call(FAR)
            call = await sp.ended(made["callId"], 20)
            assert call.status.value == "completed" and call.connect_time is not None
            assert await ua.event("CALL_CLOSED", 5), ua.events
            audio = sp.platform.sim.leg_audio(call.call_id)
            assert audio is not None
            played, sent = audio
    finally:
        await ua.stop()
    assert ua.saw("CALL_ESTABLISHED"), ua.events
    assert _best_correlation(ua.heard(), _speech(played)) > 0.8  # it heard percl's Say
    assert _best_correlation(sent, _tone(450, 0.5)) > 0.8  # percl heard its microphone


async def test_baresip_registers_as_a_user_calls_in_with_digest_and_is_called_back(
        baresip: str, tmp_path: Path) -> None:
    """PERCL_SIP_USERS: baresip registers with its password (401 answered), calls the account's
    number from a source no trunk allows (407 answered), then a call to the user's number rings
    its registered Contact and it answers."""
    from percl.telephony.sip.config import SipUser

    user_number = "+15550002222"
    users = (SipUser("alice", "pw-alice", user_number),)
    async with sip_platform(sources=("10.9.0.0/16",), users=users) as sp:
        account = (f"<sip:alice@{LOOPBACK}:{sp.sip_port}>;auth_user=alice;auth_pass=pw-alice;"
                   "regint=300;answermode=auto;audio_codecs=PCMU")
        ua = Baresip(tmp_path / "baresip", _tone(500, 4), account=account)
        try:
            await ua.start()
            line = sp.platform.sip_line
            assert line is not None  # (it registers at start-up, before its events reach us)
            assert await sp.wait(lambda: line.user_binding("alice") is not None, 10)
            sp.app.on("/voice", [{"Say": {"text": "Hello registered user"}}, {"Hangup": {}}])
            await ua.command("dial", f"sip:{NUMBER}@{LOOPBACK}:{sp.sip_port}")
            assert await ua.event("CALL_ESTABLISHED", 10), ua.events
            assert await ua.event("CALL_CLOSED", 20), ua.events
            (inbound,) = await sp.calls()
            assert inbound.to == NUMBER and inbound.status.value == "completed"
            ua.events.clear()
            sp.app.on("/connect", [{"Say": {"text": "percl calling alice"}}, {"Hangup": {}}])
            made = await sp.make_call(user_number)
            call = await sp.ended(made["callId"], 20)
            assert call.status.value == "completed" and call.connect_time is not None
            assert ua.saw("CALL_ESTABLISHED"), ua.events
        finally:
            await ua.stop()
