"""Annual plans (年度培训计划): one per city per year, its lines, the submit/decide flow and
plan versus actual per line."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from piccolo.query.functions.aggregate import Count

from training import db
from training.access import Actor, ensure_visible, require, restrict
from training.errors import BadInput, Conflict, Invalid, NotFound, StaleVersion
from training.rules import plans as rules
from training.rules.clock import today_in_china, utcnow
from training.rules.cohorts import RUNNING_STATUSES
from training.rules.levels import LEVELS
from training.services import audit
from training.tables import (
    Approval,
    Certificate,
    City,
    Cohort,
    Enrollment,
    Institution,
    Occupation,
    Plan,
    PlanLine,
    PlanLineInstitution,
)

MAX_PAGE_SIZE = 200
STALE = "该年度计划已被他人修改，请刷新后重试"


@dataclass(frozen=True, slots=True)
class LineInput:
    occupation_id: int | None
    level: str
    target_group: str
    class_type: str
    target_headcount: int | None
    institution_ids: tuple[int, ...] = ()
    note: str = ""


@dataclass(slots=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int


@dataclass(slots=True)
class LineProgress:
    line_id: int
    target: int = 0
    cohorts: int = 0
    capacity: int = 0
    enrolled: int = 0
    completed: int = 0
    certified: int = 0

    def share(self, value: int) -> float:
        """Percent of the target, capped at 100 for the bar's width."""
        return min(100.0, round(100.0 * value / self.target, 1)) if self.target else 0.0


@dataclass(slots=True)
class CityProgress:
    city_code: str
    city_name: str
    plan_id: int | None
    status: str
    submitted_late: bool
    lines: list[dict[str, Any]] = field(default_factory=list)
    totals: LineProgress = field(default_factory=lambda: LineProgress(line_id=0))


def check_paging(page: int, page_size: int) -> tuple[int, int]:
    if page < 1:
        raise BadInput("页码应从 1 开始", fields={"page": "页码应从 1 开始"})
    if page > 1_000_000:
        raise BadInput("页码过大", fields={"page": "页码过大"})
    if page_size < 1 or page_size > MAX_PAGE_SIZE:
        raise BadInput(f"每页条数应在 1 至 {MAX_PAGE_SIZE} 之间", fields={"page_size": f"应在 1 至 {MAX_PAGE_SIZE} 之间"})
    return page, page_size


def default_title(city_name: str, year: int) -> str:
    return f"{city_name}{year}年数字技术工程师培育项目年度培训计划"


# --- reading ------------------------------------------------------------------------------

_PLAN_COLUMNS = (
    Plan.id, Plan.year, Plan.title, Plan.status, Plan.submitted_at, Plan.submitted_late, Plan.decided_at,
    Plan.province_comment, Plan.lock_version, Plan.created_at, Plan.updated_at,
    Plan.city.id.as_alias("city_id"), Plan.city.code.as_alias("city_code"), Plan.city.name.as_alias("city_name"),
)


async def list_plans(actor: Actor, *, city: str | None = None, year: int | None = None, status: str | None = None,
                     occupation: int | None = None, page: int = 1, page_size: int = 50) -> Page:
    page, page_size = check_paging(page, page_size)
    conditions = []
    if city:
        conditions.append(Plan.city.code == city)
    if year:
        conditions.append(Plan.year == year)
    if status:
        conditions.append(Plan.status == status)
    if occupation:
        conditions.append(Plan.id.is_in(PlanLine.select(PlanLine.plan).where(PlanLine.occupation == occupation)))
    query = restrict(Plan.select(*_PLAN_COLUMNS), Plan, actor)
    count = restrict(Plan.count(), Plan, actor)
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    rows = await query.order_by(Plan.year, ascending=False).order_by(Plan.city.sort_order).limit(page_size).offset(
        (page - 1) * page_size)
    totals = await _line_totals([r["id"] for r in rows])
    for row in rows:
        row["line_count"], row["total_headcount"] = totals.get(row["id"], (0, 0))
        row["due_date"] = rules.due_date(row["year"])
    return Page(items=rows, total=await count, page=page, page_size=page_size)


