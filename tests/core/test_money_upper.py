"""人民币大写 (capital numerals on receipts and the subscription agreement): a table of
the People's Bank's examples and a hypothesis round trip through a reader of the words."""

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loupan.core.money import money, rmb_upper, to_decimal


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "零元整"),
        ("0.05", "伍分"),
        ("0.50", "伍角整"),
        ("0.56", "伍角陆分"),
        ("1", "壹元整"),
        ("10", "壹拾元整"),
        ("15", "壹拾伍元整"),
        ("100", "壹佰元整"),
        ("105", "壹佰零伍元整"),
        ("1000.05", "壹仟元零伍分"),
        ("1234.56", "壹仟贰佰叁拾肆元伍角陆分"),
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
        ("10005.00", "壹万零伍元整"),
        ("60000", "陆万元整"),
        # the bank allows 壹拾万柒仟 too; one 零 for the zero 万 digit is the other allowed form
        ("107000.53", "壹拾万零柒仟元伍角叁分"),
        ("325000", "叁拾贰万伍仟元整"),
        ("1000010", "壹佰万零壹拾元整"),
        ("2985600", "贰佰玖拾捌万伍仟陆佰元整"),
        ("100000000", "壹亿元整"),
        ("100010000", "壹亿零壹万元整"),
        # a 万 group of zeros takes no 万, even when the next digit is not zero
        ("100001000", "壹亿零壹仟元整"),
        ("1010101010.10", "壹拾亿零壹仟零壹拾万零壹仟零壹拾元壹角整"),
        ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        ("-12.30", "负壹拾贰元叁角整"),
        (Decimal("0.005"), "壹分"),  # rounded half up to the fen first
        (12, "壹拾贰元整"),
    ],
)
def test_table(amount, words):
    assert rmb_upper(amount) == words


def test_sixteen_digits_of_yuan_at_most():
    assert rmb_upper(10**16 - 1).startswith("玖仟玖佰玖拾玖万亿")
    with pytest.raises(ValueError, match="amount too large for capital numerals"):
        rmb_upper(10**16)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        rmb_upper(1.5)


_DIGITS = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
_UNITS = {"拾": 10, "佰": 100, "仟": 1000}


def read_upper(words: str) -> Decimal:
    """The amount written in ``words`` (the inverse of ``rmb_upper``)."""
    sign = -1 if words.startswith("负") else 1
    words = words.removeprefix("负").removesuffix("整")
    integer, _, fraction = words.rpartition("元") if "元" in words else ("", "", words)
    total = wan = section = number = 0
    for ch in integer:
        if ch in _DIGITS:
            number = _DIGITS[ch]
        elif ch in _UNITS:
            section += number * _UNITS[ch]
            number = 0
        elif ch == "万":
            wan = (section + number) * 10**4
            section = number = 0
        elif ch == "亿":
            total += (wan + section + number) * 10**8
            wan = section = number = 0
        else:
            raise AssertionError(f"unexpected {ch!r} in {words}")
    total += wan + section + number
    cents = 0
    for digit, unit in re.findall(r"([零壹贰叁肆伍陆柒捌玖])([角分]?)", fraction):
        if unit:
            cents += _DIGITS[digit] * (10 if unit == "角" else 1)
    return sign * (Decimal(total) + Decimal(cents) / 100)


@given(st.decimals(min_value=0, max_value=Decimal("999999999999.99"), places=2))
def test_round_trip_and_form(amount):
    words = rmb_upper(amount)
    assert read_upper(words) == amount
    assert re.fullmatch(r"[零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整]+", words)
    assert "零零" not in words
    if amount:
        assert not re.search(r"零[元万亿角]", words)  # no zero before a unit or a section
    assert words.endswith(("整", "分"))
    assert not words.endswith("分整")
    if amount >= 1:
        assert not words.startswith("零") and "元" in words
    if amount == amount.to_integral_value() and amount >= 10:
        assert words.endswith("元整")


@given(st.decimals(min_value=Decimal("-999999999"), max_value=Decimal("-0.01"), places=2))
def test_negative_amounts(amount):
    words = rmb_upper(amount)
    assert words.startswith("负") and read_upper(words) == amount


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1,234,567.50", Decimal("1234567.50")),
        ("1，234.05", Decimal("1234.05")),
        (" 12,000 ", Decimal("12000")),
        (3, Decimal("3")),
    ],
)
def test_an_amount_is_read_with_its_thousands_separators(raw, value):
    assert to_decimal(raw) == value
    assert money(raw) == value.quantize(Decimal("0.01"))


def test_a_float_or_a_word_is_refused_saying_why():
    with pytest.raises(TypeError, match=r"^money is never a float$"):
        to_decimal(1.5)
    with pytest.raises(ValueError, match=r"^not a number: '12 元'$"):
        to_decimal("12 元")
