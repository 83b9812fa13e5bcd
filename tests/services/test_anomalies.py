"""Anomaly flags: overlapping offline sessions, > 10 hours a day, attendance after withdrawal."""

from __future__ import annotations

from datetime import time, timedelta

from tests.attendance_factories import institution_actor, make_cohort, make_enrollment, make_session
from tests.factories import id_number, make_user
from training.rules.clock import today_in_china
from training.services import anomalies, attendance, enrollments
from training.services.attendance import RollEntry
from training.tables import AnomalyFlag


async def test_same_person_in_overlapping_offline_sessions_of_two_cohorts_is_flagged_for_both_cities(database):
    jinan = await make_cohort("370100")
    qingdao = await make_cohort("370200", start=today_in_china() + timedelta(days=100),
                                end=today_in_china() + timedelta(days=120))
    number = id_number()
    a = await make_enrollment(jinan["id"], number=number)
    b = await make_enrollment(qingdao["id"], number=number)
    day = today_in_china() - timedelta(days=1)
    s1 = await make_session(jinan["id"], day=day, start=time(9), end=time(12))
    s2 = await make_session(qingdao["id"], day=day, start=time(11), end=time(13), hours=2)
    await attendance.save_roll(await institution_actor(jinan), s1, 1, [RollEntry(a["id"], "present")])
    await attendance.save_roll(await institution_actor(qingdao), s2, 1, [RollEntry(b["id"], "present")])
    flags = await AnomalyFlag.select().where(AnomalyFlag.kind == "offline_overlap")
    assert len(flags) == 2 and len({f["city"] for f in flags}) == 2
    jinan_city = await make_user("city", "370100")
    assert len(await anomalies.list_flags(jinan_city, kind="offline_overlap")) == 1
    # running the whole sweep again adds nothing
    assert await anomalies.sweep() == 0


async def test_more_than_ten_hours_in_one_day_is_flagged(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    person = await make_enrollment(cohort["id"])
    day = today_in_china() - timedelta(days=1)
    morning = await make_session(cohort["id"], day=day, start=time(8), end=time(12), hours=5)
    evening = await make_session(cohort["id"], day=day, start=time(13), end=time(18), hours=6)
    await attendance.save_roll(actor, morning, 1, [RollEntry(person["id"], "present")])
    assert await AnomalyFlag.count() == 0
    await attendance.save_roll(actor, evening, 1, [RollEntry(person["id"], "present")])
    flag = await AnomalyFlag.select().where(AnomalyFlag.kind == "daily_hours").output(load_json=True).first()
    assert flag["details"]["hours"] == 11


async def test_attendance_for_a_withdrawn_trainee_is_flagged(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    person = await make_enrollment(cohort["id"])
    today_session = await make_session(cohort["id"], day=today_in_china(), start=time(8), end=time(9), hours=1)
    await attendance.save_roll(actor, today_session, 1, [RollEntry(person["id"], "present")])
    await enrollments.withdraw(actor, person["id"], "离职")
    flag = await AnomalyFlag.select().where(AnomalyFlag.kind == "withdrawn_attendance").first()
    assert flag is not None and flag["cohort"] == cohort["id"]


async def test_no_flags_for_ordinary_attendance(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    person = await make_enrollment(cohort["id"])
    s = await make_session(cohort["id"])
    await attendance.save_roll(actor, s, 1, [RollEntry(person["id"], "present")])
    assert await anomalies.sweep() == 0
