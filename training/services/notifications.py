"""Notifications (通知): in-app messages to an organisation, and e-mail where SMTP is configured.

A notification is addressed to an organisation (the province, one city bureau, one institution),
not to a person: every user of that organisation sees it, and each user's reading is recorded
separately. ``dedupe_key`` is unique, so whatever sends a notification — a scheduler sweep run
twice, a catch-up after downtime, a retried request — sends it once.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from training import db
from training.access import Actor, notification_scope
from training.errors import NotFound
from training.rules.clock import utcnow
from training.settings import SmtpSettings
from training.tables import Institution, Notification, NotificationRead, User

log = logging.getLogger("training.notifications")

RECIPIENT_ROLES = frozenset({"province", "city", "institution"})


async def notify(*, recipient_role: str, kind: str, title: str, dedupe_key: str, body: str = "", link: str = "",
                 city_id: int | None = None, institution_id: int | None = None) -> bool:
    """Record a notification unless one with ``dedupe_key`` exists; ``True`` when it was new.

    Safe inside a caller's transaction (it joins it) and across processes (``ON CONFLICT``).
    """
    _check_recipient(recipient_role, city_id, institution_id)
    rows = await Notification.raw(
        "INSERT INTO notification (recipient_role, city, institution, kind, title, body, link, dedupe_key, "
        "created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        recipient_role, city_id if recipient_role == "city" else None,
        institution_id if recipient_role == "institution" else None,
        kind, title[:256], body, link[:256], dedupe_key[:128], utcnow(),
    )
    return bool(rows)


# --- many at once (scheduler sweeps) ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Message:
    """One notification to record; see :func:`notify` for the fields."""

    recipient_role: str
    kind: str
    title: str
    dedupe_key: str
    body: str = ""
    link: str = ""
    city_id: int | None = None
    institution_id: int | None = None


_CHUNK = 200  # rows per INSERT: 9 bind variables each, far below SQLite's limit


async def notify_many(messages: list[Message]) -> int:
    """Record many notifications in multi-row INSERTs, skipping dedupe keys already present.

    Returns how many were new. Joins the caller's transaction when there is one."""
    for m in messages:
        _check_recipient(m.recipient_role, m.city_id, m.institution_id)
    now, sent = utcnow(), 0
    for start in range(0, len(messages), _CHUNK):
        chunk = messages[start:start + _CHUNK]
        values: list[Any] = []
        for m in chunk:
            values += [m.recipient_role, m.city_id if m.recipient_role == "city" else None,
                       m.institution_id if m.recipient_role == "institution" else None,
                       m.kind, m.title[:256], m.body, m.link[:256], m.dedupe_key[:128], now]
        placeholders = ", ".join(["({}, {}, {}, {}, {}, {}, {}, {}, {})"] * len(chunk))
        rows = await Notification.raw(
            "INSERT INTO notification (recipient_role, city, institution, kind, title, body, link, dedupe_key, "
            f"created_at) VALUES {placeholders} ON CONFLICT (dedupe_key) DO NOTHING RETURNING id", *values,
        )
        sent += len(rows)
    return sent


def _check_recipient(recipient_role: str, city_id: int | None, institution_id: int | None) -> None:
    if recipient_role not in RECIPIENT_ROLES:
        raise ValueError(f"unknown recipient role {recipient_role!r}")
    if recipient_role == "city" and city_id is None:
        raise ValueError("a city notification needs city_id")
    if recipient_role == "institution" and institution_id is None:
        raise ValueError("an institution notification needs institution_id")


# --- the inbox -------------------------------------------------------------------------------

INBOX_LIMIT = 200


def _read_by(actor: Actor) -> Any:
    return NotificationRead.select(NotificationRead.notification).where(NotificationRead.user == actor.user_id)


def _scoped(query: Any, actor: Actor) -> Any:
    if actor.user_id is None:
        raise NotFound("系统账户没有通知")
    return query.where(notification_scope(actor))


