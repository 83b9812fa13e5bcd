"""Cohort opening rules (开班条件): each refusal names the rule it enforces, field by field.

Pure functions over plain values; the service gathers the facts (institution status, approvals,
catalogue entries) from the database and raises ``Invalid``/``Conflict`` with the violations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from training.rules.identity import InvalidIdentity, parse_credit_code
from training.rules.levels import CLASS_TYPES, COHORT_STATUSES, INSTITUTION_STATUSES, LEVELS, PARTNER_CLASS_TYPES

# The kinds of violation: ``invalid`` is bad input (422); ``conflict`` is a rule of the
# programme the current facts break (409).
INVALID = "invalid"
CONFLICT = "conflict"

EDITABLE_STATUSES = frozenset({"draft", "rejected"})
SUBMITTABLE_STATUSES = frozenset({"draft", "rejected"})
DECIDABLE_STATUSES = frozenset({"submitted"})
# Approved and every status after it: the cohort runs (counted in plan versus actual).
RUNNING_STATUSES = ("approved", "in_training", "training_ended", "assessed", "filed", "accepted")
CANCELLABLE_STATUSES = frozenset({"draft", "submitted", "approved", "rejected"})
MAX_CAPACITY = 10_000


@dataclass(frozen=True, slots=True)
class Violation:
    field: str
    message: str
    rule: str
    kind: str = INVALID


@dataclass(frozen=True, slots=True)
class ApprovalSpan:
    """One approval (not withdrawn) of the institution for the cohort's occupation."""

    level: str
    valid_from: date
    valid_to: date


