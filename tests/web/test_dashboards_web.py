"""Dashboards, league table and the stats API through the application (issue 7).

The province officer reaches the trainees of an overdue cohort of the worst city in three clicks;
the numbers on the pages and in the API equal independent counts; a city never sees another
city's figures by any door; bad filters are clear 4xx answers, never a 500.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.dashboards_factories import Province, independent, make_province
from tests.factories import bearer, login
from training.tables import Cohort, Enrollment

HREF = re.compile(r'href="([^"]+)"')


def hrefs(html: str, prefix: str = "") -> list[str]:
    return [unescape(h) for h in HREF.findall(html) if h.startswith(prefix)]


@pytest.fixture
async def province(database) -> Province:
    return await make_province()


async def test_three_clicks_from_the_province_dashboard_to_the_overdue_trainees(client, province: Province) -> None:
    await login(client, "dash-province")
    board = await client.get("/dashboard")
    assert board.status_code == 200
    # click 1: the city with the most overdue filings (Qingdao, 2)
    worst = re.search(r'id="most-overdue">.*?<a href="([^"]+)">([^<]+)</a>', board.text, re.S)
    assert worst and "青岛市" in worst.group(2)
    listed = await client.get(unescape(worst.group(1)))
    assert listed.status_code == 200
    codes = {c["id"]: c["code"] for c in await Cohort.select(Cohort.id, Cohort.code)}
    q1, q2, j1 = province.cohorts["Q1"], province.cohorts["Q2"], province.cohorts["J1"]
    assert codes[q1] in listed.text and codes[q2] in listed.text and codes[j1] not in listed.text
    # click 2: the cohort
    cohort_link = next(h for h in hrefs(listed.text, "/cohorts/") if re.fullmatch(r"/cohorts/\d+", h))
    cohort_id = int(cohort_link.rsplit("/", 1)[1])
    assert cohort_id in (q1, q2)
    detail = await client.get(cohort_link)
    assert detail.status_code == 200
    # click 3: its trainees
    trainees_link = f"/cohorts/{cohort_id}/enrollments"
    assert trainees_link in hrefs(detail.text)
    trainees = await client.get(trainees_link)
    assert trainees.status_code == 200
    names = await Enrollment.select(Enrollment.trainee.name.as_alias("name")).where(Enrollment.cohort == cohort_id)
    assert names and all(n["name"] in trainees.text for n in names)


async def test_the_province_page_shows_the_counts_and_every_figure_link_answers(client, province: Province) -> None:
    await login(client, "dash-province")
    page = await client.get(f"/dashboard?year={province.year}")
    assert page.status_code == 200 and page.text.count("<svg") == 3
    for city in ("370100", "370200"):
        expected = await independent(city, province.year)
        cell = re.search(rf'data-figure="overdue" data-key="{city}">(\d+)<', page.text)
        assert cell and int(cell.group(1)) == expected["overdue"]
    drill = sorted(set(hrefs(page.text, "/dashboard/cohorts")))
    assert len(drill) > 30
    for link in drill:
        response = await client.get(link)
        assert response.status_code == 200, link
    jinan = await client.get(f"/dashboard?year={province.year}&city=370100")
    assert jinan.status_code == 200 and "待办事项" not in jinan.text  # the to-do list is the city's own


async def test_a_city_never_sees_another_citys_figures(client, province: Province) -> None:
    await login(client, "dash-jinan")
    own = await client.get("/dashboard")
    assert own.status_code == 200 and "青岛" not in own.text
    assert "待办事项" in own.text
    for url in ("/dashboard?city=370200", "/dashboard/cohorts?figure=overdue&city=370200", "/league?city=370200"):
        assert (await client.get(url)).status_code == 404, url
    league = await client.get("/league")
    assert league.status_code == 200 and "青岛" not in league.text
    headers = await bearer(client, "dash-jinan")
    api = await client.get("/api/v1/stats/overview?city=370200", headers=headers)
    assert api.status_code == 404 and set(api.json()) >= {"error", "detail", "fields"}
    body = (await client.get(f"/api/v1/stats/overview?year={province.year}", headers=headers)).json()
    assert [c["city_code"] for c in body["cities"]] == ["370100"]
    expected = await independent("370100", province.year)
    assert body["totals"]["enrolled"] == expected["enrolled"]
    assert body["totals"]["filings_overdue"] == expected["overdue"]


async def test_the_stats_api_for_the_province_equals_independent_counts(client, province: Province) -> None:
    headers = await bearer(client, "dash-province")
    response = await client.get(f"/api/v1/stats/overview?year={province.year}", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["year"] == province.year and body["city_code"] is None and len(body["cities"]) == 16
    expected = await independent(None, province.year)
    totals = body["totals"]
    assert (totals["plan_target"], totals["approved_capacity"], totals["enrolled"], totals["completed"],
            totals["certified"]) == (expected["target"], expected["capacity"], expected["enrolled"],
                                     expected["completed"], expected["certified"])
    assert (totals["filings_on_time"], totals["filings_late"], totals["filings_overdue"]) == (
        expected["on_time"], expected["late"], expected["overdue"])
    assert totals["pass_rate"] == round(100 * expected["passed"] / expected["assessed"], 1)
    assert totals["hours"]["total"] == sum(expected["hours"].values())
    assert totals["anomalies_open"] == expected["anomalies_open"]
    for row in body["cities"]:
        city = await independent(row["city_code"], province.year)
        assert row["figures"]["enrolled"] == city["enrolled"] and row["figures"]["filings_overdue"] == city["overdue"]
    one = (await client.get("/api/v1/stats/overview?city=370200", headers=headers)).json()
    assert [c["city_code"] for c in one["cities"]] == ["370200"] and one["totals"]["filings_overdue"] == 2


BAD_QUERIES = ["year=abc", "year=99999", "year=1999", "city=%27%20OR%201%3D1%20--", "city=999999",
               "city=37010%3B%20DROP%20TABLE%20cohort", "year=2026&city=%3Cscript%3E"]


@pytest.mark.parametrize("query", BAD_QUERIES)
async def test_bad_filters_are_clear_errors_never_a_500(client, province: Province, query: str) -> None:
    await login(client, "dash-province")
    headers = await bearer(client, "dash-province")
    for url in (f"/dashboard?{query}", f"/dashboard/cohorts?figure=overdue&{query}", f"/league?{query}"):
        response = await client.get(url)
        assert 400 <= response.status_code < 500, (url, response.status_code)
    api = await client.get(f"/api/v1/stats/overview?{query}", headers=headers)
    assert api.status_code in (400, 404, 422)
    assert api.json()["detail"]
    assert await Cohort.count() == len(province.cohorts)


@pytest.mark.parametrize("url", ["/dashboard/cohorts?figure=%3Cscript%3E", "/dashboard/cohorts?figure=overdue&occupation=x",
                                 "/dashboard/cohorts?figure=overdue&level=master", "/league?sort=name%3BDROP",
                                 "/league?page_number=abc", "/league?page_number=99999999999999999999",
                                 "/dashboard/cohorts?institution=99999999999999"])
async def test_other_bad_parameters_are_4xx(client, province: Province, url: str) -> None:
    await login(client, "dash-province")
    response = await client.get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code)
    assert "<script>" not in response.text


async def test_an_empty_page_of_the_league_is_empty_not_an_error(client, province: Province) -> None:
    await login(client, "dash-province")
    response = await client.get("/league?page_number=999")
    assert response.status_code == 200 and "暂无数据" in response.text


async def test_the_institution_sees_its_own_dashboard_only(client, province: Province) -> None:
    await login(client, province.institution.username)
    page = await client.get("/dashboard")
    assert page.status_code == 200
    assert "全省机构中位数" in page.text and "青岛" not in page.text
    assert (await client.get("/league")).status_code == 403
    assert (await client.get("/dashboard/cohorts?figure=overdue&city=370200")).status_code == 404
    mine = await client.get("/dashboard/cohorts?figure=overdue")
    codes = {c["id"]: c["code"] for c in await Cohort.select(Cohort.id, Cohort.code)}
    assert codes[province.cohorts["J1"]] in mine.text and codes[province.cohorts["Q1"]] not in mine.text
    headers = await bearer(client, province.institution.username)
    assert (await client.get("/api/v1/stats/overview", headers=headers)).status_code == 403


async def test_the_league_table_sorts_by_a_column(client, province: Province) -> None:
    await login(client, "dash-province")
    response = await client.get(f"/league?year={province.year}&sort=enrolled&order=asc")
    assert response.status_code == 200
    enrolled = [int(n) for n in re.findall(r'figure=enrolled[^"]*">(\d+)<', response.text)]
    assert enrolled == sorted(enrolled) and len(enrolled) >= 5


async def test_home_and_nav_lead_to_the_dashboard(client, province: Province) -> None:
    await login(client, "dash-jinan")
    home = await client.get("/")
    assert hrefs(home.text).count("/dashboard") >= 2  # the nav line and the home page's link
