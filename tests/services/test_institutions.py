"""The provincial institution catalogue: every rule, tried on the real database."""

from __future__ import annotations

import time
from datetime import date

import pytest

from tests.factories import credit_code, make_institution, make_user
from tests.institutions_factories import AI, BIG_DATA, approve, csv_bytes, import_row, many_rows, occupation_id, xlsx
from training.errors import BadInput, Conflict, Forbidden, ImportRejected, Invalid, NotFound, StaleVersion
from training.services import institutions
from training.tables import Approval, AuditEvent, Institution


def _values(**overrides):
    values = {"name": "青岛智能制造培训中心", "credit_code": credit_code(), "city": "370200",
              "address": "青岛市市南区香港中路1号", "contact_person": "李华", "phone": "13800138000",
              "email": "LI@Example.cn"}
    values.update(overrides)
    return values


async def test_create_validates_and_audits(database):
    province = await make_user("province")
    created = await institutions.create_institution(province, _values())
    assert created["city_code"] == "370200" and created["status"] == "active"
    assert created["email"] == "li@example.cn" and created["lock_version"] == 1
    events = await AuditEvent.select().where(AuditEvent.action == "institution.create")
    assert len(events) == 1 and events[0]["city_code"] == "370200"


async def test_credit_code_with_a_bad_check_character_is_refused(database):
    province = await make_user("province")
    good = credit_code()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(Invalid) as caught:
        await institutions.create_institution(province, _values(credit_code=bad))
    assert "校验位" in caught.value.fields["credit_code"]
    assert await Institution.count() == 0


async def test_duplicate_credit_code_is_a_conflict_with_a_field_error(database):
    province = await make_user("province")
    code = credit_code()
    await institutions.create_institution(province, _values(credit_code=code))
    with pytest.raises(Conflict) as caught:
        await institutions.create_institution(province, _values(credit_code=code.lower(), name="另一家"))
    assert caught.value.status_code == 409 and "credit_code" in caught.value.fields
    assert await Institution.count() == 1


async def test_required_fields_phone_email_and_city_are_checked(database):
    province = await make_user("province")
    with pytest.raises(Invalid) as caught:
        await institutions.create_institution(province, _values(name="", phone="12345", email="not-an-email",
                                                                city="北京市"))
    assert set(caught.value.fields) == {"name", "phone", "email", "city"}


async def test_city_and_institution_cannot_write(database):
    city = await make_user("city", "370100")
    institution_id = await make_institution()
    own = await make_user("institution", str(institution_id))
    for actor in (city, own):
        with pytest.raises(Forbidden):
            await institutions.create_institution(actor, _values())
    with pytest.raises(Forbidden):
        await institutions.update_institution(own, institution_id, {"name": "改名"}, 1)
    with pytest.raises(Forbidden):
        await institutions.suspend(city, institution_id, "检查")


async def test_institution_reads_only_itself_and_city_reads_all(database):
    mine = await make_institution("370100")
    other = await make_institution("370200")
    own = await make_user("institution", str(mine))
    city = await make_user("city", "370100")
    assert [r["id"] for r in (await institutions.list_institutions(own)).items] == [mine]
    with pytest.raises(NotFound):
        await institutions.get_institution(own, other)
    assert (await institutions.list_institutions(city)).total == 2


async def test_list_filters_and_paginates(database):
    province = await make_user("province")
    a = await make_institution("370100", name="济南甲培训学校")
    b = await make_institution("370200", name="青岛乙培训学校", status="suspended")
    await approve(a, AI)
    await approve(b, BIG_DATA)
    for n in range(5):
        await make_institution("370300", name=f"淄博培训{n}")
    assert (await institutions.list_institutions(province, city="370100")).total == 1
    assert [r["id"] for r in (await institutions.list_institutions(province, status="suspended")).items] == [b]
    found = await institutions.list_institutions(province, occupation=await occupation_id(AI))
    assert [r["id"] for r in found.items] == [a] and found.items[0]["approvals"][0]["level"] == "junior"
    assert (await institutions.list_institutions(province, search="乙培训")).total == 1
    page = await institutions.list_institutions(province, page=2, page_size=3)
    assert page.total == 7 and len(page.items) == 3 and page.pages == 3
    with pytest.raises(Invalid):
        await institutions.list_institutions(province, page_size=500)