def as_fields(violations: Iterable[Violation]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for v in violations:
        fields.setdefault(v.field, v.message)
    return fields


def is_bad_input(violations: Sequence[Violation]) -> bool:
    return any(v.kind == INVALID for v in violations)


def institution_violations(status: str) -> list[Violation]:
    if status != "active":
        label = INSTITUTION_STATUSES.get(status, status)
        return [Violation("institution", f"机构状态为“{label}”：只有正常状态的机构可以开班",
                          "institution_active", CONFLICT)]
    return []


def approval_violations(approvals: Sequence[ApprovalSpan], level: str, start: date | None,
                        end: date | None) -> list[Violation]:
    """Within its approvals: the occupation at all, then the level, then the dates."""
    if not approvals:
        return [Violation("occupation", "该职业不在本机构的核准培训专业范围内，不能开班", "approved_occupation", CONFLICT)]
    at_level = [a for a in approvals if a.level == level]
    if not at_level:
        label = LEVELS.get(level, level)
        return [Violation("level", f"本机构未获准培训该职业的{label}等级，不能开班", "approved_level", CONFLICT)]
    if start is None or end is None:
        return []
    if any(a.valid_from <= start and end <= a.valid_to for a in at_level):
        return []
    spans = "、".join(f"{a.valid_from.isoformat()}至{a.valid_to.isoformat()}" for a in at_level)
    covers_start = any(a.valid_from <= start <= a.valid_to for a in at_level)
    field = "planned_end" if covers_start else "planned_start"
    return [Violation(field, f"核准有效期（{spans}）未覆盖计划培训日期，不能开班", "approval_covers_dates", CONFLICT)]


def catalogue_violations(in_catalogue: bool, city_name: str = "本市") -> list[Violation]:
    if not in_catalogue:
        return [Violation("catalogue", f"本机构未列入{city_name}该职业的培训目录，不能在该市开班",
                          "in_city_catalogue", CONFLICT)]
    return []


def partner_violations(class_type: str, partner_name: str, partner_credit_code: str) -> list[Violation]:
    if class_type not in CLASS_TYPES:
        return [Violation("class_type", "班型应为普通班、订单班、订制班或定向班", "class_type_known")]
    if class_type not in PARTNER_CLASS_TYPES:
        return []
    label = CLASS_TYPES[class_type]
    faults: list[Violation] = []
    if not (partner_name or "").strip():
        faults.append(Violation("partner_name", f"{label}必须填写合作企业名称", "partner_required"))
    if not (partner_credit_code or "").strip():
        faults.append(Violation("partner_credit_code", f"{label}必须填写合作企业的统一社会信用代码",
                                "partner_credit_code_required"))
    else:
        try:
            parse_credit_code(partner_credit_code)
        except InvalidIdentity as exc:
            faults.append(Violation("partner_credit_code", f"合作企业{exc.reason}", "partner_credit_code_valid"))
    return faults


def date_violations(start: date | None, end: date | None, today: date) -> list[Violation]:
    faults: list[Violation] = []
    if start is None:
        faults.append(Violation("planned_start", "请填写计划开始日期", "dates_present"))
    if end is None:
        faults.append(Violation("planned_end", "请填写计划结束日期", "dates_present"))
    if start is None or end is None:
        return faults
    if start < today:
        faults.append(Violation("planned_start", f"计划开始日期不能早于今天（{today.isoformat()}）", "start_not_past"))
    if end < start:
        faults.append(Violation("planned_end", "计划结束日期不能早于开始日期", "dates_ordered"))
    return faults


def capacity_violations(capacity: int | None) -> list[Violation]:
    if capacity is None or capacity <= 0:
        return [Violation("capacity", "招生人数（容量）必须为正整数", "capacity_positive")]
    if capacity > MAX_CAPACITY:
        return [Violation("capacity", f"招生人数不能超过 {MAX_CAPACITY}", "capacity_bounded")]
    return []


def name_violations(name: str) -> list[Violation]:
    if len((name or "").strip()) > 128:
        return [Violation("name", "培训班名称不超过128个字", "name_length")]
    return []


def opening_violations(
    *,
    institution_status: str,
    approvals: Sequence[ApprovalSpan],
    level: str,
    in_catalogue: bool,
    class_type: str,
    partner_name: str,
    partner_credit_code: str,
    planned_start: date | None,
    planned_end: date | None,
    capacity: int | None,
    today: date,
    name: str = "",
    city_name: str = "本市",
) -> list[Violation]:
    """Every rule a cohort must meet to be opened (and again to be submitted)."""
    return [
        *institution_violations(institution_status),
        *approval_violations(approvals, level, planned_start, planned_end),
        *catalogue_violations(in_catalogue, city_name),
        *partner_violations(class_type, partner_name, partner_credit_code),
        *date_violations(planned_start, planned_end, today),
        *capacity_violations(capacity),
        *name_violations(name),
    ]


def summary(violations: Sequence[Violation]) -> str:
    return "不能开班：" + "；".join(v.message for v in violations)


def cohort_code(year: int, city_code: str, sequence: int) -> str:
    """``C2026-370100-001``: year, city, sequence within both."""
    return f"C{year}-{city_code}-{sequence:03d}"


def code_prefix(year: int, city_code: str) -> str:
    return f"C{year}-{city_code}-"


def next_sequence(existing_codes: Iterable[str], prefix: str) -> int:
    highest = 0
    for code in existing_codes:
        tail = code.removeprefix(prefix)
        if code.startswith(prefix) and tail.isdigit():
            highest = max(highest, int(tail))
    return highest + 1


def default_name(occupation_name: str, level: str, class_type: str) -> str:
    return f"{occupation_name}（{LEVELS.get(level, level)}）{CLASS_TYPES.get(class_type, '')}"


def status_label(status: str) -> str:
    return COHORT_STATUSES.get(status, status)


def cancel_refusal(status: str, planned_start: date, today: date) -> str | None:
    """Cancelling is for cohorts that have not started training."""
    if status not in CANCELLABLE_STATUSES:
        return f"培训班状态为“{status_label(status)}”，已开始培训的培训班不能取消"
    if status == "approved" and planned_start <= today:
        return "培训班已到计划开始日期，不能取消"
    return None


def decision_violations(reason: str) -> dict[str, str]:
    if not (reason or "").strip():
        return {"reason": "不批准开班时必须填写理由"}
    return {}
