"""The attendance roll and the online-platform import: every rule, tried."""

from __future__ import annotations

import codecs
from datetime import time, timedelta

import pytest

from tests.attendance_factories import institution_actor, make_cohort, make_enrollment, make_session
from tests.factories import id_number
from training.errors import BadInput, Conflict, ImportRejected, Invalid, NotFound, StaleVersion
from training.rules.clock import today_in_china
from training.services import attendance, enrollments
from training.services.attendance import RollEntry
from training.tables import AnomalyFlag, Attendance, AttendanceAmendment, Cohort, TrainingSession


async def _setup(n: int = 3, **session):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    people = [await make_enrollment(cohort["id"], name=f"学员{i}") for i in range(n)]
    session_id = await make_session(cohort["id"], **session)
    return cohort, actor, people, session_id


async def test_roll_lists_every_enrollment(database):
    _cohort, actor, people, session_id = await _setup()
    roll = await attendance.get_roll(actor, session_id)
    assert [r["enrollment_id"] for r in roll.rows] == [p["id"] for p in people]
    assert all(r["required"] and r["status"] == "" for r in roll.rows)
    assert not roll.read_only


async def test_save_whole_roll_with_defaults(database):
    _cohort, actor, people, session_id = await _setup()
    entries = [RollEntry(people[0]["id"], "present"), RollEntry(people[1]["id"], "late", 3.5),
               RollEntry(people[2]["id"], "absent")]
    roll = await attendance.save_roll(actor, session_id, 1, entries)
    assert [(r["status"], r["hours"]) for r in roll.rows] == [("present", 4.0), ("late", 3.5), ("absent", 0.0)]
    assert roll.session["lock_version"] == 2


async def test_hours_above_the_session_are_refused(database):
    _cohort, actor, people, session_id = await _setup(1)
    with pytest.raises(Invalid) as caught:
        await attendance.save_roll(actor, session_id, 1, [RollEntry(people[0]["id"], "present", 4.5)])
    assert "不能超过" in next(iter(caught.value.fields.values()))
    assert await Attendance.count() == 0


async def test_absent_with_hours_is_refused(database):
    _cohort, actor, people, session_id = await _setup(1)
    with pytest.raises(Invalid):
        await attendance.save_roll(actor, session_id, 1, [RollEntry(people[0]["id"], "absent", 1)])


async def test_roll_must_cover_every_required_trainee(database):
    _cohort, actor, people, session_id = await _setup(2)
    with pytest.raises(Invalid) as caught:
        await attendance.save_roll(actor, session_id, 1, [RollEntry(people[0]["id"], "present")])
    assert f"enrollment:{people[1]['id']}" in caught.value.fields


async def test_no_roll_for_a_future_session(database):
    _cohort, actor, people, session_id = await _setup(1, day=today_in_china() + timedelta(days=1))
    assert (await attendance.get_roll(actor, session_id)).future
    with pytest.raises(Conflict, match="尚未开始"):
        await attendance.save_roll(actor, session_id, 1, [RollEntry(people[0]["id"], "present")])


async def test_trainee_enrolled_after_the_session_is_shown_not_required_and_not_recordable(database):
    cohort, actor, people, session_id = await _setup(1)
    late = await make_enrollment(cohort["id"], enrolled_on=today_in_china())
    roll = await attendance.get_roll(actor, session_id)
    row = next(r for r in roll.rows if r["enrollment_id"] == late["id"])
    assert not row["required"] and not row["recordable"]
    await attendance.save_roll(actor, session_id, 1, [RollEntry(people[0]["id"], "present")])
    with pytest.raises(Invalid, match="报名日期晚于"):
        await attendance.save_roll(actor, session_id, 2, [RollEntry(people[0]["id"], "present"),
                                                          RollEntry(late["id"], "present")])


async def test_withdrawn_trainee_cannot_be_recorded(database):
    _cohort, actor, people, session_id = await _setup(2)
    await enrollments.withdraw(actor, people[1]["id"], "离职")
    with pytest.raises(Invalid, match="已退出"):
        await attendance.save_roll(actor, session_id, 1, [RollEntry(people[0]["id"], "present"),
                                                          RollEntry(people[1]["id"], "present")])
    await attendance.save_roll(actor, session_id, 1, [RollEntry(people[0]["id"], "present")])


