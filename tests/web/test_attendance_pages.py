"""The pages: trainee list, import, schedule, the roll saved with htmx, online import, progress."""

from __future__ import annotations

from datetime import time, timedelta

from tests.attendance_factories import institution_actor, make_cohort, make_enrollment, make_session
from tests.factories import csrf, id_number, login, make_user
from training.rules.clock import today_in_china
from training.rules.sessions import expand_weekly
from training.tables import Attendance, Enrollment, TrainingSession

HX = {"hx-request": "true"}


async def _signed_in(client, cohort):
    actor = await institution_actor(cohort)
    await login(client, actor.username)
    return actor


async def test_enrollments_page_lists_masked_ids_and_adds_one(client):
    cohort = await make_cohort()
    await _signed_in(client, cohort)
    person = await make_enrollment(cohort["id"], name="王小明")
    page = await client.get(f"/cohorts/{cohort['id']}/enrollments")
    assert page.status_code == 200
    assert "王小明" in page.text and person["id_number"] not in page.text
    assert person["id_number"][:4] + "**********" in page.text
    assert f'href="/cohorts/{cohort["id"]}"' in page.text
    number = id_number()
    added = await client.post(f"/cohorts/{cohort['id']}/enrollments", headers=csrf(client),
                              data={"name": "李四", "id_number": number}, follow_redirects=False)
    assert added.status_code == 303
    bad = await client.post(f"/cohorts/{cohort['id']}/enrollments", headers=csrf(client),
                            data={"name": "李四", "id_number": "370102199002310014"})
    assert bad.status_code == 422 and "出生日期不存在" in bad.text
    assert await Enrollment.count() == 2


async def test_enrollment_import_page_shows_the_fault_table(client):
    cohort = await make_cohort()
    await _signed_in(client, cohort)
    assert (await client.get(f"/cohorts/{cohort['id']}/enrollments/import")).status_code == 200
    data = "姓名,身份证号\n甲,37010219900517001\n".encode()
    response = await client.post(f"/cohorts/{cohort['id']}/enrollments/import", headers={**csrf(client), **HX},
                                 files={"file": ("list.csv", data, "text/csv")})
    assert response.status_code == 200 and "18位" in response.text and "<table" in response.text
    template = await client.get(f"/cohorts/{cohort['id']}/enrollments/template.xlsx")
    assert template.content[:2] == b"PK"


async def test_sessions_page_schedules_weekly_and_single(client):
    cohort = await make_cohort()
    await _signed_in(client, cohort)
    today = today_in_china()
    weekly = await client.post(f"/cohorts/{cohort['id']}/sessions/weekly", headers=csrf(client), data={
        "weekdays": ["1", "3", "5"], "first_date": str(today), "last_date": str(today + timedelta(days=29)),
        "start_time": "09:00", "end_time": "12:00", "mode": "offline", "kind": "theory", "class_hours": "4",
        "topic": "基础", "teacher": "王老师", "place": "A101"}, follow_redirects=False)
    assert weekly.status_code == 303, weekly.text
    page = await client.get(weekly.headers["location"])
    assert "已按周排课" in page.text and "所在周" in page.text
    bad = await client.post(f"/cohorts/{cohort['id']}/sessions", headers=csrf(client), data={
        "session_date": str(today + timedelta(days=90)), "start_time": "09:00", "end_time": "10:00",
        "mode": "offline", "kind": "theory", "place": "A"})
    assert bad.status_code == 422 and "培训班起止日期" in bad.text
    expected = expand_weekly([1, 3, 5], today, today + timedelta(days=29))
    assert await TrainingSession.count() == len(expected)


async def test_roll_page_saves_with_htmx_and_shows_conflicts(client):
    cohort = await make_cohort()
    await _signed_in(client, cohort)
    people = [await make_enrollment(cohort["id"], name=f"学员{i}") for i in range(3)]
    session_id = await make_session(cohort["id"])
    page = await client.get(f"/sessions/{session_id}/roll")
    assert page.status_code == 200 and "全部出勤" in page.text and 'hx-post="/sessions/' in page.text
    form = {"lock_version": "1", "enrollment": [str(p["id"]) for p in people]}
    for p in people:
        form[f"status_{p['id']}"] = "present"
        form[f"was_status_{p['id']}"] = ""
    form[f"status_{people[2]['id']}"] = "late"
    form[f"hours_{people[2]['id']}"] = "3"
    saved = await client.post(f"/sessions/{session_id}/roll", headers={**csrf(client), **HX}, data=form)
    assert saved.status_code == 200 and "考勤已保存" in saved.text
    assert saved.text.lstrip().startswith('<div id="roll">')  # the partial, not a whole page
    assert await Attendance.count() == 3
    # a second clerk who read version 1 saves afterwards
    form[f"status_{people[0]['id']}"] = "absent"
    stale = await client.post(f"/sessions/{session_id}/roll", headers={**csrf(client), **HX}, data=form)
    assert "保存冲突" in stale.text and "学员0" in stale.text
    # hours above the session stay on screen with the message
    form["lock_version"] = "2"
    form[f"hours_{people[1]['id']}"] = "9"
    over = await client.post(f"/sessions/{session_id}/roll", headers={**csrf(client), **HX}, data=form)
    assert "不能超过本课次学时" in over.text and 'value="9.0"' in over.text


