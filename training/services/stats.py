"""Supervision figures (监管统计): plan versus actual, hours, assessment, filings and anomalies.

Every figure comes from a handful of aggregate queries grouped by cohort (never a query per
trainee); the per-cohort facts are then rolled up in Python to any dimension the dashboards show
(city, occupation × level, institution). Scope is the actor's: the province sees every city, a
city only its own, an institution only its own cohorts. The year is the year a cohort starts in
(``planned_start``) — the same as the cohort list's year filter, so every figure's drill-down
list adds up to the figure.

Definitions (issue 7):
- plan target: sum of the year's plan-line target headcounts (any plan status);
- approved capacity: capacity of cohorts approved or later (``RUNNING_STATUSES``);
- enrolled: enrollments not withdrawn; completed: enrollments ``completed``;
- certified: certificates ``valid``;
- pass rate: passed / assessed, where assessed = enrollments with a result that is not absent
  (a trainee who passed at any attempt passed: the retake is only for those who failed);
- filings: version 1 of each cohort's filing decides — on time (submitted, not late), late
  (submitted late), overdue (still draft and past its due date, China time);
- anomalies: open flags are to review; confirmed flags count against the institution.
  Anomalies are not split by year: a flag is current work, whatever year it was found in.
"""

from __future__ import annotations

import operator
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any

from training import db
from training.access import Actor, require
from training.errors import Invalid, NotFound
from training.rules.clock import today_in_china
from training.rules.cohorts import RUNNING_STATUSES
from training.rules.hours import Hours, Requirement, eligibility
from training.rules.hours import at_risk as hours_at_risk
from training.tables import City, Cohort, Institution, Occupation

MIN_YEAR, MAX_YEAR = 2020, 2100
MODES = ("online", "offline")
KINDS = ("theory", "practice")
FILING_STATES = ("on_time", "late", "overdue")
# Rows shown per item of a city's to-do list (待办) and of an institution's open rolls; the totals are shown too.
TASK_LIST_LIMIT = 20
_CITY_CODE = re.compile(r"^\d{6}$")

# --- pure rules ----------------------------------------------------------------------------


def filing_state(status: str, submitted: bool, submitted_late: bool, due_date: date | None, today: date) -> str:
    """The state of a cohort's first filing version: on_time / late / overdue / pending."""
    if submitted or status != "draft":
        return "late" if submitted_late else "on_time"
    if due_date is not None and due_date < today:
        return "overdue"
    return "pending"


def rate(part: int, whole: int) -> float | None:
    """A percentage with one decimal, or ``None`` when there is nothing to measure."""
    return round(100.0 * part / whole, 1) if whole else None


def median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 1) if present else None


def check_year(value: Any, default: int | None = None) -> int:
    """A four-digit year between 2020 and 2100; anything else is a field error, never a 500."""
    if value is None or value == "":
        return default if default is not None else today_in_china().year
    try:
        year = int(str(value).strip())
    except ValueError:
        raise Invalid("年度不正确", fields={"year": f"请填写 {MIN_YEAR}–{MAX_YEAR} 之间的四位年份"}) from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Invalid("年度不正确", fields={"year": f"请填写 {MIN_YEAR}–{MAX_YEAR} 之间的四位年份"})
    return year


# --- figures --------------------------------------------------------------------------------


