"""/api/v1/plans through the client: the same rules and errors as the service, and the exports."""

from __future__ import annotations

import io
import subprocess

from docx import Document

from tests.factories import bearer, make_user
from tests.plans_factories import make_plan, occupation_id
from training.rules.clock import today_in_china

NEXT_YEAR = today_in_china().year + 1


def _pdf_text(path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout


async def _city_with_plan(client, city_code="370100", username="jn"):
    await make_user("city", city_code, username=username)
    headers = await bearer(client, username)
    created = await client.post("/api/v1/plans", json={"year": NEXT_YEAR}, headers=headers)
    assert created.status_code == 201, created.text
    return headers, created.json()


async def _add_line(client, headers, plan, **values):
    body = {"occupation_id": await occupation_id(), "level": "junior", "target_group": "graduates",
            "class_type": "regular", "target_headcount": 60, **values}
    return await client.post(f"/api/v1/plans/{plan['id']}/lines", json=body, headers=headers)


async def _version(client, headers, plan_id):
    return (await client.get(f"/api/v1/plans/{plan_id}", headers=headers)).json()["lock_version"]


async def test_create_and_read_a_plan(client):
    headers, plan = await _city_with_plan(client)
    assert plan["title"] == f"济南市{NEXT_YEAR}年数字技术工程师培育项目年度培训计划"
    assert plan["status"] == "draft" and plan["lines"] == []
    response = await _add_line(client, headers, plan)
    assert response.status_code == 201 and response.json()["target_headcount"] == 60
    shown = (await client.get(f"/api/v1/plans/{plan['id']}", headers=headers)).json()
    assert shown["line_count"] == 1 and shown["lines"][0]["progress"]["target"] == 60
    assert shown["totals"]["target"] == 60
    lines = (await client.get(f"/api/v1/plans/{plan['id']}/lines", headers=headers)).json()
    assert len(lines) == 1


async def test_rule_second_plan_same_year_is_409(client):
    headers, _ = await _city_with_plan(client)
    response = await client.post("/api/v1/plans", json={"year": NEXT_YEAR}, headers=headers)
    assert response.status_code == 409
    assert response.json()["error"] == "conflict" and "year" in response.json()["fields"]


async def test_rule_bad_line_is_422_with_fields(client):
    headers, plan = await _city_with_plan(client)
    response = await _add_line(client, headers, plan, target_headcount=0, level="master")
    assert response.status_code == 422
    assert {"target_headcount", "level"} <= set(response.json()["fields"])


async def test_rule_line_on_submitted_plan_is_409(client):
    headers, plan = await _city_with_plan(client)
    line = (await _add_line(client, headers, plan)).json()
    submitted = await client.post(f"/api/v1/plans/{plan['id']}/submit",
                                  json={"lock_version": await _version(client, headers, plan["id"])},
                                  headers=headers)
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    version = await _version(client, headers, plan["id"])
    assert (await _add_line(client, headers, plan, lock_version=version)).status_code == 409
    patched = await client.patch(f"/api/v1/plans/{plan['id']}/lines/{line['id']}",
                                 json={"lock_version": version, "target_headcount": 5}, headers=headers)
    assert patched.status_code == 409
    deleted = await client.delete(f"/api/v1/plans/{plan['id']}/lines/{line['id']}?lock_version={version}",
                                  headers=headers)
    assert deleted.status_code == 409


async def test_line_edit_and_delete_while_draft(client):
    headers, plan = await _city_with_plan(client)
    line = (await _add_line(client, headers, plan)).json()
    version = await _version(client, headers, plan["id"])
    patched = await client.patch(f"/api/v1/plans/{plan['id']}/lines/{line['id']}",
                                 json={"lock_version": version, "target_headcount": 75, "level": "senior"},
                                 headers=headers)
    assert patched.status_code == 200
    assert patched.json()["target_headcount"] == 75 and patched.json()["level"] == "senior"
    version = await _version(client, headers, plan["id"])
    deleted = await client.delete(f"/api/v1/plans/{plan['id']}/lines/{line['id']}?lock_version={version}",
                                  headers=headers)
    assert deleted.status_code == 204


async def test_rule_stale_edit_is_409(client):
    headers, plan = await _city_with_plan(client)
    stale = plan["lock_version"]
    await _add_line(client, headers, plan)
    response = await client.patch(f"/api/v1/plans/{plan['id']}", json={"lock_version": stale, "title": "改"},
                                  headers=headers)
    assert response.status_code == 409 and response.json()["error"] == "stale_version"


async def test_rule_return_without_comment_is_422_then_accept(client):
    headers, plan = await _city_with_plan(client)
    await _add_line(client, headers, plan)
    await client.post(f"/api/v1/plans/{plan['id']}/submit",
                      json={"lock_version": await _version(client, headers, plan["id"])}, headers=headers)
    await make_user("province", username="prov")
    province = await bearer(client, "prov")
    version = await _version(client, province, plan["id"])
    response = await client.post(f"/api/v1/plans/{plan['id']}/return", json={"lock_version": version},
                                 headers=province)
    assert response.status_code == 422 and "comment" in response.json()["fields"]
    city_accepts = await client.post(f"/api/v1/plans/{plan['id']}/accept", json={"lock_version": version},
                                     headers=headers)
    assert city_accepts.status_code == 403
    returned = await client.post(f"/api/v1/plans/{plan['id']}/return",
                                 json={"lock_version": version, "comment": "请补充高级班"}, headers=province)
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert returned.json()["province_comment"] == "请补充高级班"


async def test_rule_late_submission_is_flagged(client):
    await make_user("city", "370100", username="jn")
    headers = await bearer(client, "jn")
    created = (await client.post("/api/v1/plans", json={"year": today_in_china().year - 1}, headers=headers)).json()
    await _add_line(client, headers, created)
    response = await client.post(f"/api/v1/plans/{created['id']}/submit",
                                 json={"lock_version": await _version(client, headers, created["id"])},
                                 headers=headers)
    assert response.status_code == 200 and response.json()["submitted_late"] is True


async def test_rule_other_city_gets_404(client):
    _, plan = await _city_with_plan(client)
    await make_user("city", "370200", username="qd")
    other = await bearer(client, "qd")
    assert (await client.get(f"/api/v1/plans/{plan['id']}", headers=other)).status_code == 404
    assert (await client.get(f"/api/v1/plans/{plan['id']}/document.docx", headers=other)).status_code == 404
    response = await _add_line(client, other, plan)
    assert response.status_code == 404
    listed = (await client.get("/api/v1/plans", headers=other)).json()
    assert listed == {"items": [], "total": 0, "page": 1, "page_size": 50}


async def test_list_filters_and_page_size_limit(client):
    await make_user("province", username="prov")
    headers = await bearer(client, "prov")
    await make_plan("370100", NEXT_YEAR, "submitted")
    await make_plan("370200", NEXT_YEAR, "draft")
    body = (await client.get(f"/api/v1/plans?year={NEXT_YEAR}&status=submitted", headers=headers)).json()
    assert body["total"] == 1 and body["items"][0]["city_code"] == "370100"
    assert (await client.get("/api/v1/plans?city=370200", headers=headers)).json()["total"] == 1
    assert (await client.get("/api/v1/plans?page_size=201", headers=headers)).status_code == 400
    paged = (await client.get("/api/v1/plans?page=2&page_size=1", headers=headers)).json()
    assert paged["total"] == 2 and len(paged["items"]) == 1 and paged["page"] == 2


async def test_word_export_reads_back(client):
    headers, plan = await _city_with_plan(client)
    await _add_line(client, headers, plan, target_headcount=30)
    await _add_line(client, headers, plan, level="senior", target_headcount=12)
    response = await client.get(f"/api/v1/plans/{plan['id']}/document.docx", headers=headers)
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    document = Document(io.BytesIO(response.content))
    assert document.paragraphs[0].text == plan["title"]
    assert len(document.tables[0].rows) == 1 + 2 + 1
    assert document.tables[0].rows[-1].cells[6].text == "42"


async def test_pdf_export_is_real(client, tmp_path):
    headers, plan = await _city_with_plan(client)
    await _add_line(client, headers, plan)
    response = await client.get(f"/api/v1/plans/{plan['id']}/document.pdf", headers=headers)
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"%PDF")
    path = tmp_path / "plan.pdf"
    path.write_bytes(response.content)
    text = _pdf_text(path)
    assert plan["title"] in text.replace(" ", "").replace("\n", "")


