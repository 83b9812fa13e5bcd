"""Builders for plans and cohorts: Piccolo inserts straight into the tables (no other area's code)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tests.factories import city_id, make_institution, make_user
from training.access import Actor
from training.rules.clock import today_in_china, utcnow
from training.tables import Approval, CatalogueEntry, Cohort, Occupation, Plan, PlanLine, Standard


async def occupation_id(index: int = 0) -> int:
    rows = await Occupation.select(Occupation.id).order_by(Occupation.sort_order).order_by(Occupation.id)
    return rows[index]["id"]


async def make_approval(institution_id: int, occupation: int, level: str = "junior", *,
                        valid_from: date | None = None, valid_to: date | None = None,
                        withdrawn: bool = False) -> int:
    today = today_in_china()
    row = await Approval.insert(Approval(
        institution=institution_id, occupation=occupation, level=level,
        valid_from=valid_from or date(today.year - 1, 1, 1), valid_to=valid_to or date(today.year + 2, 12, 31),
        document_number="鲁人社字〔2026〕1号", withdrawn=withdrawn,
    )).returning(Approval.id)
    return row[0]["id"]


async def make_catalogue_entry(city_code: str, institution_id: int, occupation: int, *, removed: bool = False) -> int:
    row = await CatalogueEntry.insert(CatalogueEntry(
        city=await city_id(city_code), institution=institution_id, occupation=occupation,
        added_reason="测试", removed_at=utcnow() if removed else None,
    )).returning(CatalogueEntry.id)
    return row[0]["id"]


async def make_plan(city_code: str = "370100", year: int | None = None, status: str = "draft",
                    lines: list[dict[str, Any]] | None = None) -> tuple[int, list[int]]:
    year = year or today_in_china().year
    row = await Plan.insert(Plan(city=await city_id(city_code), year=year, status=status,
                                 title=f"{city_code} {year} 计划",
                                 submitted_at=utcnow() if status != "draft" else None)).returning(Plan.id)
    plan_id = row[0]["id"]
    line_ids = []
    for line in lines or []:
        values = {"level": "junior", "target_group": "graduates", "class_type": "regular", "target_headcount": 100,
                  **line}
        if "occupation" not in values:
            values["occupation"] = await occupation_id(0)
        inserted = await PlanLine.insert(PlanLine(plan=plan_id, **values)).returning(PlanLine.id)
        line_ids.append(inserted[0]["id"])
    return plan_id, line_ids


@dataclass
class Scene:
    """A city with a submitted plan line, and an institution ready to open a cohort against it."""

    city_code: str
    occupation: int
    institution_id: int
    plan_id: int
    line_id: int
    city: Actor
    institution: Actor
    province: Actor


async def make_scene(city_code: str = "370100", *, level: str = "junior", class_type: str = "regular",
                     plan_status: str = "submitted", approve: bool = True, catalogue: bool = True,
                     institution_status: str = "active", prefix: str = "") -> Scene:
    occupation = await occupation_id(0)
    institution_id = await make_institution(city_code, status=institution_status)
    if approve:
        await make_approval(institution_id, occupation, level)
    if catalogue:
        await make_catalogue_entry(city_code, institution_id, occupation)
    plan_id, (line_id,) = await make_plan(city_code, status=plan_status, lines=[
        {"occupation": occupation, "level": level, "class_type": class_type}])
    return Scene(
        city_code=city_code, occupation=occupation, institution_id=institution_id, plan_id=plan_id,
        line_id=line_id,
        city=await make_user("city", city_code, username=f"{prefix}city{city_code}"),
        institution=await make_user("institution", str(institution_id), username=f"{prefix}inst{institution_id}"),
        province=await make_user("province", username=f"{prefix}prov{institution_id}"),
    )


def future(days: int = 10) -> date:
    return today_in_china() + timedelta(days=days)


async def make_cohort(scene: Scene, status: str = "approved", **values: Any) -> int:
    """A cohort row inserted directly (for plan-versus-actual and visibility tests)."""
    standard = await Standard.select(Standard.id).where(
        (Standard.occupation == scene.occupation) & (Standard.level == "junior")).first()
    count = await Cohort.count()
    row = await Cohort.insert(Cohort(
        code=values.pop("code", f"T{scene.city_code}-{count + 1:04d}"), name=values.pop("name", "测试班"),
        institution=scene.institution_id, city=await city_id(scene.city_code), plan_line=scene.line_id,
        occupation=scene.occupation, level="junior", standard=standard["id"],
        planned_start=values.pop("planned_start", future(10)), planned_end=values.pop("planned_end", future(40)),
        capacity=values.pop("capacity", 30), status=status, **values,
    )).returning(Cohort.id)
    return row[0]["id"]
