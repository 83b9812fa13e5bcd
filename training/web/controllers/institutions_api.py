"""/api/v1/institutions: the provincial institution catalogue, approvals and the list import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody

from training.access import Actor
from training.errors import BadInput
from training.services import institutions
from training.web.auth import roles
from training.web.pagination import PAGED_HEADERS, page_headers, page_params, paged_response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ApprovalOut(msgspec.Struct):
    id: int
    occupation_id: int
    occupation_name: str
    level: str
    valid_from: date
    valid_to: date
    document_number: str
    withdrawn: bool
    current: bool


class InstitutionOut(msgspec.Struct):
    id: int
    name: str
    credit_code: str
    city_code: str
    city_name: str
    address: str
    contact_person: str
    phone: str
    email: str
    status: str
    status_reason: str
    lock_version: int
    created_at: datetime
    updated_at: datetime
    approvals: list[ApprovalOut]


class InstitutionPage(msgspec.Struct):
    items: list[InstitutionOut]
    total: int
    page: int
    page_size: int


class InstitutionCreate(msgspec.Struct):
    name: str
    credit_code: str
    city: str  # GB/T 2260 code (370100) or name (济南市)
    address: str
    contact_person: str
    phone: str
    email: str = ""


class InstitutionPatch(msgspec.Struct):
    """Either own fields, or ``status`` (active / suspended / revoked) with a ``reason`` — not both.
    ``lock_version`` is the version read; a stale one answers 409."""

    lock_version: int
    name: str | msgspec.UnsetType = msgspec.UNSET
    credit_code: str | msgspec.UnsetType = msgspec.UNSET
    city: str | msgspec.UnsetType = msgspec.UNSET
    address: str | msgspec.UnsetType = msgspec.UNSET
    contact_person: str | msgspec.UnsetType = msgspec.UNSET
    phone: str | msgspec.UnsetType = msgspec.UNSET
    email: str | msgspec.UnsetType = msgspec.UNSET
    status: str | msgspec.UnsetType = msgspec.UNSET
    reason: str | msgspec.UnsetType = msgspec.UNSET


class StatusChange(msgspec.Struct):
    reason: str
    lock_version: int | None = None


class ApprovalCreate(msgspec.Struct):
    occupation_id: int
    levels: list[str]  # junior / intermediate / senior (or 初级 / 中级 / 高级)
    valid_from: date
    valid_to: date
    document_number: str


class ApprovalWithdraw(msgspec.Struct):
    reason: str


class ImportResultOut(msgspec.Struct):
    rows: int
    created: int
    updated: int
    unchanged: int
    approvals_created: int
    approvals_updated: int


@dataclass
class ImportUpload:
    file: UploadFile


def institution_out(row: dict[str, Any]) -> InstitutionOut:
    return msgspec.convert(row, InstitutionOut)


_OWN = ("name", "credit_code", "city", "address", "contact_person", "phone", "email")


class InstitutionsApiController(Controller):
    path = "/api/v1/institutions"
    tags = ["institutions"]

    @get("", summary="List institutions (city / status / occupation / q filters, paginated)",
         response_headers=PAGED_HEADERS)
    async def list_institutions(
        self, request: Request, actor: NamedDependency[Actor], city: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None, occupation: FromQuery[int | None] = None,
        q: FromQuery[str | None] = None, page: FromQuery[int] = 1, page_size: FromQuery[int] = 50,
    ) -> Response[InstitutionPage]:
        result = await institutions.list_institutions(actor, city=city, status=status, occupation=occupation,
                                                      search=q, page=page, page_size=page_size)
        body = InstitutionPage([institution_out(r) for r in result.items], result.total, result.page,
                               result.page_size)
        return Response(body, headers=page_headers(result.total, page_params(result.page, result.page_size), request))

    @post("", guards=[roles("province")], summary="Create an institution (province)",
          description="409 with fields.credit_code when the credit code is already used; 422 with field errors.")
    async def create(self, actor: NamedDependency[Actor], data: JSONBody[InstitutionCreate]) -> InstitutionOut:
        return institution_out(await institutions.create_institution(actor, msgspec.structs.asdict(data)))

    @get("/import-template.xlsx", summary="Download the import template (xlsx)", media_type=XLSX)
    async def template(self, actor: NamedDependency[Actor]) -> Response[bytes]:
        return Response(institutions.import_template(), media_type=XLSX, headers={
            "Content-Disposition": "attachment; filename*=UTF-8''institutions-template.xlsx"})

    @post("/import", guards=[roles("province")], status_code=200,
          summary="Import the provincial list (xlsx, or CSV in UTF-8/GBK), all-or-nothing",
          description="Answers the counts, or 422 `import_rejected` with `faults`: [{row, column, reason}] "
                      "and nothing written; 400 when the file is not a readable spreadsheet. "
                      "Re-importing the same file changes nothing (idempotent by credit code).")
    async def import_list(self, actor: NamedDependency[Actor],
                          data: MultipartBody[ImportUpload]) -> ImportResultOut:
        content = await data.file.read()
        result = await institutions.import_institutions(actor, content, data.file.filename or "")
        return ImportResultOut(result.rows, result.created, result.updated, result.unchanged,
                               result.approvals_created, result.approvals_updated)

    @get("/{institution_id:int}", summary="One institution with its approvals")
    async def detail(self, actor: NamedDependency[Actor], institution_id: FromPath[int]) -> InstitutionOut:
        return institution_out(await institutions.get_institution(actor, institution_id))

    @patch("/{institution_id:int}", guards=[roles("province")], summary="Edit, or change status (province)",
           description="Send own fields to edit them, or `status` (active / suspended / revoked) with a "
                       "`reason` to suspend, revoke or reinstate; revocation is final. `lock_version` is "
                       "required; a stale one answers 409 `stale_version`.")
    async def edit(self, actor: NamedDependency[Actor], institution_id: FromPath[int],
                   data: JSONBody[InstitutionPatch]) -> InstitutionOut:
        values = {k: getattr(data, k) for k in _OWN if getattr(data, k) is not msgspec.UNSET}
        if data.status is not msgspec.UNSET:
            if values:
                raise BadInput("状态变更与信息修改请分开提交", fields={"status": "不能与其他字段同时修改"})
            reason = "" if data.reason is msgspec.UNSET else data.reason
            row = await institutions.change_status(actor, institution_id, data.status, reason, data.lock_version)
        else:
            row = await institutions.update_institution(actor, institution_id, values, data.lock_version)
        return institution_out(row)

    @post("/{institution_id:int}/suspend", guards=[roles("province")], status_code=200,
          summary="Suspend an institution, with a reason (province)")
    async def suspend(self, actor: NamedDependency[Actor], institution_id: FromPath[int],
                      data: JSONBody[StatusChange]) -> InstitutionOut:
        return institution_out(await institutions.suspend(actor, institution_id, data.reason, data.lock_version))

    @post("/{institution_id:int}/revoke", guards=[roles("province")], status_code=200,
          summary="Revoke an institution, with a reason; final (province)")
    async def revoke(self, actor: NamedDependency[Actor], institution_id: FromPath[int],
                     data: JSONBody[StatusChange]) -> InstitutionOut:
        return institution_out(await institutions.revoke(actor, institution_id, data.reason, data.lock_version))

    @post("/{institution_id:int}/reinstate", guards=[roles("province")], status_code=200,
          summary="Reinstate a suspended institution, with a reason (province)")
    async def reinstate(self, actor: NamedDependency[Actor], institution_id: FromPath[int],
                        data: JSONBody[StatusChange]) -> InstitutionOut:
        return institution_out(await institutions.reinstate(actor, institution_id, data.reason, data.lock_version))

    @get("/{institution_id:int}/approvals", summary="Approvals of an institution (paginated)",
         response_headers=PAGED_HEADERS)
    async def approvals(self, request: Request, actor: NamedDependency[Actor], institution_id: FromPath[int],
                        page: FromQuery[int] = 1, page_size: FromQuery[int] = 50) -> Response[list[ApprovalOut]]:
        paging = page_params(page, page_size)
        rows = await institutions.list_approvals(actor, institution_id)
        return paged_response(msgspec.convert(paging.slice(rows), list[ApprovalOut]), len(rows), paging, request)

    @post("/{institution_id:int}/approvals", guards=[roles("province")],
          summary="Approve an occupation at one or more levels for a period (province)",
          description="One approval per institution × occupation × level; granting again renews it. "
                      "422 when valid_from is after valid_to or the document number is missing.")
    async def grant(self, actor: NamedDependency[Actor], institution_id: FromPath[int],
                    data: JSONBody[ApprovalCreate]) -> list[ApprovalOut]:
        rows = await institutions.grant_approval(
            actor, institution_id, occupation_id=data.occupation_id, levels=data.levels,
            valid_from=data.valid_from, valid_to=data.valid_to, document_number=data.document_number)
        return msgspec.convert(rows, list[ApprovalOut])

    @post("/{institution_id:int}/approvals/{approval_id:int}/withdraw", guards=[roles("province")],
          status_code=200, summary="Withdraw an approval, with a reason (province)")
    async def withdraw(self, actor: NamedDependency[Actor], institution_id: FromPath[int],
                       approval_id: FromPath[int], data: JSONBody[ApprovalWithdraw]) -> list[ApprovalOut]:
        rows = await institutions.withdraw_approval(actor, institution_id, approval_id, data.reason)
        return msgspec.convert(rows, list[ApprovalOut])


ROUTES = [InstitutionsApiController]
