"""Phone normalization, GB 11643 ID numbers, pinyin initials, and how the numbers and
names are masked (core.masking)."""

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
from loupan.core.masking import (
    mask_id_number,
    mask_name,
    mask_personal,
    mask_personal_text,
    mask_phone,
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


def test_id_number_refusals_say_why_exactly():
    # the reason shown to the office, word for word (the form shows it under the field)
    for raw in ("", None, "11010519491231002Y", "11010519491231002XX"):
        with pytest.raises(DomainError) as exc:
            check_id_number(raw)
        assert exc.value.message == "身份证号应为 18 位，最后一位可以是 X"
    with pytest.raises(DomainError) as exc:
        check_id_number("110105194912310021")
    assert exc.value.message == "身份证号校验位不正确"


def test_a_birth_date_from_1900_to_today_is_valid():
    def number(born):
        body = f"110105{born:%Y%m%d}123"
        return body + id_check_digit(body)

    today = datetime.date.today()
    for born in (today, datetime.date(1900, 1, 1)):
        assert check_id_number(number(born)).birth_date == born
    for born in (today + datetime.timedelta(days=1), datetime.date(1899, 12, 31)):
        with pytest.raises(DomainError) as exc:
            check_id_number(number(born))
        assert exc.value.message == "身份证号中的出生日期无效"
    with pytest.raises(DomainError) as exc:
        check_id_number("11010519490231002X")  # 31 February
    assert exc.value.message == "身份证号中的出生日期无效"


def test_only_seventeen_digits_have_a_check_digit():
    for body in ("1101051949123100", "110105194912310021"):
        with pytest.raises(ValueError):
            id_check_digit(body)


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("13812345678", "138****5678"),
        ("12345678", "123****5678"),
        ("1234567", "*******"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_phone_shows_its_first_three_and_last_four(number, masked):
    assert mask_phone(number) == masked


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("12345678901", "123456*8901"),
        ("1234567890", "**********"),
        ("", ""),
        (None, ""),
    ],
)
def test_an_id_number_shows_its_first_six_and_last_four(number, masked):
    assert mask_id_number(number) == masked


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张小三", "张**"),
        ("欧阳娜娜", "欧阳**"),
        ("司马相如之", "司马***"),
        (" 王五 ", "王*"),
        ("李", "李"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_public_list_shows_the_surname_only(name, masked):
    assert mask_name(name) == masked


def test_personal_numbers_are_masked_as_the_office_writes_them():
    assert mask_personal("phone", "+8613812345678") == "138****5678"
    assert mask_personal("phone", "+85291234567") == "+85****4567"
    assert mask_personal("id_number", "11010519491231002X") == "110105********002X"
    assert mask_personal("name", "张三") == "张三"


def test_numbers_in_a_search_text_are_masked():
    text = "找 13812345678、+8613900001111 和 11010519491231002x 的客户"
    assert mask_personal_text(text) == ("找 138****5678、139****1111 和 110105********002x 的客户")
    # a number inside a longer run of digits or letters is not a phone or an ID number
    for kept in ("013812345678", "A13812345678", "138123456789", "单号 1234"):
        assert mask_personal_text(kept) == kept
    assert mask_personal_text("") == "" and mask_personal_text(None) == ""


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "请填写电话号码"),
        (None, "请填写电话号码"),
        ("  - ", "请填写电话号码"),
        # a number starting with 1 is a mobile: 11 digits, 13… to 19…, nothing else,
        # though phonenumbers takes some of these as Chinese numbers (Beijing's 10…
        # without its 0, an 8-digit 16… line) or reads 11…/12… as a carrier prefix
        ("1381234567", "手机号应为以 1 开头的 11 位数字"),
        ("1085551234", "手机号应为以 1 开头的 11 位数字"),
        ("16023673", "手机号应为以 1 开头的 11 位数字"),
        ("11864003870", "手机号应为以 1 开头的 11 位数字"),
        ("12981009631", "手机号应为以 1 开头的 11 位数字"),
        ("+861381234567", "手机号应为以 1 开头的 11 位数字"),
        ("85551234", "固定电话须带区号，如 028-85551234"),
        ("abc", "无法识别的电话号码"),
        ("0002885551234", "无法识别的电话号码"),
        ("+852123", "无效的电话号码"),
        ("+1 415 555", "无效的电话号码"),
    ],
)
def test_a_refused_number_names_its_field_and_the_exact_reason(raw, reason):
    with pytest.raises(DomainError) as exc:
        normalize_phone(raw, field="phone2")
    assert exc.value.code == "invalid"
    assert str(exc.value.message) == reason
    assert exc.value.fields == {"phone2": [reason]}


def test_a_refused_number_names_the_phone_field_unless_told_otherwise():
    with pytest.raises(DomainError) as exc:
        normalize_phone("")
    assert exc.value.fields == {"phone": ["请填写电话号码"]}


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0085291234567", "+85291234567"),
        ("00 1 415 555 2671", "+14155552671"),
        # letters are read as a keypad's digits, after 00 as after +
        ("+852 CALL 1234", "+85222551234"),
        ("00852 CALL 1234", "+85222551234"),
        ("（028）8555-1234", "+862885551234"),
    ],
)
def test_00_is_the_international_prefix_as_plus(raw, e164):
    assert normalize_phone(raw) == e164


def test_no_number_displays_and_tails_as_nothing():
    assert display_phone("") == "" and display_phone(None) == ""
    assert phone_tail("") == "" and phone_tail(None) == ""
    assert phone_tail("+85291234567") == "4567"


def test_no_name_has_no_initials():
    assert pinyin_initials("") == "" and pinyin_initials(None) == ""
    assert pinyin_initials("Tom 李-2") == "toml2"
