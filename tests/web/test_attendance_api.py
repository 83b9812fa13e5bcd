"""The JSON API of enrollments, sessions, the roll, online import and progress, through the client."""

from __future__ import annotations

from datetime import time, timedelta

from tests.attendance_factories import institution_actor, make_cohort, make_enrollment, make_session
from tests.factories import bearer, id_number, make_user
from training.rules.clock import today_in_china
from training.tables import AuditEvent


async def _clerk(client, cohort):
    actor = await institution_actor(cohort)
    return actor, await bearer(client, actor.username)


async def test_enroll_list_and_withdraw_through_the_api(client):
    cohort = await make_cohort()
    _, headers = await _clerk(client, cohort)
    number = id_number()
    created = await client.post(f"/api/v1/cohorts/{cohort['id']}/enrollments", headers=headers,
                                json={"id_number": number, "name": "张三", "phone": "13800138000"})
    assert created.status_code == 201, created.text
    listed = (await client.get(f"/api/v1/cohorts/{cohort['id']}/enrollments", headers=headers)).json()
    assert listed[0]["id_masked"].startswith(number[:4]) and number not in str(listed)
    enrollment_id = listed[0]["id"]
    bad = await client.post(f"/api/v1/enrollments/{enrollment_id}/withdraw", headers=headers, json={"reason": ""})
    assert bad.status_code == 422 and bad.json()["fields"]["reason"]
    ok = await client.post(f"/api/v1/enrollments/{enrollment_id}/withdraw", headers=headers, json={"reason": "离职"})
    assert ok.status_code == 200
    reveal = await client.post(f"/api/v1/trainees/{listed[0]['trainee']}/reveal-id", headers=headers)
    assert reveal.json()["id_number"] == number
    assert await AuditEvent.count().where(AuditEvent.action == "trainee.reveal_id") == 1


async def test_enroll_bad_id_is_422_with_field(client):
    cohort = await make_cohort()
    _, headers = await _clerk(client, cohort)
    response = await client.post(f"/api/v1/cohorts/{cohort['id']}/enrollments", headers=headers,
                                 json={"id_number": "37010219900517001", "name": "张三"})
    assert response.status_code == 422
    assert "18位" in response.json()["fields"]["id_number"]


async def test_import_list_faults_as_json(client):
    cohort = await make_cohort()
    _, headers = await _clerk(client, cohort)
    data = f"姓名,身份证号\n甲,{id_number()}\n乙,370102199002310014\n".encode()
    response = await client.post(f"/api/v1/cohorts/{cohort['id']}/enrollments/import", headers=headers,
                                 files={"file": ("list.csv", data, "text/csv")})
    assert response.status_code == 422
    assert response.json()["faults"] == [{"row": 3, "column": "身份证号", "reason": "身份证号码中的出生日期不存在"}]
    ok = await client.post(f"/api/v1/cohorts/{cohort['id']}/enrollments/import", headers=headers,
                           files={"file": ("list.csv", f"姓名,身份证号\n甲,{id_number()}\n".encode(), "text/csv")})
    assert ok.status_code == 201 and ok.json()["enrolled"] == 1
    template = await client.get(f"/api/v1/cohorts/{cohort['id']}/enrollments/template.xlsx", headers=headers)
    assert template.status_code == 200 and template.content[:2] == b"PK"


async def test_sessions_api_single_and_weekly(client):
    cohort = await make_cohort()
    _, headers = await _clerk(client, cohort)
    today = today_in_china()
    one = await client.post(f"/api/v1/cohorts/{cohort['id']}/sessions", headers=headers, json={
        "session_date": str(today), "start_time": "09:00:00", "end_time": "12:00:00", "mode": "offline",
        "kind": "practice", "place": "实训室"})
    assert one.status_code == 201, one.text
    weekly = await client.post(f"/api/v1/cohorts/{cohort['id']}/sessions/weekly", headers=headers, json={
        "weekdays": [2, 4], "first_date": str(today + timedelta(days=1)), "last_date": str(today + timedelta(days=14)),
        "start_time": "19:00:00", "end_time": "20:30:00", "mode": "online", "kind": "theory", "platform": "学习平台"})
    assert weekly.status_code == 201, weekly.text
    listed = (await client.get(f"/api/v1/cohorts/{cohort['id']}/sessions", headers=headers)).json()
    assert len(listed) == 1 + len(weekly.json()["ids"]) and listed[0]["class_hours"] == 4.0
    outside = await client.post(f"/api/v1/cohorts/{cohort['id']}/sessions", headers=headers, json={
        "session_date": str(today + timedelta(days=100)), "start_time": "09:00:00", "end_time": "10:00:00",
        "mode": "offline", "kind": "theory", "place": "A"})
    assert outside.status_code == 422 and "session_date" in outside.json()["fields"]