async def _line_totals(plan_ids: list[int]) -> dict[int, tuple[int, int]]:
    if not plan_ids:
        return {}
    lines = await PlanLine.select(PlanLine.plan, PlanLine.target_headcount).where(PlanLine.plan.is_in(plan_ids))
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        totals[line["plan"]][0] += 1
        totals[line["plan"]][1] += line["target_headcount"]
    return {k: (v[0], v[1]) for k, v in totals.items()}


async def _load(actor: Actor, plan_id: int) -> dict[str, Any]:
    row = await restrict(Plan.select(*_PLAN_COLUMNS).where(Plan.id == plan_id), Plan, actor).first()
    if row is None:
        raise NotFound("年度计划不存在，或不在您的管辖范围内")
    return row


async def get_plan(actor: Actor, plan_id: int) -> dict[str, Any]:
    plan = await _load(actor, plan_id)
    plan["lines"] = await _lines(plan_id)
    plan["line_count"] = len(plan["lines"])
    plan["total_headcount"] = sum(line["target_headcount"] for line in plan["lines"])
    plan["due_date"] = rules.due_date(plan["year"])
    plan["editable"] = rules.lines_editable(plan["status"])
    return plan


async def _lines(plan_id: int) -> list[dict[str, Any]]:
    lines = await PlanLine.select(
        PlanLine.id, PlanLine.level, PlanLine.target_group, PlanLine.class_type, PlanLine.target_headcount,
        PlanLine.note, PlanLine.occupation.id.as_alias("occupation_id"),
        PlanLine.occupation.name.as_alias("occupation_name"), PlanLine.occupation.field.as_alias("field"),
        PlanLine.occupation.sort_order.as_alias("occupation_order"),
    ).where(PlanLine.plan == plan_id).order_by(PlanLine.id)
    intended = await PlanLineInstitution.select(
        PlanLineInstitution.plan_line, PlanLineInstitution.institution.id.as_alias("id"),
        PlanLineInstitution.institution.name.as_alias("name"),
    ).where(PlanLineInstitution.plan_line.is_in([line["id"] for line in lines] or [0])).order_by(
        PlanLineInstitution.id)
    by_line: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in intended:
        by_line[row["plan_line"]].append({"id": row["id"], "name": row["name"]})
    for line in lines:
        line["institutions"] = by_line.get(line["id"], [])
    return lines


# --- writing -------------------------------------------------------------------------------

def _snapshot(plan: dict[str, Any]) -> dict[str, Any]:
    return {k: plan.get(k) for k in ("status", "title", "lock_version", "province_comment", "submitted_late")}


async def _load_for_write(actor: Actor, plan_id: int, action: str, lock_version: int | None) -> dict[str, Any]:
    plan = await _load(actor, plan_id)
    require(actor, action)
    if lock_version is not None and plan["lock_version"] != lock_version:
        raise StaleVersion(STALE, fields={"lock_version": "版本已过期"})
    return plan


async def _bump(plan: dict[str, Any], values: dict[Any, Any]) -> dict[str, Any]:
    """Conditional update on the version read; zero rows means somebody saved in between."""
    values = {**values, Plan.lock_version: plan["lock_version"] + 1, Plan.updated_at: utcnow()}
    rows = await Plan.update(values).where(
        (Plan.id == plan["id"]) & (Plan.lock_version == plan["lock_version"])
    ).returning(Plan.id, Plan.status, Plan.title, Plan.lock_version, Plan.province_comment, Plan.submitted_late)
    if not rows:
        raise StaleVersion(STALE, fields={"lock_version": "版本已过期"})
    return rows[0]


