"""Exports for the departments (数据导出): the page, the downloads, and the same through /api/v1."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from training.access import Actor
from training.errors import Invalid
from training.rules.clock import today_in_china
from training.rules.levels import LEVELS
from training.services import exports
from training.services.exports import ExportFilter
from training.tables import City, Occupation
from training.web.auth import roles
from training.web.rendering import page

DEPARTMENTS = roles("city", "province")
KINDS = {"hours": "继续教育学时（按人按年）", "holders": "证书持有人（按城市、职业、等级）"}


def _selection(actor: Actor, year: int | None, city: str | None, occupation: int | None, level: str | None,
               revoked: bool | None) -> ExportFilter:
    return ExportFilter(year=year or today_in_china().year,
                        city=(city or "").strip() or (actor.city_code if actor.is_city else ""),
                        occupation=occupation or None, level=(level or "").strip(), include_revoked=bool(revoked))


async def _download(actor: Actor, kind: str, fmt: str, selection: ExportFilter) -> Response[bytes]:
    content, media_type, filename = await exports.render(kind, fmt, actor, selection)
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


class ExportPagesController(Controller):
    guards = [DEPARTMENTS]
    include_in_schema = False

    @get("/exports")
    async def index(self, request: Request, actor: NamedDependency[Actor], year: FromQuery[int | None] = None,
                    city: FromQuery[str | None] = None, occupation: FromQuery[int | None] = None,
                    level: FromQuery[str | None] = None, revoked: FromQuery[bool | None] = None) -> Response:
        selection = _selection(actor, year, city, occupation, level, revoked)
        error = None
        counts = {}
        try:
            counts = {"hours": len(await exports.hours_rows(actor, selection)),
                      "holders": len(await exports.holder_rows(actor, selection))}
        except Invalid as exc:
            error = exc.detail
        this_year = today_in_china().year
        return page(request, "exports/index.html", selection=selection, counts=counts, error=error, kinds=KINDS,
                    years=list(range(this_year, this_year - 6, -1)), levels=LEVELS,
                    cities=await City.select(City.code, City.name).order_by(City.sort_order),
                    occupations=await Occupation.select(Occupation.id, Occupation.name).order_by(Occupation.sort_order))

    @get("/exports/{kind:str}/{fmt:str}")
    async def download(self, actor: NamedDependency[Actor], kind: FromPath[str], fmt: FromPath[str],
                       year: FromQuery[int | None] = None, city: FromQuery[str | None] = None,
                       occupation: FromQuery[int | None] = None, level: FromQuery[str | None] = None,
                       revoked: FromQuery[bool | None] = None) -> Response[bytes]:
        return await _download(actor, kind, fmt, _selection(actor, year, city, occupation, level, revoked))


class ExportApiController(Controller):
    path = "/api/v1"
    tags = ["exports"]
    guards = [DEPARTMENTS]

    @get("/exports/{kind:str}",
         summary="hours: continuing-education hours per person for a year; holders: certificate holders "
                 "(format=xlsx|csv; ID numbers masked; city officers get their own city)")
    async def download(self, actor: NamedDependency[Actor], kind: FromPath[str], format: FromQuery[str] = "xlsx",
                       year: FromQuery[int | None] = None, city: FromQuery[str | None] = None,
                       occupation: FromQuery[int | None] = None, level: FromQuery[str | None] = None,
                       revoked: FromQuery[bool | None] = None) -> Response[bytes]:
        return await _download(actor, kind, format, _selection(actor, year, city, occupation, level, revoked))


ROUTES = [ExportPagesController, ExportApiController]
