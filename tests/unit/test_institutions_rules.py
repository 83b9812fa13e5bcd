"""Pure rules of the institution catalogue: statuses, levels, periods, e-mail and dates."""

from __future__ import annotations

from datetime import date

import pytest

from training.rules import institutions as rules


def test_revocation_is_final():
    assert rules.status_change_refusal("revoked", "active")
    assert rules.status_change_refusal("revoked", "suspended")


def test_allowed_status_changes():
    assert rules.status_change_refusal("active", "suspended") is None
    assert rules.status_change_refusal("suspended", "active") is None
    assert rules.status_change_refusal("suspended", "revoked") is None
    assert rules.status_change_refusal("active", "active")
    assert rules.status_change_refusal("active", "deleted")


@pytest.mark.parametrize(("text", "expected"), [
    ("初级、中级", ["junior", "intermediate"]),
    ("高级,初级", ["junior", "senior"]),
    ("中级，高级", ["intermediate", "senior"]),
    ("senior", ["senior"]),
])
def test_levels_parse(text, expected):
    assert rules.parse_levels(text) == expected


@pytest.mark.parametrize("text", ["", "特级", "初级、初级"])
def test_bad_levels_are_refused(text):
    with pytest.raises(ValueError):  # noqa: PT011  (the reason is the Chinese message)
        rules.parse_levels(text)


def test_period_from_after_to_is_refused():
    assert rules.period_refusal(date(2027, 1, 1), date(2026, 1, 1))
    assert rules.period_refusal(date(2026, 1, 1), date(2026, 1, 1)) is None


@pytest.mark.parametrize("text", ["2026-03-01", "2026/3/1", "20260301", "2026年3月1日", "2026-03-01T00:00:00"])
def test_dates_as_people_type_them(text):
    assert rules.parse_date(text) == date(2026, 3, 1)


@pytest.mark.parametrize("text", ["2026-02-30", "明天", "03/01/2026"])
def test_bad_dates_are_refused(text):
    with pytest.raises(ValueError):  # noqa: PT011
        rules.parse_date(text)


def test_email_shape():
    assert rules.parse_email(" PX@Example.CN ") == "px@example.cn"
    for bad in ("px@", "px.example.cn", "p x@example.cn", "px@example"):
        with pytest.raises(ValueError):  # noqa: PT011
            rules.parse_email(bad)


def test_current_approval():
    today = date(2026, 6, 1)
    assert rules.approval_current(date(2026, 1, 1), date(2026, 12, 31), False, today)
    assert not rules.approval_current(date(2026, 1, 1), date(2026, 12, 31), True, today)
    assert not rules.approval_current(date(2025, 1, 1), date(2026, 5, 31), False, today)


def test_text_length_limit():
    assert rules.clean_text("  济南   市 ", 10) == "济南 市"
    with pytest.raises(ValueError):  # noqa: PT011
        rules.clean_text("长" * 11, 10)
