"""Audit events: every change, who made it and from where, chained by SHA-256.

Each event's hash covers its own fields and the previous event's hash, so altering or removing
any stored event breaks the chain from that point on (``training audit verify``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from training import db
from training.access import Actor, require, restrict
from training.errors import BadInput, Invalid
from training.rules.clock import CHINA, utcnow
from training.rules.identity import mask_id_number
from training.tables import AuditEvent

GENESIS = "0" * 64
# Keys never written into an audit event, whatever the caller passes.
_SECRET_KEYS = frozenset({"password", "password_hash", "token", "token_hash", "id_number"})
_PG_AUDIT_LOCK = 7_270_001


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if k not in _SECRET_KEYS}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def canonical(value: Any) -> str:
    return json.dumps(_jsonable(value or {}), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    payload = prev_hash + "\n" + canonical(fields)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _chained_fields(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "occurred_at": row["occurred_at"],
        "user": row["user"],
        "username": row["username"],
        "org_role": row["org_role"],
        "city_code": row["city_code"],
        "institution_id": row["institution_id"],
        "action": row["action"],
        "entity": row["entity"],
        "entity_id": row["entity_id"],
        "before": json.loads(row["before"]) if isinstance(row["before"], str) else row["before"],
        "after": json.loads(row["after"]) if isinstance(row["after"], str) else row["after"],
        "client_addr": row["client_addr"],
    }


async def record(
    actor: Actor,
    action: str,
    entity: str,
    entity_id: Any = "",
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    city_code: str | None = None,
    institution_id: int | None = None,
) -> None:
    """Append one event. Call inside the service's write transaction, so both land or neither.

    ``city_code`` / ``institution_id`` name the organisations the record belongs to (so the city
    and the institution see it in their audit trail); they default to the actor's own.
    """
    if db.is_postgres():
        # Serialise appenders so each reads the true last hash. SQLite's IMMEDIATE transactions
        # already serialise writers.
        await AuditEvent.raw("SELECT pg_advisory_xact_lock({})", _PG_AUDIT_LOCK)
    last = await AuditEvent.select(AuditEvent.hash).order_by(AuditEvent.id, ascending=False).first()
    prev_hash = last["hash"] if last else GENESIS
    row: dict[str, Any] = {
        "occurred_at": utcnow(),
        "user": actor.user_id,
        "username": actor.username,
        "org_role": actor.role,
        "city_code": actor.city_code if city_code is None else city_code,
        "institution_id": actor.institution_id if institution_id is None else institution_id,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "before": json.loads(canonical(before)),
        "after": json.loads(canonical(after)),
        "client_addr": actor.client_addr,
    }
    digest = event_hash(prev_hash, row)
    await AuditEvent.insert(
        AuditEvent(
            occurred_at=row["occurred_at"],
            user=row["user"],
            username=row["username"],
            org_role=row["org_role"],
            city_code=row["city_code"],
            institution_id=row["institution_id"],
            action=action,
            entity=entity,
            entity_id=row["entity_id"],
            before=canonical(before),
            after=canonical(after),
            client_addr=row["client_addr"],
            prev_hash=prev_hash,
            hash=digest,
        )
    )


@dataclass(frozen=True, slots=True)
class ChainReport:
    events: int
    ok: bool
    first_bad_id: int | None = None
    reason: str = ""
    last_id: int = 0  # the last event checked, and its hash: where a later check may continue
    last_hash: str = GENESIS


async def verify_chain(batch: int = 5000, *, after: ChainReport | None = None) -> ChainReport:
    """Walk the whole chain in id order, recomputing every hash (or, ``after`` an intact report, only the
    events appended since)."""
    prev_hash = after.last_hash if after else GENESIS
    checked = after.events if after else 0
    last_id = after.last_id if after else 0
    while True:
        rows = (
            await AuditEvent.select()
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch)
        )
        if not rows:
            return ChainReport(events=checked, ok=True, last_id=last_id, last_hash=prev_hash)
        for row in rows:
            if row["prev_hash"] != prev_hash:
                return ChainReport(checked, False, row["id"], "上一条记录的摘要不一致（记录被删除或插入）")
            if event_hash(prev_hash, _chained_fields(row)) != row["hash"]:
                return ChainReport(checked, False, row["id"], "记录内容与其摘要不符（记录被修改）")
            prev_hash = row["hash"]
            checked += 1
            last_id = row["id"]


# --- reading the trail (审计日志查询) ------------------------------------------------------------

_MAX_INT = 2_147_483_647
_FILTER_TEXT_MAX = 128
_CHAIN_CACHE_SECONDS = 600.0
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Checked filters: ``city_code`` or ``institution_id`` (from ``org``), exact matches, China dates."""

    city_code: str = ""
    institution_id: int | None = None
    username: str = ""
    entity: str = ""
    entity_id: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def query_items(self) -> dict[str, str]:
        org = self.city_code or (str(self.institution_id) if self.institution_id is not None else "")
        values = {"org": org, "username": self.username, "entity": self.entity, "entity_id": self.entity_id,
                  "action": self.action, "date_from": self.date_from.isoformat() if self.date_from else "",
                  "date_to": self.date_to.isoformat() if self.date_to else ""}
        return {k: v for k, v in values.items() if v}


