"""Training certificates (培训合格证书): issue for every passed trainee, revoke, documents, verify.

Numbers are allocated from ``certificate_counter`` inside the issuing transaction: the counter
row is created if missing (``INSERT … ON CONFLICT DO NOTHING``) and advanced by the number of
certificates with one ``UPDATE … RETURNING``, which row-locks it on PostgreSQL (SQLite's IMMEDIATE
transaction already serialises writers). A rolled-back issue rolls the counter back with it, so
numbers are gap-free and never reused. Certificates are never deleted; revocation keeps the row.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from training import db
from training.access import Actor, require, restrict
from training.documents import certificate_document, pdf
from training.errors import Conflict, Invalid, NotFound, Unavailable
from training.rules import certificates as rules
from training.rules.clock import to_local, today_in_china, utcnow
from training.rules.identity import mask_id_number
from training.rules.levels import CERTIFICATE_STATUSES, LEVELS
from training.services import audit, progress
from training.tables import AssessmentResult, Certificate, CertificateCounter, Cohort

# Certificates follow the assessment and go into the filing package, so they are issued while
# the cohort is assessed (before filing).
ISSUABLE_STATUSES = frozenset({"assessed"})
_NOT_FOUND = "证书不存在，或不在您的管辖范围内"

_COLUMNS = (
    Certificate.id, Certificate.number, Certificate.verification_code, Certificate.level, Certificate.year,
    Certificate.sequence, Certificate.issue_date, Certificate.hours, Certificate.status, Certificate.revoked_at,
    Certificate.revoke_reason, Certificate.enrollment, Certificate.cohort, Certificate.trainee,
    Certificate.trainee.name.as_alias("name"), Certificate.trainee.id_number.as_alias("id_number"),
    Certificate.trainee.sex.as_alias("sex"), Certificate.trainee.employer.as_alias("employer"),
    Certificate.occupation.name.as_alias("occupation_name"), Certificate.institution.id.as_alias("institution_id"),
    Certificate.institution.name.as_alias("institution_name"), Certificate.city.code.as_alias("city_code"),
    Certificate.city.name.as_alias("city_name"), Certificate.cohort.code.as_alias("cohort_code"),
    Certificate.cohort.planned_start.as_alias("planned_start"), Certificate.cohort.planned_end.as_alias("planned_end"),
    Certificate.result.theory_score.as_alias("theory_score"),
    Certificate.result.practice_score.as_alias("practice_score"),
)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A certificate as shown to its organisations: ID masked, never the whole number."""
    out = {k: v for k, v in row.items() if k != "id_number"}
    out["id_masked"] = mask_id_number(row.get("id_number") or "")
    out["level_label"] = LEVELS.get(row["level"], row["level"])
    out["status_label"] = CERTIFICATE_STATUSES.get(row["status"], row["status"])
    return out


async def _cohort(actor: Actor, cohort_id: int) -> dict[str, Any]:
    row = await restrict(Cohort.select(
        Cohort.id, Cohort.code, Cohort.name, Cohort.status, Cohort.level, Cohort.occupation,
        Cohort.institution.id.as_alias("institution_id"), Cohort.city.id.as_alias("city_id"),
        Cohort.city.code.as_alias("city_code"),
    ).where(Cohort.id == cohort_id), Cohort, actor).first()
    if row is None:
        raise NotFound("培训班不存在，或不在您的管辖范围内")
    return row


async def _passed(cohort_id: int) -> dict[int, dict[str, Any]]:
    """Each completed enrollment's passing result (the latest attempt that passed)."""
    rows = await AssessmentResult.select(
        AssessmentResult.id, AssessmentResult.enrollment, AssessmentResult.assessment.attempt.as_alias("attempt"),
        AssessmentResult.enrollment.trainee.id.as_alias("trainee_id"),
        AssessmentResult.enrollment.trainee.name.as_alias("name"),
    ).where((AssessmentResult.assessment.cohort == cohort_id) & (AssessmentResult.passed == True)  # noqa: E712
            & (AssessmentResult.enrollment.status == "completed"))
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row["enrollment"] not in out or row["attempt"] > out[row["enrollment"]]["attempt"]:
            out[row["enrollment"]] = row
    return out


@dataclass(slots=True)
class CohortCertificates:
    cohort: dict[str, Any]
    certificates: list[dict[str, Any]]
    awaiting: list[dict[str, Any]] = field(default_factory=list)  # passed, not yet certified
    can_issue: bool = False
    issue_refusal: str | None = None


