"""/api/v1/cohorts through the client: every opening refusal names its field; scope is 404."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import bearer, credit_code, make_institution, make_user
from tests.plans_factories import future, make_approval, make_catalogue_entry, make_scene
from training.rules.clock import today_in_china
from training.tables import Cohort, Institution


def _body(scene, **values):
    body = {"plan_line_id": scene.line_id, "planned_start": future(10).isoformat(),
            "planned_end": future(40).isoformat(), "capacity": 30}
    body.update(values)
    return body


async def _open(client, scene, **values):
    headers = await bearer(client, scene.institution.username)
    return await client.post("/api/v1/cohorts", json=_body(scene, **values), headers=headers), headers


async def test_open_submit_approve_and_invisible_to_others(client):
    scene = await make_scene()
    other = await make_scene("370200", prefix="q")
    neighbour_id = await make_institution("370100")
    await make_user("institution", str(neighbour_id), username="neighbour")
    response, headers = await _open(client, scene, name="济南人工智能初级一班")
    assert response.status_code == 201, response.text
    cohort = response.json()
    assert cohort["status"] == "draft" and cohort["code"].startswith(f"C{today_in_china().year}-370100-")
    assert cohort["standard"]["illustrative"] is True
    submitted = await client.post(f"/api/v1/cohorts/{cohort['id']}/submit",
                                  json={"lock_version": cohort["lock_version"]}, headers=headers)
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    version = submitted.json()["lock_version"]
    other_city = await bearer(client, other.city.username)
    refused = await client.post(f"/api/v1/cohorts/{cohort['id']}/approve", json={"lock_version": version},
                                headers=other_city)
    assert refused.status_code == 404
    city = await bearer(client, scene.city.username)
    approved = await client.post(f"/api/v1/cohorts/{cohort['id']}/approve", json={"lock_version": version},
                                 headers=city)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert [h["action"] for h in approved.json()["history"]] == ["cohort.create", "cohort.submit", "cohort.approve"]
    for username in (other.city.username, other.institution.username, "neighbour"):
        outsider = await bearer(client, username)
        assert (await client.get(f"/api/v1/cohorts/{cohort['id']}", headers=outsider)).status_code == 404
        assert (await client.get("/api/v1/cohorts", headers=outsider)).json()["total"] == 0
    assert (await client.get("/api/v1/cohorts?status=approved", headers=city)).json()["total"] == 1


async def _refusal(client, scene, status, field, **values):
    response, _ = await _open(client, scene, **values)
    assert response.status_code == status, response.text
    assert field in response.json()["fields"], response.json()
    assert not await Cohort.exists()
    return response.json()


async def test_rule_institution_active(client):
    scene = await make_scene()
    await Institution.update({Institution.status: "suspended"}).where(Institution.id == scene.institution_id)
    body = await _refusal(client, scene, 409, "institution")
    assert "正常状态" in body["detail"]


async def test_rule_occupation_within_approvals(client):
    await _refusal(client, await make_scene(approve=False), 409, "occupation")


async def test_rule_level_within_approvals(client):
    scene = await make_scene(approve=False)
    await make_approval(scene.institution_id, scene.occupation, "intermediate")
    await _refusal(client, scene, 409, "level")


async def test_rule_approval_covers_the_dates(client):
    scene = await make_scene(approve=False)
    await make_approval(scene.institution_id, scene.occupation, "junior", valid_from=future(15), valid_to=future(60))
    await _refusal(client, scene, 409, "planned_start")


async def test_rule_institution_in_the_city_catalogue(client):
    await _refusal(client, await make_scene(catalogue=False), 409, "catalogue")


async def test_rule_removed_from_catalogue(client):
    scene = await make_scene(catalogue=False)
    await make_catalogue_entry("370100", scene.institution_id, scene.occupation, removed=True)
    await _refusal(client, scene, 409, "catalogue")


@pytest.mark.parametrize("class_type", ["order", "custom", "directed"])
async def test_rule_partner_required(client, class_type):
    body = await _refusal(client, await make_scene(), 422, "partner_name", class_type=class_type)
    assert "partner_credit_code" in body["fields"]


async def test_rule_partner_credit_code_valid(client):
    good = credit_code()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    await _refusal(client, await make_scene(), 422, "partner_credit_code", class_type="order",
                   partner_name="某制造公司", partner_credit_code=bad)


async def test_rule_dates_not_reversed(client):
    await _refusal(client, await make_scene(), 422, "planned_end", planned_start=future(30).isoformat(),
                   planned_end=future(5).isoformat())


async def test_rule_start_not_in_the_past(client):
    yesterday = (today_in_china() - timedelta(days=1)).isoformat()
    await _refusal(client, await make_scene(), 422, "planned_start", planned_start=yesterday)


async def test_rule_capacity_positive(client):
    await _refusal(client, await make_scene(), 422, "capacity", capacity=0)


async def test_rule_plan_line_of_own_city(client):
    scene = await make_scene()
    other = await make_scene("370200", prefix="q")
    await _refusal(client, scene, 422, "plan_line", plan_line_id=other.line_id)


async def test_rule_reject_needs_reason(client):
    scene = await make_scene()
    response, headers = await _open(client, scene)
    cohort = response.json()
    submitted = (await client.post(f"/api/v1/cohorts/{cohort['id']}/submit",
                                   json={"lock_version": cohort["lock_version"]}, headers=headers)).json()
    city = await bearer(client, scene.city.username)
    refused = await client.post(f"/api/v1/cohorts/{cohort['id']}/reject",
                                json={"lock_version": submitted["lock_version"]}, headers=city)
    assert refused.status_code == 422 and "reason" in refused.json()["fields"]
    rejected = await client.post(f"/api/v1/cohorts/{cohort['id']}/reject",
                                 json={"lock_version": submitted["lock_version"], "reason": "师资不足"}, headers=city)
    assert rejected.status_code == 200 and rejected.json()["status_reason"] == "师资不足"


async def test_rule_stale_edit_is_409(client):
    scene = await make_scene()
    response, headers = await _open(client, scene)
    cohort = response.json()
    first = await client.patch(f"/api/v1/cohorts/{cohort['id']}",
                               json={"lock_version": cohort["lock_version"], "capacity": 40}, headers=headers)
    assert first.status_code == 200 and first.json()["capacity"] == 40
    second = await client.patch(f"/api/v1/cohorts/{cohort['id']}",
                                json={"lock_version": cohort["lock_version"], "capacity": 50}, headers=headers)
    assert second.status_code == 409 and second.json()["error"] == "stale_version"


async def test_edit_breaking_a_rule_is_422(client):
    scene = await make_scene()
    response, headers = await _open(client, scene)
    cohort = response.json()
    patched = await client.patch(f"/api/v1/cohorts/{cohort['id']}",
                                 json={"lock_version": cohort["lock_version"], "class_type": "order"}, headers=headers)
    assert patched.status_code == 422 and "partner_name" in patched.json()["fields"]


async def test_cancel_and_role_guards(client):
    scene = await make_scene()
    response, headers = await _open(client, scene)
    cohort = response.json()
    city = await bearer(client, scene.city.username)
    assert (await client.post("/api/v1/cohorts", json=_body(scene), headers=city)).status_code == 403
    cancelled = await client.post(f"/api/v1/cohorts/{cohort['id']}/cancel",
                                  json={"lock_version": cohort["lock_version"], "reason": "生源不足"}, headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


async def test_list_filters_and_paging(client):
    scene = await make_scene()
    for _ in range(3):
        await _open(client, scene)
    headers = await bearer(client, scene.province.username)
    year = future(10).year
    body = (await client.get(f"/api/v1/cohorts?city=370100&year={year}&occupation={scene.occupation}&status=draft"
                             "&page_size=2", headers=headers)).json()
    assert body["total"] == 3 and len(body["items"]) == 2 and body["page_size"] == 2
    assert (await client.get("/api/v1/cohorts?city=370200", headers=headers)).json()["total"] == 0
    assert (await client.get("/api/v1/cohorts?page_size=500", headers=headers)).status_code == 400


async def test_bad_input_wrong_types_are_400_with_the_field(client):
    scene = await make_scene()
    headers = await bearer(client, scene.institution.username)
    for body, field in ((_body(scene, capacity="thirty"), "capacity"),
                        (_body(scene, planned_start="2026-13-45"), "planned_start"),
                        ({"capacity": 30}, "plan_line_id")):
        response = await client.post("/api/v1/cohorts", json=body, headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "bad_request"
        assert field in str(response.json()["fields"]) or field in response.json()["detail"], response.json()
    assert not await Cohort.exists()


async def test_bad_input_decision_without_lock_version_is_400(client):
    scene = await make_scene()
    response, headers = await _open(client, scene)
    submitted = await client.post(f"/api/v1/cohorts/{response.json()['id']}/submit", json={}, headers=headers)
    assert submitted.status_code == 400
