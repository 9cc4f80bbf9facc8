"""percl.testing: the public test kit for FreeClimb app developers (and percl's own suite).

- `Percl`: the synchronous kit (owns its event loop); `Harness`: the same, async.
- `phone(number)` handles (`Phone` / `AsyncPhone`) and call handles (`PhoneCall` / `AsyncPhoneCall`)
  with `expect_say`, `press`, `hang_up`, `expect_hangup` ...; script steps `press`, `speak`,
  `hang_up` for phones that act on their own.
- `LegAudio` (a leg's audio as numpy arrays, `PhoneCall.audio()`) and the media fidelity of the
  kits (`set_default_media`, `media_default`; `Harness(media="audio")`);
- the webhook log (`WebhookLog` of `CapturedWebhook`), fault injection, the official SDK
  in-process (`freeclimb_api()`), the `FakeClock`.
- `percl.testing.pytest_plugin`: the `percl`, `freeclimb_api` and `percl_harness` fixtures.

See docs/testing.md.
"""

from percl.testing.apps import ScriptedApp
from percl.testing.audio import LegAudio
from percl.testing.capture import CapturedWebhook, WebhookLog
from percl.testing.clock import FakeClock, WorkTracker
from percl.testing.fidelity import default_media, media_default, set_default_media
from percl.testing.harness import Harness
from percl.testing.legs import AsyncPhoneCall
from percl.testing.phones import AsyncPhone, hang_up, press, speak
from percl.testing.sync import Percl, Phone, PhoneCall
from percl.testing.transcripts import Matcher, TranscriptView

__all__ = [
    "AsyncPhone",
    "AsyncPhoneCall",
    "CapturedWebhook",
    "FakeClock",
    "Harness",
    "LegAudio",
    "Matcher",
    "Percl",
    "Phone",
    "PhoneCall",
    "ScriptedApp",
    "TranscriptView",
    "WebhookLog",
    "WorkTracker",
    "default_media",
    "hang_up",
    "media_default",
    "press",
    "set_default_media",
    "speak",
]
