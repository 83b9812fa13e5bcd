"""Annual plan rules (年度培训计划): line validity, the state machine and the 30 April deadline."""

from __future__ import annotations

from datetime import date, datetime

from training.rules.clock import today_in_china
from training.rules.levels import CLASS_TYPES, LEVELS, PLAN_STATUSES, TARGET_GROUPS

# Lines may change only while the city holds the plan.
EDITABLE_STATUSES = frozenset({"draft", "returned"})
SUBMITTABLE_STATUSES = frozenset({"draft", "returned"})
DECIDABLE_STATUSES = frozenset({"submitted"})
MAX_HEADCOUNT = 100_000
FIRST_YEAR = 2020


def due_date(year: int) -> date:
    """Plans are due by 30 April of their own year (China time)."""
    return date(year, 4, 30)


def is_late(year: int, submitted_at: datetime) -> bool:
    """A submission on a China-time day after 30 April of the plan year is late (but accepted)."""
    return today_in_china(submitted_at) > due_date(year)


def year_violations(year: int, today: date) -> dict[str, str]:
    if year < FIRST_YEAR or year > today.year + 1:
        return {"year": f"计划年度应在 {FIRST_YEAR} 至 {today.year + 1} 年之间"}
    return {}


def line_violations(*, level: str, target_group: str, class_type: str, target_headcount: int | None) -> dict[str, str]:
    """Field → message for a plan line's own values (the occupation and institutions need the DB)."""
    faults: dict[str, str] = {}
    if level not in LEVELS:
        faults["level"] = "等级应为初级、中级或高级"
    if target_group not in TARGET_GROUPS:
        faults["target_group"] = "培训对象应为先进制造业企业、数字化转型企业、高校毕业生或其他"
    if class_type not in CLASS_TYPES:
        faults["class_type"] = "班型应为普通班、订单班、订制班或定向班"
    if target_headcount is None or target_headcount <= 0:
        faults["target_headcount"] = "计划人数须为正整数"
    elif target_headcount > MAX_HEADCOUNT:
        faults["target_headcount"] = f"计划人数不能超过 {MAX_HEADCOUNT}"
    return faults


def lines_editable(status: str) -> bool:
    return status in EDITABLE_STATUSES


def edit_refusal(status: str) -> str:
    return f"计划状态为“{status_label(status)}”，只有草稿或已退回的计划可以修改"


def status_label(status: str) -> str:
    return PLAN_STATUSES.get(status, status)


def return_violations(comment: str) -> dict[str, str]:
    if not (comment or "").strip():
        return {"comment": "退回计划时必须填写省厅意见"}
    return {}
