"""Property-based tests (hypothesis) for the validators and rules that everything else trusts: resident ID
numbers (GB 11643), unified social credit codes (GB 32100), class-hour rules, certificate numbering."""

from __future__ import annotations

import string
from datetime import date

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from training.rules import certificates as cert_rules
from training.rules import hours as hour_rules
from training.rules.identity import (
    InvalidIdentity,
    credit_check_character,
    id_check_character,
    mask_id_number,
    parse_credit_code,
    parse_resident_id,
)

# Deterministic for CI, and local to this module (no global profile is loaded).
PROPERTY = settings(deadline=None, derandomize=True, max_examples=300, suppress_health_check=[HealthCheck.too_slow])

PROVINCES = ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
             "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"]
TODAY = date(2026, 11, 24)
CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@st.composite
def id_bodies(draw) -> tuple[str, date]:
    """17 characters of a plausible resident ID: province, region, birth date, sequence."""
    region = draw(st.sampled_from(PROVINCES)) + draw(st.text(string.digits, min_size=4, max_size=4))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    sequence = draw(st.text(string.digits, min_size=3, max_size=3))
    return f"{region}{born:%Y%m%d}{sequence}", born


@PROPERTY
@given(id_bodies())
def test_any_body_with_its_computed_check_character_is_valid(body_and_birth):
    body, born = body_and_birth
    number = body + id_check_character(body)
    parsed = parse_resident_id(number, today=TODAY)
    assert parsed.number == number and parsed.birth_date == born and parsed.region == body[:6]
    assert parsed.sex == ("M" if int(body[16]) % 2 else "F")
    assert parse_resident_id(number.lower(), today=TODAY).number == number  # a typed lower-case x
    masked = mask_id_number(number)
    assert masked[:4] == number[:4] and masked[-4:] == number[-4:] and masked.count("*") == 10


@PROPERTY
@given(id_bodies(), st.integers(0, 17), st.sampled_from(string.digits + "X"))
def test_any_single_character_change_is_rejected(body_and_birth, position, replacement):
    body, _ = body_and_birth
    number = body + id_check_character(body)
    assume(number[position] != replacement)
    changed = number[:position] + replacement + number[position + 1:]
    with pytest.raises(InvalidIdentity):
        parse_resident_id(changed, today=TODAY)


@PROPERTY
@given(st.text(max_size=30))
def test_arbitrary_text_is_either_a_valid_id_or_refused_cleanly(text):
    try:
        parsed = parse_resident_id(text, today=TODAY)
    except InvalidIdentity as exc:
        reason = exc.reason
        assert reason.startswith("身份证号码")
        return
    assert id_check_character(parsed.number[:17]) == parsed.number[17]


credit_bodies = st.text(CREDIT_CHARSET, min_size=17, max_size=17)


@PROPERTY
@given(credit_bodies)
def test_any_credit_code_body_with_its_check_character_is_valid(body):
    code = body + credit_check_character(body)
    assert parse_credit_code(code) == code
    assert parse_credit_code(f"  {code.lower()} ") == code


@PROPERTY
@given(credit_bodies, st.integers(0, 17), st.sampled_from(CREDIT_CHARSET))
def test_any_single_credit_code_character_change_is_rejected(body, position, replacement):
    code = body + credit_check_character(body)
    assume(code[position] != replacement)
    with pytest.raises(InvalidIdentity):
        parse_credit_code(code[:position] + replacement + code[position + 1:])


@PROPERTY
@given(credit_bodies, st.integers(0, 16), st.sampled_from("IOZSV"))
def test_letters_outside_the_charset_are_rejected(body, position, letter):
    code = body + credit_check_character(body)
    with pytest.raises(InvalidIdentity):
        parse_credit_code(code[:position] + letter + code[position + 1:])


# --- class hours -------------------------------------------------------------------------------------

minutes = st.floats(min_value=-600, max_value=24 * 60, allow_nan=False)
per_hour = st.sampled_from([40, 45, 50, 60])


