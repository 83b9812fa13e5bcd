"""Filings through the API and the pages: the cohort's filing, narrative with lock_version, submit,
the departments' list (paged), acknowledge / return, downloads and a tampered file."""

from __future__ import annotations

import io

from docx import Document
from openpyxl import load_workbook

from tests.factories import bearer, csrf, login, make_user
from tests.filings_factories import NARRATIVE, cohort_status, filing_ready
from training.rules.filing import NARRATIVE_SECTIONS
from training.tables import Cohort, Filing, Notification, StoredFile


async def test_the_institution_writes_and_submits_through_the_api(client) -> None:
    cohort = await filing_ready(with_narrative=False)
    api = await bearer(client, cohort["actor"].username)
    url = f"/api/v1/cohorts/{cohort['id']}/filing"
    shown = (await client.get(url, headers=api)).json()
    assert shown["status"] == "draft" and shown["state"] in ("due", "due_soon") and shown["days_left"] == 30
    assert shown["editable"] and shown["counts"]["passed"] == 3 and shown["versions"][0]["receipts"] == []
    missing = await client.post(f"{url}/submit", headers=api, json={})
    assert missing.status_code == 422 and set(missing.json()["fields"]) == set(NARRATIVE_SECTIONS)
    saved = await client.post(url, headers=api, json={"narrative": NARRATIVE, "lock_version": shown["lock_version"]})
    assert saved.status_code == 200 and saved.json()["narrative"] == NARRATIVE
    stale = await client.post(url, headers=api, json={"narrative": {"organisation": "x"},
                                                      "lock_version": shown["lock_version"]})
    assert stale.status_code == 409 and stale.json()["error"] == "stale_version"
    done = await client.post(f"{url}/submit", headers=api, json={"lock_version": saved.json()["lock_version"]})
    assert done.status_code == 200, done.text
    assert len(done.json()["package_sha256"]) == 64 and done.json()["submitted_late"] is False
    again = await client.post(f"{url}/submit", headers=api, json={})
    assert again.status_code == 409
    assert await cohort_status(cohort["id"]) == "filed"
    city = await make_user("city", "370100")
    assert (await client.get(url, headers=await bearer(client, city.username))).status_code == 403


async def test_departments_list_decide_and_download(client) -> None:
    cohort = await filing_ready()
    other = await filing_ready()
    inst = await bearer(client, cohort["actor"].username)
    await client.post(f"/api/v1/cohorts/{cohort['id']}/filing/submit", headers=inst, json={})
    filing_id = cohort["filing_id"]
    province = await make_user("province")
    city = await make_user("city", "370100")
    qingdao = await make_user("city", "370200")
    p_api, c_api = await bearer(client, province.username), await bearer(client, city.username)
    q_api = await bearer(client, qingdao.username)

    listed = await client.get("/api/v1/filings", params={"page_size": 1}, headers=c_api)
    assert listed.status_code == 200 and len(listed.json()) == 1
    assert listed.headers["X-Total-Count"] == "2" and 'rel="next"' in listed.headers["Link"]
    awaiting = (await client.get("/api/v1/filings", params={"status": "awaiting"}, headers=c_api)).json()
    assert [r["cohort_id"] for r in awaiting] == [cohort["id"]]
    assert (await client.get("/api/v1/filings", headers=q_api)).json() == []
    assert (await client.get("/api/v1/filings", params={"page_size": 501}, headers=p_api)).status_code == 400
    # an institution lists its own cohorts' filings only
    assert {r["cohort_id"] for r in (await client.get("/api/v1/filings", headers=inst)).json()} == {cohort["id"]}
    assert other["institution_id"] != cohort["institution_id"]

    assert (await client.post(f"/api/v1/filings/{filing_id}/acknowledge", headers=q_api)).status_code == 404
    assert (await client.post(f"/api/v1/filings/{filing_id}/acknowledge", headers=inst)).status_code == 403
    no_comment = await client.post(f"/api/v1/filings/{filing_id}/return", headers=c_api, json={"comment": ""})
    assert no_comment.status_code == 422 and "comment" in no_comment.json()["fields"]

    report = await client.get(f"/api/v1/filings/{filing_id}/report.docx", headers=p_api)
    assert report.status_code == 200 and report.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml")
    Document(io.BytesIO(report.content))
    xlsx = await client.get(f"/api/v1/filings/{filing_id}/trainees.xlsx", headers=c_api)
    assert xlsx.status_code == 200
    load_workbook(io.BytesIO(xlsx.content))

    first = await client.post(f"/api/v1/filings/{filing_id}/acknowledge", headers=c_api)
    assert first.status_code == 200 and first.json()["status"] == "submitted"
    assert (await client.post(f"/api/v1/filings/{filing_id}/acknowledge", headers=c_api)).status_code == 409
    both = await client.post(f"/api/v1/filings/{filing_id}/acknowledge", headers=p_api)
    assert both.status_code == 200 and both.json()["status"] == "acknowledged"
    assert await cohort_status(cohort["id"]) == "accepted"
    assert await Notification.count().where(Notification.kind == "filing_submitted") == 2


