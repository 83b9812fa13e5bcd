"""Sessions (课次): the rules a scheduled session obeys, and the expansion of a weekly pattern."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

WEEKDAYS = {1: "周一", 2: "周二", 3: "周三", 4: "周四", 5: "周五", 6: "周六", 7: "周日"}
MAX_SESSIONS_PER_PATTERN = 400


def duration_minutes(start: time, end: time) -> int:
    return int((datetime.combine(date.min, end) - datetime.combine(date.min, start)).total_seconds() // 60)


def max_class_hours(start: time, end: time, minutes_per_hour: int) -> float:
    """The most class hours a session of this duration can carry, in tenths, rounded down."""
    minutes = max(0, duration_minutes(start, end))
    return int(minutes * 10 // minutes_per_hour) / 10


def session_faults(
    *,
    session_date: date,
    start: time,
    end: time,
    class_hours: float,
    mode: str,
    kind: str,
    cohort_start: date,
    cohort_end: date,
    minutes_per_hour: int,
) -> dict[str, str]:
    """Every broken rule of one session, as {field: Chinese reason}; empty when it may be scheduled."""
    faults: dict[str, str] = {}
    if mode not in {"online", "offline"}:
        faults["mode"] = "授课方式应为线上或线下"
    if kind not in {"theory", "practice"}:
        faults["kind"] = "课程类型应为理论或实操"
    if not cohort_start <= session_date <= cohort_end:
        faults["session_date"] = f"课次日期须在培训班起止日期内（{cohort_start:%Y-%m-%d} 至 {cohort_end:%Y-%m-%d}）"
    if end <= start:
        faults["end_time"] = "结束时间必须晚于开始时间"
    if class_hours is None or class_hours <= 0:
        faults["class_hours"] = "学时必须大于0"
    elif end > start:
        limit = max_class_hours(start, end, minutes_per_hour)
        if class_hours > limit + 1e-9:
            faults["class_hours"] = (
                f"学时不能超过时长可容纳的 {limit:g} 学时（每学时 {minutes_per_hour} 分钟，"
                f"共 {duration_minutes(start, end)} 分钟）"
            )
    return faults


def expand_weekly(weekdays: set[int] | list[int], first: date, last: date) -> list[date]:
    """Every date from ``first`` to ``last`` (inclusive) falling on one of ``weekdays`` (1 = Monday)."""
    wanted = {int(d) for d in weekdays}
    if not wanted or not wanted <= set(WEEKDAYS):
        raise ValueError("请选择星期（周一至周日）")
    if last < first:
        raise ValueError("结束日期不能早于开始日期")
    days: list[date] = []
    day = first
    while day <= last:
        if day.isoweekday() in wanted:
            days.append(day)
            if len(days) > MAX_SESSIONS_PER_PATTERN:
                raise ValueError(f"一次最多排 {MAX_SESSIONS_PER_PATTERN} 个课次")
        day += timedelta(days=1)
    return days


def overlaps(a_start: time, a_end: time, b_start: time, b_end: time) -> bool:
    return a_start < b_end and b_start < a_end
