"""The sending rules and the carrier's segment arithmetic (engine/messaging/rules.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from percl.domain.records import IncomingNumber
from percl.engine.messaging.rules import (
    CODE_BAD_REQUEST,
    CODE_INVALID_NUMBER,
    CODE_NOT_OWNED,
    CODE_NOT_SMS_ENABLED,
    check_media,
    check_numbers,
    check_phone_text,
    check_sender,
    check_text,
    gsm_septets,
    segment_count,
)

ACCOUNT = "AC" + "1" * 40
OTHER = "AC" + "2" * 40


def _number(account_id: str = ACCOUNT, sms: bool = True) -> IncomingNumber:
    return IncomingNumber("PN" + "3" * 40, account_id, "+13125550100", sms_enabled=sms)


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),  # two parts of 153 septets
        ("a" * 307, 3),
        ("{" * 80, 1),  # extension characters take two septets each
        ("{" * 81, 2),
        ("`" * 70, 1),  # backtick has no GSM code: UCS-2, 70 per message
        ("`" * 71, 2),  # then 67 per part
        ("é" * 160, 1),  # é is in the GSM basic table
        ("😀" * 35, 1),  # surrogate pairs count two UCS-2 units
        ("😀" * 36, 2),
        ("Wait\u00a0for it\u2026", 1),  # no-break space and ellipsis: UCS-2
        ("\u2026" * 70, 1),
        ("\u2026" * 71, 2),
        ("\u2026" * 134, 2),  # two parts of 67
        ("\u2026" * 135, 3),
        ("\u2026" * 160, 3),  # the longest text a message may carry
    ],
)
def test_segment_count(text: str, segments: int) -> None:
    assert segment_count(text) == segments


def test_an_mms_is_one_message_however_long() -> None:
    assert segment_count("a" * 1600, ["https://cdn.test/a.jpg"]) == 1


def test_gsm_septets() -> None:
    assert gsm_septets("Hi [you]") == 10
    assert gsm_septets("tab\there") is None


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=400))
def test_segments_grow_with_text(text: str) -> None:
    """Never fewer than one segment, never fewer for a longer text of the same kind."""
    count = segment_count(text)
    assert count >= 1
    assert segment_count(text + "a") >= count


def test_numbers_must_be_e164_naming_the_field() -> None:
    assert check_numbers("+13125550100", "+15550100001") is None
    bad_from = check_numbers("3125550100", "+15550100001")
    assert bad_from is not None and (bad_from.code, bad_from.field) == (CODE_INVALID_NUMBER, "from")
    bad_to = check_numbers("+13125550100", "+1-555")
    assert bad_to is not None and bad_to.field == "to" and "'+1-555'" in bad_to.message


@pytest.mark.parametrize(
    ("text", "media", "problem"),
    [
        ("", (), "must not be empty"),
        ("a" * 161, (), "161 characters long"),
        ("ab\ud800", (), "lone UTF-16 surrogate ('\\ud800') at 2"),
    ],
)
def test_text_refusals(text: str, media: tuple[str, ...], problem: str) -> None:
    refusal = check_text(text, media)
    assert refusal is not None and refusal.code == CODE_BAD_REQUEST and refusal.field == "text"
    assert problem in refusal.message


def test_text_that_passes() -> None:
    assert check_text("a" * 160) is None
    # FreeClimb sends what GSM 7-bit cannot carry as UCS-2: a no-break space, an ellipsis, emoji
    assert check_text("Wait\u00a0for it\u2026 \U0001f600") is None
    assert check_text("\u2026" * 160) is None  # the limit counts characters, not segments
    assert check_text("", ["https://cdn.test/cat.jpg"]) is None  # an MMS may have no text


def test_media_rules() -> None:
    assert check_media(["https://cdn.test/a.png", "http://cdn.test/b.gif"]) is None
    too_many = check_media([f"https://cdn.test/{i}.png" for i in range(11)])
    assert too_many is not None and too_many.field == "mediaUrls"
    relative = check_media(["https://cdn.test/a.png", "/b.png"])
    assert relative is not None and relative.field == "mediaUrls[1]"


def test_a_phone_may_text_longer_and_in_any_script() -> None:
    assert check_phone_text("😀 " * 500) is None
    long = check_phone_text("a" * 1601)
    assert long is not None and "1601" in long.message
    assert check_phone_text("") is not None


def test_sender_must_be_an_sms_enabled_number_of_the_account() -> None:
    assert check_sender(_number(), ACCOUNT, "+13125550100") is None
    unknown = check_sender(None, ACCOUNT, "+13125550199")
    assert unknown is not None and (unknown.code, unknown.field) == (CODE_NOT_OWNED, "from")
    foreign = check_sender(_number(OTHER), ACCOUNT, "+13125550100")
    assert foreign is not None and foreign.code == CODE_NOT_OWNED
    no_sms = check_sender(_number(sms=False), ACCOUNT, "+13125550100")
    assert no_sms is not None and no_sms.code == CODE_NOT_SMS_ENABLED
