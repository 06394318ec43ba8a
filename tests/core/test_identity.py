"""Phone normalization, GB 11643 ID numbers and pinyin initials."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loupan.core.errors import DomainError
from loupan.core.identity import (
    check_id_number,
    display_phone,
    id_check_digit,
    normalize_phone,
    phone_tail,
    pinyin_initials,
)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("+86 138-1234-5678", "+8613812345678"),
        ("008613812345678", "+8613812345678"),
        ("028-85551234", "+862885551234"),
        ("(010) 6552 9988", "+861065529988"),
        ("+852 9123 4567", "+85291234567"),
        ("+1 415 555 2671", "+14155552671"),
    ],
)
def test_numbers_are_stored_normalized(raw, e164):
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "请填写电话号码"),
        ("1381234567", "11 位"),
        ("138123456789", "11 位"),
        ("12812345678", "11 位"),
        ("85551234", "区号"),
        ("abc", "无法识别"),
    ],
)
def test_invalid_numbers_are_refused_with_the_reason(raw, reason):
    with pytest.raises(DomainError) as exc:
        normalize_phone(raw, field="mobile")
    assert exc.value.code == "invalid"
    assert reason in exc.value.message and "mobile" in exc.value.fields


def test_display_and_tail():
    assert display_phone("+8613812345678") == "13812345678"
    assert display_phone("+85291234567") == "+85291234567"
    assert phone_tail("+8613812345678") == "5678"


def test_a_real_id_number_gives_birth_date_and_gender():
    body = "11010519491231002"
    number = body + id_check_digit(body)
    assert number == "11010519491231002X"
    parsed = check_id_number(number.lower())
    assert parsed.birth_date == datetime.date(1949, 12, 31)
    assert parsed.gender == "F"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1101051949123100", "18 位"),
        ("11010519491331002X", "出生日期"),
        ("110105194912310021", "校验位"),
        ("11010530001231002X", "出生日期"),
    ],
)
def test_bad_id_numbers(raw, reason):
    with pytest.raises(DomainError) as exc:
        check_id_number(raw)
    assert reason in exc.value.message and "id_number" in exc.value.fields


@given(
    region=st.integers(110000, 659999),
    birth=st.dates(min_value=datetime.date(1920, 1, 1), max_value=datetime.date(2010, 12, 31)),
    seq=st.integers(0, 999),
)
def test_check_digit_round_trip(region, birth, seq):
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    number = body + id_check_digit(body)
    parsed = check_id_number(number)
    assert parsed.birth_date == birth
    assert parsed.gender == ("M" if seq % 2 else "F")
    wrong = "X" if number[-1] != "X" else "0"
    with pytest.raises(DomainError):
        check_id_number(body + wrong)


def test_pinyin_initials():
    assert pinyin_initials("张三") == "zs"
    assert pinyin_initials("欧阳娜娜") == "oynn"
    assert pinyin_initials("Li 先生") == "lixs"
