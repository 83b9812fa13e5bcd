"""The final completion assessment on the database: scheduling once training has ended, results
for eligible trainees only, scores 0–100, one retake, the spreadsheet import, read-only once filed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.certificates_factories import ended_cohort, set_status
from tests.factories import id_number, make_user
from training.errors import Conflict, ImportRejected, Invalid, NotFound
from training.rules.assessment import Entry
from training.rules.clock import today_in_china
from training.services import assessments
from training.tables import Assessment, AssessmentResult, AuditEvent, Cohort, Enrollment, Standard


async def _status(cohort_id: int) -> str:
    return (await Cohort.select(Cohort.status).where(Cohort.id == cohort_id).first())["status"]


async def _enrollment_status(enrollment_id: int) -> str:
    return (await Enrollment.select(Enrollment.status).where(Enrollment.id == enrollment_id).first())["status"]


async def _sitting(cohort: dict, form: str = "both") -> int:
    row = await assessments.schedule(cohort["actor"], cohort["id"], today_in_china(), form)
    return row["id"]


async def test_scheduling_ends_a_running_cohort_whose_planned_end_has_passed(database):
    cohort = await ended_cohort(status="in_training")
    row = await assessments.schedule(cohort["actor"], cohort["id"], today_in_china(), "written")
    assert row["attempt"] == 1 and row["form"] == "written"
    assert await _status(cohort["id"]) == "training_ended"
    actions = [r["action"] for r in await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.action != "user.create").order_by(AuditEvent.id)]
    assert actions == ["cohort.end_training", "assessment.schedule"]


async def test_scheduling_refused_before_training_has_ended(database):
    cohort = await ended_cohort(status="in_training", ended_days_ago=-5)  # ends in 5 days
    with pytest.raises(Conflict, match="培训尚未结束"):
        await assessments.schedule(cohort["actor"], cohort["id"], today_in_china(), "both")
    await set_status(cohort["id"], "draft")
    with pytest.raises(Conflict):
        await assessments.schedule(cohort["actor"], cohort["id"], today_in_china(), "both")
    assert await Assessment.count() == 0 and await _status(cohort["id"]) == "draft"


async def test_scheduling_refuses_a_bad_form_or_a_date_before_the_start(database):
    cohort = await ended_cohort()
    with pytest.raises(Invalid) as caught:
        await assessments.schedule(cohort["actor"], cohort["id"], today_in_china() - timedelta(days=400), "oral")
    assert set(caught.value.fields) == {"form", "assessment_date"}
    assert await Assessment.count() == 0


async def test_results_pass_fail_absent_and_cohort_becomes_assessed(database):
    cohort = await ended_cohort(eligible=3, ineligible=0)
    sitting = await _sitting(cohort)
    a, b, c = (p["id"] for p in cohort["eligible"])
    summary = await assessments.save_results(cohort["actor"], sitting, [
        Entry(a, 60, 60), Entry(b, 59, 100), Entry(c, absent=True)])
    assert summary.inserted == 3 and summary.passed == 1 and summary.cohort_status == "assessed"
    assert await _status(cohort["id"]) == "assessed"
    assert [await _enrollment_status(e) for e in (a, b, c)] == ["completed", "enrolled", "enrolled"]
    grid = await assessments.get_grid(cohort["actor"], sitting)
    assert grid.summary == {"rows": 3, "recorded": 3, "passed": 1, "absent": 1, "failed": 1, "ineligible": 0}


async def test_pass_mark_comes_from_the_standard(database):
    cohort = await ended_cohort(eligible=1, ineligible=0)
    standard = (await Cohort.select(Cohort.standard).where(Cohort.id == cohort["id"]).first())["standard"]
    await Standard.update({Standard.pass_mark_theory: 75}).where(Standard.id == standard)
    try:  # the standards are reference data kept between tests: put the mark back
        sitting = await _sitting(cohort)
        person = cohort["eligible"][0]["id"]
        await assessments.save_results(cohort["actor"], sitting, [Entry(person, 70, 90)])
        assert await _enrollment_status(person) == "enrolled"
        await assessments.save_results(cohort["actor"], sitting, [Entry(person, 75, 90)])
        assert await _enrollment_status(person) == "completed"
    finally:
        await Standard.update({Standard.pass_mark_theory: 60}).where(Standard.id == standard)


@pytest.mark.parametrize(("theory", "practice"), [(101, 60), (-1, 60), (60, 100.5), (60, True)])
async def test_scores_outside_0_to_100_are_refused(database, theory, practice):
    cohort = await ended_cohort(eligible=1, ineligible=0)
    sitting = await _sitting(cohort)
    person = cohort["eligible"][0]["id"]
    with pytest.raises(Invalid) as caught:
        await assessments.save_results(cohort["actor"], sitting, [Entry(person, theory, practice)])
    assert any(key.startswith(f"{person}.") for key in caught.value.fields)
    assert await AssessmentResult.count() == 0 and await _status(cohort["id"]) == "training_ended"


async def test_form_decides_which_scores_are_needed(database):
    cohort = await ended_cohort(eligible=2, ineligible=0)
    sitting = await _sitting(cohort, form="written")
    a, b = (p["id"] for p in cohort["eligible"])
    with pytest.raises(Invalid) as caught:
        await assessments.save_results(cohort["actor"], sitting, [Entry(a, 80, 80), Entry(b, None, None, True)])
    assert f"{a}.practice_score" in caught.value.fields
    await assessments.save_results(cohort["actor"], sitting, [Entry(a, 80), Entry(b, absent=True)])
    assert await _enrollment_status(a) == "completed"


async def test_results_for_an_ineligible_trainee_are_refused_with_the_reasons(database):
    cohort = await ended_cohort(eligible=1, ineligible=1)
    sitting = await _sitting(cohort)
    good, short = cohort["eligible"][0]["id"], cohort["ineligible"][0]["id"]
    with pytest.raises(Conflict) as caught:
        await assessments.save_results(cohort["actor"], sitting, [Entry(good, 90, 90), Entry(short, 90, 90)])
    assert "实操学时 0" in caught.value.fields[f"{short}.enrollment"]
    assert await AssessmentResult.count() == 0  # nothing written, not even the good one


async def test_results_for_a_withdrawn_trainee_are_refused(database):
    cohort = await ended_cohort(eligible=0, ineligible=0, withdrawn=1)
    sitting = await _sitting(cohort)
    person = cohort["withdrawn"][0]["id"]
    with pytest.raises(Conflict, match="不能录入成绩") as caught:
        await assessments.save_results(cohort["actor"], sitting, [Entry(person, 90, 90)])
    assert "已退出培训" in caught.value.fields[f"{person}.enrollment"]


async def test_a_trainee_of_another_cohort_is_refused(database):
    cohort = await ended_cohort(eligible=1, ineligible=0)
    other = await ended_cohort(eligible=1, ineligible=0, institution_id=cohort["institution_id"])
    sitting = await _sitting(cohort)
    with pytest.raises(Invalid, match="未保存"):
        await assessments.save_results(cohort["actor"], sitting, [Entry(other["eligible"][0]["id"], 90, 90)])


async def test_one_retake_for_failed_or_absent_and_no_third_attempt(database):
    cohort = await ended_cohort(eligible=3, ineligible=0)
    actor = cohort["actor"]
    first = await _sitting(cohort)
    passed, failed, absent = (p["id"] for p in cohort["eligible"])
    with pytest.raises(Conflict, match="请先录入首次考核成绩"):
        await assessments.schedule(actor, cohort["id"], today_in_china(), "both")
    await assessments.save_results(actor, first, [Entry(passed, 90, 90), Entry(failed, 40, 90),
                                                  Entry(absent, absent=True)])
    with pytest.raises(Invalid, match="考核安排有误"):  # the retake must come after the first sitting
        await assessments.schedule(actor, cohort["id"], today_in_china(), "both")
    await Assessment.update({Assessment.assessment_date: today_in_china() - timedelta(days=1)}).where(
        Assessment.id == first)
    retake = (await assessments.schedule(actor, cohort["id"], today_in_china(), "both"))["id"]
    grid = await assessments.get_grid(actor, retake)
    assert {r.enrollment_id for r in grid.rows} == {failed, absent}
    with pytest.raises(Conflict) as caught:
        await assessments.save_results(actor, retake, [Entry(passed, 95, 95)])
    assert "不能补考" in caught.value.fields[f"{passed}.enrollment"]
    await assessments.save_results(actor, retake, [Entry(failed, 70, 70), Entry(absent, 10, 10)])
    assert await _enrollment_status(failed) == "completed"
    assert await _enrollment_status(absent) == "failed"  # failed after the last attempt
    with pytest.raises(Conflict, match="第三次"):
        await assessments.schedule(actor, cohort["id"], today_in_china() + timedelta(days=1), "both")
    with pytest.raises(Conflict, match="首次考核成绩不能再修改"):
        await assessments.save_results(actor, first, [Entry(passed, 20, 20)])
    assert await Assessment.count() == 2


async def test_a_retake_is_refused_when_everyone_passed(database):
    cohort = await ended_cohort(eligible=1, ineligible=0)
    first = await _sitting(cohort)
    await assessments.save_results(cohort["actor"], first, [Entry(cohort["eligible"][0]["id"], 90, 90)])
    with pytest.raises(Conflict, match="没有需要补考的学员"):
        await assessments.schedule(cohort["actor"], cohort["id"], today_in_china() + timedelta(days=1), "both")


async def test_the_whole_grid_replaces_and_blank_rows_clear(database):
    cohort = await ended_cohort(eligible=2, ineligible=0)
    sitting = await _sitting(cohort)
    a, b = (p["id"] for p in cohort["eligible"])
    await assessments.save_results(cohort["actor"], sitting, [Entry(a, 90, 90), Entry(b, 90, 90)])
    summary = await assessments.save_results(cohort["actor"], sitting, [Entry(a, 90, 90)])
    assert summary.removed == 1 and summary.unchanged == 1
    assert await _enrollment_status(b) == "enrolled"
    assert await AssessmentResult.count() == 1


async def test_results_of_a_filed_cohort_are_read_only(database):
    cohort = await ended_cohort(eligible=1, ineligible=0)
    sitting = await _sitting(cohort)
    person = cohort["eligible"][0]["id"]
    await assessments.save_results(cohort["actor"], sitting, [Entry(person, 90, 90)])
    await set_status(cohort["id"], "filed")
    with pytest.raises(Conflict, match="只读"):
        await assessments.save_results(cohort["actor"], sitting, [Entry(person, 50, 50)])
    with pytest.raises(Conflict):
        await assessments.schedule(cohort["actor"], cohort["id"], today_in_china(), "both")


async def test_results_wait_for_the_assessment_date(database):
    cohort = await ended_cohort(eligible=1, ineligible=0)
    row = await assessments.schedule(cohort["actor"], cohort["id"], today_in_china() + timedelta(days=3), "both")
    with pytest.raises(Conflict, match="未到"):
        await assessments.save_results(cohort["actor"], row["id"], [Entry(cohort["eligible"][0]["id"], 90, 90)])
    moved = await assessments.reschedule(cohort["actor"], row["id"], today_in_china(), "written")
    assert moved["form"] == "written"


async def test_import_is_all_or_nothing_with_row_and_column_faults(database):
    cohort = await ended_cohort(eligible=2, ineligible=1)
    sitting = await _sitting(cohort)
    a, b = cohort["eligible"]
    short = cohort["ineligible"][0]
    bad = (f"身份证号,理论成绩,实操成绩,是否缺考\n{a['id_number']},85,101,否\n{b['id_number']},abc,70,\n"
           f"{short['id_number']},90,90,\n{id_number()},90,90,\n").encode()
    with pytest.raises(ImportRejected) as caught:
        await assessments.import_results(cohort["actor"], sitting, bad, "results.csv")
    faults = {(f.row, f.column) for f in caught.value.faults}
    assert faults == {(2, "实操成绩"), (3, "理论成绩"), (5, "身份证号")}
    assert await AssessmentResult.count() == 0
    ineligible = f"身份证号,理论成绩,实操成绩,是否缺考\n{a['id_number']},85,90,否\n{short['id_number']},90,90,\n"
    with pytest.raises(ImportRejected) as caught:
        await assessments.import_results(cohort["actor"], sitting, ineligible.encode(), "results.csv")
    assert [(f.row, f.column) for f in caught.value.faults] == [(3, "身份证号")]
    assert "未达到结业考核条件" in caught.value.faults[0].reason
    good = f"身份证号,理论成绩,实操成绩,是否缺考\n{a['id_number']},85,90,否\n{b['id_number']},,,是\n".encode("gbk")
    summary = await assessments.import_results(cohort["actor"], sitting, good, "results.csv")
    assert summary.inserted == 2 and await _status(cohort["id"]) == "assessed"
    assert await _enrollment_status(a["id"]) == "completed"


async def test_another_city_and_other_roles_cannot_touch_assessments(database):
    cohort = await ended_cohort(eligible=1, ineligible=0)
    sitting = await _sitting(cohort)
    stranger = await make_user("city", "370200")
    with pytest.raises(NotFound):
        await assessments.get_grid(stranger, sitting)
    with pytest.raises(NotFound):
        await assessments.schedule(stranger, cohort["id"], today_in_china(), "both")
    other_school = await ended_cohort("370200", eligible=0, ineligible=0)
    with pytest.raises(NotFound):
        await assessments.save_results(other_school["actor"], sitting, [])
    own_city = await make_user("city", "370100")
    assert len((await assessments.get_grid(own_city, sitting)).rows) == 1
    from training.errors import Forbidden

    with pytest.raises(Forbidden):
        await assessments.save_results(own_city, sitting, [Entry(cohort["eligible"][0]["id"], 90, 90)])
