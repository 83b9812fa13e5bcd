"""Scheduling sessions: inside the cohort's dates, hours within the duration, weekly patterns."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta

import pytest

from tests.attendance_factories import institution_actor, make_cohort, make_enrollment
from training.errors import Conflict, Invalid, NotFound, StaleVersion
from training.rules.clock import today_in_china
from training.services import attendance, sessions
from training.services.attendance import RollEntry
from training.services.sessions import SessionInput, WeeklyInput
from training.tables import TrainingSession


def one(day, **values):
    base = dict(session_date=day, start_time=time(9), end_time=time(12), mode="offline", kind="theory",
                class_hours=4.0, topic="数据采集", teacher="王老师", place="A101")
    base.update(values)
    return SessionInput(**base)


async def test_schedule_a_single_session(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    session_id = await sessions.schedule_session(actor, cohort["id"], one(today_in_china()))
    row = await TrainingSession.select().where(TrainingSession.id == session_id).first()
    assert row["class_hours"] == 4.0 and row["place"] == "A101"


async def test_session_outside_the_cohort_dates_is_refused(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    with pytest.raises(Invalid) as caught:
        await sessions.schedule_session(actor, cohort["id"], one(today_in_china() + timedelta(days=41)))
    assert "session_date" in caught.value.fields


async def test_session_hours_above_the_duration_are_refused(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    with pytest.raises(Invalid) as caught:
        await sessions.schedule_session(actor, cohort["id"], one(today_in_china(), class_hours=4.5))
    assert "class_hours" in caught.value.fields


async def test_session_hours_default_to_the_duration(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    session_id = await sessions.schedule_session(actor, cohort["id"], one(
        today_in_china(), class_hours=None, end_time=time(10, 30), mode="online", place="", platform="学习通"))
    assert (await TrainingSession.select().where(TrainingSession.id == session_id).first())["class_hours"] == 2.0


async def test_online_needs_platform_and_offline_needs_place(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    with pytest.raises(Invalid) as caught:
        await sessions.schedule_session(actor, cohort["id"], one(today_in_china(), place=""))
    assert "place" in caught.value.fields
    with pytest.raises(Invalid) as caught:
        await sessions.schedule_session(actor, cohort["id"], one(today_in_china(), mode="online", place=""))
    assert "platform" in caught.value.fields


async def test_overlapping_sessions_of_one_cohort_are_refused(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    await sessions.schedule_session(actor, cohort["id"], one(today_in_china()))
    with pytest.raises(Invalid, match="重叠"):
        await sessions.schedule_session(actor, cohort["id"], one(today_in_china(), start_time=time(11),
                                                                 end_time=time(13), class_hours=2))


async def test_weekly_pattern_schedules_every_weekday_or_nothing(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    today = today_in_china()
    pattern = WeeklyInput(weekdays=[1, 3, 5], first_date=today, last_date=today + timedelta(days=27),
                          start_time=time(14), end_time=time(17), mode="online", kind="theory", class_hours=4,
                          platform="国家平台")
    ids = await sessions.schedule_weekly(actor, cohort["id"], pattern)
    assert len(ids) == 12
    beyond = replace(pattern, first_date=today + timedelta(days=30), last_date=today + timedelta(days=60),
                     start_time=time(8), end_time=time(9), class_hours=1)
    with pytest.raises(Invalid):
        await sessions.schedule_weekly(actor, cohort["id"], beyond)
    assert await TrainingSession.count() == 12


async def test_session_with_attendance_cannot_be_edited_or_deleted(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    enrolled = await make_enrollment(cohort["id"])
    session_id = await sessions.schedule_session(actor, cohort["id"], one(today_in_china() - timedelta(days=1)))
    await attendance.save_roll(actor, session_id, 1, [RollEntry(enrolled["id"], "present")])
    with pytest.raises(Conflict):
        await sessions.delete_session(actor, session_id)
    with pytest.raises(Conflict):
        await sessions.update_session(actor, session_id, one(today_in_china()), 2)


async def test_edit_and_delete_a_session_without_attendance(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    session_id = await sessions.schedule_session(actor, cohort["id"], one(today_in_china()))
    await sessions.update_session(actor, session_id, one(today_in_china(), topic="新主题"), 1)
    with pytest.raises(StaleVersion):
        await sessions.update_session(actor, session_id, one(today_in_china(), topic="旧版本"), 1)
    await sessions.delete_session(actor, session_id)
    assert await TrainingSession.count() == 0


async def test_sessions_of_another_institution_are_not_found(database):
    cohort = await make_cohort()
    stranger = await institution_actor(await make_cohort())
    with pytest.raises(NotFound):
        await sessions.schedule_session(stranger, cohort["id"], one(today_in_china()))
