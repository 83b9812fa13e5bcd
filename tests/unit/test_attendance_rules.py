"""Pure rules of hours, eligibility and sessions: each test tries to break one rule."""

from __future__ import annotations

from datetime import date, time

import pytest

from training.rules import hours as h
from training.rules import sessions as s
from training.rules.identity import InvalidIdentity, parse_resident_id
from training.services import trainees

REQ = h.Requirement(required_hours=100, min_practice_hours=40, max_online_share=0.5)


def test_class_hours_from_minutes_rounds_down_at_45_minutes():
    assert h.class_hours_from_minutes(90) == 2.0
    assert h.class_hours_from_minutes(100) == 2.2
    assert h.class_hours_from_minutes(0) == 0
    assert h.class_hours_from_minutes(-5) == 0
    assert h.class_hours_from_minutes(60, minutes_per_hour=60) == 1.0


def test_credited_hours_above_the_session_are_refused():
    assert "不能超过" in h.credited_hours_fault("present", 4.5, 4.0)
    assert h.credited_hours_fault("present", 4.0, 4.0) is None


def test_credited_hours_must_be_zero_when_absent():
    assert h.credited_hours_fault("absent", 1, 4.0)
    assert h.credited_hours_fault("excused", 0.5, 4.0)
    assert h.credited_hours_fault("absent", 0, 4.0) is None


def test_credited_hours_negative_or_unknown_status_refused():
    assert h.credited_hours_fault("present", -1, 4.0)
    assert h.credited_hours_fault("asleep", 1, 4.0)


def test_eligible_when_total_and_practice_met():
    hours = h.Hours(online_theory=40, offline_theory=20, offline_practice=40)
    verdict = h.eligibility(hours, REQ)
    assert verdict.eligible and verdict.countable_total == 100 and verdict.reasons == []


def test_online_hours_count_only_up_to_the_allowed_share():
    hours = h.Hours(online_theory=80, offline_practice=40)  # 120 credited, only 50 online count
    verdict = h.eligibility(hours, REQ)
    assert not verdict.eligible
    assert verdict.countable_total == 90
    assert "线上学时最多计入 50" in verdict.reasons[0]


def test_practice_below_minimum_is_not_eligible():
    verdict = h.eligibility(h.Hours(offline_theory=90, offline_practice=30), REQ)
    assert not verdict.eligible and "实操学时 30" in verdict.reasons[0]


def test_at_risk_when_remaining_sessions_cannot_close_the_gap():
    credited = h.Hours(offline_theory=20)
    assert h.at_risk(credited, h.Hours(offline_practice=40, offline_theory=30), REQ)
    assert not h.at_risk(credited, h.Hours(offline_practice=40, offline_theory=40), REQ)


def test_online_status_from_hours():
    assert h.online_status(0, 2) == "absent"
    assert h.online_status(1, 2) == "left_early"
    assert h.online_status(2, 2) == "present"


def test_session_outside_the_cohort_dates_is_refused():
    faults = s.session_faults(session_date=date(2026, 12, 1), start=time(9), end=time(12), class_hours=4,
                              mode="offline", kind="theory", cohort_start=date(2026, 11, 1),
                              cohort_end=date(2026, 11, 30), minutes_per_hour=45)
    assert "session_date" in faults


def test_session_end_must_be_after_start():
    faults = s.session_faults(session_date=date(2026, 11, 5), start=time(12), end=time(9), class_hours=1,
                              mode="offline", kind="theory", cohort_start=date(2026, 11, 1),
                              cohort_end=date(2026, 11, 30), minutes_per_hour=45)
    assert "end_time" in faults


def test_session_hours_cannot_exceed_the_duration():
    # 09:00-12:00 is 180 minutes = 4 class hours of 45 minutes
    ok = dict(session_date=date(2026, 11, 5), start=time(9), end=time(12), mode="online", kind="practice",
              cohort_start=date(2026, 11, 1), cohort_end=date(2026, 11, 30), minutes_per_hour=45)
    assert s.session_faults(class_hours=4, **ok) == {}
    assert "class_hours" in s.session_faults(class_hours=4.1, **ok)
    assert "class_hours" in s.session_faults(class_hours=3.1, **{**ok, "minutes_per_hour": 60})


def test_weekly_pattern_expands_to_the_chosen_weekdays():
    days = s.expand_weekly([1, 3], date(2026, 11, 2), date(2026, 11, 15))
    assert days == [date(2026, 11, 2), date(2026, 11, 4), date(2026, 11, 9), date(2026, 11, 11)]
    with pytest.raises(ValueError, match="星期"):
        s.expand_weekly([], date(2026, 11, 2), date(2026, 11, 15))
    with pytest.raises(ValueError, match="结束日期"):
        s.expand_weekly([1], date(2026, 11, 15), date(2026, 11, 2))


@pytest.mark.parametrize(("number", "reason"), [
    ("370102199005170011", "校验位"),
    ("370102199002310014", "出生日期不存在"),
    ("37010219900517001", "18位"),
    ("990102199005170013", "地区代码"),
])
def test_resident_id_rules(number, reason):
    with pytest.raises(InvalidIdentity, match=reason):
        parse_resident_id(number)


def test_trainee_sex_and_birth_date_are_derived_from_the_id():
    person = trainees.validate(trainees.TraineeInput(id_number="370102199005170010", name="张三"))
    assert person.identity.birth_date == date(1990, 5, 17)
    assert person.identity.sex == "M"
