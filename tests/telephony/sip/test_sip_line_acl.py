"""The SIP line's front door (acl.Admission through the agent's admit hook), driven by a hand-written
phone on 127.0.0.1: a source no trunk allows gets 403, a Request-URI for another host 403 (no
relay), a source over its rate 503 with Retry-After, and none of them becomes a call."""

from __future__ import annotations

from sip_platform import LOOPBACK, NUMBER, sip_platform
from test_sip_line import Rig, request, wait

from percl.telephony.sip.acl import Verdict
from percl.telephony.sip.agent import Incoming, SipAgent
from percl.telephony.sip.message import Response


def _finals(rig: Rig) -> list[Response]:
    return [r for r in rig.phone.responses if r.status >= 200]


async def test_an_invite_from_a_source_no_trunk_allows_gets_403_and_no_call() -> None:
    async with sip_platform(sources=("10.9.0.0/16",)) as sp, Rig(sp) as rig:
        rig.invite(body=rig.offer())
        assert await wait(lambda: _finals(rig) != [])
        assert [r.status for r in _finals(rig)] == [403]
        assert 100 not in rig.phone.statuses()  # refused before any call exists
        assert await sp.calls() == []


async def test_an_invite_for_another_host_is_not_relayed_403() -> None:
    async with sip_platform() as sp, Rig(sp) as rig:
        relay = request("INVITE", sp.sip_port, rig.port, body=rig.offer()).replace(
            f"INVITE sip:{NUMBER}@{LOOPBACK}:{sp.sip_port}".encode(),
            f"INVITE sip:{NUMBER}@carrier.example".encode())
        rig.send(relay)
        assert await wait(lambda: _finals(rig) != [])
        assert [r.status for r in _finals(rig)] == [403]
        assert await sp.calls() == []


async def test_a_source_over_its_rate_gets_503_with_retry_after() -> None:
    async with sip_platform(rate=0.01, burst=2) as sp, Rig(sp) as rig:
        for n in range(3):  # a number nobody has: the first two are admitted and get 404
            rig.invite(to="+13125550111", body=rig.offer(), call_id=f"flood-{n}",
                       branch=f"z9hG4bKflood{n}")
            assert await wait(lambda n=n: len(_finals(rig)) == n + 1)
        assert [r.status for r in _finals(rig)] == [404, 404, 503]
        retry = _finals(rig)[2].headers.get("Retry-After")
        assert retry is not None and int(retry) >= 1
        assert await sp.calls() == []


def _invite(call_id: str, to_tag: str = "") -> bytes:
    return request("INVITE", 5060, 5062, call_id=call_id, to_tag=to_tag, body="v=0\r\n")


def test_the_agent_asks_admit_only_for_new_dialogs_and_drops_silent_verdicts() -> None:
    asked: list[str] = []
    verdicts = {"quiet": Verdict(503, "rate limit", silent=True), "no": Verdict(403, "nope"),
                "yes": Verdict(trunk="t")}

    def admit(invite, source, now):  # type: ignore[no-untyped-def]
        asked.append(invite.call_id)
        return verdicts[invite.call_id]

    agent = SipAgent(LOOPBACK, 5060, admit=admit)
    assert agent.receive(_invite("quiet"), (LOOPBACK, 5062), 0.0) == []
    refused = agent.receive(_invite("no"), (LOOPBACK, 5062), 0.0)
    assert [o.data.split(b"\r\n")[0] for o in refused] == [b"SIP/2.0 403 Forbidden"]
    assert agent.take_events() == [] and agent.phase("no") is None
    agent.receive(_invite("yes"), (LOOPBACK, 5062), 0.0)
    assert [type(e) for e in agent.take_events()] == [Incoming]
    agent.receive(_invite("other", to_tag="x1"), (LOOPBACK, 5062), 0.0)  # in-dialog: not asked
    assert asked == ["quiet", "no", "yes"]
