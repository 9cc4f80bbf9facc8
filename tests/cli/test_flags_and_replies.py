"""Flags named as typed (`--port abc`, `--url localhost:8600`) and one-shot sim commands that
say what they did."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from percl.cli.main import cli
from percl.domain.enums import CallStatus
from tests.cli.bridge import CALLER, ThreadedHarness, invoke

ACC = ["--account", "AC" + "0" * 40, "--key", "k" * 10]


@pytest.mark.parametrize(("args", "says"), [
    (["--port", "abc"], "configuration: --port 'abc': expected a whole number"),
    (["--port", "70000"], "configuration: --port '70000': must be between 0 and 65535"),
    (["--media-time-scale", "-1"], "configuration: --media-time-scale '-1': must be a number"),
    (["--media", "stereo"], "configuration: --media 'stereo': expected audio or symbolic"),
])
def test_serve_flag_errors_name_the_flag(args: list[str], says: str) -> None:
    result = CliRunner().invoke(cli, ["serve", *args], env={"PERCL_PORT": None})
    assert result.exit_code == 2 and says in result.output
    assert "PERCL_" not in result.output


def test_serve_environment_errors_name_the_variable() -> None:
    result = CliRunner().invoke(cli, ["serve"], env={"PERCL_PORT": "abc"})
    assert result.exit_code == 2 and "PERCL_PORT='abc': expected a whole number" in result.output


def test_serve_refuses_audio_media_with_a_time_scale_in_one_line() -> None:
    result = CliRunner().invoke(cli, ["serve", "--media", "audio", "--media-time-scale", "0"],
                                env={"PERCL_PORT": None, "PERCL_MEDIA": None})
    assert result.exit_code == 2
    assert "configuration: --media audio runs at real time only" in result.output


@pytest.mark.parametrize("url", ["localhost:9", "127.0.0.1:9/", "http://127.0.0.1:9"])
def test_url_without_a_scheme_is_http(url: str) -> None:
    result = CliRunner().invoke(cli, ["calls", "--url", url, *ACC])
    host = "localhost" if url.startswith("localhost") else "127.0.0.1"
    assert result.exit_code == 1 and f"cannot reach percl at http://{host}:9 (" in result.output


@pytest.mark.parametrize(("url", "says"), [
    ("ftp://127.0.0.1:9", "expected http://host:port"), ("localhost:port", "port is not a number"),
])
def test_bad_url_is_a_usage_error(url: str, says: str) -> None:
    result = CliRunner().invoke(cli, ["calls", "--url", url, *ACC])
    assert result.exit_code == 2 and "Invalid value for --url" in result.output and says in result.output


@pytest.fixture(scope="module")
def bridge() -> Iterator[ThreadedHarness]:
    with ThreadedHarness() as b:
        yield b


def test_one_shot_sim_commands_say_what_they_did(bridge: ThreadedHarness) -> None:
    h = bridge.h
    app = h.scripted_app("http://replies.test")
    app.on("/voice", [{"Say": {"text": "hello"}}, {"Pause": {"length": 60000}}])
    number = bridge.run(h.number_for_app("+13125550155", voice_url=app.url("/voice")))
    call_id = bridge.run(h.sim_call(CALLER, number))
    bridge.run(h.advance(1))
    assert invoke(bridge, ["sim", "press", call_id, "12"]).output == f"{call_id}: pressed 12\n"
    assert invoke(bridge, ["sim", "say", call_id, "hi"]).output == f'{call_id}: said "hi"\n'
    result = invoke(bridge, ["sim", "hangup", call_id])
    assert result.exit_code == 0 and result.output == f"{call_id}: hung up\n"
    bridge.run(h.clock.settle())
    assert bridge.run(h.call(call_id)).status is CallStatus.COMPLETED
    result = invoke(bridge, ["sim", "program", "+15550100009", '{"answer": "busy"}'])
    assert result.exit_code == 0
    assert result.output.startswith('+15550100009 programmed: {"answer":"busy"')
