"""The filing rules: the 30-day due date, the reminder keys the deadline sweep dedupes on."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.rules.filing import (
    FILING_DAYS,
    PROVINCE_DEPARTMENT,
    city_bureau,
    days_left,
    due_date,
    reminder_due,
)

DUE = date(2026, 12, 14)


@pytest.mark.parametrize(("ended", "due"), [
    (date(2026, 11, 14), date(2026, 12, 14)),
    (date(2026, 1, 31), date(2026, 3, 2)),     # across a short February
    (date(2026, 12, 15), date(2027, 1, 14)),   # across the year end
    (date(2028, 1, 30), date(2028, 2, 29)),    # lands on a leap day
    (date(2028, 2, 29), date(2028, 3, 30)),    # starts on a leap day
    (date(2027, 1, 30), date(2027, 3, 1)),     # no leap day in 2027
])
def test_due_date_is_thirty_calendar_days_after_training_ended(ended, due):
    assert due_date(ended) == due
    assert (due_date(ended) - ended).days == FILING_DAYS == 30


def test_days_left_counts_down_through_zero():
    assert days_left(DUE, DUE - timedelta(days=3)) == 3
    assert days_left(DUE, DUE) == 0
    assert days_left(DUE, DUE + timedelta(days=2)) == -2


def test_addressees():
    assert city_bureau("济南市") == "济南市人力资源和社会保障局"
    assert PROVINCE_DEPARTMENT == "山东省人力资源和社会保障厅"


@pytest.mark.parametrize(("offset", "key"), [
    (-7, "due_in_7"), (-3, "due_in_3"), (-1, "due_in_1"), (0, "due_today"),
    (1, "overdue_w0"), (8, "overdue_w1"), (15, "overdue_w2"), (50, "overdue_w7"),
])
def test_reminder_due_exactly_on_its_day(offset, key):
    assert reminder_due(DUE, DUE + timedelta(days=offset)) == key


@pytest.mark.parametrize("offset", [-40, -30, -8, -6, -5, -4, -2, 2, 3, 6, 7, 9, 14, 16, 49])
def test_no_reminder_on_other_days(offset):
    assert reminder_due(DUE, DUE + timedelta(days=offset)) is None


def test_overdue_repeats_every_seven_days_after_the_day_after_due():
    overdue_days = [n for n in range(1, 61) if reminder_due(DUE, DUE + timedelta(days=n))]
    assert overdue_days == [1, 8, 15, 22, 29, 36, 43, 50, 57]


@given(due=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_a_walk_of_consecutive_days_sends_each_reminder_exactly_once(due):
    keys = [reminder_due(due, due + timedelta(days=n)) for n in range(-40, 61)]
    sent = [k for k in keys if k is not None]
    assert len(sent) == len(set(sent))  # never twice: the key is the notification's dedupe key
    assert set(sent) == {"due_in_7", "due_in_3", "due_in_1", "due_today"} | {f"overdue_w{w}" for w in range(9)}


@given(due=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
       offset=st.integers(min_value=-400, max_value=400))
def test_reminder_key_names_its_own_day(due, offset):
    """Any key maps back to exactly one day relative to the due date."""
    key = reminder_due(due, due + timedelta(days=offset))
    if key is None:
        return
    if key == "due_today":
        assert offset == 0
    elif key.startswith("due_in_"):
        assert offset == -int(key.removeprefix("due_in_"))
    else:
        assert offset == 1 + 7 * int(key.removeprefix("overdue_w"))
