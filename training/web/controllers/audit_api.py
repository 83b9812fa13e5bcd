"""/api/v1/audit: the audit trail (审计日志) for the province (all) and a city (its own), paginated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Response

from training.access import Actor
from training.services import audit
from training.web.auth import roles
from training.web.pagination import PAGED_HEADERS, page_params, paged_response


class ChangeOut(msgspec.Struct):
    key: str
    before: str
    after: str


class AuditEventOut(msgspec.Struct):
    id: int
    occurred_at: datetime
    username: str
    org_role: str
    city_code: str
    institution_id: int | None
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any]
    after: dict[str, Any]
    changes: list[ChangeOut]
    client_addr: str


class ChainOut(msgspec.Struct):
    ok: bool
    events: int
    first_bad_id: int | None
    reason: str
    checked_at: datetime


def events_out(rows: list[dict[str, Any]]) -> list[AuditEventOut]:
    return msgspec.convert(rows, list[AuditEventOut])


class AuditApiController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]
    guards = [roles("province", "city")]

    @get("", summary="Audit events, newest first (province: all; city: its own city; paginated)",
         description="Filters: org (city code or institution id), username, entity, entity_id, action, "
                     "date_from / date_to (China dates, inclusive). 422 with the field for an unreadable date "
                     "or date_from after date_to. Whole ID numbers never appear.",
         response_headers=PAGED_HEADERS)
    async def index(self, request: Request, actor: NamedDependency[Actor], org: FromQuery[str | None] = None,
                    username: FromQuery[str | None] = None, entity: FromQuery[str | None] = None,
                    entity_id: FromQuery[str | None] = None, action: FromQuery[str | None] = None,
                    date_from: FromQuery[str | None] = None, date_to: FromQuery[str | None] = None,
                    page: FromQuery[int] = 1, page_size: FromQuery[int] = 50) -> Response[list[AuditEventOut]]:
        paging = page_params(page, page_size)
        selection = audit.parse_filter(org=org, username=username, entity=entity, entity_id=entity_id,
                                       action=action, date_from=date_from, date_to=date_to)
        rows, total = await audit.search(actor, selection, limit=paging.limit, offset=paging.offset)
        return paged_response(events_out(rows), total, paging, request)

    @get("/history", summary="Every event about one record (entity + entity_id), oldest first")
    async def history(self, actor: NamedDependency[Actor], entity: FromQuery[str],
                      entity_id: FromQuery[str]) -> list[AuditEventOut]:
        return events_out(await audit.history(actor, entity, entity_id))

    @get("/chain", summary="The SHA-256 chain check: ok, or the first event where it breaks")
    async def chain(self, actor: NamedDependency[Actor], fresh: FromQuery[bool] = False) -> ChainOut:
        status = await audit.chain_status(actor, fresh=fresh)
        report = status.report
        return ChainOut(report.ok, report.events, report.first_bad_id, report.reason, status.checked_at)


ROUTES = [AuditApiController]
