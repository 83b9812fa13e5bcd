"""Certificates through the API and the pages: issue all (idempotent), downloads, revoke, scope."""

from __future__ import annotations

import io

import pytest
from docx import Document

from tests.certificates_factories import assessed_cohort, ended_cohort
from tests.factories import bearer, csrf, login, make_user
from training.documents import pdf
from training.tables import Certificate


async def test_issue_all_is_idempotent_and_says_so(client):
    cohort = await assessed_cohort(passed=2, failed=1)
    headers = await bearer(client, cohort["actor"].username)
    first = await client.post(f"/api/v1/cohorts/{cohort['id']}/certificates", headers=headers)
    assert first.status_code == 200 and len(first.json()["issued"]) == 2
    second = await client.post(f"/api/v1/cohorts/{cohort['id']}/certificates", headers=headers)
    assert second.status_code == 200
    assert second.json() == {"issued": [], "already_issued": 2, "message": second.json()["message"]}
    assert "均已发证" in second.json()["message"]
    listed = (await client.get(f"/api/v1/cohorts/{cohort['id']}/certificates", headers=headers)).json()
    assert [c["number"] for c in listed] == first.json()["issued"]
    assert all("*" in c["id_masked"] for c in listed)
    assert all(cohort["eligible"][0]["id_number"] not in str(c) for c in listed)


async def test_issuing_before_assessment_is_409(client):
    cohort = await ended_cohort(eligible=1)
    headers = await bearer(client, cohort["actor"].username)
    response = await client.post(f"/api/v1/cohorts/{cohort['id']}/certificates", headers=headers)
    assert response.status_code == 409 and "尚未完成结业考核" in response.json()["detail"]


async def test_revoke_twice_is_409_and_the_province_may_revoke(client):
    cohort = await assessed_cohort(passed=2)
    headers = await bearer(client, cohort["actor"].username)
    numbers = (await client.post(f"/api/v1/cohorts/{cohort['id']}/certificates", headers=headers)).json()["issued"]
    empty = await client.post(f"/api/v1/certificates/{numbers[0]}/revoke", headers=headers, json={"reason": ""})
    assert empty.status_code == 422 and empty.json()["fields"]["reason"]
    done = await client.post(f"/api/v1/certificates/{numbers[0]}/revoke", headers=headers,
                             json={"reason": "发现考勤记录不实"})
    assert done.status_code == 200 and done.json()["status"] == "revoked"
    again = await client.post(f"/api/v1/certificates/{numbers[0]}/revoke", headers=headers,
                              json={"reason": "发现考勤记录不实"})
    assert again.status_code == 409
    province = await bearer(client, (await make_user("province")).username)
    by_province = await client.post(f"/api/v1/certificates/{numbers[1]}/revoke", headers=province,
                                    json={"reason": "省厅抽查撤销"})
    assert by_province.status_code == 200
    city = await bearer(client, (await make_user("city", "370100")).username)
    assert (await client.get(f"/api/v1/certificates/{numbers[1]}", headers=city)).status_code == 200
    assert await Certificate.count() == 2


async def test_word_and_pdf_downloads(client):
    cohort = await assessed_cohort(passed=1)
    headers = await bearer(client, cohort["actor"].username)
    number = (await client.post(f"/api/v1/cohorts/{cohort['id']}/certificates", headers=headers)).json()["issued"][0]
    word = await client.get(f"/api/v1/certificates/{number}/document.docx", headers=headers)
    assert word.status_code == 200 and word.content[:2] == b"PK"
    document = Document(io.BytesIO(word.content))
    cells = " ".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert number in cells
    assert any(p.content_type == "image/png" for p in document.part.package.parts)
    if pdf.soffice() is None:
        response = await client.get(f"/api/v1/certificates/{number}/document.pdf", headers=headers)
        assert response.status_code == 503 and "LibreOffice" in response.json()["detail"]


