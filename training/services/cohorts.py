"""Cohorts (培训班): an institution opens one against a line of its city's plan; the city decides.

The opening rules live in ``training.rules.cohorts``; this module gathers the facts they need
(institution status, approvals, the city catalogue, the standard in force) and writes the result
in one transaction with its audit event.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

from training import db
from training.access import Actor, require, restrict
from training.errors import BadInput, Conflict, Invalid, NotFound, StaleVersion
from training.rules import cohorts as rules
from training.rules.clock import today_in_china, utcnow
from training.services import audit, notifications
from training.services.plans import Page, check_paging
from training.tables import (
    Approval,
    AuditEvent,
    CatalogueEntry,
    City,
    Cohort,
    Institution,
    PlanLine,
    Standard,
)

STALE = "该培训班已被他人修改，请刷新后重试"
_PG_CODE_LOCK = 7_270_021
EDITABLE_FIELDS = ("name", "direction", "class_type", "partner_name", "partner_credit_code", "planned_start",
                   "planned_end", "capacity")


@dataclass(frozen=True, slots=True)
class CohortInput:
    plan_line_id: int | None
    planned_start: date | None
    planned_end: date | None
    capacity: int | None
    class_type: str = ""  # empty: the plan line's class type
    name: str = ""
    direction: str = ""
    partner_name: str = ""
    partner_credit_code: str = ""


def _raise(violations: list[rules.Violation]) -> None:
    if not violations:
        return
    fields_ = rules.as_fields(violations)
    if rules.is_bad_input(violations):
        raise Invalid(rules.summary(violations), fields=fields_)
    raise Conflict(rules.summary(violations), fields=fields_)


async def _facts(institution_id: int, city_id: int, occupation_id: int) -> dict[str, Any]:
    """What the opening rules need to know, read from the tables themselves."""
    institution = await Institution.select(Institution.id, Institution.status, Institution.city,
                                           Institution.name).where(Institution.id == institution_id).first()
    if institution is None:
        raise NotFound("培训机构不存在")
    approvals = [
        rules.ApprovalSpan(level=a["level"], valid_from=a["valid_from"], valid_to=a["valid_to"])
        for a in await Approval.select(Approval.level, Approval.valid_from, Approval.valid_to).where(
            (Approval.institution == institution_id) & (Approval.occupation == occupation_id)
            & (Approval.withdrawn == False))  # noqa: E712
    ]
    in_catalogue = await CatalogueEntry.exists().where(
        (CatalogueEntry.city == city_id) & (CatalogueEntry.institution == institution_id)
        & (CatalogueEntry.occupation == occupation_id) & CatalogueEntry.removed_at.is_null())
    city = await City.select(City.name, City.code).where(City.id == city_id).first()
    return {"institution": institution, "approvals": approvals, "in_catalogue": in_catalogue,
            "city_name": city["name"] if city else "本市", "city_code": city["code"] if city else ""}


def _violations(facts: dict[str, Any], level: str, values: dict[str, Any]) -> list[rules.Violation]:
    return rules.opening_violations(
        institution_status=facts["institution"]["status"], approvals=facts["approvals"], level=level,
        in_catalogue=facts["in_catalogue"], class_type=values["class_type"], partner_name=values["partner_name"],
        partner_credit_code=values["partner_credit_code"], planned_start=values["planned_start"],
        planned_end=values["planned_end"], capacity=values["capacity"], today=today_in_china(),
        name=values["name"], city_name=facts["city_name"])


async def _open_line(actor: Actor, plan_line_id: int | None) -> dict[str, Any]:
    """A line of the institution's own city's submitted or accepted plan."""
    missing = Invalid("请选择本市已提交或已通过的年度计划中的一条明细",
                      fields={"plan_line": "计划明细不存在，或不属于本市已提交/已通过的年度计划"})
    if plan_line_id is None:
        raise missing
    line = await PlanLine.select(
        PlanLine.id, PlanLine.level, PlanLine.class_type, PlanLine.occupation.id.as_alias("occupation_id"),
        PlanLine.occupation.name.as_alias("occupation_name"), PlanLine.plan.id.as_alias("plan_id"),
        PlanLine.plan.year.as_alias("year"), PlanLine.plan.status.as_alias("plan_status"),
        PlanLine.plan.city.id.as_alias("city_id"),
    ).where(PlanLine.id == plan_line_id).first()
    if line is None or line["city_id"] != actor.city_id or line["plan_status"] not in ("submitted", "accepted"):
        raise missing
    return line


async def _standard_in_force(occupation_id: int, level: str) -> int:
    row = await Standard.select(Standard.id).where(
        (Standard.occupation == occupation_id) & (Standard.level == level) & (Standard.active == True)  # noqa: E712
    ).order_by(Standard.created_at, ascending=False).order_by(Standard.id, ascending=False).first()
    if row is None:
        raise Conflict("该职业等级暂无生效的职业标准，不能开班", fields={"level": "暂无生效的职业标准"})
    return row["id"]


async def _next_code(year: int, city_code: str) -> str:
    if db.is_postgres():
        await Cohort.raw("SELECT pg_advisory_xact_lock({})", _PG_CODE_LOCK)
    prefix = rules.code_prefix(year, city_code)
    rows = await Cohort.select(Cohort.code).where(Cohort.code.like(prefix + "%"))
    return rules.cohort_code(year, city_code, rules.next_sequence((r["code"] for r in rows), prefix))


def _clean(data: CohortInput) -> CohortInput:
    return replace(
        data, name=(data.name or "").strip(), direction=(data.direction or "").strip(),
        class_type=(data.class_type or "").strip(), partner_name=(data.partner_name or "").strip(),
        partner_credit_code=(data.partner_credit_code or "").strip().upper(),
    )


async def open_cohort(actor: Actor, data: CohortInput) -> int:
    """An institution's application to open a cohort (开班申请), saved as a draft."""
    require(actor, "cohort.write")
    data = _clean(data)
    async with db.transaction():
        line = await _open_line(actor, data.plan_line_id)
        facts = await _facts(actor.institution_id, line["city_id"], line["occupation_id"])
        values = {f.name: getattr(data, f.name) for f in fields(CohortInput)}
        values["class_type"] = data.class_type or line["class_type"]
        if values["class_type"] not in rules.PARTNER_CLASS_TYPES:
            values["partner_name"] = values["partner_credit_code"] = ""
        _raise(_violations(facts, line["level"], values))
        standard_id = await _standard_in_force(line["occupation_id"], line["level"])
        code = await _next_code(line["year"], facts["city_code"])
        name = values["name"] or rules.default_name(line["occupation_name"], line["level"], values["class_type"])
        row = await Cohort.insert(Cohort(
            code=code, name=name, institution=actor.institution_id, city=line["city_id"], plan_line=line["id"],
            occupation=line["occupation_id"], level=line["level"], standard=standard_id,
            direction=values["direction"], class_type=values["class_type"], partner_name=values["partner_name"],
            partner_credit_code=values["partner_credit_code"], planned_start=values["planned_start"],
            planned_end=values["planned_end"], capacity=values["capacity"], status="draft",
        )).returning(Cohort.id)
        cohort_id = row[0]["id"]
        await audit.record(actor, "cohort.create", "cohort", cohort_id, after={
            "code": code, "status": "draft", "plan_line": line["id"], "occupation": line["occupation_id"],
            "level": line["level"], "standard": standard_id, **{k: values[k] for k in EDITABLE_FIELDS if k != "name"},
            "name": name,
        }, city_code=facts["city_code"], institution_id=actor.institution_id)
    return cohort_id