async def test_put_roll_and_stale_409(client):
    cohort = await make_cohort()
    _, headers = await _clerk(client, cohort)
    people = [await make_enrollment(cohort["id"], name=f"学员{i}") for i in range(2)]
    session_id = await make_session(cohort["id"])
    roll = (await client.get(f"/api/v1/sessions/{session_id}/attendance", headers=headers)).json()
    assert roll["lock_version"] == 1 and len(roll["rows"]) == 2
    body = {"lock_version": 1, "entries": [{"enrollment_id": p["id"], "status": "present"} for p in people]}
    saved = await client.put(f"/api/v1/sessions/{session_id}/attendance", headers=headers, json=body)
    assert saved.status_code == 200 and saved.json()["lock_version"] == 2
    body["entries"][1] = {"enrollment_id": people[1]["id"], "status": "absent", "was_status": ""}
    stale = await client.put(f"/api/v1/sessions/{session_id}/attendance", headers=headers, json=body)
    assert stale.status_code == 409 and stale.json()["error"] == "stale_version"
    assert "学员1" in stale.json()["detail"]
    over = await client.put(f"/api/v1/sessions/{session_id}/attendance", headers=headers, json={
        "lock_version": 2, "entries": [{"enrollment_id": p["id"], "status": "present", "hours": 9} for p in people]})
    assert over.status_code == 422


async def test_roll_for_tomorrow_is_409(client):
    cohort = await make_cohort()
    _, headers = await _clerk(client, cohort)
    person = await make_enrollment(cohort["id"])
    session_id = await make_session(cohort["id"], day=today_in_china() + timedelta(days=1))
    response = await client.put(f"/api/v1/sessions/{session_id}/attendance", headers=headers, json={
        "lock_version": 1, "entries": [{"enrollment_id": person["id"], "status": "present"}]})
    assert response.status_code == 409


async def test_online_import_and_progress_api(client):
    cohort = await make_cohort()
    _, headers = await _clerk(client, cohort)
    person = await make_enrollment(cohort["id"])
    session_id = await make_session(cohort["id"], mode="online", start=time(19), end=time(21), hours=2)
    data = f"身份证号,课次编号,在线分钟数\n{person['id_number']},{session_id},120\n".encode()
    response = await client.post(f"/api/v1/cohorts/{cohort['id']}/attendance/import", headers=headers,
                                 files={"file": ("online.csv", data, "text/csv")})
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 1
    body = (await client.get(f"/api/v1/cohorts/{cohort['id']}/progress", headers=headers)).json()
    assert body["illustrative"] and body["trainees"][0]["hours"]["online_theory"] == 2.0
    assert body["trainees"][0]["eligible"] is False and body["trainees"][0]["reasons"]
    for role, org in (("city", "370100"), ("province", "")):
        viewer = await make_user(role, org)
        seen = await client.get(f"/api/v1/cohorts/{cohort['id']}/progress", headers=await bearer(client, viewer.username))
        assert seen.status_code == 200


async def test_other_city_gets_404_everywhere(client):
    cohort = await make_cohort()
    person = await make_enrollment(cohort["id"])
    session_id = await make_session(cohort["id"])
    stranger = await institution_actor(await make_cohort("370200"))
    headers = await bearer(client, stranger.username)
    city = await make_user("city", "370200")
    city_headers = await bearer(client, city.username)
    for method, url in [("get", f"/api/v1/cohorts/{cohort['id']}/enrollments"),
                        ("get", f"/api/v1/cohorts/{cohort['id']}/sessions"),
                        ("get", f"/api/v1/sessions/{session_id}/attendance"),
                        ("get", f"/api/v1/cohorts/{cohort['id']}/progress")]:
        for h in (headers, city_headers):
            assert (await getattr(client, method)(url, headers=h)).status_code == 404, url
    put = await client.put(f"/api/v1/sessions/{session_id}/attendance", headers=headers,
                           json={"lock_version": 1, "entries": [{"enrollment_id": person["id"], "status": "present"}]})
    assert put.status_code == 404


async def test_city_cannot_write_rolls(client):
    cohort = await make_cohort()
    session_id = await make_session(cohort["id"])
    city = await make_user("city", "370100")
    response = await client.put(f"/api/v1/sessions/{session_id}/attendance",
                                headers=await bearer(client, city.username), json={"lock_version": 1, "entries": []})
    assert response.status_code == 403