async def test_stale_edit_is_a_conflict_not_an_overwrite(database):
    province = await make_user("province")
    created = await institutions.create_institution(province, _values())
    first = await institutions.update_institution(province, created["id"], {"contact_person": "张三"}, 1)
    assert first["lock_version"] == 2
    with pytest.raises(StaleVersion):
        await institutions.update_institution(province, created["id"], {"contact_person": "李四"}, 1)
    assert (await institutions.get_institution(province, created["id"]))["contact_person"] == "张三"


async def test_edit_to_another_institutions_credit_code_is_refused(database):
    province = await make_user("province")
    taken = credit_code()
    await make_institution(credit_code=taken)
    created = await institutions.create_institution(province, _values())
    with pytest.raises(Conflict) as caught:
        await institutions.update_institution(province, created["id"], {"credit_code": taken}, 1)
    assert "credit_code" in caught.value.fields


async def test_suspend_requires_a_reason(database):
    province = await make_user("province")
    institution_id = await make_institution()
    with pytest.raises(Invalid) as caught:
        await institutions.suspend(province, institution_id, "  ")
    assert "reason" in caught.value.fields
    assert (await institutions.get_institution(province, institution_id))["status"] == "active"


async def test_suspend_then_reinstate_is_audited(database):
    province = await make_user("province")
    institution_id = await make_institution()
    suspended = await institutions.suspend(province, institution_id, "年检不合格")
    assert suspended["status"] == "suspended" and suspended["status_reason"] == "年检不合格"
    active = await institutions.reinstate(province, institution_id, "整改完成")
    assert active["status"] == "active"
    actions = [e["action"] for e in await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.entity == "institution").order_by(AuditEvent.id)]
    assert actions == ["institution.suspend", "institution.reinstate"]


async def test_revoke_is_final_reinstate_refused(database):
    province = await make_user("province")
    institution_id = await make_institution()
    await institutions.revoke(province, institution_id, "弄虚作假")
    with pytest.raises(Conflict):
        await institutions.reinstate(province, institution_id, "申诉")
    with pytest.raises(Conflict):
        await institutions.suspend(province, institution_id, "再次")
    assert (await institutions.get_institution(province, institution_id))["status"] == "revoked"


async def test_status_change_with_stale_version_is_refused(database):
    province = await make_user("province")
    institution_id = await make_institution()
    await institutions.suspend(province, institution_id, "检查", lock_version=1)
    with pytest.raises(StaleVersion):
        await institutions.reinstate(province, institution_id, "恢复", lock_version=1)


async def test_approval_per_level_and_renewal(database):
    province = await make_user("province")
    institution_id = await make_institution()
    occupation = await occupation_id(AI)
    approvals = await institutions.grant_approval(
        province, institution_id, occupation_id=occupation, levels=["junior", "senior"],
        valid_from="2026-01-01", valid_to="2027-12-31", document_number="鲁人社字〔2026〕3号")
    assert [a["level"] for a in approvals] == ["junior", "senior"]
    await institutions.grant_approval(province, institution_id, occupation_id=occupation, levels="初级",
                                      valid_from=date(2026, 1, 1), valid_to=date(2029, 12, 31),
                                      document_number="鲁人社字〔2026〕4号")
    rows = await Approval.select().where(Approval.institution == institution_id)
    assert len(rows) == 2
    junior = next(r for r in rows if r["level"] == "junior")
    assert junior["valid_to"] == date(2029, 12, 31)


async def test_approval_with_from_after_to_is_refused(database):
    province = await make_user("province")
    institution_id = await make_institution()
    with pytest.raises(Invalid) as caught:
        await institutions.grant_approval(province, institution_id, occupation_id=await occupation_id(),
                                          levels=["junior"], valid_from="2027-01-01", valid_to="2026-01-01",
                                          document_number="文号1")
    assert "valid_to" in caught.value.fields
    assert await Approval.count() == 0


async def test_approval_requires_document_number_and_levels(database):
    province = await make_user("province")
    institution_id = await make_institution()
    with pytest.raises(Invalid) as caught:
        await institutions.grant_approval(province, institution_id, occupation_id=await occupation_id(),
                                          levels=[], valid_from="2026-01-01", valid_to="2027-01-01",
                                          document_number="")
    assert {"levels", "document_number"} <= set(caught.value.fields)


async def test_revoked_institution_gets_no_new_approval(database):
    province = await make_user("province")
    institution_id = await make_institution(status="revoked")
    with pytest.raises(Conflict):
        await institutions.grant_approval(province, institution_id, occupation_id=await occupation_id(),
                                          levels=["junior"], valid_from="2026-01-01", valid_to="2027-01-01",
                                          document_number="文号1")