async def inbox(actor: Actor, *, unread_only: bool = False, limit: int = INBOX_LIMIT) -> list[dict[str, Any]]:
    """The actor's organisation's notifications, newest first, each with ``read`` for this user."""
    query = _scoped(Notification.select(
        Notification.id, Notification.kind, Notification.title, Notification.body, Notification.link,
        Notification.created_at, Notification.recipient_role,
    ), actor)
    if unread_only:
        query = query.where(Notification.id.not_in(_read_by(actor)))
    rows = await query.order_by(Notification.id, ascending=False).limit(max(1, min(limit, INBOX_LIMIT)))
    ids = [r["id"] for r in rows]
    read = {r["notification"] for r in await NotificationRead.select(NotificationRead.notification).where(
        (NotificationRead.user == actor.user_id) & NotificationRead.notification.is_in(ids))} if ids else set()
    for row in rows:
        row["read"] = row["id"] in read
    return rows


async def unread_count(actor: Actor) -> int:
    """One COUNT query: the organisation's notifications this user has not read."""
    if actor.user_id is None or actor.role not in RECIPIENT_ROLES:
        return 0
    return await _scoped(Notification.count(), actor).where(Notification.id.not_in(_read_by(actor)))


async def _mark(actor: Actor, ids: list[int]) -> int:
    if not ids:
        return 0
    now, marked = utcnow(), 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        values: list[Any] = []
        for notification_id in chunk:
            values += [notification_id, actor.user_id, now]
        placeholders = ", ".join(["({}, {}, {})"] * len(chunk))
        rows = await NotificationRead.raw(
            f'INSERT INTO notification_read (notification, "user", read_at) VALUES {placeholders} '
            'ON CONFLICT (notification, "user") DO NOTHING RETURNING id', *values)
        marked += len(rows)
    return marked


async def mark_read(actor: Actor, notification_id: int) -> dict[str, Any]:
    """Mark one notification read for this user (not for the rest of the organisation).

    A notification outside the actor's organisation is not found. Reading is not audited: it
    changes no record of the programme, only this user's inbox."""
    row = await _scoped(Notification.select(Notification.id, Notification.link), actor).where(
        Notification.id == notification_id).first()
    if row is None:
        raise NotFound("通知不存在，或不是发给您所在单位的")
    await _mark(actor, [notification_id])
    return row


async def mark_all_read(actor: Actor) -> int:
    ids = [r["id"] for r in await _scoped(Notification.select(Notification.id), actor).where(
        Notification.id.not_in(_read_by(actor)))]
    return await _mark(actor, ids)


# --- e-mail ----------------------------------------------------------------------------------

EMAIL_BATCH = 100
EMAIL_CLAIM = timedelta(minutes=10)
# Notifications older than this when SMTP is first configured are not e-mailed after the fact.
EMAIL_MAX_AGE = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class Email:
    notification_id: int
    to: tuple[str, ...]
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class EmailRun:
    claimed: int
    sent: int
    without_address: int
    failed: int

    def __str__(self) -> str:
        return (f"{self.sent} e-mailed, {self.without_address} without an address, {self.failed} failed "
                f"(of {self.claimed})")


async def _claim(now: datetime) -> list[dict[str, Any]]:
    """Claim up to ``EMAIL_BATCH`` notifications still to e-mail; a crashed sender's claim lapses."""
    pending = Notification.select(Notification.id).where(
        (Notification.emailed_at.is_null()) & (Notification.created_at >= now - EMAIL_MAX_AGE)
        & (Notification.email_claimed_until.is_null() | (Notification.email_claimed_until < now))
    ).order_by(Notification.id).limit(EMAIL_BATCH)
    ids = [r["id"] for r in await pending]
    if not ids:
        return []
    async with db.transaction():
        claimed = await Notification.update({Notification.email_claimed_until: now + EMAIL_CLAIM}).where(
            Notification.id.is_in(ids) & Notification.emailed_at.is_null()
            & (Notification.email_claimed_until.is_null() | (Notification.email_claimed_until < now))
        ).returning(Notification.id, Notification.recipient_role, Notification.city, Notification.institution,
                    Notification.title, Notification.body, Notification.link)
    return sorted(claimed, key=lambda r: r["id"])


