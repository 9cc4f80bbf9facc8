"""A webhook's answer, read as the leg's next script.

FreeClimb answers a failed webhook (after its fallback) with webhookFailed, an answer that is not
JSON with webhookInvalidResponse, JSON that is not valid PerCL with appInvalidPerCL, and an empty
body as an empty script. `script_event` makes that decision as a pure function, so the session
only posts its result to the interpreter. The answer's JSON is the one the webhook sender decoded
(`WebhookResult.answer`); only a sender that did not decode it leaves that to the parser here.
"""

from __future__ import annotations

from typing import Any

from percl.domain.enums import CallEndedReason
from percl.engine.ports import JsonValue, WebhookOutcome, WebhookResult
from percl.errors import PerclScriptError
from percl.percl import actions as a
from percl.percl import events as e
from percl.percl.parse import PerclJsonError, Script, parse_script
from percl.percl.privacy import MASK, mask_private
from percl.percl.serialize import serialize_script


def script_event(
    action: a.PostWebhook, result: WebhookResult, *, private_call: bool = False
) -> e.ScriptReceived | e.WebhookBroken:
    """The interpreter's event for the answer `result` to the webhook `action`. Never raises.
    `private_call`: the leg's own privacyMode, which masks an invalid answer's logged PerCL."""
    token = action.token
    if result.outcome is WebhookOutcome.TOO_LARGE:
        return e.WebhookBroken(
            token, CallEndedReason.WEBHOOK_INVALID_RESPONSE,
            f"the answer of {result.url} cannot be used: {result.error}",
        )
    if not result.ok:
        why = result.error or f"HTTP {result.status}"
        return e.WebhookBroken(
            token, CallEndedReason.WEBHOOK_FAILED,
            f"{action.request_type.value} webhook to {result.url} failed: {why}",
        )
    if not result.body.strip():
        return e.ScriptReceived(token, parse_script([]))
    try:
        if result.answer_problem is not None:
            raise PerclJsonError(result.answer_problem)
        script = parse_script(result.answer if result.decoded else result.body)
    except PerclJsonError as exc:
        return e.WebhookBroken(
            token, CallEndedReason.WEBHOOK_INVALID_RESPONSE,
            f"the answer of {result.url} is not JSON: {exc.problem}",
        )
    except PerclScriptError as exc:  # the interpreter logs it once, as the reason the call ends
        metadata: dict[str, JsonValue] = {"path": exc.path, "problem": exc.problem}
        if result.decoded:  # the webhook's log entry left this answer to the engine's log
            private = action.privacy_mode or private_call
            metadata["percl"] = MASK if private else mask_private(result.answer)
        return e.WebhookBroken(
            token, CallEndedReason.APP_INVALID_PERCL, f"invalid PerCL from {result.url} at {exc}",
            metadata,
        )
    return e.ScriptReceived(token, script)


def received_metadata(script: Script, privacy_mode: bool) -> dict[str, Any]:
    """The metadata of the "PerCL received" log entry: the script as sent, with what commands marked
    privacyMode say or send masked; all of it masked when the webhook itself was private."""
    return {"percl": mask_private(serialize_script(script)) if not privacy_mode else MASK}
