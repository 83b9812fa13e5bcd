"""Page: a city's training catalogue (本市目录) — what is in it, adding, removing, and the history."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Response

from training.access import Actor
from training.errors import Conflict, Invalid, NotFound
from training.rules.levels import INSTITUTION_STATUSES
from training.services import catalogue
from training.services.reference import list_cities
from training.web.auth import roles
from training.web.list_export import ExportColumn, export_or_none, export_query
from training.web.rendering import page

CATALOGUE_COLUMNS = [
    ExportColumn("机构名称", "institution_name"), ExportColumn("职业", "occupation_name"),
    ExportColumn("机构状态", lambda r: INSTITUTION_STATUSES.get(r.get("institution_status") or "",
                                                            r.get("institution_status") or "")),
    ExportColumn("列入时间", "added_at"), ExportColumn("列入人", "added_by"), ExportColumn("列入说明", "added_reason"),
]


class CataloguePageController(Controller):
    path = "/catalogue"
    guards = [roles("city", "province")]
    include_in_schema = False

    async def _render(self, request: Request, actor: Actor, city_code: str, status_code: int = 200,
                      **context: Any) -> Response:
        cities = await list_cities()
        city = next((c for c in cities if c["code"] == city_code), None)
        if city is None:
            raise NotFound("城市不存在")
        writable = actor.is_city
        entries = await catalogue.list_entries(actor, city_code)
        download = await export_or_none(context.pop("fmt", None), f"catalogue-{city_code}", "本市目录",
                                        CATALOGUE_COLUMNS, entries)
        if download is not None:
            return download
        defaults = {"error": None, "errors": {}, "notice": None, "values": {}}
        return page(request, "catalogue/index.html", status_code=status_code, city=city, cities=cities,
                    entries=entries, export_query=export_query(request),
                    events=await catalogue.history(actor, city_code),
                    candidates=await catalogue.candidates(actor, city_code) if writable else [],
                    writable=writable, **{**defaults, **context})

    def _city_of(self, actor: Actor, city: str | None) -> str:
        return actor.city_code if actor.is_city else (city or "370100")

    @get("")
    async def index(self, request: Request, actor: NamedDependency[Actor], city: FromQuery[str | None] = None,
                    saved: FromQuery[str | None] = None, format: FromQuery[str | None] = None) -> Response:
        return await self._render(request, actor, self._city_of(actor, city), notice="已保存" if saved else None,
                                  fmt=format)

    @post("/add", status_code=200, guards=[roles("city")])
    async def add(self, request: Request, actor: NamedDependency[Actor],
                  data: URLEncodedBody[dict[str, Any]]) -> Response:
        occupation_ids = data.get("occupation_ids") or []
        reason = str(data.get("reason") or "")
        try:
            await catalogue.add_entries(actor, actor.city_code, data.get("institution_id"), occupation_ids, reason)
        except (Invalid, Conflict) as exc:
            return await self._render(request, actor, actor.city_code, exc.status_code, error=exc.detail,
                                      errors=exc.fields, values={"institution_id": str(data.get("institution_id")),
                                                                 "reason": reason})
        return Redirect("/catalogue?saved=1", status_code=303)

    @post("/{entry_id:int}/remove", status_code=200, guards=[roles("city")])
    async def remove(self, request: Request, actor: NamedDependency[Actor], entry_id: FromPath[int],
                     data: URLEncodedBody[dict[str, Any]]) -> Response:
        try:
            await catalogue.remove_entry(actor, actor.city_code, entry_id, str(data.get("reason") or ""))
        except (Invalid, Conflict) as exc:
            return await self._render(request, actor, actor.city_code, exc.status_code, error=exc.detail,
                                      errors={f"remove_{entry_id}": exc.fields.get("reason", exc.detail)})
        return Redirect("/catalogue?saved=1", status_code=303)


ROUTES = [CataloguePageController]
