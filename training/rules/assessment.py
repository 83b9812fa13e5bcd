"""Final completion assessment (结业考核) rules: when it may be held, scores, pass marks, retakes.

Pure functions over plain values. The service gathers the cohort, the hours verdicts (from
``rules.hours`` through the progress service) and the earlier results, and raises the refusals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from training.rules.levels import ASSESSMENT_FORMS, COHORT_STATUSES

FORMS = tuple(ASSESSMENT_FORMS)
MAX_ATTEMPTS = 2  # the first sitting and one retake (补考)
MIN_SCORE, MAX_SCORE = 0, 100
DEFAULT_PASS_MARK = 60
# A cohort whose training has ended, or is assessed (results and the retake go on).
RECORDING_STATUSES = frozenset({"training_ended", "assessed"})
# Cohorts that ran and whose planned end has passed move to ``training_ended`` on scheduling.
ENDABLE_STATUSES = frozenset({"approved", "in_training"})
# Filed cohorts: the package holds the results, so they are read-only.
FROZEN_STATUSES = frozenset({"filed", "accepted"})

# Which scores a form of assessment produces.
_SCORES = {"written": ("theory_score",), "practical": ("practice_score",), "both": ("theory_score", "practice_score")}
SCORE_LABELS = {"theory_score": "理论成绩", "practice_score": "实操成绩"}


@dataclass(frozen=True, slots=True)
class PassMarks:
    theory: int = DEFAULT_PASS_MARK
    practice: int = DEFAULT_PASS_MARK


@dataclass(frozen=True, slots=True)
class Entry:
    """One trainee's result as entered: scores (None when blank) or absent."""

    enrollment_id: int
    theory_score: int | None = None
    practice_score: int | None = None
    absent: bool = False

    @property
    def blank(self) -> bool:
        return not self.absent and self.theory_score is None and self.practice_score is None


def scores_of(form: str) -> tuple[str, ...]:
    return _SCORES.get(form, _SCORES["both"])


def score_fault(value: object) -> str | None:
    """Why ``value`` is not a score: an integer from 0 to 100 (``None`` is blank, not a fault)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            return "成绩应为0到100之间的整数"
    if not MIN_SCORE <= value <= MAX_SCORE:
        return "成绩应在0到100之间"
    return None


def parse_score(text: str) -> int:
    """A score typed in a grid or a spreadsheet cell: an integer 0–100 (ValueError with the reason)."""
    value = (text or "").strip()
    try:
        number = float(value)
    except ValueError:
        raise ValueError("成绩应为0到100之间的整数") from None
    if number != number or not number.is_integer():
        raise ValueError("成绩应为0到100之间的整数")
    fault = score_fault(int(number))
    if fault:
        raise ValueError(fault)
    return int(number)


def entry_faults(entry: Entry, form: str) -> dict[str, str]:
    """Field faults of one entry (bad input, 422): range, and the scores the form needs."""
    faults: dict[str, str] = {}
    for name in ("theory_score", "practice_score"):
        fault = score_fault(getattr(entry, name))
        if fault:
            faults[name] = fault
    if faults or entry.blank:
        return faults
    wanted = scores_of(form)
    if entry.absent:
        for name in wanted:
            if getattr(entry, name) is not None:
                faults[name] = "缺考的学员不应填写成绩"
        return faults
    for name in ("theory_score", "practice_score"):
        if name in wanted and getattr(entry, name) is None:
            faults[name] = f"请填写{SCORE_LABELS[name]}（或标记缺考）"
        elif name not in wanted and getattr(entry, name) is not None:
            faults[name] = f"本次考核形式为“{ASSESSMENT_FORMS.get(form, form)}”，不设{SCORE_LABELS[name]}"
    return faults


def passed(entry: Entry, form: str, marks: PassMarks) -> bool:
    """Passed when present and every score the form sets reaches its pass mark."""
    if entry.absent or entry.blank:
        return False
    for name in scores_of(form):
        score = getattr(entry, name)
        mark = marks.theory if name == "theory_score" else marks.practice
        if score is None or score < mark:
            return False
    return True


def schedule_refusal(status: str, planned_end: date, today: date) -> str | None:
    """Why the final assessment cannot be scheduled now; ``None`` when it can.

    Training must have ended: the cohort is ``training_ended`` (or already ``assessed``, for the
    retake), or it is running and its planned end date has passed.
    """
    if status in RECORDING_STATUSES:
        return None
    if status in FROZEN_STATUSES:
        return "培训班已备案，考核成绩不能再修改"
    label = COHORT_STATUSES.get(status, status)
    if status in ENDABLE_STATUSES:
        if planned_end < today:
            return None
        return f"培训尚未结束（计划结束日期 {planned_end.isoformat()}），结束后才能安排结业考核"
    return f"培训班状态为“{label}”，不能安排结业考核"


def needs_ending(status: str, planned_end: date, today: date) -> bool:
    """The cohort is still marked running although its planned end has passed."""
    return status in ENDABLE_STATUSES and planned_end < today


def recording_refusal(status: str) -> str | None:
    if status in RECORDING_STATUSES:
        return None
    if status in FROZEN_STATUSES:
        return "培训班已备案，考核成绩为只读，不能修改"
    return f"培训班状态为“{COHORT_STATUSES.get(status, status)}”，不能录入考核成绩"


def date_faults(day: date | None, form: str | None, planned_start: date, previous: date | None) -> dict[str, str]:
    faults: dict[str, str] = {}
    if form not in ASSESSMENT_FORMS:
        faults["form"] = "考核形式应为：笔试、实操考核或笔试+实操"
    if day is None:
        faults["assessment_date"] = "请填写考核日期"
    elif day < planned_start:
        faults["assessment_date"] = "考核日期不能早于培训开始日期"
    elif previous is not None and day <= previous:
        faults["assessment_date"] = f"补考日期应晚于首次考核日期（{previous.isoformat()}）"
    return faults


def next_attempt_refusal(attempts: int, first_has_results: bool, retake_candidates: int) -> str | None:
    """Why another sitting cannot be added after ``attempts`` sittings."""
    if attempts >= MAX_ATTEMPTS:
        return "每名学员只有一次补考机会，不能再安排第三次考核"
    if attempts == 1 and not first_has_results:
        return "请先录入首次考核成绩，再安排补考"
    if attempts == 1 and retake_candidates == 0:
        return "没有需要补考的学员（首次考核未通过或缺考的学员才能补考）"
    return None


def enrollment_outcome(attempt: int, result_passed: bool | None) -> str:
    """Enrollment status after its latest result: completed on a pass, failed after the last
    attempt, otherwise still enrolled (a retake may follow, or no result yet)."""
    if result_passed is None:
        return "enrolled"
    if result_passed:
        return "completed"
    return "failed" if attempt >= MAX_ATTEMPTS else "enrolled"


def retake_candidate(first_result: dict | None) -> bool:
    """A trainee sits the retake when they failed or were absent at the first sitting."""
    return first_result is not None and not first_result.get("passed")
