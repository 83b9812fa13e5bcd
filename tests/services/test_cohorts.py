"""Cohorts on the real database: every opening rule broken, the decision flow, scope, concurrency."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import credit_code, make_institution, make_user
from tests.plans_factories import (
    future,
    make_approval,
    make_catalogue_entry,
    make_plan,
    make_scene,
    occupation_id,
)
from training.errors import Conflict, Forbidden, Invalid, NotFound, StaleVersion
from training.rules.clock import today_in_china
from training.services import cohorts
from training.tables import AuditEvent, Cohort, Institution, Standard


def _input(scene, **values) -> cohorts.CohortInput:
    base = dict(plan_line_id=scene.line_id, planned_start=future(10), planned_end=future(40), capacity=30)
    base.update(values)
    return cohorts.CohortInput(**base)


async def _version(cohort_id: int) -> int:
    return (await Cohort.select(Cohort.lock_version).where(Cohort.id == cohort_id).first())["lock_version"]


async def _refused(actor, data, error=Conflict) -> dict[str, str]:
    with pytest.raises(error) as caught:
        await cohorts.open_cohort(actor, data)
    assert not await Cohort.exists()
    return caught.value.fields


async def test_valid_cohort_records_standard_code_and_audit(database):
    scene = await make_scene()
    cohort_id = await cohorts.open_cohort(scene.institution, _input(scene))
    cohort = await cohorts.get_cohort(scene.institution, cohort_id)
    year = today_in_china().year
    assert cohort["code"] == f"C{year}-370100-001" and cohort["status"] == "draft"
    standard = await Standard.select(Standard.id).where(
        (Standard.occupation == scene.occupation) & (Standard.level == "junior") & (Standard.active == True)  # noqa: E712
    ).first()
    assert cohort["standard_id"] == standard["id"] and cohort["standard"]["illustrative"] is True
    assert cohort["history"][0]["action"] == "cohort.create"
    second = await cohorts.open_cohort(scene.institution, _input(scene))
    assert (await cohorts.get_cohort(scene.institution, second))["code"] == f"C{year}-370100-002"


async def test_rule_institution_active(database):
    scene = await make_scene()
    await Institution.update({Institution.status: "suspended"}).where(Institution.id == scene.institution_id)
    fields = await _refused(scene.institution, _input(scene))
    assert "institution" in fields and "暂停" in fields["institution"]


async def test_rule_occupation_within_approvals(database):
    scene = await make_scene(approve=False)
    assert "occupation" in await _refused(scene.institution, _input(scene))


async def test_rule_withdrawn_approval_does_not_count(database):
    scene = await make_scene(approve=False)
    await make_approval(scene.institution_id, scene.occupation, "junior", withdrawn=True)
    assert "occupation" in await _refused(scene.institution, _input(scene))


async def test_rule_level_within_approvals(database):
    scene = await make_scene(approve=False)
    await make_approval(scene.institution_id, scene.occupation, "senior")
    fields = await _refused(scene.institution, _input(scene))
    assert "level" in fields and "初级" in fields["level"]


async def test_rule_approval_covers_the_dates(database):
    scene = await make_scene(approve=False)
    await make_approval(scene.institution_id, scene.occupation, "junior", valid_from=today_in_china(),
                        valid_to=future(20))
    fields = await _refused(scene.institution, _input(scene))
    assert "planned_end" in fields and "核准有效期" in fields["planned_end"]


async def test_rule_institution_in_the_city_catalogue(database):
    scene = await make_scene(catalogue=False)
    assert "catalogue" in await _refused(scene.institution, _input(scene))


async def test_rule_removed_catalogue_entry_does_not_count(database):
    scene = await make_scene(catalogue=False)
    await make_catalogue_entry("370100", scene.institution_id, scene.occupation, removed=True)
    assert "catalogue" in await _refused(scene.institution, _input(scene))


async def test_rule_partner_required_for_order_classes(database):
    scene = await make_scene(class_type="order")
    fields = await _refused(scene.institution, _input(scene), Invalid)
    assert {"partner_name", "partner_credit_code"} <= set(fields)


async def test_rule_partner_credit_code_valid(database):
    scene = await make_scene()
    good = credit_code()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    fields = await _refused(scene.institution, _input(scene, class_type="custom", partner_name="某智能制造公司",
                                                      partner_credit_code=bad), Invalid)
    assert set(fields) == {"partner_credit_code"}
    cohort_id = await cohorts.open_cohort(scene.institution, _input(
        scene, class_type="directed", partner_name="某智能制造公司", partner_credit_code=good.lower()))
    assert (await cohorts.get_cohort(scene.institution, cohort_id))["partner_credit_code"] == good


async def test_rule_dates_not_reversed(database):
    scene = await make_scene()
    fields = await _refused(scene.institution, _input(scene, planned_start=future(20), planned_end=future(10)),
                            Invalid)
    assert "planned_end" in fields


async def test_rule_start_not_in_the_past(database):
    scene = await make_scene()
    fields = await _refused(scene.institution, _input(scene, planned_start=today_in_china() - timedelta(days=1)),
                            Invalid)
    assert "planned_start" in fields


async def test_rule_capacity_positive(database):
    scene = await make_scene()
    assert "capacity" in await _refused(scene.institution, _input(scene, capacity=0), Invalid)


async def test_rule_plan_line_of_own_city_submitted_plan(database):
    scene = await make_scene()
    _, (draft_line,) = await make_plan("370100", today_in_china().year + 1, "draft", lines=[
        {"occupation": scene.occupation}])
    assert "plan_line" in await _refused(scene.institution, _input(scene, plan_line_id=draft_line), Invalid)
    _, (other_city_line,) = await make_plan("370200", status="accepted", lines=[{"occupation": scene.occupation}])
    assert "plan_line" in await _refused(scene.institution, _input(scene, plan_line_id=other_city_line), Invalid)


async def test_rule_only_institutions_open_cohorts(database):
    scene = await make_scene()
    with pytest.raises(Forbidden):
        await cohorts.open_cohort(scene.city, _input(scene))


async def test_flow_submit_approve_by_its_city_and_scope(database):
    scene = await make_scene()
    other = await make_scene("370200", prefix="q")
    neighbour_id = await make_institution("370100")
    await make_approval(neighbour_id, scene.occupation)
    neighbour = await make_user("institution", str(neighbour_id))
    cohort_id = await cohorts.open_cohort(scene.institution, _input(scene))
    await cohorts.submit(scene.institution, cohort_id, await _version(cohort_id))
    with pytest.raises(NotFound):
        await cohorts.approve(other.city, cohort_id, await _version(cohort_id))
    with pytest.raises(Forbidden):
        await cohorts.approve(scene.province, cohort_id, await _version(cohort_id))
    approved = await cohorts.approve(scene.city, cohort_id, await _version(cohort_id))
    assert approved["status"] == "approved"
    for outsider in (other.city, other.institution, neighbour):
        with pytest.raises(NotFound):
            await cohorts.get_cohort(outsider, cohort_id)
        assert (await cohorts.list_cohorts(outsider)).total == 0
    assert (await cohorts.list_cohorts(scene.city)).total == 1
    assert (await cohorts.list_cohorts(scene.province, city="370100")).total == 1
    actions = [h["action"] for h in (await cohorts.get_cohort(scene.city, cohort_id))["history"]]
    assert actions == ["cohort.create", "cohort.submit", "cohort.approve"]
    assert await AuditEvent.count().where(AuditEvent.entity == "cohort") == 3


async def test_rule_reject_needs_reason_and_rejected_is_edited_and_resubmitted(database):
    scene = await make_scene()
    cohort_id = await cohorts.open_cohort(scene.institution, _input(scene))
    await cohorts.submit(scene.institution, cohort_id, await _version(cohort_id))
    with pytest.raises(Invalid) as caught:
        await cohorts.reject(scene.city, cohort_id, await _version(cohort_id), " ")
    assert "reason" in caught.value.fields
    rejected = await cohorts.reject(scene.city, cohort_id, await _version(cohort_id), "开班人数不足")
    assert rejected["status"] == "rejected" and rejected["status_reason"] == "开班人数不足"
    edited = await cohorts.update_cohort(scene.institution, cohort_id, await _version(cohort_id), {"capacity": 45})
    assert edited["capacity"] == 45
    assert (await cohorts.submit(scene.institution, cohort_id, await _version(cohort_id)))["status"] == "submitted"


async def test_rule_edit_only_draft_or_rejected(database):
    scene = await make_scene()
    cohort_id = await cohorts.open_cohort(scene.institution, _input(scene))
    await cohorts.submit(scene.institution, cohort_id, await _version(cohort_id))
    with pytest.raises(Conflict):
        await cohorts.update_cohort(scene.institution, cohort_id, await _version(cohort_id), {"capacity": 45})


async def test_rule_edit_checks_the_rules_again(database):
    scene = await make_scene()
    cohort_id = await cohorts.open_cohort(scene.institution, _input(scene))
    with pytest.raises(Invalid) as caught:
        await cohorts.update_cohort(scene.institution, cohort_id, await _version(cohort_id), {"capacity": -1})
    assert "capacity" in caught.value.fields
    with pytest.raises(Invalid):
        await cohorts.update_cohort(scene.institution, cohort_id, await _version(cohort_id), {"code": "X"})


async def test_rule_submit_checks_the_rules_again(database):
    scene = await make_scene()
    cohort_id = await cohorts.open_cohort(scene.institution, _input(scene))
    await Institution.update({Institution.status: "revoked"}).where(Institution.id == scene.institution_id)
    with pytest.raises(Conflict) as caught:
        await cohorts.submit(scene.institution, cohort_id, await _version(cohort_id))
    assert "institution" in caught.value.fields


async def test_rule_stale_edit_is_refused(database):
    scene = await make_scene()
    cohort_id = await cohorts.open_cohort(scene.institution, _input(scene))
    read = await _version(cohort_id)
    await cohorts.update_cohort(scene.institution, cohort_id, read, {"capacity": 40})
    with pytest.raises(StaleVersion):
        await cohorts.update_cohort(scene.institution, cohort_id, read, {"capacity": 50})
    assert (await Cohort.select(Cohort.capacity).first())["capacity"] == 40


async def test_rule_cancel_before_training_starts(database):
    scene = await make_scene()
    cohort_id = await cohorts.open_cohort(scene.institution, _input(scene))
    cancelled = await cohorts.cancel(scene.institution, cohort_id, await _version(cohort_id), "合作企业退出")
    assert cancelled["status"] == "cancelled"
    with pytest.raises(Conflict):
        await cohorts.cancel(scene.institution, cohort_id, await _version(cohort_id))
    started = await cohorts.open_cohort(scene.institution, _input(scene))
    await Cohort.update({Cohort.status: "in_training"}).where(Cohort.id == started)
    with pytest.raises(Conflict):
        await cohorts.cancel(scene.institution, started, await _version(started))


async def test_offerable_lines_only_approved_occupations_of_own_city(database):
    scene = await make_scene()
    other_occupation = await occupation_id(2)
    await make_plan("370100", today_in_china().year + 1, "accepted", lines=[
        {"occupation": other_occupation}, {"occupation": scene.occupation, "level": "senior"}])
    await make_plan("370200", status="accepted", lines=[{"occupation": scene.occupation}])
    lines = await cohorts.offerable_lines(scene.institution)
    assert [line["id"] for line in lines] == [scene.line_id]


async def test_list_filters(database):
    scene = await make_scene()
    first = await cohorts.open_cohort(scene.institution, _input(scene))
    await cohorts.open_cohort(scene.institution, _input(scene))
    await cohorts.submit(scene.institution, first, await _version(first))
    year = future(10).year
    assert (await cohorts.list_cohorts(scene.city, status="submitted")).total == 1
    assert (await cohorts.list_cohorts(scene.city, year=year)).total == 2
    assert (await cohorts.list_cohorts(scene.city, year=year - 3)).total == 0
    assert (await cohorts.list_cohorts(scene.city, occupation=scene.occupation)).total == 2
    assert (await cohorts.list_cohorts(scene.city, city="370200")).total == 0
    assert date.fromisoformat(str((await cohorts.list_cohorts(scene.city)).items[0]["planned_start"]))


async def test_rule_cohort_codes_unique_under_concurrency(database):
    import asyncio

    scene = await make_scene()
    ids = await asyncio.gather(*(cohorts.open_cohort(scene.institution, _input(scene)) for _ in range(4)))
    codes = {r["code"] for r in await Cohort.select(Cohort.code).where(Cohort.id.is_in(list(ids)))}
    year = today_in_china().year
    assert codes == {f"C{year}-370100-00{n}" for n in range(1, 5)}
