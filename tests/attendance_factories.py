"""Builders for the attendance area: a cohort ready to enroll, sessions, enrollments."""

from __future__ import annotations

import itertools
from datetime import date, time, timedelta
from typing import Any

from tests.factories import city_id, id_number, make_institution, make_user
from training.access import Actor
from training.rules.clock import today_in_china
from training.tables import Cohort, Enrollment, Occupation, Standard, Trainee, TrainingSession

_serial = itertools.count(1)


async def make_cohort(city_code: str = "370100", *, institution_id: int | None = None, status: str = "in_training",
                      start: date | None = None, end: date | None = None, capacity: int = 60,
                      occupation_index: int = 0, level: str = "junior", **values: Any) -> dict[str, Any]:
    """A cohort row (approved/in training by default) running from 20 days ago to 40 days ahead."""
    today = today_in_china()
    institution_id = institution_id or await make_institution(city_code)
    occupations = await Occupation.select(Occupation.id).order_by(Occupation.sort_order)
    occupation = occupations[occupation_index]["id"]
    standard = await Standard.select(Standard.id).where(
        (Standard.occupation == occupation) & (Standard.level == level)).first()
    n = next(_serial)
    row = await Cohort.insert(Cohort(
        code=values.pop("code", f"C{today:%Y}-{n:04d}"), name=values.pop("name", f"测试培训班{n}"),
        institution=institution_id, city=await city_id(city_code), occupation=occupation, level=level,
        standard=standard["id"], planned_start=start or today - timedelta(days=20),
        planned_end=end or today + timedelta(days=40), capacity=capacity, status=status, **values,
    )).returning(Cohort.id)
    return {"id": row[0]["id"], "institution_id": institution_id, "city_code": city_code}


async def institution_actor(cohort: dict[str, Any], username: str | None = None) -> Actor:
    return await make_user("institution", str(cohort["institution_id"]), username=username)


async def make_session(cohort_id: int, *, day: date | None = None, start: time = time(9, 0), end: time = time(12, 0),
                       mode: str = "offline", kind: str = "theory", hours: float = 4.0) -> int:
    row = await TrainingSession.insert(TrainingSession(
        cohort=cohort_id, session_date=day or today_in_china() - timedelta(days=1), start_time=start, end_time=end,
        mode=mode, kind=kind, class_hours=hours, topic="课程", teacher="李老师",
        place="教室" if mode == "offline" else "", platform="平台" if mode == "online" else "",
    )).returning(TrainingSession.id)
    return row[0]["id"]


async def make_enrollment(cohort_id: int, *, name: str | None = None, number: str | None = None,
                          enrolled_on: date | None = None, status: str = "enrolled") -> dict[str, Any]:
    number = number or id_number()
    trainee = await Trainee.select(Trainee.id).where(Trainee.id_number == number).first()
    if trainee is None:
        trainee = (await Trainee.insert(Trainee(
            id_number=number, name=name or f"学员{next(_serial)}", sex="M", birth_date=date(1990, 5, 17),
        )).returning(Trainee.id))[0]
    row = await Enrollment.insert(Enrollment(
        trainee=trainee["id"], cohort=cohort_id, enrolled_on=enrolled_on or today_in_china() - timedelta(days=30),
        status=status,
    )).returning(Enrollment.id)
    return {"id": row[0]["id"], "trainee_id": trainee["id"], "id_number": number}
