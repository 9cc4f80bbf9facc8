"""Every PerCL command the official Python SDK (freeclimb 5.4.1) can produce must parse."""

from __future__ import annotations

import json

import freeclimb as fc

from percl.percl import (
    AudioStream,
    GetDigits,
    OutDial,
    Pause,
    Play,
    Say,
    Sms,
    TranscribeUtterance,
    parse_script,
    serialize_script,
)

U = "https://app.example.com"
CF = "CF" + "ab" * 20
QU = "QU" + "cd" * 20
CA = "CA" + "ef" * 20


def _to_json(commands: list[object]) -> str:
    """The SDK's own serializer: the body an app built with freeclimb 5.4.1 returns."""
    body: str = fc.PerclScript(commands=commands).to_json()  # type: ignore[no-untyped-call]
    return body


def _sdk_commands() -> list[object]:
    prompts = [
        fc.Say(text="Press 1", language="en-US", privacy_mode=False),
        fc.Play(file=f"{U}/beep.wav", loop=2),
        fc.Pause(length=250),
    ]
    return [
        fc.PlayEarlyMedia(file=f"{U}/early.wav"),
        fc.Say(
            text="Hello",
            engine=fc.TTSEngine(
                name=fc.TTSEngineName.FREECLIMB_NEURAL, parameters={"voice": "Eva"}
            ),
        ),
        fc.Play(file=f"{U}/a.wav"),
        fc.Pause(length=1000),
        fc.SendDigits(digits="123#", pause_ms=200, privacy_mode=True),
        fc.StartRecordCall(),
        fc.Sms(to="+13125550100", var_from="+13125550199", text="hi", notification_url=f"{U}/n"),
        fc.SetListen(listen=False),
        fc.SetTalk(talk=True),
        fc.SetDTMFPassThrough(dtmf_pass_through=True),
        fc.RemoveFromConference(),
        fc.GetDigits(
            action_url=f"{U}/gd",
            prompts=prompts,
            initial_timeout_ms=5000,
            digit_timeout_ms=3000,
            finish_on_key="#",
            max_digits=4,
            min_digits=1,
            flush_buffer=True,
            privacy_mode=False,
        ),
        fc.GetSpeech(
            action_url=f"{U}/gs",
            grammar_file="DIG4",
            grammar_type=fc.GrammarType.BUILT_IN,
            prompts=prompts,
            confidence_threshold=0.4,
            sensitivity_level=1,
            play_beep=True,
        ),
        fc.RecordUtterance(
            action_url=f"{U}/r",
            silence_timeout_ms=2000,
            finish_on_key="*",
            max_length_sec=30,
            play_beep=True,
            auto_start=False,
        ),
        fc.TranscribeUtterance(
            action_url=f"{U}/t",
            prompts=prompts,
            record=fc.TranscribeUtteranceRecord(save_recording=True),
        ),
        fc.OutDial(
            destination="+13125550100",
            calling_number="+13125550199",
            action_url=f"{U}/a",
            call_connect_url=f"{U}/c",
            timeout=40,
            if_machine=fc.IfMachine.REDIRECT,
            if_machine_url=f"{U}/m",
            send_digits="1",
            status_callback_url=f"{U}/s",
            privacy_mode=False,
        ),
        fc.CreateConference(
            action_url=f"{U}/cc",
            alias="x",
            play_beep=fc.PlayBeep.ALWAYS,
            record=True,
            status_callback_url=f"{U}/st",
            wait_url=f"{U}/w.wav",
        ),
        fc.AddToConference(
            conference_id=CF,
            allow_call_control=True,
            call_control_sequence="*1",
            call_control_url=f"{U}/cc",
            leave_conference_url=f"{U}/l",
            listen=True,
            notification_url=f"{U}/n",
            start_conf_on_enter=True,
            talk=False,
            dtmf_pass_through=False,
        ),
        fc.TerminateConference(),
        fc.Enqueue(queue_id=QU, wait_url=f"{U}/w", action_url=f"{U}/a", notification_url=f"{U}/n"),
        fc.Dequeue(),
        fc.Park(wait_url=f"{U}/w", action_url=f"{U}/a", notification_url=f"{U}/n"),
        fc.Unpark(),
        # SDK 5.4.1 cannot serialize AudioStream.meta_data (PerclScript.to_percl_dict treats every
        # list as commands), so the SDK form is tested without it.
        fc.AudioStream(
            location="wss://grpc.example.com",
            action_url=f"{U}/as",
            content_type="audio/mulaw;rate=8000",
            privacy_mode=True,
        ),
        fc.Redirect(action_url=f"{U}/next"),
        fc.Reject(reason="no"),
        fc.Hangup(reason="done"),
    ]


def test_every_sdk_command_parses_to_the_same_wire_form() -> None:
    commands = _sdk_commands()
    body = _to_json(commands)
    script = parse_script(body.encode())
    assert [type(c).__name__ for c in script.commands] == [type(c).__name__ for c in commands]
    assert serialize_script(script) == json.loads(body)
    assert script.warnings == ()


def test_sdk_defaults_are_kept() -> None:
    body = _to_json([fc.Say(text="x"), fc.TranscribeUtterance(action_url=U)])
    say, transcribe = parse_script(body).commands
    assert json.loads(body)[0] == {"Say": {"text": "x", "loop": 1}}
    assert isinstance(say, Say) and say.loop == 1
    assert isinstance(transcribe, TranscribeUtterance)
    assert transcribe.play_beep is False and transcribe.record is None


def test_sdk_nested_prompts_become_models() -> None:
    body = _to_json(_sdk_commands())
    get_digits = next(c for c in parse_script(body).commands if isinstance(c, GetDigits))
    assert [type(p) for p in get_digits.prompts] == [Say, Play, Pause]
    assert get_digits.prompts[1] == Play(file=f"{U}/beep.wav", loop=2)
    assert get_digits.max_digits == 4 and get_digits.finish_on_key == "#"


def test_sdk_field_values_reach_the_models() -> None:
    commands = parse_script(_to_json(_sdk_commands())).commands
    out_dial = next(c for c in commands if isinstance(c, OutDial))
    sms = next(c for c in commands if isinstance(c, Sms))
    stream = next(c for c in commands if isinstance(c, AudioStream))
    assert out_dial.if_machine == "redirect" and out_dial.timeout == 40
    assert sms.from_ == "+13125550199"
    assert stream.content_type == "audio/mulaw;rate=8000"


def test_sdk_legacy_call_id_on_add_to_conference_is_a_warning() -> None:
    doc = [{"AddToConference": {"conferenceId": CF, "callId": CA}}]
    script = parse_script(doc)
    assert script.warnings == ("[0].AddToConference.callId: legacy attribute",)
