"""The filing (备案): its deadline, its reminders and the shape of the package it sends.

Pure: the filing service loads a ``FilingPackage`` from the database, the documents module turns
it into Word and xlsx, and the scheduler's deadline sweep asks :func:`reminder_due` what, if
anything, is owed for a filing today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from training.rules.hours import Hours

FILING_DAYS = 30
# Days before the due date on which the institution is reminded, and the due day itself (0).
REMINDER_DAYS = (7, 3, 1, 0)
# Once overdue, the institution, its city and the province are told, then again every week.
OVERDUE_REPEAT_DAYS = 7

FILING_STATUSES = {"draft": "未提交", "submitted": "待备案", "acknowledged": "备案完成", "returned": "已退回"}
RECEIPT_STATUSES = {"pending": "待处理", "acknowledged": "备案完成", "returned": "已退回"}
NARRATIVE_SECTIONS = {
    "organisation": "组织实施情况",
    "teaching": "教学安排情况",
    "practice": "实践（实训）安排情况",
    "outcomes": "培训成效",
    "problems": "存在问题及改进措施",
}
NARRATIVE_MAX_CHARS = 5000
PROVINCE_DEPARTMENT = "山东省人力资源和社会保障厅"


def city_bureau(city_name: str) -> str:
    """The city's addressee as written on the report: 济南市 → 济南市人力资源和社会保障局."""
    return f"{city_name}人力资源和社会保障局"


def due_date(training_ended_on: date) -> date:
    """Due 30 days after the day training ended, which is the (first) assessment date."""
    return training_ended_on + timedelta(days=FILING_DAYS)


def days_left(due: date, today: date) -> int:
    """Positive before the due date, 0 on it, negative when overdue."""
    return (due - today).days


def reminder_due(due: date, today: date) -> str | None:
    """The reminder owed for an unsubmitted filing on ``today``, as a stable key, or ``None``.

    ``due_in_7`` / ``due_in_3`` / ``due_in_1`` / ``due_today`` on those days; ``overdue_w0`` the day
    after the due date, then ``overdue_w1``, ``overdue_w2``… every seven days. The key goes into
    the notification's dedupe key, so a second sweep the same day (or a catch-up run) sends nothing.
    """
    left = days_left(due, today)
    if left in REMINDER_DAYS:
        return "due_today" if left == 0 else f"due_in_{left}"
    if left < 0:
        overdue = -left - 1
        if overdue % OVERDUE_REPEAT_DAYS == 0:
            return f"overdue_w{overdue // OVERDUE_REPEAT_DAYS}"
    return None


@dataclass(slots=True)
class TraineeLine:
    """One enrollment in the trainee list: the whole ID number is shown here (and audited)."""

    seq: int
    name: str
    id_number: str
    sex: str
    phone: str
    education: str
    employer: str
    enrollment_status: str  # label, e.g. 已结业
    hours: Hours
    counted_hours: float  # total after the online cap
    theory_score: int | None
    practice_score: int | None
    result: str  # label: 合格 / 不合格 / 缺考 / 未参加考核
    certificate_number: str


@dataclass(slots=True)
class HoursRow:
    """Planned (scheduled) against delivered (held) class hours for one mode × kind."""

    mode: str  # online / offline
    kind: str  # theory / practice
    planned: float
    delivered: float


@dataclass(slots=True)
class Counts:
    enrolled: int = 0
    withdrawn: int = 0
    eligible: int = 0
    assessed: int = 0
    passed: int = 0
    certified: int = 0


@dataclass(slots=True)
class Teacher:
    name: str
    sessions: int
    hours: float


@dataclass(slots=True)
class FilingPackage:
    """Everything the Word report and the xlsx trainee list show, already loaded and computed."""

    cohort_id: int
    version_number: int
    title: str
    addressees: list[str]  # [province department, city bureau]
    institution_name: str
    institution_credit_code: str
    city_name: str
    # (label, value) pairs in display order: cohort code and name, occupation, level, class type,
    # partner, dates, capacity, plan and plan line, standard, assessment dates…
    facts: list[tuple[str, str]]
    hours: list[HoursRow]
    counts: Counts
    teachers: list[Teacher]
    narrative: dict[str, str]  # NARRATIVE_SECTIONS keys → text
    trainees: list[TraineeLine]
    due_date: date
    generated_on: date
    requirement_note: str = ""  # e.g. "总学时≥64，实践≥24，线上≤50%（示例值）"
    extra: dict[str, str] = field(default_factory=dict)
