"""Pages: the public institution list, the province's catalogue management and import, the city catalogue."""

from __future__ import annotations

from tests.factories import credit_code, login, make_institution, make_user
from tests.institutions_factories import AI, BIG_DATA, approve, csv_bytes, import_row, many_rows, occupation_id, xlsx
from training.tables import Approval, CatalogueEntry, Institution


def _form(client, **values):
    return {"_csrf_token": client.cookies.get("csrftoken", ""), **values}


async def _signed_in(client, role: str, org: str = "") -> str:
    actor = await make_user(role, org)
    await login(client, actor.username)
    return actor.username


async def test_anonymous_sees_public_list_but_not_management(client):
    shown = await make_institution("370100", name="公开的培训学院")
    hidden = await make_institution("370100", name="已暂停的培训学院", status="suspended")
    revoked = await make_institution("370100", name="已撤销的培训学院", status="revoked")
    for institution_id in (shown, hidden, revoked):
        await approve(institution_id)
    response = await client.get("/institutions")
    assert response.status_code == 200
    assert "公开的培训学院" in response.text and "初级" in response.text
    assert "已暂停的培训学院" not in response.text and "已撤销的培训学院" not in response.text
    assert 'href="/login?next=/institutions"' in response.text
    manage = await client.get("/institutions/manage", follow_redirects=False)
    assert manage.status_code in (302, 303, 307) and manage.headers["location"].startswith("/login")


async def test_public_list_filters_by_city_and_occupation(client):
    jinan = await make_institution("370100", name="济南机构")
    qingdao = await make_institution("370200", name="青岛机构")
    await approve(jinan, AI)
    await approve(qingdao, BIG_DATA)
    by_city = (await client.get("/institutions?city=370200")).text
    assert "青岛机构" in by_city and "济南机构" not in by_city
    by_occupation = (await client.get(f"/institutions?occupation={await occupation_id(AI)}")).text
    assert "济南机构" in by_occupation and "青岛机构" not in by_occupation


async def test_public_list_in_english(client):
    await approve(await make_institution("370100"))
    client.cookies.set("lang", "en")
    assert "approved training institutions" in (await client.get("/institutions")).text


async def test_signed_in_user_sees_nav_on_public_page(client):
    await _signed_in(client, "province")
    text = (await client.get("/institutions")).text
    assert 'href="/institutions/manage"' in text and "工作人员登录" not in text


async def test_province_nav_and_list(client):
    await _signed_in(client, "province")
    await make_institution("370100", name="列表中的机构")
    response = await client.get("/institutions/manage?city=370100&status=active")
    assert response.status_code == 200
    assert "列表中的机构" in response.text and 'href="/institutions/manage"' in response.text


async def test_create_form_shows_field_errors_beside_fields(client):
    await _signed_in(client, "province")
    code = credit_code()
    bad = code[:17] + ("0" if code[17] != "0" else "1")
    response = await client.post("/institutions/manage/new", data=_form(
        client, name="表单机构", credit_code=bad, city="370100", address="地址", contact_person="甲", phone="123"))
    assert response.status_code == 422
    assert 'id="err-credit_code"' in response.text and "校验位" in response.text
    assert 'id="err-phone"' in response.text
    assert 'value="表单机构"' in response.text
    assert await Institution.count() == 0


async def test_create_then_edit_and_stale_edit(client):
    await _signed_in(client, "province")
    response = await client.post("/institutions/manage/new", data=_form(
        client, name="表单机构", credit_code=credit_code(), city="370100", address="济南市某路", contact_person="甲",
        phone="13800000000"), follow_redirects=False)
    assert response.status_code == 303
    url = response.headers["location"].split("?")[0]
    fields = {"name": "表单机构改", "credit_code": (await Institution.select().first())["credit_code"],
              "city": "370100", "address": "济南市某路", "contact_person": "乙", "phone": "13800000000", "email": ""}
    saved = await client.post(url, data=_form(client, lock_version="1", **fields), follow_redirects=False)
    assert saved.status_code == 303
    stale = await client.post(url, data=_form(client, lock_version="1", **{**fields, "contact_person": "丙"}))
    assert stale.status_code == 409 and "已被他人修改" in stale.text
    assert (await Institution.select().first())["contact_person"] == "乙"


async def test_duplicate_credit_code_on_the_form(client):
    await _signed_in(client, "province")
    code = credit_code()
    await make_institution(credit_code=code)
    response = await client.post("/institutions/manage/new", data=_form(
        client, name="重复机构", credit_code=code, city="370100", address="地址", contact_person="甲",
        phone="13800000000"))
    assert response.status_code == 409 and 'id="err-credit_code"' in response.text


async def test_suspend_without_reason_then_with_reason_then_revoke(client):
    await _signed_in(client, "province")
    institution_id = await make_institution()
    url = f"/institutions/manage/{institution_id}/status"
    missing = await client.post(url, data=_form(client, status="suspended", reason=""))
    assert missing.status_code == 422
    ok = await client.post(url, data=_form(client, status="suspended", reason="年检"), follow_redirects=False)
    assert ok.status_code == 303
    await client.post(url, data=_form(client, status="revoked", reason="违规"))
    refused = await client.post(url, data=_form(client, status="active", reason="申诉"))
    assert refused.status_code == 409
    assert (await Institution.select(Institution.status).first())["status"] == "revoked"