# --- reading ------------------------------------------------------------------------------

_COLUMNS = (
    Cohort.id, Cohort.code, Cohort.name, Cohort.level, Cohort.direction, Cohort.class_type, Cohort.partner_name,
    Cohort.partner_credit_code, Cohort.planned_start, Cohort.planned_end, Cohort.capacity, Cohort.status,
    Cohort.status_reason, Cohort.submitted_at, Cohort.decided_at, Cohort.lock_version, Cohort.created_at,
    Cohort.updated_at, Cohort.plan_line.id.as_alias("plan_line_id"), Cohort.plan_line.plan.id.as_alias("plan_id"),
    Cohort.plan_line.plan.year.as_alias("plan_year"),
    Cohort.institution.id.as_alias("institution_id"), Cohort.institution.name.as_alias("institution_name"),
    Cohort.city.id.as_alias("city_id"), Cohort.city.code.as_alias("city_code"), Cohort.city.name.as_alias("city_name"),
    Cohort.occupation.id.as_alias("occupation_id"), Cohort.occupation.name.as_alias("occupation_name"),
    Cohort.standard.id.as_alias("standard_id"),
)


async def list_cohorts(actor: Actor, *, city: str | None = None, year: int | None = None,
                       occupation: int | None = None, status: str | None = None, institution: int | None = None,
                       plan_line: int | None = None, page: int = 1, page_size: int = 50) -> Page:
    page, page_size = check_paging(page, page_size)
    if year is not None and not 1000 <= year <= 9999:
        raise BadInput("年度不正确", fields={"year": "请填写四位年份"})
    conditions = []
    if city:
        conditions.append(Cohort.city.code == city)
    if year:
        conditions.append((Cohort.planned_start >= date(year, 1, 1)) & (Cohort.planned_start <= date(year, 12, 31)))
    if occupation:
        conditions.append(Cohort.occupation == occupation)
    if status:
        conditions.append(Cohort.status == status)
    if institution:
        conditions.append(Cohort.institution == institution)
    if plan_line:
        conditions.append(Cohort.plan_line == plan_line)
    query = restrict(Cohort.select(*_COLUMNS), Cohort, actor)
    count = restrict(Cohort.count(), Cohort, actor)
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    rows = await query.order_by(Cohort.planned_start, ascending=False).order_by(Cohort.id, ascending=False).limit(
        page_size).offset((page - 1) * page_size)
    return Page(items=rows, total=await count, page=page, page_size=page_size)


