"""Pages: the attendance roll (考勤表) saved with htmx, the online-platform import, and progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Response

from training.access import Actor, may
from training.errors import BadInput, Conflict, ImportRejected, Invalid, StaleVersion
from training.rules.levels import ATTENDANCE_STATUSES
from training.services import anomalies, attendance, progress
from training.services.attendance import RollEntry
from training.web.auth import roles
from training.web.controllers.enrollments_api import XLSX
from training.web.controllers.enrollments_pages import is_htmx, text
from training.web.list_export import MAX_EXPORT_ROWS, ExportColumn, export_bounds, export_or_none
from training.web.pagination import page_params
from training.web.rendering import page

ANOMALY_COLUMNS = [
    ExportColumn("编号", "id"), ExportColumn("发现时间", "detected_at"),
    ExportColumn("类型", lambda r: anomalies.KIND_LABELS.get(r["kind"], r["kind"])),
    ExportColumn("城市", "city_name"), ExportColumn("机构", "institution_name"), ExportColumn("培训班", "cohort_code"),
    ExportColumn("学员", "trainee_name"),
    ExportColumn("详情", lambda r: "；".join(f"{k}: {v}" for k, v in (r.get("details") or {}).items()
                                           if k not in ("attendance", "trainee_masked"))),
    ExportColumn("核查状态", lambda r: anomalies.REVIEW_STATUSES.get(r["review_status"], r["review_status"])),
    ExportColumn("核查说明", "review_note"), ExportColumn("核查人", "reviewer"), ExportColumn("核查时间", "reviewed_at"),
]

# Keys 1–5 pick a status on the roll (shown in the legend), in this order.
STATUS_KEYS = list(ATTENDANCE_STATUSES)


def _float(value: str) -> float | None:
    try:
        return float(value) if value != "" else None
    except ValueError:
        return float("nan")


@dataclass
class UploadForm:
    file: UploadFile


class AttendancePagesController(Controller):
    guards = [roles("institution", "city", "province")]
    include_in_schema = False

    async def _roll(self, request: Request, actor: Actor, session_id: int, status_code: int = 200,
                    partial: bool = False, **context: Any) -> Response:
        roll = await attendance.get_roll(actor, session_id)
        defaults = {"error": None, "errors": {}, "notice": None, "conflict": None}
        template = "attendance/_roll.html" if partial else "attendance/roll.html"
        return page(request, template, status_code=status_code, roll=roll, cohort=roll.cohort,
                    session=roll.session, status_keys=STATUS_KEYS, tab="sessions",
                    can_write=may(actor, "attendance.write"), **{**defaults, **context})

    @get("/sessions/{session_id:int}/roll")
    async def roll(self, request: Request, actor: NamedDependency[Actor], session_id: FromPath[int]) -> Response:
        return await self._roll(request, actor, session_id)

    @post("/sessions/{session_id:int}/roll", status_code=200)
    async def save(self, request: Request, actor: NamedDependency[Actor], session_id: FromPath[int],
                   data: URLEncodedBody[dict[str, Any]]) -> Response:
        ids = data.get("enrollment") or []
        ids = ids if isinstance(ids, list) else [ids]
        entries = []
        for raw in ids:
            if not str(raw).isdigit():
                continue
            key = int(raw)
            entries.append(RollEntry(
                enrollment_id=key, status=text(data, f"status_{key}") or None,
                hours=_float(text(data, f"hours_{key}")), was_status=text(data, f"was_status_{key}"),
                was_hours=_float(text(data, f"was_hours_{key}")),
            ))
        partial = is_htmx(request)
        try:
            lock_version = int(text(data, "lock_version") or 0)
            await attendance.save_roll(actor, session_id, lock_version, entries)
        except StaleVersion as exc:
            return await self._roll(request, actor, session_id, 200 if partial else 409, partial,
                                    conflict=exc.detail, errors=exc.fields)
        except (Invalid, Conflict, BadInput) as exc:
            # Keep what was typed so nothing is lost; the messages sit beside the rows at fault.
            typed = {e.enrollment_id: e for e in entries}
            return await self._roll(request, actor, session_id, 200 if partial else exc.status_code, partial,
                                    error=exc.detail, errors=exc.fields, typed=typed)
        return await self._roll(request, actor, session_id, 200, partial, notice="考勤已保存")

    @post("/attendance/{attendance_id:int}/amend", status_code=200)
    async def amend(self, request: Request, actor: NamedDependency[Actor], attendance_id: FromPath[int],
                    data: URLEncodedBody[dict[str, Any]]) -> Response:
        session_id = int(text(data, "session_id") or 0)
        try:
            await attendance.amend_attendance(actor, attendance_id, text(data, "status"),
                                              _float(text(data, "hours")), text(data, "reason"))
        except (Invalid, Conflict) as exc:
            return await self._roll(request, actor, session_id, exc.status_code, error=exc.detail)
        return Redirect(f"/sessions/{session_id}/roll", status_code=303)

    @get("/cohorts/{cohort_id:int}/attendance/import")
    async def import_form(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int]) -> Response:
        cohort = await progress.cohort_in_scope(actor, cohort_id)
        return page(request, "attendance/import.html", cohort=cohort, columns=attendance.ONLINE_COLUMNS,
                    notes=attendance.ONLINE_NOTES, tab="import", summary=None, faults=[], detail=None,
                    minutes_per_hour=request.app.state.settings.class_hour_minutes)

    @post("/cohorts/{cohort_id:int}/attendance/import", status_code=200, guards=[roles("institution")])
    async def import_file(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                          data: MultipartBody[UploadForm]) -> Response:
        cohort = await progress.cohort_in_scope(actor, cohort_id)
        content = await data.file.read()
        filename = data.file.filename or ""
        context: dict[str, Any] = {"summary": None, "faults": [], "detail": None, "filename": filename}
        status = 200
        try:
            context["summary"] = await attendance.import_online(
                actor, cohort_id, content, filename, request.app.state.settings.class_hour_minutes)
        except ImportRejected as exc:
            status, context["faults"], context["detail"] = 422, exc.faults, exc.detail
        except (BadInput, Conflict) as exc:
            status, context["detail"] = exc.status_code, exc.detail
        template = "attendance/_import_result.html" if is_htmx(request) else "attendance/import.html"
        return page(request, template, status_code=200 if is_htmx(request) else status, cohort=cohort,
                    columns=attendance.ONLINE_COLUMNS, notes=attendance.ONLINE_NOTES, tab="import",
                    minutes_per_hour=request.app.state.settings.class_hour_minutes, **context)

    @get("/cohorts/{cohort_id:int}/attendance/template.xlsx")
    async def template(self, actor: NamedDependency[Actor], cohort_id: FromPath[int]) -> Response[bytes]:
        await progress.cohort_in_scope(actor, cohort_id)
        return Response(await attendance.online_template(), media_type=XLSX, headers={
            "Content-Disposition": "attachment; filename*=UTF-8''online-attendance-template.xlsx"})

    @get("/cohorts/{cohort_id:int}/progress")
    async def progress_page(self, request: Request, actor: NamedDependency[Actor],
                            cohort_id: FromPath[int]) -> Response:
        result = await progress.cohort_progress(actor, cohort_id)
        return page(request, "attendance/progress.html", cohort=result.cohort, result=result, tab="progress")



class AnomalyPagesController(Controller):
    """Anomaly flags (异常线索) for the city and the province to review (filters, re-review, export)."""

    guards = [roles("city", "province")]
    include_in_schema = False

    async def _list(self, request: Request, actor: Actor, typed: dict[str, str], fmt: str | None = None,
                    status_code: int = 200, error: str | None = None, page_number: int = 1) -> Response:
        errors: dict[str, str] = {}
        paging = page_params(*export_bounds(fmt, page_number, 100), max_size=MAX_EXPORT_ROWS)
        total = 0
        try:
            selection = anomalies.parse_filter(**typed)
            flags = await anomalies.list_flags(actor, selection=selection, limit=paging.limit, offset=paging.offset)
            total = await anomalies.count_flags(actor, selection)
        except Invalid as exc:
            if fmt:
                raise
            flags, errors, error, status_code = [], exc.fields, exc.detail, exc.status_code
        download = await export_or_none(fmt, "anomalies", "异常线索", ANOMALY_COLUMNS, flags)
        if download is not None:
            return download
        query = urlencode({k: v for k, v in {**typed, "status": typed["status"] or "all"}.items() if v})
        return page(request, "attendance/anomalies.html", status_code=status_code, flags=flags,
                    kind=typed["kind"], state=typed["status"] or "all", institution=typed["institution"],
                    institutions=await anomalies.flag_institutions(actor), query=query,
                    kinds=anomalies.KIND_LABELS, review_statuses=anomalies.REVIEW_STATUSES, error=error,
                    errors=errors, total=total, paging=paging, last_page=paging.last_page(total))

    @get("/anomalies")
    async def index(self, request: Request, actor: NamedDependency[Actor], kind: FromQuery[str | None] = None,
                    show: FromQuery[str | None] = None, status: FromQuery[str | None] = None,
                    institution: FromQuery[str | None] = None, format: FromQuery[str | None] = None,
                    page_number: FromQuery[int] = 1) -> Response:
        state = status if status is not None else ("all" if show == "all" else "open")
        typed = {"kind": kind or "", "status": "" if state == "all" else state, "institution": institution or ""}
        return await self._list(request, actor, typed, format, page_number=page_number)

    @post("/anomalies/{flag_id:int}/review", status_code=200)
    async def review(self, request: Request, actor: NamedDependency[Actor], flag_id: FromPath[int],
                     data: URLEncodedBody[dict[str, Any]]) -> Response:
        try:
            await anomalies.review_flag(actor, flag_id, text(data, "status"), text(data, "note"))
        except Invalid as exc:
            typed = {"kind": "", "status": "", "institution": ""}
            return await self._list(request, actor, typed, status_code=422, error=exc.detail)
        return Redirect("/anomalies", status_code=303)


ROUTES = [AttendancePagesController, AnomalyPagesController]
