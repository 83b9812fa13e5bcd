"""Seeds a database for the crash-safety tests: one institution with a clerk who can sign in, and a
cohort in training with ``trainees`` enrollments and ``sessions`` past online sessions.

    python -m tests.crash.seed TRAINEES SESSIONS     (database from TRAINING_DATABASE_URL)

Prints JSON: {"cohort": id, "username": …, "password": …, "numbers": [ID numbers], "sessions": [ids]}.
Runs in its own process so the test process never binds a second engine.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date, time, timedelta

from training import db
from training.rules.clock import today_in_china
from training.rules.identity import credit_check_character, id_check_character
from training.services.accounts import create_user
from training.settings import Settings
from training.tables import City, Cohort, Enrollment, Institution, Occupation, Standard, Trainee, TrainingSession

USERNAME = "crash-clerk"
PASSWORD = "crash-password-1"
BATCH = 500


def person(i: int) -> str:
    born = date(1970, 1, 1) + timedelta(days=i // 400)
    body = f"370102{born:%Y%m%d}{(i % 400) * 2 + 1:03d}"
    return body + id_check_character(body)


async def seed(trainees: int, sessions: int) -> dict:
    today = today_in_china()
    city = await City.select(City.id).where(City.code == "370100").first()
    occupation = await Occupation.select(Occupation.id).order_by(Occupation.sort_order).first()
    standard = await Standard.select(Standard.id).where(
        (Standard.occupation == occupation["id"]) & (Standard.level == "junior")).first()
    body = "91370100MA0000042"[:17]
    institution = (await Institution.insert(Institution(
        name="断电测试培训学院", credit_code=body[:17] + credit_check_character(body[:17]), city=city["id"],
    )).returning(Institution.id))[0]["id"]
    days = sessions // 3 + 5
    cohort = (await Cohort.insert(Cohort(
        code="CRASH-1", name="断电测试班", institution=institution, city=city["id"], occupation=occupation["id"],
        level="junior", standard=standard["id"], planned_start=today - timedelta(days=days + 5),
        planned_end=today + timedelta(days=10), capacity=trainees, status="in_training",
    )).returning(Cohort.id))[0]["id"]
    numbers = [person(i) for i in range(trainees)]
    async with db.transaction():
        ids: list[int] = []
        for start in range(0, trainees, BATCH):
            ids += [r["id"] for r in await Trainee.insert(*[
                Trainee(id_number=n, name=f"学员{start + k}", sex="M", birth_date=date(1990, 1, 1))
                for k, n in enumerate(numbers[start:start + BATCH])]).returning(Trainee.id)]
        for start in range(0, trainees, BATCH):
            await Enrollment.insert(*[Enrollment(trainee=t, cohort=cohort, enrolled_on=today - timedelta(days=days + 5))
                                      for t in ids[start:start + BATCH]])
        session_ids: list[int] = []
        rows = [TrainingSession(cohort=cohort, session_date=today - timedelta(days=1 + i // 3),
                                start_time=time(8 + 3 * (i % 3)), end_time=time(10 + 3 * (i % 3)), mode="online",
                                kind="theory", class_hours=2.0, platform="平台", topic=f"第{i + 1}讲")
                for i in range(sessions)]
        for start in range(0, sessions, BATCH):
            session_ids += [r["id"] for r in await TrainingSession.insert(*rows[start:start + BATCH]).returning(
                TrainingSession.id)]
    await create_user(username=USERNAME, password=PASSWORD, role="institution", org=str(institution))
    return {"cohort": cohort, "username": USERNAME, "password": PASSWORD, "numbers": numbers,
            "sessions": session_ids}


async def main(trainees: int, sessions: int) -> None:
    engine = db.bind(Settings.from_env())
    await db.start(engine)
    try:
        print(json.dumps(await seed(trainees, sessions)))
    finally:
        await db.stop(engine)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