async def _load(actor: Actor, cohort_id: int, *extra: Any) -> dict[str, Any]:
    row = await restrict(Cohort.select(*_COLUMNS, *extra).where(Cohort.id == cohort_id), Cohort, actor).first()
    if row is None:
        raise NotFound("培训班不存在，或不在您的管辖范围内")
    return row


# The standard the cohort was opened under, read in the same query as the cohort.
_STANDARD_COLUMNS = {
    "version_label": Cohort.standard.version_label, "required_hours": Cohort.standard.required_hours,
    "min_practice_hours": Cohort.standard.min_practice_hours, "max_online_share": Cohort.standard.max_online_share,
    "illustrative": Cohort.standard.illustrative,
}


async def get_cohort(actor: Actor, cohort_id: int) -> dict[str, Any]:
    row = await _load(actor, cohort_id, *(column.as_alias(f"standard_{name}")
                                           for name, column in _STANDARD_COLUMNS.items()))
    standard = {name: row.pop(f"standard_{name}") for name in _STANDARD_COLUMNS}
    row["standard"] = {"id": row["standard_id"], **standard} if row["standard_id"] is not None else None
    row["history"] = await history(cohort_id)
    return row


async def history(cohort_id: int) -> list[dict[str, Any]]:
    """The cohort's status history, read from its audit events (the caller checked the scope)."""
    return await AuditEvent.select(
        AuditEvent.id, AuditEvent.occurred_at, AuditEvent.username, AuditEvent.org_role, AuditEvent.action,
        AuditEvent.after,
    ).where((AuditEvent.entity == "cohort") & (AuditEvent.entity_id == str(cohort_id))).order_by(
        AuditEvent.id).output(load_json=True)