@PROPERTY
@given(minutes, minutes, per_hour)
def test_class_hours_are_monotone_and_never_more_than_the_time_spent(a, b, mph):
    low, high = sorted((a, b))
    hours_low = hour_rules.class_hours_from_minutes(low, mph)
    hours_high = hour_rules.class_hours_from_minutes(high, mph)
    assert 0 <= hours_low <= hours_high
    assert hours_high * mph <= max(high, 0) + 1e-6  # never credits time not spent
    assert round(hours_high * 10) == pytest.approx(hours_high * 10)  # whole tenths
    if high > 0:
        assert (hours_high + 0.1) * mph > high - 1e-6  # and rounds down by less than a tenth


@PROPERTY
@given(st.floats(max_value=0, allow_nan=False), per_hour)
def test_no_time_is_no_hours(value, mph):
    assert hour_rules.class_hours_from_minutes(value, mph) == 0


hours_values = st.floats(min_value=-5, max_value=20, allow_nan=False)
session_hours = st.floats(min_value=0, max_value=12, allow_nan=False)


@PROPERTY
@given(st.sampled_from(hour_rules.ATTENDANCE_STATUSES), hours_values, session_hours)
def test_credited_hours_never_exceed_the_session_and_absence_credits_nothing(status, hours, session):
    fault = hour_rules.credited_hours_fault(status, hours, session)
    if fault is None:
        assert 0 <= hours <= session + 1e-9
        if status in hour_rules.NOT_PRESENT:
            assert hours == 0
    else:
        assert hours < 0 or hours > session + 1e-9 or (status in hour_rules.NOT_PRESENT and hours > 0)


@PROPERTY
@given(st.sampled_from(hour_rules.ATTENDANCE_STATUSES), session_hours)
def test_default_credit_is_the_session_when_there_and_nothing_when_absent(status, session):
    credited = hour_rules.default_credited_hours(status, session)
    assert hour_rules.credited_hours_fault(status, credited, session) is None
    assert credited == (0 if status in hour_rules.NOT_PRESENT else session)


@PROPERTY
@given(st.text(max_size=12), hours_values, session_hours)
def test_unknown_statuses_are_refused(status, hours, session):
    assume(status not in hour_rules.ATTENDANCE_STATUSES)
    assert hour_rules.credited_hours_fault(status, hours, session)


# --- certificate numbering ---------------------------------------------------------------------------

years = st.integers(2000, 2100)
cities = st.text(string.digits, min_size=6, max_size=6)
sequence_numbers = st.integers(1, 2_000_000)


@PROPERTY
@given(years, cities, sequence_numbers)
def test_parse_of_format_is_identity(year, city, sequence):
    number = cert_rules.certificate_number(year, city, sequence)
    assert cert_rules.parse_number(number) == (year, city, sequence)
    assert cert_rules.parse_number(number.lower()) == (year, city, sequence)


@PROPERTY
@given(st.sets(st.tuples(years, cities, sequence_numbers), min_size=2, max_size=50))
def test_numbers_are_unique_across_years_cities_and_sequences(triples):
    numbers = {cert_rules.certificate_number(*t) for t in triples}
    assert len(numbers) == len(triples)


@PROPERTY
@given(st.lists(st.integers(1, 40), min_size=1, max_size=30))
def test_batches_from_the_counter_number_sequentially_without_gaps(batches):
    """Each issue reserves ``count`` from the (year, city) counter; the numbers run 1, 2, 3, … in order."""
    counter, issued = 0, []
    for count in batches:
        counter += count
        issued.extend(cert_rules.sequences(counter, count))
    assert issued == list(range(1, sum(batches) + 1))
    numbers = [cert_rules.certificate_number(2026, "370100", s) for s in issued]
    assert numbers == sorted(numbers) or max(issued) >= 100_000  # fixed width keeps text order
    assert len(set(numbers)) == len(numbers)


@PROPERTY
@given(st.text(max_size=40))
def test_parse_number_never_raises(text):
    parsed = cert_rules.parse_number(text)
    if parsed is not None and parsed[2] >= 1:
        assert cert_rules.parse_number(cert_rules.certificate_number(*parsed)) == parsed


def test_sequence_starts_at_one():
    with pytest.raises(ValueError, match="sequence starts at 1"):
        cert_rules.certificate_number(2026, "370100", 0)
