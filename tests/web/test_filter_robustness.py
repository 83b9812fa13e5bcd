"""Bad filters on every list (pages and API): impossible dates, unknown codes, huge numbers and page sizes,
SQL-looking and odd unicode strings give a clear 4xx or an empty/ordinary result — never a 500 — and a
city never sees another city's rows through them."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.attendance_factories import make_cohort
from tests.factories import bearer, login, make_user

NASTY_TEXT = ["' OR 1=1 --", "%", "_", "%25", "济南市", "370100' --", "a\x00b", "\u202e\U0001f600", "x" * 600,
              "1; DROP TABLE cohort", "\\"]
NASTY_NUMBERS = ["-1", "0", "99999", "2147483648", "99999999999999999999", "1e9", "abc", "3.5", "2026-02-30"]
NASTY_DATES = ["2026-02-30", "0000-00-00", "0001-01-01", "9999-12-31", "yesterday", "2026-13-01", "' OR 1=1 --"]

API_LISTS = {
    "/api/v1/institutions": {"city": NASTY_TEXT, "status": NASTY_TEXT, "occupation": NASTY_NUMBERS, "q": NASTY_TEXT,
                             "page_size": ["100000", "-5"]},
    "/api/v1/plans": {"city": NASTY_TEXT, "year": NASTY_NUMBERS, "occupation": NASTY_NUMBERS, "status": NASTY_TEXT},
    "/api/v1/cohorts": {"city": NASTY_TEXT, "year": NASTY_NUMBERS, "occupation": NASTY_NUMBERS,
                        "status": NASTY_TEXT, "institution": NASTY_NUMBERS, "plan_line": NASTY_NUMBERS,
                        "page": ["0", "99999999"]},
    "/api/v1/audit": {"org": NASTY_TEXT, "username": NASTY_TEXT, "entity": NASTY_TEXT, "action": NASTY_TEXT,
                      "date_from": NASTY_DATES, "date_to": NASTY_DATES, "page_size": ["501", "100000"]},
    "/api/v1/anomalies": {"kind": NASTY_TEXT, "status": NASTY_TEXT, "institution": NASTY_NUMBERS,
                          "page_size": ["501"]},
    "/api/v1/exports/hours": {"year": NASTY_NUMBERS, "city": NASTY_TEXT, "occupation": NASTY_NUMBERS,
                              "level": NASTY_TEXT, "format": NASTY_TEXT},
}
PAGE_LISTS = {
    "/institutions": {"city": NASTY_TEXT, "occupation": NASTY_NUMBERS, "page_number": NASTY_NUMBERS},
    "/plans": {"city": NASTY_TEXT, "year": NASTY_NUMBERS, "status": NASTY_TEXT, "occupation": NASTY_NUMBERS},
    "/cohorts": {"city": NASTY_TEXT, "year": NASTY_NUMBERS, "status": NASTY_TEXT, "occupation": NASTY_NUMBERS,
                 "plan_line": NASTY_NUMBERS, "page_number": NASTY_NUMBERS},
    "/anomalies": {"kind": NASTY_TEXT, "show": NASTY_TEXT, "status": NASTY_TEXT, "institution": NASTY_NUMBERS},
    "/audit": {"org": NASTY_TEXT, "date_from": NASTY_DATES, "date_to": NASTY_DATES, "page_size": ["100000"]},
    "/exports": {"year": NASTY_NUMBERS, "city": NASTY_TEXT, "level": NASTY_TEXT},
}


def _cases(table):
    return [(url, name, value) for url, params in table.items() for name, values in params.items()
            for value in values]


def _check(response, where):
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400 and "/api/" in where:
        body = response.json()
        assert set(body) >= {"error", "detail", "fields"} and body["detail"], where


@pytest.mark.parametrize("role", ["province", "city"])
async def test_api_lists_never_fail_on_bad_filters(client, role):
    await make_cohort("370100")
    await make_cohort("370200")
    user = await make_user(role, "370100" if role == "city" else "")
    headers = await bearer(client, user.username)
    for url, name, value in _cases(API_LISTS):
        where = f"{url}?{name}={value!r}"
        response = await client.get(f"{url}?{name}={quote(value)}", headers=headers)
        _check(response, where)
        if role == "city" and response.status_code == 200 and url == "/api/v1/cohorts":
            assert {c["city_code"] for c in response.json()["items"]} <= {"370100"}, where


async def test_institution_api_lists_never_fail_on_bad_filters(client):
    cohort = await make_cohort("370100")
    user = await make_user("institution", str(cohort["institution_id"]))
    headers = await bearer(client, user.username)
    for url, name, value in _cases({"/api/v1/cohorts": API_LISTS["/api/v1/cohorts"],
                                    f"/api/v1/cohorts/{cohort['id']}/enrollments": {"status": NASTY_TEXT,
                                                                                    "page": NASTY_NUMBERS}}):
        _check(await client.get(f"{url}?{name}={quote(value)}", headers=headers), f"{url}?{name}={value!r}")


@pytest.mark.parametrize("role", ["province", "city"])
async def test_list_pages_never_fail_on_bad_filters(client, role):
    await make_cohort("370100")
    user = await make_user(role, "370100" if role == "city" else "")
    await login(client, user.username)
    for url, name, value in _cases(PAGE_LISTS):
        response = await client.get(f"{url}?{name}={quote(value)}")
        _check(response, f"{url}?{name}={value!r}")
        if role == "city" and url == "/cohorts" and response.status_code == 200:
            assert "370200" not in response.text


async def test_sql_looking_search_matches_literally(client):
    """A quote is just a quote; ``%`` and ``_`` are dropped from a search, never wildcards that widen it."""
    province = await make_user("province")
    headers = await bearer(client, province.username)
    await make_cohort("370100")
    for q in ("%zz%", "_q_", "' OR 1=1 --"):
        response = await client.get(f"/api/v1/institutions?q={quote(q)}", headers=headers)
        assert response.status_code == 200 and response.json()["total"] == 0, q