async def cohort_certificates(actor: Actor, cohort_id: int) -> CohortCertificates:
    cohort = await _cohort(actor, cohort_id)
    rows = await restrict(Certificate.select(*_COLUMNS).where(Certificate.cohort == cohort_id), Certificate, actor
                          ).order_by(Certificate.sequence)
    certified = {r["enrollment"] for r in rows}
    awaiting = [r for eid, r in (await _passed(cohort_id)).items() if eid not in certified]
    refusal = None if cohort["status"] in ISSUABLE_STATUSES else _issue_refusal(cohort["status"])
    return CohortCertificates(cohort, [_public(r) for r in rows], sorted(awaiting, key=lambda r: r["enrollment"]),
                              can_issue=refusal is None and bool(awaiting), issue_refusal=refusal)


def _issue_refusal(status: str) -> str:
    if status in {"filed", "accepted"}:
        return "培训班已备案，不能再发证"
    return "培训班尚未完成结业考核（录入考核成绩后才能发证）"


@dataclass(slots=True)
class IssueOutcome:
    issued: list[str]
    already: int
    message: str


async def _allocate(year: int, city_code: str, count: int) -> list[int]:
    """Reserve ``count`` consecutive sequences for (year, city) in the caller's transaction."""
    await CertificateCounter.raw(
        "INSERT INTO certificate_counter (year, city_code, last_sequence) VALUES ({}, {}, 0) "
        "ON CONFLICT (year, city_code) DO NOTHING", year, city_code)
    rows = await CertificateCounter.raw(
        "UPDATE certificate_counter SET last_sequence = last_sequence + {} WHERE year = {} AND city_code = {} "
        "RETURNING last_sequence", count, year, city_code)
    return rules.sequences(int(rows[0]["last_sequence"]), count)


async def issue_all(actor: Actor, cohort_id: int) -> IssueOutcome:
    """Issue a certificate to every passed trainee who has none yet. Idempotent: a second call
    issues nothing new and says so."""
    async with db.transaction():
        if db.is_postgres():
            # Two clicks on "issue all" for one cohort: the second waits here, then finds them issued.
            await Cohort.raw("SELECT id FROM cohort WHERE id = {} FOR UPDATE", cohort_id)
        cohort = await _cohort(actor, cohort_id)
        require(actor, "certificate.issue")
        if cohort["status"] not in ISSUABLE_STATUSES:
            message = _issue_refusal(cohort["status"])
            raise Conflict(message, fields={"status": message})
        certified = {r["enrollment"] for r in await Certificate.select(Certificate.enrollment).where(
            Certificate.cohort == cohort_id)}
        todo = [r for eid, r in sorted((await _passed(cohort_id)).items()) if eid not in certified]
        if not todo:
            if certified:
                return IssueOutcome([], len(certified), f"没有新的证书需要发放：{len(certified)} 名合格学员均已发证")
            raise Conflict("本班没有考核合格的学员，无证书可发")
        verdicts = {t.enrollment_id: t for t in (await progress.cohort_progress(actor, cohort_id)).trainees}
        issue_date = today_in_china()
        numbers = await _allocate(issue_date.year, cohort["city_code"], len(todo))
        codes: set[str] = set()
        while len(codes) < len(todo):
            codes.add(rules.new_verification_code())
        issued: list[str] = []
        rows = []
        for person, sequence, code in zip(todo, numbers, sorted(codes), strict=True):
            number = rules.certificate_number(issue_date.year, cohort["city_code"], sequence)
            verdict = verdicts.get(person["enrollment"])
            hours = round(verdict.eligibility.countable_total, 1) if verdict else 0.0
            rows.append(Certificate(
                number=number, verification_code=code, enrollment=person["enrollment"], result=person["id"],
                trainee=person["trainee_id"], cohort=cohort_id, institution=cohort["institution_id"],
                city=cohort["city_id"], occupation=cohort["occupation"], level=cohort["level"], year=issue_date.year,
                sequence=sequence, issue_date=issue_date, hours=hours, status="valid",
            ))
            issued.append(number)
        await Certificate.insert(*rows)
        for person, number in zip(todo, issued, strict=True):
            await audit.record(actor, "certificate.issue", "certificate", number, after={
                "number": number, "cohort": cohort_id, "enrollment": person["enrollment"], "name": person["name"],
                "issue_date": issue_date,
            }, city_code=cohort["city_code"], institution_id=cohort["institution_id"])
    message = f"已发放 {len(issued)} 张证书" + (f"（另有 {len(certified)} 名学员此前已发证）" if certified else "")
    return IssueOutcome(issued, len(certified), message)


