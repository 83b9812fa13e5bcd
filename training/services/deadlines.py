"""Deadlines (截止提醒): the daily filing-deadline sweep and the April plan-due reminders.

Both are stateless by date: given ``today`` they work out from the database what is owed and send
it through :func:`notifications.notify_many`, whose dedupe keys make a second run the same day, or
a catch-up after downtime, send nothing new. Called by the scheduler (``training.jobs``) with the
China-time date of the run, so tests drive them with a controlled clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from piccolo.columns.combination import WhereRaw

from training import db
from training.rules import filing as filing_rules
from training.rules import plans as plan_rules
from training.services.notifications import Message, notify_many
from training.tables import City, Filing, Plan

# A sweep looks back this many days for a reminder day it may have missed while the service was
# down; only the latest owed reminder is sent (one catch-up, not one per missed day).
LOOKBACK_DAYS = filing_rules.OVERDUE_REPEAT_DAYS - 1
# Days of April on which a city without a submitted plan is reminded; 30 April is the due date.
PLAN_REMINDER_DAYS = (1, 15, 25, 30)


@dataclass(frozen=True, slots=True)
class SweepResult:
    checked: int  # candidate filings (or cities) looked at
    sent: int  # notifications created (0 on a rerun)

    def __str__(self) -> str:
        return f"{self.checked} checked, {self.sent} notifications sent"


def owed_reminder(due: date, today: date, lookback: int = LOOKBACK_DAYS) -> tuple[str, date] | None:
    """The latest reminder owed on ``today`` or in the ``lookback`` days before it, with its day."""
    for back in range(lookback + 1):
        day = today - timedelta(days=back)
        key = filing_rules.reminder_due(due, day)
        if key is not None:
            return key, day
    return None


async def candidate_filings(today: date) -> list[dict[str, Any]]:
    """Unsubmitted latest filing versions due within a week or overdue: one query, with the facts
    the messages need."""
    newest = WhereRaw(
        "NOT EXISTS (SELECT 1 FROM filing AS newer WHERE newer.cohort = filing.cohort "
        "AND newer.version_number > filing.version_number)"
    )
    return await Filing.select(
        Filing.id, Filing.due_date, Filing.version_number,
        Filing.cohort.id.as_alias("cohort_id"), Filing.cohort.code.as_alias("cohort_code"),
        Filing.cohort.name.as_alias("cohort_name"),
        Filing.cohort.institution.id.as_alias("institution_id"),
        Filing.cohort.institution.name.as_alias("institution_name"),
        Filing.cohort.city.id.as_alias("city_id"), Filing.cohort.city.name.as_alias("city_name"),
    ).where(
        (Filing.status == "draft") & (Filing.due_date <= today + timedelta(days=max(filing_rules.REMINDER_DAYS)))
        & newest
    ).order_by(Filing.id)


def _filing_messages(row: dict[str, Any], key: str, today: date) -> list[Message]:
    left = filing_rules.days_left(row["due_date"], today)
    cohort = f"{row['cohort_code']}「{row['cohort_name']}」"
    due = f"{row['due_date']:%Y年%m月%d日}"
    what = "培训学员名单和培训总结"
    if left > 0:
        kind, title = "filing_due", f"备案提醒：{row['cohort_code']} 距备案截止还有 {left} 天"
        body = f"培训班 {cohort} 应于 {due}前向省、市人社部门备案{what}，还有 {left} 天。"
    elif left == 0:
        kind, title = "filing_due", f"备案提醒：{row['cohort_code']} 今日备案截止"
        body = f"培训班 {cohort} 的备案今日（{due}）截止，请尽快提交{what}。"
    else:
        kind, title = "filing_overdue", f"备案逾期：{row['cohort_code']} 已逾期 {-left} 天"
        body = (f"培训班 {cohort}（{row['institution_name']}，{row['city_name']}）应于 {due}前备案，"
                f"至今未提交，已逾期 {-left} 天。")
    to_institution = Message(
        recipient_role="institution", institution_id=row["institution_id"], kind=kind, title=title, body=body,
        link=f"/cohorts/{row['cohort_id']}/filing", dedupe_key=f"filing:{row['id']}:{key}:institution")
    if not key.startswith("overdue"):
        return [to_institution]
    link = f"/filings/{row['id']}"
    return [
        to_institution,
        Message(recipient_role="city", city_id=row["city_id"], kind=kind, title=title, body=body, link=link,
                dedupe_key=f"filing:{row['id']}:{key}:city"),
        Message(recipient_role="province", kind=kind, title=title, body=body, link=link,
                dedupe_key=f"filing:{row['id']}:{key}:province"),
    ]


async def sweep_filing_deadlines(today: date) -> SweepResult:
    """Send every filing reminder owed on ``today``: 7, 3 and 1 days before the due date and on it
    to the institution; once overdue, to the institution, its city and the province, then weekly."""
    rows = await candidate_filings(today)
    messages: list[Message] = []
    for row in rows:
        owed = owed_reminder(row["due_date"], today)
        if owed is not None:
            messages.extend(_filing_messages(row, owed[0], today))
    async with db.transaction():
        sent = await notify_many(messages)
    return SweepResult(checked=len(rows), sent=sent)


async def plan_due_reminders(today: date) -> SweepResult:
    """In April, remind each city without a submitted (or accepted) plan for the year, on 1, 15, 25
    and 30 April; on 30 April also tell the province which cities are late. Nothing outside April:
    after 30 April the plan list shows the late flag."""
    if today.month != 4 or today.day < PLAN_REMINDER_DAYS[0]:
        return SweepResult(0, 0)
    day = max(d for d in PLAN_REMINDER_DAYS if d <= today.day)
    year = today.year
    due = plan_rules.due_date(year)
    submitted = Plan.select(Plan.city).where((Plan.year == year) & Plan.status.is_in(["submitted", "accepted"]))
    missing = await City.select(City.id, City.code, City.name).where(City.id.not_in(submitted)).order_by(
        City.sort_order).order_by(City.code)
    left = (due - today).days
    messages = [
        Message(recipient_role="city", city_id=city["id"], kind="plan_due",
                title=f"{year} 年度培训计划" + ("今日截止提交" if left == 0 else f"还有 {left} 天截止提交"),
                body=f"{city['name']}尚未提交 {year} 年度数字技术工程师培训计划，请于 {due:%Y年%m月%d日}前提交。",
                link="/plans", dedupe_key=f"plan_due:{year}:{city['code']}:{day:02d}")
        for city in missing
    ]
    if today == due and missing:
        names = "、".join(city["name"] for city in missing)
        messages.append(Message(
            recipient_role="province", kind="plan_late", title=f"{year} 年度培训计划：{len(missing)} 个市今日截止仍未提交",
            body=f"截至 {due:%Y年%m月%d日}，以下城市尚未提交 {year} 年度培训计划：{names}。", link="/plans",
            dedupe_key=f"plan_late:{year}"))
    async with db.transaction():
        sent = await notify_many(messages)
    return SweepResult(checked=len(missing), sent=sent)