@dataclass(slots=True)
class Figures:
    """One row of the dashboards: a city, an occupation × level, an institution, or the total."""

    key: str = ""
    label: str = ""
    cohorts: int = 0
    target: int = 0
    capacity: int = 0
    enrolled: int = 0
    completed: int = 0
    certified: int = 0
    assessed: int = 0
    passed: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    anomalies_open: int = 0
    anomalies_confirmed: int = 0
    hours: dict[str, dict[str, float]] = field(default_factory=lambda: {m: dict.fromkeys(KINDS, 0.0) for m in MODES})
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pass_rate(self) -> float | None:
        return rate(self.passed, self.assessed)

    @property
    def filed(self) -> int:
        return self.on_time + self.late + self.overdue

    @property
    def on_time_rate(self) -> float | None:
        """On-time filings among those that were due: on time / (on time + late + overdue)."""
        return rate(self.on_time, self.filed)

    @property
    def fill_rate(self) -> float | None:
        """Enrolment against approved capacity."""
        return rate(self.enrolled, self.capacity)

    @property
    def hours_total(self) -> float:
        return round(sum(sum(kinds.values()) for kinds in self.hours.values()), 1)

    def add(self, other: Figures) -> None:
        for name in ("cohorts", "target", "capacity", "enrolled", "completed", "certified", "assessed", "passed",
                     "on_time", "late", "overdue", "anomalies_open", "anomalies_confirmed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for mode in MODES:
            for kind in KINDS:
                self.hours[mode][kind] = round(self.hours[mode][kind] + other.hours[mode][kind], 2)


# A cohort's figures as a flat vector: summing thousands of them is one C-level ``map`` each,
# where adding Figures objects attribute by attribute cost more than the SQL at national scale.
COUNTS = ("cohorts", "target", "capacity", "enrolled", "completed", "certified", "assessed", "passed", "on_time",
          "late", "overdue", "anomalies_open", "anomalies_confirmed")
HOURS = tuple(f"{m}_{k}" for m in MODES for k in KINDS)
VECTOR = COUNTS + HOURS
_INDEX = {name: i for i, name in enumerate(VECTOR)}


def from_vector(vector: list[float] | None, key: str = "", label: str = "") -> Figures:
    vector = vector or [0] * len(VECTOR)
    figures = Figures(key=key, label=label, **{name: int(vector[i]) for i, name in enumerate(COUNTS)})
    for mode in MODES:
        for kind in KINDS:
            figures.hours[mode][kind] = round(vector[_INDEX[f"{mode}_{kind}"]], 2)
    return figures


def rollup(vectors: Iterable[tuple[Any, list[float]]]) -> dict[Any, list[float]]:
    """Sum (key, vector) pairs per key."""
    sums: dict[Any, list[float]] = {}
    for key, vector in vectors:
        current = sums.get(key)
        sums[key] = list(vector) if current is None else list(map(operator.add, current, vector))
    return sums


@dataclass
class CohortFacts:
    id: int
    code: str
    name: str
    city: int
    institution: int
    occupation: int
    level: str
    status: str
    capacity: int
    planned_start: date | None
    vector: list[float]
    filing: str = ""  # on_time / late / overdue / pending / "" (no filing yet)
    due_date: date | None = None

    @cached_property
    def figures(self) -> Figures:
        return from_vector(self.vector)


@dataclass(slots=True)
class Scope:
    """What the figures cover: the year, and a city and/or institution (``None``: all)."""

    year: int
    city_id: int | None = None
    city_code: str = ""
    city_name: str = ""
    institution_id: int | None = None


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _cohort_where(scope: Scope, alias: str = "c") -> tuple[str, list[Any]]:
    sql = f"{alias}.planned_start >= {{}} AND {alias}.planned_start <= {{}}"
    args: list[Any] = [date(scope.year, 1, 1), date(scope.year, 12, 31)]
    if scope.city_id is not None:
        sql += f" AND {alias}.city = {{}}"
        args.append(scope.city_id)
    if scope.institution_id is not None:
        sql += f" AND {alias}.institution = {{}}"
        args.append(scope.institution_id)
    return sql, args


async def _raw(sql: str, *args: Any) -> list[dict[str, Any]]:
    return await Cohort.raw(sql, *args)


_TALLY_COLUMNS = ("enrolled", "completed", "certified", "assessed", "passed", "online_theory", "online_practice",
                  "offline_theory", "offline_practice")
_REFRESH_CHUNK = 500


async def refresh_tallies() -> int:
    """Recompute the tallies of the cohorts the triggers marked; the number refreshed.

    The marks are claimed with ``DELETE … RETURNING`` inside the transaction, so two readers
    never refresh the same mark, and a write committed meanwhile leaves a new mark for the next
    read: a tally is never older than the read that uses it.
    """
    if not await _raw("SELECT cohort FROM cohort_tally_dirty LIMIT 1"):
        return 0
    async with db.transaction():
        claimed = sorted({int(r["cohort"]) for r in await _raw("DELETE FROM cohort_tally_dirty RETURNING cohort")})
        for start in range(0, len(claimed), _REFRESH_CHUNK):
            await _refresh_chunk(claimed[start:start + _REFRESH_CHUNK])
    return len(claimed)


async def _refresh_chunk(cohort_ids: list[int]) -> None:
    ids = ",".join(str(i) for i in cohort_ids)  # integers from our own table
    tally: dict[int, dict[str, float]] = {i: dict.fromkeys(_TALLY_COLUMNS, 0) for i in cohort_ids}
    for row in await _raw("SELECT cohort AS cohort, status AS status, COUNT(*) AS n FROM enrollment "
                          f"WHERE cohort IN ({ids}) GROUP BY cohort, status"):
        if row["status"] != "withdrawn":
            tally[row["cohort"]]["enrolled"] += int(row["n"])
        if row["status"] == "completed":
            tally[row["cohort"]]["completed"] += int(row["n"])
    for row in await _raw("SELECT cohort AS cohort, COUNT(*) AS n FROM certificate "
                          f"WHERE cohort IN ({ids}) AND status = 'valid' GROUP BY cohort"):
        tally[row["cohort"]]["certified"] = int(row["n"])
    for row in await _raw(
            "SELECT a.cohort AS cohort, COUNT(DISTINCT r.enrollment) AS assessed, "
            "COUNT(DISTINCT CASE WHEN r.passed THEN r.enrollment END) AS passed "
            "FROM assessment_result r JOIN assessment a ON a.id = r.assessment "
            f"WHERE a.cohort IN ({ids}) AND r.absent = {{}} GROUP BY a.cohort", False):
        tally[row["cohort"]]["assessed"], tally[row["cohort"]]["passed"] = int(row["assessed"]), int(row["passed"])
    for row in await _raw("SELECT cohort AS cohort, mode AS mode, kind AS kind, SUM(class_hours) AS hours "
                          f"FROM training_session WHERE cohort IN ({ids}) AND roll_saved_at IS NOT NULL "
                          "GROUP BY cohort, mode, kind"):
        name = f"{row['mode']}_{row['kind']}"
        if name in _TALLY_COLUMNS:
            tally[row["cohort"]][name] += float(row["hours"] or 0)
    values = ",".join(
        "(" + ",".join([str(cohort)] + [repr(float(v)) if "_" in k else str(int(v)) for k, v in t.items()]) + ")"
        for cohort, t in tally.items())
    updates = ", ".join(f"{c} = excluded.{c}" for c in _TALLY_COLUMNS)
    await _raw(f"INSERT INTO cohort_tally (cohort, {', '.join(_TALLY_COLUMNS)}) VALUES {values} "
               f"ON CONFLICT (cohort) DO UPDATE SET {updates}")


async def cohort_facts(scope: Scope, today: date | None = None) -> dict[int, CohortFacts]:
    """Per-cohort figures of the scope: the cohorts with their tallies, and their first filings."""
    today = today or today_in_china()
    await refresh_tallies()
    where, args = _cohort_where(scope)
    cohorts: dict[int, CohortFacts] = {}
    for row in await _raw(
            "SELECT c.id AS id, c.code AS code, c.name AS name, c.city AS city, c.institution AS institution, "
            "c.occupation AS occupation, c.level AS level, c.status AS status, c.capacity AS capacity, "
            "c.planned_start AS planned_start, " + ", ".join(f"t.{c} AS {c}" for c in _TALLY_COLUMNS)
            + " FROM cohort c LEFT JOIN cohort_tally t ON t.cohort = c.id WHERE " + where, *args):
        vector = [0.0] * len(VECTOR)
        vector[0] = 1
        vector[_INDEX["capacity"]] = row["capacity"] if row["status"] in RUNNING_STATUSES else 0
        for name in _TALLY_COLUMNS:
            vector[_INDEX[name]] = row[name] or 0
        cohorts[row["id"]] = CohortFacts(
            id=row["id"], code=row["code"], name=row["name"], city=row["city"], institution=row["institution"],
            occupation=row["occupation"], level=row["level"], status=row["status"], capacity=row["capacity"],
            planned_start=_as_date(row["planned_start"]), vector=vector)
    if not cohorts:
        return cohorts
    for row in await _raw(
            "SELECT f.cohort AS cohort, f.status AS status, f.submitted_at IS NOT NULL AS submitted, "
            "f.submitted_late AS late, f.due_date AS due_date FROM filing f JOIN cohort c ON c.id = f.cohort "
            "WHERE f.version_number = 1 AND " + where, *args):
        facts = cohorts[row["cohort"]]
        facts.due_date = _as_date(row["due_date"])
        facts.filing = filing_state(row["status"], bool(row["submitted"]), bool(row["late"]), facts.due_date, today)
        if facts.filing in FILING_STATES:
            facts.vector[_INDEX[facts.filing]] = 1
    return cohorts


_GROUPS = {"city": "c.city", "occupation": "c.occupation, c.level", "institution": "c.institution", "all": ""}


async def grouped_figures(scope: Scope, group: str, today: date | None = None) -> dict[Any, Figures]:
    """The scope's cohort figures summed in SQL per city, occupation × level, institution or all.

    Reads the cohorts, their tallies and first filings; the filing rule is ``filing_state``'s,
    written as SQL (a test holds the two to the same counts).
    """
    today = today or today_in_china()
    await refresh_tallies()
    where, args = _cohort_where(scope)
    keys = _GROUPS[group]
    running = ", ".join(f"'{s}'" for s in RUNNING_STATUSES)
    submitted = "(f.submitted_at IS NOT NULL OR f.status <> 'draft')"
    sums = ", ".join(f"SUM(COALESCE(t.{c}, 0)) AS {c}" for c in _TALLY_COLUMNS)
    rows = await _raw(
        f"SELECT {keys + ',' if keys else ''} COUNT(*) AS cohorts, "
        f"SUM(CASE WHEN c.status IN ({running}) THEN c.capacity ELSE 0 END) AS capacity, {sums}, "
        f"SUM(CASE WHEN f.id IS NOT NULL AND {submitted} AND NOT f.submitted_late THEN 1 ELSE 0 END) AS on_time, "
        f"SUM(CASE WHEN f.id IS NOT NULL AND {submitted} AND f.submitted_late THEN 1 ELSE 0 END) AS late, "
        "SUM(CASE WHEN f.submitted_at IS NULL AND f.status = 'draft' AND f.due_date < {} THEN 1 ELSE 0 END) AS overdue "
        "FROM cohort c LEFT JOIN cohort_tally t ON t.cohort = c.id "
        "LEFT JOIN filing f ON f.cohort = c.id AND f.version_number = 1 "
        f"WHERE {where}" + (f" GROUP BY {keys}" if keys else ""), today, *args)
    result: dict[Any, Figures] = {}
    for row in rows:
        if not row["cohorts"]:
            continue
        vector = [0.0] * len(VECTOR)
        for name in ("cohorts", "capacity", "on_time", "late", "overdue", *_TALLY_COLUMNS):
            vector[_INDEX[name]] = row[name] or 0
        key = {"city": lambda r: r["city"], "occupation": lambda r: (r["occupation"], r["level"]),
               "institution": lambda r: r["institution"], "all": lambda r: "all"}[group](row)
        result[key] = from_vector(vector)
    return result


async def _targets(scope: Scope) -> list[dict[str, Any]]:
    sql = ("SELECT p.city AS city, pl.occupation AS occupation, pl.level AS level, "
           "SUM(pl.target_headcount) AS target FROM plan_line pl JOIN annual_plan p ON p.id = pl.plan "
           "WHERE p.year = {}")
    args: list[Any] = [scope.year]
    if scope.city_id is not None:
        sql += " AND p.city = {}"
        args.append(scope.city_id)
    return await _raw(sql + " GROUP BY p.city, pl.occupation, pl.level", *args)


async def _anomalies(scope: Scope) -> list[dict[str, Any]]:
    sql = ("SELECT f.city AS city, f.institution AS institution, f.review_status AS status, COUNT(*) AS n "
           "FROM anomaly_flag f WHERE f.review_status IN ('open', 'confirmed')")
    args: list[Any] = []
    if scope.city_id is not None:
        sql += " AND f.city = {}"
        args.append(scope.city_id)
    if scope.institution_id is not None:
        sql += " AND f.institution = {}"
        args.append(scope.institution_id)
    return await _raw(sql + " GROUP BY f.city, f.institution, f.review_status", *args)


def _count_anomaly(figures: Figures, row: dict[str, Any]) -> None:
    if row["status"] == "open":
        figures.anomalies_open += int(row["n"])
    else:
        figures.anomalies_confirmed += int(row["n"])


# --- scope of the actor ---------------------------------------------------------------------


async def department_scope(actor: Actor, year: Any = None, city: str | None = None) -> Scope:
    """The province's (all, or one city it names) or a city officer's own scope for ``year``.

    A city naming another city gets *not found*, as for any record outside its scope.
    """
    require(actor, "stats.read")
    scope = Scope(year=check_year(year))
    code = (city or "").strip()
    if actor.is_city:
        if code and code != actor.city_code:
            raise NotFound("城市不存在，或不在您的管辖范围内")
        code = actor.city_code
    if code:
        if not _CITY_CODE.match(code):
            raise Invalid("城市代码不正确", fields={"city": "城市代码应为 6 位数字（GB/T 2260）"})
        row = await City.select(City.id, City.code, City.name).where(City.code == code).first()
        if row is None:
            raise NotFound("城市不存在")
        scope.city_id, scope.city_code, scope.city_name = row["id"], row["code"], row["name"]
    return scope


# --- the province and city dashboards ---------------------------------------------------------


@dataclass(slots=True)
class Dashboard:
    scope: Scope
    today: date
    totals: Figures
    by_city: list[Figures]
    by_occupation: list[Figures]  # occupation × level; key "occupation_id:level"
    by_institution: list[Figures]
    todo: CityTodo | None = None

    @property
    def most_overdue_city(self) -> Figures | None:
        ranked = sorted((c for c in self.by_city if c.overdue), key=lambda c: (-c.overdue, c.key))
        return ranked[0] if ranked else None


@dataclass(slots=True)
class TodoItem:
    id: int
    code: str
    name: str
    institution_name: str
    day: date | None = None
    days: int | None = None


@dataclass(slots=True)
class CityTodo:
    awaiting_approval: list[TodoItem]
    awaiting_approval_total: int
    plans_returned: list[dict[str, Any]]
    due_this_week: list[TodoItem]
    overdue: list[TodoItem]
    anomalies_open: int


async def _names(table: Any, ids: Iterable[int], *columns: Any) -> dict[int, dict[str, Any]]:
    ids = list(set(ids))
    if not ids:
        return {}
    rows = await table.select(table.id, *columns).where(table.id.is_in(ids))
    return {row["id"]: row for row in rows}


async def dashboard(actor: Actor, year: Any = None, city: str | None = None) -> Dashboard:
    """The province dashboard (all cities, or one city the province names) or a city's own."""
    scope = await department_scope(actor, year, city)
    today = today_in_china()
    cities = await City.select(City.id, City.code, City.name).order_by(City.sort_order)
    if scope.city_id is not None:
        cities = [c for c in cities if c["id"] == scope.city_id]
    city_sums = await grouped_figures(scope, "city", today)
    by_city = {}
    for c in cities:
        by_city[c["id"]] = city_sums.get(c["id"]) or Figures()
        by_city[c["id"]].key, by_city[c["id"]].label = c["code"], c["name"]
    by_occupation = await grouped_figures(scope, "occupation", today)
    # the province's page has no institution table; a city's has
    by_institution = await grouped_figures(scope, "institution", today) if scope.city_id is not None else {}
    totals = Figures(key="total", label="合计")
    for row in by_city.values():
        totals.add(row)
    for row in await _targets(scope):
        target = int(row["target"] or 0)
        if row["city"] in by_city:
            by_city[row["city"]].target += target
            totals.target += target
        by_occupation.setdefault((row["occupation"], row["level"]), Figures()).target += target
    for row in await _anomalies(scope):
        if row["city"] in by_city:
            _count_anomaly(by_city[row["city"]], row)
            _count_anomaly(totals, row)
        if row["institution"] is not None and scope.city_id is not None:
            _count_anomaly(by_institution.setdefault(row["institution"], Figures()), row)
    occupations = await _names(Occupation, (k[0] for k in by_occupation), Occupation.name, Occupation.field,
                               Occupation.sort_order)
    order = {"junior": 0, "intermediate": 1, "senior": 2}
    occupation_rows = []
    for (occupation_id, level), figures in sorted(
            by_occupation.items(), key=lambda kv: (occupations.get(kv[0][0], {}).get("sort_order", 0), kv[0][0],
                                                   order.get(kv[0][1], 9))):
        info = occupations.get(occupation_id, {})
        figures.key = f"{occupation_id}:{level}"
        figures.label = info.get("name", "")
        figures.extra = {"occupation": occupation_id, "level": level, "field": info.get("field", "")}
        occupation_rows.append(figures)
    institutions = await _names(Institution, by_institution, Institution.name)
    institution_rows = []
    for institution_id, figures in by_institution.items():
        figures.key = str(institution_id)
        figures.label = institutions.get(institution_id, {}).get("name", "")
        institution_rows.append(figures)
    institution_rows.sort(key=lambda f: (-f.enrolled, f.label))
    todo = await city_todo(scope, today) if actor.is_city else None
    return Dashboard(scope=scope, today=today, totals=totals, by_city=list(by_city.values()),
                     by_occupation=occupation_rows, by_institution=institution_rows, todo=todo)


async def _todo_items(where: str, *args: Any, today: date, day_column: str = "") -> list[TodoItem]:
    select_day = f", {day_column} AS day" if day_column else ""
    rows = await _raw(
        "SELECT c.id AS id, c.code AS code, c.name AS name, i.name AS institution_name" + select_day
        + " FROM cohort c JOIN institution i ON i.id = c.institution" + where, *args)
    items = []
    for row in rows[:TASK_LIST_LIMIT]:
        day = _as_date(row.get("day"))
        items.append(TodoItem(id=row["id"], code=row["code"], name=row["name"],
                              institution_name=row["institution_name"], day=day,
                              days=(day - today).days if day else None))
    return items


async def city_todo(scope: Scope, today: date) -> CityTodo:
    """A city's to-do list: current work, whatever the year filter says."""
    city = scope.city_id
    awaiting = await _todo_items(" WHERE c.city = {} AND c.status = 'submitted' ORDER BY c.submitted_at, c.id",
                                 city, today=today, day_column="c.planned_start")
    awaiting_total = await Cohort.count().where((Cohort.city == city) & (Cohort.status == "submitted"))
    plans = await _raw("SELECT p.id AS id, p.year AS year, p.title AS title FROM annual_plan p "
                       "WHERE p.city = {} AND p.status = 'returned' ORDER BY p.year DESC", city)
    filing_join = (" JOIN filing f ON f.cohort = c.id AND f.version_number = 1 WHERE c.city = {} "
                   "AND f.status = 'draft' AND f.submitted_at IS NULL AND ")
    due = await _todo_items(filing_join + "f.due_date >= {} AND f.due_date <= {} ORDER BY f.due_date, c.id",
                            city, today, today + timedelta(days=6), today=today, day_column="f.due_date")
    overdue = await _todo_items(filing_join + "f.due_date < {} ORDER BY f.due_date, c.id", city, today,
                                today=today, day_column="f.due_date")
    open_flags = await _raw("SELECT COUNT(*) AS n FROM anomaly_flag WHERE city = {} AND review_status = 'open'", city)
    return CityTodo(awaiting_approval=awaiting, awaiting_approval_total=awaiting_total, plans_returned=plans,
                    due_this_week=due, overdue=overdue, anomalies_open=int(open_flags[0]["n"]))


# --- drill-down: the cohorts behind a figure ----------------------------------------------------

DRILL_FIGURES = {
    "cohorts": "培训班",
    "capacity": "核定容量",
    "enrolled": "在册学员",
    "completed": "结业",
    "certified": "发证",
    "assessed": "参加考核",
    "passed": "考核通过",
    "on_time": "按时备案",
    "late": "逾期后备案",
    "overdue": "逾期未备案",
    "hours": "已授课学时",
}


@dataclass(slots=True)
class Drill:
    scope: Scope
    figure: str
    rows: list[CohortFacts]
    totals: Figures
    institution_names: dict[int, str]
    city_names: dict[int, str]
    occupation_names: dict[int, str]
    filters: dict[str, Any]


def _matches(cohort: CohortFacts, figure: str) -> bool:
    if figure in FILING_STATES:
        return cohort.filing == figure
    if figure == "hours":
        return sum(cohort.vector[_INDEX[h]] for h in HOURS) > 0
    if figure == "cohorts":
        return True
    return cohort.vector[_INDEX[figure]] > 0


async def drill(actor: Actor, *, figure: str = "cohorts", year: Any = None, city: str | None = None,
                occupation: Any = None, level: str | None = None, institution: Any = None) -> Drill:
    """The cohorts behind one dashboard figure, each with its own figures; they add up to it."""
    figure = figure or "cohorts"
    if figure not in DRILL_FIGURES:
        raise Invalid("统计项不正确", fields={"figure": "未知的统计项"})
    if actor.is_institution:
        if city:
            raise NotFound("城市不存在，或不在您的管辖范围内")
        scope = Scope(year=check_year(year), institution_id=actor.institution_id)
    else:
        scope = await department_scope(actor, year, city)
    occupation_id = _optional_int(occupation, "occupation", "职业")
    institution_id = _optional_int(institution, "institution", "培训机构")
    if level and level not in ("junior", "intermediate", "senior"):
        raise Invalid("等级不正确", fields={"level": "等级应为初级、中级或高级"})
    if institution_id is not None and not actor.is_institution:
        scope.institution_id = institution_id
    facts = await cohort_facts(scope)
    rows = [c for c in facts.values()
            if (occupation_id is None or c.occupation == occupation_id) and (not level or c.level == level)
            and _matches(c, figure)]
    rows.sort(key=lambda c: (c.due_date or date.max, c.code) if figure in FILING_STATES else (c.code,))
    totals = from_vector(rollup(("all", r.vector) for r in rows).get("all"), "total", "合计")
    institutions = await _names(Institution, (r.institution for r in rows), Institution.name)
    cities = await _names(City, (r.city for r in rows), City.name)
    occupations = await _names(Occupation, (r.occupation for r in rows), Occupation.name)
    return Drill(scope=scope, figure=figure, rows=rows, totals=totals,
                 institution_names={k: v["name"] for k, v in institutions.items()},
                 city_names={k: v["name"] for k, v in cities.items()},
                 occupation_names={k: v["name"] for k, v in occupations.items()},
                 filters={"occupation": occupation_id, "level": level or "", "institution": institution_id})


def _optional_int(value: Any, name: str, label: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise Invalid(f"{label}编号不正确", fields={name: "应为数字编号"}) from None
    if not 0 < number < 2**31:
        raise Invalid(f"{label}编号不正确", fields={name: "应为数字编号"})
    return number


# --- the league table -----------------------------------------------------------------------

LEAGUE_COLUMNS = ("pass_rate", "on_time_rate", "anomalies_confirmed", "fill_rate", "enrolled", "capacity",
                  "cohorts", "label")


@dataclass(slots=True)
class League:
    scope: Scope
    rows: list[Figures]
    sort: str
    descending: bool
    total: int
    page: int
    page_size: int


async def institution_figures(scope: Scope) -> dict[int, Figures]:
    """Figures per institution: its cohorts in the scope, and the anomalies flagged against it."""
    result = await grouped_figures(scope, "institution")
    for row in await _anomalies(scope):
        if row["institution"] is not None:
            _count_anomaly(result.setdefault(row["institution"], Figures()), row)
    return result


async def league(actor: Actor, year: Any = None, city: str | None = None, sort: str | None = None,
                 descending: bool = True, page: int = 1, page_size: int = 50) -> League:
    """Institutions ranked: the province's all (or one city's), a city's those working in it."""
    scope = await department_scope(actor, year, city)
    from training.services.plans import check_paging

    page, page_size = check_paging(page, page_size)
    sort = sort or "pass_rate"
    if sort not in LEAGUE_COLUMNS:
        raise Invalid("排序列不正确", fields={"sort": "未知的排序列"})
    figures = await institution_figures(scope)
    query = Institution.select(Institution.id, Institution.name, Institution.status,
                               Institution.city.name.as_alias("city_name"), Institution.city.id.as_alias("city_id"))
    if scope.city_id is not None:
        # a city's league: institutions based in it, and those running cohorts in it
        query = query.where((Institution.city == scope.city_id) | Institution.id.is_in(list(figures) or [0]))
    rows = []
    for institution in await query:
        row = figures.get(institution["id"], Figures())
        row.key, row.label = str(institution["id"]), institution["name"]
        row.extra = {"city_name": institution["city_name"], "status": institution["status"]}
        rows.append(row)

    def value(row: Figures) -> tuple[int, Any]:
        v = getattr(row, sort)
        return (0, v) if v is not None else (1, 0)  # institutions with nothing to measure go last

    rows.sort(key=lambda r: r.label)
    if sort == "label":
        rows.sort(key=lambda r: r.label, reverse=descending)
    else:
        present = [r for r in rows if getattr(r, sort) is not None]
        absent = [r for r in rows if getattr(r, sort) is None]
        present.sort(key=lambda r: getattr(r, sort), reverse=descending)
        rows = present + absent
    total = len(rows)
    start = (page - 1) * page_size
    return League(scope=scope, rows=rows[start:start + page_size], sort=sort, descending=descending, total=total,
                  page=page, page_size=page_size)


# --- the institution dashboard ----------------------------------------------------------------


@dataclass(slots=True)
class InstitutionDashboard:
    year: int
    today: date
    name: str
    figures: Figures
    cohorts_by_status: dict[str, int]
    rolls_open: list[dict[str, Any]]
    rolls_open_total: int
    at_risk: list[dict[str, Any]]
    filings_due: list[TodoItem]
    certificates: dict[str, int]
    province_median_on_time: float | None
    province_median_pass: float | None


async def institution_dashboard(actor: Actor, year: Any = None) -> InstitutionDashboard:
    if not actor.is_institution:
        raise NotFound("培训机构不存在，或不在您的管辖范围内")
    year = check_year(year)
    today = today_in_china()
    mine = actor.institution_id
    scope = Scope(year=year, institution_id=mine)
    figures = (await grouped_figures(scope, "all", today)).get("all") or Figures()
    figures.key = str(mine)
    for row in await _anomalies(scope):
        _count_anomaly(figures, row)
    name = (await Institution.select(Institution.name).where(Institution.id == mine).first() or {}).get("name", "")
    statuses = {row["status"]: int(row["n"]) for row in await _raw(
        "SELECT status AS status, COUNT(*) AS n FROM cohort WHERE institution = {} GROUP BY status", mine)}
    rolls = await _raw(
        "SELECT s.id AS id, s.session_date AS day, s.topic AS topic, c.id AS cohort_id, c.code AS code "
        "FROM training_session s JOIN cohort c ON c.id = s.cohort WHERE c.institution = {} "
        "AND s.session_date <= {} AND s.roll_saved_at IS NULL AND c.status IN ('in_training', 'training_ended') "
        "ORDER BY s.session_date, s.id", mine, today)
    for row in rolls:
        row["day"] = _as_date(row["day"])
    due = await _todo_items(
        " JOIN filing f ON f.cohort = c.id WHERE c.institution = {} AND f.status IN ('draft', 'returned') "
        "AND f.submitted_at IS NULL ORDER BY f.due_date, c.id", mine, today=today, day_column="f.due_date")
    certificates = {row["status"]: int(row["n"]) for row in await _raw(
        "SELECT status AS status, COUNT(*) AS n FROM certificate WHERE institution = {} GROUP BY status", mine)}
    everyone = await institution_figures(Scope(year=year))
    return InstitutionDashboard(
        year=year, today=today, name=name, figures=figures, cohorts_by_status=statuses,
        rolls_open=rolls[:TASK_LIST_LIMIT], rolls_open_total=len(rolls), at_risk=await _at_risk(mine, today),
        filings_due=due, certificates=certificates,
        province_median_on_time=median(f.on_time_rate for f in everyone.values()),
        province_median_pass=median(f.pass_rate for f in everyone.values()))


async def _at_risk(institution_id: int, today: date) -> list[dict[str, Any]]:
    """Trainees of the institution's running cohorts who can no longer reach the required hours."""
    cohorts = await _raw(
        "SELECT c.id AS id, c.code AS code, st.required_hours AS required, st.min_practice_hours AS practice, "
        "st.max_online_share AS online FROM cohort c JOIN occupation_standard st ON st.id = c.standard "
        "WHERE c.institution = {} AND c.status = 'in_training'", institution_id)
    if not cohorts:
        return []
    ids = ",".join(str(int(c["id"])) for c in cohorts)
    remaining: dict[int, Hours] = defaultdict(Hours)
    for row in await _raw(
            "SELECT cohort AS cohort, mode AS mode, kind AS kind, SUM(class_hours) AS hours FROM training_session "
            f"WHERE cohort IN ({ids}) AND (session_date > {{}} OR (session_date = {{}} AND roll_saved_at IS NULL)) "
            "GROUP BY cohort, mode, kind", today, today):
        remaining[row["cohort"]].add(row["mode"], row["kind"], float(row["hours"] or 0))
    credited: dict[int, Hours] = defaultdict(Hours)
    for row in await _raw(
            "SELECT a.enrollment AS enrollment, s.mode AS mode, s.kind AS kind, SUM(a.credited_hours) AS hours "
            "FROM attendance a JOIN training_session s ON s.id = a.session "
            f"WHERE s.cohort IN ({ids}) GROUP BY a.enrollment, s.mode, s.kind"):
        credited[row["enrollment"]].add(row["mode"], row["kind"], float(row["hours"] or 0))
    people = await _raw(
        "SELECT e.id AS id, e.cohort AS cohort, t.name AS name FROM enrollment e JOIN trainee t ON t.id = e.trainee "
        f"WHERE e.cohort IN ({ids}) AND e.status = 'enrolled' ORDER BY e.cohort, e.id")
    by_id = {c["id"]: c for c in cohorts}
    result = []
    for person in people:
        cohort = by_id[person["cohort"]]
        requirement = Requirement(float(cohort["required"]), float(cohort["practice"]), float(cohort["online"]))
        hours = credited.get(person["id"], Hours())
        if not eligibility(hours, requirement).eligible and hours_at_risk(hours, remaining[person["cohort"]],
                                                                          requirement):
            result.append({"enrollment_id": person["id"], "name": person["name"], "cohort_id": cohort["id"],
                           "cohort_code": cohort["code"], "hours": round(hours.total, 1)})
    return result
