"""Enrollment rules on the database: one person, lists, capacity, overlap, duplicates, withdrawal."""

from __future__ import annotations

import codecs
from datetime import date, timedelta

import pytest

from tests.attendance_factories import institution_actor, make_cohort, make_enrollment
from tests.factories import id_number, make_user
from training.errors import BadInput, Conflict, ImportRejected, Invalid, NotFound
from training.rules.clock import today_in_china
from training.services import enrollments, trainees
from training.services.trainees import TraineeInput
from training.tables import AnomalyFlag, AuditEvent, Enrollment, Trainee


def unique_id(i: int) -> str:
    """Distinct valid ID numbers for large files (the order code repeats every 500)."""
    return id_number(born=date(1970, 1, 1) + timedelta(days=i // 400), seq=i % 400)


HEADER = "姓名,身份证号,手机号,学历,工作单位,单位统一社会信用代码,是否应届毕业生\n"


def csv_of(rows: list[str], header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return (header + "".join(r + "\n" for r in rows)).encode(encoding)


async def test_enroll_one_creates_the_trainee_with_derived_fields(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    number = id_number(born=date(1995, 2, 28), male=False)
    result = await enrollments.enroll_one(actor, cohort["id"], TraineeInput(
        id_number=number, name="李四", phone="13800138000", education="大学本科", new_graduate=True))
    assert result.enrolled == 1 and result.new_trainees == 1
    person = await Trainee.select().where(Trainee.id_number == number).first()
    assert person["sex"] == "F" and person["birth_date"] == date(1995, 2, 28) and person["new_graduate"]
    listed = await enrollments.list_enrollments(actor, cohort["id"])
    assert listed[0]["id_masked"] == number[:4] + "**********" + number[-4:]
    assert "id_number" not in listed[0]


async def test_enroll_one_refuses_a_bad_check_digit(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    number = id_number()
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(Invalid) as caught:
        await enrollments.enroll_one(actor, cohort["id"], TraineeInput(id_number=wrong, name="王五"))
    assert "校验位" in caught.value.fields["id_number"]


async def test_enroll_refused_when_the_cohort_is_not_approved_or_ended(database):
    for kwargs in ({"status": "submitted"}, {"start": today_in_china() - timedelta(days=40),
                                             "end": today_in_china() - timedelta(days=1)}):
        cohort = await make_cohort(**kwargs)
        actor = await institution_actor(cohort)
        with pytest.raises(Conflict):
            await enrollments.enroll_one(actor, cohort["id"], TraineeInput(id_number=id_number(), name="赵六"))


async def test_capacity_is_enforced(database):
    cohort = await make_cohort(capacity=1)
    actor = await institution_actor(cohort)
    await enrollments.enroll_one(actor, cohort["id"], TraineeInput(id_number=id_number(), name="甲"))
    with pytest.raises(Conflict, match="已满"):
        await enrollments.enroll_one(actor, cohort["id"], TraineeInput(id_number=id_number(), name="乙"))
    data = csv_of([f"丙,{id_number()},,,,,否"])
    with pytest.raises(ImportRejected) as caught:
        await enrollments.import_list(actor, cohort["id"], data, "list.csv")
    assert "容量" in caught.value.faults[0].reason


async def test_overlapping_cohorts_are_refused_naming_the_other_cohort(database):
    first = await make_cohort(code="C-OTHER-1")
    second = await make_cohort("370200")  # another city, another institution, same dates
    number = id_number()
    await make_enrollment(first["id"], number=number)
    actor = await institution_actor(second)
    with pytest.raises(Conflict, match="C-OTHER-1"):
        await enrollments.enroll_one(actor, second["id"], TraineeInput(id_number=number, name="重叠"))


async def test_second_enrollment_same_occupation_level_year_is_flagged(database):
    later_start = today_in_china() - timedelta(days=20)
    if later_start <= date(later_start.year, 1, 3):
        pytest.skip("no earlier, non-overlapping dates in the same year")
    earlier = await make_cohort(start=date(later_start.year, 1, 1), end=date(later_start.year, 1, 2),
                                status="accepted")
    later = await make_cohort(start=later_start)
    number = id_number()
    await make_enrollment(earlier["id"], number=number)
    actor = await institution_actor(later)
    await enrollments.enroll_one(actor, later["id"], TraineeInput(id_number=number, name="重复"))
    row = await Enrollment.select().where(Enrollment.cohort == later["id"]).first()
    assert row["possible_duplicate"] is True
    flag = await AnomalyFlag.select().where(AnomalyFlag.kind == "duplicate_enrollment").first()
    assert flag is not None and flag["cohort"] == later["id"]


async def test_import_all_or_nothing_with_one_bad_row_among_10000(database):
    cohort = await make_cohort(capacity=20000)
    actor = await institution_actor(cohort)
    rows = [f"学员{i},{unique_id(i)},13800138000,大学本科,某公司,,否" for i in range(10_000)]
    rows[7345] = "坏行,370102199002310014,13800138000,大学本科,某公司,,否"
    with pytest.raises(ImportRejected) as caught:
        await enrollments.import_list(actor, cohort["id"], csv_of(rows), "big.csv")
    assert [(f.row, f.column) for f in caught.value.faults] == [(7347, "身份证号")]
    assert await Enrollment.count() == 0 and await Trainee.count() == 0


async def test_import_of_10000_rows_succeeds(database):
    cohort = await make_cohort(capacity=20000)
    actor = await institution_actor(cohort)
    rows = [f"学员{i},{unique_id(i)},,,,,否" for i in range(10_000)]
    result = await enrollments.import_list(actor, cohort["id"], csv_of(rows), "big.csv")
    assert result.enrolled == 10_000 and await Enrollment.count() == 10_000
    events = await AuditEvent.select().where(AuditEvent.action == "enrollment.import")
    assert len(events) == 1 and "id_number" not in str(events[0]["after"])


async def test_import_gbk_file(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    data = csv_of([f"张三,{id_number()},,硕士研究生,济南某公司,,是"], encoding="gbk")
    result = await enrollments.import_list(actor, cohort["id"], data, "gbk.csv")
    assert result.enrolled == 1
    person = await Trainee.select().first()
    assert person["name"] == "张三" and person["employer"] == "济南某公司" and person["new_graduate"]


async def test_import_file_with_bom_and_extra_columns(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    header = "序号,姓名,身份证号,备注,手机号\n"
    data = codecs.BOM_UTF8 + (header + f"1,张三,{id_number()},随便,13800138000\n").encode()
    result = await enrollments.import_list(actor, cohort["id"], data, "bom.csv")
    assert result.enrolled == 1


async def test_import_empty_file_is_refused(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    with pytest.raises(BadInput, match="空"):
        await enrollments.import_list(actor, cohort["id"], b"", "empty.csv")
    with pytest.raises(BadInput, match="没有数据行"):
        await enrollments.import_list(actor, cohort["id"], HEADER.encode(), "header-only.csv")


async def test_import_duplicate_id_within_one_file_is_a_fault(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    number = id_number()
    with pytest.raises(ImportRejected) as caught:
        await enrollments.import_list(actor, cohort["id"], csv_of([f"甲,{number}", f"乙,{number}"],
                                                                   header="姓名,身份证号\n"), "dup.csv")
    assert caught.value.faults[0].row == 3 and "第 2 行" in caught.value.faults[0].reason


async def test_import_reports_every_fault_with_row_and_column(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    data = csv_of([f"甲,{id_number()},123,博士后,,,也许", ",37010219900517001,,,,,"])
    with pytest.raises(ImportRejected) as caught:
        await enrollments.import_list(actor, cohort["id"], data, "bad.csv")
    cells = {(f.row, f.column) for f in caught.value.faults}
    assert {(2, "手机号"), (2, "学历"), (2, "是否应届毕业生"), (3, "姓名"), (3, "身份证号")} <= cells


async def test_import_xlsx_template_round_trip(database):
    from training.documents import tabular

    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    template = await enrollments.template()
    assert tabular.is_xlsx(template)
    data = tabular.write_xlsx([("学员名单", enrollments.TRAINEE_COLUMNS,
                                [["张三", id_number(), "13800138000", "大学本科", "某公司", "", "否"]])])
    assert (await enrollments.import_list(actor, cohort["id"], data, "list.xlsx")).enrolled == 1


async def test_withdrawal_needs_a_reason_and_frees_a_place(database):
    cohort = await make_cohort(capacity=1)
    actor = await institution_actor(cohort)
    result = await enrollments.enroll_one(actor, cohort["id"], TraineeInput(id_number=id_number(), name="甲"))
    with pytest.raises(Invalid):
        await enrollments.withdraw(actor, result.enrollment_ids[0], "  ")
    await enrollments.withdraw(actor, result.enrollment_ids[0], "工作调动")
    with pytest.raises(Conflict):
        await enrollments.withdraw(actor, result.enrollment_ids[0], "再退一次")
    await enrollments.enroll_one(actor, cohort["id"], TraineeInput(id_number=id_number(), name="乙"))


async def test_institution_of_another_city_sees_nothing(database):
    cohort = await make_cohort()
    stranger = await institution_actor(await make_cohort("370200"))
    with pytest.raises(NotFound):
        await enrollments.list_enrollments(stranger, cohort["id"])
    with pytest.raises(NotFound):
        await enrollments.enroll_one(stranger, cohort["id"], TraineeInput(id_number=id_number(), name="甲"))


async def test_reveal_id_number_is_audited_without_the_number(database):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    enrolled = await make_enrollment(cohort["id"])
    assert await trainees.reveal_id_number(actor, enrolled["trainee_id"]) == enrolled["id_number"]
    event = await AuditEvent.select().where(AuditEvent.action == "trainee.reveal_id").first()
    assert enrolled["id_number"] not in str(event["after"])
    stranger = await make_user("city", "370200")
    with pytest.raises(NotFound):
        await trainees.reveal_id_number(stranger, enrolled["trainee_id"])
