"""/api/v1/stats: the supervision overview (a city its own figures, the province every city's)."""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from training.access import Actor
from training.services import stats
from training.web.auth import roles


class HoursOut(msgspec.Struct):
    online_theory: float
    online_practice: float
    offline_theory: float
    offline_practice: float
    total: float


class FiguresOut(msgspec.Struct):
    cohorts: int
    plan_target: int
    approved_capacity: int
    enrolled: int
    completed: int
    certified: int
    assessed: int
    passed: int
    pass_rate: float | None
    filings_on_time: int
    filings_late: int
    filings_overdue: int
    on_time_rate: float | None
    anomalies_open: int
    anomalies_confirmed: int
    hours: HoursOut


class CityFiguresOut(msgspec.Struct):
    city_code: str
    city_name: str
    figures: FiguresOut


class OverviewOut(msgspec.Struct):
    year: int
    city_code: str | None
    totals: FiguresOut
    cities: list[CityFiguresOut]


def figures_out(f: stats.Figures) -> FiguresOut:
    h = f.hours
    return FiguresOut(
        cohorts=f.cohorts, plan_target=f.target, approved_capacity=f.capacity, enrolled=f.enrolled,
        completed=f.completed, certified=f.certified, assessed=f.assessed, passed=f.passed, pass_rate=f.pass_rate,
        filings_on_time=f.on_time, filings_late=f.late, filings_overdue=f.overdue, on_time_rate=f.on_time_rate,
        anomalies_open=f.anomalies_open, anomalies_confirmed=f.anomalies_confirmed,
        hours=HoursOut(online_theory=h["online"]["theory"], online_practice=h["online"]["practice"],
                       offline_theory=h["offline"]["theory"], offline_practice=h["offline"]["practice"],
                       total=f.hours_total))


class StatsApiController(Controller):
    path = "/api/v1/stats"
    tags = ["stats"]
    guards = [roles("province", "city")]

    @get("/overview", summary="Supervision figures for a year: totals and per city (a city sees only its own)")
    async def overview(self, actor: NamedDependency[Actor], year: FromQuery[str | None] = None,
                       city: FromQuery[str | None] = None) -> OverviewOut:
        dash = await stats.dashboard(actor, year, city)
        return OverviewOut(year=dash.scope.year, city_code=dash.scope.city_code or None,
                           totals=figures_out(dash.totals),
                           cities=[CityFiguresOut(c.key, c.label, figures_out(c)) for c in dash.by_city])


ROUTES = [StatsApiController]
