"""The common base of every PerCL command model and the attribute types they are built from.

Why hand-written validators instead of pydantic's own types: a PerCL error has to read like
``[1].GetDigits.maxDigits: expected integer, got "5"`` and must follow JSON's type rules (a JSON
``true`` is not an integer, ``"5"`` is not a number). Each attribute type below is a
``PlainValidator`` that raises ``PydanticCustomError("percl", ...)`` with the final wording, so the
parser only has to attach the path. The same types validate models built directly in Python
(``GetDigits(action_url=..., max_digits=3)``), so a model can never hold a value a document could
not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, PlainValidator
from pydantic_core import PydanticCustomError

from percl.domain.phone import is_e164

ERROR_TYPE = "percl"

LANGUAGES = (
    "ca-ES", "da-DK", "de-DE", "en-AU", "en-CA", "en-GB", "en-IN", "en-US", "es-ES", "es-MX",
    "fi-FI", "fr-CA", "fr-FR", "it-IT", "ja-JP", "ko-KR", "nb-NO", "nl-NL", "pl-PL", "pt-BR",
    "pt-PT", "ru-RU", "sv-SE", "zh-CN", "zh-HK", "zh-TW",
)  # fmt: skip
TTS_ENGINES = ("freeclimb.standard", "freeclimb.neural", "ElevenLabs")
IF_MACHINE = ("redirect", "hangup")
PLAY_BEEP = ("always", "never", "entryOnly", "exitOnly")
GRAMMAR_TYPES = ("URL", "BUILTIN")
BUILTIN_GRAMMARS = (
    "ALPHNUM6", "ANY_DIG", "DIG1", "DIG2", "DIG3", "DIG4", "DIG5", "DIG6", "DIG7", "DIG8",
    "DIG9", "DIG10", "DIG11", "UP_TO_20_DIGIT_SEQUENCE", "VERSAY_YESNO",
)  # fmt: skip
AUDIO_CONTENT_TYPES = ("audio/mulaw;rate=8000", "audio/l16;rate=8000", "audio/l16;rate=16000")

_DTMF_KEYS = frozenset("0123456789*#")
# SendDigits: keys, plus "{n}" = n pause units between keys.
_SEND_DIGITS_RE = re.compile(r"^(?:[0-9*#]|\{[0-9]{1,4}\})*$")
_QUEUE_ID_RE = re.compile(r"^QU[0-9a-fA-F]{40}$")
# "sip:" or "sips:", then no space, not starting with "@". Written as `[^@\s]+@?[^\s]*` (the same
# strings) it backtracked over every split of a long value: quadratic, 2.5 s for 20,000 characters
# of an OutDial destination parsed on the event loop.
_SIP_URI_RE = re.compile(r"sips?:[^@\s][^\s]*")


def fail(problem: str) -> PydanticCustomError:
    """Build the one error type the parser understands; `problem` is the final wording."""
    return PydanticCustomError(ERROR_TYPE, "{problem}", {"problem": problem})


def field_fail(wire_name: str, problem: str) -> PydanticCustomError:
    """An error from a cross-field rule, pinned to the attribute `wire_name` (e.g. ifMachineUrl)."""
    return PydanticCustomError(ERROR_TYPE, "{problem}", {"problem": problem, "field": wire_name})


def describe(value: Any) -> str:
    """Render a JSON value for an error message: scalars as JSON, containers by kind."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _expected(kind: str, value: Any) -> PydanticCustomError:
    return fail(f"expected {kind}, got {describe(value)}")


# ---- scalar checks -------------------------------------------------------------------------


def check_str(value: Any) -> str:
    if not isinstance(value, str):
        raise _expected("string", value)
    return str(value)  # a StrEnum member becomes its plain value


def check_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _expected("boolean", value)
    return value