async def test_withdraw_approval_needs_reason_and_keeps_the_row(database):
    province = await make_user("province")
    institution_id = await make_institution()
    approval_id = await approve(institution_id)
    with pytest.raises(Invalid):
        await institutions.withdraw_approval(province, institution_id, approval_id, "")
    approvals = await institutions.withdraw_approval(province, institution_id, approval_id, "到期未复核")
    assert approvals[0]["withdrawn"] is True and approvals[0]["current"] is False
    with pytest.raises(Conflict):
        await institutions.withdraw_approval(province, institution_id, approval_id, "再次")


async def test_public_list_hides_suspended_revoked_and_unapproved(database):
    shown = await make_institution("370100", name="公开机构")
    suspended = await make_institution("370100", status="suspended")
    revoked = await make_institution("370100", status="revoked")
    expired = await make_institution("370100")
    await make_institution("370100")  # no approval at all
    withdrawn = await make_institution("370100")
    for institution_id in (shown, suspended, revoked):
        await approve(institution_id)
    await approve(shown, AI, "senior")
    await approve(expired, valid_from=date(2020, 1, 1), valid_to=date(2021, 1, 1))
    await approve(withdrawn, withdrawn=True)
    listed = await institutions.public_list()
    assert [r["id"] for r in listed.items] == [shown]
    assert listed.items[0]["occupations"][0]["levels"] == ["junior", "senior"]
    assert (await institutions.public_list(city="370200")).total == 0
    assert (await institutions.public_list(occupation=await occupation_id(BIG_DATA))).total == 0


# --- the spreadsheet import ----------------------------------------------------------------------


async def test_import_300_rows_then_reimport_is_idempotent(database):
    province = await make_user("province")
    data = xlsx(many_rows(300))
    result = await institutions.import_institutions(province, data, "list.xlsx")
    assert (result.created, result.updated, result.unchanged) == (150, 0, 0)
    assert result.approvals_created == 600
    assert await Institution.count() == 150 and await Approval.count() == 600
    events = await AuditEvent.count()
    again = await institutions.import_institutions(province, data, "list.xlsx")
    assert (again.created, again.updated, again.unchanged, again.approvals_created) == (0, 0, 150, 0)
    assert await Institution.count() == 150 and await Approval.count() == 600
    assert await AuditEvent.count() == events


async def test_import_changed_field_updates_and_audits(database):
    province = await make_user("province")
    code = credit_code()
    await institutions.import_institutions(province, csv_bytes([import_row(code)]), "a.csv")
    changed = csv_bytes([import_row(code, 联系人="赵六"), import_row(code, 联系人="赵六", 核准职业=BIG_DATA, 核准等级="高级")])
    result = await institutions.import_institutions(province, changed, "a.csv")
    assert (result.created, result.updated, result.approvals_created) == (0, 1, 1)
    row = await Institution.select().where(Institution.credit_code == code).first()
    assert row["contact_person"] == "赵六" and row["lock_version"] == 2
    event = await AuditEvent.select().where(AuditEvent.action == "institution.import_update").first()
    assert event is not None and event["institution_id"] == row["id"]


async def test_import_gbk_csv(database):
    province = await make_user("province")
    result = await institutions.import_institutions(province, csv_bytes([import_row()], "gbk"), "list.csv")
    assert result.created == 1
    assert (await Institution.select(Institution.name).first())["name"] == "济南数字技术培训学院"


async def test_import_city_by_code_and_levels_by_comma(database):
    province = await make_user("province")
    data = csv_bytes([import_row(所在城市="370200", 核准等级="初级,高级")])
    await institutions.import_institutions(province, data, "list.csv")
    levels = sorted(r["level"] for r in await Approval.select(Approval.level))
    assert levels == ["junior", "senior"]


async def _rejected(data: bytes, filename: str = "list.xlsx") -> ImportRejected:
    province = await make_user("province")
    events, before = await AuditEvent.count(), (await Institution.count(), await Approval.count())
    with pytest.raises(ImportRejected) as caught:
        await institutions.import_institutions(province, data, filename)
    assert (await Institution.count(), await Approval.count()) == before
    assert await AuditEvent.count() == events
    return caught.value


