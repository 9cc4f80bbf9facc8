"""CallResult against the official SDK's model (freeclimb 5.4.1): every field it knows is sent."""

from __future__ import annotations

import freeclimb
import httpx

from percl.domain.enums import CallDirection, CallStatus
from percl.domain.records import Call

from .conftest import World


async def _rendered(client: httpx.AsyncClient, world: World) -> dict[str, object]:
    t0 = world.clock.now()
    call = Call(
        call_id="CA" + "3" * 40, account_id=world.account.account_id, from_="+13125550101",
        to="+13125550102", direction=CallDirection.OUTBOUND_API, status=CallStatus.COMPLETED,
        start_time=t0, connect_time=t0 + 1, end_time=t0 + 5, date_created=t0, date_updated=t0 + 5,
    )
    await world.store.put_call(call)
    r = await client.get(f"/Accounts/{world.account.account_id}/Calls/{call.call_id}")
    assert r.status_code == 200
    body: dict[str, object] = r.json()
    return body


async def test_every_sdk_call_result_field_is_sent(client: httpx.AsyncClient, world: World) -> None:
    body = await _rendered(client, world)
    wire_names = {f.alias or name for name, f in freeclimb.CallResult.model_fields.items()}
    assert wire_names - set(body) == set()


async def test_audio_stream_duration_is_zero_without_audio_stream(
    client: httpx.AsyncClient, world: World
) -> None:
    body = await _rendered(client, world)
    assert body["audioStreamDuration"] == 0  # an integer, as the OpenAPI types it
    parsed = freeclimb.CallResult.from_dict(body)
    assert parsed is not None and parsed.audio_stream_duration == 0
