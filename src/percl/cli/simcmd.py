"""`percl sim ...`: drive the simulated phone network of a running `percl serve` over /sim/v1."""

from __future__ import annotations

import json
import time
from typing import Any

import click
import httpx
from rich.console import Console

FINAL = {"hangup", "rejected", "busy", "noAnswer", "failed", "canceled"}
STYLE = {"say": "green", "play": "cyan", "pause": "dim", "digitsPressed": "yellow",
         "digitsSent": "magenta", "hangup": "red", "said": "blue"}


def _client(url: str | None) -> httpx.Client:
    from percl.cli.main import credentials

    creds = credentials()
    base = url or creds.get("url") or "http://127.0.0.1:8600"
    return httpx.Client(base_url=f"{base}/sim/v1", auth=(creds["accountId"], creds["apiKey"]),
                        timeout=10)


def _check(r: httpx.Response) -> Any:
    if r.status_code >= 400:
        try:
            message = r.json().get("message", r.text)
        except ValueError:
            message = r.text
        raise click.ClickException(f"HTTP {r.status_code}: {message}")
    return r.json() if r.content else None


def describe(entry: dict[str, Any]) -> str:
    """One transcript entry as a line a person reads."""
    kind = entry.get("type", "?")
    at = entry.get("atMs", 0) / 1000
    templates = {
        "say": 'heard "{text}"',
        "play": "heard audio {url}",
        "pause": "silence {lengthMs} ms",
        "digitsPressed": "pressed {digits}",
        "digitsSent": "heard tones {digits}",
        "hangup": "hangup by {by}",
        "said": 'said "{text}"',
    }
    fields = {k: entry.get(k) for k in ("text", "url", "lengthMs", "digits", "by")}
    detail = templates.get(kind, str(kind)).format(**fields)
    if entry.get("interrupted"):
        detail += f" (cut after {entry.get('heardMs')} ms)"
    return f"{at:7.2f}s  {detail}"


def stream_transcript(client: httpx.Client, call_id: str, console: Console,
                      limit_s: float = 600) -> list[dict[str, Any]]:
    """Print entries as they appear until the leg ends; returns all entries."""
    shown = 0
    entries: list[dict[str, Any]] = []
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        data = _check(client.get(f"/calls/{call_id}/transcript"))
        entries = data.get("entries", [])
        for entry in entries[shown:]:
            console.print(describe(entry), style=STYLE.get(entry.get("type", "")))
        shown = len(entries)
        if data.get("live") is False or any(e.get("type") in FINAL for e in entries):
            break
        time.sleep(0.2)
    return entries


@click.group()
def sim() -> None:
    """Drive the simulated phone network of a running `percl serve`."""


@sim.command("call")
@click.argument("from_number")
@click.argument("to_number")
@click.option("--press", "presses", multiple=True,
              help="Digits to press; repeatable. Each is pressed 3 s after the previous step.")
@click.option("--script", "script_json", help='Full phone script as JSON, e.g. '
              '\'[{"afterMs": 3000, "digits": "1"}]\'.')
@click.option("--url", help="percl base URL (default from var/percl-credentials.json).")
def call_cmd(from_number: str, to_number: str, presses: tuple[str, ...],
             script_json: str | None, url: str | None) -> None:
    """Call TO_NUMBER (a number you own) from the virtual phone FROM_NUMBER; print what it hears."""
    console = Console()
    script: list[dict[str, Any]] = json.loads(script_json) if script_json else []
    for i, digits in enumerate(presses, start=1):
        script.append({"afterMs": 3000 * i, "digits": digits})
    with _client(url) as client:
        created = _check(client.post("/calls", json={"from": from_number, "to": to_number,
                                                      "script": script}))
        call_id = created["callId"]
        console.print(f"[bold]{from_number} -> {to_number}[/]  call {call_id}")
        stream_transcript(client, call_id, console)


@sim.command("transcript")
@click.argument("call_id")
@click.option("--url")
def transcript_cmd(call_id: str, url: str | None) -> None:
    """Print what the far end of CALL_ID heard and did."""
    with _client(url) as client:
        data = _check(client.get(f"/calls/{call_id}/transcript"))
    console = Console()
    for entry in data.get("entries", []):
        console.print(describe(entry), style=STYLE.get(entry.get("type", "")))


@sim.command("press")
@click.argument("call_id")
@click.argument("digits")
@click.option("--url")
def press_cmd(call_id: str, digits: str, url: str | None) -> None:
    """The far end of CALL_ID presses DIGITS."""
    with _client(url) as client:
        _check(client.post(f"/calls/{call_id}/digits", json={"digits": digits}))


@sim.command("hangup")
@click.argument("call_id")
@click.option("--url")
def hangup_cmd(call_id: str, url: str | None) -> None:
    """The far end of CALL_ID hangs up."""
    with _client(url) as client:
        _check(client.post(f"/calls/{call_id}/hangup"))


@sim.command("program")
@click.argument("number")
@click.argument("program_json")
@click.option("--url")
def program_cmd(number: str, program_json: str, url: str | None) -> None:
    """Program how NUMBER behaves when called, e.g. '{"answer": "busy"}'."""
    with _client(url) as client:
        _check(client.put(f"/phones/{number}", json=json.loads(program_json)))