async def test_import_lists_every_fault_and_writes_nothing(database):
    good = credit_code()
    rows = [
        import_row(good),
        import_row(good[:17] + ("0" if good[17] != "0" else "1")),
        import_row(所在城市="北京市"),
        import_row(核准职业="厨师"),
        import_row(核准等级="特级"),
        import_row(核准有效期起="2027-01-01", 核准有效期止="2026-01-01"),
        import_row(联系电话="123", 电子邮箱="bad"),
        import_row(核准文号=""),
    ]
    faults = (await _rejected(xlsx(rows))).faults
    found = {(f.row, f.column) for f in faults}
    assert found == {(3, "统一社会信用代码"), (4, "所在城市"), (5, "核准职业"), (6, "核准等级"),
                     (7, "核准有效期止"), (8, "联系电话"), (8, "电子邮箱"), (9, "核准文号")}
    assert all(f.reason for f in faults)


async def test_import_duplicate_credit_code_with_conflicting_data_names_both_rows(database):
    code = credit_code()
    rows = [import_row(code), import_row(code, 机构名称="别的名字", 核准职业=BIG_DATA)]
    faults = (await _rejected(csv_bytes(rows), "a.csv")).faults
    assert len(faults) == 1
    assert (faults[0].row, faults[0].column) == (3, "机构名称") and "第2行" in faults[0].reason


async def test_import_same_occupation_level_twice_is_a_fault(database):
    code = credit_code()
    faults = (await _rejected(csv_bytes([import_row(code), import_row(code, 核准等级="中级")]), "a.csv")).faults
    assert [(f.row, f.column) for f in faults] == [(3, "核准等级")] and "第2行" in faults[0].reason


async def test_import_wrong_headers(database):
    headers = ["名称", "统一社会信用代码", "城市", "地址", "联系人", "联系电话", "电子邮箱", "核准职业", "核准等级",
               "核准有效期起", "核准有效期止", "核准文号"]
    faults = (await _rejected(xlsx([import_row()], headers=headers))).faults
    assert {f.column for f in faults} == {"机构名称", "所在城市"} and all(f.row == 1 for f in faults)


async def test_import_empty_rows_are_skipped_and_partial_rows_reported(database):
    province = await make_user("province")
    data = xlsx([import_row(), [None] * 12, import_row()])
    assert (await institutions.import_institutions(province, data, "a.xlsx")).created == 2
    faults = (await _rejected(xlsx([[None] * 12, import_row(联系人="", 核准职业="")]))).faults
    assert {(f.row, f.column) for f in faults} == {(3, "联系人"), (3, "核准职业")}


async def test_import_only_headers_is_bad_input(database):
    province = await make_user("province")
    with pytest.raises(BadInput):
        await institutions.import_institutions(province, xlsx([]), "a.xlsx")


async def test_import_merged_cells_is_bad_input(database):
    province = await make_user("province")
    with pytest.raises(BadInput) as caught:
        await institutions.import_institutions(province, xlsx([import_row(), import_row()], merge="A2:A3"), "a.xlsx")
    assert "合并单元格" in caught.value.detail
    assert await Institution.count() == 0


async def test_import_non_spreadsheet_renamed_xlsx_is_bad_input(database):
    province = await make_user("province")
    with pytest.raises(BadInput) as caught:
        await institutions.import_institutions(province, b"%PDF-1.4 not a spreadsheet\n", "list.xlsx")
    assert ".xlsx" in caught.value.detail
    assert await Institution.count() == 0


async def test_import_refused_for_city(database):
    city = await make_user("city", "370100")
    with pytest.raises(Forbidden):
        await institutions.import_institutions(city, csv_bytes([import_row()]), "a.csv")


def test_template_has_every_column():
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(institutions.import_template())).worksheets[0]
    assert [c.value for c in sheet[1]] == [c.header for c in institutions.import_columns()]


@pytest.mark.slow
async def test_import_50000_rows_in_one_transaction(database):
    province = await make_user("province")
    data = csv_bytes(many_rows(50_000))
    started = time.perf_counter()
    result = await institutions.import_institutions(province, data, "big.csv")
    elapsed = time.perf_counter() - started
    assert (result.created, result.approvals_created) == (25_000, 100_000)
    assert await Institution.count() == 25_000
    again = await institutions.import_institutions(province, data, "big.csv")
    assert again.unchanged == 25_000 and again.approvals_created == 0
    print(f"50,000-row import: {elapsed:.1f} s")
