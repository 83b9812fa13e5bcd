"""Paginated lists under /api/v1: the body keeps its shape, X-Total-Count and Link headers, bounds refused
with the standard error shape naming the field."""

from __future__ import annotations

import pytest

from tests.attendance_factories import institution_actor, make_cohort, make_enrollment, make_session
from tests.factories import bearer, make_user
from training.errors import BadInput
from training.web.pagination import MAX_PAGE_SIZE, page_params


def test_page_params_bounds():
    assert page_params().offset == 0 and page_params().limit == 50
    paging = page_params(3, 20)
    assert (paging.offset, paging.limit) == (40, 20)
    assert paging.slice(list(range(100))) == list(range(40, 60))
    assert page_params("2", "7").page == 2
    for page, size, field in [(0, 10, "page"), (-1, 10, "page"), (1, 0, "page_size"),
                              (1, MAX_PAGE_SIZE + 1, "page_size"), ("x", 10, "page"), (1, "1e9", "page_size")]:
        with pytest.raises(BadInput) as caught:
            page_params(page, size)
        assert field in caught.value.fields


async def test_enrollments_paged_with_headers(client):
    cohort = await make_cohort()
    for _ in range(7):
        await make_enrollment(cohort["id"])
    clerk = await institution_actor(cohort)
    headers = await bearer(client, clerk.username)
    url = f"/api/v1/cohorts/{cohort['id']}/enrollments"
    whole = await client.get(url, headers=headers)
    assert whole.status_code == 200 and isinstance(whole.json(), list) and len(whole.json()) == 7
    assert whole.headers["x-total-count"] == "7"
    first = await client.get(f"{url}?page=1&page_size=3&status=enrolled", headers=headers)
    assert [r["id"] for r in first.json()] == [r["id"] for r in whole.json()[:3]]
    link = first.headers["link"]
    assert 'rel="next"' in link and 'rel="last"' in link and 'rel="prev"' not in link
    assert "page=2" in link and "page=3" in link and "status=enrolled" in link
    last = await client.get(f"{url}?page=3&page_size=3", headers=headers)
    assert [r["id"] for r in last.json()] == [whole.json()[6]["id"]]
    assert 'rel="prev"' in last.headers["link"] and 'rel="next"' not in last.headers["link"]
    beyond = await client.get(f"{url}?page=9&page_size=3", headers=headers)
    assert beyond.status_code == 200 and beyond.json() == [] and beyond.headers["x-total-count"] == "7"


@pytest.mark.parametrize(("query", "field"), [("page_size=501", "page_size"), ("page_size=0", "page_size"),
                                         ("page=0", "page"), ("page_size=99999999999999999999", "page_size")])
async def test_out_of_range_is_400_naming_the_field(client, query, field):
    cohort = await make_cohort()
    await make_session(cohort["id"])
    clerk = await institution_actor(cohort)
    headers = await bearer(client, clerk.username)
    for url in (f"/api/v1/cohorts/{cohort['id']}/sessions", f"/api/v1/cohorts/{cohort['id']}/enrollments",
                f"/api/v1/cohorts/{cohort['id']}/certificates"):
        response = await client.get(f"{url}?{query}", headers=headers)
        assert response.status_code == 400, (url, response.text)
        body = response.json()
        assert body["error"] == "bad_request" and field in body["fields"] and body["detail"]


async def test_not_a_number_is_400(client):
    cohort = await make_cohort()
    clerk = await institution_actor(cohort)
    headers = await bearer(client, clerk.username)
    response = await client.get(f"/api/v1/cohorts/{cohort['id']}/sessions?page_size=lots", headers=headers)
    assert response.status_code == 400 and response.json()["error"] == "bad_request"


async def test_sessions_and_page_object_lists_carry_headers(client):
    cohort = await make_cohort()
    for _ in range(3):
        await make_session(cohort["id"])
    clerk = await institution_actor(cohort)
    headers = await bearer(client, clerk.username)
    response = await client.get(f"/api/v1/cohorts/{cohort['id']}/sessions?page_size=2", headers=headers)
    assert len(response.json()) == 2 and response.headers["x-total-count"] == "3"
    province = await make_user("province")
    headers = await bearer(client, province.username)
    for url in ("/api/v1/cohorts", "/api/v1/plans", "/api/v1/institutions"):
        response = await client.get(f"{url}?page_size=1", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["x-total-count"] == str(response.json()["total"])
        assert 'rel="first"' in response.headers["link"]


async def test_schema_documents_paging(client):
    spec = (await client.get("/schema/openapi.json")).json()
    operation = spec["paths"]["/api/v1/cohorts/{cohort_id}/enrollments"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"page", "page_size"} <= names
    assert "X-Total-Count" in operation["responses"]["200"]["headers"]
