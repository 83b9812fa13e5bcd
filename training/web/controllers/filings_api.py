"""/api/v1: filings (备案) — a cohort's filing (narrative, submit), the departments' list, one filing,
acknowledge / return, and the two documents of any version.

Who: the institution writes its own cohort's filing; the province and the cohort's city decide.
``GET /api/v1/filings`` lists every filing in the caller's scope: the province all, a city those of
its cohorts (addressed to it), an institution its own (so it can follow its answers too).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from training.access import Actor
from training.rules import filing as rules
from training.services import filings
from training.web.auth import roles
from training.web.controllers.certificates_api import attachment
from training.web.pagination import PAGED_HEADERS, page_headers, page_params


class ReceiptOut(msgspec.Struct):
    addressee: str  # province / city
    addressee_name: str
    status: str  # pending / acknowledged / returned
    comment: str
    decided_at: datetime | None
    decided_by_name: str | None


class VersionOut(msgspec.Struct):
    id: int
    version_number: int
    status: str  # draft / submitted / acknowledged / returned
    due_date: date
    submitted_at: datetime | None
    submitted_late: bool
    package_sha256: str
    report_sha256: str | None
    trainees_sha256: str | None
    report_url: str
    trainees_url: str
    receipts: list[ReceiptOut]


class CountsOut(msgspec.Struct):
    enrolled: int
    withdrawn: int
    eligible: int
    assessed: int
    passed: int
    certified: int


class CohortFilingOut(msgspec.Struct):
    cohort_id: int
    cohort_code: str
    cohort_status: str
    filing_id: int | None
    version_number: int | None
    status: str | None
    state: str  # due / due_soon / overdue / submitted / late / returned / acknowledged
    due_date: date | None
    days_left: int | None  # negative when overdue; null once submitted
    lock_version: int | None
    narrative: dict[str, str]
    editable: bool
    submit_refusal: str | None
    counts: CountsOut
    versions: list[VersionOut]


class NarrativeIn(msgspec.Struct):
    """The five sections (keys of ``narrative``): organisation, teaching, practice, outcomes, problems."""

    narrative: dict[str, str]
    lock_version: int


class SubmitIn(msgspec.Struct):
    lock_version: int | None = None


class SubmittedOut(msgspec.Struct):
    filing_id: int
    version_number: int
    package_sha256: str
    submitted_late: bool


class ReturnIn(msgspec.Struct):
    comment: str = ""


class FilingRowOut(msgspec.Struct):
    cohort_id: int
    cohort_code: str
    cohort_name: str
    city_code: str
    city_name: str
    institution_id: int
    institution_name: str
    filing_id: int | None
    version_number: int
    status: str
    state: str
    due_date: date
    days_left: int
    submitted_at: datetime | None
    submitted_late: bool
    my_receipt: str | None


class FilingOut(msgspec.Struct):
    id: int
    cohort_id: int
    cohort_code: str
    cohort_name: str
    city_code: str
    institution_name: str
    version_number: int
    status: str
    state: str
    latest: bool
    due_date: date
    days_left: int
    submitted_at: datetime | None
    submitted_late: bool
    package_sha256: str
    narrative: dict[str, str]
    can_decide: bool
    receipts: list[ReceiptOut]
    versions: list[VersionOut]


def _receipt(r: dict[str, Any]) -> ReceiptOut:
    return ReceiptOut(addressee=r["addressee"], addressee_name=r["addressee_name"], status=r["status"],
                      comment=r["comment"], decided_at=r["decided_at"], decided_by_name=r.get("decided_by_name"))


def version_out(v: dict[str, Any]) -> VersionOut:
    return VersionOut(
        id=v["id"], version_number=v["version_number"], status=v["status"], due_date=v["due_date"],
        submitted_at=v["submitted_at"], submitted_late=bool(v["submitted_late"]), package_sha256=v["package_sha256"],
        report_sha256=v.get("report_sha256"), trainees_sha256=v.get("trainees_sha256"),
        report_url=f"/api/v1/filings/{v['id']}/report.docx", trainees_url=f"/api/v1/filings/{v['id']}/trainees.xlsx",
        receipts=[_receipt(r) for r in v["receipts"]])


def _narrative(values: dict[str, Any]) -> dict[str, str]:
    return {k: str(values.get(k, "")) for k in rules.NARRATIVE_SECTIONS}


def cohort_filing_out(view: filings.CohortFiling) -> CohortFilingOut:
    current = view.current
    c = view.counts
    return CohortFilingOut(
        cohort_id=view.cohort["id"], cohort_code=view.cohort["code"], cohort_status=view.cohort["status"],
        filing_id=current["id"] if current else None, version_number=current["version_number"] if current else None,
        status=current["status"] if current else None, state=view.state, due_date=view.due_date,
        days_left=view.days_left, lock_version=current["lock_version"] if current else None,
        narrative=_narrative(current["narrative"] if current else {}), editable=view.editable,
        submit_refusal=view.submit_refusal,
        counts=CountsOut(c.enrolled, c.withdrawn, c.eligible, c.assessed, c.passed, c.certified),
        versions=[version_out(v) for v in view.versions])


def filing_out(d: dict[str, Any]) -> FilingOut:
    cohort = d["cohort"]
    return FilingOut(
        id=d["id"], cohort_id=cohort["id"], cohort_code=cohort["code"], cohort_name=cohort["name"],
        city_code=cohort["city_code"], institution_name=cohort["institution_name"],
        version_number=d["version_number"], status=d["status"], state=d["state"], latest=d["latest"],
        due_date=d["due_date"], days_left=d["days_left"], submitted_at=d["submitted_at"],
        submitted_late=bool(d["submitted_late"]), package_sha256=d["package_sha256"],
        narrative=_narrative(d["narrative"]), can_decide=d["can_decide"],
        receipts=[_receipt(r) for r in d["receipts"]], versions=[version_out(v) for v in d["versions"]])


def row_out(row: filings.ListRow) -> FilingRowOut:
    return msgspec.convert(row, FilingRowOut, from_attributes=True)


class FilingsApiController(Controller):
    path = "/api/v1"
    tags = ["filings"]

    @get("/cohorts/{cohort_id:int}/filing", guards=[roles("institution")],
         summary="The cohort's current filing: status, due date, days left, narrative, counts, versions, receipts")
    async def show_cohort(self, actor: NamedDependency[Actor], cohort_id: FromPath[int]) -> CohortFilingOut:
        return cohort_filing_out(await filings.cohort_filing(actor, cohort_id))

    @post("/cohorts/{cohort_id:int}/filing", guards=[roles("institution")], status_code=200,
          summary="Save the narrative of the current draft (lock_version as read; 409 stale_version if it moved)")
    async def save(self, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                   data: JSONBody[NarrativeIn]) -> CohortFilingOut:
        await filings.save_narrative(actor, cohort_id, data.narrative, data.lock_version)
        return cohort_filing_out(await filings.cohort_filing(actor, cohort_id))

    @post("/cohorts/{cohort_id:int}/filing/submit", guards=[roles("institution")], status_code=200,
          summary="Submit the current version: both documents generated and frozen by SHA-256, sent to "
                  "the province and the city")
    async def submit(self, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                     data: JSONBody[SubmitIn | None] = None) -> SubmittedOut:
        done = await filings.submit(actor, cohort_id, data.lock_version if data else None)
        return SubmittedOut(done.filing_id, done.version_number, done.package_sha256, done.late)

    @get("/filings", response_headers=PAGED_HEADERS,
         summary="Each cohort's latest filing in scope (province all, city its own, institution its own)",
         description="Filters: status (awaiting, due, due_soon, overdue, submitted, late, returned, acknowledged, "
                     "all), city (code), institution (id), year (of the end of training). Paged: page, page_size.")
    async def index(self, request: Request, actor: NamedDependency[Actor], status: FromQuery[str | None] = None,
                    city: FromQuery[str | None] = None, institution: FromQuery[int | None] = None,
                    year: FromQuery[int | None] = None, page: FromQuery[int] = 1,
                    page_size: FromQuery[int] = 50) -> Response[list[FilingRowOut]]:
        paging = page_params(page, page_size)
        listing = await filings.department_filings(actor, status_filter=status, city_code=city,
                                                   institution_id=institution, year=year, limit=paging.limit,
                                                   offset=paging.offset)
        return Response([row_out(r) for r in listing.rows], headers=page_headers(listing.total, paging, request))

    @get("/filings/{filing_id:int}", summary="One filing version with its receipts and all versions")
    async def show(self, actor: NamedDependency[Actor], filing_id: FromPath[int]) -> FilingOut:
        return filing_out(await filings.filing_detail(actor, filing_id))

    @post("/filings/{filing_id:int}/acknowledge", guards=[roles("province", "city")], status_code=200,
          summary="Acknowledge (备案完成) as the province or the cohort's city; twice is 409")
    async def acknowledge(self, actor: NamedDependency[Actor], filing_id: FromPath[int]) -> FilingOut:
        return filing_out(await filings.acknowledge(actor, filing_id))

    @post("/filings/{filing_id:int}/return", guards=[roles("province", "city")], status_code=200,
          summary="Return with a comment (required: 422 fields.comment without)")
    async def return_(self, actor: NamedDependency[Actor], filing_id: FromPath[int],
                      data: JSONBody[ReturnIn]) -> FilingOut:
        return filing_out(await filings.return_filing(actor, filing_id, data.comment))

    @get("/filings/{filing_id:int}/report.docx",
         summary="The Word report: the stored file of a submitted version (409 file_tampered if it changed), "
                 "the live draft otherwise")
    async def report(self, actor: NamedDependency[Actor], filing_id: FromPath[int]) -> Response[bytes]:
        content, name, media = await filings.document(actor, filing_id, "report")
        return attachment(content, media, name)

    @get("/filings/{filing_id:int}/trainees.xlsx", summary="The trainee list as xlsx (as report.docx)")
    async def trainees(self, actor: NamedDependency[Actor], filing_id: FromPath[int]) -> Response[bytes]:
        content, name, media = await filings.document(actor, filing_id, "trainees")
        return attachment(content, media, name)


ROUTES = [FilingsApiController]
