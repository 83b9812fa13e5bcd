"""Pages: a cohort's final assessment (结业考核) — schedule, the results grid saved in one action,
the spreadsheet import, and the retake."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Response

from training.access import Actor, may
from training.errors import BadInput, Conflict, ImportRejected, Invalid
from training.rules.assessment import Entry
from training.rules.clock import today_in_china
from training.rules.levels import ASSESSMENT_FORMS
from training.services import assessments
from training.web.auth import roles
from training.web.controllers.assessments_api import XLSX
from training.web.rendering import page

NOTICES = {"scheduled": "考核已安排", "saved": "成绩已保存", "imported": "成绩已导入", "rescheduled": "考核安排已修改"}


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value or "").strip()


def _score(text: str) -> Any:
    """An integer when the text is one; otherwise the text itself, which the rules refuse by name."""
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@dataclass
class UploadForm:
    file: UploadFile


class AssessmentPagesController(Controller):
    guards = [roles("institution", "city", "province")]
    include_in_schema = False

    async def _board(self, request: Request, actor: Actor, cohort_id: int, status_code: int = 200,
                     **context: Any) -> Response:
        result = await assessments.board(actor, cohort_id)
        defaults = {"error": None, "errors": {}, "notice": None, "typed": {}, "grid_id": None, "faults": [],
                    "form": {}}
        return page(request, "assessments/board.html", status_code=status_code, board=result,
                    cohort=result.cohort, can_write=may(actor, "assessment.write"), forms=ASSESSMENT_FORMS,
                    today=today_in_china(), tab="assessment", **{**defaults, **context})

    @get("/cohorts/{cohort_id:int}/assessment")
    async def index(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                    done: FromQuery[str | None] = None) -> Response:
        return await self._board(request, actor, cohort_id, notice=NOTICES.get(done or ""))

    @post("/cohorts/{cohort_id:int}/assessment/schedule", status_code=200)
    async def schedule(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                       data: URLEncodedBody[dict[str, Any]]) -> Response:
        form = {"assessment_date": _text(data, "assessment_date"), "form": _text(data, "form")}
        try:
            await assessments.schedule(actor, cohort_id, _date(form["assessment_date"]), form["form"])
        except (Invalid, Conflict) as exc:
            return await self._board(request, actor, cohort_id, exc.status_code, error=exc.detail,
                                     errors=exc.fields, form=form, grid_id="schedule")
        return Redirect(f"/cohorts/{cohort_id}/assessment?done=scheduled", status_code=303)

    @post("/assessments/{assessment_id:int}/reschedule", status_code=200)
    async def reschedule(self, request: Request, actor: NamedDependency[Actor], assessment_id: FromPath[int],
                         data: URLEncodedBody[dict[str, Any]]) -> Response:
        grid = await assessments.get_grid(actor, assessment_id)
        cohort_id = grid.cohort["id"]
        try:
            await assessments.reschedule(actor, assessment_id, _date(_text(data, "assessment_date")),
                                         _text(data, "form"))
        except (Invalid, Conflict) as exc:
            return await self._board(request, actor, cohort_id, exc.status_code, error=exc.detail,
                                     errors=exc.fields, grid_id=assessment_id)
        return Redirect(f"/cohorts/{cohort_id}/assessment?done=rescheduled", status_code=303)

    @post("/assessments/{assessment_id:int}/results", status_code=200)
    async def save(self, request: Request, actor: NamedDependency[Actor], assessment_id: FromPath[int],
                   data: URLEncodedBody[dict[str, Any]]) -> Response:
        grid = await assessments.get_grid(actor, assessment_id)
        cohort_id = grid.cohort["id"]
        ids = data.get("enrollment") or []
        ids = ids if isinstance(ids, list) else [ids]
        entries, typed = [], {}
        for raw in ids:
            if not str(raw).isdigit():
                continue
            key = int(raw)
            theory, practice = _text(data, f"theory_{key}"), _text(data, f"practice_{key}")
            absent = _text(data, f"absent_{key}") in {"1", "on", "true"}
            typed[key] = {"theory": theory, "practice": practice, "absent": absent}
            entries.append(Entry(key, _score(theory), _score(practice), absent))
        try:
            await assessments.save_results(actor, assessment_id, entries)
        except (Invalid, Conflict, BadInput) as exc:
            # Keep what was typed; each message sits beside its row.
            return await self._board(request, actor, cohort_id, exc.status_code, error=exc.detail,
                                     errors=exc.fields, typed=typed, grid_id=assessment_id)
        return Redirect(f"/cohorts/{cohort_id}/assessment?done=saved#sitting-{assessment_id}", status_code=303)

    @post("/assessments/{assessment_id:int}/import", status_code=200, guards=[roles("institution")])
    async def import_file(self, request: Request, actor: NamedDependency[Actor], assessment_id: FromPath[int],
                          data: MultipartBody[UploadForm]) -> Response:
        grid = await assessments.get_grid(actor, assessment_id)
        cohort_id = grid.cohort["id"]
        content = await data.file.read()
        try:
            await assessments.import_results(actor, assessment_id, content, data.file.filename or "")
        except ImportRejected as exc:
            return await self._board(request, actor, cohort_id, 422, error=exc.detail, faults=exc.faults,
                                     grid_id=assessment_id)
        except (BadInput, Conflict, Invalid) as exc:
            return await self._board(request, actor, cohort_id, exc.status_code, error=exc.detail,
                                     grid_id=assessment_id)
        return Redirect(f"/cohorts/{cohort_id}/assessment?done=imported#sitting-{assessment_id}", status_code=303)

    @get("/assessments/results-template.xlsx")
    async def template(self) -> Response[bytes]:
        return Response(await assessments.results_template(), media_type=XLSX, headers={
            "Content-Disposition": "attachment; filename*=UTF-8''assessment-results-template.xlsx"})


ROUTES = [AssessmentPagesController]
