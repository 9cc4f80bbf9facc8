"""privacyMode for logs: what a PerCL document looks like once its private values are masked.

FreeClimb's privacyMode is set per command ("not inherited by prompts") and keeps sensitive values
out of the logs: what a Say with privacyMode speaks, the digits a SendDigits plays. This works on
the JSON form (the app's raw answer as the dispatcher logs it, or a serialized script), so it
serves both. What the caller enters is masked at its source instead: a private GetDigits reports
its digits, a private GetSpeech its recognitionResult, as MASK in the webhook itself (FreeClimb's
webhook reference), so neither the app nor any log sees them (digits.py, speech.py).
"""

from __future__ import annotations

from typing import Any

MASK = "xxxxx"

#: Per command: the attributes that privacyMode hides from the logs.
PRIVATE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "Say": ("text",),
    "SendDigits": ("digits",),
    "Play": ("file",),
    "PlayEarlyMedia": ("file",),
    "OutDial": ("sendDigits",),
}


def mask_private(document: Any) -> Any:
    """`document` (a PerCL JSON array) with each private attribute of a command that sets
    privacyMode replaced by "xxxxx", nested prompts included. Anything that is not a PerCL-shaped
    list is returned unchanged; the input is never modified."""
    if not isinstance(document, list):
        return document
    return [_mask_command(item) for item in document]


def _mask_command(item: Any) -> Any:
    if not isinstance(item, dict) or len(item) != 1:
        return item
    ((name, attrs),) = item.items()
    if not isinstance(attrs, dict):
        return item
    masked = dict(attrs)
    if attrs.get("privacyMode") is True:
        for key in PRIVATE_ATTRIBUTES.get(name, ()):
            if key in masked:
                masked[key] = MASK
    if isinstance(masked.get("prompts"), list):
        masked["prompts"] = mask_private(masked["prompts"])
    return {name: masked}
