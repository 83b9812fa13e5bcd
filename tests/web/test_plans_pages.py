"""Plan and cohort pages as each role sees them: forms, field errors beside fields, scope, downloads."""

from __future__ import annotations

import io

from docx import Document

from tests.factories import login, make_institution, make_user
from tests.plans_factories import future, make_approval, make_cohort, make_plan, make_scene, occupation_id
from training.rules.clock import today_in_china
from training.tables import Cohort, Plan

NEXT_YEAR = today_in_china().year + 1


async def _post(client, url, data):
    return await client.post(url, data={**data, "_csrf_token": client.cookies.get("csrftoken", "")},
                             follow_redirects=False)


async def _plan_version(plan_id):
    return (await Plan.select(Plan.lock_version).where(Plan.id == plan_id).first())["lock_version"]


async def _cohort_version(cohort_id):
    return (await Cohort.select(Cohort.lock_version).where(Cohort.id == cohort_id).first())["lock_version"]


async def test_nav_links_per_role(client):
    await make_user("city", "370100", username="jn")
    await login(client, "jn")
    home = (await client.get("/")).text
    assert 'href="/plans"' in home and 'href="/cohorts"' in home
    institution_id = await make_institution("370100")
    await make_user("institution", str(institution_id), username="inst")
    client.cookies.clear()
    await login(client, "inst")
    home = (await client.get("/")).text
    assert 'href="/cohorts"' in home and 'href="/plans"' not in home
    assert (await client.get("/plans")).status_code == 403


async def test_city_writes_and_submits_a_plan_through_the_pages(client):
    await make_user("city", "370100", username="jn")
    await login(client, "jn")
    page = await client.get("/plans")
    assert page.status_code == 200 and "新建年度计划" in page.text
    created = await _post(client, "/plans", {"year": str(NEXT_YEAR)})
    assert created.status_code == 303
    url = created.headers["location"]
    plan_id = int(url.rsplit("/", 1)[1])
    bad = await _post(client, f"{url}/lines", {"occupation_id": str(await occupation_id()), "level": "junior",
                                               "target_group": "graduates", "class_type": "regular",
                                               "target_headcount": "0", "lock_version": "1"})
    assert bad.status_code == 422
    assert 'id="err-target_headcount"' in bad.text and "计划人数须为正整数" in bad.text
    good = await _post(client, f"{url}/lines", {"occupation_id": str(await occupation_id()), "level": "junior",
                                                "target_group": "graduates", "class_type": "regular",
                                                "target_headcount": "120", "lock_version": "1"})
    assert good.status_code == 303
    detail = await client.get(url)
    assert "120" in detail.text and "提交省厅" in detail.text
    assert f'href="/plans/{plan_id}/document.docx"' in detail.text
    assert f'href="/plans/{plan_id}/document.pdf"' in detail.text
    stale = await _post(client, f"{url}/submit", {"lock_version": "1"})
    assert stale.status_code == 409 and "已被他人修改" in stale.text
    submitted = await _post(client, f"{url}/submit", {"lock_version": str(await _plan_version(plan_id))})
    assert submitted.status_code == 303
    detail = await client.get(url)
    assert "已提交" in detail.text and "添加计划明细" not in detail.text
    document = await client.get(f"{url}/document.docx")
    assert document.status_code == 200
    assert Document(io.BytesIO(document.content)).paragraphs[0].text == \
        f"济南市{NEXT_YEAR}年数字技术工程师培育项目年度培训计划"


async def test_second_plan_same_year_shows_the_reason_beside_the_year(client):
    await make_user("city", "370100", username="jn")
    await login(client, "jn")
    await _post(client, "/plans", {"year": str(NEXT_YEAR)})
    again = await _post(client, "/plans", {"year": str(NEXT_YEAR)})
    assert again.status_code == 409 and 'id="err-year"' in again.text


async def test_province_returns_with_comment_required_and_sees_late_flag(client):
    plan_id, _ = await make_plan("370100", today_in_china().year, "submitted", lines=[{"target_headcount": 80}])
    await Plan.update({Plan.submitted_late: True}).where(Plan.id == plan_id)
    await make_user("province", username="prov")
    await login(client, "prov")
    listing = await client.get(f"/plans?year={today_in_china().year}")
    assert "逾期报送" in listing.text and "全省计划执行情况" in listing.text and "全省合计" in listing.text
    refused = await _post(client, f"/plans/{plan_id}/decide", {"decision": "return", "comment": "",
                                                               "lock_version": str(await _plan_version(plan_id))})
    assert refused.status_code == 422 and 'id="err-comment"' in refused.text
    returned = await _post(client, f"/plans/{plan_id}/decide", {"decision": "return", "comment": "请补充高级班",
                                                                "lock_version": str(await _plan_version(plan_id))})
    assert returned.status_code == 303
    assert "请补充高级班" in (await client.get(f"/plans/{plan_id}")).text


