"""`percl serve --demo`: the bundled example app is wired to a number through the REST API and works."""

from __future__ import annotations

from pathlib import Path

from percl.cli.serve import _wire_demo
from percl.telephony.sim.model import PhoneStep
from percl.testing.harness import Harness
from tests.e2e.conftest import CALLER, said

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo_app.py"


async def test_demo_is_wired_once_and_answers_the_menu() -> None:
    async with Harness() as h:
        number = await _wire_demo(h.platform, DEMO)
        assert await _wire_demo(h.platform, DEMO) == number  # idempotent across restarts
        apps = await h.store.list_applications(h.account.account_id, alias="percl demo")
        assert len(apps) == 1 and apps[0].voice_url == "http://127.0.0.1:8600/demo/voice"
        # percl's webhooks reach the demo app served at /demo of percl itself
        h.mount_asgi(h.settings.base_url, h.platform.asgi)
        call_id = await h.sim_call(CALLER, number, [PhoneStep(after_ms=3000, digits="1")])
        await h.run_until_ended(call_id)
        assert said(h.transcript(call_id))[:3] == [
            "Welcome to the percl demo.",
            "Press 1 to call an agent, or 2 to hear a joke.",
            "Calling an agent for you.",
        ]
        start = next(w for w in h.webhooks if w.request_type == "outDialStart")
        agent = str(start.body["dialCallId"])
        await h.run_until_ended(agent)
        assert said(h.transcript(agent)) == [f"Hello agent. A caller on {number} asked for you."]