def check_int(value: Any) -> int:
    """JSON integer. A float with an integral value (5.0) is accepted: JSON does not distinguish."""
    if isinstance(value, bool):
        raise _expected("integer", value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _expected("integer", value)


def check_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _expected("number", value)
    return float(value)


def check_legacy_int(value: Any) -> int:
    """Integer, or a string of digits as SDKs up to 4.x sent for GetDigits timeouts and counts."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return check_int(value)


def at_least(minimum: int, base: Callable[[Any], int] = check_int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        number = base(value)
        if number < minimum:
            raise fail(f"must be >= {minimum}, got {number}")
        return number

    return check


def between(low: float, high: float, base: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        number = base(value)
        if not low <= number <= high:
            raise fail(f"must be between {low:g} and {high:g}, got {number:g}")
        return number

    return check


def one_of(choices: Iterable[str]) -> Callable[[Any], str]:
    allowed = tuple(choices)

    def check(value: Any) -> str:
        text = check_str(value)
        if text not in allowed:
            raise fail(f"must be one of {', '.join(allowed)}, got {describe(text)}")
        return text

    return check


def is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def check_url(value: Any) -> str:
    text = check_str(value)
    if not is_http_url(text):
        raise fail(f"expected an absolute http(s) URL, got {describe(text)}")
    return text


def check_e164(value: Any) -> str:
    text = check_str(value)
    if not is_e164(text):
        raise fail(f"expected an E.164 number like +18475550100, got {describe(text)}")
    return text


def check_destination(value: Any) -> str:
    text = check_str(value)
    if not (is_e164(text) or _SIP_URI_RE.fullmatch(text)):
        raise fail(f"expected an E.164 number or a sip: URI, got {describe(text)}")
    return text


def check_key(value: Any) -> str:
    text = check_str(value)
    if len(text) != 1 or text not in _DTMF_KEYS:
        raise fail(f"must be exactly one of 0-9, * or #, got {describe(text)}")
    return text


def check_key_sequence(value: Any) -> str:
    text = check_str(value)
    if not text or any(ch not in _DTMF_KEYS for ch in text):
        raise fail(f"must be one or more of 0-9, * and #, got {describe(text)}")
    return text


def dtmf_string(allow_empty: bool) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = check_str(value)
        if (not text and not allow_empty) or not _SEND_DIGITS_RE.fullmatch(text):
            raise fail(f"must be 0-9, *, # and {{n}} pauses, got {describe(text)}")
        return text

    return check


def max_utf8_bytes(limit: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = check_str(value)
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise fail(f"must be at most {limit} bytes (UTF-8), got {size}")
        return text

    return check


def max_chars(limit: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = check_str(value)
        if len(text) > limit:
            raise fail(f"must be at most {limit} characters, got {len(text)}")
        return text

    return check


def check_non_empty(value: Any) -> str:
    text = check_str(value)
    if not text:
        raise fail("must not be empty")
    return text


def check_queue_id(value: Any) -> str:
    text = check_str(value)
    if not _QUEUE_ID_RE.fullmatch(text):
        raise fail(f"expected QU followed by 40 hex digits, got {describe(text)}")
    return text


def check_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _expected("object", value)
    return dict(value)


def check_str_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise _expected("array of strings", value)
    for item in value:
        if not isinstance(item, str):
            raise fail(f"expected array of strings, found {describe(item)}")
    return tuple(str(item) for item in value)


# ---- the annotated attribute types the command models use -----------------------------------

Str = Annotated[str, PlainValidator(check_str)]
NonEmptyStr = Annotated[str, PlainValidator(check_non_empty)]
Bool = Annotated[bool, PlainValidator(check_bool)]
Int = Annotated[int, PlainValidator(check_int)]
NonNegInt = Annotated[int, PlainValidator(at_least(0))]
Number = Annotated[float, PlainValidator(check_number)]
Fraction = Annotated[float, PlainValidator(between(0.0, 1.0, check_number))]
Url = Annotated[str, PlainValidator(check_url)]
E164 = Annotated[str, PlainValidator(check_e164)]
Destination = Annotated[str, PlainValidator(check_destination)]
Key = Annotated[str, PlainValidator(check_key)]
KeySequence = Annotated[str, PlainValidator(check_key_sequence)]
Language = Annotated[str, PlainValidator(one_of(LANGUAGES))]
PlayBeepValue = Annotated[str, PlainValidator(one_of(PLAY_BEEP))]
StrList = Annotated[tuple[str, ...], PlainValidator(check_str_list)]
JsonObject = Annotated[dict[str, Any], PlainValidator(check_object)]


class Command(BaseModel):
    """Base of every PerCL command model.

    Subclasses set ``NAME`` (the wire name), ``TERMINAL`` (the script stops after it) and
    ``NESTABLE`` (may appear inside ``prompts``). ``LEGACY`` lists wire attributes that old SDKs
    send and that are still honoured but logged; ``LEGACY_STRING_INTS`` lists integer attributes
    that old SDKs sent as digit strings; ``WIRE_SYNONYMS`` maps alternate spellings to the
    canonical wire name. Models are frozen; build them with snake_case names or camelCase aliases.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    NAME: ClassVar[str] = ""
    TERMINAL: ClassVar[bool] = False
    NESTABLE: ClassVar[bool] = False
    LEGACY: ClassVar[frozenset[str]] = frozenset()
    LEGACY_STRING_INTS: ClassVar[frozenset[str]] = frozenset()
    WIRE_SYNONYMS: ClassVar[dict[str, str]] = {}

    @classmethod
    def wire_names(cls) -> Mapping[str, str]:
        """Map every accepted wire attribute name to its Python field name (worked out once per
        command class: every command parsed looks its attributes up here)."""
        names = _WIRE_NAMES.get(cls)
        if names is None:
            names = {(info.alias or field): field for field, info in cls.model_fields.items()}
            for synonym, canonical in cls.WIRE_SYNONYMS.items():
                names[synonym] = names[canonical]
            _WIRE_NAMES[cls] = names
        return names


#: Command class -> Command.wire_names(), filled on first use.
_WIRE_NAMES: dict[type[Command], dict[str, str]] = {}


class WireModel(BaseModel):
    """Base of nested attribute objects that are not commands (TranscribeUtterance.record).

    Unknown keys are dropped here; the parser reports them as warnings first.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")
