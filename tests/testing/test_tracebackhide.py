"""A failed expectation of the test kit points at the test's line, not at percl's frames
(`__tracebackhide__` in the kit, asyncio's frames dropped for the kit's own AssertionErrors)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from percl.testing import Harness
from percl.testing.sync import Percl

CALLER = "+15550100001"


def shown_files(info: pytest.ExceptionInfo[AssertionError]) -> list[str]:
    """The files of the frames pytest shows for a failure (after its __tracebackhide__ filter)."""
    return [str(entry.path) for entry in info.traceback.filter(info)]


def with_call(p: Percl) -> Any:
    app = p.harness.scripted_app("http://hide.test")
    app.on("/voice", [{"Say": {"text": "hello"}}, {"Pause": {"length": 5000}}, {"Hangup": {}}])
    number = p.run(p.harness.number_for_app("+13125550144", voice_url=app.url("/voice")))
    return p.phone(CALLER).calls(number)


@pytest.mark.parametrize("expectation", [
    lambda call: call.expect_say("goodbye"),
    lambda call: call.expect_status("busy"),
    lambda call: call.expect_hangup(reason="farEndHangup"),
    lambda call: call.expect_tones("1"),
])
def test_sync_kit_failures_show_only_the_test(expectation: Callable[[Any], object]) -> None:
    with Percl() as p:
        call = with_call(p)
        with pytest.raises(AssertionError) as info:
            expectation(call)
    assert shown_files(info) == [__file__, __file__]  # the lambda and the `with` line
    assert "Transcript of the phone" in str(info.value) or "expected" in str(info.value)


def test_sync_wait_for_and_expect_ring_show_only_the_test() -> None:
    with Percl() as p:
        with pytest.raises(AssertionError) as info:
            p.wait_for(lambda: False, within=1, message="never")
        assert shown_files(info) == [__file__]
        with pytest.raises(AssertionError) as info:
            p.phone("+15550100003").expect_ring(within=1)
        assert shown_files(info) == [__file__]


async def test_async_kit_failures_show_only_the_test() -> None:
    async with Harness() as h:
        app = h.scripted_app("http://hide.test")
        app.on("/voice", [{"Say": {"text": "hello"}}, {"Hangup": {}}])
        number = await h.number_for_app("+13125550144", voice_url=app.url("/voice"))
        call = await h.phone(CALLER).calls(number)
        with pytest.raises(AssertionError) as info:
            await call.expect_say("goodbye")
        assert shown_files(info) == [__file__]
        with pytest.raises(AssertionError) as info:
            await call.press("1")  # the call is over
        assert shown_files(info) == [__file__]


def test_a_bug_inside_percl_keeps_its_frames() -> None:
    with Percl() as p:

        async def broken() -> None:
            raise AssertionError("an assert inside percl failed")

        with pytest.raises(AssertionError) as info:
            p.run(broken())
    assert len(shown_files(info)) >= 2  # the coroutine's own frame is not dropped
