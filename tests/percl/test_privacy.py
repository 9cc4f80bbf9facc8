"""privacyMode masking of PerCL documents for the logs."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from percl.percl.privacy import MASK, mask_private


def test_private_say_and_send_digits_are_masked_others_kept() -> None:
    doc = [
        {"Say": {"text": "your pin is 1234", "privacyMode": True}},
        {"Say": {"text": "public words"}},
        {"SendDigits": {"digits": "99#", "privacyMode": True}},
        {"Hangup": {}},
    ]
    assert mask_private(doc) == [
        {"Say": {"text": MASK, "privacyMode": True}},
        {"Say": {"text": "public words"}},
        {"SendDigits": {"digits": MASK, "privacyMode": True}},
        {"Hangup": {}},
    ]
    assert doc[0]["Say"]["text"] == "your pin is 1234"  # the input is left alone


def test_prompts_are_masked_each_by_its_own_flag() -> None:
    doc = [{"GetDigits": {"actionUrl": "http://a/x", "privacyMode": True, "prompts": [
        {"Say": {"text": "secret", "privacyMode": True}}, {"Say": {"text": "menu"}}]}}]
    (cmd,) = mask_private(doc)
    assert [p["Say"]["text"] for p in cmd["GetDigits"]["prompts"]] == [MASK, "menu"]


def test_privacy_false_or_missing_keeps_values() -> None:
    doc = [{"Say": {"text": "a", "privacyMode": False}}, {"SendDigits": {"digits": "1"}}]
    assert mask_private(doc) == doc


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                    max_leaves=20))
def test_any_json_is_returned_without_raising(doc: Any) -> None:
    out = mask_private(doc)
    if not isinstance(doc, list):
        assert out is doc
    else:
        assert len(out) == len(doc)
