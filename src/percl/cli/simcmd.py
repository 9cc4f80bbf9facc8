"""`percl sim ...`: drive the simulated phone network of a running `percl serve` over /sim/v1.

`sim call` and `sim phone` are live views (see live.py); the others are one request each.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from percl.cli.connection import PerclClient, client_from, connection_options, runtime
from percl.cli.keyboard import HELP, Keyboard
from percl.cli.live import POLL_S, LiveCall
from percl.cli.phonecmd import phone_cmd
from percl.cli.render import STYLE, describe, live_console

STEP_GAP_MS = 3000
EXIT_NOT_COMPLETED = 3
EXIT_INTERRUPTED = 130


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


def run_call(client: PerclClient, console: Console, keyboard: Keyboard, from_: str, to: str,
             script: list[dict[str, Any]], *, interactive: bool) -> int:
    """Place the call and follow it until every leg ended; returns the exit code (0 completed,
    3 ended otherwise, 130 when the user pressed Ctrl-C, which hangs up)."""
    created = client.sim("POST", "/calls", json={"from": from_, "to": to, "script": script})
    call_id = str(created["callId"])
    console.print(f"[bold]{from_} -> {to}[/]  call {call_id}", highlight=False)
    if interactive:
        console.print(HELP, style="dim", highlight=False)
    live = LiveCall(client, console, call_id)
    try:
        live.refresh()
        while not live.ended:
            line = keyboard.next_line(POLL_S)
            if line is not None:
                live.type(line)
            live.refresh()
        status = live.settle_status(keyboard)
    except KeyboardInterrupt:
        live.hang_up()
        console.print("hung up (Ctrl-C)", style="red")
        return EXIT_INTERRUPTED
    console.print(f"call ended: {status or 'unknown'}", style=STYLE["state"])
    return 0 if status == "completed" else EXIT_NOT_COMPLETED


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
@connection_options
def call_cmd(from_number: str, to_number: str, script_arg: str | None, presses: tuple[str, ...],
             says: tuple[str, ...], url: str | None, account: str | None,
             key: str | None) -> None:
    """Call TO_NUMBER (a number you own) from the virtual phone FROM_NUMBER and follow it live.

    Without --script/--press/--say it is interactive: type digits and Enter to press them,
    "words to speak, h to hang up; Ctrl-C hangs up and quits. Exit code 0 when the call
    completed, 3 when it ended otherwise (busy, failed...), 1 when percl cannot be reached."""
    steps = build_script(load_script(script_arg), presses, says)
    interactive = not (script_arg or presses or says)
    with client_from(url, account, key) as client:
        code = run_call(client, live_console(), runtime().keyboard(interactive), from_number,
                        to_number, steps, interactive=interactive)
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
          body: dict[str, Any] | None = None) -> None:
    with client_from(url, account, key) as client:
        client.sim("POST", path, json=body)


@sim.command("press")
@click.argument("call_id")
@click.argument("digits")
@connection_options
def press_cmd(call_id: str, digits: str, url: str | None, account: str | None,
              key: str | None) -> None:
    """The far end of CALL_ID presses DIGITS."""
    _post(url, account, key, f"/calls/{call_id}/digits", {"digits": digits})


@sim.command("say")
@click.argument("call_id")
@click.argument("text")
@connection_options
def say_cmd(call_id: str, text: str, url: str | None, account: str | None,
            key: str | None) -> None:
    """The far end of CALL_ID says TEXT (the platform hears it as speech)."""
    _post(url, account, key, f"/calls/{call_id}/speech", {"text": text})


@sim.command("hangup")
@click.argument("call_id")
@connection_options
def hangup_cmd(call_id: str, url: str | None, account: str | None, key: str | None) -> None:
    """The far end of CALL_ID hangs up."""
    _post(url, account, key, f"/calls/{call_id}/hangup")


@sim.command("answer")
@click.argument("call_id")
@connection_options
def answer_cmd(call_id: str, url: str | None, account: str | None, key: str | None) -> None:
    """The ringing phone of CALL_ID picks up (as a human)."""
    _post(url, account, key, f"/calls/{call_id}/answer")


@sim.command("decline")
@click.argument("call_id")
@connection_options
def decline_cmd(call_id: str, url: str | None, account: str | None, key: str | None) -> None:
    """The ringing phone of CALL_ID declines (the platform hears busy)."""
    _post(url, account, key, f"/calls/{call_id}/decline")


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
        client.sim("PUT", f"/phones/{number}", json=program)


sim.add_command(phone_cmd)
