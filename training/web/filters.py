"""Jinja filters: local time, dates with days left, masked IDs and vocabulary names."""

from __future__ import annotations

from datetime import date, datetime

from jinja2 import Environment

from training.rules import levels
from training.rules.clock import to_local, today_in_china
from training.rules.identity import mask_id_number


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = to_local(value)
    return local.strftime(fmt) if local else ""


def days_left(value: date | None) -> int | None:
    return None if value is None else (value - today_in_china()).days


def label(value: str, vocabulary: str) -> str:
    return getattr(levels, vocabulary).get(value, value)


def install(env: Environment) -> None:
    env.filters.update(local_time=local_time, days_left=days_left, mask_id=mask_id_number, label=label)
