"""Pages: the audit trail (审计日志) — filters, a record's history, the chain check, and exports."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Response

from training.access import Actor
from training.errors import DomainError
from training.services import audit
from training.tables import City
from training.web.auth import roles
from training.web.list_export import MAX_EXPORT_ROWS, ExportColumn, check_format, export_bounds, export_or_none
from training.web.pagination import MAX_PAGE_SIZE, page_params
from training.web.rendering import page as render_page

ROLE_NAMES = {"province": "省级", "city": "市级", "institution": "培训机构", "system": "系统"}


def _changes_text(row: dict[str, Any]) -> str:
    return "；".join(f"{c['key']}: {c['before']} → {c['after']}" for c in row["changes"])


COLUMNS = [
    ExportColumn("编号", "id"), ExportColumn("时间", "occurred_at"), ExportColumn("用户", "username"),
    ExportColumn("角色", lambda r: ROLE_NAMES.get(r["org_role"], r["org_role"])),
    ExportColumn("城市代码", "city_code"), ExportColumn("机构编号", "institution_id"),
    ExportColumn("操作", "action"), ExportColumn("对象", "entity"), ExportColumn("对象编号", "entity_id"),
    ExportColumn("变更", _changes_text), ExportColumn("来源地址", "client_addr"),
]


class AuditPagesController(Controller):
    guards = [roles("province", "city")]
    include_in_schema = False

    @get("/audit")
    async def index(self, request: Request, actor: NamedDependency[Actor], org: FromQuery[str | None] = None,
                    username: FromQuery[str | None] = None, entity: FromQuery[str | None] = None,
                    entity_id: FromQuery[str | None] = None, action: FromQuery[str | None] = None,
                    date_from: FromQuery[str | None] = None, date_to: FromQuery[str | None] = None,
                    page: FromQuery[int] = 1, page_size: FromQuery[int] = 50,
                    format: FromQuery[str | None] = None, verify: FromQuery[bool] = False) -> Response:
        typed = {"org": org or "", "username": username or "", "entity": entity or "", "entity_id": entity_id or "",
                 "action": action or "", "date_from": date_from or "", "date_to": date_to or ""}
        number, size = export_bounds(format, page, page_size)
        paging = page_params(number, size, max_size=MAX_EXPORT_ROWS if check_format(format) else MAX_PAGE_SIZE)
        try:
            selection = audit.parse_filter(**typed)
        except DomainError as exc:
            if format:
                raise
            return await self._render(request, actor, typed, [], 0, paging, verify, error=exc.detail,
                                      errors=exc.fields, status_code=exc.status_code)
        rows, total = await audit.search(actor, selection, limit=paging.limit, offset=paging.offset)
        download = await export_or_none(format, "audit", "审计日志", COLUMNS, rows)
        if download is not None:
            return download
        return await self._render(request, actor, typed, rows, total, paging, verify)

    async def _render(self, request: Request, actor: Actor, typed: dict[str, str], rows: list[dict[str, Any]],
                      total: int, paging: Any, verify: bool, *, status_code: int = 200, error: str | None = None,
                      errors: dict[str, str] | None = None) -> Response:
        query = {k: v for k, v in typed.items() if v}
        chain = await audit.chain_status(actor, fresh=verify)
        cities = await City.select(City.code, City.name).order_by(City.sort_order)
        return render_page(request, "audit/index.html", status_code=status_code, rows=rows, total=total,
                           paging=paging, last_page=paging.last_page(total), typed=typed, query=urlencode(query),
                           chain=chain, cities=cities, role_names=ROLE_NAMES, error=error, errors=errors or {})

    @get("/audit/history")
    async def history(self, request: Request, actor: NamedDependency[Actor], entity: FromQuery[str] = "",
                      entity_id: FromQuery[str] = "", format: FromQuery[str | None] = None) -> Response:
        rows = await audit.history(actor, entity, entity_id)
        download = await export_or_none(format, f"audit-{entity}-{entity_id}", "记录历史", COLUMNS, rows)
        if download is not None:
            return download
        return render_page(request, "audit/history.html", rows=rows, entity=entity, entity_id=entity_id,
                           role_names=ROLE_NAMES, query=urlencode({"entity": entity, "entity_id": entity_id}))


ROUTES = [AuditPagesController]