async def test_stale_roll_second_saver_gets_409_naming_what_changed(database):
    _cohort, actor, people, session_id = await _setup(2)
    first = [RollEntry(people[0]["id"], "present"), RollEntry(people[1]["id"], "present")]
    await attendance.save_roll(actor, session_id, 1, first)
    # the second clerk read version 1 (nothing recorded) and saves after the first one
    second = [RollEntry(people[0]["id"], "present", was_status=""),
              RollEntry(people[1]["id"], "absent", was_status="")]
    with pytest.raises(StaleVersion) as caught:
        await attendance.save_roll(actor, session_id, 1, second)
    assert caught.value.status_code == 409
    assert "学员0" in caught.value.detail and "学员1" in caught.value.detail
    assert "出勤 4 学时" in caught.value.detail
    rows = await Attendance.select(Attendance.status)
    assert {r["status"] for r in rows} == {"present"}


async def test_filed_cohort_roll_is_read_only_and_corrections_are_amendments(database):
    cohort, actor, people, session_id = await _setup(1)
    await attendance.save_roll(actor, session_id, 1, [RollEntry(people[0]["id"], "present")])
    record = await Attendance.select(Attendance.id).first()
    with pytest.raises(Conflict, match="尚未备案"):
        await attendance.amend_attendance(actor, record["id"], "late", 3, "迟到 45 分钟")
    await Cohort.update({Cohort.status: "filed"}).where(Cohort.id == cohort["id"])
    assert (await attendance.get_roll(actor, session_id)).read_only
    with pytest.raises(Conflict, match="只读"):
        await attendance.save_roll(actor, session_id, 2, [RollEntry(people[0]["id"], "absent")])
    with pytest.raises(Invalid):
        await attendance.amend_attendance(actor, record["id"], "late", 3, " ")
    with pytest.raises(Invalid):
        await attendance.amend_attendance(actor, record["id"], "late", 5, "超过学时")
    await attendance.amend_attendance(actor, record["id"], "late", 3, "迟到 45 分钟")
    amendment = await AttendanceAmendment.select().first()
    assert (amendment["old_status"], amendment["old_hours"], amendment["new_status"], amendment["new_hours"]) == (
        "present", 4.0, "late", 3.0)
    assert (await Attendance.select(Attendance.credited_hours).first())["credited_hours"] == 3.0


async def test_roll_of_another_city_institution_is_not_found(database):
    _cohort, _actor, _people, session_id = await _setup(1)
    stranger = await institution_actor(await make_cohort("370200"))
    with pytest.raises(NotFound):
        await attendance.get_roll(stranger, session_id)
    with pytest.raises(NotFound):
        await attendance.save_roll(stranger, session_id, 1, [])


# --- online-platform import -----------------------------------------------------------------