def _clean_text(value: str | None, field: str) -> str:
    text = (value or "").strip()
    if "\x00" in text:
        raise BadInput("查询条件含有不可用的字符", fields={field: "含有不可用的字符"})
    if len(text) > _FILTER_TEXT_MAX:
        raise BadInput("查询条件过长", fields={field: f"不超过 {_FILTER_TEXT_MAX} 个字符"})
    return text


def _parse_day(value: str | date | None, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        day = value
    else:
        text = _clean_text(value, field)
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise Invalid("日期格式不正确", fields={field: "请填写正确的日期，如 2026-03-01"}) from None
    if not 2000 <= day.year <= 2100:
        raise Invalid("日期超出范围", fields={field: "日期应在 2000 年至 2100 年之间"})
    return day


def parse_filter(*, org: str | None = None, username: str | None = None, entity: str | None = None,
                 entity_id: str | None = None, action: str | None = None, date_from: str | date | None = None,
                 date_to: str | date | None = None) -> AuditFilter:
    """Check the filters as typed: ``org`` is a city code (6 digits) or an institution number."""
    org_text = _clean_text(org, "org")
    city_code, institution_id = "", None
    if org_text:
        if not org_text.isascii() or not org_text.isdigit():
            raise Invalid("组织应为城市代码（6位）或机构编号", fields={"org": "请填写城市代码（如 370100）或机构编号"})
        if len(org_text) == 6:
            city_code = org_text
        elif int(org_text) <= _MAX_INT:
            institution_id = int(org_text)
        else:
            raise Invalid("机构编号不正确", fields={"org": "机构编号不正确"})
    start, end = _parse_day(date_from, "date_from"), _parse_day(date_to, "date_to")
    if start and end and start > end:
        raise Invalid("开始日期晚于结束日期", fields={"date_to": "结束日期不能早于开始日期"})
    return AuditFilter(city_code=city_code, institution_id=institution_id,
                       username=_clean_text(username, "username"), entity=_clean_text(entity, "entity"),
                       entity_id=_clean_text(entity_id, "entity_id"), action=_clean_text(action, "action"),
                       date_from=start, date_to=end)


def _day_start_utc(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=CHINA).astimezone(UTC)


def _conditions(selection: AuditFilter) -> list[Any]:
    conditions: list[Any] = []
    if selection.city_code:
        conditions.append(AuditEvent.city_code == selection.city_code)
    if selection.institution_id is not None:
        conditions.append(AuditEvent.institution_id == selection.institution_id)
    if selection.username:
        conditions.append(AuditEvent.username == selection.username)
    if selection.entity:
        conditions.append(AuditEvent.entity == selection.entity)
    if selection.entity_id:
        conditions.append(AuditEvent.entity_id == selection.entity_id)
    if selection.action:
        conditions.append(AuditEvent.action == selection.action)
    if selection.date_from:
        conditions.append(AuditEvent.occurred_at >= _day_start_utc(selection.date_from))
    if selection.date_to:
        conditions.append(AuditEvent.occurred_at < _day_start_utc(selection.date_to + timedelta(days=1)))
    return conditions


_VIEW_COLUMNS = (AuditEvent.id, AuditEvent.occurred_at, AuditEvent.username, AuditEvent.org_role,
                 AuditEvent.city_code, AuditEvent.institution_id, AuditEvent.action, AuditEvent.entity,
                 AuditEvent.entity_id, AuditEvent.before, AuditEvent.after, AuditEvent.client_addr)


def _mask(value: Any) -> Any:
    """No whole resident ID number leaves the trail, whatever key a caller stored it under."""
    if isinstance(value, str):
        return _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, str]]:
    """The compact diff: each key whose value differs, with its old and new value (shortened)."""
    out = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        out.append({"key": key, "before": "" if old is None else _short(old), "after": "" if new is None else _short(new)})
    return out


