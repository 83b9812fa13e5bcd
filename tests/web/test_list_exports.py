"""Every list page exports what it shows (?format=xlsx|csv on the page's own URL): the same rows as the
page's service call with the same filters, masked ID numbers, and never another city's rows."""

from __future__ import annotations

import csv
import io

import openpyxl

from tests.attendance_factories import make_cohort, make_enrollment, make_session
from tests.certificates_factories import assessed_cohort
from tests.factories import login, make_user
from tests.plans_factories import make_catalogue_entry, make_plan, occupation_id
from training.services import certificates, cohorts
from training.web.list_export import cell_value


def xlsx_rows(response) -> list[tuple]:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response.headers["content-disposition"]
    return list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_cells_mask_ids_and_defuse_formulas():
    assert cell_value("核对 370102199005171234 完毕") == "核对 3701**********1234 完毕"
    assert cell_value("=HYPERLINK(\"x\")").startswith("'=")
    assert cell_value("-12.5") == "-12.5" and cell_value(None) == "" and cell_value(True) == "是"


async def test_cohorts_export_every_row_of_the_filter_and_only_the_citys(client):
    for _ in range(53):
        await make_cohort("370100")
    await make_cohort("370200")
    city = await make_user("city", "370100")
    await login(client, city.username)
    page = await client.get("/cohorts")
    assert page.status_code == 200 and "format=xlsx" in page.text
    rows = xlsx_rows(await client.get("/cohorts?format=xlsx"))
    expected = await cohorts.list_cohorts(city, page_size=200)
    assert rows[0][0] == "班级编号" and len(rows) - 1 == expected.total == 53  # more than the page's 50
    assert [r[0] for r in rows[1:]] == [c["code"] for c in expected.items]
    assert {r[2] for r in rows[1:]} == {"济南市"}
    # a city asking for another city's rows gets none of them
    other = xlsx_rows(await client.get("/cohorts?city=370200&format=xlsx"))
    assert len(other) == 1
    shown = await client.get("/cohorts?status=in_training")
    table = csv_rows(await client.get("/cohorts?status=in_training&format=csv"))
    assert all(r[0] in shown.text for r in table[1:51])


async def test_province_cohort_export_follows_the_filter(client):
    await make_cohort("370100")
    qingdao = await make_cohort("370200")
    province = await make_user("province")
    await login(client, province.username)
    rows = csv_rows(await client.get("/cohorts?city=370200&format=csv"))
    assert len(rows) == 2 and rows[1][2] == "青岛市"
    code = (await cohorts.get_cohort(province, qingdao["id"]))["code"]
    assert rows[1][0] == code
    assert (await client.get("/cohorts?format=docx")).status_code == 400


async def test_plans_export_city_scope(client):
    await make_plan("370100")
    await make_plan("370200")
    city = await make_user("city", "370100")
    await login(client, city.username)
    rows = xlsx_rows(await client.get("/plans?format=xlsx"))
    assert len(rows) == 2 and rows[1][1] == "济南市"
    province = await make_user("province")
    await login(client, province.username)
    assert {r[1] for r in xlsx_rows(await client.get("/plans?format=xlsx"))[1:]} == {"济南市", "青岛市"}
    assert [r[1] for r in csv_rows(await client.get("/plans?city=370200&format=csv"))[1:]] == ["青岛市"]


async def test_institution_lists_export(client):
    jinan = await make_cohort("370100")
    await make_cohort("370200")
    province = await make_user("province")
    await login(client, province.username)
    rows = xlsx_rows(await client.get("/institutions/manage?city=370200&format=xlsx"))
    assert len(rows) == 2 and rows[1][3] == "青岛市"
    assert len(xlsx_rows(await client.get("/institutions/manage?format=xlsx"))) == 3
    page = await client.get("/institutions/manage")
    assert "format=xlsx" in page.text
    public = csv_rows(await client.get("/institutions?format=csv"))
    assert public[0][0] == "机构名称"
    # the catalogue: a city gets its own whatever city it names
    occupation = await occupation_id(0)
    await make_catalogue_entry("370100", jinan["institution_id"], occupation)
    city = await make_user("city", "370100")
    await login(client, city.username)
    rows = xlsx_rows(await client.get("/catalogue?city=370200&format=xlsx"))
    assert len(rows) == 2 and rows[0][0] == "机构名称"


