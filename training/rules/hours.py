"""Class hours (学时): minutes to hours, credited-hour rules, progress by mode × kind, eligibility.

Pure functions: the services load the numbers, these decide. One class hour is
``Settings.class_hour_minutes`` minutes (45 unless configured).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

ATTENDANCE_STATUSES = ("present", "late", "left_early", "absent", "excused")
# Statuses that credit no hours: the trainee was not there.
NOT_PRESENT = frozenset({"absent", "excused"})
MODES = ("online", "offline")
KINDS = ("theory", "practice")
DEFAULT_MINUTES_PER_HOUR = 45


def class_hours_from_minutes(minutes: float, minutes_per_hour: int = DEFAULT_MINUTES_PER_HOUR) -> float:
    """Whole tenths of a class hour, rounded down: a trainee is never credited time not spent."""
    if minutes <= 0:
        return 0.0
    return math.floor(minutes * 10 / minutes_per_hour + 1e-9) / 10


def credited_hours_fault(status: str, hours: float | None, session_hours: float) -> str | None:
    """Why ``hours`` cannot be credited for ``status`` at a session of ``session_hours``; None if fine."""
    if status not in ATTENDANCE_STATUSES:
        return "考勤状态无效（应为出勤、迟到、早退、缺勤或请假）"
    if hours is None:
        return None
    if hours != hours or hours < 0:
        return "认定学时不能为负数"
    if status in NOT_PRESENT and hours > 0:
        return "缺勤或请假的认定学时必须为0"
    if hours > session_hours + 1e-9:
        return f"认定学时不能超过本课次学时（{session_hours:g}）"
    return None


def default_credited_hours(status: str, session_hours: float) -> float:
    """Hours credited when none are given: the whole session when there, nothing when not."""
    return 0.0 if status in NOT_PRESENT else session_hours


def online_status(hours: float, session_hours: float) -> str:
    """Status derived from time online: the whole session is present, part of it left early."""
    if hours <= 0:
        return "absent"
    return "present" if hours + 1e-9 >= session_hours else "left_early"


@dataclass(frozen=True, slots=True)
class Requirement:
    """The cohort's standard: total hours required, minimum practice, the online share allowed."""

    required_hours: float
    min_practice_hours: float
    max_online_share: float

    @property
    def online_cap(self) -> float:
        return self.required_hours * self.max_online_share


@dataclass(slots=True)
class Hours:
    """Credited (or schedulable) class hours by mode × kind."""

    online_theory: float = 0.0
    online_practice: float = 0.0
    offline_theory: float = 0.0
    offline_practice: float = 0.0

    def add(self, mode: str, kind: str, hours: float) -> None:
        name = f"{mode}_{kind}"
        setattr(self, name, getattr(self, name) + hours)

    def get(self, mode: str, kind: str) -> float:
        return getattr(self, f"{mode}_{kind}")

    def plus(self, other: Hours) -> Hours:
        return Hours(self.online_theory + other.online_theory, self.online_practice + other.online_practice,
                     self.offline_theory + other.offline_theory, self.offline_practice + other.offline_practice)

    @property
    def online(self) -> float:
        return self.online_theory + self.online_practice

    @property
    def offline(self) -> float:
        return self.offline_theory + self.offline_practice

    @property
    def practice(self) -> float:
        return self.online_practice + self.offline_practice

    @property
    def theory(self) -> float:
        return self.online_theory + self.offline_theory

    @property
    def total(self) -> float:
        return self.online + self.offline


def countable_total(hours: Hours, requirement: Requirement) -> float:
    """Total that counts towards the requirement: online hours only up to the allowed share."""
    return hours.offline + min(hours.online, requirement.online_cap)


@dataclass(frozen=True, slots=True)
class Eligibility:
    eligible: bool
    countable_total: float
    online_counted: float
    reasons: list[str] = field(default_factory=list)


def eligibility(hours: Hours, requirement: Requirement) -> Eligibility:
    """Eligible for the final assessment: countable total ≥ required and practice ≥ the minimum.

    Practice hours count whichever the mode; the online cap limits only what counts to the total.
    """
    online_counted = min(hours.online, requirement.online_cap)
    total = hours.offline + online_counted
    reasons: list[str] = []
    if total + 1e-9 < requirement.required_hours:
        reason = f"计入总学时 {total:g}，未达到要求的 {requirement.required_hours:g} 学时"
        if hours.online > requirement.online_cap + 1e-9:
            reason += f"（线上学时最多计入 {requirement.online_cap:g}，超出部分不计）"
        reasons.append(reason)
    if hours.practice + 1e-9 < requirement.min_practice_hours:
        reasons.append(f"实操学时 {hours.practice:g}，未达到最低要求的 {requirement.min_practice_hours:g} 学时")
    return Eligibility(not reasons, total, online_counted, reasons)


def at_risk(credited: Hours, remaining: Hours, requirement: Requirement) -> bool:
    """Cannot reach the requirement even if present, in full, at every remaining session."""
    return not eligibility(credited.plus(remaining), requirement).eligible


def share(part: float, whole: float) -> float:
    """Percentage for a progress bar, 0..100."""
    if whole <= 0:
        return 100.0
    return round(max(0.0, min(100.0, 100 * part / whole)), 1)