async def create_plan(actor: Actor, year: int, title: str = "") -> int:
    require(actor, "plan.write")
    faults = rules.year_violations(year, today_in_china())
    if len(title or "") > 128:
        faults["title"] = "标题不超过128个字"
    if faults:
        raise Invalid(next(iter(faults.values())), fields=faults)
    city = await City.select(City.id, City.name, City.code).where(City.id == actor.city_id).first()
    if city is None:
        raise NotFound("您所属的城市不存在")
    duplicate = Conflict(f"{city['name']}{year}年度的计划已存在，每个城市每年只有一份年度计划",
                         fields={"year": "该年度的计划已存在"})
    async with db.transaction():
        if await Plan.exists().where((Plan.city == city["id"]) & (Plan.year == year)):
            raise duplicate
        try:
            row = await Plan.insert(Plan(city=city["id"], year=year, title=(title or "").strip()
                                         or default_title(city["name"], year))).returning(Plan.id)
        except Exception as exc:
            # Two officers creating the same plan at once: the unique index (city, year) decides.
            if type(exc).__name__ in {"UniqueViolationError", "IntegrityError"}:
                raise duplicate from exc
            raise
        plan_id = row[0]["id"]
        await audit.record(actor, "plan.create", "plan", plan_id, after={"year": year, "city": city["code"]},
                           city_code=city["code"], institution_id=None)
    return plan_id


async def update_plan(actor: Actor, plan_id: int, lock_version: int, title: str) -> dict[str, Any]:
    title = (title or "").strip()
    if not title or len(title) > 128:
        raise Invalid("标题不能为空，且不超过128个字", fields={"title": "标题不能为空，且不超过128个字"})
    async with db.transaction():
        plan = await _load_for_write(actor, plan_id, "plan.write", lock_version)
        if not rules.lines_editable(plan["status"]):
            raise Conflict(rules.edit_refusal(plan["status"]), fields={"status": rules.edit_refusal(plan["status"])})
        after = await _bump(plan, {Plan.title: title})
        await audit.record(actor, "plan.update", "plan", plan_id, before=_snapshot(plan), after=after,
                           city_code=plan["city_code"], institution_id=None)
    return after


async def _check_line(line: LineInput, year: int) -> dict[str, Any]:
    faults = rules.line_violations(level=line.level, target_group=line.target_group, class_type=line.class_type,
                                   target_headcount=line.target_headcount)
    occupation = None
    if line.occupation_id is None:
        faults["occupation_id"] = "请选择职业"
    else:
        occupation = await Occupation.select(Occupation.id, Occupation.name).where(
            Occupation.id == line.occupation_id).first()
        if occupation is None:
            faults["occupation_id"] = "职业不存在"
    if len(line.note or "") > 500:
        faults["note"] = "备注不超过500个字"
    institution_ids = tuple(dict.fromkeys(line.institution_ids))
    if institution_ids and occupation is not None and line.level in LEVELS:
        problems = await _intended_problems(institution_ids, occupation["id"], line.level, year)
        if problems:
            faults["institution_ids"] = problems
    if faults:
        raise Invalid("计划明细填写有误：" + "；".join(faults.values()), fields=faults)
    return {"occupation": occupation, "institution_ids": institution_ids}


async def _intended_problems(institution_ids: tuple[int, ...], occupation_id: int, level: str, year: int) -> str:
    """Intended institutions are active and approved for the line's occupation and level in the year."""
    institutions = {r["id"]: r for r in await Institution.select(Institution.id, Institution.name, Institution.status)
                    .where(Institution.id.is_in(list(institution_ids)))}
    approved = {r["institution"] for r in await Approval.select(Approval.institution).where(
        Approval.institution.is_in(list(institution_ids)) & (Approval.occupation == occupation_id)
        & (Approval.level == level) & (Approval.withdrawn == False)  # noqa: E712
        & (Approval.valid_from <= date(year, 12, 31)) & (Approval.valid_to >= date(year, 1, 1)))}
    problems = []
    for institution_id in institution_ids:
        inst = institutions.get(institution_id)
        if inst is None:
            problems.append(f"机构 {institution_id} 不存在")
        elif inst["status"] != "active":
            problems.append(f"{inst['name']}不是正常状态的机构")
        elif institution_id not in approved:
            problems.append(f"{inst['name']}未获准在{year}年培训该职业的{LEVELS[level]}等级")
    return "；".join(problems)


def _line_snapshot(line: LineInput, institution_ids: tuple[int, ...]) -> dict[str, Any]:
    return {"occupation": line.occupation_id, "level": line.level, "target_group": line.target_group,
            "class_type": line.class_type, "target_headcount": line.target_headcount,
            "institutions": list(institution_ids), "note": line.note}


