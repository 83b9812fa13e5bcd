"""Cohort opening rules and plan rules, each tried with a case that breaks it (no DB, no HTTP)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.factories import credit_code
from training.rules import cohorts as rules
from training.rules import plans as plan_rules

TODAY = date(2026, 6, 1)
SPAN = [rules.ApprovalSpan("junior", date(2026, 1, 1), date(2026, 12, 31))]


def _valid(**overrides):
    values = dict(institution_status="active", approvals=SPAN, level="junior", in_catalogue=True,
                  class_type="regular", partner_name="", partner_credit_code="", planned_start=date(2026, 7, 1),
                  planned_end=date(2026, 8, 1), capacity=30, today=TODAY)
    values.update(overrides)
    return rules.opening_violations(**values)


def _fields(violations):
    return {v.field: v.rule for v in violations}


def test_a_valid_opening_has_no_violations():
    assert _valid() == []


def test_rule_institution_active():
    violations = _valid(institution_status="suspended")
    assert _fields(violations) == {"institution": "institution_active"}
    assert "暂停" in violations[0].message and violations[0].kind == rules.CONFLICT


def test_rule_approved_occupation():
    assert _fields(_valid(approvals=[])) == {"occupation": "approved_occupation"}


def test_rule_approved_level():
    violations = _valid(level="senior")
    assert _fields(violations) == {"level": "approved_level"}
    assert "高级" in violations[0].message


def test_rule_approval_covers_dates_end_outside():
    violations = _valid(planned_end=date(2027, 1, 15))
    assert _fields(violations) == {"planned_end": "approval_covers_dates"}
    assert "2026-12-31" in violations[0].message


def test_rule_approval_covers_dates_start_outside():
    spans = [rules.ApprovalSpan("junior", date(2026, 8, 1), date(2026, 12, 31))]
    assert _fields(_valid(approvals=spans)) == {"planned_start": "approval_covers_dates"}


def test_rule_approval_covers_dates_any_of_several():
    spans = [rules.ApprovalSpan("junior", date(2025, 1, 1), date(2026, 7, 15)),
             rules.ApprovalSpan("junior", date(2026, 6, 1), date(2027, 6, 1))]
    assert _valid(approvals=spans) == []


def test_rule_in_city_catalogue():
    violations = _valid(in_catalogue=False, city_name="济南市")
    assert _fields(violations) == {"catalogue": "in_city_catalogue"}
    assert "济南市" in violations[0].message


def test_rule_partner_required_for_order_custom_directed():
    for class_type in ("order", "custom", "directed"):
        assert _fields(_valid(class_type=class_type)) == {
            "partner_name": "partner_required", "partner_credit_code": "partner_credit_code_required"}


def test_rule_partner_credit_code_valid():
    good = credit_code()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    violations = _valid(class_type="order", partner_name="某某制造有限公司", partner_credit_code=bad)
    assert _fields(violations) == {"partner_credit_code": "partner_credit_code_valid"}
    assert "校验位" in violations[0].message


def test_rule_partner_accepted_when_valid():
    assert _valid(class_type="directed", partner_name="某某制造有限公司", partner_credit_code=credit_code()) == []


def test_rule_class_type_known():
    assert _fields(_valid(class_type="vip")) == {"class_type": "class_type_known"}


def test_rule_dates_ordered():
    violations = _valid(planned_start=date(2026, 8, 1), planned_end=date(2026, 7, 1))
    assert "dates_ordered" in [v.rule for v in violations]


def test_rule_start_not_past():
    violations = _valid(planned_start=date(2026, 5, 31))
    assert _fields(violations) == {"planned_start": "start_not_past"}


def test_rule_start_today_is_allowed():
    assert _valid(planned_start=TODAY) == []


def test_rule_capacity_positive():
    assert _fields(_valid(capacity=0)) == {"capacity": "capacity_positive"}
    assert _fields(_valid(capacity=-5)) == {"capacity": "capacity_positive"}
    assert _fields(_valid(capacity=None)) == {"capacity": "capacity_positive"}


def test_violations_split_bad_input_from_conflicts():
    assert rules.is_bad_input(_valid(capacity=0))
    assert not rules.is_bad_input(_valid(in_catalogue=False))


def test_every_violation_is_reported_at_once():
    violations = _valid(institution_status="revoked", in_catalogue=False, capacity=0)
    assert {"institution", "catalogue", "capacity"} <= set(rules.as_fields(violations))


def test_cohort_code_sequence():
    prefix = rules.code_prefix(2026, "370100")
    assert rules.cohort_code(2026, "370100", 1) == "C2026-370100-001"
    assert rules.next_sequence(["C2026-370100-001", "C2026-370100-007", "C2026-370200-009"], prefix) == 8
    assert rules.next_sequence([], prefix) == 1


def test_rule_cancel_before_training_starts():
    assert rules.cancel_refusal("submitted", date(2026, 7, 1), TODAY) is None
    assert rules.cancel_refusal("approved", date(2026, 7, 1), TODAY) is None
    assert rules.cancel_refusal("approved", TODAY, TODAY) is not None
    assert rules.cancel_refusal("in_training", date(2026, 7, 1), TODAY) is not None


def test_rule_reject_needs_reason():
    assert rules.decision_violations("  ") == {"reason": "不批准开班时必须填写理由"}
    assert rules.decision_violations("学员来源不明") == {}


# --- plan rules ---------------------------------------------------------------------------------

def test_rule_plan_late_after_30_april_china_time():
    # 2026-04-30 16:30 UTC is already 1 May in China.
    assert plan_rules.is_late(2026, datetime(2026, 4, 30, 16, 30, tzinfo=UTC))
    assert not plan_rules.is_late(2026, datetime(2026, 4, 30, 15, 59, tzinfo=UTC))
    assert not plan_rules.is_late(2027, datetime(2026, 11, 1, tzinfo=UTC))


def test_rule_plan_line_values():
    faults = plan_rules.line_violations(level="expert", target_group="vip", class_type="x", target_headcount=0)
    assert set(faults) == {"level", "target_group", "class_type", "target_headcount"}
    assert plan_rules.line_violations(level="senior", target_group="graduates", class_type="order",
                                      target_headcount=20) == {}


def test_rule_plan_lines_editable_only_in_draft_or_returned():
    assert plan_rules.lines_editable("draft") and plan_rules.lines_editable("returned")
    assert not plan_rules.lines_editable("submitted") and not plan_rules.lines_editable("accepted")


def test_rule_plan_return_needs_comment():
    assert plan_rules.return_violations("") == {"comment": "退回计划时必须填写省厅意见"}


def test_rule_plan_year_range():
    assert "year" in plan_rules.year_violations(2019, TODAY)
    assert "year" in plan_rules.year_violations(2028, TODAY)
    assert plan_rules.year_violations(2027, TODAY) == {}
