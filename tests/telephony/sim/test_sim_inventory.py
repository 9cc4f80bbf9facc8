"""The number pool and the pure media model."""

from __future__ import annotations

import pytest

from percl.domain.phone import is_e164
from percl.telephony.sim.inventory import SimInventory
from percl.telephony.sim.media_model import MediaModel, check_keys, parse_send_digits


def test_pool_is_fictional_e164_and_unique() -> None:
    numbers = SimInventory().available_numbers()
    assert len(numbers) == (50 + 6 + 7) * 100
    assert len({n.phone_number for n in numbers}) == len(numbers)
    for n in numbers:
        assert is_e164(n.phone_number)
        assert n.phone_number[5:8] == "555" and 100 <= int(n.phone_number[8:]) <= 199


def test_pool_order_is_stable() -> None:
    a, b = SimInventory().available_numbers(), SimInventory().available_numbers()
    assert list(a) == list(b)
    assert a[0].phone_number == "+12015550100" and a[99].phone_number == "+12015550199"


def test_lookup_regions_countries_and_toll_free() -> None:
    inv = SimInventory()
    chicago = inv.lookup("+13125550123")
    assert chicago is not None
    assert (chicago.region, chicago.country, chicago.toll_free) == ("IL", "US", False)
    assert inv.lookup("+18475550199").region == "IL"  # type: ignore[union-attr]
    toronto = inv.lookup("+14165550100")
    assert toronto is not None and (toronto.region, toronto.country) == ("ON", "CA")
    assert inv.lookup("+16045550150").region == "BC"  # type: ignore[union-attr]
    free = inv.lookup("+18005550142")
    assert free is not None and free.toll_free and free.country == "US"
    assert inv.lookup("+13125550200") is None  # outside the fictional range
    assert inv.lookup("+13125550099") is None
    assert inv.lookup("+19995550100") is None  # area code not in the pool


def test_say_duration_model() -> None:
    model = MediaModel()
    assert model.say_seconds("hello there") == pytest.approx(1.1)
    assert MediaModel(words_per_minute=300).say_seconds("a b c d e") == pytest.approx(1.3)
    assert MediaModel(time_scale=0).say_seconds("a b c") == 0


def test_send_digits_parsing() -> None:
    assert parse_send_digits("1{2}#*{10}") == ("1#*", 12)
    for bad in ("1a", "{x}", "{2", "1 2"):
        with pytest.raises(ValueError):
            parse_send_digits(bad)
    assert MediaModel().send_digits_seconds("12{3}", 200) == pytest.approx(0.8)


def test_check_keys() -> None:
    assert check_keys("0123456789*#") == "0123456789*#"
    for bad in ("", "1w", "{1}"):
        with pytest.raises(ValueError):
            check_keys(bad)