async def test_a_returned_filing_is_corrected_and_resubmitted_with_the_old_files_kept(client) -> None:
    cohort = await filing_ready()
    inst = await bearer(client, cohort["actor"].username)
    await client.post(f"/api/v1/cohorts/{cohort['id']}/filing/submit", headers=inst, json={})
    v1 = await client.get(f"/api/v1/filings/{cohort['filing_id']}/report.docx", headers=inst)
    city = await make_user("city", "370100")
    returned = await client.post(f"/api/v1/filings/{cohort['filing_id']}/return",
                                 headers=await bearer(client, city.username), json={"comment": "请补充师资情况"})
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    shown = (await client.get(f"/api/v1/cohorts/{cohort['id']}/filing", headers=inst)).json()
    assert shown["version_number"] == 2 and shown["state"] == "returned"
    assert shown["versions"][1]["receipts"][1]["comment"] == "请补充师资情况"
    done = await client.post(f"/api/v1/cohorts/{cohort['id']}/filing/submit", headers=inst)  # no body: fine
    assert done.status_code == 200 and done.json()["version_number"] == 2
    again = await client.get(f"/api/v1/filings/{cohort['filing_id']}/report.docx", headers=inst)
    assert again.content == v1.content
    detail = (await client.get(f"/api/v1/filings/{cohort['filing_id']}", headers=inst)).json()
    assert detail["latest"] is False and [v["version_number"] for v in detail["versions"]] == [2, 1]
    notes = await Notification.select().where(Notification.kind == "filing_returned")
    assert len(notes) == 1 and "请补充师资情况" in notes[0]["body"]


async def test_a_tampered_file_is_refused_with_409_and_nothing_is_served(client, files_dir) -> None:
    cohort = await filing_ready()
    inst = await bearer(client, cohort["actor"].username)
    await client.post(f"/api/v1/cohorts/{cohort['id']}/filing/submit", headers=inst, json={})
    row = await Filing.select(Filing.report_file).where(Filing.id == cohort["filing_id"]).first()
    stored = await StoredFile.select().where(StoredFile.id == row["report_file"]).first()
    path = files_dir / stored["relative_path"]
    path.chmod(0o644)
    path.write_bytes(b"PK altered")
    response = await client.get(f"/api/v1/filings/{cohort['filing_id']}/report.docx", headers=inst)
    assert response.status_code == 409 and response.json()["error"] == "file_tampered"
    await login(client, cohort["actor"].username)
    page = await client.get(f"/filings/{cohort['filing_id']}/report.docx")
    assert page.status_code == 409 and "文件校验失败" in page.text


async def test_the_filing_tab_live_preview_save_and_submit_pages(client) -> None:
    cohort = await filing_ready(with_narrative=False)
    await login(client, cohort["actor"].username)
    tab = await client.get(f"/cohorts/{cohort['id']}/filing")
    assert tab.status_code == 200
    assert 'hx-trigger="keyup changed delay:500ms"' in tab.text and 'name="lock_version"' in tab.text
    assert tab.text.count("<textarea") == len(NARRATIVE_SECTIONS)
    preview = await client.post(f"/cohorts/{cohort['id']}/filing/preview", headers=csrf(client),
                                data={"organisation": "正在输入的组织实施情况"})
    assert preview.status_code == 200 and "正在输入的组织实施情况" in preview.text and "考核合格" in preview.text
    lock = (await Filing.select(Filing.lock_version).where(Filing.id == cohort["filing_id"]).first())["lock_version"]
    saved = await client.post(f"/cohorts/{cohort['id']}/filing", headers=csrf(client),
                              data={**NARRATIVE, "lock_version": str(lock)}, follow_redirects=False)
    assert saved.status_code == 303
    stale = await client.post(f"/cohorts/{cohort['id']}/filing", headers=csrf(client),
                              data={**NARRATIVE, "organisation": "晚到的修改", "lock_version": str(lock)})
    assert stale.status_code == 409 and "已在您打开后被修改" in stale.text and "晚到的修改" in stale.text
    draft = await client.get(f"/filings/{cohort['filing_id']}/trainees.xlsx")
    assert draft.status_code == 200
    submitted = await client.post(f"/cohorts/{cohort['id']}/filing/submit", headers=csrf(client), data={},
                                  follow_redirects=False)
    assert submitted.status_code == 303
    again = await client.get(f"/cohorts/{cohort['id']}/filing")
    assert "SHA-256" in again.text and "<textarea" not in again.text


async def test_the_departments_pages_list_and_return_with_a_comment(client) -> None:
    cohort = await filing_ready()
    inst = await bearer(client, cohort["actor"].username)
    await client.post(f"/api/v1/cohorts/{cohort['id']}/filing/submit", headers=inst, json={})
    city = await make_user("city", "370100")
    await login(client, city.username)
    code = (await Cohort.select(Cohort.code).where(Cohort.id == cohort["id"]).first())["code"]
    listing = await client.get("/filings")
    assert listing.status_code == 200 and code in listing.text and "待我备案" in listing.text
    overdue = await client.get("/filings", params={"status": "overdue"})
    assert code not in overdue.text
    detail = await client.get(f"/filings/{cohort['filing_id']}")
    assert detail.status_code == 200 and "退回修改" in detail.text
    refused = await client.post(f"/filings/{cohort['filing_id']}/return", headers=csrf(client), data={"comment": ""})
    assert refused.status_code == 422 and "请填写退回意见" in refused.text
    done = await client.post(f"/filings/{cohort['filing_id']}/return", headers=csrf(client),
                             data={"comment": "学员名单缺少工作单位"}, follow_redirects=False)
    assert done.status_code == 303
    after = await client.get(f"/filings/{cohort['filing_id']}")
    assert "学员名单缺少工作单位" in after.text and "退回修改" not in after.text