async def test_pdf_is_503_without_libreoffice(client, tmp_path, monkeypatch):
    headers, plan = await _city_with_plan(client)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    response = await client.get(f"/api/v1/plans/{plan['id']}/document.pdf", headers=headers)
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert response.json()["detail"].startswith("未安装 LibreOffice，暂无法生成 PDF")


async def test_institution_cannot_export_or_create(client):
    from tests.factories import make_institution

    institution_id = await make_institution("370100")
    await make_user("institution", str(institution_id), username="inst")
    headers = await bearer(client, "inst")
    plan_id, _ = await make_plan("370100", NEXT_YEAR, "submitted")
    assert (await client.post("/api/v1/plans", json={"year": NEXT_YEAR}, headers=headers)).status_code == 403
    assert (await client.get(f"/api/v1/plans/{plan_id}/document.docx", headers=headers)).status_code == 403
    shown = await client.get(f"/api/v1/plans/{plan_id}", headers=headers)
    assert shown.status_code == 200 and shown.json()["totals"] is None


async def test_openapi_documents_the_plan_paths(client):
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in ("/api/v1/plans", "/api/v1/plans/{plan_id}", "/api/v1/plans/{plan_id}/lines",
                 "/api/v1/plans/{plan_id}/submit", "/api/v1/plans/{plan_id}/accept",
                 "/api/v1/plans/{plan_id}/return", "/api/v1/plans/{plan_id}/document.pdf"):
        assert path in paths, path


async def test_bad_input_wrong_types_are_400(client):
    await make_user("city", "370100", username="jn")
    headers = await bearer(client, "jn")
    assert (await client.post("/api/v1/plans", json={"year": "next"}, headers=headers)).status_code == 400
    assert (await client.post("/api/v1/plans", content=b"{oops", headers={**headers, "content-type": "application/json"})
            ).status_code == 400
    created = (await client.post("/api/v1/plans", json={"year": NEXT_YEAR}, headers=headers)).json()
    response = await _add_line(client, headers, created, target_headcount="many")
    assert response.status_code == 400 and "target_headcount" in str(response.json())


async def test_bad_input_year_out_of_range_is_422(client):
    await make_user("city", "370100", username="jn")
    headers = await bearer(client, "jn")
    response = await client.post("/api/v1/plans", json={"year": 1999}, headers=headers)
    assert response.status_code == 422 and "year" in response.json()["fields"]
