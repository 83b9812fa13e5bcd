"""Annual plans on the real database: one per city per year, lines, the flow, concurrency, export."""

from __future__ import annotations

import io
import subprocess

import pytest
from docx import Document

from tests.factories import make_institution, make_user
from tests.plans_factories import (
    make_approval,
    make_cohort,
    make_plan,
    make_scene,
    occupation_id,
)
from training.documents import pdf
from training.documents.plan_document import build_plan_docx
from training.errors import BadInput, Conflict, Forbidden, Invalid, NotFound, StaleVersion
from training.rules.clock import today_in_china
from training.services import plans
from training.tables import AuditEvent, Certificate, Enrollment, Plan

NEXT_YEAR = today_in_china().year + 1


def _pdf_text(path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout


async def _line(occupation: int, **values) -> plans.LineInput:
    base = dict(occupation_id=occupation, level="junior", target_group="graduates", class_type="regular",
                target_headcount=50)
    base.update(values)
    return plans.LineInput(**base)


async def _version(plan_id: int) -> int:
    return (await Plan.select(Plan.lock_version).where(Plan.id == plan_id).first())["lock_version"]


async def test_city_creates_its_plan_with_the_official_title(database):
    city = await make_user("city", "370100")
    plan_id = await plans.create_plan(city, NEXT_YEAR)
    plan = await plans.get_plan(city, plan_id)
    assert plan["title"] == f"济南市{NEXT_YEAR}年数字技术工程师培育项目年度培训计划"
    assert plan["status"] == "draft" and plan["city_code"] == "370100"
    assert await AuditEvent.exists().where((AuditEvent.action == "plan.create") & (AuditEvent.city_code == "370100"))


async def test_rule_one_plan_per_city_per_year(database):
    city = await make_user("city", "370100")
    await plans.create_plan(city, NEXT_YEAR)
    with pytest.raises(Conflict) as caught:
        await plans.create_plan(city, NEXT_YEAR)
    assert "year" in caught.value.fields
    other = await make_user("city", "370200")
    assert await plans.create_plan(other, NEXT_YEAR)  # another city, same year: fine


async def test_rule_only_cities_write_plans(database):
    province = await make_user("province")
    with pytest.raises(Forbidden):
        await plans.create_plan(province, NEXT_YEAR)


async def test_rule_line_values_are_validated(database):
    city = await make_user("city", "370100")
    plan_id = await plans.create_plan(city, NEXT_YEAR)
    with pytest.raises(Invalid) as caught:
        await plans.add_line(city, plan_id, await _line(await occupation_id(), level="expert", target_headcount=0,
                                                        target_group="vip", class_type="vip"))
    assert set(caught.value.fields) >= {"level", "target_headcount", "target_group", "class_type"}
    with pytest.raises(Invalid) as caught:
        await plans.add_line(city, plan_id, await _line(999999))
    assert "occupation_id" in caught.value.fields


async def test_rule_intended_institutions_active_and_approved(database):
    city = await make_user("city", "370100")
    occupation = await occupation_id()
    approved = await make_institution("370100")
    await make_approval(approved, occupation, "junior")
    unapproved = await make_institution("370100")
    suspended = await make_institution("370100", status="suspended")
    await make_approval(suspended, occupation, "junior")
    withdrawn = await make_institution("370100")
    await make_approval(withdrawn, occupation, "junior", withdrawn=True)
    plan_id = await plans.create_plan(city, NEXT_YEAR)
    for bad in (unapproved, suspended, withdrawn):
        with pytest.raises(Invalid) as caught:
            await plans.add_line(city, plan_id, await _line(occupation, institution_ids=(bad,)))
        assert "institution_ids" in caught.value.fields
    line_id = await plans.add_line(city, plan_id, await _line(occupation, institution_ids=(approved,)))
    line = await plans.get_line(city, plan_id, line_id)
    assert [i["id"] for i in line["institutions"]] == [approved]


async def test_rule_no_line_changes_on_a_submitted_plan(database):
    city = await make_user("city", "370100")
    occupation = await occupation_id()
    plan_id = await plans.create_plan(city, NEXT_YEAR)
    line_id = await plans.add_line(city, plan_id, await _line(occupation))
    await plans.submit(city, plan_id, await _version(plan_id))
    version = await _version(plan_id)
    with pytest.raises(Conflict):
        await plans.add_line(city, plan_id, await _line(occupation), version)
    with pytest.raises(Conflict):
        await plans.update_line(city, plan_id, line_id, await _line(occupation, target_headcount=9), version)
    with pytest.raises(Conflict):
        await plans.remove_line(city, plan_id, line_id, version)


async def test_rule_cannot_submit_an_empty_plan(database):
    city = await make_user("city", "370100")
    plan_id = await plans.create_plan(city, NEXT_YEAR)
    with pytest.raises(Conflict):
        await plans.submit(city, plan_id, 1)


async def test_rule_return_needs_a_province_comment_and_returned_plan_is_resubmitted(database):
    city = await make_user("city", "370100")
    province = await make_user("province")
    occupation = await occupation_id()
    plan_id = await plans.create_plan(city, NEXT_YEAR)
    line_id = await plans.add_line(city, plan_id, await _line(occupation))
    await plans.submit(city, plan_id, await _version(plan_id))
    with pytest.raises(Invalid) as caught:
        await plans.return_plan(province, plan_id, await _version(plan_id), "  ")
    assert "comment" in caught.value.fields
    with pytest.raises(Forbidden):
        await plans.return_plan(city, plan_id, await _version(plan_id), "自己退回")
    returned = await plans.return_plan(province, plan_id, await _version(plan_id), "高级班人数偏少，请补充")
    assert returned["status"] == "returned"
    await plans.update_line(city, plan_id, line_id, await _line(occupation, target_headcount=80),
                            await _version(plan_id))
    again = await plans.submit(city, plan_id, await _version(plan_id))
    assert again["status"] == "submitted"
    accepted = await plans.accept(province, plan_id, await _version(plan_id))
    assert accepted["status"] == "accepted"
    with pytest.raises(Conflict):
        await plans.accept(province, plan_id, await _version(plan_id))
    actions = [r["action"] for r in await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.entity.is_in(["plan", "plan_line"])).order_by(AuditEvent.id)]
    assert actions == ["plan.create", "plan.line_add", "plan.submit", "plan.return", "plan.line_update",
                       "plan.submit", "plan.accept"]


