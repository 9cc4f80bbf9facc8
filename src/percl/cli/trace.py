"""`percl trace CALL_ID`: the whole flow of a call -- every leg, webhook, PerCL script and state
change -- in time order, as a tree (or `--json`).

The flow is the call's family: from CALL_ID up to the leg that started it (parentCallId), then
every leg dialled from there down (GET /Calls?parentCallId=), each with its logs
(GET /Calls/{id}/Logs) and, if the simulated network still has it, its transcript.
"""

from __future__ import annotations

import json

import click
from rich.console import Console

from percl.cli.browse import newest_call_id
from percl.cli.connection import HttpError, PerclClient, client_from, connection_options
from percl.cli.traceview import LegTrace, to_json, to_tree

MAX_DEPTH = 16
MAX_LEGS = 500
PIPED_WIDTH = 10_000


def fetch_flow(client: PerclClient, call_id: str) -> LegTrace:
    """The family of `call_id`, rooted at its first ancestor. Raises HttpError (404) for a call
    the account does not have."""
    call = client.rest("GET", f"/Calls/{call_id}")
    for _ in range(MAX_DEPTH):
        parent = call.get("parentCallId")
        if not parent:
            break
        try:
            call = client.rest("GET", f"/Calls/{parent}")
        except HttpError:
            break  # the parent is gone or not ours: start from the oldest leg we can see
    root = _leg(client, call)
    todo, count = [root], 1
    while todo and count < MAX_LEGS:
        leg = todo.pop(0)
        children = client.rest_list("/Calls", "calls", {"parentCallId": leg.call_id})
        for child in sorted(children, key=lambda c: str(c.get("startTimeISO") or "")):
            leg.legs.append(_leg(client, child))
            count += 1
        todo += leg.legs
    return root


def _leg(client: PerclClient, call: dict[str, object]) -> LegTrace:
    call_id = str(call["callId"])
    logs = client.rest_list(f"/Calls/{call_id}/Logs", "logs", limit=10_000)
    try:
        transcript = client.sim("GET", f"/calls/{call_id}/transcript")
    except HttpError:
        transcript = None  # not a simulated leg, or forgotten by the network
    recordings = client.rest_list(f"/Calls/{call_id}/Recordings", "recordings")
    for rec in recordings:  # the recordingUrl a webhook carried
        rec["downloadUrl"] = f"{client.target.url}/apiserver{rec.get('uri')}/Download"
    return LegTrace(call=dict(call), logs=list(reversed(logs)), transcript=transcript,
                    recordings=list(reversed(recordings)))


@click.command("trace")
@click.argument("call_id", required=False)
@click.option("--last", is_flag=True, help="Trace the newest call (instead of CALL_ID).")
@click.option("--json", "as_json", is_flag=True, help="Print the flow as JSON.")
@connection_options
def trace_cmd(call_id: str | None, last: bool, as_json: bool, url: str | None,
              account: str | None, key: str | None) -> None:
    """Print CALL_ID's whole flow: legs, state changes, webhooks (requestType, URL, status,
    latency), PerCL received, what the phones heard, errors in red -- in time order.
    `percl calls` lists call ids; --last takes the newest."""
    if bool(call_id) == last:
        raise click.UsageError("give a CALL_ID or --last (not both)")
    with client_from(url, account, key) as client:
        if call_id is None:
            call_id = newest_call_id(client)
            if call_id is None:
                raise click.ClickException("no calls in this account yet")
        try:
            flow = fetch_flow(client, call_id)
        except HttpError as exc:
            if exc.status == 404:
                raise click.ClickException(f"no call {call_id} in this account") from None
            raise
    if as_json:
        click.echo(json.dumps(to_json(flow), indent=2))
    else:
        console = Console()
        if not console.is_terminal:  # piped: whole lines (rich would wrap them at 80 columns)
            console = Console(width=PIPED_WIDTH)
        console.print(to_tree(flow), highlight=False)  # wrapped, not cropped, when narrow
