"""Exports for the departments (数据导出): continuing-education hours per person per year, and the
certificate holders by city, occupation and level for professional-title recognition.

City and province only, each narrowed to its scope; ID numbers are masked in every export.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

from piccolo.query.functions.aggregate import Sum

from training.access import Actor, require, restrict
from training.documents import tabular
from training.errors import Invalid, NotFound
from training.rules.identity import mask_id_number
from training.rules.levels import CERTIFICATE_STATUSES, LEVELS
from training.tables import Attendance, Certificate, City, Enrollment, Trainee

BATCH = 500
FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "csv": "text/csv; charset=utf-8"}
HOURS_HEADERS = ["年度", "姓名", "身份证号", "工作单位", "继续教育学时合计", "线上学时", "线下学时", "理论学时",
                 "实操学时", "培训班", "培训证书编号"]
HOLDER_HEADERS = ["城市", "职业", "等级", "证书编号", "姓名", "性别", "身份证号", "工作单位", "培训学时",
                  "培训机构", "发证日期", "证书状态"]


@dataclass(frozen=True, slots=True)
class ExportFilter:
    year: int
    city: str = ""  # city code; a city officer's is always their own
    occupation: int | None = None
    level: str = ""
    include_revoked: bool = False


async def _check(actor: Actor, selection: ExportFilter) -> ExportFilter:
    require(actor, "stats.read")
    if not 2000 <= selection.year <= 2100:
        raise Invalid("年度不正确", fields={"year": "请填写四位年份"})
    if selection.level and selection.level not in LEVELS:
        raise Invalid("等级不正确", fields={"level": "等级应为初级、中级或高级"})
    if selection.city:
        if actor.is_city and selection.city != actor.city_code:
            raise NotFound("城市不存在，或不在您的管辖范围内")
        if not await City.exists().where(City.code == selection.city):
            raise NotFound("城市不存在")
    return selection


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i:i + BATCH] for i in range(0, len(items), BATCH)]


async def hours_rows(actor: Actor, selection: ExportFilter) -> list[list[Any]]:
    """One row per person: credited hours of the year's sessions (each counts to the person's
    continuing-education certificate), by mode and kind, with the cohorts and certificates."""
    selection = await _check(actor, selection)
    start, end = date(selection.year, 1, 1), date(selection.year, 12, 31)
    query = Attendance.select(
        Attendance.enrollment.trainee.id.as_alias("trainee_id"), Attendance.session.mode.as_alias("mode"),
        Attendance.session.kind.as_alias("kind"), Sum(Attendance.credited_hours).as_alias("hours"),
    ).where((Attendance.session.session_date >= start) & (Attendance.session.session_date <= end)
            & (Attendance.credited_hours > 0))
    if selection.city:
        query = query.where(Attendance.session.cohort.city.code == selection.city)
    totals: dict[int, dict[str, float]] = {}
    for row in await restrict(query, Attendance, actor).group_by(
            Attendance.enrollment.trainee.id, Attendance.session.mode, Attendance.session.kind):
        person = totals.setdefault(row["trainee_id"], {"online": 0.0, "offline": 0.0, "theory": 0.0, "practice": 0.0})
        person[row["mode"]] += float(row["hours"] or 0)
        person[row["kind"]] += float(row["hours"] or 0)
    people: dict[int, dict[str, Any]] = {}
    cohorts: dict[int, set[str]] = {}
    certificates: dict[int, list[str]] = {}
    for chunk in _chunks(list(totals)):
        for row in await Trainee.select(Trainee.id, Trainee.name, Trainee.id_number, Trainee.employer).where(
                Trainee.id.is_in(chunk)):
            people[row["id"]] = row
        enrollment_query = Enrollment.select(Enrollment.trainee, Enrollment.cohort.code.as_alias("code")).where(
            Enrollment.trainee.is_in(chunk) & (Enrollment.cohort.planned_end >= start)
            & (Enrollment.cohort.planned_start <= end))
        if selection.city:
            enrollment_query = enrollment_query.where(Enrollment.cohort.city.code == selection.city)
        for row in await restrict(enrollment_query, Enrollment, actor):
            cohorts.setdefault(row["trainee"], set()).add(row["code"])
        cert_query = Certificate.select(Certificate.trainee, Certificate.number).where(
            Certificate.trainee.is_in(chunk) & (Certificate.year == selection.year) & (Certificate.status == "valid"))
        if selection.city:
            cert_query = cert_query.where(Certificate.city.code == selection.city)
        for row in await restrict(cert_query, Certificate, actor):
            certificates.setdefault(row["trainee"], []).append(row["number"])
    out = []
    for trainee_id, person in sorted(people.items(), key=lambda item: (item[1]["name"], item[0])):
        h = totals[trainee_id]
        out.append([selection.year, person["name"], mask_id_number(person["id_number"]), person["employer"],
                     round(h["online"] + h["offline"], 1), round(h["online"], 1), round(h["offline"], 1),
                     round(h["theory"], 1), round(h["practice"], 1), "、".join(sorted(cohorts.get(trainee_id, ()))),
                     "、".join(sorted(certificates.get(trainee_id, [])))])
    return out


async def holder_rows(actor: Actor, selection: ExportFilter) -> list[list[Any]]:
    """Certificate holders of the year by city, occupation and level (valid ones unless asked)."""
    selection = await _check(actor, selection)
    query = Certificate.select(
        Certificate.city.name.as_alias("city_name"), Certificate.city.sort_order.as_alias("city_order"),
        Certificate.occupation.name.as_alias("occupation_name"), Certificate.level, Certificate.number,
        Certificate.trainee.name.as_alias("name"), Certificate.trainee.sex.as_alias("sex"),
        Certificate.trainee.id_number.as_alias("id_number"), Certificate.trainee.employer.as_alias("employer"),
        Certificate.hours, Certificate.institution.name.as_alias("institution_name"), Certificate.issue_date,
        Certificate.status,
    ).where(Certificate.year == selection.year)
    if selection.city:
        query = query.where(Certificate.city.code == selection.city)
    if selection.occupation:
        query = query.where(Certificate.occupation == selection.occupation)
    if selection.level:
        query = query.where(Certificate.level == selection.level)
    if not selection.include_revoked:
        query = query.where(Certificate.status == "valid")
    rows = await restrict(query, Certificate, actor)
    level_order = {code: i for i, code in enumerate(LEVELS)}
    rows.sort(key=lambda r: (r["city_order"], r["occupation_name"], level_order.get(r["level"], 9), r["number"]))
    return [[r["city_name"], r["occupation_name"], LEVELS.get(r["level"], r["level"]), r["number"], r["name"],
             {"M": "男", "F": "女"}.get(r["sex"], ""), mask_id_number(r["id_number"]), r["employer"], r["hours"],
             r["institution_name"], r["issue_date"].isoformat(), CERTIFICATE_STATUSES.get(r["status"], r["status"])]
            for r in rows]


async def render(kind: str, fmt: str, actor: Actor, selection: ExportFilter) -> tuple[bytes, str, str]:
    """(content, media type, file name) of one export in xlsx or CSV."""
    if fmt not in FORMATS:
        raise NotFound("不支持的导出格式")
    if kind == "hours":
        headers, rows, title = HOURS_HEADERS, await hours_rows(actor, selection), "继续教育学时"
        name = f"continuing-education-hours-{selection.year}"
    elif kind == "holders":
        headers, rows, title = HOLDER_HEADERS, await holder_rows(actor, selection), "证书持有人"
        name = f"certificate-holders-{selection.year}"
    else:
        raise NotFound("导出内容不存在")
    if selection.city:
        name += f"-{selection.city}"
    if fmt == "csv":
        content = await asyncio.to_thread(tabular.write_csv, headers, rows)
    else:
        content = await asyncio.to_thread(tabular.write_xlsx, [(title, headers, rows)])
    return content, FORMATS[fmt], f"{name}.{fmt}"
