"""`percl sim ...`: drive the simulated phone network of a running `percl serve` over /sim/v1.

`sim call` and `sim phone` are live views (see live.py); the others are one request each.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from percl.cli.callaudio import CallAudio
from percl.cli.connection import (
    HttpError,
    PerclClient,
    client_from,
    connection_options,
    runtime,
)
from percl.cli.keyboard import CALL_HELP, Keyboard
from percl.cli.live import POLL_S, LiveCall
from percl.cli.phonecmd import phone_cmd
from percl.cli.render import STYLE, describe, live_console
from percl.cli.signals import Stopped, stop_on_signals
from percl.cli.traceview import ENDED

STEP_GAP_MS = 3000
EXIT_NOT_COMPLETED = 3
EXIT_INTERRUPTED = 130
EXIT_TIMED_OUT = 124  # as timeout(1)
EXIT_NO_RECORDING = 1  # --record could not be written (e.g. percl runs symbolic media)
LOGS_READ = 200
ENDED_PREFIX = re.compile(r"^Call ended \(\w+\): ")


@click.group()
def sim() -> None:
    """Drive the simulated phone network of a running `percl serve`."""


def load_script(raw: str | None) -> list[dict[str, Any]]:
    """`--script`: JSON text, or the path of a JSON file; a list of steps or {"script": [...]}.
    Raises click.BadParameter when it is neither."""
    if raw is None:
        return []
    text = raw if raw.lstrip()[:1] in ("[", "{") else _read(raw)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--script") from None
    steps = data.get("script") if isinstance(data, dict) else data
    if not isinstance(steps, list):
        raise click.BadParameter('expected a list of steps or {"script": [...]}',
                                 param_hint="--script")
    return steps


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="--script") from None


def build_script(script: list[dict[str, Any]], presses: tuple[str, ...],
                 says: tuple[str, ...]) -> list[dict[str, Any]]:
    """The script, then each --press and then each --say, 3 s after the step before."""
    start = max((int(s.get("afterMs", 0)) for s in script if isinstance(s, dict)), default=0)
    extra = [{"digits": d} for d in presses] + [{"say": t} for t in says]
    return script + [{"afterMs": start + STEP_GAP_MS * i, **step}
                     for i, step in enumerate(extra, start=1)]


@dataclass(frozen=True, slots=True)
class Sound:
    """`--record FILE` and `--play` of `sim call`."""

    record: Path | None = None
    play: bool = False


def run_call(client: PerclClient, console: Console, keyboard: Keyboard, from_: str, to: str,
             script: list[dict[str, Any]], *, interactive: bool,
             timeout_s: float | None = None, sound: Sound = Sound()) -> int:
    """Place the call and follow it until every leg ended; returns the exit code (0 completed,
    3 ended otherwise, 124 when `timeout_s` ran out (it hangs up), 130 on Ctrl-C, 143 / 129 on
    SIGTERM / SIGHUP (each hangs up); 1 when `sound.record` could not be written)."""
    created = client.sim("POST", "/calls", json={"from": from_, "to": to, "script": script})
    call_id = str(created["callId"])
    console.print(f"[bold]{from_} -> {to}[/]  call {call_id}", highlight=False)
    if interactive:
        console.print(CALL_HELP, style="dim", highlight=False)
    live = LiveCall(client, console, call_id, CALL_HELP)
    audio = call_audio(client, console, call_id, sound)
    try:
        with stop_on_signals():
            timed_out = follow(live, keyboard, timeout_s, audio.tick)
            status = live.settle_status(keyboard)
    except (KeyboardInterrupt, Stopped) as exc:
        live.hang_up_all()
        why = exc.name if isinstance(exc, Stopped) else "Ctrl-C"
        console.print(f"hung up ({why})", style="red")
        audio.finish()
        return exc.exit_code if isinstance(exc, Stopped) else EXIT_INTERRUPTED
    report_end(client, console, call_id, status)
    if not audio.finish():
        return EXIT_NO_RECORDING
    if timed_out:
        return EXIT_TIMED_OUT
    return 0 if status == "completed" else EXIT_NOT_COMPLETED


def call_audio(client: PerclClient, console: Console, call_id: str, sound: Sound) -> CallAudio:
    """The recorder and live player of the call; `--play` without a speaker says why not."""

    def say(text: str, style: str) -> None:
        console.print(text, style=style, highlight=False, markup=False)

    speaker = None
    if sound.play:
        found = runtime().speaker()
        if isinstance(found, str):
            say(f"--play: cannot play live: {found}", "yellow")
        else:
            speaker = found
    return CallAudio(client, call_id, say, record=sound.record, speaker=speaker)


def follow(live: LiveCall, keyboard: Keyboard, timeout_s: float | None,
           tick: Callable[[], None] = lambda: None) -> bool:
    """Refresh the live view (and `tick`) until every leg ended; once `timeout_s` (on the
    keyboard's clock) has passed, hang up and follow the call to its end. True when it timed
    out."""
    deadline = None if timeout_s is None else keyboard.now() + timeout_s
    timed_out = False
    live.refresh()
    while not live.ended:
        line = keyboard.next_line(POLL_S)
        if line is not None:
            live.type(line)
        if deadline is not None and not timed_out and keyboard.now() >= deadline:
            timed_out = True
            live.console.print(f"timed out after {timeout_s:g} s: hanging up", style="red")
        if timed_out:  # every leg, those dialled since included
            live.hang_up_all()
        live.refresh()
        tick()
    return timed_out


def report_end(client: PerclClient, console: Console, call_id: str, status: str | None) -> None:
    """The last lines: the final status; for a call that did not complete, why (callEndedReason
    and the last error percl logged for it) and where to look further."""
    if status == "completed":
        console.print("call ended: completed", style=STYLE["state"])
        return
    reason, cause = end_reason(client, call_id)
    console.print(f"call ended: {status or 'unknown'}"
                  + (f" (callEndedReason {reason})" if reason else ""), style="bold red")
    if cause:
        console.print(f"cause: {cause}", style="red", highlight=False)
    console.print(f"the whole flow: percl trace {call_id}", style="dim", highlight=False)


def end_reason(client: PerclClient, call_id: str) -> tuple[str | None, str | None]:
    """callEndedReason (from the "Call ended" log line) and the newest error logged for the
    call, from GET /Calls/{id}/Logs (newest first); None for what is not there."""
    try:
        logs = client.rest_list(f"/Calls/{call_id}/Logs", "logs", limit=LOGS_READ)
    except HttpError:
        return None, None
    reason = next((m["reason"] for log in logs
                   if (m := ENDED.match(str(log.get("message", ""))))), None)  # fmt: skip
    error = next((log for log in logs if log.get("level") == "error"), None)
    return reason, None if error is None else _error_text(error)


def _error_text(log: dict[str, Any]) -> str:
    meta = log.get("metadata") or {}
    detail = meta.get("error") or (f"HTTP {meta['responseStatus']}"
                                   if meta.get("responseStatus") else None)  # fmt: skip
    where = f"{meta['requestType']} webhook to {meta.get('url')}" if meta.get("requestType") else ""
    message = ENDED_PREFIX.sub("", str(log.get("message", "")))
    if message:
        return message if not detail or str(detail) in message else f"{message}: {detail}"
    return ": ".join(str(p) for p in (where, detail) if p)


@sim.command("call")
@click.argument("from_number")
@click.argument("to_number")
@click.option("--script", "script_arg", metavar="FILE|JSON",
              help='Phone script, e.g. \'[{"afterMs": 3000, "digits": "1"}]\' or a JSON file. '
                   "Runs unattended.")
@click.option("--press", "presses", multiple=True,
              help="Digits to press, 3 s after the previous step; repeatable. Runs unattended.")
@click.option("--say", "says", multiple=True,
              help="Words to say, 3 s after the previous step (after the presses); repeatable.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True),
              metavar="SECONDS", help="Hang up after SECONDS and exit 124.")
@click.option("--record", "record", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="At the end, write what the caller heard to FILE (a WAV).")
@click.option("--play", is_flag=True,
              help="Play what the caller hears on the local speaker, live (paplay, aplay or "
                   "the sounddevice package).")
@connection_options
def call_cmd(from_number: str, to_number: str, script_arg: str | None, presses: tuple[str, ...],
             says: tuple[str, ...], timeout_s: float | None, record: Path | None, play: bool,
             url: str | None, account: str | None, key: str | None) -> None:
    """Call TO_NUMBER (a number you own) from the virtual phone FROM_NUMBER and follow it live.

    Without --script/--press/--say it is interactive: type digits and Enter to press them,
    "words to speak, h to hang up; Ctrl-C (or SIGTERM, SIGHUP) hangs up and quits. Exit code 0
    when the call completed, 3 when it ended otherwise (busy, failed...: the reason is printed),
    124 after --timeout, 130 on Ctrl-C, 1 when percl cannot be reached or --record could not be
    written (percl runs `--media symbolic`: no audio)."""
    steps = build_script(load_script(script_arg), presses, says)
    interactive = not (script_arg or presses or says)
    with client_from(url, account, key) as client:
        code = run_call(client, live_console(), runtime().keyboard(interactive), from_number,
                        to_number, steps, interactive=interactive, timeout_s=timeout_s,
                        sound=Sound(record, play))
    sys.exit(code)


@sim.command("transcript")
@click.argument("call_id")
@connection_options
def transcript_cmd(call_id: str, url: str | None, account: str | None, key: str | None) -> None:
    """Print what the far end of CALL_ID heard and did."""
    with client_from(url, account, key) as client:
        data = client.sim("GET", f"/calls/{call_id}/transcript")
    console = live_console()
    for entry in data.get("entries", []):
        console.print(describe(entry), style=STYLE.get(entry.get("type", "")), highlight=False)


def _post(url: str | None, account: str | None, key: str | None, path: str,
          body: dict[str, Any] | None, done: str) -> None:
    """One sim request; `done` is printed when it succeeded (errors exit 1 with a message)."""
    with client_from(url, account, key) as client:
        client.sim("POST", path, json=body)
    click.echo(done)


@sim.command("press")
@click.argument("call_id")
@click.argument("digits")
@connection_options
def press_cmd(call_id: str, digits: str, url: str | None, account: str | None,
              key: str | None) -> None:
    """The far end of CALL_ID presses DIGITS."""
    _post(url, account, key, f"/calls/{call_id}/digits", {"digits": digits},
          f"{call_id}: pressed {digits}")


@sim.command("say")
@click.argument("call_id")
@click.argument("text")
@connection_options
def say_cmd(call_id: str, text: str, url: str | None, account: str | None,
            key: str | None) -> None:
    """The far end of CALL_ID says TEXT (the platform hears it as speech)."""
    _post(url, account, key, f"/calls/{call_id}/speech", {"text": text},
          f"{call_id}: said {json.dumps(text)}")


@sim.command("hangup")
@click.argument("call_id")
@connection_options
def hangup_cmd(call_id: str, url: str | None, account: str | None, key: str | None) -> None:
    """The far end of CALL_ID hangs up."""
    _post(url, account, key, f"/calls/{call_id}/hangup", None, f"{call_id}: hung up")


@sim.command("answer")
@click.argument("call_id")
@connection_options
def answer_cmd(call_id: str, url: str | None, account: str | None, key: str | None) -> None:
    """The ringing phone of CALL_ID picks up (as a human)."""
    _post(url, account, key, f"/calls/{call_id}/answer", None, f"{call_id}: answered")


@sim.command("decline")
@click.argument("call_id")
@connection_options
def decline_cmd(call_id: str, url: str | None, account: str | None, key: str | None) -> None:
    """The ringing phone of CALL_ID declines (the platform hears busy)."""
    _post(url, account, key, f"/calls/{call_id}/decline", None, f"{call_id}: declined")


@sim.command("program")
@click.argument("number")
@click.argument("program_json")
@connection_options
def program_cmd(number: str, program_json: str, url: str | None, account: str | None,
                key: str | None) -> None:
    """Program how NUMBER behaves when called, e.g. '{"answer": "busy"}'."""
    try:
        program = json.loads(program_json)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="PROGRAM_JSON") from None
    with client_from(url, account, key) as client:
        saved = client.sim("PUT", f"/phones/{number}", json=program)
    click.echo(f"{number} programmed: {json.dumps(saved, separators=(',', ':'))}")


sim.add_command(phone_cmd)
