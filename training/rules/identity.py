"""Identity numbers: the resident ID (GB 11643) and the unified social credit code (GB 32100)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# GB/T 2260 province-level prefixes; an ID number outside them is not plausible.
_PROVINCE_PREFIXES = frozenset(
    ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"]
)
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")


class InvalidIdentity(ValueError):
    """The text is not a valid identity number. ``reason`` is a message key for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str
    birth_date: date
    sex: str  # "M" or "F"
    region: str


def id_check_character(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def parse_resident_id(text: str, today: date | None = None) -> ResidentId:
    """Validate an 18-digit resident ID number and derive birth date and sex from it."""
    number = (text or "").strip().upper()
    if len(number) != 18:
        raise InvalidIdentity("身份证号码应为18位")
    if not _ID_SHAPE.match(number):
        raise InvalidIdentity("身份证号码只能由数字和末位X组成")
    if number[:2] not in _PROVINCE_PREFIXES:
        raise InvalidIdentity("身份证号码的地区代码不存在")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentity("身份证号码中的出生日期不存在") from None
    if born.year < 1900 or (today is not None and born > today):
        raise InvalidIdentity("身份证号码中的出生日期不合理")
    if id_check_character(number[:17]) != number[17]:
        raise InvalidIdentity("身份证号码校验位不正确")
    return ResidentId(
        number=number,
        birth_date=born,
        sex="M" if int(number[16]) % 2 else "F",
        region=number[:6],
    )


def mask_id_number(number: str) -> str:
    """``3701**********1234``: enough to recognise, not enough to use."""
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


_CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check_character(first17: str) -> str:
    total = sum(_CREDIT_CHARSET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARSET[(31 - total % 31) % 31]


def parse_credit_code(text: str) -> str:
    """Validate a unified social credit code (18 characters, GB 32100 check character)."""
    code = (text or "").strip().upper()
    if len(code) != 18:
        raise InvalidIdentity("统一社会信用代码应为18位")
    if any(c not in _CREDIT_CHARSET for c in code):
        raise InvalidIdentity("统一社会信用代码含有不允许的字符（不使用I、O、Z、S、V）")
    if credit_check_character(code[:17]) != code[17]:
        raise InvalidIdentity("统一社会信用代码校验位不正确")
    return code


_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


def parse_phone(text: str) -> str:
    """A mainland mobile number or a landline with area code."""
    phone = re.sub(r"[\s()（）]", "", text or "")
    phone = phone.removeprefix("+86")
    if not (_MOBILE.match(phone) or _LANDLINE.match(phone)):
        raise InvalidIdentity("电话号码格式不正确（手机号11位，或带区号的固定电话）")
    return phone