async def test_rule_submission_after_30_april_is_accepted_but_late(database):
    city = await make_user("city", "370100")
    occupation = await occupation_id()
    this_year = today_in_china().year
    past = await plans.create_plan(city, this_year - 1)
    await plans.add_line(city, past, await _line(occupation))
    submitted = await plans.submit(city, past, await _version(past))
    assert submitted["status"] == "submitted" and submitted["submitted_late"] is True
    future = await plans.create_plan(city, NEXT_YEAR)
    await plans.add_line(city, future, await _line(occupation))
    assert (await plans.submit(city, future, await _version(future)))["submitted_late"] is False


async def test_rule_stale_edit_is_refused(database):
    city = await make_user("city", "370100")
    occupation = await occupation_id()
    plan_id = await plans.create_plan(city, NEXT_YEAR)
    read_version = await _version(plan_id)
    await plans.add_line(city, plan_id, await _line(occupation), read_version)  # someone saves first
    with pytest.raises(StaleVersion):
        await plans.update_plan(city, plan_id, read_version, "新标题")
    with pytest.raises(StaleVersion):
        await plans.submit(city, plan_id, read_version)
    assert (await plans.update_plan(city, plan_id, await _version(plan_id), "新标题"))["title"] == "新标题"


async def test_rule_city_writes_only_its_own_plan(database):
    jinan = await make_user("city", "370100")
    qingdao = await make_user("city", "370200")
    plan_id = await plans.create_plan(jinan, NEXT_YEAR)
    with pytest.raises(NotFound):
        await plans.get_plan(qingdao, plan_id)
    with pytest.raises(NotFound):
        await plans.add_line(qingdao, plan_id, await _line(await occupation_id()), 1)
    assert (await plans.list_plans(qingdao)).total == 0
    assert (await plans.list_plans(jinan)).total == 1


async def test_list_filters_and_paging(database):
    province = await make_user("province")
    occupation = await occupation_id(1)
    await make_plan("370100", NEXT_YEAR, "submitted", lines=[{"occupation": occupation}])
    await make_plan("370200", NEXT_YEAR, "draft")
    await make_plan("370300", NEXT_YEAR - 1, "accepted")
    assert (await plans.list_plans(province)).total == 3
    assert (await plans.list_plans(province, year=NEXT_YEAR)).total == 2
    assert (await plans.list_plans(province, status="accepted")).total == 1
    assert (await plans.list_plans(province, city="370200")).total == 1
    assert (await plans.list_plans(province, occupation=occupation)).total == 1
    page = await plans.list_plans(province, page=2, page_size=2)
    assert page.total == 3 and len(page.items) == 1
    with pytest.raises(BadInput, match="每页条数"):
        await plans.list_plans(province, page_size=201)