@pytest.mark.skipif(pdf.soffice() is None, reason="LibreOffice is not installed")
async def test_pdf_download_through_the_page(client):
    cohort = await assessed_cohort(passed=1)
    await login(client, cohort["actor"].username)
    await client.post(f"/cohorts/{cohort['id']}/certificates/issue", headers=csrf(client))
    number = (await Certificate.select(Certificate.number).first())["number"]
    response = await client.get(f"/certificates/{number}/certificate.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


async def test_certificates_page_issue_all_and_revoke_with_reason(client):
    cohort = await assessed_cohort(passed=2)
    await login(client, cohort["actor"].username)
    page = await client.get(f"/cohorts/{cohort['id']}/certificates")
    assert page.status_code == 200 and "为全部合格学员发证" in page.text
    issued = await client.post(f"/cohorts/{cohort['id']}/certificates/issue", headers=csrf(client))
    assert issued.status_code == 200 and "已发放 2 张证书" in issued.text
    again = await client.post(f"/cohorts/{cohort['id']}/certificates/issue", headers=csrf(client))
    assert "均已发证" in again.text
    number = (await Certificate.select(Certificate.number).order_by(Certificate.sequence).first())["number"]
    short = await client.post(f"/certificates/{number}/revoke", headers=csrf(client), data={"reason": "错"})
    assert short.status_code == 422 and "撤销理由" in short.text
    ok = await client.post(f"/certificates/{number}/revoke", headers=csrf(client), data={"reason": "学员信息登记错误"},
                           follow_redirects=False)
    assert ok.status_code == 303
    page = await client.get(f"/cohorts/{cohort['id']}/certificates?notice=revoked")
    assert "学员信息登记错误" in page.text and "证书已撤销" in page.text
    word = await client.get(f"/certificates/{number}/certificate.docx")
    assert word.status_code == 200
    assert "撤销" in "\n".join(p.text for p in Document(io.BytesIO(word.content)).paragraphs)


async def test_another_citys_institution_gets_404_on_every_certificate_route(client):
    cohort = await assessed_cohort(passed=1)
    own = await bearer(client, cohort["actor"].username)
    number = (await client.post(f"/api/v1/cohorts/{cohort['id']}/certificates", headers=own)).json()["issued"][0]
    stranger = await ended_cohort("370200", eligible=0, ineligible=0)
    headers = await bearer(client, stranger["actor"].username)
    calls = [
        client.get(f"/api/v1/cohorts/{cohort['id']}/certificates", headers=headers),
        client.post(f"/api/v1/cohorts/{cohort['id']}/certificates", headers=headers),
        client.get(f"/api/v1/certificates/{number}", headers=headers),
        client.post(f"/api/v1/certificates/{number}/revoke", headers=headers, json={"reason": "不是我的证书"}),
        client.get(f"/api/v1/certificates/{number}/document.docx", headers=headers),
        client.get(f"/api/v1/certificates/{number}/document.pdf", headers=headers),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 404, (response.request.url, response.text)
    await login(client, stranger["actor"].username)
    for path in (f"/cohorts/{cohort['id']}/certificates", f"/certificates/{number}/certificate.docx",
                 f"/certificates/{number}/certificate.pdf"):
        assert (await client.get(path)).status_code == 404, path
    assert (await client.post(f"/certificates/{number}/revoke", headers=csrf(client),
                              data={"reason": "不是我的证书"})).status_code == 404
    other_city = await bearer(client, (await make_user("city", "370200")).username)
    assert (await client.get(f"/api/v1/certificates/{number}", headers=other_city)).status_code == 404


async def test_a_certified_result_cannot_be_changed_or_dropped_from_the_grid(client):
    cohort = await assessed_cohort(passed=1, failed=1)
    headers = await bearer(client, cohort["actor"].username)
    await client.post(f"/api/v1/cohorts/{cohort['id']}/certificates", headers=headers)
    certified, other = (p["id"] for p in cohort["eligible"])
    sitting = cohort["assessment_id"]
    dropped = await client.put(f"/api/v1/assessments/{sitting}/results", headers=headers, json={"entries": [
        {"enrollment_id": other, "theory_score": 30, "practice_score": 85}]})
    assert dropped.status_code == 409 and "已发证书" in dropped.json()["fields"][f"{certified}.enrollment"]
    changed = await client.put(f"/api/v1/assessments/{sitting}/results", headers=headers, json={"entries": [
        {"enrollment_id": certified, "theory_score": 10, "practice_score": 85},
        {"enrollment_id": other, "theory_score": 30, "practice_score": 85}]})
    assert changed.status_code == 409
    await login(client, cohort["actor"].username)
    page = await client.get(f"/cohorts/{cohort['id']}/assessment")
    assert f'name="theory_{certified}" value="90"' in page.text  # carried, read-only, with the grid
    saved = await client.post(f"/assessments/{sitting}/results", headers=csrf(client), data={
        "enrollment": [str(certified), str(other)], f"theory_{certified}": "90", f"practice_{certified}": "85",
        f"theory_{other}": "65", f"practice_{other}": "85"}, follow_redirects=False)
    assert saved.status_code == 303