def _view(row: dict[str, Any]) -> dict[str, Any]:
    before = row["before"] if isinstance(row["before"], dict) else json.loads(row["before"] or "{}")
    after = row["after"] if isinstance(row["after"], dict) else json.loads(row["after"] or "{}")
    before, after = _mask(before or {}), _mask(after or {})
    return {**row, "before": before, "after": after, "changes": changes(before, after)}


def _scoped(query: Any, actor: Actor) -> Any:
    require(actor, "audit.read")
    return restrict(query, AuditEvent, actor)


async def search(actor: Actor, selection: AuditFilter | None = None, *, limit: int = 50, offset: int = 0
                 ) -> tuple[list[dict[str, Any]], int]:
    """One page of the trail inside the actor's scope (province: all; city: its own city), newest first,
    and the number of events matching."""
    selection = selection or AuditFilter()
    query = _scoped(AuditEvent.select(*_VIEW_COLUMNS), actor)
    count = _scoped(AuditEvent.count(), actor)
    for condition in _conditions(selection):
        query = query.where(condition)
        count = count.where(condition)
    rows = await query.order_by(AuditEvent.id, ascending=False).limit(limit).offset(offset)
    return [_view(r) for r in rows], await count


async def history(actor: Actor, entity: str, entity_id: str) -> list[dict[str, Any]]:
    """Every event about one record visible to the actor, oldest first."""
    selection = parse_filter(entity=entity, entity_id=entity_id)
    if not selection.entity or not selection.entity_id:
        raise Invalid("请指定记录", fields={"entity": "请指定记录类型和编号"} if not selection.entity
                      else {"entity_id": "请指定记录编号"})
    query = _scoped(AuditEvent.select(*_VIEW_COLUMNS), actor).where(
        (AuditEvent.entity == selection.entity) & (AuditEvent.entity_id == selection.entity_id))
    return [_view(r) for r in await query.order_by(AuditEvent.id)]


@dataclass(frozen=True, slots=True)
class ChainStatus:
    report: ChainReport
    checked_at: datetime  # when the whole chain was last walked
    cached: bool = False  # only the events appended since then were checked now


_chain_cache: dict[str, ChainStatus] = {}


async def _anchor_holds(report: ChainReport) -> bool:
    """The last event a remembered walk ended on is still there, unchanged (else walk it all again)."""
    if not report.ok or not report.last_id:
        return True
    row = await AuditEvent.select(AuditEvent.hash).where(AuditEvent.id == report.last_id).first()
    return row is not None and row["hash"] == report.last_hash


async def chain_status(actor: Actor, *, fresh: bool = False) -> ChainStatus:
    """``verify_chain`` for the audit pages. Walking a long chain takes seconds (about 4 s per 100,000
    events on SQLite), so the whole walk is remembered for a few minutes and, meanwhile, only the events
    appended since are checked; a broken result stays until a fresh check. ``fresh`` walks it all now."""
    require(actor, "audit.read")
    key = str(id(db.current_engine()))
    cached = _chain_cache.get(key)
    now = utcnow()
    if cached and not fresh and (now - cached.checked_at).total_seconds() < _CHAIN_CACHE_SECONDS \
            and await _anchor_holds(cached.report):
        if not cached.report.ok:
            return ChainStatus(cached.report, cached.checked_at, cached=True)
        report = await verify_chain(after=cached.report)
        status = ChainStatus(report, cached.checked_at, cached=True)
        if not report.ok:
            _chain_cache[key] = status
        else:
            _chain_cache[key] = ChainStatus(report, cached.checked_at)
        return status
    status = ChainStatus(await verify_chain(), now)
    _chain_cache[key] = status
    return status
