"""`percl calls` and `percl logs`: find calls and read the account log without knowing ids.

Both read the REST API (GET /Calls with its filters; GET /Logs, or POST /Logs with PQL).
`percl logs -f` polls for entries newer than the last one printed until Ctrl-C, SIGTERM or
SIGHUP; its waits go through the command's keyboard (no input is read), so tests drive them on
the FakeClock like the live views.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console

from percl.cli.connection import HttpError, PerclClient, client_from, connection_options, runtime
from percl.cli.render import FINAL_STATES, iso_to_ms
from percl.cli.signals import Stopped, stop_on_signals

CALL_STATUSES = ("queued", "ringing", "inProgress", *sorted(FINAL_STATES))
FOLLOW_POLL_S = 1.0
MAX_PAGES = 20  # a poll reads at most this many pages of new entries
RETRIED_STATUSES = (429, 503)  # `logs -f` polls again after these
LEVEL_STYLE = {"error": "bold red", "warning": "yellow", "info": ""}


def call_line(call: dict[str, Any]) -> str:
    """One call record as a line: id, start (UTC), direction, numbers, status, duration."""
    ms = iso_to_ms(call.get("startTimeISO"))
    start = f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%d %H:%M:%S}" if ms is not None else ""
    seconds = call.get("duration")
    took = f"{seconds} s" if seconds is not None else ""
    return (f"{call.get('callId')}  {start:19}  {call.get('direction', ''):12}  "
            f"{call.get('from')} -> {call.get('to')}  {call.get('status')}  {took}").rstrip()


@click.command("calls")
@click.option("--status", type=click.Choice(CALL_STATUSES), help="Only calls in this status.")
@click.option("--to", "to_number", help="Only calls to this number.")
@click.option("--from", "from_number", help="Only calls from this number.")
@click.option("--active", is_flag=True, help="Only calls not ended yet.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="At most this many calls, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print the call records as JSON.")
@connection_options
def calls_cmd(status: str | None, to_number: str | None, from_number: str | None, active: bool,
              limit: int, as_json: bool, url: str | None, account: str | None,
              key: str | None) -> None:
    """List recent calls, newest first (id, start, direction, from -> to, status, duration).
    Follow one with `percl trace CA...`; the newest with `percl trace --last`."""
    params = {k: v for k, v in (("status", status), ("to", to_number), ("from", from_number),
                                ("active", "true" if active else None)) if v}  # fmt: skip
    with client_from(url, account, key) as client:
        calls = client.rest_list("/Calls", "calls", params, limit=limit)
    if as_json:
        click.echo(json.dumps(calls, indent=2))
    elif not calls:
        click.echo("no calls" + (" match" if params else " yet"))
    for call in [] if as_json else calls:
        click.echo(call_line(call))


def log_line(entry: dict[str, Any]) -> str:
    """One log entry as a line: UTC time, level, call id when there is one, message."""
    when = datetime.fromtimestamp(int(entry.get("timestamp", 0)) / 1e6, UTC)
    call = f"{entry['callId']}  " if entry.get("callId") else ""
    return f"{when:%Y-%m-%d %H:%M:%S.%f}"[:-3] + f"  {entry.get('level', ''):7}  {call}{entry.get('message')}"


@dataclass
class LogReader:
    """Reads the account log (filtered by `pql`) and hands out each entry once, oldest first."""

    client: PerclClient
    pql: str | None
    last_us: int = -1
    seen_at_last: set[str] = field(default_factory=set)  # entries at last_us already handed out

    def first(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` entries, oldest first. The older ones read with them count as
        handed out too (the newest of them may share a time with the oldest one printed)."""
        return self._handed_out(self._page_items(limit))[-limit:]

    def new(self) -> list[dict[str, Any]]:
        """Entries written since the last call (every one, across pages)."""
        return self._handed_out(self._page_items(None))

    def _page_items(self, limit: int | None) -> list[dict[str, Any]]:
        page = self.client.rest("GET", "/Logs", params={"pql": self.pql} if self.pql else {})
        items: list[dict[str, Any]] = list(page.get("logs") or [])
        account_path = f"/Accounts/{self.client.target.account_id}"
        for _ in range(MAX_PAGES):
            enough = limit is not None and len(items) >= limit
            if enough or not page.get("nextPageUri") or self._older(items[-1]):
                break
            page = self.client.rest("GET", str(page["nextPageUri"]).removeprefix(account_path))
            items += page.get("logs") or []
        return items

    def _older(self, entry: dict[str, Any]) -> bool:
        return int(entry.get("timestamp", 0)) < self.last_us

    def _handed_out(self, newest_first: list[dict[str, Any]]) -> list[dict[str, Any]]:
        fresh = [e for e in reversed(newest_first) if self._is_new(e)]
        for entry in fresh:
            stamp = int(entry.get("timestamp", 0))
            if stamp > self.last_us:
                self.last_us, self.seen_at_last = stamp, set()
            self.seen_at_last.add(_key(entry))
        return fresh

    def _is_new(self, entry: dict[str, Any]) -> bool:
        stamp = int(entry.get("timestamp", 0))
        return stamp > self.last_us or (stamp == self.last_us and _key(entry) not in self.seen_at_last)


def _key(entry: dict[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True)


@click.command("logs")
@click.option("--pql", help='Only entries matching this PQL, e.g. \'level = "error"\'.')
@click.option("-f", "--follow", is_flag=True, help="Keep printing new entries until Ctrl-C.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="Print at most this many of the newest entries first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@connection_options
def logs_cmd(pql: str | None, follow: bool, limit: int, as_json: bool, url: str | None,
             account: str | None, key: str | None) -> None:
    """Print the account log, oldest of the newest --limit entries first; with -f keep
    following it (like tail -f). PQL as on POST /Logs (a bad query is an HTTP 400 error)."""
    console = Console(soft_wrap=True, highlight=False)

    def show(entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            if as_json:
                click.echo(json.dumps(entry))
            else:
                console.print(log_line(entry), style=LEVEL_STYLE.get(str(entry.get("level")), ""),
                              markup=False)

    with client_from(url, account, key) as client:
        reader = LogReader(client, pql)
        show(reader.first(limit))
        if not follow:
            return
        keyboard = runtime().keyboard(False)
        try:
            with stop_on_signals():
                while True:
                    keyboard.next_line(FOLLOW_POLL_S)
                    show(_poll(reader))
        except (KeyboardInterrupt, Stopped):
            pass


def _poll(reader: LogReader) -> list[dict[str, Any]]:
    """The new entries; none this time when percl answers "try again" (503: its database is
    busy; 429: the rate limit), since following must outlive a moment's refusal (a note
    says so on stderr); any other error ends the command."""
    try:
        return reader.new()
    except HttpError as exc:
        if exc.status not in RETRIED_STATUSES:
            raise
        click.echo(f"percl: {exc.message}; retrying", err=True)
        return []


def newest_call_id(client: PerclClient) -> str | None:
    """The id of the account's newest call (started last), None when it has none."""
    calls = client.rest("GET", "/Calls").get("calls") or []  # newest first
    return str(calls[0]["callId"]) if calls else None