def _editable(plan: dict[str, Any]) -> None:
    if not rules.lines_editable(plan["status"]):
        message = rules.edit_refusal(plan["status"])
        raise Conflict(message, fields={"status": message})


async def add_line(actor: Actor, plan_id: int, line: LineInput, lock_version: int | None = None) -> int:
    async with db.transaction():
        plan = await _load_for_write(actor, plan_id, "plan.write", lock_version)
        _editable(plan)
        checked = await _check_line(line, plan["year"])
        row = await PlanLine.insert(PlanLine(
            plan=plan_id, occupation=line.occupation_id, level=line.level, target_group=line.target_group,
            class_type=line.class_type, target_headcount=line.target_headcount, note=(line.note or "").strip(),
        )).returning(PlanLine.id)
        line_id = row[0]["id"]
        await _set_institutions(line_id, checked["institution_ids"])
        await _bump(plan, {})
        await audit.record(actor, "plan.line_add", "plan_line", line_id,
                           after={"plan": plan_id, **_line_snapshot(line, checked["institution_ids"])},
                           city_code=plan["city_code"], institution_id=None)
    return line_id


async def _set_institutions(line_id: int, institution_ids: tuple[int, ...]) -> None:
    await PlanLineInstitution.delete().where(PlanLineInstitution.plan_line == line_id)
    if institution_ids:
        await PlanLineInstitution.insert(*[PlanLineInstitution(plan_line=line_id, institution=i)
                                           for i in institution_ids])


async def _line_of(plan_id: int, line_id: int) -> dict[str, Any]:
    row = await PlanLine.select().where((PlanLine.id == line_id) & (PlanLine.plan == plan_id)).first()
    if row is None:
        raise NotFound("计划明细不存在")
    row["institutions"] = [r["institution"] for r in await PlanLineInstitution.select(
        PlanLineInstitution.institution).where(PlanLineInstitution.plan_line == line_id)]
    return row


async def update_line(actor: Actor, plan_id: int, line_id: int, line: LineInput, lock_version: int) -> None:
    async with db.transaction():
        plan = await _load_for_write(actor, plan_id, "plan.write", lock_version)
        before = await _line_of(plan_id, line_id)
        _editable(plan)
        checked = await _check_line(line, plan["year"])
        await PlanLine.update({
            PlanLine.occupation: line.occupation_id, PlanLine.level: line.level,
            PlanLine.target_group: line.target_group, PlanLine.class_type: line.class_type,
            PlanLine.target_headcount: line.target_headcount, PlanLine.note: (line.note or "").strip(),
        }).where(PlanLine.id == line_id)
        await _set_institutions(line_id, checked["institution_ids"])
        await _bump(plan, {})
        await audit.record(actor, "plan.line_update", "plan_line", line_id, before=before,
                           after={"plan": plan_id, **_line_snapshot(line, checked["institution_ids"])},
                           city_code=plan["city_code"], institution_id=None)


async def remove_line(actor: Actor, plan_id: int, line_id: int, lock_version: int) -> None:
    async with db.transaction():
        plan = await _load_for_write(actor, plan_id, "plan.write", lock_version)
        before = await _line_of(plan_id, line_id)
        _editable(plan)
        if await Cohort.exists().where(Cohort.plan_line == line_id):
            raise Conflict("已有培训班依据该计划明细开班，不能删除", fields={"line": "已有培训班"})
        await PlanLineInstitution.delete().where(PlanLineInstitution.plan_line == line_id)
        await PlanLine.delete().where(PlanLine.id == line_id)
        await _bump(plan, {})
        await audit.record(actor, "plan.line_remove", "plan_line", line_id, before=before,
                           city_code=plan["city_code"], institution_id=None)