async def offerable_lines(actor: Actor) -> list[dict[str, Any]]:
    """Lines of the institution's city's submitted/accepted plans it is approved (not withdrawn) for."""
    if not actor.is_institution:
        return []
    approved = {(a["occupation"], a["level"]) for a in await Approval.select(Approval.occupation, Approval.level)
                .where((Approval.institution == actor.institution_id) & (Approval.withdrawn == False))}  # noqa: E712
    lines = await PlanLine.select(
        PlanLine.id, PlanLine.level, PlanLine.target_group, PlanLine.class_type, PlanLine.target_headcount,
        PlanLine.occupation.id.as_alias("occupation_id"), PlanLine.occupation.name.as_alias("occupation_name"),
        PlanLine.plan.year.as_alias("year"), PlanLine.plan.status.as_alias("plan_status"),
    ).where((PlanLine.plan.city == actor.city_id) & PlanLine.plan.status.is_in(["submitted", "accepted"])).order_by(
        PlanLine.plan.year, ascending=False).order_by(PlanLine.id)
    return [line for line in lines if (line["occupation_id"], line["level"]) in approved]


# --- writing -------------------------------------------------------------------------------

def _snapshot(cohort: dict[str, Any]) -> dict[str, Any]:
    return {k: cohort.get(k) for k in ("status", "lock_version", "status_reason", *EDITABLE_FIELDS)}


async def _load_for_write(actor: Actor, cohort_id: int, action: str, lock_version: int | None) -> dict[str, Any]:
    cohort = await _load(actor, cohort_id)
    require(actor, action)
    if lock_version is not None and cohort["lock_version"] != lock_version:
        raise StaleVersion(STALE, fields={"lock_version": "版本已过期"})
    return cohort


async def _save(cohort: dict[str, Any], values: dict[Any, Any]) -> dict[str, Any]:
    values = {**values, Cohort.lock_version: cohort["lock_version"] + 1, Cohort.updated_at: utcnow()}
    rows = await Cohort.update(values).where(
        (Cohort.id == cohort["id"]) & (Cohort.lock_version == cohort["lock_version"])
    ).returning(Cohort.id, Cohort.status, Cohort.lock_version, Cohort.status_reason, Cohort.name, Cohort.direction,
                Cohort.class_type, Cohort.partner_name, Cohort.partner_credit_code, Cohort.planned_start,
                Cohort.planned_end, Cohort.capacity)
    if not rows:
        raise StaleVersion(STALE, fields={"lock_version": "版本已过期"})
    return rows[0]


async def _record(actor: Actor, action: str, cohort: dict[str, Any], after: dict[str, Any]) -> None:
    await audit.record(actor, action, "cohort", cohort["id"], before=_snapshot(cohort), after=after,
                       city_code=cohort["city_code"], institution_id=cohort["institution_id"])


def _refuse_state(cohort: dict[str, Any], allowed: frozenset[str], what: str) -> None:
    if cohort["status"] not in allowed:
        message = f"培训班状态为“{rules.status_label(cohort['status'])}”，不能{what}"
        raise Conflict(message, fields={"status": message})


async def _check_rules(cohort: dict[str, Any], values: dict[str, Any]) -> None:
    facts = await _facts(cohort["institution_id"], cohort["city_id"], cohort["occupation_id"])
    _raise(_violations(facts, cohort["level"], values))


