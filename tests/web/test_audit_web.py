"""The audit trail viewer: scope, filters, a record's history, the chain check, exports."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl
import pytest

from tests.factories import bearer, id_number, login, make_institution, make_user
from training import db
from training.errors import BadInput, Forbidden, Invalid
from training.rules.clock import today_in_china
from training.services import audit
from training.tables import AuditEvent


async def _record(actor, action, entity, entity_id, *, city_code=None, institution_id=None, before=None, after=None):
    async with db.transaction():
        await audit.record(actor, action, entity, entity_id, before=before, after=after, city_code=city_code,
                           institution_id=institution_id)


async def _trail():
    """Events in Jinan (370100) and Qingdao (370200), one carrying an ID number under an odd key."""
    province = await make_user("province")
    jinan = await make_user("city", "370100")
    qingdao = await make_user("city", "370200")
    school = await make_institution("370100")
    number = id_number()
    await _record(jinan, "cohort.approve", "cohort", 11, before={"status": "submitted"},
                  after={"status": "approved", "note": f"核对 {number}"}, institution_id=school)
    await _record(jinan, "catalogue.add", "catalogue_entry", 5, after={"institution": school})
    await _record(qingdao, "cohort.approve", "cohort", 12, before={"status": "submitted"}, after={"status": "approved"})
    await _record(province, "plan.accept", "plan", 3, city_code="370100", before={"status": "submitted"},
                  after={"status": "accepted"})
    await _record(jinan, "cohort.edit", "cohort", 11, before={"capacity": 30}, after={"capacity": 40},
                  institution_id=school)
    return province, jinan, qingdao, school, number


def _work(rows):
    """The events of the trail built here, without the sign-in and user-creation events."""
    return [r for r in rows if r["entity"] != "user"]


async def test_scope_province_all_city_own_institution_refused(database):
    province, jinan, qingdao, school, _ = await _trail()
    rows, total = await audit.search(province, limit=500)
    assert total == len(rows) and len(_work(rows)) == 5 and rows[0]["id"] > rows[-1]["id"]
    rows, total = await audit.search(jinan, limit=500)
    assert len(_work(rows)) == 4 and {r["city_code"] for r in rows} == {"370100"}
    rows, total = await audit.search(qingdao, limit=500)
    assert [r["entity_id"] for r in _work(rows)] == ["12"] and {r["city_code"] for r in rows} == {"370200"}
    clerk = await make_user("institution", str(school))
    with pytest.raises(Forbidden):
        await audit.search(clerk)
    # a city naming another city's code gets nothing, never the other city's events
    rows, total = await audit.search(jinan, audit.parse_filter(org="370200"))
    assert total == 0 and rows == []


async def test_filters(database):
    province, jinan, _, school, _ = await _trail()

    async def ids(**filters):
        rows, _ = await audit.search(province, audit.parse_filter(**filters), limit=500)
        return sorted(int(r["entity_id"]) for r in _work(rows))

    assert await ids(org="370200") == [12]
    assert await ids(org=str(school)) == [11, 11]
    assert await ids(username=jinan.username) == [5, 11, 11]
    assert await ids(entity="cohort", entity_id="11") == [11, 11]
    assert await ids(action="plan.accept") == [3]
    today = today_in_china()
    assert len(await ids(date_from=today.isoformat(), date_to=today.isoformat())) == 5
    assert await ids(date_to=(today - timedelta(days=1)).isoformat()) == []
    assert await ids(date_from=(today + timedelta(days=1)).isoformat()) == []
    rows, total = await audit.search(province, audit.parse_filter(entity="cohort"), limit=2, offset=2)
    assert total == 3 and len(rows) == 1


@pytest.mark.parametrize(("filters", "field", "error"), [
    ({"date_from": "2026-02-30"}, "date_from", Invalid),
    ({"date_to": "yesterday"}, "date_to", Invalid),
    ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_to", Invalid),
    ({"date_from": "0001-01-01"}, "date_from", Invalid),
    ({"org": "' OR 1=1 --"}, "org", Invalid),
    ({"org": "99999999999999999999"}, "org", Invalid),
    ({"username": "a\x00b"}, "username", BadInput),
    ({"entity": "x" * 500}, "entity", BadInput),
])
def test_bad_filters_name_the_field(filters, field, error):
    with pytest.raises(error) as caught:
        audit.parse_filter(**filters)
    assert field in caught.value.fields


async def test_history_and_masking(database):
    province, _jinan, qingdao, _, number = await _trail()
    events = await audit.history(province, "cohort", "11")
    assert [e["action"] for e in events] == ["cohort.approve", "cohort.edit"]
    assert number not in str(events) and number[:4] in str(events)
    assert {"key": "capacity", "before": "30", "after": "40"} in events[1]["changes"]
    assert await audit.history(qingdao, "cohort", "11") == []
    with pytest.raises(Invalid):
        await audit.history(province, "cohort", "")


async def test_chain_status_reports_a_tampered_event(database):
    province, *_ = await _trail()
    status = await audit.chain_status(province, fresh=True)
    assert status.report.ok and status.report.events == await AuditEvent.count()
    victim = (await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id).offset(1).first())["id"]
    await AuditEvent.update({AuditEvent.entity_id: "999"}).where(AuditEvent.id == victim)
    status = await audit.chain_status(province, fresh=True)
    assert not status.report.ok and status.report.first_bad_id == victim


async def test_pages_api_and_exports(client):
    province, jinan, qingdao, _, number = await _trail()
    await login(client, jinan.username)
    page = await client.get("/audit")
    assert page.status_code == 200 and "cohort.approve" in page.text and "catalogue.add" in page.text
    assert number not in page.text
    assert "/audit/history?entity=cohort&amp;entity_id=11" in page.text or "entity_id=11" in page.text
    bad = await client.get("/audit?date_from=2026-05-02&date_to=2026-05-01")
    assert bad.status_code == 422 and "结束日期不能早于开始日期" in bad.text
    history = await client.get("/audit/history?entity=cohort&entity_id=11")
    assert history.status_code == 200 and "cohort.edit" in history.text
    # the export holds exactly the page's rows, in the city's scope only
    xlsx = await client.get("/audit?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxml")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "编号" and len([r for r in rows[1:] if r[7] != "user"]) == 4
    assert {r[4] for r in rows[1:]} == {"370100"} and number not in str(rows)
    shown = (await client.get("/audit?page_size=500")).text
    assert all(f"<code>{r[6]}</code>" in shown for r in rows[1:])
    text = (await client.get("/audit?format=csv&entity=cohort")).content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert len(table) == 1 + 2 and {r[7] for r in table[1:]} == {"cohort"}
    assert (await client.get("/audit?format=pdf")).status_code == 400
    assert (await client.get("/audit?page_size=100000")).status_code == 400
    # the API: paginated, same scope
    headers = await bearer(client, qingdao.username)
    listed = await client.get("/api/v1/audit?page_size=10&entity=cohort", headers=headers)
    assert listed.status_code == 200 and listed.headers["x-total-count"] == "1"
    assert [e["entity_id"] for e in listed.json()] == ["12"]
    assert (await client.get("/api/v1/audit?org=370100", headers=headers)).json() == []
    headers = await bearer(client, province.username)
    listed = await client.get("/api/v1/audit?page=2&page_size=2", headers=headers)
    assert len(listed.json()) == 2 and 'rel="next"' in listed.headers["link"]
    wrong = await client.get("/api/v1/audit?date_from=2026-13-01", headers=headers)
    assert wrong.status_code == 422 and "date_from" in wrong.json()["fields"]
    chain = (await client.get("/api/v1/audit/chain?fresh=true", headers=headers)).json()
    assert chain["ok"] is True and chain["events"] == await AuditEvent.count()
    history = (await client.get("/api/v1/audit/history?entity=cohort&entity_id=11", headers=headers)).json()
    assert len(history) == 2


async def test_chain_status_checks_new_events_between_full_walks(database):
    province, jinan, *_ = await _trail()
    first = await audit.chain_status(province, fresh=True)
    await _record(jinan, "cohort.edit", "cohort", 11, after={"capacity": 50})
    again = await audit.chain_status(province)
    assert again.report.ok and again.report.events == first.report.events + 1 and again.cached
    assert again.checked_at == first.checked_at
    # an appended event that does not chain is caught by the incremental check
    last = await AuditEvent.select().order_by(AuditEvent.id, ascending=False).first()
    await AuditEvent.insert(AuditEvent(occurred_at=last["occurred_at"], action="forged", entity="cohort",
                                       entity_id="1", prev_hash="f" * 64, hash="e" * 64))
    broken = await audit.chain_status(province)
    assert not broken.report.ok and broken.report.reason
    assert not (await audit.chain_status(province)).report.ok