async def get_certificate(actor: Actor, number: str) -> dict[str, Any]:
    row = await restrict(Certificate.select(*_COLUMNS).where(Certificate.number == (number or "").strip().upper()),
                         Certificate, actor).first()
    if row is None:
        raise NotFound(_NOT_FOUND)
    return _public(row)


async def revoke(actor: Actor, number: str, reason: str) -> dict[str, Any]:
    """Revoke with a reason (the issuing institution, or the province). Twice is refused."""
    fault = rules.reason_fault(reason)
    async with db.transaction():
        cert = await get_certificate(actor, number)
        require(actor, "certificate.revoke")
        if cert["status"] == "revoked":
            when = to_local(cert["revoked_at"])
            raise Conflict(f"该证书已于 {when:%Y-%m-%d} 撤销，不能重复撤销" if when else "该证书已撤销，不能重复撤销")
        if fault:
            raise Invalid(fault, fields={"reason": fault})
        now = utcnow()
        rows = await Certificate.update({
            Certificate.status: "revoked", Certificate.revoked_at: now, Certificate.revoked_by: actor.user_id,
            Certificate.revoke_reason: reason.strip(),
        }).where((Certificate.id == cert["id"]) & (Certificate.status == "valid")).returning(Certificate.id)
        if not rows:
            raise Conflict("该证书已撤销，不能重复撤销")
        await audit.record(actor, "certificate.revoke", "certificate", cert["number"],
                           before={"status": "valid"}, after={"status": "revoked", "reason": reason.strip()},
                           city_code=cert["city_code"], institution_id=cert["institution_id"])
    return await get_certificate(actor, number)


# --- documents ----------------------------------------------------------------------------

async def document_docx(actor: Actor, number: str, public_base_url: str) -> tuple[dict[str, Any], bytes]:
    cert = await get_certificate(actor, number)
    url = rules.verify_url(public_base_url, cert["verification_code"])
    return cert, await asyncio.to_thread(certificate_document.build, cert, url)


async def document_pdf(actor: Actor, number: str, public_base_url: str) -> tuple[dict[str, Any], bytes]:
    reason = pdf.unavailable_reason()
    if reason:
        raise Unavailable(reason)
    cert, docx = await document_docx(actor, number, public_base_url)
    return cert, await pdf.docx_to_pdf(docx)


# --- public verification ------------------------------------------------------------------

_PUBLIC_COLUMNS = (
    Certificate.number, Certificate.verification_code, Certificate.level, Certificate.issue_date, Certificate.hours,
    Certificate.status, Certificate.revoked_at, Certificate.trainee.name.as_alias("name"),
    Certificate.trainee.id_number.as_alias("id_number"), Certificate.occupation.name.as_alias("occupation_name"),
    Certificate.institution.name.as_alias("institution_name"), Certificate.city.name.as_alias("city_name"),
)
UNKNOWN = "未查到该证书，请核对后重试"


def verification_view(row: dict[str, Any]) -> dict[str, Any]:
    """What anyone may see of a certificate: name and ID partly masked, and whether it is valid."""
    revoked = to_local(row["revoked_at"])
    return {
        "number": row["number"],
        "code": row["verification_code"],
        "name": rules.mask_name(row["name"]),
        "id_masked": rules.public_id(row["id_number"]),
        "occupation": row["occupation_name"],
        "level": row["level"],
        "level_label": LEVELS.get(row["level"], row["level"]),
        "hours": row["hours"],
        "institution": row["institution_name"],
        "city": row["city_name"],
        "issue_date": row["issue_date"],
        "status": row["status"],
        "valid": row["status"] == "valid",
        "revoked_on": revoked.date() if revoked else None,
    }


async def verify(code: str) -> dict[str, Any]:
    """The public answer for a verification code; odd or unknown codes are simply not found."""
    normal = rules.normalise_code(code)
    if normal is None:
        raise NotFound(UNKNOWN)
    row = await Certificate.select(*_PUBLIC_COLUMNS).where(Certificate.verification_code == normal).first()
    if row is None:
        raise NotFound(UNKNOWN)
    return verification_view(row)


async def verify_by_number(number: str, name: str) -> dict[str, Any]:
    """Number and holder's full name must both match: the number alone reveals nothing."""
    parsed = rules.parse_number(number or "")
    name = " ".join((name or "").split())
    if parsed is None or not name or len(name) > 64:
        raise NotFound(UNKNOWN)
    row = await Certificate.select(*_PUBLIC_COLUMNS).where(
        Certificate.number == number.strip().upper()).first()
    if row is None or row["name"] != name:
        raise NotFound(UNKNOWN)
    return verification_view(row)