def line_input_from(existing: dict[str, Any], changes: dict[str, Any]) -> LineInput:
    """Merge a partial edit into a line's current values (for PATCH)."""
    merged = {
        "occupation_id": existing.get("occupation_id", existing.get("occupation")),
        "level": existing["level"], "target_group": existing["target_group"],
        "class_type": existing["class_type"], "target_headcount": existing["target_headcount"],
        "institution_ids": tuple(i["id"] if isinstance(i, dict) else i for i in existing.get("institutions", [])),
        "note": existing.get("note", ""),
    }
    merged.update({k: v for k, v in changes.items() if k in merged})
    merged["institution_ids"] = tuple(merged["institution_ids"] or ())
    return LineInput(**merged)


async def get_line(actor: Actor, plan_id: int, line_id: int) -> dict[str, Any]:
    await _load(actor, plan_id)
    for line in await _lines(plan_id):
        if line["id"] == line_id:
            return line
    raise NotFound("计划明细不存在")


async def submit(actor: Actor, plan_id: int, lock_version: int) -> dict[str, Any]:
    async with db.transaction():
        plan = await _load_for_write(actor, plan_id, "plan.write", lock_version)
        if plan["status"] not in rules.SUBMITTABLE_STATUSES:
            message = f"计划状态为“{rules.status_label(plan['status'])}”，不能再次提交"
            raise Conflict(message, fields={"status": message})
        if not await PlanLine.exists().where(PlanLine.plan == plan_id):
            raise Conflict("计划没有任何明细，不能提交", fields={"lines": "请至少添加一条计划明细"})
        now = utcnow()
        late = rules.is_late(plan["year"], now)
        after = await _bump(plan, {Plan.status: "submitted", Plan.submitted_at: now, Plan.submitted_late: late})
        await audit.record(actor, "plan.submit", "plan", plan_id, before=_snapshot(plan), after=after,
                           city_code=plan["city_code"], institution_id=None)
    return after


async def _decide(actor: Actor, plan_id: int, lock_version: int, status: str, comment: str) -> dict[str, Any]:
    async with db.transaction():
        plan = await _load_for_write(actor, plan_id, "plan.decide", lock_version)
        if plan["status"] not in rules.DECIDABLE_STATUSES:
            message = f"计划状态为“{rules.status_label(plan['status'])}”，只有已提交的计划可以审核"
            raise Conflict(message, fields={"status": message})
        after = await _bump(plan, {Plan.status: status, Plan.decided_at: utcnow(), Plan.decided_by: actor.user_id,
                                   Plan.province_comment: comment})
        await audit.record(actor, "plan.accept" if status == "accepted" else "plan.return", "plan", plan_id,
                           before=_snapshot(plan), after=after, city_code=plan["city_code"], institution_id=None)
    return after


async def accept(actor: Actor, plan_id: int, lock_version: int, comment: str = "") -> dict[str, Any]:
    return await _decide(actor, plan_id, lock_version, "accepted", (comment or "").strip())


async def return_plan(actor: Actor, plan_id: int, lock_version: int, comment: str) -> dict[str, Any]:
    faults = rules.return_violations(comment)
    if faults:
        raise Invalid(faults["comment"], fields=faults)
    return await _decide(actor, plan_id, lock_version, "returned", comment.strip())


# --- plan versus actual ------------------------------------------------------------------------

async def _progress_for_lines(lines: list[dict[str, Any]]) -> dict[int, LineProgress]:
    result = {line["id"]: LineProgress(line_id=line["id"], target=line["target_headcount"]) for line in lines}
    if not result:
        return result
    cohorts = await Cohort.select(Cohort.id, Cohort.plan_line, Cohort.capacity).where(
        Cohort.plan_line.is_in(list(result)) & Cohort.status.is_in(list(RUNNING_STATUSES)))
    line_of = {c["id"]: c["plan_line"] for c in cohorts}
    for c in cohorts:
        result[c["plan_line"]].cohorts += 1
        result[c["plan_line"]].capacity += c["capacity"]
    if not line_of:
        return result
    counts = await Enrollment.select(Enrollment.cohort, Enrollment.status, Count(Enrollment.id, alias="n")).where(
        Enrollment.cohort.is_in(list(line_of)) & (Enrollment.status != "withdrawn")
    ).group_by(Enrollment.cohort, Enrollment.status)
    for row in counts:
        progress = result[line_of[row["cohort"]]]
        progress.enrolled += row["n"]
        if row["status"] == "completed":
            progress.completed += row["n"]
    certified = await Certificate.select(Certificate.cohort, Count(Certificate.id, alias="n")).where(
        Certificate.cohort.is_in(list(line_of)) & (Certificate.status == "valid")).group_by(Certificate.cohort)
    for row in certified:
        result[line_of[row["cohort"]]].certified += row["n"]
    return result


