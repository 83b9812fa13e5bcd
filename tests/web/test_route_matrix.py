"""The route × role matrix (issue 8, item 2): every route of the application, pages and API,
checked for anonymous callers, each role, and own versus other organisation, against the
hand-written table in ``tests/route_matrix_expected.py``."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.factories import csrf, login
from tests.route_matrix_expected import ANY, EXPECTED, PUBLIC, ROLES, SCOPED_GETS
from training.demo import DEMO_PASSWORD, load_demo
from training.tables import (
    Approval,
    Assessment,
    Attendance,
    AuditEvent,
    CatalogueEntry,
    Certificate,
    City,
    Filing,
    Plan,
    PlanLine,
    TrainingSession,
    User,
)

SAFE = {"GET"}
PARAM = re.compile(r"\{(\w+):(\w+)\}")
# Placeholders of the right type for anonymous requests (nothing is looked up before sign-in).
PLACEHOLDERS = {
    "city_code": "370100",
    "number": "DTE-2026-370100-00001",
    "code": "ABCDEFGHJKLMNPQR",
    "kind": "hours",
    "fmt": "xlsx",
    "file_path": "missing.css",
    "path": "missing.yaml",
}
# Public routes where 401 answers wrong credentials (the empty sign-in sent), not a login wall.
CREDENTIAL_ROUTES = {("POST", "/login"), ("POST", "/api/v1/auth/token")}
# Demo sign-ins: own organisation (Jinan) and the other one (Qingdao).
OWN = {"province": "province", "city": "jinan", "institution": "jinan-school"}
OTHER = {"city": "qingdao", "institution": "qingdao-school"}


def app_routes(app: Any) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            for method in set(handler.http_methods) - {"HEAD", "OPTIONS"}:
                found.add((method, route.path))
    return found


def fill(path: str, values: dict[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        name, kind = match.groups()
        if name in values:
            return str(values[name])
        return "999999" if kind == "int" else PLACEHOLDERS.get(name, "x")

    return PARAM.sub(one, path)


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def allowed(who: Any, role: str) -> bool:
    return who in (PUBLIC, ANY) or role in who


async def send(client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str]) -> httpx.Response:
    if method in SAFE:
        return await client.request(method, url, headers=headers, follow_redirects=False)
    if is_api(url):
        return await client.request(method, url, headers=headers, json={}, follow_redirects=False)
    return await client.request(method, url, headers={**headers, **csrf(client)}, data={}, follow_redirects=False)


def error_shape(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:120]!r}"
    if not isinstance(body, dict) or not {"error", "detail", "fields"} <= set(body):
        return f"JSON without error/detail/fields: {body!r:.160}"
    return ""


async def signed_in(app: Any, username: str) -> tuple[httpx.AsyncClient, dict[str, str]]:
    """A client signed in to the pages (cookie) and a bearer header for the API."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
    await login(client, username, DEMO_PASSWORD)
    response = await client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return client, {"Authorization": f"Bearer {response.json()['token']}"}


async def records(city_code: str, institution_username: str) -> dict[str, Any]:
    """Real ids of one organisation's records in the demo province, by path parameter name."""
    city = await City.select(City.id).where(City.code == city_code).first()
    user = await User.select(User.institution).where(User.username == institution_username).first()
    institution = user["institution"]
    cert = await Certificate.select().where(Certificate.institution == institution).order_by(Certificate.id).first()
    assert cert, f"the demo has no certificate for {institution_username}"
    cohort = cert["cohort"]
    session = await TrainingSession.select(TrainingSession.id).where(TrainingSession.cohort == cohort).first()
    attendance = await Attendance.select(Attendance.id).where(Attendance.session == session["id"]).first()
    assessment = await Assessment.select(Assessment.id).where(Assessment.cohort == cohort).first()
    plan = await Plan.select(Plan.id).where(
        (Plan.city == city["id"]) & Plan.status.is_in(["submitted", "accepted"])).order_by(Plan.id).first()
    line = await PlanLine.select(PlanLine.id).where(PlanLine.plan == plan["id"]).first()
    approval = await Approval.select(Approval.id).where(Approval.institution == institution).first()
    entry = await CatalogueEntry.select(CatalogueEntry.id).where(CatalogueEntry.city == city["id"]).first()
    # [filings helper] a submitted filing of the institution (with its stored documents)
    filing = await Filing.select(Filing.id).where(
        (Filing.cohort.institution == institution) & Filing.report_file.is_not_null()).order_by(Filing.id).first()
    assert filing, f"the demo has no submitted filing for {institution_username}"
    return {
        "filing_id": filing["id"],
        "city_code": city_code, "institution_id": institution, "approval_id": approval["id"],
        "entry_id": entry["id"], "plan_id": plan["id"], "line_id": line["id"], "cohort_id": cohort,
        "session_id": session["id"], "attendance_id": attendance["id"], "assessment_id": assessment["id"],
        "enrollment_id": cert["enrollment"], "trainee_id": cert["trainee"], "number": cert["number"],
        "code": cert["verification_code"], "kind": "hours", "fmt": "xlsx",
    }


