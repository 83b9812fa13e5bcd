"""Notifications (通知): in-app messages to an organisation, and e-mail where SMTP is configured.

A notification is addressed to an organisation (the province, one city bureau, one institution),
not to a person: every user of that organisation sees it, and each user's reading is recorded
separately. ``dedupe_key`` is unique, so whatever sends a notification — a scheduler sweep run
twice, a catch-up after downtime, a retried request — sends it once.
"""

from __future__ import annotations

from training.rules.clock import utcnow
from training.tables import Notification

RECIPIENT_ROLES = frozenset({"province", "city", "institution"})


async def notify(*, recipient_role: str, kind: str, title: str, dedupe_key: str, body: str = "", link: str = "",
                 city_id: int | None = None, institution_id: int | None = None) -> bool:
    """Record a notification unless one with ``dedupe_key`` exists; ``True`` when it was new.

    Safe inside a caller's transaction (it joins it) and across processes (``ON CONFLICT``).
    """
    if recipient_role not in RECIPIENT_ROLES:
        raise ValueError(f"unknown recipient role {recipient_role!r}")
    if recipient_role == "city" and city_id is None:
        raise ValueError("a city notification needs city_id")
    if recipient_role == "institution" and institution_id is None:
        raise ValueError("an institution notification needs institution_id")
    rows = await Notification.raw(
        "INSERT INTO notification (recipient_role, city, institution, kind, title, body, link, dedupe_key, "
        "created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        recipient_role, city_id if recipient_role == "city" else None,
        institution_id if recipient_role == "institution" else None,
        kind, title[:256], body, link[:256], dedupe_key[:128], utcnow(),
    )
    return bool(rows)
