"""Anomaly review: the city marks each flag explained (note required) or confirmed; re-review is audited;
filters; a city reviews only its own; the API and the page export the same rows."""

from __future__ import annotations

import io
import itertools

import openpyxl
import pytest

from tests.attendance_factories import make_cohort
from tests.factories import bearer, city_id, csrf, login, make_user
from training.errors import Forbidden, Invalid, NotFound
from training.services import anomalies
from training.tables import AnomalyFlag, AuditEvent

_keys = itertools.count(1)


async def _flag(cohort, kind="daily_hours", status="open"):
    row = await AnomalyFlag.insert(AnomalyFlag(
        kind=kind, city=await city_id(cohort["city_code"]), institution=cohort["institution_id"],
        cohort=cohort["id"], details={"day": "2026-03-01", "hours": 11}, dedupe_key=f"test-{next(_keys)}",
        review_status=status)).returning(AnomalyFlag.id)
    return row[0]["id"]


async def test_explained_needs_a_note_confirmed_does_not(database):
    cohort = await make_cohort("370100")
    flag = await _flag(cohort)
    city = await make_user("city", "370100")
    with pytest.raises(Invalid) as caught:
        await anomalies.review_flag(city, flag, "explained", "  ")
    assert "note" in caught.value.fields
    with pytest.raises(Invalid) as caught:
        await anomalies.review_flag(city, flag, "ignored", "x")
    assert "status" in caught.value.fields
    assert (await AnomalyFlag.select(AnomalyFlag.review_status).first())["review_status"] == "open"
    await anomalies.review_flag(city, flag, "confirmed", "")
    row = await AnomalyFlag.select().where(AnomalyFlag.id == flag).first()
    assert row["review_status"] == "confirmed" and row["reviewed_by"] == city.user_id and row["reviewed_at"]
    assert await anomalies.confirmed_counts([cohort["institution_id"]]) == {cohort["institution_id"]: 1}


async def test_re_review_is_allowed_and_audited_with_the_previous_decision(database):
    cohort = await make_cohort("370100")
    flag = await _flag(cohort)
    city = await make_user("city", "370100")
    province = await make_user("province")
    await anomalies.review_flag(city, flag, "confirmed", "属实")
    await anomalies.review_flag(province, flag, "explained", "复核：系补课")
    row = await AnomalyFlag.select().where(AnomalyFlag.id == flag).first()
    assert row["review_status"] == "explained" and row["reviewed_by"] == province.user_id
    events = await AuditEvent.select().where(AuditEvent.entity == "anomaly_flag").order_by(AuditEvent.id).output(
        load_json=True)
    assert [e["action"] for e in events] == ["anomaly.review", "anomaly.re_review"]
    assert events[1]["before"]["review_status"] == "confirmed" and events[1]["before"]["note"] == "属实"
    assert await anomalies.confirmed_counts([cohort["institution_id"]]) == {}


async def test_scope_and_roles(database):
    jinan = await make_cohort("370100")
    qingdao = await make_cohort("370200")
    theirs = await _flag(qingdao)
    city = await make_user("city", "370100")
    with pytest.raises(NotFound):
        await anomalies.review_flag(city, theirs, "confirmed", "")
    clerk = await make_user("institution", str(jinan["institution_id"]))
    with pytest.raises(Forbidden):
        await anomalies.review_flag(clerk, await _flag(jinan), "confirmed", "")
    assert [f["id"] for f in await anomalies.list_flags(await make_user("city", "370200"))] == [theirs]


async def test_filters(database):
    one = await make_cohort("370100")
    two = await make_cohort("370100")
    a = await _flag(one, "daily_hours")
    b = await _flag(one, "offline_overlap", "confirmed")
    c = await _flag(two, "daily_hours", "explained")
    city = await make_user("city", "370100")

    async def ids(**typed):
        selection = anomalies.parse_filter(**typed)
        rows = await anomalies.list_flags(city, selection=selection)
        assert await anomalies.count_flags(city, selection) == len(rows)
        return sorted(r["id"] for r in rows)

    assert await ids() == [a, b, c]
    assert await ids(status="open") == [a]
    assert await ids(status="reviewed") == [b, c]
    assert await ids(status="confirmed") == [b]
    assert await ids(kind="daily_hours") == [a, c]
    assert await ids(institution=str(two["institution_id"])) == [c]
    assert await ids(institution="999999") == []
    for typed, field in [({"kind": "nope"}, "kind"), ({"status": "' OR 1=1 --"}, "status"),
                         ({"institution": "99999999999999"}, "institution"), ({"institution": "-3"}, "institution")]:
        with pytest.raises(Invalid) as caught:
            anomalies.parse_filter(**typed)
        assert field in caught.value.fields


