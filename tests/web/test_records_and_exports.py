"""The trainee record across cohorts (each reader sees only their part) and the departments'
exports in xlsx and CSV, read back, with masked ID numbers and scope."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.attendance_factories import make_enrollment
from tests.certificates_factories import assessed_cohort, ended_cohort
from tests.factories import bearer, login, make_user
from training.rules.clock import today_in_china
from training.services import certificates
from training.tables import Attendance, TrainingSession


async def _two_cohorts_one_person():
    """One person certified in Jinan and also enrolled (with hours) in a Qingdao cohort."""
    jinan = await assessed_cohort(passed=1)
    await certificates.issue_all(jinan["actor"], jinan["id"])
    person = jinan["eligible"][0]
    qingdao = await ended_cohort("370200", eligible=0, ineligible=0)
    other = await make_enrollment(qingdao["id"], number=person["id_number"])
    session = (await TrainingSession.select(TrainingSession.id).where(TrainingSession.cohort == qingdao["id"])
               .first())["id"]
    await Attendance.insert(Attendance(enrollment=other["id"], session=session, status="present", credited_hours=10))
    return jinan, qingdao, person


async def test_record_shows_each_reader_only_their_part(client):
    jinan, qingdao, person = await _two_cohorts_one_person()
    path = f"/api/v1/trainees/{person['trainee_id']}/record"
    province = (await client.get(path, headers=await bearer(client, (await make_user("province")).username))).json()
    assert len(province["enrollments"]) == 2 and province["total_hours"] == 138
    assert person["id_number"] not in str(province)
    jinan_view = (await client.get(path, headers=await bearer(client, jinan["actor"].username))).json()
    assert [e["cohort_id"] for e in jinan_view["enrollments"]] == [jinan["id"]]
    enrollment = jinan_view["enrollments"][0]
    assert enrollment["hours"]["offline_practice"] == 48 and enrollment["results"][0]["passed"]
    assert enrollment["certificate"]["number"].startswith("DTE-")
    qingdao_city = (await client.get(path, headers=await bearer(client, (await make_user("city", "370200")).username))
                    ).json()
    assert [e["cohort_id"] for e in qingdao_city["enrollments"]] == [qingdao["id"]]
    assert qingdao_city["enrollments"][0]["certificate"] is None
    stranger = await ended_cohort("370300", eligible=0, ineligible=0)
    assert (await client.get(path, headers=await bearer(client, stranger["actor"].username))).status_code == 404
    assert (await client.get(path, headers=await bearer(client, (await make_user("city", "370300")).username))
            ).status_code == 404
    await login(client, jinan["actor"].username)
    page = await client.get(f"/trainees/{person['trainee_id']}/record")
    assert page.status_code == 200 and "学员培训档案" in page.text and jinan["eligible"][0]["id_number"] not in page.text
    await login(client, stranger["actor"].username)
    assert (await client.get(f"/trainees/{person['trainee_id']}/record")).status_code == 404


async def test_hours_export_per_person_per_year_xlsx_and_csv(client):
    _, _, person = await _two_cohorts_one_person()
    year = today_in_china().year
    await login(client, (await make_user("province")).username)
    assert "继续教育学时" in (await client.get("/exports")).text
    xlsx = await client.get(f"/exports/hours/xlsx?year={year}")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    rows = list(load_workbook(io.BytesIO(xlsx.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:5] == ("年度", "姓名", "身份证号", "工作单位", "继续教育学时合计")
    mine = [r for r in rows[1:] if r[2] and r[2].endswith(person["id_number"][-4:])]
    assert len(mine) == 1 and mine[0][4] == 138 and "*" in mine[0][2] and mine[0][10].startswith("DTE-")
    assert person["id_number"] not in str(rows)
    text = (await client.get(f"/exports/hours/csv?year={year}&city=370200")).content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][0] == "年度" and len(table) == 2 and table[1][4] == "10.0"


async def test_holders_export_by_city_occupation_level_and_scope(client):
    jinan, _, _ = await _two_cohorts_one_person()
    qingdao = await assessed_cohort("370200", passed=2)
    await certificates.issue_all(qingdao["actor"], qingdao["id"])
    year = today_in_china().year
    city = await make_user("city", "370100")
    headers = await bearer(client, city.username)
    response = await client.get(f"/api/v1/exports/holders?format=csv&year={year}", headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][:4] == ["城市", "职业", "等级", "证书编号"]
    assert len(table) == 2 and table[1][0] == "济南市" and table[1][2] == "初级" and "*" in table[1][6]
    other = await client.get(f"/api/v1/exports/holders?format=csv&year={year}&city=370200", headers=headers)
    assert other.status_code == 404
    province = await bearer(client, (await make_user("province")).username)
    everyone = await client.get(f"/api/v1/exports/holders?year={year}", headers=province)
    sheet = load_workbook(io.BytesIO(everyone.content)).worksheets[0]
    cities = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(cities) == ["济南市", "青岛市", "青岛市"] and cities[0] == "济南市"
    senior = await client.get(f"/api/v1/exports/holders?format=csv&year={year}&level=senior", headers=province)
    assert len(list(csv.reader(io.StringIO(senior.content.decode("utf-8-sig"))))) == 1
    institution = await bearer(client, jinan["actor"].username)
    assert (await client.get(f"/api/v1/exports/holders?year={year}", headers=institution)).status_code == 403
    await login(client, jinan["actor"].username)
    assert (await client.get("/exports")).status_code == 403
    bad = await client.get(f"/api/v1/exports/holders?format=pdf&year={year}", headers=province)
    assert bad.status_code == 404
