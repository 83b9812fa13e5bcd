"""API fuzzing with schemathesis against the app's own OpenAPI (``/schema/openapi.json``), as each role.

Every operation gets a bounded, deterministic set of generated requests (hypothesis, derandomized), each
sent twice: with the generated path parameters, and with the ids of real seeded records so the handlers
behind an id run too. Checks: no 5xx (``not_a_server_error``) and every response body matches the schema
declared for its status (``response_schema_conformance``). Requests run through the test client inside
the test's event loop, so the database engine is the one every other test uses (SQLite and PostgreSQL).
"""

from __future__ import annotations

import string
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.certificates_factories import assessed_cohort
from tests.factories import bearer, city_id, make_user
from tests.plans_factories import make_approval, make_catalogue_entry, make_plan, occupation_id
from training import db
from training.services import audit, certificates
from training.tables import AnomalyFlag, Attendance, Certificate, TrainingSession

EXAMPLES_PER_OPERATION = 6
BASE = "http://testserver.local"
_CASES: dict[str, list[tuple[Any, str, str]]] = {}
_PASSED = {"content", "data", "files", "json", "params"}


def _draw(operation: Any) -> list[Any]:
    drawn: list[Any] = []

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(operation.as_strategy())
    def collect(case: Any) -> None:
        drawn.append(case)

    collect()
    return drawn


def _generate(spec: dict[str, Any]) -> list[tuple[Any, str, str]]:
    """(case, method, path template) for every operation, generated once per run and reused for each role."""
    if "cases" not in _CASES:
        operations = [result.ok() for result in schemathesis.openapi.from_dict(spec).get_all_operations()]
        _CASES["cases"] = [(case, op.method.upper(), op.path) for op in operations for case in _draw(op)]
    return _CASES["cases"]


async def _seed() -> dict[str, dict[str, Any]]:
    """A small real data set: a certified cohort with sessions and attendance, a plan with a line, an approval,
    a catalogue entry, an anomaly flag and audit events; the users of each role; path values for each id."""
    cohort = await assessed_cohort("370100", passed=2, failed=1)
    await certificates.issue_all(cohort["actor"], cohort["id"])
    occupation = await occupation_id(0)
    plan_id, line_ids = await make_plan("370100", status="submitted", lines=[{}])
    approval = await make_approval(cohort["institution_id"], occupation)
    entry = await make_catalogue_entry("370100", cohort["institution_id"], occupation)
    flag = (await AnomalyFlag.insert(AnomalyFlag(
        kind="daily_hours", city=await city_id("370100"), institution=cohort["institution_id"], cohort=cohort["id"],
        dedupe_key="fuzz-1", details={"hours": 11})).returning(AnomalyFlag.id))[0]["id"]
    certificate = await Certificate.select(Certificate.number, Certificate.verification_code).first()
    session = await TrainingSession.select(TrainingSession.id).where(TrainingSession.cohort == cohort["id"]).first()
    attendance = await Attendance.select(Attendance.id).first()
    province = await make_user("province")
    city = await make_user("city", "370100")
    async with db.transaction():
        await audit.record(city, "fuzz.seed", "cohort", cohort["id"], after={"status": "assessed"})
    ids = {
        "cohort_id": cohort["id"], "institution_id": cohort["institution_id"], "plan_id": plan_id,
        "line_id": line_ids[0], "approval_id": approval, "entry_id": entry, "flag_id": flag,
        "session_id": session["id"], "attendance_id": attendance["id"], "assessment_id": cohort["assessment_id"],
        "enrollment_id": cohort["eligible"][0]["id"], "trainee_id": cohort["eligible"][0]["trainee_id"],
        "number": certificate["number"], "code": certificate["verification_code"], "city_code": "370100",
    }
    users = {"province": province.username, "city": city.username, "institution": cohort["actor"].username}
    return {"ids": ids, "users": users}


def _with_real_ids(template: str, ids: dict[str, Any]) -> str | None:
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    if not names or any(name not in ids for name in names):
        return None
    return BASE + template.format(**{name: ids[name] for name in names})


def _text(value: Any) -> str:
    return str(value).encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


def _files(files: list[tuple[str, tuple[Any, ...]]]) -> list[tuple[str, tuple[Any, ...]]]:
    """schemathesis writes multipart parts for ``requests``; httpx wants bytes and plain text names."""
    out = []
    for name, part in files:
        filename, content, *rest = part
        out.append((_text(name), (None if filename is None else _text(filename), _bytes(content), *rest)))
    return out


async def _send(client: Any, case: Any, method: str, url: str, headers: dict[str, str]) -> Any:
    kwargs = case.as_transport_kwargs(base_url=BASE)
    sent_headers = {k: v for k, v in (kwargs.get("headers") or {}).items()
                    if k.lower() not in {"authorization", "connection", "accept-encoding", "content-length"}}
    extra = {k: v for k, v in kwargs.items() if k in _PASSED and v is not None}
    if "files" in extra:
        extra["files"] = _files(extra["files"])
    if isinstance(extra.get("data"), str | bytes):
        extra["content"] = extra.pop("data")
    response = await client.request(method, url, headers={**sent_headers, **headers}, **extra)
    if "files" in extra:
        response.request.read()  # schemathesis reads the sent body for its report
    return response


@pytest.mark.slow
@pytest.mark.parametrize("role", ["province", "city", "institution"])
async def test_every_operation_survives_fuzzing_and_matches_its_schema(client, role):
    spec = (await client.get("/schema/openapi.json")).json()
    cases = _generate(spec)
    seeded = await _seed()
    headers = await bearer(client, seeded["users"][role])
    failures: list[str] = []
    operations: set[tuple[str, str]] = set()
    for case, method, template in cases:
        if template == "/api/v1/auth/token":
            continue  # the sign-in counts failures and locks accounts; tested by the accounts suite
        operations.add((method, template))
        generated = case.as_transport_kwargs(base_url=BASE)["url"]
        for url in dict.fromkeys(u for u in (generated, _with_real_ids(template, seeded["ids"])) if u):
            response = await _send(client, case, method, url, headers)
            try:
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            except Exception as exc:  # every failure is collected and reported together
                failures.append(f"{role} {method} {url[len(BASE):][:120]} -> {response.status_code}: "
                                f"{str(exc).strip()[:400]}")
    assert len(operations) >= 80, sorted(operations)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])
