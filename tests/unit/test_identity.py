"""Resident ID (GB 11643), unified social credit code (GB 32100), phone numbers and masking."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import credit_code, id_number
from training.rules.identity import (
    InvalidIdentity,
    credit_check_character,
    id_check_character,
    mask_id_number,
    parse_credit_code,
    parse_phone,
    parse_resident_id,
)

# Published examples: a GB 11643 sample and a real unified social credit code format sample.
KNOWN_ID = "11010519491231002X"
KNOWN_CREDIT = "91350100M000100Y43"


def test_known_resident_id_is_valid_and_derives_birth_and_sex():
    parsed = parse_resident_id(KNOWN_ID)
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "F"


def test_known_credit_code_is_valid():
    assert parse_credit_code(KNOWN_CREDIT) == KNOWN_CREDIT


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("11010519491231002", "18位"),  # 17 digits
        ("110105194912310021", "校验位"),  # wrong check digit
        ("11010519490231002X", "出生日期"),  # 31 February does not exist (day 31, month 02)
        ("A10105194912310020", "数字"),
        ("99010519491231002X", "地区"),
    ],
)
def test_resident_id_rule_refuses(number, reason):
    with pytest.raises(InvalidIdentity, match=reason):
        parse_resident_id(number)


def test_resident_id_birth_date_in_the_future_is_refused():
    body = "37010220300101001"
    with pytest.raises(InvalidIdentity, match="出生日期"):
        parse_resident_id(body + id_check_character(body), today=date(2026, 11, 24))


def test_february_31_is_refused_even_with_a_correct_check_digit():
    body = "37010219900231001"
    with pytest.raises(InvalidIdentity, match="出生日期"):
        parse_resident_id(body + id_check_character(body))


@given(st.dates(min_value=date(1930, 1, 1), max_value=date(2010, 12, 31)), st.integers(0, 999))
def test_every_generated_resident_id_round_trips(born, seq):
    body = f"370102{born:%Y%m%d}{seq:03d}"
    number = body + id_check_character(body)
    parsed = parse_resident_id(number)
    assert parsed.birth_date == born
    assert parsed.sex == ("M" if seq % 2 else "F")


@given(st.integers(0, 999))
def test_a_changed_check_character_is_always_caught(seq):
    body = f"37010219900101{seq:03d}"
    good = body + id_check_character(body)
    for wrong in "0123456789X":
        if wrong != good[-1]:
            with pytest.raises(InvalidIdentity):
                parse_resident_id(body + wrong)


@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=17, max_size=17))
def test_credit_code_check_character_round_trips_and_single_changes_are_caught(body):
    code = body + credit_check_character(body)
    assert parse_credit_code(code) == code
    wrong = "0" if code[-1] != "0" else "1"
    with pytest.raises(InvalidIdentity):
        parse_credit_code(code[:-1] + wrong)


@pytest.mark.parametrize("code", ["91350100M000100Y4", "91350100M000100Y44", "91350100I000100Y43", ""])
def test_credit_code_rule_refuses(code):
    with pytest.raises(InvalidIdentity):
        parse_credit_code(code)


def test_factories_make_valid_numbers():
    assert parse_resident_id(id_number()).number
    assert parse_credit_code(credit_code())


@pytest.mark.parametrize("phone", ["13812345678", "0531-86912345", "+86 138 1234 5678", "053186912345"])
def test_phone_accepts_mobile_and_landline(phone):
    assert parse_phone(phone)


@pytest.mark.parametrize("phone", ["12345", "23812345678", "phone", "1381234567"])
def test_phone_rule_refuses(phone):
    with pytest.raises(InvalidIdentity):
        parse_phone(phone)


def test_mask_shows_only_the_ends():
    assert mask_id_number("370102199001011234") == "3701**********1234"
    assert mask_id_number("123") == "***"