async def test_cohort_lists_export_masked_and_scoped(client):
    cohort = await make_cohort("370100")
    people = [await make_enrollment(cohort["id"]) for _ in range(3)]
    await make_session(cohort["id"])
    await make_session(cohort["id"], mode="online")
    clerk = await make_user("institution", str(cohort["institution_id"]))
    await login(client, clerk.username)
    rows = xlsx_rows(await client.get(f"/cohorts/{cohort['id']}/enrollments?format=xlsx"))
    assert len(rows) == 4 and rows[0][:2] == ("姓名", "身份证号")
    text = str(rows)
    assert all(p["id_number"] not in text and p["id_number"][-4:] in text for p in people)
    assert len(csv_rows(await client.get(f"/cohorts/{cohort['id']}/sessions?format=csv"))) == 3
    page = await client.get(f"/cohorts/{cohort['id']}/enrollments")
    assert "format=xlsx" in page.text
    other = await make_user("city", "370200")
    await login(client, other.username)
    assert (await client.get(f"/cohorts/{cohort['id']}/enrollments?format=xlsx")).status_code == 404
    assert (await client.get(f"/cohorts/{cohort['id']}/sessions?format=csv")).status_code == 404


async def test_certificates_export(client):
    cohort = await assessed_cohort("370100", passed=2)
    await certificates.issue_all(cohort["actor"], cohort["id"])
    await login(client, cohort["actor"].username)
    rows = xlsx_rows(await client.get(f"/cohorts/{cohort['id']}/certificates?format=xlsx"))
    listing = await certificates.cohort_certificates(cohort["actor"], cohort["id"])
    assert [r[0] for r in rows[1:]] == [c["number"] for c in listing.certificates] and len(rows) == 3
    assert all("*" in r[2] for r in rows[1:])
    city = await make_user("city", "370200")
    await login(client, city.username)
    assert (await client.get(f"/cohorts/{cohort['id']}/certificates?format=xlsx")).status_code == 404


async def test_filings_export_is_the_citys_filtered_list(client):
    from datetime import timedelta

    from tests.dashboards_factories import make_filing
    from training.rules.clock import today_in_china

    past = today_in_china() - timedelta(days=3)
    for city_code in ("370100", "370200", "370200"):
        cohort = await assessed_cohort(city_code, passed=1)
        await make_filing(cohort["id"], due=past)
    jinan, province = await make_user("city", "370100"), await make_user("province")
    await login(client, jinan.username)
    page = await client.get("/filings?status=all")
    assert page.status_code == 200 and "format=xlsx" in page.text
    rows = xlsx_rows(await client.get("/filings?status=all&format=xlsx"))
    assert rows[0][:3] == ("市", "培训机构", "班级编号")
    assert len(rows) == 2 and rows[1][0] == "济南市" and rows[1][2] in page.text
    # the province's overdue filter in Qingdao: its two overdue drafts, nothing else
    await login(client, province.username)
    overdue = csv_rows(await client.get("/filings?status=overdue&city=370200&format=csv"))
    assert len(overdue) - 1 == 2 and {r[0] for r in overdue[1:]} == {"青岛市"}
    assert all(int(r[7]) == -3 for r in overdue[1:])  # days left, negative when overdue


async def test_league_export_holds_every_ranked_institution(client):
    from tests.dashboards_factories import make_province

    scene = await make_province()
    await login(client, scene.province.username)
    page = await client.get(f"/league?year={scene.year}")
    assert page.status_code == 200 and "format=xlsx" in page.text
    rows = xlsx_rows(await client.get(f"/league?year={scene.year}&format=xlsx"))
    assert rows[0][:2] == ("培训机构", "所在城市")
    assert len(rows) > 1 and all(r[0] in page.text for r in rows[1:])
    await login(client, scene.qingdao.username)
    mine = xlsx_rows(await client.get(f"/league?year={scene.year}&format=xlsx"))
    assert len(mine) > 1 and {r[1] for r in mine[1:]} == {"青岛市"}