async def test_roll_page_for_a_future_session_is_read_only(client):
    cohort = await make_cohort()
    await _signed_in(client, cohort)
    await make_enrollment(cohort["id"])
    session_id = await make_session(cohort["id"], day=today_in_china() + timedelta(days=1))
    page = await client.get(f"/sessions/{session_id}/roll")
    assert "尚未开始" in page.text and "全部出勤" not in page.text


async def test_online_import_page_and_progress_page(client):
    cohort = await make_cohort()
    await _signed_in(client, cohort)
    person = await make_enrollment(cohort["id"], name="进度学员")
    session_id = await make_session(cohort["id"], mode="online", start=time(19), end=time(21), hours=2)
    assert "在线分钟数" in (await client.get(f"/cohorts/{cohort['id']}/attendance/import")).text
    data = f"身份证号,课次编号,在线分钟数\n{person['id_number']},{session_id},90\n".encode()
    result = await client.post(f"/cohorts/{cohort['id']}/attendance/import", headers={**csrf(client), **HX},
                               files={"file": ("o.csv", data, "text/csv")})
    assert "导入成功" in result.text and "处理 1 行" in result.text
    progress = await client.get(f"/cohorts/{cohort['id']}/progress")
    assert progress.status_code == 200 and "进度学员" in progress.text and "示例值" in progress.text
    assert "class=\"bar" in progress.text


async def test_pages_of_another_city_are_404(client):
    cohort = await make_cohort()
    session_id = await make_session(cohort["id"])
    stranger = await institution_actor(await make_cohort("370200"))
    await login(client, stranger.username)
    for url in (f"/cohorts/{cohort['id']}/enrollments", f"/cohorts/{cohort['id']}/sessions",
                f"/sessions/{session_id}/roll", f"/cohorts/{cohort['id']}/attendance/import",
                f"/cohorts/{cohort['id']}/progress"):
        assert (await client.get(url)).status_code == 404, url


async def test_city_officer_reads_progress_but_cannot_write(client):
    cohort = await make_cohort()
    await make_enrollment(cohort["id"])
    city = await make_user("city", "370100")
    await login(client, city.username)
    assert (await client.get(f"/cohorts/{cohort['id']}/progress")).status_code == 200
    page = await client.get(f"/cohorts/{cohort['id']}/enrollments")
    assert page.status_code == 200 and "添加一名学员" not in page.text


async def test_city_reviews_anomaly_flags(client):
    from training.services import anomalies
    from training.tables import AnomalyFlag

    cohort = await make_cohort()
    person = await make_enrollment(cohort["id"])
    day = today_in_china() - timedelta(days=1)
    for start, end, hours in ((8, 12, 5), (13, 18, 6)):
        session_id = await make_session(cohort["id"], day=day, start=time(start), end=time(end), hours=hours)
        await Attendance.insert(Attendance(enrollment=person["id"], session=session_id, status="present",
                                           credited_hours=hours))
    assert await anomalies.sweep() == 1
    city = await make_user("city", "370100")
    await login(client, city.username)
    page = await client.get("/anomalies")
    flag = await AnomalyFlag.select(AnomalyFlag.id).first()
    assert page.status_code == 200 and f"/anomalies/{flag['id']}/review" in page.text
    empty = await client.post(f"/anomalies/{flag['id']}/review", headers=csrf(client),
                              data={"status": "explained", "note": ""})
    assert empty.status_code == 422
    done = await client.post(f"/anomalies/{flag['id']}/review", headers=csrf(client),
                             data={"status": "explained", "note": "补课，已核实"}, follow_redirects=False)
    assert done.status_code == 303
    assert (await AnomalyFlag.select(AnomalyFlag.review_status).first())["review_status"] == "explained"
    other_city = await make_user("city", "370200")
    await login(client, other_city.username)
    assert f"/anomalies/{flag['id']}/review" not in (await client.get("/anomalies")).text
    assert (await client.post(f"/anomalies/{flag['id']}/review", headers=csrf(client),
                              data={"status": "confirmed", "note": "x"})).status_code == 404