async def _addresses(claimed: list[dict[str, Any]]) -> dict[int, tuple[str, ...]]:
    """E-mail addresses per claimed notification: the active users of the addressed organisation
    who have one; for an institution without any, the institution's own address."""
    cities = {r["city"] for r in claimed if r["recipient_role"] == "city"}
    institutions = {r["institution"] for r in claimed if r["recipient_role"] == "institution"}
    roles = {r["recipient_role"] for r in claimed}
    users = await User.select(User.email, User.role, User.city, User.institution).where(
        (User.active == True) & (User.email != "") & User.role.is_in(list(roles))  # noqa: E712
    ).where(
        (User.role == "province") | User.city.is_in(list(cities) or [0]) | User.institution.is_in(
            list(institutions) or [0])
    )
    fallback = {r["id"]: r["email"] for r in await Institution.select(Institution.id, Institution.email).where(
        Institution.id.is_in(list(institutions) or [0]) & (Institution.email != ""))}
    result: dict[int, tuple[str, ...]] = {}
    for n in claimed:
        role = n["recipient_role"]
        to = sorted({u["email"].strip() for u in users if u["role"] == role and (
            role == "province" or (role == "city" and u["city"] == n["city"])
            or (role == "institution" and u["institution"] == n["institution"]))})
        if not to and role == "institution" and fallback.get(n["institution"]):
            to = [fallback[n["institution"]].strip()]
        result[n["id"]] = tuple(to)
    return result


def _deliver(smtp: SmtpSettings, emails: list[Email]) -> list[int]:
    """Send over one SMTP connection (blocking: run in a thread); the ids that were accepted."""
    done: list[int] = []
    with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as server:
        if smtp.starttls:
            server.starttls(context=ssl.create_default_context())
        if smtp.username:
            server.login(smtp.username, smtp.password)
        for email in emails:
            message = EmailMessage()
            message["From"] = smtp.sender
            message["To"] = ", ".join(email.to)
            message["Subject"] = email.subject
            message.set_content(email.body, charset="utf-8")
            try:
                server.send_message(message)
            except smtplib.SMTPException as exc:
                log.warning("e-mail for notification %s refused: %s", email.notification_id, type(exc).__name__)
                continue
            done.append(email.notification_id)
    return done


async def send_pending_emails(smtp: SmtpSettings, base_url: str, now: datetime | None = None) -> EmailRun:
    """E-mail the notifications not yet e-mailed, when SMTP is configured; ``emailed_at`` is set
    only after the server accepted the message, so a failure is retried at the next run."""
    if not smtp.enabled:
        return EmailRun(0, 0, 0, 0)
    now = now or utcnow()
    claimed = await _claim(now)
    if not claimed:
        return EmailRun(0, 0, 0, 0)
    addresses = await _addresses(claimed)
    emails = [Email(n["id"], addresses[n["id"]], n["title"],
                    n["body"] + (f"\n\n{base_url}{n['link']}" if n["link"] else "")
                    + "\n\n—— 山东省数字技术工程师培育项目管理系统（系统邮件，请勿回复）")
              for n in claimed if addresses[n["id"]]]
    nobody = [n["id"] for n in claimed if not addresses[n["id"]]]
    try:
        done = await asyncio.to_thread(_deliver, smtp, emails) if emails else []
    except (OSError, smtplib.SMTPException) as exc:
        # The server is unreachable or refused the session: leave everything for the next run.
        log.warning("SMTP %s:%s unavailable: %s", smtp.host, smtp.port, type(exc).__name__)
        done = []
    finished = done + nobody
    async with db.transaction():
        if finished:
            await Notification.update({Notification.emailed_at: utcnow(), Notification.email_claimed_until: None}
                                      ).where(Notification.id.is_in(finished))
        failed = [n["id"] for n in claimed if n["id"] not in set(finished)]
        if failed:
            await Notification.update({Notification.email_claimed_until: None}).where(Notification.id.is_in(failed))
    return EmailRun(claimed=len(claimed), sent=len(done), without_address=len(nobody), failed=len(failed))
