"""Phone numbers, resident ID numbers and name initials (PRODUCT.md "Regulations").

* Mainland mobiles are 11 digits starting with 1; landlines carry their area code;
  foreign numbers keep their + country code. Stored normalized (E.164, e.g.
  ``+8613812345678``) so that one person's number is found however it was typed.
* 18-digit resident ID numbers are checked with the GB 11643-1999 check digit; the birth
  date and gender are read from them.
* Pinyin initials of a name (张三 → "zs") make names searchable from a phone keyboard.
"""

import datetime
import re
from dataclasses import dataclass

import phonenumbers
from django.utils.translation import gettext as _

from .errors import invalid

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def normalize_phone(raw: str, field: str = "phone") -> str:
    """The number in E.164 form, or a DomainError naming ``field`` and the reason."""
    text = re.sub(r"[\s\-()（）]", "", str(raw or ""))
    if not text:
        raise invalid(field, _("请填写电话号码"))
    if text.startswith("00"):
        text = "+" + text[2:]
    if re.fullmatch(r"1\d{10}", text) and not text.startswith(("10", "11", "12")):
        pass  # a mainland mobile: parsed below with region CN
    elif re.fullmatch(r"1\d*", text) and not text.startswith("+"):
        raise invalid(field, _("手机号应为以 1 开头的 11 位数字"))
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException as exc:
        raise invalid(field, _("无法识别的电话号码")) from exc
    if not phonenumbers.is_valid_number(number):
        if number.country_code == 86 and str(number.national_number).startswith("1"):
            raise invalid(field, _("手机号应为以 1 开头的 11 位数字"))
        if number.country_code == 86:
            raise invalid(field, _("固定电话须带区号，如 028-85551234"))
        raise invalid(field, _("无效的电话号码"))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """How the office writes it: 13812345678 for mainland numbers, +852 … abroad."""
    if not e164:
        return ""
    if e164.startswith("+86"):
        return e164[3:]
    return e164


def phone_tail(e164: str) -> str:
    return (e164 or "")[-4:]


@dataclass(frozen=True)
class IdNumber:
    number: str
    birth_date: datetime.date
    gender: str  # "M" or "F"


def check_id_number(raw: str, field: str = "id_number") -> IdNumber:
    """An 18-digit resident ID number (GB 11643): region, birth date, sequence, check
    digit. Refused with the reason otherwise."""
    number = str(raw or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise invalid(field, _("身份证号应为 18 位，最后一位可以是 X"))
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise invalid(field, _("身份证号中的出生日期无效")) from exc
    if birth > datetime.date.today() or birth.year < 1900:
        raise invalid(field, _("身份证号中的出生日期无效"))
    if id_check_digit(number[:17]) != number[17]:
        raise invalid(field, _("身份证号校验位不正确"))
    return IdNumber(number=number, birth_date=birth, gender="M" if int(number[16]) % 2 else "F")


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check code of the first 17 digits (weights 2^(i-1) mod 11, the
    code (12 − Σ mod 11) mod 11, 10 written X); only 17 digits have one."""
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def pinyin_initials(name: str) -> str:
    """张三 → "zs"; letters and digits are kept, lower-cased."""
    from pypinyin import Style, lazy_pinyin

    letters = lazy_pinyin(name or "", style=Style.FIRST_LETTER, errors=lambda chars: list(chars))
    return "".join(ch for part in letters for ch in part.lower() if ch.isalnum())