async def test_plan_versus_actual_counts_running_cohorts_only(database):
    scene = await make_scene()
    running = await make_cohort(scene, "approved", capacity=30)
    await make_cohort(scene, "in_training", capacity=20)
    await make_cohort(scene, "submitted", capacity=99)
    await make_cohort(scene, "rejected", capacity=99)
    from tests.factories import id_number
    from training.tables import Trainee

    statuses = ["enrolled", "completed", "completed", "withdrawn"]
    for i, status in enumerate(statuses):
        trainee = (await Trainee.insert(Trainee(id_number=id_number(seq=500 + i), name=f"学员{i}", sex="M",
                                                birth_date=today_in_china().replace(year=1990)))
                   .returning(Trainee.id))[0]["id"]
        await Enrollment.insert(Enrollment(trainee=trainee, cohort=running, enrolled_on=today_in_china(),
                                           status=status))
    enrollment = await Enrollment.select(Enrollment.id, Enrollment.trainee).where(
        Enrollment.status == "completed").first()
    from training.tables import Assessment, AssessmentResult

    assessment = (await Assessment.insert(Assessment(cohort=running, assessment_date=today_in_china(), form="both"))
                  .returning(Assessment.id))[0]["id"]
    result = (await AssessmentResult.insert(AssessmentResult(assessment=assessment, enrollment=enrollment["id"],
                                                             passed=True)).returning(AssessmentResult.id))[0]["id"]
    await Certificate.insert(Certificate(
        number="SD2026370100000001", verification_code="abc", enrollment=enrollment["id"], result=result,
        trainee=enrollment["trainee"], cohort=running, institution=scene.institution_id,
        city=(await Plan.select(Plan.city).where(Plan.id == scene.plan_id).first())["city"],
        occupation=scene.occupation, level="junior", year=2026, sequence=1, issue_date=today_in_china(), hours=80))
    report = await plans.progress(scene.city, scene.plan_id)
    line = report["lines"][0]["progress"]
    assert (line.target, line.cohorts, line.capacity, line.enrolled, line.completed, line.certified) == (
        100, 2, 50, 3, 2, 1)
    province_view = await plans.province_progress(scene.province, today_in_china().year)
    assert len(province_view) == 16
    jinan = next(c for c in province_view if c.city_code == "370100")
    assert jinan.totals.enrolled == 3 and jinan.totals.target == 100
    assert plans.grand_total(province_view).certified == 1
    city_view = await plans.province_progress(scene.city, today_in_china().year)
    assert [c.city_code for c in city_view] == ["370100"]
    with pytest.raises(NotFound):
        await plans.progress(scene.institution, scene.plan_id)


async def test_word_document_has_title_lines_and_totals(database):
    city = await make_user("city", "370100")
    plan_id = await plans.create_plan(city, NEXT_YEAR)
    first, second = await occupation_id(0), await occupation_id(3)
    await plans.add_line(city, plan_id, await _line(first, target_headcount=40))
    await plans.add_line(city, plan_id, await _line(first, level="senior", target_headcount=10))
    await plans.add_line(city, plan_id, await _line(second, level="senior", target_headcount=25))
    facts = await plans.document_facts(city, plan_id)
    document = Document(io.BytesIO(build_plan_docx(facts)))
    assert document.paragraphs[0].text == f"济南市{NEXT_YEAR}年数字技术工程师培育项目年度培训计划"
    assert any("报送单位：济南市人力资源和社会保障局" in p.text for p in document.paragraphs)
    lines_table, by_field, by_level = document.tables
    assert len(lines_table.rows) == 1 + 3 + 1  # header, one row per line, total
    assert lines_table.rows[-1].cells[6].text == "75"
    assert lines_table.rows[0]._tr.trPr.xml.count("tblHeader") == 1
    assert [r.cells[2].text for r in by_field.rows[1:]][-1] == "75"
    levels = {r.cells[0].text: r.cells[2].text for r in by_level.rows[1:]}
    assert levels == {"初级": "40", "高级": "35", "合计": "75"}
    east_asia = document.styles["Normal"].element.rPr.rFonts.get(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia")
    assert east_asia == "宋体"


async def test_pdf_is_real_and_its_chinese_title_extractable(database, tmp_path):
    city = await make_user("city", "370100")
    plan_id = await plans.create_plan(city, NEXT_YEAR)
    await plans.add_line(city, plan_id, await _line(await occupation_id()))
    docx = build_plan_docx(await plans.document_facts(city, plan_id))
    content = await pdf.docx_to_pdf(docx)
    assert content.startswith(b"%PDF")
    path = tmp_path / "plan.pdf"
    path.write_bytes(content)
    text = _pdf_text(path)
    assert "数字技术工程师培育项目年度培训计划" in text.replace(" ", "").replace("\n", "")


async def test_rule_one_plan_per_city_per_year_under_concurrency(database):
    import asyncio

    city = await make_user("city", "370100")
    outcomes = await asyncio.gather(*(plans.create_plan(city, NEXT_YEAR) for _ in range(3)), return_exceptions=True)
    assert sum(isinstance(o, int) for o in outcomes) == 1
    assert all(isinstance(o, Conflict) for o in outcomes if not isinstance(o, int))
    assert await Plan.count() == 1
