"""Audit events: every change, who made it and from where, chained by SHA-256.

Each event's hash covers its own fields and the previous event's hash, so altering or removing
any stored event breaks the chain from that point on (``training audit verify``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from training import db
from training.access import Actor
from training.rules.clock import utcnow
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


async def verify_chain(batch: int = 5000) -> ChainReport:
    """Walk the whole chain in id order, recomputing every hash."""
    prev_hash = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = (
            await AuditEvent.select()
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch)
        )
        if not rows:
            return ChainReport(events=checked, ok=True)
        for row in rows:
            if row["prev_hash"] != prev_hash:
                return ChainReport(checked, False, row["id"], "上一条记录的摘要不一致（记录被删除或插入）")
            if event_hash(prev_hash, _chained_fields(row)) != row["hash"]:
                return ChainReport(checked, False, row["id"], "记录内容与其摘要不符（记录被修改）")
            prev_hash = row["hash"]
            checked += 1
            last_id = row["id"]
