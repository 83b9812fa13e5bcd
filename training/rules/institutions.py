"""Pure rules of the institution catalogue: statuses, approval levels and periods, e-mail and dates."""

from __future__ import annotations

import re
from datetime import date, datetime

from training.rules.levels import LEVELS

STATUSES = ("active", "suspended", "revoked")
# target status -> statuses it may be reached from. Revocation is final.
_TRANSITIONS = {
    "suspended": frozenset({"active"}),
    "revoked": frozenset({"active", "suspended"}),
    "active": frozenset({"suspended"}),
}
_LEVEL_BY_NAME = {name: key for key, name in LEVELS.items()} | {key: key for key in LEVELS}
_LEVEL_SEPARATORS = re.compile(r"[、,，;；/\s]+")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def status_change_refusal(current: str, target: str) -> str | None:
    """Why ``current`` may not become ``target`` (a Chinese reason), or ``None`` when it may."""
    if target not in _TRANSITIONS:
        return "未知的机构状态"
    if current == "revoked":
        return "机构已撤销，撤销是最终状态，不能再变更"
    if current == target:
        return "机构已处于该状态"
    if current not in _TRANSITIONS[target]:
        return "当前状态不允许此变更"
    return None


def parse_levels(text: str) -> list[str]:
    """``初级、中级`` (or ``初级,高级``, or the keys) -> ``["junior", "intermediate"]`` in level order."""
    parts = [p for p in _LEVEL_SEPARATORS.split((text or "").strip()) if p]
    if not parts:
        raise ValueError("请填写核准等级（初级、中级、高级）")
    found: set[str] = set()
    for part in parts:
        key = _LEVEL_BY_NAME.get(part) or _LEVEL_BY_NAME.get(part.lower())
        if key is None:
            raise ValueError(f"未知的等级“{part}”，应为初级、中级或高级")
        if key in found:
            raise ValueError(f"等级“{LEVELS[key]}”重复填写")
        found.add(key)
    return [key for key in LEVELS if key in found]


def parse_email(text: str) -> str:
    email = (text or "").strip()
    if len(email) > 128 or not _EMAIL.match(email):
        raise ValueError("电子邮箱格式不正确")
    return email.lower()


def parse_date(text: str) -> date:
    """A calendar date as people type it: 2026-03-01, 2026/3/1, 20260301, 2026年3月1日."""
    value = (text or "").strip()
    if "T" in value or " " in value:
        value = re.split(r"[T ]", value)[0]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007  (a calendar date, no zone)
        except ValueError:
            continue
    raise ValueError("日期格式不正确，应为 YYYY-MM-DD")


def period_refusal(valid_from: date, valid_to: date) -> str | None:
    if valid_from > valid_to:
        return "核准有效期起不能晚于有效期止"
    return None


def approval_current(valid_from: date, valid_to: date, withdrawn: bool, today: date) -> bool:
    return not withdrawn and valid_from <= today <= valid_to


def clean_text(text: str | None, limit: int) -> str:
    """Collapse inner whitespace runs and trim; ``limit`` is the column's length."""
    value = " ".join((text or "").split())
    if len(value) > limit:
        raise ValueError(f"不能超过{limit}个字")
    return value
