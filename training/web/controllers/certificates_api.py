"""/api/v1: certificates — issue for every passed trainee, list, show, revoke, Word and PDF."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Response

from training.access import Actor
from training.services import certificates
from training.web.auth import roles
from training.web.pagination import PAGED_HEADERS, page_params, paged_response

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class CertificateOut(msgspec.Struct):
    number: str
    verification_code: str
    name: str
    id_masked: str
    occupation_name: str
    level: str
    hours: float
    institution_name: str
    city_code: str
    cohort: int
    cohort_code: str
    trainee: int
    issue_date: date
    status: str
    revoked_at: datetime | None
    revoke_reason: str


class IssueOut(msgspec.Struct):
    issued: list[str]
    already_issued: int
    message: str


class RevokeIn(msgspec.Struct):
    reason: str


def certificate_out(row: dict) -> CertificateOut:
    return msgspec.convert(row, CertificateOut, from_attributes=True)


def attachment(content: bytes, media_type: str, filename: str) -> Response[bytes]:
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


class CertificatesApiController(Controller):
    path = "/api/v1"
    tags = ["certificates"]

    @get("/cohorts/{cohort_id:int}/certificates", summary="The cohort's certificates (paginated)",
         response_headers=PAGED_HEADERS)
    async def index(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                    page: FromQuery[int] = 1, page_size: FromQuery[int] = 50) -> Response[list[CertificateOut]]:
        paging = page_params(page, page_size)
        rows = (await certificates.cohort_certificates(actor, cohort_id)).certificates
        return paged_response([certificate_out(r) for r in paging.slice(rows)], len(rows), paging, request)

    @post("/cohorts/{cohort_id:int}/certificates", guards=[roles("institution")], status_code=200,
          summary="Issue a certificate to every passed trainee without one (idempotent)")
    async def issue(self, actor: NamedDependency[Actor], cohort_id: FromPath[int]) -> IssueOut:
        outcome = await certificates.issue_all(actor, cohort_id)
        return IssueOut(issued=outcome.issued, already_issued=outcome.already, message=outcome.message)

    @get("/certificates/{number:str}", summary="One certificate")
    async def show(self, actor: NamedDependency[Actor], number: FromPath[str]) -> CertificateOut:
        return certificate_out(await certificates.get_certificate(actor, number))

    @post("/certificates/{number:str}/revoke", guards=[roles("institution", "province")], status_code=200,
          summary="Revoke with a reason (the issuing institution or the province); twice is 409")
    async def revoke(self, actor: NamedDependency[Actor], number: FromPath[str],
                     data: JSONBody[RevokeIn]) -> CertificateOut:
        return certificate_out(await certificates.revoke(actor, number, data.reason))

    @get("/certificates/{number:str}/document.docx", summary="The certificate as Word, with its QR code")
    async def docx(self, request: Request, actor: NamedDependency[Actor], number: FromPath[str]) -> Response[bytes]:
        cert, content = await certificates.document_docx(actor, number, request.app.state.settings.public_base_url)
        return attachment(content, DOCX, f"{cert['number']}.docx")

    @get("/certificates/{number:str}/document.pdf", summary="The certificate as PDF (503 without LibreOffice)")
    async def pdf(self, request: Request, actor: NamedDependency[Actor], number: FromPath[str]) -> Response[bytes]:
        cert, content = await certificates.document_pdf(actor, number, request.app.state.settings.public_base_url)
        return attachment(content, "application/pdf", f"{cert['number']}.pdf")


ROUTES = [CertificatesApiController]