async def test_approval_form_and_withdraw(client):
    await _signed_in(client, "province")
    institution_id = await make_institution()
    url = f"/institutions/manage/{institution_id}/approvals"
    bad = await client.post(url, data=_form(client, occupation_id=str(await occupation_id()), levels=["junior"],
                                            valid_from="2027-01-01", valid_to="2026-01-01", document_number="文1"))
    assert bad.status_code == 422 and "有效期起不能晚于" in bad.text
    good = await client.post(url, data=_form(client, occupation_id=str(await occupation_id()),
                                             levels=["junior", "senior"], valid_from="2026-01-01",
                                             valid_to="2028-01-01", document_number="文1"), follow_redirects=False)
    assert good.status_code == 303 and await Approval.count() == 2
    approval_id = (await Approval.select(Approval.id).first())["id"]
    withdrawn = await client.post(f"{url}/{approval_id}/withdraw", data=_form(client, reason="复核"),
                                  follow_redirects=False)
    assert withdrawn.status_code == 303
    detail = await client.get(f"/institutions/manage/{institution_id}")
    assert "已撤回" in detail.text


async def test_import_page_success_and_faults(client):
    await _signed_in(client, "province")
    form = await client.get("/institutions/manage/import")
    assert "/institutions/manage/import-template.xlsx" in form.text
    template = await client.get("/institutions/manage/import-template.xlsx")
    assert template.status_code == 200 and template.content[:2] == b"PK"
    files = {"file": ("list.xlsx", xlsx(many_rows(300)), "application/octet-stream")}
    ok = await client.post("/institutions/manage/import", data=_form(client), files=files)
    assert ok.status_code == 200 and "导入成功" in ok.text and ">150<" in ok.text
    broken = csv_bytes([import_row(所在城市="北京"), import_row(credit_code()[:17] + "I")], "gbk")
    response = await client.post("/institutions/manage/import", data=_form(client),
                                 files={"file": ("bad.csv", broken, "text/csv")})
    assert response.status_code == 422
    assert "<th class=\"num\">行</th>" in response.text and "所在城市" in response.text
    assert "统一社会信用代码" in response.text
    assert await Institution.count() == 150
    renamed = await client.post("/institutions/manage/import", data=_form(client),
                                files={"file": ("x.xlsx", b"just text", "application/octet-stream")})
    assert renamed.status_code == 400 and ".xlsx" in renamed.text


async def test_institution_user_cannot_reach_management_pages(client):
    institution_id = await make_institution()
    await _signed_in(client, "institution", str(institution_id))
    assert (await client.get("/institutions/manage")).status_code == 403
    response = await client.post("/institutions/manage/new", data=_form(
        client, name="x", credit_code=credit_code(), city="370100", address="a", contact_person="b",
        phone="13800000000"))
    assert response.status_code == 403
    response = await client.post(f"/institutions/manage/{institution_id}/status",
                                 data=_form(client, status="suspended", reason="x"))
    assert response.status_code == 403
    assert (await client.get("/catalogue")).status_code == 403
    assert await Institution.count() == 1


async def test_city_catalogue_page_add_remove_history(client):
    institution_id = await make_institution(name="目录机构")
    await approve(institution_id, AI)
    await _signed_in(client, "city", "370100")
    page = await client.get("/catalogue")
    assert page.status_code == 200 and "目录机构" in page.text and 'href="/catalogue"' in page.text
    added = await client.post("/catalogue/add", data=_form(client, institution_id=str(institution_id),
                                                           occupation_ids=str(await occupation_id(AI)),
                                                           reason="首批"), follow_redirects=False)
    assert added.status_code == 303
    refused = await client.post("/catalogue/add", data=_form(client, institution_id=str(institution_id),
                                                             occupation_ids=str(await occupation_id(BIG_DATA))))
    assert refused.status_code == 409 and "未获核准" in refused.text
    entry_id = (await CatalogueEntry.select(CatalogueEntry.id).first())["id"]
    no_reason = await client.post(f"/catalogue/{entry_id}/remove", data=_form(client, reason=""))
    assert no_reason.status_code == 422
    removed = await client.post(f"/catalogue/{entry_id}/remove", data=_form(client, reason="停止合作"),
                                follow_redirects=False)
    assert removed.status_code == 303
    history = (await client.get("/catalogue")).text
    assert "停止合作" in history and "首批" in history


async def test_city_cannot_remove_another_citys_entry_through_the_page(client):
    institution_id = await make_institution()
    await approve(institution_id, AI)
    jinan = await make_user("city", "370100")
    from training.services import catalogue

    entry = (await catalogue.add_entries(jinan, "370100", institution_id, [await occupation_id(AI)]))[0]
    await _signed_in(client, "city", "370200")
    response = await client.post(f"/catalogue/{entry['id']}/remove", data=_form(client, reason="越权"))
    assert response.status_code == 404
    assert (await CatalogueEntry.select().first())["removed_at"] is None


async def test_province_reads_any_city_catalogue_read_only(client):
    await _signed_in(client, "province")
    response = await client.get("/catalogue?city=370200")
    assert response.status_code == 200 and "青岛市" in response.text and "/catalogue/add" not in response.text
    assert (await client.post("/catalogue/add", data=_form(client, institution_id="1",
                                                           occupation_ids="1"))).status_code == 403
