"""Pages: a cohort's trainees (学员名单) — the list with masked IDs, add one, import a list, withdraw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Response

from training.access import Actor, may
from training.errors import BadInput, Conflict, ImportRejected, Invalid
from training.rules.levels import EDUCATION_LEVELS, ENROLLMENT_STATUSES
from training.services import enrollments, trainees
from training.services.trainees import TraineeInput
from training.web.auth import roles
from training.web.controllers.enrollments_api import XLSX
from training.web.list_export import ExportColumn, export_or_none, export_query
from training.web.rendering import page

_FIELDS = ("id_number", "name", "phone", "education", "employer", "employer_credit_code")
ENROLLMENT_COLUMNS = [
    ExportColumn("姓名", "name"), ExportColumn("身份证号", "id_masked"),
    ExportColumn("性别", lambda r: {"M": "男", "F": "女"}.get(r.get("sex") or "", r.get("sex") or "")),
    ExportColumn("手机号", "phone"), ExportColumn("学历", "education"), ExportColumn("工作单位", "employer"),
    ExportColumn("应届毕业生", "new_graduate"), ExportColumn("报名日期", "enrolled_on"),
    ExportColumn("状态", lambda r: ENROLLMENT_STATUSES.get(r["status"], r["status"])),
    ExportColumn("退出日期", "withdrawn_on"), ExportColumn("退出原因", "withdraw_reason"),
    ExportColumn("疑似重复报名", "possible_duplicate"),
]


def text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value or "").strip()


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@dataclass
class UploadForm:
    file: UploadFile


class EnrollmentPagesController(Controller):
    guards = [roles("institution", "city", "province")]
    include_in_schema = False

    async def _list(self, request: Request, actor: Actor, cohort_id: int, status_code: int = 200,
                    **context: Any) -> Response:
        cohort = await enrollments.cohort_in_scope(actor, cohort_id)
        rows = await enrollments.list_enrollments(actor, cohort_id)
        download = await export_or_none(context.pop("fmt", None), f"trainees-{cohort['code']}", "学员名单",
                                        ENROLLMENT_COLUMNS, rows)
        if download is not None:
            return download
        active = sum(1 for r in rows if r["status"] != "withdrawn")
        defaults = {"values": {}, "errors": {}, "error": None, "notice": None}
        return page(request, "enrollments/list.html", status_code=status_code, cohort=cohort, rows=rows,
                    active=active, can_write=may(actor, "enrollment.write"), education_levels=EDUCATION_LEVELS,
                    tab="enrollments", export_query=export_query(request), **{**defaults, **context})

    @get("/cohorts/{cohort_id:int}/enrollments")
    async def index(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                    done: FromQuery[str | None] = None, format: FromQuery[str | None] = None) -> Response:
        notices = {"added": "已报名", "withdrawn": "已办理退出"}
        return await self._list(request, actor, cohort_id, notice=notices.get(done or ""), fmt=format)

    @post("/cohorts/{cohort_id:int}/enrollments", status_code=200)
    async def add(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                  data: URLEncodedBody[dict[str, Any]]) -> Response:
        values = {k: text(data, k) for k in _FIELDS}
        values["new_graduate"] = text(data, "new_graduate") in {"1", "on", "true"}
        try:
            await enrollments.enroll_one(actor, cohort_id, TraineeInput(**values))
        except (Invalid, Conflict) as exc:
            return await self._list(request, actor, cohort_id, exc.status_code, values=values, errors=exc.fields,
                                    error=exc.detail)
        return Redirect(f"/cohorts/{cohort_id}/enrollments?done=added", status_code=303)

    @get("/cohorts/{cohort_id:int}/enrollments/import")
    async def import_form(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int]) -> Response:
        cohort = await enrollments.cohort_in_scope(actor, cohort_id)
        return page(request, "enrollments/import.html", cohort=cohort, columns=enrollments.TRAINEE_COLUMNS,
                    notes=enrollments.TEMPLATE_NOTES, tab="enrollments", result=None, faults=[], detail=None)

    @post("/cohorts/{cohort_id:int}/enrollments/import", status_code=200, guards=[roles("institution")])
    async def import_file(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                          data: MultipartBody[UploadForm]) -> Response:
        cohort = await enrollments.cohort_in_scope(actor, cohort_id)
        content = await data.file.read()
        filename = data.file.filename or ""
        context: dict[str, Any] = {"result": None, "faults": [], "detail": None, "filename": filename}
        status = 200
        try:
            context["result"] = await enrollments.import_list(actor, cohort_id, content, filename)
        except ImportRejected as exc:
            status, context["faults"], context["detail"] = 422, exc.faults, exc.detail
        except (BadInput, Conflict) as exc:
            status, context["detail"] = exc.status_code, exc.detail
        template = "enrollments/_import_result.html" if is_htmx(request) else "enrollments/import.html"
        # htmx swaps only 2xx answers: the partial carries the outcome, the status stays 200 for it.
        return page(request, template, status_code=200 if is_htmx(request) else status, cohort=cohort,
                    columns=enrollments.TRAINEE_COLUMNS, notes=enrollments.TEMPLATE_NOTES, tab="enrollments",
                    **context)

    @get("/cohorts/{cohort_id:int}/enrollments/template.xlsx")
    async def template(self, actor: NamedDependency[Actor], cohort_id: FromPath[int]) -> Response[bytes]:
        await enrollments.cohort_in_scope(actor, cohort_id)
        return Response(await enrollments.template(), media_type=XLSX, headers={
            "Content-Disposition": "attachment; filename*=UTF-8''enrollment-template.xlsx"})

    @post("/cohorts/{cohort_id:int}/enrollments/{enrollment_id:int}/withdraw", status_code=200)
    async def withdraw(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                       enrollment_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]) -> Response:
        try:
            await enrollments.withdraw(actor, enrollment_id, text(data, "reason"))
        except (Invalid, Conflict) as exc:
            return await self._list(request, actor, cohort_id, exc.status_code, error=exc.detail)
        return Redirect(f"/cohorts/{cohort_id}/enrollments?done=withdrawn", status_code=303)

    @post("/trainees/{trainee_id:int}/reveal-id", status_code=200)
    async def reveal(self, request: Request, actor: NamedDependency[Actor], trainee_id: FromPath[int]) -> Response:
        number = await trainees.reveal_id_number(actor, trainee_id)
        return page(request, "enrollments/_revealed.html", number=number)


ROUTES = [EnrollmentPagesController]