# --- 1. completeness -----------------------------------------------------------------------


async def test_every_route_has_an_entry_and_every_entry_is_a_route(app) -> None:
    routes = app_routes(app)
    missing = sorted(routes - set(EXPECTED))
    stale = sorted(set(EXPECTED) - routes)
    assert not missing, "routes without an entry in tests/route_matrix_expected.py: " + ", ".join(
        f"{m} {p}" for m, p in missing)
    assert not stale, "entries for routes that no longer exist: " + ", ".join(f"{m} {p}" for m, p in stale)
    assert len(routes) >= 150


def test_scoped_gets_are_get_routes_of_the_table() -> None:
    unknown = sorted(p for p in SCOPED_GETS if ("GET", p) not in EXPECTED)
    assert not unknown, f"SCOPED_GETS names paths that are not GET routes: {unknown}"


# --- 2. anonymous --------------------------------------------------------------------------


async def test_anonymous_callers_are_refused_everywhere_but_public_routes(client, app) -> None:
    await client.get("/login")  # a CSRF cookie, so unsafe page requests reach authentication
    failures = []
    for method, path in sorted(app_routes(app)):
        who = EXPECTED.get((method, path))
        url = fill(path, {})
        response = await send(client, method, url, {})
        status, location = response.status_code, response.headers.get("location", "")
        to_login = status in (302, 303, 307) and location.split("?")[0].endswith("/login")
        if who == PUBLIC:
            if to_login or (status == 401 and (method, path) not in CREDENTIAL_ROUTES):
                failures.append(f"{method} {path}: public route refused anonymous ({status} {location})")
        elif is_api(path):
            if status != 401:
                failures.append(f"{method} {path}: anonymous got {status}, expected 401")
            elif problem := error_shape(response):
                failures.append(f"{method} {path}: 401 {problem}")
        elif not to_login:
            failures.append(f"{method} {path}: anonymous got {status} {location!r}, expected a redirect to /login")
    assert not failures, "\n".join(failures)


# --- 3. each role, own organisation --------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_is_refused_the_routes_it_may_not_use(app, database, role: str) -> None:
    await load_demo()
    own = await records("370100", "jinan-school")
    client, api = await signed_in(app, OWN[role])
    before = await AuditEvent.count()
    failures, checked = [], 0
    try:
        for method, path in sorted(app_routes(app)):
            who = EXPECTED.get((method, path))
            if who is None or allowed(who, role) or path == "/logout":
                continue
            checked += 1
            response = await send(client, method, fill(path, own), api if is_api(path) else {})
            if response.status_code not in (403, 404):
                failures.append(f"{role}: {method} {path} answered {response.status_code}: {response.text[:160]!r}")
            elif is_api(path) and (problem := error_shape(response)):
                failures.append(f"{role}: {method} {path} {response.status_code} {problem}")
    finally:
        await client.aclose()
    assert checked > 0
    assert not failures, "\n".join(failures)
    assert await AuditEvent.count() == before, f"{role}: a refused request wrote an audit event"


# --- 4. own versus other organisation ------------------------------------------------------


@pytest.mark.parametrize("role", ["city", "institution"])
async def test_scoped_records_are_visible_to_their_own_organisation_only(app, database, role: str) -> None:
    await load_demo()
    own = await records("370100", "jinan-school")
    other = await records("370200", "qingdao-school")
    client, api = await signed_in(app, OWN[role])
    failures, checked = [], 0
    try:
        for path, roles in sorted(SCOPED_GETS.items()):
            if role not in roles:
                continue
            checked += 1
            headers = api if is_api(path) else {}
            mine = await send(client, "GET", fill(path, own), headers)
            if not 200 <= mine.status_code < 300:
                failures.append(f"{role}: GET {path} own record answered {mine.status_code}: {mine.text[:160]!r}")
            theirs = await send(client, "GET", fill(path, other), headers)
            if theirs.status_code != 404:
                failures.append(f"{role}: GET {path} other organisation's record answered {theirs.status_code}")
            elif is_api(path) and (problem := error_shape(theirs)):
                failures.append(f"{role}: GET {path} 404 {problem}")
    finally:
        await client.aclose()
    assert checked > 0
    assert not failures, "\n".join(failures)
