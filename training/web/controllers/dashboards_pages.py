"""Pages: the supervision dashboards (province, city, institution), the figures' drill-down and the
institution league table. Charts are SVG drawn on the server; every figure links to its records."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote_plus

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Response

from training.access import Actor
from training.services import stats
from training.services.reference import list_cities
from training.web import charts
from training.web.auth import roles
from training.web.list_export import ExportColumn, export_pages, export_query
from training.web.rendering import page, translator

PLAN_SERIES = (("target", "计划人数"), ("capacity", "核定容量"), ("enrolled", "在册学员"), ("completed", "结业"),
               ("certified", "发证"))
FILING_SERIES = (("on_time", "按时备案"), ("late", "逾期后备案"), ("overdue", "逾期未备案"))
MODE_LABELS = {"online": "线上", "offline": "线下"}
KIND_LABELS = {"theory": "理论", "practice": "实操"}


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _league_row(row: stats.Figures) -> dict[str, Any]:
    return {"label": row.label, "city_name": row.extra.get("city_name", ""), "pass_rate": row.pass_rate,
            "on_time_rate": row.on_time_rate, "anomalies_confirmed": row.anomalies_confirmed,
            "fill_rate": row.fill_rate, "enrolled": row.enrolled, "capacity": row.capacity, "cohorts": row.cohorts}


LEAGUE_EXPORT = [
    ExportColumn("培训机构", "label"), ExportColumn("所在城市", "city_name"),
    ExportColumn("考核通过率", lambda r: _percent(r["pass_rate"])),
    ExportColumn("按时备案率", lambda r: _percent(r["on_time_rate"])),
    ExportColumn("确认异常", "anomalies_confirmed"), ExportColumn("报名/容量", lambda r: _percent(r["fill_rate"])),
    ExportColumn("在册学员", "enrolled"), ExportColumn("核定容量", "capacity"), ExportColumn("培训班", "cohorts"),
]

_quote = lru_cache(maxsize=4096)(quote_plus)


def drill_link(figure: str, year: int, **filters: Any) -> str:
    """The records behind one figure: the cohorts that add up to it.

    Hundreds of these per page: integers skip quoting, and the few distinct codes are quoted once.
    """
    parts = [f"figure={figure}", f"year={year}"]
    for name, value in filters.items():
        if value in (None, ""):
            continue
        parts.append(f"{name}={value if isinstance(value, int) else _quote(str(value))}")
    return "/dashboard/cohorts?" + "&".join(parts)


def _city_filter(dash: stats.Dashboard, row: stats.Figures | None = None) -> dict[str, str]:
    if row is not None:
        return {"city": row.key}
    return {"city": dash.scope.city_code} if dash.scope.city_code else {}


def dashboard_charts(dash: stats.Dashboard, _: Callable[[str], str]) -> dict[str, str]:
    year = dash.scope.year
    plan_groups = []
    rows = dash.by_city if dash.scope.city_id is None else dash.by_occupation
    for row in rows:
        if dash.scope.city_id is None:
            filters = _city_filter(dash, row)
            label = row.label
        else:
            filters = {**_city_filter(dash), "occupation": row.extra["occupation"], "level": row.extra["level"]}
            label = f"{row.label} {_(stats_level(row.extra['level']))}"
        bars = [charts.Bar(_(name), getattr(row, key),
                           "" if key == "target" else drill_link("cohorts" if key == "capacity" else key, year,
                                                                 **filters))
                for key, name in PLAN_SERIES]
        plan_groups.append(charts.Group(label, bars))
    filing_groups = [charts.Group(row.label, [charts.Bar(_(name), getattr(row, key),
                                                         drill_link(key, year, **_city_filter(dash, row)))
                                              for key, name in FILING_SERIES])
                     for row in dash.by_city]
    hours_groups = [charts.Group(_(MODE_LABELS[mode]), [
        charts.Bar(_(KIND_LABELS[kind]), dash.totals.hours[mode][kind], drill_link("hours", year, **_city_filter(dash)))
        for kind in stats.KINDS]) for mode in stats.MODES]
    return {
        "plan": charts.grouped_bars(_("计划与实际"), [_(name) for _k, name in PLAN_SERIES], plan_groups),
        "filings": charts.stacked_bars(_("备案及时性"), [_(name) for _k, name in FILING_SERIES], filing_groups),
        "hours": charts.stacked_bars(_("已授课学时（线上/线下 × 理论/实操）"),
                                     [_(KIND_LABELS[k]) for k in stats.KINDS], hours_groups),
    }


def stats_level(level: str) -> str:
    return {"junior": "初级", "intermediate": "中级", "senior": "高级"}.get(level, level)


class DashboardPagesController(Controller):
    include_in_schema = False

    @get("/dashboard")
    async def dashboard(self, request: Request, actor: NamedDependency[Actor], year: FromQuery[str | None] = None,
                        city: FromQuery[str | None] = None) -> Response:
        if actor.is_institution:
            board = await stats.institution_dashboard(actor, year)
            return page(request, "dashboards/institution.html", board=board, drill=drill_link)
        dash = await stats.dashboard(actor, year, city)
        return page(request, "dashboards/province.html" if actor.is_province and not dash.scope.city_id
                    else "dashboards/city.html", dash=dash, drill=drill_link, cities=await list_cities(),
                    charts=dashboard_charts(dash, translator(request)), years=_years(dash.scope.year))

    @get("/dashboard/cohorts")
    async def cohorts(self, request: Request, actor: NamedDependency[Actor], figure: FromQuery[str | None] = None,
                      year: FromQuery[str | None] = None, city: FromQuery[str | None] = None,
                      occupation: FromQuery[str | None] = None, level: FromQuery[str | None] = None,
                      institution: FromQuery[str | None] = None) -> Response:
        found = await stats.drill(actor, figure=figure or "cohorts", year=year, city=city, occupation=occupation,
                                  level=level, institution=institution)
        return page(request, "dashboards/cohorts.html", found=found, figures=stats.DRILL_FIGURES)

    @get("/league", guards=[roles("province", "city")])
    async def league(self, request: Request, actor: NamedDependency[Actor], year: FromQuery[str | None] = None,
                     city: FromQuery[str | None] = None, sort: FromQuery[str | None] = None,
                     order: FromQuery[str | None] = None, page_number: FromQuery[str | None] = None,
                     format: FromQuery[str | None] = None) -> Response:
        async def fetch(number: int, size: int) -> SimpleNamespace:
            part = await stats.league(actor, year, city, sort=sort, descending=order != "asc", page=number,
                                      page_size=size)
            return SimpleNamespace(items=[_league_row(row) for row in part.rows], total=part.total)

        if (download := await export_pages(format, "league", "培训机构排行", LEAGUE_EXPORT, fetch)) is not None:
            return download
        table = await stats.league(actor, year, city, sort=sort, descending=order != "asc",
                                   page=_page_number(page_number))
        return page(request, "dashboards/league.html", table=table, export_query=export_query(request), cities=await list_cities(),
                    years=_years(table.scope.year), drill=drill_link, columns=stats.LEAGUE_COLUMNS)


def _years(selected: int) -> list[int]:
    from training.rules.clock import today_in_china

    latest = max(today_in_china().year + 1, selected)
    return list(range(latest, stats.MIN_YEAR - 1, -1))


def _page_number(value: str | None) -> int:
    try:
        return int(value) if value else 1
    except ValueError:
        return 0  # refused by the service's paging check with a clear message


ROUTES = [DashboardPagesController]
