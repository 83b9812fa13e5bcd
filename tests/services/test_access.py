"""The one scoping module: each role sees exactly its own organisation's records, nothing else."""

from __future__ import annotations

from datetime import date, time

import pytest

from tests.factories import city_id, credit_code, id_number, make_institution, make_user
from training.access import SYSTEM, ensure_visible, may, require, restrict
from training.errors import Forbidden, NotFound
from training.tables import (
    Approval,
    Assessment,
    AssessmentResult,
    Attendance,
    Certificate,
    Cohort,
    Enrollment,
    Filing,
    Institution,
    Occupation,
    Plan,
    PlanLine,
    Standard,
    Trainee,
    TrainingSession,
)


async def _world():
    """Two cities; two institutions in Jinan, one in Qingdao; a full chain of records each."""
    occupation = (await Occupation.select(Occupation.id).first())["id"]
    standard = (await Standard.select(Standard.id).where(Standard.occupation == occupation).first())["id"]
    owners: dict[tuple[type, int], tuple[str, int]] = {}
    for city_code in ("370100", "370200"):
        plan = (await Plan.insert(Plan(city=await city_id(city_code), year=2026, status="accepted"))
                .returning(Plan.id))[0]["id"]
        owners[(Plan, plan)] = (city_code, 0)
        line = (await PlanLine.insert(PlanLine(plan=plan, occupation=occupation, level="junior",
                                               target_group="other", class_type="regular", target_headcount=30))
                .returning(PlanLine.id))[0]["id"]
        owners[(PlanLine, line)] = (city_code, 0)
    for n, city_code in enumerate(("370100", "370100", "370200")):
        institution = await make_institution(city_code)
        owners[(Institution, institution)] = (city_code, institution)
        approval = (await Approval.insert(Approval(institution=institution, occupation=occupation, level="junior",
                                                   valid_from=date(2026, 1, 1), valid_to=date(2027, 12, 31)))
                    .returning(Approval.id))[0]["id"]
        owners[(Approval, approval)] = (city_code, institution)
        cohort = (await Cohort.insert(Cohort(
            code=f"C{n}", name=f"班{n}", institution=institution, city=await city_id(city_code),
            occupation=occupation, level="junior", standard=standard, planned_start=date(2026, 9, 1),
            planned_end=date(2026, 10, 1), capacity=30, status="assessed")).returning(Cohort.id))[0]["id"]
        owners[(Cohort, cohort)] = (city_code, institution)
        trainee = (await Trainee.insert(Trainee(id_number=id_number(), name=f"学员{n}", sex="M",
                                                birth_date=date(1990, 1, 1))).returning(Trainee.id))[0]["id"]
        owners[(Trainee, trainee)] = (city_code, institution)
        enrollment = (await Enrollment.insert(Enrollment(trainee=trainee, cohort=cohort,
                                                         enrolled_on=date(2026, 8, 20)))
                      .returning(Enrollment.id))[0]["id"]
        owners[(Enrollment, enrollment)] = (city_code, institution)
        session = (await TrainingSession.insert(TrainingSession(
            cohort=cohort, session_date=date(2026, 9, 2), start_time=time(9), end_time=time(12), mode="offline",
            kind="theory", class_hours=4)).returning(TrainingSession.id))[0]["id"]
        owners[(TrainingSession, session)] = (city_code, institution)
        attendance = (await Attendance.insert(Attendance(enrollment=enrollment, session=session, status="present",
                                                         credited_hours=4)).returning(Attendance.id))[0]["id"]
        owners[(Attendance, attendance)] = (city_code, institution)
        assessment = (await Assessment.insert(Assessment(cohort=cohort, assessment_date=date(2026, 10, 1),
                                                         form="both")).returning(Assessment.id))[0]["id"]
        owners[(Assessment, assessment)] = (city_code, institution)
        result = (await AssessmentResult.insert(AssessmentResult(assessment=assessment, enrollment=enrollment,
                                                                 theory_score=80, practice_score=80, passed=True))
                  .returning(AssessmentResult.id))[0]["id"]
        owners[(AssessmentResult, result)] = (city_code, institution)
        certificate = (await Certificate.insert(Certificate(
            number=f"DTE-2026-{city_code}-0000{n}", verification_code=credit_code(), enrollment=enrollment,
            result=result, trainee=trainee, cohort=cohort, institution=institution,
            city=await city_id(city_code), occupation=occupation, level="junior", year=2026, sequence=n + 1,
            issue_date=date(2026, 10, 2), hours=128)).returning(Certificate.id))[0]["id"]
        owners[(Certificate, certificate)] = (city_code, institution)
        filing = (await Filing.insert(Filing(cohort=cohort, due_date=date(2026, 10, 31)))
                  .returning(Filing.id))[0]["id"]
        owners[(Filing, filing)] = (city_code, institution)
    return owners


SCOPED_TABLES = [Cohort, Enrollment, TrainingSession, Attendance, Assessment, AssessmentResult, Certificate,
                 Filing, Trainee, Institution, Approval, Plan, PlanLine]


async def _visible(table, actor) -> set[int]:
    return {row["id"] for row in await restrict(table.select(table.id), table, actor)}


@pytest.mark.parametrize("table", SCOPED_TABLES, ids=lambda t: t.__name__)
async def test_each_role_sees_exactly_its_own(database, table):
    owners = await _world()
    institutions = sorted(i for (t, i) in owners if t is Institution)
    jinan_institution = institutions[0]
    actors = {
        "province": await make_user("province"),
        "jinan": await make_user("city", org="370100"),
        "qingdao": await make_user("city", org="370200"),
        "institution": await make_user("institution", org=str(jinan_institution)),
    }
    rows = {record_id: owner for (t, record_id), owner in owners.items() if t is table}

    def expected(who: str) -> set[int]:
        if who == "province":
            return set(rows)
        if who in ("jinan", "qingdao"):
            if table in (Institution, Approval):  # a city works with every approved institution
                return set(rows)
            code = "370100" if who == "jinan" else "370200"
            return {r for r, (city, _) in rows.items() if city == code}
        if table in (Plan, PlanLine):  # an institution reads its own city's submitted/accepted plans
            return {r for r, (city, _) in rows.items() if city == "370100"}
        return {r for r, (_, inst) in rows.items() if inst == jinan_institution}

    for who, actor in actors.items():
        assert await _visible(table, actor) == expected(who), who


async def test_outside_scope_is_not_found_not_forbidden(database):
    owners = await _world()
    qingdao_cohort = next(i for (t, i), (city, _) in owners.items() if t is Cohort and city == "370200")
    jinan = await make_user("city", org="370100")
    with pytest.raises(NotFound):
        await ensure_visible(Cohort, qingdao_cohort, jinan)
    await ensure_visible(Cohort, qingdao_cohort, await make_user("city", org="370200"))


async def test_roles_may_only_do_their_actions(database):
    city = await make_user("city", org="370100")
    clerk = await make_user("institution", org=str(await make_institution("370100")))
    assert may(city, "cohort.decide")
    assert not may(clerk, "cohort.decide")
    assert not may(city, "institution.write")
    assert may(SYSTEM, "institution.write")
    with pytest.raises(Forbidden):
        require(clerk, "plan.write")
    with pytest.raises(KeyError):
        may(city, "no.such.action")