async def test_pdf_link_replaced_by_the_reason_without_libreoffice(client, tmp_path, monkeypatch):
    plan_id, _ = await make_plan("370100", NEXT_YEAR, "draft", lines=[{}])
    await make_user("city", "370100", username="jn")
    await login(client, "jn")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    detail = await client.get(f"/plans/{plan_id}")
    assert "未安装 LibreOffice，暂无法生成 PDF" in detail.text
    assert f'href="/plans/{plan_id}/document.pdf"' not in detail.text
    direct = await client.get(f"/plans/{plan_id}/document.pdf")
    assert direct.status_code == 503 and "未安装 LibreOffice" in direct.text


async def test_other_city_cannot_see_the_plan_page(client):
    plan_id, _ = await make_plan("370100", NEXT_YEAR, "draft")
    await make_user("city", "370200", username="qd")
    await login(client, "qd")
    assert (await client.get(f"/plans/{plan_id}")).status_code == 404
    assert (await client.get(f"/plans/{plan_id}/document.docx")).status_code == 404


async def test_city_plan_page_shows_plan_versus_actual(client):
    scene = await make_scene()
    await make_cohort(scene, "approved", capacity=35)
    await login(client, scene.city.username)
    detail = (await client.get(f"/plans/{scene.plan_id}")).text
    assert "计划执行情况" in detail and 'class="bar"' in detail and ">35<" in detail


async def test_institution_opens_a_cohort_and_its_city_approves_it(client):
    scene = await make_scene()
    other = await make_scene("370200", prefix="q")
    await login(client, scene.institution.username)
    page = await client.get("/cohorts")
    offered = page.text.split('name="plan_line_id"', 1)[1].split("</select>", 1)[0]
    assert "开班申请" in page.text and f'value="{scene.line_id}"' in offered
    assert f'value="{other.line_id}"' not in offered
    bad = await _post(client, "/cohorts", {"plan_line_id": str(scene.line_id), "planned_start": future(5).isoformat(),
                                           "planned_end": future(30).isoformat(), "capacity": "0"})
    assert bad.status_code == 422 and 'id="err-capacity"' in bad.text
    created = await _post(client, "/cohorts", {"plan_line_id": str(scene.line_id),
                                               "planned_start": future(5).isoformat(),
                                               "planned_end": future(30).isoformat(), "capacity": "40"})
    assert created.status_code == 303
    url = created.headers["location"]
    cohort_id = int(url.rsplit("/", 1)[1])
    detail = (await client.get(url)).text
    assert "示例值" in detail and "提交市人社局审批" in detail and "/enrollments" not in detail
    assert (await _post(client, f"{url}/submit", {"lock_version": str(await _cohort_version(cohort_id))})
            ).status_code == 303
    client.cookies.clear()
    await login(client, other.city.username)
    assert (await client.get(url)).status_code == 404
    assert (await _post(client, f"{url}/approve", {"lock_version": "2"})).status_code == 404
    assert "暂无培训班" in (await client.get("/cohorts")).text
    client.cookies.clear()
    await login(client, scene.city.username)
    assert "1 个开班申请待本局审批" in (await client.get("/cohorts")).text
    refused = await _post(client, f"{url}/reject", {"reason": "", "lock_version": str(await _cohort_version(cohort_id))})
    assert refused.status_code == 422 and 'id="err-reason"' in refused.text
    approved = await _post(client, f"{url}/approve", {"lock_version": str(await _cohort_version(cohort_id))})
    assert approved.status_code == 303
    detail = (await client.get(url)).text
    assert "已批准" in detail and "批准开班" in detail
    for link in ("enrollments", "sessions", "progress"):
        assert f'href="/cohorts/{cohort_id}/{link}"' in detail
    client.cookies.clear()
    await login(client, other.institution.username)
    assert (await client.get(url)).status_code == 404
    assert "暂无培训班" in (await client.get("/cohorts")).text


async def test_cohort_outside_approval_is_told_why(client):
    scene = await make_scene(approve=False)
    await make_approval(scene.institution_id, scene.occupation, "junior", valid_from=today_in_china(),
                        valid_to=future(10))
    await login(client, scene.institution.username)
    refused = await _post(client, "/cohorts", {"plan_line_id": str(scene.line_id),
                                               "planned_start": future(5).isoformat(),
                                               "planned_end": future(30).isoformat(), "capacity": "20"})
    assert refused.status_code == 409
    assert 'id="err-planned_end"' in refused.text and "核准有效期" in refused.text
    assert not await Cohort.exists()


async def test_cohort_list_filters_for_the_province(client):
    scene = await make_scene()
    await make_cohort(scene, "approved", name="济南一班")
    other = await make_scene("370200", prefix="q")
    await make_cohort(other, "submitted", name="青岛一班")
    await login(client, scene.province.username)
    everything = (await client.get("/cohorts")).text
    assert "济南一班" in everything and "青岛一班" in everything
    only_qingdao = (await client.get("/cohorts?city=370200&status=submitted")).text
    assert "青岛一班" in only_qingdao and "济南一班" not in only_qingdao


async def test_english_pages_have_translations(client):
    scene = await make_scene()
    cohort_id = await make_cohort(scene, "approved")
    await login(client, scene.city.username)
    await client.get("/lang/en?next=/")
    assert "Annual plans" in (await client.get("/plans")).text
    assert "Training management" in (await client.get(f"/cohorts/{cohort_id}")).text
