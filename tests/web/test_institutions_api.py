"""/api/v1/institutions and /api/v1/cities/{code}/catalogue: the same rules and errors as the services."""

from __future__ import annotations

from tests.factories import bearer, credit_code, make_institution, make_user
from tests.institutions_factories import AI, BIG_DATA, approve, csv_bytes, import_row, many_rows, occupation_id, xlsx
from training.tables import Approval, AuditEvent, CatalogueEntry, Institution


async def _headers(client, role: str, org: str = "") -> dict[str, str]:
    actor = await make_user(role, org)
    return await bearer(client, actor.username)


def _body(**overrides):
    body = {"name": "烟台工业互联网学院", "credit_code": credit_code(), "city": "烟台市", "address": "烟台市芝罘区1号",
            "contact_person": "孙七", "phone": "0535-6666888", "email": "yt@example.cn"}
    body.update(overrides)
    return body


async def test_province_creates_reads_and_lists(client):
    headers = await _headers(client, "province")
    created = await client.post("/api/v1/institutions", json=_body(), headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["city_code"] == "370600" and body["lock_version"] == 1 and body["approvals"] == []
    one = await client.get(f"/api/v1/institutions/{body['id']}", headers=headers)
    assert one.json()["name"] == "烟台工业互联网学院"
    listed = (await client.get("/api/v1/institutions?city=370600&page=1&page_size=10", headers=headers)).json()
    assert listed["total"] == 1 and listed["page"] == 1 and listed["page_size"] == 10


async def test_page_size_over_200_is_refused(client):
    headers = await _headers(client, "province")
    response = await client.get("/api/v1/institutions?page_size=201", headers=headers)
    assert response.status_code == 422 and "page_size" in response.json()["fields"]


async def test_bad_check_character_is_422_with_field(client):
    headers = await _headers(client, "province")
    code = credit_code()
    bad = code[:17] + ("0" if code[17] != "0" else "1")
    response = await client.post("/api/v1/institutions", json=_body(credit_code=bad), headers=headers)
    assert response.status_code == 422
    assert "校验位" in response.json()["fields"]["credit_code"]


async def test_duplicate_credit_code_is_409_with_field(client):
    headers = await _headers(client, "province")
    code = credit_code()
    assert (await client.post("/api/v1/institutions", json=_body(credit_code=code), headers=headers)).status_code == 201
    response = await client.post("/api/v1/institutions", json=_body(credit_code=code), headers=headers)
    assert response.status_code == 409
    assert response.json()["error"] == "duplicate_credit_code" and "credit_code" in response.json()["fields"]
    assert await Institution.count() == 1


async def test_stale_patch_is_409(client):
    headers = await _headers(client, "province")
    institution_id = (await client.post("/api/v1/institutions", json=_body(), headers=headers)).json()["id"]
    first = await client.patch(f"/api/v1/institutions/{institution_id}", json={"lock_version": 1, "phone": "13912345678"},
                               headers=headers)
    assert first.status_code == 200 and first.json()["lock_version"] == 2
    stale = await client.patch(f"/api/v1/institutions/{institution_id}", json={"lock_version": 1, "phone": "13900000000"},
                               headers=headers)
    assert stale.status_code == 409 and stale.json()["error"] == "stale_version"


async def test_status_through_patch_and_post(client):
    headers = await _headers(client, "province")
    institution_id = await make_institution()
    no_reason = await client.patch(f"/api/v1/institutions/{institution_id}",
                                   json={"lock_version": 1, "status": "suspended"}, headers=headers)
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["fields"]
    suspended = await client.patch(f"/api/v1/institutions/{institution_id}",
                                   json={"lock_version": 1, "status": "suspended", "reason": "年检"}, headers=headers)
    assert suspended.json()["status"] == "suspended"
    revoked = await client.post(f"/api/v1/institutions/{institution_id}/revoke", json={"reason": "违规"},
                                headers=headers)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    again = await client.post(f"/api/v1/institutions/{institution_id}/reinstate", json={"reason": "申诉"},
                              headers=headers)
    assert again.status_code == 409


async def test_approvals_api_refuses_from_after_to(client):
    headers = await _headers(client, "province")
    institution_id = await make_institution()
    url = f"/api/v1/institutions/{institution_id}/approvals"
    bad = {"occupation_id": await occupation_id(), "levels": ["junior"], "valid_from": "2027-01-01",
           "valid_to": "2026-01-01", "document_number": "鲁人社字〔2026〕5号"}
    response = await client.post(url, json=bad, headers=headers)
    assert response.status_code == 422 and "valid_to" in response.json()["fields"]
    good = {**bad, "valid_from": "2026-01-01", "valid_to": "2028-01-01", "levels": ["junior", "中级"]}
    assert (await client.post(url, json=good, headers=headers)).status_code == 201
    approvals = (await client.get(url, headers=headers)).json()
    assert [a["level"] for a in approvals] == ["junior", "intermediate"]
    withdrawn = await client.post(f"{url}/{approvals[0]['id']}/withdraw", json={"reason": "复核不合格"}, headers=headers)
    assert withdrawn.status_code == 200 and withdrawn.json()[0]["withdrawn"] is True


async def test_institution_user_cannot_write_and_sees_only_itself(client):
    mine = await make_institution()
    other = await make_institution()
    headers = await _headers(client, "institution", str(mine))
    assert (await client.post("/api/v1/institutions", json=_body(), headers=headers)).status_code == 403
    assert (await client.patch(f"/api/v1/institutions/{mine}", json={"lock_version": 1, "name": "x"},
                               headers=headers)).status_code == 403
    files = {"file": ("a.csv", csv_bytes([import_row()]), "text/csv")}
    assert (await client.post("/api/v1/institutions/import", files=files, headers=headers)).status_code == 403
    assert (await client.get(f"/api/v1/institutions/{other}", headers=headers)).status_code == 404
    assert (await client.get(f"/api/v1/institutions/{mine}", headers=headers)).status_code == 200
    assert (await client.get("/api/v1/institutions", headers=headers)).json()["total"] == 1
    assert await Institution.count() == 2


async def test_import_300_rows_and_reimport(client):
    headers = await _headers(client, "province")
    files = {"file": ("list.xlsx", xlsx(many_rows(300)), "application/octet-stream")}
    first = await client.post("/api/v1/institutions/import", files=files, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"rows": 300, "created": 150, "updated": 0, "unchanged": 0, "approvals_created": 600,
                            "approvals_updated": 0}
    events = await AuditEvent.count()
    again = (await client.post("/api/v1/institutions/import", files=files, headers=headers)).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 150)
    assert await AuditEvent.count() == events and await Approval.count() == 600