async def _online(n_people: int = 3, n_sessions: int = 2):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    people = [await make_enrollment(cohort["id"], name=f"学员{i}") for i in range(n_people)]
    today = today_in_china()
    sessions = [await make_session(cohort["id"], mode="online", day=today - timedelta(days=1 + i % 10),
                                   start=time(8 + i // 10), end=time(8 + i // 10, 50), hours=1.0)
                for i in range(n_sessions)]
    return cohort, actor, people, sessions


def online_csv(rows: list[tuple], header: str = "身份证号,课次编号,在线分钟数") -> bytes:
    return (header + "\n" + "".join(",".join(str(c) for c in r) + "\n" for r in rows)).encode()


async def test_online_import_converts_minutes_and_caps_at_the_session(database):
    cohort, actor, people, sessions = await _online()
    data = online_csv([(people[0]["id_number"], sessions[0], 90), (people[1]["id_number"], sessions[0], 300),
                       (people[2]["id_number"], sessions[0], 30), (people[0]["id_number"], sessions[1], 0)])
    summary = await attendance.import_online(actor, cohort["id"], data, "platform.csv")
    assert (summary.rows, summary.inserted, summary.updated) == (4, 4, 0)
    got = {(r["enrollment"], r["session"]): (r["status"], r["credited_hours"], r["source"], r["minutes_online"])
           for r in await Attendance.select()}
    assert got[(people[0]["id"], sessions[0])] == ("present", 1.0, "online_platform", 90)
    assert got[(people[1]["id"], sessions[0])] == ("present", 1.0, "online_platform", 300)
    assert got[(people[2]["id"], sessions[0])] == ("left_early", 0.6, "online_platform", 30)
    assert got[(people[0]["id"], sessions[1])][:2] == ("absent", 0.0)
    # importing again updates (upsert), never duplicates
    again = await attendance.import_online(actor, cohort["id"], online_csv([(people[2]["id_number"], sessions[0], 90)]))
    assert (again.inserted, again.updated) == (0, 1)
    assert await Attendance.count() == 4


async def test_online_import_by_date_and_start_time_gbk_with_bom_free_extra_columns(database):
    cohort, actor, people, sessions = await _online(1, 1)
    day = today_in_china() - timedelta(days=1)
    text = f"姓名,身份证号,日期,开始时间,在线分钟数,备注\n张三,{people[0]['id_number']},{day:%Y/%m/%d},8:00,60,无\n"
    summary = await attendance.import_online(actor, cohort["id"], text.encode("gbk"), "gbk.csv")
    assert summary.inserted == 1
    bom = codecs.BOM_UTF8 + online_csv([(people[0]["id_number"], sessions[0], 120)])
    assert (await attendance.import_online(actor, cohort["id"], bom, "bom.csv")).updated == 1


async def test_online_import_faults_unknown_trainee_session_offline_duplicate(database):
    cohort, actor, people, sessions = await _online()
    offline = await make_session(cohort["id"], mode="offline", day=today_in_china() - timedelta(days=3))
    data = online_csv([
        (people[0]["id_number"], sessions[0], 90),
        (id_number(), sessions[0], 90),                 # not enrolled here
        (people[1]["id_number"], 999999, 90),           # unknown session
        (people[1]["id_number"], offline, 90),          # offline session
        (people[0]["id_number"], sessions[0], 30),      # duplicate of row 2
        (people[2]["id_number"], sessions[1], "abc"),   # bad minutes
    ])
    with pytest.raises(ImportRejected) as caught:
        await attendance.import_online(actor, cohort["id"], data, "bad.csv")
    faults = [(f.row, f.column) for f in caught.value.faults]
    assert faults == [(3, "身份证号"), (4, "课次编号"), (5, "课次编号"), (6, "身份证号"), (7, "在线分钟数")]
    assert "第 2 行" in caught.value.faults[3].reason
    assert await Attendance.count() == 0


async def test_online_import_one_bad_row_among_10000_writes_nothing(database):
    cohort, actor, people, sessions = await _online(100, 100)
    rows = [(p["id_number"], s, 80) for p in people for s in sessions]
    rows[9999] = (rows[9999][0], rows[9999][1], -5)
    with pytest.raises(ImportRejected) as caught:
        await attendance.import_online(actor, cohort["id"], online_csv(rows), "big.csv")
    assert [(f.row, f.column) for f in caught.value.faults] == [(10001, "在线分钟数")]
    assert await Attendance.count() == 0
    rows[9999] = (rows[9999][0], rows[9999][1], 80)
    summary = await attendance.import_online(actor, cohort["id"], online_csv(rows), "big.csv")
    assert summary.inserted == 10_000 and await Attendance.count() == 10_000


async def test_online_import_empty_and_missing_columns(database):
    cohort, actor, _people, _sessions = await _online(1, 1)
    with pytest.raises(BadInput):
        await attendance.import_online(actor, cohort["id"], b"", "empty.csv")
    with pytest.raises(BadInput, match="没有数据行"):
        await attendance.import_online(actor, cohort["id"], "身份证号,课次编号,在线分钟数\n".encode(), "h.csv")
    with pytest.raises(ImportRejected) as caught:
        await attendance.import_online(actor, cohort["id"], "身份证号,在线分钟数\n1,2\n".encode(), "h.csv")
    assert caught.value.faults[0].row == 1


async def test_online_import_future_session_and_late_enrollment_refused(database):
    cohort, actor, people, sessions = await _online(1, 1)
    future = await make_session(cohort["id"], mode="online", day=today_in_china() + timedelta(days=2))
    late = await make_enrollment(cohort["id"], enrolled_on=today_in_china())
    data = online_csv([(people[0]["id_number"], future, 30), (late["id_number"], sessions[0], 30)])
    with pytest.raises(ImportRejected) as caught:
        await attendance.import_online(actor, cohort["id"], data)
    reasons = [f.reason for f in caught.value.faults]
    assert "尚未开始" in reasons[0] and "报名晚于" in reasons[1]


async def test_online_import_bumps_the_roll_version(database):
    cohort, actor, people, sessions = await _online(1, 1)
    await attendance.import_online(actor, cohort["id"], online_csv([(people[0]["id_number"], sessions[0], 30)]))
    assert (await TrainingSession.select(TrainingSession.lock_version).first())["lock_version"] == 2


async def test_online_import_flags_more_than_ten_hours_a_day(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    person = await make_enrollment(cohort["id"])
    day = today_in_china() - timedelta(days=1)
    ids = [await make_session(cohort["id"], mode="online", day=day, start=time(8 + 4 * i), end=time(12 + 4 * i),
                              hours=5.0) for i in range(3)]
    data = online_csv([(person["id_number"], s, 240) for s in ids])
    await attendance.import_online(actor, cohort["id"], data)
    flag = await AnomalyFlag.select().where(AnomalyFlag.kind == "daily_hours").first()
    assert flag is not None and flag["details"]