def _total(progress: list[LineProgress]) -> LineProgress:
    total = LineProgress(line_id=0)
    for p in progress:
        total.target += p.target
        total.cohorts += p.cohorts
        total.capacity += p.capacity
        total.enrolled += p.enrolled
        total.completed += p.completed
        total.certified += p.certified
    return total


async def progress(actor: Actor, plan_id: int) -> dict[str, Any]:
    """Plan versus actual per line of one plan (city own, province)."""
    if actor.is_institution:
        raise NotFound("年度计划不存在，或不在您的管辖范围内")
    plan = await get_plan(actor, plan_id)
    by_line = await _progress_for_lines(plan["lines"])
    lines = [{**line, "progress": by_line[line["id"]]} for line in plan["lines"]]
    return {"plan": plan, "lines": lines, "totals": _total(list(by_line.values()))}


async def province_progress(actor: Actor, year: int) -> list[CityProgress]:
    """Plan versus actual for every city in the actor's scope, one table per city with totals."""
    if actor.is_institution:
        raise NotFound("年度计划不存在，或不在您的管辖范围内")
    cities = await City.select(City.id, City.code, City.name).order_by(City.sort_order)
    if actor.is_city:
        cities = [c for c in cities if c["id"] == actor.city_id]
    plans = await restrict(Plan.select(Plan.id, Plan.city, Plan.status, Plan.submitted_late).where(Plan.year == year),
                           Plan, actor)
    plan_of_city = {p["city"]: p for p in plans}
    lines_by_plan: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if plans:
        rows = await PlanLine.select(
            PlanLine.id, PlanLine.plan, PlanLine.level, PlanLine.target_headcount, PlanLine.class_type,
            PlanLine.target_group, PlanLine.occupation.name.as_alias("occupation_name"),
        ).where(PlanLine.plan.is_in([p["id"] for p in plans])).order_by(PlanLine.id)
        for row in rows:
            lines_by_plan[row["plan"]].append(row)
    all_lines = [line for lines in lines_by_plan.values() for line in lines]
    by_line = await _progress_for_lines(all_lines)
    result = []
    for city in cities:
        plan = plan_of_city.get(city["id"])
        lines = lines_by_plan.get(plan["id"], []) if plan else []
        entry = CityProgress(city_code=city["code"], city_name=city["name"], plan_id=plan["id"] if plan else None,
                             status=plan["status"] if plan else "", submitted_late=bool(plan and plan["submitted_late"]))
        entry.lines = [{**line, "progress": by_line[line["id"]]} for line in lines]
        entry.totals = _total([by_line[line["id"]] for line in lines])
        result.append(entry)
    return result


def grand_total(cities: list[CityProgress]) -> LineProgress:
    return _total([c.totals for c in cities])


# --- the Word document ---------------------------------------------------------------------

async def document_facts(actor: Actor, plan_id: int) -> dict[str, Any]:
    """Everything the official Word layout needs (city own, province)."""
    if actor.is_institution:
        raise NotFound("年度计划不存在，或不在您的管辖范围内")
    await ensure_visible(Plan, plan_id, actor)
    plan = await get_plan(actor, plan_id)
    issued = plan["submitted_at"] or utcnow()
    return {
        "title": default_title(plan["city_name"], plan["year"]),
        "subtitle": plan["title"] if plan["title"] != default_title(plan["city_name"], plan["year"]) else "",
        "city_name": plan["city_name"],
        "issuer": f"{plan['city_name']}人力资源和社会保障局",
        "year": plan["year"],
        "date": today_in_china(issued),
        "status": plan["status"],
        "submitted_late": plan["submitted_late"],
        "lines": plan["lines"],
    }