async def test_import_faults_are_422_with_every_fault(client):
    headers = await _headers(client, "province")
    code = credit_code()
    rows = [import_row(code), import_row(code, 地址="另一个地址", 核准职业=BIG_DATA), import_row(核准等级="特级")]
    files = {"file": ("list.csv", csv_bytes(rows, "gbk"), "text/csv")}
    response = await client.post("/api/v1/institutions/import", files=files, headers=headers)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "import_rejected"
    assert [(f["row"], f["column"]) for f in body["faults"]] == [(3, "地址"), (4, "核准等级")]
    assert await Institution.count() == 0


async def test_import_renamed_file_is_400(client):
    headers = await _headers(client, "province")
    files = {"file": ("list.xlsx", b"this is plain text, not a workbook", "application/octet-stream")}
    response = await client.post("/api/v1/institutions/import", files=files, headers=headers)
    assert response.status_code == 400 and ".xlsx" in response.json()["detail"]


async def test_template_download(client):
    headers = await _headers(client, "province")
    response = await client.get("/api/v1/institutions/import-template.xlsx", headers=headers)
    assert response.status_code == 200 and response.content[:2] == b"PK"


async def test_catalogue_api_rules(client):
    institution_id = await make_institution()
    await approve(institution_id, AI)
    jinan = await _headers(client, "city", "370100")
    qingdao = await _headers(client, "city", "370200")
    url = "/api/v1/cities/370100/catalogue"
    body = {"institution_id": institution_id, "occupation_ids": [await occupation_id(AI)], "reason": "首批"}
    assert (await client.post(url, json=body, headers=qingdao)).status_code == 404
    assert (await client.get(url, headers=qingdao)).status_code == 404
    unapproved = {**body, "occupation_ids": [await occupation_id(BIG_DATA)]}
    refused = await client.post(url, json=unapproved, headers=jinan)
    assert refused.status_code == 409 and "occupation_ids" in refused.json()["fields"]
    assert await CatalogueEntry.count() == 0
    added = await client.post(url, json=body, headers=jinan)
    assert added.status_code == 201, added.text
    entry_id = added.json()[0]["id"]
    assert (await client.post(f"{url}/{entry_id}/remove", json={"reason": ""}, headers=jinan)).status_code == 422
    assert (await client.post(f"{url}/{entry_id}/remove", json={"reason": "越权"}, headers=qingdao)).status_code == 404
    removed = await client.post(f"{url}/{entry_id}/remove", json={"reason": "停止合作"}, headers=jinan)
    assert removed.status_code == 200 and removed.json()["current"] is False
    assert (await client.get(url, headers=jinan)).json() == []
    history = (await client.get(f"{url}/history", headers=jinan)).json()
    assert [e["event"] for e in history] == ["removed", "added"]
    province = await _headers(client, "province")
    assert (await client.post(url, json=body, headers=province)).status_code == 403
    assert len((await client.get(f"{url}?include_removed=true", headers=province)).json()) == 1


async def test_openapi_documents_the_institution_paths(client):
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for path in ("/api/v1/institutions", "/api/v1/institutions/{institution_id}", "/api/v1/institutions/import",
                 "/api/v1/institutions/{institution_id}/approvals", "/api/v1/cities/{city_code}/catalogue",
                 "/api/v1/cities/{city_code}/catalogue/{entry_id}/remove"):
        assert path in paths, path
