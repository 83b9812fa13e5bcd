"""The assessment through the API and the pages: schedule, the grid (PUT the whole grid), the
import, read-only after filing, and scope on every route."""

from __future__ import annotations

from datetime import timedelta

from tests.certificates_factories import ended_cohort, set_status
from tests.factories import bearer, csrf, login, make_user
from training.rules.clock import today_in_china
from training.tables import AssessmentResult, Cohort


async def _status(cohort_id: int) -> str:
    return (await Cohort.select(Cohort.status).where(Cohort.id == cohort_id).first())["status"]


async def test_schedule_and_record_through_the_api(client):
    cohort = await ended_cohort(eligible=2, ineligible=1, status="in_training")
    headers = await bearer(client, cohort["actor"].username)
    today = today_in_china().isoformat()
    created = await client.post(f"/api/v1/cohorts/{cohort['id']}/assessments", headers=headers,
                                json={"assessment_date": today, "form": "both"})
    assert created.status_code == 201, created.text
    sitting = created.json()["id"]
    assert await _status(cohort["id"]) == "training_ended"
    grid = (await client.get(f"/api/v1/assessments/{sitting}/results", headers=headers)).json()
    assert grid["pass_mark_theory"] == 60 and len(grid["rows"]) == 3
    short = cohort["ineligible"][0]["id"]
    assert [r["recordable"] for r in grid["rows"] if r["enrollment_id"] == short] == [False]
    a, b = (p["id"] for p in cohort["eligible"])
    bad = await client.put(f"/api/v1/assessments/{sitting}/results", headers=headers,
                           json={"entries": [{"enrollment_id": a, "theory_score": 101, "practice_score": 80}]})
    assert bad.status_code == 422 and f"{a}.theory_score" in bad.json()["fields"]
    refused = await client.put(f"/api/v1/assessments/{sitting}/results", headers=headers,
                               json={"entries": [{"enrollment_id": short, "theory_score": 90, "practice_score": 90}]})
    assert refused.status_code == 409 and "未达到结业考核条件" in refused.json()["fields"][f"{short}.enrollment"]
    ok = await client.put(f"/api/v1/assessments/{sitting}/results", headers=headers, json={"entries": [
        {"enrollment_id": a, "theory_score": 88, "practice_score": 90},
        {"enrollment_id": b, "absent": True}]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["summary"]["passed"] == 1 and ok.json()["cohort_status"] == "assessed"
    listed = (await client.get(f"/api/v1/cohorts/{cohort['id']}/assessments", headers=headers)).json()
    assert listed[0]["recorded"] == 2 and listed[0]["attempt"] == 1
    third = await client.post(f"/api/v1/cohorts/{cohort['id']}/assessments", headers=headers,
                              json={"assessment_date": today, "form": "oral"})
    assert third.status_code == 422


async def test_a_filed_cohorts_results_are_read_only_409(client):
    cohort = await ended_cohort(eligible=1, ineligible=0)
    headers = await bearer(client, cohort["actor"].username)
    sitting = (await client.post(f"/api/v1/cohorts/{cohort['id']}/assessments", headers=headers, json={
        "assessment_date": today_in_china().isoformat(), "form": "written"})).json()["id"]
    await set_status(cohort["id"], "filed")
    response = await client.put(f"/api/v1/assessments/{sitting}/results", headers=headers, json={"entries": [
        {"enrollment_id": cohort["eligible"][0]["id"], "theory_score": 90}]})
    assert response.status_code == 409 and response.json()["error"] == "conflict"
    assert await AssessmentResult.count() == 0


async def test_import_through_the_api_reports_rows_and_columns(client):
    cohort = await ended_cohort(eligible=1, ineligible=0)
    headers = await bearer(client, cohort["actor"].username)
    sitting = (await client.post(f"/api/v1/cohorts/{cohort['id']}/assessments", headers=headers, json={
        "assessment_date": today_in_china().isoformat(), "form": "both"})).json()["id"]
    number = cohort["eligible"][0]["id_number"]
    bad = await client.post(f"/api/v1/assessments/{sitting}/results/import", headers=headers, files={
        "file": ("r.csv", f"身份证号,理论成绩,实操成绩,是否缺考\n{number},95,-3,否\n".encode(), "text/csv")})
    assert bad.status_code == 422
    assert bad.json()["faults"] == [{"row": 2, "column": "实操成绩", "reason": "成绩应在0到100之间"}]
    ok = await client.post(f"/api/v1/assessments/{sitting}/results/import", headers=headers, files={
        "file": ("r.csv", f"身份证号,理论成绩,实操成绩,是否缺考\n{number},95,70,否\n".encode(), "text/csv")})
    assert ok.status_code == 200 and ok.json()["inserted"] == 1 and ok.json()["passed"] == 1
    template = await client.get("/api/v1/assessments/results-template.xlsx", headers=headers)
    assert template.content[:2] == b"PK"


async def test_assessment_page_schedule_grid_and_errors_beside_rows(client):
    cohort = await ended_cohort(eligible=2, ineligible=1)
    await login(client, cohort["actor"].username)
    page = await client.get(f"/cohorts/{cohort['id']}/assessment")
    assert page.status_code == 200 and "安排结业考核" in page.text
    scheduled = await client.post(f"/cohorts/{cohort['id']}/assessment/schedule", headers=csrf(client), data={
        "assessment_date": today_in_china().isoformat(), "form": "both"}, follow_redirects=False)
    assert scheduled.status_code == 303
    page = await client.get(f"/cohorts/{cohort['id']}/assessment")
    assert "保存全部成绩" in page.text and "未达到结业考核条件" in page.text
    sitting = (await client.get(f"/api/v1/cohorts/{cohort['id']}/assessments",
                                headers=await bearer(client, cohort["actor"].username))).json()[0]["id"]
    a, b = (p["id"] for p in cohort["eligible"])
    wrong = await client.post(f"/assessments/{sitting}/results", headers=csrf(client), data={
        "enrollment": [str(a), str(b)], f"theory_{a}": "abc", f"practice_{a}": "80", f"theory_{b}": "70",
        f"practice_{b}": "70"})
    assert wrong.status_code == 422 and "成绩应为0到100之间的整数" in wrong.text
    assert 'value="abc"' in wrong.text  # what was typed is kept
    saved = await client.post(f"/assessments/{sitting}/results", headers=csrf(client), data={
        "enrollment": [str(a), str(b)], f"theory_{a}": "90", f"practice_{a}": "80", f"absent_{b}": "1"},
        follow_redirects=False)
    assert saved.status_code == 303
    page = await client.get(f"/cohorts/{cohort['id']}/assessment")
    assert "安排补考" in page.text and "前往发放培训合格证书" in page.text
    assert await _status(cohort["id"]) == "assessed"
    retake_day = (today_in_china() + timedelta(days=2)).isoformat()
    retake = await client.post(f"/cohorts/{cohort['id']}/assessment/schedule", headers=csrf(client), data={
        "assessment_date": retake_day, "form": "both"}, follow_redirects=False)
    assert retake.status_code == 303
    assert "补考" in (await client.get(f"/cohorts/{cohort['id']}/assessment")).text


async def test_another_citys_institution_gets_404_on_every_assessment_route(client):
    cohort = await ended_cohort(eligible=1, ineligible=0)
    own = await bearer(client, cohort["actor"].username)
    sitting = (await client.post(f"/api/v1/cohorts/{cohort['id']}/assessments", headers=own, json={
        "assessment_date": today_in_china().isoformat(), "form": "both"})).json()["id"]
    stranger = await ended_cohort("370200", eligible=0, ineligible=0)
    headers = await bearer(client, stranger["actor"].username)
    body = {"assessment_date": today_in_china().isoformat(), "form": "both"}
    calls = [
        client.get(f"/api/v1/cohorts/{cohort['id']}/assessments", headers=headers),
        client.post(f"/api/v1/cohorts/{cohort['id']}/assessments", headers=headers, json=body),
        client.patch(f"/api/v1/assessments/{sitting}", headers=headers, json=body),
        client.get(f"/api/v1/assessments/{sitting}/results", headers=headers),
        client.put(f"/api/v1/assessments/{sitting}/results", headers=headers, json={"entries": []}),
        client.post(f"/api/v1/assessments/{sitting}/results/import", headers=headers,
                    files={"file": ("r.csv", b"a,b\n1,2\n", "text/csv")}),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 404, (response.request.url, response.text)
    await login(client, stranger["actor"].username)
    assert (await client.get(f"/cohorts/{cohort['id']}/assessment")).status_code == 404
    posted = await client.post(f"/assessments/{sitting}/results", headers=csrf(client), data={"enrollment": "1"})
    assert posted.status_code == 404
    city = await make_user("city", "370100")
    city_headers = await bearer(client, city.username)
    assert (await client.get(f"/api/v1/assessments/{sitting}/results", headers=city_headers)).status_code == 200
    assert (await client.put(f"/api/v1/assessments/{sitting}/results", headers=city_headers,
                             json={"entries": []})).status_code == 403