async def test_api_review_and_list(client):
    jinan = await make_cohort("370100")
    qingdao = await make_cohort("370200")
    mine = await _flag(jinan)
    theirs = await _flag(qingdao)
    city = await make_user("city", "370100")
    headers = await bearer(client, city.username)
    listed = await client.get("/api/v1/anomalies?status=all", headers=headers)
    assert listed.status_code == 200 and [f["id"] for f in listed.json()] == [mine]
    assert listed.headers["x-total-count"] == "1" and listed.json()[0]["city_code"] == "370100"
    bad = await client.post(f"/api/v1/anomalies/{mine}/review", headers=headers, json={"decision": "explained"})
    assert bad.status_code == 422 and "note" in bad.json()["fields"]
    bad = await client.post(f"/api/v1/anomalies/{mine}/review", headers=headers, json={"decision": "maybe"})
    assert bad.status_code == 422 and "decision" in bad.json()["fields"]
    other = await client.post(f"/api/v1/anomalies/{theirs}/review", headers=headers, json={"decision": "confirmed"})
    assert other.status_code == 404
    done = await client.post(f"/api/v1/anomalies/{mine}/review", headers=headers,
                             json={"decision": "explained", "note": "补课"})
    assert done.status_code == 200 and done.json()["review_status"] == "explained"
    assert done.json()["reviewer"] == city.username
    assert (await client.get("/api/v1/anomalies", headers=headers)).json()[0]["review_status"] == "explained"
    assert (await client.get("/api/v1/anomalies?status=open", headers=headers)).json() == []
    assert (await client.get("/api/v1/anomalies?kind=bogus", headers=headers)).status_code == 422
    clerk = await make_user("institution", str(jinan["institution_id"]))
    assert (await client.get("/api/v1/anomalies", headers=await bearer(client, clerk.username))).status_code == 403


async def test_page_filters_re_review_and_export(client):
    jinan = await make_cohort("370100")
    qingdao = await make_cohort("370200")
    mine = await _flag(jinan)
    await _flag(qingdao)
    city = await make_user("city", "370100")
    await login(client, city.username)
    done = await client.post(f"/anomalies/{mine}/review", headers=csrf(client),
                             data={"status": "confirmed", "note": ""}, follow_redirects=False)
    assert done.status_code == 303
    page = await client.get("/anomalies?status=confirmed")
    assert page.status_code == 200 and "重新核查" in page.text and city.username in page.text
    assert (await client.get("/anomalies?status=open")).text.count("/review\"") == 0
    bad = await client.get("/anomalies?kind=bogus")
    assert bad.status_code == 422
    export = await client.get("/anomalies?status=all&format=xlsx")
    assert export.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == mine and rows[1][3] == "济南市" and rows[1][8] == "确认违规"


async def test_institution_page_shows_confirmed_flags(client):
    cohort = await make_cohort("370100")
    flag = await _flag(cohort)
    await anomalies.review_flag(await make_user("city", "370100"), flag, "confirmed", "")
    province = await make_user("province")
    await login(client, province.username)
    page = await client.get(f"/institutions/manage/{cohort['institution_id']}")
    assert page.status_code == 200 and "确认违规的异常线索：1" in page.text


async def test_page_is_paged_and_export_has_every_row(client):
    cohort = await make_cohort("370100")
    for _ in range(103):
        await _flag(cohort)
    city = await make_user("city", "370100")
    await login(client, city.username)
    first = await client.get("/anomalies")
    assert first.status_code == 200 and first.text.count('action="/anomalies/') == 100 and "1 / 2" in first.text
    second = await client.get("/anomalies?status=open&page_number=2")
    assert second.text.count('action="/anomalies/') == 3
    rows = list(openpyxl.load_workbook(io.BytesIO((await client.get("/anomalies?format=xlsx")).content)
                                       ).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 103