async def update_cohort(actor: Actor, cohort_id: int, lock_version: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Edit a draft or rejected cohort; every opening rule is checked again on the result."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise Invalid("这些字段不能修改：" + "、".join(sorted(unknown)), fields={k: "不能修改" for k in unknown})
    async with db.transaction():
        cohort = await _load_for_write(actor, cohort_id, "cohort.write", lock_version)
        _refuse_state(cohort, rules.EDITABLE_STATUSES, "修改（只有草稿或未批准的培训班可以修改）")
        values = {k: cohort[k] for k in EDITABLE_FIELDS}
        for key, value in changes.items():
            values[key] = value.strip() if isinstance(value, str) else value
        values["partner_credit_code"] = (values["partner_credit_code"] or "").upper()
        if values["class_type"] not in rules.PARTNER_CLASS_TYPES:
            values["partner_name"] = values["partner_credit_code"] = ""
        if not values["name"]:
            raise Invalid("培训班名称不能为空", fields={"name": "培训班名称不能为空"})
        await _check_rules(cohort, values)
        after = await _save(cohort, {getattr(Cohort, k): v for k, v in values.items()})
        await _record(actor, "cohort.update", cohort, after)
    return after


async def submit(actor: Actor, cohort_id: int, lock_version: int) -> dict[str, Any]:
    async with db.transaction():
        cohort = await _load_for_write(actor, cohort_id, "cohort.write", lock_version)
        _refuse_state(cohort, rules.SUBMITTABLE_STATUSES, "提交审批")
        await _check_rules(cohort, {k: cohort[k] for k in EDITABLE_FIELDS})
        after = await _save(cohort, {Cohort.status: "submitted", Cohort.submitted_at: utcnow(),
                                     Cohort.status_reason: ""})
        await _record(actor, "cohort.submit", cohort, after)
        await notifications.notify(
            recipient_role="city", city_id=cohort["city_id"], kind="cohort_submitted",
            title=f"培训班待审批：{cohort['code']} {after['name']}",
            body=f"{cohort['institution_name']}提交了培训班 {cohort['code']}「{after['name']}」"
                 f"（{cohort['occupation_name']}，{after['planned_start']} 至 {after['planned_end']}），请审批。",
            link=f"/cohorts/{cohort['id']}", dedupe_key=f"cohort:{cohort['id']}:submitted:{after['lock_version']}")
    return after


async def approve(actor: Actor, cohort_id: int, lock_version: int) -> dict[str, Any]:
    async with db.transaction():
        cohort = await _load_for_write(actor, cohort_id, "cohort.decide", lock_version)
        _refuse_state(cohort, rules.DECIDABLE_STATUSES, "审批（只有待审批的培训班可以审批）")
        after = await _save(cohort, {Cohort.status: "approved", Cohort.decided_at: utcnow(),
                                     Cohort.decided_by: actor.user_id, Cohort.status_reason: ""})
        await _record(actor, "cohort.approve", cohort, after)
    return after


async def reject(actor: Actor, cohort_id: int, lock_version: int, reason: str) -> dict[str, Any]:
    faults = rules.decision_violations(reason)
    if faults:
        raise Invalid(faults["reason"], fields=faults)
    async with db.transaction():
        cohort = await _load_for_write(actor, cohort_id, "cohort.decide", lock_version)
        _refuse_state(cohort, rules.DECIDABLE_STATUSES, "审批（只有待审批的培训班可以审批）")
        after = await _save(cohort, {Cohort.status: "rejected", Cohort.decided_at: utcnow(),
                                     Cohort.decided_by: actor.user_id, Cohort.status_reason: reason.strip()})
        await _record(actor, "cohort.reject", cohort, after)
    return after


async def cancel(actor: Actor, cohort_id: int, lock_version: int, reason: str = "") -> dict[str, Any]:
    async with db.transaction():
        cohort = await _load_for_write(actor, cohort_id, "cohort.write", lock_version)
        refusal = rules.cancel_refusal(cohort["status"], cohort["planned_start"], today_in_china())
        if refusal:
            raise Conflict(refusal, fields={"status": refusal})
        after = await _save(cohort, {Cohort.status: "cancelled", Cohort.status_reason: (reason or "").strip()})
        await _record(actor, "cohort.cancel", cohort, after)
    return after
